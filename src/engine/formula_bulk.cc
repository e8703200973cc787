#include "engine/formula_bulk.h"

#include <algorithm>
#include <atomic>
#include <bit>

#include <tbb/parallel_for.h>

#include "engine/formula_inputs.h"
#include "store/slice_cursor.h"

namespace quantatom {

using formula::Input;
using formula::TimeMode;

namespace {

constexpr size_t kMaxWalks = 32;
std::atomic<size_t> chunk_cells{50000};

// One slice walked for one input: the cells of leaf `ordinal` of the formula dimension, added
// with `weight` into input `input` of the cell `shift` periods before them.
struct Walk {
  int input;
  double weight;
  uint32_t ordinal;
  int shift;
};

bool Shifts(const FormulaState& st, const Input& in) { return st.time.dim >= 0 && in.time != TimeMode::kSame; }

// The walks of `f`'s driving inputs, in the order LeafReader adds them (term, then leaf).
std::vector<Walk> Walks(const AppModel& model, const FormulaState& st, const CompiledFormula& f) {
  std::vector<Walk> walks;
  const Dimension& dim = model.dimensions[st.dim];
  for (size_t i = 0; i < f.bound.inputs.size(); ++i) {
    const Input& in = f.bound.inputs[i];
    if (in.kind != Input::Kind::kCells || !in.driving) continue;
    const int shift = Shifts(st, in) ? in.shift : 0;
    for (const Coordinate& term : in.terms) {
      if (term[st.dim] == kNoMember) {
        walks.push_back({static_cast<int>(i), 1.0, f.member_ordinal, shift});
        continue;
      }
      for (auto [ordinal, weight] : dim.LeavesUnder(term[st.dim]))
        walks.push_back({static_cast<int>(i), dim.is_leaf(term[st.dim]) ? 1.0 : weight, ordinal, shift});
    }
  }
  return walks;
}

uint64_t Offset(uint64_t x, __int128 by) {
  if (x == SliceCursor::kEnd) return x;
  const __int128 v = static_cast<__int128>(x) + by;
  if (v < 0) return 0;
  if (v >= static_cast<__int128>(SliceCursor::kEnd)) return SliceCursor::kEnd;
  return static_cast<uint64_t>(v);
}

// A group of formulas fused into one pass (see FusableInto): per formula its walks, each
// either reading the store through a cursor (shared by every walk of the same slice and step)
// or reading the result of an earlier formula of the group at the same cell.
struct Plan {
  struct Step {
    int input;
    double weight;
    int cursor;  // index into `slices`, or -1
    int member;  // the group member whose result it reads, when cursor < 0
  };
  struct Member {
    const CompiledFormula* f;
    std::vector<Step> steps;       // in the order LeafReader adds them
    std::vector<bool> aligned;     // per input: read by steps (else per cell)
  };
  std::vector<Member> members;
  std::vector<Walk> slices;        // the store slices walked (input, weight unused)
};

Plan MakePlan(const AppModel& model, const FormulaState& st, std::span<const int> group) {
  Plan plan;
  for (int g : group) {
    const CompiledFormula& f = st.formulas[g];
    Plan::Member m{&f, {}, std::vector<bool>(f.bound.inputs.size(), false)};
    for (const Walk& w : Walks(model, st, f)) {
      m.aligned[w.input] = true;
      int member = -1;
      for (size_t h = 0; h < plan.members.size(); ++h)
        if (plan.members[h].f->member_ordinal == w.ordinal) member = static_cast<int>(h);
      if (member >= 0) {
        m.steps.push_back({w.input, w.weight, -1, member});
        continue;
      }
      int cursor = -1;
      for (size_t c = 0; c < plan.slices.size(); ++c)
        if (plan.slices[c].ordinal == w.ordinal && plan.slices[c].shift == w.shift) cursor = static_cast<int>(c);
      if (cursor < 0) {
        cursor = static_cast<int>(plan.slices.size());
        plan.slices.push_back(w);
      }
      m.steps.push_back({w.input, w.weight, cursor, -1});
    }
    plan.members.push_back(std::move(m));
  }
  return plan;
}

// Computes the chunk [lo, hi) of residual keys for every member of the group.
class Chunk {
 public:
  Chunk(const AppModel& model, const CellStore& store, const FormulaState& st, const Plan& plan,
        const std::vector<std::vector<SliceExtra>>& extras, const std::vector<std::vector<SliceExtra>>& own_extras)
      : model_(model), store_(store), layout_(store.layout()), st_(st), plan_(plan), extras_(extras),
        own_extras_(own_extras) {
    if (st.time.dim >= 0) {
      time_unit_ = int64_t{1} << layout_.shift(st.time.dim);
      periods_ = layout_.leaf_count(st.time.dim);
    }
  }

  // Appends the changes of member m to outs[m], in key order. `expected`: about how many store
  // cells the range holds, a bound on any member's changes there; the lists reserve that much
  // address space (mapped lazily: untouched pages cost nothing), so that they never grow by
  // copying into fresh pages, which the kernel must zero.
  void Run(uint64_t lo, uint64_t hi, size_t expected, std::vector<CellStore::SortedUpdates>* outs) {
    const size_t slices = plan_.slices.size(), members = plan_.members.size();
    for (auto& out : *outs) out.reserve(expected);
    std::vector<SliceCursor> cursors;
    cursors.reserve(slices);
    heads_.assign(slices, SliceCursor::kEnd);
    for (size_t w = 0; w < slices; ++w) {
      const __int128 by = static_cast<__int128>(plan_.slices[w].shift) * time_unit_;
      cursors.emplace_back(store_, st_.dim, plan_.slices[w].ordinal, &extras_[w], Offset(lo, by), Offset(hi, by));
      Settle(cursors, w);
    }
    std::vector<SliceCursor> own;
    own.reserve(members);
    for (size_t m = 0; m < members; ++m)
      own.emplace_back(store_, st_.dim, plan_.members[m].f->member_ordinal, &own_extras_[m], lo, hi);
    // Per slice: the value and state (0 none, 1 number, 2 text) of its cell at each batch key.
    std::vector<std::vector<double>> slice_value(slices, std::vector<double>(formula::kBatch));
    std::vector<std::vector<uint8_t>> slice_state(slices, std::vector<uint8_t>(formula::kBatch));
    // Per member: its result and whether it has a cell at each batch key.
    std::vector<std::vector<double>> result(members, std::vector<double>(formula::kBatch));
    std::vector<std::vector<uint8_t>> exists(members, std::vector<uint8_t>(formula::kBatch));
    size_t max_inputs = 0;
    for (const auto& m : plan_.members) max_inputs = std::max(max_inputs, m.f->bound.inputs.size());
    std::vector<std::vector<double>> columns(max_inputs, std::vector<double>(formula::kBatch));
    std::vector<std::vector<uint32_t>> counts(max_inputs, std::vector<uint32_t>(formula::kBatch));
    std::vector<const double*> ptrs;
    for (auto& c : columns) ptrs.push_back(c.data());
    std::vector<uint64_t> keys(formula::kBatch);
    std::vector<double> row(max_inputs);
    LeafReader reader(model_, store_, st_);
    for (;;) {
      // The next batch of cells: the union of the store walks.
      size_t n = 0;
      while (n < formula::kBatch) {
        uint64_t k = SliceCursor::kEnd;
        for (uint64_t h : heads_) k = std::min(k, h);
        if (k == SliceCursor::kEnd) break;
        for (size_t w = 0; w < slices; ++w) {
          if (heads_[w] != k) {
            slice_state[w][n] = 0;
            continue;
          }
          slice_state[w][n] = cursors[w].text() ? 2 : 1;
          slice_value[w][n] = cursors[w].value();
          cursors[w].Next();
          Settle(cursors, w);
        }
        keys[n++] = k;
      }
      if (n == 0) break;
      for (size_t m = 0; m < members; ++m) Compute(m, n, keys, slice_value, slice_state, result, exists, columns,
                                                   counts, ptrs, row, reader);
      // Merge with each member's own cells: vanished, changed and new cells.
      for (size_t m = 0; m < members; ++m) {
        const uint32_t ordinal = plan_.members[m].f->member_ordinal;
        SliceCursor& mine = own[m];
        CellStore::SortedUpdates& out = (*outs)[m];
        for (size_t j = 0; j < n; ++j) {
          while (mine.residual() < keys[j]) {
            out.push_back({SliceCursor::WithOrdinal(layout_, st_.dim, mine.residual(), ordinal), 0.0, true});
            mine.Next();
          }
          const bool here = mine.residual() == keys[j];
          if (!exists[m][j]) {
            if (here) out.push_back({SliceCursor::WithOrdinal(layout_, st_.dim, keys[j], ordinal), 0.0, true});
          } else {
            const double v = result[m][j];
            const bool same = here && !mine.text() && std::bit_cast<uint64_t>(mine.value()) == std::bit_cast<uint64_t>(v);
            if (!same) out.push_back({SliceCursor::WithOrdinal(layout_, st_.dim, keys[j], ordinal), v, false});
          }
          if (here) mine.Next();
        }
      }
    }
    for (size_t m = 0; m < members; ++m)
      for (SliceCursor& mine = own[m]; mine.residual() != SliceCursor::kEnd; mine.Next())
        (*outs)[m].push_back(
            {SliceCursor::WithOrdinal(layout_, st_.dim, mine.residual(), plan_.members[m].f->member_ordinal), 0.0, true});
  }

 private:
  // Member m's inputs over the batch, then its expression; its cells are where a driving input
  // has one.
  void Compute(size_t m, size_t n, const std::vector<uint64_t>& keys, const std::vector<std::vector<double>>& slice_value,
               const std::vector<std::vector<uint8_t>>& slice_state, std::vector<std::vector<double>>& result,
               std::vector<std::vector<uint8_t>>& exists, std::vector<std::vector<double>>& columns,
               std::vector<std::vector<uint32_t>>& counts, const std::vector<const double*>& ptrs,
               std::vector<double>& row, const LeafReader& reader) {
    const Plan::Member& member = plan_.members[m];
    const CompiledFormula& f = *member.f;
    const size_t inputs = f.bound.inputs.size();
    for (size_t i = 0; i < inputs; ++i)
      if (member.aligned[i]) {
        std::fill_n(columns[i].begin(), n, 0.0);
        std::fill_n(counts[i].begin(), n, 0u);
      }
    for (const Plan::Step& s : member.steps) {
      double* col = columns[s.input].data();
      uint32_t* cnt = counts[s.input].data();
      if (s.cursor >= 0) {
        const double* val = slice_value[s.cursor].data();
        const uint8_t* state = slice_state[s.cursor].data();
        for (size_t j = 0; j < n; ++j) {
          if (state[j] == 0) continue;
          col[j] += state[j] == 2 ? ErrorValue(CellError::kValue) : s.weight * val[j];
          ++cnt[j];
        }
      } else {
        const double* val = result[s.member].data();
        const uint8_t* has = exists[s.member].data();
        for (size_t j = 0; j < n; ++j) {
          if (!has[j]) continue;
          col[j] += s.weight * val[j];
          ++cnt[j];
        }
      }
    }
    uint8_t* has = exists[m].data();
    std::fill_n(has, n, 0);
    uint32_t ord[64];
    for (size_t i = 0; i < inputs; ++i) {
      const Input& in = f.bound.inputs[i];
      if (member.aligned[i]) {
        for (size_t j = 0; j < n; ++j) has[j] |= counts[i][j] != 0;
        if (in.aggregate != Input::Aggregate::kSum)
          for (size_t j = 0; j < n; ++j) columns[i][j] = FinishInput(in, columns[i][j], counts[i][j]);
        continue;
      }
      for (size_t j = 0; j < n; ++j) {
        layout_.Unpack(SliceCursor::WithOrdinal(layout_, st_.dim, keys[j], f.member_ordinal), ord);
        columns[i][j] = reader.Read(f, i, ord).value;
      }
    }
    double* out = result[m].data();
    if (st_.tier == FormulaTier::kInterpreter) {
      for (size_t j = 0; j < n; ++j) {
        for (size_t i = 0; i < inputs; ++i) row[i] = columns[i][j];
        out[j] = formula::Interpret(f.bound.expr, row);
      }
    } else if (st_.jit && f.jit_index >= 0) {
      st_.jit->function(f.jit_index)(ptrs.data(), n, out);
    } else {
      formula::Run(f.program, std::span<const double* const>(ptrs.data(), inputs), n, out);
    }
    for (size_t j = 0; j < n; ++j) out[j] = out[j] == 0 ? 0.0 : out[j];  // never -0.0 in the store
  }

  // Moves walk `w`'s head to its cursor's cell as the target cell it feeds, skipping cells
  // whose target period is outside the time dimension.
  void Settle(std::vector<SliceCursor>& cursors, size_t w) {
    const int shift = plan_.slices[w].shift;
    for (;;) {
      const uint64_t r = cursors[w].residual();
      if (r == SliceCursor::kEnd || shift == 0) {
        heads_[w] = r;
        return;
      }
      const int64_t t = static_cast<int64_t>(layout_.Get(r, st_.time.dim)) - shift;
      if (t >= 0 && t < periods_) {
        heads_[w] = r - static_cast<uint64_t>(shift * time_unit_);
        return;
      }
      cursors[w].Next();
    }
  }

  const AppModel& model_;
  const CellStore& store_;
  const KeyLayout& layout_;
  const FormulaState& st_;
  const Plan& plan_;
  const std::vector<std::vector<SliceExtra>>& extras_;
  const std::vector<std::vector<SliceExtra>>& own_extras_;
  std::vector<uint64_t> heads_;
  int64_t time_unit_ = 0;
  int64_t periods_ = 0;
};

// Chunk bounds in residual keys: quantiles of keys sampled evenly from main.
std::vector<uint64_t> ChunkBounds(const CellStore& store, int dim, size_t chunks) {
  std::vector<uint64_t> bounds = {0};
  const size_t n = store.values().size();
  if (chunks > 1 && n > 0) {
    std::vector<uint64_t> sample;
    const size_t samples = chunks * 8;
    for (size_t s = 0; s < samples; ++s) {
      const size_t pos = s * (n - 1) / samples;
      sample.push_back(SliceCursor::Residual(store.layout(), dim, store.MainKey(store.RunOf(pos), pos)));
    }
    std::sort(sample.begin(), sample.end());
    for (size_t c = 1; c < chunks; ++c) bounds.push_back(sample[c * samples / chunks]);
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  }
  bounds.push_back(SliceCursor::kEnd);
  return bounds;
}

}  // namespace

void SetBulkChunkCellsForTesting(size_t cells) { chunk_cells = std::max<size_t>(1, cells); }

bool BulkEligible(const AppModel& model, const FormulaState& st, const CompiledFormula& f) {
  bool driven = false;
  for (const Input& in : f.bound.inputs) {
    if (in.kind != Input::Kind::kCells || !in.driving) continue;
    if (Shifts(st, in) && in.time != TimeMode::kShift) return false;  // a window: one cell feeds many
    driven = true;
  }
  return driven && Walks(model, st, f).size() <= kMaxWalks;
}

bool FusableInto(const AppModel& model, const FormulaState& st, std::span<const int> group, const CompiledFormula& f) {
  for (const Input& in : f.bound.inputs)
    if (in.kind == Input::Kind::kCells && !in.driving) return false;  // read per cell: would miss the group's results
  for (const Walk& w : Walks(model, st, f))
    for (int g : group)
      if (st.formulas[g].member_ordinal == w.ordinal && w.shift != 0) return false;
  return true;
}

std::vector<std::vector<CellStore::SortedUpdates>> BulkFormulaUpdates(const AppModel& model, const CellStore& store,
                                                                      const FormulaState& st, std::span<const int> group) {
  const Plan plan = MakePlan(model, st, group);
  std::vector<std::vector<SliceExtra>> extras, own_extras;
  for (const Walk& w : plan.slices) extras.push_back(SliceExtras(store, st.dim, w.ordinal));
  bool other_app = false;
  for (const Plan::Member& m : plan.members) {
    own_extras.push_back(SliceExtras(store, st.dim, m.f->member_ordinal));
    for (const Input& in : m.f->bound.inputs) other_app = other_app || in.kind == Input::Kind::kOtherApp;
  }
  const size_t cells = store.numeric_cells();
  const size_t per_chunk = chunk_cells.load();
  const size_t chunks = other_app || cells < 2 * per_chunk ? 1 : std::min<size_t>(64, cells / per_chunk);
  const std::vector<uint64_t> bounds = ChunkBounds(store, st.dim, chunks);
  // [chunk][member], handed back as [member][chunk].
  std::vector<std::vector<CellStore::SortedUpdates>> by_chunk(bounds.size() - 1);
  auto run = [&](size_t c) {
    by_chunk[c].resize(plan.members.size());
    Chunk chunk(model, store, st, plan, extras, own_extras);
    chunk.Run(bounds[c], bounds[c + 1], cells / by_chunk.size() * 3 / 2 + 1024, &by_chunk[c]);
  };
  if (by_chunk.size() == 1) {
    run(0);
  } else {
    tbb::parallel_for(size_t{0}, by_chunk.size(), [&](size_t c) { run(c); });
  }
  std::vector<std::vector<CellStore::SortedUpdates>> out(plan.members.size());
  for (size_t m = 0; m < out.size(); ++m)
    for (auto& c : by_chunk) out[m].push_back(std::move(c[m]));
  return out;
}

}  // namespace quantatom

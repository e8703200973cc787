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

// Computes the chunk [lo, hi) of residual keys.
class Chunk {
 public:
  Chunk(const AppModel& model, const CellStore& store, const FormulaState& st, const CompiledFormula& f,
        const std::vector<Walk>& walks, const std::vector<std::vector<SliceExtra>>& extras,
        const std::vector<SliceExtra>& own_extras)
      : model_(model), store_(store), layout_(store.layout()), st_(st), f_(f), walks_(walks), extras_(extras),
        own_extras_(own_extras), inputs_(f.bound.inputs.size()) {
    aligned_.assign(inputs_, false);
    for (const Walk& w : walks) aligned_[w.input] = true;
    if (st.time.dim >= 0) {
      time_unit_ = int64_t{1} << layout_.shift(st.time.dim);
      periods_ = layout_.leaf_count(st.time.dim);
    }
  }

  void Run(uint64_t lo, uint64_t hi, CellStore::SortedUpdates* out) {
    std::vector<SliceCursor> cursors;
    cursors.reserve(walks_.size());
    heads_.assign(walks_.size(), SliceCursor::kEnd);
    for (size_t w = 0; w < walks_.size(); ++w) {
      const __int128 by = static_cast<__int128>(walks_[w].shift) * time_unit_;
      cursors.emplace_back(store_, st_.dim, walks_[w].ordinal, &extras_[w], Offset(lo, by), Offset(hi, by));
      Settle(cursors, w);
    }
    SliceCursor own(store_, st_.dim, f_.member_ordinal, &own_extras_, lo, hi);
    std::vector<std::vector<double>> columns(inputs_, std::vector<double>(formula::kBatch));
    std::vector<std::vector<uint32_t>> counts(inputs_, std::vector<uint32_t>(formula::kBatch));
    std::vector<const double*> ptrs;
    for (auto& c : columns) ptrs.push_back(c.data());
    std::vector<uint64_t> keys(formula::kBatch);
    std::vector<double> results(formula::kBatch), row(inputs_);
    LeafReader reader(model_, store_, st_);
    for (;;) {
      // The next batch of cells: the union of the walks, each walk adding into its input.
      size_t n = 0;
      while (n < formula::kBatch) {
        uint64_t k = SliceCursor::kEnd;
        for (uint64_t h : heads_) k = std::min(k, h);
        if (k == SliceCursor::kEnd) break;
        for (size_t i = 0; i < inputs_; ++i)
          if (aligned_[i]) columns[i][n] = 0, counts[i][n] = 0;
        for (size_t w = 0; w < walks_.size(); ++w) {
          if (heads_[w] != k) continue;
          const int i = walks_[w].input;
          if (cursors[w].text()) columns[i][n] += ErrorValue(CellError::kValue);
          else columns[i][n] += walks_[w].weight * cursors[w].value();
          ++counts[i][n];
          cursors[w].Next();
          Settle(cursors, w);
        }
        keys[n++] = k;
      }
      if (n == 0) break;
      uint32_t ord[64];
      for (size_t i = 0; i < inputs_; ++i) {
        const Input& in = f_.bound.inputs[i];
        if (aligned_[i]) {
          if (in.aggregate != Input::Aggregate::kSum)
            for (size_t j = 0; j < n; ++j) columns[i][j] = FinishInput(in, columns[i][j], counts[i][j]);
          continue;
        }
        for (size_t j = 0; j < n; ++j) {
          layout_.Unpack(SliceCursor::WithOrdinal(layout_, st_.dim, keys[j], f_.member_ordinal), ord);
          columns[i][j] = reader.Read(f_, i, ord).value;
        }
      }
      if (st_.tier == FormulaTier::kInterpreter) {
        for (size_t j = 0; j < n; ++j) {
          for (size_t i = 0; i < inputs_; ++i) row[i] = columns[i][j];
          results[j] = formula::Interpret(f_.bound.expr, row);
        }
      } else if (st_.jit && f_.jit_index >= 0) {
        st_.jit->function(f_.jit_index)(ptrs.data(), n, results.data());
      } else {
        formula::Run(f_.program, ptrs, n, results.data());
      }
      // Merge with the formula's own cells: vanished, changed and new cells.
      for (size_t j = 0; j < n; ++j) {
        while (own.residual() < keys[j]) {
          out->push_back({SliceCursor::WithOrdinal(layout_, st_.dim, own.residual(), f_.member_ordinal), 0.0, true});
          own.Next();
        }
        const double v = results[j] == 0 ? 0.0 : results[j];  // never -0.0 in the store
        const bool same = own.residual() == keys[j] && !own.text() &&
                          std::bit_cast<uint64_t>(own.value()) == std::bit_cast<uint64_t>(v);
        if (!same) out->push_back({SliceCursor::WithOrdinal(layout_, st_.dim, keys[j], f_.member_ordinal), v, false});
        if (own.residual() == keys[j]) own.Next();
      }
    }
    for (; own.residual() != SliceCursor::kEnd; own.Next())
      out->push_back({SliceCursor::WithOrdinal(layout_, st_.dim, own.residual(), f_.member_ordinal), 0.0, true});
  }

 private:
  // Moves walk `w`'s head to its cursor's cell as the target cell it feeds, skipping cells
  // whose target period is outside the time dimension.
  void Settle(std::vector<SliceCursor>& cursors, size_t w) {
    const int shift = walks_[w].shift;
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
  const CompiledFormula& f_;
  const std::vector<Walk>& walks_;
  const std::vector<std::vector<SliceExtra>>& extras_;
  const std::vector<SliceExtra>& own_extras_;
  const size_t inputs_;
  std::vector<bool> aligned_;
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

CellStore::SortedUpdates BulkFormulaUpdates(const AppModel& model, const CellStore& store,
                                                        const FormulaState& st, const CompiledFormula& f) {
  std::vector<Walk> walks = Walks(model, st, f);
  std::vector<std::vector<SliceExtra>> extras;
  for (const Walk& w : walks) extras.push_back(SliceExtras(store, st.dim, w.ordinal));
  const std::vector<SliceExtra> own_extras = SliceExtras(store, st.dim, f.member_ordinal);
  const bool other_app = std::any_of(f.bound.inputs.begin(), f.bound.inputs.end(),
                                     [](const Input& in) { return in.kind == Input::Kind::kOtherApp; });
  const size_t cells = store.numeric_cells();
  const size_t per_chunk = chunk_cells.load();
  const size_t chunks = other_app || cells < 2 * per_chunk ? 1 : std::min<size_t>(64, cells / per_chunk);
  const std::vector<uint64_t> bounds = ChunkBounds(store, st.dim, chunks);
  std::vector<CellStore::SortedUpdates> parts(bounds.size() - 1);
  auto run = [&](size_t c) {
    Chunk chunk(model, store, st, f, walks, extras, own_extras);
    chunk.Run(bounds[c], bounds[c + 1], &parts[c]);
  };
  if (parts.size() == 1) {
    run(0);
  } else {
    tbb::parallel_for(size_t{0}, parts.size(), [&](size_t c) { run(c); });
  }
  if (parts.size() == 1) return std::move(parts[0]);
  size_t total = 0;
  for (auto& p : parts) total += p.size();
  CellStore::SortedUpdates out;
  out.reserve(total);
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace quantatom

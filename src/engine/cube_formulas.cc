// Cube's formulas (docs/formula-language.md): definition, full and incremental recalculation of
// leaf-level formula cells, and read-time evaluation of consolidated-level formulas.
//
// Leaf-level formula cells live in the store like entered cells, so consolidation, the cache
// and snapshots need nothing new. Which cells a formula has is derived from its driving inputs
// (no feeders): a cell exists where at least one driving input is non-empty.
//
// Full recalculation goes formula by formula in graph order: candidates from a scan of the
// driving inputs' cells, their inputs read into columns, the expression over the columns (VM,
// JIT or interpreter), the differences applied. A recurrent component (prev / lag cycles) and
// every incremental recalculation run a worklist ordered by (component, period, rank): a
// changed cell queues the cells that read it, each is computed once, in dependency order.
#include <algorithm>
#include <bit>
#include <cmath>
#include <set>
#include <tuple>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "base/strings.h"
#include "engine/formula_inputs.h"
#include "engine/formula_bulk.h"
#include "engine/formula_state.h"
#include "formula/parser.h"
#include "query/consolidate.h"
#include "store/slice_cursor.h"

namespace quantatom {

using formula::Input;
using formula::TimeMode;

namespace {

bool SameBits(const CellValue& a, const CellValue& b) {
  if (a.kind != b.kind) return false;
  if (a.is_number()) return std::bit_cast<uint64_t>(a.number) == std::bit_cast<uint64_t>(b.number);
  return a == b;
}

// Calls fn(key) for every stored cell (numbers and text).
template <typename Fn>
void ForEachStoredKey(const CellStore& store, Fn&& fn) {
  const auto starts = store.run_starts();
  const size_t runs = store.run_count();
  const bool check_deleted = !store.deleted().empty();
  for (size_t r = 0; r < runs; ++r) {
    const size_t end = r + 1 < runs ? starts[r + 1] : store.values().size();
    for (size_t pos = starts[r]; pos < end; ++pos) {
      const uint64_t key = store.MainKey(r, pos);
      if (check_deleted && store.deleted().contains(key)) continue;
      fn(key);
    }
  }
  for (const auto& [key, v] : store.delta()) fn(key);
  for (const auto& [key, t] : store.texts()) fn(key);
}

}  // namespace

// ---- Definition.

namespace {

std::string Key(const FormulaDefinition& d) { return StrCat(d.dimension, "=", d.member); }

}  // namespace

absl::Status Cube::SetFormula(const FormulaDefinition& definition) {
  std::unique_lock lock(mu_);
  std::vector<FormulaDefinition> defs;
  if (formulas_)
    for (const CompiledFormula& f : formulas_->formulas)
      if (Key(f.definition) != Key(definition)) defs.push_back(f.definition);
  defs.push_back(definition);
  return InstallFormulasLocked(std::move(defs));
}

absl::Status Cube::SetFormulas(const std::vector<FormulaDefinition>& definitions) {
  std::unique_lock lock(mu_);
  std::vector<FormulaDefinition> defs;
  auto redefined = [&](const FormulaDefinition& d) {
    return std::any_of(definitions.begin(), definitions.end(), [&](const FormulaDefinition& n) { return Key(n) == Key(d); });
  };
  if (formulas_)
    for (const CompiledFormula& f : formulas_->formulas)
      if (!redefined(f.definition)) defs.push_back(f.definition);
  for (size_t i = 0; i < definitions.size(); ++i) {
    for (size_t j = i + 1; j < definitions.size(); ++j)
      if (Key(definitions[i]) == Key(definitions[j]))
        return absl::InvalidArgumentError(StrCat("formula for ", Key(definitions[i]), " is given twice"));
    defs.push_back(definitions[i]);
  }
  return InstallFormulasLocked(std::move(defs));
}

absl::Status Cube::RemoveFormula(std::string_view dimension, std::string_view member) {
  std::unique_lock lock(mu_);
  std::vector<FormulaDefinition> defs;
  bool found = false;
  if (formulas_)
    for (const CompiledFormula& f : formulas_->formulas) {
      if (f.definition.dimension == dimension && f.definition.member == member) found = true;
      else defs.push_back(f.definition);
    }
  if (!found) return absl::NotFoundError(StrCat("no formula on ", dimension, "=", member));
  return InstallFormulasLocked(std::move(defs));
}

std::vector<FormulaDefinition> Cube::Formulas() const {
  std::shared_lock lock(mu_);
  std::vector<FormulaDefinition> out;
  if (formulas_)
    for (const CompiledFormula& f : formulas_->formulas) out.push_back(f.definition);
  return out;
}

void Cube::SetAppResolver(std::function<const Cube*(std::string_view app)> resolver) {
  std::unique_lock lock(mu_);
  app_resolver_ = std::move(resolver);
  if (formulas_) formulas_->apps = app_resolver_;
}

void Cube::SetFormulaTier(FormulaTier tier) {
  std::unique_lock lock(mu_);
  formula_tier_ = tier;
  if (formulas_) formulas_->tier = tier;
}

FormulaTier Cube::formula_tier() const {
  std::shared_lock lock(mu_);
  return formula_tier_;
}

void Cube::RecalculateFormulas() {
  std::unique_lock lock(mu_);
  if (formulas_) RecalcAllLocked();
}

absl::Status Cube::InstallFormulasLocked(std::vector<FormulaDefinition> defs) {
  auto st = std::make_shared<FormulaState>();
  st->time = formula::TimeAxis::Of(model_);
  st->tier = formula_tier_;
  st->apps = app_resolver_;
  formula::AppResolver models = [&](std::string_view app) -> const AppModel* {
    const Cube* c = app_resolver_ ? app_resolver_(app) : nullptr;
    return c ? &c->model() : nullptr;
  };
  for (FormulaDefinition& def : defs) {
    const int d = model_.FindDimension(def.dimension);
    if (d < 0) return absl::NotFoundError(StrCat("no dimension '", def.dimension, "' in app '", model_.name, "'"));
    if (st->dim >= 0 && d != st->dim)
      return absl::InvalidArgumentError(StrCat("formulas of app '", model_.name, "' are on dimension '",
                                               model_.dimensions[st->dim].name(), "'; all formulas of an app are on members of one dimension"));
    st->dim = d;
    const Dimension& dim = model_.dimensions[d];
    auto member = dim.Find(def.member);
    if (!member) return absl::NotFoundError(StrCat("no member '", def.member, "' in dimension '", def.dimension, "'"));
    auto tree = formula::Parse(def.text);
    if (!tree.ok())
      return absl::Status(tree.status().code(), StrCat("formula for ", def.dimension, "=", def.member, ": ", tree.status().message()));
    auto bound = formula::Bind(model_, d, *member, def.scope, **tree, models);
    if (!bound.ok())
      return absl::Status(bound.status().code(), StrCat("formula for ", def.dimension, "=", def.member, ": ", bound.status().message()));
    CompiledFormula cf;
    def.text = bound->text;
    cf.definition = def;
    cf.bound = *std::move(bound);
    cf.program = formula::Program::Compile(cf.bound.expr, static_cast<int>(cf.bound.inputs.size()));
    cf.member_ordinal = dim.leaf_ordinal(*member);
    for (const Input& in : cf.bound.inputs) {
      auto& per_term = cf.pinned.emplace_back();
      auto& simple = cf.simple.emplace_back();
      for (const Coordinate& term : in.terms) {
        auto& dims = per_term.emplace_back(model_.dimensions.size());
        bool all_leaves = true;
        for (size_t e = 0; e < term.size(); ++e) {
          if (term[e] == kNoMember) continue;
          dims[e] = model_.dimensions[e].LeavesUnder(term[e]);
          all_leaves = all_leaves && model_.dimensions[e].is_leaf(term[e]);
        }
        simple.push_back(all_leaves);
      }
    }
    st->formulas.push_back(std::move(cf));
  }
  // Cycles over every formula; the order over the leaf-level ones.
  if (st->dim >= 0) {
    const Dimension& dim = model_.dimensions[st->dim];
    std::vector<const formula::BoundFormula*> all, leaf;
    st->position.assign(st->formulas.size(), -1);
    for (size_t i = 0; i < st->formulas.size(); ++i) {
      const CompiledFormula& f = st->formulas[i];
      all.push_back(&f.bound);
      if (f.bound.AtConsolidated()) st->read_time[f.bound.member] = static_cast<int>(i);
      if (!f.bound.AtLeaves()) continue;
      st->position[i] = static_cast<int>(st->leaf_formulas.size());
      st->leaf_formulas.push_back(static_cast<int>(i));
      st->leaf_formulas_by_position.push_back(static_cast<int>(i));
      leaf.push_back(&f.bound);
      st->by_output[f.member_ordinal] = static_cast<int>(i);
    }
    QA_RETURN_IF_ERROR(formula::FormulaGraph::Build(dim, all).status());
    QA_ASSIGN_OR_RETURN(st->graph, formula::FormulaGraph::Build(dim, leaf));
    const int comps = leaf.empty() ? 0 : *std::max_element(st->graph.component.begin(), st->graph.component.end()) + 1;
    st->recurrent.assign(comps, false);
    for (size_t p = 0; p < leaf.size(); ++p)
      for (int reader : st->graph.readers[p])
        if (st->graph.component[reader] == st->graph.component[p]) st->recurrent[st->graph.component[p]] = true;
    std::sort(st->leaf_formulas.begin(), st->leaf_formulas.end(), [&](int a, int b) {
      const int pa = st->position[a], pb = st->position[b];
      return std::pair(st->graph.component[pa], st->graph.rank[pa]) < std::pair(st->graph.component[pb], st->graph.rank[pb]);
    });
    st->readers_by_leaf.assign(dim.leaf_count(), {});
    for (int i : st->leaf_formulas)
      for (const formula::Dependency& dep : st->formulas[i].bound.dependencies)
        for (auto [ordinal, w] : dim.LeavesUnder(dep.member)) {
          auto& list = st->readers_by_leaf[ordinal];
          if (std::find(list.begin(), list.end(), i) == list.end()) list.push_back(i);
        }
    if (formula_tier_ == FormulaTier::kJit && formula::JitModule::Available()) {
      std::vector<const formula::Program*> programs;
      for (int i : st->leaf_formulas) {
        st->formulas[i].jit_index = static_cast<int>(programs.size());
        programs.push_back(&st->formulas[i].program);
      }
      if (!programs.empty()) {
        QA_ASSIGN_OR_RETURN(st->jit, formula::JitModule::Compile(programs));
      }
    }
  }
  // Installed: the holds follow the leaf-level formulas. What is recomputed: the formulas that
  // are new or changed, and every formula that reads (transitively) their cells or the cells of
  // a formula that is gone, whose cells are cleared.
  const std::shared_ptr<FormulaState> old = formulas_;
  std::erase_if(read_only_holds_, [&](const Coordinate& h) {
    return std::find(formula_holds_.begin(), formula_holds_.end(), h) != formula_holds_.end();
  });
  formula_holds_.clear();
  for (int i : st->leaf_formulas) {
    Coordinate hold(model_.dimensions.size(), kNoMember);
    hold[st->dim] = st->formulas[i].bound.member;
    formula_holds_.push_back(hold);
    read_only_holds_.push_back(std::move(hold));
  }
  formulas_ = st->formulas.empty() ? nullptr : st;
  // Views derived from the old formulas (sandboxes) are stale even where no cell changes.
  data_version_.fetch_add(1, std::memory_order_release);
  std::vector<uint32_t> gone;
  if (old)
    for (const auto& [ordinal, i] : old->by_output) {
      if (formulas_ && formulas_->by_output.contains(ordinal)) continue;
      gone.push_back(ordinal);
      std::vector<SliceExtra> extras = SliceExtras(store_, old->dim, ordinal);
      CellStore::SortedUpdates cleared;
      for (SliceCursor c(store_, old->dim, ordinal, &extras); c.residual() != SliceCursor::kEnd; c.Next())
        cleared.push_back({SliceCursor::WithOrdinal(store_.layout(), old->dim, c.residual(), ordinal), 0.0, true});
      SetDerivedSortedLocked(cleared);
    }
  if (!formulas_) return absl::OkStatus();
  std::vector<bool> seed(st->formulas.size(), false);
  for (size_t i = 0; i < st->formulas.size(); ++i) {
    const FormulaDefinition& def = st->formulas[i].definition;
    bool same = false;
    if (old)
      for (const CompiledFormula& o : old->formulas) same = same || o.definition == def;
    seed[i] = !same;
  }
  const std::vector<bool> only = ReadersOfLocked(gone, std::move(seed));
  RecalcAllLocked(&only);
  return absl::OkStatus();
}

// ---- Recalculation.

void Cube::SetDerivedLocked(const std::vector<std::pair<uint64_t, CellValue>>& batch) {
  if (batch.empty()) return;
  data_version_.fetch_add(1, std::memory_order_release);
  std::lock_guard cache_lock(cache_mu_);
  const bool propagate = batch.size() <= 256;
  std::vector<std::vector<uint32_t>> touched(model_.dimensions.size());
  for (const auto& [key, value] : batch) {
    CellValue old = store_.Set(key, value);
    const double before = old.is_number() ? old.number : 0.0, after = value.is_number() ? value.number : 0.0;
    // A cached total that took an error in cannot subtract it out again: drop such totals.
    const bool exact = propagate && std::isfinite(before) && std::isfinite(after);
    if (exact) {
      const double delta = after - before;
      const int dcount = static_cast<int>(value.is_number()) - static_cast<int>(old.is_number());
      if (delta != 0 || dcount != 0) cache_.ApplyLeafChange(LeafOfKey(key), delta, dcount);
    } else {
      for (size_t d = 0; d < touched.size(); ++d) touched[d].push_back(store_.layout().Get(key, static_cast<int>(d)));
    }
  }
  if (!touched[0].empty()) cache_.InvalidateRegion(touched);
}

namespace {

// Computes formula `f` at `keys`: the value, or empty where no driving input has a cell.
// `Cells`: the store, or a sandbox's view of it (ViewCells).
template <typename Cells>
std::vector<CellValue> EvaluateAt(const AppModel& model, const Cells& store, const FormulaState& st,
                                  const CompiledFormula& f, std::span<const uint64_t> keys) {
  const size_t n = keys.size();
  const size_t inputs = f.bound.inputs.size();
  std::vector<std::vector<double>> columns(inputs, std::vector<double>(n));
  std::vector<uint8_t> exists(n, 0);
  LeafReaderOver<Cells> reader(model, store, st);
  auto gather = [&](size_t lo, size_t hi) {
    uint32_t ord[64];
    for (size_t k = lo; k < hi; ++k) {
      store.layout().Unpack(keys[k], ord);
      for (size_t i = 0; i < inputs; ++i) {
        InputValue v = reader.Read(f, i, ord);
        columns[i][k] = v.value;
        if (v.count && f.bound.inputs[i].driving) exists[k] = 1;
      }
    }
  };
  const bool has_other_app = std::any_of(f.bound.inputs.begin(), f.bound.inputs.end(),
                                         [](const Input& in) { return in.kind == Input::Kind::kOtherApp; });
  if (n >= 16384 && !has_other_app) {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, n, 8192),
                      [&](const tbb::blocked_range<size_t>& r) { gather(r.begin(), r.end()); });
  } else {
    gather(0, n);
  }
  std::vector<double> out(n);
  if (st.tier == FormulaTier::kInterpreter) {
    std::vector<double> row(inputs);
    for (size_t k = 0; k < n; ++k) {
      for (size_t i = 0; i < inputs; ++i) row[i] = columns[i][k];
      out[k] = formula::Interpret(f.bound.expr, row);
    }
  } else {
    std::vector<const double*> ptrs;
    for (auto& c : columns) ptrs.push_back(c.data());
    if (st.jit && f.jit_index >= 0) st.jit->function(f.jit_index)(ptrs.data(), n, out.data());
    else formula::Run(f.program, ptrs, n, out.data());
  }
  std::vector<CellValue> values(n);
  for (size_t k = 0; k < n; ++k)
    if (exists[k]) values[k] = CellValue::Number(out[k] == 0 ? 0.0 : out[k]);  // never -0.0 in the store
  return values;
}

// The cells formula `f` should have: the targets of every stored cell its driving inputs read.
std::vector<uint64_t> Candidates(const AppModel& model, const CellStore& store, const FormulaState& st,
                                 const CompiledFormula& f) {
  const Dimension& dim = model.dimensions[st.dim];
  const KeyLayout& layout = store.layout();
  std::vector<uint64_t> out;
  for (size_t i = 0; i < f.bound.inputs.size(); ++i) {
    const Input& in = f.bound.inputs[i];
    if (!in.driving) continue;
    std::vector<uint8_t> reads(dim.leaf_count(), 0);
    for (const Coordinate& term : in.terms) {
      const MemberId p = term[st.dim] == kNoMember ? f.bound.member : term[st.dim];
      for (auto [ordinal, w] : dim.LeavesUnder(p)) reads[ordinal] = 1;
    }
    const bool windowed = st.time.dim >= 0 && in.time != TimeMode::kSame;
    ForEachStoredKey(store, [&](uint64_t key) {
      if (!reads[layout.Get(key, st.dim)]) return;
      uint32_t ord[64];
      layout.Unpack(key, ord);
      ord[st.dim] = f.member_ordinal;
      if (!windowed) {
        out.push_back(layout.Pack(ord));
        return;
      }
      auto [lo, hi] = st.time.Readers(in.time, in.shift, ord[st.time.dim]);
      for (int64_t t = lo; t <= hi; ++t) {
        ord[st.time.dim] = static_cast<uint32_t>(t);
        out.push_back(layout.Pack(ord));
      }
    });
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The queue of cells to (re)compute, in dependency order: (component, period, rank, key).
struct Worklist {
  std::set<std::tuple<int, uint32_t, int, uint64_t, int>> queue;  // ..., formula index
};

// Queues the cells of leaf-level formulas that read the cell `key` (which just changed).
void QueueReaders(const AppModel& model, const CellStore& store, const FormulaState& st, uint64_t key,
                  int only_component, Worklist* work) {
  const KeyLayout& layout = store.layout();
  const Dimension& dim = model.dimensions[st.dim];
  const uint32_t m = layout.Get(key, st.dim);
  const MemberId leaf = dim.leaf_member(m);
  const int dims = static_cast<int>(model.dimensions.size());
  for (int g : st.readers_by_leaf[m]) {
    const CompiledFormula& f = st.formulas[g];
    const int pos = st.position[g];
    const int comp = st.graph.component[pos];
    if (only_component >= 0 && comp != only_component) continue;
    for (const Input& in : f.bound.inputs) {
      if (in.kind != Input::Kind::kCells) continue;
      for (const Coordinate& term : in.terms) {
        const MemberId p = term[st.dim] == kNoMember ? f.bound.member : term[st.dim];
        if (!dim.IsAncestorOrSelf(p, leaf)) continue;
        bool reads = true;
        std::vector<int> broadcast;
        for (int e = 0; e < dims && reads; ++e) {
          if (e == st.dim || term[e] == kNoMember) continue;
          reads = model.dimensions[e].IsAncestorOrSelf(term[e], model.dimensions[e].leaf_member(layout.Get(key, e)));
          broadcast.push_back(e);
        }
        if (!reads) continue;
        uint32_t ord[64];
        layout.Unpack(key, ord);
        ord[st.dim] = f.member_ordinal;
        int64_t lo = 0, hi = 0;
        const bool windowed = st.time.dim >= 0 && in.time != TimeMode::kSame;
        if (windowed) std::tie(lo, hi) = st.time.Readers(in.time, in.shift, ord[st.time.dim]);
        // Every combination of the broadcast dimensions' leaves, for every reading period.
        std::vector<uint32_t> at(broadcast.size(), 0);
        for (int64_t t = lo; t <= hi; ++t) {
          if (windowed) ord[st.time.dim] = static_cast<uint32_t>(t);
          std::fill(at.begin(), at.end(), 0);
          for (;;) {
            for (size_t b = 0; b < broadcast.size(); ++b) ord[broadcast[b]] = at[b];
            const uint32_t period = st.time.dim >= 0 ? ord[st.time.dim] : 0;
            work->queue.emplace(comp, period, st.graph.rank[pos], layout.Pack(ord), g);
            size_t b = 0;
            for (; b < broadcast.size(); ++b) {
              if (++at[b] < model.dimensions[broadcast[b]].leaf_count()) break;
              at[b] = 0;
            }
            if (b == broadcast.size()) break;
          }
        }
      }
    }
  }
}

}  // namespace

void Cube::RecalcAfterChangeLocked(std::span<const uint64_t> keys) {
  const FormulaState& st = *formulas_;
  if (st.leaf_formulas.empty()) return;
  Worklist work;
  for (uint64_t key : keys) QueueReaders(model_, store_, st, key, -1, &work);
  while (!work.queue.empty()) {
    auto [comp, period, rank, key, g] = *work.queue.begin();
    work.queue.erase(work.queue.begin());
    const uint64_t one[1] = {key};
    CellValue now = EvaluateAt(model_, store_, st, st.formulas[g], one)[0];
    if (SameBits(now, store_.Get(key))) continue;
    SetDerivedLocked({{key, now}});
    QueueReaders(model_, store_, st, key, -1, &work);
  }
}

namespace {

// A sandbox's view of the cells: its entered cells, then the formula cells recomputed in it,
// then the app's.
struct ViewCells {
  const CellStore& store;
  const Cube::EnteredLookup& entered;
  const Cube::DerivedCells& derived;
  const KeyLayout& layout() const { return store.layout(); }
  CellValue Get(uint64_t key) const {
    if (const CellValue* v = entered(key)) return *v;
    if (auto it = derived.find(key); it != derived.end()) return it->second;
    return store.Get(key);
  }
};

}  // namespace

void Cube::DeriveFormulasInView(const CellStore& store, const EnteredLookup& entered, std::span<const uint64_t> changed,
                                DerivedCells* derived) const {
  if (!formulas_ || formulas_->leaf_formulas.empty()) return;
  const FormulaState& st = *formulas_;
  const ViewCells view{store, entered, *derived};
  // The app's formula cells agree with the app's cells; the view differs from them only at
  // the entered cells and at the derived ones, so their readers are all that can change: the
  // worklist of a write in the app (RecalcAfterChangeLocked), over the view.
  // Cells of one (component, period, rank) cannot read each other (a read in the same period
  // goes to a lower rank, a time step to another period), so each such level is computed as a
  // batch, formula by formula, before any of its results is stored.
  Worklist work;
  for (uint64_t key : changed) QueueReaders(model_, store, st, key, -1, &work);
  std::vector<std::pair<int, uint64_t>> level;  // (formula, key)
  std::vector<uint64_t> keys;
  std::vector<std::pair<uint64_t, CellValue>> results;
  while (!work.queue.empty()) {
    const auto [comp, period, rank, first_key, first_g] = *work.queue.begin();
    level.clear();
    while (!work.queue.empty()) {
      const auto& [c, p, r, key, g] = *work.queue.begin();
      if (c != comp || p != period || r != rank) break;
      // Entered over a formula cell (a formula defined later): the entry shows.
      if (!entered(key)) level.emplace_back(g, key);
      work.queue.erase(work.queue.begin());
    }
    std::sort(level.begin(), level.end());
    results.clear();
    for (size_t i = 0; i < level.size();) {
      const int g = level[i].first;
      keys.clear();
      for (; i < level.size() && level[i].first == g; ++i) keys.push_back(level[i].second);
      std::vector<CellValue> now = EvaluateAt(model_, view, st, st.formulas[g], keys);
      for (size_t k = 0; k < keys.size(); ++k)
        if (!SameBits(now[k], view.Get(keys[k]))) results.emplace_back(keys[k], std::move(now[k]));
    }
    for (auto& [key, value] : results) (*derived)[key] = std::move(value);
    for (const auto& [key, value] : results) QueueReaders(model_, store, st, key, -1, &work);
  }
}

std::vector<bool> Cube::ReadersOfLocked(const std::vector<uint32_t>& ordinals, std::vector<bool> seed) const {
  const FormulaState& st = *formulas_;
  std::vector<int> queue;
  for (size_t g = 0; g < seed.size(); ++g)
    if (seed[g]) queue.push_back(static_cast<int>(g));
  auto add = [&](int g) {
    if (!seed[g]) {
      seed[g] = true;
      queue.push_back(g);
    }
  };
  for (uint32_t ordinal : ordinals)
    if (ordinal < st.readers_by_leaf.size())
      for (int g : st.readers_by_leaf[ordinal]) add(g);
  while (!queue.empty()) {
    const int g = queue.back();
    queue.pop_back();
    if (st.position[g] < 0) continue;
    for (int reader : st.graph.readers[st.position[g]]) add(st.leaf_formulas_by_position[reader]);
  }
  return seed;
}

void Cube::RecalcRegionLocked(const Coordinate& region) {
  // The formulas whose cells lie in the region (they were changed too) or that read its cells.
  const FormulaState& st = *formulas_;
  std::vector<uint32_t> ordinals;
  std::vector<bool> seed(st.formulas.size(), false);
  for (auto [ordinal, weight] : model_.dimensions[st.dim].LeavesUnder(region[st.dim])) {
    ordinals.push_back(ordinal);
    if (auto it = st.by_output.find(ordinal); it != st.by_output.end()) seed[it->second] = true;
  }
  const std::vector<bool> only = ReadersOfLocked(ordinals, std::move(seed));
  RecalcAllLocked(&only);
}

void Cube::SetDerivedSortedLocked(std::span<const CellStore::SortedUpdate> batch) {
  const CellStore::SortedStream one[1] = {{batch}};
  SetDerivedSortedLocked(std::span<const CellStore::SortedStream>(one));
}

void Cube::SetDerivedSortedLocked(std::span<const CellStore::SortedStream> streams) {
  size_t size = 0;
  for (const auto& stream : streams)
    for (const auto& p : stream) size += p.size();
  if (size == 0) return;
  if (size <= 256) {  // few: exact cache updates, cell by cell
    std::vector<std::pair<uint64_t, CellValue>> cells;
    for (const auto& stream : streams)
      for (const auto& p : stream)
        for (const auto& u : p) cells.emplace_back(u.key, u.erase ? CellValue::Empty() : CellValue::Number(u.value));
    SetDerivedLocked(cells);
    return;
  }
  data_version_.fetch_add(1, std::memory_order_release);
  std::lock_guard cache_lock(cache_mu_);
  // The cached totals over any touched leaf are dropped: per dimension, the touched ordinals.
  const KeyLayout& layout = store_.layout();
  std::vector<std::vector<uint32_t>> touched(model_.dimensions.size());
  for (size_t d = 0; d < touched.size() && cache_.size() > 0; ++d) {
    std::vector<bool> seen(layout.leaf_count(static_cast<int>(d)), false);
    for (const auto& stream : streams)
      for (const auto& p : stream)
        for (const auto& u : p) {
          const uint32_t o = layout.Get(u.key, static_cast<int>(d));
          if (!seen[o]) {
            seen[o] = true;
            touched[d].push_back(o);
          }
        }
  }
  cache_.InvalidateRegion(touched);
  store_.ApplySorted(streams);
}

namespace {

// The changes that bring `f`'s cells up to date, cell by cell (formulas the bulk path does not
// take: time windows over driving inputs, sums over many members).
CellStore::SortedUpdates CellwiseFormulaUpdates(const AppModel& model, const CellStore& store,
                                                            const FormulaState& st, const CompiledFormula& f) {
  std::vector<uint64_t> keys = Candidates(model, store, st, f);
  std::vector<CellValue> values = EvaluateAt(model, store, st, f, keys);
  const KeyLayout& layout = store.layout();
  std::vector<SliceExtra> own_extras = SliceExtras(store, st.dim, f.member_ordinal);
  SliceCursor own(store, st.dim, f.member_ordinal, &own_extras);
  CellStore::SortedUpdates out;
  auto key_of = [&](uint64_t residual) { return SliceCursor::WithOrdinal(layout, st.dim, residual, f.member_ordinal); };
  for (size_t k = 0; k < keys.size(); ++k) {
    const uint64_t residual = SliceCursor::Residual(layout, st.dim, keys[k]);
    for (; own.residual() < residual; own.Next()) out.push_back({key_of(own.residual()), 0.0, true});
    const bool exists = own.residual() == residual;
    if (values[k].is_empty()) {
      if (exists) out.push_back({keys[k], 0.0, true});
    } else if (!exists || own.text() ||
               std::bit_cast<uint64_t>(own.value()) != std::bit_cast<uint64_t>(values[k].number)) {
      out.push_back({keys[k], values[k].number, false});
    }
    if (exists) own.Next();
  }
  for (; own.residual() != SliceCursor::kEnd; own.Next()) out.push_back({key_of(own.residual()), 0.0, true});
  return out;
}

}  // namespace

void Cube::RecalcAllLocked(const std::vector<bool>* only) {
  const FormulaState& st = *formulas_;
  const KeyLayout& layout = store_.layout();
  std::vector<bool> done_component(st.recurrent.size(), false);
  std::vector<bool> component_wanted(st.recurrent.size(), only == nullptr);
  if (only)
    for (int g : st.leaf_formulas)
      if ((*only)[g]) component_wanted[st.graph.component[st.position[g]]] = true;
  // Formulas that chain without time steps are computed in one fused pass (formula_bulk.h)
  // and their changes applied together.
  std::vector<int> group;
  auto flush = [&] {
    if (group.empty()) return;
    std::vector<std::vector<CellStore::SortedUpdates>> lists = BulkFormulaUpdates(model_, store_, st, group);
    std::vector<CellStore::SortedStream> streams(lists.size());
    for (size_t m = 0; m < lists.size(); ++m) streams[m].assign(lists[m].begin(), lists[m].end());
    SetDerivedSortedLocked(streams);
    group.clear();
  };
  for (int g : st.leaf_formulas) {
    const CompiledFormula& f = st.formulas[g];
    const int comp = st.graph.component[st.position[g]];
    if (!component_wanted[comp]) continue;
    if (!st.recurrent[comp] && BulkEligible(model_, st, f)) {
      if (!FusableInto(model_, st, group, f)) flush();
      group.push_back(g);
      continue;
    }
    flush();
    if (st.recurrent[comp]) {
      if (done_component[comp]) continue;
      done_component[comp] = true;
      // Clear the component's cells, then compute them period by period from its drivers.
      std::vector<std::pair<uint64_t, CellValue>> cleared;
      std::vector<uint64_t> seeds;
      ForEachStoredKey(store_, [&](uint64_t key) {
        auto it = st.by_output.find(layout.Get(key, st.dim));
        if (it != st.by_output.end() && st.graph.component[st.position[it->second]] == comp)
          cleared.emplace_back(key, CellValue::Empty());
      });
      SetDerivedLocked(cleared);
      Worklist work;
      for (int h : st.leaf_formulas) {
        if (st.graph.component[st.position[h]] != comp) continue;
        for (uint64_t key : Candidates(model_, store_, st, st.formulas[h]))
          work.queue.emplace(comp, st.time.dim >= 0 ? layout.Get(key, st.time.dim) : 0, st.graph.rank[st.position[h]], key, h);
      }
      while (!work.queue.empty()) {
        auto [c, period, rank, key, h] = *work.queue.begin();
        work.queue.erase(work.queue.begin());
        const uint64_t one[1] = {key};
        CellValue now = EvaluateAt(model_, store_, st, st.formulas[h], one)[0];
        if (SameBits(now, store_.Get(key))) continue;
        SetDerivedLocked({{key, now}});
        QueueReaders(model_, store_, st, key, comp, &work);
      }
      continue;
    }
    SetDerivedSortedLocked(CellwiseFormulaUpdates(model_, store_, st, f));
  }
  flush();
}

// ---- Consolidated-level formulas, at read time.

namespace {

// The member of `time` at the level of total `m`, `shift` places from it in time order (by first
// period), or kNoMember past either end.
MemberId SameLevelStep(const Dimension& time, MemberId m, int shift) {
  std::vector<std::pair<uint32_t, MemberId>> same;  // (first period, member)
  for (MemberId o = 0; o < time.member_count(); ++o) {
    if (time.level(o) != time.level(m)) continue;
    uint32_t first = ~uint32_t{0};
    for (auto [ordinal, w] : time.LeavesUnder(o)) first = std::min(first, ordinal);
    same.emplace_back(first, o);
  }
  std::sort(same.begin(), same.end());
  for (size_t i = 0; i < same.size(); ++i)
    if (same[i].second == m) {
      const int64_t to = static_cast<int64_t>(i) + shift;
      return to < 0 || to >= static_cast<int64_t>(same.size()) ? kNoMember : same[static_cast<size_t>(to)].second;
    }
  return kNoMember;
}

class ReadTimeEvaluator {
 public:
  // `base`: the value of a cell no read-time formula covers (the app's, or a sandbox's view).
  ReadTimeEvaluator(const AppModel& model, const Cube::ViewValue& base, const FormulaState& st)
      : model_(model), base_(base), st_(st) {}

  // The formula covering `coord` at read time, or -1.
  int Covering(const Coordinate& coord) const {
    auto it = st_.read_time.find(coord[st_.dim]);
    if (it == st_.read_time.end()) return -1;
    if (model_.IsLeaf(coord)) return -1;  // leaf cells are stored (scope both) or entered
    return it->second;
  }

  CellValue Evaluate(int g, const Coordinate& coord, int depth) const {
    const CompiledFormula& f = st_.formulas[g];
    std::vector<double> row(f.bound.inputs.size());
    bool exists = !f.bound.HasDrivingInput();
    for (size_t i = 0; i < row.size(); ++i) {
      InputValue v = Read(f, i, coord, depth);
      row[i] = v.value;
      if (v.count && f.bound.inputs[i].driving) exists = true;
    }
    if (!exists) return CellValue::Empty();
    double r = formula::Interpret(f.bound.expr, row);
    return CellValue::Number(r == 0 ? 0.0 : r);
  }

 private:
  CellValue ValueAt(const Coordinate& c, int depth) const {
    if (int g = Covering(c); g >= 0) {
      if (depth > 64) return CellValue::Number(ErrorValue(CellError::kRef));
      return Evaluate(g, c, depth + 1);
    }
    return base_(c);
  }

  const AppModel& model_;
  const Cube::ViewValue& base_;
  const FormulaState& st_;

 public:
  // The app's value of a cell: its leaf, or its consolidation.
  static CellValue AppValue(const AppModel& model_, const CellStore& store_, const Coordinate& c) {
    if (model_.IsLeaf(c)) {
      uint32_t ord[64];
      for (size_t d = 0; d < c.size(); ++d) ord[d] = model_.dimensions[d].leaf_ordinal(c[d]);
      return store_.Get(store_.layout().Pack(ord));
    }
    const GridQuery q = OneCellQuery(c);
    ConsolidateOptions o;
    o.parallel = false;
    auto grid = EvaluateGrid(model_, store_, q, o);
    if (!grid.ok()) return CellValue::Number(ErrorValue(CellError::kRef));
    return grid->cells[0];
  }

 private:
  InputValue Read(const CompiledFormula& f, size_t i, const Coordinate& coord, int depth) const {
    const Input& in = f.bound.inputs[i];
    if (in.kind == Input::Kind::kAttribute) return {in.attr_values[coord[in.attr_dim]], 0};
    if (in.kind == Input::Kind::kOtherApp) {
      const Cube* other = st_.apps ? st_.apps(in.app) : nullptr;
      if (!other) return {ErrorValue(CellError::kRef), 0};
      Coordinate oc(in.other_dims.size());
      for (size_t od = 0; od < oc.size(); ++od) {
        const Input::OtherDim& o = in.other_dims[od];
        oc[od] = o.pinned != kNoMember ? o.pinned : o.by_member[coord[o.follows]];
        if (oc[od] == kNoMember) return {ErrorValue(CellError::kRef), 0};
      }
      auto v = other->ReadCell(oc);
      if (!v.ok()) return {ErrorValue(CellError::kRef), 0};
      if (v->is_text()) return {ErrorValue(CellError::kValue), 0};
      return {v->is_number() ? v->number : 0.0, 0};
    }
    const int tdim = st_.time.dim;
    bool windowed = tdim >= 0 && in.time != TimeMode::kSame;
    // At a consolidated period (docs/formula-language.md, "Time functions at totals"): a step
    // (prev, next, lag, lead) moves to the total of the same level that many places away in
    // time order; a window (ytd, qtd, cumulative, first, last, average) is the window of the
    // total's last period.
    MemberId stepped = kNoMember;
    uint32_t anchor = 0;
    if (windowed) {
      const Dimension& time = model_.dimensions[tdim];
      if (time.is_leaf(coord[tdim])) {
        anchor = time.leaf_ordinal(coord[tdim]);
      } else if (in.time == TimeMode::kShift) {
        stepped = SameLevelStep(time, coord[tdim], in.shift);
        if (stepped == kNoMember) return {FinishInput(in, 0, 0), 0};  // past either end: empty
        windowed = false;
      } else {
        for (auto [ordinal, w] : time.LeavesUnder(coord[tdim])) anchor = std::max(anchor, ordinal);
      }
    }
    double sum = 0;
    uint32_t count = 0;
    for (const Coordinate& term : in.terms) {
      Coordinate c = coord;
      for (size_t d = 0; d < c.size(); ++d)
        if (term[d] != kNoMember) c[d] = term[d];
      if (term[st_.dim] == kNoMember) c[st_.dim] = f.bound.member;
      if (stepped != kNoMember) c[tdim] = stepped;
      int64_t lo = 0, hi = 0;
      if (windowed) std::tie(lo, hi) = st_.time.Window(in.time, in.shift, anchor);
      for (int64_t p = lo; p <= hi; ++p) {
        if (windowed) c[tdim] = model_.dimensions[tdim].leaf_member(static_cast<uint32_t>(p));
        CellValue v = ValueAt(c, depth);
        if (v.is_number()) {
          sum += v.number;
          ++count;
        } else if (v.is_text()) {
          sum += ErrorValue(CellError::kValue);
          ++count;
        }
      }
    }
    return {FinishInput(in, sum, count), count};
  }
};

}  // namespace

void Cube::ApplyReadFormulasLocked(const GridQuery& query, Grid* grid) const {
  const ViewValue app = [&](const Coordinate& c) { return ReadTimeEvaluator::AppValue(model_, store_, c); };
  ApplyReadFormulasInView(query, app, grid);
}

bool Cube::HasReadFormulasInView() const { return formulas_ && !formulas_->read_time.empty(); }

void Cube::ApplyReadFormulasInView(const GridQuery& query, const ViewValue& value_at, Grid* grid) const {
  if (!formulas_ || formulas_->read_time.empty()) return;
  auto rg = ResolveGrid(model_, query);
  if (!rg.ok()) return;
  ReadTimeEvaluator eval(model_, value_at, *formulas_);
  for (size_t r = 0; r < rg->rows; ++r)
    for (size_t c = 0; c < rg->cols; ++c) {
      Coordinate coord = rg->CellCoordinate(query, r, c);
      if (int g = eval.Covering(coord); g >= 0) grid->cells[r * rg->cols + c] = eval.Evaluate(g, coord, 0);
    }
}

// ---- Persistence: the "formulas" snapshot section.
//
// u32 count, then per formula four length-prefixed strings (u32 length, bytes): dimension,
// member, scope name, text. Little-endian.

namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

bool GetU32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
  in->remove_prefix(4);
  return true;
}

bool GetString(std::string_view* in, std::string* s) {
  uint32_t n;
  if (!GetU32(in, &n) || in->size() < n) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

std::string Cube::EncodeFormulas() const {
  std::shared_lock lock(mu_);
  std::string out;
  const size_t n = formulas_ ? formulas_->formulas.size() : 0;
  PutU32(&out, static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) {
    const FormulaDefinition& d = formulas_->formulas[i].definition;
    for (std::string_view s : {std::string_view(d.dimension), std::string_view(d.member), formula::ScopeName(d.scope),
                               std::string_view(d.text)}) {
      PutU32(&out, static_cast<uint32_t>(s.size()));
      out.append(s);
    }
  }
  return out;
}

absl::Status Cube::RestoreFormulas(std::string_view bytes, const std::string& name) {
  std::vector<FormulaDefinition> defs;
  uint32_t n;
  if (!GetU32(&bytes, &n)) return absl::DataLossError(StrCat(name, ": formulas: truncated"));
  for (uint32_t i = 0; i < n; ++i) {
    FormulaDefinition d;
    std::string scope;
    if (!GetString(&bytes, &d.dimension) || !GetString(&bytes, &d.member) || !GetString(&bytes, &scope) ||
        !GetString(&bytes, &d.text))
      return absl::DataLossError(StrCat(name, ": formulas: formula ", i + 1, " of ", n, " is truncated"));
    auto s = formula::ParseScope(scope);
    if (!s.ok()) return absl::DataLossError(StrCat(name, ": formulas: formula ", i + 1, ": ", s.status().message()));
    d.scope = *s;
    defs.push_back(std::move(d));
  }
  if (!bytes.empty()) return absl::DataLossError(StrCat(name, ": formulas: ", bytes.size(), " bytes after the last formula"));
  std::unique_lock lock(mu_);
  absl::Status s = InstallFormulasLocked(std::move(defs));
  if (!s.ok()) return absl::DataLossError(StrCat(name, ": formulas: ", s.message()));
  return absl::OkStatus();
}

}  // namespace quantatom

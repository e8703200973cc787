#include "engine/cube.h"

#include <algorithm>
#include <bit>
#include <atomic>
#include <cmath>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "absl/container/flat_hash_set.h"
#include "query/consolidate.h"
#include "spread/spread.h"
#include "base/radix_sort.h"
#include "base/strings.h"

namespace quantatom {

absl::StatusOr<std::unique_ptr<Cube>> Cube::Create(AppModel model) {
  std::vector<uint32_t> leaf_counts;
  for (const Dimension& d : model.dimensions) leaf_counts.push_back(d.leaf_count());
  QA_ASSIGN_OR_RETURN(KeyLayout layout, KeyLayout::Make(leaf_counts));
  return std::unique_ptr<Cube>(new Cube(std::move(model), std::move(layout)));
}

Cube::Cube(AppModel model, KeyLayout layout) : model_(std::move(model)), store_(std::move(layout)), cache_(&model_) {
  // Members marked read_only (the Actual scenario, a closed period) hold every cell below them.
  for (size_t d = 0; d < model_.dimensions.size(); ++d) {
    const Dimension& dim = model_.dimensions[d];
    for (MemberId m = 0; m < dim.member_count(); ++m) {
      const std::string_view flag = dim.member(m).Attribute("read_only");
      if (flag == "true" || flag == "yes" || flag == "1") {
        Coordinate hold(model_.dimensions.size(), kNoMember);
        hold[d] = m;
        read_only_holds_.push_back(std::move(hold));
      }
    }
  }
}

uint64_t Cube::PackLeaf(const Coordinate& leaf) const {
  uint32_t ordinals[64];
  for (size_t d = 0; d < leaf.size(); ++d) ordinals[d] = model_.dimensions[d].leaf_ordinal(leaf[d]);
  return store_.layout().Pack(ordinals);
}

absl::Status Cube::Load(KeyValues numeric, std::vector<std::pair<uint64_t, std::string>> texts) {
  std::unique_lock lock(mu_);
  QA_RETURN_IF_ERROR(store_.Load(std::move(numeric)));
  return AfterLoadLocked(std::move(texts));
}

absl::Status Cube::LoadSorted(const char* keys, const char* values, size_t n,
                              std::vector<std::pair<uint64_t, std::string>> texts) {
  std::unique_lock lock(mu_);
  QA_RETURN_IF_ERROR(store_.LoadSorted(keys, values, n));
  return AfterLoadLocked(std::move(texts));
}

absl::Status Cube::AfterLoadLocked(std::vector<std::pair<uint64_t, std::string>> texts) {
  history_.Clear();  // a load replaces every cell: nothing before it can be undone
  NoteLoadLocked();
  data_version_.fetch_add(1, std::memory_order_release);
  for (auto& [key, text] : texts) store_.Set(key, CellValue::Text(std::move(text)));
  {
    std::lock_guard cache_lock(cache_mu_);
    cache_.Clear();
  }
  if (formulas_) RecalcAllLocked();  // formula hook: the loaded cells may hold stale results
  return absl::OkStatus();
}

absl::Status Cube::ValidateCoordinate(const Coordinate& coord, bool leaf_only) const {
  if (coord.size() != model_.dimensions.size())
    return absl::InvalidArgumentError(StrCat("a coordinate needs ", model_.dimensions.size(), " members, got ", coord.size()));
  for (size_t d = 0; d < coord.size(); ++d) {
    const Dimension& dim = model_.dimensions[d];
    if (coord[d] >= dim.member_count())
      return absl::InvalidArgumentError(StrCat("member id ", coord[d], " is out of range in dimension '", dim.name(), "'"));
    if (leaf_only && !dim.is_leaf(coord[d]))
      return absl::InvalidArgumentError(StrCat("'", dim.member(coord[d]).code, "' in dimension '", dim.name(),
                                                     "' is consolidated: write to leaves, or spread into the total"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Grid> Cube::Query(const GridQuery& query, const ReadOptions& options) const {
  std::shared_lock lock(mu_);
  const bool cached = options.use_cache && cache_.enabled();
  QA_ASSIGN_OR_RETURN(ResolvedGrid rg, ResolveGrid(model_, query));
  std::vector<uint64_t> keys;
  if (cached) {
    // Served from the cache only if every cell is there; otherwise computed whole.
    Grid grid;
    grid.rows = rg.rows;
    grid.cols = rg.cols;
    grid.cells.resize(rg.rows * rg.cols);
    keys.resize(grid.cells.size());
    bool all = true;
    std::lock_guard cache_lock(cache_mu_);
    for (size_t r = 0; r < rg.rows && all; ++r) {
      for (size_t c = 0; c < rg.cols; ++c) {
        uint64_t key = cache_.Key(rg.CellCoordinate(query, r, c));
        keys[r * rg.cols + c] = key;
        double sum;
        uint32_t count;
        if (!cache_.Lookup(key, &sum, &count)) {
          all = false;
          break;
        }
        grid.cells[r * rg.cols + c] = count ? CellValue::Number(sum) : CellValue::Empty();
      }
    }
    // Text cells are not cached: look them up.
    if (all && store_.text_cells() > 0) {
      for (size_t r = 0; r < rg.rows; ++r)
        for (size_t c = 0; c < rg.cols; ++c) {
          Coordinate coord = rg.CellCoordinate(query, r, c);
          if (grid.cells[r * rg.cols + c].is_empty() && model_.IsLeaf(coord))
            grid.cells[r * rg.cols + c] = store_.Get(PackLeaf(coord));
        }
    }
    if (all) {
      ApplyReadFormulasLocked(query, &grid);  // formula hook: consolidated-level formulas
      return grid;
    }
  }
  ConsolidateOptions copts;
  copts.parallel = options.parallel;
  QA_ASSIGN_OR_RETURN(Grid grid, EvaluateGrid(model_, store_, query, copts));
  if (cached) {
    std::lock_guard cache_lock(cache_mu_);
    for (size_t r = 0; r < rg.rows; ++r)
      for (size_t c = 0; c < rg.cols; ++c) {
        const CellValue& v = grid.at(r, c);
        if (v.is_text()) continue;
        cache_.Insert(cache_.Key(rg.CellCoordinate(query, r, c)), v.is_number() ? v.number : 0.0,
                      grid.counts[r * rg.cols + c]);
      }
  }
  ApplyReadFormulasLocked(query, &grid);  // formula hook: consolidated-level formulas
  return grid;
}

absl::StatusOr<CellValue> Cube::ReadCell(const Coordinate& coord, const ReadOptions& options) const {
  QA_RETURN_IF_ERROR(ValidateCoordinate(coord, /*leaf_only=*/false));
  if (model_.IsLeaf(coord)) {
    std::shared_lock lock(mu_);
    return store_.Get(PackLeaf(coord));
  }
  GridQuery q;
  q.rows.dims = {0};
  q.rows.tuples = {{coord[0]}};
  q.cols.dims = {};
  q.cols.tuples = {{}};
  for (size_t d = 1; d < coord.size(); ++d) q.slicers.emplace_back(static_cast<int>(d), coord[d]);
  QA_ASSIGN_OR_RETURN(Grid g, Query(q, options));
  return g.cells[0];
}

absl::StatusOr<DenseTotals> Cube::Consolidate(std::vector<std::vector<MemberId>> targets, bool parallel) const {
  std::shared_lock lock(mu_);
  ConsolidateOptions o;
  o.parallel = parallel;
  return quantatom::Consolidate(model_, store_, std::move(targets), o);
}

absl::Status Cube::Write(const std::vector<CellWrite>& batch, const std::string& user) {
  return Write(batch, user, WriteOptions{});
}

absl::Status Cube::Write(const std::vector<CellWrite>& batch, const std::string& user, const WriteOptions& options) {
  // Validate everything before changing anything: a batch is atomic.
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::Status s = ValidateCoordinate(batch[i].coord, /*leaf_only=*/true);
    if (s.ok() && batch[i].value.is_number() && !std::isfinite(batch[i].value.number))
      s = absl::InvalidArgumentError("value is not a finite number");
    if (!s.ok())
      return absl::Status(s.code(), StrCat("write ", i + 1, " of ", batch.size(),
                                                 batch[i].coord.size() == model_.dimensions.size()
                                                     ? StrCat(" (", model_.FormatCoordinate(batch[i].coord), ")")
                                                     : std::string(),
                                                 ": ", s.message()));
  }
  std::unique_lock lock(mu_);
  // Read-only members include formula members, which change with SetFormula: checked under
  // the same lock as the write, so a formula defined meanwhile is either seen or not yet there.
  if (!options.allow_read_only && !read_only_holds_.empty())
    for (size_t i = 0; i < batch.size(); ++i)
      if (std::string why = ReadOnlyReasonLocked(batch[i].coord); !why.empty())
        return absl::FailedPreconditionError(StrCat("write ", i + 1, " of ", batch.size(), " (",
                                                    model_.FormatCoordinate(batch[i].coord), "): ", why, " is read-only"));
  history_.Record(user, options.action, ApplyLocked(batch));
  return absl::OkStatus();
}

Coordinate Cube::LeafOfKey(uint64_t key) const {
  Coordinate leaf(model_.dimensions.size());
  for (size_t d = 0; d < leaf.size(); ++d)
    leaf[d] = model_.dimensions[d].leaf_member(store_.layout().Get(key, static_cast<int>(d)));
  return leaf;
}

ChangeList Cube::ApplyLocked(const std::vector<CellWrite>& batch) {
  std::vector<std::pair<uint64_t, CellValue>> keyed;
  keyed.reserve(batch.size());
  for (const CellWrite& w : batch) keyed.emplace_back(PackLeaf(w.coord), w.value);
  return ApplyKeyedLocked(keyed);
}

namespace {
// A batch of at least this many writes of numbers (or clears) to distinct cells goes into the
// store in one ordered pass (CellStore::ApplySorted): its new cells are merged into main in
// one rebuild, instead of going through the delta map, which Set compacts into main again
// after every 64k new cells (a 1M-cell bulk write rebuilt main a dozen times).
constexpr size_t kSortedBatch = 65536;

// Puts `updates` in key order; false if a key repeats (that batch takes the per-cell path).
bool SortDistinct(const KeyLayout& layout, CellStore::SortedUpdates* updates) {
  RadixSortBy(updates, layout.total_bits(), [](const CellStore::SortedUpdate& u) { return u.key; });
  for (size_t i = 1; i < updates->size(); ++i)
    if ((*updates)[i].key == (*updates)[i - 1].key) return false;
  return true;
}
}  // namespace

ChangeList Cube::ApplyKeyedLocked(const std::vector<std::pair<uint64_t, CellValue>>& batch) {
  return ApplyKeyedLocked(batch.size(), [&](size_t i) { return std::pair(batch[i].first, &batch[i].second); });
}

ChangeList Cube::ApplyKeyedLocked(size_t n, absl::FunctionRef<std::pair<uint64_t, const CellValue*>(size_t)> at) {
  data_version_.fetch_add(1, std::memory_order_release);
  std::unique_lock cache_lock(cache_mu_);
  // Propagating every change into the cache costs (cells x ancestor combinations); past a
  // budget, dropping the overlapping entries is cheaper.
  const bool propagate = n <= 256;
  std::vector<std::vector<uint32_t>> touched(model_.dimensions.size());
  ChangeList changes;
  changes.numbers.reserve(n);
  if (!propagate)
    for (auto& t : touched) t.reserve(n);
  const bool sorted = n >= kSortedBatch && ApplySortedBatchLocked(n, at, &changes, &touched);
  // A bulk write cell by cell: size the delta map once (new cells land there; growing a hash
  // map of millions rehashes it ~20 times).
  if (!propagate && !sorted) store_.mutable_delta().reserve(store_.delta().size() + n);
  for (size_t i = 0; i < n && !sorted; ++i) {
    const auto [key, value_ptr] = at(i);
    const CellValue& value = *value_ptr;
    CellValue old = store_.Set(key, value);
    double delta = (value.is_number() ? value.number : 0.0) - (old.is_number() ? old.number : 0.0);
    int dcount = static_cast<int>(value.is_number()) - static_cast<int>(old.is_number());
    if (propagate) {
      if (delta != 0 || dcount != 0) cache_.ApplyLeafChange(LeafOfKey(key), delta, dcount);
    } else {
      for (size_t d = 0; d < touched.size(); ++d) touched[d].push_back(store_.layout().Get(key, static_cast<int>(d)));
    }
    changes.Add(key, old, value);
  }
  if (!propagate) cache_.InvalidateRegion(touched);
  cache_lock.unlock();
  if (formulas_) {  // formula hook: recompute the formula cells that read the changed cells
    std::vector<uint64_t> keys;
    keys.reserve(n);
    for (size_t i = 0; i < n; ++i) keys.push_back(at(i).first);
    RecalcAfterChangeLocked(keys);
  }
  return changes;
}

bool Cube::ApplySortedBatchLocked(size_t n, absl::FunctionRef<std::pair<uint64_t, const CellValue*>(size_t)> at,
                                  ChangeList* changes, std::vector<std::vector<uint32_t>>* touched) {
  // Numbers and clears of distinct cells only (text, or a cell written twice, takes the
  // per-cell path, where each write sees the one before it): checked before anything changes.
  CellStore::SortedUpdates updates;
  updates.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto [key, value] = at(i);
    if (value->is_text()) return false;
    updates.push_back({key, value->is_number() ? value->number : 0.0, !value->is_number()});
  }
  if (!SortDistinct(store_.layout(), &updates)) return false;
  // The keys are distinct, so every cell's value before the batch is its value before its
  // write: read them all first, in batch order (the change list's order), then apply.
  for (size_t i = 0; i < n; ++i) {
    const auto [key, value] = at(i);
    changes->Add(key, store_.Get(key), *value);
    for (size_t d = 0; d < touched->size(); ++d) (*touched)[d].push_back(store_.layout().Get(key, static_cast<int>(d)));
  }
  store_.ApplySorted(std::span<const CellStore::SortedUpdate>(updates.data(), updates.size()));
  return true;
}

void Cube::InvalidateRegionLocked(const Coordinate& region) {
  data_version_.fetch_add(1, std::memory_order_release);  // in-place rescales end here
  {
    std::lock_guard cache_lock(cache_mu_);
    std::vector<std::vector<uint32_t>> touched(model_.dimensions.size());
    for (size_t d = 0; d < region.size(); ++d)
      for (auto [ordinal, w] : model_.dimensions[d].LeavesUnder(region[d])) touched[d].push_back(ordinal);
    cache_.InvalidateRegion(touched);
  }
  if (formulas_) RecalcRegionLocked(region);  // formula hook: a region changed in place
}

namespace {
CellValue AsValue(const std::optional<double>& v) { return v ? CellValue::Number(*v) : CellValue::Empty(); }
}  // namespace

absl::StatusOr<uint64_t> Cube::UndoOrRedoScaledLocked(const ChangeSet& set, bool undo) {
  const ScaledCells& scaled = set.changes.scaled[0];
  const KeyBeforeList& cells = scaled.before;
  // Where each cell sits in main (-1: elsewhere), found in parallel: the largest spreads
  // change millions of cells, and a position lookup is a binary search.
  LargeVector<int64_t> pos(cells.size());
  std::atomic<size_t> first_conflict{cells.size()};
  const bool check_deleted = !store_.deleted().empty();
  const double* values = store_.values().data();
  tbb::parallel_for(tbb::blocked_range<size_t>(0, cells.size(), 4096), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      int64_t p = store_.FindMain(cells[i].key);
      if (p >= 0 && check_deleted && store_.deleted().contains(cells[i].key)) p = -1;
      pos[i] = p;
      const double want = undo ? scaled.after(cells[i].value) : cells[i].value;
      const bool same = p >= 0 ? values[p] == want : store_.Get(cells[i].key) == CellValue::Number(want);
      if (!same) {
        size_t seen = first_conflict.load();
        while (i < seen && !first_conflict.compare_exchange_weak(seen, i)) {}
      }
    }
  });
  if (first_conflict < cells.size()) return ConflictError(set, cells[first_conflict].key, undo);
  double* mutable_values = store_.mutable_values().data();
  std::vector<std::pair<uint64_t, CellValue>> elsewhere;
  for (size_t i = 0; i < cells.size(); ++i) {
    const double now = undo ? cells[i].value : scaled.after(cells[i].value);
    if (pos[i] >= 0) mutable_values[pos[i]] = now;
    else elsewhere.emplace_back(cells[i].key, CellValue::Number(now));
  }
  if (!elsewhere.empty()) ApplyKeyedLocked(elsewhere);
  InvalidateRegionLocked(Coordinate(scaled.region.begin(), scaled.region.end()));
  return set.id;
}

absl::Status Cube::ConflictError(const ChangeSet& set, uint64_t key, bool undo) const {
  const ChangeSet* by = history_.LastTouch(key, set.id);
  return absl::AbortedError(StrCat("cannot ", undo ? "undo" : "redo", " change set ", set.id, " (", set.action,
                                   "): cell ", model_.FormatCoordinate(LeafOfKey(key)), " was changed since",
                                   by ? StrCat(" by change set ", by->id, " (user '", by->user, "')") : std::string()));
}

std::optional<absl::StatusOr<uint64_t>> Cube::UndoOrRedoSortedLocked(const ChangeSet& set, bool undo) {
  const LargeVector<NumberChange>& numbers = set.changes.numbers;
  const size_t n = numbers.size();
  if (n < kSortedBatch || !set.changes.scaled.empty() || !set.changes.others.empty()) return std::nullopt;
  // Each cell's value to set, in key order; a cell changed twice takes the general path.
  CellStore::SortedUpdates updates(n);
  for (size_t i = 0; i < n; ++i) {
    const NumberChange& c = numbers[i];
    const bool empty = undo ? c.before_empty : c.after_empty;
    updates[i] = {c.key, empty ? 0.0 : (undo ? c.before_value : c.after_value), empty};
  }
  if (!SortDistinct(store_.layout(), &updates)) return std::nullopt;
  // Every cell must still hold what the set left there (undo) or found there (redo): looked up
  // in parallel (a lookup is a binary search in main), the first conflict in the set's order
  // reported.
  std::atomic<size_t> first_conflict{n};
  tbb::parallel_for(tbb::blocked_range<size_t>(0, n, 4096), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      const NumberChange& c = numbers[i];
      const std::optional<double> want = undo ? c.after() : c.before();
      const CellValue now = store_.Get(c.key);
      if (want ? now == CellValue::Number(*want) : now.is_empty()) continue;
      size_t seen = first_conflict.load();
      while (i < seen && !first_conflict.compare_exchange_weak(seen, i)) {}
    }
  });
  if (first_conflict < n) return absl::StatusOr<uint64_t>(ConflictError(set, numbers[first_conflict].key, undo));
  data_version_.fetch_add(1, std::memory_order_release);
  {
    std::lock_guard cache_lock(cache_mu_);
    // The leaves touched, each once per dimension (a bitmap of leaf ordinals first: a list of
    // 1M ordinals per dimension costs its first-touch page faults here).
    std::vector<std::vector<uint32_t>> touched(model_.dimensions.size());
    for (size_t d = 0; d < touched.size(); ++d) {
      std::vector<uint64_t> bits((store_.layout().leaf_count(static_cast<int>(d)) + 63) / 64, 0);
      for (const CellStore::SortedUpdate& u : updates) {
        const uint32_t o = store_.layout().Get(u.key, static_cast<int>(d));
        bits[o >> 6] |= uint64_t{1} << (o & 63);
      }
      for (size_t w = 0; w < bits.size(); ++w)
        for (uint64_t b = bits[w]; b != 0; b &= b - 1) touched[d].push_back(static_cast<uint32_t>(w * 64 + std::countr_zero(b)));
    }
    store_.ApplySorted(std::span<const CellStore::SortedUpdate>(updates.data(), updates.size()));
    cache_.InvalidateRegion(touched);
  }
  if (formulas_) {  // formula hook: recompute the formula cells that read the changed cells
    std::vector<uint64_t> keys;
    keys.reserve(n);
    for (const CellStore::SortedUpdate& u : updates) keys.push_back(u.key);
    RecalcAfterChangeLocked(keys);
  }
  return absl::StatusOr<uint64_t>(set.id);
}

absl::StatusOr<uint64_t> Cube::UndoOrRedoLocked(const ChangeSet& set, bool undo) {
  if (set.changes.scaled.size() == 1 && set.changes.numbers.empty() && set.changes.others.empty())
    return UndoOrRedoScaledLocked(set, undo);
  // A large set of numbers and clears of distinct cells (a bulk write): one sorted pass.
  if (std::optional<absl::StatusOr<uint64_t>> sorted = UndoOrRedoSortedLocked(set, undo)) return *std::move(sorted);
  // Per cell, its first and last change in the set (a batch may change a cell twice).
  struct Ends {
    uint32_t first_order = UINT32_MAX, last_order = 0;
    CellValue first_before, last_after;
  };
  absl::flat_hash_map<uint64_t, Ends> cells;
  auto note = [&](uint64_t key, uint32_t order, const CellValue& before, const CellValue& after) {
    Ends& e = cells[key];
    if (order < e.first_order) e.first_order = order, e.first_before = before;
    if (order >= e.last_order) e.last_order = order, e.last_after = after;
  };
  // Scaled cells come first (order 0); listed changes follow, ordered after them.
  for (const ScaledCells& s : set.changes.scaled)
    for (const KeyBefore& c : s.before) note(c.key, 0, CellValue::Number(c.value), CellValue::Number(s.after(c.value)));
  for (const NumberChange& c : set.changes.numbers) note(c.key, c.order + 1, AsValue(c.before()), AsValue(c.after()));
  for (const CellChange& c : set.changes.others) note(c.key, c.order + 1, c.before, c.after);
  // Every cell must still hold what the change set left there (undo) or found there (redo);
  // otherwise a later change touched it and going back would overwrite that change.
  std::vector<std::pair<uint64_t, CellValue>> batch;
  batch.reserve(cells.size());
  for (const auto& [key, e] : cells) {
    const CellValue& want = undo ? e.last_after : e.first_before;
    if (!(store_.Get(key) == want)) return ConflictError(set, key, undo);
    batch.emplace_back(key, undo ? e.first_before : e.last_after);
  }
  ApplyKeyedLocked(batch);
  return set.id;
}

absl::StatusOr<uint64_t> Cube::Undo(const std::string& user) { return UndoOrRedo(user, /*undo=*/true); }
absl::StatusOr<uint64_t> Cube::Redo(const std::string& user) { return UndoOrRedo(user, /*undo=*/false); }

absl::StatusOr<uint64_t> Cube::UndoOrRedo(const std::string& user, bool undo) {
  std::unique_lock lock(mu_);
  QA_ASSIGN_OR_RETURN(const ChangeSet* set, undo ? history_.NextUndo(user) : history_.NextRedo(user));
  QA_ASSIGN_OR_RETURN(uint64_t id, UndoOrRedoLocked(*set, undo));
  if (undo) history_.MarkUndone(id);
  else history_.MarkRedone(id);
  return id;
}

std::string Cube::EncodeHistory(size_t max_cells) const {
  std::shared_lock lock(mu_);
  return history_.Encode(max_cells);
}

absl::Status Cube::RestoreHistory(std::string_view bytes, const std::string& name) {
  quantatom::History restored;
  QA_RETURN_IF_ERROR(restored.Decode(bytes, name));
  // Undo writes these keys back into the store: each must name leaves of this app.
  const KeyLayout& layout = store_.layout();
  auto bad_key = [&](uint64_t key) {
    if (layout.total_bits() < 64 && (key >> layout.total_bits()) != 0) return true;
    for (int d = 0; d < layout.dims(); ++d)
      if (layout.Get(key, d) >= layout.leaf_count(d)) return true;
    return false;
  };
  for (const ChangeSet& set : restored.change_sets()) {
    bool bad = false;
    for (const ScaledCells& sc : set.changes.scaled) {
      bad = bad || sc.region.size() != model_.dimensions.size();
      for (size_t d = 0; !bad && d < sc.region.size(); ++d) bad = sc.region[d] >= model_.dimensions[d].member_count();
      for (const KeyBefore& c : sc.before) bad = bad || bad_key(c.key);
    }
    for (const NumberChange& c : set.changes.numbers) bad = bad || bad_key(c.key);
    for (const CellChange& c : set.changes.others) bad = bad || bad_key(c.key);
    for (uint64_t k : set.released_keys) bad = bad || bad_key(k);
    if (bad) return absl::DataLossError(StrCat(name, ": history: change set ", set.id, " names a cell or member this app does not have"));
  }
  std::unique_lock lock(mu_);
  history_ = std::move(restored);
  return absl::OkStatus();
}

std::vector<ChangeSet> Cube::History() const {
  std::shared_lock lock(mu_);
  return history_.change_sets();
}

absl::StatusOr<size_t> Cube::ScaleLeaves(const Coordinate& region, double factor) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(region, /*leaf_only=*/false));
  if (!std::isfinite(factor)) return absl::InvalidArgumentError("scale factor is not a finite number");
  std::unique_lock lock(mu_);
  const size_t changed = ScaleCellsUnder(model_, store_, region, factor);
  NoteScaleLocked(region);
  // The region bounds what changed: drop the cached totals that overlap it.
  InvalidateRegionLocked(region);
  return changed;
}

void Cube::DropCache() {
  std::lock_guard cache_lock(cache_mu_);
  cache_.Clear();
}

CubeStats Cube::Stats() const {
  std::shared_lock lock(mu_);
  CubeStats s;
  s.numeric_cells = store_.numeric_cells();
  s.text_cells = store_.text_cells();
  s.runs = store_.run_count();
  s.store_bytes = store_.MemoryBytes();
  s.key_bits = store_.layout().total_bits();
  std::lock_guard cache_lock(cache_mu_);
  s.cache_entries = cache_.size();
  return s;
}

}  // namespace quantatom

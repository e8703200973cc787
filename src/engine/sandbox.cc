#include "engine/sandbox.h"

#include <cstring>

#include <algorithm>
#include <cmath>
#include <limits>
#include <deque>
#include <map>
#include <mutex>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "base/byte_codec.h"
#include "base/strings.h"
#include "model/cell_value_codec.h"
#include "query/consolidate.h"
#include "spread/spread.h"

namespace quantatom {

namespace {

// How many times a read takes the app's (cached) grid and the overlay's app values in two
// steps before it gives up on the cache and does both under one lock: the two steps must see
// the same version, which only a write in between can spoil.
constexpr int kOptimisticReads = 2;

// Per dimension, the weight of each leaf (by ordinal) toward one member, NaN if not below it.
std::vector<std::vector<double>> WeightsToward(const AppModel& model, const Coordinate& target) {
  std::vector<std::vector<double>> out(model.dimensions.size());
  for (size_t d = 0; d < out.size(); ++d) {
    out[d].assign(model.dimensions[d].leaf_count(), std::numeric_limits<double>::quiet_NaN());
    for (auto [ordinal, weight] : model.dimensions[d].LeavesUnder(target[d])) out[d][ordinal] = weight;
  }
  return out;
}

std::optional<double> NumberOf(const CellValue& v) { return v.is_number() ? std::optional<double>(v.number) : std::nullopt; }


uint64_t RandomReplicaId() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == kAppReplica) id = ((uint64_t{rd()} << 32) | rd()) & ((uint64_t{1} << 53) - 1);
  return id;
}

// The leaf coordinate of a packed key.
Coordinate LeafOf(const Cube& cube, uint64_t key) {
  const AppModel& model = cube.model();
  Coordinate c(model.dimensions.size());
  for (size_t d = 0; d < c.size(); ++d) c[d] = model.dimensions[d].leaf_member(cube.layout().Get(key, static_cast<int>(d)));
  return c;
}

std::string Describe(const CellValue& v) {
  if (v.is_number()) return StrCat(v.number);
  if (v.is_text()) return StrCat("'", v.text, "'");
  return "empty";
}

}  // namespace

Sandbox::Sandbox(Cube* cube, std::string user, uint64_t replica)
    : cube_(cube), user_(std::move(user)), replica_(replica == kAppReplica ? RandomReplicaId() : replica) {
  forked_at_ = cube_->ClockAt(cube_->CurrentSeq());
  clock_ = forked_at_;
}

std::pair<uint32_t, uint64_t> Sandbox::BeginOpLocked(uint64_t app_seq) {
  clock_.Merge(cube_->ClockAt(app_seq));
  clock_.Set(replica_, ++ops_);
  vectors_.push_back(clock_);
  return {static_cast<uint32_t>(vectors_.size() - 1), ops_};
}

VersionVector Sandbox::CellVectorLocked(const OverlayCell& cell) const {
  VersionVector v = vectors_[cell.vec];
  if (cell.last_op > v.Get(replica_)) v.Set(replica_, cell.last_op);
  return v;
}

VersionVector Sandbox::forked_at() const {
  std::shared_lock lock(mu_);
  return forked_at_;
}

VersionVector Sandbox::Clock() const {
  std::shared_lock lock(mu_);
  return clock_;
}

std::optional<VersionVector> Sandbox::CellVector(uint64_t key) const {
  std::shared_lock lock(mu_);
  auto it = cells_.find(key);
  if (it == cells_.end()) return std::nullopt;
  return CellVectorLocked(it->second);
}

absl::Status Sandbox::CheckOpenLocked() const {
  if (state_ == State::kCommitted)
    return absl::FailedPreconditionError(StrCat("the sandbox of user '", user_, "' was committed (change set ",
                                                committed_change_set_, "): open a new sandbox"));
  if (state_ == State::kDiscarded)
    return absl::FailedPreconditionError(StrCat("the sandbox of user '", user_, "' was discarded: open a new sandbox"));
  return absl::OkStatus();
}

std::vector<uint64_t> Sandbox::Keys() const {
  std::shared_lock lock(mu_);
  std::vector<uint64_t> out;
  out.reserve(cells_.size());
  for (const auto& [key, cell] : cells_) out.push_back(key);
  return out;
}

size_t Sandbox::size() const {
  std::shared_lock lock(mu_);
  return cells_.size();
}

void Sandbox::PutLocked(uint64_t key, CellValue value, uint32_t vec, uint64_t op) {
  // The first vector stays: a later change of the same cell is still based on what the
  // sandbox saw of the app first, and the app's changes since then are exactly what commit
  // must find. Only the own counter moves on.
  if (value.is_number()) value.number += 0.0;  // as the store: never -0.0
  auto [it, inserted] = cells_.try_emplace(key, OverlayCell{value, vec, op});
  if (!inserted) {
    it->second.value = std::move(value);
    it->second.last_op = op;
  }
}

// ---- Formulas ----

void Sandbox::RefreshDerivedLocked(const CellStore& store, std::span<const uint64_t> changed) const {
  const uint64_t version = cube_->data_version();
  const Cube::EnteredLookup entered = [this](uint64_t key) -> const CellValue* {
    auto it = cells_.find(key);
    return it == cells_.end() ? nullptr : &it->second.value;
  };
  if (!derived_valid_ || version != derived_version_) {
    // The app's cells or formulas moved on (or the overlay was replaced): from scratch.
    derived_.clear();
    std::vector<uint64_t> all;
    all.reserve(cells_.size());
    for (const auto& [key, cell] : cells_) all.push_back(key);
    cube_->DeriveFormulasInView(store, entered, all, &derived_);
  } else if (!changed.empty()) {
    cube_->DeriveFormulasInView(store, entered, changed, &derived_);
  }
  derived_valid_ = true;
  derived_version_ = version;
}

void Sandbox::ClearDerivedLocked() {
  std::lock_guard derived_lock(derived_mu_);
  derived_.clear();
  derived_valid_ = false;
}

CellValue Sandbox::ViewLocked(const CellStore& store, uint64_t key) const {
  if (auto it = cells_.find(key); it != cells_.end()) return it->second.value;
  if (auto it = derived_.find(key); it != derived_.end()) return it->second;
  return store.Get(key);
}

// ---- Reads ----

absl::StatusOr<Grid> Sandbox::Query(const GridQuery& query, const Cube::ReadOptions& options) const {
  std::shared_lock lock(mu_);
  return QueryLocked(query, options);
}

absl::StatusOr<CellValue> Sandbox::ReadCell(const Coordinate& coord) const {
  std::shared_lock lock(mu_);
  return ReadCellLocked(coord);
}

absl::StatusOr<CellValue> Sandbox::ReadCellLocked(const Coordinate& coord) const {
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  QA_RETURN_IF_ERROR(cube_->CheckCoordinate(coord, /*leaf_only=*/false));
  const AppModel& model = cube_->model();
  if (model.IsLeaf(coord)) {
    const uint64_t key = cube_->PackLeaf(coord);
    if (auto it = cells_.find(key); it != cells_.end()) return it->second.value;
    if (cells_.empty()) return cube_->ReadCell(coord);
    return cube_->WithStoreAt([&](const CellStore& store, uint64_t) {
      std::lock_guard derived_lock(derived_mu_);
      RefreshDerivedLocked(store, {});
      return ViewLocked(store, key);
    });
  }
  GridQuery q;
  q.rows.dims = {0};
  q.rows.tuples = {{coord[0]}};
  q.cols.tuples = {{}};
  for (size_t d = 1; d < coord.size(); ++d) q.slicers.emplace_back(static_cast<int>(d), coord[d]);
  QA_ASSIGN_OR_RETURN(Grid g, QueryLocked(q, {}));
  return g.cells[0];
}

absl::StatusOr<Grid> Sandbox::QueryLocked(const GridQuery& query, const Cube::ReadOptions& options) const {
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  if (cells_.empty()) return cube_->Query(query, options);
  QA_ASSIGN_OR_RETURN(ResolvedGrid rg, ResolveGrid(cube_->model(), query));
  // The app's grid comes from Cube::Query (its cache included); the overlay's corrections need
  // the app's values of the overlay cells at the same version.
  for (int attempt = 0; attempt < kOptimisticReads; ++attempt) {
    const uint64_t version = cube_->CurrentSeq();
    QA_ASSIGN_OR_RETURN(Grid grid, cube_->Query(query, options));
    const bool same = cube_->WithStoreAt([&](const CellStore& store, uint64_t now) {
      if (now != version) return false;
      OverlayGridLocked(query, rg, store, &grid);
      return true;
    });
    if (same) return grid;
  }
  return cube_->WithStoreAt([&](const CellStore& store, uint64_t) -> absl::StatusOr<Grid> {
    ConsolidateOptions copts;
    copts.parallel = options.parallel;
    QA_ASSIGN_OR_RETURN(Grid grid, EvaluateGrid(cube_->model(), store, query, copts));
    OverlayGridLocked(query, rg, store, &grid);
    return grid;
  });
}

void Sandbox::OverlayGridLocked(const GridQuery& query, const ResolvedGrid& rg, const CellStore& store,
                                Grid* grid) const {
  std::lock_guard derived_lock(derived_mu_);
  RefreshDerivedLocked(store, {});
  CorrectGridLocked(query, rg, store, grid);
  if (!cube_->HasReadFormulasInView()) return;
  // Consolidated-level formulas (ratios) cannot be corrected by a difference: they are
  // evaluated again over the view, each other cell read through it.
  const AppModel& model = cube_->model();
  const Cube::ViewValue view = [&](const Coordinate& c) -> CellValue {
    if (model.IsLeaf(c)) return ViewLocked(store, cube_->PackLeaf(c));
    const GridQuery q = OneCellQuery(c);
    ConsolidateOptions o;
    o.parallel = false;
    auto one = ResolveGrid(model, q);
    if (!one.ok()) return CellValue::Number(ErrorValue(CellError::kRef));
    auto g = EvaluateGrid(model, store, q, o);
    if (!g.ok()) return CellValue::Number(ErrorValue(CellError::kRef));
    CorrectGridLocked(q, *one, store, &*g);
    return g->cells[0];
  };
  cube_->ApplyReadFormulasInView(query, view, grid);
}

void Sandbox::CorrectGridLocked(const GridQuery& query, const ResolvedGrid& rg, const CellStore& store,
                                Grid* grid) const {
  const AppModel& model = cube_->model();
  const KeyLayout& layout = store.layout();
  const size_t dims = model.dimensions.size();
  const size_t n = rg.rows * rg.cols;
  std::vector<Coordinate> coords(n);
  for (size_t r = 0; r < rg.rows; ++r)
    for (size_t c = 0; c < rg.cols; ++c) coords[r * rg.cols + c] = rg.CellCoordinate(query, r, c);

  // The grid's distinct members per dimension, numbered; a grid cell is then one mixed-radix
  // index over them (the product is at most the dense limit of a consolidation, 2^26).
  std::vector<absl::flat_hash_map<MemberId, uint32_t>> target_index(dims);
  for (const Coordinate& coord : coords)
    for (size_t d = 0; d < dims; ++d) target_index[d].try_emplace(coord[d], static_cast<uint32_t>(target_index[d].size()));
  std::vector<uint64_t> stride(dims);
  uint64_t size = 1;
  for (size_t d = 0; d < dims; ++d) stride[d] = size, size *= target_index[d].size();
  auto index_of = [&](const Coordinate& coord) {
    uint64_t i = 0;
    for (size_t d = 0; d < dims; ++d) i += stride[d] * target_index[d].at(coord[d]);
    return i;
  };

  // Per grid cell below some overlay cell: the weighted correction of its sum, and what decides
  // whether it is empty.
  struct Correction {
    double delta = 0;
    uint32_t sandbox_numbers = 0;  // overlay cells below that hold a number
    uint32_t app_numbers = 0;      // overlay cells below whose app value is a number
  };
  absl::flat_hash_map<uint64_t, Correction> corrections;
  // A leaf's targets in one dimension, with its weight toward each: reach[slot[d][ordinal]],
  // filled on first use (slot -1).
  std::vector<std::vector<std::pair<uint64_t, double>>> reach;
  std::vector<std::vector<int32_t>> slot(dims);
  for (size_t d = 0; d < dims; ++d) slot[d].assign(model.dimensions[d].leaf_count(), -1);
  auto reach_of = [&](size_t d, uint32_t ordinal) {
    int32_t& s = slot[d][ordinal];
    if (s < 0) {
      s = static_cast<int32_t>(reach.size());
      reach.emplace_back();
      for (const AncestorWeight& a : model.dimensions[d].ancestors(model.dimensions[d].leaf_member(ordinal))) {
        auto t = target_index[d].find(a.member);
        if (t != target_index[d].end()) reach.back().emplace_back(stride[d] * t->second, a.weight);
      }
    }
    return static_cast<size_t>(s);
  };
  std::vector<size_t> per_dim(dims);  // indexes into reach (which grows: no pointers)
  std::vector<size_t> pos(dims);
  // The entered cells, then the formula cells derived from them: both differ from the app's.
  auto correct = [&](uint64_t key, const CellValue& value) {
    bool reaches = true;
    for (size_t d = 0; d < dims && reaches; ++d) {
      per_dim[d] = reach_of(d, layout.Get(key, static_cast<int>(d)));
      reaches = !reach[per_dim[d]].empty();
    }
    if (!reaches) return;
    const CellValue app = store.Get(key);
    const double delta = (value.is_number() ? value.number : 0.0) - (app.is_number() ? app.number : 0.0);
    // Every combination of this leaf's targets is a grid member combination it lies below.
    std::fill(pos.begin(), pos.end(), 0);
    while (true) {
      uint64_t index = 0;
      double weight = 1;
      for (size_t d = 0; d < dims; ++d) {
        index += reach[per_dim[d]][pos[d]].first;
        weight *= reach[per_dim[d]][pos[d]].second;
      }
      Correction& corr = corrections[index];
      corr.delta += weight * delta;
      corr.sandbox_numbers += value.is_number();
      corr.app_numbers += app.is_number();
      size_t d = 0;
      while (d < dims && ++pos[d] == reach[per_dim[d]].size()) pos[d++] = 0;
      if (d == dims) break;
    }
  };
  for (const auto& [key, cell] : cells_) correct(key, cell.value);
  for (const auto& [key, value] : derived_)
    if (!cells_.contains(key)) correct(key, value);

  const bool has_counts = grid->counts.size() == n;
  for (size_t i = 0; i < n; ++i) {
    const Coordinate& coord = coords[i];
    CellValue& out = grid->cells[i];
    if (model.IsLeaf(coord)) {
      const uint64_t key = cube_->PackLeaf(coord);
      if (!cells_.contains(key) && !derived_.contains(key)) continue;
      out = ViewLocked(store, key);
      if (has_counts) grid->counts[i] = out.is_number();
      continue;
    }
    auto it = corrections.find(index_of(coord));
    if (it == corrections.end()) continue;
    const Correction& corr = it->second;
    const bool app_value = out.is_number();
    // Non-empty when a number lies below in the sandbox's view: one of the sandbox's, or one of
    // the app's that the overlay does not replace. Counting the latter needs the app's cells
    // only when the overlay replaces some of its numbers here and adds none.
    bool non_empty = corr.sandbox_numbers > 0 || (app_value && corr.app_numbers == 0);
    if (!non_empty && app_value)
      non_empty = SumCellsUnder(model, store, coord, {}).unheld_cells > corr.app_numbers;
    out = non_empty ? CellValue::Number((app_value ? out.number : 0.0) + corr.delta) : CellValue::Empty();
    if (has_counts) grid->counts[i] = non_empty ? std::max<uint32_t>(1, grid->counts[i]) : 0;
  }
}

// ---- Changes ----

absl::Status Sandbox::Write(const std::vector<CellWrite>& batch) {
  std::unique_lock lock(mu_);
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  QA_RETURN_IF_ERROR(cube_->CheckWrites(batch));
  const auto [vec, op] = BeginOpLocked(cube_->CurrentSeq());
  std::vector<uint64_t> keys;
  keys.reserve(batch.size());
  for (const CellWrite& w : batch) {
    keys.push_back(cube_->PackLeaf(w.coord));
    PutLocked(keys.back(), w.value, vec, op);
  }
  cube_->WithStoreAt([&](const CellStore& store, uint64_t) {
    std::lock_guard derived_lock(derived_mu_);
    RefreshDerivedLocked(store, keys);
  });
  return absl::OkStatus();
}

absl::StatusOr<size_t> Sandbox::Spread(const Coordinate& target, const SpreadRequest& request,
                                       const std::vector<Coordinate>& holds, size_t max_leaves) {
  std::unique_lock lock(mu_);
  if (request.method == SpreadMethod::kStraightLine || request.method == SpreadMethod::kGrowth)
    return SpreadAlongTimeLocked(target, request, holds, max_leaves);
  return SpreadLocked(target, request, holds, max_leaves);
}

// As Cube's (docs/spreading.md): periods one hold covers keep their value, the others share the
// rest 1 : r : r^2 ..., each share a proportional spread into its period; all or nothing.
absl::StatusOr<size_t> Sandbox::SpreadAlongTimeLocked(const Coordinate& target, const SpreadRequest& request,
                                                      const std::vector<Coordinate>& holds, size_t max_leaves) {
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  QA_RETURN_IF_ERROR(cube_->CheckCoordinate(target, /*leaf_only=*/false));
  const int td = cube_->TimeDimension();
  if (td < 0)
    return absl::InvalidArgumentError(StrCat("a ", SpreadMethodName(request.method),
                                             " spread runs along time, and this app has no time dimension"));
  if (!std::isfinite(request.amount)) return absl::InvalidArgumentError("the spread amount is not a finite number");
  if (request.method == SpreadMethod::kGrowth && !(std::isfinite(request.growth_percent) && request.growth_percent > -100))
    return absl::InvalidArgumentError("the growth percentage must be a finite number above -100");
  const AppModel& model = cube_->model();
  const Dimension& time = model.dimensions[td];
  std::vector<Coordinate> all_holds = holds;
  for (Coordinate& h : cube_->StandingHolds(user_)) all_holds.push_back(std::move(h));
  auto covered = [&](const Coordinate& c) {
    for (const Coordinate& h : all_holds) {
      bool all = true;
      for (size_t d = 0; d < c.size() && all; ++d) all = h[d] == kNoMember || model.dimensions[d].IsAncestorOrSelf(h[d], c[d]);
      if (all) return true;
    }
    return false;
  };
  auto periods = time.LeavesUnder(target[td]);
  std::sort(periods.begin(), periods.end());
  std::vector<std::pair<Coordinate, double>> open;
  double held_total = 0;
  for (auto [ordinal, weight] : periods) {
    Coordinate p = target;
    p[td] = time.leaf_member(ordinal);
    if (covered(p)) {
      QA_ASSIGN_OR_RETURN(CellValue v, ReadCellLocked(p));
      if (v.is_number()) held_total += weight * v.number;
    } else {
      open.emplace_back(std::move(p), weight);
    }
  }
  auto fail = [&](absl::Status s) {
    return absl::Status(s.code(), StrCat("cannot spread into ", model.FormatCoordinate(target), ": ", s.message()));
  };
  if (open.empty()) return fail(absl::FailedPreconditionError(StrCat("every ", time.name(), " period below the cell is held")));
  const double ratio = request.method == SpreadMethod::kGrowth ? 1 + request.growth_percent / 100 : 1.0;
  std::vector<double> share(open.size());
  double denominator = 0, s = 1;
  for (size_t k = 0; k < open.size(); ++k, s *= ratio) share[k] = s, denominator += open[k].second * s;
  if (denominator == 0 || !std::isfinite(denominator))
    return fail(absl::FailedPreconditionError(StrCat("the ", time.name(), " weights of the unheld periods sum to zero")));
  // All or nothing: a period that cannot take its share puts the overlay back as it was.
  auto saved = cells_;
  const VersionVector saved_clock = clock_;
  const uint64_t saved_ops = ops_;
  const size_t saved_vectors = vectors_.size();
  size_t changed = 0;
  for (size_t k = 0; k < open.size(); ++k) {
    SpreadRequest part{SpreadMethod::kProportional, (request.amount - held_total) * share[k] / denominator};
    auto n = SpreadLocked(open[k].first, part, holds, max_leaves);
    if (!n.ok()) {
      cells_ = std::move(saved);
      {
        std::lock_guard derived_lock(derived_mu_);
        derived_valid_ = false;  // derived from the cells just put back: rebuilt on next use
      }
      clock_ = saved_clock;
      ops_ = saved_ops;
      vectors_.resize(saved_vectors);
      return fail(absl::Status(n.status().code(), StrCat(time.name(), " '", time.member(open[k].first[td]).code, "': ",
                                                         n.status().message())));
    }
    changed += *n;
  }
  return changed;
}

absl::StatusOr<size_t> Sandbox::SpreadLocked(const Coordinate& target, const SpreadRequest& request,
                                             const std::vector<Coordinate>& holds, size_t max_leaves) {
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  QA_RETURN_IF_ERROR(cube_->CheckCoordinate(target, /*leaf_only=*/false));
  for (const Coordinate& h : holds) {
    absl::Status s = cube_->CheckCoordinate(h, /*leaf_only=*/false);
    if (!s.ok()) return absl::Status(s.code(), StrCat("hold: ", std::string(s.message())));
  }
  QA_RETURN_IF_ERROR(cube_->CheckSpreadRequest(target, request));
  if (std::string why = cube_->ReadOnlyReason(target); !why.empty())
    return absl::FailedPreconditionError(
        StrCat("cannot spread into ", cube_->model().FormatCoordinate(target), ": ", why, " is read-only"));
  // The user's holds and the read-only members hold cells here as in the app.
  std::vector<Coordinate> all_holds = holds;
  for (Coordinate& h : cube_->StandingHolds(user_)) all_holds.push_back(std::move(h));
  const bool rescales = request.method == SpreadMethod::kProportional || request.method == SpreadMethod::kAdd ||
                        request.method == SpreadMethod::kPercentChange;
  if (rescales && !std::isfinite(request.amount))
    return absl::InvalidArgumentError("the spread amount is not a finite number");
  const AppModel& model = cube_->model();
  const size_t dims = model.dimensions.size();

  // The leaves are read and the overlay written under the cube's read lock, so the version each
  // new overlay cell records is the one its inputs were read at.
  return cube_->WithStoreAt([&](const CellStore& store, uint64_t version) -> absl::StatusOr<size_t> {
    const KeyLayout& layout = store.layout();
    auto member_at = [&](uint64_t key, size_t d) {
      return model.dimensions[d].leaf_member(layout.Get(key, static_cast<int>(d)));
    };
    auto held = [&](uint64_t key) {
      for (const Coordinate& h : all_holds) {
        bool under = true;
        for (size_t d = 0; d < dims && under; ++d)
          under = h[d] == kNoMember || model.dimensions[d].IsAncestorOrSelf(h[d], member_at(key, d));
        if (under) return true;
      }
      return false;
    };
    LargeVector<uint64_t> keys;
    LargeVector<SpreadLeaf> leaves;
    // Formula cells are held (read-only), but their value in the view counts toward the target.
    std::lock_guard derived_lock(derived_mu_);
    RefreshDerivedLocked(store, {});
    auto view = [&](uint64_t key) { return ViewLocked(store, key); };

    // Relative: every leaf under the target (up to the limit) with the sandbox's view of its
    // value and of its counterpart in the basis slice; the rules are the app's (spreading.md).
    std::vector<std::optional<double>> relative_now;
    const bool relative = request.method == SpreadMethod::kRelative;
    if (relative) {
      const int td = cube_->TimeDimension();
      std::vector<uint32_t> basis(dims);
      double unheld_basis = 0;
      const bool within = ForEachLeafUnder(model, target, max_leaves, [&](const uint32_t* ordinals, double w) {
        const uint64_t key = layout.Pack(ordinals);
        basis.assign(ordinals, ordinals + dims);
        for (auto [d, member] : request.basis) basis[d] = model.dimensions[d].leaf_ordinal(member);
        bool in_range = true;
        if (request.basis_time_offset != 0) {
          const int64_t t = static_cast<int64_t>(basis[td]) + request.basis_time_offset;
          in_range = t >= 0 && t < static_cast<int64_t>(model.dimensions[td].leaf_count());
          if (in_range) basis[td] = static_cast<uint32_t>(t);
        }
        const CellValue now = view(key);
        const CellValue shape = in_range ? view(layout.Pack(basis.data())) : CellValue::Empty();
        if (!now.is_number() && !now.is_text() && !shape.is_number()) return;
        const bool is_held = now.is_text() || held(key);
        SpreadLeaf leaf{std::nullopt, w, is_held};
        if (is_held) {
          leaf.value = NumberOf(now);
        } else {
          leaf.value = shape.is_number() ? shape.number : 0.0;
          unheld_basis += w * *leaf.value;
        }
        keys.push_back(key);
        leaves.push_back(leaf);
        relative_now.push_back(NumberOf(now));
      });
      if (!within)
        return absl::FailedPreconditionError(StrCat("cannot spread into ", model.FormatCoordinate(target),
                                                    ": a relative spread in a sandbox reads every leaf, more than ",
                                                    max_leaves, " here (the limit); spread into a smaller total"));
      if (unheld_basis == 0)
        return absl::FailedPreconditionError(StrCat("cannot spread into ", model.FormatCoordinate(target),
                                                    ": the basis slice has no values under the unheld leaves, so it"
                                                    " gives no shape; use a proportional or equal spread"));
    }

    // Methods that act on values list the numbers of the sandbox's view: the app's numbers the
    // overlay does not replace, and the overlay's numbers. Proportional and add over nothing
    // unheld to scale spread equally, over every leaf, as the cube does.
    bool all_leaves = !relative && SpreadFillsEmptyLeaves(request.method);
    if (!relative && !all_leaves) {
      const CellSelection sel = SelectCellsUnder(model, store, target);
      auto add = [&](uint64_t key, double value, double weight) {
        if (cells_.contains(key) || derived_.contains(key)) return;
        keys.push_back(key);
        leaves.push_back({value, weight, held(key)});
      };
      const std::span<const double> values = store.values();
      for (size_t i = 0; i < sel.main_positions.size(); ++i) {
        const uint32_t p = sel.main_positions[i];
        add(store.MainKey(store.RunOf(p), p), values[p], sel.main_weights[i]);
      }
      for (size_t i = 0; i < sel.delta_keys.size(); ++i)
        add(sel.delta_keys[i], store.delta().at(sel.delta_keys[i]), sel.delta_weights[i]);
      const std::vector<std::vector<double>> weight = WeightsToward(model, target);
      auto add_view = [&](uint64_t key, const CellValue& value) {
        if (!value.is_number()) return;
        double w = 1;
        for (size_t d = 0; d < dims && !std::isnan(w); ++d) w *= weight[d][layout.Get(key, static_cast<int>(d))];
        if (std::isnan(w)) return;
        keys.push_back(key);
        leaves.push_back({value.number, w, held(key)});
      };
      for (const auto& [key, cell] : cells_) add_view(key, cell.value);
      for (const auto& [key, value] : derived_)
        if (!cells_.contains(key)) add_view(key, value);
      if (request.method == SpreadMethod::kProportional || request.method == SpreadMethod::kAdd) {
        double unheld = 0;
        for (const SpreadLeaf& l : leaves)
          if (!l.held) unheld += l.weight * *l.value;
        all_leaves = unheld == 0;
      }
      if (all_leaves) {
        keys.clear();
        leaves.clear();
      } else if (leaves.empty()) {
        return size_t{0};  // no value to act on: nothing to do
      }
    }
    if (all_leaves) {
      const bool within = ForEachLeafUnder(model, target, max_leaves, [&](const uint32_t* ordinals, double w) {
        const uint64_t key = layout.Pack(ordinals);
        const CellValue value = view(key);
        // A text cell is never overwritten by a spread: it counts as held, with no value.
        keys.push_back(key);
        leaves.push_back({NumberOf(value), w, value.is_text() || held(key)});
      });
      if (!within)
        return absl::FailedPreconditionError(
            StrCat("cannot spread into ", model.FormatCoordinate(target), ": a ", SpreadMethodName(request.method),
                   " spread would fill more than ", max_leaves, " leaves (the limit); spread into a smaller total"));
    }
    auto result = ComputeSpread(leaves, request);
    if (!result.ok())
      return absl::Status(result.status().code(), StrCat("cannot spread into ", model.FormatCoordinate(target), ": ",
                                                         std::string(result.status().message())));
    // Inserted in key order, each after the previous: the B-tree then appends instead of
    // searching (a spread writes up to millions of cells).
    LargeVector<std::pair<uint64_t, std::optional<double>>> changes;
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (relative && leaves[i].held) continue;
      const std::optional<double>& was = relative ? relative_now[i] : leaves[i].value;
      if ((*result)[i] != was) changes.emplace_back(keys[i], (*result)[i]);
    }
    std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (changes.empty()) return size_t{0};
    const auto [vec, op] = BeginOpLocked(version);
    auto hint = cells_.begin();
    for (const auto& [key, now] : changes) {
      CellValue value = now ? CellValue::Number(*now + 0.0) : CellValue::Empty();  // never -0.0
      // An existing cell keeps its first vector; its own counter moves on.
      auto it = cells_.try_emplace(hint, key, OverlayCell{CellValue(), vec, op});
      it->second.value = std::move(value);
      it->second.last_op = op;
      hint = std::next(it);
    }
    std::vector<uint64_t> changed_keys;
    changed_keys.reserve(changes.size());
    for (const auto& [key, now] : changes) changed_keys.push_back(key);
    RefreshDerivedLocked(store, changed_keys);
    return changes.size();
  });
}

// ---- Commit and discard ----

absl::StatusOr<std::vector<WriteConflict>> Sandbox::Conflicts() const {
  std::shared_lock lock(mu_);
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  std::deque<VersionVector> vectors;
  return cube_->FindConflicts(WritesWithVectorsLocked(&vectors));
}

LargeVector<VersionedWrite> Sandbox::WritesWithVectorsLocked(std::deque<VersionVector>* vectors) const {
  // Large overlays make this megabytes: fresh pages are slow to fault in (large_allocator.h).
  LargeVector<VersionedWrite> batch;
  batch.reserve(cells_.size());
  std::map<std::pair<uint32_t, uint64_t>, const VersionVector*> built;
  for (const auto& [key, cell] : cells_) {
    auto [it, fresh] = built.try_emplace({cell.vec, cell.last_op}, nullptr);
    if (fresh) it->second = &vectors->emplace_back(CellVectorLocked(cell));
    batch.push_back({key, cell.value, it->second->Get(kAppReplica), it->second});
  }
  return batch;
}

absl::StatusOr<SandboxCommit> Sandbox::Commit(ConflictPolicy policy) {
  std::unique_lock lock(mu_);
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  std::deque<VersionVector> vectors;
  auto written = cube_->WriteVersioned(WritesWithVectorsLocked(&vectors), policy, user_, "sandbox commit", &clock_);
  if (!written.ok())
    return absl::Status(written.status().code(), StrCat("cannot commit the sandbox of user '", user_, "': ",
                                                        std::string(written.status().message())));
  state_ = State::kCommitted;
  committed_change_set_ = written->change_set;
  cells_.clear();  // free the overlay
  ClearDerivedLocked();
  return SandboxCommit{written->change_set, written->written, std::move(written->conflicts), written->superseded};
}

absl::StatusOr<SandboxMerge> Sandbox::MergeFrom(const Sandbox& other, ConflictPolicy policy) {
  if (&other == this) return absl::InvalidArgumentError("a sandbox cannot merge itself");
  if (other.cube_ != cube_) return absl::InvalidArgumentError("the sandboxes are over different apps");
  // Two sandbox locks: always in address order, so that two merges in opposite directions
  // cannot deadlock. Both before the cube's, as everywhere.
  std::unique_lock<std::shared_mutex> mine(mu_, std::defer_lock);
  std::shared_lock<std::shared_mutex> theirs(other.mu_, std::defer_lock);
  if (this < &other) {
    mine.lock();
    theirs.lock();
  } else {
    theirs.lock();
    mine.lock();
  }
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  QA_RETURN_IF_ERROR(other.CheckOpenLocked());

  // This sandbox's vector of each incoming cell it has not changed: the app's newest change.
  std::vector<uint64_t> app_keys;
  for (const auto& [key, cell] : other.cells_)
    if (!cells_.contains(key)) app_keys.push_back(key);
  absl::flat_hash_map<uint64_t, BaseChange> app_changes;
  for (BaseChange& c : cube_->ChangedSince(0, app_keys)) app_changes.emplace(c.key, std::move(c));

  struct Incoming {
    uint64_t key;
    VersionVector theirs, here;
    bool conflict;
  };
  std::vector<Incoming> apply;
  SandboxMerge result;
  for (const auto& [key, cell] : other.cells_) {
    VersionVector theirs_v = other.CellVectorLocked(cell);
    VersionVector here;
    CellValue current;
    BaseChange change{key, 0, 0, "", ""};
    if (auto it = cells_.find(key); it != cells_.end()) {
      here = CellVectorLocked(it->second);
      current = it->second.value;
      change.action = StrCat("sandbox of user '", user_, "'");
    } else {
      if (auto c = app_changes.find(key); c != app_changes.end()) {
        here = cube_->ClockAt(c->second.seq);
        change = c->second;
      }
      current = cube_->WithStoreAt([&](const CellStore& store, uint64_t) { return store.Get(key); });
    }
    change.seq = here.Get(kAppReplica);
    switch (theirs_v.Compare(here)) {
      case VersionOrder::kBefore:
      case VersionOrder::kEqual:
        ++result.superseded;
        break;
      case VersionOrder::kAfter:
        apply.push_back({key, std::move(theirs_v), std::move(here), false});
        break;
      case VersionOrder::kConcurrent:
        result.conflicts.push_back({key, LeafOf(*cube_, key), current, cell.value, theirs_v.Get(kAppReplica), change});
        apply.push_back({key, std::move(theirs_v), std::move(here), true});
        break;
    }
  }
  if (!result.conflicts.empty() && policy == ConflictPolicy::kAbort) {
    std::vector<std::string> lines;
    for (size_t i = 0; i < result.conflicts.size() && i < 20; ++i) {
      const WriteConflict& c = result.conflicts[i];
      lines.push_back(StrCat(cube_->model().FormatCoordinate(c.coord), ": here ", Describe(c.current), ", from '",
                             other.user_, "' ", Describe(c.mine)));
    }
    if (result.conflicts.size() > 20) lines.push_back(StrCat("... and ", result.conflicts.size() - 20, " more"));
    return absl::AbortedError(StrCat("cannot merge the sandbox of user '", other.user_, "' into that of user '", user_,
                                     "': ", result.conflicts.size(), " cell(s) changed concurrently in both, nothing merged: ",
                                     StrJoin(lines, "; ")));
  }
  // One own change: it has seen everything the other sandbox had.
  clock_.Merge(other.clock_);
  clock_.Set(replica_, ++ops_);
  // Fast-forwarded cells keep the other's vector (what their value derives from); a resolved
  // conflict gets both sides' vectors and this change's own counter (it saw both).
  std::map<std::string, uint32_t> interned;
  auto intern = [&](VersionVector v) {
    ByteWriter w;
    v.EncodeTo(w);
    auto [it, fresh] = interned.try_emplace(w.Take(), 0);
    if (fresh) {
      vectors_.push_back(std::move(v));
      it->second = static_cast<uint32_t>(vectors_.size() - 1);
    }
    return it->second;
  };
  for (Incoming& in : apply) {
    const bool take = !in.conflict || policy == ConflictPolicy::kKeepMine;
    auto here = cells_.find(in.key);
    if (in.conflict) {
      VersionVector both = in.theirs;
      both.Merge(in.here);
      if (take) {
        CellValue v = other.cells_.at(in.key).value;
        cells_[in.key] = OverlayCell{std::move(v), intern(std::move(both)), ops_};
        ++result.written;
      } else if (here != cells_.end()) {
        here->second.vec = intern(std::move(both));
        here->second.last_op = ops_;
      }
      continue;
    }
    CellValue v = other.cells_.at(in.key).value;
    cells_[in.key] = OverlayCell{std::move(v), intern(std::move(in.theirs)), 0};
    ++result.written;
  }
  ClearDerivedLocked();  // rebuilt from the merged overlay on next use
  return result;
}

std::string Sandbox::Encode() const {
  std::shared_lock lock(mu_);
  ByteWriter w;
  w.Put(uint64_t{2});  // version (1: no vectors, a seq per cell)
  w.Put(replica_);
  w.Put(ops_);
  forked_at_.EncodeTo(w);
  clock_.EncodeTo(w);
  w.Put(static_cast<uint64_t>(vectors_.size()));
  for (const VersionVector& v : vectors_) v.EncodeTo(w);
  w.Put(static_cast<uint64_t>(cells_.size()));
  for (const auto& [key, cell] : cells_) {
    w.Put(key);
    w.Put(cell.vec);
    w.Put(cell.last_op);
    PutCellValueFull(w, cell.value);
  }
  return w.Take();
}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Restore(Cube* cube, std::string user, std::string_view bytes,
                                                          const std::string& name) {
  const std::string context = StrCat(name, ": sandbox of user '", user, "'");
  ByteReader in(bytes, context);
  uint64_t version = 0, count = 0;
  QA_RETURN_IF_ERROR(in.Get(&version, "the version"));
  if (version != 1 && version != 2) return in.Error(StrCat("unknown version ", version));
  uint64_t replica = 0;
  if (version == 2) {
    QA_RETURN_IF_ERROR(in.Get(&replica, "the replica id"));
    if (replica == kAppReplica) return in.Error("replica id 0 is the app's");
  }
  auto sandbox = std::make_unique<Sandbox>(cube, std::move(user), replica);
  if (version == 2) {
    QA_RETURN_IF_ERROR(in.Get(&sandbox->ops_, "the own counter"));
    QA_RETURN_IF_ERROR(VersionVector::DecodeFrom(in, &sandbox->forked_at_));
    QA_RETURN_IF_ERROR(VersionVector::DecodeFrom(in, &sandbox->clock_));
    if (sandbox->clock_.Get(sandbox->replica_) != sandbox->ops_) return in.Error("the clock's own counter is not the own counter");
    uint64_t n = 0;
    QA_RETURN_IF_ERROR(in.GetCount<uint64_t>(&n, 4, "the vector count"));
    sandbox->vectors_.resize(n);
    for (VersionVector& v : sandbox->vectors_) QA_RETURN_IF_ERROR(VersionVector::DecodeFrom(in, &v));
  } else {
    // Written before vector clocks: each cell had the app's seq it first saw. Those become
    // vectors {app: seq, own: 1}: one own change, as far as anyone can tell now.
    sandbox->forked_at_ = VersionVector();
    sandbox->ops_ = 1;
  }
  QA_RETURN_IF_ERROR(in.GetCount<uint64_t>(&count, 17, "the cell count"));
  const KeyLayout& layout = cube->layout();
  std::map<uint64_t, uint32_t> by_seq;  // version 1
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t key = 0;
    OverlayCell cell;
    QA_RETURN_IF_ERROR(in.Get(&key, "a cell"));
    if (version == 2) {
      QA_RETURN_IF_ERROR(in.Get(&cell.vec, "a cell's vector"));
      QA_RETURN_IF_ERROR(in.Get(&cell.last_op, "a cell's own counter"));
      if (cell.vec >= sandbox->vectors_.size()) return in.Error(StrCat("a cell's vector ", cell.vec, " is not in the table"));
      if (cell.last_op > sandbox->ops_) return in.Error("a cell's own counter is past the sandbox's");
    } else {
      uint64_t seq = 0;
      QA_RETURN_IF_ERROR(in.Get(&seq, "a cell"));
      auto [it, fresh] = by_seq.try_emplace(seq, static_cast<uint32_t>(sandbox->vectors_.size()));
      if (fresh) {
        VersionVector v;
        v.Set(kAppReplica, seq);
        v.Set(sandbox->replica_, 1);
        sandbox->vectors_.push_back(v);
        sandbox->clock_.Merge(v);
      }
      cell.vec = it->second;
      cell.last_op = 1;
    }
    QA_RETURN_IF_ERROR(GetCellValueFull(in, &cell.value));
    bool leaf = layout.total_bits() == 64 || (key >> layout.total_bits()) == 0;
    for (int d = 0; d < layout.dims() && leaf; ++d) leaf = layout.Get(key, d) < layout.leaf_count(d);
    if (!leaf) return in.Error("cell not of this app");
    sandbox->cells_.emplace(key, std::move(cell));
  }
  if (version == 1) sandbox->clock_.Set(sandbox->replica_, 1);
  if (!in.done()) return in.Error("trailing bytes");
  return sandbox;
}

absl::Status Sandbox::Discard() {
  std::unique_lock lock(mu_);
  QA_RETURN_IF_ERROR(CheckOpenLocked());
  state_ = State::kDiscarded;
  cells_.clear();
  ClearDerivedLocked();
  return absl::OkStatus();
}

}  // namespace quantatom

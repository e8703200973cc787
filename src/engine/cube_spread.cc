// Cube's spreading: which leaves are held (explicit holds, the user's holds, read-only
// members), the methods over a list of leaves (spread/spread.h), relative proportional, and the
// methods that run along time. docs/spreading.md has the rules.
#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "base/strings.h"
#include "engine/cube.h"
#include "query/consolidate.h"

namespace quantatom {

namespace {
bool Covers(const AppModel& model, const Coordinate& hold, const Coordinate& coord) {
  for (size_t d = 0; d < coord.size(); ++d)
    if (hold[d] != kNoMember && !model.dimensions[d].IsAncestorOrSelf(hold[d], coord[d])) return false;
  return true;
}
}  // namespace

// ---- Holds and read-only members.

std::string Cube::ReadOnlyReason(const Coordinate& coord) const {
  std::shared_lock lock(mu_);
  return ReadOnlyReasonLocked(coord);
}

std::string Cube::ReadOnlyReasonLocked(const Coordinate& coord) const {
  for (const Coordinate& h : read_only_holds_)
    if (Covers(model_, h, coord))
      for (size_t d = 0; d < h.size(); ++d)
        if (h[d] != kNoMember)
          return StrCat(model_.dimensions[d].name(), " '", model_.dimensions[d].member(h[d]).code, "'");
  return "";
}

absl::Status Cube::SetHold(const std::string& user, const Coordinate& coord, bool held) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(coord, /*leaf_only=*/false));
  std::unique_lock lock(mu_);
  auto it = std::find_if(holds_.begin(), holds_.end(), [&](const auto& e) { return e.first == user; });
  if (it == holds_.end()) it = holds_.insert(holds_.end(), {user, {}});
  auto& list = it->second;
  auto at = std::find(list.begin(), list.end(), coord);
  if (held && at == list.end()) list.push_back(coord);
  if (!held && at != list.end()) list.erase(at);
  return absl::OkStatus();
}

std::vector<Coordinate> Cube::Holds(const std::string& user) const {
  std::shared_lock lock(mu_);
  for (const auto& [u, list] : holds_)
    if (u == user) return list;
  return {};
}

void Cube::ClearHolds(const std::string& user) {
  std::unique_lock lock(mu_);
  std::erase_if(holds_, [&](const auto& e) { return e.first == user; });
}

std::vector<std::pair<std::string, std::vector<Coordinate>>> Cube::AllHolds() const {
  std::shared_lock lock(mu_);
  return holds_;
}

std::vector<Coordinate> Cube::StandingHolds(const std::string& user) const {
  std::shared_lock lock(mu_);
  std::vector<Coordinate> out;
  for (const auto& [u, list] : holds_)
    if (u == user) out = list;
  out.insert(out.end(), read_only_holds_.begin(), read_only_holds_.end());
  return out;
}

bool Cube::IsHeld(const std::string& user, const Coordinate& coord) const {
  std::shared_lock lock(mu_);
  if (!ReadOnlyReasonLocked(coord).empty()) return true;
  for (const auto& [u, list] : holds_)
    if (u == user)
      for (const Coordinate& h : list)
        if (Covers(model_, h, coord)) return true;
  return false;
}

int Cube::TimeDimension() const {
  for (size_t d = 0; d < model_.dimensions.size(); ++d)
    if (model_.dimensions[d].type() == DimensionType::kTime) return static_cast<int>(d);
  return -1;
}

// ---- Spread: validation, holds, one change set, all or nothing.

absl::Status Cube::ValidateSpreadRequest(const Coordinate& target, const SpreadRequest& request) const {
  if (!std::isfinite(request.amount)) return absl::InvalidArgumentError("the spread amount is not a finite number");
  if (request.method == SpreadMethod::kGrowth && !(std::isfinite(request.growth_percent) && request.growth_percent > -100))
    return absl::InvalidArgumentError("the growth percentage must be a finite number above -100");
  if (request.method == SpreadMethod::kStraightLine || request.method == SpreadMethod::kGrowth) {
    if (TimeDimension() < 0)
      return absl::InvalidArgumentError(StrCat("a ", SpreadMethodName(request.method),
                                               " spread runs along time, and this app has no time dimension"));
  }
  if (request.method != SpreadMethod::kRelative) return absl::OkStatus();
  for (auto [d, member] : request.basis) {
    if (d >= model_.dimensions.size()) return absl::InvalidArgumentError("relative basis: dimension out of range");
    const Dimension& dim = model_.dimensions[d];
    if (member >= dim.member_count() || !dim.is_leaf(member))
      return absl::InvalidArgumentError(
          StrCat("relative basis: the member replacing ", dim.name(), " must be a leaf member of ", dim.name()));
    if (!dim.is_leaf(target[d]))
      return absl::InvalidArgumentError(StrCat("relative basis: the target's ", dim.name(), " '",
                                               dim.member(target[d]).code,
                                               "' is consolidated; only a leaf member (such as a scenario) can be replaced"));
  }
  if (request.basis_time_offset != 0) {
    const int td = TimeDimension();
    if (td < 0) return absl::InvalidArgumentError("relative basis: a time offset needs a time dimension");
    if (model_.dimensions[td].roots().size() != 1)
      return absl::InvalidArgumentError("relative basis: a time offset needs a time dimension with one top member");
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Cube::Spread(const Coordinate& target, const SpreadRequest& request,
                                    const std::vector<Coordinate>& holds, const std::string& user, size_t max_leaves) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(target, /*leaf_only=*/false));
  for (const Coordinate& h : holds) {
    absl::Status s = ValidateCoordinate(h, /*leaf_only=*/false);
    if (!s.ok()) return absl::Status(s.code(), StrCat("hold: ", s.message()));
  }
  QA_RETURN_IF_ERROR(ValidateSpreadRequest(target, request));
  std::unique_lock lock(mu_);
  if (std::string why = ReadOnlyReasonLocked(target); !why.empty())
    return absl::FailedPreconditionError(
        StrCat("cannot spread into ", model_.FormatCoordinate(target), ": ", why, " is read-only"));
  std::vector<Coordinate> all_holds = holds;
  for (const auto& [u, list] : holds_)
    if (u == user) all_holds.insert(all_holds.end(), list.begin(), list.end());
  all_holds.insert(all_holds.end(), read_only_holds_.begin(), read_only_holds_.end());

  ChangeList changes;
  absl::StatusOr<size_t> changed;
  switch (request.method) {
    case SpreadMethod::kRelative:
      changed = SpreadRelativeLocked(target, request, all_holds, &changes);
      break;
    case SpreadMethod::kStraightLine:
    case SpreadMethod::kGrowth:
      changed = SpreadAlongTimeLocked(target, request, all_holds, max_leaves, &changes);
      break;
    default:
      changed = SpreadLocked(target, request, all_holds, max_leaves, &changes);
  }
  if (!changed.ok()) {
    RollBackLocked(std::move(changes));
    return absl::Status(changed.status().code(), StrCat("cannot spread into ", model_.FormatCoordinate(target), ": ",
                                                        changed.status().message()));
  }
  history_.Record(user, "spread", std::move(changes));
  return *changed;
}

void Cube::RollBackLocked(ChangeList changes) {
  if (changes.empty()) return;
  ChangeSet set;
  set.action = "rollback";
  set.changes = std::move(changes);
  // Nothing else ran under the write lock, so every cell still holds what the parts left.
  (void)UndoOrRedoLocked(set, /*undo=*/true);
}

absl::StatusOr<size_t> Cube::SpreadLocked(const Coordinate& target, const SpreadRequest& request,
                                          const std::vector<Coordinate>& holds, size_t max_leaves, ChangeList* out) {
  const size_t dims = model_.dimensions.size();
  auto held = [&](const Coordinate& leaf) {
    for (const Coordinate& h : holds)
      if (Covers(model_, h, leaf)) return true;
    return false;
  };
  // Fast path: methods that only rescale existing values need two passes over the cells under
  // the target (sums, then scale in place), never a list of them.
  if (request.method == SpreadMethod::kProportional || request.method == SpreadMethod::kAdd ||
      request.method == SpreadMethod::kPercentChange) {
    // Without holds the unheld sum is the cell's own total, often already cached.
    HeldSums sums;
    bool known = false;
    if (holds.empty() && cache_.enabled()) {
      std::lock_guard cache_lock(cache_mu_);
      uint32_t count = 0;
      if (cache_.Lookup(cache_.Key(target), &sums.unheld, &count)) {
        sums.unheld_cells = count;
        known = true;
      }
    }
    if (!known) sums = SumCellsUnder(model_, store_, target, holds);
    std::optional<double> factor;
    if (request.method == SpreadMethod::kPercentChange) {
      if (sums.unheld_cells + sums.held_cells == 0) return 0;  // no value: nothing to do
      if (sums.unheld_cells > 0) factor = 1 + request.amount / 100;
    } else if (sums.unheld != 0) {
      const double total = request.method == SpreadMethod::kAdd ? sums.held + sums.unheld + request.amount : request.amount;
      factor = (total - sums.held) / sums.unheld;
    }
    if (factor) {
      if (!std::isfinite(*factor)) return absl::InvalidArgumentError("the spread would produce a value that is not finite");
      ScaleRecord record;
      // A cached count may count a leaf once per path: only a sums pass gives the exact number.
      record.expected = known ? 0 : sums.unheld_cells;
      const size_t changed = ScaleUnheldCellsUnder(model_, store_, target, holds, *factor, &record);
      InvalidateRegionLocked(target);
      ChangeList changes;
      changes.scaled.push_back({std::move(record.before), *factor, {target.begin(), target.end()}});
      out->Append(std::move(changes));
      return changed;
    }
    // Otherwise (nothing unheld to scale) the general path below spreads equally or reports why
    // it cannot.
  }
  // The leaves to spread over, with their current values. Proportional-like methods only touch
  // non-empty cells; the others (and a proportional spread over nothing) need every leaf.
  std::vector<Coordinate> coords;
  std::vector<SpreadLeaf> leaves;
  // Proportional and add get here only when there is nothing unheld to scale: they spread
  // equally over every leaf. Percent and clear act on the values that exist.
  const bool all_leaves = SpreadFillsEmptyLeaves(request.method) || request.method == SpreadMethod::kProportional ||
                          request.method == SpreadMethod::kAdd;
  if (!all_leaves) {
    CellSelection sel = SelectCellsUnder(model_, store_, target);
    auto add = [&](uint64_t key, double w) {
      Coordinate leaf = LeafOfKey(key);
      leaves.push_back({store_.Get(key).number, w, held(leaf)});
      coords.push_back(std::move(leaf));
    };
    for (size_t i = 0; i < sel.main_positions.size(); ++i)
      add(store_.MainKey(store_.RunOf(sel.main_positions[i]), sel.main_positions[i]), sel.main_weights[i]);
    for (size_t i = 0; i < sel.delta_keys.size(); ++i) add(sel.delta_keys[i], sel.delta_weights[i]);
    if (leaves.empty()) return 0;  // no value to act on: nothing to do
  }
  if (all_leaves) {
    const bool within = ForEachLeafUnder(model_, target, max_leaves, [&](const uint32_t* ordinals, double w) {
      Coordinate leaf(dims);
      for (size_t d = 0; d < dims; ++d) leaf[d] = model_.dimensions[d].leaf_member(ordinals[d]);
      CellValue v = store_.Get(store_.layout().Pack(ordinals));
      // A text cell is never overwritten by a spread: it counts as held, with no value.
      leaves.push_back({v.is_number() ? std::optional<double>(v.number) : std::nullopt, w, v.is_text() || held(leaf)});
      coords.push_back(std::move(leaf));
    });
    if (!within)
      return absl::FailedPreconditionError(StrCat("a ", SpreadMethodName(request.method), " spread would fill more than ",
                                                  max_leaves, " leaves (the limit); spread into a smaller total"));
  }
  QA_ASSIGN_OR_RETURN(auto result, ComputeSpread(leaves, request));
  std::vector<CellWrite> batch;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const std::optional<double>& now = result[i];
    if (now == leaves[i].value) continue;
    batch.push_back({coords[i], now ? CellValue::Number(*now) : CellValue::Empty()});
  }
  out->Append(ApplyLocked(batch));
  return batch.size();
}

absl::StatusOr<size_t> Cube::SpreadRelativeLocked(const Coordinate& target, const SpreadRequest& request,
                                                  const std::vector<Coordinate>& holds, ChangeList* out) {
  const size_t dims = model_.dimensions.size();
  const KeyLayout& layout = store_.layout();
  const int td = TimeDimension();
  // The basis region: the target with the replaced members, and the whole time dimension when
  // the shape is shifted along time (shifted leaves are mapped back one by one below).
  Coordinate basis_region = target;
  for (auto [d, member] : request.basis) basis_region[d] = member;
  if (request.basis_time_offset != 0) basis_region[td] = model_.dimensions[td].roots()[0];
  // Which time ordinals lie under the target (a shifted basis cell must land on one of them).
  std::vector<bool> target_time;
  if (request.basis_time_offset != 0) {
    target_time.assign(model_.dimensions[td].leaf_count(), false);
    for (auto [o, w] : model_.dimensions[td].LeavesUnder(target[td])) target_time[o] = true;
  }
  auto for_each_selected = [&](const Coordinate& region, auto&& fn) {
    CellSelection sel = SelectCellsUnder(model_, store_, region);
    for (size_t i = 0; i < sel.main_positions.size(); ++i)
      fn(store_.MainKey(store_.RunOf(sel.main_positions[i]), sel.main_positions[i]), sel.main_weights[i]);
    for (size_t i = 0; i < sel.delta_keys.size(); ++i) fn(sel.delta_keys[i], sel.delta_weights[i]);
  };
  // target leaf key -> its basis value
  absl::flat_hash_map<uint64_t, double> basis;
  std::vector<uint32_t> ordinals(dims);
  for_each_selected(basis_region, [&](uint64_t key, double) {
    const CellValue v = store_.Get(key);
    if (!v.is_number()) return;
    for (size_t d = 0; d < dims; ++d) ordinals[d] = layout.Get(key, static_cast<int>(d));
    for (auto [d, member] : request.basis) ordinals[d] = model_.dimensions[d].leaf_ordinal(target[d]);
    if (request.basis_time_offset != 0) {
      const int64_t o = static_cast<int64_t>(ordinals[td]) - request.basis_time_offset;
      if (o < 0 || o >= static_cast<int64_t>(target_time.size()) || !target_time[o]) return;
      ordinals[td] = static_cast<uint32_t>(o);
    }
    basis[layout.Pack(ordinals.data())] = v.number;
  });
  // Every leaf with a value now or in the basis takes part. Held leaves keep their value; an
  // unheld leaf with a value but no basis value becomes 0 (its share of the shape is none).
  std::vector<uint64_t> keys;
  for_each_selected(target, [&](uint64_t key, double) { keys.push_back(key); });
  for (const auto& [key, v] : basis) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<std::vector<double>> weight_of(dims);
  for (size_t d = 0; d < dims; ++d) {
    weight_of[d].assign(model_.dimensions[d].leaf_count(), 0.0);
    for (auto [o, w] : model_.dimensions[d].LeavesUnder(target[d])) weight_of[d][o] = w;
  }
  std::vector<SpreadLeaf> leaves;
  std::vector<CellValue> current;
  double unheld_basis = 0;
  for (uint64_t key : keys) {
    double w = 1;
    for (size_t d = 0; d < dims; ++d) w *= weight_of[d][layout.Get(key, static_cast<int>(d))];
    CellValue now = store_.Get(key);
    bool held = now.is_text();
    if (!held) {
      const Coordinate leaf = LeafOfKey(key);
      for (const Coordinate& h : holds) held = held || Covers(model_, h, leaf);
    }
    SpreadLeaf leaf{std::nullopt, w, held};
    if (held) {
      if (now.is_number()) leaf.value = now.number;
    } else {
      auto it = basis.find(key);
      leaf.value = it != basis.end() ? it->second : 0.0;
      unheld_basis += w * *leaf.value;
    }
    leaves.push_back(leaf);
    current.push_back(std::move(now));
  }
  if (unheld_basis == 0)
    return absl::FailedPreconditionError(StrCat("the basis slice ", model_.FormatCoordinate(basis_region),
                                                request.basis_time_offset != 0
                                                    ? StrCat(" shifted by ", request.basis_time_offset, " periods")
                                                    : std::string(),
                                                " has no values under the unheld leaves, so it gives no shape;"
                                                " use a proportional or equal spread"));
  QA_ASSIGN_OR_RETURN(auto result, ComputeSpread(leaves, request));
  std::vector<std::pair<uint64_t, CellValue>> batch;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (leaves[i].held) continue;
    const CellValue now = result[i] ? CellValue::Number(*result[i]) : CellValue::Empty();
    if (!(now == current[i])) batch.emplace_back(keys[i], now);
  }
  out->Append(ApplyKeyedLocked(batch));
  return batch.size();
}

absl::StatusOr<size_t> Cube::SpreadAlongTimeLocked(const Coordinate& target, const SpreadRequest& request,
                                                   const std::vector<Coordinate>& holds, size_t max_leaves,
                                                   ChangeList* out) {
  const int td = TimeDimension();
  const Dimension& time = model_.dimensions[td];
  auto periods = time.LeavesUnder(target[td]);  // in time order (leaf ordinals)
  std::sort(periods.begin(), periods.end());
  // A period a hold covers whole keeps its value; the amount less those values goes to the
  // other periods by their shares (1 each, or growing by growth_percent from one to the next).
  struct Period {
    Coordinate coord;
    double weight;
  };
  std::vector<Period> open;
  double held_total = 0;
  for (auto [ordinal, weight] : periods) {
    Coordinate p = target;
    p[td] = time.leaf_member(ordinal);
    bool held = false;
    for (const Coordinate& h : holds) held = held || Covers(model_, h, p);
    if (held) held_total += weight * SumCellsUnder(model_, store_, p, {}).unheld;
    else open.push_back({std::move(p), weight});
  }
  if (open.empty())
    return absl::FailedPreconditionError(StrCat("every ", time.name(), " period below the cell is held"));
  const double ratio = request.method == SpreadMethod::kGrowth ? 1 + request.growth_percent / 100 : 1.0;
  std::vector<double> share(open.size());
  double denominator = 0, s = 1;
  for (size_t k = 0; k < open.size(); ++k, s *= ratio) {
    share[k] = s;
    denominator += open[k].weight * s;
  }
  if (denominator == 0 || !std::isfinite(denominator))
    return absl::FailedPreconditionError(StrCat("the ", time.name(), " weights of the unheld periods sum to zero"));
  size_t changed = 0;
  for (size_t k = 0; k < open.size(); ++k) {
    SpreadRequest part{SpreadMethod::kProportional, (request.amount - held_total) * share[k] / denominator};
    auto n = SpreadLocked(open[k].coord, part, holds, max_leaves, out);
    if (!n.ok())
      return absl::Status(n.status().code(), StrCat(time.name(), " '", time.member(open[k].coord[td]).code, "': ",
                                                    n.status().message()));
    changed += *n;
  }
  return changed;
}

}  // namespace quantatom

#include "targets/target_layer.h"

#include <algorithm>
#include <cmath>

#include "base/strings.h"

namespace quantatom {

absl::StatusOr<GuidanceMethod> ParseGuidanceMethod(std::string_view name) {
  if (name == "proportional") return GuidanceMethod::kProportional;
  if (name == "equal") return GuidanceMethod::kEqual;
  return absl::InvalidArgumentError(StrCat("unknown guidance method '", name, "' (expected proportional or equal)"));
}

std::string_view GuidanceMethodName(GuidanceMethod method) {
  return method == GuidanceMethod::kEqual ? "equal" : "proportional";
}

absl::StatusOr<TargetsConfig> MakeTargetsConfig(const AppModel& model, std::string_view scenario_dimension,
                                                std::string_view plan_member, std::string_view actual_member) {
  TargetsConfig config;
  config.scenario_dim = model.FindDimension(scenario_dimension);
  if (config.scenario_dim < 0) return absl::NotFoundError(StrCat("no dimension '", scenario_dimension, "'"));
  const Dimension& dim = model.dimensions[config.scenario_dim];
  auto find = [&](std::string_view code, MemberId* out) -> absl::Status {
    std::optional<MemberId> id = dim.Find(code);
    if (!id) return absl::NotFoundError(StrCat("no member '", code, "' in dimension '", dim.name(), "'"));
    *out = *id;
    return absl::OkStatus();
  };
  QA_RETURN_IF_ERROR(find(plan_member, &config.plan));
  QA_RETURN_IF_ERROR(find(actual_member, &config.actual));
  return config;
}

TargetLayer::TargetLayer(const AppModel* model, TargetsConfig config) : model_(model), config_(config) {}

std::vector<std::vector<uint32_t>> TargetLayer::LeafSets(const Coordinate& coord) const {
  std::vector<std::vector<uint32_t>> sets(coord.size());
  for (size_t d = 0; d < coord.size(); ++d)
    for (auto [ordinal, w] : model_->dimensions[d].LeavesUnder(coord[d])) sets[d].push_back(ordinal);
  return sets;
}

namespace {

enum class Relation { kDisjoint, kInside, kContains, kSame, kOverlap };

// How the leaves of `a` relate to those of `b`, from their per-dimension leaf sets. Leaf sets,
// not member ancestry, decide: with alternate hierarchies a member can cover another's leaves
// without being its ancestor, and the leaves are what guidance is about.
Relation Relate(const std::vector<std::vector<uint32_t>>& a, const std::vector<std::vector<uint32_t>>& b) {
  bool a_in_b = true, b_in_a = true;
  for (size_t d = 0; d < a.size(); ++d) {
    std::vector<uint32_t> common;
    std::set_intersection(a[d].begin(), a[d].end(), b[d].begin(), b[d].end(), std::back_inserter(common));
    if (common.empty()) return Relation::kDisjoint;
    a_in_b &= common.size() == a[d].size();
    b_in_a &= common.size() == b[d].size();
  }
  if (a_in_b && b_in_a) return Relation::kSame;
  if (a_in_b) return Relation::kInside;
  if (b_in_a) return Relation::kContains;
  return Relation::kOverlap;
}

}  // namespace

absl::Status TargetLayer::Set(Target target) {
  const AppModel& model = *model_;
  const size_t dims = model.dimensions.size();
  if (target.coord.size() != dims)
    return absl::InvalidArgumentError(StrCat("a target coordinate needs ", dims, " members, got ", target.coord.size()));
  for (size_t d = 0; d < dims; ++d)
    if (target.coord[d] >= model.dimensions[d].member_count())
      return absl::InvalidArgumentError(
          StrCat("member id ", target.coord[d], " is out of range in dimension '", model.dimensions[d].name(), "'"));
  const std::string where = model.FormatCoordinate(target.coord);
  if (!std::isfinite(target.value))
    return absl::InvalidArgumentError(StrCat("target at ", where, ": value is not a finite number"));
  if (target.basis != kNoMember) {
    if (target.method != GuidanceMethod::kProportional)
      return absl::InvalidArgumentError(StrCat("target at ", where, ": a basis needs proportional guidance"));
    if (config_.scenario_dim < 0)
      return absl::InvalidArgumentError(StrCat("target at ", where, ": a basis needs a scenario dimension"));
    const Dimension& scen = model.dimensions[config_.scenario_dim];
    if (target.basis >= scen.member_count() || !scen.is_leaf(target.basis))
      return absl::InvalidArgumentError(
          StrCat("target at ", where, ": the basis must be a leaf member of '", scen.name(), "'"));
    if (!scen.is_leaf(target.coord[config_.scenario_dim]))
      return absl::InvalidArgumentError(
          StrCat("target at ", where, ": a target with a basis must be on a leaf member of '", scen.name(), "'"));
  }
  auto sets = LeafSets(target.coord);
  const int existing = Find(target.coord);
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (static_cast<int>(i) == existing) continue;
    const Relation r = Relate(sets, leaf_sets_[i]);
    if (r == Relation::kSame || r == Relation::kOverlap)
      return absl::FailedPreconditionError(StrCat(
          "target at ", where, (r == Relation::kSame ? " covers the same leaves as" : " partly overlaps"),
          " the target at ", model.FormatCoordinate(targets_[i].coord),
          ": targets must nest or be disjoint (remove one, or set the target on a coordinate inside the other)"));
  }
  if (existing >= 0) {
    targets_[existing] = std::move(target);
  } else {
    targets_.push_back(std::move(target));
    leaf_sets_.push_back(std::move(sets));
  }
  ++version_;
  RebuildParents();
  return absl::OkStatus();
}

bool TargetLayer::Remove(const Coordinate& coord) {
  const int i = Find(coord);
  if (i < 0) return false;
  targets_.erase(targets_.begin() + i);
  leaf_sets_.erase(leaf_sets_.begin() + i);
  ++version_;
  RebuildParents();
  return true;
}

void TargetLayer::Clear() {
  targets_.clear();
  leaf_sets_.clear();
  parents_.clear();
  ++version_;
}

int TargetLayer::Find(const Coordinate& coord) const {
  for (size_t i = 0; i < targets_.size(); ++i)
    if (targets_[i].coord == coord) return static_cast<int>(i);
  return -1;
}

void TargetLayer::RebuildParents() {
  // Containing targets form a chain (no partial overlaps), so the innermost one is the
  // container with the fewest leaves.
  const size_t n = targets_.size();
  auto size_of = [&](size_t i) {
    double cells = 1;
    for (const auto& s : leaf_sets_[i]) cells *= static_cast<double>(s.size());
    return cells;
  };
  parents_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    double best = 0;
    for (size_t j = 0; j < n; ++j) {
      if (i == j || Relate(leaf_sets_[i], leaf_sets_[j]) != Relation::kInside) continue;
      const double s = size_of(j);
      if (parents_[i] < 0 || s < best) parents_[i] = static_cast<int>(j), best = s;
    }
  }
}

}  // namespace quantatom

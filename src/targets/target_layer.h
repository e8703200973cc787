// Targets: values set on any coordinate of an app, kept apart from the plan cells.
//
// A target says "Total Opex, FY2025, Budget, All Products should be 1,200,000". It never
// changes a cell; it flows down as *guidance* (guidance.h): every leaf below it gets its share,
// by a spread method. The rules are in docs/targets.md; in short:
//   - one target per coordinate (setting it again replaces it);
//   - targets may nest: a target whose leaves all lie below another target's leaves governs
//     them, and the outer target spreads only its remainder over its other leaves;
//   - targets may not partly overlap (share some leaves without one containing the other):
//     Set refuses such a target with FailedPrecondition, so every leaf has at most one
//     innermost target and guidance is never ambiguous.
//
// TargetLayer is the validated set of targets, with the containment tree. It knows the model,
// not the cells: the checks that need cells (text cells, feasible guidance) are made by
// Targets (targets.h) before it commits a change here.
//
// Not thread-safe; a value type (copy it to try a change).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/app_model.h"

namespace quantatom {

enum class GuidanceMethod : uint8_t {
  // Leaves share the target in proportion to a basis: the cells under the target themselves,
  // or the same leaves in another scenario (Target::basis). An all-empty or all-zero basis
  // falls back to equal, as a proportional spread does.
  kProportional = 0,
  // Every leaf under the target (the cross product) gets the same share.
  kEqual = 1,
};
// "proportional", "equal".
absl::StatusOr<GuidanceMethod> ParseGuidanceMethod(std::string_view name);
std::string_view GuidanceMethodName(GuidanceMethod method);

// Where plan, actual and target live: the scenario dimension and its plan and actual members.
struct TargetsConfig {
  int scenario_dim = -1;          // -1: the app has no scenario dimension (no basis, no layers)
  MemberId plan = kNoMember;      // e.g. Budget
  MemberId actual = kNoMember;    // e.g. Actual
};
// NotFound naming the dimension or member.
absl::StatusOr<TargetsConfig> MakeTargetsConfig(const AppModel& model, std::string_view scenario_dimension,
                                                std::string_view plan_member, std::string_view actual_member);

struct Target {
  Coordinate coord;  // one member per dimension, any level
  double value = 0;
  GuidanceMethod method = GuidanceMethod::kProportional;
  // Proportional only: a leaf scenario member whose cells give the shape (e.g. Actual), read
  // at the same leaves with the scenario replaced. kNoMember: the target's own cells. A
  // target with a basis must itself be on a leaf scenario member.
  MemberId basis = kNoMember;
};

class TargetLayer {
 public:
  // `model` must outlive the layer.
  TargetLayer(const AppModel* model, TargetsConfig config);

  const AppModel& model() const { return *model_; }
  const TargetsConfig& config() const { return config_; }

  // Adds `target`, or replaces the one at the same coordinate. InvalidArgument for a wrong
  // arity, a member id out of range, a value that is not finite or a bad basis;
  // FailedPrecondition when it partly overlaps another target (the message names it). Nothing
  // changes on error.
  absl::Status Set(Target target);
  // False if there is no target at `coord`.
  bool Remove(const Coordinate& coord);
  void Clear();

  // In the order they were first set.
  const std::vector<Target>& targets() const { return targets_; }
  // Index into targets() of the target at exactly `coord`, or -1.
  int Find(const Coordinate& coord) const;
  // For each target, the index of the innermost other target containing it, or -1.
  const std::vector<int>& parents() const { return parents_; }
  // A counter that changes with every change of the layer.
  uint64_t version() const { return version_; }

 private:
  // Sorted leaf ordinals under `coord`, per dimension.
  std::vector<std::vector<uint32_t>> LeafSets(const Coordinate& coord) const;
  void RebuildParents();

  const AppModel* model_;
  TargetsConfig config_;
  std::vector<Target> targets_;
  std::vector<std::vector<std::vector<uint32_t>>> leaf_sets_;  // per target, per dimension
  std::vector<int> parents_;
  uint64_t version_ = 0;
};

// The layer as bytes for the app snapshot (docs/formats/targets.md): members are stored by
// code, so the bytes survive a change of member ids. Decode checks everything: DataLoss for
// damaged or truncated bytes or a bad checksum, FailedPrecondition when the bytes name a
// dimension or member the model does not have (or the layer's targets are not valid for it).
std::string EncodeTargetLayer(const TargetLayer& layer);
absl::StatusOr<TargetLayer> DecodeTargetLayer(const AppModel* model, std::string_view bytes);

}  // namespace quantatom

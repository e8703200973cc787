// Targets on a running app: the target layer of one Cube, its guidance, and the variance
// between plan, actual and target at any coordinate (docs/targets.md has the rules).
//
//   Targets targets(cube, *MakeTargetsConfig(model, "Scenario", "Budget", "Actual"));
//   QA_RETURN_IF_ERROR(targets.Set({*model.ParseCoordinate("Account=Opex,...,Scenario=Budget"), 1.2e6}));
//   auto g = targets.GuidanceAt(leaf);          // this leaf's share of the target
//   auto layers = targets.Layers(coord);        // plan, actual, target and their variances
//   auto top = targets.TopContributors(coord, VarianceKind::kActualVsPlan, -1, 10);
//
// Guidance is computed lazily and kept (guidance.h: packed keys and values per target). It is
// stale, and recomputed on the next read, when the layer changes or when any cell of the cube
// changes (Cube::data_version): the basis may be anywhere below a target, so any change may
// move it. Set and Remove compute the new guidance before they commit, so a target that cannot
// be guided is refused and nothing changes; a later change of the cells can still make
// guidance impossible, and then the reads that need it return that error.
//
// Thread-safe: calls are serialised by an internal mutex; the cells are read under the cube's
// read lock (Cube::WithStore). The Cube must outlive this object.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/cube.h"
#include "targets/guidance.h"
#include "targets/target_layer.h"
#include "targets/variance.h"

namespace quantatom {

// What every coordinate answers. Numbers only: a text cell reads as empty here.
struct LayerValues {
  std::optional<double> plan, actual, target;
  Variance actual_vs_plan, plan_vs_target, actual_vs_target;
  const Variance& Get(VarianceKind kind) const;
};

// A child one level down of a coordinate (in one dimension), ranked by its variance.
struct Contributor {
  int dim = 0;
  MemberId member = kNoMember;
  double edge_weight = 1;        // weight of the child toward the parent member
  LayerValues values;            // at the child coordinate
  Variance variance;             // the chosen variance at the child
  std::optional<double> share;   // edge_weight x child variance / parent variance; empty when the
                                 // parent variance is empty or 0
};

class Targets {
 public:
  Targets(const Cube* cube, TargetsConfig config, GuidanceOptions options = {});

  // Sets or replaces a target. InvalidArgument / FailedPrecondition as TargetLayer::Set, or
  // InvalidArgument for a target on a text cell, or the guidance error (guidance.h) the new
  // layer would have. Nothing changes on error.
  absl::Status Set(const Target& target);
  // NotFound if there is no target at `coord`. Guidance errors as Set (removing an inner target
  // can leave an outer one without a leaf to take its remainder).
  absl::Status Remove(const Coordinate& coord);
  std::vector<Target> List() const;
  const TargetsConfig& config() const { return config_; }

  // The guidance of every target, index-aligned with List(); recomputed if stale.
  absl::StatusOr<std::shared_ptr<const std::vector<TargetGuidance>>> Guidance();
  // One leaf's guidance: nullopt when no target gives it any. InvalidArgument if not a leaf.
  absl::StatusOr<std::optional<double>> GuidanceAt(const Coordinate& leaf);
  // The target at `coord`: the explicit target there, else the weighted sum of the guidance of
  // the leaves below it, else nullopt (empty).
  absl::StatusOr<std::optional<double>> TargetAt(const Coordinate& coord);

  // Plan, actual and target at `coord` with its scenario member replaced by the plan, actual
  // and plan members of the config, and the three variances. FailedPrecondition when the config
  // has no scenario dimension.
  absl::StatusOr<LayerValues> Layers(const Coordinate& coord);
  // The children of `coord` one level down in dimension `dim` (or, with dim = -1, in every
  // dimension but the scenario one where `coord`'s member has children), ranked by the absolute
  // value of their `kind` variance, largest first; children without that variance are left out.
  // At most `top_n`.
  absl::StatusOr<std::vector<Contributor>> TopContributors(const Coordinate& coord, VarianceKind kind, int dim,
                                                           size_t top_n);

  // The layer as bytes (target_layer.h, docs/formats/targets.md), and back: Decode replaces the
  // layer (and the config) if the bytes decode and their guidance can be computed; otherwise
  // the error, and nothing changes.
  std::string Encode() const;
  absl::Status Decode(std::string_view bytes);

 private:
  absl::Status ValidateCoordinate(const Coordinate& coord) const;
  // Computes and installs the guidance of `layer`; on success the layer becomes current.
  absl::Status CommitLocked(TargetLayer layer);
  // Computes the guidance of `layer` and installs it; the old arrays are reused if unshared.
  absl::Status RecomputeLocked(const TargetLayer& layer);
  absl::StatusOr<std::shared_ptr<const std::vector<TargetGuidance>>> GuidanceLocked();
  // Weighted guidance sums below `coord` (`total`), and for each dimension split_dims[i], per
  // member of split_members[i], below `coord` with that member in place. nullopt = no leaf with
  // guidance below. One pass over the guidance, in parallel.
  struct GuidanceSplit {
    std::optional<double> total;
    std::vector<std::vector<std::optional<double>>> by_member;
  };
  GuidanceSplit SumGuidance(const std::vector<TargetGuidance>& guidance, const Coordinate& coord,
                            const std::vector<int>& split_dims,
                            const std::vector<std::vector<MemberId>>& split_members) const;
  std::optional<double> TargetAtLocked(const std::vector<TargetGuidance>& guidance, const Coordinate& coord) const;

  const Cube* cube_;
  const AppModel& model_;
  TargetsConfig config_;
  GuidanceOptions options_;
  mutable std::mutex mu_;  // guards everything below
  TargetLayer layer_;
  // Readers get it as const; when no reader holds it any more, its arrays are recycled.
  std::shared_ptr<std::vector<TargetGuidance>> guidance_;
  uint64_t guidance_layer_version_ = 0, guidance_data_version_ = 0;
};

}  // namespace quantatom

// Bridge: bridging cells of a source app (actuals at fine grain, e.g. 10,000 GL accounts) into
// a target app (the plan chart, e.g. 500 plan accounts) through weighted mapping rules.
//
// One dimension of each app is *bridged*: a source leaf maps to target leaves with weights
// (bridge_map.h resolves the rules, with inheritance from source parents). Every other
// dimension is matched by dimension name and then member code, whatever the dimensions' order
// in either app or the members' ids. A source cell v at (s, x2, ..., xn) contributes v * w to
// the target cell (t, x2', ..., xn') for each mapping (s -> t, w); contributions to the same
// target cell add up. Text cells are not bridged. The rules and guarantees are in
// docs/bridges.md.
//
//   QA_ASSIGN_OR_RETURN(BridgeRules rules, ReadBridgeRules("gl_to_plan.csv"));
//   QA_ASSIGN_OR_RETURN(Bridge bridge, Bridge::FromRules(actuals->model(), plan->model(),
//                                                        "account", "account", rules));
//   QA_ASSIGN_OR_RETURN(KeyValues cells, bridge.Materialize(*actuals));
//   QA_RETURN_IF_ERROR(plan->Load(std::move(cells)));
//   ...
//   std::vector<SourceChange> changes{{key, old_value, new_value}};
//   QA_ASSIGN_OR_RETURN(std::vector<TargetDelta> deltas, bridge.Deltas(changes));
//   QA_RETURN_IF_ERROR(bridge.Apply(plan.get(), deltas, "bridge"));
//
// A Bridge is immutable once created and safe to use from many threads; it keeps no pointer to
// the apps it was created from.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/bridge_map.h"
#include "bridge/bridge_rules.h"
#include "engine/cube.h"
#include "model/app_model.h"
#include "store/cell_store.h"
#include "store/key_layout.h"

namespace quantatom {

// One source cell change. An absent value is an empty cell (or a text cell: text is not
// bridged), so a new cell has no old value and a cleared one no new value.
struct SourceChange {
  uint64_t key;  // in the source app's key layout (Cube::PackLeaf)
  std::optional<double> old_value;
  std::optional<double> new_value;
};

// What to add to one target cell, in the target app's key layout.
struct TargetDelta {
  uint64_t key;
  double delta;
};

struct MaterializeOptions {
  bool parallel = true;
  // Cells of the source per unit of parallel work (whole runs of the store are kept together).
  size_t chunk_cells = size_t{1} << 18;
};

class Bridge {
 public:
  // Binds a resolved bridge to the two apps. Fails, and nothing is created, when:
  //  - FailedPrecondition: the coverage report is not ok (names the first problems);
  //  - NotFound: an app has no dimension of that name, or a leaf code of a matched dimension
  //    has no counterpart in the target (names the first few);
  //  - InvalidArgument: the other dimensions do not match by name one to one, a matched
  //    source leaf is consolidated in the target, the map was resolved for dimensions of
  //    other sizes, or an app does not fit a 64-bit key.
  static absl::StatusOr<Bridge> Create(const AppModel& source, const AppModel& target,
                                       std::string_view source_dimension, std::string_view target_dimension,
                                       ResolvedBridge resolved);
  // ResolveBridge, then Create.
  static absl::StatusOr<Bridge> FromRules(const AppModel& source, const AppModel& target,
                                          std::string_view source_dimension, std::string_view target_dimension,
                                          const BridgeRules& rules);

  const KeyLayout& source_layout() const { return source_layout_; }
  const KeyLayout& target_layout() const { return target_layout_; }
  const BridgeMap& map() const { return map_; }
  const CoverageReport& report() const { return report_; }

  // Every target cell that receives at least one contribution from the numeric cells of
  // `source`, with the sum of its contributions, sorted by key with each key once (ready for
  // Cube::Load of the target app). A sum of exactly zero is +0.0, a cell, not an empty one.
  // InvalidArgument if `source` is not laid out as the source app. Uses all cores unless
  // options.parallel is false.
  absl::StatusOr<KeyValues> Materialize(const CellStore& source, const MaterializeOptions& options = {}) const;
  // The same under the cube's read lock.
  absl::StatusOr<KeyValues> Materialize(const Cube& source, const MaterializeOptions& options = {}) const;

  // The target deltas that keep a materialised target equal to the bridged source after
  // `changes` (applied in order to the source), summed per target key and sorted by key. A
  // change whose old and new values are equal contributes nothing; a cell that appears
  // contributes even if its value is 0 (so the target cell appears too). InvalidArgument for
  // a key outside the source layout or a non-finite value; nothing is returned then. Takes
  // O(changes x fan-out) time: well under a microsecond for one change.
  absl::StatusOr<std::vector<TargetDelta>> Deltas(std::span<const SourceChange> changes) const;

  // The writes that add `deltas` to the current values of `target`: an empty target cell
  // takes the delta, a number takes number + delta, and a zero delta on a number is skipped.
  // FailedPrecondition naming the cell if a target cell holds text; InvalidArgument if `target`
  // is not the target app (dimension names, leaf counts).
  absl::StatusOr<std::vector<CellWrite>> TargetWrites(const Cube& target, std::span<const TargetDelta> deltas) const;
  // TargetWrites, then one Cube::Write (all or nothing). The read and the write are not one
  // atomic step: the caller serialises bridge updates to one target with other writers of the
  // same cells.
  absl::Status Apply(Cube* target, std::span<const TargetDelta> deltas, const std::string& user = "bridge") const;

 private:
  // A mapping with the target ordinal already shifted into its place in the target key.
  struct KeyPart {
    uint64_t part;
    double weight;
  };
  Bridge() = default;
  absl::Status CheckSourceKey(uint64_t key) const;
  absl::Status CheckTargetCube(const Cube& target) const;
  // Sum of the translated parts of every source dimension except the bridged one.
  uint64_t TranslatedBase(uint64_t source_key) const;
  std::span<const KeyPart> Parts(uint32_t source_leaf) const {
    return {parts_.data() + map_begin_[source_leaf], parts_.data() + map_begin_[source_leaf + 1]};
  }
  // The source store's cells outside main (delta map), as sorted, summed contributions.
  KeyValues DeltaStoreContributions(const CellStore& source) const;

  std::string source_app_, target_app_;
  KeyLayout source_layout_, target_layout_;
  int source_bridged_ = -1;  // dimension index in the source app
  int target_bridged_ = -1;  // dimension index in the target app
  BridgeMap map_;
  CoverageReport report_;
  std::vector<uint32_t> map_begin_;  // CSR offsets, as map_'s
  std::vector<KeyPart> parts_;       // map_'s entries, shifted into the target key
  // Per source dimension (empty for the bridged one): source leaf ordinal -> its target leaf
  // ordinal shifted into place in the target key.
  std::vector<std::vector<uint64_t>> translate_;
  // Per target dimension: its name and leaf ordinal -> member, to write target cells.
  std::vector<std::string> target_dimension_names_;
  std::vector<std::vector<MemberId>> target_leaf_members_;
};

}  // namespace quantatom

// Consolidation: totals of leaf cells at any members of every dimension, computed from the
// cell store (semantics: docs/semantics.md).
//
// The caller names, per dimension, the members it wants ("targets"); the result holds the total
// of every combination of them, dense over the cross product, with a count of the non-empty
// numeric leaf cells below each (count 0 = empty, which is not the same as a total of 0).
//
// How (docs/architecture.md, "life of a read"):
//  1. Per dimension, a table maps each leaf to the targets above it, with the summed path
//     weight. When every leaf has at most one target per dimension, one pass over the cells
//     adds each cell to exactly one total ("direct" plan: grid slices, report totals).
//  2. Otherwise (a leaf rolls up into several targets of one dimension, e.g. the whole upper
//     cube), the pass adds each cell to its parents only (the "base" totals), and the base is
//     then rolled up one dimension at a time over dense arrays ("staged" plan). Each cell is
//     touched once either way; it is never fanned out to all of its ancestors.
//  3. The pass only visits the store's runs whose prefix can match: the filters on the leading
//     key dimensions become a few contiguous run ranges found by binary search. Runs are split
//     into chunks summed on all cores (oneTBB) and merged.
#pragma once

#include <functional>

#include <cstdint>
#include <vector>

#include "base/large_allocator.h"
#include "model/app_model.h"
#include "store/cell_store.h"

namespace quantatom {

struct DenseTotals {
  std::vector<std::vector<MemberId>> targets;  // per dimension, app order
  std::vector<size_t> stride;                  // per dimension
  LargeVector<double> sum;
  LargeVector<uint32_t> count;                 // non-empty numeric leaf cells below (may count a
                                               // leaf once per path; only > 0 matters)
  size_t size() const { return sum.size(); }
};

struct ConsolidateOptions {
  bool parallel = true;
  // Largest dense result (or base) accepted; beyond it ResourceExhausted.
  size_t max_dense_cells = size_t{1} << 26;
};

// `targets[d]` must be non-empty and hold distinct members of dimension d.
absl::StatusOr<DenseTotals> Consolidate(const AppModel& model, const CellStore& store,
                                        std::vector<std::vector<MemberId>> targets,
                                        const ConsolidateOptions& options = {});

// The numeric cells under `region` (one member per dimension, any level), with the weight of
// each toward the region: main-store positions and delta keys. Deleted main cells are left out.
struct CellSelection {
  std::vector<uint32_t> main_positions;
  std::vector<double> main_weights;
  std::vector<uint64_t> delta_keys;
  std::vector<double> delta_weights;
  size_t size() const { return main_positions.size() + delta_keys.size(); }
};
CellSelection SelectCellsUnder(const AppModel& model, const CellStore& store, const Coordinate& region);

// Calls fn(ordinals, weight) for every leaf coordinate under `region`, existing or not: the
// cross product of each dimension's leaves under the region's member, as leaf ordinals (one per
// dimension, in app order) with the product of their path weights. A spread that fills empty
// leaves needs them all. Returns false, and calls nothing, when there are more than
// `max_leaves` (the cross product below a grand total can be astronomically large).
bool ForEachLeafUnder(const AppModel& model, const Coordinate& region, size_t max_leaves,
                      const std::function<void(const uint32_t* ordinals, double weight)>& fn);

// The key and old value of a cell a rescale changed. Its default constructor leaves it
// uninitialised so that a recording buffer can be sized without being written twice.
struct KeyBefore {
  uint64_t key;
  double value;
  KeyBefore() {}
  KeyBefore(uint64_t k, double v) : key(k), value(v) {}
};
// Where a rescale records what it changed (in no particular order). `expected` is how many
// cells the caller expects (the exact count from a sums pass), or 0 to have the rescale bound
// it by the sizes of the runs it visits (no cell is read for that): cells are written straight
// into one buffer of that size from every thread, of which only the part written is ever
// faulted in (LazyAllocator); more than expected is still correct, only slower.
using KeyBeforeList = std::vector<KeyBefore, LazyAllocator<KeyBefore>>;
struct ScaleRecord {
  KeyBeforeList before;
  size_t expected = 0;
};

// Multiplies every numeric cell under `region` by `factor` in place; returns how many.
// `record`, when given, receives the key and old value of every cell scaled.
size_t ScaleCellsUnder(const AppModel& model, CellStore& store, const Coordinate& region, double factor,
                       ScaleRecord* record = nullptr);

// The weighted sums of the numeric cells under `region`, split by whether a cell lies under
// any of `holds` (coordinates at any level). For spreading without listing the cells.
struct HeldSums {
  double held = 0, unheld = 0;
  size_t held_cells = 0, unheld_cells = 0;
  HeldSums& operator+=(const HeldSums& o) {
    held += o.held, unheld += o.unheld, held_cells += o.held_cells, unheld_cells += o.unheld_cells;
    return *this;
  }
};
HeldSums SumCellsUnder(const AppModel& model, const CellStore& store, const Coordinate& region,
                       const std::vector<Coordinate>& holds);
// In `holds`, kNoMember stands for any member of its dimension.
// Multiplies the numeric cells under `region` that are under none of `holds` by `factor`, in
// place; returns how many.
size_t ScaleUnheldCellsUnder(const AppModel& model, CellStore& store, const Coordinate& region,
                             const std::vector<Coordinate>& holds, double factor,
                             ScaleRecord* record = nullptr);

}  // namespace quantatom

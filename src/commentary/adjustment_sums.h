// Sums the active adjustments that apply to each cell of a grid. Internal to the module.
#pragma once

#include <span>
#include <vector>

#include "commentary/region_index.h"

namespace quantatom::commentary_internal {

struct AdjustmentSum {
  double sum = 0;
  bool any = false;  // at least one active adjustment lies under-or-equal the cell
};

// One sum per cell, in order. `cells` must be valid coordinates of the index's model.
//
// Rather than asking, for each cell, which adjustments lie below it, this walks each candidate
// adjustment once and sends it up to the cells above it, as consolidation sends a leaf cell to
// its totals: per dimension, the grid's distinct members are the *targets*, an adjustment's
// member reaches the targets among its ancestors-or-self (with their path weights, remembered
// per member), and the tuple of targets reached names the cells. Candidates are the active
// adjustments, narrowed by the postings of dimensions with few targets. An adjustment that
// reaches several targets in several dimensions names a cross product of tuples; it is walked
// depth-first, cutting every prefix that no cell has. The cost is about candidates ×
// dimensions, whatever the number of cells.
std::vector<AdjustmentSum> SumAdjustments(const RegionIndex& index, std::span<const Coordinate> cells);

}  // namespace quantatom::commentary_internal

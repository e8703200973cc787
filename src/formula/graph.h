// The dependency graph of an app's leaf-level formulas (all on members of one dimension).
//
// A formula reads members; a formula member read (directly, or below a consolidated member
// read) is an edge into the reader, labelled with the direction along time the read goes
// (bound.h, Dependency). The graph is refused when
//   - a cycle has no backward (prev / lag) step: "A -> B -> A", or
//   - a cycle through backward steps also has a forward one (next / lead / last), because it
//     would have no first period to start from.
// What remains is evaluated component by component in topological order; inside a component
// with backward steps (a recurrence such as Opening = prev(Closing)), period by period, so a
// recurrence runs as long as the time dimension with no cap.
#pragma once

#include <string>
#include <vector>

#include "formula/bound.h"

namespace quantatom::formula {

struct FormulaGraph {
  // Per formula (index into the list given to Build): its component, in topological order of
  // the components, and its rank in a topological order of the same-period edges. Cells are
  // (re)computed in order of (component, period, rank).
  std::vector<int> component;
  std::vector<int> rank;
  // readers[i]: the formulas that read formula i's member (directly or through a total).
  std::vector<std::vector<int>> readers;

  // InvalidArgument printing the cycle with member codes.
  static absl::StatusOr<FormulaGraph> Build(const Dimension& dim, const std::vector<const BoundFormula*>& formulas);
};

}  // namespace quantatom::formula

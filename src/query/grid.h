// Grid queries: the 2-D view a planner opens. A row axis and a column axis each hold one or
// more dimensions and a list of member tuples (any level: children of X, leaves under X, an
// explicit list...); every other dimension is fixed by a slicer, or defaults to its only root.
//
//   GridQuery q;
//   q.rows = CrossJoin({acc}, {*ParseMemberSet(model.dimensions[acc], "children(NetIncome)")});
//   q.cols = CrossJoin({month}, {*ParseMemberSet(model.dimensions[month], "leaves(FY1)")});
//   q.slicers = {{scenario, budget}};
//   Grid g = *EvaluateGrid(model, store, q);   // g.at(r, c): number, text, or empty
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "model/app_model.h"
#include "model/cell_value.h"
#include "query/consolidate.h"
#include "store/cell_store.h"

namespace quantatom {

struct Axis {
  std::vector<int> dims;                      // dimensions on the axis, outermost first
  std::vector<std::vector<MemberId>> tuples;  // one member per axis dimension
};

// Every combination of the lists, the first dimension varying slowest.
Axis CrossJoin(std::vector<int> dims, const std::vector<std::vector<MemberId>>& lists);

struct GridQuery {
  Axis rows;
  Axis cols;
  std::vector<std::pair<int, MemberId>> slicers;
};

// The 1 x 1 grid of one cell at any level: its first dimension on rows, the others as slicers.
GridQuery OneCellQuery(const Coordinate& coord);

struct Grid {
  size_t rows = 0, cols = 0;
  std::vector<CellValue> cells;  // row-major
  std::vector<uint32_t> counts;  // non-empty numeric leaves below each cell (0 = empty)
  const CellValue& at(size_t r, size_t c) const { return cells[r * cols + c]; }
};

// A query checked against the model, with every dimension placed: the coordinate of each grid
// cell and the distinct members wanted per dimension.
struct ResolvedGrid {
  std::vector<MemberId> fixed;  // per dimension: the slicer member, or kNoMember if on an axis
  size_t rows = 0, cols = 0;
  // The coordinate of cell (r, c).
  Coordinate CellCoordinate(const GridQuery& q, size_t r, size_t c) const;
};

// InvalidArgument if a dimension is placed twice, a tuple has the wrong length, or a dimension
// that is not placed has several roots (the message lists them).
absl::StatusOr<ResolvedGrid> ResolveGrid(const AppModel& model, const GridQuery& query);

// Computes the grid from the cells (no cache; see engine/cube.h for the cached path).
absl::StatusOr<Grid> EvaluateGrid(const AppModel& model, const CellStore& store, const GridQuery& query,
                                  const ConsolidateOptions& options = {});

// Text forms used by the command line:
//   axis:    "Account: children(NetIncome); Month: leaves(FY1)"  (dimensions cross-joined)
//   slicers: "Scenario=Budget, CostCenter=EMEA"
absl::StatusOr<Axis> ParseAxis(const AppModel& model, std::string_view text);
absl::StatusOr<std::vector<std::pair<int, MemberId>>> ParseSlicers(const AppModel& model, std::string_view text);

}  // namespace quantatom

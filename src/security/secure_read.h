// Reading through a user's rights: grids and single cells as the totals policy lets the user
// see them (rights.h). A hidden cell carries no value and no hint of one (not even whether it
// is empty); under kVisibleOnly a total the user cannot read in full is the sum over the leaf
// cells they can read, computed from the cells below it (slower than a cached total).
#pragma once

#include "engine/cube.h"
#include "security/rights.h"

namespace quantatom {

struct SecureGrid {
  Grid grid;                  // hidden cells are empty here
  std::vector<uint8_t> hidden;  // per cell, row-major: 1 if the user may not see it
};

// The grid `q` of `cube` as `rights` see it under `policy`.
absl::StatusOr<SecureGrid> QueryAs(const Cube& cube, const GridQuery& q, const CellRights& rights,
                                   TotalsPolicy policy, const Cube::ReadOptions& options = {});

// One cell; nullopt when it is hidden.
absl::StatusOr<std::optional<CellValue>> ReadCellAs(const Cube& cube, const Coordinate& coord,
                                                    const CellRights& rights, TotalsPolicy policy,
                                                    const Cube::ReadOptions& options = {});

// The sum of the numeric leaf cells under `coord` that `rights` can read, weighted, and how
// many there are (0: empty).
std::pair<double, size_t> VisibleTotal(const Cube& cube, const Coordinate& coord, const CellRights& rights);

}  // namespace quantatom

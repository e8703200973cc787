// Printing a grid for people (aligned table) and for programs (CSV, JSON).
#pragma once

#include <string>

#include "model/app_model.h"
#include "query/grid.h"

namespace quantatom {

enum class GridFormat { kTable, kCsv, kJson };
absl::StatusOr<GridFormat> ParseGridFormat(std::string_view name);

// Row headers are the member codes of each row tuple; column headers join the codes of a
// column tuple with '/'. Empty cells print as nothing (table, CSV) or null (JSON).
std::string FormatGrid(const AppModel& model, const GridQuery& query, const Grid& grid, GridFormat format);

}  // namespace quantatom

// A small, deterministic corporate P&L written in the data-set format (dataset_import.h), for
// the demo and for tests that need a model shaped unlike the benchmark's:
//
//   Account     NetIncome = Revenue - COGS - Opex, 240 GL leaves; an alternate rollup
//               "PeopleCost" holds the salary accounts (several parents)
//   CostCenter  Group -> 3 regions -> 12 departments -> 36 teams
//   Month       FY1, FY2 -> quarters -> 24 months (two tops, no root)
//   Scenario    Actual, Budget, Forecast; "BudgetVsActual" = Budget - Actual
//   Product     AllProducts -> 3 lines -> 30 products
//
// Values are integers, so every total is exact.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace quantatom {

// Writes manifest.json, elements_*.csv, hier_*.csv and cells.csv into `dir` (created if
// needed), about `cells` leaf cells.
absl::Status WriteSampleDataset(const std::string& dir, uint64_t cells, uint64_t seed = 42);

}  // namespace quantatom

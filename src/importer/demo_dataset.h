// The demo model: a corporate P&L planning setup of two apps, written as data-set folders
// (docs/formats/dataset-csv.md) plus the planning inputs that connect them. docs/demo.md tells
// the story; the README.md written into the folder specifies the extra files.
//
//   DIR/gl_actuals/   app of GL actuals, dimensions gl_account, cost_center, month, scenario
//       gl_account    10,167 GL leaf accounts (natural account x market, "6010-1030"), under
//                     486 natural accounts ("6010"), under the P&L sections below
//       cost_center   60 cost centers under 15 region departments under EMEA, AMERICAS, APAC
//                     under TOTAL_CC
//       month         FY2025-M01 .. FY2026-M12 under quarters under FY2025, FY2026 (no root)
//       scenario      Actual only
//       cells         223,933 actuals for FY2025-M01 .. FY2026-M06, in cents, sparse, seasonal
//   DIR/plan/         the plan app: account (486 plan accounts, one per natural account, under
//                     the same sections), the same cost_center and month, and scenario Actual
//                     (empty, read-only: filled by bridging), Budget (24 months, 131,602
//                     cells), Forecast (FY2026-M07 .. M12, 32,901 cells)
//   DIR/bridge_rules.csv   source,target,weight    GL member -> plan account
//   DIR/targets.csv        coordinate,value,method top-down targets on plan totals
//   DIR/comments.csv       coordinate,author,time,text,adjust,parent
//   DIR/README.md
//
// P&L sections (both charts; values are stored positive, the -1 edges subtract):
//   NET_INCOME = PBT - INCOME_TAX;  PBT = EBIT + OTHER_INCOME - OTHER_EXPENSE
//   EBIT = GROSS_MARGIN - OPEX_TOTAL;  GROSS_MARGIN = REVENUE - COGS
//   REVENUE = GROSS_SALES - SALES_DEDUCTIONS
//   OPEX_TOTAL = OPEX_PEOPLE + OPEX_TRAVEL + OPEX_IT + OPEX_FACILITIES + OPEX_MARKETING
//                + OPEX_PROFESSIONAL + OPEX_GA
//
// The output is a pure function of nothing: a fixed seed and integer arithmetic make it the same
// bytes on every run and machine: 8.3 MB, written in about a second (mostly fsync).
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"

namespace quantatom {

// What WriteDemoDataset wrote. The numbers are fixed; demo_dataset_test.cc pins them.
struct DemoSummary {
  size_t gl_leaf_accounts = 0;    // leaves of gl_account
  size_t gl_parent_accounts = 0;  // natural accounts, = plan accounts
  size_t cost_centers = 0;        // leaves of cost_center
  size_t actual_cells = 0;        // gl_actuals/cells.csv
  size_t budget_cells = 0;        // plan/cells.csv, scenario Budget
  size_t forecast_cells = 0;      // plan/cells.csv, scenario Forecast
  size_t bridge_rules = 0;        // lines of bridge_rules.csv (without the header)
  size_t leaf_overrides = 0;      // rules whose source is a GL leaf
  size_t split_sources = 0;       // GL members with more than one rule
  size_t targets = 0;
  size_t comments = 0;
  size_t bytes = 0;  // all files together
};

// Writes the demo into `dir` (created if needed; files of the same names are replaced, others
// are left alone). Internal on an I/O error, with the path.
absl::StatusOr<DemoSummary> WriteDemoDataset(const std::string& dir);

}  // namespace quantatom

// Internal to demo_dataset.cc and its helpers, not API: the demo company's charts (P&L
// sections, GL natural accounts and sub-accounts, markets, cost centers) as plain tables, and
// the stateless hash that every "random" choice of the demo is drawn from.
//
// Everything here is integer arithmetic on fixed constants, so the demo is the same bytes on
// every machine and compiler (no <random> distributions, no floating point in the values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace quantatom::demo {

inline constexpr int kMonths = 24;        // FY2025-M01 .. FY2026-M12
inline constexpr int kActualMonths = 18;  // actuals are closed up to FY2026-M06
inline constexpr int kFirstYear = 2025;

enum Dept : int { kSales, kMarketing, kRnd, kOps, kGna, kDeptCount };

// A P&L section: a consolidated account, the same code in the GL and the plan chart. Sections
// with `fy2025_total > 0` hold accounts; the others only add up sections.
struct Section {
  std::string code, name;
  int parent = -1;  // index into Chart::sections; -1 for NET_INCOME
  int weight = 1;   // toward the parent: -1 where the parent subtracts (GROSS_MARGIN - OPEX)
  int64_t fy2025_total = 0;     // currency units booked in FY2025, all accounts
  int growth_permille = 0;      // year-on-year trend
  int budget_bias_permille = 0;  // how far the budget sits from the trend (optimism, savings)
  const int* season = nullptr;  // 12 monthly factors in per-mille, summing to 12000
  bool books_quarterly = false;  // some of its series post only at quarter ends (accruals)
};

// A GL natural account ("6010 Salaries – Engineering"). Each has exactly one plan account.
struct GlParent {
  std::string code, name;
  int section;
  std::vector<Dept> depts;  // the departments whose cost centers book to it
  std::vector<int> leaves;  // indices into Chart::gl_leaves, in code order
};

// A GL posting account: natural account x market ("6010-1030 Salaries – Engineering – Germany").
struct GlLeaf {
  std::string code, name;
  int parent;
  int market;
};

struct Market {
  std::string company_code, name;
  int region;
  int hub_site;  // whose cost centers book the market's postings
};

struct Site {
  std::string code, name;
  int region;
};

struct CostCenter {
  std::string code, name;  // "EMEA-SALES-LON", "Sales – London"
  int region, dept, site;
};

struct Chart {
  std::vector<Section> sections;  // parents before children
  std::vector<GlParent> gl_parents;
  std::vector<GlLeaf> gl_leaves;
  std::vector<std::string> region_codes, region_names;
  std::vector<std::string> dept_codes, dept_names;
  std::vector<Site> sites;
  std::vector<Market> markets;
  std::vector<CostCenter> cost_centers;  // region, then department, then site

  int FindSection(const std::string& code) const;
  // The GL parent named `name` exactly; -1 if none.
  int FindGlParent(const std::string& name) const;
  // The cost center of `dept` at `site`, or, when the site has no such department, at the next
  // site of the region that has one.
  int CostCenterFor(int site, Dept dept) const;
  // Weight of section `leaf_section` toward `ancestor` (product of the edge weights; 0 if it is
  // not below it).
  int SectionWeight(int leaf_section, int ancestor) const;
};

const Chart& DemoChart();

// splitmix64 finaliser over the arguments: a stateless, platform-independent draw.
uint64_t Hash(uint64_t a, uint64_t b = 0, uint64_t c = 0);

// Month codes: "FY2025" (year), "FY2025-Q1", "FY2025-M01"; `month` counts from 0.
std::string YearCode(int year_index);
std::string QuarterCode(int year_index, int quarter);
std::string MonthCode(int month);

}  // namespace quantatom::demo

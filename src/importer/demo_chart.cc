#include "importer/demo_chart.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/strings.h"

namespace quantatom::demo {

namespace {

// Monthly profiles, per-mille of an average month; each sums to 12000 so that a section's
// FY2025 total is what its table says.
constexpr int kSeasonFlat[12] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
// Quarter-end pushes and a strong December.
constexpr int kSeasonRevenue[12] = {820, 880, 1150, 900, 950, 1120, 880, 780, 1130, 980, 1050, 1360};
// Bonus paid in March; the rest is the payroll run.
constexpr int kSeasonPeople[12] = {980, 980, 1080, 1000, 1000, 1000, 990, 990, 1000, 1000, 1000, 980};
// Summer and Christmas lulls.
constexpr int kSeasonTravel[12] = {900, 1050, 1150, 1100, 1050, 1000, 800, 550, 1150, 1200, 1150, 900};
// Spring and autumn trade-show seasons.
constexpr int kSeasonMarketing[12] = {800, 900, 1400, 1000, 950, 1100, 800, 700, 1050, 1400, 1100, 800};
// Heating in winter.
constexpr int kSeasonFacilities[12] = {1100, 1080, 1020, 980, 950, 930, 920, 930, 960, 1000, 1040, 1090};

// A section that holds GL natural accounts: they are stems x variants, numbered from `first`.
struct AccountBlock {
  const char* section;
  int first, width;  // code range [first, first + width)
  std::vector<const char*> stems;
  // A variant's department, or -1 for the section's `depts`.
  std::vector<std::pair<const char*, int>> variants;
  std::vector<Dept> depts;
};

const char* kProductLines[] = {"Widgets", "Gadgets", "Sensors", "Controllers", "Drives", "Valves", "Software", "Cloud"};

std::vector<std::pair<const char*, int>> ProductVariants() {
  std::vector<std::pair<const char*, int>> v;
  for (const char* p : kProductLines) v.push_back({p, -1});
  return v;
}

std::vector<AccountBlock> AccountBlocks() {
  const std::vector<std::pair<const char*, int>> kScope = {{"Group", -1}, {"Local", -1}};
  return {
      {"GROSS_SALES", 4000, 800,
       {"Product sales direct", "Product sales distributors", "Product sales online", "OEM sales",
        "Subscription revenue", "Maintenance revenue", "Installation services", "Consulting services",
        "Training revenue"},
       ProductVariants(), {kSales}},
      {"SALES_DEDUCTIONS", 4800, 200,
       {"Volume rebates", "Prompt-payment discounts", "Returns and allowances", "Price protection"},
       ProductVariants(), {kSales}},
      {"COGS", 5000, 1000,
       {"Materials", "Direct labour", "Manufacturing overhead", "Freight in", "Freight out", "Warranty costs",
        "Inventory write-downs", "Hosting costs", "Royalties", "Subcontracted services"},
       ProductVariants(), {kOps}},
      {"OPEX_PEOPLE", 6000, 1000,
       {"Salaries", "Overtime", "Bonus", "Sales commission", "Payroll taxes", "Pension contributions",
        "Health insurance", "Life insurance", "Share-based compensation", "Severance", "Contractors",
        "Temporary staff", "Training and development", "Relocation", "Car allowance", "Holiday accrual"},
       {{"Engineering", kRnd}, {"Sales", kSales}, {"Marketing", kMarketing}, {"Operations", kOps},
        {"G&A", kGna}},
       {}},
      {"OPEX_TRAVEL", 7000, 200,
       {"Airfare", "Hotels", "Meals", "Ground transport", "Mileage", "Per diem", "Visa fees", "Travel agency fees"},
       {{"Customer visits", kSales}, {"Internal meetings", -1}, {"Conferences", kMarketing}, {"Training", -1}},
       {kSales, kMarketing, kRnd, kOps, kGna}},
      {"OPEX_IT", 7200, 200,
       {"Software subscriptions", "Cloud infrastructure", "Hardware purchases", "Hardware leases", "Mobile telecom",
        "Data lines", "IT support contracts", "IT consultants", "Desktop licences", "Engineering tool licences",
        "Security services", "Depreciation IT equipment"},
       {{"Corporate", kGna}, {"Engineering", kRnd}, {"Field", kSales}}, {}},
      {"OPEX_FACILITIES", 7400, 200,
       {"Rent", "Service charges", "Electricity", "Water and gas", "Cleaning", "Security", "Repairs and maintenance",
        "Property insurance", "Property taxes", "Office supplies", "Depreciation buildings",
        "Depreciation furniture"},
       {{"Offices", kGna}, {"Warehouses", kOps}, {"Labs", kRnd}}, {}},
      {"OPEX_MARKETING", 7600, 200,
       {"Digital advertising", "Print advertising", "Trade shows", "Events", "Sponsorships", "PR agency",
        "Content production", "Market research", "Promotional items", "Partner marketing funds", "Website",
        "Branding"},
       {{"Brand", -1}, {"Demand generation", -1}, {"Product marketing", -1}}, {kMarketing}},
      {"OPEX_PROFESSIONAL", 7800, 100,
       {"Audit fees", "Tax advisory", "Legal fees corporate", "Legal fees litigation", "Legal fees IP",
        "Strategy consulting", "Operations consulting", "Recruitment agencies", "Outsourced payroll",
        "Outsourced accounting"},
       kScope, {kGna}},
      {"OPEX_GA", 7900, 100,
       {"Bank charges", "Liability insurance", "D&O insurance", "Memberships", "Publications", "Postage and courier",
        "Printing", "Entertainment", "Donations", "Fines and penalties", "Bad debt expense", "Sundry expenses"},
       kScope, {kGna}},
      {"OTHER_INCOME", 8000, 400,
       {"Interest income", "FX gains realised", "FX gains unrealised", "Gain on disposal of assets",
        "Dividend income", "Grant income", "Rental income", "Other operating income"},
       kScope, {kGna}},
      {"OTHER_EXPENSE", 8400, 400,
       {"Interest expense bank loans", "Interest expense leases", "FX losses realised", "FX losses unrealised",
        "Loss on disposal of assets", "Restructuring costs", "Impairment", "Amortisation of intangibles"},
       kScope, {kGna}},
      {"INCOME_TAX", 9000, 1000, {"Current income tax", "Deferred income tax", "Withholding tax"}, kScope, {kGna}},
  };
}

void AddSections(Chart& c) {
  struct Row {
    const char* code;
    const char* name;
    const char* parent;
    int weight;
    int64_t total;
    int growth, bias;
    const int* season;
    bool quarterly;
  };
  // FY2025 is a company of about 1 billion in gross sales with a 9% net margin.
  const Row rows[] = {
      {"NET_INCOME", "Net income", nullptr, 1, 0, 0, 0, nullptr, false},
      {"PBT", "Profit before tax", "NET_INCOME", 1, 0, 0, 0, nullptr, false},
      {"INCOME_TAX", "Income tax", "NET_INCOME", -1, 36'000'000, 60, 0, kSeasonFlat, true},
      {"EBIT", "Operating income", "PBT", 1, 0, 0, 0, nullptr, false},
      {"OTHER_INCOME", "Other income", "PBT", 1, 7'000'000, 0, 0, kSeasonFlat, true},
      {"OTHER_EXPENSE", "Other expense", "PBT", -1, 13'000'000, 0, 0, kSeasonFlat, true},
      {"GROSS_MARGIN", "Gross margin", "EBIT", 1, 0, 0, 0, nullptr, false},
      {"OPEX_TOTAL", "Operating expenses", "EBIT", -1, 0, 0, 0, nullptr, false},
      {"REVENUE", "Net revenue", "GROSS_MARGIN", 1, 0, 0, 0, nullptr, false},
      {"COGS", "Cost of goods sold", "GROSS_MARGIN", -1, 415'000'000, 70, -15, kSeasonRevenue, false},
      {"GROSS_SALES", "Gross sales", "REVENUE", 1, 1'000'000'000, 90, 20, kSeasonRevenue, false},
      {"SALES_DEDUCTIONS", "Sales deductions", "REVENUE", -1, 42'000'000, 100, -10, kSeasonRevenue, false},
      {"OPEX_PEOPLE", "People costs", "OPEX_TOTAL", 1, 232'000'000, 60, -10, kSeasonPeople, false},
      {"OPEX_TRAVEL", "Travel and expenses", "OPEX_TOTAL", 1, 19'000'000, 40, -40, kSeasonTravel, false},
      {"OPEX_IT", "IT and software", "OPEX_TOTAL", 1, 44'000'000, 80, -20, kSeasonFlat, false},
      {"OPEX_FACILITIES", "Facilities", "OPEX_TOTAL", 1, 38'000'000, 30, -10, kSeasonFacilities, false},
      {"OPEX_MARKETING", "Marketing", "OPEX_TOTAL", 1, 52'000'000, 50, -30, kSeasonMarketing, false},
      {"OPEX_PROFESSIONAL", "Professional services", "OPEX_TOTAL", 1, 14'000'000, 20, -50, kSeasonFlat, true},
      {"OPEX_GA", "General and administrative", "OPEX_TOTAL", 1, 9'000'000, 20, -20, kSeasonFlat, true},
  };
  for (const Row& r : rows) {
    Section s;
    s.code = r.code;
    s.name = r.name;
    s.parent = r.parent ? c.FindSection(r.parent) : -1;
    s.weight = r.weight;
    s.fy2025_total = r.total;
    s.growth_permille = r.growth;
    s.budget_bias_permille = r.bias;
    s.season = r.season;
    s.books_quarterly = r.quarterly;
    c.sections.push_back(std::move(s));
  }
}

void AddOrganisation(Chart& c) {
  c.region_codes = {"EMEA", "AMERICAS", "APAC"};
  c.region_names = {"Europe, Middle East and Africa", "Americas", "Asia-Pacific"};
  c.dept_codes = {"SALES", "MKTG", "RND", "OPS", "GNA"};
  c.dept_names = {"Sales", "Marketing", "Research and development", "Operations", "General and administrative"};
  c.sites = {{"LON", "London", 0},    {"DUB", "Dublin", 0},        {"BER", "Berlin", 0},    {"PAR", "Paris", 0},
             {"AMS", "Amsterdam", 0}, {"NYC", "New York", 1},      {"SFO", "San Francisco", 1},
             {"AUS", "Austin", 1},    {"TOR", "Toronto", 1},       {"SAO", "Sao Paulo", 1}, {"SIN", "Singapore", 2},
             {"SYD", "Sydney", 2},    {"TKY", "Tokyo", 2},         {"BLR", "Bangalore", 2}, {"SHA", "Shanghai", 2}};
  auto site = [&](const char* code) {
    for (size_t i = 0; i < c.sites.size(); ++i)
      if (c.sites[i].code == code) return static_cast<int>(i);
    return -1;
  };
  struct M {
    const char *code, *name, *hub;
  };
  const M markets[] = {
      {"1010", "United Kingdom", "LON"}, {"1020", "Ireland", "DUB"},      {"1030", "Germany", "BER"},
      {"1040", "Austria", "BER"},        {"1050", "Switzerland", "BER"},  {"1060", "France", "PAR"},
      {"1070", "Belgium", "AMS"},        {"1080", "Netherlands", "AMS"},  {"1090", "Spain", "PAR"},
      {"1100", "Italy", "PAR"},          {"1110", "Sweden", "AMS"},       {"1120", "Denmark", "AMS"},
      {"1130", "Poland", "BER"},         {"1140", "UAE", "LON"},          {"1150", "South Africa", "LON"},
      {"2010", "US East", "NYC"},        {"2020", "US West", "SFO"},      {"2030", "US Central", "AUS"},
      {"2040", "Canada", "TOR"},         {"2050", "Mexico", "AUS"},       {"2060", "Brazil", "SAO"},
      {"2070", "Argentina", "SAO"},      {"2080", "Chile", "SAO"},        {"2090", "Colombia", "SAO"},
      {"3010", "Singapore", "SIN"},      {"3020", "Malaysia", "SIN"},     {"3030", "Indonesia", "SIN"},
      {"3040", "Australia", "SYD"},      {"3050", "New Zealand", "SYD"},  {"3060", "Japan", "TKY"},
      {"3070", "South Korea", "TKY"},    {"3080", "India", "BLR"},        {"3090", "China", "SHA"},
      {"3100", "Hong Kong", "SHA"},
  };
  for (const M& m : markets) {
    int hub = site(m.hub);
    c.markets.push_back({m.code, m.name, c.sites[hub].region, hub});
  }
  // Each department has an office at four of its region's five sites: 3 x 5 x 4 = 60.
  for (int region = 0; region < 3; ++region)
    for (int dept = 0; dept < kDeptCount; ++dept) {
      int skip = (dept + 2 * region) % 5;
      for (int k = 0; k < 5; ++k) {
        if (k == skip) continue;
        int s = region * 5 + k;
        c.cost_centers.push_back({StrCat(c.region_codes[region], "-", c.dept_codes[dept], "-", c.sites[s].code),
                                  StrCat(c.dept_names[dept], " – ", c.sites[s].name), region, dept, s});
      }
    }
}

void AddAccounts(Chart& c) {
  for (const AccountBlock& block : AccountBlocks()) {
    int section = c.FindSection(block.section);
    int count = static_cast<int>(block.stems.size() * block.variants.size());
    int step = 1;
    for (int candidate : {10, 5, 4, 2})
      if (count * candidate < block.width) {
        step = candidate;
        break;
      }
    int n = 0;
    for (const char* stem : block.stems)
      for (const auto& [variant, dept] : block.variants) {
        GlParent p;
        p.code = StrCat(block.first + step * ++n);
        p.name = StrCat(stem, " – ", variant);
        p.section = section;
        p.depts = dept >= 0 ? std::vector<Dept>{static_cast<Dept>(dept)} : block.depts;
        int parent = static_cast<int>(c.gl_parents.size());
        // Each natural account is opened in 14 to 28 of the 34 markets: the first k of a
        // per-account shuffle, listed in company-code order.
        std::vector<int> order(c.markets.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
        for (size_t i = order.size() - 1; i > 0; --i)
          std::swap(order[i], order[Hash(parent, i, 1) % (i + 1)]);
        size_t k = 14 + Hash(parent, 2) % 15;
        order.resize(k);
        std::sort(order.begin(), order.end());
        for (int market : order) {
          p.leaves.push_back(static_cast<int>(c.gl_leaves.size()));
          c.gl_leaves.push_back({StrCat(p.code, "-", c.markets[market].company_code),
                                 StrCat(p.name, " – ", c.markets[market].name), parent, market});
        }
        c.gl_parents.push_back(std::move(p));
      }
  }
}

}  // namespace

int Chart::FindSection(const std::string& code) const {
  for (size_t i = 0; i < sections.size(); ++i)
    if (sections[i].code == code) return static_cast<int>(i);
  return -1;
}

int Chart::FindGlParent(const std::string& name) const {
  for (size_t i = 0; i < gl_parents.size(); ++i)
    if (gl_parents[i].name == name) return static_cast<int>(i);
  return -1;
}

int Chart::CostCenterFor(int site, Dept dept) const {
  int region = sites[site].region;
  for (int k = 0; k < 5; ++k) {
    int s = region * 5 + (site - region * 5 + k) % 5;
    for (size_t i = 0; i < cost_centers.size(); ++i)
      if (cost_centers[i].site == s && cost_centers[i].dept == dept) return static_cast<int>(i);
  }
  return -1;  // unreachable: every department has offices in every region
}

int Chart::SectionWeight(int leaf_section, int ancestor) const {
  int weight = 1;
  for (int s = leaf_section; s >= 0; s = sections[s].parent) {
    if (s == ancestor) return weight;
    weight *= sections[s].weight;
  }
  return 0;
}

const Chart& DemoChart() {
  static const Chart* chart = [] {
    auto* c = new Chart;
    AddSections(*c);
    AddOrganisation(*c);
    AddAccounts(*c);
    return c;
  }();
  return *chart;
}

uint64_t Hash(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b * 0xc2b2ae3d27d4eb4fULL + c * 0x165667b19e3779f9ULL + 0x2545f4914f6cdd1dULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string YearCode(int year_index) { return StrCat("FY", kFirstYear + year_index); }
std::string QuarterCode(int year_index, int quarter) { return StrCat(YearCode(year_index), "-Q", quarter + 1); }
std::string MonthCode(int month) { return fmt::format("FY{}-M{:02d}", kFirstYear + month / 12, month % 12 + 1); }

}  // namespace quantatom::demo

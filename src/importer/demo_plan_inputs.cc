#include "importer/demo_plan_inputs.h"

#include <cstdlib>

#include "base/strings.h"

namespace quantatom::demo {

namespace {

int Parent(const Chart& c, const char* name) {
  int p = c.FindGlParent(name);
  if (p < 0) std::abort();  // a typo in the tables below; the tests would catch it first
  return p;
}

// The leaf of natural account `parent` in market `company_code`, or its first leaf when the
// account is not opened in that market.
int LeafOf(const Chart& c, int parent, std::string_view company_code) {
  for (int leaf : c.gl_parents[parent].leaves)
    if (c.markets[c.gl_leaves[leaf].market].company_code == company_code) return leaf;
  return c.gl_parents[parent].leaves.front();
}

// "1", "0.6", "0.25": weights are per-mille, printed exactly.
std::string FormatPermille(int permille) {
  if (permille % 1000 == 0) return StrCat(permille / 1000);
  std::string digits = fmt::format("{:03d}", permille % 1000);
  while (digits.back() == '0') digits.pop_back();
  return StrCat(permille / 1000, ".", digits);
}

std::string MemberCode(const Chart& c, const BridgeRule& r) {
  return r.gl_leaf >= 0 ? c.gl_leaves[r.gl_leaf].code : c.gl_parents[r.gl_parent].code;
}

}  // namespace

std::string PlanAccountCode(const Chart& chart, int gl_parent) { return StrCat("P", chart.gl_parents[gl_parent].code); }

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::vector<BridgeRule> DemoBridgeRules(const Chart& c) {
  // Shared costs that the plan carries on more than one line, by a fixed allocation key.
  struct Split {
    const char* source;
    std::vector<std::pair<const char*, int>> targets;
  };
  const Split splits[] = {
      {"Depreciation IT equipment – Corporate",
       {{"Depreciation IT equipment – Corporate", 600}, {"Depreciation IT equipment – Engineering", 400}}},
      {"Software subscriptions – Corporate",
       {{"Software subscriptions – Corporate", 500},
        {"Software subscriptions – Engineering", 300},
        {"Software subscriptions – Field", 200}}},
  };
  // Single postings accounts that the plan classifies differently from the GL.
  struct Override {
    const char* source;
    const char* market;
    const char* target;
  };
  const Override overrides[] = {
      {"Contractors – Engineering", "3080", "IT consultants – Engineering"},  // offshore dev centre
      {"Hotels – Conferences", "2010", "Trade shows – Brand"},                // booth staff at trade shows
      {"Relocation – Engineering", "2020", "Recruitment agencies – Group"},   // sign-on relocations
      {"Freight out – Widgets", "1030", "Freight out – Gadgets"},             // legacy mis-coded sub-ledger
      {"Bank charges – Local", "2060", "Interest expense bank loans – Local"},  // loan fees
      {"Website – Demand generation", "3060", "Digital advertising – Demand generation"},
      // An override beneath a split source: the leaf leaves the split.
      {"Software subscriptions – Corporate", "1020", "Software subscriptions – Engineering"},
  };

  std::vector<BridgeRule> rules;
  for (size_t p = 0; p < c.gl_parents.size(); ++p) {
    int parent = static_cast<int>(p);
    bool split = false;
    for (const Split& s : splits)
      if (Parent(c, s.source) == parent) {
        split = true;
        for (const auto& [target, permille] : s.targets) rules.push_back({parent, -1, Parent(c, target), permille});
      }
    if (!split) rules.push_back({parent, -1, parent, 1000});
    for (const Override& o : overrides)
      if (Parent(c, o.source) == parent)
        rules.push_back({-1, LeafOf(c, parent, o.market), Parent(c, o.target), 1000});
  }
  return rules;
}

std::vector<std::vector<BridgeRule>> RulesPerLeaf(const Chart& c, const std::vector<BridgeRule>& rules) {
  std::vector<std::vector<BridgeRule>> by_leaf(c.gl_leaves.size()), by_parent(c.gl_parents.size());
  for (const BridgeRule& r : rules) (r.gl_leaf >= 0 ? by_leaf[r.gl_leaf] : by_parent[r.gl_parent]).push_back(r);
  for (size_t leaf = 0; leaf < by_leaf.size(); ++leaf)
    if (by_leaf[leaf].empty()) by_leaf[leaf] = by_parent[c.gl_leaves[leaf].parent];
  return by_leaf;
}

std::string BridgeRulesCsv(const Chart& c, const std::vector<BridgeRule>& rules, size_t* count) {
  std::string out = "source,target,weight\n";
  for (const BridgeRule& r : rules)
    StrAppend(&out, MemberCode(c, r), ",", PlanAccountCode(c, r.plan_account), ",", FormatPermille(r.weight_permille), "\n");
  *count = rules.size();
  return out;
}

std::string TargetsCsv(const Chart& c, const std::vector<PlanCell>& cells, size_t* count) {
  // Top-down asks on FY2026 Budget totals, as a change to what the bottom-up budget adds up to.
  struct Target {
    const char* section;
    int region, dept;  // the cost-center member: -1, -1 for TOTAL_CC
    int first_month, end_month;
    int change_permille;
  };
  const Target targets[] = {
      {"OPEX_TOTAL", 0, -1, 12, 24, -30},           // EMEA opex 3% down
      {"OPEX_TRAVEL", 1, -1, 12, 24, -150},         // Americas travel 15% down (targets nest or are disjoint)
      {"REVENUE", 2, -1, 12, 24, 50},               // APAC revenue stretch +5%
      {"OPEX_MARKETING", 1, -1, 12, 15, -100},      // Americas marketing Q1 -10%
      {"COGS", -1, -1, 12, 24, -20},                // procurement savings 2%
      {"OPEX_PEOPLE", 1, kRnd, 12, 24, 40},         // Americas R&D hiring plan +4%
  };
  std::string out = "coordinate,value,method\n";
  for (const Target& t : targets) {
    int section = c.FindSection(t.section);
    int64_t total = 0;
    for (const PlanCell& x : cells) {
      const CostCenter& cc = c.cost_centers[x.cost_center];
      if (x.scenario != 1 || x.month < t.first_month || x.month >= t.end_month) continue;
      if ((t.region >= 0 && cc.region != t.region) || (t.dept >= 0 && cc.dept != t.dept)) continue;
      total += x.value * c.SectionWeight(c.gl_parents[x.account].section, section);
    }
    int64_t value = (total * (1000 + t.change_permille) / 1000 + 500) / 1000 * 1000;
    std::string cost_center = t.region < 0 ? "TOTAL_CC" : c.region_codes[t.region];
    if (t.dept >= 0) cost_center += StrCat("-", c.dept_codes[t.dept]);
    std::string month = t.end_month - t.first_month == 12 ? YearCode(t.first_month / 12)
                                                          : QuarterCode(t.first_month / 12, t.first_month % 12 / 3);
    std::string coordinate =
        StrCat("account=", t.section, ",cost_center=", cost_center, ",month=", month, ",scenario=Budget");
    StrAppend(&out, CsvField(coordinate), ",", value, ",proportional\n");
  }
  *count = std::size(targets);
  return out;
}

std::string CommentsCsv(const Chart& c, size_t* count) {
  auto plan = [&](const char* gl_parent_name) { return PlanAccountCode(c, Parent(c, gl_parent_name)); };
  struct Comment {
    std::string account;
    const char *cost_center, *month, *scenario, *author, *time, *text, *adjust;
    int parent;  // 1-based data line replied to; 0 for a new thread
  };
  const Comment comments[] = {
      {"OPEX_TOTAL", "EMEA", "FY2026", "Budget", "anna.schmidt", "2025-10-14T09:12:00Z",
       "Top-down: EMEA opex down 3% against the first draft, as agreed at ExCo on 13 Oct.", "", 0},
      {"OPEX_TOTAL", "EMEA", "FY2026", "Budget", "luca.bianchi", "2025-10-14T11:40:00Z",
       "Marketing cannot absorb its share before the Q2 events are contracted. Can we take it from travel instead?",
       "", 1},
      {"OPEX_TOTAL", "EMEA", "FY2026", "Budget", "anna.schmidt", "2025-10-15T08:05:00Z",
       "Agreed for Q1 only; we revisit at the March forecast.", "", 2},
      {plan("Salaries – Engineering"), "AMERICAS-RND-SFO", "FY2026-M04", "Budget", "priya.nair",
       "2025-10-20T16:30:00Z", "Merit increase of 4.5% from April, plus two senior hires starting in May.", "18500",
       0},
      {"REVENUE", "APAC", "FY2026", "Budget", "kenji.sato", "2025-10-22T02:15:00Z",
       "The +5% stretch reflects the Japan distributor signed in September.", "", 0},
      {plan("Trade shows – Brand"), "EMEA-MKTG-LON", "FY2026-M03", "Budget", "luca.bianchi", "2025-11-03T10:00:00Z",
       "Hannover Messe booth; the deposit was already paid in FY2025.", "42000", 0},
      {"OPEX_TRAVEL", "TOTAL_CC", "FY2026", "Budget", "cfo.office", "2025-11-05T07:45:00Z",
       "Travel freeze for internal meetings from Q2; customer visits are exempt.", "", 0},
      {"OPEX_IT", "TOTAL_CC", "FY2026-M05", "Actual", "tom.walker", "2026-06-04T13:20:00Z",
       "May includes the annual CRM prepayment of 1.2m; the forecast spreads it over 12 months.", "", 0},
      {plan("Rent – Offices"), "APAC-GNA-SIN", "FY2026-M07", "Forecast", "kenji.sato", "2026-06-09T03:10:00Z",
       "Singapore lease renewed at +8%, signed on 2 June.", "12000", 0},
      {"COGS", "TOTAL_CC", "FY2026-Q3", "Forecast", "maria.gomez", "2026-06-10T15:55:00Z",
       "Copper surcharge from two suppliers; forecast raised until the Q3 price reset.", "250000", 0},
      {plan("Freight out – Widgets"), "EMEA-OPS-BER", "FY2026-M08", "Forecast", "anna.schmidt", "2026-06-11T09:30:00Z",
       "Red Sea rerouting: assume the surcharge lasts through Q3.", "7500", 0},
      {plan("Sales commission – Sales"), "AMERICAS-SALES-NYC", "FY2026-M12", "Forecast", "maria.gomez",
       "2026-06-12T18:05:00Z", "Accelerators above 110% of quota; December assumes two reps over.", "30000", 0},
      {"OPEX_GA", "EMEA-GNA", "FY2026-Q4", "Budget", "cfo.office", "2025-11-07T08:00:00Z",
       "Bad-debt provision kept flat despite the Q3 write-off; the credit team will review.", "", 0},
      {plan("Subscription revenue – Cloud"), "APAC-SALES-SYD", "FY2026-M10", "Budget", "kenji.sato",
       "2025-11-10T01:40:00Z", "Two enterprise renewals moved in from Q3; ARR unchanged.", "-15000", 0},
  };
  std::string out = "coordinate,author,time,text,adjust,parent\n";
  for (const Comment& x : comments) {
    std::string coordinate = StrCat("account=", x.account, ",cost_center=", x.cost_center, ",month=", x.month,
                                    ",scenario=", x.scenario);
    StrAppend(&out, CsvField(coordinate), ",", x.author, ",", x.time, ",", CsvField(x.text), ",", x.adjust, ",",
              x.parent ? StrCat(x.parent) : std::string(), "\n");
  }
  *count = std::size(comments);
  return out;
}

}  // namespace quantatom::demo

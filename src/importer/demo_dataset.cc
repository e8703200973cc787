#include "importer/demo_dataset.h"

#include <filesystem>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "base/file_util.h"
#include "base/strings.h"
#include "importer/demo_chart.h"
#include "importer/demo_plan_inputs.h"

namespace quantatom {

using namespace demo;

namespace {

// One dimension's files: members get ids in definition order, which is also the order of each
// parent's children on import.
class DimFiles {
 public:
  int Add(std::string code, std::string label) {
    codes_.push_back(std::move(code));
    labels_.push_back(std::move(label));
    children_.emplace_back();
    return static_cast<int>(codes_.size()) - 1;
  }
  void Edge(int child, int parent, int weight = 1) {
    StrAppend(&hier_, child, ",", parent, ",", weight, "\n");
    children_[parent].push_back(child);
  }
  size_t leaf_count() const {
    size_t n = 0;
    for (const auto& c : children_) n += c.empty();
    return n;
  }

  // id,code,level. The importer derives levels itself; writing the true ones keeps the file
  // honest for other readers.
  std::string Elements() const {
    std::vector<int> level(codes_.size(), -1);
    std::function<int(int)> level_of = [&](int id) {
      if (level[id] < 0) {
        level[id] = 0;
        for (int child : children_[id]) level[id] = std::max(level[id], level_of(child) + 1);
      }
      return level[id];
    };
    std::string out;
    for (size_t id = 0; id < codes_.size(); ++id) StrAppend(&out, id, ",", codes_[id], ",", level_of(static_cast<int>(id)), "\n");
    return out;
  }
  const std::string& Hier() const { return hier_; }
  // Display names, which the data-set format has no place for (a member's code is its name).
  std::string Labels() const {
    std::string out = "code,name\n";
    for (size_t id = 0; id < codes_.size(); ++id) StrAppend(&out, codes_[id], ",", CsvField(labels_[id]), "\n");
    return out;
  }

 private:
  std::vector<std::string> codes_, labels_;
  std::vector<std::vector<int>> children_;
  std::string hier_;
};

// The ids of the members that cells refer to, per dimension.
struct Ids {
  std::vector<int> section, account, gl_leaf, cost_center, month;
};

DimFiles AccountDim(const Chart& c, bool gl, Ids& ids) {
  DimFiles dim;
  ids.section.clear();
  for (const Section& s : c.sections) {
    ids.section.push_back(dim.Add(s.code, s.name));
    if (s.parent >= 0) dim.Edge(ids.section.back(), ids.section[s.parent], s.weight);
  }
  ids.account.clear();
  ids.gl_leaf.assign(gl ? c.gl_leaves.size() : 0, -1);
  for (size_t p = 0; p < c.gl_parents.size(); ++p) {
    const GlParent& parent = c.gl_parents[p];
    ids.account.push_back(dim.Add(gl ? parent.code : PlanAccountCode(c, static_cast<int>(p)), parent.name));
    dim.Edge(ids.account.back(), ids.section[parent.section]);
    if (!gl) continue;
    for (int leaf : parent.leaves) {
      ids.gl_leaf[leaf] = dim.Add(c.gl_leaves[leaf].code, c.gl_leaves[leaf].name);
      dim.Edge(ids.gl_leaf[leaf], ids.account.back());
    }
  }
  return dim;
}

DimFiles CostCenterDim(const Chart& c, Ids& ids) {
  DimFiles dim;
  int top = dim.Add("TOTAL_CC", "Total company");
  ids.cost_center.assign(c.cost_centers.size(), -1);
  for (int r = 0; r < 3; ++r) {
    int region = dim.Add(c.region_codes[r], c.region_names[r]);
    dim.Edge(region, top);
    for (int d = 0; d < kDeptCount; ++d) {
      int dept = dim.Add(StrCat(c.region_codes[r], "-", c.dept_codes[d]), StrCat(c.dept_names[d], " – ", c.region_codes[r]));
      dim.Edge(dept, region);
      for (size_t i = 0; i < c.cost_centers.size(); ++i) {
        const CostCenter& cc = c.cost_centers[i];
        if (cc.region != r || cc.dept != d) continue;
        ids.cost_center[i] = dim.Add(cc.code, cc.name);
        dim.Edge(ids.cost_center[i], dept);
      }
    }
  }
  return dim;
}

DimFiles MonthDim(Ids& ids) {
  static const char* kMonthNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  DimFiles dim;
  ids.month.clear();
  for (int y = 0; y < kMonths / 12; ++y) {
    int year = dim.Add(YearCode(y), StrCat("Fiscal year ", kFirstYear + y));
    for (int q = 0; q < 4; ++q) {
      int quarter = dim.Add(QuarterCode(y, q), StrCat("Q", q + 1, " ", kFirstYear + y));
      dim.Edge(quarter, year);
      for (int m = 0; m < 3; ++m) {
        int month = y * 12 + q * 3 + m;
        ids.month.push_back(dim.Add(MonthCode(month), StrCat(kMonthNames[month % 12], " ", kFirstYear + y)));
        dim.Edge(ids.month.back(), quarter);
      }
    }
  }
  return dim;
}

DimFiles ScenarioDim(bool plan) {
  DimFiles dim;
  dim.Add("Actual", "Actual");
  if (plan) {
    dim.Add("Budget", "Budget");
    dim.Add("Forecast", "Forecast (6+18)");  // 18 months closed, the last 6 forecast
  }
  return dim;
}

int64_t MulDiv(int64_t a, int64_t b, int64_t c) { return static_cast<int64_t>(static_cast<__int128>(a) * b / c); }

// Cents as "-1234.05": GL exports carry two decimals.
std::string FormatCents(int64_t cents) {
  uint64_t abs = cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  return fmt::format("{}{}.{:02d}", cents < 0 ? "-" : "", abs / 100, abs % 100);
}

// A GL leaf booked by one cost center: the unit of sparsity in the actuals.
struct Series {
  int leaf, cost_center;
  int64_t base_cents;  // an average FY2025 month, before season, trend and noise
  bool quarterly;      // posts only at quarter ends, three months at a time
  int first, end;      // booked months [first, end) of the actual months
};

std::vector<Series> ActualSeries(const Chart& c) {
  std::vector<Series> series;
  std::vector<uint64_t> weight;
  std::vector<uint64_t> section_weight(c.sections.size(), 0);
  for (size_t leaf = 0; leaf < c.gl_leaves.size(); ++leaf) {
    const GlLeaf& l = c.gl_leaves[leaf];
    const GlParent& p = c.gl_parents[l.parent];
    const Section& s = c.sections[p.section];
    int hub = c.markets[l.market].hub_site;
    size_t pick = Hash(leaf, 11) % p.depts.size();
    std::vector<int> ccs = {c.CostCenterFor(hub, p.depts[pick])};
    // A third of the postings are shared with a second office: another department at the hub,
    // or the same department at another site of the region.
    if (Hash(leaf, 12) % 100 < 35) {
      int second = p.depts.size() > 1
                       ? c.CostCenterFor(hub, p.depts[(pick + 1) % p.depts.size()])
                       : c.CostCenterFor(c.sites[hub].region * 5 + static_cast<int>((hub % 5 + 1 + Hash(leaf, 13) % 4) % 5),
                                         p.depts[pick]);
      if (second != ccs[0]) ccs.push_back(second);
    }
    for (int cc : ccs) {
      uint64_t h = Hash(leaf, cc, 14);
      uint64_t w = (1 + h % 1000) * (1 + (h >> 20) % 1000);  // skewed: a few large, many small
      if ((h >> 40) % 25 == 0) w *= 8;
      Series x{static_cast<int>(leaf), cc, 0, s.books_quarterly && (h >> 50) % 100 < 35, 0, kActualMonths};
      uint64_t g = Hash(leaf, cc, 15);
      if (g % 100 < 4) x.first = 6 + static_cast<int>((g >> 8) % 10);      // opened during the period
      else if ((g >> 16) % 100 < 3) x.end = 6 + static_cast<int>((g >> 24) % 10);  // closed
      series.push_back(x);
      weight.push_back(w);
      section_weight[p.section] += w;
    }
  }
  for (size_t i = 0; i < series.size(); ++i) {
    const Section& s = c.sections[c.gl_parents[c.gl_leaves[series[i].leaf].parent].section];
    int section = c.gl_parents[c.gl_leaves[series[i].leaf].parent].section;
    series[i].base_cents = MulDiv(s.fy2025_total * 100 / 12, static_cast<int64_t>(weight[i]),
                                  static_cast<int64_t>(section_weight[section]));
  }
  return series;
}

// The trend value of a month in cents, before noise: base x season x growth since FY2025-M01.
int64_t Expected(const Section& s, int64_t base_cents, int month) {
  int64_t v = MulDiv(base_cents, s.season[month % 12], 1000);
  return MulDiv(v, 1000 + s.growth_permille * month / 12, 1000);
}

std::string ActualCells(const Chart& c, const std::vector<Series>& series, const Ids& ids, size_t* count) {
  std::string out;
  out.reserve(series.size() * kActualMonths * 32);
  *count = 0;
  for (const Series& x : series) {
    const Section& s = c.sections[c.gl_parents[c.gl_leaves[x.leaf].parent].section];
    for (int m = x.first; m < x.end; ++m) {
      if (x.quarterly && m % 3 != 2) continue;
      uint64_t h = Hash(x.leaf, x.cost_center, 100 + m);
      int64_t v = MulDiv(Expected(s, x.base_cents, m), 880 + static_cast<int64_t>(h % 241), 1000);
      if (x.quarterly) v *= 3;
      if ((h >> 32) % 250 == 0) v = -v * 3 / 10;  // an accrual reversed in the following month
      if (v == 0) continue;
      StrAppend(&out, ids.gl_leaf[x.leaf], ",", ids.cost_center[x.cost_center], ",", ids.month[m], ",0,",
                FormatCents(v), "\n");
      ++*count;
    }
  }
  return out;
}

// Plan lines: the actual series bridged to plan accounts, so budgets sit where actuals land.
std::vector<PlanCell> PlanCells(const Chart& c, const std::vector<Series>& series,
                                const std::vector<std::vector<BridgeRule>>& rules_per_leaf) {
  std::map<std::pair<int, int>, int64_t> base;  // (plan account, cost center) -> cents
  for (const Series& x : series)
    for (const BridgeRule& r : rules_per_leaf[x.leaf])
      base[{r.plan_account, x.cost_center}] += MulDiv(x.base_cents, r.weight_permille, 1000);
  auto hundreds = [](int64_t cents) { return (cents + 5000) / 10000 * 100; };  // planners round
  std::vector<PlanCell> cells;
  for (const auto& [key, cents] : base) {
    const Section& s = c.sections[c.gl_parents[key.first].section];
    for (int m = 0; m < kMonths; ++m) {
      int64_t budget = hundreds(MulDiv(Expected(s, cents, m), 1000 + s.budget_bias_permille, 1000));
      if (budget != 0) cells.push_back({key.first, key.second, m, 1, budget});
    }
    // The forecast follows the actuals' trend, with a per-line view of the rest of the year.
    int view = static_cast<int>(Hash(key.first, key.second, 16) % 81) - 40;
    for (int m = kActualMonths; m < kMonths; ++m) {
      int64_t forecast = hundreds(MulDiv(Expected(s, cents, m), 1000 + view, 1000));
      if (forecast != 0) cells.push_back({key.first, key.second, m, 2, forecast});
    }
  }
  return cells;
}

std::string PlanCellsCsv(const std::vector<PlanCell>& cells, const Ids& ids) {
  std::string out;
  out.reserve(cells.size() * 24);
  for (const PlanCell& x : cells)
    StrAppend(&out, ids.account[x.account], ",", ids.cost_center[x.cost_center], ",", ids.month[x.month], ",",
              x.scenario, ",", x.value, "\n");
  return out;
}

std::string Manifest(std::string_view app, std::string_view account_dim, size_t cells) {
  return StrCat("{\n  \"generator\": \"quantatom demo\",\n  \"app\": \"", app, "\",\n  \"n_cells\": ", cells,
                ",\n  \"dims\": {\"", account_dim, "\": {}, \"cost_center\": {}, \"month\": {}, \"scenario\": {}}\n}\n");
}

// Writes files and counts their bytes.
class Writer {
 public:
  explicit Writer(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Dir(const std::string& sub) {
    std::error_code ec;
    std::filesystem::create_directories(Path(sub), ec);
    if (ec) return absl::InternalError(StrCat("cannot create ", Path(sub), ": ", ec.message()));
    return absl::OkStatus();
  }
  absl::Status File(const std::string& name, std::string_view text) {
    bytes_ += text.size();
    return WriteFileAtomically(Path(name), text);
  }
  absl::Status Dimension(const std::string& app, const std::string& dim, const DimFiles& files) {
    QA_RETURN_IF_ERROR(File(StrCat(app, "/elements_", dim, ".csv"), files.Elements()));
    QA_RETURN_IF_ERROR(File(StrCat(app, "/hier_", dim, ".csv"), files.Hier()));
    return File(StrCat(app, "/labels_", dim, ".csv"), files.Labels());
  }
  size_t bytes() const { return bytes_; }

 private:
  std::string Path(const std::string& name) const { return StrCat(dir_, "/", name); }
  std::string dir_;
  size_t bytes_ = 0;
};

}  // namespace

absl::StatusOr<DemoSummary> WriteDemoDataset(const std::string& dir) {
  const Chart& c = DemoChart();
  DemoSummary summary;
  Writer w(dir);
  QA_RETURN_IF_ERROR(w.Dir("gl_actuals"));
  QA_RETURN_IF_ERROR(w.Dir("plan"));

  Ids gl, plan;
  DimFiles gl_account = AccountDim(c, true, gl), account = AccountDim(c, false, plan);
  DimFiles cost_center = CostCenterDim(c, gl), month = MonthDim(gl);
  plan.cost_center = gl.cost_center;
  plan.month = gl.month;
  summary.gl_leaf_accounts = gl_account.leaf_count();
  summary.gl_parent_accounts = c.gl_parents.size();
  summary.cost_centers = cost_center.leaf_count();

  std::vector<Series> series = ActualSeries(c);
  std::string actuals = ActualCells(c, series, gl, &summary.actual_cells);
  std::vector<BridgeRule> rules = DemoBridgeRules(c);
  std::vector<PlanCell> plan_cells = PlanCells(c, series, RulesPerLeaf(c, rules));
  for (const PlanCell& x : plan_cells) ++(x.scenario == 1 ? summary.budget_cells : summary.forecast_cells);

  for (const std::string app : {"gl_actuals", "plan"}) {
    QA_RETURN_IF_ERROR(w.Dimension(app, app == "plan" ? "account" : "gl_account", app == "plan" ? account : gl_account));
    QA_RETURN_IF_ERROR(w.Dimension(app, "cost_center", cost_center));
    QA_RETURN_IF_ERROR(w.Dimension(app, "month", month));
    QA_RETURN_IF_ERROR(w.Dimension(app, "scenario", ScenarioDim(app == "plan")));
  }
  QA_RETURN_IF_ERROR(w.File("gl_actuals/cells.csv", actuals));
  QA_RETURN_IF_ERROR(w.File("gl_actuals/manifest.json", Manifest("gl_actuals", "gl_account", summary.actual_cells)));
  QA_RETURN_IF_ERROR(w.File("plan/cells.csv", PlanCellsCsv(plan_cells, plan)));
  QA_RETURN_IF_ERROR(w.File("plan/manifest.json", Manifest("plan", "account", plan_cells.size())));
  // Member attributes have no place in the data-set format either; see README.md.
  QA_RETURN_IF_ERROR(w.File("plan/attributes_scenario.csv", "code,attribute,value\nActual,read_only,true\n"));

  QA_RETURN_IF_ERROR(w.File("bridge_rules.csv", BridgeRulesCsv(c, rules, &summary.bridge_rules)));
  for (const BridgeRule& r : rules) summary.leaf_overrides += r.gl_leaf >= 0;
  std::map<std::pair<int, int>, int> per_source;
  for (const BridgeRule& r : rules) ++per_source[{r.gl_parent, r.gl_leaf}];
  for (const auto& [source, n] : per_source) summary.split_sources += n > 1;
  QA_RETURN_IF_ERROR(w.File("targets.csv", TargetsCsv(c, plan_cells, &summary.targets)));
  QA_RETURN_IF_ERROR(w.File("comments.csv", CommentsCsv(c, &summary.comments)));
  QA_RETURN_IF_ERROR(w.File("README.md", DemoReadme(summary)));
  summary.bytes = w.bytes();
  return summary;
}

}  // namespace quantatom

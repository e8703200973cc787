#include "importer/demo_dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "base/csv.h"
#include "base/file_util.h"
#include "base/numbers.h"
#include "base/strings.h"
#include "importer/dataset_import.h"

namespace quantatom {
namespace {

namespace fs = std::filesystem;

// The documented counts (demo_dataset.h, docs/demo.md).
constexpr size_t kGlLeaves = 10167;
constexpr size_t kNaturalAccounts = 486;
constexpr size_t kCostCenters = 60;

std::vector<std::string>& Written() {
  static auto* dirs = new std::vector<std::string>;
  return *dirs;
}

// Removes the folders the tests wrote (a few MB each) when the binary ends.
class RemoveWritten : public ::testing::Environment {
 public:
  void TearDown() override {
    for (const std::string& dir : Written()) fs::remove_all(dir);
  }
};
const auto* const kRemoveWritten = ::testing::AddGlobalTestEnvironment(new RemoveWritten);

std::string Dir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/demo_" + name + "_" + std::to_string(::getpid());
  fs::remove_all(dir);
  Written().push_back(dir);
  return dir;
}

// The demo is written once per test binary: it is deterministic, and a second write is the
// byte-identity test's job.
const std::string& DemoDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(Dir("shared"));
    auto summary = WriteDemoDataset(*d);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return d;
  }();
  return *dir;
}

DemoSummary Summary() {
  static const DemoSummary summary = *WriteDemoDataset(Dir("summary"));
  return summary;
}

// Records of a CSV file, the header dropped when `header` is true.
std::vector<std::vector<std::string>> ReadCsv(const std::string& path, bool header) {
  auto file = CsvFile::Open(path, /*allow_empty=*/true);
  EXPECT_TRUE(file.ok()) << file.status();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> fields;
  absl::Status error;
  while (file->Next(&fields, &error)) rows.push_back(fields);
  EXPECT_TRUE(error.ok()) << error;
  if (header && !rows.empty()) rows.erase(rows.begin());
  return rows;
}

std::unique_ptr<Cube> Import(const std::string& folder, const std::string& app) {
  DatasetOptions options;
  options.app_name = app;
  auto cube = ImportDataset(DemoDir() + "/" + folder, options);
  EXPECT_TRUE(cube.ok()) << cube.status();
  return cube.ok() ? std::move(*cube) : nullptr;
}

double Read(const Cube& cube, const std::string& coordinate) {
  auto coord = cube.model().ParseCoordinate(coordinate);
  EXPECT_TRUE(coord.ok()) << coord.status();
  auto value = cube.ReadCell(*coord);
  EXPECT_TRUE(value.ok()) << value.status();
  return value->number;
}

TEST(DemoDatasetTest, SummaryHasTheDocumentedCounts) {
  DemoSummary s = Summary();
  EXPECT_EQ(s.gl_leaf_accounts, kGlLeaves);
  EXPECT_EQ(s.gl_parent_accounts, kNaturalAccounts);
  EXPECT_EQ(s.cost_centers, kCostCenters);
  EXPECT_EQ(s.actual_cells, 223933u);
  EXPECT_EQ(s.budget_cells, 131602u);
  EXPECT_EQ(s.forecast_cells, 32901u);
  EXPECT_EQ(s.bridge_rules, kNaturalAccounts + 3 + 7);  // a 2-way and a 3-way split, 7 overrides
  EXPECT_EQ(s.leaf_overrides, 7u);
  EXPECT_EQ(s.split_sources, 2u);
  EXPECT_EQ(s.targets, 6u);
  EXPECT_EQ(s.comments, 14u);
  EXPECT_LT(s.bytes, 30u << 20);
}

TEST(DemoDatasetTest, ActualsAppImportsWithItsCounts) {
  auto cube = Import("gl_actuals", "gl_actuals");
  ASSERT_NE(cube, nullptr);
  const AppModel& m = cube->model();
  ASSERT_EQ(m.dimensions.size(), 4u);
  EXPECT_EQ(m.dimensions[0].name(), "gl_account");
  EXPECT_EQ(m.dimensions[0].type(), DimensionType::kAccount);
  EXPECT_EQ(m.dimensions[0].leaf_count(), kGlLeaves);
  EXPECT_EQ(m.dimensions[1].leaf_count(), kCostCenters);
  EXPECT_EQ(m.dimensions[2].leaf_count(), 24u);
  EXPECT_EQ(m.dimensions[3].leaf_count(), 1u);
  EXPECT_EQ(cube->Stats().numeric_cells, Summary().actual_cells);
}

TEST(DemoDatasetTest, ActualsConsolidateToAProfitableCompany) {
  auto cube = Import("gl_actuals", "gl_actuals");
  ASSERT_NE(cube, nullptr);
  auto at = [&](const char* account, const char* month) {
    return Read(*cube, StrCat("gl_account=", account, ",cost_center=TOTAL_CC,month=", month, ",scenario=Actual"));
  };
  double sales = at("GROSS_SALES", "FY2025");
  EXPECT_NEAR(sales, 1e9, 0.02e9);  // the section total before noise is exactly 1e9
  double net = at("NET_INCOME", "FY2025");
  EXPECT_GT(net, 0.05 * sales);
  EXPECT_LT(net, 0.15 * sales);
  // The -1 edges: each total is its parts with signs.
  EXPECT_NEAR(at("GROSS_MARGIN", "FY2025"), at("REVENUE", "FY2025") - at("COGS", "FY2025"), 1e-3);
  EXPECT_NEAR(at("REVENUE", "FY2025"), sales - at("SALES_DEDUCTIONS", "FY2025"), 1e-3);
  // Closed up to FY2026-M06 only.
  EXPECT_NE(at("GROSS_SALES", "FY2026-M06"), 0);
  EXPECT_EQ(at("GROSS_SALES", "FY2026-M07"), 0);
  EXPECT_EQ(at("GROSS_SALES", "FY2026-Q4"), 0);
}

TEST(DemoDatasetTest, PlanAppImportsWithAnEmptyActual) {
  auto cube = Import("plan", "plan");
  ASSERT_NE(cube, nullptr);
  const AppModel& m = cube->model();
  ASSERT_EQ(m.dimensions.size(), 4u);
  EXPECT_EQ(m.dimensions[0].name(), "account");
  EXPECT_EQ(m.dimensions[0].leaf_count(), kNaturalAccounts);
  EXPECT_EQ(m.dimensions[1].leaf_count(), kCostCenters);
  EXPECT_EQ(m.dimensions[2].leaf_count(), 24u);
  EXPECT_EQ(m.dimensions[3].leaf_count(), 3u);
  EXPECT_EQ(cube->Stats().numeric_cells, Summary().budget_cells + Summary().forecast_cells);
  auto at = [&](const char* month, const char* scenario) {
    return Read(*cube, StrCat("account=NET_INCOME,cost_center=TOTAL_CC,month=", month, ",scenario=", scenario));
  };
  EXPECT_EQ(at("FY2025", "Actual"), 0);
  EXPECT_EQ(at("FY2026", "Actual"), 0);
  EXPECT_GT(at("FY2025", "Budget"), 0);
  EXPECT_GT(at("FY2026", "Budget"), 0);
  EXPECT_EQ(at("FY2026-Q2", "Forecast"), 0);
  EXPECT_GT(at("FY2026-Q3", "Forecast"), 0);
  EXPECT_GT(at("FY2026-Q4", "Forecast"), 0);
}

TEST(DemoDatasetTest, SharedDimensionsAreTheSameFiles) {
  for (const char* dim : {"cost_center", "month"})
    for (const char* kind : {"elements_", "hier_"}) {
      std::string name = StrCat(kind, dim, ".csv");
      EXPECT_EQ(*ReadFile(DemoDir() + "/gl_actuals/" + name), *ReadFile(DemoDir() + "/plan/" + name)) << name;
    }
  auto attributes = ReadCsv(DemoDir() + "/plan/attributes_scenario.csv", true);
  ASSERT_EQ(attributes.size(), 1u);
  EXPECT_THAT(attributes[0], ::testing::ElementsAre("Actual", "read_only", "true"));
}

// Code by id and parent ids by id, straight from the CSV files, without the importer.
struct Hierarchy {
  std::map<std::string, std::string> code_of;              // id -> code
  std::map<std::string, std::vector<std::string>> parents;  // child code -> parent codes
  std::set<std::string> consolidated;                     // codes with children
  std::vector<std::string> leaves;                        // codes without children, file order
};

Hierarchy ReadHierarchy(const std::string& app, const std::string& dim) {
  Hierarchy h;
  for (const auto& row : ReadCsv(StrCat(DemoDir(), "/", app, "/elements_", dim, ".csv"), false))
    h.code_of[row.at(0)] = row.at(1);
  for (const auto& row : ReadCsv(StrCat(DemoDir(), "/", app, "/hier_", dim, ".csv"), false)) {
    h.parents[h.code_of.at(row.at(0))].push_back(h.code_of.at(row.at(1)));
    h.consolidated.insert(h.code_of.at(row.at(1)));
  }
  for (const auto& row : ReadCsv(StrCat(DemoDir(), "/", app, "/elements_", dim, ".csv"), false))
    if (!h.consolidated.count(row.at(1))) h.leaves.push_back(row.at(1));
  return h;
}

TEST(DemoDatasetTest, BridgeRulesCoverEveryGlLeafExactlyOnceWithWeightOne) {
  Hierarchy gl = ReadHierarchy("gl_actuals", "gl_account");
  Hierarchy plan = ReadHierarchy("plan", "account");
  std::set<std::string> plan_leaves(plan.leaves.begin(), plan.leaves.end());
  auto rows = ReadCsv(DemoDir() + "/bridge_rules.csv", false);
  ASSERT_FALSE(rows.empty());
  EXPECT_THAT(rows[0], ::testing::ElementsAre("source", "target", "weight"));
  std::map<std::string, std::vector<std::pair<std::string, double>>> rules;  // source -> (target, weight)
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 3u);
    double weight;
    ASSERT_TRUE(ParseDouble(rows[i][2], &weight)) << rows[i][2];
    EXPECT_GT(weight, 0);
    EXPECT_TRUE(gl.parents.count(rows[i][0])) << "unknown GL member " << rows[i][0];
    EXPECT_TRUE(plan_leaves.count(rows[i][1])) << "not a plan leaf: " << rows[i][1];
    rules[rows[i][0]].emplace_back(rows[i][1], weight);
  }
  ASSERT_EQ(gl.leaves.size(), kGlLeaves);
  std::set<std::string> used_sources;
  for (const std::string& leaf : gl.leaves) {
    // The nearest member with rules, going up from the leaf; each GL member has one parent.
    std::string member = leaf;
    while (!rules.count(member)) {
      auto up = gl.parents.find(member);
      ASSERT_NE(up, gl.parents.end()) << leaf << " is not covered by any rule";
      ASSERT_EQ(up->second.size(), 1u);
      member = up->second[0];
    }
    used_sources.insert(member);
    double total = 0;
    for (const auto& [target, weight] : rules[member]) total += weight;
    EXPECT_NEAR(total, 1.0, 1e-12) << leaf << " via " << member;
  }
  // No rule is dead (shadowed by overrides on every leaf below it), and none sits on a section.
  EXPECT_EQ(used_sources.size(), rules.size());
}

TEST(DemoDatasetTest, TargetCoordinatesParseAgainstThePlan) {
  auto cube = Import("plan", "plan");
  ASSERT_NE(cube, nullptr);
  auto rows = ReadCsv(DemoDir() + "/targets.csv", false);
  ASSERT_EQ(rows.size(), 1 + Summary().targets);
  EXPECT_THAT(rows[0], ::testing::ElementsAre("coordinate", "value", "method"));
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 3u);
    auto coord = cube->model().ParseCoordinate(rows[i][0]);
    ASSERT_TRUE(coord.ok()) << rows[i][0] << ": " << coord.status();
    EXPECT_FALSE(cube->model().IsLeaf(*coord)) << rows[i][0];
    EXPECT_THAT(rows[i][0], ::testing::HasSubstr("scenario=Budget"));
    double value;
    ASSERT_TRUE(ParseDouble(rows[i][1], &value));
    // A target is a few percent away from what the budget adds up to.
    double budget = Read(*cube, rows[i][0]);
    EXPECT_NEAR(value / budget, 1.0, 0.16) << rows[i][0];
    EXPECT_EQ(rows[i][2], "proportional");
  }
}

TEST(DemoDatasetTest, CommentCoordinatesParseAgainstThePlan) {
  auto cube = Import("plan", "plan");
  ASSERT_NE(cube, nullptr);
  auto rows = ReadCsv(DemoDir() + "/comments.csv", false);
  ASSERT_EQ(rows.size(), 1 + Summary().comments);
  EXPECT_THAT(rows[0], ::testing::ElementsAre("coordinate", "author", "time", "text", "adjust", "parent"));
  bool leaf = false, consolidated = false, reply = false;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), 6u);
    auto coord = cube->model().ParseCoordinate(row[0]);
    ASSERT_TRUE(coord.ok()) << row[0] << ": " << coord.status();
    (cube->model().IsLeaf(*coord) ? leaf : consolidated) = true;
    EXPECT_FALSE(row[1].empty());
    EXPECT_THAT(row[2], ::testing::MatchesRegex("20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z"));
    EXPECT_FALSE(row[3].empty());
    double adjust;
    EXPECT_TRUE(row[4].empty() || ParseDouble(row[4], &adjust)) << row[4];
    if (!row[5].empty()) {
      uint32_t parent;
      ASSERT_TRUE(ParseUint32(row[5], &parent));
      EXPECT_GE(parent, 1u);
      EXPECT_LT(parent, i) << "a reply follows the comment it answers";
      EXPECT_EQ(rows[parent][0], row[0]) << "a reply is on the same cell";
      reply = true;
    }
  }
  EXPECT_TRUE(leaf);
  EXPECT_TRUE(consolidated);
  EXPECT_TRUE(reply);
}

TEST(DemoDatasetTest, OutputIsByteIdenticalAcrossRuns) {
  std::string again = Dir("again");
  ASSERT_TRUE(WriteDemoDataset(again).ok());
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(DemoDir())) {
    if (!entry.is_regular_file()) continue;
    std::string relative = fs::relative(entry.path(), DemoDir()).string();
    auto a = ReadFile(entry.path().string());
    auto b = ReadFile(again + "/" + relative);
    ASSERT_TRUE(a.ok() && b.ok()) << relative;
    EXPECT_TRUE(*a == *b) << relative << " differs between two runs";
    ++files;
  }
  EXPECT_EQ(files, 4u + 2 * (1 + 1 + 4 * 3) + 1);  // README + 3 CSVs; per app manifest, cells, 4 dims x 3
}

}  // namespace
}  // namespace quantatom

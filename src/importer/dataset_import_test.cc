#include "importer/dataset_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "importer/sample_dataset.h"
#include "query/grid.h"

namespace quantatom {
namespace {

using ::testing::HasSubstr;

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A tiny valid data set: account (T = a - b), scenario (leaves only). The folder name has the
// pid because ctest runs each case of a parameterised test as its own process, in parallel.
std::string MakeDataset(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/ds_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Write(dir + "/manifest.json", R"({"dims": {"account": {}, "scenario": {}}})");
  Write(dir + "/elements_account.csv", "0,a,0\n1,b,0\n2,T,1\n");
  Write(dir + "/hier_account.csv", "0,2,1\n1,2,-1\n");
  Write(dir + "/elements_scenario.csv", "0,Actual,0\n1,Budget,0\n");
  Write(dir + "/hier_scenario.csv", "");
  Write(dir + "/cells.csv", "0,0,10\n1,0,4\n0,1,2.5\n");
  return dir;
}

TEST(DatasetImportTest, ImportsMembersHierarchiesAndCells) {
  std::string dir = MakeDataset("ok");
  DatasetOptions o;
  o.app_name = "tiny";
  auto cube = ImportDataset(dir, o);
  ASSERT_TRUE(cube.ok()) << cube.status();
  const AppModel& m = (*cube)->model();
  EXPECT_EQ(m.dimensions[0].type(), DimensionType::kAccount);
  EXPECT_EQ(m.dimensions[1].type(), DimensionType::kScenario);
  EXPECT_EQ(m.dimensions[0].member(*m.dimensions[0].Find("T")).Attribute("id"), "2");
  EXPECT_EQ(*(*cube)->ReadCell(*m.ParseCoordinate("account=T,scenario=Actual")), CellValue::Number(6));
  EXPECT_EQ(*(*cube)->ReadCell(*m.ParseCoordinate("account=T,scenario=Budget")), CellValue::Number(2.5));
}

struct BadFile {
  const char* file;
  const char* text;
  const char* error;
};

class DatasetImportErrorTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(DatasetImportErrorTest, NamesFileLineAndProblem) {
  std::string dir = MakeDataset("bad");
  Write(dir + "/" + GetParam().file, GetParam().text);
  DatasetOptions o;
  o.app_name = "tiny";
  auto cube = ImportDataset(dir, o);
  ASSERT_FALSE(cube.ok());
  EXPECT_THAT(std::string(cube.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, DatasetImportErrorTest,
    ::testing::Values(
        BadFile{"cells.csv", "0,0,10\n7,0,1\n", "cells.csv:2: field 1 (account): unknown member id 7"},
        BadFile{"cells.csv", "0,0,10\n0,0,1x\n", "cells.csv:2: field 3 (value): '1x' is not a number"},
        BadFile{"cells.csv", "0,0,10\n\n0,1\n", "cells.csv:3: expected 3 fields (2 ids and a value), found 2"},
        BadFile{"cells.csv", "0,0,10,4\n", "cells.csv:1: expected 3 fields (2 ids and a value), found 4"},
        BadFile{"cells.csv", "2,0,10\n", "cells.csv:1: field 1 (account): member id 2 ('T') is consolidated"},
        BadFile{"cells.csv", "0,0,10\n1,1,3\n0,0,11\n", "cells.csv:3: the same cell is given twice (first on line 1)"},
        BadFile{"cells.csv", "", "cells.csv: file is empty"},
        BadFile{"cells.csv", "x,0,1\n", "cells.csv:1: field 1 (account): 'x' is not a member id"},
        BadFile{"elements_account.csv", "0,a,0\n1,a,0\n2,T,1\n", "elements_account.csv:2: field 'name': duplicate member code 'a'"},
        BadFile{"elements_account.csv", "0,a,0\n0,b,0\n2,T,1\n", "elements_account.csv:2: field 'id': duplicate id 0 (first on line 1)"},
        BadFile{"elements_account.csv", "0,a\n", "elements_account.csv:1: expected 3 fields (id,name,level), found 2"},
        BadFile{"elements_account.csv", "0,a,0\n1,b,0\n100000000,T,1\n",
                "elements_account.csv:3: field 'id': 100000000 is too large (ids must be below 100,000,000)"},
        BadFile{"cells.csv", "0,0,10\n \t \n 1,0,4\n", "cells.csv:3: field 1 (account): ' 1' is not a member id"},
        BadFile{"elements_account.csv", "", "elements_account.csv: file is empty"},
        BadFile{"hier_account.csv", "0,2,1\n1,9,1\n", "hier_account.csv:2: field 'parent': unknown member id 9"},
        BadFile{"hier_account.csv", "0,2,1\n1,2,one\n", "hier_account.csv:2: field 'weight': 'one' is not a number"},
        BadFile{"hier_account.csv", "0,2,1\n2,0,1\n", "cycle in the hierarchy of dimension 'account'"},
        BadFile{"manifest.json", "{\"dims\": 3}", "manifest.json: needs an object \"dims\""},
        BadFile{"attributes_scenario.csv", "code,attribute,value\nPlan,read_only,true\n",
                "attributes_scenario.csv:2: field 'code': unknown member 'Plan'"},
        BadFile{"attributes_scenario.csv", "code,attr,value\n", "attributes_scenario.csv:1: expected the header 'code,attribute,value'"},
        BadFile{"labels_account.csv", "code,name\na\n", "labels_account.csv:2: expected 2 fields (code,name), found 1"}));

TEST(DatasetImportTest, LabelsAndAttributesFilesNameAndMarkMembers) {
  std::string dir = MakeDataset("extras");
  Write(dir + "/labels_account.csv", "code,name\nT,\"Total, net\"\n");
  Write(dir + "/attributes_scenario.csv", "code,attribute,value\nActual,read_only,true\n");
  DatasetOptions o;
  o.app_name = "tiny";
  auto cube = ImportDataset(dir, o);
  ASSERT_TRUE(cube.ok()) << cube.status();
  const AppModel& m = (*cube)->model();
  EXPECT_EQ(m.dimensions[0].member(*m.dimensions[0].Find("T")).name, "Total, net");
  EXPECT_EQ(m.dimensions[0].member(*m.dimensions[0].Find("a")).name, "a");
  EXPECT_EQ(m.dimensions[1].member(*m.dimensions[1].Find("Actual")).Attribute("read_only"), "true");
  EXPECT_EQ((*cube)->ReadOnlyReason(*m.ParseCoordinate("account=a,scenario=Actual")), "scenario 'Actual'");
}

TEST(DatasetImportTest, LinesOfOnlySpacesAndTabsInCellsAreSkipped) {
  std::string dir = MakeDataset("whitespace_lines");
  Write(dir + "/cells.csv", "  \n0,0,10\n\t\r\n \t \n1,0,4\n\n0,1,2.5\n   ");
  DatasetOptions o;
  o.app_name = "tiny";
  auto cube = ImportDataset(dir, o);
  ASSERT_TRUE(cube.ok()) << cube.status();
  const AppModel& m = (*cube)->model();
  EXPECT_EQ((*cube)->Stats().numeric_cells, 3u);
  EXPECT_EQ(*(*cube)->ReadCell(*m.ParseCoordinate("account=T,scenario=Actual")), CellValue::Number(6));
  EXPECT_EQ(*(*cube)->ReadCell(*m.ParseCoordinate("account=a,scenario=Budget")), CellValue::Number(2.5));
}

TEST(DatasetImportTest, MissingElementsFileIsNamed) {
  std::string dir = MakeDataset("missing");
  std::filesystem::remove(dir + "/elements_scenario.csv");
  auto cube = ImportDataset(dir, {});
  ASSERT_FALSE(cube.ok());
  EXPECT_THAT(std::string(cube.status().message()), HasSubstr("elements_scenario.csv"));
}

// The sample data set, imported, against totals computed straight from its CSV text.
TEST(SampleDatasetTest, ImportedTotalsMatchASumOverTheCsv) {
  std::string dir = ::testing::TempDir() + "/sample";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteSampleDataset(dir, 20000).ok());
  DatasetOptions o;
  o.app_name = "sample";
  auto cube = ImportDataset(dir, o);
  ASSERT_TRUE(cube.ok()) << cube.status();
  const AppModel& m = (*cube)->model();
  // Independent reference: account ids 5..9 are the Opex groups, ids >= 10 the GL leaves in
  // order (60 revenue, 40 COGS, 140 Opex); NetIncome = Revenue - COGS - Opex.
  std::ifstream cells(dir + "/cells.csv");
  std::string line;
  std::map<int, double> net_by_scenario;
  while (std::getline(cells, line)) {
    std::stringstream ss(line);
    std::string f[6];
    for (auto& x : f) std::getline(ss, x, ',');
    int gl = std::stoi(f[0]) - 10;
    double v = std::stod(f[5]);
    net_by_scenario[std::stoi(f[3])] += gl < 60 ? v : -v;
  }
  for (auto [scenario_id, expected] : net_by_scenario) {
    std::string scen = m.dimensions[3].member(scenario_id).code;
    auto coord = m.ParseCoordinate("account=NetIncome,costcenter=Group,month=FY1,scenario=" + scen + ",product=AllProducts");
    ASSERT_TRUE(coord.ok());
    auto fy2 = *coord;
    fy2[2] = *m.dimensions[2].Find("FY2");
    double got = (*cube)->ReadCell(*coord)->number + (*cube)->ReadCell(fy2)->number;
    EXPECT_EQ(got, expected) << scen;
  }
}

}  // namespace
}  // namespace quantatom

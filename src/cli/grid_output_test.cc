#include "cli/grid_output.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

struct Fixture {
  AppModel model;
  GridQuery query;
  Grid grid;
  Fixture() {
    DimensionBuilder a("Account", DimensionType::kAccount);
    EXPECT_TRUE(a.AddMember("Revenue").ok());
    EXPECT_TRUE(a.AddMember("Cost, other").ok());
    DimensionBuilder m("Month", DimensionType::kTime);
    EXPECT_TRUE(m.AddMember("Jan").ok());
    EXPECT_TRUE(m.AddMember("Feb").ok());
    model.dimensions.push_back(*std::move(a).Build());
    model.dimensions.push_back(*std::move(m).Build());
    query.rows = CrossJoin({0}, {{0, 1}});
    query.cols = CrossJoin({1}, {{0, 1}});
    grid.rows = grid.cols = 2;
    grid.cells = {CellValue::Number(1234567.5), CellValue::Empty(), CellValue::Text("n/a"), CellValue::Number(-3)};
  }
};

TEST(GridOutputTest, TableAlignsAndGroupsThousands) {
  Fixture f;
  EXPECT_EQ(FormatGrid(f.model, f.query, f.grid, GridFormat::kTable),
            "Account               Jan  Feb\n"
            "Revenue      1,234,567.50     \n"
            "Cost, other           n/a   -3\n");
}

TEST(GridOutputTest, CsvQuotesAndLeavesEmptiesBlank) {
  Fixture f;
  EXPECT_EQ(FormatGrid(f.model, f.query, f.grid, GridFormat::kCsv),
            "Account,Jan,Feb\nRevenue,1234567.5,\n\"Cost, other\",n/a,-3\n");
}

TEST(GridOutputTest, JsonUsesNullForEmpty) {
  Fixture f;
  EXPECT_EQ(FormatGrid(f.model, f.query, f.grid, GridFormat::kJson),
            R"({"cols":["Jan","Feb"],"rows":["Revenue","Cost, other"],"values":[[1234567.5,null],["n/a",-3.0]]})" "\n");
}

}  // namespace
}  // namespace quantatom

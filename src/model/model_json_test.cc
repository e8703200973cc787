#include "model/model_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

using ::testing::HasSubstr;

constexpr const char* kModel = R"({
  "app": "acme", "planning_type": "corporate",
  "dimensions": [
    {"name": "Account", "type": "account", "members": [
      {"code": "Revenue", "parent": "NetIncome", "attributes": {"sign": "credit", "currency": "USD"}},
      {"code": "NetIncome", "name": "Net income"},
      {"code": "Costs", "parent": "NetIncome", "weight": -1},
      {"code": "Rent", "parents": [{"code": "Costs"}, {"code": "Fixed", "weight": 0.5}]},
      {"code": "Fixed"}]},
    {"name": "Month", "type": "time", "members": [{"code": "Jan"}, {"code": "Feb"}]}],
  "cells": [
    {"Account": "Revenue", "Month": "Jan", "value": 100},
    {"Account": "Rent", "Month": "Feb", "text": "estimate"}]
})";

TEST(ModelJsonTest, ParsesDimensionsEdgesAttributesAndCells) {
  auto f = ParseModelJson("acme.json", kModel);
  ASSERT_TRUE(f.ok()) << f.status();
  const AppModel& m = f->model;
  EXPECT_EQ(m.name, "acme");
  ASSERT_EQ(m.dimensions.size(), 2u);
  const Dimension& acc = m.dimensions[0];
  EXPECT_EQ(acc.type(), DimensionType::kAccount);
  EXPECT_EQ(acc.member(*acc.Find("NetIncome")).name, "Net income");
  EXPECT_EQ(acc.member(*acc.Find("Revenue")).Attribute("currency"), "USD");
  EXPECT_EQ(acc.parent_edges(*acc.Find("Rent")).size(), 2u);
  EXPECT_EQ(acc.level(*acc.Find("NetIncome")), 2);
  ASSERT_EQ(f->cells.size(), 2u);
  EXPECT_EQ(f->cells[0].value, CellValue::Number(100));
  EXPECT_EQ(f->cells[1].value, CellValue::Text("estimate"));
}

TEST(ModelJsonTest, WrittenModelReadsBackEqual) {
  auto f = ParseModelJson("acme.json", kModel);
  ASSERT_TRUE(f.ok());
  std::string text = ModelToJson(f->model);
  auto g = ParseModelJson("again.json", text);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(ModelToJson(g->model), text);
  const Dimension& a = f->model.dimensions[0];
  const Dimension& b = g->model.dimensions[0];
  ASSERT_EQ(a.member_count(), b.member_count());
  for (MemberId id = 0; id < a.member_count(); ++id) {
    EXPECT_EQ(a.member(id).code, b.member(id).code);
    EXPECT_EQ(a.member(id).attributes, b.member(id).attributes);
    EXPECT_EQ(a.leaf_ordinal(id), b.leaf_ordinal(id));
  }
}

struct BadCase {
  const char* json;
  const char* message;
};

class ModelJsonErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ModelJsonErrorTest, NamesThePlaceAndTheProblem) {
  auto f = ParseModelJson("m.json", GetParam().json);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, ModelJsonErrorTest,
    ::testing::Values(
        BadCase{"{\"app\": \"x\",\n \"dimensions\": [}", "m.json:2:17: JSON syntax error"},
        BadCase{"", "m.json:1:1: JSON syntax error"},
        BadCase{R"({"app": "x", "dimensions": []})", "m.json: dimensions: expected a non-empty array"},
        BadCase{R"({"app": "x y", "dimensions": [{"name": "D", "members": [{"code": "a"}]}]})",
                "m.json: app: app name 'x y' may only contain"},
        BadCase{R"({"app": 7, "dimensions": [{"name": "D", "members": [{"code": "a"}]}]})",
                "m.json: app: expected a string"},
        BadCase{R"({"app": "x", "planning_type": 1, "dimensions": [{"name": "D", "members": [{"code": "a"}]}]})",
                "m.json: planning_type: expected a string"},
        BadCase{R"({"dimensions": [{"name": "D", "members": [{"code": "a"}]}]})", "m.json: $: missing field 'app'"},
        BadCase{R"({"app": "x", "cell": [], "dimensions": [{"name": "D", "members": [{"code": "a"}]}]})",
                "m.json: $: unknown field 'cell'"},
        BadCase{"[1]", "m.json: $: expected a JSON object at the top level"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a"}, {"code": "a"}]}]})",
                "m.json: dimensions[0].members[1].code: duplicate member code 'a'"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a", "parent": "zz"}]}]})",
                "m.json: dimensions[0].members[0].parent: unknown member 'zz'"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a", "parent": "b"}, {"code": "b", "parent": "a"}]}]})",
                "cycle in the hierarchy of dimension 'D'"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a", "parent": "b", "weight": "2"}, {"code": "b"}]}]})",
                "m.json: dimensions[0].members[0].weight: expected a number"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "type": "calendar", "members": [{"code": "a"}]}]})",
                "m.json: dimensions[0].type: unknown dimension type 'calendar'"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a", "colour": "red"}]}]})",
                "m.json: dimensions[0].members[0]: unknown field 'colour'"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a", "parent": "b"}, {"code": "b"}]}],
                   "cells": [{"D": "b", "value": 1}]})",
                "m.json: cells[0].D: member 'b' is consolidated"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a"}]}], "cells": [{"D": "a", "value": "1x"}]})",
                "m.json: cells[0].value: expected a number"},
        BadCase{R"({"app": "x", "dimensions": [{"name": "D", "members": [{"code": "a"}]}, {"name": "E", "members": [{"code": "e"}]}],
                   "cells": [{"D": "a", "value": 1}]})",
                "m.json: cells[0]: missing dimension 'E'"}));

}  // namespace
}  // namespace quantatom

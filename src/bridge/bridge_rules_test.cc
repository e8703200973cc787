#include "bridge/bridge_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(BridgeRulesTest, ParsesRulesWithAndWithoutWeight) {
  auto rules = ParseBridgeRules("rules.csv", "source,target,weight\nRev,PRev,1\nCost,PCost,0.6\nCost,PMisc\n\nR2,PMisc,\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->rules.size(), 4u);
  EXPECT_EQ(rules->rules[1].source, "Cost");
  EXPECT_EQ(rules->rules[1].target, "PCost");
  EXPECT_EQ(rules->rules[1].weight, 0.6);
  EXPECT_EQ(rules->rules[2].weight, 1);  // default
  EXPECT_EQ(rules->rules[3].line, 6);    // blank lines still count
  EXPECT_EQ(rules->rules[3].weight, 1);
}

TEST(BridgeRulesTest, HeaderWithoutWeightColumnIsAccepted) {
  auto rules = ParseBridgeRules("rules.csv", "source,target\nA,B\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->rules.size(), 1u);
  auto bad = ParseBridgeRules("rules.csv", "source,target\nA,B,0.5\n");
  EXPECT_THAT(Message(bad.status()), HasSubstr("rules.csv:2: expected 2 fields"));
}

TEST(BridgeRulesTest, MissingHeaderIsAnErrorOnLineOne) {
  auto rules = ParseBridgeRules("rules.csv", "Rev,PRev,1\n");
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(rules.status()), HasSubstr("rules.csv:1: header must be"));
  EXPECT_THAT(Message(ParseBridgeRules("rules.csv", "").status()), HasSubstr("rules.csv:1: empty rules file"));
}

TEST(BridgeRulesTest, BadWeightNamesFileLineAndField) {
  auto rules = ParseBridgeRules("gl.csv", "source,target,weight\nA,B,1\nC,D,abc\n");
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(rules.status()), "gl.csv:3:weight: 'abc' is not a finite number");
}

TEST(BridgeRulesTest, NonFiniteWeightsAreRejected) {
  for (const char* w : {"nan", "inf", "-inf", "1e400"}) {
    auto rules = ParseBridgeRules("gl.csv", std::string("source,target,weight\nA,B,") + w + "\n");
    EXPECT_THAT(Message(rules.status()), HasSubstr("gl.csv:2:weight:")) << w;
  }
}

TEST(BridgeRulesTest, ZeroWeightIsRejected) {
  auto rules = ParseBridgeRules("gl.csv", "source,target,weight\nA,B,0\n");
  EXPECT_THAT(Message(rules.status()), HasSubstr("gl.csv:2:weight: weight 0 maps nothing"));
}

TEST(BridgeRulesTest, SamePairTwiceNamesBothLines) {
  auto rules = ParseBridgeRules("gl.csv", "source,target,weight\nA,B,0.5\nA,C,0.2\nA,B,0.3\n");
  EXPECT_THAT(Message(rules.status()), HasSubstr("gl.csv:4:target: rule 'A' -> 'B' is already given on line 2"));
}

TEST(BridgeRulesTest, EmptyCodesAndWrongFieldCountsAreRejected) {
  EXPECT_THAT(Message(ParseBridgeRules("r.csv", "source,target,weight\n ,B,1\n").status()),
              HasSubstr("r.csv:2:source: empty member code"));
  EXPECT_THAT(Message(ParseBridgeRules("r.csv", "source,target,weight\nA,,1\n").status()),
              HasSubstr("r.csv:2:target: empty member code"));
  EXPECT_THAT(Message(ParseBridgeRules("r.csv", "source,target,weight\nA\n").status()),
              HasSubstr("r.csv:2: expected 2 or 3 fields"));
  EXPECT_THAT(Message(ParseBridgeRules("r.csv", "source,target,weight\nA,B,1,2\n").status()),
              HasSubstr("r.csv:2: expected 2 or 3 fields"));
}

TEST(BridgeRulesTest, QuotedCodesMayContainCommas) {
  auto rules = ParseBridgeRules("r.csv", "source,target,weight\n\"A,1\",B,1\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->rules[0].source, "A,1");
}

TEST(BridgeRulesTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadBridgeRules("/nonexistent/rules.csv").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace quantatom

#include "bridge/bridge_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Dimension Build(std::string name, std::vector<std::string> members,
                std::vector<std::tuple<std::string, std::string, double>> edges) {
  DimensionBuilder b(std::move(name), DimensionType::kAccount);
  for (auto& m : members) EXPECT_TRUE(b.AddMember(m).ok());
  for (auto& [c, p, w] : edges) EXPECT_TRUE(b.AddEdge(c, p, w).ok());
  return *std::move(b).Build();
}

// GL:   Total -> {Rev -> {R1, R2, R3}, Cost -> {C1, C2}, O1};  Stat -> {S1} (a second root)
Dimension Gl() {
  return Build("gl", {"Total", "Rev", "R1", "R2", "R3", "Cost", "C1", "C2", "O1", "Stat", "S1"},
               {{"Rev", "Total", 1}, {"R1", "Rev", 1}, {"R2", "Rev", 1}, {"R3", "Rev", 1}, {"Cost", "Total", -1},
                {"C1", "Cost", 1}, {"C2", "Cost", 1}, {"O1", "Total", 1}, {"S1", "Stat", 1}});
}
// Plan: PTotal -> {PRev, PCost, POther, PMisc}
Dimension Plan() {
  return Build("plan", {"PTotal", "PRev", "PCost", "POther", "PMisc"},
               {{"PRev", "PTotal", 1}, {"PCost", "PTotal", 1}, {"POther", "PTotal", 1}, {"PMisc", "PTotal", 1}});
}

ResolvedBridge Resolve(const Dimension& source, const Dimension& target, const std::string& csv) {
  auto rules = ParseBridgeRules("rules.csv", "source,target,weight\n" + csv);
  EXPECT_TRUE(rules.ok()) << rules.status();
  return ResolveBridge(source, target, *rules);
}

// "PRev*1" per mapping of a source leaf, for readable expectations.
std::vector<std::string> TargetsOf(const ResolvedBridge& r, const Dimension& source, const Dimension& target,
                                   const std::string& leaf) {
  std::vector<std::string> out;
  for (const LeafMapping& m : r.map.Targets(source.leaf_ordinal(*source.Find(leaf))))
    out.push_back(target.member(target.leaf_member(m.target)).code + "*" + std::to_string(m.weight).substr(0, 4));
  return out;
}

TEST(BridgeMapTest, ParentRuleIsInheritedByEveryLeafBelow) {
  Dimension gl = Gl(), plan = Plan();
  ResolvedBridge r = Resolve(gl, plan, "Rev,PRev,1\nCost,PCost,1\nTotal,POther,1\nStat,PMisc,1\n");
  EXPECT_TRUE(r.report.ok()) << r.report.ToText();
  for (const char* leaf : {"R1", "R2", "R3"}) EXPECT_THAT(TargetsOf(r, gl, plan, leaf), ElementsAre("PRev*1.00")) << leaf;
  // Edge weights of the source hierarchy (Cost -> Total is -1) play no part in a bridge.
  EXPECT_THAT(TargetsOf(r, gl, plan, "C2"), ElementsAre("PCost*1.00"));
  EXPECT_THAT(TargetsOf(r, gl, plan, "O1"), ElementsAre("POther*1.00"));
  EXPECT_EQ(r.report.mapped_leaves, 7u);
  EXPECT_EQ(r.map.max_fanout(), 1u);
}

TEST(BridgeMapTest, LeafRuleOverridesItsParentsRule) {
  Dimension gl = Gl(), plan = Plan();
  ResolvedBridge r = Resolve(gl, plan, "Total,POther\nRev,PRev\nR2,PMisc\nStat,PMisc\n");
  EXPECT_TRUE(r.report.ok()) << r.report.ToText();
  EXPECT_THAT(TargetsOf(r, gl, plan, "R1"), ElementsAre("PRev*1.00"));
  EXPECT_THAT(TargetsOf(r, gl, plan, "R2"), ElementsAre("PMisc*1.00"));
  EXPECT_THAT(TargetsOf(r, gl, plan, "C1"), ElementsAre("POther*1.00"));  // nearest rule: Total, two up
}

TEST(BridgeMapTest, SeveralRulesOnOneMemberSplitIt) {
  Dimension gl = Gl(), plan = Plan();
  ResolvedBridge r = Resolve(gl, plan, "Total,POther\nCost,PMisc,0.4\nCost,PCost,0.6\nStat,PMisc\n");
  EXPECT_TRUE(r.report.ok()) << r.report.ToText();
  // Sorted by target ordinal, not by file order.
  EXPECT_THAT(TargetsOf(r, gl, plan, "C1"), ElementsAre("PCost*0.60", "PMisc*0.40"));
  EXPECT_EQ(r.map.max_fanout(), 2u);
}

TEST(BridgeMapTest, CoverageReportListsEveryKindOfProblem) {
  Dimension gl = Gl(), plan = Plan();
  ResolvedBridge r = Resolve(gl, plan,
                             "Rev,PRev\n"             // line 2: overridden by R1..R3 below: unused
                             "R1,PRev,0.5\n"          // under-mapped
                             "R2,PRev\nR2,PMisc,0.5\n"  // over-mapped
                             "R3,PRev\n"
                             "Cost,PCost\n"
                             "O1,POther,0.25\nO1,PMisc,0.75\n"
                             "Nope,PRev\n"            // line 10: unknown source
                             "C1,Nowhere\n"           // line 11: unknown target
                             "C2,PTotal\n");          // line 12: consolidated target
  const CoverageReport& rep = r.report;
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.source_leaves, 7u);
  EXPECT_THAT(rep.unmapped, ElementsAre("S1"));
  ASSERT_EQ(rep.under_mapped.size(), 3u);  // R1 at 0.5; C1 and C2, whose only rules are in error
  EXPECT_EQ(rep.under_mapped[0].leaf, "R1");
  EXPECT_EQ(rep.under_mapped[0].total, 0.5);
  EXPECT_EQ(rep.under_mapped[1].leaf, "C1");
  EXPECT_EQ(rep.under_mapped[1].total, 0);
  ASSERT_EQ(rep.over_mapped.size(), 1u);
  EXPECT_EQ(rep.over_mapped[0].leaf, "R2");
  EXPECT_EQ(rep.over_mapped[0].total, 1.5);
  EXPECT_THAT(rep.rule_errors,
              ElementsAre("rules.csv:10:source: unknown member 'Nope' in source dimension 'gl'",
                          "rules.csv:11:target: unknown member 'Nowhere' in target dimension 'plan'",
                          "rules.csv:12:target: 'PTotal' in target dimension 'plan' is consolidated: bridge to its leaves"));
  // Cost's rule is used by no leaf: C1 and C2 have their own (bad) rules, which still govern.
  ASSERT_EQ(rep.unused_rules.size(), 2u);
  EXPECT_EQ(rep.unused_rules[0].line, 2);
  EXPECT_EQ(rep.unused_rules[0].source, "Rev");
  EXPECT_EQ(rep.unused_rules[1].line, 7);
  EXPECT_EQ(rep.mapped_leaves, 2u);  // R3, O1 (0.25 + 0.75)

  absl::Status s = rep.ToStatus(2);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("1 unmapped source leaf(s): S1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("3 under-mapped source leaf(s): R1 (total 0.5), C1 (total 0), ... (1 more)"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("1 over-mapped source leaf(s): R2 (total 1.5)"));
  EXPECT_THAT(rep.ToText(), HasSubstr("unused (fully overridden): line 2 Rev -> PRev, line 7 Cost -> PCost"));
}

TEST(BridgeMapTest, TotalsWithinToleranceOfOneAreMapped) {
  Dimension gl = Gl(), plan = Plan();
  ResolvedBridge r = Resolve(gl, plan,
                             "Total,PRev,0.1\nTotal,PCost,0.2\nTotal,PMisc,0.7\n"  // 0.1+0.2+0.7 != 1 exactly
                             "Stat,PRev,1.5\nStat,PCost,-0.5\n");                  // negative weights are allowed
  EXPECT_TRUE(r.report.ok()) << r.report.ToText();
}

// X has two parents A and B, both with rules, both one level up: neither wins.
TEST(BridgeMapTest, RulesOnTwoParentsAtTheSameDistanceAreAmbiguous) {
  Dimension src = Build("src", {"T", "A", "B", "X", "Y"}, {{"A", "T", 1}, {"B", "T", 1}, {"X", "A", 1}, {"X", "B", 1}, {"Y", "A", 1}});
  Dimension plan = Plan();
  ResolvedBridge r = Resolve(src, plan, "A,PRev\nB,PCost\n");
  ASSERT_EQ(r.report.ambiguous.size(), 1u);
  EXPECT_EQ(r.report.ambiguous[0].leaf, "X");
  EXPECT_THAT(r.report.ambiguous[0].members, ElementsAre("A", "B"));
  EXPECT_EQ(r.report.ambiguous[0].distance, 1);
  EXPECT_TRUE(r.map.Targets(src.leaf_ordinal(*src.Find("X"))).empty());
  EXPECT_THAT(std::string(r.report.ToStatus().message()),
              HasSubstr("1 ambiguous source leaf(s): X (rules on A and B, both 1 level up)"));
  // A rule on the leaf settles it.
  ResolvedBridge fixed = Resolve(src, plan, "A,PRev\nB,PCost\nX,PMisc\n");
  EXPECT_TRUE(fixed.report.ok()) << fixed.report.ToText();
}

// X -> A -> T and X -> B: B (1 up) is nearer than T (2 up), whichever path is primary.
TEST(BridgeMapTest, NearestRuledAncestorWinsAcrossAlternateParents) {
  Dimension src = Build("src", {"T", "A", "B", "X"}, {{"A", "T", 1}, {"X", "A", 1}, {"X", "B", 1}});
  Dimension plan = Plan();
  ResolvedBridge r = Resolve(src, plan, "T,PRev\nB,PCost\n");
  EXPECT_TRUE(r.report.ok()) << r.report.ToText();
  EXPECT_THAT(TargetsOf(r, src, plan, "X"), ElementsAre("PCost*1.00"));
  // The same member reached along two paths counts once: not ambiguous with itself.
  Dimension diamond = Build("src", {"T", "A", "B", "X"}, {{"A", "T", 1}, {"B", "T", 1}, {"X", "A", 1}, {"X", "B", 1}});
  ResolvedBridge d = Resolve(diamond, plan, "T,PRev\n");
  EXPECT_TRUE(d.report.ok()) << d.report.ToText();
}

}  // namespace
}  // namespace quantatom

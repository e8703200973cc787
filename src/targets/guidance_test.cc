// Guidance on hand-computed cases (the reference cases of docs/spreading.md, and nesting).
#include <cmath>

#include <gtest/gtest.h>

#include "targets/small_app_testutil.h"
#include "targets/targets.h"

namespace quantatom {
namespace {

using targets_testing::MakeApp;
using targets_testing::MakeDim;
using targets_testing::MakeRegionsApp;
using targets_testing::SmallApp;

TargetsConfig Config(const SmallApp& app) { return *MakeTargetsConfig(app.cube->model(), "Scenario", "Budget", "Actual"); }

std::optional<double> G(Targets& t, const SmallApp& app, const std::string& leaf) {
  auto g = t.GuidanceAt(app.At(leaf));
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *g : std::nullopt;
}

TEST(GuidanceTest, ProportionalGuidanceFollowsThePlanCells) {
  SmallApp app = MakeRegionsApp();
  app.Load({{"Account=North,Scenario=Budget", 10}, {"Account=South,Scenario=Budget", 30},
            {"Account=East,Scenario=Budget", 60}});
  Targets t(app.cube.get(), Config(app));
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 200}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 20);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=South,Scenario=Budget"), 60);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=East,Scenario=Budget"), 120);
  EXPECT_EQ(G(t, app, "Account=North,Scenario=Actual"), std::nullopt);
  EXPECT_DOUBLE_EQ(**t.TargetAt(app.At("Account=G1,Scenario=Budget")), 80);
  // Guidance is not a write: the plan cells keep their values.
  EXPECT_EQ(app.cube->ReadCell(app.At("Account=North,Scenario=Budget"))->number, 10);
}

TEST(GuidanceTest, EmptyLeavesSplitTheTargetEqually) {
  SmallApp app = MakeRegionsApp();
  Targets t(app.cube.get(), Config(app));
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 90}).ok());
  for (const char* leaf : {"North", "South", "East"})
    EXPECT_DOUBLE_EQ(*G(t, app, std::string("Account=") + leaf + ",Scenario=Budget"), 30) << leaf;
  EXPECT_TRUE((*t.Guidance())->at(0).equal);
}

TEST(GuidanceTest, ZeroBasisFallsBackToEqual) {
  SmallApp app = MakeRegionsApp();
  app.Load({{"Account=North,Scenario=Budget", 5}, {"Account=South,Scenario=Budget", -5}});
  Targets t(app.cube.get(), Config(app));
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 90}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=East,Scenario=Budget"), 30);
}

TEST(GuidanceTest, ProportionalGuidanceGivesEmptyLeavesNoneAndZeroLeavesZero) {
  SmallApp app = MakeRegionsApp();
  app.Load({{"Account=North,Scenario=Budget", 10}, {"Account=East,Scenario=Budget", 30},
            {"Account=South,Scenario=Budget", 0}});
  Targets t(app.cube.get(), Config(app));
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 80}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 20);
  EXPECT_EQ(G(t, app, "Account=South,Scenario=Budget"), std::optional<double>(0));
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=East,Scenario=Budget"), 60);
}

TEST(GuidanceTest, BasisFromAnotherScenarioGivesTheShape) {
  SmallApp app = MakeRegionsApp();
  app.Load({{"Account=North,Scenario=Actual", 1}, {"Account=South,Scenario=Actual", 1},
            {"Account=East,Scenario=Actual", 2}, {"Account=East,Scenario=Budget", 1000}});
  Targets t(app.cube.get(), Config(app));
  Target target{app.At("Account=Total,Scenario=Budget"), 400};
  target.basis = *app.cube->model().dimensions[1].Find("Actual");
  ASSERT_TRUE(t.Set(target).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 100);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=South,Scenario=Budget"), 100);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=East,Scenario=Budget"), 200);
}

TEST(GuidanceTest, NestedTargetTakesItsPartAndTheOuterSpreadsItsRemainder) {
  SmallApp app = MakeRegionsApp();
  app.Load({{"Account=North,Scenario=Budget", 10}, {"Account=South,Scenario=Budget", 30},
            {"Account=East,Scenario=Budget", 60}});
  Targets t(app.cube.get(), Config(app));
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 300}).ok());
  ASSERT_TRUE(t.Set({app.At("Account=G1,Scenario=Budget"), 100}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 25);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=South,Scenario=Budget"), 75);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=East,Scenario=Budget"), 200);  // 300 - 100
  EXPECT_DOUBLE_EQ(**t.TargetAt(app.At("Account=Total,Scenario=Budget")), 300);
  // A nested target may exceed its outer one: the remainder is then negative.
  ASSERT_TRUE(t.Set({app.At("Account=G1,Scenario=Budget"), 400}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=East,Scenario=Budget"), -100);
  // Removing it gives its leaves back to the outer target.
  ASSERT_TRUE(t.Remove(app.At("Account=G1,Scenario=Budget")).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 30);
}

TEST(GuidanceTest, NestedTargetsCoveringEveryLeafMustAddUp) {
  SmallApp app = MakeRegionsApp();
  Targets t(app.cube.get(), Config(app));
  ASSERT_TRUE(t.Set({app.At("Account=G1,Scenario=Budget"), 100}).ok());
  ASSERT_TRUE(t.Set({app.At("Account=East,Scenario=Budget"), 50}).ok());
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 150}).ok());
  EXPECT_EQ((*t.Guidance())->at(2).size(), 0u);
  absl::Status s = t.Set({app.At("Account=Total,Scenario=Budget"), 200});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("remainder of 50"), std::string::npos) << s;
  EXPECT_DOUBLE_EQ(t.List()[2].value, 150);  // nothing changed
}

TEST(GuidanceTest, EqualGuidanceOverTheLimitIsRefused) {
  SmallApp app = MakeRegionsApp();
  GuidanceOptions options;
  options.max_leaves = 2;
  Targets t(app.cube.get(), Config(app), options);
  absl::Status s = t.Set({app.At("Account=Total,Scenario=Budget"), 90});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(t.List().empty());
}

TEST(GuidanceTest, GuidanceFollowsChangesOfTheBasisCells) {
  SmallApp app = MakeRegionsApp();
  app.Load({{"Account=North,Scenario=Budget", 10}, {"Account=South,Scenario=Budget", 30},
            {"Account=East,Scenario=Budget", 60}});
  Targets t(app.cube.get(), Config(app));
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 200}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 20);
  app.Write("Account=North,Scenario=Budget", 110);  // basis now 110/30/60
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 110);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=East,Scenario=Budget"), 60);
  ASSERT_TRUE(app.cube->ScaleLeaves(app.At("Account=East,Scenario=Budget"), 0).ok());
  EXPECT_NEAR(*G(t, app, "Account=North,Scenario=Budget"), 200 * 110.0 / 140, 1e-9);
}

TEST(GuidanceTest, TextCellsTakeNoGuidanceAndCannotHoldATarget) {
  SmallApp app = MakeRegionsApp();
  app.WriteText("Account=South,Scenario=Budget", "n/a");
  Targets t(app.cube.get(), Config(app));
  absl::Status s = t.Set({app.At("Account=South,Scenario=Budget"), 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  ASSERT_TRUE(t.Set({app.At("Account=Total,Scenario=Budget"), 90}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=North,Scenario=Budget"), 45);
  EXPECT_EQ(G(t, app, "Account=South,Scenario=Budget"), std::nullopt);
}

TEST(GuidanceTest, WeightsEnterTheShares) {
  // Net = Revenue - Cost: a target on Net scales both sides, as a spread does.
  SmallApp app = MakeApp({MakeDim("Account", {"Net", "Revenue", "Cost"}, {{"Revenue", "Net", 1}, {"Cost", "Net", -1}}),
                          MakeDim("Scenario", {"Actual", "Budget"}, {})});
  app.Load({{"Account=Revenue,Scenario=Budget", 100}, {"Account=Cost,Scenario=Budget", 60}});
  Targets t(app.cube.get(), *MakeTargetsConfig(app.cube->model(), "Scenario", "Budget", "Actual"));
  ASSERT_TRUE(t.Set({app.At("Account=Net,Scenario=Budget"), 80}).ok());
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=Revenue,Scenario=Budget"), 200);
  EXPECT_DOUBLE_EQ(*G(t, app, "Account=Cost,Scenario=Budget"), 120);
  EXPECT_DOUBLE_EQ(**t.TargetAt(app.At("Account=Net,Scenario=Budget")), 80);
}

}  // namespace
}  // namespace quantatom

// Layers, variances and top contributors on a hand-computed app; persistence through Targets.
#include <gtest/gtest.h>

#include "targets/small_app_testutil.h"
#include "targets/targets.h"

namespace quantatom {
namespace {

using targets_testing::MakeRegionsApp;
using targets_testing::SmallApp;

class TargetsTest : public ::testing::Test {
 protected:
  TargetsTest() : app_(MakeRegionsApp()) {
    app_.Load({{"Account=North,Scenario=Budget", 10}, {"Account=South,Scenario=Budget", 30},
               {"Account=East,Scenario=Budget", 60}, {"Account=North,Scenario=Actual", 15},
               {"Account=South,Scenario=Actual", 30}, {"Account=East,Scenario=Actual", 40}});
    targets_ = std::make_unique<Targets>(app_.cube.get(),
                                         *MakeTargetsConfig(app_.cube->model(), "Scenario", "Budget", "Actual"));
  }
  SmallApp app_;
  std::unique_ptr<Targets> targets_;
};

TEST_F(TargetsTest, LayersAnswerPlanActualTargetAndVariances) {
  ASSERT_TRUE(targets_->Set({app_.At("Account=Total,Scenario=Budget"), 200}).ok());
  // The coordinate's own scenario member does not matter: the layers replace it.
  auto v = targets_->Layers(app_.At("Account=Total,Scenario=Actual"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->plan, 100);
  EXPECT_EQ(v->actual, 85);
  EXPECT_EQ(v->target, 200);
  EXPECT_EQ(v->actual_vs_plan, (Variance{-15, -15}));
  EXPECT_EQ(v->plan_vs_target, (Variance{-100, -50}));
  EXPECT_EQ(v->actual_vs_target.abs, -115);
  EXPECT_NEAR(*v->actual_vs_target.pct, -57.5, 1e-12);
  // Below the target: the guidance sums (North 20, South 60).
  v = targets_->Layers(app_.At("Account=G1,Scenario=Budget"));
  EXPECT_EQ(v->target, 80);
  EXPECT_EQ(v->plan_vs_target, (Variance{-40, -50}));
}

TEST_F(TargetsTest, NoTargetAndNoPlanGiveEmptyLayers) {
  SmallApp empty = MakeRegionsApp();
  Targets t(empty.cube.get(), *MakeTargetsConfig(empty.cube->model(), "Scenario", "Budget", "Actual"));
  auto v = t.Layers(empty.At("Account=Total,Scenario=Budget"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->plan, std::nullopt);
  EXPECT_EQ(v->target, std::nullopt);
  EXPECT_EQ(v->plan_vs_target, Variance{});
  empty.Write("Account=East,Scenario=Actual", 7);
  v = t.Layers(empty.At("Account=Total,Scenario=Budget"));
  EXPECT_EQ(v->actual_vs_plan, (Variance{7, std::nullopt}));  // no percent of an empty plan
}

TEST_F(TargetsTest, TopContributorsRankChildrenByAbsoluteVariance) {
  // Actual - plan per leaf: North +5, South 0, East -20; the total is -15.
  auto top = targets_->TopContributors(app_.At("Account=Total,Scenario=Budget"), VarianceKind::kActualVsPlan, -1, 10);
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 2u);  // Total's children: G1 (+5) and East (-20)
  const Dimension& account = app_.cube->model().dimensions[0];
  EXPECT_EQ(account.member((*top)[0].member).code, "East");
  EXPECT_EQ((*top)[0].variance.abs, -20);
  EXPECT_NEAR(*(*top)[0].share, 20.0 / 15, 1e-12);
  EXPECT_EQ(account.member((*top)[1].member).code, "G1");
  EXPECT_EQ((*top)[1].variance.abs, 5);
  EXPECT_EQ((*top)[1].values.plan, 40);
  EXPECT_EQ((*top)[1].values.actual, 45);
  top = targets_->TopContributors(app_.At("Account=G1,Scenario=Budget"), VarianceKind::kActualVsPlan, 0, 1);
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(account.member((*top)[0].member).code, "North");
  EXPECT_EQ((*top)[0].share, 1.0);
}

TEST_F(TargetsTest, TopContributorsOfATargetVarianceUseTheGuidance) {
  ASSERT_TRUE(targets_->Set({app_.At("Account=Total,Scenario=Budget"), 200}).ok());
  ASSERT_TRUE(targets_->Set({app_.At("Account=East,Scenario=Budget"), 150}).ok());
  // Guidance: East 150 (its own target), G1 takes the remainder 50 in proportion 10/30.
  auto top = targets_->TopContributors(app_.At("Account=Total,Scenario=Budget"), VarianceKind::kPlanVsTarget, -1, 5);
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].values.target, 150);
  EXPECT_EQ((*top)[0].variance.abs, -90);
  EXPECT_EQ((*top)[1].values.target, 50);
  EXPECT_EQ((*top)[1].variance.abs, -10);
}

TEST_F(TargetsTest, ContributorsAlongTheScenarioAreRefused) {
  EXPECT_EQ(targets_->TopContributors(app_.At("Account=Total,Scenario=Budget"), VarianceKind::kActualVsPlan, 1, 5)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TargetsTest, EncodedTargetsComeBackWithTheirGuidance) {
  ASSERT_TRUE(targets_->Set({app_.At("Account=Total,Scenario=Budget"), 200}).ok());
  ASSERT_TRUE(targets_->Set({app_.At("Account=G1,Scenario=Budget"), 100}).ok());
  const std::string bytes = targets_->Encode();
  Targets other(app_.cube.get(), TargetsConfig{});
  ASSERT_TRUE(other.Decode(bytes).ok());
  EXPECT_EQ(other.config().plan, targets_->config().plan);
  EXPECT_EQ(**other.GuidanceAt(app_.At("Account=East,Scenario=Budget")), 100);
  EXPECT_EQ(other.Decode("garbage").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(other.List().size(), 2u);  // a failed decode changes nothing
}

TEST_F(TargetsTest, UnknownMembersAreNotFound) {
  Coordinate c = app_.At("Account=Total,Scenario=Budget");
  c[0] = 1000;
  EXPECT_EQ(targets_->Set({c, 1}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(targets_->TargetAt(c).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(targets_->Remove(app_.At("Account=East,Scenario=Budget")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(targets_->GuidanceAt(app_.At("Account=Total,Scenario=Budget")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quantatom

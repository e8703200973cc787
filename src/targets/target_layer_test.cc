// The target layer's rules (nesting, overlaps, validation) and its byte format.
#include <cmath>

#include <gtest/gtest.h>

#include "targets/small_app_testutil.h"
#include "targets/target_layer.h"
#include "targets/variance.h"

namespace quantatom {
namespace {

using targets_testing::MakeDim;

AppModel TwoDims() {
  AppModel m;
  m.name = "layer";
  m.dimensions.push_back(MakeDim("Account", {"Total", "G1", "North", "South", "East"},
                                 {{"G1", "Total", 1}, {"North", "G1", 1}, {"South", "G1", 1}, {"East", "Total", 1}}));
  m.dimensions.push_back(MakeDim("Month", {"Year", "Q1", "Jan", "Feb", "Mar", "Only"},
                                 {{"Q1", "Year", 1}, {"Jan", "Q1", 1}, {"Feb", "Q1", 1}, {"Mar", "Year", 1},
                                  {"Mar", "Only", 1}}));
  m.dimensions.push_back(MakeDim("Scenario", {"Actual", "Budget", "Plans"}, {{"Budget", "Plans", 1}}));
  return m;
}

class TargetLayerTest : public ::testing::Test {
 protected:
  TargetLayerTest() : model_(TwoDims()), layer_(&model_, *MakeTargetsConfig(model_, "Scenario", "Budget", "Actual")) {}
  Target T(const std::string& text, double v) { return {*model_.ParseCoordinate(text), v}; }
  AppModel model_;
  TargetLayer layer_;
};

TEST_F(TargetLayerTest, NestedTargetsKnowTheirInnermostContainer) {
  ASSERT_TRUE(layer_.Set(T("Account=Total,Month=Year,Scenario=Budget", 1)).ok());
  ASSERT_TRUE(layer_.Set(T("Account=North,Month=Jan,Scenario=Budget", 1)).ok());
  ASSERT_TRUE(layer_.Set(T("Account=G1,Month=Q1,Scenario=Budget", 1)).ok());
  EXPECT_EQ(layer_.parents(), (std::vector<int>{-1, 2, 0}));
}

TEST_F(TargetLayerTest, SettingTheSameCoordinateReplacesTheTarget) {
  ASSERT_TRUE(layer_.Set(T("Account=G1,Month=Q1,Scenario=Budget", 1)).ok());
  ASSERT_TRUE(layer_.Set(T("Account=G1,Month=Q1,Scenario=Budget", 2)).ok());
  ASSERT_EQ(layer_.targets().size(), 1u);
  EXPECT_EQ(layer_.targets()[0].value, 2);
}

TEST_F(TargetLayerTest, PartlyOverlappingTargetsAreRefused) {
  ASSERT_TRUE(layer_.Set(T("Account=G1,Month=Year,Scenario=Budget", 1)).ok());
  const uint64_t version = layer_.version();
  absl::Status s = layer_.Set(T("Account=Total,Month=Q1,Scenario=Budget", 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("partly overlaps the target at Account=G1"), std::string::npos) << s;
  EXPECT_EQ(layer_.targets().size(), 1u);
  EXPECT_EQ(layer_.version(), version);
}

TEST_F(TargetLayerTest, TargetsOnTheSameLeavesAreRefused) {
  // "Only" has the single leaf Mar: (East, Only) and (East, Mar) cover the same cell.
  ASSERT_TRUE(layer_.Set(T("Account=East,Month=Mar,Scenario=Budget", 1)).ok());
  absl::Status s = layer_.Set(T("Account=East,Month=Only,Scenario=Budget", 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("covers the same leaves"), std::string::npos) << s;
}

TEST_F(TargetLayerTest, DisjointTargetsLiveSideBySide) {
  ASSERT_TRUE(layer_.Set(T("Account=G1,Month=Year,Scenario=Budget", 1)).ok());
  ASSERT_TRUE(layer_.Set(T("Account=East,Month=Year,Scenario=Budget", 1)).ok());
  ASSERT_TRUE(layer_.Set(T("Account=G1,Month=Year,Scenario=Actual", 1)).ok());
  EXPECT_EQ(layer_.parents(), (std::vector<int>{-1, -1, -1}));
}

TEST_F(TargetLayerTest, BadValuesAndBasesAreRefused) {
  EXPECT_EQ(layer_.Set(T("Account=G1,Month=Year,Scenario=Budget", NAN)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(layer_.Set(T("Account=G1,Month=Year,Scenario=Budget", INFINITY)).code(),
            absl::StatusCode::kInvalidArgument);
  Target t = T("Account=G1,Month=Year,Scenario=Plans", 1);
  t.basis = *model_.dimensions[2].Find("Actual");
  EXPECT_EQ(layer_.Set(t).code(), absl::StatusCode::kInvalidArgument);  // target on a consolidated scenario
  t = T("Account=G1,Month=Year,Scenario=Budget", 1);
  t.basis = *model_.dimensions[2].Find("Plans");
  EXPECT_EQ(layer_.Set(t).code(), absl::StatusCode::kInvalidArgument);  // consolidated basis
  t.basis = *model_.dimensions[2].Find("Actual");
  t.method = GuidanceMethod::kEqual;
  EXPECT_EQ(layer_.Set(t).code(), absl::StatusCode::kInvalidArgument);  // basis without proportional
  t = T("Account=G1,Month=Year,Scenario=Budget", 1);
  t.coord[0] = 99;
  EXPECT_EQ(layer_.Set(t).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(layer_.targets().empty());
}

TEST_F(TargetLayerTest, EncodeDecodeRoundTrips) {
  ASSERT_TRUE(layer_.Set(T("Account=Total,Month=Year,Scenario=Budget", 1234.5)).ok());
  Target t = T("Account=G1,Month=Q1,Scenario=Budget", -0.25);
  t.basis = *model_.dimensions[2].Find("Actual");
  ASSERT_TRUE(layer_.Set(t).ok());
  Target e = T("Account=East,Month=Mar,Scenario=Budget", 7);
  e.method = GuidanceMethod::kEqual;
  absl::Status se = layer_.Set(e);
  ASSERT_TRUE(se.ok()) << se;
  const std::string bytes = EncodeTargetLayer(layer_);
  auto back = DecodeTargetLayer(&model_, bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->targets().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->targets()[i].coord, layer_.targets()[i].coord);
    EXPECT_EQ(back->targets()[i].value, layer_.targets()[i].value);
    EXPECT_EQ(back->targets()[i].method, layer_.targets()[i].method);
    EXPECT_EQ(back->targets()[i].basis, layer_.targets()[i].basis);
  }
  EXPECT_EQ(back->config().scenario_dim, 2);
  EXPECT_EQ(back->config().plan, layer_.config().plan);
  EXPECT_EQ(back->parents(), layer_.parents());
  EXPECT_EQ(EncodeTargetLayer(*back), bytes);
}

TEST_F(TargetLayerTest, DamagedBytesAreAClearErrorNeverACrash) {
  ASSERT_TRUE(layer_.Set(T("Account=Total,Month=Year,Scenario=Budget", 1)).ok());
  ASSERT_TRUE(layer_.Set(T("Account=G1,Month=Q1,Scenario=Budget", 2)).ok());
  const std::string bytes = EncodeTargetLayer(layer_);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeTargetLayer(&model_, bytes.substr(0, n));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "truncated to " << n;
  }
  for (size_t i = 0; i < bytes.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = bytes;
      bad[i] ^= static_cast<char>(1 << bit);
      auto r = DecodeTargetLayer(&model_, bad);
      EXPECT_FALSE(r.ok()) << "byte " << i << " bit " << bit;
    }
  EXPECT_EQ(DecodeTargetLayer(&model_, bytes + "x").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(TargetLayerTest, DecodeRefusesBytesOfAnotherModel) {
  ASSERT_TRUE(layer_.Set(T("Account=Total,Month=Year,Scenario=Budget", 1)).ok());
  const std::string bytes = EncodeTargetLayer(layer_);
  AppModel other = TwoDims();
  other.dimensions[0] = MakeDim("Account", {"Everything", "North"}, {{"North", "Everything", 1}});
  auto r = DecodeTargetLayer(&other, bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("no member 'Total'"), std::string::npos) << r.status();
}

TEST(VarianceTest, EmptyIsNotZero) {
  EXPECT_EQ(ComputeVariance(120, 100), (Variance{20, 20}));
  EXPECT_EQ(ComputeVariance(80, -100), (Variance{180, 180}));
  EXPECT_EQ(ComputeVariance(std::nullopt, 100), (Variance{-100, -100}));
  EXPECT_EQ(ComputeVariance(5, std::nullopt), (Variance{5, std::nullopt}));
  EXPECT_EQ(ComputeVariance(5, 0), (Variance{5, std::nullopt}));
  EXPECT_EQ(ComputeVariance(0, 0), (Variance{0, std::nullopt}));
  EXPECT_EQ(ComputeVariance(std::nullopt, std::nullopt), (Variance{}));
}

}  // namespace
}  // namespace quantatom

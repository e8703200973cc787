#include "spread/spread.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

using ::testing::HasSubstr;
using V = std::optional<double>;

std::vector<V> Spread(std::vector<SpreadLeaf> leaves, SpreadMethod m, double amount) {
  auto r = ComputeSpread(leaves, {m, amount});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<V>{};
}

// Jedox Palo's documented cases.
TEST(SpreadTest, ProportionalKeepsTheShape) {
  EXPECT_EQ(Spread({{10.0}, {30.0}, {60.0}}, SpreadMethod::kProportional, 200), (std::vector<V>{20, 60, 120}));
}

TEST(SpreadTest, ProportionalIntoEmptyLeavesSpreadsEqually) {
  EXPECT_EQ(Spread({{}, {}, {}}, SpreadMethod::kProportional, 90), (std::vector<V>{30, 30, 30}));
}

TEST(SpreadTest, HeldLeafKeepsItsValueAndTheRestTakesTheRemainder) {
  auto out = Spread({{20.0, 1, true}, {30.0}, {60.0}}, SpreadMethod::kProportional, 300);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], 20);
  EXPECT_NEAR(*out[1], 280.0 / 3, 1e-12);
  EXPECT_NEAR(*out[2], 560.0 / 3, 1e-12);
}

TEST(SpreadTest, NegativeWeightsKeepTheIdentity) {
  // Net = Revenue - Costs: 100 - 40 = 60; Net := 90 scales both by 1.5.
  auto out = Spread({{100.0, 1}, {40.0, -1}}, SpreadMethod::kProportional, 90);
  EXPECT_EQ(out, (std::vector<V>{150, 60}));
}

TEST(SpreadTest, OtherMethods) {
  EXPECT_EQ(Spread({{1.0}, {}, {3.0, 1, true}}, SpreadMethod::kEqual, 9), (std::vector<V>{3, 3, 3}));
  EXPECT_EQ(Spread({{1.0}, {}, {3.0, 1, true}}, SpreadMethod::kRepeat, 7), (std::vector<V>{7, 7, 3}));
  EXPECT_EQ(Spread({{10.0}, {}, {20.0}}, SpreadMethod::kPercentChange, 10), (std::vector<V>{11, std::nullopt, 22}));
  EXPECT_EQ(Spread({{10.0}, {30.0}}, SpreadMethod::kAdd, 20), (std::vector<V>{15, 45}));
  EXPECT_EQ(Spread({{10.0}, {30.0, 1, true}}, SpreadMethod::kClear, 0), (std::vector<V>{std::nullopt, 30}));
}

TEST(SpreadTest, ImpossibleSpreadsFailWithAReason) {
  auto all_held = ComputeSpread(std::vector<SpreadLeaf>{{1.0, 1, true}}, {SpreadMethod::kProportional, 5});
  EXPECT_EQ(all_held.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(all_held.status().message()), HasSubstr("every leaf below the cell is held"));
  auto zero = ComputeSpread(std::vector<SpreadLeaf>{{std::nullopt, 1}, {std::nullopt, -1}}, {SpreadMethod::kEqual, 5});
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(zero.status().message()), HasSubstr("sum to zero"));
  EXPECT_EQ(ComputeSpread(std::vector<SpreadLeaf>{{1.0}}, {SpreadMethod::kEqual, INFINITY}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ParseSpreadMethod("evenly").status().message()), HasSubstr("unknown spread method 'evenly'"));
}

}  // namespace
}  // namespace quantatom

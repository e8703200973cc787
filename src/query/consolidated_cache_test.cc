#include "query/consolidated_cache.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

AppModel TwoDims() {
  AppModel m;
  DimensionBuilder a("A", DimensionType::kGeneric);
  for (const char* c : {"T", "x", "y"}) EXPECT_TRUE(a.AddMember(c).ok());
  EXPECT_TRUE(a.AddEdge("x", "T", 2).ok());
  EXPECT_TRUE(a.AddEdge("y", "T", -1).ok());
  DimensionBuilder b("B", DimensionType::kGeneric);
  for (const char* c : {"U", "p", "q"}) EXPECT_TRUE(b.AddMember(c).ok());
  EXPECT_TRUE(b.AddEdge("p", "U").ok());
  EXPECT_TRUE(b.AddEdge("q", "U").ok());
  m.dimensions.push_back(*std::move(a).Build());
  m.dimensions.push_back(*std::move(b).Build());
  return m;
}

TEST(ConsolidatedCacheTest, LeafChangeUpdatesEveryCachedAncestorWithItsWeight) {
  AppModel m = TwoDims();
  ConsolidatedCache cache(&m);
  ASSERT_TRUE(cache.enabled());
  MemberId T = 0, x = 1, y = 2, U = 0, p = 1, q = 2;
  cache.Insert(cache.Key({T, U}), 100, 3);
  cache.Insert(cache.Key({x, U}), 10, 1);
  cache.Insert(cache.Key({y, q}), 7, 1);
  cache.ApplyLeafChange({x, p}, 5, 0);
  double s;
  uint32_t n;
  ASSERT_TRUE(cache.Lookup(cache.Key({T, U}), &s, &n));
  EXPECT_EQ(s, 110);  // weight 2
  ASSERT_TRUE(cache.Lookup(cache.Key({x, U}), &s, &n));
  EXPECT_EQ(s, 15);
  ASSERT_TRUE(cache.Lookup(cache.Key({y, q}), &s, &n));
  EXPECT_EQ(s, 7);  // not an ancestor
}

TEST(ConsolidatedCacheTest, DeletionDropsTheTotalsAbove) {
  AppModel m = TwoDims();
  ConsolidatedCache cache(&m);
  cache.Insert(cache.Key({0, 0}), 100, 3);
  cache.Insert(cache.Key({2, 2}), 1, 1);
  cache.ApplyLeafChange({1, 1}, -4, -1);
  double s;
  uint32_t n;
  EXPECT_FALSE(cache.Lookup(cache.Key({0, 0}), &s, &n));
  EXPECT_TRUE(cache.Lookup(cache.Key({2, 2}), &s, &n));
}

TEST(ConsolidatedCacheTest, CompensatedSumsDoNotDriftUnderManySmallDeltas) {
  AppModel m = TwoDims();
  ConsolidatedCache cache(&m);
  cache.Insert(cache.Key({0, 0}), 1e9, 1);
  double exact = 1e9;
  for (int i = 0; i < 100000; ++i) {
    cache.ApplyLeafChange({1, 1}, 0.1, 0);
    exact += 0.2;  // weight 2
  }
  double s;
  uint32_t n;
  ASSERT_TRUE(cache.Lookup(cache.Key({0, 0}), &s, &n));
  EXPECT_NEAR(s, 1e9 + 20000.0, 1e-6);
}

TEST(ConsolidatedCacheTest, InvalidateRegionDropsOnlyOverlappingEntries) {
  AppModel m = TwoDims();
  ConsolidatedCache cache(&m);
  cache.Insert(cache.Key({0, 0}), 1, 1);  // T,U overlaps
  cache.Insert(cache.Key({2, 0}), 1, 1);  // y,U does not (only x touched)
  cache.Insert(cache.Key({1, 2}), 1, 1);  // x,q does not (only p touched)
  uint32_t x = m.dimensions[0].leaf_ordinal(1), p = m.dimensions[1].leaf_ordinal(1);
  cache.InvalidateRegion({{x}, {p}});
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace quantatom

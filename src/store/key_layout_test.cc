#include "store/key_layout.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

TEST(KeyLayoutTest, LargestDimensionTakesTheLowBitsAndPackingRoundTrips) {
  auto k = KeyLayout::Make({3, 10000, 24, 1});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->inner_dim(), 1);
  EXPECT_EQ(k->order(), (std::vector<int>{3, 0, 2, 1}));
  EXPECT_EQ(k->total_bits(), 1 + 2 + 14 + 5);
  uint32_t ords[4] = {2, 9999, 23, 0};
  uint64_t key = k->Pack(ords);
  uint32_t back[4];
  k->Unpack(key, back);
  EXPECT_EQ(std::vector<uint32_t>(back, back + 4), std::vector<uint32_t>(ords, ords + 4));
  EXPECT_EQ(k->Join(k->Prefix(key), 9999), key);
  EXPECT_EQ(k->PrefixGet(k->Prefix(key), 2), 23u);
}

TEST(KeyLayoutTest, SortingByKeyGroupsTheSmallDimensionsFirst) {
  auto k = KeyLayout::Make({100, 3});
  uint32_t a[2] = {99, 0}, b[2] = {0, 1};
  EXPECT_LT(k->Pack(a), k->Pack(b));
}

TEST(KeyLayoutTest, MoreThan64BitsIsRejected) {
  auto k = KeyLayout::Make({(1u << 31) + 1, (1u << 31) + 1, 4});
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("66 bits"), std::string::npos);
}

}  // namespace
}  // namespace quantatom

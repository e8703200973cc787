// VersionVector against hand-worked orders and bytes.
#include "engine/version_vector.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

VersionVector V(std::initializer_list<std::pair<uint64_t, uint64_t>> entries) {
  VersionVector v;
  for (auto [r, c] : entries) v.Set(r, c);
  return v;
}

TEST(VersionVectorTest, ComparesByHappensBefore) {
  EXPECT_EQ(V({{0, 3}}).Compare(V({{0, 3}})), VersionOrder::kEqual);
  EXPECT_EQ(V({{0, 3}}).Compare(V({{0, 4}})), VersionOrder::kBefore);
  EXPECT_EQ(V({{0, 3}, {7, 1}}).Compare(V({{0, 3}})), VersionOrder::kAfter);
  EXPECT_EQ(V({{0, 3}, {7, 1}}).Compare(V({{0, 4}})), VersionOrder::kConcurrent);
  EXPECT_EQ(V({}).Compare(V({{9, 1}})), VersionOrder::kBefore);
  EXPECT_EQ(V({{5, 2}}).Compare(V({{9, 1}})), VersionOrder::kConcurrent);
}

TEST(VersionVectorTest, MergeIsTheEntryWiseMaximum) {
  VersionVector a = V({{0, 5}, {3, 1}});
  a.Merge(V({{0, 2}, {3, 4}, {8, 1}}));
  EXPECT_EQ(a, V({{0, 5}, {3, 4}, {8, 1}}));
  EXPECT_EQ(a.ToString(), "{app:5, 3:4, 8:1}");
  a.Set(3, 0);
  EXPECT_EQ(a.ToString(), "{app:5, 8:1}");
}

TEST(VersionVectorTest, BytesRoundTripAndBadBytesAreRefused) {
  ByteWriter w;
  V({{0, 5}, {3, 1}}).EncodeTo(w);
  std::string bytes = w.Take();
  // u32 count 2, then (0, 5) and (3, 1) as u64 pairs: 4 + 32 bytes.
  ASSERT_EQ(bytes.size(), 36u);
  ByteReader in(bytes, "test");
  VersionVector back;
  ASSERT_TRUE(VersionVector::DecodeFrom(in, &back).ok());
  EXPECT_EQ(back, V({{0, 5}, {3, 1}}));
  // Ids out of order.
  std::string swapped = bytes;
  swapped.replace(4, 16, bytes.substr(20, 16));
  swapped.replace(20, 16, bytes.substr(4, 16));
  ByteReader bad(swapped, "test");
  absl::Status s = VersionVector::DecodeFrom(bad, &back);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(std::string(s.message()).find("not increasing"), std::string::npos) << s;
  ByteReader cut(std::string_view(bytes).substr(0, 30), "test");
  EXPECT_TRUE(absl::IsDataLoss(VersionVector::DecodeFrom(cut, &back)));
}

}  // namespace
}  // namespace quantatom

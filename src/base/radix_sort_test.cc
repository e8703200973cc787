#include "base/radix_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "base/large_allocator.h"

namespace quantatom {
namespace {

struct Row {
  uint64_t key;
  uint32_t payload;  // the position before sorting: tells a stable sort
};

// Against std::stable_sort, for key widths that take one, two and several passes, with
// repeated keys, and for keys all sharing their high digits (passes that move nothing).
TEST(RadixSortTest, SortsLikeAStableSortForEveryKeyWidth) {
  std::mt19937_64 rng(7);
  for (int bits : {1, 8, 11, 12, 22, 23, 40, 64}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{70'000}}) {
      LargeVector<Row> rows(n);
      const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
      for (size_t i = 0; i < n; ++i) rows[i] = {(rng() & mask) & (i % 3 == 0 ? 0xFFF : mask), static_cast<uint32_t>(i)};
      std::vector<Row> want(rows.begin(), rows.end());
      std::stable_sort(want.begin(), want.end(), [](const Row& a, const Row& b) { return a.key < b.key; });
      RadixSortBy(&rows, bits, [](const Row& r) { return r.key; });
      ASSERT_EQ(rows.size(), want.size());
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(rows[i].key, want[i].key) << bits << " bits, n " << n << ", at " << i;
        ASSERT_EQ(rows[i].payload, want[i].payload) << bits << " bits, n " << n << ", at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace quantatom

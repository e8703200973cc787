#include "store/cell_store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace quantatom {
namespace {

KeyLayout Layout() { return *KeyLayout::Make({4, 50, 7}); }

uint64_t Key(const KeyLayout& k, uint32_t a, uint32_t b, uint32_t c) {
  uint32_t o[3] = {a, b, c};
  return k.Pack(o);
}

TEST(CellStoreTest, LoadsGetsAndRejectsDuplicates) {
  CellStore s(Layout());
  const KeyLayout& k = s.layout();
  ASSERT_TRUE(s.Load({{Key(k, 1, 2, 3), 5.0}, {Key(k, 0, 0, 0), -1.5}}).ok());
  EXPECT_EQ(s.Get(Key(k, 1, 2, 3)), CellValue::Number(5));
  EXPECT_EQ(s.Get(Key(k, 0, 0, 0)), CellValue::Number(-1.5));
  EXPECT_TRUE(s.Get(Key(k, 1, 2, 4)).is_empty());
  absl::Status dup = s.Load({{Key(k, 1, 1, 1), 1}, {Key(k, 1, 1, 1), 2}});
  EXPECT_EQ(dup.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.numeric_cells(), 2u);  // unchanged by the failed load
}

TEST(CellStoreTest, EmptyIsDistinctFromZero) {
  CellStore s(Layout());
  const KeyLayout& k = s.layout();
  ASSERT_TRUE(s.Load({{Key(k, 1, 1, 1), 0.0}}).ok());
  EXPECT_EQ(s.Get(Key(k, 1, 1, 1)), CellValue::Number(0));
  s.Set(Key(k, 1, 1, 1), CellValue::Empty());
  EXPECT_TRUE(s.Get(Key(k, 1, 1, 1)).is_empty());
  EXPECT_EQ(s.numeric_cells(), 0u);
}

TEST(CellStoreTest, TextReplacesNumberAndBack) {
  CellStore s(Layout());
  const KeyLayout& k = s.layout();
  ASSERT_TRUE(s.Load({{Key(k, 2, 2, 2), 7.0}}).ok());
  EXPECT_EQ(s.Set(Key(k, 2, 2, 2), CellValue::Text("n/a")), CellValue::Number(7));
  EXPECT_EQ(s.Get(Key(k, 2, 2, 2)), CellValue::Text("n/a"));
  EXPECT_EQ(s.numeric_cells(), 0u);
  EXPECT_EQ(s.Set(Key(k, 2, 2, 2), CellValue::Number(8)), CellValue::Text("n/a"));
  EXPECT_EQ(s.Get(Key(k, 2, 2, 2)), CellValue::Number(8));
  EXPECT_EQ(s.text_cells(), 0u);
}

// Random sets, deletes and compactions against a std::map reference.
TEST(CellStoreTest, MatchesAReferenceMapUnderRandomMutations) {
  CellStore s(Layout());
  const KeyLayout& k = s.layout();
  std::mt19937_64 rng(7);
  std::map<uint64_t, CellValue> ref;
  KeyValues initial;
  for (int i = 0; i < 300; ++i) {
    uint64_t key = Key(k, rng() % 4, rng() % 50, rng() % 7);
    if (ref.count(key)) continue;
    double v = static_cast<double>(rng() % 1000);
    ref[key] = CellValue::Number(v);
    initial.push_back({key, v});
  }
  ASSERT_TRUE(s.Load(initial).ok());
  for (int step = 0; step < 5000; ++step) {
    uint64_t key = Key(k, rng() % 4, rng() % 50, rng() % 7);
    int what = static_cast<int>(rng() % 10);
    CellValue v = what < 5   ? CellValue::Number(static_cast<double>(rng() % 100))
                  : what < 8 ? CellValue::Empty()
                             : CellValue::Text("t" + std::to_string(step));
    CellValue expected_old = ref.count(key) ? ref[key] : CellValue::Empty();
    ASSERT_EQ(s.Set(key, v), expected_old) << "step " << step;
    if (v.is_empty()) ref.erase(key);
    else ref[key] = v;
    if (step % 997 == 0) s.Compact();
  }
  size_t numeric = 0;
  for (auto& [key, v] : ref) {
    ASSERT_EQ(s.Get(key), v);
    numeric += v.is_number();
  }
  EXPECT_EQ(s.numeric_cells(), numeric);
  auto sorted = s.SortedCells();
  ASSERT_EQ(sorted.size(), numeric);
  for (size_t i = 1; i < sorted.size(); ++i) EXPECT_LT(sorted[i - 1].key, sorted[i].key);
}

// More than 65,536 inner leaves: inner ordinals are stored in 32 bits instead of 16.
TEST(CellStoreTest, WideInnerDimensionKeepsFullOrdinals) {
  CellStore s(*KeyLayout::Make({3, 100000}));
  const KeyLayout& k = s.layout();
  std::map<uint64_t, double> ref;
  KeyValues initial;
  for (uint32_t a = 0; a < 100000; a += 7) {
    uint32_t o[2] = {a % 3, a};
    initial.push_back({k.Pack(o), static_cast<double>(a)});
    ref[k.Pack(o)] = a;
  }
  ASSERT_TRUE(s.Load(initial).ok());
  uint32_t o[2] = {1, 99999};
  s.Set(k.Pack(o), CellValue::Number(5));
  ref[k.Pack(o)] = 5;
  s.Compact();
  for (auto& [key, v] : ref) ASSERT_EQ(s.Get(key), CellValue::Number(v));
  uint32_t probe[2] = {2, 70001};  // 70001 & 0xffff would alias 4465 if truncated
  EXPECT_EQ(s.Get(k.Pack(probe)), ref.count(k.Pack(probe)) ? CellValue::Number(ref[k.Pack(probe)]) : CellValue::Empty());
  EXPECT_EQ(s.SortedCells().size(), ref.size());
}

TEST(RadixSortTest, SortsLikeStdSort) {
  std::mt19937_64 rng(3);
  KeyValues v(100000);
  for (auto& kv : v) kv = {rng() & ((uint64_t{1} << 40) - 1), static_cast<double>(rng() % 100)};
  auto expected = v;
  std::stable_sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.key < b.key; });
  RadixSortByKey(&v, 40);
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(v[i].key, expected[i].key);
    ASSERT_EQ(v[i].value, expected[i].value);
  }
}

}  // namespace
}  // namespace quantatom

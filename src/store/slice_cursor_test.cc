#include "store/slice_cursor.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

namespace quantatom {
namespace {

// Every slice of every dimension, over main, delta, deleted and text cells, equals a filter of
// the store's cells sorted by residual key; also over random [lo, hi) windows.
TEST(SliceCursorTest, WalksEverySliceInResidualOrderOnRandomStores) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<uint32_t> counts;
    const int dims = 1 + static_cast<int>(rng() % 4);
    for (int d = 0; d < dims; ++d) counts.push_back(1 + static_cast<uint32_t>(rng() % (trial % 3 == 0 ? 300 : 9)));
    CellStore store(*KeyLayout::Make(counts));
    const KeyLayout& layout = store.layout();
    auto random_key = [&] {
      uint32_t o[8];
      for (int d = 0; d < dims; ++d) o[d] = static_cast<uint32_t>(rng() % counts[d]);
      return layout.Pack(o);
    };
    std::map<uint64_t, std::pair<double, bool>> truth;  // key -> value, text
    KeyValues load;
    for (int i = 0; i < 400; ++i) {
      uint64_t k = random_key();
      if (truth.count(k)) continue;
      double v = static_cast<double>(rng() % 100);
      truth[k] = {v, false};
      load.push_back({k, v});
    }
    ASSERT_TRUE(store.Load(std::move(load)).ok());
    for (int i = 0; i < 120; ++i) {  // deletes, delta cells, text cells, in-place updates
      uint64_t k = random_key();
      switch (rng() % 4) {
        case 0: store.Set(k, CellValue::Empty()); truth.erase(k); break;
        case 1: store.Set(k, CellValue::Text("t")); truth[k] = {0.0, true}; break;
        default: {
          double v = static_cast<double>(rng() % 100);
          store.Set(k, CellValue::Number(v));
          truth[k] = {v, false};
        }
      }
    }
    for (int d = 0; d < dims; ++d)
      for (uint32_t o = 0; o < counts[d]; o += 1 + counts[d] / 7) {
        std::vector<SliceExtra> extras = SliceExtras(store, d, o);
        for (int window = 0; window < 4; ++window) {
          uint64_t lo = 0, hi = SliceCursor::kEnd;
          if (window > 0) {
            lo = SliceCursor::Residual(layout, d, random_key());
            hi = SliceCursor::Residual(layout, d, random_key());
            if (lo > hi) std::swap(lo, hi);
          }
          std::vector<std::tuple<uint64_t, double, bool>> want, got;
          for (auto& [k, v] : truth) {
            const uint64_t r = SliceCursor::Residual(layout, d, k);
            if (layout.Get(k, d) == o && r >= lo && r < hi) want.emplace_back(r, v.first, v.second);
          }
          std::sort(want.begin(), want.end());
          for (SliceCursor c(store, d, o, &extras, lo, hi); c.residual() != SliceCursor::kEnd; c.Next())
            got.emplace_back(c.residual(), c.value(), c.text());
          ASSERT_EQ(got, want) << "trial " << trial << " dim " << d << " ordinal " << o << " window " << window;
        }
      }
  }
}

// A bulk sorted update equals the same changes made one Set at a time, with few and with many
// new cells (the second merges them, the delta and the deleted set into main in one rebuild).
TEST(CellStoreTest, ApplySortedEqualsSetPerCell) {
  std::mt19937_64 rng(11);
  for (int n : {50, 5000, 200000}) {
    KeyLayout layout = *KeyLayout::Make({16, 300, 90});
    CellStore bulk(layout), single(layout);
    KeyValues load;
    std::map<uint64_t, double> first;
    for (int i = 0; i < 100000; ++i) first[rng() % (16 * 512 * 128)] = static_cast<double>(rng() % 9);
    for (auto& [k, v] : first)
      if (layout.Get(k, 0) < 16 && layout.Get(k, 1) < 300 && layout.Get(k, 2) < 90) load.push_back({k, v});
    KeyValues copy = load;
    ASSERT_TRUE(bulk.Load(std::move(load)).ok());
    ASSERT_TRUE(single.Load(std::move(copy)).ok());
    bulk.Set(layout.Pack(std::array<uint32_t, 3>{1, 1, 1}.data()), CellValue::Text("x"));
    single.Set(layout.Pack(std::array<uint32_t, 3>{1, 1, 1}.data()), CellValue::Text("x"));
    // Some cells already in the delta and the deleted set before the batch.
    for (int i = 0; i < 3000; ++i) {
      uint32_t o[3] = {static_cast<uint32_t>(rng() % 16), static_cast<uint32_t>(rng() % 300), static_cast<uint32_t>(rng() % 90)};
      const CellValue v = rng() % 3 == 0 ? CellValue::Empty() : CellValue::Number(static_cast<double>(rng() % 7));
      bulk.Set(layout.Pack(o), v);
      single.Set(layout.Pack(o), v);
    }
    std::map<uint64_t, CellStore::SortedUpdate> updates;
    for (int i = 0; i < n; ++i) {
      uint32_t o[3] = {static_cast<uint32_t>(rng() % 16), static_cast<uint32_t>(rng() % 300), static_cast<uint32_t>(rng() % 90)};
      if (i == 0) o[0] = o[1] = o[2] = 1;
      const uint64_t k = layout.Pack(o);
      updates[k] = {k, static_cast<double>(rng() % 9) - 4, rng() % 4 == 0};
    }
    std::vector<CellStore::SortedUpdate> sorted;
    for (auto& [k, u] : updates) {
      sorted.push_back(u);
      single.Set(k, u.erase ? CellValue::Empty() : CellValue::Number(u.value));
    }
    // As two interleaving streams (by the parity of the key's first field), each in three
    // consecutive pieces, as parallel producers hand them over.
    std::vector<CellStore::SortedUpdate> by_parity[2];
    for (const auto& u : sorted) by_parity[layout.Get(u.key, 0) % 2].push_back(u);
    std::vector<CellStore::SortedStream> streams(2);
    for (int p = 0; p < 2; ++p) {
      const std::span<const CellStore::SortedUpdate> all(by_parity[p]);
      const size_t third = all.size() / 3;
      streams[p] = {all.subspan(0, third), all.subspan(third, third), all.subspan(2 * third)};
    }
    bulk.ApplySorted(streams);
    KeyValues a = bulk.SortedCells(), b = single.SortedCells();
    ASSERT_EQ(a.size(), b.size()) << n;
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].key, b[i].key);
      ASSERT_EQ(a[i].value, b[i].value);
    }
    EXPECT_EQ(bulk.text_cells(), single.text_cells());
  }
}

}  // namespace
}  // namespace quantatom

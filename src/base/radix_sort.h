// Least-significant-digit radix sort of records by an unsigned integer key: for the bulk paths
// that put millions of cells in key order (a 1M-cell write, its undo), where a comparison sort
// costs several times more. Stable.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace quantatom {

// Sorts `items` (a vector-like container of records, constructible with a size) by
// `key_of(record)`, of which only the `key_bits` low bits may be set, 11 bits per pass; a
// pass whose digit is the same for every record moves nothing.
template <typename Container, typename KeyOf>
void RadixSortBy(Container* items, int key_bits, KeyOf key_of) {
  constexpr int kDigitBits = 11;
  constexpr size_t kBuckets = size_t{1} << kDigitBits;
  if (std::is_sorted(items->begin(), items->end(),
                     [&](const auto& a, const auto& b) { return key_of(a) < key_of(b); }))
    return;
  Container tmp(items->size());
  Container* from = items;
  Container* to = &tmp;
  std::vector<size_t> count(kBuckets);
  for (int shift = 0; shift < key_bits; shift += kDigitBits) {
    std::fill(count.begin(), count.end(), 0);
    for (const auto& r : *from) ++count[(static_cast<uint64_t>(key_of(r)) >> shift) & (kBuckets - 1)];
    if (std::count(count.begin(), count.end(), from->size()) == 1) continue;
    size_t sum = 0;
    for (size_t& c : count) c = std::exchange(sum, sum + c);
    auto* out = to->data();
    for (const auto& r : *from) out[count[(static_cast<uint64_t>(key_of(r)) >> shift) & (kBuckets - 1)]++] = r;
    std::swap(from, to);
  }
  if (from != items) items->swap(*from);
}

}  // namespace quantatom

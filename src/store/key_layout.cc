#include "store/key_layout.h"

#include <algorithm>
#include <bit>
#include <numeric>
#include "base/strings.h"


namespace quantatom {

absl::StatusOr<KeyLayout> KeyLayout::Make(const std::vector<uint32_t>& leaf_counts) {
  KeyLayout k;
  const int n = static_cast<int>(leaf_counts.size());
  if (n == 0) return absl::InvalidArgumentError("an app needs at least one dimension");
  k.leaf_counts_ = leaf_counts;
  k.bits_.resize(n);
  for (int d = 0; d < n; ++d) {
    if (leaf_counts[d] == 0) return absl::InvalidArgumentError(StrCat("dimension ", d, " has no leaf"));
    // At least one bit, so that every dimension has a place in the key.
    k.bits_[d] = std::max(1, static_cast<int>(std::bit_width(leaf_counts[d] - 1)));
    k.total_bits_ += k.bits_[d];
  }
  if (k.total_bits_ > 64)
    return absl::InvalidArgumentError(StrCat("the dimensions need ", k.total_bits_,
                                                   " bits of cell key; at most 64 are supported"));
  k.order_.resize(n);
  std::iota(k.order_.begin(), k.order_.end(), 0);
  std::stable_sort(k.order_.begin(), k.order_.end(), [&](int a, int b) { return leaf_counts[a] < leaf_counts[b]; });
  k.shift_.resize(n);
  k.mask_.resize(n);
  int shift = 0;
  for (auto it = k.order_.rbegin(); it != k.order_.rend(); ++it) {
    k.shift_[*it] = shift;
    k.mask_[*it] = k.bits_[*it] == 64 ? ~uint64_t{0} : ((uint64_t{1} << k.bits_[*it]) - 1);
    shift += k.bits_[*it];
  }
  return k;
}

}  // namespace quantatom

// Packing a leaf coordinate into one 64-bit key.
//
// Every dimension gets just enough bits for its leaf ordinals. Dimensions are laid out from the
// high bits to the low bits by increasing leaf count, so the dimension with the most leaves
// (usually the account chart) takes the lowest bits: it is the "inner" dimension of the cell
// store, and the remaining high bits form the run prefix (see cell_store.h). Sorting keys then
// groups cells by the small dimensions first, which makes runs long and keeps the filters of
// typical grids (one scenario, a few periods) to a few contiguous ranges.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace quantatom {

class KeyLayout {
 public:
  KeyLayout() = default;
  // `leaf_counts[d]` = number of leaves of dimension d (in app order). InvalidArgument if the
  // dimensions need more than 64 bits together, or a dimension has no leaf.
  static absl::StatusOr<KeyLayout> Make(const std::vector<uint32_t>& leaf_counts);

  int dims() const { return static_cast<int>(shift_.size()); }
  uint32_t leaf_count(int dim) const { return leaf_counts_[dim]; }
  // Dimensions from the highest bits to the lowest; the last one is the inner dimension.
  const std::vector<int>& order() const { return order_; }
  int inner_dim() const { return order_.back(); }
  int inner_bits() const { return bits_[order_.back()]; }
  int total_bits() const { return total_bits_; }
  int shift(int dim) const { return shift_[dim]; }
  int bits(int dim) const { return bits_[dim]; }

  // `ordinals[d]` = leaf ordinal in dimension d, in app order.
  uint64_t Pack(const uint32_t* ordinals) const {
    uint64_t key = 0;
    for (int d = 0; d < dims(); ++d) key |= static_cast<uint64_t>(ordinals[d]) << shift_[d];
    return key;
  }
  uint32_t Get(uint64_t key, int dim) const {
    return static_cast<uint32_t>((key >> shift_[dim]) & mask_[dim]);
  }
  void Unpack(uint64_t key, uint32_t* ordinals) const {
    for (int d = 0; d < dims(); ++d) ordinals[d] = Get(key, d);
  }
  // The key without the inner dimension, and the key of (prefix, inner ordinal).
  uint64_t Prefix(uint64_t key) const { return key >> inner_bits(); }
  uint64_t Join(uint64_t prefix, uint32_t inner) const { return (prefix << inner_bits()) | inner; }
  // Ordinal of `dim` (not the inner one) inside a prefix.
  uint32_t PrefixGet(uint64_t prefix, int dim) const {
    return static_cast<uint32_t>((prefix >> (shift_[dim] - inner_bits())) & mask_[dim]);
  }

 private:
  std::vector<uint32_t> leaf_counts_;
  std::vector<int> order_;
  std::vector<int> bits_;
  std::vector<int> shift_;
  std::vector<uint64_t> mask_;
  int total_bits_ = 0;
};

}  // namespace quantatom

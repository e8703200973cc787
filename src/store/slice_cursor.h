// SliceCursor: the cells of one member of one dimension (a *slice*), in key order, read by an
// ordered walk of the store instead of one key lookup per cell.
//
// A slice's cells share the dimension's ordinal, so with that field of the key cleared (the
// *residual* key) they keep their key order. Two slices of the same dimension are therefore
// aligned: walking both in residual order visits the cells that differ only in that dimension
// together, which is how formulas read their inputs (Budget - Actual: one walk of each
// scenario's slice, merged). The walk costs one pass over the slice's runs plus a short search
// per gap between them (galloping over the sorted run prefixes), whichever dimension it is:
//   - the highest dimension of the key: one contiguous stretch of runs;
//   - a middle dimension: the runs whose prefix has the ordinal, found by skipping;
//   - the inner dimension: at most one cell per run, found by a search inside each run.
// Delta cells and text cells of the slice (few) are collected once per slice (SliceExtras) and
// merged into the walk; deleted main cells are skipped.
//
// Valid until the store changes. Not thread-safe per cursor; many cursors may read one store.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "store/cell_store.h"

namespace quantatom {

// A cell of a slice outside main: a delta number or a text cell.
struct SliceExtra {
  uint64_t residual;
  double value;  // the number; 0 for text
  bool text;
};

// The delta and text cells of the slice (dim, ordinal), sorted by residual key.
std::vector<SliceExtra> SliceExtras(const CellStore& store, int dim, uint32_t ordinal);

class SliceCursor {
 public:
  static constexpr uint64_t kEnd = std::numeric_limits<uint64_t>::max();

  // The cells of slice (dim, ordinal) whose residual key is in [lo, hi). `extras` must be
  // SliceExtras of the same slice and outlive the cursor.
  SliceCursor(const CellStore& store, int dim, uint32_t ordinal, const std::vector<SliceExtra>* extras,
              uint64_t lo = 0, uint64_t hi = kEnd);

  // Residual key of the current cell, or kEnd when the walk is over.
  uint64_t residual() const { return cur_; }
  double value() const { return value_; }
  bool text() const { return text_; }
  void Next();

  // The residual key of a full key for dimension `dim`, and back.
  static uint64_t Residual(const KeyLayout& layout, int dim, uint64_t key) {
    return key & ~(FieldMask(layout, dim) << layout.shift(dim));
  }
  static uint64_t WithOrdinal(const KeyLayout& layout, int dim, uint64_t residual, uint32_t ordinal) {
    return residual | (static_cast<uint64_t>(ordinal) << layout.shift(dim));
  }
  static uint64_t FieldMask(const KeyLayout& layout, int dim) {
    return layout.bits(dim) >= 64 ? ~uint64_t{0} : (uint64_t{1} << layout.bits(dim)) - 1;
  }

 private:
  // Moves the main walk to the next cell of the slice at or after (run_, pos_); sets main_key_.
  void SettleMain();
  // First run at or after `from` whose prefix is >= `prefix` (galloping).
  size_t SeekRun(size_t from, uint64_t prefix) const;
  void Pick();

  const CellStore& store_;
  const KeyLayout& layout_;
  const int dim_;
  const uint32_t ordinal_;
  const bool inner_;       // the slice's dimension is the store's inner dimension
  const uint64_t hi_;
  int prefix_shift_ = 0;   // the dimension's field inside a run prefix (not inner)
  uint64_t prefix_mask_ = 0;
  const bool check_deleted_;
  // Main walk.
  size_t runs_;
  size_t run_ = 0, pos_ = 0, run_end_ = 0;
  size_t first_run_ = 0, first_pos_ = 0;  // where [lo, ...) starts
  uint64_t run_residual_ = 0;  // the current run's prefix, field cleared, shifted into key position
  uint64_t main_res_ = kEnd;
  // Extras walk.
  const std::vector<SliceExtra>* extras_;
  size_t extra_ = 0;
  // Current cell.
  uint64_t cur_ = kEnd;
  double value_ = 0;
  bool text_ = false;
  bool from_main_ = false;
};

}  // namespace quantatom

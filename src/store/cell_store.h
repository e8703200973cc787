// CellStore: the leaf cells of one app, in memory, in a compact sorted columnar layout.
//
// Cells are keyed by a packed 64-bit key (key_layout.h). The bulk of them live in the *main*
// part, sorted by key and split into runs: a run is a maximal group of cells that share every
// coordinate but the inner dimension's. Per run we keep its prefix (8 bytes) and start offset
// (4 bytes); per cell only the inner ordinal (2 bytes when the inner dimension has at most
// 65,536 leaves, else 4) and the value (8 bytes). On a typical planning data set a run holds
// 10-20 cells, so a numeric cell costs about 11 bytes, indexes included: the sorted prefixes are the index (binary search for a point, contiguous ranges
// for a filter on the leading dimensions).
//
// Changing the value of an existing cell is done in place. A new cell goes to a small *delta*
// hash map and a deleted main cell is zeroed and remembered in a *deleted* set; Compact() merges
// both into main when they grow past a fraction of it. Text cells live in their own map (they
// are rare and never summed).
//
// Stored numbers are never -0.0 (it is stored as +0.0): the scan uses -0.0 as the "no cell
// yet" mark of a total (query/consolidate.cc, CountMode).
//
// Not thread-safe: the owner (engine/cube.h) serialises writers and excludes readers while it
// writes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/large_allocator.h"
#include "model/cell_value.h"
#include "store/key_layout.h"

namespace quantatom {

struct KeyValue {
  uint64_t key;
  double value;
};
using KeyValues = LargeVector<KeyValue>;

class CellStore {
 public:
  explicit CellStore(KeyLayout layout)
      : layout_(std::move(layout)), narrow_(layout_.leaf_count(layout_.inner_dim()) <= 65536) {}

  const KeyLayout& layout() const { return layout_; }

  // Replaces every numeric cell with `cells` (any order). InvalidArgument naming the key if a
  // key appears twice; the store is unchanged then. Text cells are kept.
  absl::Status Load(KeyValues cells);
  // The same from two columns already in strictly increasing key order, as a snapshot keeps
  // them (engine/data_folder.h): `keys` and `values` hold `n` uint64 / double each, in host
  // byte order at any alignment (read in place, no copy of the pairs). InvalidArgument naming
  // the position unless the keys strictly increase; the store is unchanged then.
  absl::Status LoadSorted(const char* keys, const char* values, size_t n);

  CellValue Get(uint64_t key) const;
  // Sets one cell (empty deletes it) and returns its previous value.
  CellValue Set(uint64_t key, const CellValue& value);

  size_t numeric_cells() const { return values_.size() - deleted_.size() + delta_.size(); }
  size_t text_cells() const { return text_.size(); }
  size_t run_count() const { return run_prefix_.size(); }
  // Heap bytes held by the store (capacity, not size).
  size_t MemoryBytes() const;

  // Applies a batch sorted by key, each key at most once: a number sets the cell, `erase`
  // removes it; a text cell at such a key is removed. One ordered pass finds the main slots
  // (no lookup per cell), and when many cells are new they are merged into main in one rebuild
  // instead of going through the delta. For bulk results (formula recalculation).
  struct SortedUpdate {
    uint64_t key;
    double value;
    bool erase;
  };
  // Large batches are best kept in lazily mapped huge pages (base/large_allocator.h).
  using SortedUpdates = std::vector<SortedUpdate, LazyAllocator<SortedUpdate>>;
  void ApplySorted(std::span<const SortedUpdate> updates);
  // The same for a batch given as several sorted streams that may interleave (no key in two of
  // them), each in consecutive pieces (each sorted, each after the one before), as parallel
  // producers leave it: merged on the fly, no copy into one list.
  using SortedStream = std::vector<std::span<const SortedUpdate>>;
  void ApplySorted(std::span<const SortedStream> streams);

  // Merges the delta and the deleted set into main. Called automatically by Set when they grow
  // past max(64k, main/32) entries.
  void Compact();

  // --- Scan access for the query layer (query/consolidate.h). Valid until the next mutation. ---
  std::span<const uint64_t> run_prefixes() const { return run_prefix_; }
  // run_count() + 1 offsets into the inner ordinals and values().
  std::span<const uint32_t> run_starts() const { return run_start_; }
  // Inner ordinal of main position `pos`.
  uint32_t inner_at(size_t pos) const { return narrow_ ? inner16_[pos] : inner32_[pos]; }
  // Calls fn(const T* inner_ordinals) with T = uint16_t or uint32_t, whichever the store uses,
  // so that scan loops are compiled for each width.
  template <typename Fn>
  decltype(auto) VisitInner(Fn&& fn) const {
    return narrow_ ? fn(inner16_.data()) : fn(inner32_.data());
  }
  std::span<const double> values() const { return values_; }
  // Main values may be updated in place (bulk scaling); a deleted main cell holds 0.
  std::span<double> mutable_values() { return values_; }
  const absl::flat_hash_set<uint64_t>& deleted() const { return deleted_; }
  const absl::flat_hash_map<uint64_t, double>& delta() const { return delta_; }
  absl::flat_hash_map<uint64_t, double>& mutable_delta() { return delta_; }
  const absl::flat_hash_map<uint64_t, std::string>& texts() const { return text_; }
  // Position of `key` in main (deleted or not), or -1.
  int64_t FindMain(uint64_t key) const;
  // Key of main position `pos` whose run is `run`.
  uint64_t MainKey(size_t run, size_t pos) const { return layout_.Join(run_prefix_[run], inner_at(pos)); }
  // Index of the run holding main position `pos`.
  size_t RunOf(size_t pos) const;

  // Every numeric cell (main minus deleted, plus delta), in key order. For tests and snapshots.
  KeyValues SortedCells() const;

 private:
  // The one builder of main (load, compaction, bulk merge). Main becomes the merge, in key
  // order, of its present cells except the positions `drop` marks (none of them when `keep`
  // is false) with the cells `next` yields (bool next(KeyValue*), increasing keys none of which
  // is a kept main key): `n` cells in all, written once into arrays of their final size.
  template <typename Next>
  void RebuildMain(bool keep, const std::vector<bool>* drop, size_t n, Next&& next);
  KeyValues SortedDelta() const;

  KeyLayout layout_;
  LargeVector<uint64_t> run_prefix_;
  LargeVector<uint32_t> run_start_{0};
  bool narrow_;  // inner ordinals fit 16 bits
  LargeVector<uint16_t> inner16_;
  LargeVector<uint32_t> inner32_;
  LargeVector<double> values_;
  absl::flat_hash_set<uint64_t> deleted_;
  absl::flat_hash_map<uint64_t, double> delta_;
  absl::flat_hash_map<uint64_t, std::string> text_;
};

// Sorts by key over the `key_bits` low bits (base/radix_sort.h's RadixSortBy).
void RadixSortByKey(KeyValues* cells, int key_bits);

}  // namespace quantatom

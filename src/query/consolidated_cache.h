// A cache of consolidated cell totals that stays exact under writes.
//
// Entries are keyed by the member coordinate packed into 64 bits (each dimension gets the bits
// of its member count; apps that need more run without the cache). A write does not drop the
// cache: the change of a leaf cell is added, times its path weight, to every cached total above
// it, so the next read of any affected total is a lookup. Totals are kept as compensated sums
// (Kahan-Babuska), so a long series of small deltas does not drift from a fresh computation by
// more than the rounding of that computation itself.
//
// Bulk changes (a spread over 100,000 leaves) would cost more to propagate than to recompute;
// for them the owner calls InvalidateRegion, which drops only the entries that overlap the
// changed region.
//
// Not thread-safe; engine/cube.h guards it.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/app_model.h"

namespace quantatom {

class ConsolidatedCache {
 public:
  explicit ConsolidatedCache(const AppModel* model, size_t capacity = 1 << 20);

  bool enabled() const { return enabled_; }
  size_t size() const { return entries_.size(); }
  void Clear() { entries_.clear(); }

  uint64_t Key(const Coordinate& coord) const;

  // True and the total (count 0 = empty) if `coord` is cached.
  bool Lookup(uint64_t key, double* sum, uint32_t* count) const;
  // Inserts or replaces. When full, the cache is cleared first (planning sessions re-read the
  // same views, which refill it at once).
  void Insert(uint64_t key, double sum, uint32_t count);

  // The leaf cell at `leaf` (leaf members, one per dimension) changed by `delta`; `dcount` is
  // +1 if it was created, -1 if it was deleted, 0 otherwise. A deletion drops the entries above
  // the leaf instead: counts may include a leaf once per path, so only a recount can tell
  // whether a total became empty.
  void ApplyLeafChange(const Coordinate& leaf, double delta, int dcount);

  // Drops every entry whose member in each dimension d has a leaf in `touched[d]` (leaf
  // ordinals touched by a bulk change, repeats allowed). An empty `touched[d]` means "any leaf"
  // is not assumed: pass the real sets.
  void InvalidateRegion(const std::vector<std::vector<uint32_t>>& touched);

 private:
  struct Entry {
    double sum;
    double compensation;
    uint32_t count;
  };
  static void AddCompensated(Entry& e, double x);

  const AppModel* model_;
  size_t capacity_;
  bool enabled_ = true;
  std::vector<int> shift_;
  std::vector<uint64_t> mask_;
  absl::flat_hash_map<uint64_t, Entry> entries_;
};

}  // namespace quantatom

// Cube: one app at run time. It owns the model, the leaf cells and the cache of consolidated
// totals, and is the one object the command line, the benchmark and (later) the server talk to.
//
// Reads (grids, single cells) may run concurrently with each other; writes are serialised and
// exclude reads, so a read sees either all of a write batch or none of it, and a read right
// after a write sees every total it affects (the cache is updated inside the write).
//
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "model/app_model.h"
#include "model/cell_value.h"
#include "query/consolidated_cache.h"
#include "engine/history.h"
#include "query/grid.h"
#include "spread/spread.h"
#include "store/cell_store.h"

namespace quantatom {

struct CellWrite {
  Coordinate coord;  // leaf members
  CellValue value;   // empty clears the cell
};

struct CubeStats {
  size_t numeric_cells = 0;
  size_t text_cells = 0;
  size_t runs = 0;
  size_t store_bytes = 0;
  size_t cache_entries = 0;
  int key_bits = 0;
};

class Cube {
 public:
  // InvalidArgument if the dimensions do not fit a 64-bit cell key.
  static absl::StatusOr<std::unique_ptr<Cube>> Create(AppModel model);

  const AppModel& model() const { return model_; }

  // Replaces every cell. `numeric` are packed keys (see PackLeaf); InvalidArgument on a key
  // given twice, and nothing changes then.
  absl::Status Load(KeyValues numeric, std::vector<std::pair<uint64_t, std::string>> texts = {});
  uint64_t PackLeaf(const Coordinate& leaf) const;
  const KeyLayout& layout() const { return store_.layout(); }

  struct ReadOptions {
    bool use_cache = true;
    bool parallel = true;
  };
  absl::StatusOr<Grid> Query(const GridQuery& query, const ReadOptions& options) const;
  absl::StatusOr<Grid> Query(const GridQuery& query) const { return Query(query, ReadOptions{}); }
  // One cell at any level.
  absl::StatusOr<CellValue> ReadCell(const Coordinate& coord, const ReadOptions& options) const;
  absl::StatusOr<CellValue> ReadCell(const Coordinate& coord) const { return ReadCell(coord, ReadOptions{}); }
  // Totals over the cross product of per-dimension member lists (the upper cube, reports).
  absl::StatusOr<DenseTotals> Consolidate(std::vector<std::vector<MemberId>> targets, bool parallel = true) const;

  // Writes leaf cells, all or nothing: InvalidArgument naming the first bad write (not a leaf,
  // wrong arity, non-finite number) and nothing changes. One change set of `user`.
  absl::Status Write(const std::vector<CellWrite>& batch, const std::string& user = "");
  // Multiplies every numeric leaf cell under `region` (any level) by `factor`; returns how many
  // cells changed. A maintenance primitive, not a user action: it records no change set and
  // cannot be undone (users spread; Spread records what it changes).
  absl::StatusOr<size_t> ScaleLeaves(const Coordinate& region, double factor);

  // Spreads into any cell (spread/spread.h has the methods): the leaves under `target` take
  // the request, leaves under any of `holds` keep their value, text cells are never changed.
  // All or nothing: FailedPrecondition (nothing changed) when the spread cannot reach its
  // value, or when it would have to fill more than `max_leaves` leaves. Returns how many
  // leaf cells changed. A leaf target is a single write.
  absl::StatusOr<size_t> Spread(const Coordinate& target, const SpreadRequest& request,
                                const std::vector<Coordinate>& holds = {}, const std::string& user = "",
                                size_t max_leaves = 1'000'000);

  // Undoes `user`'s newest change set (or redoes the last one undone) and returns its id.
  // NotFound when there is nothing to undo; Aborted, naming a cell, when a later change set
  // touched the same cells (nothing changes then). A load clears the history.
  absl::StatusOr<uint64_t> Undo(const std::string& user);
  absl::StatusOr<uint64_t> Redo(const std::string& user);
  std::vector<ChangeSet> History() const;

  void DropCache();
  CubeStats Stats() const;

  // Calls `fn(const CellStore&)` under the read lock (snapshots).
  template <typename Fn>
  auto WithStore(Fn&& fn) const {
    std::shared_lock lock(mu_);
    return fn(store_);
  }

  // Grows with every change of the cells (load, write, spread, rescale, undo, redo), so that a
  // layer derived from them (targets guidance) can tell it is stale. Read it under WithStore to
  // pair it with the cells it describes.
  uint64_t data_version() const { return data_version_.load(std::memory_order_acquire); }

 private:
  Cube(AppModel model, KeyLayout layout);
  absl::Status ValidateCoordinate(const Coordinate& coord, bool leaf_only) const;
  // Apply validated leaf writes, keep the cache exact, and return the changes. Require mu_
  // held exclusively.
  ChangeList ApplyLocked(const std::vector<CellWrite>& batch);
  ChangeList ApplyKeyedLocked(const std::vector<std::pair<uint64_t, CellValue>>& batch);
  void InvalidateRegionLocked(const Coordinate& region);
  static ChangeList ScaledChanges(const LargeVector<std::pair<uint64_t, double>>& before, double factor);
  absl::StatusOr<uint64_t> UndoOrRedo(const std::string& user, bool undo);
  absl::StatusOr<uint64_t> UndoOrRedoLocked(const ChangeSet& set, bool undo);
  Coordinate LeafOfKey(uint64_t key) const;

  const AppModel model_;
  mutable std::shared_mutex mu_;  // guards store_; writers exclusive
  CellStore store_;
  quantatom::History history_;  // guarded by mu_
  mutable std::mutex cache_mu_;  // guards cache_ (readers fill it)
  mutable ConsolidatedCache cache_;
  std::atomic<uint64_t> data_version_{0};  // bumped under mu_ held exclusively
};

}  // namespace quantatom

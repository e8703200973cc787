// Sandbox: a user's private, copy-on-write layer over an app (a Cube), to try a plan out and
// then commit it to the app or throw it away. docs/sandboxes.md has the rules.
//
//   Sandbox sb(cube.get(), "ann");
//   QA_RETURN_IF_ERROR(sb.Write({{leaf, CellValue::Number(120)}}));
//   QA_ASSIGN_OR_RETURN(Grid g, sb.Query(q));   // the sandbox's cells over the app's
//   QA_ASSIGN_OR_RETURN(SandboxCommit c, sb.Commit(ConflictPolicy::kAbort));
//
// What it holds: only the leaf cells the sandbox changed (numbers, text, and empties that hide
// an app's value), the "overlay", never a copy of the app. Reads compute the app's value and
// correct it by the overlay: a total is the app's total plus, for each overlay cell below it,
// weight x (sandbox value - app value). Cells the sandbox did not change show the app as it is
// now, other users' later changes included.
//
// Versions: vector clocks (engine/version_vector.h; docs/durability.md "Vector clocks"). The
// sandbox is a replica of the app's data with its own replica id; each of its changes (a
// write, a spread, a merge of another sandbox) ticks its own counter and takes in the app's
// clock at the version its inputs were read at. Each overlay cell carries the vector its value
// derives from: the app part from the sandbox's first change of it (what it saw then), the own
// counter from its latest change. Commit compares, per cell, that vector with the app's newest
// change of the cell: the app's change happened before it (apply), already saw it (superseded:
// skipped), or is concurrent (a conflict, handled by the policy). MergeFrom does the same
// between two sandboxes.
//
// Formulas: the sandbox's view shows the app's formulas computed from the sandbox's own
// inputs. Formula cells are derived, never entered: the overlay holds what the user changed,
// and a second map beside it the leaf-level formula cells recomputed over that view (only
// the readers of the changed cells, as a write in the app recomputes them). It is kept up to
// date by every change of the sandbox and rebuilt on the first read after the app's cells or
// formulas changed. Commit carries the entered cells only; the app recomputes its formulas
// from them. Consolidated-level formulas (ratios) are evaluated at read over the view.
//
// Errors are the Cube's: the same checks and messages for writes and spreads, and nothing
// changes on an error. After Commit or Discard every call fails with FailedPrecondition.
// There is no undo inside a sandbox (discard it, or undo the commit in the app).
//
// Thread-safety: thread-safe. Reads run concurrently with each other, writes exclude them
// (a lock per sandbox, always taken before the cube's). Any number of sandboxes, of any users,
// may be open over one cube at once; each holds a pointer to the cube, which must outlive it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "base/large_allocator.h"
#include "engine/cell_versions.h"
#include "engine/cube.h"

namespace quantatom {

struct SandboxCommit {
  uint64_t change_set = 0;  // the app's change set (Cube::Undo(user) takes it back)
  size_t written = 0;       // cells written to the app
  std::vector<WriteConflict> conflicts;  // overwritten (keep mine) or skipped (keep theirs)
  size_t superseded = 0;    // cells skipped: the app's newest change already saw them
};

// What Sandbox::MergeFrom did to the receiving sandbox.
struct SandboxMerge {
  size_t written = 0;     // cells taken from the other sandbox (fast-forward, or kKeepMine)
  size_t superseded = 0;  // cells the receiver already had, or a causally later value of
  // Cells changed concurrently on both sides; `current` is the receiver's value, `mine` the
  // other sandbox's, `change.action` says where the receiver's value came from.
  std::vector<WriteConflict> conflicts;
};

class Sandbox {
 public:
  // Opens an empty sandbox of `user` over `cube` (not owned; must outlive the sandbox), as
  // replica `replica` (0: a random id below 2^53; tests and nodes give their own). It forks at
  // the app's clock now.
  Sandbox(Cube* cube, std::string user, uint64_t replica = 0);
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& user() const { return user_; }

  // Reads as Cube::Query and Cube::ReadCell do, through the sandbox.
  absl::StatusOr<Grid> Query(const GridQuery& query, const Cube::ReadOptions& options = {}) const;
  absl::StatusOr<CellValue> ReadCell(const Coordinate& coord) const;

  // Writes leaf cells into the sandbox, all or nothing, with Cube::Write's checks and errors.
  absl::Status Write(const std::vector<CellWrite>& batch);
  // Spreads into any cell of the sandbox's view, as Cube::Spread does (methods, holds, text
  // cells never changed, the same errors). Returns how many leaf cells changed value.
  absl::StatusOr<size_t> Spread(const Coordinate& target, const SpreadRequest& request,
                                const std::vector<Coordinate>& holds = {}, size_t max_leaves = 1'000'000);

  // The overlay cells the app changed after the sandbox's version of them, with the app's
  // value now and who changed it. A preview: Commit checks again, atomically.
  absl::StatusOr<std::vector<WriteConflict>> Conflicts() const;
  // Applies the overlay to the app as one change set of user(). With conflicts, kAbort (the
  // default) applies nothing, returns Aborted naming the cells, and leaves the sandbox open;
  // kKeepMine overwrites them, kKeepTheirs skips them; both report them in the result.
  absl::StatusOr<SandboxCommit> Commit(ConflictPolicy policy = ConflictPolicy::kAbort);
  // Drops the overlay.
  absl::Status Discard();
  // Takes `other`'s overlay into this sandbox, comparing each cell's vector with this
  // sandbox's vector of the same cell (its overlay cell, or else the app's newest change):
  // the other's value is applied when this one happened before it, skipped when this one
  // already saw it, and a conflict when they are concurrent (kAbort: Aborted naming the cells,
  // nothing changes; kKeepMine: the other's value wins; kKeepTheirs: this sandbox's stays).
  // One change of this sandbox that merges `other`'s clock. `other` is unchanged.
  absl::StatusOr<SandboxMerge> MergeFrom(const Sandbox& other, ConflictPolicy policy = ConflictPolicy::kAbort);

  // ---- Vector clocks ----
  uint64_t replica() const { return replica_; }
  // The app's clock when the sandbox was opened.
  VersionVector forked_at() const;
  // Everything the sandbox has seen: its fork, the app at each change, merged sandboxes, and
  // its own counter.
  VersionVector Clock() const;
  // The vector of the overlay cell `key`, or nullopt when the sandbox has not changed it.
  std::optional<VersionVector> CellVector(uint64_t key) const;

  // How many leaf cells the sandbox holds, and their packed keys (ascending).
  size_t size() const;
  std::vector<uint64_t> Keys() const;

  // The open sandbox's overlay as bytes (key, value, version per cell), and a sandbox restored
  // from them over `cube`: so that a sandbox outlives one run of the command line. The app's
  // history, kept with it, keeps the versions meaningful. DataLoss naming `name` when the bytes
  // do not decode or name cells this app does not have.
  std::string Encode() const;
  static absl::StatusOr<std::unique_ptr<Sandbox>> Restore(Cube* cube, std::string user, std::string_view bytes,
                                                          const std::string& name);

 private:
  struct OverlayCell {
    CellValue value;
    uint32_t vec = 0;      // vectors_[vec]: what the value derives from (the app part as first seen)
    uint64_t last_op = 0;  // the sandbox's own counter at its latest change of the cell (0: none)
  };
  enum class State { kOpen, kCommitted, kDiscarded };

  absl::Status CheckOpenLocked() const;
  absl::StatusOr<Grid> QueryLocked(const GridQuery& query, const Cube::ReadOptions& options) const;
  // Corrects `grid`, the app's values at the store's state, by the overlay, and evaluates its
  // consolidated-level formula cells over the view.
  void OverlayGridLocked(const GridQuery& query, const ResolvedGrid& rg, const CellStore& store, Grid* grid) const;
  // The correction alone, by the entered and derived cells. Requires derived_mu_, refreshed.
  void CorrectGridLocked(const GridQuery& query, const ResolvedGrid& rg, const CellStore& store, Grid* grid) const;
  // Brings derived_ up to date with the overlay over `store` (inside the cube's WithStoreAt),
  // after the entered cells `changed` changed: incrementally when derived_ was computed over
  // the app's cells as they are, from scratch otherwise. Requires mu_ (either mode) and
  // derived_mu_.
  void RefreshDerivedLocked(const CellStore& store, std::span<const uint64_t> changed) const;
  // The view's value of leaf `key`: entered, derived, or the app's. Requires derived_mu_.
  CellValue ViewLocked(const CellStore& store, uint64_t key) const;
  // Drops derived_ (the overlay was replaced or dropped). Requires mu_ exclusive.
  void ClearDerivedLocked();
  void PutLocked(uint64_t key, CellValue value, uint32_t vec, uint64_t op);
  // Starts one own change whose inputs were read at the app's `app_seq`: ticks the clock and
  // returns the index of its vector in vectors_ and the own counter.
  std::pair<uint32_t, uint64_t> BeginOpLocked(uint64_t app_seq);
  VersionVector CellVectorLocked(const OverlayCell& cell) const;
  absl::StatusOr<CellValue> ReadCellLocked(const Coordinate& coord) const;
  absl::StatusOr<size_t> SpreadLocked(const Coordinate& target, const SpreadRequest& request,
                                      const std::vector<Coordinate>& holds, size_t max_leaves);
  absl::StatusOr<size_t> SpreadAlongTimeLocked(const Coordinate& target, const SpreadRequest& request,
                                               const std::vector<Coordinate>& holds, size_t max_leaves);
  // The overlay as versioned writes, each with its cell's vector (built once per distinct
  // vector into `vectors`, which must outlive the writes).
  LargeVector<VersionedWrite> WritesWithVectorsLocked(std::deque<VersionVector>* vectors) const;

  Cube* const cube_;
  const std::string user_;
  mutable std::shared_mutex mu_;  // guards everything below; taken before the cube's locks
  // Packed leaf key -> the sandbox's cell. Ordered: reads and commit look the app's values up
  // in key order, which keeps the store's searches in cache.
  absl::btree_map<uint64_t, OverlayCell> cells_;
  uint64_t replica_ = 0;
  VersionVector forked_at_;
  VersionVector clock_;
  uint64_t ops_ = 0;                     // own changes so far (clock_'s own entry)
  std::vector<VersionVector> vectors_;   // the distinct vectors overlay cells refer to
  State state_ = State::kOpen;
  // The leaf-level formula cells of the view that may differ from the app's (see above).
  // Reads refresh it under the shared mu_, hence its own mutex, always taken inside the
  // cube's lock (WithStoreAt), never around it.
  mutable std::mutex derived_mu_;
  mutable Cube::DerivedCells derived_;
  mutable bool derived_valid_ = false;      // false: rebuild from scratch
  mutable uint64_t derived_version_ = 0;    // the cube's data_version() derived_ was computed at
  uint64_t committed_change_set_ = 0;
};

}  // namespace quantatom

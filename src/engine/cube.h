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
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "model/app_model.h"
#include "model/cell_value.h"
#include "query/consolidated_cache.h"
#include "engine/cell_versions.h"
#include "engine/history.h"
#include "engine/version_vector.h"
#include "formula/bound.h"
#include "query/grid.h"
#include "spread/spread.h"
#include "store/cell_store.h"

namespace quantatom {

struct CellWrite {
  Coordinate coord;  // leaf members
  CellValue value;   // empty clears the cell
};

struct WriteOptions {
  std::string action = "write";  // what the change set is called in the history ("bridge", "import")
  // Loads from the system (bridged actuals) may write into read-only members; users may not.
  bool allow_read_only = false;
};

struct CubeStats {
  size_t numeric_cells = 0;
  size_t text_cells = 0;
  size_t runs = 0;
  size_t store_bytes = 0;
  size_t cache_entries = 0;
  int key_bits = 0;
};

struct FormulaState;  // engine/formula_state.h

// A formula as the user defined it (docs/formula-language.md).
struct FormulaDefinition {
  std::string dimension;
  std::string member;
  std::string text;  // canonical once defined
  formula::Scope scope = formula::Scope::kLeaf;
  bool operator==(const FormulaDefinition&) const = default;
};

// How leaf-level formula cells are computed. Every tier gives the same bits.
enum class FormulaTier { kInterpreter, kVm, kJit };

// One cell change of a change set, flattened (Cube::Flatten) for the log and the audit trail.
struct RecordedChange {
  uint64_t key = 0;  // packed leaf key
  CellValue before, after;
};

class Cube {
 public:
  // InvalidArgument if the dimensions do not fit a 64-bit cell key.
  static absl::StatusOr<std::unique_ptr<Cube>> Create(AppModel model);

  const AppModel& model() const { return model_; }

  // Replaces every cell. `numeric` are packed keys (see PackLeaf); InvalidArgument on a key
  // given twice, and nothing changes then.
  absl::Status Load(KeyValues numeric, std::vector<std::pair<uint64_t, std::string>> texts = {});
  // The same from columns in strictly increasing key order, read in place (CellStore::LoadSorted):
  // the snapshot loader's bulk path. InvalidArgument, nothing changed, if the keys do not increase.
  absl::Status LoadSorted(const char* keys, const char* values, size_t n,
                          std::vector<std::pair<uint64_t, std::string>> texts = {});
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
  // wrong arity, non-finite number), FailedPrecondition for a cell under a read-only member,
  // and nothing changes. One change set of `user`.
  absl::Status Write(const std::vector<CellWrite>& batch, const std::string& user = "");
  absl::Status Write(const std::vector<CellWrite>& batch, const std::string& user, const WriteOptions& options);
  // Multiplies every numeric leaf cell under `region` (any level) by `factor`; returns how many
  // cells changed. A maintenance primitive, not a user action: it records no change set and
  // cannot be undone (users spread; Spread records what it changes).
  absl::StatusOr<size_t> ScaleLeaves(const Coordinate& region, double factor);

  // Spreads into any cell (spread/spread.h has the methods): the leaves under `target` take
  // the request; leaves under any of `holds`, under one of `user`'s holds (SetHold) or under a
  // read-only member keep their value; text cells are never changed. All or nothing:
  // FailedPrecondition (nothing changed) when the spread cannot reach its value, when the
  // target itself is read-only, or when it would have to fill more than `max_leaves` leaves.
  // Returns how many leaf cells changed. A leaf target is a single write. One change set.
  absl::StatusOr<size_t> Spread(const Coordinate& target, const SpreadRequest& request,
                                const std::vector<Coordinate>& holds = {}, const std::string& user = "",
                                size_t max_leaves = 1'000'000);

  // Undoes `user`'s newest change set (or redoes the last one undone) and returns its id.
  // NotFound when there is nothing to undo; Aborted, naming a cell, when a later change set
  // touched the same cells (nothing changes then). A load clears the history.
  absl::StatusOr<uint64_t> Undo(const std::string& user);
  absl::StatusOr<uint64_t> Redo(const std::string& user);
  std::vector<ChangeSet> History() const;
  // The undo history as bytes (History::Encode: the cells of the newest change sets up to
  // `max_cells`), and back. RestoreHistory replaces the history; DataLoss naming `name` when the
  // bytes do not decode or name cells or members this app does not have, and nothing changes.
  std::string EncodeHistory(size_t max_cells) const;
  absl::Status RestoreHistory(std::string_view bytes, const std::string& name);

  // The first dimension of type time (the one straight-line and growth spreads run along), or -1.
  int TimeDimension() const;

  // Per-user holds: coordinates at any level whose leaves `user`'s spreads keep (a held total
  // holds every leaf below it). Holds are the user's working state, not data: they are kept
  // with the app but are not part of the history.
  absl::Status SetHold(const std::string& user, const Coordinate& coord, bool held);
  std::vector<Coordinate> Holds(const std::string& user) const;
  void ClearHolds(const std::string& user);
  std::vector<std::pair<std::string, std::vector<Coordinate>>> AllHolds() const;
  // The holds a spread by `user` honours besides its own: the user's holds, then one per
  // read-only member (with kNoMember, "any member", in the other dimensions).
  std::vector<Coordinate> StandingHolds(const std::string& user) const;
  // Whether `coord` is held for `user`: under one of their holds or a read-only member.
  bool IsHeld(const std::string& user, const Coordinate& coord) const;
  // The read-only member `coord` lies under (members with the attribute read_only=true, such
  // as the Actual scenario), as "dimension 'code'", or "" when it is writable.
  std::string ReadOnlyReason(const Coordinate& coord) const;

  void DropCache();
  CubeStats Stats() const;

  // Calls `fn(const CellStore&)` under the read lock (snapshots).
  template <typename Fn>
  auto WithStore(Fn&& fn) const {
    std::shared_lock lock(mu_);
    return fn(store_);
  }

  // ---- Versions and checked writes (cell_versions.h; engine/cube_versions.cc) ----

  // The sequence number of the newest change to the cells (0 before any).
  uint64_t CurrentSeq() const;
  // The newest change after `seq` to each of `keys` (packed leaf keys) that changed, in the
  // order of `keys`. Reads the history, not the cells: cost grows with the changes after `seq`.
  std::vector<BaseChange> ChangedSince(uint64_t seq, std::span<const uint64_t> keys) const;
  // The version of each of `coords` at any level: the sequence number of the newest change
  // (a change set applied, undone or redone, a rescale, a load) to a leaf cell at or below it
  // (0: none). For a leaf it is the cell's own version (ChangedSince). Reads the history.
  std::vector<uint64_t> NewestChangeUnder(std::span<const Coordinate> coords) const;
  // The writes of `batch` whose cell changed after their `seen_seq`, with the cell's value now.
  std::vector<WriteConflict> FindConflicts(std::span<const VersionedWrite> batch) const;
  // Writes `batch` as one change set of `user` (undoable like Write), after checking, under
  // the same write lock, that no cell changed after its `seen_seq`. On conflicts `policy`
  // decides: kAbort writes nothing and returns Aborted listing the cells (coordinate, value
  // now, value wanted, who changed it); kKeepMine and kKeepTheirs write all or the rest and
  // report the conflicts in the result. InvalidArgument (nothing written) for a key outside
  // the layout or a number that is not finite.
  //
  // Writes that carry the whole vector their writer saw (`VersionedWrite::seen`, a sandbox's
  // cells) are compared by vector clock: a cell whose newest change in the app is not after
  // the writer's vector but concurrent with it is a conflict; one whose newest change already
  // saw the writer's vector (the app is causally later, the value came in through another
  // sandbox) is skipped and counted as superseded. `merge`, when given, is the writer's clock:
  // its other replicas' counters are merged into the app's clock with the change set.
  absl::StatusOr<VersionedWriteResult> WriteVersioned(std::span<const VersionedWrite> batch, ConflictPolicy policy,
                                                      const std::string& user, const std::string& action = "write",
                                                      const VersionVector* merge = nullptr);

  // ---- Vector clocks (engine/version_vector.h, docs/durability.md "Vector clocks") ----
  // The app's clock as of `seq`: {app: seq} plus every other replica's counter merged into
  // the app by a change set recorded at or before `seq`. Takes no lock of the cells: callable
  // inside WithStoreAt.
  VersionVector ClockAt(uint64_t seq) const;
  // The other replicas' counters the app had merged after change set `id` (cumulative; empty
  // before any sandbox commit), and whether `id` itself merged any.
  VersionVector MergedAfter(uint64_t change_set, bool* merged_here = nullptr) const;
  // The app's clock when change set `id` was last applied (ClockAt of its seq): what it had
  // seen. Empty for an unknown id.
  VersionVector ChangeSetClock(uint64_t id) const;
  // Replay: change set `change_set` (the newest, just applied) merged `merged` (other replicas'
  // counters). DataLoss if `change_set` is not the newest.
  absl::Status NoteMerged(uint64_t change_set, const VersionVector& merged);
  // The table of merges as bytes (docs/formats/app-snapshot.md, section `clocks`) and back.
  std::string EncodeClocks() const;
  absl::Status RestoreClocks(std::string_view bytes, const std::string& name);
  // Calls `fn(const CellStore&, uint64_t seq)` under the read lock: the cells as of `seq`.
  template <typename Fn>
  auto WithStoreAt(Fn&& fn) const {
    std::shared_lock lock(mu_);
    return fn(store_, history_.seq());
  }
  // The checks Write and Spread make, with the same errors, for layers that write elsewhere
  // (engine/sandbox.h): OK or InvalidArgument.
  absl::Status CheckCoordinate(const Coordinate& coord, bool leaf_only) const { return ValidateCoordinate(coord, leaf_only); }
  absl::Status CheckWrites(const std::vector<CellWrite>& batch) const;
  absl::Status CheckSpreadRequest(const Coordinate& target, const SpreadRequest& request) const {
    return ValidateSpreadRequest(target, request);
  }
  // ---- Replay (engine/cube_replay.cc; the durable layer, durable/durable_app.h) ----

  // The id of the newest change set (0 before any).
  uint64_t LastChangeSetId() const;
  // Calls `fn` with the change sets recorded after `id`, oldest first, in place under the read
  // lock: the log encodes them from there (a bulk write's set holds millions of cells, which a
  // copy would double). `fn` must not call back into the cube's locked methods.
  void ReadChangeSetsAfter(uint64_t id, const std::function<void(std::span<const ChangeSet>)>& fn) const;
  // Re-applies a change set read back from the log: every `changes[i].after`, in order, as one
  // change set of `user` (undoable like a write). Each `before` must be what the cell holds
  // when its turn comes, and the set must get the id `expected_id`; otherwise DataLoss naming
  // the first difference, and nothing changes. No read-only or validity checks: the change was
  // checked when it was first made.
  absl::Status ApplyRecorded(const std::string& user, const std::string& action,
                             const std::vector<RecordedChange>& changes, uint64_t expected_id);
  // Every cell change of `set`, in the order applied (scaled cells first), with its before and
  // after value.
  static std::vector<RecordedChange> Flatten(const ChangeSet& set);

  // Grows with every change of the cells (load, write, spread, rescale, undo, redo), so that a
  // layer derived from them (targets guidance) can tell it is stale. Read it under WithStore to
  // pair it with the cells it describes.
  uint64_t data_version() const { return data_version_.load(std::memory_order_acquire); }

  // ---- Formulas (engine/cube_formulas.cc; docs/formula-language.md) ----
  //
  // Leaf-level formula cells are computed into the store, so they consolidate like entered
  // data; they are read-only (writes fail, spreads hold them) and are recalculated inside every
  // change of the cells, incrementally: a read right after a write sees them and every total
  // above them. Consolidated-level formulas are computed when a grid or cell is read. Formula
  // cells are not part of the undo history: they follow the cells they are computed from.

  // Defines or replaces the formula of a member and recalculates. InvalidArgument / NotFound,
  // with the line and column, for a bad text; InvalidArgument printing the cycle; nothing
  // changes on error. All formulas of an app are on members of one dimension.
  absl::Status SetFormula(const FormulaDefinition& definition);
  // Defines or replaces several at once (a model's rules), computed in one pass where they
  // chain: the same as SetFormula one by one, all or nothing.
  absl::Status SetFormulas(const std::vector<FormulaDefinition>& definitions);
  // NotFound when the member has no formula. Its computed cells are cleared.
  absl::Status RemoveFormula(std::string_view dimension, std::string_view member);
  std::vector<FormulaDefinition> Formulas() const;
  // The definitions as bytes (the snapshot's "formulas" section), and back: DataLoss naming
  // `name` when the bytes do not decode; a definition that no longer binds is an error too.
  std::string EncodeFormulas() const;
  absl::Status RestoreFormulas(std::string_view bytes, const std::string& name);
  // Other apps that lookup("app", ...) reads; the cubes must outlive this one. Formulas that
  // look up an app not resolvable here fail to define (NotFound).
  void SetAppResolver(std::function<const Cube*(std::string_view app)> resolver);
  // Recomputes every formula cell from scratch (what incremental recalculation must equal).
  void RecalculateFormulas();
  void SetFormulaTier(FormulaTier tier);
  FormulaTier formula_tier() const;

  // Formulas over a sandbox's view (engine/sandbox.h, docs/sandboxes.md "Formulas"): the app's
  // cells with some replaced by `entered(key)` (null: the app's cell). `derived` holds the
  // view's leaf-level formula cells that may differ from the app's: it is brought up to date
  // after the entered cells `changed` changed, recomputing only their readers, transitively,
  // in dependency order (recurrences along time included), as a write in the app does. With an
  // empty `derived` and every entered cell as `changed`, that is the view from scratch.
  // Requires the cube's read lock: call inside WithStoreAt, passing its store.
  using EnteredLookup = std::function<const CellValue*(uint64_t key)>;
  using DerivedCells = absl::flat_hash_map<uint64_t, CellValue>;
  void DeriveFormulasInView(const CellStore& store, const EnteredLookup& entered, std::span<const uint64_t> changed,
                            DerivedCells* derived) const;
  // Replaces the cells of `grid` (the result of `query` over a view) that consolidated-level
  // formulas compute, evaluated over the view: `value_at` gives any other cell of it, leaf or
  // total. HasReadFormulasInView: whether there are any. Both require the cube's read lock.
  using ViewValue = std::function<CellValue(const Coordinate&)>;
  bool HasReadFormulasInView() const;
  void ApplyReadFormulasInView(const GridQuery& query, const ViewValue& value_at, Grid* grid) const;

 private:
  Cube(AppModel model, KeyLayout layout);
  absl::Status ValidateCoordinate(const Coordinate& coord, bool leaf_only) const;
  // Apply validated leaf writes, keep the cache exact, and return the changes. Require mu_
  // held exclusively.
  ChangeList ApplyLocked(const std::vector<CellWrite>& batch);
  ChangeList ApplyKeyedLocked(const std::vector<std::pair<uint64_t, CellValue>>& batch);
  // The same over `n` writes read in place: `at(i)` is the i-th (key, value), so that a bulk
  // write of millions of cells is not copied into keyed pairs first.
  ChangeList ApplyKeyedLocked(size_t n, absl::FunctionRef<std::pair<uint64_t, const CellValue*>(size_t)> at);
  // ApplyKeyedLocked's store step for a large batch of numbers and clears of distinct cells,
  // in one CellStore::ApplySorted pass: records the changes and touched leaves and returns
  // true; false, having changed nothing, for a batch with text or a cell written twice.
  bool ApplySortedBatchLocked(size_t n, absl::FunctionRef<std::pair<uint64_t, const CellValue*>(size_t)> at,
                              ChangeList* changes, std::vector<std::vector<uint32_t>>* touched);
  // Spreading (engine/cube_spread.cc). Each appends what it changed to `out`; on failure the
  // caller rolls `out` back, so a multi-part spread is all or nothing.
  absl::StatusOr<size_t> SpreadLocked(const Coordinate& target, const SpreadRequest& request,
                                      const std::vector<Coordinate>& holds, size_t max_leaves, ChangeList* out);
  absl::StatusOr<size_t> SpreadRelativeLocked(const Coordinate& target, const SpreadRequest& request,
                                              const std::vector<Coordinate>& holds, ChangeList* out);
  absl::StatusOr<size_t> SpreadAlongTimeLocked(const Coordinate& target, const SpreadRequest& request,
                                               const std::vector<Coordinate>& holds, size_t max_leaves, ChangeList* out);
  absl::Status ValidateSpreadRequest(const Coordinate& target, const SpreadRequest& request) const;
  void RollBackLocked(ChangeList changes);

  void InvalidateRegionLocked(const Coordinate& region);
  // ReadOnlyReason with mu_ held (shared or exclusive).
  std::string ReadOnlyReasonLocked(const Coordinate& coord) const;
  absl::StatusOr<uint64_t> UndoOrRedo(const std::string& user, bool undo);
  absl::StatusOr<uint64_t> UndoOrRedoLocked(const ChangeSet& set, bool undo);
  absl::StatusOr<uint64_t> UndoOrRedoScaledLocked(const ChangeSet& set, bool undo);
  // A large set of numbers and clears of distinct cells (a bulk write) undone or redone in one
  // CellStore::ApplySorted pass, without the per-cell map of the general path; nullopt, having
  // changed nothing, for any other set.
  std::optional<absl::StatusOr<uint64_t>> UndoOrRedoSortedLocked(const ChangeSet& set, bool undo);
  absl::Status ConflictError(const ChangeSet& set, uint64_t key, bool undo) const;
  Coordinate LeafOfKey(uint64_t key) const;
  // Versions of changes the history does not record (cube_versions.cc). Require mu_ exclusive.
  void NoteLoadLocked();
  // The rest of a load once the store holds the numeric cells: history, texts, caches, formulas.
  absl::Status AfterLoadLocked(std::vector<std::pair<uint64_t, std::string>> texts);
  void NoteScaleLocked(const Coordinate& region);
  std::vector<BaseChange> ChangedSinceLocked(uint64_t seq, std::span<const uint64_t> keys) const;
  // `superseded`, when given, receives the keys of vector-carrying writes the app already saw.
  std::vector<WriteConflict> FindConflictsLocked(std::span<const VersionedWrite> batch,
                                                 std::vector<uint64_t>* superseded = nullptr) const;
  void NoteMergedLocked(uint64_t change_set, const VersionVector& merged);

  const AppModel model_;
  mutable std::shared_mutex mu_;  // guards store_; writers exclusive
  CellStore store_;
  quantatom::History history_;  // guarded by mu_
  std::vector<std::pair<std::string, std::vector<Coordinate>>> holds_;  // per user; guarded by mu_
  // One hold per read-only member: that member in its dimension, kNoMember (any) elsewhere.
  // Guarded by mu_: formulas add and remove theirs.
  std::vector<Coordinate> read_only_holds_;
  mutable std::mutex cache_mu_;  // guards cache_ (readers fill it)
  mutable ConsolidatedCache cache_;
  uint64_t loaded_seq_ = 0;  // guarded by mu_: every cell changed then
  std::vector<std::pair<uint64_t, Coordinate>> scaled_regions_;  // guarded by mu_: ScaleLeaves (seq, region)
  // Vector clocks: one entry per change set that merged other replicas (a sandbox commit),
  // with the app's seq then and the cumulative counters of every other replica merged so far.
  // Written under mu_ exclusive and clock_mu_; read under clock_mu_ alone (ClockAt).
  struct ClockMerge {
    uint64_t change_set = 0, seq = 0;
    VersionVector merged;  // cumulative, without the app's own entry
  };
  mutable std::mutex clock_mu_;
  std::vector<ClockMerge> clock_merges_;
  std::atomic<uint64_t> data_version_{0};  // bumped under mu_ held exclusively

  // Formulas (cube_formulas.cc). Require mu_ held exclusively unless noted.
  std::shared_ptr<FormulaState> formulas_;  // guarded by mu_; null until a formula is defined
  std::vector<Coordinate> formula_holds_;   // guarded by mu_: the read_only_holds_ formulas added
  std::function<const Cube*(std::string_view)> app_resolver_;  // guarded by mu_
  FormulaTier formula_tier_ = FormulaTier::kVm;                 // guarded by mu_
  void RecalcAfterChangeLocked(std::span<const uint64_t> keys);
  // Recomputes the leaf-level formulas, all or those with `only[formula index]` set (with
  // their whole recurrence component), in graph order.
  void RecalcAllLocked(const std::vector<bool>* only = nullptr);
  // The formulas that must be recomputed when the cells of these leaves of the formula
  // dimension change: their readers, and the readers of those, transitively.
  // After the cells under `region` changed in place: RecalcAllLocked of the formulas with cells
  // there and of their readers.
  void RecalcRegionLocked(const Coordinate& region);
  std::vector<bool> ReadersOfLocked(const std::vector<uint32_t>& ordinals, std::vector<bool> seed) const;
  // Applies computed cells to the store and the cache, outside the history.
  void SetDerivedLocked(const std::vector<std::pair<uint64_t, CellValue>>& batch);
  // The same for a batch sorted by key (bulk recalculation): one ordered pass over the store.
  void SetDerivedSortedLocked(std::span<const CellStore::SortedUpdate> batch);
  // The same for a batch in sorted streams (CellStore::ApplySorted).
  void SetDerivedSortedLocked(std::span<const CellStore::SortedStream> streams);
  absl::Status InstallFormulasLocked(std::vector<FormulaDefinition> definitions);
  // Replaces cells of the grid computed by consolidated-level formulas. Requires mu_ shared.
  void ApplyReadFormulasLocked(const GridQuery& query, Grid* grid) const;
};

}  // namespace quantatom

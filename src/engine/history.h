// History: every change a user makes to an app is one change set (a write batch, a spread, a
// rescale), recorded with the value of each cell before and after, so that it can be undone
// and redone.
//
// Undo and redo apply only to one's own change sets, newest first, and only while no later
// change set touched the same cells: undoing would otherwise silently overwrite someone else's
// later values. The check is exact per cell: each cell remembers the sequence number of the
// last change applied to it.
//
// Not thread-safe: engine/cube.h guards it with its write lock. In memory only, for now: the
// write-ahead log will make it durable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"
#include "model/cell_value.h"

namespace quantatom {

struct CellChange {
  uint64_t key;  // packed leaf key (store/key_layout.h)
  CellValue before;
  CellValue after;
  // Set by History::Record: the first change of this cell in its set, and the sequence number
  // of the change the cell carried before (0: none), which an undo makes current again.
  bool first = false;
  uint64_t prev_seq = 0;
};

struct ChangeSet {
  uint64_t id = 0;
  std::string user;
  std::string action;  // "write", "spread", "scale"
  std::vector<CellChange> changes;
  bool undone = false;
  uint64_t applied_seq = 0;  // sequence number of its (re)application
};

// Why an undo or redo was refused: the change set and the first cell another change touched.
struct HistoryConflict {
  uint64_t key;
  uint64_t by_change_set;
};

class History {
 public:
  // Records an applied change set and returns its id (1, 2, ...). A new change by `user`
  // discards what `user` could redo.
  uint64_t Record(std::string user, std::string action, std::vector<CellChange> changes);

  // The change set `user` would undo (newest applied own set), or NotFound. On a conflict,
  // Aborted, with `*conflict` filled.
  absl::StatusOr<const ChangeSet*> NextUndo(const std::string& user, HistoryConflict* conflict) const;
  void MarkUndone(uint64_t id);
  // The change set `user` would redo (most recently undone, not invalidated by a newer own
  // change), or NotFound; Aborted on a conflict.
  absl::StatusOr<const ChangeSet*> NextRedo(const std::string& user, HistoryConflict* conflict) const;
  void MarkRedone(uint64_t id);

  const std::vector<ChangeSet>& change_sets() const { return sets_; }
  void Clear();

 private:
  // Aborted unless every cell of `set` carries `applied_seq` (undo) or its prev_seq (redo).
  absl::Status Check(const ChangeSet& set, bool for_redo, HistoryConflict* conflict) const;
  uint64_t NextSeq() { return ++seq_; }

  std::vector<ChangeSet> sets_;  // sets_[id - 1]
  uint64_t seq_ = 0;
  absl::flat_hash_map<uint64_t, uint64_t> last_seq_;         // cell key -> seq of its last change
  absl::flat_hash_map<uint64_t, uint64_t> set_of_seq_;       // seq -> change set id
  absl::flat_hash_map<std::string, std::vector<uint64_t>> redo_;  // user -> undone ids, newest last
};

}  // namespace quantatom

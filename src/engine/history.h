// History: every change a user makes to an app is one change set (a write batch, a spread, a
// rescale), recorded with the value of each cell before and after, so that it can be undone
// and redone.
//
// Undo and redo apply only to one's own change sets, newest first, and only while no later
// change touched the same cells: undoing would otherwise silently overwrite someone else's
// later values. The owner checks that by value: every cell must still hold what the change set
// left there (undo) or found there (redo). Recording is the hot path (every write), so it only
// appends the changes.
//
// Not thread-safe: engine/cube.h guards it with its write lock. In memory only, for now: the
// write-ahead log will make it durable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/large_allocator.h"
#include "base/status.h"
#include "model/cell_value.h"
#include "query/consolidate.h"

namespace quantatom {

// A cell that was a number or empty, and is a number or empty: the common change, kept to 32
// bytes (a spread records one per leaf it changes).
struct NumberChange {
  uint64_t key;  // packed leaf key (store/key_layout.h)
  double before_value, after_value;
  uint32_t order;  // position in its change set (a cell may change twice in one batch)
  bool before_empty, after_empty;
  std::optional<double> before() const { return before_empty ? std::nullopt : std::optional<double>(before_value); }
  std::optional<double> after() const { return after_empty ? std::nullopt : std::optional<double>(after_value); }
};

// Any other change (text involved).
struct CellChange {
  uint64_t key;
  CellValue before, after;
  uint32_t order;
};

// A rescale (a proportional, add or percent spread): every cell went from `before` to
// before * factor + 0.0 (cell_store.h never stores -0.0). 16 bytes a cell: the largest spreads
// record millions of cells, and writing the record is most of their cost.
struct ScaledCells {
  KeyBeforeList before;  // distinct keys, in no particular order
  double factor = 1;
  std::vector<uint32_t> region;  // the coordinate spread into (MemberIds): bounds the cells
  // The list was freed (the set can no longer be undone or redone); `region` still says which
  // cells it may have changed, for versions (cell_versions.h).
  bool released = false;
  double after(double before_value) const { return before_value * factor + 0.0; }
};

// What a change set did. A cell appears in at most one scaled list, and scaled cells are
// applied before `numbers` and `others`, which are in the order applied (`order`).
struct ChangeList {
  std::vector<ScaledCells> scaled;
  LargeVector<NumberChange> numbers;
  std::vector<CellChange> others;
  void Add(uint64_t key, const CellValue& before, const CellValue& after);
  // Appends `later`, which was applied after everything here.
  void Append(ChangeList later);
  bool empty() const { return scaled.empty() && numbers.empty() && others.empty(); }
  size_t size() const {
    size_t n = numbers.size() + others.size();
    for (const ScaledCells& s : scaled) n += s.before.size();
    return n;
  }
};

// Every key `changes` touches (a key changed twice appears twice).
std::vector<uint64_t> ChangedKeys(const ChangeList& changes);

// Visits every change of `changes` in the order applied: the scaled cells first, then
// `numbers` and `others` merged by `order`. `on_number(key, before, after)` takes
// std::optional<double> values (nullopt: empty) and `on_other(const CellChange&)` the rest.
// The one definition of that order (Cube::Flatten, the change record encoder).
template <typename OnNumber, typename OnOther>
void ForEachChangeInOrder(const ChangeList& changes, OnNumber&& on_number, OnOther&& on_other) {
  for (const ScaledCells& s : changes.scaled)
    for (const KeyBefore& kb : s.before)
      on_number(kb.key, std::optional<double>(kb.value), std::optional<double>(s.after(kb.value)));
  size_t n = 0, o = 0;
  const auto& numbers = changes.numbers;
  const auto& others = changes.others;
  while (n < numbers.size() || o < others.size()) {
    if (o == others.size() || (n < numbers.size() && numbers[n].order < others[o].order)) {
      const NumberChange& c = numbers[n++];
      on_number(c.key, c.before(), c.after());
    } else {
      on_other(others[o++]);
    }
  }
}

// The same backwards: the last change applied first, the scaled cells last (each list from its
// end). The order an undo sets the cells in, for its log record (docs/formats/change-record.md).
template <typename OnNumber, typename OnOther>
void ForEachChangeInReverseOrder(const ChangeList& changes, OnNumber&& on_number, OnOther&& on_other) {
  size_t n = changes.numbers.size(), o = changes.others.size();
  const auto& numbers = changes.numbers;
  const auto& others = changes.others;
  while (n > 0 || o > 0) {
    if (o == 0 || (n > 0 && numbers[n - 1].order > others[o - 1].order)) {
      const NumberChange& c = numbers[--n];
      on_number(c.key, c.before(), c.after());
    } else {
      on_other(others[--o]);
    }
  }
  for (size_t s = changes.scaled.size(); s-- > 0;) {
    const ScaledCells& sc = changes.scaled[s];
    for (size_t i = sc.before.size(); i-- > 0;)
      on_number(sc.before[i].key, std::optional<double>(sc.before[i].value),
                std::optional<double>(sc.after(sc.before[i].value)));
  }
}

struct ChangeSet {
  uint64_t id = 0;
  std::string user;
  std::string action;  // "write", "spread", "scale"
  ChangeList changes;  // in the order applied
  bool undone = false;
  uint64_t applied_seq = 0;  // when it was (re)applied: orders undo and conflict messages
  uint64_t undone_seq = 0;   // when it was last undone (0: never): versions (cell_versions.h)
  // The keys of a set whose redo was discarded (`changes` freed): it changed them twice (apply,
  // undo) and versions must still see that.
  std::vector<uint64_t> released_keys;
  // Its cells were not kept when the history was saved (the oldest sets beyond the budget of
  // EncodeHistory): it can no longer be undone or redone, but versions still see its keys.
  bool expired = false;
};

class History {
 public:
  // Records an applied change set and returns its id (1, 2, ...). A new change by `user`
  // discards what `user` could redo (and frees the memory those change sets held).
  uint64_t Record(std::string user, std::string action, ChangeList changes);

  // The change set `user` would undo (newest applied own set), or NotFound.
  absl::StatusOr<const ChangeSet*> NextUndo(const std::string& user) const;
  void MarkUndone(uint64_t id);
  // The change set `user` would redo (most recently undone, not invalidated by a newer own
  // change), or NotFound.
  absl::StatusOr<const ChangeSet*> NextRedo(const std::string& user) const;
  void MarkRedone(uint64_t id);
  // The newest applied change set other than `except` that touched `key`, or nullptr. For
  // conflict messages.
  const ChangeSet* LastTouch(uint64_t key, uint64_t except) const;

  const std::vector<ChangeSet>& change_sets() const { return sets_; }
  // The sequence number of the newest event (record, undo, redo, or Advance).
  uint64_t seq() const { return seq_; }
  // Takes the next sequence number for a change that is not recorded (a rescale, a load).
  uint64_t Advance() { return ++seq_; }
  void Clear();

  // The history as bytes (docs/formats/app-snapshot.md, section `history`), keeping the cells
  // of the newest change sets up to `max_cells` in all; older ones are kept as expired (their
  // keys and regions only). DecodeHistory replaces this history; DataLoss naming `name` for
  // bytes that do not decode, and nothing changes then.
  std::string Encode(size_t max_cells) const;
  absl::Status Decode(std::string_view bytes, const std::string& name);

 private:
  std::vector<ChangeSet> sets_;  // sets_[id - 1]
  uint64_t seq_ = 0;
  std::vector<std::pair<std::string, std::vector<uint64_t>>> redo_;  // user -> undone ids, newest last
  std::vector<uint64_t>& RedoOf(const std::string& user);
};

}  // namespace quantatom

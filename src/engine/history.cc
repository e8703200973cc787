#include "engine/history.h"

#include "base/strings.h"

namespace quantatom {

std::vector<uint64_t> ChangedKeys(const ChangeList& changes) {
  std::vector<uint64_t> keys;
  keys.reserve(changes.size());
  for (const ScaledCells& s : changes.scaled)
    for (const KeyBefore& c : s.before) keys.push_back(c.key);
  for (const NumberChange& c : changes.numbers) keys.push_back(c.key);
  for (const CellChange& c : changes.others) keys.push_back(c.key);
  return keys;
}

void ChangeList::Add(uint64_t key, const CellValue& before, const CellValue& after) {
  const uint32_t order = static_cast<uint32_t>(numbers.size() + others.size());
  if (!before.is_text() && !after.is_text()) {
    numbers.push_back({key, before.is_number() ? before.number : 0.0, after.is_number() ? after.number : 0.0, order,
                       !before.is_number(), !after.is_number()});
  } else {
    others.push_back({key, before, after, order});
  }
}

void ChangeList::Append(ChangeList later) {
  const uint32_t base = static_cast<uint32_t>(numbers.size() + others.size());
  for (ScaledCells& s : later.scaled) scaled.push_back(std::move(s));
  if (numbers.empty() && others.empty() && base == 0) {
    numbers = std::move(later.numbers);
    others = std::move(later.others);
    return;
  }
  for (NumberChange c : later.numbers) c.order += base, numbers.push_back(c);
  for (CellChange& c : later.others) c.order += base, others.push_back(std::move(c));
}

std::vector<uint64_t>& History::RedoOf(const std::string& user) {
  for (auto& [u, ids] : redo_)
    if (u == user) return ids;
  redo_.emplace_back(user, std::vector<uint64_t>{});
  return redo_.back().second;
}

uint64_t History::Record(std::string user, std::string action, ChangeList changes) {
  ChangeSet set;
  set.id = sets_.size() + 1;
  set.applied_seq = ++seq_;
  // What `user` undid can no longer be redone: keep the entries (ids stay stable) but free
  // their cells, which for spreads are megabytes.
  // A rescale keeps only its region (copying millions of keys would cost what the spread
  // did); versions then treat every cell of the region as changed.
  for (uint64_t id : RedoOf(user)) {
    ChangeSet& dropped = sets_[id - 1];
    ChangeList kept;
    for (ScaledCells& s : dropped.changes.scaled) kept.scaled.push_back({{}, s.factor, std::move(s.region), true});
    dropped.changes.scaled.clear();
    dropped.released_keys = ChangedKeys(dropped.changes);
    dropped.changes = std::move(kept);
  }
  RedoOf(user).clear();
  set.user = std::move(user);
  set.action = std::move(action);
  set.changes = std::move(changes);
  sets_.push_back(std::move(set));
  return sets_.back().id;
}

namespace {
bool Touches(const ChangeList& changes, uint64_t key) {
  for (const ScaledCells& s : changes.scaled)
    for (const KeyBefore& c : s.before)
      if (c.key == key) return true;
  for (const NumberChange& c : changes.numbers)
    if (c.key == key) return true;
  for (const CellChange& c : changes.others)
    if (c.key == key) return true;
  return false;
}
}  // namespace

const ChangeSet* History::LastTouch(uint64_t key, uint64_t except) const {
  const ChangeSet* best = nullptr;
  for (const ChangeSet& set : sets_) {
    if (set.undone || set.id == except || (best && set.applied_seq < best->applied_seq)) continue;
    if (Touches(set.changes, key)) best = &set;
  }
  return best;
}

absl::StatusOr<const ChangeSet*> History::NextUndo(const std::string& user) const {
  const ChangeSet* newest = nullptr;
  for (const ChangeSet& set : sets_)
    if (set.user == user && !set.undone && (!newest || set.applied_seq > newest->applied_seq)) newest = &set;
  if (newest && newest->expired)
    return absl::NotFoundError(StrCat("user '", user, "' has nothing more to undo: change set ", newest->id,
                                      " and older ones are no longer kept for undo"));
  if (newest) return newest;
  return absl::NotFoundError(StrCat("user '", user, "' has nothing to undo"));
}

void History::MarkUndone(uint64_t id) {
  ChangeSet& set = sets_[id - 1];
  set.undone = true;
  set.undone_seq = ++seq_;
  RedoOf(set.user).push_back(id);
}

absl::StatusOr<const ChangeSet*> History::NextRedo(const std::string& user) const {
  for (const auto& [u, ids] : redo_)
    if (u == user && !ids.empty()) return &sets_[ids.back() - 1];
  return absl::NotFoundError(StrCat("user '", user, "' has nothing to redo"));
}

void History::MarkRedone(uint64_t id) {
  ChangeSet& set = sets_[id - 1];
  set.undone = false;
  set.applied_seq = ++seq_;
  RedoOf(set.user).pop_back();
}

void History::Clear() {
  sets_.clear();
  redo_.clear();
}

}  // namespace quantatom

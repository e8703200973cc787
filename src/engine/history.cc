#include "engine/history.h"

#include "base/strings.h"

namespace quantatom {

uint64_t History::Record(std::string user, std::string action, std::vector<CellChange> changes) {
  ChangeSet set;
  set.id = sets_.size() + 1;
  set.applied_seq = NextSeq();
  set_of_seq_[set.applied_seq] = set.id;
  absl::flat_hash_map<uint64_t, bool> seen;
  for (CellChange& c : changes) {
    if (!seen.emplace(c.key, true).second) continue;
    c.first = true;
    auto it = last_seq_.find(c.key);
    c.prev_seq = it == last_seq_.end() ? 0 : it->second;
    last_seq_[c.key] = set.applied_seq;
  }
  redo_[user].clear();
  set.user = std::move(user);
  set.action = std::move(action);
  set.changes = std::move(changes);
  sets_.push_back(std::move(set));
  return sets_.back().id;
}

absl::Status History::Check(const ChangeSet& set, bool for_redo, HistoryConflict* conflict) const {
  for (const CellChange& c : set.changes) {
    if (!c.first) continue;
    auto it = last_seq_.find(c.key);
    const uint64_t current = it == last_seq_.end() ? 0 : it->second;
    if (current != (for_redo ? c.prev_seq : set.applied_seq)) {
      conflict->key = c.key;
      auto by = set_of_seq_.find(current);
      conflict->by_change_set = by == set_of_seq_.end() ? 0 : by->second;
      if (conflict->by_change_set == 0)
        return absl::AbortedError(StrCat("change set ", set.id, " (", set.action,
                                         ") touched cells whose earlier changes were undone since"));
      return absl::AbortedError(StrCat("change set ", set.id, " (", set.action, ") touched cells that change set ",
                                       conflict->by_change_set, " (user '", sets_[conflict->by_change_set - 1].user,
                                       "') changed later"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<const ChangeSet*> History::NextUndo(const std::string& user, HistoryConflict* conflict) const {
  for (auto it = sets_.rbegin(); it != sets_.rend(); ++it) {
    if (it->user != user || it->undone) continue;
    QA_RETURN_IF_ERROR(Check(*it, /*for_redo=*/false, conflict));
    return &*it;
  }
  return absl::NotFoundError(StrCat("user '", user, "' has nothing to undo"));
}

void History::MarkUndone(uint64_t id) {
  ChangeSet& set = sets_[id - 1];
  set.undone = true;
  // The cells carry again the changes they carried before this set.
  for (const CellChange& c : set.changes) {
    if (!c.first) continue;
    if (c.prev_seq == 0) last_seq_.erase(c.key);
    else last_seq_[c.key] = c.prev_seq;
  }
  redo_[set.user].push_back(id);
}

absl::StatusOr<const ChangeSet*> History::NextRedo(const std::string& user, HistoryConflict* conflict) const {
  auto it = redo_.find(user);
  if (it == redo_.end() || it->second.empty()) return absl::NotFoundError(StrCat("user '", user, "' has nothing to redo"));
  const ChangeSet& set = sets_[it->second.back() - 1];
  QA_RETURN_IF_ERROR(Check(set, /*for_redo=*/true, conflict));
  return &set;
}

void History::MarkRedone(uint64_t id) {
  ChangeSet& set = sets_[id - 1];
  set.undone = false;
  // Same sequence number as before the undo: later sets recorded it as their prev_seq.
  for (const CellChange& c : set.changes)
    if (c.first) last_seq_[c.key] = set.applied_seq;
  redo_[set.user].pop_back();
}

void History::Clear() {
  sets_.clear();
  last_seq_.clear();
  set_of_seq_.clear();
  redo_.clear();
}

}  // namespace quantatom

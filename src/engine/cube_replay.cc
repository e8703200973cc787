// Replay of logged change sets (cube.h, "Replay"): the durable layer logs what each mutation
// changed, cell by cell, and re-applies it at start-up through ApplyRecorded.
#include <algorithm>

#include "base/strings.h"
#include "engine/cube.h"

namespace quantatom {

uint64_t Cube::LastChangeSetId() const {
  std::shared_lock lock(mu_);
  return history_.change_sets().size();
}

void Cube::ReadChangeSetsAfter(uint64_t id, const std::function<void(std::span<const ChangeSet>)>& fn) const {
  std::shared_lock lock(mu_);
  std::span<const ChangeSet> sets(history_.change_sets());
  fn(id >= sets.size() ? std::span<const ChangeSet>() : sets.subspan(id));
}

std::vector<RecordedChange> Cube::Flatten(const ChangeSet& set) {
  std::vector<RecordedChange> out;
  out.reserve(set.changes.size());
  auto value = [](const std::optional<double>& v) { return v ? CellValue::Number(*v) : CellValue::Empty(); };
  ForEachChangeInOrder(
      set.changes,
      [&](uint64_t key, const std::optional<double>& before, const std::optional<double>& after) {
        out.push_back({key, value(before), value(after)});
      },
      [&](const CellChange& c) { out.push_back({c.key, c.before, c.after}); });
  return out;
}

absl::Status Cube::ApplyRecorded(const std::string& user, const std::string& action,
                                 const std::vector<RecordedChange>& changes, uint64_t expected_id) {
  std::vector<std::pair<uint64_t, CellValue>> keyed;
  keyed.reserve(changes.size());
  for (const RecordedChange& c : changes) {
    if (store_.layout().total_bits() < 64 && (c.key >> store_.layout().total_bits()) != 0)
      return absl::DataLossError(StrCat("change set ", expected_id, ": cell key ", c.key, " is outside the app"));
    for (int d = 0; d < store_.layout().dims(); ++d)
      if (store_.layout().Get(c.key, d) >= store_.layout().leaf_count(d))
        return absl::DataLossError(StrCat("change set ", expected_id, ": cell key ", c.key, " is outside the app"));
    keyed.emplace_back(c.key, c.after);
  }
  std::unique_lock lock(mu_);
  if (history_.change_sets().size() + 1 != expected_id)
    return absl::DataLossError(StrCat("replay: change set ", expected_id, " would get id ",
                                      history_.change_sets().size() + 1, " (the log does not follow the snapshot)"));
  ChangeList applied = ApplyKeyedLocked(keyed);
  // ApplyKeyedLocked records changes in order; compare what each cell held with the log.
  std::vector<RecordedChange> found;
  {
    ChangeSet probe;
    probe.changes = std::move(applied);
    found = Flatten(probe);
    applied = std::move(probe.changes);
  }
  for (size_t i = 0; i < found.size() && i < changes.size(); ++i) {
    if (!(found[i].before == changes[i].before)) {
      RollBackLocked(std::move(applied));
      return absl::DataLossError(StrCat("replay: change set ", expected_id, " (", action, " by '", user, "'): cell ",
                                        model_.FormatCoordinate(LeafOfKey(changes[i].key)),
                                        " does not hold the value the log says it had before"));
    }
  }
  history_.Record(user, action, std::move(applied));
  // Formula cells are derived, not logged: recompute the ones that read the replayed cells.
  if (formulas_) {
    std::vector<uint64_t> keys;
    keys.reserve(keyed.size());
    for (const auto& [key, value] : keyed) keys.push_back(key);
    RecalcAfterChangeLocked(keys);
  }
  return absl::OkStatus();
}

}  // namespace quantatom

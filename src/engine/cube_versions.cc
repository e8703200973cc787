// Cube: versions and checked writes (cell_versions.h). Kept apart from cube.cc: they read the
// history, never the hot paths.
#include <algorithm>
#include <map>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "base/byte_codec.h"
#include "base/strings.h"
#include "engine/cube.h"

namespace quantatom {

namespace {

// At most this many cells are named in an Aborted message; the rest are counted.
constexpr size_t kConflictsInMessage = 20;

std::string DescribeValue(const CellValue& v) {
  if (v.is_number()) return StrCat(v.number);
  if (v.is_text()) return StrCat("'", v.text, "'");
  return "empty";
}

std::string Label(const ChangeSet& set) {
  // The newest event decides what the set did last: applied, undone, or re-applied.
  if (set.undone) return StrCat("undo of ", set.action);
  if (set.undone_seq != 0) return StrCat("redo of ", set.action);
  return set.action;
}

// Whether `coord` can be printed: one member in range per dimension.
bool NamesMembers(const AppModel& model, const Coordinate& coord) {
  if (coord.size() != model.dimensions.size()) return false;
  for (size_t d = 0; d < coord.size(); ++d)
    if (coord[d] >= model.dimensions[d].member_count()) return false;
  return true;
}

}  // namespace

uint64_t Cube::CurrentSeq() const {
  std::shared_lock lock(mu_);
  return history_.seq();
}

void Cube::NoteLoadLocked() {
  loaded_seq_ = history_.Advance();
  scaled_regions_.clear();  // a load supersedes them
}

void Cube::NoteScaleLocked(const Coordinate& region) { scaled_regions_.emplace_back(history_.Advance(), region); }

std::vector<BaseChange> Cube::ChangedSince(uint64_t seq, std::span<const uint64_t> keys) const {
  std::shared_lock lock(mu_);
  return ChangedSinceLocked(seq, keys);
}

std::vector<BaseChange> Cube::ChangedSinceLocked(uint64_t seq, std::span<const uint64_t> keys) const {
  // The events after `seq` first: usually few or none, and then no key needs looking at.
  std::vector<const ChangeSet*> sets;
  for (const ChangeSet& set : history_.change_sets())
    if (std::max(set.applied_seq, set.undone_seq) > seq) sets.push_back(&set);
  const bool loaded = loaded_seq_ > seq;
  const bool scaled = !scaled_regions_.empty() && scaled_regions_.back().first > seq;
  if (sets.empty() && !loaded && !scaled) return {};

  // Per distinct key, its newest event after `seq`: when, and which change set (nullptr for a
  // rescale or a load, told apart by `at`).
  struct Newest {
    uint64_t at = 0;
    const ChangeSet* set = nullptr;
  };
  absl::flat_hash_map<uint64_t, Newest> newest;
  newest.reserve(keys.size());
  for (uint64_t key : keys) newest.try_emplace(key);
  auto note = [&](uint64_t key, uint64_t at, const ChangeSet* set) {
    auto it = newest.find(key);
    if (it != newest.end() && it->second.at < at) it->second = {at, set};
  };
  const size_t dims = model_.dimensions.size();
  auto under = [&](uint64_t key, const uint32_t* region) {
    for (size_t d = 0; d < dims; ++d)
      if (!model_.dimensions[d].IsAncestorOrSelf(region[d], model_.dimensions[d].leaf_member(store_.layout().Get(key, static_cast<int>(d)))))
        return false;
    return true;
  };
  if (loaded)
    for (uint64_t key : keys) note(key, loaded_seq_, nullptr);
  for (const auto& [at, region] : scaled_regions_) {
    if (at <= seq) continue;
    for (uint64_t key : keys)
      if (under(key, region.data())) note(key, at, nullptr);
  }
  for (const ChangeSet* set : sets) {
    const uint64_t at = std::max(set->applied_seq, set->undone_seq);
    for (const ScaledCells& s : set->changes.scaled) {
      if (s.released) {  // only the region is left: every cell under it may have changed
        for (const auto& [key, n] : newest)
          if (under(key, s.region.data())) note(key, at, set);
        continue;
      }
      // A rescale lists every cell it scaled, often millions: skip the list when no key asked
      // about lies under its region.
      bool any = false;
      for (auto it = newest.begin(); it != newest.end() && !any; ++it) any = under(it->first, s.region.data());
      if (!any) continue;
      for (const KeyBefore& c : s.before) note(c.key, at, set);
    }
    for (const NumberChange& c : set->changes.numbers) note(c.key, at, set);
    for (const CellChange& c : set->changes.others) note(c.key, at, set);
    for (uint64_t key : set->released_keys) note(key, at, set);
  }

  std::vector<BaseChange> out;
  for (uint64_t key : keys) {
    auto it = newest.find(key);
    if (it == newest.end() || it->second.at == 0) continue;
    const Newest& n = it->second;
    if (n.set) out.push_back({key, n.at, n.set->id, n.set->user, Label(*n.set)});
    else out.push_back({key, n.at, 0, "", n.at == loaded_seq_ ? "load" : "scale"});
    newest.erase(it);  // a key asked twice is reported once
  }
  return out;
}

std::vector<uint64_t> Cube::NewestChangeUnder(std::span<const Coordinate> coords) const {
  std::shared_lock lock(mu_);
  const size_t dims = model_.dimensions.size();
  const KeyLayout& layout = store_.layout();
  std::vector<uint64_t> out(coords.size(), 0);
  if (coords.empty()) return out;
  // Per (dimension, member): the leaf ordinals under it, as bit words; shared between cells.
  std::map<std::pair<size_t, MemberId>, std::vector<uint64_t>> leaf_bits;
  auto bits_of = [&](size_t d, MemberId m) -> const std::vector<uint64_t>& {
    auto [it, fresh] = leaf_bits.try_emplace({d, m});
    if (fresh) {
      it->second.assign((model_.dimensions[d].leaf_count() + 63) / 64, 0);
      for (auto [ordinal, weight] : model_.dimensions[d].LeavesUnder(m)) it->second[ordinal >> 6] |= uint64_t{1} << (ordinal & 63);
    }
    return it->second;
  };
  std::vector<std::vector<const std::vector<uint64_t>*>> under(coords.size(), std::vector<const std::vector<uint64_t>*>(dims));
  for (size_t i = 0; i < coords.size(); ++i)
    for (size_t d = 0; d < dims; ++d) under[i][d] = &bits_of(d, coords[i][d]);
  auto intersects = [](const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
    for (size_t w = 0; w < a.size() && w < b.size(); ++w)
      if (a[w] & b[w]) return true;
    return false;
  };
  auto region_overlaps = [&](size_t i, const Coordinate& region) {
    for (size_t d = 0; d < dims; ++d)
      if (!intersects(*under[i][d], bits_of(d, region[d]))) return false;
    return true;
  };
  auto covers = [&](size_t i, uint64_t key) {
    for (size_t d = 0; d < dims; ++d) {
      const uint32_t o = layout.Get(key, static_cast<int>(d));
      if (!(((*under[i][d])[o >> 6] >> (o & 63)) & 1)) return false;
    }
    return true;
  };
  auto raise = [&](size_t i, uint64_t at) { out[i] = std::max(out[i], at); };
  for (size_t i = 0; i < coords.size(); ++i) raise(i, loaded_seq_);
  for (const auto& [at, region] : scaled_regions_)
    for (size_t i = 0; i < coords.size(); ++i)
      if (out[i] < at && region_overlaps(i, region)) raise(i, at);
  std::vector<std::vector<uint64_t>> touched(dims);
  for (const ChangeSet& set : history_.change_sets()) {
    const uint64_t at = std::max(set.applied_seq, set.undone_seq);
    bool any_below = false;
    for (uint64_t v : out) any_below = any_below || v < at;
    if (!any_below) continue;
    // The set's keys, and per dimension the leaves they touch: a cell can only be under a key
    // if, in every dimension, its leaves meet the touched ones.
    std::vector<uint64_t> keys;
    for (const NumberChange& c : set.changes.numbers) keys.push_back(c.key);
    for (const CellChange& c : set.changes.others) keys.push_back(c.key);
    for (uint64_t key : set.released_keys) keys.push_back(key);
    for (size_t d = 0; d < dims; ++d) touched[d].assign((model_.dimensions[d].leaf_count() + 63) / 64, 0);
    for (uint64_t key : keys)
      for (size_t d = 0; d < dims; ++d) {
        const uint32_t o = layout.Get(key, static_cast<int>(d));
        touched[d][o >> 6] |= uint64_t{1} << (o & 63);
      }
    for (size_t i = 0; i < coords.size(); ++i) {
      if (out[i] >= at) continue;
      bool hit = false;
      for (const ScaledCells& sc : set.changes.scaled) hit = hit || region_overlaps(i, sc.region);
      if (!hit) {
        bool maybe = !keys.empty();
        for (size_t d = 0; d < dims && maybe; ++d) maybe = intersects(touched[d], *under[i][d]);
        for (size_t k = 0; maybe && !hit && k < keys.size(); ++k) hit = covers(i, keys[k]);
      }
      if (hit) raise(i, at);
    }
  }
  return out;
}

std::vector<WriteConflict> Cube::FindConflicts(std::span<const VersionedWrite> batch) const {
  std::shared_lock lock(mu_);
  return FindConflictsLocked(batch);
}

std::vector<WriteConflict> Cube::FindConflictsLocked(std::span<const VersionedWrite> batch,
                                                     std::vector<uint64_t>* superseded) const {
  if (batch.empty()) return {};
  // One pass over the history from the oldest version asked: the newest change of a cell is
  // after its own version exactly when the cell changed since that version.
  uint64_t oldest = UINT64_MAX;
  LargeVector<uint64_t> keys;
  keys.reserve(batch.size());
  for (const VersionedWrite& w : batch) {
    oldest = std::min(oldest, w.seen_seq);
    keys.push_back(w.key);
  }
  absl::flat_hash_map<uint64_t, BaseChange> changed;
  for (BaseChange& c : ChangedSinceLocked(oldest, keys)) changed.emplace(c.key, std::move(c));
  std::vector<WriteConflict> out;
  for (const VersionedWrite& w : batch) {
    auto it = changed.find(w.key);
    if (it == changed.end() || it->second.seq <= w.seen_seq) continue;
    // The app changed the cell after the writer's app entry. With the writer's whole vector:
    // if the app's change had already seen it (the value reached the app through another
    // replica), the app is causally later and the write is stale, not in conflict.
    if (w.seen != nullptr && w.seen->LessOrEqual(ClockAt(it->second.seq))) {
      if (superseded) superseded->push_back(w.key);
      continue;
    }
    out.push_back({w.key, LeafOfKey(w.key), store_.Get(w.key), w.value, w.seen_seq, it->second});
  }
  return out;
}

absl::Status Cube::CheckWrites(const std::vector<CellWrite>& batch) const {
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::Status s = ValidateCoordinate(batch[i].coord, /*leaf_only=*/true);
    if (s.ok() && batch[i].value.is_number() && !std::isfinite(batch[i].value.number))
      s = absl::InvalidArgumentError("value is not a finite number");
    if (s.ok()) {
      if (std::string why = ReadOnlyReason(batch[i].coord); !why.empty())
        s = absl::FailedPreconditionError(StrCat(why, " is read-only"));
    }
    if (!s.ok())
      return absl::Status(s.code(), StrCat("write ", i + 1, " of ", batch.size(),
                                           NamesMembers(model_, batch[i].coord)
                                               ? StrCat(" (", model_.FormatCoordinate(batch[i].coord), ")")
                                               : std::string(),
                                           ": ", std::string(s.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<VersionedWriteResult> Cube::WriteVersioned(std::span<const VersionedWrite> batch, ConflictPolicy policy,
                                                          const std::string& user, const std::string& action,
                                                          const VersionVector* merge) {
  const KeyLayout& layout = store_.layout();
  for (size_t i = 0; i < batch.size(); ++i) {
    bool in_layout = layout.total_bits() == 64 || (batch[i].key >> layout.total_bits()) == 0;
    for (int d = 0; d < layout.dims() && in_layout; ++d) in_layout = layout.Get(batch[i].key, d) < layout.leaf_count(d);
    if (!in_layout) return absl::InvalidArgumentError(StrCat("write ", i + 1, " of ", batch.size(), ": key ", batch[i].key, " is not a leaf key of this app"));
    if (batch[i].value.is_number() && !std::isfinite(batch[i].value.number))
      return absl::InvalidArgumentError(StrCat("write ", i + 1, " of ", batch.size(), " (",
                                               model_.FormatCoordinate(LeafOfKey(batch[i].key)), "): value is not a finite number"));
  }
  std::unique_lock lock(mu_);
  // Under the lock: formula members become read-only with SetFormula.
  for (size_t i = 0; i < batch.size() && !read_only_holds_.empty(); ++i)
    if (std::string why = ReadOnlyReasonLocked(LeafOfKey(batch[i].key)); !why.empty())
      return absl::FailedPreconditionError(StrCat("write ", i + 1, " of ", batch.size(), " (",
                                                  model_.FormatCoordinate(LeafOfKey(batch[i].key)), "): ", why,
                                                  " is read-only"));
  VersionedWriteResult result;
  std::vector<uint64_t> superseded;
  result.conflicts = FindConflictsLocked(batch, &superseded);
  result.superseded = superseded.size();
  if (!result.conflicts.empty() && policy == ConflictPolicy::kAbort) {
    std::vector<std::string> lines;
    for (size_t i = 0; i < result.conflicts.size() && i < kConflictsInMessage; ++i) {
      const WriteConflict& c = result.conflicts[i];
      lines.push_back(StrCat(model_.FormatCoordinate(c.coord), ": now ", DescribeValue(c.current), ", yours ",
                             DescribeValue(c.mine), " (changed by ",
                             c.change.change_set ? StrCat("user '", c.change.user, "' in change set ", c.change.change_set, " (", c.change.action, ")")
                                                 : StrCat("a ", c.change.action),
                             ")"));
    }
    if (result.conflicts.size() > kConflictsInMessage)
      lines.push_back(StrCat("... and ", result.conflicts.size() - kConflictsInMessage, " more"));
    return absl::AbortedError(StrCat(result.conflicts.size(), " cell(s) changed since you read them, nothing written: ",
                                     StrJoin(lines, "; ")));
  }
  absl::flat_hash_map<uint64_t, bool> skip;
  if (policy == ConflictPolicy::kKeepTheirs)
    for (const WriteConflict& c : result.conflicts) skip.emplace(c.key, true);
  for (uint64_t key : superseded) skip.emplace(key, true);
  // The writes are applied where they are (a bulk write has millions: no copy), or, when some
  // are skipped, the positions of the others.
  std::vector<size_t> kept;
  if (!skip.empty())
    for (size_t i = 0; i < batch.size(); ++i)
      if (!skip.contains(batch[i].key)) kept.push_back(i);
  result.written = skip.empty() ? batch.size() : kept.size();
  ChangeList applied = skip.empty() ? ApplyKeyedLocked(batch.size(), [&](size_t i) {
    return std::pair(batch[i].key, &batch[i].value);
  })
                                    : ApplyKeyedLocked(kept.size(), [&](size_t i) {
                                        return std::pair(batch[kept[i]].key, &batch[kept[i]].value);
                                      });
  result.change_set = history_.Record(user, action, std::move(applied));
  if (merge != nullptr) NoteMergedLocked(result.change_set, *merge);
  return result;
}

// ---- Vector clocks ----

VersionVector Cube::ClockAt(uint64_t seq) const {
  std::lock_guard lock(clock_mu_);
  VersionVector out;
  // The newest merge at or before `seq` holds every counter merged until then.
  auto it = std::upper_bound(clock_merges_.begin(), clock_merges_.end(), seq,
                             [](uint64_t s, const ClockMerge& m) { return s < m.seq; });
  if (it != clock_merges_.begin()) out = std::prev(it)->merged;
  out.Set(kAppReplica, seq);
  return out;
}

VersionVector Cube::MergedAfter(uint64_t change_set, bool* merged_here) const {
  std::lock_guard lock(clock_mu_);
  auto it = std::upper_bound(clock_merges_.begin(), clock_merges_.end(), change_set,
                             [](uint64_t id, const ClockMerge& m) { return id < m.change_set; });
  if (merged_here) *merged_here = it != clock_merges_.begin() && std::prev(it)->change_set == change_set;
  return it == clock_merges_.begin() ? VersionVector() : std::prev(it)->merged;
}

VersionVector Cube::ChangeSetClock(uint64_t id) const {
  std::shared_lock lock(mu_);
  const std::vector<ChangeSet>& sets = history_.change_sets();
  if (id == 0 || id > sets.size()) return VersionVector();
  return ClockAt(sets[id - 1].applied_seq);
}

void Cube::NoteMergedLocked(uint64_t change_set, const VersionVector& merged) {
  std::lock_guard lock(clock_mu_);
  VersionVector all = clock_merges_.empty() ? VersionVector() : clock_merges_.back().merged;
  VersionVector others = merged;
  others.Set(kAppReplica, 0);
  if (others.LessOrEqual(all)) return;  // nothing new: no entry (the table stays one per real merge)
  all.Merge(others);
  clock_merges_.push_back({change_set, history_.seq(), std::move(all)});
}

absl::Status Cube::NoteMerged(uint64_t change_set, const VersionVector& merged) {
  std::unique_lock lock(mu_);
  if (change_set != history_.change_sets().size())
    return absl::DataLossError(StrCat("replay: the version vector of change set ", change_set,
                                      " follows change set ", history_.change_sets().size()));
  NoteMergedLocked(change_set, merged);
  return absl::OkStatus();
}

std::string Cube::EncodeClocks() const {
  std::lock_guard lock(clock_mu_);
  ByteWriter w;
  w.Put(uint64_t{1});  // version
  w.Put(static_cast<uint64_t>(clock_merges_.size()));
  for (const ClockMerge& m : clock_merges_) {
    w.Put(m.change_set);
    w.Put(m.seq);
    m.merged.EncodeTo(w);
  }
  return w.Take();
}

absl::Status Cube::RestoreClocks(std::string_view bytes, const std::string& name) {
  ByteReader in(bytes, StrCat(name, " (clocks)"));
  uint64_t version = 0, count = 0;
  QA_RETURN_IF_ERROR(in.Get(&version, "the version"));
  if (version != 1) return in.Error(StrCat("unknown version ", version));
  QA_RETURN_IF_ERROR(in.GetCount<uint64_t>(&count, 20, "the merge count"));
  std::vector<ClockMerge> merges;
  for (uint64_t i = 0; i < count; ++i) {
    ClockMerge m;
    QA_RETURN_IF_ERROR(in.Get(&m.change_set, "a merge's change set"));
    QA_RETURN_IF_ERROR(in.Get(&m.seq, "a merge's seq"));
    QA_RETURN_IF_ERROR(VersionVector::DecodeFrom(in, &m.merged));
    if (!merges.empty() && (m.change_set <= merges.back().change_set || m.seq < merges.back().seq ||
                            !merges.back().merged.LessOrEqual(m.merged)))
      return in.Error("merges out of order");
    merges.push_back(std::move(m));
  }
  if (!in.done()) return in.Error("trailing bytes");
  std::unique_lock lock(mu_);
  std::lock_guard clock_lock(clock_mu_);
  clock_merges_ = std::move(merges);
  return absl::OkStatus();
}

}  // namespace quantatom

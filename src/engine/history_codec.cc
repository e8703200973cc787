// History::Encode / History::Decode: the undo history kept in the app snapshot, so that undo and
// redo work across runs of the command line (and, later, restarts of the server).
#include <algorithm>

#include "base/byte_codec.h"
#include "base/strings.h"
#include "engine/history.h"
#include "model/cell_value_codec.h"

namespace quantatom {

namespace {

constexpr uint64_t kVersion = 1;
}  // namespace

std::string History::Encode(size_t max_cells) const {
  // Newest first until the budget is spent: those keep their cells.
  std::vector<bool> keep(sets_.size(), false);
  std::vector<size_t> order(sets_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sets_[a].applied_seq > sets_[b].applied_seq; });
  size_t budget = max_cells;
  for (size_t i : order) {
    const size_t n = sets_[i].changes.size();
    if (sets_[i].expired || n > budget) break;
    budget -= n;
    keep[i] = true;
  }
  // Sized once (an upper bound): after a bulk write the kept cells are tens of MB, which a
  // string grown by doubling would copy and fault in again at every step.
  size_t bound = 64;
  for (size_t i = 0; i < sets_.size(); ++i) {
    const ChangeSet& set = sets_[i];
    bound += 128 + set.user.size() + set.action.size() + 8 * set.released_keys.size();
    for (const ScaledCells& s : set.changes.scaled) bound += 64 + 4 * s.region.size() + 16 * s.before.size();
    bound += 30 * set.changes.numbers.size();  // keys of expired sets take less
    for (const CellChange& c : set.changes.others) bound += 60 + c.before.text.size() + c.after.text.size();
  }
  for (const auto& [user, ids] : redo_) bound += 16 + user.size() + 8 * ids.size();
  ByteWriter w;
  w.Reserve(bound);
  w.Put<uint64_t>(kVersion);
  w.Put<uint64_t>(seq_);
  w.Put<uint64_t>(sets_.size());
  for (size_t i = 0; i < sets_.size(); ++i) {
    const ChangeSet& set = sets_[i];
    w.Put<uint64_t>(set.id);
    w.PutString<uint64_t>(set.user);
    w.PutString<uint64_t>(set.action);
    w.Put<uint8_t>(set.undone);
    w.Put<uint8_t>(!keep[i]);
    w.Put<uint64_t>(set.applied_seq);
    w.Put<uint64_t>(set.undone_seq);
    w.Put<uint64_t>(set.changes.scaled.size());
    for (const ScaledCells& s : set.changes.scaled) {
      w.Put<double>(s.factor);
      w.Put<uint8_t>(s.released || !keep[i]);
      w.Put<uint64_t>(s.region.size());
      for (uint32_t m : s.region) w.Put<uint32_t>(m);
      const size_t n = keep[i] && !s.released ? s.before.size() : 0;
      w.Put<uint64_t>(n);
      for (size_t k = 0; k < n; ++k) w.Put<uint64_t>(s.before[k].key), w.Put<double>(s.before[k].value);
    }
    const bool cells = keep[i];
    w.Put<uint64_t>(cells ? set.changes.numbers.size() : 0);
    if (cells)
      for (const NumberChange& c : set.changes.numbers) {
        w.Put<uint64_t>(c.key);
        w.Put<double>(c.before_value);
        w.Put<double>(c.after_value);
        w.Put<uint32_t>(c.order);
        w.Put<uint8_t>(c.before_empty);
        w.Put<uint8_t>(c.after_empty);
      }
    w.Put<uint64_t>(cells ? set.changes.others.size() : 0);
    if (cells)
      for (const CellChange& c : set.changes.others) {
        w.Put<uint64_t>(c.key);
        PutCellValueFull(w, c.before);
        PutCellValueFull(w, c.after);
        w.Put<uint32_t>(c.order);
      }
    // An expired set keeps the keys of its listed cells, as a discarded redo does.
    std::vector<uint64_t> released = set.released_keys;
    if (!cells) {
      for (const NumberChange& c : set.changes.numbers) released.push_back(c.key);
      for (const CellChange& c : set.changes.others) released.push_back(c.key);
    }
    w.Put<uint64_t>(released.size());
    for (uint64_t k : released) w.Put<uint64_t>(k);
  }
  w.Put<uint64_t>(redo_.size());
  for (const auto& [user, ids] : redo_) {
    w.PutString<uint64_t>(user);
    std::vector<uint64_t> live;
    for (uint64_t id : ids)
      if (keep[id - 1]) live.push_back(id);
    w.Put<uint64_t>(live.size());
    for (uint64_t id : live) w.Put<uint64_t>(id);
  }
  return w.Take();
}

absl::Status History::Decode(std::string_view bytes, const std::string& name) {
  const std::string context = StrCat(name, ": history");
  ByteReader r(bytes, context);
  uint64_t version = 0, seq = 0, count = 0;
  QA_RETURN_IF_ERROR(r.Get(&version));
  if (version != kVersion) return r.Error(StrCat("bad version ", version));
  QA_RETURN_IF_ERROR(r.Get(&seq));
  QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&count, 8));
  std::vector<ChangeSet> sets(count);
  for (uint64_t i = 0; i < count; ++i) {
    ChangeSet& set = sets[i];
    uint8_t undone = 0, expired = 0;
    QA_RETURN_IF_ERROR(r.Get(&set.id));
    if (set.id != i + 1) return r.Error(StrCat("bad change set id ", set.id));
    QA_RETURN_IF_ERROR(r.GetString<uint64_t>(&set.user));
    QA_RETURN_IF_ERROR(r.GetString<uint64_t>(&set.action));
    QA_RETURN_IF_ERROR(r.Get(&undone));
    QA_RETURN_IF_ERROR(r.Get(&expired));
    set.undone = undone != 0;
    set.expired = expired != 0;
    QA_RETURN_IF_ERROR(r.Get(&set.applied_seq));
    QA_RETURN_IF_ERROR(r.Get(&set.undone_seq));
    uint64_t n = 0;
    QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&n, 8));
    for (uint64_t k = 0; k < n; ++k) {
      ScaledCells s;
      uint8_t released = 0;
      uint64_t region = 0, cells = 0;
      QA_RETURN_IF_ERROR(r.Get(&s.factor));
      QA_RETURN_IF_ERROR(r.Get(&released));
      s.released = released != 0;
      QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&region, 4));
      s.region.resize(region);
      for (uint32_t& m : s.region) QA_RETURN_IF_ERROR(r.Get(&m));
      QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&cells, 16));
      s.before.resize(cells);
      for (KeyBefore& c : s.before) {
        QA_RETURN_IF_ERROR(r.Get(&c.key));
        QA_RETURN_IF_ERROR(r.Get(&c.value));
      }
      set.changes.scaled.push_back(std::move(s));
    }
    QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&n, 30));
    set.changes.numbers.resize(n);
    for (NumberChange& c : set.changes.numbers) {
      uint8_t be = 0, ae = 0;
      QA_RETURN_IF_ERROR(r.Get(&c.key));
      QA_RETURN_IF_ERROR(r.Get(&c.before_value));
      QA_RETURN_IF_ERROR(r.Get(&c.after_value));
      QA_RETURN_IF_ERROR(r.Get(&c.order));
      QA_RETURN_IF_ERROR(r.Get(&be));
      QA_RETURN_IF_ERROR(r.Get(&ae));
      c.before_empty = be != 0, c.after_empty = ae != 0;
    }
    QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&n, 12));
    set.changes.others.resize(n);
    for (CellChange& c : set.changes.others) {
      QA_RETURN_IF_ERROR(r.Get(&c.key));
      QA_RETURN_IF_ERROR(GetCellValueFull(r, &c.before));
      QA_RETURN_IF_ERROR(GetCellValueFull(r, &c.after));
      QA_RETURN_IF_ERROR(r.Get(&c.order));
    }
    QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&n, 8));
    set.released_keys.resize(n);
    for (uint64_t& k : set.released_keys) QA_RETURN_IF_ERROR(r.Get(&k));
    if (std::max(set.applied_seq, set.undone_seq) > seq) return r.Error("bad sequence number (newer than the history)");
  }
  uint64_t users = 0;
  QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&users, 16));
  std::vector<std::pair<std::string, std::vector<uint64_t>>> redo(users);
  for (auto& [user, ids] : redo) {
    uint64_t n = 0;
    QA_RETURN_IF_ERROR(r.GetString<uint64_t>(&user));
    QA_RETURN_IF_ERROR(r.GetCount<uint64_t>(&n, 8));
    ids.resize(n);
    for (uint64_t& id : ids) {
      QA_RETURN_IF_ERROR(r.Get(&id));
      if (id == 0 || id > sets.size() || !sets[id - 1].undone || sets[id - 1].expired || sets[id - 1].user != user)
        return r.Error(StrCat("bad redo entry ", id));
    }
  }
  if (r.remaining() != 0) return r.Error(StrCat(r.remaining(), " trailing bytes"));
  sets_ = std::move(sets);
  redo_ = std::move(redo);
  seq_ = seq;
  return absl::OkStatus();
}

}  // namespace quantatom

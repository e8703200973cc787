#include "durable/change_record.h"

#include <cstring>
#include <utility>

#include "base/byte_codec.h"
#include "base/large_allocator.h"
#include "base/strings.h"
#include "model/cell_value_codec.h"

namespace quantatom::durable {
namespace {

constexpr uint8_t kVersion = 1;
enum Part : uint8_t { kSet = 1, kUndo = 2, kRedo = 3, kHolds = 4, kSection = 5, kSectionRemoved = 6, kFormula = 7,
                   kSetVector = 8 };

void PutChanges(ByteWriter& w, const std::vector<RecordedChange>& changes) {
  w.Put(static_cast<uint64_t>(changes.size()));
  // A numeric change is 26 bytes (key, two tagged doubles): one allocation for a bulk write of
  // millions of cells instead of a doubling string copied ~20 times.
  w.Reserve(w.size() + changes.size() * 26);
  for (const RecordedChange& c : changes) {
    w.Put(c.key);
    PutCellValue(w, c.before);
    PutCellValue(w, c.after);
  }
}

// Into `out`, or, with a visitor, to it one by one.
absl::Status GetChanges(ByteReader& in, std::vector<RecordedChange>* out, const ChangeRecord& record, bool undo,
                        const CellVisitor* visit) {
  uint64_t n = 0;
  QA_RETURN_IF_ERROR(in.GetCount<uint64_t>(&n, 10, "a cell count"));  // key + two empty tags
  if (visit != nullptr) {
    RecordedChange c;
    for (uint64_t i = 0; i < n; ++i) {
      QA_RETURN_IF_ERROR(in.Get(&c.key, "a cell key"));
      QA_RETURN_IF_ERROR(GetCellValue(in, &c.before));
      QA_RETURN_IF_ERROR(GetCellValue(in, &c.after));
      (*visit)(record, undo, c);
    }
    return absl::OkStatus();
  }
  out->resize(n);
  for (RecordedChange& c : *out) {
    QA_RETURN_IF_ERROR(in.Get(&c.key, "a cell key"));
    QA_RETURN_IF_ERROR(GetCellValue(in, &c.before));
    QA_RETURN_IF_ERROR(GetCellValue(in, &c.after));
  }
  return absl::OkStatus();
}

// A presence byte, then the definition's text and scope.
void PutDefinition(ByteWriter& w, const std::optional<FormulaDefinition>& d) {
  w.Put(static_cast<uint8_t>(d.has_value()));
  if (!d) return;
  w.PutString<uint32_t>(d->text);
  w.Put(static_cast<uint8_t>(d->scope));
}

absl::Status GetDefinition(ByteReader& in, const LoggedFormula& f, std::optional<FormulaDefinition>* d) {
  uint8_t present = 0, scope = 0;
  QA_RETURN_IF_ERROR(in.Get(&present, "a formula"));
  if (present > 1) return in.Error(StrCat("formula presence byte ", static_cast<int>(present)));
  if (!present) return absl::OkStatus();
  FormulaDefinition def{f.dimension, f.member, "", formula::Scope::kLeaf};
  QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&def.text, "a formula"));
  QA_RETURN_IF_ERROR(in.Get(&scope, "a formula scope"));
  if (scope > static_cast<uint8_t>(formula::Scope::kBoth)) return in.Error(StrCat("formula scope ", static_cast<int>(scope)));
  def.scope = static_cast<formula::Scope>(scope);
  *d = std::move(def);
  return absl::OkStatus();
}

// Both decoders (with a cell visitor or without).
absl::StatusOr<ChangeRecord> Decode(std::string_view bytes, std::string_view where, const CellVisitor* visit);

// The parts before the change sets: the header and the undos.
void PutHead(ByteWriter& w, const ChangeRecord& r) {
  w.Put(kVersion);
  w.Put(r.time_us);
  w.PutString<uint32_t>(r.user);
  w.PutString<uint32_t>(r.cause);
  for (const LoggedUndo& u : r.undos) {
    w.Put(u.redo ? kRedo : kUndo);
    w.PutString<uint32_t>(u.user);
    w.Put(u.id);
    PutChanges(w, u.changes);
  }
}

// A change set's part up to its cells (the cell count is the cells' own), and after them.
void PutSetHead(ByteWriter& w, uint64_t id, const std::string& user, const std::string& action) {
  w.Put(kSet);
  w.Put(id);
  w.PutString<uint32_t>(user);
  w.PutString<uint32_t>(action);
}
void PutSetTail(ByteWriter& w, uint64_t id, const VersionVector* merged) {
  if (merged == nullptr || merged->empty()) return;
  w.Put(kSetVector);
  w.Put(id);
  merged->EncodeTo(w);
}

// The parts after the change sets.
void PutTail(ByteWriter& w, const ChangeRecord& r) {
  for (const LoggedHolds& h : r.holds) {
    w.Put(kHolds);
    w.PutString<uint32_t>(h.user);
    w.Put(static_cast<uint64_t>(h.holds.size()));
    for (const Coordinate& c : h.holds) {
      w.Put(static_cast<uint32_t>(c.size()));
      for (MemberId m : c) w.Put(static_cast<uint32_t>(m));
    }
  }
  for (const LoggedSection& s : r.sections) {
    w.Put(s.bytes ? kSection : kSectionRemoved);
    w.PutString<uint32_t>(s.name);
    if (s.bytes) w.PutString<uint32_t>(*s.bytes);
  }
  for (const LoggedFormula& f : r.formulas) {
    w.Put(kFormula);
    w.PutString<uint32_t>(f.dimension);
    w.PutString<uint32_t>(f.member);
    PutDefinition(w, f.before);
    PutDefinition(w, f.after);
  }
}

// Bytes a cell value takes (PutCellValue): its tag, and its number or text.
size_t ValueBytes(const CellValue& v) {
  return 1 + (v.is_number() ? sizeof(double) : v.is_text() ? sizeof(uint32_t) + v.text.size() : 0);
}

// Writes into memory sized beforehand (no bounds checks: the caller's size is an upper bound).
struct RawWriter {
  char* p;
  template <typename T>
  void Put(T v) {
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  }
  void Bytes(std::string_view b) {
    std::memcpy(p, b.data(), b.size());
    p += b.size();
  }
  void Number(const std::optional<double>& v) {
    Put(static_cast<uint8_t>(v ? CellValue::Kind::kNumber : CellValue::Kind::kEmpty));
    if (v) Put(*v);
  }
  void Value(const CellValue& v) {
    Put(static_cast<uint8_t>(v.kind));
    if (v.is_number()) Put(v.number);
    else if (v.is_text()) Put(static_cast<uint32_t>(v.text.size())), Bytes(v.text);
  }
  // A change set's cells in the order applied (the count is written by the caller); for an
  // undo, backwards, each from the value the change left to the one it found.
  void Cells(const ChangeList& changes, bool undo = false) {
    auto number = [&](uint64_t key, const std::optional<double>& before, const std::optional<double>& after) {
      Put(key);
      Number(undo ? after : before);
      Number(undo ? before : after);
    };
    auto other = [&](const CellChange& c) {
      Put(c.key);
      Value(undo ? c.after : c.before);
      Value(undo ? c.before : c.after);
    };
    if (undo) {
      ForEachChangeInReverseOrder(changes, number, other);
    } else {
      ForEachChangeInOrder(changes, number, other);
    }
  }
};

}  // namespace

EncodedRecord& EncodedRecord::operator=(EncodedRecord&& other) noexcept {
  if (this != &other) {
    LazyFree(data_, capacity_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

EncodedRecord::~EncodedRecord() { LazyFree(data_, capacity_); }

EncodedRecord EncodeChangeRecord(const ChangeRecord& r, std::span<const ChangeSetInPlace> in_place) {
  return EncodeChangeRecord(r, {}, in_place);
}

EncodedRecord EncodeChangeRecord(const ChangeRecord& r, std::span<const UndoInPlace> undos,
                                 std::span<const ChangeSetInPlace> in_place) {
  // Everything but the in-place cells is small: encode it first, then size the buffer once.
  // The parts in order: header and logged undos (head), undos in place, logged change sets
  // (sets_head), change sets in place, the rest (tail).
  ByteWriter head, sets_head, tail;
  PutHead(head, r);
  // A cell change is at most a key and two values; a number change a key and two tagged doubles.
  auto cells_bound = [](const ChangeList& changes) {
    size_t bound = (changes.size() - changes.others.size()) * (sizeof(uint64_t) + 2 * (1 + sizeof(double)));
    for (const CellChange& c : changes.others) bound += sizeof(uint64_t) + ValueBytes(c.before) + ValueBytes(c.after);
    return bound;
  };
  std::vector<std::string> undo_heads;
  size_t bound = head.size();
  for (const UndoInPlace& u : undos) {
    ByteWriter uh;
    uh.Put(u.redo ? kRedo : kUndo);
    uh.PutString<uint32_t>(*u.user);
    uh.Put(u.id);
    uh.Put(static_cast<uint64_t>(u.set->changes.size()));
    undo_heads.push_back(uh.Take());
    bound += undo_heads.back().size() + cells_bound(u.set->changes);
  }
  for (const LoggedChangeSet& s : r.sets) {
    PutSetHead(sets_head, s.id, s.user, s.action);
    PutChanges(sets_head, s.changes);
    PutSetTail(sets_head, s.id, &s.merged);
  }
  bound += sets_head.size();
  std::vector<std::string> set_heads, set_tails;
  for (const ChangeSetInPlace& in : in_place) {
    const ChangeSet& set = *in.set;
    ByteWriter sh, st;
    PutSetHead(sh, set.id, set.user, set.action);
    sh.Put(static_cast<uint64_t>(set.changes.size()));
    PutSetTail(st, set.id, in.merged);
    set_heads.push_back(sh.Take());
    set_tails.push_back(st.Take());
    bound += set_heads.back().size() + set_tails.back().size() + cells_bound(set.changes);
  }
  PutTail(tail, r);
  bound += tail.size();

  EncodedRecord out;
  out.capacity_ = bound;
  out.data_ = static_cast<char*>(LazyAllocate(bound));
  RawWriter w{out.data_};
  w.Bytes(head.bytes());
  for (size_t i = 0; i < undos.size(); ++i) {
    w.Bytes(undo_heads[i]);
    w.Cells(undos[i].set->changes, /*undo=*/!undos[i].redo);
  }
  w.Bytes(sets_head.bytes());
  for (size_t i = 0; i < in_place.size(); ++i) {
    w.Bytes(set_heads[i]);
    w.Cells(in_place[i].set->changes);
    w.Bytes(set_tails[i]);
  }
  w.Bytes(tail.bytes());
  out.size_ = static_cast<size_t>(w.p - out.data_);
  return out;
}

std::string EncodeChangeRecord(const ChangeRecord& r) {
  EncodedRecord encoded = EncodeChangeRecord(r, {});
  return std::string(encoded.bytes());
}

absl::StatusOr<ChangeRecord> DecodeChangeRecord(std::string_view bytes, std::string_view where) {
  return Decode(bytes, where, nullptr);
}

absl::StatusOr<ChangeRecord> DecodeChangeRecord(std::string_view bytes, std::string_view where,
                                                const CellVisitor& cell) {
  return Decode(bytes, where, &cell);
}

namespace {
absl::StatusOr<ChangeRecord> Decode(std::string_view bytes, std::string_view where, const CellVisitor* visit) {
  const std::string context = StrCat(where, ": change record");
  ByteReader in(bytes, context);
  ChangeRecord r;
  uint8_t version = 0;
  QA_RETURN_IF_ERROR(in.Get(&version));
  if (version != kVersion) return in.Error(StrCat("version ", static_cast<int>(version), " (expected 1)"));
  QA_RETURN_IF_ERROR(in.Get(&r.time_us));
  QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&r.user));
  QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&r.cause));
  while (!in.done()) {
    uint8_t part = 0;
    QA_RETURN_IF_ERROR(in.Get(&part));
    switch (part) {
      case kUndo:
      case kRedo: {
        LoggedUndo& u = r.undos.emplace_back();
        u.redo = part == kRedo;
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&u.user));
        QA_RETURN_IF_ERROR(in.Get(&u.id));
        QA_RETURN_IF_ERROR(GetChanges(in, &u.changes, r, /*undo=*/true, visit));
        break;
      }
      case kSet: {
        LoggedChangeSet& s = r.sets.emplace_back();
        QA_RETURN_IF_ERROR(in.Get(&s.id));
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&s.user));
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&s.action));
        QA_RETURN_IF_ERROR(GetChanges(in, &s.changes, r, /*undo=*/false, visit));
        break;
      }
      case kSetVector: {
        uint64_t id = 0;
        QA_RETURN_IF_ERROR(in.Get(&id, "a version vector's change set"));
        if (r.sets.empty() || r.sets.back().id != id || !r.sets.back().merged.empty())
          return in.Error(StrCat("a version vector for change set ", id, " that does not follow it"));
        VersionVector v;
        QA_RETURN_IF_ERROR(VersionVector::DecodeFrom(in, &v));
        if (v.empty() || v.Get(kAppReplica) != 0) return in.Error("a change set's merged vector must name other replicas only");
        r.sets.back().merged = std::move(v);
        break;
      }
      case kHolds: {
        LoggedHolds h;
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&h.user));
        uint64_t n = 0;
        QA_RETURN_IF_ERROR(in.GetCount<uint64_t>(&n, 4, "a hold count"));
        for (uint64_t i = 0; i < n; ++i) {
          uint64_t dims = 0;
          uint32_t d32 = 0;
          QA_RETURN_IF_ERROR(in.Get(&d32));
          dims = d32;
          Coordinate c;
          for (uint64_t d = 0; d < dims; ++d) {
            uint32_t m = 0;
            QA_RETURN_IF_ERROR(in.Get(&m));
            c.push_back(m);
          }
          h.holds.push_back(std::move(c));
        }
        r.holds.push_back(std::move(h));
        break;
      }
      case kSection:
      case kSectionRemoved: {
        LoggedSection s;
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&s.name));
        if (part == kSection) {
          std::string b;
          QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&b));
          s.bytes = std::move(b);
        }
        r.sections.push_back(std::move(s));
        break;
      }
      case kFormula: {
        LoggedFormula f;
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&f.dimension, "a formula's dimension"));
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&f.member, "a formula's member"));
        QA_RETURN_IF_ERROR(GetDefinition(in, f, &f.before));
        QA_RETURN_IF_ERROR(GetDefinition(in, f, &f.after));
        r.formulas.push_back(std::move(f));
        break;
      }
      default:
        return in.Error(StrCat("unknown part type ", static_cast<int>(part)));
    }
  }
  return r;
}

}  // namespace

}  // namespace quantatom::durable

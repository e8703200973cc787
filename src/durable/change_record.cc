#include "durable/change_record.h"

#include "base/byte_codec.h"
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

absl::Status GetChanges(ByteReader& in, std::vector<RecordedChange>* out) {
  uint64_t n = 0;
  QA_RETURN_IF_ERROR(in.GetCount<uint64_t>(&n, 10, "a cell count"));  // key + two empty tags
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

}  // namespace

std::string EncodeChangeRecord(const ChangeRecord& r) {
  ByteWriter w;
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
  for (const LoggedChangeSet& s : r.sets) {
    w.Put(kSet);
    w.Put(s.id);
    w.PutString<uint32_t>(s.user);
    w.PutString<uint32_t>(s.action);
    PutChanges(w, s.changes);
    if (!s.merged.empty()) {
      w.Put(kSetVector);
      w.Put(s.id);
      s.merged.EncodeTo(w);
    }
  }
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
  return w.Take();
}

absl::StatusOr<ChangeRecord> DecodeChangeRecord(std::string_view bytes, std::string_view where) {
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
        LoggedUndo u;
        u.redo = part == kRedo;
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&u.user));
        QA_RETURN_IF_ERROR(in.Get(&u.id));
        QA_RETURN_IF_ERROR(GetChanges(in, &u.changes));
        r.undos.push_back(std::move(u));
        break;
      }
      case kSet: {
        LoggedChangeSet s;
        QA_RETURN_IF_ERROR(in.Get(&s.id));
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&s.user));
        QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&s.action));
        QA_RETURN_IF_ERROR(GetChanges(in, &s.changes));
        r.sets.push_back(std::move(s));
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

}  // namespace quantatom::durable

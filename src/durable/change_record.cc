#include "durable/change_record.h"

#include <cstring>

#include "base/strings.h"

namespace quantatom::durable {
namespace {

constexpr uint8_t kVersion = 1;
enum Tag : uint8_t { kEmpty = 0, kNumber = 1, kText = 2 };
enum Part : uint8_t { kSet = 1, kUndo = 2, kRedo = 3, kHolds = 4, kSection = 5, kSectionRemoved = 6 };

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}
void PutString(std::string* out, std::string_view s) {
  Put(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
void PutValue(std::string* out, const CellValue& v) {
  if (v.is_number()) {
    Put(out, kNumber);
    Put(out, v.number);
  } else if (v.is_text()) {
    Put(out, kText);
    PutString(out, v.text);
  } else {
    Put(out, kEmpty);
  }
}
void PutChanges(std::string* out, const std::vector<RecordedChange>& changes) {
  Put(out, static_cast<uint64_t>(changes.size()));
  for (const RecordedChange& c : changes) {
    Put(out, c.key);
    PutValue(out, c.before);
    PutValue(out, c.after);
  }
}

class Reader {
 public:
  Reader(std::string_view bytes, std::string_view where) : bytes_(bytes), where_(where) {}
  template <typename T>
  absl::Status Get(T* v) {
    if (bytes_.size() - pos_ < sizeof(T)) return Error("ends early");
    std::memcpy(v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }
  absl::Status GetString(std::string* s) {
    uint32_t n = 0;
    QA_RETURN_IF_ERROR(Get(&n));
    if (bytes_.size() - pos_ < n) return Error("ends inside a string");
    s->assign(bytes_.data() + pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }
  absl::Status GetValue(CellValue* v) {
    uint8_t tag = 0;
    QA_RETURN_IF_ERROR(Get(&tag));
    if (tag == kEmpty) {
      *v = CellValue::Empty();
    } else if (tag == kNumber) {
      double d = 0;
      QA_RETURN_IF_ERROR(Get(&d));
      *v = CellValue::Number(d);
    } else if (tag == kText) {
      std::string t;
      QA_RETURN_IF_ERROR(GetString(&t));
      *v = CellValue::Text(std::move(t));
    } else {
      return Error(StrCat("has value tag ", static_cast<int>(tag)));
    }
    return absl::OkStatus();
  }
  // A count of items of at least `min_size` bytes each, checked against what is left.
  absl::Status GetCount(uint64_t* n, size_t min_size) {
    QA_RETURN_IF_ERROR(Get(n));
    if (*n > (bytes_.size() - pos_) / min_size) return Error(StrCat("claims ", *n, " items"));
    return absl::OkStatus();
  }
  absl::Status GetChanges(std::vector<RecordedChange>* out) {
    uint64_t n = 0;
    QA_RETURN_IF_ERROR(GetCount(&n, 10));
    out->resize(n);
    for (RecordedChange& c : *out) {
      QA_RETURN_IF_ERROR(Get(&c.key));
      QA_RETURN_IF_ERROR(GetValue(&c.before));
      QA_RETURN_IF_ERROR(GetValue(&c.after));
    }
    return absl::OkStatus();
  }
  bool done() const { return pos_ == bytes_.size(); }
  absl::Status Error(std::string_view what) const {
    return absl::DataLossError(StrCat(where_, ": change record ", what, " at byte ", pos_));
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
  std::string_view where_;
};

}  // namespace

std::string EncodeChangeRecord(const ChangeRecord& r) {
  std::string out;
  Put(&out, kVersion);
  Put(&out, r.time_us);
  PutString(&out, r.user);
  PutString(&out, r.cause);
  for (const LoggedUndo& u : r.undos) {
    Put(&out, u.redo ? kRedo : kUndo);
    PutString(&out, u.user);
    Put(&out, u.id);
    PutChanges(&out, u.changes);
  }
  for (const LoggedChangeSet& s : r.sets) {
    Put(&out, kSet);
    Put(&out, s.id);
    PutString(&out, s.user);
    PutString(&out, s.action);
    PutChanges(&out, s.changes);
  }
  for (const LoggedHolds& h : r.holds) {
    Put(&out, kHolds);
    PutString(&out, h.user);
    Put(&out, static_cast<uint64_t>(h.holds.size()));
    for (const Coordinate& c : h.holds) {
      Put(&out, static_cast<uint32_t>(c.size()));
      for (MemberId m : c) Put(&out, static_cast<uint32_t>(m));
    }
  }
  for (const LoggedSection& s : r.sections) {
    Put(&out, s.bytes ? kSection : kSectionRemoved);
    PutString(&out, s.name);
    if (s.bytes) PutString(&out, *s.bytes);
  }
  return out;
}

absl::StatusOr<ChangeRecord> DecodeChangeRecord(std::string_view bytes, std::string_view where) {
  Reader in(bytes, where);
  ChangeRecord r;
  uint8_t version = 0;
  QA_RETURN_IF_ERROR(in.Get(&version));
  if (version != kVersion) return in.Error(StrCat("has version ", static_cast<int>(version), ", expected 1"));
  QA_RETURN_IF_ERROR(in.Get(&r.time_us));
  QA_RETURN_IF_ERROR(in.GetString(&r.user));
  QA_RETURN_IF_ERROR(in.GetString(&r.cause));
  while (!in.done()) {
    uint8_t part = 0;
    QA_RETURN_IF_ERROR(in.Get(&part));
    switch (part) {
      case kUndo:
      case kRedo: {
        LoggedUndo u;
        u.redo = part == kRedo;
        QA_RETURN_IF_ERROR(in.GetString(&u.user));
        QA_RETURN_IF_ERROR(in.Get(&u.id));
        QA_RETURN_IF_ERROR(in.GetChanges(&u.changes));
        r.undos.push_back(std::move(u));
        break;
      }
      case kSet: {
        LoggedChangeSet s;
        QA_RETURN_IF_ERROR(in.Get(&s.id));
        QA_RETURN_IF_ERROR(in.GetString(&s.user));
        QA_RETURN_IF_ERROR(in.GetString(&s.action));
        QA_RETURN_IF_ERROR(in.GetChanges(&s.changes));
        r.sets.push_back(std::move(s));
        break;
      }
      case kHolds: {
        LoggedHolds h;
        QA_RETURN_IF_ERROR(in.GetString(&h.user));
        uint64_t n = 0;
        QA_RETURN_IF_ERROR(in.GetCount(&n, 4));
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
        QA_RETURN_IF_ERROR(in.GetString(&s.name));
        if (part == kSection) {
          std::string b;
          QA_RETURN_IF_ERROR(in.GetString(&b));
          s.bytes = std::move(b);
        }
        r.sections.push_back(std::move(s));
        break;
      }
      default:
        return in.Error(StrCat("has part type ", static_cast<int>(part)));
    }
  }
  return r;
}

}  // namespace quantatom::durable

#include "model/cell_value_codec.h"

#include "base/strings.h"

namespace quantatom {
namespace {

absl::Status GetKind(ByteReader& r, CellValue::Kind* kind) {
  uint8_t tag = 0;
  QA_RETURN_IF_ERROR(r.Get(&tag, "a value tag"));
  if (tag > static_cast<uint8_t>(CellValue::Kind::kText)) return r.Error(StrCat("unknown value tag ", static_cast<int>(tag)));
  *kind = static_cast<CellValue::Kind>(tag);
  return absl::OkStatus();
}

}  // namespace

void PutCellValue(ByteWriter& w, const CellValue& v) {
  w.Put(static_cast<uint8_t>(v.kind));
  if (v.is_number()) w.Put(v.number);
  else if (v.is_text()) w.PutString<uint32_t>(v.text);
}

absl::Status GetCellValue(ByteReader& r, CellValue* v) {
  CellValue::Kind kind;
  QA_RETURN_IF_ERROR(GetKind(r, &kind));
  if (kind == CellValue::Kind::kNumber) {
    double d = 0;
    QA_RETURN_IF_ERROR(r.Get(&d, "a number"));
    *v = CellValue::Number(d);
  } else if (kind == CellValue::Kind::kText) {
    std::string t;
    QA_RETURN_IF_ERROR(r.GetString<uint32_t>(&t, "a text"));
    *v = CellValue::Text(std::move(t));
  } else {
    *v = CellValue::Empty();
  }
  return absl::OkStatus();
}

void PutCellValueFull(ByteWriter& w, const CellValue& v) {
  w.Put(static_cast<uint8_t>(v.kind));
  w.Put(v.number);
  w.PutString<uint64_t>(v.text);
}

absl::Status GetCellValueFull(ByteReader& r, CellValue* v) {
  QA_RETURN_IF_ERROR(GetKind(r, &v->kind));
  QA_RETURN_IF_ERROR(r.Get(&v->number, "a number"));
  return r.GetString<uint64_t>(&v->text, "a text");
}

}  // namespace quantatom

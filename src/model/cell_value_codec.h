// The byte encodings of a CellValue, shared by every format that stores one
// (docs/formats/change-record.md, audit-trail.md, app-snapshot.md's history section).
//
// The tag is the value's kind: 0 empty, 1 number, 2 text (CellValue::Kind's numbering, which
// is therefore frozen). Two layouts use it:
//   compact (change records, audit entries): tag, then the number (f64) for 1 or the text
//                                            (u32 length + UTF-8) for 2, nothing for 0;
//   full    (the undo history):              tag, f64 number, u64 length + text, always.
#pragma once

#include "base/byte_codec.h"
#include "model/cell_value.h"

namespace quantatom {

static_assert(static_cast<uint8_t>(CellValue::Kind::kEmpty) == 0 &&
                  static_cast<uint8_t>(CellValue::Kind::kNumber) == 1 &&
                  static_cast<uint8_t>(CellValue::Kind::kText) == 2,
              "the value tags are stored in files");

void PutCellValue(ByteWriter& w, const CellValue& v);
// DataLoss (naming the tag and offset) for an unknown tag or truncated bytes.
absl::Status GetCellValue(ByteReader& r, CellValue* v);

void PutCellValueFull(ByteWriter& w, const CellValue& v);
absl::Status GetCellValueFull(ByteReader& r, CellValue* v);

}  // namespace quantatom

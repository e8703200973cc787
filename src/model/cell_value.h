// The value of one cell: empty, a number, or text. Empty is not zero: a consolidated cell with
// no non-empty leaf below it is empty, while one whose leaves sum to 0 is 0.
#pragma once

#include <string>
#include <utility>

namespace quantatom {

struct CellValue {
  enum class Kind : uint8_t { kEmpty, kNumber, kText };
  Kind kind = Kind::kEmpty;
  double number = 0;
  std::string text;

  static CellValue Empty() { return {}; }
  static CellValue Number(double v) { return {Kind::kNumber, v, {}}; }
  static CellValue Text(std::string t) { return {Kind::kText, 0, std::move(t)}; }
  bool is_empty() const { return kind == Kind::kEmpty; }
  bool is_number() const { return kind == Kind::kNumber; }
  bool is_text() const { return kind == Kind::kText; }
  bool operator==(const CellValue&) const = default;
};

}  // namespace quantatom

// Per-cell error values (docs/formula-language.md, "Errors").
//
// A formula that cannot produce a number (division by zero, a reference to something that does
// not exist) gives its cell an error value instead of failing the read or the recalculation.
// Errors travel in the same double as numbers: a quiet NaN whose low payload byte is the error
// code. So the store, the consolidation scan and the cache carry them without a second column,
// and a total over an error cell is an error (NaN + x is NaN): an error is never summed away.
// Any other non-finite double that reaches a cell (inf - inf, an overflow) reads as #NUM!.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace quantatom {

enum class CellError : uint8_t {
  kNone = 0,
  kDivZero = 1,  // #DIV/0!  division by zero
  kRef = 2,      // #REF!    a lookup that found no member, cell, app or numeric attribute
  kNum = 3,      // #NUM!    a result that is not a finite number (overflow, inf - inf)
  kValue = 4,    // #VALUE!  a text cell used as a number
};

inline constexpr uint64_t kErrorBits = 0x7FF8'0000'0000'0000ULL;

inline double ErrorValue(CellError e) { return std::bit_cast<double>(kErrorBits | static_cast<uint64_t>(e)); }

// kNone for a finite number; the error a non-finite double stands for otherwise.
inline CellError ErrorOf(double v) {
  if (std::isfinite(v)) return CellError::kNone;
  if (std::isnan(v)) {
    uint64_t code = std::bit_cast<uint64_t>(v) & 0xFF;
    if (code >= 1 && code <= 4) return static_cast<CellError>(code);
  }
  return CellError::kNum;
}

// Non-finite doubles become the canonical NaN of their error, so equal errors are equal bits.
inline double CanonicalResult(double v) { return std::isfinite(v) ? v : ErrorValue(ErrorOf(v)); }

inline std::string_view ErrorText(CellError e) {
  switch (e) {
    case CellError::kNone: return "";
    case CellError::kDivZero: return "#DIV/0!";
    case CellError::kRef: return "#REF!";
    case CellError::kNum: return "#NUM!";
    case CellError::kValue: return "#VALUE!";
  }
  return "#NUM!";
}

}  // namespace quantatom

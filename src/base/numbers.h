// Strict text-to-number conversion: the whole token must be a number, nothing else.
#pragma once

#include <cstdint>
#include <string_view>

namespace quantatom {

// Parses a decimal floating-point number ("12", "-3.5", "1e6"). Rejects empty tokens,
// surrounding spaces, trailing characters, "nan" and "inf" (a planning value is finite).
bool ParseDouble(std::string_view token, double* out);

// Parses an unsigned decimal integer that fits in 32 bits.
bool ParseUint32(std::string_view token, uint32_t* out);

// Formats a double the shortest way that reads back to the same value ("1200", "0.1").
std::string FormatNumber(double value);

}  // namespace quantatom

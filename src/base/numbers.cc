#include "base/numbers.h"

#include <charconv>
#include <cmath>
#include <string>

namespace quantatom {

bool ParseDouble(std::string_view token, double* out) {
  if (token.empty()) return false;
  const char* first = token.data();
  const char* last = first + token.size();
  if (*first == '+') ++first;  // from_chars does not take a leading '+'
  double value = 0;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

bool ParseUint32(std::string_view token, uint32_t* out) {
  if (token.empty()) return false;
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || ptr != token.data() + token.size()) return false;
  *out = value;
  return true;
}

std::string FormatNumber(double value) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, ec == std::errc() ? ptr : buf);
}

}  // namespace quantatom

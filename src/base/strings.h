// String helpers that take std::string_view.
//
// Debian's Abseil is built with its own absl::string_view (not an alias of std::string_view),
// so absl::StrCat and friends do not accept std::string_view. These small equivalents, built on
// fmt, are used everywhere instead.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "absl/strings/string_view.h"

namespace quantatom {

namespace strings_internal {
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <typename T>
inline void Append(std::string& out, const T& v) {
  fmt::format_to(std::back_inserter(out), "{}", v);
}
}  // namespace strings_internal

// Concatenates strings and numbers ("line ", 12, ": ", name).
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (strings_internal::Append(*out, args), ...);
}

template <typename Container>
std::string StrJoin(const Container& parts, std::string_view sep) {
  std::string out;
  bool first = true;
  for (const auto& p : parts) {
    if (!first) out.append(sep);
    first = false;
    strings_internal::Append(out, p);
  }
  return out;
}

// Splits on `sep`; parts are trimmed and empty parts dropped.
std::vector<std::string_view> SplitTrimmed(std::string_view text, char sep);
std::string_view Trim(std::string_view s);

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace quantatom

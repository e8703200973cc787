// Helpers every benchmark program shares: a clock, and unwrapping of results that stops the
// program with the error (a benchmark that cannot load its data has nothing to measure).
#pragma once

#include <errno.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

#include "base/status.h"

namespace quantatom::bench {

// The process's resident memory, in KiB (VmRSS), or 0 if unknown.
inline long RssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

inline double NowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] inline void Die(const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, std::string(s.message()).c_str());
  std::exit(1);
}
template <typename T>
T Check(absl::StatusOr<T> v) {
  if (!v.ok()) Die(v.status());
  return std::move(v).value();
}
inline void Check(const absl::Status& s) {
  if (!s.ok()) Die(s);
}

}  // namespace quantatom::bench

#include "base/progress.h"

#include <unistd.h>

#include <cstdio>

namespace quantatom {

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total ? total : 1), enabled_(::isatty(STDERR_FILENO)) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  last_draw_ = now;
  constexpr int kWidth = 40;
  double frac = done >= total_ ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  int filled = static_cast<int>(frac * kWidth);
  std::fprintf(stderr, "\r%s [", label_.c_str());
  for (int i = 0; i < kWidth; ++i) std::fputc(i < filled ? '#' : '.', stderr);
  std::fprintf(stderr, "] %3d%%", static_cast<int>(frac * 100));
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  Update(total_);
  std::lock_guard lock(mu_);
  if (finished_) return;
  std::fputc('\n', stderr);
  finished_ = true;
}

}  // namespace quantatom

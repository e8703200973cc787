// Write-ahead log: durable appends of 64-byte payloads with 1, 8 and 32 concurrent writers, and
// this machine's own fdatasync latency on the same folder for comparison. One JSON line each.
//   ./build/bench/wal_bench [folder (default /tmp/qa_wal_bench)] [seconds per run (default 2)]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "wal/log_writer.h"

namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double>& micros, double p) {
  if (micros.empty()) return 0;
  size_t at = std::min(micros.size() - 1, static_cast<size_t>(p * static_cast<double>(micros.size())));
  std::nth_element(micros.begin(), micros.begin() + static_cast<ptrdiff_t>(at), micros.end());
  return micros[at];
}

// 4 KB pwrite + fdatasync in a loop: what one durable write costs here without the log.
void MeasureFdatasync(const std::string& dir, double seconds) {
  std::string path = dir + "/fdatasync_probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(path.c_str());
    return;
  }
  std::string block(4096, 'x');
  std::vector<double> micros;
  off_t offset = 0;
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    auto start = Clock::now();
    if (::pwrite(fd, block.data(), block.size(), offset) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("fdatasync probe");
      break;
    }
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    offset += static_cast<off_t>(block.size());
  }
  ::close(fd);
  std::filesystem::remove(path);
  size_t n = micros.size();
  double p50 = Percentile(micros, 0.50), p99 = Percentile(micros, 0.99);
  std::printf("{\"bench\":\"fdatasync_4k\",\"dir\":\"%s\",\"calls\":%zu,\"calls_per_s\":%.0f,"
              "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
              dir.c_str(), n, static_cast<double>(n) / seconds, p50, p99);
}

void MeasureAppends(const std::string& dir, int writers, double seconds) {
  std::string path = dir + "/wal_" + std::to_string(writers);
  std::filesystem::remove(path);
  auto log = quantatom::wal::LogWriter::Open(path);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    return;
  }
  std::vector<std::vector<double>> micros(static_cast<size_t>(writers));
  std::atomic<bool> failed{false};
  auto start_all = Clock::now();
  auto end = start_all + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::string payload(64, static_cast<char>('a' + w % 26));
      while (Clock::now() < end) {
        auto start = Clock::now();
        if (!(*log)->Append(payload).ok()) {
          failed = true;
          return;
        }
        micros[static_cast<size_t>(w)].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start_all).count();
  std::vector<double> all;
  for (auto& m : micros) all.insert(all.end(), m.begin(), m.end());
  size_t n = all.size();
  uint64_t syncs = (*log)->sync_count();
  double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  std::printf("{\"bench\":\"wal_append\",\"payload_bytes\":64,\"writers\":%d,\"appends\":%zu,"
              "\"appends_per_s\":%.0f,\"fdatasyncs\":%llu,\"appends_per_fdatasync\":%.2f,"
              "\"p50_us\":%.1f,\"p99_us\":%.1f,\"failed\":%s}\n",
              writers, n, static_cast<double>(n) / elapsed, static_cast<unsigned long long>(syncs),
              syncs ? static_cast<double>(n) / static_cast<double>(syncs) : 0.0, p50, p99,
              failed ? "true" : "false");
  log->reset();
  std::filesystem::remove(path);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "/tmp/qa_wal_bench";
  double seconds = argc > 2 ? std::stod(argv[2]) : 2.0;
  std::filesystem::create_directories(dir);
  MeasureFdatasync(dir, seconds);
  for (int writers : {1, 8, 32}) MeasureAppends(dir, writers, seconds);
  return 0;
}

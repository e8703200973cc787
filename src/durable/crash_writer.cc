// durable_crash_writer DATA START THREADS: a writer under continuous load, for the crash tests
// (crash_test.cc). It opens app "c" of DATA (recovering it) and writes from THREADS threads
// until it is killed: thread t writes value START + i*THREADS + t into leaf cell
// (i*THREADS + t) mod 256 for i = 0, 1, ..., and prints that value on stdout once the write is
// acknowledged (durable). Thread 0 also checkpoints every 64 of its writes, so kills land in
// checkpoints too. When a write fails (a full disk) it prints "stopped: <why>" and exits 2.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "durable/durable_app.h"

using namespace quantatom;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: durable_crash_writer DATA START THREADS\n");
    return 1;
  }
  const std::string data = argv[1];
  const long long start = std::atoll(argv[2]);
  const int threads = std::atoi(argv[3]);
  durable::DurableOptions options;
  options.checkpoint_log_bytes = 16 << 10;  // small: automatic checkpoints happen often as well
  auto app = durable::DurableApp::Open(DataFolder(data), "c", options);
  if (!app.ok()) {
    std::fprintf(stderr, "cannot open: %s\n", std::string(app.status().message()).c_str());
    return 1;
  }
  const AppModel& model = (*app)->model();
  std::vector<Coordinate> leaves;
  for (int cell = 0; cell < 256; ++cell)
    leaves.push_back(*model.ParseCoordinate(StrCat("item=i", cell / 4, ",slot=s", cell % 4)));
  std::atomic<bool> stop{false};
  std::mutex out_mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (long long i = 0; !stop.load(); ++i) {
        const long long n = i * threads + t;
        const double value = static_cast<double>(start + n);
        absl::Status s = (*app)->Write({{leaves[n % 256], CellValue::Number(value)}}, StrCat("w", t));
        std::lock_guard lock(out_mu);
        if (!s.ok()) {
          if (!stop.exchange(true)) std::printf("stopped: %s\n", std::string(s.message()).c_str());
          std::fflush(stdout);
          return;
        }
        std::printf("%lld\n", start + n);
        std::fflush(stdout);
        if (t == 0 && i % 64 == 63) {
          absl::Status c = (*app)->Checkpoint();
          if (!c.ok()) std::fprintf(stderr, "checkpoint: %s\n", std::string(c.message()).c_str());
        }
      }
    });
  for (auto& th : pool) th.join();
  return 2;
}

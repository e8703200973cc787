// The durable write path end to end (durable/durable_app.h) on the benchmark data set: durable
// single-cell writes per second with p50 / p99 latency for 1, 8 and 32 concurrent writers,
// beside this machine's own fdatasync latency on the same folder; then the recovery time of
// the app (snapshot load + replay of the log those writes left). One JSON line each.
//   ./build/bench/durable_bench DATASET_DIR [work folder (default /tmp/qa_durable_bench)] [seconds per run (3)]
// bench/durable_run.sh runs it with DuckDB's peer (bench/peer/recovery_duckdb.mjs).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "durable/durable_app.h"
#include "importer/dataset_import.h"

using namespace quantatom;
using bench::Check;
using bench::NowMs;

namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t at = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(at), v.end());
  return v[at];
}

// pwrite + fdatasync in a loop on the work folder: one durable write without us. `size`-byte
// appends to a file that grows with them, or written over zeros preallocated (and fdatasynced)
// beforehand, as the write-ahead log does (wal/log_writer.h).
void MeasureFdatasync(const std::string& dir, double seconds, size_t size, bool preallocated) {
  const std::string path = dir + "/fdatasync_probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const size_t room = 64u << 20;
  if (preallocated) {
    const std::string zeros(1u << 20, '\0');
    bool ok = true;
    for (size_t at = 0; ok && at < room; at += zeros.size())
      ok = ::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(at)) == static_cast<ssize_t>(zeros.size());
    if (!ok || ::fdatasync(fd) != 0) {
      std::perror("fdatasync probe: preallocating");
      std::exit(1);
    }
  }
  std::string block(size, 'x');
  std::vector<double> us;
  off_t offset = 0;
  const double end = NowMs() + seconds * 1000;
  while (NowMs() < end && static_cast<size_t>(offset) + size <= room) {
    const double t = NowMs();
    if (::pwrite(fd, block.data(), block.size(), offset) != static_cast<ssize_t>(size) || ::fdatasync(fd) != 0) break;
    us.push_back((NowMs() - t) * 1000);
    offset += static_cast<off_t>(size);
  }
  ::close(fd);
  std::filesystem::remove(path);
  std::printf("{\"bench\":\"fdatasync\",\"bytes\":%zu,\"file\":\"%s\",\"calls\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f}\n", size,
              preallocated ? "preallocated" : "growing", us.size(), Percentile(us, 0.5), Percentile(us, 0.99));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: durable_bench DATASET_DIR [WORK_DIR] [SECONDS]\n");
    return 1;
  }
  const std::string dataset = argv[1];
  const std::string work = argc > 2 ? argv[2] : "/tmp/qa_durable_bench";
  const double seconds = argc > 3 ? std::atof(argv[3]) : 3.0;
  std::filesystem::remove_all(work + "/data");
  std::filesystem::create_directories(work + "/data");
  DataFolder folder(work + "/data");

  // The app: imported, then saved as a plain snapshot (its first checkpoint; a durable import
  // would also audit 10M cells, which is not what is measured here).
  double t = NowMs();
  DatasetOptions options;
  options.app_name = "bench";
  std::unique_ptr<Cube> cube = Check(ImportDataset(dataset, options));
  const double import_ms = NowMs() - t;
  t = NowMs();
  Check(folder.SaveApp(*cube));
  const double save_ms = NowMs() - t;
  const size_t cells = cube->Stats().numeric_cells;
  // Leaf coordinates of existing cells, in random order: the cells the writers change.
  std::vector<Coordinate> leaves;
  {
    KeyValues all = cube->WithStore([](const CellStore& s) { return s.SortedCells(); });
    std::mt19937_64 rng(42);
    const KeyLayout& layout = cube->layout();
    for (int i = 0; i < 200000; ++i) {
      const uint64_t key = all[rng() % all.size()].key;
      Coordinate c(layout.dims());
      for (int d = 0; d < layout.dims(); ++d) c[d] = cube->model().dimensions[d].leaf_member(layout.Get(key, d));
      leaves.push_back(std::move(c));
    }
  }
  cube.reset();
  std::printf("{\"bench\":\"durable_setup\",\"cells\":%zu,\"import_ms\":%.0f,\"snapshot_save_ms\":%.0f}\n", cells,
              import_ms, save_ms);
  std::fflush(stdout);

  // The machine's own fdatasync, beside which the durable writes are judged: 4 KiB blocks (the
  // page a record batch dirties) and 256-byte appends (about two single-cell records), each to
  // a growing file and over preallocated zeros.
  for (size_t size : {size_t{4096}, size_t{256}})
    for (bool preallocated : {false, true}) MeasureFdatasync(work, seconds, size, preallocated);

  durable::DurableOptions dopt;
  dopt.checkpoint_log_bytes = 0;  // the log grows through the runs; recovery replays all of it
  auto app = Check(durable::DurableApp::Open(folder, "bench", dopt));
  size_t total = 0;
  for (int writers : {1, 8, 32}) {
    std::vector<std::vector<double>> lat(writers);
    std::atomic<size_t> next{0};
    const uint64_t syncs0 = app->sync_count();
    const double start = NowMs();
    const double end = start + seconds * 1000;
    std::vector<std::thread> pool;
    for (int w = 0; w < writers; ++w)
      pool.emplace_back([&, w] {
        while (NowMs() < end) {
          const size_t i = next.fetch_add(1) % leaves.size();
          const double t0 = NowMs();
          Check(app->Write({{leaves[i], CellValue::Number(static_cast<double>(i))}}, "bench"));
          lat[w].push_back((NowMs() - t0) * 1000);
        }
      });
    for (auto& th : pool) th.join();
    const double elapsed = (NowMs() - start) / 1000;
    std::vector<double> all;
    for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
    total += all.size();
    std::printf("{\"bench\":\"durable_write\",\"writers\":%d,\"writes\":%zu,\"writes_per_s\":%.0f,\"p50_us\":%.1f,"
                "\"p99_us\":%.1f,\"fdatasyncs\":%llu}\n",
                writers, all.size(), static_cast<double>(all.size()) / elapsed, Percentile(all, 0.5),
                Percentile(all, 0.99), static_cast<unsigned long long>(app->sync_count() - syncs0));
    std::fflush(stdout);
  }
  const uint64_t log_bytes = app->log_bytes();
  app.reset();

  // Recovery: the snapshot alone, then the whole open (snapshot + replay of every write above).
  for (int rep = 0; rep < 3; ++rep) {
    t = NowMs();
    auto plain = Check(folder.LoadApp("bench"));
    const double snapshot_ms = NowMs() - t;
    plain.reset();
    t = NowMs();
    auto back = Check(durable::DurableApp::Open(folder, "bench"));
    const double open_ms = NowMs() - t;
    std::printf("{\"bench\":\"durable_recovery\",\"rep\":%d,\"cells\":%zu,\"log_records\":%zu,\"log_bytes\":%llu,"
                "\"snapshot_load_ms\":%.0f,\"recovery_ms\":%.0f}\n",
                rep, back->cube().Stats().numeric_cells, back->report().replayed,
                static_cast<unsigned long long>(log_bytes), snapshot_ms, open_ms);
    std::fflush(stdout);
  }
  (void)total;
  return 0;
}

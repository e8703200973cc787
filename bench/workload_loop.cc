// Repeats one workload on a loaded data set, for profiling (`perf record`) and quick timing
// without the load dominating the profile:
//
//   workload_loop DATA_DIR W2a|W3|W5|spread [ITERATIONS=100] [PARALLEL=1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench_util.h"
#include "importer/dataset_import.h"

using namespace quantatom;
using namespace quantatom::bench;

namespace {
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: workload_loop DATA_DIR W2a|W3|W5 [ITERATIONS=100] [PARALLEL=1]\n");
    return 2;
  }
  const std::string workload = argv[2];
  const int iterations = argc > 3 ? std::atoi(argv[3]) : 100;
  DatasetOptions options;
  options.app_name = "loop";
  auto dataset = ReadDatasetModel(argv[1], options);
  if (!dataset.ok()) return std::fprintf(stderr, "%s\n", std::string(dataset.status().message()).c_str()), 1;
  // LOADS=n loads the cells n times (as the benchmark's W1 does) before the loop.
  const int loads = std::getenv("LOADS") ? std::atoi(std::getenv("LOADS")) : 1;
  std::unique_ptr<Cube> cube;
  for (int i = 0; i < loads; ++i) {
    cube.reset();
    cube = *Cube::Create(dataset->model);
    if (auto s = LoadCellsCsv(std::string(argv[1]) + "/cells.csv", *dataset, cube.get()); !s.ok())
      return std::fprintf(stderr, "%s\n", std::string(s.message()).c_str()), 1;
  }
  {
    std::ifstream smaps("/proc/self/smaps_rollup");
    std::string line;
    while (std::getline(smaps, line))
      if (line.rfind("AnonHugePages", 0) == 0 || line.rfind("Rss", 0) == 0) std::fprintf(stderr, "%s\n", line.c_str());
  }
  const AppModel& m = cube->model();
  auto member = [&](int d, const char* code) { return *m.dimensions[d].Find(code); };
  auto level = [&](int d, int l) {
    std::vector<MemberId> v;
    for (MemberId x = 0; x < m.dimensions[d].member_count(); ++x)
      if (m.dimensions[d].level(x) == l) v.push_back(x);
    return v;
  };
  Cube::ReadOptions ro;
  ro.use_cache = false;
  ro.parallel = argc > 4 ? std::atoi(argv[4]) != 0 : true;
  if (workload == "spread") {  // W5's target through Cube::Spread (recorded, undoable)
    Coordinate target{member(0, "AC3"), member(1, "CC_TOTAL"), member(2, "Y2-Q1"), member(3, "Budget"), member(4, "P_TOTAL")};
    double t0 = NowMs();
    for (int i = 0; i < iterations; ++i) {
      double v = (*cube->ReadCell(target)).number;
      (void)cube->Spread(target, {SpreadMethod::kProportional, v * 1.1});
    }
    std::printf("spread %.3f ms per read + spread\n", (NowMs() - t0) / iterations);
    // The same spreads, each undone (untimed) before the next: history memory is recycled, as
    // in a server whose undo history has reached its steady state.
    double spread_ms = 0, undo_ms = 0;
    for (int i = 0; i < iterations; ++i) {
      double v = (*cube->ReadCell(target)).number;
      double t1 = NowMs();
      (void)cube->Spread(target, {SpreadMethod::kProportional, v * 1.1});
      double t2 = NowMs();
      (void)cube->Undo("");
      spread_ms += t2 - t1;
      undo_ms += NowMs() - t2;
    }
    std::printf("spread %.3f ms, undo %.3f ms (spread, then undo)\n", spread_ms / iterations, undo_ms / iterations);
    return 0;
  }
  if (workload == "W5") {
    Coordinate target{member(0, "AC3"), member(1, "CC_TOTAL"), member(2, "Y2-Q1"), member(3, "Budget"), member(4, "P_TOTAL")};
    double read = 0, scale = 0, reread = 0;
    for (int i = 0; i < iterations; ++i) {
      double t0 = NowMs();
      double v = (*cube->ReadCell(target, ro)).number;
      double t1 = NowMs();
      (void)cube->ScaleLeaves(target, 1.1);
      double t2 = NowMs();
      double after = (*cube->ReadCell(target, ro)).number;
      double t3 = NowMs();
      read += t1 - t0, scale += t2 - t1, reread += t3 - t2;
      if (std::abs(after - 1.1 * v) > 1e-9 * std::abs(after)) std::fprintf(stderr, "W5: wrong total\n");
    }
    std::printf("W5 read %.3f ms, scale %.3f ms, re-read %.3f ms (uncached reads)\n", read / iterations, scale / iterations,
                reread / iterations);
    return 0;
  }
  GridQuery q;
  if (workload == "W3") {
    q.rows = CrossJoin({0}, {level(0, 2)});
    q.cols = CrossJoin({2}, {level(2, 0)});
    q.slicers = {{1, member(1, "DIV1")}, {3, member(3, "Budget")}, {4, member(4, "P_TOTAL")}};
  } else {
    q.rows = CrossJoin({0, 3}, {level(0, 2), level(3, 0)});
    q.cols = CrossJoin({2}, {level(2, 1)});
    q.slicers = {{1, member(1, "CC_TOTAL")}, {4, member(4, "P_TOTAL")}};
  }
  double t0 = NowMs();
  for (int i = 0; i < iterations; ++i) (void)cube->Query(q, ro);
  std::printf("%s %.3f ms per uncached grid\n", workload.c_str(), (NowMs() - t0) / iterations);
  return 0;
}

// Micro-benchmarks of the consolidation kernel on a synthetic model (Google Benchmark):
//   quantatom_microbench --benchmark_filter=Grid
#include <benchmark/benchmark.h>

#include <random>

#include "engine/cube.h"

using namespace quantatom;

namespace {

// Two dimensions: 20,000 accounts under 200 groups, 24 months under 8 quarters.
std::unique_ptr<Cube> MakeCube(size_t cells) {
  AppModel model;
  model.name = "micro";
  DimensionBuilder acc("Account", DimensionType::kAccount);
  (void)acc.AddMember("Total");
  for (int g = 0; g < 200; ++g) {
    (void)acc.AddMember("G" + std::to_string(g));
    (void)acc.AddEdge("G" + std::to_string(g), "Total");
  }
  for (int a = 0; a < 20000; ++a) {
    (void)acc.AddMember("A" + std::to_string(a));
    (void)acc.AddEdge("A" + std::to_string(a), "G" + std::to_string(a % 200));
  }
  DimensionBuilder month("Month", DimensionType::kTime);
  (void)month.AddMember("Year");
  for (int q = 0; q < 8; ++q) {
    (void)month.AddMember("Q" + std::to_string(q));
    (void)month.AddEdge("Q" + std::to_string(q), "Year");
  }
  for (int m = 0; m < 24; ++m) {
    (void)month.AddMember("M" + std::to_string(m));
    (void)month.AddEdge("M" + std::to_string(m), "Q" + std::to_string(m / 3));
  }
  model.dimensions.push_back(*std::move(acc).Build());
  model.dimensions.push_back(*std::move(month).Build());
  auto cube = *Cube::Create(std::move(model));
  std::mt19937_64 rng(1);
  KeyValues kv;
  uint32_t ords[2];
  for (size_t i = 0; i < cells; ++i) {
    ords[0] = static_cast<uint32_t>(i % 20000);
    ords[1] = static_cast<uint32_t>((i / 20000) % 24);
    kv.push_back({cube->layout().Pack(ords), static_cast<double>(rng() % 1000)});
  }
  (void)cube->Load(std::move(kv));
  return cube;
}

void BM_GridGroupsByQuarter(benchmark::State& state) {
  static auto cube = MakeCube(480000);
  const AppModel& m = cube->model();
  GridQuery q;
  std::vector<MemberId> groups, quarters;
  for (int g = 0; g < 200; ++g) groups.push_back(*m.dimensions[0].Find("G" + std::to_string(g)));
  for (int x = 0; x < 8; ++x) quarters.push_back(*m.dimensions[1].Find("Q" + std::to_string(x)));
  q.rows = CrossJoin({0}, {groups});
  q.cols = CrossJoin({1}, {quarters});
  Cube::ReadOptions ro;
  ro.use_cache = false;
  for (auto _ : state) benchmark::DoNotOptimize(cube->Query(q, ro));
  state.SetItemsProcessed(state.iterations() * 480000);
}
BENCHMARK(BM_GridGroupsByQuarter)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

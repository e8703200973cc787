// Targets benchmark: guidance for one target over ~0.8M leaf cells of the 10M data set, and the
// variance / top-contributors query at the same coordinate. Prints one JSON object per line
// like quantatom_bench; bench/peer/guidance_duckdb.mjs computes the same guidance in DuckDB
// with the same checksum (the sum of the guidance values).
//
//   guidance_bench DATA_DIR [REPS=7] [a,c,m,s,p source ids of the target] [TARGET VALUE]
//
// The default target is costcenter 222 (a level-2 member), year 32, Budget, every account and
// product: 819,375 Budget cells. Proportional guidance over them: g = v x T / sum(w x v).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/strings.h"
#include "bench_util.h"
#include "engine/cube.h"
#include "importer/dataset_import.h"
#include "targets/targets.h"

using namespace quantatom;
using namespace quantatom::bench;
using json = nlohmann::json;

namespace {

void Emit(const std::string& workload, const std::string& variant, std::vector<double> times, json extra) {
  std::vector<double> t = times;
  std::sort(t.begin(), t.end());
  const double median = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
  json j = {{"peer", "quantatom"}, {"workload", workload}, {"variant", variant}, {"median_ms", median},
            {"min_ms", t.front()},  {"max_ms", t.back()},    {"times_ms", times}};
  j.update(extra);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "[quantatom] %s %s: median %.3f ms\n", workload.c_str(), variant.c_str(), median);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: guidance_bench DATA_DIR [REPS=7] [a,c,m,s,p] [TARGET]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 7;
  std::vector<int64_t> source = {10555, 222, 32, 1, 110};
  if (argc > 3) {
    source.clear();
    for (std::string_view part : SplitTrimmed(argv[3], ',')) source.push_back(std::stoll(std::string(part)));
    if (source.size() != 5) Die(absl::InvalidArgumentError("the target needs 5 source ids: a,c,m,s,p"));
  }
  const double target_value = argc > 4 ? std::atof(argv[4]) : 5e11;

  DatasetOptions options;
  options.app_name = "bench";
  DatasetModel dataset = Check(ReadDatasetModel(dir, options));
  const AppModel& model = dataset.model;
  auto cube = Check(Cube::Create(model));
  const double t_load = NowMs();
  Check(LoadCellsCsv(dir + "/cells.csv", dataset, cube.get()));
  std::fprintf(stderr, "[quantatom] loaded in %.0f ms\n", NowMs() - t_load);

  Coordinate coord;
  for (size_t d = 0; d < 5; ++d) coord.push_back(dataset.member_of_id[d][static_cast<size_t>(source[d])]);
  TargetsConfig config;
  config.scenario_dim = 3;
  config.plan = dataset.member_of_id[3][1];    // Budget
  config.actual = dataset.member_of_id[3][0];  // Actual
  Targets targets(cube.get(), config);

  // G1: target -> guidance materialised. Each rep sets the target again (a new value, so the
  // work is never skipped) and Set computes every leaf's guidance before it returns.
  std::vector<double> times;
  size_t leaves = 0;
  double checksum = 0;
  for (int r = -1; r < reps; ++r) {  // r = -1: warm-up
    const double value = target_value * (1 + 1e-9 * (r + 1));
    const double t0 = NowMs();
    Check(targets.Set({coord, value}));
    const double t1 = NowMs();
    if (r >= 0) times.push_back(t1 - t0);
  }
  Check(targets.Set({coord, target_value}));
  {
    // Released before the next step: guidance held by a reader is not recycled.
    auto guidance = Check(targets.Guidance());
    for (const TargetGuidance& g : *guidance) {
      leaves += g.size();
      for (double v : g.values) checksum += v;
    }
  }
  Emit("G1", "set_target_materialise_guidance", times,
       {{"rows_out", leaves}, {"checksum", checksum}, {"target", target_value},
        {"coordinate", model.FormatCoordinate(coord)}});

  // G1 with fresh arrays: a reader still holds the previous guidance, so its memory cannot be
  // reused and the new arrays are faulted in (the cost recycling avoids).
  times.clear();
  for (int r = -1; r < reps; ++r) {
    auto held_by_reader = Check(targets.Guidance());
    const double t0 = NowMs();
    Check(targets.Set({coord, target_value * (1 + 1e-9 * (r + 1))}));
    const double t1 = NowMs();
    if (r >= 0) times.push_back(t1 - t0);
  }
  Check(targets.Set({coord, target_value}));
  Emit("G1", "set_target_fresh_arrays", times, {{"rows_out", leaves}});

  // G1b: recomputing stale guidance after a cell change (the lazy path): one leaf write
  // invalidates, the next read recomputes.
  times.clear();
  const Coordinate leaf = [&] {
    Coordinate c(5);
    for (size_t d = 0; d < 5; ++d) {
      MemberId m = coord[d];
      while (!model.dimensions[d].is_leaf(m)) m = model.dimensions[d].child_edges(m)[0].child;
      c[d] = m;
    }
    return c;
  }();
  for (int r = -1; r < reps; ++r) {
    Check(cube->Write({{leaf, CellValue::Number(1000 + r)}}));
    const double t0 = NowMs();
    Check(targets.Guidance().status());
    const double t1 = NowMs();
    if (r >= 0) times.push_back(t1 - t0);
  }
  Emit("G1", "recompute_after_write", times, {{"rows_out", leaves}});

  // G2 parts: the layers alone, and the contributors alone (cold).
  {
    times.clear();
    for (int r = -1; r < reps; ++r) {
      cube->DropCache();
      const double t0 = NowMs();
      Check(targets.Layers(coord));
      if (r >= 0) times.push_back(NowMs() - t0);
    }
    Emit("G2", "layers_cold", times, json::object());
    times.clear();
    for (int r = -1; r < reps; ++r) {
      cube->DropCache();
      const double t0 = NowMs();
      Check(targets.TopContributors(coord, VarianceKind::kActualVsPlan, -1, 10));
      if (r >= 0) times.push_back(NowMs() - t0);
    }
    Emit("G2", "top10_actual-plan_cold", times, json::object());
  }

  // G2: layers (plan, actual, target, variances) and the top 10 contributors to actual - plan
  // and to plan - target at the target's coordinate, one level down in every dimension. The
  // cube's cache is dropped before each rep: cold reads.
  for (VarianceKind kind : {VarianceKind::kActualVsPlan, VarianceKind::kPlanVsTarget}) {
    times.clear();
    json extra;
    for (int r = -1; r < reps; ++r) {
      cube->DropCache();
      const double t0 = NowMs();
      LayerValues v = Check(targets.Layers(coord));
      std::vector<Contributor> top = Check(targets.TopContributors(coord, kind, -1, 10));
      const double t1 = NowMs();
      if (r >= 0) times.push_back(t1 - t0);
      if (r == reps - 1) {
        json rows = json::array();
        for (const Contributor& k : top)
          rows.push_back({{"member", model.dimensions[k.dim].member(k.member).code},
                          {"dim", model.dimensions[k.dim].name()},
                          {"variance", *k.variance.abs},
                          {"share", k.share ? json(*k.share) : json(nullptr)}});
        extra = {{"plan", v.plan ? json(*v.plan) : json(nullptr)},
                 {"actual", v.actual ? json(*v.actual) : json(nullptr)},
                 {"target", v.target ? json(*v.target) : json(nullptr)},
                 {"variance", v.Get(kind).abs ? json(*v.Get(kind).abs) : json(nullptr)},
                 {"rows_out", top.size()},
                 {"top", rows}};
      }
    }
    Emit("G2", StrCat("layers_top10_", VarianceKindName(kind), "_cold"), times, extra);
  }
  return 0;
}

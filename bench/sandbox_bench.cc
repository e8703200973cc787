// Sandboxes on the benchmark data set (../shared/bench): open a sandbox over the loaded app,
// write 1,000 cells into it, read the W2a grid through it and through the app (the ratio is
// what the overlay costs a read), spread into the W5 target inside it, commit. One JSON object
// per line, as quantatom_bench prints them.
//
//   sandbox_bench DATA_DIR [REPS=5] [--big]
//
// --big also spreads into a Budget year total (every account, cost center and product; the S2
// target of quantatom_bench) inside a sandbox: a rescale of millions of leaves through the
// overlay, against the app's in-place path.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "bench_util.h"
#include "engine/cube.h"
#include "engine/sandbox.h"
#include "importer/dataset_import.h"

using namespace quantatom;
using namespace quantatom::bench;
using json = nlohmann::json;

namespace {

double Median(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
}

void Emit(const std::string& workload, const std::string& variant, const std::vector<double>& times, json extra = json::object()) {
  json j = {{"peer", "quantatom"}, {"workload", workload}, {"variant", variant}, {"median_ms", Median(times)},
            {"min_ms", *std::min_element(times.begin(), times.end())}, {"times_ms", times}};
  j.update(extra);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

// One untimed warm-up run, then `reps` timed ones.
std::vector<double> Time(int reps, const std::function<void()>& fn) {
  fn();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = NowMs();
    fn();
    t.push_back(NowMs() - t0);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sandbox_bench DATA_DIR [REPS=5] [--big]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int reps = argc > 2 && std::strcmp(argv[2], "--big") != 0 ? std::atoi(argv[2]) : 5;
  bool big = false;
  for (int i = 2; i < argc; ++i) big |= std::strcmp(argv[i], "--big") == 0;

  json manifest = json::parse(Check(ReadFile(dir + "/manifest.json")));
  const json& W = manifest["workloads"];
  DatasetOptions options;
  options.app_name = "bench";
  DatasetModel dataset = Check(ReadDatasetModel(dir, options));
  const AppModel& model = dataset.model;
  auto member = [&](int d, int64_t source_id) { return dataset.member_of_id[d][static_cast<size_t>(source_id)]; };
  const int A = 0, C = 1, M = 2, S = 3, P = 4;
  auto coordinate_of = [&](const json& ids) {
    Coordinate c;
    for (auto [d, key] : std::vector<std::pair<int, const char*>>{
             {A, "account"}, {C, "costcenter"}, {M, "month"}, {S, "scenario"}, {P, "product"}})
      c.push_back(member(d, ids[key]));
    return c;
  };
  auto at_level = [&](int d, int level) {
    std::vector<MemberId> out;
    for (MemberId m = 0; m < model.dimensions[d].member_count(); ++m)
      if (model.dimensions[d].level(m) == level) out.push_back(m);
    return out;
  };

  auto cube = Check(Cube::Create(model));
  {
    const double t0 = NowMs();
    Check(LoadCellsCsv(dir + "/cells.csv", dataset, cube.get()));
    Emit("SB0", "load 10M cells (setup)", {NowMs() - t0}, {{"rows_out", cube->Stats().numeric_cells}});
  }

  // 1,000 existing cells spread over the whole key range, each written to value + 1.
  std::vector<CellWrite> batch = cube->WithStore([&](const CellStore& store) {
    std::vector<CellWrite> out;
    const KeyLayout& layout = store.layout();
    const size_t step = std::max<size_t>(1, store.values().size() / 1000);
    for (size_t pos = 0; pos < store.values().size() && out.size() < 1000; pos += step) {
      const uint64_t key = store.MainKey(store.RunOf(pos), pos);
      Coordinate leaf(model.dimensions.size());
      for (size_t d = 0; d < leaf.size(); ++d) leaf[d] = model.dimensions[d].leaf_member(layout.Get(key, static_cast<int>(d)));
      out.push_back({std::move(leaf), CellValue::Number(store.values()[pos] + 1)});
    }
    return out;
  });

  Sandbox sb(cube.get(), "planner");
  {
    const double t0 = NowMs();
    Check(sb.Write(batch));
    Emit("SB1", "sandbox write 1,000 cells (one batch)", {NowMs() - t0}, {{"rows_out", batch.size()}});
  }

  // W2a through the app and through the sandbox, cold (computed) and warm (app cache).
  GridQuery q;
  q.rows = CrossJoin({A, S}, {at_level(A, W["W2a"]["account_level"]), at_level(S, 0)});
  q.cols = CrossJoin({M}, {at_level(M, W["W2a"]["month_level"])});
  q.slicers = {{C, member(C, W["W2a"]["costcenter"])}, {P, member(P, W["W2a"]["product"])}};
  for (bool warm : {false, true}) {
    Cube::ReadOptions ro;
    ro.use_cache = warm;
    Grid app_grid, sandbox_grid;
    const std::vector<double> app_t = Time(reps, [&] { app_grid = Check(cube->Query(q, ro)); });
    const std::vector<double> sb_t = Time(reps, [&] { sandbox_grid = Check(sb.Query(q, ro)); });
    size_t differ = 0;
    for (size_t i = 0; i < app_grid.cells.size(); ++i) differ += !(app_grid.cells[i] == sandbox_grid.cells[i]);
    const std::string variant = warm ? "warm" : "cold";
    Emit("SB2", "W2a grid through the app, " + variant, app_t, {{"rows_out", app_grid.cells.size()}});
    Emit("SB2", "W2a grid through the sandbox (1,000 overlay cells), " + variant, sb_t,
         {{"rows_out", sandbox_grid.cells.size()}, {"cells_differing_from_app", differ},
          {"ratio_sandbox_over_app", Median(sb_t) / Median(app_t)}});
  }

  // W5 inside the sandbox: the target's total times the factor, proportionally.
  const Coordinate target = coordinate_of(W["W5"]["target"]);
  const double factor = W["W5"]["factor"];
  {
    const double before = Check(sb.ReadCell(target)).number;
    const double t0 = NowMs();
    const size_t changed = Check(sb.Spread(target, {SpreadMethod::kProportional, before * factor}));
    const double t1 = NowMs();
    const double after = Check(sb.ReadCell(target)).number;
    const double t2 = NowMs();
    Emit("SB3", "W5 proportional spread inside the sandbox", {t1 - t0},
         {{"rows_out", changed}, {"overlay_cells", sb.size()}, {"read_target_after_ms", t2 - t1},
          {"ok", std::abs(after - before * factor) <= 1e-9 * std::abs(before * factor)},
          {"app_target_unchanged", Check(cube->ReadCell(target)).number != after}});
    Grid sandbox_grid;
    Cube::ReadOptions ro;
    ro.use_cache = true;
    const std::vector<double> sb_t = Time(reps, [&] { sandbox_grid = Check(sb.Query(q, ro)); });
    Emit("SB3", "W2a grid through the sandbox after the spread, warm", sb_t, {{"overlay_cells", sb.size()}});
  }

  // Commit: one change set, checked against the app's history.
  {
    const size_t overlay = sb.size();
    const double expected = Check(sb.ReadCell(target)).number;
    const double tc = NowMs();
    const size_t preview = Check(sb.Conflicts()).size();
    Emit("SB4", "conflict preview (Sandbox::Conflicts)", {NowMs() - tc}, {{"conflicts", preview}});
    const double t0 = NowMs();
    SandboxCommit commit = Check(sb.Commit());
    const double t1 = NowMs();
    const double now = Check(cube->ReadCell(target)).number;
    Emit("SB4", "commit (conflict check + one change set)", {t1 - t0},
         {{"rows_out", commit.written}, {"overlay_cells", overlay}, {"conflicts", commit.conflicts.size()},
          {"ok", std::abs(now - expected) <= 1e-9 * std::abs(expected)}});
    const double t2 = NowMs();
    Check(cube->Undo("planner").status());
    Emit("SB4", "undo of the commit in the app", {NowMs() - t2});
  }

  // The app's own recorded spread on the same target, for comparison.
  {
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      const double before = Check(cube->ReadCell(target)).number;
      const double t0 = NowMs();
      Check(cube->Spread(target, {SpreadMethod::kProportional, before * factor}, {}, "planner").status());
      t.push_back(NowMs() - t0);
    }
    Emit("SB5", "W5 proportional spread in the app (Cube::Spread), for comparison", t, {{"rows_out", 139505}});
  }

  if (big) {
    const Dimension& product = model.dimensions[P];
    MemberId held_group = kNoMember;
    for (MemberId m = 0; m < product.member_count() && held_group == kNoMember; ++m)
      if (product.level(m) == 1) held_group = m;
    std::vector<MemberId> years;
    for (MemberId m = 0; m < model.dimensions[M].member_count(); ++m)
      if (model.dimensions[M].level(m) == model.dimensions[M].max_level()) years.push_back(m);
    Coordinate total{model.dimensions[A].roots()[0], model.dimensions[C].roots()[0], years.back(),
                     member(S, W["W5"]["target"]["scenario"]), product.roots()[0]};
    Coordinate hold = total;
    hold[P] = held_group;
    Sandbox big_sb(cube.get(), "planner2");
    const double before = Check(big_sb.ReadCell(total)).number;
    const double t0 = NowMs();
    const size_t changed = Check(big_sb.Spread(total, {SpreadMethod::kProportional, before * 1.01}, {hold}));
    const double t1 = NowMs();
    const double after = Check(big_sb.ReadCell(total)).number;
    const double t2 = NowMs();
    Emit("SB6", "Budget year total spread inside a sandbox, one product group held", {t1 - t0},
         {{"rows_out", changed}, {"read_total_after_ms", t2 - t1},
          {"ok", std::abs(after - before * 1.01) <= 1e-9 * std::abs(before * 1.01)}});
    const double t3 = NowMs();
    SandboxCommit commit = Check(big_sb.Commit());
    Emit("SB6", "commit of that sandbox", {NowMs() - t3}, {{"rows_out", commit.written}});
    const double t4 = NowMs();
    Check(cube->Spread(total, {SpreadMethod::kProportional, after * 1.01}, {hold}, "planner3").status());
    Emit("SB6", "the same spread in the app (Cube::Spread), for comparison", {NowMs() - t4});
  }
  return 0;
}

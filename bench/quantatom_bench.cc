// Runs workloads W1-W5 exactly as ../shared/bench/README.md defines them, on a data set made by
// its generator, and prints one JSON object per line:
//   {"peer":"quantatom","workload","variant","median_ms","min_ms","max_ms","rows_out","checksum",...}
// bench/run.sh runs DuckDB on the same folder in the same run and prints the ratios.
//
//   quantatom_bench DATA_DIR [REPS=3]
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/numbers.h"
#include "bench_util.h"
#include "engine/cube.h"
#include "importer/dataset_import.h"

using namespace quantatom;
using namespace quantatom::bench;
using json = nlohmann::json;

namespace {

struct Timing {
  std::vector<double> times;
  json Summary() const {
    std::vector<double> t = times;
    std::sort(t.begin(), t.end());
    double median = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
    return {{"median_ms", median}, {"min_ms", t.front()}, {"max_ms", t.back()}, {"times_ms", times}};
  }
};

void Emit(const std::string& workload, const std::string& variant, const Timing& t, json extra) {
  json j = {{"peer", "quantatom"}, {"workload", workload}, {"variant", variant}};
  j.update(t.Summary());
  j.update(extra);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "[quantatom] %s %s: median %.3f ms\n", workload.c_str(), variant.c_str(), j["median_ms"].get<double>());
}

// The data set's integer id of a member (kept as attribute "id" on import).
struct Ids {
  std::vector<std::vector<int64_t>> id;  // [dim][member]
  explicit Ids(const AppModel& m) {
    for (const Dimension& d : m.dimensions) {
      std::vector<int64_t> v(d.member_count());
      for (MemberId i = 0; i < d.member_count(); ++i) v[i] = std::stoll(std::string(d.member(i).Attribute("id")));
      id.push_back(std::move(v));
    }
  }
};

// README "cell checksum" weight; dimensions in data-set order (a, c, m, s, p).
double CheckWeight(const std::vector<int64_t>& ids) {
  static const int64_t kFactor[] = {7, 13, 17, 19, 23};
  int64_t x = 0;
  for (size_t d = 0; d < ids.size(); ++d) x += ids[d] * kFactor[d % 5];
  return static_cast<double>(x % 101 + 1);
}

// Sums checksum terms exactly while every value is an integer (the data set's are), so that the
// checksum does not depend on summation order; falls back to the double sum otherwise.
struct ExactSum {
  __int128 exact = 0;
  bool integral = true;
  double approx = 0;
  void Add(double v, double weight) {
    approx += v * weight;
    if (integral && v == std::floor(v) && std::abs(v) < 9e15) exact += static_cast<__int128>(v) * static_cast<__int128>(weight);
    else integral = false;
  }
  std::string Text() const {
    if (!integral) return FormatNumber(approx);
    __int128 x = exact < 0 ? -exact : exact;
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(x % 10)));
      x /= 10;
    } while (x > 0);
    return (exact < 0 ? "-" : "") + digits;
  }
};

// Runs `fn` once to warm up, then `reps` timed times.
Timing TimeRead(int reps, const std::function<void()>& fn) {
  fn();
  Timing t;
  for (int r = 0; r < reps; ++r) {
    double t0 = NowMs();
    fn();
    t.times.push_back(NowMs() - t0);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: quantatom_bench DATA_DIR [REPS=3]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const long rss_empty = RssKb();
  json manifest = json::parse(Check(ReadFile(dir + "/manifest.json")));
  const json& W = manifest["workloads"];

  DatasetOptions options;
  options.app_name = "bench";
  DatasetModel dataset = Check(ReadDatasetModel(dir, options));
  const AppModel& model = dataset.model;
  Ids ids(model);
  auto member = [&](int d, int64_t source_id) { return dataset.member_of_id[d][static_cast<size_t>(source_id)]; };
  const int A = 0, C = 1, M = 2, S = 3, P = 4;
  // A coordinate given in the manifest as {"account": id, "costcenter": id, ...}.
  auto coordinate_of = [&](const json& ids) {
    Coordinate c;
    for (auto [d, key] : std::vector<std::pair<int, const char*>>{
             {A, "account"}, {C, "costcenter"}, {M, "month"}, {S, "scenario"}, {P, "product"}})
      c.push_back(member(d, ids[key]));
    return c;
  };

  // ---- W1: load cells.csv into an empty cube (model already read), fresh cube per rep.
  std::unique_ptr<Cube> cube;
  {
    Timing t;
    for (int r = 0; r < reps; ++r) {
      cube.reset();
      malloc_trim(0);
      auto fresh = Check(Cube::Create(model));
      double t0 = NowMs();
      absl::Status s = LoadCellsCsv(dir + "/cells.csv", dataset, fresh.get());
      t.times.push_back(NowMs() - t0);
      if (!s.ok()) Die(s);
      cube = std::move(fresh);
    }
    malloc_trim(0);
    long rss = RssKb();
    CubeStats st = cube->Stats();
    Emit("W1", "load", t,
         {{"rows_out", st.numeric_cells},
          {"rss_after_load_kb", rss},
          {"rss_empty_kb", rss_empty},
          {"bytes_per_cell_rss", 1024.0 * static_cast<double>(rss - rss_empty) / static_cast<double>(st.numeric_cells)},
          {"bytes_per_cell_store", static_cast<double>(st.store_bytes) / static_cast<double>(st.numeric_cells)},
          {"runs", st.runs}});
  }

  // Members by level, for the axes.
  auto at_level = [&](int d, int level) {
    std::vector<MemberId> out;
    for (MemberId m = 0; m < model.dimensions[d].member_count(); ++m)
      if (model.dimensions[d].level(m) == level) out.push_back(m);
    return out;
  };
  auto grid_checksum = [&](const GridQuery& q, const Grid& g, json* extra) {
    ResolvedGrid rg = Check(ResolveGrid(model, q));
    double sum = 0;
    ExactSum ck;
    size_t n = 0;
    std::vector<int64_t> cid(model.dimensions.size());
    for (size_t r = 0; r < g.rows; ++r)
      for (size_t c = 0; c < g.cols; ++c) {
        const CellValue& v = g.at(r, c);
        if (!v.is_number()) continue;
        Coordinate coord = rg.CellCoordinate(q, r, c);
        for (size_t d = 0; d < coord.size(); ++d) cid[d] = ids.id[d][coord[d]];
        sum += v.number;
        ck.Add(v.number, CheckWeight(cid));
        ++n;
      }
    *extra = {{"rows_out", n}, {"sum", sum}, {"checksum", ck.approx}, {"checksum_exact", ck.Text()}};
  };

  // ---- W2a: account level-2 x quarter x scenario, cost center and product totals.
  {
    GridQuery q;
    q.rows = CrossJoin({A, S}, {at_level(A, W["W2a"]["account_level"]), at_level(S, 0)});
    q.cols = CrossJoin({M}, {at_level(M, W["W2a"]["month_level"])});
    q.slicers = {{C, member(C, W["W2a"]["costcenter"])}, {P, member(P, W["W2a"]["product"])}};
    for (bool warm : {false, true}) {
      Grid g;
      Cube::ReadOptions ro;
      ro.use_cache = warm;
      Timing t = TimeRead(reps, [&] { g = Check(cube->Query(q, ro)); });
      json extra;
      grid_checksum(q, g, &extra);
      Emit("W2a", warm ? "warm" : "cold", t, extra);
    }
  }

  // ---- W2b: the upper cube (every dimension at levels >= 1; leaf-only dimensions as they are).
  {
    std::vector<std::vector<MemberId>> targets;
    for (const Dimension& d : model.dimensions) {
      std::vector<MemberId> t;
      for (MemberId m = 0; m < d.member_count(); ++m)
        if (d.max_level() == 0 || d.level(m) >= 1) t.push_back(m);
      targets.push_back(std::move(t));
    }
    std::vector<std::pair<size_t, double>> cells;  // materialised: (dense index, value)
    DenseTotals totals;
    Timing t = TimeRead(reps, [&] {
      totals = Check(cube->Consolidate(targets));
      cells.clear();
      for (size_t i = 0; i < totals.size(); ++i)
        if (totals.count[i]) cells.emplace_back(i, totals.sum[i]);
    });
    double sum = 0;
    ExactSum ck;
    std::vector<int64_t> cid(model.dimensions.size());
    for (auto [i, v] : cells) {
      for (size_t d = 0; d < targets.size(); ++d) cid[d] = ids.id[d][totals.targets[d][(i / totals.stride[d]) % targets[d].size()]];
      sum += v;
      ck.Add(v, CheckWeight(cid));
    }
    Emit("W2b", "staged (dense rollup)", t,
         {{"rows_out", cells.size()}, {"sum", sum}, {"checksum", ck.approx}, {"checksum_exact", ck.Text()}});
  }

  // ---- W3: 50 account sections x 24 months, one division, Budget, product total.
  {
    GridQuery q;
    q.rows = CrossJoin({A}, {at_level(A, W["W3"]["account_level"])});
    q.cols = CrossJoin({M}, {at_level(M, 0)});
    q.slicers = {{C, member(C, W["W3"]["costcenter_node"])}, {S, member(S, W["W3"]["scenario"])},
                 {P, member(P, W["W3"]["product"])}};
    for (bool warm : {false, true}) {
      Grid g;
      Cube::ReadOptions ro;
      ro.use_cache = warm;
      Timing t = TimeRead(reps, [&] { g = Check(cube->Query(q, ro)); });
      json extra;
      grid_checksum(q, g, &extra);
      Emit("W3", warm ? "warm" : "cold", t, extra);
    }
  }

  // ---- W4: point write + re-read of an ancestor total.
  {
    const json& cell = W["W4"]["cell"];
    const json& anc = W["W4"]["ancestor"];
    Coordinate leaf;
    for (int d = 0; d < 5; ++d) leaf.push_back(member(d, cell[d]));
    const Coordinate up = coordinate_of(anc);
    Timing t, tw, tr;
    double total = 0;
    for (int r = 0; r < reps; ++r) {
      double t0 = NowMs();
      absl::Status s = cube->Write({{leaf, CellValue::Number(W["W4"]["new_value_base"].get<double>() + r)}});
      if (!s.ok()) Die(s);
      double t1 = NowMs();
      CellValue v = Check(cube->ReadCell(up));
      double t2 = NowMs();
      total = v.number;
      t.times.push_back(t2 - t0);
      tw.times.push_back(t1 - t0);
      tr.times.push_back(t2 - t1);
    }
    Emit("W4", "write + re-read (cached totals)", t,
         {{"rows_out", 1}, {"checksum", total}, {"ancestor_total", total}, {"write_ms", tw.times}, {"read_ms", tr.times}});
  }

  // ---- W5: proportional spread: target *= factor by rescaling the leaves below it.
  {
    const Coordinate target = coordinate_of(W["W5"]["target"]);
    const double factor = W["W5"]["factor"];
    Timing t;
    double before0 = 0, after = 0;
    size_t touched = 0;
    bool ok = true;
    for (int r = 0; r < reps; ++r) {
      double t0 = NowMs();
      double told = Check(cube->ReadCell(target)).number;
      double tnew = told * factor;
      touched = Check(cube->ScaleLeaves(target, tnew / told));
      after = Check(cube->ReadCell(target)).number;
      t.times.push_back(NowMs() - t0);
      if (r == 0) before0 = told;
      ok &= std::abs(after - tnew) <= 1e-9 * std::abs(tnew);
    }
    Emit("W5", "scale leaves under target", t,
         {{"rows_out", touched}, {"checksum", after}, {"target_before_first", before0}, {"target_after_last", after}, {"ok", ok}});
  }
  // ---- Spreads through Cube::Spread (the write-back issue's figures, same data).
  {
    const Coordinate target = coordinate_of(W["W5"]["target"]);
    const double factor = W["W5"]["factor"];
    Timing t;
    double after = 0;
    bool ok = true;
    for (int r = 0; r < reps; ++r) {
      double t0 = NowMs();
      double told = Check(cube->ReadCell(target)).number;
      Check(cube->Spread(target, {SpreadMethod::kProportional, told * factor}));
      after = Check(cube->ReadCell(target)).number;
      t.times.push_back(NowMs() - t0);
      ok &= std::abs(after - told * factor) <= 1e-9 * std::abs(told * factor);
    }
    Emit("W5", "spread proportional (Cube::Spread)", t, {{"rows_out", 139505}, {"target_after_last", after}, {"ok", ok}});

    // A spread into a Budget grand total (every account, cost center and product of one year)
    // with one product group held.
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
    Timing t2;
    size_t changed = 0;
    for (int r = 0; r < reps; ++r) {
      double t0 = NowMs();
      double told = Check(cube->ReadCell(total)).number;
      changed = Check(cube->Spread(total, {SpreadMethod::kProportional, told * 1.01}, {hold}));
      after = Check(cube->ReadCell(total)).number;
      t2.times.push_back(NowMs() - t0);
      ok &= std::abs(after - told * 1.01) <= 1e-9 * std::abs(told * 1.01);
    }
    Emit("S2", "spread Budget year total, one product group held", t2,
         {{"rows_out", changed}, {"target_after_last", after}, {"ok", ok}});

    // S3: the Budget grand total, +1%, with one product group (10% of the products) held. The
    // month dimension has one top per year and no grand total, so this is one spread into each
    // year's total: every Budget leaf cell of the data set. The peer does the same per year
    // (bench/peer/spread_duckdb.mjs).
    Timing t3;
    size_t changed3 = 0;
    double checksum3 = 0;
    for (int r = 0; r < reps; ++r) {
      double t0 = NowMs();
      changed3 = 0;
      for (MemberId year : years) {
        Coordinate y = total;
        y[M] = year;
        Coordinate h = hold;
        h[M] = year;
        const double told = Check(cube->ReadCell(y)).number;
        changed3 += Check(cube->Spread(y, {SpreadMethod::kProportional, told * 1.01}, {h}));
      }
      t3.times.push_back(NowMs() - t0);
    }
    checksum3 = 0;
    for (MemberId year : years) {
      Coordinate y = total;
      y[M] = year;
      checksum3 += Check(cube->ReadCell(y)).number;
    }
    Emit("S3", "spread Budget grand total (each year), one product group held", t3,
         {{"rows_out", changed3}, {"checksum", checksum3}, {"ok", ok}});
  }

  return 0;
}

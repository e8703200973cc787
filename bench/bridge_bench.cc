// Bridge benchmark: 10,000 GL account leaves of the benchmark data set bridged into a 500-leaf
// plan account chart (the codes of the 500 level-1 account parents), over every cell.
//
//   bridge_bench DATA_DIR [REPS=5] [OUT_DIR=/tmp/qa_bridge_bench]
//
// Writes OUT_DIR/rules.csv (the rules: 500 parent rules, splits and leaf overrides, and one
// rule that every leaf overrides) and OUT_DIR/mapping.csv (the resolved source leaf id, plan
// account index, weight rows, for the DuckDB peer bench/peer/bridge_duckdb.mjs), then prints one
// JSON object per line, as quantatom_bench does:
//   B1 full materialisation (median of REPS after a warm-up), with rows_out, sum and checksum
//      (sum of v x ((a*7 + c*13 + m*17 + s*19 + p*23) % 101 + 1), a = plan account index);
//   B2 incremental update after one source change (median over many single changes): the
//      deltas alone, deltas + apply to the target cube, and source write + deltas + apply.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "bridge/bridge.h"
#include "bench_util.h"
#include "engine/cube.h"
#include "importer/dataset_import.h"

using namespace quantatom;
using namespace quantatom::bench;
using json = nlohmann::json;

namespace {

json Summary(std::vector<double> t, const char* unit) {
  std::vector<double> sorted = t;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  json j = {{std::string("median_") + unit, median}, {std::string("min_") + unit, sorted.front()},
            {std::string("max_") + unit, sorted.back()}, {"n", n}};
  if (n <= 20) j[std::string("times_") + unit] = t;
  return j;
}

void Emit(const std::string& workload, const std::string& variant, json j) {
  json out = {{"peer", "quantatom"}, {"workload", workload}, {"variant", variant}};
  out.update(j);
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
}

int64_t IdOf(const Dimension& d, MemberId m) { return std::stoll(std::string(d.member(m).Attribute("id"))); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bridge_bench DATA_DIR [REPS=5] [OUT_DIR=/tmp/qa_bridge_bench]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string out_dir = argc > 3 ? argv[3] : "/tmp/qa_bridge_bench";
  std::filesystem::create_directories(out_dir);

  DatasetOptions options;
  options.app_name = "actuals";
  DatasetModel dataset = Check(ReadDatasetModel(dir, options));
  const AppModel& actuals_model = dataset.model;
  auto actuals = Check(Cube::Create(actuals_model));
  double t0 = NowMs();
  Check(LoadCellsCsv(dir + "/cells.csv", dataset, actuals.get()));
  std::fprintf(stderr, "[bridge] loaded %zu cells in %.0f ms\n", actuals->Stats().numeric_cells, NowMs() - t0);

  // The plan app: the same dimensions, with the account chart replaced by one leaf per level-1
  // account parent (same code) under a root.
  const int A = actuals_model.FindDimension("account");
  const Dimension& gl = actuals_model.dimensions[static_cast<size_t>(A)];
  std::vector<MemberId> groups;  // level-1 accounts, by member id
  for (MemberId m = 0; m < gl.member_count(); ++m)
    if (gl.level(m) == 1) groups.push_back(m);
  DimensionBuilder plan_accounts("account", DimensionType::kAccount);
  Check(plan_accounts.AddMember("PlanTotal"));
  for (MemberId g : groups) {
    Check(plan_accounts.AddMember(gl.member(g).code));
    Check(plan_accounts.AddEdge(gl.member(g).code, "PlanTotal"));
  }
  AppModel plan_model = actuals_model;
  plan_model.name = "plan";
  plan_model.dimensions[static_cast<size_t>(A)] = Check(std::move(plan_accounts).Build());

  // Rules: each group to its plan account; every 50th group split 0.7 / 0.3 with the next
  // group; every 100th leaf overridden to the next group; every 500th leaf (offset 7) split
  // 0.5 / 0.5; one level-2 rule that its groups' rules fully override.
  std::string csv = "source,target,weight\n";
  auto code = [&](MemberId m) { return gl.member(m).code; };
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string next = code(groups[(i + 1) % groups.size()]);
    if (i % 50 == 0) csv += code(groups[i]) + "," + code(groups[i]) + ",0.7\n" + code(groups[i]) + "," + next + ",0.3\n";
    else csv += code(groups[i]) + "," + code(groups[i]) + ",1\n";
  }
  for (uint32_t o = 0; o < gl.leaf_count(); ++o) {
    const MemberId leaf = gl.leaf_member(o);
    const MemberId parent = gl.parent_edges(leaf)[0].parent;
    const size_t g = static_cast<size_t>(std::find(groups.begin(), groups.end(), parent) - groups.begin());
    if (o % 100 == 0) csv += code(leaf) + "," + code(groups[(g + 1) % groups.size()]) + ",1\n";
    else if (o % 500 == 7) csv += code(leaf) + "," + code(groups[(g + 2) % groups.size()]) + ",0.5\n" + code(leaf) + "," + code(groups[(g + 3) % groups.size()]) + ",0.5\n";
  }
  for (MemberId m = 0; m < gl.member_count(); ++m)
    if (gl.level(m) == 2) {
      csv += code(m) + "," + code(groups[0]) + ",1\n";
      break;
    }
  Check(WriteFileAtomically(out_dir + "/rules.csv", csv));

  t0 = NowMs();
  BridgeRules rules = Check(ReadBridgeRules(out_dir + "/rules.csv"));
  Bridge bridge = Check(Bridge::FromRules(actuals_model, plan_model, "account", "account", rules));
  const double build_ms = NowMs() - t0;
  std::fprintf(stderr, "[bridge] %zu rules resolved and bound in %.2f ms: %s", rules.rules.size(), build_ms,
               bridge.report().ToText(3).c_str());

  // The resolved rows for the peer: source leaf id, plan account index (= leaf ordinal), weight.
  {
    std::string rows;
    for (uint32_t o = 0; o < bridge.map().source_leaf_count(); ++o)
      for (const LeafMapping& m : bridge.map().Targets(o))
        rows += std::to_string(IdOf(gl, gl.leaf_member(o))) + "," + std::to_string(m.target) + "," + json(m.weight).dump() + "\n";
    Check(WriteFileAtomically(out_dir + "/mapping.csv", rows));
  }

  // ---- B1: full materialisation.
  auto target = Check(Cube::Create(plan_model));
  std::vector<std::vector<int64_t>> ids(plan_model.dimensions.size());  // [dim][target leaf ordinal] -> checksum id
  for (size_t d = 0; d < plan_model.dimensions.size(); ++d) {
    const Dimension& dim = plan_model.dimensions[d];
    for (uint32_t o = 0; o < dim.leaf_count(); ++o)
      ids[d].push_back(static_cast<int>(d) == A ? o : IdOf(dim, dim.leaf_member(o)));
  }
  const int C = plan_model.FindDimension("costcenter"), M = plan_model.FindDimension("month"),
            S = plan_model.FindDimension("scenario"), P = plan_model.FindDimension("product");
  KeyValues cells;
  std::vector<double> times;
  for (int r = 0; r <= reps; ++r) {
    cells = KeyValues();
    t0 = NowMs();
    cells = Check(bridge.Materialize(*actuals));
    if (r > 0) times.push_back(NowMs() - t0);
  }
  double sum = 0, checksum = 0;
  const KeyLayout& tl = target->layout();
  for (const KeyValue& kv : cells) {
    const int64_t x = ids[A][tl.Get(kv.key, A)] * 7 + ids[C][tl.Get(kv.key, C)] * 13 + ids[M][tl.Get(kv.key, M)] * 17 +
                      ids[S][tl.Get(kv.key, S)] * 19 + ids[P][tl.Get(kv.key, P)] * 23;
    sum += kv.value;
    checksum += kv.value * static_cast<double>(x % 101 + 1);
  }
  json b1 = Summary(times, "ms");
  b1.update({{"rows_out", cells.size()}, {"sum", sum}, {"checksum", checksum}, {"source_cells", actuals->Stats().numeric_cells}, {"source_runs", actuals->Stats().runs},
             {"mapping_rows", bridge.map().entry_count()}, {"rules", rules.rules.size()}, {"resolve_ms", build_ms},
             {"threads", "all (2)"}});
  Emit("B1", "full materialisation 10k GL leaves -> 500 plan accounts", b1);
  std::vector<double> seq_times;
  for (int r = 0; r < std::max(1, reps / 2); ++r) {
    t0 = NowMs();
    MaterializeOptions one_core;
    one_core.parallel = false;
    KeyValues c = Check(bridge.Materialize(*actuals, one_core));
    seq_times.push_back(NowMs() - t0);
  }
  Emit("B1", "full materialisation, one core", Summary(seq_times, "ms"));
  // The same bridge into a plan app whose dimensions are in the reverse order: the target key
  // order no longer follows the source's, so the output takes the radix-sort path.
  {
    AppModel reversed = plan_model;
    std::reverse(reversed.dimensions.begin(), reversed.dimensions.end());
    Bridge other = Check(Bridge::FromRules(actuals_model, reversed, "account", "account", rules));
    std::vector<double> rev_times;
    size_t rows = 0;
    for (int r = 0; r < std::max(1, reps / 2); ++r) {
      t0 = NowMs();
      KeyValues c = Check(other.Materialize(*actuals));
      rev_times.push_back(NowMs() - t0);
      rows = c.size();
    }
    json j = Summary(rev_times, "ms");
    j["rows_out"] = rows;
    Emit("B1", "full materialisation, target dimensions in reverse order (radix-sort path)", j);
  }
  t0 = NowMs();
  Check(target->Load(std::move(cells)));
  std::fprintf(stderr, "[bridge] target Cube::Load of the bridged cells: %.1f ms\n", NowMs() - t0);

  // ---- B2: incremental update after one actual changes, many times.
  std::vector<KeyValue> sample;
  {
    KeyValues all = actuals->WithStore([](const CellStore& s) { return s.SortedCells(); });
    std::mt19937_64 rng(42);
    for (int i = 0; i < 2000; ++i) sample.push_back(all[rng() % all.size()]);
  }
  std::vector<double> deltas_us, apply_us, pipeline_us;
  const KeyLayout& sl = actuals->layout();
  std::vector<uint32_t> ordinals(static_cast<size_t>(sl.dims()));
  for (size_t i = 0; i < sample.size(); ++i) {
    const uint64_t key = sample[i].key;
    sl.Unpack(key, ordinals.data());
    Coordinate leaf;
    for (int d = 0; d < sl.dims(); ++d) leaf.push_back(actuals_model.dimensions[static_cast<size_t>(d)].leaf_member(ordinals[static_cast<size_t>(d)]));
    const double p0 = NowMs();
    const double old_value = Check(actuals->ReadCell(leaf)).number;
    const double new_value = old_value + 1 + static_cast<double>(i % 7);
    Check(actuals->Write({{leaf, CellValue::Number(new_value)}}, "actuals-feed"));
    const double d0 = NowMs();
    std::vector<SourceChange> change{{key, old_value, new_value}};
    std::vector<TargetDelta> deltas = Check(bridge.Deltas(change));
    const double d1 = NowMs();
    Check(bridge.Apply(target.get(), deltas));
    const double d2 = NowMs();
    deltas_us.push_back(1000 * (d1 - d0));
    apply_us.push_back(1000 * (d2 - d0));
    pipeline_us.push_back(1000 * (d2 - p0));
  }
  // The incrementally kept target must equal a fresh materialisation.
  KeyValues fresh = Check(bridge.Materialize(*actuals));
  KeyValues kept = target->WithStore([](const CellStore& s) { return s.SortedCells(); });
  double max_diff = 0;
  bool same_keys = fresh.size() == kept.size();
  for (size_t i = 0; same_keys && i < fresh.size(); ++i) {
    same_keys = fresh[i].key == kept[i].key;
    max_diff = std::max(max_diff, std::abs(fresh[i].value - kept[i].value));
  }
  json b2 = Summary(deltas_us, "us");
  b2.update({{"changes", sample.size()}, {"incremental_equals_full", same_keys && max_diff <= 1e-6}, {"max_abs_diff", max_diff}});
  Emit("B2", "incremental: deltas of one source change", b2);
  Emit("B2", "incremental: deltas + apply to target cube (read + Cube::Write)", Summary(apply_us, "us"));
  Emit("B2", "incremental: source read + write + deltas + apply", Summary(pipeline_us, "us"));
  return 0;
}

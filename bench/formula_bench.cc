// Formula benchmark on the shared data set (bench/formula_run.sh runs it beside DuckDB):
//
//   F1 full recompute of a margin-style formula over every leaf cell:
//        Scenario=Margin = Budget - Actual   (a cell wherever Budget or Actual has one)
//   F2 full recompute of a 5-deep chain on the same cells:
//        C1 = Budget * 1.1; C2 = C1 - Actual; C3 = C2 * 0.5 + Budget; C4 = C3 / 2; C5 = C4 + C1
//   F3 one leaf write of Budget that feeds the chain: the write with its recalculation (the
//        five chain cells and every cached total above them), median over many writes
//   F4 JIT compile time per formula (the six formulas in one module), and the VM for contrast
//   F5 as F3, in a sandbox: the write with the recalculation of the sandbox's view (no peer)
//   F6 in that sandbox, a spread over a total feeding the chain, and the first read after an
//        app write, which rebuilds the sandbox's formula cells from its overlay (no peer)
//
// The formulas are on the Scenario dimension, which gains the members Margin and C1..C5.
// Prints JSON lines (workload, variant, median/min/max, cells, checksum = sum of the
// formula's cells) so compare with bench/peer/formula_duckdb.mjs.
//
//   formula_bench DATA_DIR [REPS=3] [WORKLOADS=F1,F2,F3,F4,F5,F6]
//
// WORKLOADS picks what runs (for profiling one of them; F3, F5 and F6 need F2, F6 needs F5).
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "engine/cube.h"
#include "engine/sandbox.h"
#include "formula/jit.h"
#include "formula/parser.h"
#include "importer/dataset_import.h"

using namespace quantatom;
using namespace quantatom::bench;
using json = nlohmann::json;

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

void Emit(json j, const std::vector<double>& times, const char* unit) {
  j["median_" + std::string(unit)] = Median(times);
  j["min_" + std::string(unit)] = *std::min_element(times.begin(), times.end());
  j["max_" + std::string(unit)] = *std::max_element(times.begin(), times.end());
  j["n"] = times.size();
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

// The cells of scenario member `m`: how many, and their sum.
std::pair<size_t, double> CellsOf(const Cube& cube, MemberId m) {
  const int S = cube.model().FindDimension("scenario");
  const uint32_t ordinal = cube.model().dimensions[S].leaf_ordinal(m);
  return cube.WithStore([&](const CellStore& store) {
    size_t n = 0;
    double sum = 0;
    for (const KeyValue& kv : store.SortedCells())
      if (store.layout().Get(kv.key, S) == ordinal) ++n, sum += kv.value;
    return std::make_pair(n, sum);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: formula_bench DATA_DIR [REPS=3]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::string workloads = argc > 3 ? argv[3] : "F1,F2,F3,F4,F5,F6";
  auto wanted = [&](const char* w) { return workloads.find(w) != std::string::npos; };
  DatasetOptions options;
  options.app_name = "formulas";
  DatasetModel dataset = Check(ReadDatasetModel(dir, options));
  // The scenario dimension with the formula members added after the data set's own (so the
  // data set's member ids stay valid).
  const int S = dataset.model.FindDimension("scenario");
  {
    const Dimension& old = dataset.model.dimensions[S];
    DimensionBuilder b(old.name(), old.type());
    for (MemberId m = 0; m < old.member_count(); ++m)
      Check(b.AddMember(old.member(m).code, old.member(m).name, old.member(m).attributes));
    for (const Edge& e : old.edges()) Check(b.AddEdge(old.member(e.child).code, old.member(e.parent).code, e.weight));
    for (const char* code : {"Margin", "C1", "C2", "C3", "C4", "C5"}) Check(b.AddMember(code));
    dataset.model.dimensions[S] = Check(std::move(b).Build());
  }
  const std::string actual = dataset.model.dimensions[S].member(dataset.member_of_id[S][0]).code;
  const std::string budget = dataset.model.dimensions[S].member(dataset.member_of_id[S][1]).code;
  auto cube = Check(Cube::Create(dataset.model));
  double t0 = NowMs();
  Check(LoadCellsCsv(dir + "/cells.csv", dataset, cube.get()));
  std::fprintf(stderr, "[quantatom] loaded %zu cells in %.0f ms\n", cube->Stats().numeric_cells, NowMs() - t0);
  const Dimension& scen = cube->model().dimensions[S];
  auto id = [&](const char* code) { return *scen.Find(code); };
  const std::string dim = scen.name();
  const std::vector<std::pair<std::string, std::string>> chain = {
      {"C1", budget + " * 1.1"}, {"C2", "C1 - " + actual}, {"C3", "C2 * 0.5 + " + budget}, {"C4", "C3 / 2"}, {"C5", "C4 + C1"}};
  const std::string margin = budget + " - " + actual;

  // ---- F4 first (no cells needed): JIT compile time of the six formulas in one module.
  if (wanted("F4")) {
    std::vector<formula::BoundFormula> bound;
    auto bind = [&](const char* member, const std::string& text) {
      auto tree = Check(formula::Parse(text));
      bound.push_back(Check(formula::Bind(cube->model(), S, id(member), formula::Scope::kLeaf, *tree)));
    };
    bind("Margin", margin);
    for (auto& [m, text] : chain) bind(m.c_str(), text);
    std::vector<formula::Program> programs;
    for (auto& f : bound) programs.push_back(formula::Program::Compile(f.expr, static_cast<int>(f.inputs.size())));
    std::vector<const formula::Program*> ptrs;
    for (auto& p : programs) ptrs.push_back(&p);
    if (formula::JitModule::Available()) {
      std::vector<double> times;
      for (int r = 0; r < reps; ++r) {
        auto jit = Check(formula::JitModule::Compile(ptrs));
        times.push_back(jit->compile_ms() / ptrs.size());
      }
      Emit({{"workload", "F4"}, {"variant", "JIT compile per formula (6 formulas, one module, O2)"}, {"formulas", ptrs.size()}},
           times, "ms");
    }
  }

  auto run_full = [&](const char* workload, const char* variant, FormulaTier tier, MemberId checked, size_t formulas) {
    cube->SetFormulaTier(tier);
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
      double s = NowMs();
      cube->RecalculateFormulas();
      times.push_back(NowMs() - s);
    }
    auto [n, sum] = CellsOf(*cube, checked);
    json j = {{"workload", workload}, {"variant", variant}, {"cells", n}, {"formulas", formulas}, {"checksum", sum}};
    j["cells_per_s"] = static_cast<double>(n * formulas) / (Median(times) / 1000);
    Emit(j, times, "ms");
  };

  // ---- F1: the margin formula.
  if (wanted("F1")) {
  t0 = NowMs();
  Check(cube->SetFormula({dim, "Margin", margin, formula::Scope::kLeaf}));
  {
    const double define_ms = NowMs() - t0;
    auto [n, sum] = CellsOf(*cube, id("Margin"));
    Emit({{"workload", "F1"}, {"variant", "first computation: SetFormula Margin, every cell new (VM)"}, {"cells", n},
          {"formulas", 1}, {"checksum", sum}}, {define_ms}, "ms");
  }
  run_full("F1", "full recompute, Margin = Budget - Actual (VM)", FormulaTier::kVm, id("Margin"), 1);
  if (formula::JitModule::Available())
    run_full("F1", "full recompute, Margin = Budget - Actual (JIT)", FormulaTier::kJit, id("Margin"), 1);
  Check(cube->RemoveFormula(dim, "Margin"));
  malloc_trim(0);
  }

  // ---- F2: the chain.
  cube->SetFormulaTier(FormulaTier::kVm);
  t0 = NowMs();
  {
    std::vector<FormulaDefinition> defs;
    for (auto& [m, text] : chain) defs.push_back({dim, m, text, formula::Scope::kLeaf});
    Check(cube->SetFormulas(defs));
  }
  {
    const double define_ms = NowMs() - t0;
    auto [n, sum] = CellsOf(*cube, id("C5"));
    Emit({{"workload", "F2"}, {"variant", "first computation: SetFormulas of the five, every cell new (VM)"}, {"cells", n},
          {"formulas", 5}, {"checksum", sum}}, {define_ms}, "ms");
  }
  run_full("F2", "full recompute, 5-deep chain (VM)", FormulaTier::kVm, id("C5"), 5);
  if (formula::JitModule::Available()) run_full("F2", "full recompute, 5-deep chain (JIT)", FormulaTier::kJit, id("C5"), 5);

  // 300 random Budget leaf cells that hold a value, drawn with `seed`: the cells F3 and F5 write.
  auto budget_cells = [&](uint64_t seed) {
    std::vector<Coordinate> cells;
    cube->WithStore([&](const CellStore& store) {
      std::mt19937_64 rng(seed);
      KeyValues all = store.SortedCells();
      const uint32_t b = scen.leaf_ordinal(id(budget.c_str()));
      while (cells.size() < 300) {
        const KeyValue& kv = all[rng() % all.size()];
        if (store.layout().Get(kv.key, S) != b) continue;
        Coordinate c(cube->model().dimensions.size());
        for (size_t d = 0; d < c.size(); ++d)
          c[d] = cube->model().dimensions[d].leaf_member(store.layout().Get(kv.key, static_cast<int>(d)));
        cells.push_back(c);
      }
      return 0;
    });
    return cells;
  };

  // ---- F3: one Budget leaf write that feeds the chain, with a cached total above it.
  if (wanted("F3")) {
    cube->SetFormulaTier(FormulaTier::kVm);
    const std::vector<Coordinate> cells = budget_cells(5);
    std::vector<double> times;
    double value = 1000;
    for (const Coordinate& c : cells) {
      Coordinate total = c;
      total[S] = id("C5");
      total[0] = cube->model().dimensions[0].roots()[0];  // C5 for the whole account hierarchy: cached
      (void)cube->ReadCell(total);
      double s = NowMs();
      Check(cube->Write({{c, CellValue::Number(value += 1)}}));
      times.push_back((NowMs() - s) * 1000);
      auto v = cube->ReadCell(total);  // consistent right after
      if (!v.ok() || !v->is_number()) Die(absl::InternalError("total above the written chain is not a number"));
    }
    Emit({{"workload", "F3"}, {"variant", "one Budget leaf write feeding the 5-deep chain, with recalculation and cached totals"}},
         times, "us");
  }

  // ---- F5: the same writes in a sandbox: its view's chain cells recomputed from the write
  // (docs/sandboxes.md, "Formulas"); the app's stay as they are. Checked against the chain's
  // arithmetic done here.
  if (wanted("F5")) {
    cube->SetFormulaTier(FormulaTier::kVm);
    const std::vector<Coordinate> cells = budget_cells(7);
    Sandbox sandbox(cube.get(), "bench");
    std::vector<double> times;
    double value = 5000;
    for (const Coordinate& c : cells) {
      Coordinate c5 = c, actual = c;
      c5[S] = id("C5");
      actual[S] = id("Actual");
      const CellValue a = *cube->ReadCell(actual);
      const double v = value += 1;
      double s = NowMs();
      Check(sandbox.Write({{c, CellValue::Number(v)}}));
      times.push_back((NowMs() - s) * 1000);
      const double c1 = v * 1.1, c3 = (c1 - (a.is_number() ? a.number : 0.0)) * 0.5 + v;
      auto got = sandbox.ReadCell(c5);  // consistent right after
      if (!got.ok() || !got->is_number() || got->number != c3 / 2 + c1)
        Die(absl::InternalError("the sandbox's chain cell is not the chain of its write"));
    }
    Emit({{"workload", "F5"}, {"variant", "one Budget leaf write in a sandbox feeding the 5-deep chain, with its recalculation"}},
         times, "us");

    // F6: the costly paths of the same: a spread in the sandbox over a total (every leaf below
    // changes, each feeding the chain), and the first read after the app changed, which
    // rebuilds the sandbox's derived cells from its whole overlay.
    if (wanted("F6")) {
      Coordinate target = cells[0];
      for (size_t d = 0; d < target.size(); ++d) {  // two levels up every dimension but Scenario
        if (static_cast<int>(d) == S) continue;
        for (int up = 0; up < 2; ++up) {
          auto parents = cube->model().dimensions[d].parent_edges(target[d]);
          if (!parents.empty()) target[d] = parents[0].parent;
        }
      }
      double s = NowMs();
      auto spread = sandbox.Spread(target, SpreadRequest{SpreadMethod::kProportional, 1e6});
      Check(spread.status());
      const double spread_ms = NowMs() - s;
      const size_t overlay = sandbox.size();
      Check(cube->Write({{cells[1], CellValue::Number(7)}}));
      s = NowMs();
      Coordinate c5 = cells[0];
      c5[S] = id("C5");
      Check(sandbox.ReadCell(c5).status());
      const double rebuild_ms = NowMs() - s;
      Emit({{"workload", "F6"}, {"variant", "sandbox spread over a total feeding the chain, with its recalculation"},
            {"leaves", *spread}}, {spread_ms}, "ms");
      Emit({{"workload", "F6b"}, {"variant", "first sandbox read after an app write: derived cells rebuilt"},
            {"overlay_cells", overlay}}, {rebuild_ms}, "ms");
    }
  }
  return 0;
}

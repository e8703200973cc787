#include "cli/commands.h"

#include <chrono>
#include <cstdio>

#include "base/numbers.h"
#include "cli/grid_output.h"
#include "durable/durable_app.h"
#include "engine/data_folder.h"
#include "importer/dataset_import.h"
#include "importer/demo_dataset.h"
#include "importer/sample_dataset.h"
#include "model/model_json.h"
#include "base/strings.h"

namespace quantatom {

namespace {

// How long a command that changes an app waits for another one to finish with it. Long enough
// for the load and save of a large app; an error after that beats hanging without a word.
constexpr std::chrono::milliseconds kAppLockTimeout = std::chrono::minutes(2);

absl::StatusOr<std::unique_ptr<durable::DurableApp>> OpenDurable(const std::string& data, const std::string& app,
                                                                 bool read_only) {
  durable::DurableOptions options;
  options.read_only = read_only;
  options.lock_timeout = kAppLockTimeout;
  return durable::DurableApp::Open(DataFolder(data), app, options);
}

}  // namespace

absl::Status RunSample(const SampleArgs& args) {
  QA_RETURN_IF_ERROR(WriteSampleDataset(args.out, args.cells, args.seed));
  std::printf("wrote a sample data set of %llu cells to %s\n", static_cast<unsigned long long>(args.cells), args.out.c_str());
  return absl::OkStatus();
}

absl::Status RunDemo(const DemoArgs& args) {
  QA_ASSIGN_OR_RETURN(DemoSummary s, WriteDemoDataset(args.out));
  std::printf(
      "wrote the P&L demo to %s (%.1f MB; see %s/README.md):\n"
      "  gl_actuals/  %zu GL accounts under %zu natural accounts, %zu cost centers, %zu actual cells\n"
      "  plan/        %zu plan accounts, %zu Budget and %zu Forecast cells, Actual empty\n"
      "  bridge_rules.csv %zu rules, targets.csv %zu targets, comments.csv %zu comments\n",
      args.out.c_str(), static_cast<double>(s.bytes) / 1e6, args.out.c_str(), s.gl_leaf_accounts,
      s.gl_parent_accounts, s.cost_centers, s.actual_cells, s.gl_parent_accounts, s.budget_cells, s.forecast_cells,
      s.bridge_rules, s.targets, s.comments);
  return absl::OkStatus();
}

absl::Status RunImport(const ImportArgs& args) {
  if (args.dataset.empty() == args.model.empty())
    return absl::InvalidArgumentError("give exactly one of --dataset FOLDER or --model FILE");
  DataFolder folder(args.data);
  std::unique_ptr<Cube> cube;
  if (!args.dataset.empty()) {
    if (args.app.empty()) return absl::InvalidArgumentError("--app is required with --dataset");
    QA_ASSIGN_OR_RETURN(PlanningType type, ParsePlanningType(args.planning_type));
    DatasetOptions options;
    options.app_name = args.app;
    options.planning_type = type;
    options.progress = true;
    QA_ASSIGN_OR_RETURN(cube, ImportDataset(args.dataset, options));
  } else {
    QA_ASSIGN_OR_RETURN(ModelFile file, ReadModelJsonFile(args.model));
    if (!args.app.empty()) file.model.name = args.app;
    QA_ASSIGN_OR_RETURN(cube, Cube::Create(std::move(file.model)));
    std::vector<CellWrite> writes;
    for (CellInput& in : file.cells) writes.push_back({std::move(in.coord), std::move(in.value)});
    QA_RETURN_IF_ERROR(cube->Write(writes));
  }
  // Create takes the app's lock from the existence check to the snapshot (the import itself may
  // be long and needs no lock), and audits every imported cell.
  QA_ASSIGN_OR_RETURN(auto app, durable::DurableApp::Create(folder, std::move(cube), "import", args.replace));
  const Cube* imported = &app->cube();
  CubeStats s = imported->Stats();
  std::printf("imported app '%s' (%s): %zu dimensions, %zu numeric cells, %zu text cells\n", imported->model().name.c_str(),
              std::string(PlanningTypeName(imported->model().planning_type)).c_str(), imported->model().dimensions.size(),
              s.numeric_cells, s.text_cells);
  return absl::OkStatus();
}

absl::Status RunQuery(const QueryArgs& args) {
  QA_ASSIGN_OR_RETURN(GridFormat format, ParseGridFormat(args.format));
  QA_ASSIGN_OR_RETURN(auto app, OpenDurable(args.data, args.app, /*read_only=*/true));
  const Cube* cube = &app->cube();
  const AppModel& model = cube->model();
  GridQuery q;
  QA_ASSIGN_OR_RETURN(q.rows, ParseAxis(model, args.rows));
  // Without --cols the grid has one unnamed column, so that an app with a single dimension
  // (which can be placed only once, on the rows) can be read too.
  if (Trim(args.cols).empty()) {
    q.cols = CrossJoin({}, {});
  } else {
    QA_ASSIGN_OR_RETURN(q.cols, ParseAxis(model, args.cols));
  }
  QA_ASSIGN_OR_RETURN(q.slicers, ParseSlicers(model, args.where));
  Cube::ReadOptions options;
  options.use_cache = !args.no_cache;
  QA_ASSIGN_OR_RETURN(Grid grid, cube->Query(q, options));
  std::fputs(FormatGrid(model, q, grid, format).c_str(), stdout);
  return absl::OkStatus();
}

absl::Status RunWrite(const WriteArgs& args) {
  if (args.cells.empty()) return absl::InvalidArgumentError("nothing to write: give --cell and --value pairs");
  if (args.cells.size() != args.values.size())
    return absl::InvalidArgumentError(StrCat("got ", args.cells.size(), " --cell but ", args.values.size(), " --value"));
  // Open takes the app's lock (an unknown app fails before a lock file is made for it) and
  // recovers it: snapshot + log. The write is then one log record, durable before we say so.
  QA_ASSIGN_OR_RETURN(auto app, OpenDurable(args.data, args.app, /*read_only=*/false));
  const Cube* cube = &app->cube();
  std::vector<CellWrite> writes;
  for (size_t i = 0; i < args.cells.size(); ++i) {
    auto coord = cube->model().ParseCoordinate(args.cells[i]);
    if (!coord.ok())
      return absl::Status(coord.status().code(), StrCat("--cell '", args.cells[i], "': ", coord.status().message()));
    CellValue v;
    if (args.text) v = CellValue::Text(args.values[i]);
    else if (!args.values[i].empty()) {
      double d = 0;
      if (!ParseDouble(args.values[i], &d))
        return absl::InvalidArgumentError(StrCat("--value '", args.values[i], "' is not a number (use --text for text)"));
      v = CellValue::Number(d);
    }
    writes.push_back({*std::move(coord), std::move(v)});
  }
  QA_RETURN_IF_ERROR(app->Write(writes, args.user));
  std::printf("wrote %zu cell%s\n", writes.size(), writes.size() == 1 ? "" : "s");
  return absl::OkStatus();
}

absl::Status RunSpread(const SpreadArgs& args) {
  QA_ASSIGN_OR_RETURN(SpreadMethod method, ParseSpreadMethod(args.method));
  // As in RunWrite: the spread's changed cells are one log record.
  QA_ASSIGN_OR_RETURN(auto app, OpenDurable(args.data, args.app, /*read_only=*/false));
  const Cube* cube = &app->cube();
  auto target = cube->model().ParseCoordinate(args.cell);
  if (!target.ok())
    return absl::Status(target.status().code(), StrCat("--cell '", args.cell, "': ", target.status().message()));
  std::vector<Coordinate> holds;
  for (const std::string& h : args.holds) {
    auto coord = cube->model().ParseCoordinate(h);
    if (!coord.ok()) return absl::Status(coord.status().code(), StrCat("--hold '", h, "': ", coord.status().message()));
    holds.push_back(*std::move(coord));
  }
  SpreadRequest request{method, args.value};
  request.growth_percent = args.growth;
  request.basis_time_offset = args.time_offset;
  for (std::string_view b : SplitTrimmed(args.basis, ',')) {
    if (b.empty()) continue;
    // "scenario=Actual": the member replacing the target's in that dimension.
    const size_t eq = b.find('=');
    const int d = eq == std::string_view::npos ? -1 : cube->model().FindDimension(Trim(b.substr(0, eq)));
    if (d < 0) return absl::InvalidArgumentError(StrCat("--basis '", b, "': expected Dimension=Member with a dimension of the app"));
    auto m = cube->model().dimensions[d].Find(Trim(b.substr(eq + 1)));
    if (!m) return absl::NotFoundError(StrCat("--basis '", b, "': no member '", Trim(b.substr(eq + 1)), "' in ", cube->model().dimensions[d].name()));
    request.basis.emplace_back(static_cast<size_t>(d), *m);
  }
  QA_ASSIGN_OR_RETURN(size_t changed, app->Spread(*target, request, holds, args.user));
  std::printf("spread (%s) changed %zu leaf cell%s\n", std::string(SpreadMethodName(method)).c_str(), changed,
              changed == 1 ? "" : "s");
  return absl::OkStatus();
}

absl::Status RunStats(const StatsArgs& args) {
  QA_ASSIGN_OR_RETURN(auto app, OpenDurable(args.data, args.app, /*read_only=*/true));
  const Cube* cube = &app->cube();
  const AppModel& model = cube->model();
  CubeStats s = cube->Stats();
  std::printf("app %s (%s)\n", model.name.c_str(), std::string(PlanningTypeName(model.planning_type)).c_str());
  std::printf("cells: %zu numeric, %zu text, in %zu runs\n", s.numeric_cells, s.text_cells, s.runs);
  std::printf("store: %zu bytes, %.2f bytes per numeric cell (indexes included); key %d bits\n", s.store_bytes,
              s.numeric_cells ? static_cast<double>(s.store_bytes) / static_cast<double>(s.numeric_cells) : 0.0, s.key_bits);
  std::printf("%-14s %-9s %8s %8s %6s %6s\n", "dimension", "type", "members", "leaves", "levels", "tops");
  for (const Dimension& d : model.dimensions)
    std::printf("%-14s %-9s %8u %8u %6d %6zu\n", d.name().c_str(), std::string(DimensionTypeName(d.type())).c_str(),
                d.member_count(), d.leaf_count(), d.max_level() + 1, d.roots().size());
  return absl::OkStatus();
}

absl::Status RunApps(const std::string& data) {
  QA_ASSIGN_OR_RETURN(auto apps, DataFolder(data).ListApps());
  for (auto& a : apps) std::printf("%s\n", a.c_str());
  return absl::OkStatus();
}

}  // namespace quantatom

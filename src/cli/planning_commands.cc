#include "cli/planning_commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>

#include "base/csv.h"
#include "base/numbers.h"
#include "base/strings.h"
#include "bridge/bridge.h"
#include "bridge/bridge_rules.h"
#include "commentary/comment_store.h"
#include "cli/grid_output.h"
#include "engine/data_folder.h"
#include "durable/durable_app.h"
#include "engine/sandbox.h"
#include "targets/targets.h"

namespace quantatom {

namespace {

constexpr std::chrono::milliseconds kAppLockTimeout = std::chrono::minutes(2);

// An app opened through the durable layer (durable/durable_app.h). A command changes the cube
// and the sections, then Save logs all of it as one record (nothing is logged if it fails
// before); a read opens the app read-only (snapshot + log, no lock).
struct OpenApp {
  std::unique_ptr<durable::DurableApp> app;
  Cube* cube = nullptr;
  uint64_t since = 0;  // the newest change set at open: Save logs the ones after it
  std::map<std::string, std::string, std::less<>> sections;
  std::vector<durable::LoggedSection> changed;

  const std::string* Section(std::string_view name) const {
    auto it = sections.find(name);
    return it == sections.end() ? nullptr : &it->second;
  }
  void SetSection(std::string_view name, std::string body) {
    changed.push_back({std::string(name), body});
    sections[std::string(name)] = std::move(body);
  }
  void RemoveSection(std::string_view name) {
    if (auto it = sections.find(name); it != sections.end()) sections.erase(it);
    changed.push_back({std::string(name), std::nullopt});
  }
  absl::Status Save(const std::string& user, const std::string& cause, std::vector<std::string> hold_users = {}) {
    return app->LogChanges(user, cause, since, std::move(changed), std::move(hold_users));
  }
};

absl::StatusOr<OpenApp> Open(const DataFolder& folder, const std::string& app, bool for_change) {
  OpenApp open;
  durable::DurableOptions options;
  options.read_only = !for_change;
  options.lock_timeout = kAppLockTimeout;
  QA_ASSIGN_OR_RETURN(open.app, durable::DurableApp::Open(folder, app, options));
  open.cube = open.app->mutable_cube();
  open.since = open.cube->LastChangeSetId();
  for (const char* name : {"targets", "comments"})
    if (auto bytes = open.app->Section(name)) open.sections[name] = *std::move(bytes);
  return open;
}

// A section by name, read on demand (sandboxes and bridges are named by user and source).
const std::string* Load(OpenApp& app, const std::string& name) {
  if (const std::string* s = app.Section(name)) return s;
  if (auto bytes = app.app->Section(name)) {
    app.sections[name] = *std::move(bytes);
    return app.Section(name);
  }
  return nullptr;
}

absl::StatusOr<Coordinate> ParseCell(const AppModel& model, std::string_view flag, const std::string& text) {
  auto coord = model.ParseCoordinate(text);
  if (!coord.ok()) return absl::Status(coord.status().code(), StrCat(flag, " '", text, "': ", coord.status().message()));
  return coord;
}

std::string Num(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", *v);
  return buf;
}
std::string Pct(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", *v);
  return buf;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// ---- hold

absl::Status RunHold(const HoldArgs& args) {
  DataFolder folder(args.data);
  QA_ASSIGN_OR_RETURN(OpenApp app, Open(folder, args.app, /*for_change=*/!args.cells.empty()));
  if (args.cells.empty()) {
    for (const Coordinate& h : app.cube->Holds(args.user)) std::printf("%s\n", app.cube->model().FormatCoordinate(h).c_str());
    return absl::OkStatus();
  }
  for (const std::string& text : args.cells) {
    QA_ASSIGN_OR_RETURN(Coordinate c, ParseCell(app.cube->model(), "--cell", text));
    QA_RETURN_IF_ERROR(app.cube->SetHold(args.user, c, !args.off));
  }
  QA_RETURN_IF_ERROR(app.Save(args.user, "hold", {args.user}));
  std::printf("%s %zu hold%s for user '%s' (%zu in all)\n", args.off ? "released" : "set", args.cells.size(),
              args.cells.size() == 1 ? "" : "s", args.user.c_str(), app.cube->Holds(args.user).size());
  return absl::OkStatus();
}

// ---- undo, redo

absl::Status RunUndo(const UndoArgs& args) {
  DataFolder folder(args.data);
  QA_ASSIGN_OR_RETURN(OpenApp app, Open(folder, args.app, /*for_change=*/true));
  QA_ASSIGN_OR_RETURN(uint64_t id, args.redo ? app.app->Redo(args.user) : app.app->Undo(args.user));
  for (const ChangeSet& set : app.cube->History())
    if (set.id == id)
      std::printf("%s change set %llu (%s, %zu cell%s) of user '%s'\n", args.redo ? "redid" : "undid",
                  static_cast<unsigned long long>(id), set.action.c_str(), set.changes.size(),
                  set.changes.size() == 1 ? "" : "s", set.user.c_str());
  return absl::OkStatus();
}

// ---- sandboxes

absl::Status RunSandbox(const SandboxArgs& args) {
  DataFolder folder(args.data);
  const bool change = args.action != "query";
  QA_ASSIGN_OR_RETURN(OpenApp app, Open(folder, args.app, change));
  const AppModel& model = app.cube->model();
  const std::string section = StrCat("sandbox:", args.user);
  const std::string* stored = Load(app, section);
  if (args.action == "open") {
    if (stored) return absl::AlreadyExistsError(StrCat("user '", args.user, "' already has an open sandbox on ", args.app,
                                                        ": commit or discard it first"));
    app.SetSection(section, Sandbox(app.cube, args.user).Encode());
    QA_RETURN_IF_ERROR(app.Save(args.user, "sandbox open"));
    std::printf("opened a sandbox for user '%s' on %s\n", args.user.c_str(), args.app.c_str());
    return absl::OkStatus();
  }
  if (!stored) return absl::NotFoundError(StrCat("user '", args.user, "' has no open sandbox on ", args.app,
                                                  " (quantatom sandbox open)"));
  QA_ASSIGN_OR_RETURN(auto box, Sandbox::Restore(app.cube, args.user, *stored, folder.AppPath(args.app)));
  auto drop_section = [&] { app.RemoveSection(section); };
  if (args.action == "query") {
    QA_ASSIGN_OR_RETURN(GridFormat format, ParseGridFormat(args.format));
    GridQuery q;
    QA_ASSIGN_OR_RETURN(q.rows, ParseAxis(model, args.rows));
    if (Trim(args.cols).empty()) {
      q.cols = CrossJoin({}, {});
    } else {
      QA_ASSIGN_OR_RETURN(q.cols, ParseAxis(model, args.cols));
    }
    QA_ASSIGN_OR_RETURN(q.slicers, ParseSlicers(model, args.where));
    QA_ASSIGN_OR_RETURN(Grid grid, box->Query(q));
    std::fputs(FormatGrid(model, q, grid, format).c_str(), stdout);
    return absl::OkStatus();
  }
  if (args.action == "write") {
    if (args.cells.empty() || args.cells.size() != args.values.size())
      return absl::InvalidArgumentError("give --cell and --value pairs");
    std::vector<CellWrite> writes;
    for (size_t i = 0; i < args.cells.size(); ++i) {
      QA_ASSIGN_OR_RETURN(Coordinate c, ParseCell(model, "--cell", args.cells[i]));
      double v = 0;
      if (!args.values[i].empty() && !ParseDouble(args.values[i], &v))
        return absl::InvalidArgumentError(StrCat("--value '", args.values[i], "' is not a number"));
      writes.push_back({std::move(c), args.values[i].empty() ? CellValue::Empty() : CellValue::Number(v)});
    }
    QA_RETURN_IF_ERROR(box->Write(writes));
    std::printf("wrote %zu cell%s in the sandbox\n", writes.size(), writes.size() == 1 ? "" : "s");
  } else if (args.action == "spread") {
    if (args.cells.size() != 1) return absl::InvalidArgumentError("give one --cell to spread into");
    QA_ASSIGN_OR_RETURN(Coordinate target, ParseCell(model, "--cell", args.cells[0]));
    QA_ASSIGN_OR_RETURN(SpreadMethod method, ParseSpreadMethod(args.method));
    std::vector<Coordinate> holds;
    for (const std::string& h : args.holds) {
      QA_ASSIGN_OR_RETURN(Coordinate c, ParseCell(model, "--hold", h));
      holds.push_back(std::move(c));
    }
    QA_ASSIGN_OR_RETURN(size_t n, box->Spread(target, {method, args.value}, holds));
    std::printf("spread (%s) changed %zu leaf cell%s in the sandbox\n", std::string(SpreadMethodName(method)).c_str(), n,
                n == 1 ? "" : "s");
  } else if (args.action == "commit") {
    ConflictPolicy policy;
    if (args.policy == "abort") policy = ConflictPolicy::kAbort;
    else if (args.policy == "mine") policy = ConflictPolicy::kKeepMine;
    else if (args.policy == "theirs") policy = ConflictPolicy::kKeepTheirs;
    else return absl::InvalidArgumentError(StrCat("--policy '", args.policy, "': expected abort, mine or theirs"));
    QA_ASSIGN_OR_RETURN(SandboxCommit c, box->Commit(policy));
    drop_section();
    QA_RETURN_IF_ERROR(app.Save(args.user, "sandbox commit"));
    std::printf("committed %zu cell%s as change set %llu (%zu conflict%s %s)\n", c.written, c.written == 1 ? "" : "s",
                static_cast<unsigned long long>(c.change_set), c.conflicts.size(), c.conflicts.size() == 1 ? "" : "s",
                policy == ConflictPolicy::kKeepTheirs ? "skipped" : "overwritten");
    return absl::OkStatus();
  } else if (args.action == "discard") {
    drop_section();
    QA_RETURN_IF_ERROR(app.Save(args.user, "sandbox discard"));
    std::printf("discarded the sandbox of user '%s' (%zu cells)\n", args.user.c_str(), box->size());
    return absl::OkStatus();
  } else {
    return absl::InvalidArgumentError(StrCat("unknown sandbox action '", args.action,
                                             "' (expected open, write, spread, query, commit or discard)"));
  }
  app.SetSection(section, box->Encode());
  return app.Save(args.user, StrCat("sandbox ", args.action));
}

// ---- bridge

absl::Status RunBridge(const BridgeArgs& args) {
  DataFolder folder(args.data);
  if (args.source == args.target) return absl::InvalidArgumentError("a bridge needs two different apps");
  QA_ASSIGN_OR_RETURN(OpenApp source, Open(folder, args.source, /*for_change=*/false));
  QA_ASSIGN_OR_RETURN(OpenApp target, Open(folder, args.target, /*for_change=*/!args.check));
  QA_ASSIGN_OR_RETURN(BridgeRules rules, ReadBridgeRules(args.rules));
  const int sd = source.cube->model().FindDimension(args.source_dim);
  const int td = target.cube->model().FindDimension(args.target_dim);
  if (sd < 0) return absl::NotFoundError(StrCat("app '", args.source, "' has no dimension '", args.source_dim, "'"));
  if (td < 0) return absl::NotFoundError(StrCat("app '", args.target, "' has no dimension '", args.target_dim, "'"));
  ResolvedBridge resolved =
      ResolveBridge(source.cube->model().dimensions[sd], target.cube->model().dimensions[td], rules);
  std::printf("%s", resolved.report.ToText().c_str());
  if (args.check) return resolved.report.ToStatus();
  QA_ASSIGN_OR_RETURN(Bridge bridge, Bridge::Create(source.cube->model(), target.cube->model(), args.source_dim,
                                                    args.target_dim, std::move(resolved)));
  QA_ASSIGN_OR_RETURN(KeyValues bridged, bridge.Materialize(*source.cube));
  // Replace what this bridge wrote last time: cells it wrote then and does not write now are
  // cleared, so a source cell deleted since does not linger in the plan.
  const std::string section = StrCat("bridged:", args.source);
  std::vector<uint64_t> previous;
  if (const std::string* prev = Load(target, section)) {
    if (prev->size() % 8 != 0) return absl::DataLossError(StrCat("the ", section, " section is damaged"));
    previous.resize(prev->size() / 8);
    std::memcpy(previous.data(), prev->data(), prev->size());
  }
  std::vector<std::pair<uint64_t, CellValue>> batch;
  std::string keys;
  keys.reserve(bridged.size() * 8);
  size_t i = 0;
  for (const KeyValue& kv : bridged) {
    keys.append(reinterpret_cast<const char*>(&kv.key), 8);
    batch.emplace_back(kv.key, CellValue::Number(kv.value));
  }
  for (uint64_t key : previous) {
    while (i < bridged.size() && bridged[i].key < key) ++i;
    if (i == bridged.size() || bridged[i].key != key) batch.emplace_back(key, CellValue::Empty());
  }
  std::vector<CellWrite> writes;
  writes.reserve(batch.size());
  const KeyLayout& layout = target.cube->layout();
  for (const auto& [key, value] : batch) {
    Coordinate c(layout.dims());
    for (int d = 0; d < layout.dims(); ++d) c[d] = target.cube->model().dimensions[d].leaf_member(layout.Get(key, d));
    writes.push_back({std::move(c), value});
  }
  WriteOptions options;
  options.action = "bridge";
  options.allow_read_only = true;  // bridged actuals land in the read-only Actual scenario
  QA_RETURN_IF_ERROR(target.cube->Write(writes, "bridge", options));
  target.SetSection(section, std::move(keys));
  QA_RETURN_IF_ERROR(target.Save("bridge", "bridge"));
  std::printf("bridged %zu cells of %s into %zu cells of %s (%zu cleared)\n", source.cube->Stats().numeric_cells,
              args.source.c_str(), bridged.size(), args.target.c_str(), batch.size() - bridged.size());
  return absl::OkStatus();
}

// ---- targets

absl::Status RunTarget(const TargetArgs& args) {
  DataFolder folder(args.data);
  const bool change = args.value.has_value() || args.remove || !args.file.empty();
  QA_ASSIGN_OR_RETURN(OpenApp app, Open(folder, args.app, change));
  const AppModel& model = app.cube->model();
  QA_ASSIGN_OR_RETURN(TargetsConfig config, MakeTargetsConfig(model, args.scenario_dim, args.plan, args.actual));
  Targets targets(app.cube, config);
  if (const std::string* bytes = app.Section("targets")) QA_RETURN_IF_ERROR(targets.Decode(*bytes));

  auto set_one = [&](const std::string& cell, double value, const std::string& method, const std::string& where) -> absl::Status {
    QA_ASSIGN_OR_RETURN(Coordinate c, ParseCell(model, StrCat(where, "coordinate"), cell));
    QA_ASSIGN_OR_RETURN(GuidanceMethod m, ParseGuidanceMethod(method.empty() ? "proportional" : method));
    Target t{c, value, m, kNoMember};
    if (!args.basis.empty()) {
      auto b = model.dimensions[config.scenario_dim].Find(args.basis);
      if (!b) return absl::NotFoundError(StrCat("--basis '", args.basis, "' is not a scenario member"));
      t.basis = *b;
    }
    absl::Status s = targets.Set(t);
    if (!s.ok()) return absl::Status(s.code(), StrCat(where, s.message()));
    return absl::OkStatus();
  };
  if (!args.file.empty()) {
    QA_ASSIGN_OR_RETURN(CsvFile csv, CsvFile::Open(args.file));
    std::vector<std::string> f;
    absl::Status err;
    bool header = true;
    size_t n = 0;
    while (csv.Next(&f, &err)) {
      if (header && !f.empty() && f[0] == "coordinate") {
        header = false;
        continue;
      }
      header = false;
      if (f.size() != 3) return csv.Error(StrCat("expected 3 fields (coordinate,value,method), found ", f.size()));
      double v = 0;
      if (!ParseDouble(f[1], &v)) return csv.Error(StrCat("field 'value': '", f[1], "' is not a number"));
      QA_RETURN_IF_ERROR(set_one(f[0], v, f[2], StrCat(csv.name(), ":", csv.line(), ": ")));
      ++n;
    }
    QA_RETURN_IF_ERROR(err);
    std::printf("set %zu target%s\n", n, n == 1 ? "" : "s");
  } else if (args.value || args.remove) {
    if (args.cell.empty()) return absl::InvalidArgumentError("give --cell");
    if (args.remove) {
      QA_ASSIGN_OR_RETURN(Coordinate c, ParseCell(model, "--cell", args.cell));
      QA_RETURN_IF_ERROR(targets.Remove(c));
    } else {
      QA_RETURN_IF_ERROR(set_one(args.cell, *args.value, args.method, "--cell "));
    }
  }
  if (change) {
    app.SetSection("targets", targets.Encode());
    QA_RETURN_IF_ERROR(app.Save("cli", "target"));
  }
  if (args.show) {
    if (args.cell.empty()) return absl::InvalidArgumentError("--show needs --cell");
    QA_ASSIGN_OR_RETURN(Coordinate c, ParseCell(model, "--cell", args.cell));
    QA_ASSIGN_OR_RETURN(LayerValues v, targets.Layers(c));
    std::printf("%s\n", model.FormatCoordinate(c).c_str());
    std::printf("  plan %s   actual %s   target %s\n", Num(v.plan).c_str(), Num(v.actual).c_str(), Num(v.target).c_str());
    std::printf("  actual - plan   %s (%s)\n", Num(v.actual_vs_plan.abs).c_str(), Pct(v.actual_vs_plan.pct).c_str());
    std::printf("  plan - target   %s (%s)\n", Num(v.plan_vs_target.abs).c_str(), Pct(v.plan_vs_target.pct).c_str());
    std::printf("  actual - target %s (%s)\n", Num(v.actual_vs_target.abs).c_str(), Pct(v.actual_vs_target.pct).c_str());
    QA_ASSIGN_OR_RETURN(auto top, targets.TopContributors(c, VarianceKind::kPlanVsTarget, -1, args.top));
    if (!top.empty()) std::printf("  largest contributors to plan - target, one level down:\n");
    for (const Contributor& t : top)
      std::printf("    %-12s %-24s %14s  share %s\n", model.dimensions[t.dim].name().c_str(),
                  model.dimensions[t.dim].member(t.member).code.c_str(), Num(t.variance.abs).c_str(),
                  t.share ? Pct(*t.share * 100).c_str() : "-");
  } else if (!change) {
    for (const Target& t : targets.List())
      std::printf("%s = %s (%s)\n", model.FormatCoordinate(t.coord).c_str(), FormatNumber(t.value).c_str(),
                  std::string(GuidanceMethodName(t.method)).c_str());
  }
  return absl::OkStatus();
}

// ---- comments

absl::Status RunComment(const CommentArgs& args) {
  DataFolder folder(args.data);
  const bool change = !args.list;
  QA_ASSIGN_OR_RETURN(OpenApp app, Open(folder, args.app, change));
  const AppModel& model = app.cube->model();
  std::unique_ptr<CommentStore> store;
  if (const std::string* bytes = app.Section("comments")) {
    QA_ASSIGN_OR_RETURN(store, CommentStore::Decode(model, *bytes));
  } else {
    store = std::make_unique<CommentStore>(model);
  }
  if (args.list) {
    if (args.cell.empty()) return absl::InvalidArgumentError("--list needs --cell (the region to list under)");
    QA_ASSIGN_OR_RETURN(Coordinate region, ParseCell(model, "--cell", args.cell));
    QA_ASSIGN_OR_RETURN(CommentPage page, store->ListUnder(region, 100));
    for (const Comment& c : page.comments)
      std::printf("#%u %s %s%s: %s%s\n", c.id, model.FormatCoordinate(c.coordinate).c_str(), c.author.c_str(),
                  c.parent ? StrCat(" (reply to #", c.parent, ")").c_str() : "", c.text.c_str(),
                  c.adjustment ? StrCat(" [adjust ", FormatNumber(*c.adjustment), c.active_adjustment() ? "" : ", retracted", "]").c_str() : "");
    QA_ASSIGN_OR_RETURN(CellValue computed, app.cube->ReadCell(region));
    QA_ASSIGN_OR_RETURN(CellValue adjusted, store->Adjusted(region, computed));
    std::printf("value %s, adjusted %s\n", computed.is_number() ? Num(computed.number).c_str() : "-",
                adjusted.is_number() ? Num(adjusted.number).c_str() : "-");
    return absl::OkStatus();
  }
  size_t posted = 0;
  if (!args.file.empty()) {
    // comments.csv: coordinate,author,time,text,adjust[,parent] with a header; parent is the
    // 1-based data row the comment replies to; time is ISO-8601 UTC or empty (now).
    QA_ASSIGN_OR_RETURN(CsvFile csv, CsvFile::Open(args.file));
    std::vector<std::string> f;
    absl::Status err;
    bool header = true;
    std::vector<CommentId> ids;
    while (csv.Next(&f, &err)) {
      if (header) {
        header = false;
        if (!f.empty() && f[0] == "coordinate") continue;
      }
      if (f.size() != 5 && f.size() != 6)
        return csv.Error(StrCat("expected 5 or 6 fields (coordinate,author,time,text,adjust[,parent]), found ", f.size()));
      NewComment nc{f[1], NowMs(), f[3], std::nullopt};
      if (!f[2].empty()) {
        std::tm tm{};
        const char* end = strptime(f[2].c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end || (*end != 'Z' && *end != '\0'))
          return csv.Error(StrCat("field 'time': '", f[2], "' is not an ISO-8601 UTC time (2026-03-04T10:15:00Z)"));
        nc.time_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
      }
      if (!f[4].empty()) {
        double a = 0;
        if (!ParseDouble(f[4], &a)) return csv.Error(StrCat("field 'adjust': '", f[4], "' is not a number"));
        nc.adjustment = a;
      }
      absl::StatusOr<CommentId> id;
      uint32_t parent = 0;
      if (f.size() == 6 && !f[5].empty()) {
        if (!ParseUint32(f[5], &parent) || parent == 0 || parent > ids.size())
          return csv.Error(StrCat("field 'parent': '", f[5], "' is not an earlier row"));
        id = store->Reply(ids[parent - 1], nc);
      } else {
        auto c = model.ParseCoordinate(f[0]);
        if (!c.ok()) return csv.Error(StrCat("field 'coordinate': ", c.status().message()));
        id = store->Post(*c, nc);
      }
      if (!id.ok()) return csv.Error(std::string(id.status().message()));
      ids.push_back(*id);
      ++posted;
    }
    QA_RETURN_IF_ERROR(err);
  } else {
    if (args.text.empty()) return absl::InvalidArgumentError("give --text (and --cell, or --reply-to)");
    NewComment nc{args.user, NowMs(), args.text, args.adjust};
    CommentId id = 0;
    if (args.reply_to) {
      QA_ASSIGN_OR_RETURN(id, store->Reply(args.reply_to, nc));
    } else {
      QA_ASSIGN_OR_RETURN(Coordinate c, ParseCell(model, "--cell", args.cell));
      QA_ASSIGN_OR_RETURN(id, store->Post(c, nc));
    }
    std::printf("comment #%u\n", id);
    posted = 1;
  }
  app.SetSection("comments", store->Encode());
  QA_RETURN_IF_ERROR(app.Save(args.user, "comment"));
  if (!args.file.empty()) std::printf("posted %zu comment%s\n", posted, posted == 1 ? "" : "s");
  return absl::OkStatus();
}

}  // namespace quantatom

// quantatom: the command line of QuantatomAI. `quantatom --help` lists the commands.
#include <cstdio>
#include <tuple>

#include <CLI/CLI.hpp>

#include "cli/admin_commands.h"
#include "cli/commands.h"
#include "cli/formula_commands.h"
#include "cli/planning_commands.h"

using namespace quantatom;

int main(int argc, char** argv) {
  CLI::App app{"QuantatomAI: connected planning engine"};
  app.require_subcommand(1);
  absl::Status status;

  SampleArgs sample;
  auto* s = app.add_subcommand("sample", "write a sample corporate P&L data set (CSV folder)");
  s->add_option("--out", sample.out, "folder to write")->required();
  s->add_option("--cells", sample.cells, "about how many leaf cells");
  s->add_option("--seed", sample.seed, "random seed");
  s->callback([&] { status = RunSample(sample); });

  DemoArgs demo;
  auto* d = app.add_subcommand("demo", "write the P&L planning demo: GL actuals and plan apps, bridge rules, targets, comments");
  d->add_option("--out", demo.out, "folder to write")->required();
  d->callback([&] { status = RunDemo(demo); });

  ImportArgs import;
  auto* i = app.add_subcommand("import", "import a data-set folder or a JSON model file as an app");
  i->add_option("--data", import.data, "data folder")->required();
  i->add_option("--app", import.app, "app name (default: the model file's)");
  i->add_option("--dataset", import.dataset, "folder with manifest.json, elements_*.csv, hier_*.csv, cells.csv");
  i->add_option("--model", import.model, "JSON model file (docs/formats/model-json.md)");
  i->add_option("--planning-type", import.planning_type, "corporate, supply_chain, headcount, sales or custom");
  i->add_flag("--replace", import.replace, "overwrite an existing app of that name");
  i->callback([&] { status = RunImport(import); });

  QueryArgs query;
  auto* q = app.add_subcommand("query", "print a grid of consolidated values");
  q->add_option("--data", query.data, "data folder")->required();
  q->add_option("--app", query.app, "app name")->required();
  q->add_option("--rows", query.rows, "row axis, e.g. \"Account: children(NetIncome)\"")->required();
  q->add_option("--cols", query.cols, "column axis, e.g. \"Month: leaves(FY1)\" (default: one unnamed column)");
  q->add_option("--where", query.where, "slicers, e.g. \"Scenario=Budget,CostCenter=EMEA\"");
  q->add_option("--format", query.format, "table, csv or json");
  q->add_flag("--no-cache", query.no_cache, "compute from the cells, not from cached totals");
  q->callback([&] { status = RunQuery(query); });

  WriteArgs write;
  auto* w = app.add_subcommand("write", "write leaf cells (all or nothing)");
  w->add_option("--data", write.data, "data folder")->required();
  w->add_option("--app", write.app, "app name")->required();
  w->add_option("--cell", write.cells, "leaf coordinate \"Dim=Code,...\" (repeatable)")->required();
  w->add_option("--value", write.values, "the value for the --cell at the same position; \"\" clears")->required();
  w->add_flag("--text", write.text, "the values are text, not numbers");
  w->add_option("--user", write.user, "who writes (change sets and undo are per user)");
  w->callback([&] { status = RunWrite(write); });

  SpreadArgs spread;
  auto* sp = app.add_subcommand("spread", "type a value into any cell, leaf or total: the leaves below take it");
  sp->add_option("--data", spread.data, "data folder")->required();
  sp->add_option("--app", spread.app, "app name")->required();
  sp->add_option("--cell", spread.cell, "coordinate \"Dim=Code,...\" at any level")->required();
  sp->add_option("--value", spread.value, "new total; or value per leaf (repeat), percent (percent), amount (add)");
  sp->add_option("--method", spread.method,
                 "proportional, equal, repeat, percent, add, clear, relative, straight or growth");
  sp->add_option("--hold", spread.holds, "a coordinate whose leaves keep their values (repeatable)");
  sp->add_option("--user", spread.user, "whose holds apply (quantatom hold)");
  sp->add_option("--basis", spread.basis, "relative: the slice giving the shape, e.g. \"scenario=Actual\"");
  sp->add_option("--time-offset", spread.time_offset, "relative: shift the basis along time (-12: a year earlier)");
  sp->add_option("--growth", spread.growth, "growth: percent from one period to the next");
  sp->callback([&] { status = RunSpread(spread); });

  HoldArgs hold;
  auto* h = app.add_subcommand("hold", "hold cells for your spreads (or list your holds)");
  h->add_option("--data", hold.data, "data folder")->required();
  h->add_option("--app", hold.app, "app name")->required();
  h->add_option("--user", hold.user, "whose holds");
  h->add_option("--cell", hold.cells, "coordinate at any level (repeatable); none: list the holds");
  h->add_flag("--off", hold.off, "release the holds instead");
  h->callback([&] { status = RunHold(hold); });

  BridgeArgs bridge;
  auto* b = app.add_subcommand("bridge", "bridge a source app's fine members into a target app's plan members");
  b->add_option("--data", bridge.data, "data folder")->required();
  b->add_option("--source", bridge.source, "source app (e.g. GL actuals)")->required();
  b->add_option("--target", bridge.target, "target app (the plan)")->required();
  b->add_option("--source-dim", bridge.source_dim, "source dimension (e.g. gl_account)")->required();
  b->add_option("--target-dim", bridge.target_dim, "target dimension (e.g. account)")->required();
  b->add_option("--rules", bridge.rules, "rules CSV: source,target,weight (docs/formats/bridge-rules.md)")->required();
  b->add_flag("--check", bridge.check, "print the coverage report only");
  b->callback([&] { status = RunBridge(bridge); });

  TargetArgs target;
  auto* t = app.add_subcommand("target", "set, remove, list targets; show plan / actual / target and variances");
  t->add_option("--data", target.data, "data folder")->required();
  t->add_option("--app", target.app, "app name")->required();
  t->add_option("--cell", target.cell, "coordinate at any level");
  t->add_option("--value", target.value, "set a target of this value on --cell");
  t->add_option("--method", target.method, "guidance method: proportional or equal");
  t->add_option("--basis", target.basis, "proportional guidance shaped like this scenario member");
  t->add_option("--file", target.file, "targets CSV: coordinate,value,method");
  t->add_flag("--remove", target.remove, "remove the target on --cell");
  t->add_flag("--show", target.show, "plan, actual, target, variances and top contributors at --cell");
  t->add_option("--top", target.top, "how many contributors --show lists");
  t->add_option("--scenario-dim", target.scenario_dim, "the scenario dimension");
  t->add_option("--plan", target.plan, "the plan scenario member");
  t->add_option("--actual", target.actual, "the actual scenario member");
  t->callback([&] { status = RunTarget(target); });

  CommentArgs comment;
  auto* c = app.add_subcommand("comment", "comment on any cell (with an optional adjustment), reply, or list");
  c->add_option("--data", comment.data, "data folder")->required();
  c->add_option("--app", comment.app, "app name")->required();
  c->add_option("--user", comment.user, "author");
  c->add_option("--cell", comment.cell, "coordinate at any level");
  c->add_option("--text", comment.text, "the comment");
  c->add_option("--adjust", comment.adjust, "an adjustment: the cell and its ancestors show computed + adjustment");
  c->add_option("--reply-to", comment.reply_to, "comment id to reply to");
  c->add_option("--file", comment.file, "comments CSV: coordinate,author,time,text,adjust[,parent]");
  c->add_flag("--list", comment.list, "list the comments under --cell, with its adjusted value");
  c->callback([&] { status = RunComment(comment); });

  UndoArgs undo, redo;
  redo.redo = true;
  for (auto [args, name, what] : {std::tuple{&undo, "undo", "take back your newest change set (write, spread, bridge)"},
                                  std::tuple{&redo, "redo", "re-apply the change set you undid last"}}) {
    auto* u = app.add_subcommand(name, what);
    u->add_option("--data", args->data, "data folder")->required();
    u->add_option("--app", args->app, "app name")->required();
    u->add_option("--user", args->user, "whose change sets");
    u->callback([&status, args] { status = RunUndo(*args); });
  }

  SandboxArgs sandbox;
  auto* x = app.add_subcommand("sandbox", "a private sandbox over an app: open, write, spread, query, commit, discard");
  x->add_option("action", sandbox.action, "open, write, spread, query, commit or discard")->required();
  x->add_option("--data", sandbox.data, "data folder")->required();
  x->add_option("--app", sandbox.app, "app name")->required();
  x->add_option("--user", sandbox.user, "whose sandbox");
  x->add_option("--cell", sandbox.cells, "write: leaf coordinates (repeatable); spread: the target");
  x->add_option("--value", sandbox.values, "write: the values, in --cell order");
  x->add_option("--total", sandbox.value, "spread: the new total (or value, percent, amount)");
  x->add_option("--method", sandbox.method, "spread method");
  x->add_option("--hold", sandbox.holds, "spread: coordinates whose leaves keep their values");
  x->add_option("--rows", sandbox.rows, "query: row axis");
  x->add_option("--cols", sandbox.cols, "query: column axis");
  x->add_option("--where", sandbox.where, "query: slicers");
  x->add_option("--format", sandbox.format, "query: table, csv or json");
  x->add_option("--policy", sandbox.policy, "commit: abort (default), mine or theirs, for cells the app changed since");
  x->callback([&] { status = RunSandbox(sandbox); });

  FormulaArgs formula;
  auto* fo = app.add_subcommand("formula", "define, list or remove the formulas of an app");
  fo->add_option("--data", formula.data, "data folder")->required();
  fo->add_option("--app", formula.app, "app name")->required();
  fo->add_option("--member", formula.member, "the member the formula computes, as Dim=Code; none: list the formulas");
  fo->add_option("--text", formula.text, "the formula (docs/formula-language.md)");
  fo->add_option("--scope", formula.scope, "leaf (default), consolidated or both");
  fo->add_flag("--remove", formula.remove, "remove the member's formula");
  fo->add_option("--user", formula.user, "who changes the definition (audited)");
  fo->callback([&] { status = RunFormula(formula); });

  StatsArgs stats;
  auto* st = app.add_subcommand("stats", "cells, bytes per cell and hierarchy sizes of an app");
  st->add_option("--data", stats.data, "data folder")->required();
  st->add_option("--app", stats.app, "app name")->required();
  st->callback([&] { status = RunStats(stats); });

  std::string apps_data;
  auto* ap = app.add_subcommand("apps", "list the apps in a data folder");
  ap->add_option("--data", apps_data, "data folder")->required();
  ap->callback([&] { status = RunApps(apps_data); });

  CheckpointArgs checkpoint;
  auto* cp = app.add_subcommand("checkpoint", "write the app's snapshot and empty its write-ahead log");
  cp->add_option("--data", checkpoint.data, "data folder")->required();
  cp->add_option("--app", checkpoint.app, "app name")->required();
  cp->add_flag("--salvage", checkpoint.salvage, "operator override: keep the valid prefix of a log damaged in the middle");
  cp->callback([&] { status = RunCheckpoint(checkpoint); });

  LogArgs log;
  auto* lg = app.add_subcommand("log", "list or verify the write-ahead log records since the last checkpoint");
  lg->add_option("action", log.action, "list or verify")->required();
  lg->add_option("--data", log.data, "data folder")->required();
  lg->add_option("--app", log.app, "app name")->required();
  lg->callback([&] { status = RunLog(log); });

  AuditArgs audit;
  auto* au = app.add_subcommand("audit", "who changed which cell when: the hash-chained audit trail");
  au->add_option("--data", audit.data, "data folder")->required();
  au->add_option("--app", audit.app, "app name")->required();
  au->add_option("--cell", audit.cell, "one leaf cell \"Dim=Code,...\"");
  au->add_option("--user", audit.user, "changes by this user");
  au->add_option("--since", audit.since, "from this UTC time (2026-03-04T10:15:00Z or 2026-03-04)");
  au->add_option("--until", audit.until, "up to this UTC time");
  au->add_option("--format", audit.format, "table or csv");
  au->callback([&] { status = RunAudit(audit); });

  VerifyArgs verify;
  auto* vf = app.add_subcommand("verify", "check snapshots, logs and audit chains (one app or all)");
  vf->add_option("--data", verify.data, "data folder")->required();
  vf->add_option("--app", verify.app, "app name (default: every app)");
  vf->callback([&] { status = RunVerify(verify); });

  CLI11_PARSE(app, argc, argv);
  if (!status.ok()) {
    std::fprintf(stderr, "quantatom: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

// quantatom: the command line of QuantatomAI. `quantatom --help` lists the commands.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

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
  w->callback([&] { status = RunWrite(write); });

  SpreadArgs spread;
  auto* sp = app.add_subcommand("spread", "type a value into any cell, leaf or total: the leaves below take it");
  sp->add_option("--data", spread.data, "data folder")->required();
  sp->add_option("--app", spread.app, "app name")->required();
  sp->add_option("--cell", spread.cell, "coordinate \"Dim=Code,...\" at any level")->required();
  sp->add_option("--value", spread.value, "new total; or value per leaf (repeat), percent (percent), amount (add)");
  sp->add_option("--method", spread.method, "proportional, equal, repeat, percent, add or clear");
  sp->add_option("--hold", spread.holds, "a coordinate whose leaves keep their values (repeatable)");
  sp->callback([&] { status = RunSpread(spread); });

  StatsArgs stats;
  auto* st = app.add_subcommand("stats", "cells, bytes per cell and hierarchy sizes of an app");
  st->add_option("--data", stats.data, "data folder")->required();
  st->add_option("--app", stats.app, "app name")->required();
  st->callback([&] { status = RunStats(stats); });

  std::string apps_data;
  auto* ap = app.add_subcommand("apps", "list the apps in a data folder");
  ap->add_option("--data", apps_data, "data folder")->required();
  ap->callback([&] { status = RunApps(apps_data); });

  CLI11_PARSE(app, argc, argv);
  if (!status.ok()) {
    std::fprintf(stderr, "quantatom: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

// The `quantatom` commands. Each returns a Status; main.cc prints the error and sets the exit
// code. Every command that changes the data folder either completes or leaves it unchanged.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace quantatom {

struct SampleArgs {
  std::string out;
  uint64_t cells = 200000;
  uint64_t seed = 42;
};
absl::Status RunSample(const SampleArgs& args);

// `quantatom demo`: the two-app P&L demo of importer/demo_dataset.h.
struct DemoArgs {
  std::string out;
};
absl::Status RunDemo(const DemoArgs& args);

struct ImportArgs {
  std::string data;
  std::string app;
  std::string dataset;  // a data-set folder, or
  std::string model;    // a JSON model file
  std::string planning_type = "corporate";
  bool replace = false;
};
absl::Status RunImport(const ImportArgs& args);

struct QueryArgs {
  std::string data, app;
  std::string rows, cols, where;
  std::string format = "table";
  bool no_cache = false;
};
absl::Status RunQuery(const QueryArgs& args);

struct WriteArgs {
  std::string data, app;
  std::vector<std::string> cells;   // "Dim=Code,..." per write
  std::vector<std::string> values;  // number, or "" to clear; text with --text
  bool text = false;
  std::string user = "cli";
};
absl::Status RunWrite(const WriteArgs& args);

struct SpreadArgs {
  std::string data, app;
  std::string cell;                // "Dim=Code,..." at any level
  std::string method = "proportional";
  double value = 0;                // new total, value per leaf, percent or amount (see spread.h)
  std::vector<std::string> holds;  // coordinates at any level whose leaves keep their values
  std::string user = "cli";        // whose holds apply, and whose change set it is
  std::string basis;               // relative: "scenario=Actual"
  int time_offset = 0;             // relative: shift of the basis along time (-12: a year earlier)
  double growth = 0;               // growth: percent from one period to the next
};
absl::Status RunSpread(const SpreadArgs& args);

struct StatsArgs {
  std::string data, app;
};
absl::Status RunStats(const StatsArgs& args);
absl::Status RunApps(const std::string& data);

}  // namespace quantatom

// Internal to demo_dataset.cc, not API: the demo's planning inputs that are not cells (bridge
// rules, top-down targets, comments) and the README that documents them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "importer/demo_chart.h"
#include "importer/demo_dataset.h"

namespace quantatom::demo {

// Plan account i is the plan line of GL natural account i; its code is "P" + the GL code.
std::string PlanAccountCode(const Chart& chart, int gl_parent);

// GL member -> plan account. The source is a GL natural account (covering its leaves) or, for an
// override, a single GL leaf. Rules of one source with several targets are a split.
struct BridgeRule {
  int gl_parent = -1;  // set for a natural-account rule
  int gl_leaf = -1;    // set for a leaf override
  int plan_account;
  int weight_permille;
};
std::vector<BridgeRule> DemoBridgeRules(const Chart& chart);

// For every GL leaf, the rules that apply: its own overrides if it has any, else its natural
// account's. The weights of each leaf's rules sum to 1000.
std::vector<std::vector<BridgeRule>> RulesPerLeaf(const Chart& chart, const std::vector<BridgeRule>& rules);

// A plan cell in whole currency units.
struct PlanCell {
  int account, cost_center, month;
  int scenario;  // 1 Budget, 2 Forecast (0, Actual, starts empty)
  int64_t value;
};

// The CSV texts, header included; `*count` is the number of data lines.
std::string BridgeRulesCsv(const Chart& chart, const std::vector<BridgeRule>& rules, size_t* count);
std::string TargetsCsv(const Chart& chart, const std::vector<PlanCell>& cells, size_t* count);
std::string CommentsCsv(const Chart& chart, size_t* count);

std::string DemoReadme(const DemoSummary& summary);

// `text` as one CSV field: quoted when it holds a comma, a quote or a line break.
std::string CsvField(std::string_view text);

}  // namespace quantatom::demo

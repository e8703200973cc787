// The formulas of one Cube, compiled and ordered (engine-internal; see cube.h for the API).
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/cube.h"
#include "formula/evaluate.h"
#include "formula/graph.h"
#include "formula/jit.h"

namespace quantatom {

struct CompiledFormula {
  FormulaDefinition definition;
  formula::BoundFormula bound;
  formula::Program program;
  uint32_t member_ordinal = kNoMember;  // leaf ordinal of the member (kNoMember if consolidated)
  // Per input, per term, per dimension: the leaves (ordinal, weight) a pinned member stands for;
  // empty where the term is relative. `simple[i][t]`: every pinned member is a leaf.
  std::vector<std::vector<std::vector<std::vector<std::pair<uint32_t, double>>>>> pinned;
  std::vector<std::vector<bool>> simple;
  int jit_index = -1;  // function in FormulaState::jit, when compiled
};

struct FormulaState {
  int dim = -1;  // the dimension every formula's member is in
  std::vector<CompiledFormula> formulas;
  // Leaf-level formulas (indices into `formulas`) in evaluation order, and their graph.
  std::vector<int> leaf_formulas;
  formula::FormulaGraph graph;                  // over leaf_formulas positions
  std::vector<int> position;                    // formula index -> position in leaf_formulas, or -1
  std::vector<int> leaf_formulas_by_position;   // graph position -> formula index
  std::vector<bool> recurrent;                  // per graph component
  std::vector<std::vector<int>> readers_by_leaf;  // leaf ordinal in `dim` -> leaf-level formulas reading it
  absl::flat_hash_map<uint32_t, int> by_output;   // leaf ordinal in `dim` -> leaf-level formula computing it
  absl::flat_hash_map<MemberId, int> read_time;   // member -> formula with a consolidated scope
  formula::TimeAxis time;
  FormulaTier tier = FormulaTier::kVm;
  std::function<const Cube*(std::string_view)> apps;
  std::unique_ptr<formula::JitModule> jit;  // null when the JIT is off or unavailable
};

}  // namespace quantatom

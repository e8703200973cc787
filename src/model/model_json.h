// The JSON model file: a hand-written app with its dimensions, hierarchies and (optionally)
// cells. The format is documented in docs/formats/model-json.md. Example:
//
//   {"app": "acme", "planning_type": "corporate",
//    "dimensions": [
//      {"name": "Account", "type": "account", "members": [
//         {"code": "NetIncome"},
//         {"code": "Revenue", "parent": "NetIncome"},
//         {"code": "Costs", "parent": "NetIncome", "weight": -1}]},
//      {"name": "Month", "type": "time", "members": [{"code": "Jan"}, {"code": "Feb"}]}],
//    "cells": [{"Account": "Revenue", "Month": "Jan", "value": 100}]}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/app_model.h"
#include "model/cell_value.h"

namespace quantatom {

struct CellInput {
  Coordinate coord;
  CellValue value;
};

struct ModelFile {
  AppModel model;
  std::vector<CellInput> cells;  // leaf coordinates only
};

// Parses a model file. `file_name` prefixes every error, which also names the JSON path
// ("acme.json: dimensions[1].members[4].parent: unknown member 'Q5'") or, for syntax errors,
// the line and column.
absl::StatusOr<ModelFile> ParseModelJson(std::string_view file_name, std::string_view text);
absl::StatusOr<ModelFile> ReadModelJsonFile(const std::string& path);

// Writes the model (not the cells) in the same format; ParseModelJson reads it back to an
// equal model.
std::string ModelToJson(const AppModel& model);

}  // namespace quantatom

// Import of the benchmark data-set format (../shared/bench/README.md; docs/formats/dataset-csv.md):
//
//   manifest.json             {"dims": {"account": {...}, "costcenter": {...}, ...}}: the
//                             dimension names, in the column order of cells.csv
//   elements_<dim>.csv        id,name,level        one line per member (name = member code)
//   hier_<dim>.csv            child,parent,weight  one line per edge (ids); may be empty
//   cells.csv                 <id per dim>,value   one line per leaf cell
//
// All files are header-less CSV. Every error names the file, the line and the field; an import
// either succeeds whole or changes nothing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/cube.h"
#include "model/app_model.h"
#include "store/cell_store.h"

namespace quantatom {

struct DatasetOptions {
  std::string app_name = "dataset";
  PlanningType planning_type = PlanningType::kCorporate;
  bool progress = false;  // a progress bar on stderr while reading cells.csv
};

// The model of a data set, and how its integer ids map to members.
struct DatasetModel {
  AppModel model;
  // Per dimension: source id -> member (kNoMember where the id is unused).
  std::vector<std::vector<MemberId>> member_of_id;
};

// Reads manifest.json, elements_*.csv and hier_*.csv. The source id of each member is kept as
// its attribute "id".
absl::StatusOr<DatasetModel> ReadDatasetModel(const std::string& dir, const DatasetOptions& options);

// Parses a cells file (ids per dimension then the value) on all cores into packed keys.
absl::StatusOr<KeyValues> ReadCellsCsv(const std::string& path, const DatasetModel& dataset,
                                                   const KeyLayout& layout, bool progress = false);

// Loads cells.csv into `cube` (replacing its cells). A cell given twice is an error naming both
// lines.
absl::Status LoadCellsCsv(const std::string& path, const DatasetModel& dataset, Cube* cube, bool progress = false);

// Model and cells together.
absl::StatusOr<std::unique_ptr<Cube>> ImportDataset(const std::string& dir, const DatasetOptions& options);

}  // namespace quantatom

// An app: one planning model, with a planning type and its dimensions.
//
// A coordinate names one member of every dimension of the app; a leaf coordinate names a leaf
// in every dimension and addresses one stored cell. Scenario (Actual, Budget, ...) is an
// ordinary dimension.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/dimension.h"

namespace quantatom {

enum class PlanningType { kCorporate, kSupplyChain, kHeadcount, kSales, kCustom };
std::string_view PlanningTypeName(PlanningType type);
absl::StatusOr<PlanningType> ParsePlanningType(std::string_view name);

// One member per dimension, in the app's dimension order.
using Coordinate = std::vector<MemberId>;

struct AppModel {
  std::string name;
  PlanningType planning_type = PlanningType::kCorporate;
  std::vector<Dimension> dimensions;

  // Index of the dimension called `name`, or -1.
  int FindDimension(std::string_view name) const;

  // Parses "Dim=Code,Dim=Code,..." naming every dimension once. InvalidArgument / NotFound with
  // the offending part quoted.
  absl::StatusOr<Coordinate> ParseCoordinate(std::string_view text) const;
  // "Dim=Code,..." for messages and output.
  std::string FormatCoordinate(const Coordinate& coord) const;
  // The same into `out` (replacing its contents), for callers that format many cells in a row
  // and reuse one string.
  void FormatCoordinateInto(const Coordinate& coord, std::string* out) const;
  bool IsLeaf(const Coordinate& coord) const;
};

// App names become folder names: letters, digits, '_' and '-', 1 to 64 characters.
absl::Status ValidateAppName(std::string_view name);

}  // namespace quantatom

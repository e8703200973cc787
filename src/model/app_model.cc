#include "model/app_model.h"

#include "absl/strings/ascii.h"
#include "base/strings.h"

namespace quantatom {

namespace {
constexpr std::pair<PlanningType, std::string_view> kPlanningTypes[] = {
    {PlanningType::kCorporate, "corporate"}, {PlanningType::kSupplyChain, "supply_chain"},
    {PlanningType::kHeadcount, "headcount"}, {PlanningType::kSales, "sales"},
    {PlanningType::kCustom, "custom"},
};
}  // namespace

std::string_view PlanningTypeName(PlanningType type) {
  for (auto& [t, n] : kPlanningTypes)
    if (t == type) return n;
  return "custom";
}

absl::StatusOr<PlanningType> ParsePlanningType(std::string_view name) {
  for (auto& [t, n] : kPlanningTypes)
    if (n == name) return t;
  std::vector<std::string_view> names;
  for (auto& [t, n] : kPlanningTypes) names.push_back(n);
  return absl::InvalidArgumentError(StrCat("unknown planning type '", name,
                                                 "' (expected one of: ", StrJoin(names, ", "), ")"));
}

int AppModel::FindDimension(std::string_view dim_name) const {
  for (size_t i = 0; i < dimensions.size(); ++i)
    if (dimensions[i].name() == dim_name) return static_cast<int>(i);
  return -1;
}

absl::StatusOr<Coordinate> AppModel::ParseCoordinate(std::string_view text) const {
  Coordinate coord(dimensions.size(), kNoMember);
  for (std::string_view part : SplitTrimmed(text, ',')) {
    part = Trim(part);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      return absl::InvalidArgumentError(StrCat("'", part, "' is not of the form Dimension=Member"));
    std::string_view dim_name = Trim(part.substr(0, eq));
    std::string_view code = Trim(part.substr(eq + 1));
    int d = FindDimension(dim_name);
    if (d < 0) return absl::NotFoundError(StrCat("unknown dimension '", dim_name, "'"));
    if (coord[d] != kNoMember) return absl::InvalidArgumentError(StrCat("dimension '", dim_name, "' is named twice"));
    auto m = dimensions[d].Find(code);
    if (!m) return absl::NotFoundError(StrCat("unknown member '", code, "' in dimension '", dim_name, "'"));
    coord[d] = *m;
  }
  for (size_t d = 0; d < dimensions.size(); ++d)
    if (coord[d] == kNoMember)
      return absl::InvalidArgumentError(StrCat("coordinate names no member of dimension '", dimensions[d].name(), "'"));
  return coord;
}

std::string AppModel::FormatCoordinate(const Coordinate& coord) const {
  std::string out;
  FormatCoordinateInto(coord, &out);
  return out;
}

void AppModel::FormatCoordinateInto(const Coordinate& coord, std::string* out) const {
  out->clear();
  for (size_t d = 0; d < dimensions.size() && d < coord.size(); ++d) {
    if (d) *out += ',';
    StrAppend(out, dimensions[d].name(), "=", dimensions[d].member(coord[d]).code);
  }
}

bool AppModel::IsLeaf(const Coordinate& coord) const {
  for (size_t d = 0; d < dimensions.size(); ++d)
    if (!dimensions[d].is_leaf(coord[d])) return false;
  return true;
}

absl::Status ValidateAppName(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return absl::InvalidArgumentError("app name must have 1 to 64 characters");
  for (char c : name)
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return absl::InvalidArgumentError(StrCat("app name '", name, "' may only contain letters, digits, '_' and '-'"));
  return absl::OkStatus();
}

}  // namespace quantatom

#include "bridge/bridge_rules.h"

#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "base/numbers.h"
#include "base/strings.h"

namespace quantatom {
namespace {

absl::StatusOr<BridgeRules> Parse(CsvFile csv) {
  BridgeRules out;
  out.file = csv.name();
  std::vector<std::string> fields;
  absl::Status error;
  if (!csv.Next(&fields, &error)) {
    if (!error.ok()) return error;
    return absl::InvalidArgumentError(StrCat(csv.name(), ":1: empty rules file: the header `source,target,weight` is missing"));
  }
  // The header is required so that a file of another kind (a cells file, a hierarchy) is not
  // silently read as rules.
  const bool has_weight_column = fields.size() == 3;
  if ((fields.size() != 2 && fields.size() != 3) || Trim(fields[0]) != "source" || Trim(fields[1]) != "target" ||
      (has_weight_column && Trim(fields[2]) != "weight"))
    return csv.Error(StrCat("header must be `source,target,weight` or `source,target`, got `", StrJoin(fields, ","), "`"));

  // (source, target) -> line of its first rule.
  absl::flat_hash_map<std::pair<std::string, std::string>, int> seen;
  while (csv.Next(&fields, &error)) {
    BridgeRule rule;
    rule.line = csv.line();
    auto field_error = [&](std::string_view field, std::string_view message) {
      return absl::InvalidArgumentError(StrCat(csv.name(), ":", csv.line(), ":", field, ": ", message));
    };
    // A record may leave the weight out even when the header has the column.
    if (fields.size() < 2 || fields.size() > (has_weight_column ? 3u : 2u))
      return csv.Error(StrCat("expected ", has_weight_column ? "2 or 3" : "2", " fields (source,target",
                              has_weight_column ? "[,weight]" : "", "), got ", fields.size()));
    rule.source = std::string(Trim(fields[0]));
    rule.target = std::string(Trim(fields[1]));
    if (rule.source.empty()) return field_error("source", "empty member code");
    if (rule.target.empty()) return field_error("target", "empty member code");
    if (fields.size() == 3 && !Trim(fields[2]).empty()) {
      std::string_view text = Trim(fields[2]);
      if (!ParseDouble(text, &rule.weight))
        return field_error("weight", StrCat("'", text, "' is not a finite number"));
      // A zero weight maps nothing; accepting it would only hide a typo.
      if (rule.weight == 0) return field_error("weight", "weight 0 maps nothing: delete the rule instead");
    }
    auto [it, inserted] = seen.try_emplace(std::make_pair(rule.source, rule.target), rule.line);
    if (!inserted)
      return field_error("target", StrCat("rule '", rule.source, "' -> '", rule.target, "' is already given on line ",
                                          it->second, ": give each pair once, with its total weight"));
    out.rules.push_back(std::move(rule));
  }
  if (!error.ok()) return error;
  return out;
}

}  // namespace

std::string BridgeRules::Where(const BridgeRule& rule, std::string_view field) const {
  return StrCat(file, ":", rule.line, ":", field);
}

absl::Status BridgeRules::Error(const BridgeRule& rule, std::string_view field, std::string_view message) const {
  return absl::InvalidArgumentError(StrCat(Where(rule, field), ": ", message));
}

absl::StatusOr<BridgeRules> ReadBridgeRules(const std::string& path) {
  QA_ASSIGN_OR_RETURN(CsvFile csv, CsvFile::Open(path, /*allow_empty=*/true));
  return Parse(std::move(csv));
}

absl::StatusOr<BridgeRules> ParseBridgeRules(std::string name, std::string text) {
  return Parse(CsvFile::FromString(std::move(name), std::move(text)));
}

}  // namespace quantatom

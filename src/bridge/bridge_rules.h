// Bridge rules: the text a model builder writes to say how source members map to target
// leaves, before anything is checked against a dimension.
//
// A rules file is CSV with a header `source,target[,weight]` (docs/formats/bridge-rules.md).
// Each record says "source member code -> target leaf code, with this weight" (default 1).
// Parsing checks only what the text alone can tell: field counts, non-empty codes, finite
// non-zero weights and the same (source, target) pair given twice. Whether the codes exist is
// the resolver's job (bridge_map.h), which reports every unknown code with the rule's line.
//
// Every error is InvalidArgument and reads "file:line:field: message".
#pragma once

#include <string>
#include <vector>

#include "base/csv.h"
#include "base/status.h"

namespace quantatom {

struct BridgeRule {
  std::string source;  // a source member code, at any level
  std::string target;  // a target leaf code
  double weight = 1;   // finite, not 0
  int line = 0;        // 1-based line in the rules file, for messages
};

struct BridgeRules {
  std::string file;  // the name messages use ("rules.csv")
  std::vector<BridgeRule> rules;  // in file order

  // "file:line:field: message", as InvalidArgument.
  absl::Status Error(const BridgeRule& rule, std::string_view field, std::string_view message) const;
  std::string Where(const BridgeRule& rule, std::string_view field) const;
};

// Parses a rules file. NotFound if it cannot be opened; InvalidArgument (file:line:field) for
// a bad header, a wrong number of fields, an empty code, a weight that is not a finite non-zero
// number, or a (source, target) pair that appeared on an earlier line.
absl::StatusOr<BridgeRules> ReadBridgeRules(const std::string& path);
// The same from text in memory; `name` stands for the file name in messages.
absl::StatusOr<BridgeRules> ParseBridgeRules(std::string name, std::string text);

}  // namespace quantatom

// The syntax tree of a formula, as the parser produces it and the printer prints it.
//
// The tree knows nothing about any app: names are still text. The binder (binder.h) resolves
// them against an app. docs/formula-language.md has the grammar.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace quantatom::formula {

// One `Dim=Code` part of a reference; `dim` is empty for a bare code, which names a member of
// the formula's own dimension.
struct RefPart {
  std::string dim;
  std::string code;
  bool operator==(const RefPart&) const = default;
};

enum class NodeKind {
  kNumber,  // 12.5
  kString,  // "tax_rate"  (attribute and app names)
  kRef,     // Revenue, 'Gross Margin', [Revenue, Scenario=Actual]
  kUnary,   // -x, not x
  kBinary,  // x + y, x and y, x <= y
  kCall,    // name(args)
};

struct Node {
  NodeKind kind = NodeKind::kNumber;
  int line = 1, column = 1;  // where the node starts in the text, 1-based
  double number = 0;
  std::string text;  // kString: the string; kUnary / kBinary: the operator; kCall: the function
  std::vector<RefPart> parts;  // kRef
  bool bracketed = false;      // kRef written as [..]
  std::vector<std::unique_ptr<Node>> args;  // operands and call arguments

  bool SameTree(const Node& other) const;  // structure and values, positions ignored
};

using NodePtr = std::unique_ptr<Node>;

}  // namespace quantatom::formula

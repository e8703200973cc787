// Formula text to syntax tree, and back.
//
//   absl::StatusOr<NodePtr> tree = Parse("if(Revenue > 0, (Revenue - COGS) / Revenue, 0)");
//   std::string text = Print(**tree);   // Parse(Print(t)) is the same tree as t
//
// Errors are InvalidArgument: "line 1, column 14: expected ')' but found ','".
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "formula/ast.h"

namespace quantatom::formula {

// Formulas longer than this, or nested deeper than kMaxDepth, are refused (the parser
// recurses; the limit keeps a hostile text from exhausting the stack).
inline constexpr size_t kMaxFormulaBytes = 64 * 1024;
inline constexpr int kMaxDepth = 200;

absl::StatusOr<NodePtr> Parse(std::string_view text);

// Canonical text: single spaces around binary operators, parentheses only where precedence
// needs them, codes quoted only when they are not plain names.
std::string Print(const Node& node);

}  // namespace quantatom::formula

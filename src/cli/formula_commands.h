// quantatom formula: define, list and remove the formulas of an app (docs/formula-language.md).
//
//   quantatom formula --data D --app A --member "Account=GrossMargin" --text "Sales - COGS" [--scope leaf]
//   quantatom formula --data D --app A                          (list)
//   quantatom formula --data D --app A --member "Account=GrossMargin" --remove
#pragma once

#include <string>

#include "base/status.h"

namespace quantatom {

struct FormulaArgs {
  std::string data, app, member, text, scope = "leaf";
  std::string user = "cli";  // who changed the definition (the audit trail names them)
  bool remove = false;
};
// Defining recalculates the app and logs the definition durably (one write-ahead log record,
// audited with cause "formula definition"); a bad formula changes nothing and its error names
// the line and column.
absl::Status RunFormula(const FormulaArgs& args);

}  // namespace quantatom

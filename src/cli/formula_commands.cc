#include "cli/formula_commands.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include "base/strings.h"
#include "durable/durable_app.h"
#include "engine/data_folder.h"

namespace quantatom {

absl::Status RunFormula(const FormulaArgs& args) {
  DataFolder folder(args.data);
  const bool change = !args.member.empty();
  // Through the durable layer (durable/durable_app.h): a definition is one log record, replayed
  // on open and audited; the computed cells are derived and never logged (replay recomputes them).
  durable::DurableOptions options;
  options.read_only = !change;
  options.lock_timeout = std::chrono::minutes(2);
  QA_ASSIGN_OR_RETURN(std::unique_ptr<durable::DurableApp> app, durable::DurableApp::Open(folder, args.app, options));
  const Cube* cube = &app->cube();
  if (!change) {
    if (!args.text.empty() || args.remove) return absl::InvalidArgumentError("--text and --remove need --member \"Dim=Code\"");
    for (const FormulaDefinition& f : cube->Formulas())
      std::printf("%s=%s [%s]: %s\n", f.dimension.c_str(), f.member.c_str(), std::string(formula::ScopeName(f.scope)).c_str(),
                  f.text.c_str());
    return absl::OkStatus();
  }
  const size_t eq = args.member.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == args.member.size())
    return absl::InvalidArgumentError(StrCat("--member '", args.member, "': expected Dim=Code"));
  const std::string dim(Trim(std::string_view(args.member).substr(0, eq)));
  const std::string code(Trim(std::string_view(args.member).substr(eq + 1)));
  if (args.remove) {
    if (!args.text.empty()) return absl::InvalidArgumentError("--remove takes no --text");
    QA_RETURN_IF_ERROR(app->RemoveFormula(dim, code, args.user));
    std::printf("removed the formula of %s=%s\n", dim.c_str(), code.c_str());
    return absl::OkStatus();
  }
  if (args.text.empty()) return absl::InvalidArgumentError("--member needs --text (the formula) or --remove");
  QA_ASSIGN_OR_RETURN(formula::Scope scope, formula::ParseScope(args.scope));
  QA_RETURN_IF_ERROR(app->DefineFormula({dim, code, args.text, scope}, args.user));
  for (const FormulaDefinition& f : cube->Formulas())
    if (f.dimension == dim && f.member == code)
      std::printf("%s=%s [%s]: %s\n", f.dimension.c_str(), f.member.c_str(), std::string(formula::ScopeName(f.scope)).c_str(),
                  f.text.c_str());
  return absl::OkStatus();
}

}  // namespace quantatom

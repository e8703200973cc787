// The planning commands of `quantatom`: holds, bridges, targets and variances, comments and
// adjustments. Each loads the app with every layer kept beside its cells (engine/data_folder.h
// sections), changes what it is asked to, and saves it all back atomically under the app lock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace quantatom {

// quantatom hold --cell C [--off] --user U    (no --cell: list the user's holds)
struct HoldArgs {
  std::string data, app, user = "cli";
  std::vector<std::string> cells;
  bool off = false;
};
absl::Status RunHold(const HoldArgs& args);

// quantatom bridge: resolves rules from the source app's dimension onto the target app's, prints
// the coverage report, and (unless --check) writes the bridged cells into the target app,
// replacing what the previous run of the same bridge wrote there.
struct BridgeArgs {
  std::string data, source, target, source_dim, target_dim, rules;
  bool check = false;
};
absl::Status RunBridge(const BridgeArgs& args);

// quantatom target: sets (--value), removes (--remove) or lists targets; `--cell` with `--show`
// prints plan / actual / target and the variances, with the top contributors one level down.
struct TargetArgs {
  std::string data, app;
  std::string scenario_dim = "scenario", plan = "Budget", actual = "Actual";
  std::string cell, method = "proportional", basis;
  std::optional<double> value;
  std::string file;  // a targets.csv (coordinate,value,method) to set them all
  bool remove = false, show = false;
  int top = 5;
};
absl::Status RunTarget(const TargetArgs& args);

// quantatom comment: posts a comment (with an optional adjustment) on any cell, replies, or lists
// the comments under a region (--list).
struct CommentArgs {
  std::string data, app, user = "cli";
  std::string cell, text, file;
  std::optional<double> adjust;
  uint32_t reply_to = 0;
  bool list = false;
};
absl::Status RunComment(const CommentArgs& args);

// quantatom undo / redo: takes back (or re-applies) the user's newest change set; the history
// is kept in the app snapshot, so this works across runs.
struct UndoArgs {
  std::string data, app, user = "cli";
  bool redo = false;
};
absl::Status RunUndo(const UndoArgs& args);

// quantatom sandbox open|write|spread|query|commit|discard: a user's private sandbox over an
// app (engine/sandbox.h), kept with the app between runs until it is committed or discarded.
struct SandboxArgs {
  std::string action;
  std::string data, app, user = "cli";
  std::vector<std::string> cells, values, holds;
  std::string method = "proportional";
  double value = 0;
  std::string rows, cols, where, format = "table";
  std::string policy = "abort";  // commit: abort, mine or theirs
};
absl::Status RunSandbox(const SandboxArgs& args);

}  // namespace quantatom

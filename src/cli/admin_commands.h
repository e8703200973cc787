// The `quantatom` commands that look after a data folder's durability (durable/durable_app.h):
// checkpoints, the write-ahead log, the audit trail, and a check of everything a restart needs.
#pragma once

#include <string>

#include "base/status.h"

namespace quantatom {

// quantatom checkpoint: writes the app's snapshot and empties its log. With --salvage, a log
// damaged in the middle is cut to its valid prefix first (what is dropped is printed).
struct CheckpointArgs {
  std::string data, app;
  bool salvage = false;
};
absl::Status RunCheckpoint(const CheckpointArgs& args);

// quantatom log list|verify: the records of the app's log since its snapshot, one a line
// (sequence, bytes, time, user, cause, change sets, cells), or a check that every one decodes.
struct LogArgs {
  std::string action, data, app;
};
absl::Status RunLog(const LogArgs& args);

// quantatom audit: the audit trail's entries for a cell, a user and/or a time range.
struct AuditArgs {
  std::string data, app, cell, user, since, until;
  std::string format = "table";  // table or csv
};
absl::Status RunAudit(const AuditArgs& args);

// quantatom verify: snapshots, logs and audit chains of one app or of every app.
struct VerifyArgs {
  std::string data, app;
};
absl::Status RunVerify(const VerifyArgs& args);

}  // namespace quantatom

// What AuditService.QueryAudit reads: an app's audit trail through its index (audit/
// audit_index.h, rebuilt when the server opens the app and then followed as checkpoints append
// to it), plus the change sets logged since the last checkpoint, whose entries the durable
// layer derives from the write-ahead log (DurableApp::ForEachEntry, as its checkpoint does). A
// query reads the log (bounded: a checkpoint empties it) and only the trail entries it
// returns, never the whole trail.
//
// The log is read before the trail is refreshed: a checkpoint that moves change sets from the
// log to the trail in between leaves them in the refreshed trail, where they are found; those
// still in the log are taken from it unless they are older than the trail's newest. That one
// comes from the log while the log has it, since the trail may hold only some of its entries
// (a checkpoint under way, or one a crash cut short).
//
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "audit/audit_index.h"
#include "durable/durable_app.h"

namespace quantatom {

class AuditSource {
 public:
  explicit AuditSource(const durable::DurableApp* app) : app_(app) {}

  // The newest change sets (one log record each) newer than `after_seq` with entries that match
  // `query` and `keep`, newest first, at most `max_sets`; each as its kept entries in the order
  // they were recorded. DataLoss if the trail's chain is broken.
  absl::StatusOr<std::vector<std::vector<audit::AuditEntry>>> NewestSets(
      const audit::AuditQuery& query, const std::function<bool(const audit::AuditEntry&)>& keep, uint64_t after_seq,
      size_t max_sets);

  // Bytes of the trail read so far (for tests: queries do not re-read it).
  uint64_t trail_bytes_read() const;

 private:
  const durable::DurableApp* app_;
  mutable std::mutex mu_;
  std::unique_ptr<audit::AuditIndex> index_;  // guarded by mu_; opened on the first query
};

}  // namespace quantatom

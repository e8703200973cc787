// DurableApp: one app of a data folder, opened for durable reads and writes.
//
//   DATA/apps/<app>.qa     the last checkpoint: a snapshot of the app (docs/formats/app-snapshot.md)
//                          with a "durable" section naming the last log record it contains
//   DATA/apps/<app>.log    the write-ahead log since (docs/formats/write-ahead-log.md); each record
//                          is one mutation (docs/formats/change-record.md)
//   DATA/apps/<app>.audit  the hash-chained audit trail (docs/formats/audit-trail.md)
//   DATA/apps/<app>.lock   held (flock) by the one process that has the app open for writing
//
// Open = the snapshot + a replay of the log records after it. Every mutation is applied to the
// in-memory cube and logged as ONE record, and returns only once that record is durable
// (fdatasync): concurrent mutations share one fdatasync (group commit, wal/log_writer.h). The
// record holds every changed cell with its value before and after, so replay never re-runs a
// spread or a bridge, and the audit trail has both values.
//
//   QA_ASSIGN_OR_RETURN(auto app, durable::DurableApp::Open(folder, "acme", {}));
//   QA_RETURN_IF_ERROR(app->Write({{coord, CellValue::Number(5)}}, "ann"));  // durable now
//   app->cube().Query(...);                                                 // reads
//
// Concurrency: mutations are serialised only while they are applied and queued (so the log's
// order is the order applied); they wait for the disk together. Readers use cube(), whose
// reader/writer lock gives them whole mutations, never half of one. A reader may see a mutation
// whose record is still on its way to the disk; if the machine crashes then, that mutation is
// gone after the restart, and its writer was never told it succeeded.
//
// Fail-stop: when a log write or fdatasync fails (a full disk, EIO), that mutation and every
// later one fail with the error, which says why; the app must be reopened (which reads the log
// again and keeps exactly what is durable). A failed checkpoint does not stop writes (the log
// still holds everything) unless the log itself could not be restarted.
//
// Checkpoints (Checkpoint(), and automatically once the log passes `checkpoint_log_bytes`):
// the audit entries of the logged mutations are appended to the trail and fsynced; the snapshot
// is written to a temporary file, fsynced, renamed over the old one and the folder fsynced;
// then the log is emptied. A crash at any point leaves a state that opens to the same cells.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "audit/audit_trail.h"
#include "durable/change_record.h"
#include "engine/cube.h"
#include "engine/data_folder.h"
#include "wal/log_writer.h"

namespace quantatom::durable {

struct DurableOptions {
  // Operator override for a log damaged in the middle: keep the records before the damage
  // (the rest is cut from the log) instead of refusing to open.
  bool salvage = false;
  // Read only: no lock, no log writer, nothing on disk changes (query, stats, verify).
  bool read_only = false;
  // A checkpoint is taken after a mutation that leaves the log longer than this (0: never).
  uint64_t checkpoint_log_bytes = 64ull << 20;
  // How long Open waits for another process that has the app open for writing.
  std::chrono::milliseconds lock_timeout = std::chrono::minutes(2);
  // How long a group commit leader waits for the records of mutations being applied at that
  // moment, so that they share its fdatasync (wal/log_writer.h, group_commit_delay). Only
  // while such mutations exist: a lone writer never waits.
  std::chrono::microseconds group_commit_delay{250};
  // Test seams for the log's system calls (wal/log_writer.h).
  wal::LogWriterOptions log;
};

// What Open found.
struct OpenReport {
  uint64_t snapshot_seq = 0;   // last log record contained in the snapshot
  size_t replayed = 0;         // log records replayed after it
  bool torn_tail_cut = false;  // an unacknowledged partial batch was cut from the log
  std::string dropped;         // what salvage or the torn-tail cut dropped, with offsets
};

// The app's named layers (engine/data_folder.h SnapshotSections) as a mutation sees them: it
// may read, set and remove sections, and must say whose holds it changed.
class Layers {
 public:
  const std::string* Get(std::string_view name) const;
  void Set(std::string_view name, std::string bytes);
  void Remove(std::string_view name);
  void TouchHolds(const std::string& user) { touched_holds_.push_back(user); }

 private:
  friend class DurableApp;
  std::map<std::string, std::string, std::less<>>* sections_ = nullptr;
  std::vector<LoggedSection> changed_;
  std::vector<std::string> touched_holds_;
};

class DurableApp {
 public:
  // Opens an existing app: NotFound for an unknown app; DataLoss (naming the file and byte
  // offset) for a damaged snapshot or a log damaged in the middle (see `salvage`), or a log
  // that does not follow the snapshot; Unavailable if another process has it open for writing.
  static absl::StatusOr<std::unique_ptr<DurableApp>> Open(const DataFolder& folder, const std::string& app,
                                                          DurableOptions options = {});
  // Creates the app from `cube` (an import): its first snapshot, an empty log, and one audit
  // entry (cause "import", by `user`) per cell. AlreadyExists unless `replace`; a replaced app's
  // log and trail are checkpointed first, so its audit trail goes on. The snapshot anchors the
  // trail as it will be with the import's entries, and says how to derive them from its cells,
  // so a crash before they are all appended is completed by the next Open.
  static absl::StatusOr<std::unique_ptr<DurableApp>> Create(const DataFolder& folder, std::unique_ptr<Cube> cube,
                                                            const std::string& user, bool replace,
                                                            DurableOptions options = {});
  ~DurableApp();

  const Cube& cube() const { return *cube_; }
  const AppModel& model() const { return cube_->model(); }
  const OpenReport& report() const { return report_; }
  // A copy of the section `name`, or nullopt.
  std::optional<std::string> Section(std::string_view name) const;

  // ---- Mutations: applied, logged as one record, durable on return ----
  // The same checks and errors as the Cube methods; nothing is logged for a failed mutation.
  absl::Status Write(const std::vector<CellWrite>& batch, const std::string& user, const WriteOptions& options = {});
  absl::StatusOr<VersionedWriteResult> WriteVersioned(std::span<const VersionedWrite> batch, ConflictPolicy policy,
                                                      const std::string& user, const std::string& action = "write");
  absl::StatusOr<size_t> Spread(const Coordinate& target, const SpreadRequest& request,
                                const std::vector<Coordinate>& holds, const std::string& user,
                                size_t max_leaves = 1'000'000);
  absl::StatusOr<uint64_t> Undo(const std::string& user);
  absl::StatusOr<uint64_t> Redo(const std::string& user);
  absl::Status SetHold(const std::string& user, const Coordinate& coord, bool held);
  // Defines (or replaces) the formula of a member, or removes it (NotFound if it has none): the
  // same checks as Cube::SetFormula / RemoveFormula; logged with the definition before and
  // after, and audited with cause "formula definition" (coordinate "Dim=Code").
  absl::Status DefineFormula(const FormulaDefinition& definition, const std::string& user);
  absl::Status RemoveFormula(const std::string& dimension, const std::string& member, const std::string& user);
  absl::Status SetSection(std::string_view name, std::optional<std::string> bytes, const std::string& user,
                          const std::string& cause);
  // Any other mutation (a bridge, a sandbox commit, targets, comments): `fn` changes the cube
  // through its methods (each change set it records is logged) and the layers; it must leave
  // the cube unchanged when it fails. Logged as one record with `cause`.
  absl::Status Mutate(const std::string& user, const std::string& cause,
                      const std::function<absl::Status(Cube&, Layers&)>& fn);

  // For a single-threaded owner (the command line) that changes the cube through its own
  // methods and logs the result at the end: the cube to change, and the call that logs, as one
  // record, every change set recorded after change set `since` (LastChangeSetId before the
  // changes), the sections given and the holds of `hold_users`. A command that fails before
  // LogChanges logs nothing; its process must then not go on using the app.
  Cube* mutable_cube() { return cube_.get(); }
  absl::Status LogChanges(const std::string& user, const std::string& cause, uint64_t since,
                          std::vector<LoggedSection> sections, std::vector<std::string> hold_users);

  // Writes a snapshot of everything logged so far and empties the log (see above).
  absl::Status Checkpoint();
  // OK while the app takes writes; else why it stopped.
  absl::Status status() const;
  // The sequence number of the newest logged mutation.
  uint64_t last_seq() const;
  uint64_t log_bytes() const;
  uint64_t sync_count() const;

  // ---- Audit ----
  // The trail's entries (checkpointed ones, then those of the log not yet checkpointed) that
  // match `query`, oldest first. DataLoss if the trail's chain is broken.
  absl::StatusOr<std::vector<audit::AuditEntry>> Audit(const audit::AuditQuery& query) const;

  // Checks what a restart relies on beyond the snapshot's own checksum (which Open checked):
  // the audit trail's chain and that it holds the entries the snapshot anchored, and every log
  // record after the snapshot decodes. Returns a one-line summary; DataLoss naming the problem.
  absl::StatusOr<std::string> Verify() const;

  std::string log_path() const;
  std::string audit_path() const;

  // Calls `fn` with each audit entry of the log record `payload` (number `seq`), in order, as
  // its cells are decoded: the entries of a bulk write are never all in memory. The one
  // derivation of a logged record's entries: the checkpoint archives them, queries read them
  // before it has. DataLoss naming `where` for bytes that do not decode (some entries were
  // handed over already then).
  absl::Status ForEachEntry(std::string_view payload, uint64_t seq, std::string_view where,
                            const std::function<void(const audit::AuditEntryRef&)>& fn) const;

 private:
  struct Anchor {  // the snapshot's "durable" section
    uint64_t seq = 0, audit_count = 0;
    audit::Hash audit_head{};
  };
  DurableApp(DataFolder folder, std::string app, DurableOptions options);
  absl::Status Recover();
  absl::Status ApplyRecord(const ChangeRecord& record, uint64_t seq);
  // Runs a mutation and logs it: the body of every mutation method.
  // `since`: the change sets to log are those after it (default: after the newest now).
  // `undo`: an undo or redo by `user` that `fn` makes sets `undo->id`, and it is logged from
  // that change set in place (UndoInPlace).
  struct UndoDone {
    bool redo = false;
    uint64_t id = 0;  // 0: none was made
  };
  absl::Status Commit(const std::string& user, const std::string& cause,
                      const std::function<absl::Status(Cube&, Layers&, ChangeRecord&)>& fn,
                      std::optional<uint64_t> since = std::nullopt, const UndoDone* undo = nullptr);
  absl::Status CheckpointLocked();
  // `import`: the bytes of the import_audit section, for an import's first snapshot.
  absl::Status WriteSnapshotLocked(uint64_t seq, const std::optional<Anchor>& anchor = std::nullopt,
                                   const std::string* import = nullptr);
  std::vector<audit::AuditEntry> ImportEntries(uint64_t seq, int64_t time_us, const std::string& user) const;
  absl::Status ArchiveAuditLocked(uint64_t up_to_seq);
  absl::Status OpenWriterLocked(uint64_t first_seq);
  std::string FormatKey(uint64_t key) const;
  void FormatKeyInto(uint64_t key, Coordinate* leaf, std::string* out) const;  // the same, reusing both
  absl::Status CheckAnchor(const absl::StatusOr<audit::AuditFile>& file) const;

  const DataFolder folder_;
  const std::string app_;
  const DurableOptions options_;
  std::optional<AppLock> lock_;
  std::unique_ptr<Cube> cube_;
  OpenReport report_;
  Anchor anchor_;

  mutable std::mutex apply_mu_;  // serialises mutations, checkpoints; orders the log
  std::shared_ptr<wal::LogWriter> log_;   // (apply_mu_ to replace; its own lock inside)
  std::unique_ptr<audit::AuditTrail> trail_;  // (apply_mu_)
  absl::Status stopped_;                  // (apply_mu_): why writes stopped
  uint64_t last_enqueued_ = 0;            // (apply_mu_)
  std::atomic<bool> checkpoint_due_{false};
  std::atomic<size_t> coming_{0};  // mutations in Commit that have not queued their record yet
  // Entries of an import the trail did not get before a crash (from the snapshot's cells, at
  // Recover); appended when the trail is opened for writing.
  std::vector<audit::AuditEntry> pending_import_;
  // Read-only: the import entries a crash cut short, derived and checked against the anchor
  // in memory (Verify reports them; the next writable open appends them).
  uint64_t import_missing_ = 0;

  mutable std::shared_mutex sections_mu_;  // guards sections_ (writers also hold apply_mu_)
  std::map<std::string, std::string, std::less<>> sections_;
};

}  // namespace quantatom::durable

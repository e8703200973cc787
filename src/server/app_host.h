// AppHost: the apps a server runs, and the ONE place through which every change to them goes
// (cells, holds, comments, targets, security). Each app is a durable::DurableApp
// (durable/durable_app.h): a change is applied, logged as one write-ahead-log record and
// acknowledged only once that record is durable (group commit), then published on the
// ChangeBus for live grids. The planning layers kept beside the cells (comments, targets,
// security rules) live decoded in memory and are logged as snapshot sections on each change.
//
// The server holds each app open for writing (its lock), so command-line writers of the same
// data folder wait and then fail with Unavailable instead of interleaving with it.
//
// Thread-safe: the durable layer serialises cell changes; `layers_mu` the planning layers.
#pragma once

#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bridge/bridge.h"
#include "commentary/comment_store.h"
#include "durable/durable_app.h"
#include "engine/data_folder.h"
#include "security/rights.h"
#include "engine/sandbox.h"
#include "server/audit_source.h"
#include "server/change_bus.h"
#include "targets/targets.h"

namespace quantatom {

struct HostedApp : std::enable_shared_from_this<HostedApp> {
  std::string name;
  std::unique_ptr<durable::DurableApp> durable;
  std::unique_ptr<CommentStore> comments;
  std::unique_ptr<Targets> targets;  // null when the app has no scenario with Budget/Actual
  std::unique_ptr<AppSecurity> security;
  std::unique_ptr<AuditSource> audit;  // the audit trail's index and the log's newest entries
  std::mutex layers_mu;  // serialises changes of comments, targets, security, sandboxes
  // Open sandboxes by "user/name" (section "sandbox:user/name" each; the list in "sandboxes").
  std::map<std::string, std::shared_ptr<Sandbox>> sandboxes;  // guarded by layers_mu
  std::map<std::string, uint64_t> sandbox_base_seq;            // guarded by layers_mu
  const Cube& cube() const { return durable->cube(); }
};

struct SandboxSummary {
  std::string owner, name;
  uint64_t base_seq = 0;  // the app's seq when the sandbox was opened
  size_t cells = 0;
  uint64_t replica = 0;  // its replica id in vector clocks
  VersionVector clock;   // everything it has seen (Sandbox::Clock)
};

// A bridge that fed an app (kept in the target app's "bridges" section).
struct BridgeSummary {
  std::string source_app, target_app, source_dimension, target_dimension;
  uint32_t rules = 0;
};


struct Committed {
  uint64_t change_set = 0;
  uint64_t seq = 0;
  size_t cells = 0;
  std::vector<WriteConflict> conflicts;
  size_t superseded = 0;  // sandbox commits: cells skipped, the app's newest change saw them
};

struct SandboxMerged {
  SandboxMerge merge;
  SandboxSummary into;  // the receiving sandbox after the merge
};

struct BridgeRun {
  Committed committed;
  CoverageReport report;
};

class AppHost {
 public:
  // Opens every app of the data folder (created if missing) for writing.
  static absl::StatusOr<std::unique_ptr<AppHost>> Open(const std::string& data_dir);
  ~AppHost();  // Close()
  // Ends the live streams and checkpoints every app (the log is durable without it).
  void Close();

  std::vector<std::string> AppNames() const;
  std::shared_ptr<HostedApp> Find(const std::string& name) const;  // null if absent
  ChangeBus& bus() { return bus_; }

  // Adds a new empty app (its first snapshot). AlreadyExists, or the model's error.
  absl::Status AddApp(AppModel model, const std::string& user = "admin");

  // ---- Cell changes (one change set and one durable log record each) ----
  absl::StatusOr<Committed> Write(HostedApp& app, const std::string& user, const std::vector<CellWrite>& batch);
  absl::StatusOr<Committed> WriteVersioned(HostedApp& app, const std::string& user,
                                           std::span<const VersionedWrite> batch, ConflictPolicy policy,
                                           const std::string& action = "write");
  // With `seen_version` (not 0): Aborted, and nothing changes, if a cell at or below the
  // target changed after it (Cube::NewestChangeUnder), checked atomically with the spread.
  absl::StatusOr<Committed> Spread(HostedApp& app, const std::string& user, const Coordinate& target,
                                   const SpreadRequest& request, const std::vector<Coordinate>& holds,
                                   uint64_t seen_version = 0);
  absl::StatusOr<Committed> Undo(HostedApp& app, const std::string& user, bool redo);

  // ---- Planning layers (durable as log records of their sections) ----
  absl::Status SetHold(HostedApp& app, const std::string& user, const Coordinate& coord, bool held);
  absl::StatusOr<CommentId> AddComment(HostedApp& app, const std::string& user, const Coordinate& at,
                                       CommentId parent, const NewComment& c);
  absl::Status SetTarget(HostedApp& app, const std::string& user, const Target& target);
  absl::Status RemoveTarget(HostedApp& app, const std::string& user, const Coordinate& coord);
  absl::Status SetRule(HostedApp& app, const std::string& user, const std::string& role, int dim, DimensionRule rule);
  absl::Status SetTotalsPolicy(HostedApp& app, const std::string& user, TotalsPolicy policy);

  // ---- Sandboxes: a user's named copy-on-write layers (engine/sandbox.h), kept durable as
  // log records of their sections, so that they outlive a restart.
  absl::StatusOr<SandboxSummary> CreateSandbox(HostedApp& app, const std::string& user, const std::string& name);
  // NotFound when the user has no open sandbox of that name (another user's is not found).
  absl::StatusOr<std::shared_ptr<Sandbox>> FindSandbox(HostedApp& app, const std::string& user, const std::string& name);
  std::vector<SandboxSummary> ListSandboxes(HostedApp& app, const std::string& user);
  // Changes the sandbox by `fn` and makes it durable; on any error the sandbox is as before.
  absl::Status ChangeSandbox(HostedApp& app, const std::string& user, const std::string& name,
                             const std::function<absl::Status(Sandbox&)>& fn);
  absl::StatusOr<Committed> CommitSandbox(HostedApp& app, const std::string& user, const std::string& name,
                                          ConflictPolicy policy);
  absl::StatusOr<SandboxSummary> DiscardSandbox(HostedApp& app, const std::string& user, const std::string& name);
  // Merges the user's sandbox `from` into their sandbox `into` (Sandbox::MergeFrom) and makes
  // `into` durable; on any error (Aborted on conflicts under kAbort) nothing changes.
  // InvalidArgument when they are the same sandbox.
  absl::StatusOr<SandboxMerged> MergeSandbox(HostedApp& app, const std::string& user, const std::string& into,
                                             const std::string& from, ConflictPolicy policy);

  // ---- Bridges (bridge/bridge.h): the source's numeric cells, mapped by `rules`, replace
  // what the same source bridged into the target before, as one change set of the target.
  // FailedPrecondition with the coverage problems (nothing changes) when the rules do not map
  // every source leaf exactly once.
  absl::StatusOr<BridgeRun> RunBridge(HostedApp& source, HostedApp& target, const std::string& user,
                                      const std::string& source_dim, const std::string& target_dim,
                                      const BridgeRules& rules);
  // The bridges into `app` and out of it.
  std::vector<BridgeSummary> ListBridges(const std::string& app) const;

 private:
  explicit AppHost(std::string data_dir);
  // Checkpoints run on their own thread, so the write that grew the log past the threshold is
  // acknowledged when its record is durable, not after a snapshot and the audit trail's append.
  void MaybeCheckpoint(HostedApp& app);
  void CheckpointLoop();
  absl::StatusOr<std::shared_ptr<HostedApp>> Bind(std::unique_ptr<durable::DurableApp> durable);
  absl::Status LoadSandboxes(HostedApp& app);
  std::string SandboxIndexLocked(const HostedApp& app) const;
  void Publish(HostedApp& app, const std::string& user, const std::string& action,
               std::shared_ptr<const LeafRegion> touched);

  DataFolder folder_;
  ChangeBus bus_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<HostedApp>> apps_;  // guarded by mu_
  bool closed_ = false;                                      // guarded by mu_

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  std::vector<std::shared_ptr<HostedApp>> checkpoint_due_;  // guarded by checkpoint_mu_
  bool checkpoint_stop_ = false;                             // guarded by checkpoint_mu_
  std::thread checkpointer_;
};

}  // namespace quantatom

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
#include <mutex>

#include "commentary/comment_store.h"
#include "durable/durable_app.h"
#include "engine/data_folder.h"
#include "security/rights.h"
#include "server/change_bus.h"
#include "targets/targets.h"

namespace quantatom {

struct HostedApp {
  std::string name;
  std::unique_ptr<durable::DurableApp> durable;
  std::unique_ptr<CommentStore> comments;
  std::unique_ptr<Targets> targets;  // null when the app has no scenario with Budget/Actual
  std::unique_ptr<AppSecurity> security;
  std::mutex layers_mu;  // serialises changes of comments, targets, security
  const Cube& cube() const { return durable->cube(); }
};

struct Committed {
  uint64_t change_set = 0;
  uint64_t seq = 0;
  size_t cells = 0;
  std::vector<WriteConflict> conflicts;
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
                                           std::vector<VersionedWrite> batch, ConflictPolicy policy,
                                           const std::string& action = "write");
  absl::StatusOr<Committed> Spread(HostedApp& app, const std::string& user, const Coordinate& target,
                                   const SpreadRequest& request, const std::vector<Coordinate>& holds);
  absl::StatusOr<Committed> Undo(HostedApp& app, const std::string& user, bool redo);

  // ---- Planning layers (durable as log records of their sections) ----
  absl::Status SetHold(HostedApp& app, const std::string& user, const Coordinate& coord, bool held);
  absl::StatusOr<CommentId> AddComment(HostedApp& app, const std::string& user, const Coordinate& at,
                                       CommentId parent, const NewComment& c);
  absl::Status SetTarget(HostedApp& app, const std::string& user, const Target& target);
  absl::Status RemoveTarget(HostedApp& app, const std::string& user, const Coordinate& coord);
  absl::Status SetRule(HostedApp& app, const std::string& user, const std::string& role, int dim, DimensionRule rule);
  absl::Status SetTotalsPolicy(HostedApp& app, const std::string& user, TotalsPolicy policy);

 private:
  explicit AppHost(std::string data_dir) : folder_(std::move(data_dir)) {}
  absl::StatusOr<std::shared_ptr<HostedApp>> Bind(std::unique_ptr<durable::DurableApp> durable);
  void Publish(HostedApp& app, const std::string& user, const std::string& action,
               std::shared_ptr<const LeafRegion> touched);

  DataFolder folder_;
  ChangeBus bus_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<HostedApp>> apps_;  // guarded by mu_
  bool closed_ = false;                                      // guarded by mu_
};

}  // namespace quantatom

// AppHost: the apps a server runs, and the ONE place through which every change to them goes
// (cells, holds, comments, targets, security). Each change is applied to the app's Cube (or
// its planning layer), published on the ChangeBus, and the app is marked for saving.
//
// Durability today: a change is acknowledged once it is in memory; a background thread saves
// changed apps as whole snapshots (DataFolder::SaveApp, fsync + rename) every
// `save_interval`, and Close saves the rest. The write-ahead-logged app layer of the
// durability work replaces the bodies of these methods, and nothing else.
//
// Thread-safe: the Cube serialises cell changes; `layers_mu` serialises the planning layers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <optional>
#include <memory>
#include <thread>

#include "commentary/comment_store.h"
#include "engine/cube.h"
#include "engine/data_folder.h"
#include "security/rights.h"
#include "server/change_bus.h"
#include "targets/targets.h"

namespace quantatom {

struct HostedApp {
  std::string name;
  // Held while the server runs: command-line writers of the same data folder wait, then fail
  // with Unavailable, instead of saving over the server's changes.
  std::optional<AppLock> lock;
  std::unique_ptr<Cube> cube;
  std::unique_ptr<CommentStore> comments;
  std::unique_ptr<Targets> targets;  // null when the app has no scenario with Budget/Actual
  std::unique_ptr<AppSecurity> security;
  SnapshotSections other_sections;  // kept and written back unchanged
  std::mutex layers_mu;             // serialises changes of comments, targets, security
  std::atomic<bool> dirty{false};
};

struct Committed {
  uint64_t change_set = 0;
  uint64_t seq = 0;
  size_t cells = 0;
  std::vector<WriteConflict> conflicts;
};

class AppHost {
 public:
  // Loads every app of the data folder (created if missing).
  static absl::StatusOr<std::unique_ptr<AppHost>> Open(const std::string& data_dir,
                                                       std::chrono::milliseconds save_interval);
  ~AppHost();  // Close()
  // Saves what is unsaved and stops the saver.
  void Close();

  std::vector<std::string> AppNames() const;
  std::shared_ptr<HostedApp> Find(const std::string& name) const;  // null if absent
  ChangeBus& bus() { return bus_; }

  // Adds a new empty app. AlreadyExists, or the model's error.
  absl::Status AddApp(AppModel model);

  // ---- Cell changes (one change set each) ----
  absl::StatusOr<Committed> Write(HostedApp& app, const std::string& user, const std::vector<CellWrite>& batch);
  absl::StatusOr<Committed> WriteVersioned(HostedApp& app, const std::string& user,
                                           std::vector<VersionedWrite> batch, ConflictPolicy policy,
                                           const std::string& action = "write");
  absl::StatusOr<Committed> Spread(HostedApp& app, const std::string& user, const Coordinate& target,
                                   const SpreadRequest& request, const std::vector<Coordinate>& holds);
  absl::StatusOr<Committed> Undo(HostedApp& app, const std::string& user, bool redo);

  // ---- Planning layers ----
  absl::Status SetHold(HostedApp& app, const std::string& user, const Coordinate& coord, bool held);
  absl::StatusOr<CommentId> AddComment(HostedApp& app, const Coordinate& at, CommentId parent, const NewComment& c);
  absl::Status SetTarget(HostedApp& app, const Target& target);
  absl::Status RemoveTarget(HostedApp& app, const Coordinate& coord);
  absl::Status SetRule(HostedApp& app, const std::string& role, int dim, DimensionRule rule);
  void SetTotalsPolicy(HostedApp& app, TotalsPolicy policy);

  // Saves one app now (tests, shutdown).
  absl::Status Save(HostedApp& app);

 private:
  AppHost(std::string data_dir, std::chrono::milliseconds save_interval);
  absl::StatusOr<std::shared_ptr<HostedApp>> Load(const std::string& name);
  void Publish(HostedApp& app, const std::string& user, const std::string& action,
               std::shared_ptr<const LeafRegion> touched);
  void SaverLoop();

  DataFolder folder_;
  const std::chrono::milliseconds save_interval_;
  ChangeBus bus_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<HostedApp>> apps_;  // guarded by mu_
  std::mutex saver_mu_;
  std::condition_variable saver_cv_;
  bool stopping_ = false;  // guarded by saver_mu_
  std::thread saver_;
};

}  // namespace quantatom

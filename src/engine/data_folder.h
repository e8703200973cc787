// The data folder: where apps are kept between runs of the command line.
//
//   DATA/apps/<app>.qa     one file per app: the model and every cell (docs/formats/app-snapshot.md)
//   DATA/apps/<app>.lock   empty; locked (flock) by a process that changes the app (AppLock)
//
// A save writes the whole app to a temporary file, fsyncs it and renames it over the old one,
// then fsyncs the folder: a crash or an error leaves the previous version intact, never a mix.
// (The write-ahead log and incremental snapshots come with the durability work.)
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/cube.h"

namespace quantatom {

// Named byte sections stored after the cells of an app snapshot: the layers other modules keep
// with an app (comments, targets, bridges), each encoded by its owner. Unknown names are kept
// and handed back; the cube's own holds are a section too, handled here.
using SnapshotSections = std::vector<std::pair<std::string, std::string>>;

class DataFolder {
 public:
  explicit DataFolder(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // Creates DATA/apps if needed.
  absl::Status Init() const;
  absl::StatusOr<std::vector<std::string>> ListApps() const;
  bool HasApp(const std::string& app) const;

  absl::Status SaveApp(const Cube& cube, const SnapshotSections& extra = {}) const;
  // NotFound for an unknown app; DataLoss if the file is damaged (checksum, truncation) or does
  // not fit its model, or holds another app. `extra`, if given, receives the other sections.
  absl::StatusOr<std::unique_ptr<Cube>> LoadApp(const std::string& app, SnapshotSections* extra = nullptr) const;

  std::string AppPath(const std::string& app) const;
  std::string LockPath(const std::string& app) const;

 private:
  std::string root_;
};

// An exclusive lock on one app of a data folder. A process that changes an app holds it from
// before the load (or the existence check) until after the save; otherwise two processes could
// each load, change and save, and the later save would silently drop the other's change.
//
// It is flock(LOCK_EX) on DATA/apps/<app>.lock. The kernel releases it when the holder exits or
// crashes, so a leftover lock file is harmless; it is never deleted, because a process could
// then lock a file that another one has just unlinked and both would go ahead. Readers do not
// lock: a save replaces the snapshot by an atomic rename. The lock belongs to its open file, so
// it also excludes other AppLocks of the same process (and thread).
class AppLock {
 public:
  // Takes the lock, waiting up to `timeout` while another holder has it (0: try once).
  // InvalidArgument for a bad app name; Internal if the lock file cannot be created or locked;
  // Unavailable, naming the lock file, if it is still held when `timeout` runs out.
  static absl::StatusOr<AppLock> Acquire(const DataFolder& folder, const std::string& app,
                                         std::chrono::milliseconds timeout);

  AppLock(AppLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  AppLock& operator=(AppLock&&) = delete;
  ~AppLock();  // releases the lock

 private:
  explicit AppLock(int fd) : fd_(fd) {}
  int fd_;
};

// The snapshot bytes of an app, and back. Exposed for tests. `path` names the file in error
// messages; `app` is the app the caller asked for, and a file holding another app is DataLoss.
std::string EncodeAppSnapshot(const Cube& cube, const SnapshotSections& extra = {});
absl::StatusOr<std::unique_ptr<Cube>> DecodeAppSnapshot(std::string_view bytes, const std::string& path,
                                                        const std::string& app, SnapshotSections* extra = nullptr);

}  // namespace quantatom

// The data folder: where apps are kept between runs of the command line.
//
//   DATA/apps/<app>.qa     one file per app: the model and every cell (docs/formats/app-snapshot.md)
//
// A save writes the whole app to a temporary file, fsyncs it and renames it over the old one,
// then fsyncs the folder: a crash or an error leaves the previous version intact, never a mix.
// (The write-ahead log and incremental snapshots come with the durability work.)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/cube.h"

namespace quantatom {

class DataFolder {
 public:
  explicit DataFolder(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // Creates DATA/apps if needed.
  absl::Status Init() const;
  absl::StatusOr<std::vector<std::string>> ListApps() const;
  bool HasApp(const std::string& app) const;

  absl::Status SaveApp(const Cube& cube) const;
  // NotFound for an unknown app; DataLoss if the file is damaged (checksum, truncation).
  absl::StatusOr<std::unique_ptr<Cube>> LoadApp(const std::string& app) const;

  std::string AppPath(const std::string& app) const;

 private:
  std::string root_;
};

// The snapshot bytes of an app, and back. Exposed for tests.
std::string EncodeAppSnapshot(const Cube& cube);
absl::StatusOr<std::unique_ptr<Cube>> DecodeAppSnapshot(std::string_view bytes, const std::string& name);

}  // namespace quantatom

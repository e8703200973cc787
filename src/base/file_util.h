// Whole-file reads and crash-safe whole-file writes.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace quantatom {

// Reads a whole file. NotFound if it does not exist, Internal on an I/O error.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// A read-only memory map of a whole file, populated up front (no page fault per page).
class MappedFile {
 public:
  static absl::StatusOr<MappedFile> Open(const std::string& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  ~MappedFile();
  std::string_view data() const { return {data_, size_}; }

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  const char* data_;
  size_t size_;
};

// Replaces `path` with `contents` so that a crash leaves either the old or the new file, never
// a mix: writes `path.tmp.<pid>.<n>` (a name no other writer uses), fsyncs it, renames it over
// `path`, then fsyncs the folder. On an error the temporary file is removed. Concurrent calls
// for one path do not corrupt it, but the last rename wins: callers that load, change and save
// need a lock of their own (engine/data_folder.h, AppLock).
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// fsyncs a folder, so that a rename or a new file inside it is durable.
absl::Status SyncDirectory(const std::string& dir);

// 64-bit XXH3 hash of a byte range, used as the checksum of stored files.
uint64_t Checksum64(const void* data, size_t size);

}  // namespace quantatom

// Whole-file reads and crash-safe whole-file writes.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace quantatom {

// Reads a whole file. NotFound if it does not exist, Internal on an I/O error.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Replaces `path` with `contents` so that a crash leaves either the old or the new file, never
// a mix: writes `path.tmp`, fsyncs it, renames it over `path`, then fsyncs the folder.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// fsyncs a folder, so that a rename or a new file inside it is durable.
absl::Status SyncDirectory(const std::string& dir);

// 64-bit XXH3 hash of a byte range, used as the checksum of stored files.
uint64_t Checksum64(const void* data, size_t size);

}  // namespace quantatom

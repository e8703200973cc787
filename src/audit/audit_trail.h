// The audit trail of an app: one entry per changed cell per change set (who, when, which cell,
// the value before and after, and why), appended to DATA/apps/<app>.audit and hash-chained with
// SHA-256 so that editing, removing or reordering any entry is detected
// (docs/formats/audit-trail.md). There is no API that edits or deletes entries.
//
//   QA_ASSIGN_OR_RETURN(auto trail, audit::AuditTrail::Open(path, /*writable=*/true));
//   QA_RETURN_IF_ERROR(trail->Append(entries));   // durable (fsync) on return
//   QA_ASSIGN_OR_RETURN(audit::AuditFile file, audit::ReadAuditFile(path));  // checks the chain
//
// The durable layer (durable/durable_app.h) writes the entries of the logged change sets here
// before a checkpoint drops them from the write-ahead log, and anchors the chain's newest hash
// in the snapshot. Not thread-safe: its owner serialises Append.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/cell_value.h"

namespace quantatom::audit {

using Hash = std::array<uint8_t, 32>;

struct AuditEntry {
  uint64_t log_seq = 0;  // the write-ahead log record of the change set
  int64_t time_us = 0;   // wall clock, microseconds since 1970 (UTC)
  std::string user;
  std::string cause;       // input, spread, bridge, import, formula, undo, redo
  std::string coordinate;  // the leaf, "dim=code,..." as the model formats it
  CellValue before, after;
  bool operator==(const AuditEntry&) const = default;
};

// An entry as AuditTrail::Appender takes it: every field borrowed, nothing copied (a bulk
// write has millions of entries).
struct AuditEntryRef {
  uint64_t log_seq = 0;
  int64_t time_us = 0;
  std::string_view user, cause, coordinate;
  const CellValue* before = nullptr;
  const CellValue* after = nullptr;

  AuditEntry Copy() const {
    return {log_seq, time_us, std::string(user), std::string(cause), std::string(coordinate), *before, *after};
  }
};

// The cause recorded for a change set's action ("write" -> "input", "undo of write" -> "undo").
std::string CauseOfAction(std::string_view action);

struct AuditFile {
  std::vector<AuditEntry> entries;
  std::vector<Hash> hashes;  // hashes[i]: the chain after entries[i]
  uint64_t valid_bytes = 0;  // length of the intact prefix
  bool torn_tail = false;    // bytes after valid_bytes: an append cut short by a crash
  Hash head() const { return hashes.empty() ? Hash{} : hashes.back(); }
};

// Reads and checks the whole trail. DataLoss naming the entry number and byte offset when an
// entry is damaged or its hash does not follow from the entries before it (tampering); a final
// entry cut short is not an error (`torn_tail`). NotFound if there is no file.
absl::StatusOr<AuditFile> ReadAuditFile(const std::string& path);
absl::StatusOr<AuditFile> ParseAuditFile(std::string_view bytes, const std::string& path);
// The entries in `bytes`, which begin at byte `offset` of the file at `path` and follow the
// chain hash `prev`, appended to `file` (whose valid_bytes and torn_tail are set, in file
// offsets). The errors of ParseAuditFile; entries are numbered from `first_number` + 1.
absl::Status ParseAuditEntries(std::string_view bytes, uint64_t offset, Hash prev, uint64_t first_number,
                               const std::string& path, AuditFile* file);

// The hash that follows `prev` when `entry` is appended.
Hash ChainHash(const Hash& prev, const AuditEntry& entry);
std::string HashHex(const Hash& h);

class AuditTrail {
 public:
  // Opens the trail at `path`, creating it (with its folder entry fsynced) when missing. The
  // chain is checked (DataLoss as ReadAuditFile); a torn tail is cut off.
  static absl::StatusOr<std::unique_ptr<AuditTrail>> Open(const std::string& path);
  // Appends `entries` and fsyncs; any error leaves the file as it was before (cut back).
  absl::Status Append(const std::vector<AuditEntry>& entries) { return Append(Chain(entries)); }

  // The same in two steps, for an owner that must know the chain's new head before the entries
  // are on disk (an import anchors it in its snapshot first): Chain encodes and hashes entries
  // after the current head; Append(Chained) writes them, unless the trail changed since.
  struct Chained {
    std::string bytes;  // the encoded entries
    Hash from{}, head{};
    uint64_t count = 0, last_seq = 0, last_seq_entries = 0;
  };
  Chained Chain(const std::vector<AuditEntry>& entries) const;
  absl::Status Append(const Chained& chained);
  // Appends entries one at a time, for an owner that derives them as it goes (a checkpoint,
  // from the log): each is encoded and chained as it comes and written out in chunks of a few
  // MiB, so that the entries of a bulk write are never all in memory at once. Commit makes them
  // durable (fdatasync) and part of the trail (count, head); an appender dropped without
  // Commit, or whose write failed, cuts the file back to where it began and changes nothing.
  // The trail takes no other append while an appender is open.
  class Appender {
   public:
    ~Appender();
    Appender(const Appender&) = delete;
    Appender& operator=(const Appender&) = delete;
    void Add(const AuditEntryRef& entry);
    // The appended entries, durable; the errors of Append (ResourceExhausted for a full disk).
    absl::Status Commit();

   private:
    friend class AuditTrail;
    explicit Appender(AuditTrail* trail);
    void Flush();
    AuditTrail* trail_;
    int fd_ = -1;
    int err_ = 0;            // the first write error (errno)
    bool done_ = false;
    uint64_t written_ = 0;   // bytes written after the trail's end
    uint64_t count_ = 0, last_seq_ = 0, last_seq_entries_ = 0;
    Hash head_;
    std::string chunk_, body_;
  };
  // InternalError if the file cannot be opened.
  absl::StatusOr<std::unique_ptr<Appender>> StartAppend();

  uint64_t count() const { return count_; }
  Hash head() const { return head_; }
  // The newest log record with entries here (0 when none), and how many of the entries at the
  // end are that record's: a checkpoint cut short by a crash may have written only some of them,
  // and the next one must append the rest, not skip the record.
  uint64_t last_seq() const { return last_seq_; }
  uint64_t last_seq_entries() const { return last_seq_entries_; }
  const std::string& path() const { return path_; }

 private:
  AuditTrail(std::string path, uint64_t size, uint64_t count, Hash head, uint64_t last_seq,
             uint64_t last_seq_entries)
      : path_(std::move(path)),
        size_(size),
        count_(count),
        head_(head),
        last_seq_(last_seq),
        last_seq_entries_(last_seq_entries) {}
  std::string path_;
  uint64_t size_, count_;
  Hash head_;
  uint64_t last_seq_, last_seq_entries_;
};

// Which entries a query keeps; empty fields match everything.
struct AuditQuery {
  std::string coordinate;  // exactly this leaf, as the model formats it
  std::string user;
  std::optional<int64_t> since_us, until_us;  // time range, inclusive
  bool Matches(const AuditEntry& e) const;
};

}  // namespace quantatom::audit

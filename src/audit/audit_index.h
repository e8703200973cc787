// An in-memory index of an audit trail file (audit_trail.h), so that a query by cell, by user
// or by time range reads only the entries it returns instead of parsing and re-hashing the
// whole trail each time.
//
//   QA_ASSIGN_OR_RETURN(auto index, audit::AuditIndex::Open(path));  // reads + checks it all
//   QA_RETURN_IF_ERROR(index->Refresh());    // reads only what was appended since
//   for (uint32_t i : index->Find(query)) use(index->entry(i));      // oldest first
//
// The index is rebuilt on open and never persisted: the trail stays the only file (its format
// is unchanged, docs/formats/audit-trail.md). Open reads and checks the whole chain once;
// Refresh then follows the file: it reads the bytes appended after the last entry it checked
// and checks their chain from that entry's hash, so every indexed entry was checked exactly
// once. An append still in progress (an incomplete last entry) is left for the next Refresh.
// A file that got shorter, or whose last checked entry no longer ends with the hash read
// before, was rewritten: Refresh reads and checks it all again (DataLoss if it is damaged).
// An edit further back in bytes already checked is not seen by Refresh; the full check is
// Open's (and DurableApp::Verify's).
//
// Postings: per user and per cell coordinate, the entry numbers in file order; and the entry
// numbers ordered by time, for time ranges. Find picks the shortest candidate list the query
// allows and checks the other fields on each candidate.
//
// Not thread-safe: the owner serialises calls (the server keeps one per app under a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/audit_trail.h"

namespace quantatom::audit {

class AuditIndex {
 public:
  // Reads and checks the trail at `path`; a missing file is an empty trail (NotFound is not an
  // error: the app may not have checkpointed yet). DataLoss as ReadAuditFile.
  static absl::StatusOr<std::unique_ptr<AuditIndex>> Open(const std::string& path);

  // Indexes what was appended since the last call (see above).
  absl::Status Refresh();

  // The entries matching `query`, as entry numbers in file order (oldest first).
  std::vector<uint32_t> Find(const AuditQuery& query) const;

  size_t size() const { return entries_.size(); }
  const AuditEntry& entry(uint32_t i) const { return entries_[i]; }
  // The newest log record with entries in the trail (0 when none).
  uint64_t last_seq() const { return entries_.empty() ? 0 : entries_.back().log_seq; }
  // Bytes of the trail read (and hashed) so far, by Open and every Refresh: a query costs no
  // re-reading of the trail.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  explicit AuditIndex(std::string path) : path_(std::move(path)) {}
  absl::Status Rebuild();
  void Add(AuditEntry e, const Hash& h);

  std::string path_;
  uint64_t valid_bytes_ = 0;  // the checked prefix of the file
  uint64_t bytes_read_ = 0;
  Hash head_{};               // the hash after the last indexed entry
  std::vector<AuditEntry> entries_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_user_, by_cell_;
  std::vector<uint32_t> by_time_;  // entry numbers ordered by (time_us, number)
};

}  // namespace quantatom::audit

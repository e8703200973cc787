#include "server/audit_source.h"

#include "base/strings.h"
#include "wal/log_reader.h"

namespace quantatom {

uint64_t AuditSource::trail_bytes_read() const {
  std::lock_guard lock(mu_);
  return index_ ? index_->bytes_read() : 0;
}

absl::StatusOr<std::vector<std::vector<audit::AuditEntry>>> AuditSource::NewestSets(
    const audit::AuditQuery& query, const std::function<bool(const audit::AuditEntry&)>& keep, uint64_t after_seq,
    size_t max_sets) {
  std::vector<std::vector<audit::AuditEntry>> out;
  // The log first (see the header), then the trail.
  absl::StatusOr<wal::LogContents> log = wal::ReadLog(app_->log_path());
  if (!log.ok() && !absl::IsNotFound(log.status())) return log.status();
  std::lock_guard lock(mu_);
  if (!index_) {
    QA_ASSIGN_OR_RETURN(index_, audit::AuditIndex::Open(app_->audit_path()));
  } else {
    QA_RETURN_IF_ERROR(index_->Refresh());
  }
  // The trail's newest record is read from the log too while the log has it: the trail may
  // hold only some of its entries (a checkpoint under way, or cut short by a crash).
  const uint64_t trail_last = index_->last_seq();
  uint64_t from_log = UINT64_MAX;  // the oldest record read from the log
  if (log.ok()) {
    for (auto r = log->records.rbegin(); r != log->records.rend() && out.size() < max_sets; ++r) {
      if (r->seq < trail_last || r->seq <= after_seq) break;
      from_log = r->seq;
      std::vector<audit::AuditEntry> set;
      QA_RETURN_IF_ERROR(app_->ForEachEntry(r->payload, r->seq, StrCat(app_->log_path(), ": log record ", r->seq),
                                            [&](const audit::AuditEntryRef& ref) {
                                              audit::AuditEntry e = ref.Copy();
                                              if (query.Matches(e) && keep(e)) set.push_back(std::move(e));
                                            }));
      if (!set.empty()) out.push_back(std::move(set));
    }
  }
  // The trail's matches, newest set first; entries of a set are consecutive in the file.
  const std::vector<uint32_t> hits = index_->Find(query);
  size_t end = hits.size();
  while (end > 0 && index_->entry(hits[end - 1]).log_seq >= from_log) --end;
  while (end > 0 && out.size() < max_sets) {
    const uint64_t seq = index_->entry(hits[end - 1]).log_seq;
    if (seq <= after_seq) break;
    size_t begin = end;
    while (begin > 0 && index_->entry(hits[begin - 1]).log_seq == seq) --begin;
    std::vector<audit::AuditEntry> set;
    for (size_t i = begin; i < end; ++i) {
      const audit::AuditEntry& e = index_->entry(hits[i]);
      if (keep(e)) set.push_back(e);
    }
    if (!set.empty()) out.push_back(std::move(set));
    end = begin;
  }
  return out;
}

}  // namespace quantatom

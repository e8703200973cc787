#include "server/audit_source.h"

#include "base/strings.h"
#include "durable/change_record.h"
#include "formula/bound.h"
#include "wal/log_reader.h"

namespace quantatom {
namespace {

// The entries of one logged record, as DurableApp derives them when it archives the record.
std::vector<audit::AuditEntry> EntriesOf(const Cube& cube, const durable::ChangeRecord& record, uint64_t seq) {
  const AppModel& model = cube.model();
  auto format = [&](uint64_t key) {
    Coordinate leaf(model.dimensions.size());
    for (size_t d = 0; d < leaf.size(); ++d)
      leaf[d] = model.dimensions[d].leaf_member(cube.layout().Get(key, static_cast<int>(d)));
    return model.FormatCoordinate(leaf);
  };
  std::vector<audit::AuditEntry> out;
  auto add = [&](const std::string& user, const std::string& cause, const std::vector<RecordedChange>& changes) {
    for (const RecordedChange& c : changes) out.push_back({seq, record.time_us, user, cause, format(c.key), c.before, c.after});
  };
  for (const durable::LoggedUndo& u : record.undos) add(u.user, u.redo ? "redo" : "undo", u.changes);
  for (const durable::LoggedChangeSet& s : record.sets) add(s.user, audit::CauseOfAction(s.action), s.changes);
  auto text = [](const std::optional<FormulaDefinition>& d) {
    return d ? CellValue::Text(StrCat(d->text, " [", formula::ScopeName(d->scope), "]")) : CellValue::Empty();
  };
  for (const durable::LoggedFormula& f : record.formulas)
    out.push_back({seq, record.time_us, record.user, "formula definition", StrCat(f.dimension, "=", f.member),
                   text(f.before), text(f.after)});
  return out;
}

}  // namespace

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
  const uint64_t trail_last = index_->last_seq();
  if (log.ok()) {
    for (auto r = log->records.rbegin(); r != log->records.rend() && out.size() < max_sets; ++r) {
      if (r->seq <= trail_last || r->seq <= after_seq) break;
      QA_ASSIGN_OR_RETURN(durable::ChangeRecord record,
                          durable::DecodeChangeRecord(r->payload, StrCat(app_->log_path(), ": log record ", r->seq)));
      std::vector<audit::AuditEntry> set;
      for (audit::AuditEntry& e : EntriesOf(app_->cube(), record, r->seq))
        if (query.Matches(e) && keep(e)) set.push_back(std::move(e));
      if (!set.empty()) out.push_back(std::move(set));
    }
  }
  // The trail's matches, newest set first; entries of a set are consecutive in the file.
  const std::vector<uint32_t> hits = index_->Find(query);
  size_t end = hits.size();
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

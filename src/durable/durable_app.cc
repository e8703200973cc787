#include "durable/durable_app.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/byte_codec.h"
#include "base/file_util.h"
#include "base/strings.h"
#include "wal/log_reader.h"

namespace quantatom::durable {
namespace {

constexpr std::string_view kDurableSection = "durable";
// In an import's first snapshot only: time (8), the trail's entry count before the import (8),
// user (u32 string). Its entries are one per cell of the snapshot, derived again if missing.
constexpr std::string_view kImportAuditSection = "import_audit";

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- Layers

const std::string* Layers::Get(std::string_view name) const {
  auto it = sections_->find(name);
  return it == sections_->end() ? nullptr : &it->second;
}

void Layers::Set(std::string_view name, std::string bytes) {
  changed_.push_back({std::string(name), bytes});
  (*sections_)[std::string(name)] = std::move(bytes);
}

void Layers::Remove(std::string_view name) {
  auto it = sections_->find(name);
  if (it == sections_->end()) return;
  sections_->erase(it);
  changed_.push_back({std::string(name), std::nullopt});
}

// ---- Opening

DurableApp::DurableApp(DataFolder folder, std::string app, DurableOptions options)
    : folder_(std::move(folder)), app_(std::move(app)), options_(std::move(options)) {}

DurableApp::~DurableApp() = default;

std::string DurableApp::log_path() const { return StrCat(folder_.root(), "/apps/", app_, ".log"); }
std::string DurableApp::audit_path() const { return StrCat(folder_.root(), "/apps/", app_, ".audit"); }

absl::StatusOr<std::unique_ptr<DurableApp>> DurableApp::Open(const DataFolder& folder, const std::string& app,
                                                             DurableOptions options) {
  // An unknown app (or a bad name) fails before the lock would create a lock file for it.
  if (!folder.HasApp(app)) QA_RETURN_IF_ERROR(folder.LoadApp(app).status());
  if (options.read_only) {
    // No lock: a writer's checkpoint may replace the snapshot and empty the log between our
    // reads of the two, which looks like a gap. Read again then; a real gap stays.
    absl::Status last;
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::unique_ptr<DurableApp> d(new DurableApp(folder, app, options));
      last = d->Recover();
      if (last.ok()) return d;
      if (!absl::IsDataLoss(last)) break;
    }
    return last;
  }
  std::unique_ptr<DurableApp> d(new DurableApp(folder, app, std::move(options)));
  QA_ASSIGN_OR_RETURN(AppLock lock, AppLock::Acquire(folder, app, d->options_.lock_timeout));
  d->lock_.emplace(std::move(lock));
  QA_RETURN_IF_ERROR(d->Recover());
  return d;
}

absl::Status DurableApp::Recover() {
  SnapshotSections extra;
  QA_ASSIGN_OR_RETURN(cube_, folder_.LoadApp(app_, &extra));
  const std::string snapshot = folder_.AppPath(app_);
  std::optional<std::string> import;
  for (auto& [name, bytes] : extra) {
    if (name == kImportAuditSection) {
      import = std::move(bytes);
      continue;
    }
    if (name != kDurableSection) {
      sections_[name] = std::move(bytes);
      continue;
    }
    if (bytes.size() != 16 + 32) return absl::DataLossError(StrCat(snapshot, ": the durable section has ", bytes.size(), " bytes, not 48"));
    ByteReader in(bytes, snapshot);
    QA_RETURN_IF_ERROR(in.Get(&anchor_.seq));
    QA_RETURN_IF_ERROR(in.Get(&anchor_.audit_count));
    QA_RETURN_IF_ERROR(in.GetArray(anchor_.audit_head.data(), anchor_.audit_head.size()));
  }
  report_.snapshot_seq = anchor_.seq;
  if (import) {
    // The import's entries, if the trail does not have them all: derived from the snapshot's
    // cells now, before the log changes them.
    ByteReader in(*import, snapshot);
    int64_t time_us = 0;
    uint64_t before = 0;
    std::string user;
    QA_RETURN_IF_ERROR(in.Get(&time_us));
    QA_RETURN_IF_ERROR(in.Get(&before));
    QA_RETURN_IF_ERROR(in.GetString<uint32_t>(&user));
    absl::StatusOr<audit::AuditFile> file = audit::ReadAuditFile(audit_path());
    const uint64_t have = file.ok() ? file->entries.size() : 0;
    if (have < anchor_.audit_count && have >= before) {
      pending_import_ = ImportEntries(anchor_.seq, time_us, user);
      pending_import_.erase(pending_import_.begin(), pending_import_.begin() + static_cast<ptrdiff_t>(
                                                         std::min<uint64_t>(have - before, pending_import_.size())));
      if (options_.read_only) {
        // Nothing is written here: check in memory that the missing entries, derived from the
        // snapshot's cells, complete the trail to the anchor, so that `verify` can say the
        // import is merely incomplete (the next writable open appends them) rather than lost.
        audit::Hash head = file.ok() ? file->head() : audit::Hash{};
        for (const audit::AuditEntry& e : pending_import_) head = audit::ChainHash(head, e);
        if (have + pending_import_.size() == anchor_.audit_count && head == anchor_.audit_head)
          import_missing_ = pending_import_.size();
        pending_import_.clear();
      }
    }
  }

  // The log after the snapshot.
  wal::ReadLogOptions read_options;
  read_options.salvage = options_.salvage;
  absl::StatusOr<wal::LogContents> log = wal::ReadLog(log_path(), read_options);
  if (!log.ok() && !absl::IsNotFound(log.status())) return log.status();
  wal::LogContents contents;
  if (log.ok()) contents = *std::move(log);
  if (contents.truncated_tail) {
    report_.torn_tail_cut = true;
    report_.dropped = contents.dropped;
    if (!options_.read_only) QA_RETURN_IF_ERROR(wal::TruncateTo(log_path(), contents.valid_bytes));
  }
  uint64_t expect = anchor_.seq + 1;
  bool stale_log = false;  // records the snapshot already holds: a checkpoint was cut short
  for (const wal::LogRecord& r : contents.records) {
    if (r.seq <= anchor_.seq) {
      stale_log = true;
      continue;
    }
    if (r.seq != expect)
      return absl::DataLossError(StrCat(log_path(), ": log record ", r.seq, " follows a snapshot that ends at record ",
                                        anchor_.seq, " (", snapshot, "): records ", expect, " to ", r.seq - 1,
                                        " are missing"));
    const std::string where = StrCat(log_path(), ": log record ", r.seq);
    QA_ASSIGN_OR_RETURN(ChangeRecord record, DecodeChangeRecord(r.payload, where));
    absl::Status applied = ApplyRecord(record, r.seq);
    if (!applied.ok()) return absl::Status(applied.code(), StrCat(where, ": ", applied.message()));
    ++expect;
    ++report_.replayed;
  }
  const uint64_t last = expect - 1;
  if (options_.read_only) {
    last_enqueued_ = last;
    return absl::OkStatus();
  }

  // Snapshots a crash interrupted before their rename (WriteFileAtomically's temporary files):
  // never read, and no other writer can be making one while we hold the app's lock.
  {
    std::error_code ec;
    const std::string prefix = StrCat(app_, ".qa.tmp.");
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(folder_.root()) / "apps", ec))
      if (entry.path().filename().string().starts_with(prefix)) std::filesystem::remove(entry.path(), ec);
  }

  // The audit trail must hold at least what the snapshot anchored, unchanged (after the
  // entries of an import a crash cut short, which the anchor then checks).
  QA_ASSIGN_OR_RETURN(trail_, audit::AuditTrail::Open(audit_path()));
  if (!pending_import_.empty()) {
    QA_RETURN_IF_ERROR(trail_->Append(pending_import_));
    pending_import_.clear();
  }
  QA_RETURN_IF_ERROR(CheckAnchor(audit::ReadAuditFile(audit_path())));

  std::lock_guard lock(apply_mu_);
  last_enqueued_ = last;
  if (stale_log && last == anchor_.seq) {
    // Finish the interrupted checkpoint: audit what the log holds, then empty it.
    QA_RETURN_IF_ERROR(ArchiveAuditLocked(anchor_.seq));
    QA_RETURN_IF_ERROR(wal::TruncateTo(log_path(), 0));
  } else if (stale_log) {
    return absl::DataLossError(StrCat(log_path(), ": the log holds records both in and after the snapshot ", snapshot));
  }
  return OpenWriterLocked(last + 1);
}

absl::Status DurableApp::CheckAnchor(const absl::StatusOr<audit::AuditFile>& file) const {
  if (!file.ok() && !absl::IsNotFound(file.status())) return file.status();
  const std::string snapshot = folder_.AppPath(app_);
  const size_t have = file.ok() ? file->entries.size() : 0;
  // A read-only open found an import cut short whose missing entries it derived and checked
  // against the anchor: the trail is short by exactly those, which the next writable open
  // appends.
  if (import_missing_ > 0 && have + import_missing_ == anchor_.audit_count) return absl::OkStatus();
  if (have < anchor_.audit_count)
    return absl::DataLossError(StrCat(audit_path(), ": the audit trail has ", have, " entries, but the snapshot ",
                                      snapshot, " says it had ", anchor_.audit_count));
  if (anchor_.audit_count > 0 && file->hashes[anchor_.audit_count - 1] != anchor_.audit_head)
    return absl::DataLossError(StrCat(audit_path(), ": entry ", anchor_.audit_count,
                                      " of the audit trail is not the one the snapshot anchored"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> DurableApp::Verify() const {
  absl::StatusOr<audit::AuditFile> file = audit::ReadAuditFile(audit_path());
  QA_RETURN_IF_ERROR(CheckAnchor(file));
  const size_t entries = file.ok() ? file->entries.size() : 0;
  absl::StatusOr<wal::LogContents> log = wal::ReadLog(log_path());
  if (!log.ok() && !absl::IsNotFound(log.status())) return log.status();
  size_t records = 0;
  if (log.ok())
    for (const wal::LogRecord& r : log->records) {
      QA_RETURN_IF_ERROR(DecodeChangeRecord(r.payload, StrCat(log_path(), ": log record ", r.seq)).status());
      ++records;
    }
  if (import_missing_ > 0)
    return StrCat("app '", app_, "': snapshot OK (through log record ", anchor_.seq, "), log OK (", records,
                  " record", records == 1 ? "" : "s", "), import incomplete: a crash cut the import short before ",
                  import_missing_, " of its audit entries were appended (the trail has ", entries, " of ",
                  anchor_.audit_count, "); derived from the snapshot's cells they match the snapshot's anchor, and the "
                  "next writable open of the app (any write, or quantatom checkpoint) appends them");
  return StrCat("app '", app_, "': snapshot OK (through log record ", anchor_.seq, "), log OK (", records,
                " record", records == 1 ? "" : "s", log.ok() && log->truncated_tail ? ", with a torn tail" : "",
                "), audit trail OK (", entries, " entr", entries == 1 ? "y" : "ies", ", chain verified",
                file.ok() && !file->entries.empty() ? StrCat(", head ", audit::HashHex(file->head()).substr(0, 16)) : std::string(),
                ")");
}

absl::Status DurableApp::OpenWriterLocked(uint64_t first_seq) {
  wal::LogWriterOptions o = options_.log;
  o.first_seq = first_seq;
  o.writers_coming = [this] { return coming_.load(std::memory_order_relaxed); };
  o.group_commit_delay = options_.group_commit_delay;
  QA_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogWriter> writer, wal::LogWriter::Open(log_path(), o));
  if (writer->next_seq() != first_seq)
    return absl::DataLossError(StrCat(log_path(), ": the log continues at record ", writer->next_seq(),
                                      ", expected ", first_seq));
  log_ = std::move(writer);
  return absl::OkStatus();
}

absl::Status DurableApp::ApplyRecord(const ChangeRecord& record, uint64_t seq) {
  for (const LoggedUndo& u : record.undos) {
    absl::StatusOr<uint64_t> id = u.redo ? cube_->Redo(u.user) : cube_->Undo(u.user);
    if (!id.ok() || *id != u.id)
      return absl::DataLossError(StrCat(u.redo ? "redo" : "undo", " of change set ", u.id, " by '", u.user,
                                        "' does not replay: ", id.ok() ? StrCat("got change set ", *id) : std::string(id.status().message())));
  }
  for (const LoggedChangeSet& s : record.sets) {
    QA_RETURN_IF_ERROR(cube_->ApplyRecorded(s.user, s.action, s.changes, s.id));
    if (!s.merged.empty()) QA_RETURN_IF_ERROR(cube_->NoteMerged(s.id, s.merged));
  }
  for (const LoggedHolds& h : record.holds) {
    cube_->ClearHolds(h.user);
    for (const Coordinate& c : h.holds) {
      absl::Status s = cube_->SetHold(h.user, c, true);
      if (!s.ok()) return absl::DataLossError(StrCat("hold of user '", h.user, "': ", s.message()));
    }
  }
  for (const LoggedFormula& f : record.formulas) {
    absl::Status s = f.after ? cube_->SetFormula(*f.after) : cube_->RemoveFormula(f.dimension, f.member);
    if (!s.ok()) return absl::DataLossError(StrCat("formula of ", f.dimension, "=", f.member, " does not replay: ", s.message()));
  }
  std::unique_lock lock(sections_mu_);
  for (const LoggedSection& s : record.sections) {
    if (s.bytes) sections_[s.name] = *s.bytes;
    else sections_.erase(s.name);
  }
  return absl::OkStatus();
}

// ---- Mutations

absl::Status DurableApp::Commit(const std::string& user, const std::string& cause,
                                const std::function<absl::Status(Cube&, Layers&, ChangeRecord&)>& fn,
                                std::optional<uint64_t> since, const UndoDone* undo) {
  std::shared_ptr<wal::LogWriter> log;
  uint64_t seq = 0;
  // Counted as coming until its record is queued (or it turns out to have none): a group
  // commit leader waits a little for such records (DurableOptions::group_commit_delay).
  struct Coming {
    std::atomic<size_t>* count;
    ~Coming() { Done(); }
    void Done() {
      if (count) count->fetch_sub(1, std::memory_order_relaxed);
      count = nullptr;
    }
  } coming{&coming_};
  coming_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(apply_mu_);
    if (options_.read_only) return absl::FailedPreconditionError(StrCat("app '", app_, "' is open read-only"));
    if (!stopped_.ok()) return stopped_;
    ChangeRecord record;
    record.time_us = NowUs();
    record.user = user;
    record.cause = cause;
    const uint64_t last_set = since ? *since : cube_->LastChangeSetId();
    Layers layers;
    {
      std::unique_lock sections_lock(sections_mu_);
      layers.sections_ = &sections_;
      QA_RETURN_IF_ERROR(fn(*cube_, layers, record));
    }
    record.sections = std::move(layers.changed_);
    std::sort(layers.touched_holds_.begin(), layers.touched_holds_.end());
    layers.touched_holds_.erase(std::unique(layers.touched_holds_.begin(), layers.touched_holds_.end()),
                                layers.touched_holds_.end());
    for (const std::string& u : layers.touched_holds_) record.holds.push_back({u, cube_->Holds(u)});
    // The change sets are encoded where the history keeps them, under the cube's read lock:
    // no copy of their cells, and none flattened into RecordedChanges (apply_mu_ keeps other
    // mutations out meanwhile, and readers share the lock).
    EncodedRecord payload;
    const bool has_undo = undo != nullptr && undo->id != 0;
    bool any = !record.empty() || has_undo;
    // From the first change set the record names: the one undone or redone, else the first new.
    const uint64_t from = has_undo ? std::min(last_set, undo->id - 1) : last_set;
    cube_->ReadChangeSetsAfter(from, [&](std::span<const ChangeSet> all) {
      const std::span<const ChangeSet> sets = all.subspan(std::min<size_t>(all.size(), last_set - from));
      if (sets.empty() && !any) return;
      any = true;
      UndoInPlace undo_in_place;
      if (has_undo) undo_in_place = {undo->redo, &user, undo->id, &all[undo->id - 1 - from]};
      std::vector<VersionVector> merged(sets.size());
      std::vector<ChangeSetInPlace> in_place(sets.size());
      for (size_t i = 0; i < sets.size(); ++i) {
        bool merged_here = false;
        VersionVector m = cube_->MergedAfter(sets[i].id, &merged_here);  // takes only the clock's lock
        if (merged_here) merged[i] = std::move(m);
        in_place[i] = {&sets[i], &merged[i]};
      }
      payload = EncodeChangeRecord(record, std::span<const UndoInPlace>(&undo_in_place, has_undo ? 1 : 0), in_place);
    });
    if (!any) return absl::OkStatus();
    coming.Done();
    absl::StatusOr<uint64_t> queued = log_->Enqueue(payload.bytes());
    if (!queued.ok()) {
      // The change is in memory but cannot be logged: stop, so that nothing built on it is
      // acknowledged either.
      stopped_ = absl::Status(queued.status().code(),
                              StrCat("app '", app_, "' stopped taking writes: ", queued.status().message()));
      return stopped_;
    }
    seq = last_enqueued_ = *queued;
    log = log_;
  }
  absl::Status durable = log->WaitDurable(seq);
  if (!durable.ok()) {
    std::lock_guard lock(apply_mu_);
    if (stopped_.ok())
      stopped_ = absl::Status(durable.code(), StrCat("app '", app_, "' stopped taking writes: ", durable.message()));
    return stopped_;
  }
  if (options_.checkpoint_log_bytes > 0 && log->size_bytes() > options_.checkpoint_log_bytes &&
      !checkpoint_due_.exchange(true)) {
    absl::Status s = Checkpoint();
    checkpoint_due_.store(false);
    // The mutation is durable in the log either way; a failed checkpoint is retried later.
    if (!s.ok()) std::fprintf(stderr, "quantatom: checkpoint of app '%s' failed: %s\n", app_.c_str(), std::string(s.message()).c_str());
  }
  return absl::OkStatus();
}

absl::Status DurableApp::Mutate(const std::string& user, const std::string& cause,
                                const std::function<absl::Status(Cube&, Layers&)>& fn) {
  return Commit(user, cause, [&](Cube& cube, Layers& layers, ChangeRecord&) { return fn(cube, layers); });
}

absl::Status DurableApp::LogChanges(const std::string& user, const std::string& cause, uint64_t since,
                                    std::vector<LoggedSection> sections, std::vector<std::string> hold_users) {
  return Commit(
      user, cause,
      [&](Cube&, Layers& layers, ChangeRecord&) {
        for (LoggedSection& s : sections) {
          if (s.bytes) layers.Set(s.name, *std::move(s.bytes));
          else layers.Remove(s.name);
        }
        for (const std::string& u : hold_users) layers.TouchHolds(u);
        return absl::OkStatus();
      },
      since);
}

absl::Status DurableApp::Write(const std::vector<CellWrite>& batch, const std::string& user,
                               const WriteOptions& options) {
  return Commit(user, options.action, [&](Cube& cube, Layers&, ChangeRecord&) { return cube.Write(batch, user, options); });
}

absl::StatusOr<VersionedWriteResult> DurableApp::WriteVersioned(std::span<const VersionedWrite> batch,
                                                                ConflictPolicy policy, const std::string& user,
                                                                const std::string& action) {
  VersionedWriteResult result;
  QA_RETURN_IF_ERROR(Commit(user, action, [&](Cube& cube, Layers&, ChangeRecord&) -> absl::Status {
    QA_ASSIGN_OR_RETURN(result, cube.WriteVersioned(batch, policy, user, action));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<size_t> DurableApp::Spread(const Coordinate& target, const SpreadRequest& request,
                                          const std::vector<Coordinate>& holds, const std::string& user,
                                          size_t max_leaves) {
  size_t changed = 0;
  QA_RETURN_IF_ERROR(Commit(user, "spread", [&](Cube& cube, Layers&, ChangeRecord&) -> absl::Status {
    QA_ASSIGN_OR_RETURN(changed, cube.Spread(target, request, holds, user, max_leaves));
    return absl::OkStatus();
  }));
  return changed;
}

// The undo's or redo's cells are encoded from the change set where the history keeps it
// (Commit, UndoInPlace): a 1M-cell undo was once copied, flattened and reversed first.
absl::StatusOr<uint64_t> DurableApp::Undo(const std::string& user) {
  UndoDone done{false, 0};
  QA_RETURN_IF_ERROR(Commit(
      user, "undo",
      [&](Cube& cube, Layers&, ChangeRecord&) -> absl::Status {
        QA_ASSIGN_OR_RETURN(done.id, cube.Undo(user));
        return absl::OkStatus();
      },
      std::nullopt, &done));
  return done.id;
}

absl::StatusOr<uint64_t> DurableApp::Redo(const std::string& user) {
  UndoDone done{true, 0};
  QA_RETURN_IF_ERROR(Commit(
      user, "redo",
      [&](Cube& cube, Layers&, ChangeRecord&) -> absl::Status {
        QA_ASSIGN_OR_RETURN(done.id, cube.Redo(user));
        return absl::OkStatus();
      },
      std::nullopt, &done));
  return done.id;
}

absl::Status DurableApp::SetHold(const std::string& user, const Coordinate& coord, bool held) {
  return Commit(user, "hold", [&](Cube& cube, Layers& layers, ChangeRecord&) -> absl::Status {
    QA_RETURN_IF_ERROR(cube.SetHold(user, coord, held));
    layers.TouchHolds(user);
    return absl::OkStatus();
  });
}

namespace {
std::optional<FormulaDefinition> FormulaOf(const Cube& cube, std::string_view dimension, std::string_view member) {
  for (FormulaDefinition& f : cube.Formulas())
    if (f.dimension == dimension && f.member == member) return std::move(f);
  return std::nullopt;
}
}  // namespace

absl::Status DurableApp::DefineFormula(const FormulaDefinition& definition, const std::string& user) {
  return Commit(user, "formula definition", [&](Cube& cube, Layers&, ChangeRecord& record) -> absl::Status {
    std::optional<FormulaDefinition> before = FormulaOf(cube, definition.dimension, definition.member);
    QA_RETURN_IF_ERROR(cube.SetFormula(definition));
    // As the cube keeps it (the text is canonical once defined), so that replay gives the same.
    record.formulas.push_back({definition.dimension, definition.member, std::move(before),
                               FormulaOf(cube, definition.dimension, definition.member)});
    return absl::OkStatus();
  });
}

absl::Status DurableApp::RemoveFormula(const std::string& dimension, const std::string& member, const std::string& user) {
  return Commit(user, "formula definition", [&](Cube& cube, Layers&, ChangeRecord& record) -> absl::Status {
    std::optional<FormulaDefinition> before = FormulaOf(cube, dimension, member);
    QA_RETURN_IF_ERROR(cube.RemoveFormula(dimension, member));
    record.formulas.push_back({dimension, member, std::move(before), std::nullopt});
    return absl::OkStatus();
  });
}

absl::Status DurableApp::SetSection(std::string_view name, std::optional<std::string> bytes, const std::string& user,
                                    const std::string& cause) {
  return Commit(user, cause, [&](Cube&, Layers& layers, ChangeRecord&) {
    if (bytes) layers.Set(name, *std::move(bytes));
    else layers.Remove(name);
    return absl::OkStatus();
  });
}

std::optional<std::string> DurableApp::Section(std::string_view name) const {
  std::shared_lock lock(sections_mu_);
  auto it = sections_.find(name);
  if (it == sections_.end()) return std::nullopt;
  return it->second;
}

absl::Status DurableApp::status() const {
  std::lock_guard lock(apply_mu_);
  if (!stopped_.ok()) return stopped_;
  return log_ ? log_->status() : absl::OkStatus();
}

uint64_t DurableApp::last_seq() const {
  std::lock_guard lock(apply_mu_);
  return last_enqueued_;
}

uint64_t DurableApp::log_bytes() const {
  std::lock_guard lock(apply_mu_);
  return log_ ? log_->size_bytes() : 0;
}

uint64_t DurableApp::sync_count() const {
  std::lock_guard lock(apply_mu_);
  return log_ ? log_->sync_count() : 0;
}

// ---- Checkpoints

absl::Status DurableApp::Checkpoint() {
  std::lock_guard lock(apply_mu_);
  return CheckpointLocked();
}

absl::Status DurableApp::CheckpointLocked() {
  if (options_.read_only) return absl::FailedPreconditionError(StrCat("app '", app_, "' is open read-only"));
  if (!stopped_.ok()) return stopped_;
  // Everything queued is durable first: the snapshot must not hold an unlogged change.
  QA_RETURN_IF_ERROR(log_->WaitDurable(last_enqueued_));
  const uint64_t seq = last_enqueued_;
  QA_RETURN_IF_ERROR(ArchiveAuditLocked(seq));
  QA_RETURN_IF_ERROR(WriteSnapshotLocked(seq));
  // The snapshot holds every record: empty the log and go on after it.
  log_.reset();
  absl::Status s = wal::TruncateTo(log_path(), 0);
  if (s.ok()) s = OpenWriterLocked(seq + 1);
  if (!s.ok()) stopped_ = absl::Status(s.code(), StrCat("app '", app_, "' stopped taking writes: ", s.message()));
  return s;
}

absl::Status DurableApp::WriteSnapshotLocked(uint64_t seq, const std::optional<Anchor>& anchor_override,
                                             const std::string* import) {
  SnapshotSections extra;
  {
    std::shared_lock lock(sections_mu_);
    for (const auto& [name, bytes] : sections_) extra.emplace_back(name, bytes);
  }
  if (import) extra.emplace_back(std::string(kImportAuditSection), *import);
  const Anchor anchor = anchor_override ? *anchor_override : Anchor{seq, trail_->count(), trail_->head()};
  ByteWriter durable;
  durable.Put(anchor.seq);
  durable.Put(anchor.audit_count);
  durable.PutArray(anchor.audit_head.data(), anchor.audit_head.size());
  extra.emplace_back(std::string(kDurableSection), durable.Take());
  QA_RETURN_IF_ERROR(folder_.SaveApp(*cube_, extra));
  anchor_ = anchor;
  return absl::OkStatus();
}

std::string DurableApp::FormatKey(uint64_t key) const {
  Coordinate leaf;
  std::string out;
  FormatKeyInto(key, &leaf, &out);
  return out;
}

void DurableApp::FormatKeyInto(uint64_t key, Coordinate* leaf, std::string* out) const {
  const AppModel& model = cube_->model();
  leaf->resize(model.dimensions.size());
  for (size_t d = 0; d < leaf->size(); ++d)
    (*leaf)[d] = model.dimensions[d].leaf_member(cube_->layout().Get(key, static_cast<int>(d)));
  model.FormatCoordinateInto(*leaf, out);
}

absl::Status DurableApp::ForEachEntry(std::string_view payload, uint64_t seq, std::string_view where,
                                      const std::function<void(const audit::AuditEntryRef&)>& fn) const {
  Coordinate leaf;         // reused, with the string: no allocation per entry
  std::string coordinate;
  std::string cause;       // of the undo or change set the cells belong to
  size_t part = SIZE_MAX;
  bool part_undo = false;
  auto cell = [&](const ChangeRecord& r, bool undo, const RecordedChange& c) {
    const size_t index = undo ? r.undos.size() - 1 : r.sets.size() - 1;
    if (index != part || undo != part_undo) {
      part = index;
      part_undo = undo;
      cause = undo ? (r.undos.back().redo ? "redo" : "undo") : audit::CauseOfAction(r.sets.back().action);
    }
    FormatKeyInto(c.key, &leaf, &coordinate);
    fn({seq, r.time_us, undo ? r.undos.back().user : r.sets.back().user, cause, coordinate, &c.before, &c.after});
  };
  QA_ASSIGN_OR_RETURN(ChangeRecord record, DecodeChangeRecord(payload, where, cell));
  // A definition is audited as text, "<formula> [<scope>]", at the member it computes.
  auto text = [](const std::optional<FormulaDefinition>& d) {
    return d ? CellValue::Text(StrCat(d->text, " [", formula::ScopeName(d->scope), "]")) : CellValue::Empty();
  };
  for (const LoggedFormula& f : record.formulas) {
    const CellValue before = text(f.before), after = text(f.after);
    const std::string member = StrCat(f.dimension, "=", f.member);
    fn({seq, record.time_us, record.user, "formula definition", member, &before, &after});
  }
  return absl::OkStatus();
}

absl::Status DurableApp::ArchiveAuditLocked(uint64_t up_to_seq) {
  absl::StatusOr<wal::LogContents> log = wal::ReadLog(log_path());
  if (absl::IsNotFound(log.status())) return absl::OkStatus();
  QA_RETURN_IF_ERROR(log.status());
  // Streamed: each entry is chained and written as its cell is decoded (a bulk write's
  // million entries were once built, moved and encoded as objects: most of a checkpoint).
  QA_ASSIGN_OR_RETURN(std::unique_ptr<audit::AuditTrail::Appender> appender, trail_->StartAppend());
  for (const wal::LogRecord& r : log->records) {
    if (r.seq < trail_->last_seq() || r.seq > up_to_seq) continue;
    // The trail's newest record may have only some of its entries (a checkpoint cut short by a
    // crash): those are skipped, in the order they are derived, and the rest appended.
    uint64_t skip = r.seq == trail_->last_seq() ? trail_->last_seq_entries() : 0;
    QA_RETURN_IF_ERROR(ForEachEntry(r.payload, r.seq, StrCat(log_path(), ": log record ", r.seq),
                                    [&](const audit::AuditEntryRef& e) {
                                      if (skip > 0) {
                                        --skip;
                                        return;
                                      }
                                      appender->Add(e);
                                    }));
  }
  return appender->Commit();
}

// ---- Creating

absl::StatusOr<std::unique_ptr<DurableApp>> DurableApp::Create(const DataFolder& folder, std::unique_ptr<Cube> cube,
                                                               const std::string& user, bool replace,
                                                               DurableOptions options) {
  const std::string app = cube->model().name;
  QA_RETURN_IF_ERROR(folder.Init());
  QA_ASSIGN_OR_RETURN(AppLock lock, AppLock::Acquire(folder, app, options.lock_timeout));
  std::unique_ptr<DurableApp> d(new DurableApp(folder, app, options));
  uint64_t seq = 1;
  if (folder.HasApp(app)) {
    if (!replace)
      return absl::AlreadyExistsError(
          StrCat("app '", app, "' already exists in ", folder.root(), " (use --replace to overwrite it)"));
    // Checkpoint the old app, so that its trail holds everything it logged.
    std::unique_ptr<DurableApp> old(new DurableApp(folder, app, options));
    QA_RETURN_IF_ERROR(old->Recover());
    QA_RETURN_IF_ERROR(old->Checkpoint());
    seq = old->last_seq() + 1;
  } else {
    // Leftovers of an app whose snapshot was removed: its log cannot apply to a new one.
    std::error_code ec;
    std::filesystem::remove(d->log_path(), ec);
  }
  d->cube_ = std::move(cube);
  QA_ASSIGN_OR_RETURN(d->trail_, audit::AuditTrail::Open(d->audit_path()));
  std::lock_guard guard(d->apply_mu_);
  // The snapshot first, anchoring the trail as it will be with the import's entries, then the
  // entries. A crash between the two is completed by Open, which derives the missing entries
  // from the snapshot's cells (the import_audit section) and checks them against the anchor.
  const int64_t now = NowUs();
  const audit::AuditTrail::Chained entries = d->trail_->Chain(d->ImportEntries(seq, now, user));
  ByteWriter import;
  import.Put(now);
  import.Put(static_cast<uint64_t>(d->trail_->count()));
  import.PutString<uint32_t>(user);
  const std::string import_bytes = import.Take();
  QA_RETURN_IF_ERROR(
      d->WriteSnapshotLocked(seq, Anchor{seq, d->trail_->count() + entries.count, entries.head}, &import_bytes));
  d->last_enqueued_ = seq;
  if (std::filesystem::exists(d->log_path())) QA_RETURN_IF_ERROR(wal::TruncateTo(d->log_path(), 0));
  QA_RETURN_IF_ERROR(d->trail_->Append(entries));
  QA_RETURN_IF_ERROR(d->OpenWriterLocked(seq + 1));
  d->lock_.emplace(std::move(lock));
  return d;
}

// ---- Audit

std::vector<audit::AuditEntry> DurableApp::ImportEntries(uint64_t seq, int64_t time_us, const std::string& user) const {
  std::vector<audit::AuditEntry> entries;
  cube_->WithStore([&](const CellStore& store) {
    for (const KeyValue& kv : store.SortedCells())
      entries.push_back({seq, time_us, user, "import", FormatKey(kv.key), CellValue::Empty(), CellValue::Number(kv.value)});
    // In key order, as the snapshot keeps them, so that the entries derive again the same.
    std::vector<std::pair<uint64_t, const std::string*>> texts;
    for (const auto& [key, text] : store.texts()) texts.emplace_back(key, &text);
    std::sort(texts.begin(), texts.end());
    for (const auto& [key, text] : texts)
      entries.push_back({seq, time_us, user, "import", FormatKey(key), CellValue::Empty(), CellValue::Text(*text)});
  });
  return entries;
}

absl::StatusOr<std::vector<audit::AuditEntry>> DurableApp::Audit(const audit::AuditQuery& query) const {
  std::vector<audit::AuditEntry> out;
  uint64_t last = 0;     // the trail's newest record
  uint64_t in_last = 0;  // how many of its entries the trail holds
  absl::StatusOr<audit::AuditFile> file = audit::ReadAuditFile(audit_path());
  if (file.ok()) {
    for (audit::AuditEntry& e : file->entries) {
      in_last = e.log_seq == last ? in_last + 1 : 1;
      last = e.log_seq;
      if (query.Matches(e)) out.push_back(std::move(e));
    }
  } else if (!absl::IsNotFound(file.status())) {
    return file.status();
  }
  // Mutations logged since the last checkpoint: their entries are derived from the log. The
  // trail's newest record may hold only some of its entries (a checkpoint under way, or cut
  // short by a crash): the rest come from the log.
  absl::StatusOr<wal::LogContents> log = wal::ReadLog(log_path());
  if (!log.ok()) return absl::IsNotFound(log.status()) ? absl::StatusOr<std::vector<audit::AuditEntry>>(out) : log.status();
  for (const wal::LogRecord& r : log->records) {
    if (r.seq < last) continue;
    uint64_t skip = r.seq == last ? in_last : 0;
    QA_RETURN_IF_ERROR(ForEachEntry(r.payload, r.seq, StrCat(log_path(), ": log record ", r.seq),
                                    [&](const audit::AuditEntryRef& e) {
                                      if (skip > 0) {
                                        --skip;
                                        return;
                                      }
                                      audit::AuditEntry entry = e.Copy();
                                      if (query.Matches(entry)) out.push_back(std::move(entry));
                                    }));
  }
  return out;
}

}  // namespace quantatom::durable

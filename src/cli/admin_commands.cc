#include "cli/admin_commands.h"

#include <cstdio>
#include <ctime>

#include "base/numbers.h"
#include "base/strings.h"
#include "durable/durable_app.h"
#include "wal/log_reader.h"

namespace quantatom {
namespace {

std::string FormatTime(int64_t us) {
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us % 1'000'000));
  return out;
}

// "2026-03-04T10:15:00Z" or "2026-03-04" (UTC) -> microseconds.
absl::StatusOr<int64_t> ParseTime(std::string_view flag, const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) {
    tm = {};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || (*end != '\0' && !(end[0] == 'Z' && end[1] == '\0')))
    return absl::InvalidArgumentError(
        StrCat(flag, " '", text, "' is not an ISO-8601 UTC time (2026-03-04T10:15:00Z or 2026-03-04)"));
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000;
}

std::string Show(const CellValue& v) {
  if (v.is_number()) return FormatNumber(v.number);
  if (v.is_text()) return StrCat("\"", v.text, "\"");
  return "-";
}

durable::DurableOptions ReadOnly() {
  durable::DurableOptions o;
  o.read_only = true;
  return o;
}

}  // namespace

absl::Status RunCheckpoint(const CheckpointArgs& args) {
  durable::DurableOptions options;
  options.salvage = args.salvage;
  QA_ASSIGN_OR_RETURN(auto app, durable::DurableApp::Open(DataFolder(args.data), args.app, options));
  if (!app->report().dropped.empty()) std::printf("dropped from the log: %s\n", app->report().dropped.c_str());
  const uint64_t bytes = app->log_bytes();
  QA_RETURN_IF_ERROR(app->Checkpoint());
  std::printf("checkpoint of app '%s' through log record %llu (%llu log bytes folded into the snapshot)\n",
              args.app.c_str(), static_cast<unsigned long long>(app->last_seq()), static_cast<unsigned long long>(bytes));
  return absl::OkStatus();
}

absl::Status RunLog(const LogArgs& args) {
  if (args.action != "list" && args.action != "verify")
    return absl::InvalidArgumentError(StrCat("unknown log action '", args.action, "' (expected list or verify)"));
  DataFolder folder(args.data);
  // Through the app, so that its name is checked and the log read is the one it replays.
  QA_ASSIGN_OR_RETURN(auto app, durable::DurableApp::Open(folder, args.app, ReadOnly()));
  absl::StatusOr<wal::LogContents> log = wal::ReadLog(app->log_path());
  if (absl::IsNotFound(log.status())) {
    std::printf("app '%s' has no log records since its snapshot\n", args.app.c_str());
    return absl::OkStatus();
  }
  QA_RETURN_IF_ERROR(log.status());
  size_t cells = 0;
  for (const wal::LogRecord& r : log->records) {
    QA_ASSIGN_OR_RETURN(durable::ChangeRecord rec,
                        durable::DecodeChangeRecord(r.payload, StrCat(app->log_path(), ": log record ", r.seq)));
    size_t n = 0;
    for (const auto& s : rec.sets) n += s.changes.size();
    for (const auto& u : rec.undos) n += u.changes.size();
    cells += n;
    // The version vector of the record's newest change set (docs/durability.md, "Vector
    // clocks"): the app's clock when it was applied, other replicas included after a sandbox
    // commit merged them.
    const std::string clock =
        rec.sets.empty() ? std::string() : StrCat("\tclock ", app->cube().ChangeSetClock(rec.sets.back().id).ToString());
    if (args.action == "list")
      std::printf("%llu\t%zu bytes\t%s\t%s\t%s\t%zu change set%s\t%zu cell%s%s%s\n", static_cast<unsigned long long>(r.seq),
                  r.payload.size() + 20, FormatTime(rec.time_us).c_str(), rec.user.c_str(), rec.cause.c_str(),
                  rec.sets.size() + rec.undos.size(), rec.sets.size() + rec.undos.size() == 1 ? "" : "s", n,
                  n == 1 ? "" : "s", rec.sections.empty() && rec.holds.empty() ? "" : " + layers", clock.c_str());
  }
  std::printf("log %s: %zu record%s, %llu bytes, %zu changed cells%s\n", app->log_path().c_str(), log->records.size(),
              log->records.size() == 1 ? "" : "s", static_cast<unsigned long long>(log->valid_bytes), cells,
              log->truncated_tail ? StrCat("; torn tail (an unacknowledged batch): ", log->dropped).c_str() : "");
  return absl::OkStatus();
}

absl::Status RunAudit(const AuditArgs& args) {
  if (args.format != "table" && args.format != "csv")
    return absl::InvalidArgumentError(StrCat("--format '", args.format, "': expected table or csv"));
  QA_ASSIGN_OR_RETURN(auto app, durable::DurableApp::Open(DataFolder(args.data), args.app, ReadOnly()));
  audit::AuditQuery q;
  if (!args.cell.empty()) {
    auto c = app->model().ParseCoordinate(args.cell);
    if (!c.ok()) return absl::Status(c.status().code(), StrCat("--cell '", args.cell, "': ", c.status().message()));
    q.coordinate = app->model().FormatCoordinate(*c);
  }
  q.user = args.user;
  if (!args.since.empty()) {
    QA_ASSIGN_OR_RETURN(q.since_us, ParseTime("--since", args.since));
  }
  if (!args.until.empty()) {
    QA_ASSIGN_OR_RETURN(q.until_us, ParseTime("--until", args.until));
  }
  QA_ASSIGN_OR_RETURN(std::vector<audit::AuditEntry> entries, app->Audit(q));
  if (args.format == "csv") std::printf("time,user,cause,coordinate,before,after,log_seq\n");
  for (const audit::AuditEntry& e : entries) {
    if (args.format == "csv")
      std::printf("%s,%s,%s,\"%s\",%s,%s,%llu\n", FormatTime(e.time_us).c_str(), e.user.c_str(), e.cause.c_str(),
                  e.coordinate.c_str(), Show(e.before).c_str(), Show(e.after).c_str(),
                  static_cast<unsigned long long>(e.log_seq));
    else
      std::printf("%s  %-10s %-8s %s: %s -> %s\n", FormatTime(e.time_us).c_str(), e.user.c_str(), e.cause.c_str(),
                  e.coordinate.c_str(), Show(e.before).c_str(), Show(e.after).c_str());
  }
  if (args.format == "table") std::printf("%zu entr%s\n", entries.size(), entries.size() == 1 ? "y" : "ies");
  return absl::OkStatus();
}

absl::Status RunVerify(const VerifyArgs& args) {
  DataFolder folder(args.data);
  std::vector<std::string> apps;
  if (!args.app.empty()) {
    apps.push_back(args.app);
  } else {
    QA_ASSIGN_OR_RETURN(apps, folder.ListApps());
  }
  absl::Status first;
  for (const std::string& name : apps) {
    // Open checks the snapshot's checksum and replays the log; Verify the audit chain.
    absl::StatusOr<std::string> summary = [&]() -> absl::StatusOr<std::string> {
      QA_ASSIGN_OR_RETURN(auto app, durable::DurableApp::Open(folder, name, ReadOnly()));
      return app->Verify();
    }();
    if (summary.ok()) {
      std::printf("%s\n", summary->c_str());
    } else {
      std::printf("app '%s': FAILED: %s\n", name.c_str(), std::string(summary.status().message()).c_str());
      if (first.ok()) first = summary.status();
    }
  }
  return first;
}

}  // namespace quantatom

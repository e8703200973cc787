#include "server/app_host.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

#include "base/status.h"
#include "base/strings.h"

namespace quantatom {
namespace {

constexpr std::string_view kComments = "comments";
constexpr std::string_view kTargets = "targets";
constexpr std::string_view kSecurity = "security";

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Targets> MakeTargets(const Cube* cube) {
  const AppModel& model = cube->model();
  for (const Dimension& d : model.dimensions) {
    if (d.type() != DimensionType::kScenario) continue;
    auto config = MakeTargetsConfig(model, d.name(), "Budget", "Actual");
    if (config.ok()) return std::make_unique<Targets>(cube, *config);
  }
  return nullptr;
}

// The log length after which the server's checkpointer folds the log into the snapshot.
constexpr uint64_t kCheckpointLogBytes = 64ull << 20;

durable::DurableOptions ServerOptions() {
  durable::DurableOptions o;
  o.lock_timeout = std::chrono::milliseconds(0);  // another writer has it: fail at once
  o.checkpoint_log_bytes = 0;  // AppHost's checkpointer thread takes them (MaybeCheckpoint)
  return o;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AppHost>> AppHost::Open(const std::string& data_dir) {
  std::unique_ptr<AppHost> host(new AppHost(data_dir));
  QA_RETURN_IF_ERROR(host->folder_.Init());
  QA_ASSIGN_OR_RETURN(std::vector<std::string> names, host->folder_.ListApps());
  for (const std::string& name : names) {
    QA_ASSIGN_OR_RETURN(auto durable, durable::DurableApp::Open(host->folder_, name, ServerOptions()));
    if (durable->report().replayed > 0 || durable->report().torn_tail_cut) {
      spdlog::info(R"({{"open":"{}","replayed":{},"torn_tail_cut":{}}})", name, durable->report().replayed,
                   durable->report().torn_tail_cut);
    }
    QA_ASSIGN_OR_RETURN(auto app, host->Bind(std::move(durable)));
    host->apps_[name] = std::move(app);
  }
  return host;
}

absl::StatusOr<std::shared_ptr<HostedApp>> AppHost::Bind(std::unique_ptr<durable::DurableApp> durable) {
  auto app = std::make_shared<HostedApp>();
  app->durable = std::move(durable);
  app->name = app->cube().model().name;
  const AppModel& model = app->cube().model();
  app->comments = std::make_unique<CommentStore>(model);
  if (auto bytes = app->durable->Section(kComments)) {
    QA_ASSIGN_OR_RETURN(app->comments, CommentStore::Decode(model, *bytes));
  }
  app->targets = MakeTargets(&app->cube());
  if (auto bytes = app->durable->Section(kTargets); bytes && app->targets) {
    QA_RETURN_IF_ERROR(app->targets->Decode(*bytes));
  }
  app->security = std::make_unique<AppSecurity>(&model);
  if (auto bytes = app->durable->Section(kSecurity)) QA_RETURN_IF_ERROR(app->security->Decode(*bytes));
  QA_RETURN_IF_ERROR(LoadSandboxes(*app));
  app->audit = std::make_unique<AuditSource>(app->durable.get());
  return app;
}

AppHost::AppHost(std::string data_dir) : folder_(std::move(data_dir)) {
  checkpointer_ = std::thread([this] { CheckpointLoop(); });
}

AppHost::~AppHost() { Close(); }

void AppHost::MaybeCheckpoint(HostedApp& app) {
  if (app.durable->log_bytes() <= kCheckpointLogBytes) return;
  {
    std::lock_guard lock(checkpoint_mu_);
    for (const auto& a : checkpoint_due_)
      if (a.get() == &app) return;
    checkpoint_due_.push_back(app.shared_from_this());
  }
  checkpoint_cv_.notify_one();
}

void AppHost::CheckpointLoop() {
  std::unique_lock lock(checkpoint_mu_);
  while (true) {
    checkpoint_cv_.wait(lock, [&] { return checkpoint_stop_ || !checkpoint_due_.empty(); });
    if (checkpoint_stop_) return;
    std::shared_ptr<HostedApp> app = checkpoint_due_.front();
    checkpoint_due_.erase(checkpoint_due_.begin());
    lock.unlock();
    // The log holds everything either way; a failed checkpoint is tried again after a later write.
    auto st = app->durable->Checkpoint();
    if (!st.ok()) spdlog::error(R"({{"checkpoint":"{}","error":"{}"}})", app->name, std::string(st.message()));
    lock.lock();
  }
}

void AppHost::Close() {
  {
    std::lock_guard lock(checkpoint_mu_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  bus_.CloseAll();
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  for (auto& [name, app] : apps_) {
    if (app->durable->log_bytes() == 0) continue;
    auto st = app->durable->Checkpoint();
    if (!st.ok()) spdlog::error(R"({{"checkpoint":"{}","error":"{}"}})", name, std::string(st.message()));
  }
}

std::vector<std::string> AppHost::AppNames() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, app] : apps_) out.push_back(name);
  return out;
}

std::shared_ptr<HostedApp> AppHost::Find(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = apps_.find(name);
  return it == apps_.end() ? nullptr : it->second;
}

absl::Status AppHost::AddApp(AppModel model, const std::string& user) {
  QA_RETURN_IF_ERROR(ValidateAppName(model.name));
  std::string name = model.name;
  QA_ASSIGN_OR_RETURN(auto cube, Cube::Create(std::move(model)));
  std::lock_guard lock(mu_);
  if (apps_.count(name) || folder_.HasApp(name)) return absl::AlreadyExistsError(StrCat("app '", name, "' exists"));
  QA_ASSIGN_OR_RETURN(auto durable, durable::DurableApp::Create(folder_, std::move(cube), user, false, ServerOptions()));
  QA_ASSIGN_OR_RETURN(auto app, Bind(std::move(durable)));
  apps_[name] = std::move(app);
  return absl::OkStatus();
}

void AppHost::Publish(HostedApp& app, const std::string& user, const std::string& action,
                      std::shared_ptr<const LeafRegion> touched) {
  ChangeEvent e;
  e.app = app.name;
  e.seq = app.cube().CurrentSeq();
  e.user = user;
  e.action = action;
  e.touched = std::move(touched);
  e.commit_unix_nanos = NowNanos();
  bus_.Publish(e);
  MaybeCheckpoint(app);
}

absl::StatusOr<Committed> AppHost::Write(HostedApp& app, const std::string& user, const std::vector<CellWrite>& batch) {
  QA_RETURN_IF_ERROR(app.durable->Write(batch, user));
  const AppModel& model = app.cube().model();
  auto region = std::make_shared<LeafRegion>(LeafRegion::Empty(model));
  for (const CellWrite& w : batch) {
    for (size_t d = 0; d < w.coord.size(); ++d) region->AddLeaf(d, model.dimensions[d].leaf_ordinal(w.coord[d]));
  }
  Committed c;
  c.seq = app.cube().CurrentSeq();
  c.cells = batch.size();
  Publish(app, user, "write", std::move(region));
  return c;
}

absl::StatusOr<Committed> AppHost::WriteVersioned(HostedApp& app, const std::string& user,
                                                  std::span<const VersionedWrite> batch, ConflictPolicy policy,
                                                  const std::string& action) {
  QA_ASSIGN_OR_RETURN(VersionedWriteResult r, app.durable->WriteVersioned(batch, policy, user, action));
  auto region = std::make_shared<LeafRegion>(LeafRegion::Empty(app.cube().model()));
  const KeyLayout& layout = app.cube().layout();
  for (const VersionedWrite& w : batch) {
    for (int d = 0; d < layout.dims(); ++d) region->AddLeaf(d, layout.Get(w.key, d));
  }
  Committed c;
  c.change_set = r.change_set;
  c.seq = app.cube().CurrentSeq();
  c.cells = r.written;
  c.conflicts = std::move(r.conflicts);
  Publish(app, user, action, std::move(region));
  return c;
}

absl::StatusOr<Committed> AppHost::Spread(HostedApp& app, const std::string& user, const Coordinate& target,
                                          const SpreadRequest& request, const std::vector<Coordinate>& holds,
                                          uint64_t seen_version) {
  size_t changed = 0;
  if (seen_version == 0) {
    QA_ASSIGN_OR_RETURN(changed, app.durable->Spread(target, request, holds, user));
  } else {
    QA_RETURN_IF_ERROR(app.durable->Mutate(user, "spread", [&](Cube& cube, durable::Layers&) -> absl::Status {
      const uint64_t now = cube.NewestChangeUnder(std::span<const Coordinate>(&target, 1))[0];
      if (now > seen_version) {
        return absl::AbortedError(StrCat("the cell ", cube.model().FormatCoordinate(target), " changed after version ",
                                         seen_version, " (now ", now, "): read it again"));
      }
      QA_ASSIGN_OR_RETURN(changed, cube.Spread(target, request, holds, user));
      return absl::OkStatus();
    }));
  }
  auto region = std::make_shared<LeafRegion>(LeafRegion::Empty(app.cube().model()));
  for (size_t d = 0; d < target.size(); ++d) region->AddMember(app.cube().model(), d, target[d]);
  Committed c;
  c.seq = app.cube().CurrentSeq();
  c.cells = changed;
  Publish(app, user, "spread", std::move(region));
  return c;
}

absl::StatusOr<Committed> AppHost::Undo(HostedApp& app, const std::string& user, bool redo) {
  QA_ASSIGN_OR_RETURN(uint64_t id, redo ? app.durable->Redo(user) : app.durable->Undo(user));
  Committed c;
  c.change_set = id;
  c.seq = app.cube().CurrentSeq();
  Publish(app, user, redo ? "redo" : "undo", std::make_shared<LeafRegion>());  // the whole app
  return c;
}

absl::Status AppHost::SetHold(HostedApp& app, const std::string& user, const Coordinate& coord, bool held) {
  return app.durable->SetHold(user, coord, held);
}

absl::StatusOr<CommentId> AppHost::AddComment(HostedApp& app, const std::string& user, const Coordinate& at,
                                              CommentId parent, const NewComment& c) {
  std::lock_guard lock(app.layers_mu);
  const std::string before = app.comments->Encode();
  QA_ASSIGN_OR_RETURN(CommentId id, parent == kNoComment ? app.comments->Post(at, c) : app.comments->Reply(parent, c));
  auto st = app.durable->SetSection(kComments, app.comments->Encode(), user, "comment");
  if (!st.ok()) {
    // Not durable: back to the comments as they were.
    if (auto restored = CommentStore::Decode(app.cube().model(), before); restored.ok()) app.comments = std::move(*restored);
    return st;
  }
  return id;
}

absl::Status AppHost::SetTarget(HostedApp& app, const std::string& user, const Target& target) {
  if (!app.targets) return absl::FailedPreconditionError("this app has no scenario dimension with Budget and Actual");
  std::lock_guard lock(app.layers_mu);
  const std::string before = app.targets->Encode();
  QA_RETURN_IF_ERROR(app.targets->Set(target));
  auto st = app.durable->SetSection(kTargets, app.targets->Encode(), user, "target");
  if (!st.ok()) (void)app.targets->Decode(before);
  return st;
}

absl::Status AppHost::RemoveTarget(HostedApp& app, const std::string& user, const Coordinate& coord) {
  if (!app.targets) return absl::FailedPreconditionError("this app has no scenario dimension with Budget and Actual");
  std::lock_guard lock(app.layers_mu);
  const std::string before = app.targets->Encode();
  QA_RETURN_IF_ERROR(app.targets->Remove(coord));
  auto st = app.durable->SetSection(kTargets, app.targets->Encode(), user, "target");
  if (!st.ok()) (void)app.targets->Decode(before);
  return st;
}

absl::Status AppHost::SetRule(HostedApp& app, const std::string& user, const std::string& role, int dim,
                              DimensionRule rule) {
  std::lock_guard lock(app.layers_mu);
  const std::string before = app.security->Encode();
  QA_RETURN_IF_ERROR(app.security->SetRule(role, dim, std::move(rule)));
  auto st = app.durable->SetSection(kSecurity, app.security->Encode(), user, "security");
  if (!st.ok()) (void)app.security->Decode(before);
  return st;
}

absl::Status AppHost::SetTotalsPolicy(HostedApp& app, const std::string& user, TotalsPolicy policy) {
  std::lock_guard lock(app.layers_mu);
  const std::string before = app.security->Encode();
  app.security->SetTotalsPolicy(policy);
  auto st = app.durable->SetSection(kSecurity, app.security->Encode(), user, "security");
  if (!st.ok()) (void)app.security->Decode(before);
  return st;
}

}  // namespace quantatom

// ---------------- Sandboxes

namespace quantatom {
namespace {

constexpr std::string_view kSandboxes = "sandboxes";  // index: owner \t name \t base_seq per line
constexpr std::string_view kBridges = "bridges";      // in the target: source \t sdim \t tdim \t rules

std::string SandboxKey(const std::string& user, const std::string& name) { return StrCat(user, "/", name); }
std::string SandboxSection(const std::string& user, const std::string& name) {
  return StrCat("sandbox:", SandboxKey(user, name));
}

std::vector<std::vector<std::string>> Lines(const std::optional<std::string>& bytes, size_t fields) {
  std::vector<std::vector<std::string>> out;
  if (!bytes) return out;
  size_t p = 0;
  while (p < bytes->size()) {
    size_t e = bytes->find('\n', p);
    if (e == std::string::npos) e = bytes->size();
    std::vector<std::string> f;
    size_t q = p;
    while (true) {
      size_t t = bytes->find('\t', q);
      if (t == std::string::npos || t > e) t = e;
      f.push_back(bytes->substr(q, t - q));
      if (t == e) break;
      q = t + 1;
    }
    if (f.size() == fields) out.push_back(std::move(f));
    p = e + 1;
  }
  return out;
}

absl::Status CheckSandboxName(const std::string& name) {
  if (name.empty() || name.size() > 64) return absl::InvalidArgumentError("sandbox name: 1 to 64 characters");
  for (char c : name) {
    if (c == '/' || c == '\t' || c == '\n' || static_cast<unsigned char>(c) < 0x20) {
      return absl::InvalidArgumentError(StrCat("sandbox name '", name, "': no '/', tabs or control characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status NoSandbox(const std::string& user, const std::string& name) {
  return absl::NotFoundError(StrCat("user '", user, "' has no open sandbox '", name, "'"));
}

}  // namespace

absl::Status AppHost::LoadSandboxes(HostedApp& app) {
  for (const auto& f : Lines(app.durable->Section(kSandboxes), 3)) {
    auto bytes = app.durable->Section(SandboxSection(f[0], f[1]));
    if (!bytes) return absl::DataLossError(StrCat("app '", app.name, "': sandbox section of ", f[0], "/", f[1], " is missing"));
    QA_ASSIGN_OR_RETURN(auto box, Sandbox::Restore(app.durable->mutable_cube(), f[0], *bytes, SandboxKey(f[0], f[1])));
    app.sandboxes[SandboxKey(f[0], f[1])] = std::move(box);
    app.sandbox_base_seq[SandboxKey(f[0], f[1])] = std::strtoull(f[2].c_str(), nullptr, 10);
  }
  return absl::OkStatus();
}

std::string AppHost::SandboxIndexLocked(const HostedApp& app) const {
  std::string out;
  for (const auto& [key, box] : app.sandboxes) {
    const std::string& owner = box->user();
    out += StrCat(owner, "\t", key.substr(owner.size() + 1), "\t", app.sandbox_base_seq.at(key), "\n");
  }
  return out;
}

absl::StatusOr<SandboxSummary> AppHost::CreateSandbox(HostedApp& app, const std::string& user, const std::string& name) {
  QA_RETURN_IF_ERROR(CheckSandboxName(name));
  std::lock_guard lock(app.layers_mu);
  const std::string key = SandboxKey(user, name);
  if (app.sandboxes.count(key)) {
    return absl::AlreadyExistsError(StrCat("user '", user, "' already has an open sandbox '", name, "'"));
  }
  auto box = std::make_shared<Sandbox>(app.durable->mutable_cube(), user);
  const uint64_t base = app.cube().CurrentSeq();
  app.sandboxes[key] = box;
  app.sandbox_base_seq[key] = base;
  const std::string index = SandboxIndexLocked(app);
  auto st = app.durable->Mutate(user, "sandbox open", [&](Cube&, durable::Layers& layers) {
    layers.Set(SandboxSection(user, name), box->Encode());
    layers.Set(kSandboxes, index);
    return absl::OkStatus();
  });
  if (!st.ok()) {
    app.sandboxes.erase(key);
    app.sandbox_base_seq.erase(key);
    return st;
  }
  return SandboxSummary{user, name, base, 0, box->replica(), box->Clock()};
}

absl::StatusOr<std::shared_ptr<Sandbox>> AppHost::FindSandbox(HostedApp& app, const std::string& user,
                                                              const std::string& name) {
  std::lock_guard lock(app.layers_mu);
  auto it = app.sandboxes.find(SandboxKey(user, name));
  if (it == app.sandboxes.end()) return NoSandbox(user, name);
  return it->second;
}

std::vector<SandboxSummary> AppHost::ListSandboxes(HostedApp& app, const std::string& user) {
  std::lock_guard lock(app.layers_mu);
  std::vector<SandboxSummary> out;
  for (const auto& [key, box] : app.sandboxes) {
    if (box->user() != user) continue;
    out.push_back(
        {user, key.substr(user.size() + 1), app.sandbox_base_seq[key], box->size(), box->replica(), box->Clock()});
  }
  return out;
}

absl::Status AppHost::ChangeSandbox(HostedApp& app, const std::string& user, const std::string& name,
                                    const std::function<absl::Status(Sandbox&)>& fn) {
  std::lock_guard lock(app.layers_mu);
  const std::string key = SandboxKey(user, name);
  auto it = app.sandboxes.find(key);
  if (it == app.sandboxes.end()) return NoSandbox(user, name);
  Sandbox& box = *it->second;
  const std::string before = box.Encode();
  QA_RETURN_IF_ERROR(fn(box));
  auto st = app.durable->SetSection(SandboxSection(user, name), box.Encode(), user, "sandbox write");
  if (!st.ok()) {
    // Not durable: back to the sandbox as it was.
    if (auto restored = Sandbox::Restore(app.durable->mutable_cube(), user, before, key); restored.ok()) {
      it->second = std::move(*restored);
    }
  }
  return st;
}

absl::StatusOr<Committed> AppHost::CommitSandbox(HostedApp& app, const std::string& user, const std::string& name,
                                                 ConflictPolicy policy) {
  std::lock_guard lock(app.layers_mu);
  const std::string key = SandboxKey(user, name);
  auto it = app.sandboxes.find(key);
  if (it == app.sandboxes.end()) return NoSandbox(user, name);
  std::shared_ptr<Sandbox> box = it->second;
  const size_t cells = box->size();
  app.sandboxes.erase(it);
  const uint64_t base = app.sandbox_base_seq[key];
  app.sandbox_base_seq.erase(key);
  const std::string index = SandboxIndexLocked(app);
  SandboxCommit result;
  auto st = app.durable->Mutate(user, "sandbox commit", [&](Cube&, durable::Layers& layers) -> absl::Status {
    QA_ASSIGN_OR_RETURN(result, box->Commit(policy));
    layers.Remove(SandboxSection(user, name));
    layers.Set(kSandboxes, index);
    return absl::OkStatus();
  });
  if (!st.ok()) {
    // Aborted on conflicts, or not durable: the sandbox stays open as it was.
    if (box->size() == cells) {
      app.sandboxes[key] = box;
      app.sandbox_base_seq[key] = base;
    }
    return st;
  }
  Committed c;
  c.change_set = result.change_set;
  c.seq = app.cube().CurrentSeq();
  c.cells = result.written;
  c.conflicts = std::move(result.conflicts);
  c.superseded = result.superseded;
  Publish(app, user, "sandbox commit", std::make_shared<LeafRegion>());  // the whole app
  return c;
}

absl::StatusOr<SandboxMerged> AppHost::MergeSandbox(HostedApp& app, const std::string& user, const std::string& into,
                                                    const std::string& from, ConflictPolicy policy) {
  if (into == from) return absl::InvalidArgumentError(StrCat("cannot merge sandbox '", into, "' into itself"));
  std::lock_guard lock(app.layers_mu);
  const std::string key = SandboxKey(user, into);
  auto it = app.sandboxes.find(key);
  if (it == app.sandboxes.end()) return NoSandbox(user, into);
  auto other = app.sandboxes.find(SandboxKey(user, from));
  if (other == app.sandboxes.end()) return NoSandbox(user, from);
  Sandbox& box = *it->second;
  const std::string before = box.Encode();
  SandboxMerged out;
  QA_ASSIGN_OR_RETURN(out.merge, box.MergeFrom(*other->second, policy));
  auto st = app.durable->SetSection(SandboxSection(user, into), box.Encode(), user, "sandbox merge");
  if (!st.ok()) {
    // Not durable: back to the sandbox as it was.
    if (auto restored = Sandbox::Restore(app.durable->mutable_cube(), user, before, key); restored.ok()) {
      it->second = std::move(*restored);
    }
    return st;
  }
  out.into = {user, into, app.sandbox_base_seq[key], box.size(), box.replica(), box.Clock()};
  return out;
}

absl::StatusOr<SandboxSummary> AppHost::DiscardSandbox(HostedApp& app, const std::string& user,
                                                       const std::string& name) {
  std::lock_guard lock(app.layers_mu);
  const std::string key = SandboxKey(user, name);
  auto it = app.sandboxes.find(key);
  if (it == app.sandboxes.end()) return NoSandbox(user, name);
  std::shared_ptr<Sandbox> box = it->second;
  const uint64_t base = app.sandbox_base_seq[key];
  app.sandboxes.erase(it);
  app.sandbox_base_seq.erase(key);
  const std::string index = SandboxIndexLocked(app);
  auto st = app.durable->Mutate(user, "sandbox discard", [&](Cube&, durable::Layers& layers) {
    layers.Remove(SandboxSection(user, name));
    layers.Set(kSandboxes, index);
    return absl::OkStatus();
  });
  if (!st.ok()) {
    app.sandboxes[key] = box;
    app.sandbox_base_seq[key] = base;
    return st;
  }
  SandboxSummary out{user, name, base, box->size()};
  (void)box->Discard();
  return out;
}

// ---------------- Bridges

absl::StatusOr<BridgeRun> AppHost::RunBridge(HostedApp& source, HostedApp& target, const std::string& user,
                                             const std::string& source_dim, const std::string& target_dim,
                                             const BridgeRules& rules) {
  if (&source == &target) return absl::InvalidArgumentError("a bridge needs two different apps");
  const AppModel& sm = source.cube().model();
  const AppModel& tm = target.cube().model();
  const int sd = sm.FindDimension(source_dim);
  const int td = tm.FindDimension(target_dim);
  if (sd < 0) return absl::NotFoundError(StrCat("app '", source.name, "' has no dimension '", source_dim, "'"));
  if (td < 0) return absl::NotFoundError(StrCat("app '", target.name, "' has no dimension '", target_dim, "'"));
  BridgeRun run;
  ResolvedBridge resolved = ResolveBridge(sm.dimensions[sd], tm.dimensions[td], rules);
  run.report = resolved.report;
  QA_RETURN_IF_ERROR(resolved.report.ToStatus());
  QA_ASSIGN_OR_RETURN(Bridge bridge, Bridge::Create(sm, tm, source_dim, target_dim, std::move(resolved)));
  QA_ASSIGN_OR_RETURN(KeyValues bridged, bridge.Materialize(source.cube()));
  const std::string section = StrCat("bridged:", source.name);
  std::lock_guard lock(target.layers_mu);
  std::vector<BridgeSummary> others;
  std::string list;
  for (const auto& f : Lines(target.durable->Section(kBridges), 4)) {
    if (f[0] != source.name) list += StrCat(f[0], "\t", f[1], "\t", f[2], "\t", f[3], "\n");
  }
  list += StrCat(source.name, "\t", source_dim, "\t", target_dim, "\t", rules.rules.size(), "\n");
  size_t changed = 0;
  auto st = target.durable->Mutate(user, "bridge", [&](Cube& cube, durable::Layers& layers) -> absl::Status {
    // Replace what this source bridged last time: cells written then and not now are cleared.
    std::vector<uint64_t> previous;
    if (const std::string* prev = layers.Get(section)) {
      if (prev->size() % 8 != 0) return absl::DataLossError(StrCat("the ", section, " section is damaged"));
      previous.resize(prev->size() / 8);
      std::memcpy(previous.data(), prev->data(), prev->size());
    }
    std::string keys;
    keys.reserve(bridged.size() * 8);
    std::vector<CellWrite> writes;
    writes.reserve(bridged.size() + previous.size());
    const KeyLayout& layout = cube.layout();
    auto coord_of = [&](uint64_t key) {
      Coordinate c(layout.dims());
      for (int d = 0; d < layout.dims(); ++d) c[d] = tm.dimensions[d].leaf_member(layout.Get(key, d));
      return c;
    };
    for (const KeyValue& kv : bridged) {
      keys.append(reinterpret_cast<const char*>(&kv.key), 8);
      writes.push_back({coord_of(kv.key), CellValue::Number(kv.value)});
    }
    size_t i = 0;
    for (uint64_t key : previous) {
      while (i < bridged.size() && bridged[i].key < key) ++i;
      if (i == bridged.size() || bridged[i].key != key) writes.push_back({coord_of(key), CellValue::Empty()});
    }
    WriteOptions options;
    options.action = "bridge";
    options.allow_read_only = true;  // bridged actuals land in the read-only Actual scenario
    QA_RETURN_IF_ERROR(cube.Write(writes, user, options));
    changed = writes.size();
    layers.Set(section, std::move(keys));
    layers.Set(kBridges, list);
    return absl::OkStatus();
  });
  QA_RETURN_IF_ERROR(st);
  run.committed.seq = target.cube().CurrentSeq();
  run.committed.cells = changed;
  Publish(target, user, "bridge", std::make_shared<LeafRegion>());  // the whole app
  return run;
}

std::vector<BridgeSummary> AppHost::ListBridges(const std::string& app) const {
  std::vector<BridgeSummary> out;
  std::vector<std::shared_ptr<HostedApp>> apps;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, a] : apps_) apps.push_back(a);
  }
  for (const auto& target : apps) {
    for (const auto& f : Lines(target->durable->Section(kBridges), 4)) {
      if (target->name != app && f[0] != app) continue;
      out.push_back({f[0], target->name, f[1], f[2], static_cast<uint32_t>(std::strtoul(f[3].c_str(), nullptr, 10))});
    }
  }
  return out;
}

}  // namespace quantatom

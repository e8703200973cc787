#include "server/app_host.h"

#include <spdlog/spdlog.h>

#include <chrono>

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

durable::DurableOptions ServerOptions() {
  durable::DurableOptions o;
  o.lock_timeout = std::chrono::milliseconds(0);  // another writer has it: fail at once
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
  return app;
}

AppHost::~AppHost() { Close(); }

void AppHost::Close() {
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
                                                  std::vector<VersionedWrite> batch, ConflictPolicy policy,
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
                                          const SpreadRequest& request, const std::vector<Coordinate>& holds) {
  QA_ASSIGN_OR_RETURN(size_t changed, app.durable->Spread(target, request, holds, user));
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

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

}  // namespace

AppHost::AppHost(std::string data_dir, std::chrono::milliseconds save_interval)
    : folder_(std::move(data_dir)), save_interval_(save_interval) {}

absl::StatusOr<std::unique_ptr<AppHost>> AppHost::Open(const std::string& data_dir,
                                                       std::chrono::milliseconds save_interval) {
  std::unique_ptr<AppHost> host(new AppHost(data_dir, save_interval));
  QA_RETURN_IF_ERROR(host->folder_.Init());
  QA_ASSIGN_OR_RETURN(std::vector<std::string> names, host->folder_.ListApps());
  for (const std::string& name : names) {
    QA_ASSIGN_OR_RETURN(auto app, host->Load(name));
    host->apps_[name] = std::move(app);
  }
  host->saver_ = std::thread([h = host.get()] { h->SaverLoop(); });
  return host;
}

absl::StatusOr<std::shared_ptr<HostedApp>> AppHost::Load(const std::string& name) {
  auto app = std::make_shared<HostedApp>();
  app->name = name;
  QA_ASSIGN_OR_RETURN(AppLock lock, AppLock::Acquire(folder_, name, std::chrono::milliseconds(0)));
  app->lock.emplace(std::move(lock));
  SnapshotSections sections;
  QA_ASSIGN_OR_RETURN(app->cube, folder_.LoadApp(name, &sections));
  app->comments = std::make_unique<CommentStore>(app->cube->model());
  app->targets = MakeTargets(app->cube.get());
  app->security = std::make_unique<AppSecurity>(&app->cube->model());
  for (auto& [section, body] : sections) {
    if (section == kComments) {
      QA_ASSIGN_OR_RETURN(app->comments, CommentStore::Decode(app->cube->model(), body));
    } else if (section == kTargets && app->targets) {
      QA_RETURN_IF_ERROR(app->targets->Decode(body));
    } else if (section == kSecurity) {
      QA_RETURN_IF_ERROR(app->security->Decode(body));
    } else {
      app->other_sections.emplace_back(section, std::move(body));
    }
  }
  return app;
}

AppHost::~AppHost() { Close(); }

void AppHost::Close() {
  {
    std::lock_guard lock(saver_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  saver_cv_.notify_all();
  if (saver_.joinable()) saver_.join();
  bus_.CloseAll();
  std::lock_guard lock(mu_);
  for (auto& [name, app] : apps_) {
    if (app->dirty.load()) {
      auto st = Save(*app);
      if (!st.ok()) spdlog::error("{{\"save\":\"{}\",\"error\":\"{}\"}}", name, std::string(st.message()));
    }
  }
}

void AppHost::SaverLoop() {
  std::unique_lock lock(saver_mu_);
  while (!stopping_) {
    saver_cv_.wait_for(lock, save_interval_, [&] { return stopping_; });
    if (stopping_) break;
    std::vector<std::shared_ptr<HostedApp>> apps;
    {
      std::lock_guard apps_lock(mu_);
      for (auto& [name, app] : apps_) apps.push_back(app);
    }
    lock.unlock();
    for (auto& app : apps) {
      if (!app->dirty.load()) continue;
      auto st = Save(*app);
      if (!st.ok()) spdlog::error("{{\"save\":\"{}\",\"error\":\"{}\"}}", app->name, std::string(st.message()));
    }
    lock.lock();
  }
}

absl::Status AppHost::Save(HostedApp& app) {
  app.dirty.store(false);
  SnapshotSections sections = app.other_sections;
  {
    std::lock_guard lock(app.layers_mu);
    sections.emplace_back(std::string(kComments), app.comments->Encode());
    if (app.targets) sections.emplace_back(std::string(kTargets), app.targets->Encode());
    sections.emplace_back(std::string(kSecurity), app.security->Encode());
  }
  auto st = folder_.SaveApp(*app.cube, sections);
  if (!st.ok()) app.dirty.store(true);
  return st;
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

absl::Status AppHost::AddApp(AppModel model) {
  QA_RETURN_IF_ERROR(ValidateAppName(model.name));
  std::string name = model.name;
  QA_ASSIGN_OR_RETURN(auto cube, Cube::Create(std::move(model)));
  auto app = std::make_shared<HostedApp>();
  app->name = name;
  app->cube = std::move(cube);
  app->comments = std::make_unique<CommentStore>(app->cube->model());
  app->targets = MakeTargets(app->cube.get());
  app->security = std::make_unique<AppSecurity>(&app->cube->model());
  std::lock_guard lock(mu_);
  if (apps_.count(name) || folder_.HasApp(name)) return absl::AlreadyExistsError(StrCat("app '", name, "' exists"));
  QA_ASSIGN_OR_RETURN(AppLock app_lock, AppLock::Acquire(folder_, name, std::chrono::milliseconds(0)));
  app->lock.emplace(std::move(app_lock));
  QA_RETURN_IF_ERROR(Save(*app));
  apps_[name] = std::move(app);
  return absl::OkStatus();
}

void AppHost::Publish(HostedApp& app, const std::string& user, const std::string& action,
                      std::shared_ptr<const LeafRegion> touched) {
  app.dirty.store(true);
  ChangeEvent e;
  e.app = app.name;
  e.seq = app.cube->CurrentSeq();
  e.user = user;
  e.action = action;
  e.touched = std::move(touched);
  e.commit_unix_nanos = NowNanos();
  bus_.Publish(e);
}

absl::StatusOr<Committed> AppHost::Write(HostedApp& app, const std::string& user, const std::vector<CellWrite>& batch) {
  QA_RETURN_IF_ERROR(app.cube->Write(batch, user));
  auto region = std::make_shared<LeafRegion>(LeafRegion::Empty(app.cube->model()));
  const AppModel& model = app.cube->model();
  for (const CellWrite& w : batch) {
    for (size_t d = 0; d < w.coord.size(); ++d) region->AddLeaf(d, model.dimensions[d].leaf_ordinal(w.coord[d]));
  }
  Committed c;
  c.seq = app.cube->CurrentSeq();
  c.cells = batch.size();
  Publish(app, user, "write", std::move(region));
  return c;
}

absl::StatusOr<Committed> AppHost::WriteVersioned(HostedApp& app, const std::string& user,
                                                  std::vector<VersionedWrite> batch, ConflictPolicy policy,
                                                  const std::string& action) {
  QA_ASSIGN_OR_RETURN(VersionedWriteResult r, app.cube->WriteVersioned(batch, policy, user, action));
  auto region = std::make_shared<LeafRegion>(LeafRegion::Empty(app.cube->model()));
  const KeyLayout& layout = app.cube->layout();
  for (const VersionedWrite& w : batch) {
    for (int d = 0; d < layout.dims(); ++d) region->AddLeaf(d, layout.Get(w.key, d));
  }
  Committed c;
  c.change_set = r.change_set;
  c.seq = app.cube->CurrentSeq();
  c.cells = r.written;
  c.conflicts = std::move(r.conflicts);
  Publish(app, user, action, std::move(region));
  return c;
}

absl::StatusOr<Committed> AppHost::Spread(HostedApp& app, const std::string& user, const Coordinate& target,
                                          const SpreadRequest& request, const std::vector<Coordinate>& holds) {
  QA_ASSIGN_OR_RETURN(size_t changed, app.cube->Spread(target, request, holds, user));
  auto region = std::make_shared<LeafRegion>(LeafRegion::Empty(app.cube->model()));
  for (size_t d = 0; d < target.size(); ++d) region->AddMember(app.cube->model(), d, target[d]);
  Committed c;
  c.seq = app.cube->CurrentSeq();
  c.cells = changed;
  Publish(app, user, "spread", std::move(region));
  return c;
}

absl::StatusOr<Committed> AppHost::Undo(HostedApp& app, const std::string& user, bool redo) {
  QA_ASSIGN_OR_RETURN(uint64_t id, redo ? app.cube->Redo(user) : app.cube->Undo(user));
  Committed c;
  c.change_set = id;
  c.seq = app.cube->CurrentSeq();
  Publish(app, user, redo ? "redo" : "undo", std::make_shared<LeafRegion>());  // whole app
  return c;
}

absl::Status AppHost::SetHold(HostedApp& app, const std::string& user, const Coordinate& coord, bool held) {
  QA_RETURN_IF_ERROR(app.cube->SetHold(user, coord, held));
  app.dirty.store(true);
  return absl::OkStatus();
}

absl::StatusOr<CommentId> AppHost::AddComment(HostedApp& app, const Coordinate& at, CommentId parent,
                                              const NewComment& c) {
  std::lock_guard lock(app.layers_mu);
  absl::StatusOr<CommentId> id = parent == kNoComment ? app.comments->Post(at, c) : app.comments->Reply(parent, c);
  if (id.ok()) app.dirty.store(true);
  return id;
}

absl::Status AppHost::SetTarget(HostedApp& app, const Target& target) {
  if (!app.targets) return absl::FailedPreconditionError("this app has no scenario dimension with Budget and Actual");
  std::lock_guard lock(app.layers_mu);
  QA_RETURN_IF_ERROR(app.targets->Set(target));
  app.dirty.store(true);
  return absl::OkStatus();
}

absl::Status AppHost::RemoveTarget(HostedApp& app, const Coordinate& coord) {
  if (!app.targets) return absl::FailedPreconditionError("this app has no scenario dimension with Budget and Actual");
  std::lock_guard lock(app.layers_mu);
  QA_RETURN_IF_ERROR(app.targets->Remove(coord));
  app.dirty.store(true);
  return absl::OkStatus();
}

absl::Status AppHost::SetRule(HostedApp& app, const std::string& role, int dim, DimensionRule rule) {
  std::lock_guard lock(app.layers_mu);
  QA_RETURN_IF_ERROR(app.security->SetRule(role, dim, std::move(rule)));
  app.dirty.store(true);
  return absl::OkStatus();
}

void AppHost::SetTotalsPolicy(HostedApp& app, TotalsPolicy policy) {
  std::lock_guard lock(app.layers_mu);
  app.security->SetTotalsPolicy(policy);
  app.dirty.store(true);
}

}  // namespace quantatom

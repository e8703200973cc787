#include "server/live_grids.h"

#include <google/protobuf/util/json_util.h>

#include <chrono>

#include "api/quantatom/v1/grid.pb.h"
#include "base/strings.h"

namespace quantatom {
namespace {

namespace v1 = ::quantatom::v1;

v1::CellKind KindOf(const CellValue& v, bool hidden) {
  if (hidden) return v1::CELL_KIND_HIDDEN;
  if (v.is_number()) return v1::CELL_KIND_NUMBER;
  if (v.is_text()) return v1::CELL_KIND_TEXT;
  return v1::CELL_KIND_EMPTY;
}

void AddCell(const SecureGrid& g, size_t i, v1::GridChange* out) {
  v1::CellUpdate* u = out->add_cells();
  u->set_row(static_cast<uint32_t>(i / g.grid.cols));
  u->set_col(static_cast<uint32_t>(i % g.grid.cols));
  const CellValue& v = g.grid.cells[i];
  const bool hidden = g.hidden[i];
  u->set_kind(KindOf(v, hidden));
  if (v.is_number() && !hidden) u->set_number(v.number);
  if (v.is_text() && !hidden) u->set_text(v.text);
}

Broadcaster::Frame Encode(const v1::GridChange& change, bool json) {
  std::string payload;
  if (json) {
    (void)google::protobuf::util::MessageToJsonString(change, &payload);
  } else {
    change.SerializeToString(&payload);
  }
  return std::make_shared<const std::string>(ConnectChunk(0, payload));
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LiveGrids::LiveGrids(AppHost* host, Broadcaster* out, Metrics* metrics, bool rights_cache, Cube::ReadOptions read)
    : host_(host), out_(out), metrics_(metrics), rights_cache_(rights_cache), read_(read) {
  listener_ = host_->bus().AddListener(
      [this](const ChangeEvent& e) {
        if (streams_.load(std::memory_order_acquire) == 0) return;  // see Add
        bool post = false;
        {
          std::lock_guard lock(pending_mu_);
          pending_.push_back(e);
          post = !flush_posted_;
          flush_posted_ = true;
        }
        if (post) out_->Post([this] { Flush(); });
      },
      [this] {
        out_->Post([this] {
          flushing_ = true;
          for (auto& [key, g] : groups_) {
            auto members = g.members;
            for (const Member& m : members) out_->End(m.id, absl::UnavailableError("the server is stopping"));
          }
          flushing_ = false;
          std::erase_if(groups_, [](const auto& kv) { return kv.second.members.empty(); });
        });
      });
}

LiveGrids::~LiveGrids() { host_->bus().RemoveListener(listener_); }

absl::StatusOr<SecureGrid> LiveGrids::Read(const Group& g) const {
  const HostedApp& app = *g.spec.app;
  auto rights = app.security->Compile(g.spec.user->roles, g.spec.user->admin, rights_cache_);
  return QueryAs(app.cube(), g.spec.query, *rights, app.security->totals_policy(), read_);
}

void LiveGrids::Add(Spec spec, DetachedStream stream) {
  // Counted before the task is posted: a change committed from now on is queued for the loop,
  // and one committed before is in the snapshot, which the loop reads after the commit.
  streams_.fetch_add(1, std::memory_order_acq_rel);
  auto task = [this, spec = std::move(spec), stream = std::move(stream)]() mutable {
    std::string key = StrCat(spec.app->name, std::string_view("\0", 1), spec.grid_key, std::string_view("\0", 1),
                             spec.user->admin ? "admin" : "-");
    for (const std::string& r : spec.user->roles) key += StrCat(std::string_view("\0", 1), r);
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      Group g;
      g.spec = std::move(spec);
      g.seq = g.spec.app->cube().CurrentSeq();
      auto grid = Read(g);
      if (!grid.ok()) {
        Broadcaster::StreamId id = out_->Add(std::move(stream), nullptr, [this] { streams_.fetch_sub(1); });
        out_->End(id, grid.status());
        return;
      }
      g.last = std::make_shared<const SecureGrid>(std::move(*grid));
      it = groups_.emplace(key, std::move(g)).first;
    }
    Group& g = it->second;
    const bool json = stream.json;
    if (!g.snapshot[json]) {
      v1::GridChange first;
      first.set_snapshot(true);
      first.set_seq(g.seq);
      for (size_t i = 0; i < g.last->grid.cells.size(); ++i) AddCell(*g.last, i, &first);
      g.snapshot[json] = Encode(first, json);
    }
    auto id_holder = std::make_shared<Broadcaster::StreamId>(0);
    Broadcaster::StreamId id = out_->Add(std::move(stream), g.snapshot[json], [this, key, id_holder] {
      streams_.fetch_sub(1, std::memory_order_acq_rel);
      if (*id_holder == 0) return;  // closed inside Add: never a member
      group_of_.erase(*id_holder);
      auto git = groups_.find(key);
      if (git == groups_.end()) return;
      std::erase_if(git->second.members, [&](const Member& m) { return m.id == *id_holder; });
      // Empty groups are removed by Flush and here, never while Flush walks them.
      if (git->second.members.empty() && !flushing_) groups_.erase(git);
    });
    if (!out_->alive(id)) {
      if (g.members.empty()) groups_.erase(key);
      return;
    }
    *id_holder = id;
    g.members.push_back({id, json});
    group_of_[id] = key;
  };
  out_->Post(std::move(task));
}

void LiveGrids::Flush() {
  std::vector<ChangeEvent> events;
  {
    std::lock_guard lock(pending_mu_);
    events.swap(pending_);
    flush_posted_ = false;
  }
  flushing_ = true;
  for (auto& [key, g] : groups_) {
    const ChangeEvent* first = nullptr;
    const ChangeEvent* newest = nullptr;
    for (const ChangeEvent& e : events) {
      if (e.app != g.spec.app->name || !e.touched->Intersects(g.spec.region)) continue;
      if (first == nullptr) first = &e;
      newest = &e;
    }
    if (first == nullptr || g.members.empty()) continue;
    auto now = Read(g);
    const std::vector<Member> members = g.members;  // Send may close a stream (its client gone)
    if (!now.ok()) {
      for (const Member& m : members) out_->End(m.id, now.status());
      continue;
    }
    v1::GridChange change;
    change.set_seq(newest->seq);
    change.set_user(newest->user);
    change.set_action(newest->action);
    change.set_commit_unix_nanos(first->commit_unix_nanos);
    const SecureGrid& before = *g.last;
    for (size_t i = 0; i < now->grid.cells.size(); ++i) {
      if (now->grid.cells[i] == before.grid.cells[i] && now->hidden[i] == before.hidden[i]) continue;
      AddCell(*now, i, &change);
    }
    g.last = std::make_shared<const SecureGrid>(std::move(*now));
    g.seq = newest->seq;
    g.snapshot[0] = g.snapshot[1] = nullptr;
    if (change.cells_size() == 0) continue;
    Broadcaster::Frame frames[2];
    for (const Member& m : members) {
      if (!frames[m.json]) frames[m.json] = Encode(change, m.json);
      out_->Send(m.id, frames[m.json]);
    }
    metrics_->Observe("quantatom_change_delivery_seconds",
                      "Commit of a change set to the moment its frame was handed to every subscriber's socket.",
                      (NowNanos() - first->commit_unix_nanos) * 1e-9);
  }
  flushing_ = false;
  std::erase_if(groups_, [](const auto& kv) { return kv.second.members.empty(); });
}

}  // namespace quantatom

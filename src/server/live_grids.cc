#include "server/live_grids.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
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
        // On this (the committing) thread when the loop is idle: no wake-up between the commit
        // and the sockets (broadcaster.h, RunSoon).
        if (post) out_->RunSoon([this] { Flush(); });
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

namespace {

// Per tuple of `axis`, per axis dimension: the leaves below the tuple's member, as bit words.
std::vector<std::vector<std::vector<uint64_t>>> AxisLeaves(const AppModel& model, const Axis& axis) {
  std::vector<std::vector<std::vector<uint64_t>>> out(axis.tuples.size());
  for (size_t t = 0; t < axis.tuples.size(); ++t) {
    for (size_t k = 0; k < axis.dims.size() && k < axis.tuples[t].size(); ++k) {
      const Dimension& dim = model.dimensions[axis.dims[k]];
      std::vector<uint64_t> bits((dim.leaf_count() + 63) / 64, 0);
      for (auto [ordinal, weight] : dim.LeavesUnder(axis.tuples[t][k])) bits[ordinal >> 6] |= uint64_t{1} << (ordinal & 63);
      out[t].push_back(std::move(bits));
    }
  }
  return out;
}

bool AnyCommon(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  for (size_t w = 0; w < a.size() && w < b.size(); ++w) {
    if (a[w] & b[w]) return true;
  }
  return false;
}

// The tuples of an axis that lie over a touched leaf in every axis dimension, for any event.
std::vector<uint32_t> TouchedTuples(const Axis& axis, const std::vector<std::vector<std::vector<uint64_t>>>& leaves,
                                    const std::vector<const ChangeEvent*>& events) {
  std::vector<uint32_t> out;
  for (size_t t = 0; t < leaves.size(); ++t) {
    for (const ChangeEvent* e : events) {
      bool all = true;
      for (size_t k = 0; k < leaves[t].size() && all; ++k) all = AnyCommon(leaves[t][k], e->touched->dims[axis.dims[k]]);
      if (all) {
        out.push_back(static_cast<uint32_t>(t));
        break;
      }
    }
  }
  return out;
}

}  // namespace

absl::Status LiveGrids::ReadAll(Group& g, std::vector<uint32_t>* changed) {
  const HostedApp& app = *g.spec.app;
  g.rights = app.security->Compile(g.spec.user->roles, g.spec.user->admin, rights_cache_);
  g.policy = app.security->totals_policy();
  auto now = QueryAs(app.cube(), g.spec.query, *g.rights, g.policy, read_);
  if (!now.ok()) return now.status();
  if (changed != nullptr) {
    for (size_t i = 0; i < now->grid.cells.size(); ++i) {
      if (now->grid.cells[i] == g.last.grid.cells[i] && now->hidden[i] == g.last.hidden[i]) continue;
      changed->push_back(static_cast<uint32_t>(i));
    }
  }
  g.last = std::move(*now);
  return absl::OkStatus();
}

absl::Status LiveGrids::ReadTouched(Group& g, const std::vector<const ChangeEvent*>& events,
                                    std::vector<uint32_t>* changed, uint32_t* cells_read) {
  const GridQuery& q = g.spec.query;
  const std::vector<uint32_t> rows = TouchedTuples(q.rows, g.row_leaves, events);
  const std::vector<uint32_t> cols = TouchedTuples(q.cols, g.col_leaves, events);
  *cells_read = static_cast<uint32_t>(rows.size() * cols.size());
  if (rows.empty() || cols.empty()) return absl::OkStatus();
  GridQuery part;
  part.rows.dims = q.rows.dims;
  part.cols.dims = q.cols.dims;
  part.slicers = q.slicers;
  for (uint32_t r : rows) part.rows.tuples.push_back(q.rows.tuples[r]);
  for (uint32_t c : cols) part.cols.tuples.push_back(q.cols.tuples[c]);
  auto now = QueryAs(g.spec.app->cube(), part, *g.rights, g.policy, read_);
  if (!now.ok()) return now.status();
  const size_t cols_all = g.last.grid.cols;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < cols.size(); ++j) {
      const size_t from = i * cols.size() + j;
      const size_t to = rows[i] * cols_all + cols[j];
      if (now->grid.cells[from] == g.last.grid.cells[to] && now->hidden[from] == g.last.hidden[to]) continue;
      g.last.grid.cells[to] = std::move(now->grid.cells[from]);
      if (to < g.last.grid.counts.size() && from < now->grid.counts.size()) g.last.grid.counts[to] = now->grid.counts[from];
      g.last.hidden[to] = now->hidden[from];
      changed->push_back(static_cast<uint32_t>(to));
    }
  }
  std::sort(changed->begin(), changed->end());
  return absl::OkStatus();
}

std::vector<LiveFlushPhases> LiveGrids::TakePhases() {
  std::lock_guard lock(phases_mu_);
  std::vector<LiveFlushPhases> out;
  out.swap(phases_);
  return out;
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
      absl::Status read = ReadAll(g, nullptr);
      if (!read.ok()) {
        Broadcaster::StreamId id = out_->Add(std::move(stream), nullptr, [this] { streams_.fetch_sub(1); });
        out_->End(id, read);
        return;
      }
      const AppModel& model = g.spec.app->cube().model();
      g.row_leaves = AxisLeaves(model, g.spec.query.rows);
      g.col_leaves = AxisLeaves(model, g.spec.query.cols);
      it = groups_.emplace(key, std::move(g)).first;
    }
    Group& g = it->second;
    const bool json = stream.json;
    if (!g.snapshot[json]) {
      v1::GridChange first;
      first.set_snapshot(true);
      first.set_seq(g.seq);
      for (size_t i = 0; i < g.last.grid.cells.size(); ++i) AddCell(g.last, i, &first);
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
  const int64_t woke = NowNanos();
  std::vector<ChangeEvent> events;
  {
    std::lock_guard lock(pending_mu_);
    events.swap(pending_);
    flush_posted_ = false;
  }
  flushing_ = true;
  std::map<const HostedApp*, bool> has_formulas;  // per app, asked once per flush
  std::vector<const ChangeEvent*> mine;
  std::vector<uint32_t> changed;
  for (auto& [key, g] : groups_) {
    if (g.members.empty()) continue;
    const HostedApp& app = *g.spec.app;
    auto [fit, fresh] = has_formulas.try_emplace(&app, false);
    if (fresh) fit->second = !app.cube().Formulas().empty();
    const bool formulas = fit->second;
    mine.clear();
    bool whole_app = formulas;
    for (const ChangeEvent& e : events) {
      if (e.app != app.name || !(formulas || e.touched->Intersects(g.spec.region))) continue;
      mine.push_back(&e);
      whole_app = whole_app || e.touched->dims.empty();
    }
    if (mine.empty()) continue;
    const ChangeEvent* first = mine.front();
    const ChangeEvent* newest = mine.back();
    LiveFlushPhases phases;
    phases.commit_ns = first->commit_unix_nanos;
    phases.woke_ns = woke;
    const std::vector<Member> members = g.members;  // Send may close a stream (its client gone)
    changed.clear();
    absl::Status read;
    // Compiled rights are cached per role set until a rule changes: a new object means new rules.
    const bool same_rules = app.security->Compile(g.spec.user->roles, g.spec.user->admin, rights_cache_) == g.rights &&
                            app.security->totals_policy() == g.policy;
    if (whole_app || !same_rules) {
      read = ReadAll(g, &changed);
      phases.cells_read = static_cast<uint32_t>(g.last.grid.cells.size());
    } else {
      read = ReadTouched(g, mine, &changed, &phases.cells_read);
    }
    if (!read.ok()) {
      for (const Member& m : members) out_->End(m.id, read);
      continue;
    }
    phases.read_ns = NowNanos();
    g.seq = newest->seq;
    g.snapshot[0] = g.snapshot[1] = nullptr;
    if (changed.empty()) continue;
    v1::GridChange change;
    change.set_seq(newest->seq);
    change.set_user(newest->user);
    change.set_action(newest->action);
    change.set_commit_unix_nanos(first->commit_unix_nanos);
    for (uint32_t i : changed) AddCell(g.last, i, &change);
    std::vector<Broadcaster::StreamId> ids[2];  // per format
    for (const Member& m : members) ids[m.json].push_back(m.id);
    Broadcaster::Frame frames[2];
    for (int json = 0; json < 2; ++json) {
      if (!ids[json].empty()) frames[json] = Encode(change, json == 1);
    }
    phases.encoded_ns = NowNanos();
    for (int json = 0; json < 2; ++json) {
      if (!ids[json].empty()) out_->SendToAll(ids[json], frames[json]);
    }
    phases.sent_ns = NowNanos();
    phases.members = static_cast<uint32_t>(members.size());
    metrics_->Observe("quantatom_change_delivery_seconds",
                      "Commit of a change set to the moment its frame was handed to every subscriber's socket.",
                      (phases.sent_ns - phases.commit_ns) * 1e-9);
    std::lock_guard lock(phases_mu_);
    if (phases_.size() < 65536) phases_.push_back(phases);
  }
  flushing_ = false;
  std::erase_if(groups_, [](const auto& kv) { return kv.second.members.empty(); });
}

}  // namespace quantatom

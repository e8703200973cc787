// Authorization property test: random apps, roles, member rights, totals policies and users;
// over 100,000 random cell reads through every surface (grid, bulk export, comments, audit,
// spread results, member listings, error messages) compared with a reference evaluator written
// here from the rules in docs/security.md (no server code: its own inheritance, its own path
// weights, brute-force sums over the stored cells), sandboxes (their grids and the conflicts
// their commits list) and live update streams (after each round of changes and a rule change)
// included. Run with the caches on and off: both must
// match the reference, so they agree with each other.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api/quantatom/v1/admin.pb.h"
#include "api/quantatom/v1/apps.pb.h"
#include "api/quantatom/v1/grid.pb.h"
#include "api/quantatom/v1/planning.pb.h"
#include "api/quantatom/v1/write.pb.h"
#include "base/strings.h"
#include "server/server_testutil.h"

namespace quantatom {
namespace {

namespace v1 = ::quantatom::v1;
using testing::HttpReply;
using testing::TestServer;

// ---- The reference: plain data and brute force.

struct RefDim {
  std::string name;
  std::vector<std::string> codes;
  std::vector<std::vector<std::pair<int, double>>> parents;  // member -> (parent, weight)
  std::vector<std::vector<int>> children;
  bool leaf(int m) const { return children[m].empty(); }
};

struct RefRule {
  int default_access = 2;
  std::map<int, int> explicit_access;
};

// The SetMemberRights call that gives `role` the rule on `dim`.
v1::SetMemberRightsRequest RightsRequest(const std::string& app, const std::string& role, const RefDim& dim,
                                         const RefRule& rule) {
  v1::SetMemberRightsRequest req;
  req.set_app(app);
  req.set_role(role);
  req.set_dimension(dim.name);
  req.set_default_access(static_cast<v1::Access>(rule.default_access));
  for (auto [m, a] : rule.explicit_access) {
    auto* r = req.add_rights();
    r->set_member(dim.codes[m]);
    r->set_access(static_cast<v1::Access>(a));
  }
  return req;
}

struct RefModel {
  std::vector<RefDim> dims;
  std::map<std::vector<int>, double> cells;  // leaf coordinate -> value
  std::map<std::string, std::map<int, RefRule>> roles;  // role -> dim -> rule
  int policy = 0;  // 0 visible_only, 1 include_hidden, 2 deny

  // The role's access to member m of dim d: own entry, else the least of its parents', else
  // the default (a root); dimensions without a rule are write.
  int Access(const std::string& role, int d, int m) const {
    auto r = roles.find(role);
    auto rule = r->second.find(d);
    if (rule == r->second.end()) return 2;
    auto own = rule->second.explicit_access.find(m);
    if (own != rule->second.explicit_access.end()) return own->second;
    if (dims[d].parents[m].empty()) return rule->second.default_access;
    int a = 2;
    for (auto [p, w] : dims[d].parents[m]) a = std::min(a, Access(role, d, p));
    return a;
  }
  std::vector<std::string> ActiveRoles(const std::vector<std::string>& user_roles) const {
    std::vector<std::string> out;
    for (const auto& r : user_roles)
      if (roles.count(r)) out.push_back(r);
    return out;
  }
  int CellRight(const std::vector<std::string>& user_roles, const std::vector<int>& c) const {
    int best = 0;
    for (const auto& r : ActiveRoles(user_roles)) {
      int a = 2;
      for (size_t d = 0; d < c.size(); ++d) a = std::min(a, Access(r, d, c[d]));
      best = std::max(best, a);
    }
    return best;
  }
  // Sum over paths of the product of weights from `leaf` up to `anc`.
  double PathWeight(int d, int from, int anc) const {
    if (from == anc) return 1;
    double w = 0;
    for (auto [p, pw] : dims[d].parents[from]) w += pw * PathWeight(d, p, anc);
    return w;
  }
  bool Below(int d, int from, int anc) const {
    if (from == anc) return true;
    for (auto [p, pw] : dims[d].parents[from])
      if (Below(d, p, anc)) return true;
    return false;
  }
  std::vector<int> LeavesBelow(int d, int m) const {
    std::vector<int> out;
    for (int x = 0; x < static_cast<int>(dims[d].codes.size()); ++x)
      if (dims[d].leaf(x) && Below(d, x, m)) out.push_back(x);
    return out;
  }
  bool MemberVisible(const std::vector<std::string>& user_roles, int d, int m) const {
    for (const auto& r : ActiveRoles(user_roles))
      for (int x = 0; x < static_cast<int>(dims[d].codes.size()); ++x)
        if (Below(d, x, m) && Access(r, d, x) >= 1) return true;
    return false;
  }
  // The weighted sum of `from`'s leaves below `c` (NaN when none), skipping the leaves the
  // user cannot read when `readable_for` is given.
  double SumBelow(const std::map<std::vector<int>, double>& from, const std::vector<int>& c,
                  const std::vector<std::string>* readable_for = nullptr) const {
    double sum = 0;
    bool any = false;
    for (const auto& [leaf, v] : from) {
      double w = 1;
      bool below = true;
      for (size_t d = 0; d < c.size() && below; ++d) {
        below = Below(d, leaf[d], c[d]);
        if (below) w *= PathWeight(d, leaf[d], c[d]);
      }
      if (!below) continue;
      if (readable_for != nullptr && CellRight(*readable_for, leaf) < 1) continue;
      sum += v * w;
      any = true;
    }
    return any ? sum : std::nan("");
  }
  bool IsLeaf(const std::vector<int>& c) const {
    for (size_t d = 0; d < c.size(); ++d)
      if (!dims[d].leaf(c[d])) return false;
    return true;
  }
  // Does one of the user's roles read every leaf below `c`, in every dimension?
  bool OneRoleReadsAll(const std::vector<std::string>& user_roles, const std::vector<int>& c) const {
    for (const auto& r : ActiveRoles(user_roles)) {
      bool all = true;
      for (size_t d = 0; d < c.size() && all; ++d)
        for (int x : LeavesBelow(d, c[d])) all = all && Access(r, d, x) >= 1;
      if (all) return true;
    }
    return false;
  }
  // What the user sees at `c`: nullopt = hidden; else the value (NaN = empty).
  std::optional<double> See(const std::vector<std::string>& user_roles, bool admin, const std::vector<int>& c) const {
    if (admin) return SumBelow(cells, c);
    if (CellRight(user_roles, c) < 1) return std::nullopt;
    if (IsLeaf(c) || policy == 1 || OneRoleReadsAll(user_roles, c)) return SumBelow(cells, c);
    if (policy == 2) return std::nullopt;
    return SumBelow(cells, c, &user_roles);
  }
  // What the user sees at `c` in a sandbox holding `overlay` (leaf -> value) over the cells:
  // leaves and totals the user reads in full (or any readable total under include_hidden)
  // show the sandbox's sums; every other cell is hidden (docs/security.md, "Sandboxes").
  std::optional<double> SeeSandbox(const std::vector<std::string>& user_roles, const std::vector<int>& c,
                                   const std::map<std::vector<int>, double>& overlay) const {
    if (CellRight(user_roles, c) < 1) return std::nullopt;
    if (!IsLeaf(c) && policy != 1 && !OneRoleReadsAll(user_roles, c)) return std::nullopt;
    std::map<std::vector<int>, double> merged = cells;
    for (const auto& [k, v] : overlay) merged[k] = v;
    return SumBelow(merged, c);
  }
  bool WritesAllBelow(const std::vector<std::string>& user_roles, const std::vector<int>& c) const {
    for (const auto& r : ActiveRoles(user_roles)) {
      bool all = true;
      for (size_t d = 0; d < c.size() && all; ++d) {
        all = Access(r, d, c[d]) >= 2;
        for (int x : LeavesBelow(d, c[d])) all = all && Access(r, d, x) >= 2;
      }
      if (all) return true;
    }
    return false;
  }
};

RefDim RandomDim(std::mt19937& rng, const std::string& name, int n) {
  RefDim d;
  d.name = name;
  d.parents.resize(n);
  d.children.resize(n);
  for (int m = 0; m < n; ++m) d.codes.push_back(name + std::to_string(m));
  const double weights[] = {1, 1, 1, -1, 2};
  for (int m = 1; m < n; ++m) {
    // Parents among earlier members that are already parents or the root, so leaves stay leaves.
    int p = std::uniform_int_distribution<int>(0, std::max(0, m / 2))(rng);
    d.parents[m].push_back({p, weights[rng() % 5]});
    d.children[p].push_back(m);
    if (m > 3 && rng() % 6 == 0) {
      int q = std::uniform_int_distribution<int>(0, m / 2)(rng);
      if (q != p) {
        d.parents[m].push_back({q, weights[rng() % 5]});
        d.children[q].push_back(m);
      }
    }
  }
  return d;
}

// A Subscribe stream (binary Connect over raw HTTP/1.1) read on its own thread: the cells as
// the stream has told them so far (the snapshot, then each change), by (row, col).
class LiveGrid {
 public:
  LiveGrid(int port, const std::string& token, const v1::GridSpec& spec) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    v1::SubscribeRequest sub;
    *sub.mutable_grid() = spec;
    const std::string body = testing::Envelope(0, sub.SerializeAsString());
    const std::string request = "POST /quantatom.v1.GridService/Subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Authorization: Bearer " + token +
                                "\r\nConnect-Timeout-Ms: 600000\r\nContent-Type: application/connect+proto\r\n"
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) std::abort();
    reader_ = std::thread([this] { Read(); });
  }
  ~LiveGrid() {
    ::shutdown(fd_, SHUT_RDWR);
    reader_.join();
    ::close(fd_);
  }
  // Waits until `check` (called with the cells, under the lock) returns "" or `ms` pass; returns
  // its last answer.
  template <typename Fn>
  std::string WaitFor(Fn check, int ms) {
    std::unique_lock lock(mu_);
    std::string why;
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] {
      why = check(cells_, ended_);
      return why.empty();
    });
    return why;
  }

 private:
  void Read() {
    testing::StreamDecoder stream;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) {
      std::vector<std::pair<uint8_t, std::string>> envs;
      stream.Feed(buf, static_cast<size_t>(n), [&](uint8_t flags, const char* data, size_t size) {
        envs.emplace_back(flags, std::string(data, size));
      });
      std::lock_guard lock(mu_);
      for (const auto& [flags, payload] : envs) {
        if (flags & 2) {
          ended_ = true;
          continue;
        }
        v1::GridChange change;
        if (!change.ParseFromString(payload)) std::abort();
        for (const auto& u : change.cells()) cells_[{u.row(), u.col()}] = u;
      }
      cv_.notify_all();
    }
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }

  int fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<uint32_t, uint32_t>, v1::CellUpdate> cells_;  // guarded by mu_
  bool ended_ = false;                                              // guarded by mu_
};

struct UserInfo {
  std::string name, token;
  std::vector<std::string> roles;
};

class SecurityProperty : public ::testing::TestWithParam<bool> {};

TEST_P(SecurityProperty, EverySurfaceShowsExactlyWhatTheReferenceAllows) {
  const bool caches = GetParam();
  ServiceOptions so;
  so.rights_cache = caches;
  so.grid_cache = caches;
  TestServer server({}, so);
  std::mt19937 rng(caches ? 20261124 : 20261124);  // the same worlds with caches on and off
  size_t reads = 0, grid_reads = 0, export_reads = 0, comment_reads = 0, audit_reads = 0, spreads = 0;
  size_t sandbox_reads = 0, sandbox_commits = 0, conflicts_seen = 0, live_reads = 0, rule_changes = 0;
  const size_t kReadsPerRun = 105'000;
  int world = 0;
  while (reads < kReadsPerRun) {
    // ---- A random app.
    RefModel ref;
    const std::string app_name = "w" + std::to_string(world++);
    ref.dims.push_back(RandomDim(rng, "a", 6 + rng() % 10));
    ref.dims.push_back(RandomDim(rng, "b", 5 + rng() % 8));
    ref.dims.push_back(RandomDim(rng, "c", 2 + rng() % 3));
    AppModel model;
    model.name = app_name;
    for (const RefDim& rd : ref.dims) {
      DimensionBuilder b(rd.name, DimensionType::kGeneric);
      for (const auto& code : rd.codes) ASSERT_TRUE(b.AddMember(code).ok());
      for (size_t m = 0; m < rd.codes.size(); ++m)
        for (auto [p, w] : rd.parents[m]) ASSERT_TRUE(b.AddEdge(rd.codes[m], rd.codes[p], w).ok());
      model.dimensions.push_back(*std::move(b).Build());
    }
    ASSERT_TRUE(server.host().AddApp(std::move(model)).ok());
    auto app = server.host().Find(app_name);
    // Random integer cells on about half the leaf coordinates.
    std::vector<CellWrite> batch;
    std::vector<std::vector<int>> all_leaves;
    for (int x = 0; x < static_cast<int>(ref.dims[0].codes.size()); ++x)
      for (int y = 0; y < static_cast<int>(ref.dims[1].codes.size()); ++y)
        for (int z = 0; z < static_cast<int>(ref.dims[2].codes.size()); ++z)
          if (ref.dims[0].leaf(x) && ref.dims[1].leaf(y) && ref.dims[2].leaf(z)) all_leaves.push_back({x, y, z});
    for (const auto& leaf : all_leaves) {
      if (rng() % 2) continue;
      double v = static_cast<int>(rng() % 201) - 50;
      ref.cells[leaf] = v;
      batch.push_back({{static_cast<MemberId>(leaf[0]), static_cast<MemberId>(leaf[1]), static_cast<MemberId>(leaf[2])},
                       CellValue::Number(v)});
    }
    if (!batch.empty()) { ASSERT_TRUE(server.host().Write(*app, "admin", batch).ok()); }
    const std::map<std::vector<int>, double> initial = ref.cells;

    // ---- Random roles and rules, set through the API.
    const std::vector<std::string> role_names = {"r" + std::to_string(world) + "a", "r" + std::to_string(world) + "b",
                                                 "r" + std::to_string(world) + "c"};
    for (const auto& role : role_names) {
      for (int d = 0; d < 3; ++d) {
        if (rng() % 4 == 0) continue;  // no rule for this dimension: write everywhere
        RefRule rule;
        rule.default_access = rng() % 3;
        int entries = rng() % 4;
        for (int e = 0; e < entries; ++e) rule.explicit_access[rng() % ref.dims[d].codes.size()] = rng() % 3;
        ref.roles[role][d] = rule;
        const v1::SetMemberRightsRequest req = RightsRequest(app_name, role, ref.dims[d], rule);
        ASSERT_EQ(server.Call("quantatom.v1.AdminService/SetMemberRights", req, nullptr, rng() % 2).status, 200);
      }
    }
    ref.policy = rng() % 3;
    v1::SetTotalsPolicyRequest tp;
    tp.set_app(app_name);
    tp.set_policy(static_cast<v1::TotalsPolicy>(ref.policy));
    ASSERT_EQ(server.Call("quantatom.v1.AdminService/SetTotalsPolicy", tp, nullptr, false).status, 200);

    // ---- Users with random role sets (possibly none, possibly a role without rules).
    std::vector<UserInfo> users;
    for (int u = 0; u < 3; ++u) {
      UserInfo info;
      info.name = app_name + "u" + std::to_string(u);
      for (const auto& r : role_names)
        if (rng() % 2) info.roles.push_back(r);
      if (rng() % 5 == 0) info.roles.push_back("ghost");
      ASSERT_TRUE(server.tokens().CreateUser({info.name, info.roles, false}).ok());
      info.token = server.tokens().IssueToken(info.name)->first;
      users.push_back(info);
    }
    // Comments by the admin at random coordinates, any level.
    std::vector<std::pair<std::vector<int>, std::string>> comments;
    for (int i = 0; i < 6; ++i) {
      std::vector<int> c = {static_cast<int>(rng() % ref.dims[0].codes.size()),
                            static_cast<int>(rng() % ref.dims[1].codes.size()),
                            static_cast<int>(rng() % ref.dims[2].codes.size())};
      v1::AddCommentRequest ac;
      ac.set_app(app_name);
      for (int d = 0; d < 3; ++d) ac.mutable_coordinate()->add_members(ref.dims[d].codes[c[d]]);
      ac.set_text("note " + std::to_string(i));
      ASSERT_EQ(server.Call("quantatom.v1.CommentService/AddComment", ac, nullptr, false).status, 200);
      comments.push_back({c, ac.text()});
    }

    // Live updates: each user's Subscribe stream on the grid (a x b, c at its root), whose cells
    // must equal the reference after every round's changes (the server re-reads only the rows
    // and columns a change touches, and everything after a rule change: both are checked).
    struct Live {
      std::unique_ptr<LiveGrid> stream;
      std::vector<std::vector<int>> coords;  // per (row * cols + col): the cell's members
      uint32_t cols = 0;
    };
    std::vector<Live> lives(users.size());
    {
      v1::GridSpec spec;
      spec.set_app(app_name);
      auto* lr = spec.mutable_rows()->add_parts();
      lr->set_dimension("a");
      lr->set_member_set("all");
      auto* lc = spec.mutable_cols()->add_parts();
      lc->set_dimension("b");
      lc->set_member_set("all");
      auto* ls = spec.add_slicers();
      ls->set_dimension("c");
      ls->set_member(ref.dims[2].codes[0]);
      for (size_t u = 0; u < users.size(); ++u) {
        v1::QueryGridRequest lq;
        *lq.mutable_grid() = spec;
        v1::QueryGridResponse shape;
        if (server.Call("quantatom.v1.GridService/QueryGrid", lq, &shape, false, users[u].token).status != 200) continue;
        std::map<std::string, int> ia, ib;
        for (int m = 0; m < static_cast<int>(ref.dims[0].codes.size()); ++m) ia[ref.dims[0].codes[m]] = m;
        for (int m = 0; m < static_cast<int>(ref.dims[1].codes.size()); ++m) ib[ref.dims[1].codes[m]] = m;
        lives[u].cols = shape.cols();
        for (uint32_t i = 0; i < shape.rows(); ++i)
          for (uint32_t j = 0; j < shape.cols(); ++j)
            lives[u].coords.push_back({ia.at(shape.row_headers(i).members(0)), ib.at(shape.col_headers(j).members(0)), 0});
        lives[u].stream = std::make_unique<LiveGrid>(server.port(), users[u].token, spec);
      }
    }
    auto check_live = [&]() {
      for (size_t u = 0; u < users.size(); ++u) {
        Live& live = lives[u];
        if (!live.stream) continue;
        std::string why = live.stream->WaitFor(
            [&](const std::map<std::pair<uint32_t, uint32_t>, v1::CellUpdate>& cells, bool ended) -> std::string {
              if (ended) return "the stream ended";
              for (size_t k = 0; k < live.coords.size(); ++k) {
                auto it = cells.find({static_cast<uint32_t>(k / live.cols), static_cast<uint32_t>(k % live.cols)});
                if (it == cells.end()) return "no snapshot yet";
                const v1::CellUpdate& got = it->second;
                auto want = ref.See(users[u].roles, false, live.coords[k]);
                const std::string at = StrCat(" at ", live.coords[k][0], ",", live.coords[k][1]);
                if (!want) {
                  if (got.kind() != v1::CELL_KIND_HIDDEN || got.number() != 0) return "live leak" + at;
                } else if (std::isnan(*want)) {
                  if (got.kind() != v1::CELL_KIND_EMPTY) return "live: not empty" + at;
                } else if (got.kind() != v1::CELL_KIND_NUMBER || std::abs(got.number() - *want) > 1e-9) {
                  return StrCat("live: ", got.number(), " (kind ", static_cast<int>(got.kind()), "), want ", *want, at);
                }
              }
              return "";
            },
            3000);
        ASSERT_EQ(why, "") << "user " << users[u].name << " policy " << ref.policy;
        live_reads += live.coords.size();
        reads += live.coords.size();
      }
    };
    check_live();

    for (int round = 0; round < 6; ++round) {
      if (round == 3) {
        // A rule changes mid-stream: the next change re-reads every live grid of the app.
        const std::string& role = role_names[rng() % role_names.size()];
        const int d = static_cast<int>(rng() % 2);
        RefRule rule;
        rule.default_access = rng() % 3;
        rule.explicit_access[rng() % ref.dims[d].codes.size()] = rng() % 3;
        ref.roles[role][d] = rule;
        const v1::SetMemberRightsRequest req = RightsRequest(app_name, role, ref.dims[d], rule);
        ASSERT_EQ(server.Call("quantatom.v1.AdminService/SetMemberRights", req, nullptr, false).status, 200);
        ++rule_changes;
      }
      for (const UserInfo& user : users) {
        const bool json = rng() % 2;
        const bool app_visible = !ref.ActiveRoles(user.roles).empty();
        // Not found and permission denied look alike: an invisible app is "not found".
        v1::GetAppRequest ga;
        ga.set_app(app_name);
        HttpReply r = server.Call("quantatom.v1.AppService/GetApp", ga, nullptr, json, user.token);
        if (!app_visible) {
          ASSERT_EQ(r.status, 404);
          ga.set_app(app_name + "_missing");
          HttpReply missing = server.Call("quantatom.v1.AppService/GetApp", ga, nullptr, json, user.token);
          std::string expect = missing.body;
          expect.replace(expect.find(app_name + "_missing"), app_name.size() + 8, app_name);
          EXPECT_EQ(r.body, expect);
          ++reads;
          continue;
        }
        ASSERT_EQ(r.status, 200) << r.body;

        // Member listings hold exactly the visible members.
        for (int d = 0; d < 3; ++d) {
          v1::ListMembersRequest lm;
          lm.set_app(app_name);
          lm.set_dimension(ref.dims[d].name);
          v1::ListMembersResponse members;
          ASSERT_EQ(server.Call("quantatom.v1.AppService/ListMembers", lm, &members, json, user.token).status, 200);
          std::set<std::string> got, want;
          for (const auto& m : members.members()) got.insert(m.code());
          for (int m = 0; m < static_cast<int>(ref.dims[d].codes.size()); ++m)
            if (ref.MemberVisible(user.roles, d, m)) want.insert(ref.dims[d].codes[m]);
          ASSERT_EQ(got, want) << "dimension " << d;
          ++reads;
        }

        // Grid: every member of a and b (the server leaves out invisible ones), c sliced.
        int slice = rng() % ref.dims[2].codes.size();
        v1::QueryGridRequest q;
        q.mutable_grid()->set_app(app_name);
        auto* rows = q.mutable_grid()->mutable_rows()->add_parts();
        rows->set_dimension("a");
        rows->set_member_set("all");
        auto* cols = q.mutable_grid()->mutable_cols()->add_parts();
        cols->set_dimension("b");
        cols->set_member_set("all");
        auto* s = q.mutable_grid()->add_slicers();
        s->set_dimension("c");
        s->set_member(ref.dims[2].codes[slice]);
        v1::QueryGridResponse g;
        r = server.Call("quantatom.v1.GridService/QueryGrid", q, &g, json, user.token);
        if (!ref.MemberVisible(user.roles, 2, slice)) {
          // An invisible slicer member reads exactly like a member that does not exist.
          ASSERT_NE(r.status, 200) << r.body;
          s->set_member("zz");
          HttpReply missing = server.Call("quantatom.v1.GridService/QueryGrid", q, nullptr, json, user.token);
          std::string expect = missing.body;
          if (expect.find("'zz'") != std::string::npos) {
            expect.replace(expect.find("'zz'"), 4, "'" + ref.dims[2].codes[slice] + "'");
          }
          EXPECT_EQ(r.status, missing.status);
          EXPECT_EQ(r.body, expect);
          ++reads;
        } else if (r.status == 400) {
          // No visible member on an axis.
          bool any_a = false, any_b = false;
          for (int m = 0; m < static_cast<int>(ref.dims[0].codes.size()); ++m) any_a = any_a || ref.MemberVisible(user.roles, 0, m);
          for (int m = 0; m < static_cast<int>(ref.dims[1].codes.size()); ++m) any_b = any_b || ref.MemberVisible(user.roles, 1, m);
          ASSERT_FALSE(any_a && any_b) << r.body;
        } else {
          ASSERT_EQ(r.status, 200) << r.body;
          std::map<std::string, int> index_a, index_b;
          for (int m = 0; m < static_cast<int>(ref.dims[0].codes.size()); ++m) index_a[ref.dims[0].codes[m]] = m;
          for (int m = 0; m < static_cast<int>(ref.dims[1].codes.size()); ++m) index_b[ref.dims[1].codes[m]] = m;
          for (uint32_t i = 0; i < g.rows(); ++i) {
            for (uint32_t j = 0; j < g.cols(); ++j) {
              std::vector<int> c = {index_a.at(g.row_headers(i).members(0)), index_b.at(g.col_headers(j).members(0)), slice};
              ASSERT_TRUE(ref.MemberVisible(user.roles, 0, c[0]) && ref.MemberVisible(user.roles, 1, c[1]));
              auto want = ref.See(user.roles, false, c);
              size_t k = i * g.cols() + j;
              if (!want) {
                ASSERT_EQ(g.layers(0).kinds(k), v1::CELL_KIND_HIDDEN) << "leak at " << c[0] << "," << c[1];
                ASSERT_EQ(g.layers(0).numbers(k), 0);
              } else if (std::isnan(*want)) {
                ASSERT_EQ(g.layers(0).kinds(k), v1::CELL_KIND_EMPTY) << c[0] << "," << c[1];
              } else {
                ASSERT_EQ(g.layers(0).kinds(k), v1::CELL_KIND_NUMBER) << c[0] << "," << c[1];
                ASSERT_NEAR(g.layers(0).numbers(k), *want, 1e-9) << c[0] << "," << c[1] << " policy " << ref.policy;
              }
              ++reads;
              ++grid_reads;
            }
          }
        }

        // Bulk export under the root: exactly the readable stored cells.
        v1::ExportCellsRequest ex;
        ex.set_app(app_name);
        for (int d = 0; d < 3; ++d) ex.mutable_region()->add_members(ref.dims[d].codes[0]);
        v1::ExportCellsResponse cells;
        r = server.Call("quantatom.v1.GridService/ExportCells", ex, &cells, json, user.token);
        bool root_visible = true;
        for (int d = 0; d < 3; ++d) root_visible = root_visible && ref.MemberVisible(user.roles, d, 0);
        if (!root_visible) {
          ASSERT_EQ(r.status, 404);
        } else {
          ASSERT_EQ(r.status, 200) << r.body;
          std::map<std::vector<int>, double> got, want;
          for (int i = 0; i < cells.values_size(); ++i)
            got[{static_cast<int>(cells.columns(0).ids(i)), static_cast<int>(cells.columns(1).ids(i)),
                 static_cast<int>(cells.columns(2).ids(i))}] = cells.values(i);
          for (const auto& [leaf, v] : ref.cells)
            if (ref.CellRight(user.roles, leaf) >= 1) want[leaf] = v;
          ASSERT_EQ(got, want);
          reads += ref.cells.size();
          export_reads += ref.cells.size();

          // Comments under the root: exactly those at readable coordinates.
          v1::ListCommentsRequest lc;
          lc.set_app(app_name);
          *lc.mutable_coordinate() = ex.region();
          v1::ListCommentsResponse listed;
          ASSERT_EQ(server.Call("quantatom.v1.CommentService/ListComments", lc, &listed, json, user.token).status, 200);
          std::multiset<std::string> got_c, want_c;
          for (const auto& c : listed.comments()) got_c.insert(c.text());
          for (const auto& [c, text] : comments)
            if (ref.CellRight(user.roles, c) >= 1) want_c.insert(text);
          ASSERT_EQ(got_c, want_c);
          reads += comments.size();
          comment_reads += comments.size();
        }

        // Audit: every shown cell readable; shown + hidden = the cells of the set.
        v1::QueryAuditRequest qa;
        qa.set_app(app_name);
        qa.set_user("admin");
        v1::QueryAuditResponse audit;
        ASSERT_EQ(server.Call("quantatom.v1.AuditService/QueryAudit", qa, &audit, json, user.token).status, 200);
        // The oldest entry is the initial write (the model's import has no cells).
        ASSERT_GE(audit.entries_size(), 1);
        for (const auto& e : audit.entries()) {
          std::map<std::string, int> ia, ib, ic;
          for (int m = 0; m < static_cast<int>(ref.dims[0].codes.size()); ++m) ia[ref.dims[0].codes[m]] = m;
          for (int m = 0; m < static_cast<int>(ref.dims[1].codes.size()); ++m) ib[ref.dims[1].codes[m]] = m;
          for (int m = 0; m < static_cast<int>(ref.dims[2].codes.size()); ++m) ic[ref.dims[2].codes[m]] = m;
          const bool initial_set = &e == &audit.entries(audit.entries_size() - 1);
          for (const auto& cell : e.cells()) {
            std::vector<int> leaf = {ia.at(cell.coordinate().members(0)), ib.at(cell.coordinate().members(1)),
                                     ic.at(cell.coordinate().members(2))};
            ASSERT_GE(ref.CellRight(user.roles, leaf), 1) << "audit shows a hidden cell";
            if (initial_set) { ASSERT_EQ(cell.new_value().number(), initial.at(leaf)); }
          }
          if (initial_set) {
            size_t hidden_want = 0;
            for (const auto& [leaf, v] : initial) hidden_want += ref.CellRight(user.roles, leaf) < 1;
            ASSERT_EQ(static_cast<size_t>(e.cells_size()) + e.hidden_cells(), initial.size());
            ASSERT_EQ(e.hidden_cells(), hidden_want);
          }
          reads += e.cells_size() + e.hidden_cells();
          audit_reads += e.cells_size() + e.hidden_cells();
        }

        // Spread into a random visible cell: refused unless the user writes every cell below;
        // a refusal names no value. Accepted spreads are undone by the same user.
        std::vector<int> t = {static_cast<int>(rng() % ref.dims[0].codes.size()),
                              static_cast<int>(rng() % ref.dims[1].codes.size()),
                              static_cast<int>(rng() % ref.dims[2].codes.size())};
        bool visible = true;
        for (int d = 0; d < 3; ++d) visible = visible && ref.MemberVisible(user.roles, d, t[d]);
        if (visible) {
          v1::SpreadRequest sp;
          sp.set_app(app_name);
          for (int d = 0; d < 3; ++d) sp.mutable_target()->add_members(ref.dims[d].codes[t[d]]);
          sp.set_method(v1::SPREAD_METHOD_EQUAL);
          sp.set_value(1000);
          v1::ChangeSummary result;
          r = server.Call("quantatom.v1.WriteService/Spread", sp, &result, json, user.token);
          if (!ref.WritesAllBelow(user.roles, t)) {
            ASSERT_EQ(r.status, 403) << r.body;
            for (const auto& [leaf, v] : ref.cells) {
              if (ref.CellRight(user.roles, leaf) < 1 && v != 0 && std::abs(v) > 9) {
                // A hidden value (two digits or more) does not appear in the message.
                ASSERT_EQ(r.body.find(" " + std::to_string(static_cast<int>(v)) + " "), std::string::npos);
              }
            }
          } else if (r.status == 200) {
            v1::UndoRequest u;
            u.set_app(app_name);
            ASSERT_EQ(server.Call("quantatom.v1.WriteService/Undo", u, nullptr, json, user.token).status, 200);
          } else {
            ASSERT_EQ(r.status, 400) << r.body;  // e.g. weights summing to zero: nothing changed
          }
          ++spreads;
          ++reads;
        }

        // Sandbox: the user's what-if copy. Writes into it follow the user's write rights; its
        // grid shows what the reference allows over the cells overlaid with the sandbox's; its
        // commit lists as conflicts only the sandbox's cells changed since it was opened, each
        // readable by the user, with the current value the reference holds.
        if (round % 3 == 1) {
          const std::string box = "box" + std::to_string(round);
          v1::SandboxRequest sb;
          sb.set_app(app_name);
          sb.set_name(box);
          ASSERT_EQ(server.Call("quantatom.v1.SandboxService/CreateSandbox", sb, nullptr, json, user.token).status, 200);
          std::map<std::vector<int>, double> mine;
          for (int i = 0; i < 4 && !all_leaves.empty(); ++i) {
            const auto& leaf = all_leaves[rng() % all_leaves.size()];
            v1::WriteCellsRequest w;
            w.set_app(app_name);
            w.set_sandbox(box);
            auto* cell = w.add_cells();
            for (int d = 0; d < 3; ++d) cell->mutable_coordinate()->add_members(ref.dims[d].codes[leaf[d]]);
            const double v = 500 + static_cast<int>(rng() % 100);
            cell->mutable_value()->set_number(v);
            r = server.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, json, user.token);
            if (ref.CellRight(user.roles, leaf) >= 2) {
              ASSERT_EQ(r.status, 200) << r.body;
              mine[leaf] = v;
            } else {
              ASSERT_NE(r.status, 200) << "a sandbox write into a cell the user may not write";
              for (const auto& [l, lv] : ref.cells) {
                if (ref.CellRight(user.roles, l) < 1 && std::abs(lv) > 9) {
                  ASSERT_EQ(r.body.find(" " + std::to_string(static_cast<int>(lv)) + " "), std::string::npos);
                }
              }
            }
          }
          v1::QueryGridRequest sq = q;
          sq.mutable_grid()->mutable_slicers(0)->set_member(ref.dims[2].codes[slice]);
          sq.set_sandbox(box);
          v1::QueryGridResponse sg;
          r = server.Call("quantatom.v1.GridService/QueryGrid", sq, &sg, json, user.token);
          if (r.status == 200) {
            std::map<std::string, int> index_a, index_b;
            for (int m = 0; m < static_cast<int>(ref.dims[0].codes.size()); ++m) index_a[ref.dims[0].codes[m]] = m;
            for (int m = 0; m < static_cast<int>(ref.dims[1].codes.size()); ++m) index_b[ref.dims[1].codes[m]] = m;
            for (uint32_t i = 0; i < sg.rows(); ++i) {
              for (uint32_t j = 0; j < sg.cols(); ++j) {
                std::vector<int> c = {index_a.at(sg.row_headers(i).members(0)), index_b.at(sg.col_headers(j).members(0)),
                                      slice};
                auto want = ref.SeeSandbox(user.roles, c, mine);
                size_t k = i * sg.cols() + j;
                if (!want) {
                  ASSERT_EQ(sg.layers(0).kinds(k), v1::CELL_KIND_HIDDEN) << "sandbox leak at " << c[0] << "," << c[1];
                  ASSERT_EQ(sg.layers(0).numbers(k), 0);
                } else if (std::isnan(*want)) {
                  ASSERT_EQ(sg.layers(0).kinds(k), v1::CELL_KIND_EMPTY) << c[0] << "," << c[1];
                } else {
                  ASSERT_EQ(sg.layers(0).kinds(k), v1::CELL_KIND_NUMBER) << c[0] << "," << c[1];
                  ASSERT_NEAR(sg.layers(0).numbers(k), *want, 1e-9) << "sandbox " << c[0] << "," << c[1];
                }
                ++reads;
                ++sandbox_reads;
              }
            }
          } else {
            // The same refusal as the plain grid (invisible slicer, or no visible member).
            ASSERT_TRUE(!ref.MemberVisible(user.roles, 2, slice) || r.status == 400) << r.body;
          }
          // The admin changes one of the sandbox's cells meanwhile: a conflict at commit.
          std::optional<std::vector<int>> theirs;
          if (!mine.empty()) {
            theirs = std::next(mine.begin(), rng() % mine.size())->first;
            const double v = -10 - static_cast<int>(rng() % 30);
            ref.cells[*theirs] = v;
            ASSERT_TRUE(server.host()
                            .Write(*app, "admin",
                                   {{{static_cast<MemberId>((*theirs)[0]), static_cast<MemberId>((*theirs)[1]),
                                      static_cast<MemberId>((*theirs)[2])},
                                     CellValue::Number(v)}})
                            .ok());
          }
          v1::CommitSandboxRequest cs;
          cs.set_app(app_name);
          cs.set_name(box);
          cs.set_conflict_policy(v1::CONFLICT_POLICY_KEEP_THEIRS);
          v1::ChangeSummary committed;
          r = server.Call("quantatom.v1.SandboxService/CommitSandbox", cs, &committed, json, user.token);
          ASSERT_EQ(r.status, 200) << r.body;
          std::map<std::string, int> codes[3];
          for (int d = 0; d < 3; ++d)
            for (int m = 0; m < static_cast<int>(ref.dims[d].codes.size()); ++m) codes[d][ref.dims[d].codes[m]] = m;
          std::set<std::vector<int>> conflicted;
          for (const auto& cf : committed.conflicts()) {
            std::vector<int> leaf;
            for (int d = 0; d < 3; ++d) leaf.push_back(codes[d].at(cf.coordinate().members(d)));
            ASSERT_TRUE(mine.count(leaf)) << "a conflict at a cell the sandbox did not write";
            ASSERT_GE(ref.CellRight(user.roles, leaf), 1);
            auto cur = ref.cells.find(leaf);
            if (cur != ref.cells.end()) {
              ASSERT_EQ(cf.current().number(), cur->second);
            }
            ASSERT_EQ(cf.wanted().number(), mine.at(leaf));
            conflicted.insert(leaf);
            ++reads;
            ++conflicts_seen;
          }
          if (theirs) { ASSERT_TRUE(conflicted.count(*theirs)) << "the admin's change is a conflict"; }
          for (const auto& [leaf, v] : mine)
            if (!conflicted.count(leaf)) ref.cells[leaf] = v;  // kept: theirs wins the conflicts
          ++sandbox_commits;
        }
      }
      // The admin changes a few cells between rounds; the reference follows.
      std::vector<CellWrite> more;
      for (int i = 0; i < 3 && !all_leaves.empty(); ++i) {
        const auto& leaf = all_leaves[rng() % all_leaves.size()];
        double v = static_cast<int>(rng() % 101) - 20;
        ref.cells[leaf] = v;
        more.push_back({{static_cast<MemberId>(leaf[0]), static_cast<MemberId>(leaf[1]), static_cast<MemberId>(leaf[2])},
                        CellValue::Number(v)});
      }
      if (!more.empty()) { ASSERT_TRUE(server.host().Write(*app, "admin", more).ok()); }
      check_live();
    }
  }
  std::printf(
      "caches %s: %zu reads (grid %zu, export %zu, comments %zu, audit %zu, sandbox grid %zu, live %zu), %zu "
      "spreads, %zu sandbox commits (%zu conflicts), %zu rule changes, %d apps\n",
      caches ? "on" : "off", reads, grid_reads, export_reads, comment_reads, audit_reads, sandbox_reads, live_reads,
      spreads, sandbox_commits, conflicts_seen, rule_changes, world);
  EXPECT_GT(live_reads, 1000u);
  EXPECT_GT(sandbox_reads, 1000u);
  EXPECT_GT(conflicts_seen, 10u);
  EXPECT_GE(reads, kReadsPerRun);
}

INSTANTIATE_TEST_SUITE_P(Caches, SecurityProperty, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

}  // namespace
}  // namespace quantatom

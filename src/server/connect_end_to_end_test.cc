// Every RPC over real HTTP on 127.0.0.1, in binary and in JSON; the live stream; the mapping
// of errors to codes and HTTP statuses; CORS. Values are checked against sums computed here
// from the model file's cells (brute force over the leaves), not against the server's output.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/quantatom/v1/admin.pb.h"
#include "api/quantatom/v1/apps.pb.h"
#include "api/quantatom/v1/grid.pb.h"
#include "api/quantatom/v1/planning.pb.h"
#include "api/quantatom/v1/write.pb.h"
#include "model/model_json.h"
#include "server/server_testutil.h"

namespace quantatom {
namespace {

namespace v1 = ::quantatom::v1;
using testing::HttpReply;
using testing::TestServer;

std::string AcmeJson() {
  const char* src = std::getenv("QA_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/examples/acme.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The brute-force value of a coordinate: every model-file cell, weighted by the product of
// its path weights toward the coordinate's members (0 if not below).
std::optional<double> Reference(const ModelFile& file, const std::vector<std::pair<CellValue, Coordinate>>& cells,
                                const Coordinate& at) {
  double sum = 0;
  bool any = false;
  for (const auto& [value, leaf] : cells) {
    if (!value.is_number()) continue;
    double w = 1;
    bool below = true;
    for (size_t d = 0; d < at.size() && below; ++d) {
      double wd = 0;
      bool found = false;
      for (auto [ordinal, weight] : file.model.dimensions[d].LeavesUnder(at[d])) {
        if (file.model.dimensions[d].leaf_member(ordinal) == leaf[d]) {
          wd = weight;
          found = true;
        }
      }
      below = found;
      w *= wd;
    }
    if (!below) continue;
    sum += value.number * w;
    any = true;
  }
  return any ? std::optional<double>(sum) : std::nullopt;
}

class ConnectEndToEnd : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto file = ParseModelJson("acme.json", AcmeJson());
    ASSERT_TRUE(file.ok()) << file.status();
    file_ = std::move(*file);
    for (const auto& c : file_.cells) cells_.push_back({c.value, c.coord});
    v1::ImportModelRequest req;
    req.set_model_json(AcmeJson());
    v1::AppInfo info;
    HttpReply r = server_.Call("quantatom.v1.AppService/ImportModel", req, &info, json());
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(info.name(), "acme");
  }
  bool json() const { return GetParam(); }
  v1::GridSpec Spec() const {
    v1::GridSpec spec;
    spec.set_app("acme");
    auto* row = spec.mutable_rows()->add_parts();
    row->set_dimension("Account");
    row->set_member_set("NetIncome, children(NetIncome)");
    auto* col = spec.mutable_cols()->add_parts();
    col->set_dimension("Region");
    col->set_member_set("World, children(World)");
    auto* s1 = spec.add_slicers();
    s1->set_dimension("Month");
    s1->set_member("Q1");
    auto* s2 = spec.add_slicers();
    s2->set_dimension("Scenario");
    s2->set_member("Budget");
    return spec;
  }
  Coordinate Coord(std::initializer_list<std::string> codes) const {
    Coordinate c;
    size_t d = 0;
    for (const auto& code : codes) c.push_back(*file_.model.dimensions[d++].Find(code));
    return c;
  }
  void ExpectGridMatchesReference(const v1::QueryGridResponse& g) {
    ASSERT_EQ(g.layers_size(), 1);
    for (uint32_t r = 0; r < g.rows(); ++r) {
      for (uint32_t c = 0; c < g.cols(); ++c) {
        Coordinate at = Coord({g.row_headers(r).members(0), g.col_headers(c).members(0), "Q1", "Budget"});
        auto want = Reference(file_, cells_, at);
        size_t i = r * g.cols() + c;
        if (!want) {
          EXPECT_EQ(g.layers(0).kinds(i), v1::CELL_KIND_EMPTY);
        } else {
          EXPECT_EQ(g.layers(0).kinds(i), v1::CELL_KIND_NUMBER);
          EXPECT_NEAR(g.layers(0).numbers(i), *want, 1e-6);
        }
      }
    }
  }
  TestServer server_;
  ModelFile file_;
  std::vector<std::pair<CellValue, Coordinate>> cells_;
};

TEST_P(ConnectEndToEnd, AppsDimensionsMembersAndGridAnswerLikeTheReference) {
  v1::ListAppsResponse apps;
  ASSERT_EQ(server_.Call("quantatom.v1.AppService/ListApps", v1::ListAppsRequest(), &apps, json()).status, 200);
  ASSERT_EQ(apps.apps_size(), 1);
  EXPECT_EQ(apps.apps(0).dimensions_size(), 4);
  v1::GetAppRequest get;
  get.set_app("acme");
  v1::AppInfo info;
  ASSERT_EQ(server_.Call("quantatom.v1.AppService/GetApp", get, &info, json()).status, 200);
  EXPECT_EQ(info.planning_type(), "corporate");
  v1::ListDimensionsRequest ld;
  ld.set_app("acme");
  v1::ListDimensionsResponse dims;
  ASSERT_EQ(server_.Call("quantatom.v1.AppService/ListDimensions", ld, &dims, json()).status, 200);
  ASSERT_EQ(dims.dimensions_size(), 4);
  EXPECT_EQ(dims.dimensions(0).name(), "Account");
  EXPECT_EQ(dims.dimensions(0).member_count(), file_.model.dimensions[0].member_count());
  v1::ListMembersRequest lm;
  lm.set_app("acme");
  lm.set_dimension("Account");
  lm.set_member_set("children(Revenue)");
  lm.set_include_attributes(true);
  v1::ListMembersResponse members;
  ASSERT_EQ(server_.Call("quantatom.v1.AppService/ListMembers", lm, &members, json()).status, 200);
  ASSERT_EQ(members.members_size(), 2);
  EXPECT_EQ(members.members(0).code(), "Sales");
  EXPECT_EQ(members.members(0).attributes().at("gl"), "4000");
  EXPECT_EQ(members.members(0).parents(0).parent(), "Revenue");

  v1::QueryGridRequest q;
  *q.mutable_grid() = Spec();
  q.set_include_metadata(true);
  v1::QueryGridResponse g;
  HttpReply r = server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, json() ? "application/json" : "application/proto");
  ASSERT_EQ(g.rows(), 3u);
  ASSERT_EQ(g.cols(), 3u);
  ExpectGridMatchesReference(g);
  ASSERT_EQ(g.metadata().flags_size(), 9);
  EXPECT_TRUE(g.metadata().flags(0) & v1::CELL_FLAG_CONSOLIDATED);
  EXPECT_TRUE(g.metadata().flags(0) & v1::CELL_FLAG_READABLE);

  v1::ExportCellsRequest ex;
  ex.set_app("acme");
  for (const char* m : {"NetIncome", "World", "Q1", "Budget"}) ex.mutable_region()->add_members(m);
  v1::ExportCellsResponse cells;
  r = server_.Call("quantatom.v1.GridService/ExportCells", ex, &cells, json());
  ASSERT_EQ(r.status, 200) << r.body;
  size_t want = 0;
  Coordinate region = Coord({"NetIncome", "World", "Q1", "Budget"});
  for (const auto& [v, leaf] : cells_) {
    bool below = v.is_number();
    for (size_t d = 0; d < 4 && below; ++d) below = file_.model.dimensions[d].IsAncestorOrSelf(region[d], leaf[d]);
    want += below;
  }
  EXPECT_EQ(static_cast<size_t>(cells.values_size()), want);
}

TEST_P(ConnectEndToEnd, WritesSpreadsUndoHoldsTargetsCommentsAndAudit) {
  // Write one leaf; the totals above it move by exactly the difference.
  v1::WriteCellsRequest w;
  w.set_app("acme");
  auto* cell = w.add_cells();
  for (const char* m : {"Sales", "EMEA", "Jan", "Budget"}) cell->mutable_coordinate()->add_members(m);
  cell->mutable_value()->set_number(5000);
  v1::ChangeSummary sum;
  HttpReply r = server_.Call("quantatom.v1.WriteService/WriteCells", w, &sum, json());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sum.cells_changed(), 1u);
  for (auto& [v, leaf] : cells_)
    if (leaf == Coord({"Sales", "EMEA", "Jan", "Budget"})) v = CellValue::Number(5000);
  bool present = false;
  for (auto& [v, leaf] : cells_) present = present || leaf == Coord({"Sales", "EMEA", "Jan", "Budget"});
  if (!present) cells_.push_back({CellValue::Number(5000), Coord({"Sales", "EMEA", "Jan", "Budget"})});
  v1::QueryGridRequest q;
  *q.mutable_grid() = Spec();
  v1::QueryGridResponse g;
  ASSERT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
  ExpectGridMatchesReference(g);

  // A stale version is a conflict: aborted (409), nothing written.
  cell->set_seen_version(1);
  cell->mutable_value()->set_number(1);
  r = server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, json());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.code(), "aborted");

  // Bulk write two cells by member id.
  v1::ListMembersRequest lm;
  lm.set_app("acme");
  v1::BulkWriteRequest bulk;
  bulk.set_app("acme");
  std::vector<std::vector<std::string>> rows = {{"Services", "AMER", "Feb", "Budget"}, {"Rent", "EMEA", "Mar", "Budget"}};
  for (size_t d = 0; d < 4; ++d) {
    auto* col = bulk.add_columns();
    for (const auto& row : rows) col->add_ids(*file_.model.dimensions[d].Find(row[d]));
  }
  bulk.add_values(111);
  bulk.add_values(222);
  r = server_.Call("quantatom.v1.WriteService/BulkWrite", bulk, &sum, json());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sum.cells_changed(), 2u);

  // Spread 9000 into Revenue, World, Q1, Budget: the total reads 9000 afterwards.
  v1::SpreadRequest sp;
  sp.set_app("acme");
  for (const char* m : {"Revenue", "World", "Q1", "Budget"}) sp.mutable_target()->add_members(m);
  sp.set_value(9000);
  r = server_.Call("quantatom.v1.WriteService/Spread", sp, &sum, json());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(sum.cells_changed(), 0u);
  ASSERT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
  EXPECT_NEAR(g.layers(0).numbers(3), 9000, 1e-6);  // row Revenue, col World

  // Undo puts the grid back; redo re-applies.
  v1::UndoRequest u;
  u.set_app("acme");
  ASSERT_EQ(server_.Call("quantatom.v1.WriteService/Undo", u, &sum, json()).status, 200);
  ASSERT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
  EXPECT_NE(g.layers(0).numbers(3), 9000);
  ASSERT_EQ(server_.Call("quantatom.v1.WriteService/Redo", u, &sum, json()).status, 200);
  ASSERT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
  EXPECT_NEAR(g.layers(0).numbers(3), 9000, 1e-6);

  // Holds.
  v1::SetHoldRequest h;
  h.set_app("acme");
  for (const char* m : {"Sales", "World", "Q1", "Budget"}) h.mutable_coordinate()->add_members(m);
  h.set_held(true);
  v1::SetHoldResponse hr;
  ASSERT_EQ(server_.Call("quantatom.v1.PlanningService/SetHold", h, &hr, json()).status, 200);
  v1::ListHoldsRequest lh;
  lh.set_app("acme");
  v1::ListHoldsResponse holds;
  ASSERT_EQ(server_.Call("quantatom.v1.PlanningService/ListHolds", lh, &holds, json()).status, 200);
  ASSERT_EQ(holds.holds_size(), 1);
  EXPECT_EQ(holds.holds(0).members(0), "Sales");

  // Comments: add, reply, list.
  v1::AddCommentRequest ac;
  ac.set_app("acme");
  for (const char* m : {"Revenue", "World", "Q1", "Budget"}) ac.mutable_coordinate()->add_members(m);
  ac.set_text("pipeline looks strong");
  v1::Comment comment;
  ASSERT_EQ(server_.Call("quantatom.v1.CommentService/AddComment", ac, &comment, json()).status, 200);
  EXPECT_EQ(comment.author(), "admin");
  ac.set_parent(comment.id());
  ac.set_text("agreed");
  ASSERT_EQ(server_.Call("quantatom.v1.CommentService/AddComment", ac, &comment, json()).status, 200);
  v1::ListCommentsRequest lc;
  lc.set_app("acme");
  for (const char* m : {"NetIncome", "World", "Q1", "Budget"}) lc.mutable_coordinate()->add_members(m);
  v1::ListCommentsResponse comments;
  ASSERT_EQ(server_.Call("quantatom.v1.CommentService/ListComments", lc, &comments, json()).status, 200);
  EXPECT_EQ(comments.comments_size(), 2);

  // Targets: set, list, variance; the target layer reads it back.
  v1::SetTargetRequest st;
  st.set_app("acme");
  for (const char* m : {"Revenue", "World", "Q1", "Budget"}) st.mutable_target()->mutable_coordinate()->add_members(m);
  st.mutable_target()->set_value(10000);
  v1::SetTargetResponse str;
  r = server_.Call("quantatom.v1.PlanningService/SetTarget", st, &str, json());
  ASSERT_EQ(r.status, 200) << r.body;
  v1::ListTargetsRequest lt;
  lt.set_app("acme");
  v1::ListTargetsResponse targets;
  ASSERT_EQ(server_.Call("quantatom.v1.PlanningService/ListTargets", lt, &targets, json()).status, 200);
  ASSERT_EQ(targets.targets_size(), 1);
  EXPECT_EQ(targets.targets(0).value(), 10000);
  v1::GetVarianceRequest gv;
  gv.set_app("acme");
  *gv.mutable_coordinate() = st.target().coordinate();
  gv.set_kind("plan_vs_target");
  gv.set_top(2);
  v1::GetVarianceResponse var;
  r = server_.Call("quantatom.v1.PlanningService/GetVariance", gv, &var, json());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NEAR(var.values().target().number(), 10000, 1e-9);
  EXPECT_NEAR(var.values().plan().number(), 9000, 1e-6);
  EXPECT_NEAR(var.values().plan_vs_target().absolute(), -1000, 1e-6);
  q.add_layers(v1::LAYER_PLAN);
  q.add_layers(v1::LAYER_TARGET);
  ASSERT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
  ASSERT_EQ(g.layers_size(), 2);
  EXPECT_NEAR(g.layers(1).numbers(3), 10000, 1e-6);
  v1::RemoveTargetRequest rt;
  rt.set_app("acme");
  *rt.mutable_coordinate() = st.target().coordinate();
  ASSERT_EQ(server_.Call("quantatom.v1.PlanningService/RemoveTarget", rt, &str, json()).status, 200);

  // Audit: newest first; the spread (redone) and the write are there, by admin.
  v1::QueryAuditRequest qa;
  qa.set_app("acme");
  v1::QueryAuditResponse audit;
  ASSERT_EQ(server_.Call("quantatom.v1.AuditService/QueryAudit", qa, &audit, json()).status, 200);
  ASSERT_GE(audit.entries_size(), 3);
  EXPECT_EQ(audit.entries(0).user(), "admin");
  bool saw_write = false;
  for (const auto& e : audit.entries()) {
    for (const auto& c : e.cells()) {
      if (c.coordinate().members(0) == "Sales" && c.coordinate().members(1) == "EMEA" &&
          c.coordinate().members(2) == "Jan" && c.new_value().number() == 5000 && e.action() == "input")
        saw_write = true;
    }
  }
  EXPECT_TRUE(saw_write) << audit.DebugString().substr(0, 3000);
}

TEST_P(ConnectEndToEnd, AdminCallsManageUsersTokensRightsAndPolicy) {
  v1::CreateUserRequest cu;
  cu.mutable_user()->set_name("ann");
  cu.mutable_user()->add_roles("emea");
  v1::User user;
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/CreateUser", cu, &user, json()).status, 200);
  v1::IssueTokenRequest it;
  it.set_user("ann");
  v1::IssueTokenResponse tok;
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/IssueToken", it, &tok, json()).status, 200);
  v1::ListUsersResponse users;
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/ListUsers", v1::ListUsersRequest(), &users, json()).status, 200);
  EXPECT_EQ(users.users_size(), 2);
  v1::WhoAmIResponse me;
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/WhoAmI", v1::WhoAmIRequest(), &me, json(), tok.token()).status, 200);
  EXPECT_EQ(me.user(), "ann");
  // No role rules yet: the app does not exist for ann (not found, as for a missing app).
  v1::GetAppRequest get;
  get.set_app("acme");
  HttpReply r = server_.Call("quantatom.v1.AppService/GetApp", get, nullptr, json(), tok.token());
  EXPECT_EQ(r.status, 404);
  get.set_app("nope");
  HttpReply missing = server_.Call("quantatom.v1.AppService/GetApp", get, nullptr, json(), tok.token());
  EXPECT_EQ(missing.status, 404);
  // ann reads EMEA only, writes nothing elsewhere.
  v1::SetMemberRightsRequest mr;
  mr.set_app("acme");
  mr.set_role("emea");
  mr.set_dimension("Region");
  mr.set_default_access(v1::ACCESS_NONE);
  auto* right = mr.add_rights();
  right->set_member("EMEA");
  right->set_access(v1::ACCESS_WRITE);
  v1::SetMemberRightsResponse mrr;
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/SetMemberRights", mr, &mrr, json()).status, 200);
  v1::SetTotalsPolicyRequest tp;
  tp.set_app("acme");
  tp.set_policy(v1::TOTALS_POLICY_DENY);
  v1::SetTotalsPolicyResponse tpr;
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/SetTotalsPolicy", tp, &tpr, json()).status, 200);
  v1::QueryGridRequest q;
  *q.mutable_grid() = Spec();
  v1::QueryGridResponse g;
  r = server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json(), tok.token());
  ASSERT_EQ(r.status, 200) << r.body;
  // AMER is invisible to ann (left out of the member set); World is visible (ann reads EMEA
  // below it) but, under the deny policy, hidden: it has a leaf ann may not read.
  ASSERT_EQ(g.cols(), 2u);
  EXPECT_EQ(g.col_headers(0).members(0), "World");
  EXPECT_EQ(g.col_headers(1).members(0), "EMEA");
  for (uint32_t row = 0; row < g.rows(); ++row) {
    EXPECT_EQ(g.layers(0).kinds(row * 2), v1::CELL_KIND_HIDDEN);
    EXPECT_EQ(g.layers(0).numbers(row * 2), 0);
    auto want = Reference(file_, cells_, Coord({g.row_headers(row).members(0), "EMEA", "Q1", "Budget"}));
    if (want) { EXPECT_NEAR(g.layers(0).numbers(row * 2 + 1), *want, 1e-6); }
  }
  // ann may not call admin methods.
  r = server_.Call("quantatom.v1.AdminService/ListUsers", v1::ListUsersRequest(), nullptr, json(), tok.token());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code(), "permission_denied");
  v1::RevokeTokenRequest rv;
  rv.set_token_id(tok.token_id());
  v1::RevokeTokenResponse rvr;
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/RevokeToken", rv, &rvr, json()).status, 200);
  r = server_.Call("quantatom.v1.AdminService/WhoAmI", v1::WhoAmIRequest(), nullptr, json(), tok.token());
  EXPECT_EQ(r.status, 401);
}

// Sets `leaf` to `v` in a reference cell list (adds it when absent).
void SetReference(std::vector<std::pair<CellValue, Coordinate>>* cells, const Coordinate& leaf, double v) {
  for (auto& [value, c] : *cells) {
    if (c == leaf) {
      value = CellValue::Number(v);
      return;
    }
  }
  cells->push_back({CellValue::Number(v), leaf});
}

TEST_P(ConnectEndToEnd, SandboxesWriteSpreadQueryCommitDiscardAndKeepToTheirOwner) {
  auto call = [&](const std::string& m, const google::protobuf::Message& req, google::protobuf::Message* out,
                  const std::string& token = testing::kAdminToken) { return server_.Call(m, req, out, json(), token); };
  auto grid = [&](const std::string& sandbox, const std::string& token = testing::kAdminToken) {
    v1::QueryGridRequest q;
    *q.mutable_grid() = Spec();
    q.set_sandbox(sandbox);
    v1::QueryGridResponse g;
    HttpReply r = call("quantatom.v1.GridService/QueryGrid", q, &g, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return g;
  };
  auto expect_grid = [&](const v1::QueryGridResponse& g, const std::vector<std::pair<CellValue, Coordinate>>& cells) {
    ASSERT_EQ(g.rows() * g.cols(), 9u);
    for (uint32_t r = 0; r < g.rows(); ++r) {
      for (uint32_t c = 0; c < g.cols(); ++c) {
        auto want = Reference(file_, cells, Coord({g.row_headers(r).members(0), g.col_headers(c).members(0), "Q1", "Budget"}));
        const size_t i = r * g.cols() + c;
        ASSERT_EQ(g.layers(0).kinds(i), want ? v1::CELL_KIND_NUMBER : v1::CELL_KIND_EMPTY) << i;
        if (want) { EXPECT_NEAR(g.layers(0).numbers(i), *want, 1e-6) << i; }
      }
    }
  };
  v1::SandboxRequest sb;
  sb.set_app("acme");
  sb.set_name("mine");
  v1::SandboxInfo info;
  ASSERT_EQ(call("quantatom.v1.SandboxService/CreateSandbox", sb, &info).status, 200);
  EXPECT_EQ(info.owner(), "admin");
  EXPECT_EQ(info.name(), "mine");
  EXPECT_EQ(call("quantatom.v1.SandboxService/CreateSandbox", sb, nullptr).code(), "already_exists");

  // A write and a spread into the sandbox.
  v1::WriteCellsRequest w;
  w.set_app("acme");
  w.set_sandbox("mine");
  auto* cell = w.add_cells();
  for (const char* m : {"Sales", "EMEA", "Jan", "Budget"}) cell->mutable_coordinate()->add_members(m);
  cell->mutable_value()->set_number(5000);
  ASSERT_EQ(call("quantatom.v1.WriteService/WriteCells", w, nullptr).status, 200);
  v1::SpreadRequest sp;
  sp.set_app("acme");
  sp.set_sandbox("mine");
  for (const char* m : {"Revenue", "AMER", "Q1", "Budget"}) sp.mutable_target()->add_members(m);
  sp.set_method(v1::SPREAD_METHOD_PROPORTIONAL);
  sp.set_value(5000);  // AMER revenue 2000 + 500 doubles: 4000 and 1000
  v1::ChangeSummary spread;
  ASSERT_EQ(call("quantatom.v1.WriteService/Spread", sp, &spread).status, 200);
  EXPECT_EQ(spread.cells_changed(), 2u);
  auto sandboxed = cells_;
  SetReference(&sandboxed, Coord({"Sales", "EMEA", "Jan", "Budget"}), 5000);
  SetReference(&sandboxed, Coord({"Sales", "AMER", "Jan", "Budget"}), 4000);
  SetReference(&sandboxed, Coord({"Services", "AMER", "Mar", "Budget"}), 1000);
  expect_grid(grid("mine"), sandboxed);
  expect_grid(grid(""), cells_);  // the app is unchanged

  v1::ListSandboxesRequest ls;
  ls.set_app("acme");
  v1::ListSandboxesResponse list;
  ASSERT_EQ(call("quantatom.v1.SandboxService/ListSandboxes", ls, &list).status, 200);
  ASSERT_EQ(list.sandboxes_size(), 1);
  EXPECT_EQ(list.sandboxes(0).cells(), 3u);

  // Another user sees neither the sandbox nor its cells.
  ASSERT_TRUE(server_.tokens().CreateUser(User{"bob", {"all"}, false}).ok());
  auto bob = server_.tokens().IssueToken("bob");
  ASSERT_TRUE(bob.ok());
  v1::SetMemberRightsRequest mr;
  mr.set_app("acme");
  mr.set_role("all");
  mr.set_dimension("Region");
  mr.set_default_access(v1::ACCESS_WRITE);
  ASSERT_EQ(call("quantatom.v1.AdminService/SetMemberRights", mr, nullptr).status, 200);
  ASSERT_EQ(call("quantatom.v1.SandboxService/ListSandboxes", ls, &list, bob->first).status, 200);
  EXPECT_EQ(list.sandboxes_size(), 0);
  v1::QueryGridRequest q;
  *q.mutable_grid() = Spec();
  q.set_sandbox("mine");
  EXPECT_EQ(call("quantatom.v1.GridService/QueryGrid", q, nullptr, bob->first).code(), "not_found");

  // Commit: the app now has the sandbox's cells, as one change set; the sandbox is gone.
  v1::CommitSandboxRequest cs;
  cs.set_app("acme");
  cs.set_name("mine");
  v1::ChangeSummary committed;
  ASSERT_EQ(call("quantatom.v1.SandboxService/CommitSandbox", cs, &committed).status, 200);
  EXPECT_EQ(committed.cells_changed(), 3u);
  expect_grid(grid(""), sandboxed);
  ASSERT_EQ(call("quantatom.v1.SandboxService/ListSandboxes", ls, &list).status, 200);
  EXPECT_EQ(list.sandboxes_size(), 0);
  EXPECT_EQ(call("quantatom.v1.SandboxService/DiscardSandbox", sb, nullptr).code(), "not_found");

  // A conflicting change in the app aborts the commit; the sandbox stays open; discard drops it.
  ASSERT_EQ(call("quantatom.v1.SandboxService/CreateSandbox", sb, nullptr).status, 200);
  cell->mutable_value()->set_number(1);
  ASSERT_EQ(call("quantatom.v1.WriteService/WriteCells", w, nullptr).status, 200);
  w.clear_sandbox();
  cell->mutable_value()->set_number(2);
  ASSERT_EQ(call("quantatom.v1.WriteService/WriteCells", w, nullptr).status, 200);
  EXPECT_EQ(call("quantatom.v1.SandboxService/CommitSandbox", cs, nullptr).code(), "aborted");
  ASSERT_EQ(call("quantatom.v1.SandboxService/DiscardSandbox", sb, &info).status, 200);
  EXPECT_EQ(info.cells(), 1u);
  SetReference(&sandboxed, Coord({"Sales", "EMEA", "Jan", "Budget"}), 2);
  expect_grid(grid(""), sandboxed);
}

// MergeSandbox by vector clocks, a sandbox's replica id and clock, the superseded count of a
// commit, and QueryAudit's time range checked against a scan of the whole trail.
TEST_P(ConnectEndToEnd, SandboxesMergeByTheirClocksAndAuditFiltersByTime) {
  auto call = [&](const std::string& m, const google::protobuf::Message& req, google::protobuf::Message* out) {
    return server_.Call(m, req, out, json());
  };
  auto create = [&](const std::string& name) {
    v1::SandboxRequest sb;
    sb.set_app("acme");
    sb.set_name(name);
    v1::SandboxInfo info;
    EXPECT_EQ(call("quantatom.v1.SandboxService/CreateSandbox", sb, &info).status, 200);
    return info;
  };
  auto write = [&](const std::string& sandbox, const char* account, double value) {
    v1::WriteCellsRequest w;
    w.set_app("acme");
    w.set_sandbox(sandbox);
    auto* cell = w.add_cells();
    for (const char* m : {account, "EMEA", "Jan", "Budget"}) cell->mutable_coordinate()->add_members(m);
    cell->mutable_value()->set_number(value);
    HttpReply r = call("quantatom.v1.WriteService/WriteCells", w, nullptr);
    EXPECT_EQ(r.status, 200) << r.body;
  };
  auto read = [&](const std::string& sandbox, const char* account) {
    v1::QueryGridRequest q;
    q.mutable_grid()->set_app("acme");
    auto* row = q.mutable_grid()->mutable_rows()->add_parts();
    row->set_dimension("Account");
    row->set_member_set(account);
    auto* col = q.mutable_grid()->mutable_cols()->add_parts();
    col->set_dimension("Region");
    col->set_member_set("EMEA");
    for (auto [d, m] : {std::pair{"Month", "Jan"}, std::pair{"Scenario", "Budget"}}) {
      auto* sl = q.mutable_grid()->add_slicers();
      sl->set_dimension(d);
      sl->set_member(m);
    }
    q.set_sandbox(sandbox);
    v1::QueryGridResponse g;
    EXPECT_EQ(call("quantatom.v1.GridService/QueryGrid", q, &g).status, 200);
    return g.layers(0).numbers(0);
  };
  auto merge = [&](const std::string& into, const std::string& from, v1::ConflictPolicy policy, v1::MergeSandboxResponse* out) {
    v1::MergeSandboxRequest m;
    m.set_app("acme");
    m.set_name(into);
    m.set_from(from);
    m.set_conflict_policy(policy);
    return call("quantatom.v1.SandboxService/MergeSandbox", m, out);
  };
  auto commit = [&](const std::string& name) {
    v1::CommitSandboxRequest cs;
    cs.set_app("acme");
    cs.set_name(name);
    v1::ChangeSummary out;
    EXPECT_EQ(call("quantatom.v1.SandboxService/CommitSandbox", cs, &out).status, 200);
    return out;
  };
  const int64_t t0 = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  // Two sandboxes: distinct replica ids; each write advances the writer's own counter.
  const v1::SandboxInfo a = create("a"), b = create("b");
  EXPECT_NE(a.replica(), 0u);
  EXPECT_NE(a.replica(), b.replica());
  write("a", "Sales", 111);
  write("b", "Services", 222);
  v1::ListSandboxesRequest ls;
  ls.set_app("acme");
  v1::ListSandboxesResponse list;
  ASSERT_EQ(call("quantatom.v1.SandboxService/ListSandboxes", ls, &list).status, 200);
  ASSERT_EQ(list.sandboxes_size(), 2);
  for (const v1::SandboxInfo& s : list.sandboxes()) {
    EXPECT_GE(s.clock().count(s.replica()) ? s.clock().at(s.replica()) : 0, 1u) << s.name();
    EXPECT_EQ(s.clock().count(s.name() == "a" ? b.replica() : a.replica()), 0u) << "has not seen the other";
  }

  // b takes a's cell; a is unchanged; b's clock now covers a's change. Again: nothing new.
  v1::MergeSandboxResponse merged;
  HttpReply r = merge("b", "a", v1::CONFLICT_POLICY_ABORT, &merged);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(merged.cells_written(), 1u);
  EXPECT_EQ(merged.superseded(), 0u);
  EXPECT_EQ(merged.conflicts_size(), 0);
  EXPECT_EQ(merged.sandbox().cells(), 2u);
  EXPECT_GE(merged.sandbox().clock().count(a.replica()), 1u);
  EXPECT_EQ(read("b", "Sales"), 111);
  EXPECT_EQ(read("b", "Services"), 222);
  ASSERT_EQ(merge("b", "a", v1::CONFLICT_POLICY_ABORT, &merged).status, 200);
  EXPECT_EQ(merged.cells_written(), 0u);
  EXPECT_EQ(merged.superseded(), 1u);
  EXPECT_EQ(merge("b", "b", v1::CONFLICT_POLICY_ABORT, nullptr).code(), "invalid_argument");
  EXPECT_EQ(merge("b", "nope", v1::CONFLICT_POLICY_ABORT, nullptr).code(), "not_found");

  // b commits both cells; a's cell is then superseded in a's commit (the app saw it via b).
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int64_t t1 = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(commit("b").cells_changed(), 2u);
  const v1::ChangeSummary late = commit("a");
  EXPECT_EQ(late.cells_changed(), 0u);
  EXPECT_EQ(late.superseded(), 1u);
  EXPECT_EQ(read("", "Sales"), 111);

  // Concurrent writes of one cell: abort changes nothing; keep-mine takes the other's value.
  create("c");
  create("d");
  write("c", "Sales", 5);
  write("d", "Sales", 6);
  EXPECT_EQ(merge("d", "c", v1::CONFLICT_POLICY_ABORT, nullptr).code(), "aborted");
  EXPECT_EQ(read("d", "Sales"), 6);
  ASSERT_EQ(merge("d", "c", v1::CONFLICT_POLICY_KEEP_MINE, &merged).status, 200);
  ASSERT_EQ(merged.conflicts_size(), 1);
  EXPECT_EQ(merged.conflicts(0).current().number(), 6);
  EXPECT_EQ(merged.conflicts(0).wanted().number(), 5);
  EXPECT_EQ(read("d", "Sales"), 5);

  // Audit by time: the range query returns exactly the change sets a scan of everything keeps.
  v1::QueryAuditRequest qa;
  qa.set_app("acme");
  qa.set_limit(100000);
  v1::QueryAuditResponse all;
  ASSERT_EQ(call("quantatom.v1.AuditService/QueryAudit", qa, &all).status, 200);
  for (auto [from, to] : {std::pair<int64_t, int64_t>{t0, 0}, {t1, 0}, {0, t1}, {t0, t1}, {1, 2}, {t1 + 3600'000, 0}}) {
    std::vector<uint64_t> want, got;
    for (const v1::AuditEntry& e : all.entries()) {
      if ((from == 0 || e.unix_millis() >= from) && (to == 0 || e.unix_millis() <= to)) want.push_back(e.change_set());
    }
    qa.set_from_unix_millis(from);
    qa.set_to_unix_millis(to);
    v1::QueryAuditResponse ranged;
    ASSERT_EQ(call("quantatom.v1.AuditService/QueryAudit", qa, &ranged).status, 200);
    for (const v1::AuditEntry& e : ranged.entries()) got.push_back(e.change_set());
    EXPECT_EQ(got, want) << "from " << from << " to " << to;
    if (from == t1 && to == 0) {
      EXPECT_GE(got.size(), 1u) << "b's commit is after t1";
    }
    if (from == 0 && to == t1) {
      EXPECT_GE(got.size(), 1u) << "the import is before t1";
    }
  }
}

TEST_P(ConnectEndToEnd, ASandboxHidesWhatTheUsersRightsHide) {
  ASSERT_TRUE(server_.tokens().CreateUser(User{"ann", {"emea"}, false}).ok());
  auto ann = server_.tokens().IssueToken("ann");
  ASSERT_TRUE(ann.ok());
  v1::SetMemberRightsRequest mr;
  mr.set_app("acme");
  mr.set_role("emea");
  mr.set_dimension("Region");
  mr.set_default_access(v1::ACCESS_NONE);
  auto* right = mr.add_rights();
  right->set_member("EMEA");
  right->set_access(v1::ACCESS_WRITE);
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/SetMemberRights", mr, nullptr, json()).status, 200);
  v1::SandboxRequest sb;
  sb.set_app("acme");
  sb.set_name("s");
  ASSERT_EQ(server_.Call("quantatom.v1.SandboxService/CreateSandbox", sb, nullptr, json(), ann->first).status, 200);
  // ann may not write AMER in her sandbox either.
  v1::WriteCellsRequest w;
  w.set_app("acme");
  w.set_sandbox("s");
  auto* cell = w.add_cells();
  for (const char* m : {"Sales", "AMER", "Jan", "Budget"}) cell->mutable_coordinate()->add_members(m);
  cell->mutable_value()->set_number(1);
  EXPECT_EQ(server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, json(), ann->first).code(), "not_found");
  cell->clear_coordinate();
  for (const char* m : {"Sales", "EMEA", "Jan", "Budget"}) cell->mutable_coordinate()->add_members(m);
  cell->mutable_value()->set_number(3000);
  ASSERT_EQ(server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, json(), ann->first).status, 200);
  // Her sandbox grid (World and EMEA columns are what she may name): EMEA shows the sandbox's
  // values; World, which has AMER leaves below it, is hidden (no value, no hint).
  v1::QueryGridRequest q;
  *q.mutable_grid() = Spec();
  q.set_sandbox("s");
  v1::QueryGridResponse g;
  HttpReply r = server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json(), ann->first);
  ASSERT_EQ(r.status, 200) << r.body;
  auto sandboxed = cells_;
  SetReference(&sandboxed, Coord({"Sales", "EMEA", "Jan", "Budget"}), 3000);
  ASSERT_EQ(g.cols(), 2u);
  for (uint32_t row = 0; row < g.rows(); ++row) {
    EXPECT_EQ(g.layers(0).kinds(row * 2), v1::CELL_KIND_HIDDEN);
    EXPECT_EQ(g.layers(0).numbers(row * 2), 0);
    auto want = Reference(file_, sandboxed, Coord({g.row_headers(row).members(0), "EMEA", "Q1", "Budget"}));
    ASSERT_TRUE(want);
    EXPECT_NEAR(g.layers(0).numbers(row * 2 + 1), *want, 1e-6);
  }
}

TEST_P(ConnectEndToEnd, RunBridgeMapsASourceAppIntoTheTargetAndListBridgesShowsIt) {
  // A GL app whose fine accounts map onto acme's plan accounts; the other dimensions match by
  // name and code.
  const std::string gl = R"({"app": "gl", "planning_type": "corporate", "dimensions": [
    {"name": "Account", "type": "account", "members": [
      {"code": "GL"}, {"code": "G4000", "parent": "GL"}, {"code": "G4010", "parent": "GL"}, {"code": "G6500", "parent": "GL"}]},
    {"name": "Region", "type": "entity", "members": [{"code": "World"}, {"code": "EMEA", "parent": "World"}, {"code": "AMER", "parent": "World"}]},
    {"name": "Month", "type": "time", "members": [{"code": "Q1"}, {"code": "Jan", "parent": "Q1"}, {"code": "Feb", "parent": "Q1"}, {"code": "Mar", "parent": "Q1"}]},
    {"name": "Scenario", "type": "scenario", "members": [{"code": "Actual"}, {"code": "Budget"}]}],
   "cells": [
    {"Account": "G4000", "Region": "EMEA", "Month": "Feb", "Scenario": "Budget", "value": 10},
    {"Account": "G4010", "Region": "EMEA", "Month": "Feb", "Scenario": "Budget", "value": 20},
    {"Account": "G6500", "Region": "AMER", "Month": "Mar", "Scenario": "Budget", "value": 40}]})";
  v1::ImportModelRequest im;
  im.set_model_json(gl);
  ASSERT_EQ(server_.Call("quantatom.v1.AppService/ImportModel", im, nullptr, json()).status, 200);
  v1::RunBridgeRequest rb;
  rb.set_source_app("gl");
  rb.set_target_app("acme");
  rb.set_source_dimension("Account");
  rb.set_target_dimension("Account");
  rb.set_rules_csv("source,target,weight\nG4000,Sales,1\nG4010,Sales,0.5\nG4010,Services,0.5\nG6500,Rent\n");
  v1::RunBridgeResponse run;
  HttpReply r = server_.Call("quantatom.v1.PlanningService/RunBridge", rb, &run, json());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(run.unmapped_leaves(), 0u);
  // Bridged cells replace the target's: Sales/EMEA/Feb = 10 + 0.5 * 20, Services/EMEA/Feb =
  // 10, Rent/AMER/Mar = 40 (the bridge writes every cell it maps).
  auto bridged = cells_;
  SetReference(&bridged, Coord({"Sales", "EMEA", "Feb", "Budget"}), 20);
  SetReference(&bridged, Coord({"Services", "EMEA", "Feb", "Budget"}), 10);
  SetReference(&bridged, Coord({"Rent", "AMER", "Mar", "Budget"}), 40);
  EXPECT_EQ(run.summary().cells_changed(), 3u);
  v1::QueryGridRequest q;
  *q.mutable_grid() = Spec();
  v1::QueryGridResponse g;
  ASSERT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
  for (uint32_t row = 0; row < g.rows(); ++row) {
    for (uint32_t col = 0; col < g.cols(); ++col) {
      auto want = Reference(file_, bridged, Coord({g.row_headers(row).members(0), g.col_headers(col).members(0), "Q1", "Budget"}));
      ASSERT_TRUE(want);
      EXPECT_NEAR(g.layers(0).numbers(row * g.cols() + col), *want, 1e-6);
    }
  }
  v1::ListBridgesRequest lb;
  lb.set_app("acme");
  v1::ListBridgesResponse bridges;
  ASSERT_EQ(server_.Call("quantatom.v1.PlanningService/ListBridges", lb, &bridges, json()).status, 200);
  ASSERT_EQ(bridges.bridges_size(), 1);
  EXPECT_EQ(bridges.bridges(0).source_app(), "gl");
  EXPECT_EQ(bridges.bridges(0).target_app(), "acme");
  EXPECT_EQ(bridges.bridges(0).rules(), 4u);
  // Rules that leave a source leaf unmapped change nothing and say which leaf.
  rb.set_rules_csv("source,target\nG4000,Sales\n");
  r = server_.Call("quantatom.v1.PlanningService/RunBridge", rb, nullptr, json());
  EXPECT_EQ(r.code(), "failed_precondition");
  EXPECT_NE(r.body.find("G4010"), std::string::npos) << r.body;
  ASSERT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
  EXPECT_NEAR(g.layers(0).numbers(0), *Reference(file_, bridged, Coord({"NetIncome", "World", "Q1", "Budget"})), 1e-6);
}

TEST_P(ConnectEndToEnd, TotalsCarryTheNewestVersionBelowThemAndAStaleSpreadIsAborted) {
  auto versions = [&]() {
    v1::QueryGridRequest q;
    *q.mutable_grid() = Spec();  // rows NetIncome, Revenue, Costs; cols World, EMEA, AMER
    q.set_include_metadata(true);
    v1::QueryGridResponse g;
    EXPECT_EQ(server_.Call("quantatom.v1.GridService/QueryGrid", q, &g, json()).status, 200);
    return std::vector<uint64_t>(g.metadata().versions().begin(), g.metadata().versions().end());
  };
  const std::vector<uint64_t> before = versions();
  ASSERT_EQ(before.size(), 9u);
  for (uint64_t v : before) EXPECT_GT(v, 0u) << "the import wrote every total's leaves";
  v1::WriteCellsRequest w;
  w.set_app("acme");
  auto* cell = w.add_cells();
  for (const char* m : {"Sales", "EMEA", "Feb", "Budget"}) cell->mutable_coordinate()->add_members(m);
  cell->mutable_value()->set_number(1234);
  v1::ChangeSummary written;
  ASSERT_EQ(server_.Call("quantatom.v1.WriteService/WriteCells", w, &written, json()).status, 200);
  const std::vector<uint64_t> after = versions();
  // Cells above Sales/EMEA (NetIncome and Revenue by World and EMEA) take the write's seq;
  // the AMER column and Costs keep theirs.
  for (size_t i : {0, 1, 3, 4}) EXPECT_EQ(after[i], written.seq()) << i;
  for (size_t i : {2, 5, 6, 7, 8}) EXPECT_EQ(after[i], before[i]) << i;
  // A spread into Revenue/World carrying the version before the write is refused.
  v1::SpreadRequest sp;
  sp.set_app("acme");
  for (const char* m : {"Revenue", "World", "Q1", "Budget"}) sp.mutable_target()->add_members(m);
  sp.set_method(v1::SPREAD_METHOD_PROPORTIONAL);
  sp.set_value(10000);
  sp.set_seen_version(before[3]);
  HttpReply r = server_.Call("quantatom.v1.WriteService/Spread", sp, nullptr, json());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.code(), "aborted");
  EXPECT_EQ(versions(), after) << "nothing changed";
  sp.set_seen_version(after[3]);
  v1::ChangeSummary spread;
  ASSERT_EQ(server_.Call("quantatom.v1.WriteService/Spread", sp, &spread, json()).status, 200);
  EXPECT_GT(spread.cells_changed(), 0u);
  // Costs by AMER had no change below it since: a spread into it with its version goes in.
  sp.clear_target();
  for (const char* m : {"Costs", "AMER", "Q1", "Budget"}) sp.mutable_target()->add_members(m);
  sp.set_seen_version(after[8]);
  EXPECT_EQ(server_.Call("quantatom.v1.WriteService/Spread", sp, nullptr, json()).status, 200);
}

TEST_P(ConnectEndToEnd, SubscribeStreamsTheSnapshotThenEachChangeOfTheRegion) {
  v1::SubscribeRequest sub;
  *sub.mutable_grid() = Spec();
  std::string payload;
  if (json()) {
    (void)google::protobuf::util::MessageToJsonString(sub, &payload);
  } else {
    sub.SerializeToString(&payload);
  }
  std::string received;
  std::mutex mu;
  std::thread reader([&] {
    httplib::Client client("127.0.0.1", server_.port());
    client.set_read_timeout(10, 0);
    httplib::Headers headers = {{"Authorization", std::string("Bearer ") + testing::kAdminToken},
                                {"Connect-Timeout-Ms", "1500"}};
    httplib::Request req;
    req.method = "POST";
    req.path = "/quantatom.v1.GridService/Subscribe";
    req.headers = headers;
    req.body = testing::Envelope(0, payload);
    req.set_header("Content-Type", json() ? "application/connect+json" : "application/connect+proto");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      std::lock_guard lock(mu);
      received.append(data, n);
      return true;
    };
    auto res = client.send(req);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  });
  // Wait for the snapshot, then write into the region and outside it.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::lock_guard lock(mu);
    if (!received.empty()) break;
  }
  v1::WriteCellsRequest w;
  w.set_app("acme");
  auto* cell = w.add_cells();
  for (const char* m : {"Rent", "AMER", "Jan", "Actual"}) cell->mutable_coordinate()->add_members(m);  // not Budget
  cell->mutable_value()->set_number(1);
  ASSERT_EQ(server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, json()).status, 200);
  cell->clear_coordinate();
  for (const char* m : {"Sales", "EMEA", "Feb", "Budget"}) cell->mutable_coordinate()->add_members(m);
  cell->mutable_value()->set_number(7777);
  ASSERT_EQ(server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, json()).status, 200);
  reader.join();

  std::vector<std::pair<uint8_t, std::string>> envs;
  ASSERT_TRUE(testing::SplitEnvelopes(received, &envs));
  ASSERT_EQ(envs.size(), 3u) << "snapshot, one change, end of stream";
  v1::GridChange snapshot, change;
  if (json()) {
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(envs[0].second, &snapshot).ok());
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(envs[1].second, &change).ok());
  } else {
    ASSERT_TRUE(snapshot.ParseFromString(envs[0].second));
    ASSERT_TRUE(change.ParseFromString(envs[1].second));
  }
  EXPECT_TRUE(snapshot.snapshot());
  EXPECT_EQ(snapshot.cells_size(), 9);
  EXPECT_EQ(change.user(), "admin");
  // The change lists exactly the cells above Sales/EMEA/Feb: NetIncome and Revenue by World
  // and EMEA (4 cells), with values equal to the reference.
  for (auto& [v, leaf] : cells_)
    if (leaf == Coord({"Sales", "EMEA", "Feb", "Budget"})) v = CellValue::Number(7777);
  bool present = false;
  for (auto& [v, leaf] : cells_) present = present || leaf == Coord({"Sales", "EMEA", "Feb", "Budget"});
  if (!present) cells_.push_back({CellValue::Number(7777), Coord({"Sales", "EMEA", "Feb", "Budget"})});
  ASSERT_EQ(change.cells_size(), 4);
  const char* rows[] = {"NetIncome", "Revenue", "Costs"};
  const char* cols[] = {"World", "EMEA", "AMER"};
  for (const auto& u : change.cells()) {
    auto want = Reference(file_, cells_, Coord({rows[u.row()], cols[u.col()], "Q1", "Budget"}));
    ASSERT_TRUE(want);
    EXPECT_NEAR(u.number(), *want, 1e-6);
  }
  EXPECT_EQ(envs[2].first, 2);
  EXPECT_EQ(envs[2].second, "{}");
}

TEST_P(ConnectEndToEnd, ErrorsMapToConnectCodesAndHttpStatuses) {
  v1::GetAppRequest get;
  get.set_app("missing");
  HttpReply r = server_.Call("quantatom.v1.AppService/GetApp", get, nullptr, json());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code(), "not_found");
  EXPECT_EQ(r.content_type, "application/json");
  // A coordinate of the wrong arity: invalid_argument, naming the dimensions.
  v1::SpreadRequest sp;
  sp.set_app("acme");
  sp.mutable_target()->add_members("Revenue");
  r = server_.Call("quantatom.v1.WriteService/Spread", sp, nullptr, json());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "invalid_argument");
  EXPECT_NE(r.body.find("Account, Region, Month, Scenario"), std::string::npos) << r.body;
  // A write into a consolidated cell: invalid_argument.
  v1::WriteCellsRequest w;
  w.set_app("acme");
  auto* cell = w.add_cells();
  for (const char* m : {"Revenue", "World", "Q1", "Budget"}) cell->mutable_coordinate()->add_members(m);
  cell->mutable_value()->set_number(1);
  r = server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, json());
  EXPECT_EQ(r.status, 400);
  // Nothing to undo for a user who wrote nothing: not_found.
  v1::CreateUserRequest cu;
  cu.mutable_user()->set_name("bob");
  cu.mutable_user()->set_admin(true);
  ASSERT_EQ(server_.Call("quantatom.v1.AdminService/CreateUser", cu, nullptr, json()).status, 200);
  cu.mutable_user()->set_name("bob");
  r = server_.Call("quantatom.v1.AdminService/CreateUser", cu, nullptr, json());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.code(), "already_exists");
  // Unauthenticated and unknown method.
  r = server_.Call("quantatom.v1.AppService/ListApps", v1::ListAppsRequest(), nullptr, json(), "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.code(), "unauthenticated");
  r = server_.Post("/quantatom.v1.AppService/NoSuchMethod", "application/json", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code(), "unimplemented");
  // Unsupported content type: 415.
  r = server_.Post("/quantatom.v1.AppService/ListApps", "text/plain", "{}");
  EXPECT_EQ(r.status, 415);
  // A deadline that has passed: deadline_exceeded (504).
  r = server_.Post("/quantatom.v1.AppService/ListApps", "application/json", "{}", testing::kAdminToken,
                   {{"Connect-Timeout-Ms", "0"}});
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.code(), "deadline_exceeded");
  r = server_.Post("/quantatom.v1.AppService/ListApps", "application/json", "{}", testing::kAdminToken,
                   {{"Connect-Timeout-Ms", "12345678901"}});
  EXPECT_EQ(r.status, 400);
}

TEST_P(ConnectEndToEnd, CorsPreflightAndResponsesCarryTheOrigin) {
  httplib::Client client("127.0.0.1", server_.port());
  httplib::Request req;
  req.method = "OPTIONS";
  req.path = "/quantatom.v1.GridService/QueryGrid";
  req.headers = {{"Origin", "http://localhost:5173"},
                 {"Access-Control-Request-Method", "POST"},
                 {"Access-Control-Request-Headers", "content-type,connect-protocol-version,authorization"}};
  auto res = client.send(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_NE(res->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_NE(res->get_header_value("Access-Control-Allow-Headers").find("Connect-Protocol-Version"), std::string::npos);
  EXPECT_NE(res->get_header_value("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  EXPECT_EQ(res->get_header_value("Access-Control-Max-Age"), "7200");
  HttpReply r = server_.Post("/quantatom.v1.AppService/ListApps", json() ? "application/json" : "application/proto",
                             json() ? "{}" : "", testing::kAdminToken, {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(r.status, 200);
  bool origin = false;
  for (const auto& [k, v] : r.headers) origin = origin || (k == "Access-Control-Allow-Origin" && v == "http://localhost:5173");
  EXPECT_TRUE(origin);
}

TEST_P(ConnectEndToEnd, MetricsEndpointCountsCalls) {
  ASSERT_EQ(server_.Call("quantatom.v1.AppService/ListApps", v1::ListAppsRequest(), nullptr, json()).status, 200);
  httplib::Client client("127.0.0.1", server_.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("quantatom_rpc_requests_total{method=\"AppService/ListApps\",code=\"ok\"} 1"), std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("quantatom_rpc_seconds_bucket{method=\"AppService/ListApps\",le=\"+Inf\"} 1"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ConnectEndToEnd, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Json" : "Binary"; });

}  // namespace
}  // namespace quantatom

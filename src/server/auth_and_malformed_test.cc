// Generated from the service descriptors: every method of every service in quantatom.v1,
// called without credentials, with a malformed header and with a wrong token, in binary and
// JSON, is rejected as unauthenticated before it runs. And malformed requests (bad protobuf,
// wrong JSON types, unknown fields, deep nesting, huge bodies, bad envelopes) get clear codes,
// change nothing, and the server keeps serving.
#include <gtest/gtest.h>

#include "api/quantatom/v1/admin.pb.h"
#include "api/quantatom/v1/apps.pb.h"
#include "api/quantatom/v1/grid.pb.h"
#include "api/quantatom/v1/planning.pb.h"
#include "api/quantatom/v1/write.pb.h"
#include "server/server_testutil.h"

namespace quantatom {
namespace {

namespace v1 = ::quantatom::v1;
using testing::HttpReply;
using testing::TestServer;

std::vector<const google::protobuf::MethodDescriptor*> AllMethods() {
  std::vector<const google::protobuf::MethodDescriptor*> out;
  for (const google::protobuf::FileDescriptor* file :
       {v1::ListAppsRequest::descriptor()->file(), v1::QueryGridRequest::descriptor()->file(),
        v1::WriteCellsRequest::descriptor()->file(), v1::SetHoldRequest::descriptor()->file(),
        v1::WhoAmIRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s)
      for (int m = 0; m < file->service(s)->method_count(); ++m) out.push_back(file->service(s)->method(m));
  }
  return out;
}

TEST(GeneratedAuth, EveryMethodDeclaresARight) {
  auto methods = AllMethods();
  EXPECT_GE(methods.size(), 30u);
  for (const auto* m : methods) {
    EXPECT_NE(m->options().GetExtension(v1::required_right), v1::RIGHT_UNSPECIFIED) << m->full_name();
  }
}

TEST(GeneratedAuth, EveryMethodRejectsMissingMalformedAndWrongCredentials) {
  TestServer server;
  int calls = 0;
  for (const auto* m : AllMethods()) {
    const std::string path = "/" + m->service()->full_name() + "/" + m->name();
    for (bool json : {false, true}) {
      for (const std::string& auth : {std::string(), std::string("Basic YWRtaW46YWRtaW4="),
                                      std::string("Bearer wrong-token-0123456789"), std::string("Bearer ")}) {
        httplib::Headers headers;
        if (!auth.empty()) headers.emplace("Authorization", auth);
        HttpReply r;
        if (m->server_streaming()) {
          r = server.Post(path, json ? "application/connect+json" : "application/connect+proto",
                          testing::Envelope(0, json ? "{}" : ""), "", headers);
          ASSERT_EQ(r.status, 200) << path;
          std::vector<std::pair<uint8_t, std::string>> envs;
          ASSERT_TRUE(testing::SplitEnvelopes(r.body, &envs));
          ASSERT_EQ(envs.size(), 1u) << path << " sent data before authenticating";
          EXPECT_EQ(envs[0].first, 2);
          EXPECT_NE(envs[0].second.find("\"unauthenticated\""), std::string::npos) << path << envs[0].second;
        } else {
          r = server.Post(path, json ? "application/json" : "application/proto", json ? "{}" : "", "", headers);
          EXPECT_EQ(r.status, 401) << path << " auth='" << auth << "' " << r.body;
          EXPECT_EQ(r.code(), "unauthenticated") << path;
          EXPECT_EQ(r.body.find("wrong-token"), std::string::npos) << "the error repeats the token";
        }
        ++calls;
      }
    }
  }
  EXPECT_GE(calls, 30 * 8);
  // Nothing changed: no app, no user besides admin.
  EXPECT_TRUE(server.host().AppNames().empty());
  EXPECT_EQ(server.tokens().Users().size(), 1u);
}

class Malformed : public ::testing::Test {
 protected:
  void SetUp() override {
    AppModel model;
    model.name = "m";
    DimensionBuilder a("A", DimensionType::kGeneric);
    ASSERT_TRUE(a.AddMember("T").ok());
    ASSERT_TRUE(a.AddMember("x").ok());
    ASSERT_TRUE(a.AddMember("y").ok());
    ASSERT_TRUE(a.AddEdge("x", "T").ok());
    ASSERT_TRUE(a.AddEdge("y", "T").ok());
    model.dimensions.push_back(*std::move(a).Build());
    ASSERT_TRUE(server_.host().AddApp(std::move(model)).ok());
    app_ = server_.host().Find("m");
    ASSERT_TRUE(server_.host().Write(*app_, "admin", {{{1}, CellValue::Number(5)}}).ok());
    seq_ = app_->cube().CurrentSeq();
  }
  // The server still answers a good call, and the app is as it was.
  void ExpectUnchangedAndServing() {
    EXPECT_EQ(app_->cube().CurrentSeq(), seq_);
    EXPECT_EQ(app_->cube().ReadCell({0})->number, 5);
    v1::ListAppsResponse apps;
    HttpReply r = server_.Call("quantatom.v1.AppService/ListApps", v1::ListAppsRequest(), &apps, false);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(apps.apps_size(), 1);
  }
  TestServer server_{[] {
    ConnectOptions o;
    o.max_request_bytes = 1 << 20;
    return o;
  }()};
  std::shared_ptr<HostedApp> app_;
  uint64_t seq_ = 0;
};

TEST_F(Malformed, BadProtobufBytesAreInvalidArgument) {
  const std::string path = "/quantatom.v1.WriteService/WriteCells";
  for (std::string body : {std::string("\xff\xff\xff\xff", 4), std::string("\x0a\x80\x80\x80\x80\x10", 6),
                           std::string("\x12\x05\x0a\x03", 4), std::string("\x0b", 1)}) {
    HttpReply r = server_.Post(path, "application/proto", body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.code(), "invalid_argument");
    EXPECT_NE(r.body.find("quantatom.v1.WriteCellsRequest"), std::string::npos) << r.body;
  }
  ExpectUnchangedAndServing();
}

TEST_F(Malformed, WrongJsonTypesAndUnknownFieldsAreInvalidArgumentNamingTheField) {
  const std::string path = "/quantatom.v1.WriteService/WriteCells";
  struct Case {
    std::string body, names;
  } cases[] = {
      {R"({"app": 5})", "app"},
      {R"({"app": "m", "cells": {"coordinate": 1}})", "cells"},
      {R"({"app": "m", "cells": [{"coordinate": {"members": ["x"]}, "value": {"number": "lots"}}]})", "number"},
      {R"({"app": "m", "cellz": []})", "cellz"},
      {R"({"app": "m", "cells": [{"coordinate": {"members": ["x"]}, "value": {"number": 1, "text": "a"}}]})", ""},
      {R"({"app": "m")", ""},
      {"not json", ""},
      {R"({"app": "m", "conflictPolicy": "CONFLICT_POLICY_MAYBE"})", ""},
  };
  for (const Case& c : cases) {
    HttpReply r = server_.Post(path, "application/json", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    EXPECT_EQ(r.code(), "invalid_argument") << c.body;
    if (!c.names.empty()) { EXPECT_NE(r.body.find(c.names), std::string::npos) << c.body << " -> " << r.body; }
  }
  ExpectUnchangedAndServing();
}

TEST_F(Malformed, DeepNestingIsRefused) {
  std::string deep = R"({"app": "m", "cells": [{"coordinate": )";
  for (int i = 0; i < 5000; ++i) deep += R"({"members": )";
  deep += "[]";
  for (int i = 0; i < 5000; ++i) deep += "}";
  deep += "}]}";
  HttpReply r = server_.Post("/quantatom.v1.WriteService/WriteCells", "application/json", deep);
  EXPECT_EQ(r.status, 400) << r.body.substr(0, 200);
  EXPECT_EQ(r.code(), "invalid_argument");
  // Binary: 200 nested groups/length-delimited unknown fields.
  std::string nested;
  for (int i = 0; i < 200; ++i) {
    std::string wrapped = "\xfa\x3e";  // field 1007, wire type 2
    wrapped += static_cast<char>(nested.size() < 128 ? nested.size() : 0);
    if (nested.size() >= 128) break;
    nested = wrapped + nested;
  }
  r = server_.Post("/quantatom.v1.WriteService/WriteCells", "application/proto", nested);
  EXPECT_NE(r.status, 200);
  ExpectUnchangedAndServing();
}

TEST_F(Malformed, HugeBodiesAreResourceExhausted) {
  std::string huge(2 << 20, 'x');
  HttpReply r = server_.Post("/quantatom.v1.WriteService/WriteCells", "application/proto", huge);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.code(), "resource_exhausted");
  EXPECT_NE(r.body.find("1048576"), std::string::npos) << r.body;
  ExpectUnchangedAndServing();
}

TEST_F(Malformed, BadStreamEnvelopesAreInvalidArgumentInTheEndOfStream) {
  for (std::string body : {std::string("\x00\x00", 2), std::string("\x01\x00\x00\x00\x00", 5),
                           std::string("\x00\x00\x00\x00\x09{}", 7)}) {
    HttpReply r = server_.Post("/quantatom.v1.GridService/Subscribe", "application/connect+json", body);
    ASSERT_EQ(r.status, 200);
    std::vector<std::pair<uint8_t, std::string>> envs;
    ASSERT_TRUE(testing::SplitEnvelopes(r.body, &envs));
    ASSERT_EQ(envs.size(), 1u);
    EXPECT_EQ(envs[0].first, 2);
    EXPECT_NE(envs[0].second.find("invalid_argument"), std::string::npos) << envs[0].second;
  }
  ExpectUnchangedAndServing();
}

TEST_F(Malformed, BadValuesInWellFormedRequestsChangeNothing) {
  v1::WriteCellsRequest w;
  w.set_app("m");
  auto* ok = w.add_cells();
  ok->mutable_coordinate()->add_members("y");
  ok->mutable_value()->set_number(1);
  auto* bad = w.add_cells();
  bad->mutable_coordinate()->add_members("nope");
  bad->mutable_value()->set_number(1);
  HttpReply r = server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, true);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("cell 2"), std::string::npos) << r.body;
  bad->mutable_coordinate()->set_members(0, "T");  // consolidated
  r = server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, true);
  EXPECT_EQ(r.status, 400);
  bad->mutable_coordinate()->set_members(0, "x");
  bad->mutable_value()->set_number(std::numeric_limits<double>::infinity());
  r = server_.Call("quantatom.v1.WriteService/WriteCells", w, nullptr, false);
  EXPECT_EQ(r.status, 400);
  v1::BulkWriteRequest bulk;
  bulk.set_app("m");
  bulk.add_columns()->add_ids(99);
  bulk.add_values(1);
  r = server_.Call("quantatom.v1.WriteService/BulkWrite", bulk, nullptr, false);
  EXPECT_EQ(r.status, 400);
  ExpectUnchangedAndServing();
}

}  // namespace
}  // namespace quantatom

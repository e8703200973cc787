// The Connect protocol (connectrpc.com/docs/protocol) served over HTTP/1.1 by cpp-httplib:
// unary and server-streaming methods, each in binary (application/proto,
// application/connect+proto) and JSON (application/json, application/connect+json, protobuf's
// canonical JSON mapping), so connect-web, curl and scripts talk to the server without a proxy.
//
//   ConnectServer server(options, authorize, &metrics);
//   server.HandleUnary(GridService::descriptor()->FindMethodByName("QueryGrid"),
//                      [&](CallContext& ctx, const Message& req, Message* resp) { ... });
//   int port = *server.Start("127.0.0.1", 0);
//
// Before a method runs: the path names a registered method (else 404 unimplemented), the
// content type is one the method takes (else 415), Connect-Timeout-Ms is well formed, the
// caller is authorized for the method (the authorizer sees the method's declared right), and
// the body is within the size limit and parses as the request message (unknown JSON fields are
// refused, so a misspelt field is an error, not a silent default). Errors are JSON bodies
// {"code","message"} with the HTTP status the protocol maps the code to; in a stream they are
// the end-of-stream message. A detached stream (HandleDetachedStream) leaves the HTTP worker
// once the request is checked: its handler takes the connection's socket and answers on it
// from the broadcaster's event loop (broadcaster.h), so open streams hold no threads.
// Every response carries CORS headers for allowed origins, and
// OPTIONS answers the preflight. GET /metrics serves Prometheus metrics and everything else
// under / the static folder (the browser app), if one is given.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "auth/token_store.h"
#include "server/metrics.h"
#include "server/static_assets.h"

namespace httplib {
class Server;
struct Request;
}

namespace quantatom {

struct CallContext {
  std::shared_ptr<const User> user;
  // When the caller stops waiting (Connect-Timeout-Ms, capped by the server's limit).
  std::chrono::steady_clock::time_point deadline;
  bool json = false;
  bool expired() const { return std::chrono::steady_clock::now() >= deadline; }
};

// A server stream's output. Send returns false once the client is gone.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual bool Send(const google::protobuf::Message& message) = 0;
};

// A server stream's connection, taken over from the HTTP worker (HandleDetachedStream).
struct DetachedStream {
  int fd = -1;        // the connection, non-blocking; whoever holds the DetachedStream closes it
  bool json = false;  // application/connect+json (else +proto)
  std::string head;   // the HTTP response head to send first: 200, content type, chunked, CORS
  std::string method;  // "GridService/Subscribe", for logs and metrics
  std::string user;
  std::chrono::steady_clock::time_point start, deadline;
};
// Given to a detached stream's handler: Take() hands it the connection (once). A handler that
// returns an error without taking it gets the usual end-of-stream error response.
class StreamTakeover {
 public:
  virtual ~StreamTakeover() = default;
  virtual DetachedStream Take() = 0;
};

class Broadcaster;

using UnaryHandler =
    std::function<absl::Status(CallContext&, const google::protobuf::Message&, google::protobuf::Message*)>;
using StreamHandler = std::function<absl::Status(CallContext&, const google::protobuf::Message&, StreamWriter&)>;
using DetachedStreamHandler =
    std::function<absl::Status(CallContext&, const google::protobuf::Message&, StreamTakeover&)>;
// Checks the `Authorization` header against the right `method` declares: Unauthenticated,
// PermissionDenied, or the user.
using Authorizer = std::function<absl::StatusOr<std::shared_ptr<const User>>(
    std::string_view authorization, const google::protobuf::MethodDescriptor& method)>;

struct ConnectOptions {
  size_t max_request_bytes = size_t{256} << 20;
  int64_t default_timeout_ms = 60'000;      // unary calls without Connect-Timeout-Ms
  int64_t max_timeout_ms = 24 * 3600'000;   // the longest a client may ask for (streams)
  // Origins answered with CORS headers; "*" allows any (tokens are bearer headers, never
  // cookies, so a foreign page cannot act with a user's credentials).
  std::vector<std::string> cors_origins = {"*"};
  std::string static_dir;  // served at / when not empty
  int threads = 256;       // HTTP worker threads; each open blocking (not detached) stream holds one
  size_t max_stream_queue_bytes = size_t{4} << 20;  // a detached stream's unsent bytes (broadcaster.h)
  bool batch_stream_sends = true;  // one io_uring submission per change for all streams (broadcaster.h)
};

class ConnectServer {
 public:
  ConnectServer(ConnectOptions options, Authorizer authorize, Metrics* metrics);
  ~ConnectServer();

  void HandleUnary(const google::protobuf::MethodDescriptor* method, UnaryHandler handler);
  void HandleStream(const google::protobuf::MethodDescriptor* method, StreamHandler handler);
  void HandleDetachedStream(const google::protobuf::MethodDescriptor* method, DetachedStreamHandler handler);
  // The event loop that owns detached streams; started by Start, stopped by Stop.
  Broadcaster& broadcaster() { return *broadcaster_; }

  // Binds and serves on a background thread; returns the port (pass 0 for any free port).
  absl::StatusOr<int> Start(const std::string& host, int port);
  // Stops accepting and waits for the serving thread; open streams are told by `on_stop`, and
  // detached ones end with unavailable.
  void Stop();
  void OnStop(std::function<void()> fn) { on_stop_ = std::move(fn); }

 private:
  struct Route {
    const google::protobuf::MethodDescriptor* method = nullptr;
    UnaryHandler unary;
    StreamHandler stream;
    DetachedStreamHandler detached;
  };
  void Serve(const Route& route, const httplib::Request& req, void* res);

  ConnectOptions options_;
  Authorizer authorize_;
  Metrics* metrics_;
  std::map<std::string, Route> routes_;  // by path "/pkg.Service/Method"
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Broadcaster> broadcaster_;
  std::unique_ptr<StaticAssets> static_assets_;
  std::thread thread_;
  std::function<void()> on_stop_;
};

// The Connect name of a status code ("invalid_argument") and its HTTP status.
std::string ConnectCodeName(absl::StatusCode code);
int ConnectHttpStatus(absl::StatusCode code);
// A Connect error body: {"code":"...","message":"..."}.
std::string ConnectErrorJson(const absl::Status& st);

}  // namespace quantatom

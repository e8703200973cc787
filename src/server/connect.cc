#include "server/connect.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "api/quantatom/v1/options.pb.h"
#include "base/status.h"
#include "base/strings.h"
#include "server/broadcaster.h"

namespace quantatom {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using Clock = std::chrono::steady_clock;

constexpr const char* kExposeHeaders = "Grpc-Status,Grpc-Message,Connect-Protocol-Version";

template <typename S>
std::string MessageOf(const S& st) {
  return std::string(st.message().data(), st.message().size());
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string ErrorJson(const absl::Status& st) {
  return StrCat("{\"code\":\"", ConnectCodeName(st.code()), "\",\"message\":\"", JsonEscape(MessageOf(st)), "\"}");
}

std::string Envelope(uint8_t flags, std::string_view payload) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flags);
  uint32_t n = static_cast<uint32_t>(payload.size());
  out[1] = static_cast<char>(n >> 24);
  out[2] = static_cast<char>(n >> 16);
  out[3] = static_cast<char>(n >> 8);
  out[4] = static_cast<char>(n);
  out.append(payload);
  return out;
}

// The media type without parameters, lower case.
std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  std::string_view trimmed = Trim(t);
  std::string out(trimmed);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

bool OriginAllowed(const ConnectOptions& options, const std::string& origin) {
  for (const auto& o : options.cors_origins) {
    if (o == "*" || o == origin) return true;
  }
  return false;
}

void AddCors(const ConnectOptions& options, const httplib::Request& req, httplib::Response& res) {
  std::string origin = req.get_header_value("Origin");
  if (origin.empty() || !OriginAllowed(options, origin)) return;
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Vary", "Origin");
  res.set_header("Access-Control-Expose-Headers", kExposeHeaders);
}

absl::Status ParseMessage(const std::string& body, bool json, Message* msg) {
  if (json) {
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = false;
    auto st = google::protobuf::util::JsonStringToMessage(body, msg, opts);
    if (!st.ok()) {
      return absl::InvalidArgumentError(StrCat("request body is not valid JSON for ", msg->GetDescriptor()->full_name(),
                                               ": ", MessageOf(st)));
    }
    return absl::OkStatus();
  }
  if (!msg->ParseFromString(body)) {
    return absl::InvalidArgumentError(
        StrCat("request body is not a valid binary ", msg->GetDescriptor()->full_name(), " message"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Serialize(const Message& msg, bool json) {
  std::string out;
  if (json) {
    google::protobuf::util::JsonPrintOptions opts;
    auto st = google::protobuf::util::MessageToJsonString(msg, &out, opts);
    if (!st.ok()) return absl::InternalError(StrCat("cannot encode the response: ", MessageOf(st)));
  } else if (!msg.SerializeToString(&out)) {
    return absl::InternalError("cannot encode the response");
  }
  return out;
}

// Connect-Timeout-Ms: at most 10 digits.
absl::StatusOr<int64_t> ParseTimeout(const std::string& value) {
  if (value.empty() || value.size() > 10) {
    return absl::InvalidArgumentError(StrCat("Connect-Timeout-Ms must be 1 to 10 digits, got '", value, "'"));
  }
  int64_t ms = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return absl::InvalidArgumentError(StrCat("Connect-Timeout-Ms is not a number: '", value, "'"));
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

class SinkWriter : public StreamWriter {
 public:
  SinkWriter(httplib::DataSink& sink, bool json) : sink_(sink), json_(json) {}
  bool Send(const Message& message) override {
    if (failed_) return false;
    auto bytes = Serialize(message, json_);
    if (!bytes.ok()) return false;
    std::string env = Envelope(0, *bytes);
    if (!sink_.write(env.data(), env.size())) failed_ = true;
    return !failed_;
  }
  bool failed() const { return failed_; }

 private:
  httplib::DataSink& sink_;
  bool json_;
  bool failed_ = false;
};

// ---- Taking a connection away from cpp-httplib.
//
// httplib serves each connection on a pool thread in Server::process_and_close_socket (a
// virtual member). HijackingServer overrides it with the same keep-alive loop over a socket
// stream of our own, so that a handler running inside process_request can take the socket:
// the handler marks the connection taken (thread-local, it runs on the same thread); from then
// on the stream discards what httplib still writes (its own response to the request), and the
// loop returns without shutting the socket down or closing it.

struct Connection {
  int fd = -1;
  bool taken = false;
};
thread_local Connection* tls_connection = nullptr;

std::string AddressOf(const sockaddr_storage& addr, int* port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  }
  return buf;
}

// Blocking reads and writes with timeouts (poll), reads buffered (httplib reads header lines a
// byte at a time).
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(Connection* conn, int read_timeout_ms, int write_timeout_ms)
      : conn_(conn), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

  bool is_readable() const override { return pos_ < end_ || Wait(POLLIN, read_timeout_ms_); }
  bool is_writable() const override { return conn_->taken || Wait(POLLOUT, write_timeout_ms_); }
  ssize_t read(char* ptr, size_t size) override {
    if (pos_ == end_) {
      if (size >= sizeof buf_) return Recv(ptr, size);
      ssize_t n = Recv(buf_, sizeof buf_);
      if (n <= 0) return n;
      pos_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, end_ - pos_);
    memcpy(ptr, buf_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (conn_->taken) return static_cast<ssize_t>(size);  // the taker answers on the socket
    size_t done = 0;
    while (done < size) {
      if (!Wait(POLLOUT, write_timeout_ms_)) return -1;
      ssize_t n = ::send(conn_->fd, ptr + done, size - done, MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return -1;
      done += static_cast<size_t>(n);
    }
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getpeername(conn_->fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip = AddressOf(addr, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getsockname(conn_->fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip = AddressOf(addr, &port);
  }
  socket_t socket() const override { return conn_->fd; }

 private:
  bool Wait(short events, int timeout_ms) const {
    pollfd p{conn_->fd, events, 0};
    int r;
    do {
      r = ::poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    return r > 0 && (p.revents & (events | POLLHUP | POLLERR));
  }
  ssize_t Recv(char* ptr, size_t size) {
    if (!Wait(POLLIN, read_timeout_ms_)) return -1;
    ssize_t n;
    do {
      n = ::recv(conn_->fd, ptr, size, 0);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  Connection* conn_;
  int read_timeout_ms_, write_timeout_ms_;
  char buf_[16384];
  size_t pos_ = 0, end_ = 0;
};

class HijackingServer final : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override {
    Connection conn{sock, false};
    tls_connection = &conn;
    SocketStream stream(&conn, static_cast<int>(read_timeout_sec_ * 1000 + read_timeout_usec_ / 1000),
                        static_cast<int>(write_timeout_sec_ * 1000 + write_timeout_usec_ / 1000));
    bool ok = true;
    for (size_t left = keep_alive_max_count_; left > 0 && ok; --left) {
      if (!WaitForRequest(sock)) break;
      bool connection_closed = false;
      ok = process_request(stream, left == 1, connection_closed, nullptr);
      if (conn.taken) break;
      if (connection_closed) break;
    }
    tls_connection = nullptr;
    if (conn.taken) return true;  // the socket belongs to the taker now
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }
  // Waits for the next request on a kept-alive connection, while the server runs.
  bool WaitForRequest(int sock) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
    while (svr_sock_ != INVALID_SOCKET) {
      pollfd p{sock, POLLIN, 0};
      int r = ::poll(&p, 1, 50);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
      if (std::chrono::steady_clock::now() >= until) return false;
    }
    return false;
  }
};

class Takeover final : public StreamTakeover {
 public:
  explicit Takeover(DetachedStream proto) : proto_(std::move(proto)) {}
  DetachedStream Take() override {
    if (taken_ || tls_connection == nullptr || tls_connection->taken) std::abort();  // taken twice: a bug
    taken_ = true;
    tls_connection->taken = true;
    DetachedStream out = std::move(proto_);
    out.fd = tls_connection->fd;
    int flags = fcntl(out.fd, F_GETFL, 0);
    fcntl(out.fd, F_SETFL, flags | O_NONBLOCK);
    return out;
  }
  bool taken() const { return taken_; }

 private:
  DetachedStream proto_;
  bool taken_ = false;
};

}  // namespace

std::string ConnectErrorJson(const absl::Status& st) { return ErrorJson(st); }

std::string ConnectCodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return "ok";
    case absl::StatusCode::kCancelled: return "canceled";
    case absl::StatusCode::kUnknown: return "unknown";
    case absl::StatusCode::kInvalidArgument: return "invalid_argument";
    case absl::StatusCode::kDeadlineExceeded: return "deadline_exceeded";
    case absl::StatusCode::kNotFound: return "not_found";
    case absl::StatusCode::kAlreadyExists: return "already_exists";
    case absl::StatusCode::kPermissionDenied: return "permission_denied";
    case absl::StatusCode::kResourceExhausted: return "resource_exhausted";
    case absl::StatusCode::kFailedPrecondition: return "failed_precondition";
    case absl::StatusCode::kAborted: return "aborted";
    case absl::StatusCode::kOutOfRange: return "out_of_range";
    case absl::StatusCode::kUnimplemented: return "unimplemented";
    case absl::StatusCode::kInternal: return "internal";
    case absl::StatusCode::kUnavailable: return "unavailable";
    case absl::StatusCode::kDataLoss: return "data_loss";
    case absl::StatusCode::kUnauthenticated: return "unauthenticated";
    default: return "unknown";
  }
}

int ConnectHttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kCancelled: return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kUnauthenticated: return 401;
    default: return 500;
  }
}

ConnectServer::ConnectServer(ConnectOptions options, Authorizer authorize, Metrics* metrics)
    : options_(std::move(options)), authorize_(std::move(authorize)), metrics_(metrics),
      http_(std::make_unique<HijackingServer>()),
      broadcaster_(std::make_unique<Broadcaster>(
          metrics, Broadcaster::Options{options_.max_stream_queue_bytes, std::chrono::milliseconds(5000),
                                       options_.batch_stream_sends})) {}

ConnectServer::~ConnectServer() { Stop(); }

void ConnectServer::HandleUnary(const MethodDescriptor* method, UnaryHandler handler) {
  Route& r = routes_[StrCat("/", method->service()->full_name(), "/", method->name())];
  r.method = method;
  r.unary = std::move(handler);
}

void ConnectServer::HandleStream(const MethodDescriptor* method, StreamHandler handler) {
  Route& r = routes_[StrCat("/", method->service()->full_name(), "/", method->name())];
  r.method = method;
  r.stream = std::move(handler);
}

void ConnectServer::HandleDetachedStream(const MethodDescriptor* method, DetachedStreamHandler handler) {
  Route& r = routes_[StrCat("/", method->service()->full_name(), "/", method->name())];
  r.method = method;
  r.stream = nullptr;
  r.detached = std::move(handler);
}

void ConnectServer::Serve(const Route& route, const httplib::Request& req, void* res_ptr) {
  httplib::Response& res = *static_cast<httplib::Response*>(res_ptr);
  const auto start = Clock::now();
  const MethodDescriptor& method = *route.method;
  const std::string method_name = StrCat(method.service()->name(), "/", method.name());
  const bool streaming = method.server_streaming();
  AddCors(options_, req, res);

  const std::string media = MediaType(req.get_header_value("Content-Type"));
  bool json;
  if (streaming ? media == "application/connect+proto" : media == "application/proto") {
    json = false;
  } else if (streaming ? media == "application/connect+json" : media == "application/json") {
    json = true;
  } else {
    res.status = 415;
    res.set_header("Accept-Post", streaming ? "application/connect+proto, application/connect+json"
                                            : "application/proto, application/json");
    res.set_content(ErrorJson(absl::InvalidArgumentError(
                        StrCat("unsupported content type '", media, "' for ", method.full_name(), " (use ",
                               streaming ? "application/connect+proto or application/connect+json"
                                         : "application/proto or application/json",
                               ")"))),
                    "application/json");
    metrics_->RecordCall(method_name, "unsupported_media_type", 0);
    return;
  }

  std::string user_name = "-";
  auto finish = [&](const absl::Status& st) {
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::string code = ConnectCodeName(st.code());
    metrics_->RecordCall(method_name, code, seconds);
    if (st.ok()) {
      spdlog::debug("{{\"rpc\":\"{}\",\"user\":\"{}\",\"code\":\"ok\",\"ms\":{:.3f},\"json\":{}}}", method_name,
                    JsonEscape(user_name), seconds * 1e3, json);
    } else {
      spdlog::info("{{\"rpc\":\"{}\",\"user\":\"{}\",\"code\":\"{}\",\"ms\":{:.3f},\"message\":\"{}\"}}", method_name,
                   JsonEscape(user_name), code, seconds * 1e3, JsonEscape(MessageOf(st)));
    }
  };
  // Unary errors: status + JSON body. Stream errors: 200 + end-of-stream message.
  auto fail = [&](const absl::Status& st) {
    if (streaming) {
      res.status = 200;
      res.set_content(Envelope(2, StrCat("{\"error\":", ErrorJson(st), "}")), json ? "application/connect+json"
                                                                                     : "application/connect+proto");
    } else {
      res.status = ConnectHttpStatus(st.code());
      res.set_content(ErrorJson(st), "application/json");
    }
    finish(st);
  };

  std::string version = req.get_header_value("Connect-Protocol-Version");
  if (!version.empty() && version != "1") {
    return fail(absl::InvalidArgumentError(StrCat("unsupported Connect-Protocol-Version '", version, "' (want 1)")));
  }
  std::string encoding = req.get_header_value(streaming ? "Connect-Content-Encoding" : "Content-Encoding");
  if (!encoding.empty() && encoding != "identity") {
    return fail(absl::UnimplementedError(StrCat("unsupported compression '", encoding, "' (use identity)")));
  }
  CallContext ctx;
  ctx.json = json;
  int64_t timeout_ms = streaming ? options_.max_timeout_ms : options_.default_timeout_ms;
  if (req.has_header("Connect-Timeout-Ms")) {
    auto t = ParseTimeout(req.get_header_value("Connect-Timeout-Ms"));
    if (!t.ok()) return fail(t.status());
    timeout_ms = std::min(*t, options_.max_timeout_ms);
  }
  ctx.deadline = start + std::chrono::milliseconds(timeout_ms);

  auto user = authorize_(req.get_header_value("Authorization"), method);
  if (!user.ok()) return fail(user.status());
  ctx.user = *user;
  user_name = ctx.user->name;

  // The request message.
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  std::unique_ptr<Message> request(factory->GetPrototype(method.input_type())->New());
  std::unique_ptr<Message> response(factory->GetPrototype(method.output_type())->New());
  if (streaming) {
    const std::string& b = req.body;
    if (b.size() < 5) return fail(absl::InvalidArgumentError("stream request: missing the 5-byte envelope header"));
    uint8_t flags = static_cast<uint8_t>(b[0]);
    uint32_t n = (uint32_t{static_cast<uint8_t>(b[1])} << 24) | (uint32_t{static_cast<uint8_t>(b[2])} << 16) |
                 (uint32_t{static_cast<uint8_t>(b[3])} << 8) | uint32_t{static_cast<uint8_t>(b[4])};
    if (flags != 0) return fail(absl::InvalidArgumentError(StrCat("stream request: envelope flags ", int{flags}, " (want 0: uncompressed message)")));
    if (n != b.size() - 5) {
      return fail(absl::InvalidArgumentError(
          StrCat("stream request: envelope says ", n, " bytes, body has ", b.size() - 5, " after the header")));
    }
    auto st = ParseMessage(b.substr(5), json, request.get());
    if (!st.ok()) return fail(st);
  } else {
    auto st = ParseMessage(req.body, json, request.get());
    if (!st.ok()) return fail(st);
  }
  if (ctx.expired()) return fail(absl::DeadlineExceededError("the deadline passed before the call started"));

  if (!streaming) {
    absl::Status st;
    try {
      st = route.unary(ctx, *request, response.get());
    } catch (const std::exception& e) {
      spdlog::error("{{\"rpc\":\"{}\",\"exception\":\"{}\"}}", method_name, JsonEscape(e.what()));
      st = absl::InternalError("internal error");
    }
    if (!st.ok()) return fail(st);
    auto bytes = Serialize(*response, json);
    if (!bytes.ok()) return fail(bytes.status());
    res.status = 200;
    res.set_content(std::move(*bytes), json ? "application/json" : "application/proto");
    finish(absl::OkStatus());
    return;
  }

  if (route.detached) {
    // The response head the taker sends: what httplib would send for a chunked stream, and
    // Connection: close (the connection never comes back to httplib).
    DetachedStream proto;
    proto.json = json;
    proto.method = method_name;
    proto.user = user_name;
    proto.start = start;
    proto.deadline = ctx.deadline;
    proto.head = StrCat("HTTP/1.1 200 OK\r\nContent-Type: ", json ? "application/connect+json" : "application/connect+proto",
                        "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n");
    for (const auto& [k, v] : res.headers) proto.head += StrCat(k, ": ", v, "\r\n");
    proto.head += "\r\n";
    Takeover takeover(std::move(proto));
    absl::Status st;
    try {
      st = route.detached(ctx, *request, takeover);
    } catch (const std::exception& e) {
      spdlog::error("{{\"rpc\":\"{}\",\"exception\":\"{}\"}}", method_name, JsonEscape(e.what()));
      st = absl::InternalError("internal error");
    }
    if (takeover.taken()) return;  // the broadcaster logs and records it when it ends
    return fail(st.ok() ? absl::InternalError("the stream was not started") : st);
  }

  // Streaming: the handler runs inside the content provider, after the headers are out.
  auto shared_request = std::shared_ptr<Message>(std::move(request));
  auto shared_ctx = std::make_shared<CallContext>(ctx);
  const StreamHandler* handler = &route.stream;
  res.status = 200;
  res.set_chunked_content_provider(
      json ? "application/connect+json" : "application/connect+proto",
      [=, this](size_t, httplib::DataSink& sink) {
        SinkWriter writer(sink, json);
        absl::Status st;
        try {
          st = (*handler)(*shared_ctx, *shared_request, writer);
        } catch (const std::exception& e) {
          spdlog::error("{{\"rpc\":\"{}\",\"exception\":\"{}\"}}", method_name, JsonEscape(e.what()));
          st = absl::InternalError("internal error");
        }
        if (!writer.failed()) {
          std::string end = st.ok() ? "{}" : StrCat("{\"error\":", ErrorJson(st), "}");
          std::string env = Envelope(2, end);
          sink.write(env.data(), env.size());
          sink.done();
        }
        double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        metrics_->RecordCall(method_name, ConnectCodeName(st.code()), seconds);
        spdlog::info("{{\"rpc\":\"{}\",\"user\":\"{}\",\"code\":\"{}\",\"ms\":{:.3f},\"stream\":true}}", method_name,
                     JsonEscape(shared_ctx->user->name), ConnectCodeName(st.code()), seconds * 1e3);
        return !writer.failed();
      });
}

absl::StatusOr<int> ConnectServer::Start(const std::string& host, int port) {
  QA_RETURN_IF_ERROR(broadcaster_->Start());
  const int threads = options_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_request_bytes);
  http_->set_tcp_nodelay(true);
  http_->set_read_timeout(30, 0);
  http_->set_keep_alive_max_count(100000);
  for (const auto& [path, route] : routes_) {
    const Route* r = &route;
    http_->Post(path, [this, r](const httplib::Request& req, httplib::Response& res) { Serve(*r, req, &res); });
  }
  // Unknown Connect paths (POST /pkg.Service/Method we do not serve).
  http_->Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    AddCors(options_, req, res);
    res.status = 404;
    res.set_content(ErrorJson(absl::UnimplementedError(StrCat("no method ", req.path))), "application/json");
    metrics_->RecordCall("unknown", "unimplemented", 0);
  });
  http_->Options(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    std::string origin = req.get_header_value("Origin");
    if (origin.empty() || !OriginAllowed(options_, origin)) {
      res.status = 403;
      return;
    }
    res.status = 204;
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Allow-Methods", "POST,GET");
    res.set_header("Access-Control-Allow-Headers",
                   "Content-Type,Connect-Protocol-Version,Connect-Timeout-Ms,Connect-Accept-Encoding,"
                   "Connect-Content-Encoding,Authorization,X-User-Agent,X-Grpc-Web");
    res.set_header("Access-Control-Max-Age", "7200");
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_->Render(), "text/plain; version=0.0.4");
  });
  http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  if (!options_.static_dir.empty() && std::filesystem::is_directory(options_.static_dir)) {
    http_->set_mount_point("/", options_.static_dir);
    static_assets_ = std::make_unique<StaticAssets>(options_.static_dir);
    http_->set_file_request_handler(
        [this](const httplib::Request& req, httplib::Response& res) { static_assets_->Finish(req, res); });
  }
  // Errors httplib raises itself (body over the limit, bad HTTP) get a Connect error body.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    AddCors(options_, req, res);
    absl::Status st;
    if (res.status == 413) {
      st = absl::ResourceExhaustedError(
          StrCat("request body larger than the server's limit of ", options_.max_request_bytes, " bytes"));
      res.status = 429;
      res.set_header("Connection", "close");
    } else if (res.status == 404) {
      st = absl::NotFoundError(StrCat("no such path ", req.path));
    } else {
      st = absl::InvalidArgumentError(StrCat("bad HTTP request (status ", res.status, ")"));
    }
    res.set_content(ErrorJson(st), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return absl::UnavailableError(StrCat("cannot listen on ", host, ":", port));
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // httplib's stop() does nothing until the listening thread has marked itself running: wait
  // for it, so that a Stop right after Start cannot leave that thread blocked in accept().
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  return bound;
}

void ConnectServer::Stop() {
  if (on_stop_) on_stop_();
  if (broadcaster_) broadcaster_->Stop(absl::UnavailableError("the server is stopping"));
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace quantatom

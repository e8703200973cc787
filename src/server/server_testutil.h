// Test support (not API): a server on 127.0.0.1 with a fresh data folder, and a small client
// that speaks the Connect protocol over real HTTP in binary or JSON.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <sys/socket.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/token_store.h"
#include "server/app_host.h"
#include "server/connect.h"
#include "server/services.h"

namespace quantatom::testing {

inline constexpr const char* kAdminToken = "test-admin-token-0123456789abcdef";

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  httplib::Headers headers;
  // The Connect error code of a JSON error body ("" when none).
  std::string code() const {
    auto p = body.find("\"code\":\"");
    if (p == std::string::npos) return "";
    p += 8;
    return body.substr(p, body.find('"', p) - p);
  }
};

class TestServer {
 public:
  explicit TestServer(ConnectOptions options = {}, ServiceOptions service_options = {}) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("qa_server_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    tokens_ = std::make_unique<TokenStore>("");
    (void)tokens_->Open();
    (void)tokens_->EnsureAdmin("admin", kAdminToken);
    host_ = *AppHost::Open(dir_.string());
    services_ = std::make_unique<ApiServices>(host_.get(), tokens_.get(), &metrics_, service_options);
    server_ = std::make_unique<ConnectServer>(options, services_->MakeAuthorizer(), &metrics_);
    services_->Register(*server_);
    AppHost* h = host_.get();
    server_->OnStop([h] { h->bus().CloseAll(); });
    port_ = *server_->Start("127.0.0.1", 0);
  }
  ~TestServer() {
    server_->Stop();
    host_->Close();
    std::filesystem::remove_all(dir_);
  }
  int port() const { return port_; }
  AppHost& host() { return *host_; }
  TokenStore& tokens() { return *tokens_; }
  Metrics& metrics() { return metrics_; }
  const std::filesystem::path& dir() const { return dir_; }

  HttpReply Post(const std::string& path, const std::string& content_type, const std::string& body,
                 const std::string& token = kAdminToken, httplib::Headers extra = {}) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_tcp_nodelay(true);
    client.set_read_timeout(60, 0);
    httplib::Headers headers = std::move(extra);
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    headers.emplace("Connect-Protocol-Version", "1");
    auto res = client.Post(path.c_str(), headers, body, content_type.c_str());
    HttpReply r;
    if (!res) return r;
    r.status = res->status;
    r.content_type = res->get_header_value("Content-Type");
    r.body = res->body;
    r.headers = res->headers;
    return r;
  }

  // A unary call; `json` picks the codec. Returns the HTTP reply; on 200 parses into `out`.
  HttpReply Call(const std::string& method, const google::protobuf::Message& req, google::protobuf::Message* out,
                 bool json, const std::string& token = kAdminToken) const {
    std::string body;
    if (json) {
      (void)google::protobuf::util::MessageToJsonString(req, &body);
    } else {
      req.SerializeToString(&body);
    }
    HttpReply r = Post("/" + method, json ? "application/json" : "application/proto", body, token);
    if (r.status == 200 && out != nullptr) {
      if (json) {
        (void)google::protobuf::util::JsonStringToMessage(r.body, out);
      } else {
        out->ParseFromString(r.body);
      }
    }
    return r;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<AppHost> host_;
  Metrics metrics_;
  std::unique_ptr<ApiServices> services_;
  std::unique_ptr<ConnectServer> server_;
  int port_ = 0;
};

// One enveloped message (Connect streaming).
inline std::string Envelope(uint8_t flags, const std::string& payload) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flags);
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>(n >> (24 - 8 * i));
  out += payload;
  return out;
}

// Splits a stream body into (flags, payload) envelopes; false if the framing is broken.
inline bool SplitEnvelopes(const std::string& body, std::vector<std::pair<uint8_t, std::string>>* out) {
  size_t p = 0;
  while (p < body.size()) {
    if (body.size() - p < 5) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(body[p + 1 + i]);
    if (body.size() - p - 5 < n) return false;
    out->emplace_back(static_cast<uint8_t>(body[p]), body.substr(p + 5, n));
    p += 5 + n;
  }
  return true;
}

// The client side of a Connect server stream over raw HTTP/1.1: the response head, then the
// chunked body, then the envelopes inside it. Feed it bytes as they arrive; it calls
// `on_envelope(flags, data, size)` for each whole envelope and keeps the rest for later.
class StreamDecoder {
 public:
  template <typename Fn>
  void Feed(const char* data, size_t n, Fn&& on_envelope) {
    raw_.append(data, n);
    size_t p = 0;
    if (!head_done_) {
      const size_t e = raw_.find("\r\n\r\n");
      if (e == std::string::npos) return;
      head_done_ = true;
      p = e + 4;
    }
    while (true) {  // chunks: hex size CRLF data CRLF
      const size_t eol = raw_.find("\r\n", p);
      if (eol == std::string::npos) break;
      const size_t len = std::strtoul(raw_.c_str() + p, nullptr, 16);
      if (raw_.size() < eol + 2 + len + 2) break;
      body_.append(raw_, eol + 2, len);
      p = eol + 2 + len + 2;
    }
    raw_.erase(0, p);
    size_t q = 0;
    while (body_.size() - q >= 5) {
      uint32_t len = 0;
      for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<uint8_t>(body_[q + 1 + i]);
      if (body_.size() - q - 5 < len) break;
      on_envelope(static_cast<uint8_t>(body_[q]), body_.data() + q + 5, static_cast<size_t>(len));
      q += 5 + len;
    }
    body_.erase(0, q);
  }

 private:
  std::string raw_;   // bytes not yet de-chunked
  std::string body_;  // de-chunked bytes not yet split into envelopes
  bool head_done_ = false;
};

// A recvmsg(2) header that asks for the kernel's receive time stamp (the socket needs
// SO_TIMESTAMPNS): Arm before each receive, ArrivalNanos after it.
class StampedReceive {
 public:
  msghdr* Arm(char* buffer, size_t size) {
    iov_ = {buffer, size};
    std::memset(control_, 0, sizeof control_);
    msg_ = {};
    msg_.msg_iov = &iov_;
    msg_.msg_iovlen = 1;
    msg_.msg_control = control_;
    msg_.msg_controllen = sizeof control_;
    return &msg_;
  }
  // The stamp of the last receive (unix ns), or 0 when it carried none. Read from the control
  // buffer itself (zeroed by Arm): io_uring does not write msg_controllen back.
  int64_t ArrivalNanos() const {
    const auto* c = reinterpret_cast<const cmsghdr*>(control_);
    if (c->cmsg_len < CMSG_LEN(sizeof(timespec)) || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) return 0;
    timespec ts;
    std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }

 private:
  msghdr msg_{};
  iovec iov_{};
  alignas(cmsghdr) char control_[CMSG_SPACE(sizeof(timespec)) + 64];
};

}  // namespace quantatom::testing

#include "server/broadcaster.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/strings.h"

namespace quantatom {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kWakeId = 0;  // epoll data of the eventfd; streams count from 1

}  // namespace

std::string ConnectChunk(uint8_t flags, std::string_view payload) {
  const size_t n = payload.size() + 5;
  char hex[24];
  int h = snprintf(hex, sizeof hex, "%zx\r\n", n);
  std::string out;
  out.reserve(static_cast<size_t>(h) + n + 2);
  out.append(hex, static_cast<size_t>(h));
  out.push_back(static_cast<char>(flags));
  const uint32_t len = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(len >> 24));
  out.push_back(static_cast<char>(len >> 16));
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len));
  out.append(payload);
  out.append("\r\n");
  return out;
}

Broadcaster::Broadcaster(Metrics* metrics, Options options) : metrics_(metrics), options_(options) {}

Broadcaster::~Broadcaster() {
  Stop(absl::UnavailableError("the server is stopping"));
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

absl::Status Broadcaster::Start() {
  if (thread_.joinable()) return absl::OkStatus();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return absl::InternalError(StrCat("broadcaster: cannot create epoll/eventfd: ", strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return absl::InternalError(StrCat("broadcaster: epoll_ctl: ", strerror(errno)));
  }
  if (options_.batch_sends) {
    // 256 submissions: a change reaching more subscribers goes in several chunks.
    absl::Status ring = ring_.Open(256);
    if (!ring.ok()) spdlog::info("broadcaster: sending one by one ({})", std::string(ring.message()));
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Broadcaster::Stop(const absl::Status& why) {
  {
    std::lock_guard lock(tasks_mu_);
    if (!accepting_) return;
    accepting_ = false;
    // The last task: end every stream; the loop then exits once they are closed.
    tasks_.push_back([this, why] {
      std::vector<StreamId> ids;
      for (const auto& [id, s] : streams_) ids.push_back(id);
      for (StreamId id : ids) End(id, why);
      stopping_ = true;
    });
  }
  if (!thread_.joinable()) {
    // Never started: nothing is open. Drop the tasks (they may hold streams' sockets).
    std::vector<std::function<void()>> tasks;
    std::lock_guard lock(tasks_mu_);
    tasks.swap(tasks_);
    return;
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void Broadcaster::Post(std::function<void()> task) {
  {
    std::lock_guard lock(tasks_mu_);
    if (!accepting_) return;
    tasks_.push_back(std::move(task));
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Broadcaster::RunSoon(std::function<void()> task) {
  std::unique_lock loop(loop_mu_, std::try_to_lock);
  if (!loop.owns_lock() || !thread_.joinable()) {
    if (loop.owns_lock()) loop.unlock();
    Post(std::move(task));
    return;
  }
  {
    std::lock_guard lock(tasks_mu_);
    if (!accepting_) return;
  }
  const auto earliest = deadlines_.empty() ? Clock::time_point::max() : deadlines_.begin()->first;
  RunTasks();  // what was posted before runs before `task`
  task();
  // The loop sleeps until the deadline it saw; wake it when an earlier one was added.
  if (!deadlines_.empty() && deadlines_.begin()->first < earliest) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
}

void Broadcaster::RunTasks() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(tasks_mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t();
}

void Broadcaster::Loop() {
  epoll_event events[256];
  while (true) {
    int timeout_ms = -1;
    {
      std::lock_guard loop(loop_mu_);
      if (stopping_ && streams_.empty()) break;
      if (!deadlines_.empty()) {
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadlines_.begin()->first - Clock::now()).count();
        timeout_ms = static_cast<int>(std::clamp<int64_t>(wait, 0, 60'000));
      }
    }
    const int n = epoll_wait(epoll_fd_, events, 256, timeout_ms);
    std::lock_guard loop(loop_mu_);
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kWakeId) {
        uint64_t count;
        (void)!::read(wake_fd_, &count, sizeof count);
        continue;
      }
      auto it = streams_.find(id);
      if (it == streams_.end()) continue;
      Stream& s = it->second;
      const uint32_t ev = events[i].events;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        // The client sends nothing after its request; a read of 0 (or an error) means it is gone.
        char buf[4096];
        ssize_t r;
        do {
          r = ::recv(s.info.fd, buf, sizeof buf, 0);
        } while (r > 0 || (r < 0 && errno == EINTR));
        if (r == 0 || (r < 0 && errno != EAGAIN) || (ev & (EPOLLHUP | EPOLLERR))) {
          if (s.result.ok()) s.result = absl::CancelledError("the client closed the stream");
          Close(id);
          continue;
        }
      }
      if (ev & EPOLLOUT) Flush(id, s);
    }
    RunTasks();
    Expire(Clock::now());
  }
}

Broadcaster::StreamId Broadcaster::Add(DetachedStream stream, Frame first, std::function<void()> on_closed) {
  const StreamId id = next_id_++;
  Stream& s = streams_[id];
  s.info = std::move(stream);
  s.on_closed = std::move(on_closed);
  open_.fetch_add(1, std::memory_order_relaxed);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.info.fd, &ev) != 0) {
    s.result = absl::InternalError(StrCat("epoll_ctl: ", strerror(errno)));
    Close(id);
    return id;
  }
  // The head and the first frame are queued whatever their size (a large grid's snapshot).
  auto head = std::make_shared<const std::string>(std::move(s.info.head));
  s.queued_bytes += head->size();
  s.queue.emplace_back(std::move(head), 0);
  if (first) {
    s.queued_bytes += first->size();
    s.queue.emplace_back(std::move(first), 0);
  }
  deadlines_.emplace(s.info.deadline, id);
  Flush(id, s);
  return id;
}

bool Broadcaster::alive(StreamId id) const {
  auto it = streams_.find(id);
  return it != streams_.end() && !it->second.ending;
}

void Broadcaster::Enqueue(Stream& s, Frame frame) {
  s.queued_bytes += frame->size();
  s.queue.emplace_back(std::move(frame), 0);
}

bool Broadcaster::DropIfBehind(StreamId id, Stream& s, const Frame& frame) {
  if (s.queued_bytes == 0 || s.queued_bytes + frame->size() <= options_.max_queued_bytes) return false;
  // Too slow: keep only the frame in progress (its bytes are partly on the wire), then the
  // error and the end.
  while (s.queue.size() > 1 || (s.queue.size() == 1 && s.queue.front().second == 0)) {
    s.queued_bytes -= s.queue.back().first->size() - s.queue.back().second;
    s.queue.pop_back();
  }
  End(id, absl::ResourceExhaustedError(StrCat("this subscriber fell behind by more than ", options_.max_queued_bytes,
                                              " bytes of updates and was dropped; subscribe again")));
  return true;
}

void Broadcaster::Send(StreamId id, const Frame& frame) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.ending) return;
  Stream& s = it->second;
  if (DropIfBehind(id, s, frame)) return;
  const bool was_empty = s.queue.empty();
  Enqueue(s, frame);
  if (was_empty) Flush(id, s);
}

void Broadcaster::SendToAll(const std::vector<StreamId>& ids, const Frame& frame) {
  if (!ring_.open()) {
    for (StreamId id : ids) Send(id, frame);
    return;
  }
  // Streams with a backlog wait for EPOLLOUT as in Send; the idle ones are written at once,
  // all in one submission.
  ops_.clear();
  for (StreamId id : ids) {
    auto it = streams_.find(id);
    if (it == streams_.end() || it->second.ending) continue;
    Stream& s = it->second;
    if (DropIfBehind(id, s, frame)) continue;
    const bool was_empty = s.queue.empty();
    Enqueue(s, frame);
    if (was_empty) ops_.push_back({s.info.fd, frame->data(), frame->size(), id, 0});
  }
  ring_.SendAll(ops_);
  for (const SendRing::Op& op : ops_) {
    auto it = streams_.find(op.tag);
    if (it == streams_.end()) continue;
    Stream& s = it->second;
    if (op.result > 0) Consume(s, static_cast<size_t>(op.result));
    if (op.result < 0 && op.result != -EAGAIN && op.result != -EINTR) {
      if (s.result.ok()) s.result = absl::CancelledError(StrCat("the client is gone: ", strerror(static_cast<int>(-op.result))));
      Close(op.tag);
      continue;
    }
    // The rest (a partial or refused send) goes out on EPOLLOUT.
    UpdateInterest(op.tag, s);
  }
}

void Broadcaster::End(StreamId id, const absl::Status& st) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.ending) return;
  Stream& s = it->second;
  s.result = st;
  std::string end = st.ok() ? "{}" : StrCat("{\"error\":", ConnectErrorJson(st), "}");
  Enqueue(s, std::make_shared<const std::string>(ConnectChunk(2, end) + "0\r\n\r\n"));
  s.ending = true;
  s.close_by = Clock::now() + options_.drain_timeout;
  deadlines_.emplace(s.close_by, id);
  Flush(id, s);
}

void Broadcaster::Flush(StreamId id, Stream& s) {
  while (!s.queue.empty()) {
    // Every queued frame in one call (a slow reader's backlog, or the head and the snapshot).
    iovec iov[16];
    int count = 0;
    size_t total = 0;
    for (auto it = s.queue.begin(); it != s.queue.end() && count < 16; ++it, ++count) {
      iov[count].iov_base = const_cast<char*>(it->first->data() + it->second);
      iov[count].iov_len = it->first->size() - it->second;
      total += iov[count].iov_len;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(s.info.fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      if (s.result.ok()) s.result = absl::CancelledError(StrCat("the client is gone: ", strerror(errno)));
      Close(id);
      return;
    }
    Consume(s, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < total) break;  // the socket's buffer is full
  }
  if (s.queue.empty() && s.ending) {
    Close(id);
    return;
  }
  UpdateInterest(id, s);
}

void Broadcaster::Consume(Stream& s, size_t n) {
  s.queued_bytes -= n;
  while (n > 0) {
    auto& [frame, offset] = s.queue.front();
    const size_t take = std::min(n, frame->size() - offset);
    offset += take;
    n -= take;
    if (offset == frame->size()) s.queue.pop_front();
  }
}

void Broadcaster::UpdateInterest(StreamId id, Stream& s) {
  const bool want = !s.queue.empty();
  if (want == s.want_out) return;
  s.want_out = want;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
  ev.data.u64 = id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.info.fd, &ev);
}

void Broadcaster::Close(StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream s = std::move(it->second);
  streams_.erase(it);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.info.fd, nullptr);
  ::shutdown(s.info.fd, SHUT_RDWR);
  ::close(s.info.fd);
  open_.fetch_sub(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(Clock::now() - s.info.start).count();
  const std::string code = ConnectCodeName(s.result.code());
  metrics_->RecordCall(s.info.method, code, seconds);
  spdlog::info("{{\"rpc\":\"{}\",\"user\":\"{}\",\"code\":\"{}\",\"ms\":{:.3f},\"stream\":true,\"message\":\"{}\"}}",
               s.info.method, s.info.user, code, seconds * 1e3, std::string(s.result.message()));
  if (s.on_closed) s.on_closed();
}

void Broadcaster::Expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const StreamId id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = streams_.find(id);
    if (it == streams_.end()) continue;
    if (!it->second.ending) {
      End(id, absl::OkStatus());  // the stream's deadline: a normal end
    } else if (now >= it->second.close_by) {
      Close(id);  // the client does not read its end
    }
  }
}

}  // namespace quantatom

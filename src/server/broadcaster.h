// Broadcaster: one event-loop thread (epoll, non-blocking sockets) that owns the connections
// of detached server streams (connect.h, DetachedStream) and writes frames to all of them, so
// that an open stream holds no thread and one encoded frame reaches every subscriber with one
// send() each.
//
//   Broadcaster b(metrics);
//   b.Post([&] {                                  // on the loop thread
//     StreamId id = b.Add(std::move(detached), first_frame, on_closed);
//     b.Send(id, frame);                          // shared, never copied per stream
//     b.End(id, absl::OkStatus());                // end-of-stream message, then close
//   });
//
// Frames are whole HTTP/1.1 chunks of Connect envelopes (ConnectChunk). A stream's response
// head is written first, then its frames in order, then its end-of-stream message and the last
// chunk; the connection is then closed (the head says `Connection: close`).
//
// Slow subscribers: each stream's unsent bytes are bounded (`max_queued_bytes`). A stream that
// would pass the bound is dropped: the frames it has not started are discarded, it is sent the
// end-of-stream error resource_exhausted ("fell behind ... subscribe again") and closed, so the
// others never wait for it. A stream whose client stops reading altogether is closed after
// `drain_timeout` even if that message could not be sent. A client that closes its connection
// ends its stream (canceled). Deadlines (Connect-Timeout-Ms) end a stream normally.
//
// Thread-safety: Post, RunSoon and open_streams may be called from any thread; Add, Send, End
// and alive only on the loop thread (inside a posted task or an on_closed callback) or inside
// a task RunSoon runs on the calling thread.
//
// Latency: SendToAll hands one frame to many streams; the sockets that had nothing queued get it
// in one io_uring submission (send_ring.h) instead of one send() each, when the kernel allows.
// RunSoon runs a task on the calling thread when the loop is idle in epoll_wait (it
// takes the loop's lock, which the loop holds while it handles events), so a commit reaches the
// sockets without waking the loop thread; when the loop is busy the task is posted instead.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "server/connect.h"
#include "server/metrics.h"
#include "server/send_ring.h"

namespace quantatom {

// One HTTP/1.1 chunk holding one Connect envelope (flags 0: a message; 2: end of stream).
std::string ConnectChunk(uint8_t flags, std::string_view payload);

class Broadcaster {
 public:
  using StreamId = uint64_t;
  using Frame = std::shared_ptr<const std::string>;
  struct Options {
    size_t max_queued_bytes = size_t{4} << 20;
    std::chrono::milliseconds drain_timeout{5000};
    // SendToAll batches its sends through io_uring when available (off: one send() each).
    bool batch_sends = true;
  };

  Broadcaster(Metrics* metrics, Options options);
  explicit Broadcaster(Metrics* metrics) : Broadcaster(metrics, Options()) {}
  ~Broadcaster();  // Stop()

  // Starts the loop thread. Errors: the epoll or eventfd could not be created.
  absl::Status Start();
  // Ends every open stream with `why` (best effort, bounded by drain_timeout) and joins the
  // loop. Later Posts are dropped.
  void Stop(const absl::Status& why);

  // Runs `task` on the loop thread, in posting order.
  void Post(std::function<void()> task);
  // Runs `task` now on the calling thread, after the posted tasks, if the loop is idle (as if on
  // the loop thread: nothing else touches the streams meanwhile); else posts it. The caller
  // must not hold a lock a loop task may take.
  void RunSoon(std::function<void()> task);

  // ---- Loop thread only ----
  // Takes over `stream`: writes its head and `first` (may be null). `on_closed` runs on the
  // loop thread once the stream is gone, whatever the reason.
  StreamId Add(DetachedStream stream, Frame first, std::function<void()> on_closed);
  // Queues `frame` for the stream (ignored if the stream is gone or ending).
  void Send(StreamId id, const Frame& frame);
  // Send(id, frame) for every id, in one batched submission for the idle sockets.
  void SendToAll(const std::vector<StreamId>& ids, const Frame& frame);
  // Whether SendToAll batches (io_uring is usable here and batch_sends is on).
  bool batching() const { return ring_.open(); }
  // Queues the end-of-stream message (`st` ok: {}; else the error) and closes after it.
  void End(StreamId id, const absl::Status& st);
  bool alive(StreamId id) const;

  size_t open_streams() const { return open_.load(std::memory_order_relaxed); }

 private:
  struct Stream {
    DetachedStream info;
    std::deque<std::pair<Frame, size_t>> queue;  // frames and the offset sent of the first
    size_t queued_bytes = 0;                     // unsent bytes in `queue`
    bool ending = false;                         // the end-of-stream message is queued
    bool want_out = false;                       // registered for EPOLLOUT
    std::chrono::steady_clock::time_point close_by{};  // ending: close at the latest then
    absl::Status result;
    std::function<void()> on_closed;
  };

  void Loop();
  void RunTasks();
  void Flush(StreamId id, Stream& s);
  // Accounts `n` bytes written from the front of the queue.
  void Consume(Stream& s, size_t n);
  // Whether `frame` would pass the stream's bound (then the stream is ended).
  bool DropIfBehind(StreamId id, Stream& s, const Frame& frame);
  void Close(StreamId id);
  void UpdateInterest(StreamId id, Stream& s);
  void Enqueue(Stream& s, Frame frame);
  void Expire(std::chrono::steady_clock::time_point now);

  Metrics* metrics_;
  const Options options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};

  // Held by the loop thread while it handles events and tasks, and by RunSoon's caller.
  std::mutex loop_mu_;
  std::mutex tasks_mu_;
  std::vector<std::function<void()>> tasks_;  // guarded by tasks_mu_
  bool accepting_ = true;                     // guarded by tasks_mu_

  // Loop thread only.
  StreamId next_id_ = 1;
  std::map<StreamId, Stream> streams_;
  std::set<std::pair<std::chrono::steady_clock::time_point, StreamId>> deadlines_;
  SendRing ring_;
  std::vector<SendRing::Op> ops_;
};

}  // namespace quantatom

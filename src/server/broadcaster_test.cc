#include "server/broadcaster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/send_ring.h"
#include "server/server_testutil.h"

namespace quantatom {
namespace {

using Clock = std::chrono::steady_clock;

// A stream over one end of a socket pair; the test reads the other end.
struct Pipe {
  int server = -1, client = -1;
  explicit Pipe(int sndbuf = 0) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
    server = fds[0];
    client = fds[1];
    if (sndbuf > 0) setsockopt(server, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    fcntl(server, F_SETFL, fcntl(server, F_GETFL, 0) | O_NONBLOCK);
  }
  ~Pipe() {
    if (client >= 0) close(client);
  }
  DetachedStream Stream(std::chrono::milliseconds timeout = std::chrono::minutes(1)) const {
    DetachedStream s;
    s.fd = server;
    s.head = "HEAD\r\n\r\n";
    s.method = "Test/Stream";
    s.user = "test";
    s.start = Clock::now();
    s.deadline = s.start + timeout;
    return s;
  }
  // Everything until the server closes its end (or 10 s pass); `progress` (if given) follows
  // the count of bytes read.
  std::string ReadAll(std::atomic<size_t>* progress = nullptr) const {
    std::string out;
    char buf[65536];
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < until) {
      pollfd p{client, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = read(client, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (progress != nullptr) progress->store(out.size());
    }
    return out;
  }
};

// Runs `fn` on the loop thread and waits for it.
template <typename Fn>
auto OnLoop(Broadcaster& b, Fn fn) {
  std::promise<decltype(fn())> done;
  auto f = done.get_future();
  b.Post([&] { done.set_value(fn()); });
  return f.get();
}

TEST(Broadcaster, FramesArriveInOrderAfterTheHeadAndTheStreamEndsWithTheEndMessage) {
  Metrics metrics;
  Broadcaster b(&metrics);
  ASSERT_TRUE(b.Start().ok());
  Pipe p;
  auto frame = [](const std::string& s) { return std::make_shared<const std::string>(ConnectChunk(0, s)); };
  OnLoop(b, [&] {
    auto id = b.Add(p.Stream(), frame("first"), nullptr);
    b.Send(id, frame("second"));
    b.End(id, absl::OkStatus());
    return 0;
  });
  const std::string expected = "HEAD\r\n\r\n" + ConnectChunk(0, "first") + ConnectChunk(0, "second") +
                               ConnectChunk(2, "{}") + "0\r\n\r\n";
  EXPECT_EQ(p.ReadAll(), expected);
  // The chunk is hex length, CRLF, the 5-byte envelope header and the payload, CRLF.
  EXPECT_EQ(ConnectChunk(2, "{}"), std::string("7\r\n\x02\0\0\0\x02{}\r\n", 12));
}

TEST(Broadcaster, ASlowSubscriberIsDroppedWithResourceExhaustedAndOthersGetEveryFrame) {
  Metrics metrics;
  Broadcaster::Options options;
  options.max_queued_bytes = 64 << 10;
  Broadcaster b(&metrics, options);
  ASSERT_TRUE(b.Start().ok());
  Pipe slow(4096), fast;
  std::atomic<int> closed{0};
  std::atomic<size_t> fast_received{0};
  // The fast client reads as frames come; the slow one reads nothing until the end.
  auto fast_reader = std::async(std::launch::async, [&] {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = read(fast.client, buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      fast_received = out.size();
    }
    return out;
  });
  const std::string payload(1000, 'x');
  auto frame = std::make_shared<const std::string>(ConnectChunk(0, payload));
  constexpr int kRounds = 25, kPerRound = 20;  // 500 KB: far more than the slow socket and its queue hold
  auto [s_id, f_id] = OnLoop(b, [&] {
    return std::make_pair(b.Add(slow.Stream(), nullptr, [&] { closed++; }),
                          b.Add(fast.Stream(), nullptr, [&] { closed++; }));
  });
  for (int round = 0; round < kRounds; ++round) {
    OnLoop(b, [&] {
      for (int i = 0; i < kPerRound; ++i) {
        b.Send(s_id, frame);
        b.Send(f_id, frame);
      }
      return 0;
    });
    // The fast client keeps up (so only the slow one can pass the bound).
    const size_t want = 8 + static_cast<size_t>(round + 1) * kPerRound * frame->size();
    for (int i = 0; i < 1000 && fast_received.load() < want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  OnLoop(b, [&] {
    EXPECT_FALSE(b.alive(s_id)) << "dropped once its queue passed the bound";
    EXPECT_TRUE(b.alive(f_id));
    b.End(f_id, absl::OkStatus());
    return 0;
  });
  constexpr int kFrames = kRounds * kPerRound;
  const std::string slow_bytes = slow.ReadAll();
  const std::string fast_bytes = fast_reader.get();
  // Fast: head, every frame, the normal end.
  std::string expected_fast = "HEAD\r\n\r\n";
  for (int i = 0; i < kFrames; ++i) expected_fast += *frame;
  expected_fast += ConnectChunk(2, "{}") + "0\r\n\r\n";
  EXPECT_EQ(fast_bytes, expected_fast);
  // Slow: whole frames only (the one in progress completed), then the error and the end.
  const std::string end = ConnectChunk(2, "{\"error\":{\"code\":\"resource_exhausted\",\"message\":\"this subscriber fell "
                                          "behind by more than 65536 bytes of updates and was dropped; subscribe again\"}}") +
                          "0\r\n\r\n";
  ASSERT_GT(slow_bytes.size(), end.size());
  EXPECT_EQ(slow_bytes.substr(slow_bytes.size() - end.size()), end);
  const size_t frames_bytes = slow_bytes.size() - end.size() - 8;  // minus the head
  EXPECT_EQ(frames_bytes % frame->size(), 0u);
  EXPECT_LT(frames_bytes / frame->size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < 100 && closed.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(closed.load(), 2);
  EXPECT_EQ(b.open_streams(), 0u);
}

// SendToAll, batched through io_uring or not, writes exactly what Send would: every frame in
// order to the streams that keep up, a slow one is dropped at its bound, a hung-up one closed.
TEST(Broadcaster, SendToAllDeliversEveryFrameInOrderBatchedOrNot) {
  for (bool batch : {true, false}) {
    SCOPED_TRACE(batch ? "batched" : "one by one");
    Metrics metrics;
    Broadcaster::Options options;
    options.max_queued_bytes = 64 << 10;
    options.batch_sends = batch;
    Broadcaster b(&metrics, options);
    ASSERT_TRUE(b.Start().ok());
    if (!batch) { EXPECT_FALSE(b.batching()); }
    constexpr int kFast = 40;
    std::vector<std::unique_ptr<Pipe>> fast;
    for (int i = 0; i < kFast; ++i) fast.push_back(std::make_unique<Pipe>());
    Pipe slow(4096);
    auto gone = std::make_unique<Pipe>();
    std::atomic<int> closed{0};
    std::vector<Broadcaster::StreamId> ids = OnLoop(b, [&] {
      std::vector<Broadcaster::StreamId> out;
      for (auto& p : fast) out.push_back(b.Add(p->Stream(), nullptr, [&] { closed++; }));
      out.push_back(b.Add(slow.Stream(), nullptr, [&] { closed++; }));
      out.push_back(b.Add(gone->Stream(), nullptr, [&] { closed++; }));
      return out;
    });
    // The slow and the hung-up stream first: their refused sends come before the others'.
    std::vector<Broadcaster::StreamId> order(ids.end() - 2, ids.end());
    order.insert(order.end(), ids.begin(), ids.end() - 2);
    ::shutdown(gone->client, SHUT_RDWR);  // the client hangs up (the loop may see it first)
    std::vector<std::future<std::string>> readers;
    std::vector<std::atomic<size_t>> progress(kFast);
    for (int i = 0; i < kFast; ++i) {
      readers.push_back(std::async(std::launch::async, [&p = fast[i], &read = progress[i]] { return p->ReadAll(&read); }));
    }
    std::string expected = "HEAD\r\n\r\n";
    constexpr int kFrames = 200;  // 200 KB each: far more than the slow socket and its bound
    for (int f = 0; f < kFrames; ++f) {
      auto frame = std::make_shared<const std::string>(ConnectChunk(0, std::string(1000, static_cast<char>('a' + f % 26))));
      expected += *frame;
      OnLoop(b, [&] {
        b.SendToAll(order, frame);
        return 0;
      });
      if (f % 20 == 19) {
        // The fast readers catch up (bounded) before the next 20 KB, so on a loaded machine
        // they never fall 64 KB behind; the slow one reads nothing and does.
        const auto until = Clock::now() + std::chrono::seconds(10);
        for (auto& read : progress) {
          while (read.load() < expected.size() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      }
    }
    OnLoop(b, [&] {
      EXPECT_FALSE(b.alive(ids[kFast])) << "the slow stream passed its bound";
      EXPECT_FALSE(b.alive(ids[kFast + 1])) << "the hung-up stream is closed";
      for (int i = 0; i < kFast; ++i) b.End(ids[i], absl::OkStatus());
      return 0;
    });
    expected += ConnectChunk(2, "{}") + "0\r\n\r\n";
    for (size_t i = 0; i < readers.size(); ++i) {
      const std::string got = readers[i].get();
      const size_t at = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end()).first - got.begin();
      EXPECT_TRUE(got == expected) << "stream " << i << ": " << got.size() << " bytes, expected " << expected.size()
                                   << ", first difference at byte " << at << ", ends with "
                                   << got.substr(got.size() - std::min<size_t>(got.size(), 120));
    }
    const std::string slow_bytes = slow.ReadAll();
    EXPECT_NE(slow_bytes.find("resource_exhausted"), std::string::npos);
    for (int i = 0; i < 100 && closed.load() < kFast + 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(closed.load(), kFast + 2);
  }
}

void ParkedReceivesComplete(bool one_thread);

// The receive side of the ring (the S1 bench client reads 100 streams with it): each parked
// receive completes with what its own socket got, and with 0 when the peer closes.
TEST(SendRing, ParkedReceivesCompleteWithTheirSocketsBytesAndTheEndOfStream) {
  for (bool one_thread : {false, true}) {
    SCOPED_TRACE(one_thread ? "completions deferred to the reader's wait" : "ordinary ring");
    ParkedReceivesComplete(one_thread);
  }
}

void ParkedReceivesComplete(bool one_thread) {
  SendRing ring;
  if (!ring.Open(8, one_thread).ok()) GTEST_SKIP() << "io_uring unavailable";
  EXPECT_EQ(ring.deferred(), one_thread) << "this machine's kernel (6.1+) defers completions";
  Pipe pipes[3];
  char bufs[3][64];
  for (uint64_t i = 0; i < 3; ++i) ring.QueueRecv(pipes[i].client, bufs[i], sizeof bufs[i], 100 + i);
  ASSERT_EQ(send(pipes[0].server, "first", 5, 0), 5);
  ASSERT_EQ(send(pipes[2].server, "third!", 6, 0), 6);
  std::map<uint64_t, std::string> got;
  while (got.size() < 2) {
    for (const SendRing::Completion& c : ring.WaitRecv()) {
      ASSERT_GT(c.result, 0) << "tag " << c.tag;
      got[c.tag] = std::string(bufs[c.tag - 100], static_cast<size_t>(c.result));
    }
  }
  EXPECT_EQ(got, (std::map<uint64_t, std::string>{{100, "first"}, {102, "third!"}}));
  close(pipes[1].server);  // pipe 1 never sent anything: its receive ends with 0
  pipes[1].server = -1;
  const std::vector<SendRing::Completion>& done = ring.WaitRecv();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, 101u);
  EXPECT_EQ(done[0].result, 0);
  close(pipes[0].server);
  close(pipes[2].server);
}

// The S1 bench client's receive time stamps: a parked recvmsg gets the socket's bytes and the
// kernel's SO_TIMESTAMPNS stamp in its control buffer, taken between the send and the read.
TEST(SendRing, ParkedRecvMsgCarriesTheKernelReceiveTimeStamp) {
  SendRing ring;
  if (!ring.Open(8).ok()) GTEST_SKIP() << "io_uring unavailable";
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int reader = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(reader, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const int writer = accept(listener, nullptr, nullptr);
  ASSERT_GE(writer, 0);
  int one = 1;
  ASSERT_EQ(setsockopt(reader, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one), 0);
  char buf[64];
  testing::StampedReceive stamped;
  // The kernel turns receive time stamps on for the whole stack a moment after the first socket
  // asks (a deferred static key): until then segments arrive unstamped. Wait for that (bounded).
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(send(writer, "x", 1, 0), 1);
    ASSERT_EQ(recvmsg(reader, stamped.Arm(buf, sizeof buf), 0), 1);
    if (stamped.ArrivalNanos() != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ring.QueueRecvMsg(reader, stamped.Arm(buf, sizeof buf), 7);
  auto unix_ns = [] {
    timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
  };
  const int64_t before = unix_ns();
  ASSERT_EQ(send(writer, "stamped", 7, 0), 7);
  const std::vector<SendRing::Completion>& done = ring.WaitRecv();
  const int64_t after = unix_ns();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, 7u);
  ASSERT_EQ(done[0].result, 7);
  EXPECT_EQ(std::string(buf, 7), "stamped");
  const int64_t stamp = stamped.ArrivalNanos();  // 0 when the receive carried no stamp
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  close(writer);
  close(reader);
  close(listener);
}

TEST(Broadcaster, AClientThatHangsUpEndsItsStreamAndTheDeadlineEndsOthersNormally) {
  Metrics metrics;
  Broadcaster b(&metrics);
  ASSERT_TRUE(b.Start().ok());
  auto gone = std::make_unique<Pipe>();
  Pipe timed;
  std::atomic<int> closed{0};
  OnLoop(b, [&] {
    b.Add(gone->Stream(), nullptr, [&] { closed++; });
    b.Add(timed.Stream(std::chrono::milliseconds(200)), nullptr, [&] { closed++; });
    return 0;
  });
  gone.reset();  // the client closes its end
  for (int i = 0; i < 100 && closed.load() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(closed.load(), 1);
  EXPECT_EQ(timed.ReadAll(), "HEAD\r\n\r\n" + ConnectChunk(2, "{}") + "0\r\n\r\n");
  for (int i = 0; i < 100 && closed.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(closed.load(), 2);
  EXPECT_NE(metrics.Render().find("code=\"canceled\""), std::string::npos);
}

TEST(Broadcaster, StopEndsOpenStreamsWithTheReason) {
  Metrics metrics;
  Pipe p;
  {
    Broadcaster b(&metrics);
    ASSERT_TRUE(b.Start().ok());
    OnLoop(b, [&] {
      b.Add(p.Stream(), nullptr, nullptr);
      return 0;
    });
    b.Stop(absl::UnavailableError("the server is stopping"));
  }
  EXPECT_EQ(p.ReadAll(), "HEAD\r\n\r\n" +
                             ConnectChunk(2, "{\"error\":{\"code\":\"unavailable\",\"message\":\"the server is stopping\"}}") +
                             "0\r\n\r\n");
}

}  // namespace
}  // namespace quantatom

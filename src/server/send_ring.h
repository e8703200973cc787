// SendRing: many non-blocking socket sends in one system call, through an io_uring submission
// queue (raw syscalls, no liburing). The broadcaster uses it to hand one frame to every idle
// subscriber at once: on this VM a system call costs ~1.3 us before it does any work, and a
// change reaches 100 sockets.
//
//   SendRing ring;
//   if (ring.Open(256).ok()) {
//     std::vector<SendRing::Op> ops = {{fd1, data, size, /*tag=*/1}, {fd2, data, size, 2}};
//     ring.SendAll(ops);           // ops[i].result: bytes sent, or -errno (-EAGAIN: full)
//   }
//
// Every send is MSG_DONTWAIT | MSG_NOSIGNAL: one that would block completes with -EAGAIN at
// once (the kernel does not park it), so SendAll never waits for a slow peer; the caller keeps
// the rest for EPOLLOUT as with send(). Where io_uring is missing or disabled (old kernels,
// io_uring_disabled, seccomp), Open fails and the caller sends one by one.
//
// The same ring also reads: QueueRecv parks a receive on a socket, and WaitRecv submits what is
// queued and waits for completions, so a reader of many sockets pays one system call per
// wake-up instead of epoll_wait plus one recv per ready socket (the S1 bench client does this):
//
//   for (Conn& c : conns) ring.QueueRecv(c.fd, c.buf, sizeof c.buf, c.index);
//   while (open > 0) {
//     for (const SendRing::Completion& done : ring.WaitRecv()) { ...; ring.QueueRecv(...); }
//   }
//
// A ring is used for SendAll or for QueueRecv/WaitRecv, never both (SendAll takes every
// completion as its own). QueueRecvMsg is QueueRecv with a msghdr, for ancillary data such as
// the kernel's receive time stamp (SO_TIMESTAMPNS).
//
// Thread-safety: none; one user at a time (the broadcaster calls it under its loop lock).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace quantatom {

class SendRing {
 public:
  struct Op {
    int fd = -1;
    const char* data = nullptr;
    size_t size = 0;
    uint64_t tag = 0;  // the caller's; untouched
    int64_t result = 0;  // out: bytes sent, or -errno
  };

  SendRing() = default;
  ~SendRing();
  SendRing(const SendRing&) = delete;
  SendRing& operator=(const SendRing&) = delete;

  // Sets up a ring of `entries` submissions. Errors: io_uring is unavailable (the message says
  // why); the ring is then unusable and SendAll must not be called.
  //
  // `one_thread`: only the thread that opens the ring will ever use it (a reader). Completions
  // of parked receives are then run only while that thread waits in WaitRecv
  // (IORING_SETUP_DEFER_TASKRUN, 6.1+; silently not where the kernel lacks it). Without it,
  // every socket whose data arrives queues work for the reader and interrupts it (an IPI when
  // it runs on another core), and on loopback the SENDER pays that: perf put 25 to 30% of the
  // server's send samples (100 subscribers read through one ring) in that wake-up, 20% deferred.
  absl::Status Open(unsigned entries, bool one_thread = false);
  bool deferred() const { return deferred_; }
  bool open() const { return ring_fd_ >= 0; }

  // Sends every op (in chunks of the ring's size, one io_uring_enter each) and fills in the
  // results. Sends to different sockets in one chunk may run in any order.
  void SendAll(std::vector<Op>& ops);

  // Queues a receive of up to `size` bytes into `buffer` on `fd`; it is submitted by the next
  // WaitRecv and completes when data (or the end of the stream) arrives. `buffer` must stay
  // valid until then. At most `entries` receives may be outstanding.
  void QueueRecv(int fd, char* buffer, size_t size, uint64_t tag);
  // The same with recvmsg(2): `msg` (its iovecs and control buffer) must stay valid until the
  // receive completes. Read the ancillary data from the control buffer itself (zero it before
  // queueing): do not count on msg->msg_controllen being written back.
  void QueueRecvMsg(int fd, msghdr* msg, uint64_t tag);

  struct Completion {
    uint64_t tag = 0;
    int64_t result = 0;  // bytes received, 0 at the end of the stream, or -errno
  };
  // Submits the queued receives and waits until at least one receive has completed; returns
  // every completion available then (valid until the next call). Errors of the ring itself
  // (not of one socket) come back as one completion with tag ~0.
  const std::vector<Completion>& WaitRecv();

 private:
  void QueueReceive(uint8_t opcode, int fd, uint64_t addr, uint32_t len, uint64_t tag);
  void SendChunk(Op* ops, size_t n);
  void Close();

  int ring_fd_ = -1;
  void* sq_map_ = nullptr;
  size_t sq_map_size_ = 0;
  void* cq_map_ = nullptr;  // == sq_map_ with IORING_FEAT_SINGLE_MMAP
  size_t cq_map_size_ = 0;
  void* sqes_ = nullptr;
  size_t sqes_size_ = 0;
  unsigned entries_ = 0;
  // Into the mapped rings.
  unsigned *sq_tail_ = nullptr, *sq_mask_ = nullptr, *sq_array_ = nullptr;
  unsigned *cq_head_ = nullptr, *cq_tail_ = nullptr, *cq_mask_ = nullptr;
  void* cqes_ = nullptr;
  unsigned queued_ = 0;  // receives queued since the last submission
  bool deferred_ = false;  // IORING_SETUP_DEFER_TASKRUN
  std::vector<Completion> completions_;
};

}  // namespace quantatom

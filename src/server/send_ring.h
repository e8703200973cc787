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
// Thread-safety: none; one user at a time (the broadcaster calls it under its loop lock).
#pragma once

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
  absl::Status Open(unsigned entries);
  bool open() const { return ring_fd_ >= 0; }

  // Sends every op (in chunks of the ring's size, one io_uring_enter each) and fills in the
  // results. Sends to different sockets in one chunk may run in any order.
  void SendAll(std::vector<Op>& ops);

 private:
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
};

}  // namespace quantatom

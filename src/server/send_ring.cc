#include "server/send_ring.h"

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "base/strings.h"

namespace quantatom {
namespace {

template <typename T>
T* At(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

// The rings are shared with the kernel: their heads and tails are read and written atomically.
unsigned LoadAcquire(const unsigned* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void StoreRelease(unsigned* p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace

SendRing::~SendRing() { Close(); }

void SendRing::Close() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
  if (cq_map_ != nullptr && cq_map_ != sq_map_) munmap(cq_map_, cq_map_size_);
  if (sq_map_ != nullptr) munmap(sq_map_, sq_map_size_);
  if (ring_fd_ >= 0) close(ring_fd_);
  sqes_ = cq_map_ = sq_map_ = nullptr;
  ring_fd_ = -1;
}

absl::Status SendRing::Open(unsigned entries, bool one_thread) {
#ifndef __NR_io_uring_setup
  return absl::UnimplementedError("io_uring: not in this system's headers");
#else
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  // SUBMIT_ALL: a bad submission does not stop the ones after it (kernel 5.18+).
  // Without it a chunk could stop half submitted, so older kernels send one by one.
  p.flags = IORING_SETUP_SUBMIT_ALL;
  int fd = -1;
  if (one_thread) {
    p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    fd = static_cast<int>(syscall(__NR_io_uring_setup, entries, &p));
    deferred_ = fd >= 0;
    if (fd < 0) {  // before 6.1: an ordinary ring
      std::memset(&p, 0, sizeof p);
      p.flags = IORING_SETUP_SUBMIT_ALL;
    }
  }
  if (fd < 0) fd = static_cast<int>(syscall(__NR_io_uring_setup, entries, &p));
  if (fd < 0) return absl::UnavailableError(StrCat("io_uring_setup: ", strerror(errno)));
  ring_fd_ = fd;
  auto fail = [&](const char* what) {
    const int e = errno;
    Close();
    return absl::UnavailableError(StrCat("io_uring ", what, ": ", strerror(e)));
  };
  sq_map_size_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_size_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) sq_map_size_ = cq_map_size_ = std::max(sq_map_size_, cq_map_size_);
  sq_map_ = mmap(nullptr, sq_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (sq_map_ == MAP_FAILED) {
    sq_map_ = nullptr;
    return fail("mmap of the submission ring");
  }
  if (single) {
    cq_map_ = sq_map_;
  } else {
    cq_map_ = mmap(nullptr, cq_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (cq_map_ == MAP_FAILED) {
      cq_map_ = nullptr;
      return fail("mmap of the completion ring");
    }
  }
  sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
  sqes_ = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sqes_ == MAP_FAILED) {
    sqes_ = nullptr;
    return fail("mmap of the submissions");
  }
  entries_ = p.sq_entries;
  sq_tail_ = At<unsigned>(sq_map_, p.sq_off.tail);
  sq_mask_ = At<unsigned>(sq_map_, p.sq_off.ring_mask);
  sq_array_ = At<unsigned>(sq_map_, p.sq_off.array);
  cq_head_ = At<unsigned>(cq_map_, p.cq_off.head);
  cq_tail_ = At<unsigned>(cq_map_, p.cq_off.tail);
  cq_mask_ = At<unsigned>(cq_map_, p.cq_off.ring_mask);
  cqes_ = At<void>(cq_map_, p.cq_off.cqes);
  return absl::OkStatus();
#endif
}

void SendRing::SendAll(std::vector<Op>& ops) {
  for (size_t i = 0; i < ops.size(); i += entries_) SendChunk(ops.data() + i, std::min<size_t>(entries_, ops.size() - i));
}

void SendRing::SendChunk(Op* ops, size_t n) {
  // The completion ring holds twice the submissions and is drained after every chunk, so it
  // cannot overflow.
  unsigned tail = *sq_tail_;  // only we write it
  const unsigned mask = *sq_mask_;
  auto* sqes = static_cast<io_uring_sqe*>(sqes_);
  for (size_t i = 0; i < n; ++i) {
    const unsigned idx = tail & mask;
    io_uring_sqe& sqe = sqes[idx];
    std::memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_SEND;
    sqe.fd = ops[i].fd;
    sqe.addr = reinterpret_cast<uint64_t>(ops[i].data);
    sqe.len = static_cast<uint32_t>(ops[i].size);
    // MSG_DONTWAIT: a full socket completes with -EAGAIN instead of waiting in the kernel.
    sqe.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    sqe.user_data = i;
    ops[i].result = -ECANCELED;  // unless a completion says otherwise
    sq_array_[idx] = idx;
    ++tail;
  }
  StoreRelease(sq_tail_, tail);
  size_t done = 0;
  while (done < n) {
    const long r = syscall(__NR_io_uring_enter, ring_fd_, done == 0 ? static_cast<unsigned>(n) : 0u,
                           static_cast<unsigned>(n - done), IORING_ENTER_GETEVENTS, nullptr, 0);
    if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      // The ring itself failed: report it for every op without a completion.
      const int e = errno;
      for (size_t i = 0; i < n; ++i) {
        if (ops[i].result == -ECANCELED) ops[i].result = -e;
      }
      return;
    }
    unsigned head = *cq_head_;
    const unsigned cq_tail = LoadAcquire(cq_tail_);
    auto* cqes = static_cast<io_uring_cqe*>(cqes_);
    for (; head != cq_tail; ++head) {
      const io_uring_cqe& cqe = cqes[head & *cq_mask_];
      if (cqe.user_data < n) ops[cqe.user_data].result = cqe.res;
      ++done;
    }
    StoreRelease(cq_head_, head);
  }
}

// Parks one receive: the submission is read by the kernel at the next WaitRecv.
void SendRing::QueueReceive(uint8_t opcode, int fd, uint64_t addr, uint32_t len, uint64_t tag) {
  unsigned tail = *sq_tail_;  // only we write it
  const unsigned idx = tail & *sq_mask_;
  io_uring_sqe& sqe = static_cast<io_uring_sqe*>(sqes_)[idx];
  std::memset(&sqe, 0, sizeof sqe);
  sqe.opcode = opcode;
  sqe.fd = fd;
  sqe.addr = addr;
  sqe.len = len;
  sqe.user_data = tag;
  sq_array_[idx] = idx;
  StoreRelease(sq_tail_, tail + 1);
  ++queued_;
}

void SendRing::QueueRecv(int fd, char* buffer, size_t size, uint64_t tag) {
  QueueReceive(IORING_OP_RECV, fd, reinterpret_cast<uint64_t>(buffer), static_cast<uint32_t>(size), tag);
}

void SendRing::QueueRecvMsg(int fd, msghdr* msg, uint64_t tag) {
  QueueReceive(IORING_OP_RECVMSG, fd, reinterpret_cast<uint64_t>(msg), 1, tag);
}

const std::vector<SendRing::Completion>& SendRing::WaitRecv() {
  completions_.clear();
  while (completions_.empty()) {
    const long r = syscall(__NR_io_uring_enter, ring_fd_, queued_, 1u, IORING_ENTER_GETEVENTS, nullptr, 0);
    if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      completions_.push_back({~uint64_t{0}, -errno});
      return completions_;
    }
    if (r > 0) queued_ -= std::min<unsigned>(queued_, static_cast<unsigned>(r));
    unsigned head = *cq_head_;
    const unsigned cq_tail = LoadAcquire(cq_tail_);
    auto* cqes = static_cast<io_uring_cqe*>(cqes_);
    for (; head != cq_tail; ++head) {
      const io_uring_cqe& cqe = cqes[head & *cq_mask_];
      completions_.push_back({cqe.user_data, cqe.res});
    }
    StoreRelease(cq_head_, head);
  }
  return completions_;
}

}  // namespace quantatom

// Live updates: every committed change set is published once, with the leaves it may have
// touched as one leaf bitmap per dimension; each subscriber keeps the same bitmaps for its
// grid region (the leaves below its row, column and slicer members) and is woken only when,
// in every dimension, the two intersect. The subscriber's own thread then re-reads its grid as
// its user may see it and sends the cells that changed, so what is sent obeys the reader's
// rights by construction (the bus itself carries no values).
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/app_model.h"

namespace quantatom {

// Leaf ordinals per dimension, as bit words. An empty `dims` means "anything" (undo, redo,
// loads: the whole app).
struct LeafRegion {
  std::vector<std::vector<uint64_t>> dims;
  static LeafRegion Empty(const AppModel& model);
  void AddLeaf(int dim, uint32_t ordinal) { dims[dim][ordinal >> 6] |= uint64_t{1} << (ordinal & 63); }
  // Every leaf below `member` of dimension `dim`.
  void AddMember(const AppModel& model, int dim, MemberId member);
  bool Intersects(const LeafRegion& other) const;
};

struct ChangeEvent {
  std::string app;
  uint64_t seq = 0;
  std::string user;
  std::string action;
  std::shared_ptr<const LeafRegion> touched;
  int64_t commit_unix_nanos = 0;
};

class ChangeBus {
 public:
  class Subscription {
   public:
    // Waits for the next events until `deadline` or Close; returns them (empty on timeout or
    // close).
    std::vector<ChangeEvent> Wait(std::chrono::steady_clock::time_point deadline);
    bool closed() const;

   private:
    friend class ChangeBus;
    std::string app_;
    LeafRegion region_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<ChangeEvent> queue_;  // guarded by mu_
    bool closed_ = false;            // guarded by mu_
  };

  std::shared_ptr<Subscription> Subscribe(std::string app, LeafRegion region);
  void Unsubscribe(const std::shared_ptr<Subscription>& sub);
  void Publish(const ChangeEvent& event);
  // Wakes and closes every subscription (server stop).
  void CloseAll();
  size_t subscribers() const;

 private:
  mutable std::mutex mu_;
  std::list<std::shared_ptr<Subscription>> subs_;  // guarded by mu_
};

}  // namespace quantatom

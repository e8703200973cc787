// Live updates: every committed change set is published once, with the leaves it may have
// touched as one leaf bitmap per dimension. Listeners (live_grids.h) keep the same bitmaps for
// each grid region (the leaves below its row, column and slicer members) and act only when,
// in every dimension, the two intersect. The bus itself carries no values: listeners re-read
// grids as their users may see them.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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
  using ListenerId = uint64_t;
  // `on_change` runs on the committing thread, after the commit, for every event; it must be
  // quick (hand the event to another thread). `on_close` runs on CloseAll.
  ListenerId AddListener(std::function<void(const ChangeEvent&)> on_change, std::function<void()> on_close);
  void RemoveListener(ListenerId id);
  void Publish(const ChangeEvent& event);
  // Tells every listener that no more events come (server stop).
  void CloseAll();

 private:
  struct Listener {
    std::function<void(const ChangeEvent&)> on_change;
    std::function<void()> on_close;
  };
  mutable std::mutex mu_;
  ListenerId next_ = 1;                      // guarded by mu_
  std::map<ListenerId, Listener> listeners_;  // guarded by mu_
};

}  // namespace quantatom

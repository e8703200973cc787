// LiveGrids: the open Subscribe streams (GridService.Subscribe) and how committed changes reach
// them. Streams of the same grid (app, axes, slicers) whose users have the same roles see the
// same cells, so they form one group: per change set that touches the group's region (the
// ChangeBus's leaf bitmaps), the grid is read ONCE as those roles may see it (security/
// secure_read.h), compared with the group's previous read, and the changed cells are encoded
// ONCE per wire format (binary, JSON) and handed to the broadcaster, which writes the same
// bytes to every member's socket from its one event-loop thread (broadcaster.h).
//
// Everything here runs on the broadcaster's loop thread except Add and the bus callbacks, which
// only post work to it. Change events that arrive while the loop is busy are coalesced: one
// read per group covers all of them (the frame carries the newest seq and the oldest commit
// time).
//
// A new member is sent the group's last read as its snapshot: every change after that read has
// an event still to come, so the member misses nothing. A rule change (SetMemberRights,
// SetTotalsPolicy) reaches open streams with the next change that touches them: every read
// compiles the rights again, and cells that became hidden or visible are part of the diff.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/token_store.h"
#include "security/secure_read.h"
#include "server/app_host.h"
#include "server/broadcaster.h"
#include "server/metrics.h"

namespace quantatom {

class LiveGrids {
 public:
  struct Spec {
    std::shared_ptr<HostedApp> app;
    GridQuery query;
    LeafRegion region;  // the leaves below the grid's members
    std::shared_ptr<const User> user;
    std::string grid_key;  // the serialized GridSpec
  };

  // Listens on `host`'s change bus until destroyed. `out` must outlive this object's streams.
  LiveGrids(AppHost* host, Broadcaster* out, Metrics* metrics, bool rights_cache, Cube::ReadOptions read);
  ~LiveGrids();
  LiveGrids(const LiveGrids&) = delete;
  LiveGrids& operator=(const LiveGrids&) = delete;

  // Starts streaming `spec` on `stream` (any thread): the snapshot first, then the changes.
  void Add(Spec spec, DetachedStream stream);
  size_t streams() const { return streams_.load(std::memory_order_relaxed); }

 private:
  struct Member {
    Broadcaster::StreamId id;
    bool json;
  };
  struct Group {
    Spec spec;
    std::shared_ptr<const SecureGrid> last;
    uint64_t seq = 0;
    std::vector<Member> members;
    Broadcaster::Frame snapshot[2];  // the encoded snapshot of `last`, per format (lazy)
  };

  void Flush();  // loop thread: the pending events
  absl::StatusOr<SecureGrid> Read(const Group& g) const;

  AppHost* host_;
  Broadcaster* out_;
  Metrics* metrics_;
  const bool rights_cache_;
  const Cube::ReadOptions read_;
  ChangeBus::ListenerId listener_ = 0;

  std::mutex pending_mu_;
  std::vector<ChangeEvent> pending_;  // guarded by pending_mu_
  bool flush_posted_ = false;         // guarded by pending_mu_

  std::atomic<size_t> streams_{0};  // open or starting streams

  // Loop thread only.
  bool flushing_ = false;  // walking groups_: closed streams leave empty groups behind
  std::map<std::string, Group> groups_;
  std::map<Broadcaster::StreamId, std::string> group_of_;
};

}  // namespace quantatom

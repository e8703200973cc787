// LiveGrids: the open Subscribe streams (GridService.Subscribe) and how committed changes reach
// them. Streams of the same grid (app, axes, slicers) whose users have the same roles see the
// same cells, so they form one group: per change set that touches the group's region (the
// ChangeBus's leaf bitmaps), the grid is read ONCE as those roles may see it (security/
// secure_read.h), compared with the group's previous read, and the changed cells are encoded
// ONCE per wire format (binary, JSON) and handed to the broadcaster, which writes the same
// bytes to every member's socket from its one event-loop thread (broadcaster.h).
//
// A change set re-reads only the part of the grid it can have changed: the rows and columns
// whose members lie over a touched leaf in every axis dimension (a cell is the sum of the
// leaves below it, so no other cell moves). The group keeps its compiled rights (the security
// masks) and the totals policy of its last read; when either differs (a rule changed), when
// the change set names no leaves (undo, redo, loads) or when the app has formulas (a formula
// cell can depend on leaves outside it), the whole grid is read again.
//
// Everything here runs on the broadcaster's loop thread (or under its lock: Broadcaster::
// RunSoon runs a flush on the committing thread when the loop is idle) except Add and the bus
// callbacks, which only hand work to it. Change events that arrive while the loop is busy are coalesced: one
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

// Where the time of one delivered change goes (unix nanoseconds; bench/server_bench prints
// them): committed (stamped after the commit), the loop starts the flush, the group's cells
// are read, the frame is encoded, and the frame is handed to the last member's socket.
struct LiveFlushPhases {
  int64_t commit_ns = 0, woke_ns = 0, read_ns = 0, encoded_ns = 0, sent_ns = 0;
  uint32_t cells_read = 0;  // grid cells evaluated for this flush (the whole grid or a part)
  uint32_t members = 0;
};

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
  // The phases of the most recent deliveries (at most 65,536 kept), oldest first; clears them.
  std::vector<LiveFlushPhases> TakePhases();

 private:
  struct Member {
    Broadcaster::StreamId id;
    bool json;
  };
  struct Group {
    Spec spec;
    SecureGrid last;
    uint64_t seq = 0;
    std::vector<Member> members;
    Broadcaster::Frame snapshot[2];  // the encoded snapshot of `last`, per format (lazy)
    // What `last` was read with: a change of either forces a whole read.
    std::shared_ptr<const CellRights> rights;
    TotalsPolicy policy = TotalsPolicy::kVisibleOnly;
    // Per row (column) tuple, per axis dimension: the leaves below its member.
    std::vector<std::vector<std::vector<uint64_t>>> row_leaves, col_leaves;
  };

  void Flush();  // loop thread: the pending events
  // Reads the whole grid into g.last; the cells that changed go to `changed` (if not null).
  absl::Status ReadAll(Group& g, std::vector<uint32_t>* changed);
  // Reads the rows and columns touched by `events` (the group's); the same for `changed`.
  absl::Status ReadTouched(Group& g, const std::vector<const ChangeEvent*>& events, std::vector<uint32_t>* changed,
                           uint32_t* cells_read);

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

  std::mutex phases_mu_;
  std::vector<LiveFlushPhases> phases_;  // guarded by phases_mu_

  // Loop thread only.
  bool flushing_ = false;  // walking groups_: closed streams leave empty groups behind
  std::map<std::string, Group> groups_;
  std::map<Broadcaster::StreamId, std::string> group_of_;
};

}  // namespace quantatom

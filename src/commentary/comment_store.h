// Comments and adjustments on the cells of one app (docs/comments.md has the rules).
//
// A comment is attached to a coordinate at any level (leaf or consolidated) and carries an
// author, a UTC time in milliseconds, UTF-8 text and, optionally, an adjustment value. Replies
// form threads. Nothing is ever edited or removed: a correction is a reply, and an adjustment
// stops counting only when a *retraction* entry, itself a recorded reply, ends it. So the store
// is an append-only log of entries, with ids 1, 2, 3, ... in the order they were recorded.
//
// Adjustments are a layer over the computed values, never written into the cells:
//
//   adjusted(c) = computed(c) + Σ over active adjustments a with a under-or-equal c
//                               of  value(a) × Π_d w(a_d → c_d)
//
// where w is the summed path weight of model/dimension.h (1 when a_d = c_d). A leaf adjustment
// therefore shows in the leaf and in all its ancestors; a top-side adjustment on a total shows
// in that total and its ancestors, never in the members below it.
//
// Typical use by a grid read:
//
//   CommentStore comments(model);
//   QA_ASSIGN_OR_RETURN(CommentId id, comments.Post(cell, {"ana", now_ms, "one-off fee", 250.0}));
//   QA_ASSIGN_OR_RETURN(auto markers, comments.Markers(grid_cells));
//   for (size_t i = 0; i < grid_cells.size(); ++i)
//     shown[i] = ApplyAdjustment(computed[i], markers[i]);
//
// Cost: a write touches the per-dimension index of the ancestors of its members only (no
// rebuild). Markers for a grid cost about (adjustments below the grid's cells) × dimensions,
// plus a hash lookup per cell; nothing is cached, so every answer is computed from the
// current entries.
//
// Thread-safety: thread-safe. Reads run concurrently; a write excludes reads and other writes
// (one std::shared_mutex), so a read sees an entry entirely or not at all.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/app_model.h"
#include "model/cell_value.h"

namespace quantatom {

namespace commentary_internal {
class RegionIndex;
}

// Ids are dense and start at 1 (0 means "none"); an id is never reused.
using CommentId = uint32_t;
inline constexpr CommentId kNoComment = 0;

// Bounds on what one entry may hold, in bytes of UTF-8.
inline constexpr size_t kMaxCommentTextBytes = 16 * 1024;
inline constexpr size_t kMaxCommentAuthorBytes = 256;

enum class CommentKind : uint8_t {
  kNote = 0,        // a comment or reply, possibly with an adjustment
  kRetraction = 1,  // ends the adjustment of its parent; its text is the reason
};

// What a caller supplies; the store assigns the id and the coordinate.
struct NewComment {
  std::string author;  // non-empty, valid UTF-8, at most kMaxCommentAuthorBytes
  int64_t time_ms = 0;  // UTC milliseconds since 1970; 0 to 253402300799999 (year 9999)
  std::string text;     // valid UTF-8 without NUL, not blank, at most kMaxCommentTextBytes
  std::optional<double> adjustment;  // finite when present
};

// One recorded entry, as read back.
struct Comment {
  CommentId id = kNoComment;
  CommentKind kind = CommentKind::kNote;
  Coordinate coordinate;
  std::string author;
  int64_t time_ms = 0;
  std::string text;
  CommentId parent = kNoComment;  // kNoComment for the first entry of a thread
  std::optional<double> adjustment;
  CommentId retracted_by = kNoComment;  // the retraction that ended this adjustment, if any
  bool active_adjustment() const { return adjustment.has_value() && retracted_by == kNoComment; }
};

// A thread in reading order: depth-first, replies in the order they were recorded; depth 0 is
// the first comment.
struct ThreadEntry {
  Comment comment;
  int depth = 0;
};
using Thread = std::vector<ThreadEntry>;

// Position in a newest-first listing: entries strictly older than (time_ms, id) come next.
struct ListCursor {
  int64_t time_ms = 0;
  CommentId id = kNoComment;
};
struct CommentPage {
  std::vector<Comment> comments;  // newest first: time descending, then id descending
  std::optional<ListCursor> next;  // absent on the last page
};

// What a grid shows on one cell.
struct CellMarker {
  bool has_comment = false;  // an entry sits at exactly this coordinate
  bool adjusted = false;     // at least one active adjustment applies (even if it sums to 0)
  double adjustment = 0;     // the weighted sum of the adjustments that apply
};

// The value shown for a cell: `computed` plus the marker's adjustment. Empty with an adjustment
// becomes the adjustment; text is shown unchanged (adjustments add only to numbers).
CellValue ApplyAdjustment(const CellValue& computed, const CellMarker& marker);

class CommentStore {
 public:
  // `model` must outlive the store; the store reads it, never changes it.
  explicit CommentStore(const AppModel& model);
  ~CommentStore();
  CommentStore(const CommentStore&) = delete;
  CommentStore& operator=(const CommentStore&) = delete;

  // Writes. Each either records one entry and returns its id, or changes nothing and returns
  // InvalidArgument (bad coordinate, author, time, text or adjustment; the message names the
  // field), NotFound (no such parent) or FailedPrecondition (see Retract).

  // Starts a thread at `at`, any level.
  absl::StatusOr<CommentId> Post(const Coordinate& at, const NewComment& comment);
  // Replies to any entry; the reply sits at its parent's coordinate. A reply may carry an
  // adjustment of its own.
  absl::StatusOr<CommentId> Reply(CommentId parent, const NewComment& comment);
  // Records a retraction of `adjustment`'s adjustment, as a reply to it with `reason` as text.
  // `reason.adjustment` must be empty. FailedPrecondition if that entry has no adjustment or
  // is already retracted.
  absl::StatusOr<CommentId> Retract(CommentId adjustment, const NewComment& reason);

  // Reads. InvalidArgument for a coordinate of the wrong arity or with a member id out of range.

  // NotFound for an unknown id.
  absl::StatusOr<Comment> Get(CommentId id) const;
  // Every thread whose coordinate is exactly `at`, oldest thread first.
  absl::StatusOr<std::vector<Thread>> ThreadsAt(const Coordinate& at) const;
  // Every entry whose coordinate is under-or-equal `region` in every dimension (any level),
  // newest first, at most `limit` (1 or more) per page, starting after `after`.
  absl::StatusOr<CommentPage> ListUnder(const Coordinate& region, size_t limit,
                                        std::optional<ListCursor> after = std::nullopt) const;
  // One marker per cell, in order; cells may be at any level and may repeat.
  absl::StatusOr<std::vector<CellMarker>> Markers(std::span<const Coordinate> cells) const;
  // ApplyAdjustment of one cell.
  absl::StatusOr<CellValue> Adjusted(const Coordinate& at, const CellValue& computed) const;

  size_t size() const;                  // entries recorded
  size_t active_adjustments() const;

  // The whole store as bytes (docs/formats/comments.md). Members are stored by code, so the
  // bytes survive member ids changing between model versions.
  std::string Encode() const;
  // Reads what Encode wrote, for `model`. DataLoss for truncated or damaged bytes (never a
  // crash), FailedPrecondition when a dimension or member code is not in `model`.
  static absl::StatusOr<std::unique_ptr<CommentStore>> Decode(const AppModel& model, std::string_view bytes);

 private:
  struct Entry;
  absl::Status CheckCoordinate(const Coordinate& coord) const;
  // Every rule of a new entry, then the append; nothing changes on an error. `at` may be null
  // for a reply (it sits at its parent's coordinate). Caller holds mu_ exclusively.
  absl::StatusOr<CommentId> RecordLocked(CommentKind kind, const Coordinate* at, CommentId parent,
                                         const NewComment& comment);
  Comment ToComment(CommentId id) const;
  std::vector<CellMarker> MarkersLocked(std::span<const Coordinate> cells) const;

  const AppModel& model_;
  const size_t dims_;
  mutable std::shared_mutex mu_;
  std::vector<Entry> entries_;  // entries_[id - 1]; guarded by mu_
  // Coordinates, postings and adjustment values; guarded by mu_.
  std::unique_ptr<commentary_internal::RegionIndex> index_;
};

}  // namespace quantatom

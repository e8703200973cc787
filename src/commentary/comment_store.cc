#include "commentary/comment_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "base/strings.h"
#include "commentary/adjustment_sums.h"
#include "commentary/region_index.h"
#include "commentary/store_entry.h"
#include "commentary/utf8.h"

namespace quantatom {
namespace {

using commentary_internal::IsValidUtf8;

constexpr int64_t kMaxTimeMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; });
}

absl::Status ValidateNewComment(const NewComment& c) {
  if (c.author.empty()) return absl::InvalidArgumentError("comment author is empty");
  if (c.author.size() > kMaxCommentAuthorBytes)
    return absl::InvalidArgumentError(
        StrCat("comment author is ", c.author.size(), " bytes; the limit is ", kMaxCommentAuthorBytes));
  if (!IsValidUtf8(c.author)) return absl::InvalidArgumentError("comment author is not valid UTF-8");
  if (c.time_ms < 0 || c.time_ms > kMaxTimeMs)
    return absl::InvalidArgumentError(StrCat("comment time ", c.time_ms, " ms is outside 0..", kMaxTimeMs,
                                             " (UTC milliseconds from 1970 to the end of 9999)"));
  if (c.text.empty()) return absl::InvalidArgumentError("comment text is empty");
  if (c.text.size() > kMaxCommentTextBytes)
    return absl::InvalidArgumentError(
        StrCat("comment text is ", c.text.size(), " bytes; the limit is ", kMaxCommentTextBytes));
  if (!IsValidUtf8(c.text)) return absl::InvalidArgumentError("comment text is not valid UTF-8");
  if (c.text.find('\0') != std::string::npos) return absl::InvalidArgumentError("comment text contains a NUL character");
  if (IsBlank(c.text)) return absl::InvalidArgumentError("comment text is blank");
  if (c.adjustment && !std::isfinite(*c.adjustment))
    return absl::InvalidArgumentError("adjustment is not a finite number");
  return absl::OkStatus();
}

}  // namespace

CellValue ApplyAdjustment(const CellValue& computed, const CellMarker& marker) {
  if (!marker.adjusted || computed.is_text()) return computed;
  if (computed.is_empty()) return CellValue::Number(marker.adjustment);
  return CellValue::Number(computed.number + marker.adjustment);
}

CommentStore::CommentStore(const AppModel& model)
    : model_(model),
      dims_(model.dimensions.size()),
      index_(std::make_unique<commentary_internal::RegionIndex>(model)) {}

CommentStore::~CommentStore() = default;

absl::Status CommentStore::CheckCoordinate(const Coordinate& coord) const {
  if (coord.size() != dims_)
    return absl::InvalidArgumentError(StrCat("a coordinate needs ", dims_, " members, got ", coord.size()));
  for (size_t d = 0; d < dims_; ++d) {
    const Dimension& dim = model_.dimensions[d];
    if (coord[d] >= dim.member_count())
      return absl::InvalidArgumentError(StrCat("member id ", coord[d], " is not in dimension '", dim.name(),
                                               "' (it has ", dim.member_count(), " members)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CommentId> CommentStore::RecordLocked(CommentKind kind, const Coordinate* at, CommentId parent,
                                                     const NewComment& comment) {
  if (entries_.size() >= std::numeric_limits<CommentId>::max() - 1)
    return absl::ResourceExhaustedError("the comment store is full (2^32 - 2 entries)");
  QA_RETURN_IF_ERROR(ValidateNewComment(comment));
  Coordinate coord;
  if (parent != kNoComment) {
    if (parent > entries_.size()) return absl::NotFoundError(StrCat("no comment with id ", parent));
    std::span<const MemberId> parent_at = index_->coordinate(parent);
    coord.assign(parent_at.begin(), parent_at.end());
    if (at != nullptr && *at != coord)
      return absl::InvalidArgumentError(StrCat("a reply sits at its parent's coordinate; comment ", parent, " is at ",
                                               model_.FormatCoordinate(coord)));
  } else if (at == nullptr) {
    return absl::InvalidArgumentError("a comment needs a coordinate or a parent");
  } else {
    QA_RETURN_IF_ERROR(CheckCoordinate(*at));
    coord = *at;
  }
  if (kind == CommentKind::kRetraction) {
    if (parent == kNoComment) return absl::InvalidArgumentError("a retraction needs the comment it retracts");
    if (comment.adjustment) return absl::InvalidArgumentError("a retraction carries no adjustment");
    const Entry& target = entries_[parent - 1];
    if (!target.has_adjustment)
      return absl::FailedPreconditionError(StrCat("comment ", parent, " has no adjustment to retract"));
    if (target.retracted_by != kNoComment)
      return absl::FailedPreconditionError(
          StrCat("the adjustment of comment ", parent, " was already retracted by comment ", target.retracted_by));
  }

  // Validated: from here on nothing fails (short of memory).
  const CommentId id = static_cast<CommentId>(entries_.size() + 1);
  Entry entry;
  entry.kind = kind;
  entry.has_adjustment = comment.adjustment.has_value();
  entry.parent = parent;
  entry.time_ms = comment.time_ms;
  entry.author = comment.author;
  entry.text = comment.text;
  entries_.push_back(std::move(entry));
  // -0.0 is stored as +0.0, so that an adjustment of "minus nothing" reads back as 0.
  double value = comment.adjustment ? *comment.adjustment + 0.0 : 0.0;
  index_->Add(id, coord, comment.adjustment ? &value : nullptr);
  if (kind == CommentKind::kRetraction) {
    entries_[parent - 1].retracted_by = id;
    index_->Retract(parent);
  }
  return id;
}

absl::StatusOr<CommentId> CommentStore::Post(const Coordinate& at, const NewComment& comment) {
  std::unique_lock lock(mu_);
  return RecordLocked(CommentKind::kNote, &at, kNoComment, comment);
}

absl::StatusOr<CommentId> CommentStore::Reply(CommentId parent, const NewComment& comment) {
  std::unique_lock lock(mu_);
  if (parent == kNoComment) return absl::NotFoundError("no comment with id 0");
  return RecordLocked(CommentKind::kNote, nullptr, parent, comment);
}

absl::StatusOr<CommentId> CommentStore::Retract(CommentId adjustment, const NewComment& reason) {
  std::unique_lock lock(mu_);
  if (adjustment == kNoComment) return absl::NotFoundError("no comment with id 0");
  return RecordLocked(CommentKind::kRetraction, nullptr, adjustment, reason);
}

Comment CommentStore::ToComment(CommentId id) const {
  const Entry& e = entries_[id - 1];
  Comment c;
  c.id = id;
  c.kind = e.kind;
  std::span<const MemberId> at = index_->coordinate(id);
  c.coordinate.assign(at.begin(), at.end());
  c.author = e.author;
  c.time_ms = e.time_ms;
  c.text = e.text;
  c.parent = e.parent;
  if (e.has_adjustment) c.adjustment = index_->adjustment(id);
  c.retracted_by = e.retracted_by;
  return c;
}

absl::StatusOr<Comment> CommentStore::Get(CommentId id) const {
  std::shared_lock lock(mu_);
  if (id == kNoComment || id > entries_.size()) return absl::NotFoundError(StrCat("no comment with id ", id));
  return ToComment(id);
}

absl::StatusOr<std::vector<Thread>> CommentStore::ThreadsAt(const Coordinate& at) const {
  std::shared_lock lock(mu_);
  QA_RETURN_IF_ERROR(CheckCoordinate(at));
  std::vector<Thread> threads;
  const std::vector<CommentId>* ids = index_->At(at);
  if (ids == nullptr) return threads;
  // Every entry of a thread sits at its first comment's coordinate, so `ids` holds whole
  // threads; ids ascend, so children lists come out in recorded order.
  absl::flat_hash_map<CommentId, std::vector<CommentId>> children;
  std::vector<CommentId> roots;
  for (CommentId id : *ids) {
    CommentId parent = entries_[id - 1].parent;
    if (parent == kNoComment) roots.push_back(id);
    else children[parent].push_back(id);
  }
  for (CommentId root : roots) {
    Thread thread;
    std::vector<std::pair<CommentId, int>> stack{{root, 0}};
    while (!stack.empty()) {
      auto [id, depth] = stack.back();
      stack.pop_back();
      thread.push_back({ToComment(id), depth});
      auto it = children.find(id);
      if (it == children.end()) continue;
      for (auto child = it->second.rbegin(); child != it->second.rend(); ++child) stack.push_back({*child, depth + 1});
    }
    threads.push_back(std::move(thread));
  }
  return threads;
}

absl::StatusOr<CommentPage> CommentStore::ListUnder(const Coordinate& region, size_t limit,
                                                    std::optional<ListCursor> after) const {
  std::shared_lock lock(mu_);
  QA_RETURN_IF_ERROR(CheckCoordinate(region));
  if (limit == 0) return absl::InvalidArgumentError("a page holds at least 1 comment");
  using Key = std::pair<int64_t, CommentId>;
  std::vector<Key> keys;
  for (CommentId id : index_->Under(region)) {
    Key key{entries_[id - 1].time_ms, id};
    if (!after || key < Key{after->time_ms, after->id}) keys.push_back(key);
  }
  const size_t take = std::min(limit, keys.size());
  // Selecting the page costs O(n), not a full sort of everything under the region.
  std::nth_element(keys.begin(), keys.begin() + (take - (take > 0)), keys.end(), std::greater<>());
  std::sort(keys.begin(), keys.begin() + take, std::greater<>());
  CommentPage page;
  for (size_t i = 0; i < take; ++i) page.comments.push_back(ToComment(keys[i].second));
  if (keys.size() > take) page.next = ListCursor{keys[take - 1].first, keys[take - 1].second};
  return page;
}

std::vector<CellMarker> CommentStore::MarkersLocked(std::span<const Coordinate> cells) const {
  std::vector<commentary_internal::AdjustmentSum> sums = commentary_internal::SumAdjustments(*index_, cells);
  std::vector<CellMarker> markers(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    markers[i].has_comment = index_->At(cells[i]) != nullptr;
    markers[i].adjusted = sums[i].any;
    markers[i].adjustment = sums[i].sum;
  }
  return markers;
}

absl::StatusOr<std::vector<CellMarker>> CommentStore::Markers(std::span<const Coordinate> cells) const {
  for (size_t i = 0; i < cells.size(); ++i) {
    absl::Status status = CheckCoordinate(cells[i]);
    if (!status.ok())
      return absl::InvalidArgumentError(
          StrCat("cell ", i + 1, " of ", cells.size(), ": ", std::string(status.message())));
  }
  std::shared_lock lock(mu_);
  return MarkersLocked(cells);
}

absl::StatusOr<CellValue> CommentStore::Adjusted(const Coordinate& at, const CellValue& computed) const {
  QA_RETURN_IF_ERROR(CheckCoordinate(at));
  std::shared_lock lock(mu_);
  return ApplyAdjustment(computed, MarkersLocked({&at, 1})[0]);
}

size_t CommentStore::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

size_t CommentStore::active_adjustments() const {
  std::shared_lock lock(mu_);
  return index_->active_adjustments().cardinality();
}

}  // namespace quantatom

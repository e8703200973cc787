// Encode and Decode of CommentStore: the byte layout is docs/formats/comments.md.
#include <cstring>
#include <limits>
#include <mutex>

#include "base/byte_codec.h"
#include "base/file_util.h"
#include "base/strings.h"
#include "commentary/comment_store.h"
#include "commentary/region_index.h"
#include "commentary/store_entry.h"

namespace quantatom {
namespace {

constexpr char kMagic[8] = {'Q', 'A', 'C', 'M', 'T', 'v', '0', '1'};
constexpr uint8_t kHasAdjustment = 1;
constexpr uint32_t kNoIndex = std::numeric_limits<uint32_t>::max();

}  // namespace

std::string CommentStore::Encode() const {
  std::shared_lock lock(mu_);
  ByteWriter w;
  w.PutBytes(std::string_view(kMagic, sizeof kMagic));
  // Per dimension, the codes of the members in use, in order of first use; entries then name
  // members by their index in this table.
  std::vector<std::vector<uint32_t>> index_of(dims_);
  std::vector<std::vector<MemberId>> used(dims_);
  for (size_t d = 0; d < dims_; ++d) index_of[d].assign(model_.dimensions[d].member_count(), kNoIndex);
  for (CommentId id = 1; id <= entries_.size(); ++id) {
    std::span<const MemberId> at = index_->coordinate(id);
    for (size_t d = 0; d < dims_; ++d) {
      if (index_of[d][at[d]] != kNoIndex) continue;
      index_of[d][at[d]] = static_cast<uint32_t>(used[d].size());
      used[d].push_back(at[d]);
    }
  }
  w.Put(static_cast<uint32_t>(dims_));
  for (size_t d = 0; d < dims_; ++d) {
    const Dimension& dim = model_.dimensions[d];
    w.PutString<uint32_t>(dim.name());
    w.Put(static_cast<uint32_t>(used[d].size()));
    for (MemberId m : used[d]) w.PutString<uint32_t>(dim.member(m).code);
  }
  w.Put(static_cast<uint32_t>(entries_.size()));
  for (CommentId id = 1; id <= entries_.size(); ++id) {
    const Entry& e = entries_[id - 1];
    w.Put(static_cast<uint8_t>(e.kind));
    w.Put(static_cast<uint8_t>(e.has_adjustment ? kHasAdjustment : 0));
    w.Put(static_cast<uint32_t>(e.parent));
    w.Put(e.time_ms);
    if (e.has_adjustment) w.Put(index_->adjustment(id));
    w.PutString<uint32_t>(e.author);
    w.PutString<uint32_t>(e.text);
    std::span<const MemberId> at = index_->coordinate(id);
    for (size_t d = 0; d < dims_; ++d) w.Put(index_of[d][at[d]]);
  }
  w.Put(Checksum64(w.bytes().data(), w.size()));
  return w.Take();
}

absl::StatusOr<std::unique_ptr<CommentStore>> CommentStore::Decode(const AppModel& model, std::string_view bytes) {
  if (bytes.size() < sizeof kMagic + 8)
    return absl::DataLossError(
        StrCat("comments: ", bytes.size(), " bytes is too short for a comment store (at least 16)"));
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return absl::DataLossError("comments: not a QuantatomAI comment store (bad magic)");
  uint64_t stored_sum;
  std::memcpy(&stored_sum, bytes.data() + bytes.size() - 8, 8);
  if (stored_sum != Checksum64(bytes.data(), bytes.size() - 8))
    return absl::DataLossError("comments: checksum mismatch (the bytes are damaged or truncated)");

  auto store = std::make_unique<CommentStore>(model);
  std::unique_lock lock(store->mu_);
  const size_t dims = model.dimensions.size();
  // Offsets in errors count from the start of the store.
  ByteReader r(bytes.substr(0, bytes.size() - 8), "comments");
  std::string_view magic;
  QA_RETURN_IF_ERROR(r.GetBytes(sizeof kMagic, &magic));

  uint32_t stored_dims;
  QA_RETURN_IF_ERROR(r.Get(&stored_dims, "the dimension count"));
  if (stored_dims != dims)
    return absl::FailedPreconditionError(
        StrCat("comments: written for ", stored_dims, " dimensions, the app has ", dims));
  std::vector<std::vector<MemberId>> members(dims);
  for (size_t d = 0; d < dims; ++d) {
    const Dimension& dim = model.dimensions[d];
    std::string name;
    QA_RETURN_IF_ERROR(r.GetString<uint32_t>(&name, "a dimension name"));
    if (name != dim.name())
      return absl::FailedPreconditionError(StrCat("comments: dimension ", d + 1, " is '", name,
                                                  "' in the stored comments, '", dim.name(), "' in the app"));
    uint32_t count;
    QA_RETURN_IF_ERROR(r.Get(&count, "a member count"));
    if (count > r.remaining() / 4)  // each code takes at least its 4-byte length
      return absl::DataLossError(StrCat("comments: dimension '", dim.name(), "' claims ", count,
                                        " members, more than the bytes left can hold"));
    members[d].reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      std::string code;
      QA_RETURN_IF_ERROR(r.GetString<uint32_t>(&code, "a member code"));
      std::optional<MemberId> m = dim.Find(code);
      if (!m)
        return absl::FailedPreconditionError(
            StrCat("comments: member '", code, "' is not in dimension '", dim.name(), "'"));
      members[d].push_back(*m);
    }
  }

  uint32_t count;
  QA_RETURN_IF_ERROR(r.Get(&count, "the entry count"));
  const size_t min_entry = 1 + 1 + 4 + 8 + 4 + 4 + 4 * dims;
  if (count > r.remaining() / min_entry)
    return absl::DataLossError(
        StrCat("comments: ", count, " entries claimed, more than the bytes left can hold"));
  store->entries_.reserve(count);
  Coordinate at(dims);
  for (uint32_t i = 0; i < count; ++i) {
    const CommentId id = i + 1;
    uint8_t kind, flags;
    uint32_t parent;
    NewComment c;
    QA_RETURN_IF_ERROR(r.Get(&kind, "an entry kind"));
    QA_RETURN_IF_ERROR(r.Get(&flags, "entry flags"));
    if (kind > static_cast<uint8_t>(CommentKind::kRetraction) || (flags & ~kHasAdjustment) != 0)
      return absl::DataLossError(StrCat("comments: entry ", id, " has kind ", int{kind}, " and flags ", int{flags},
                                        ", which this reader does not know"));
    QA_RETURN_IF_ERROR(r.Get(&parent, "a parent id"));
    QA_RETURN_IF_ERROR(r.Get(&c.time_ms, "a time"));
    if (flags & kHasAdjustment) {
      double value;
      QA_RETURN_IF_ERROR(r.Get(&value, "an adjustment"));
      c.adjustment = value;
    }
    QA_RETURN_IF_ERROR(r.GetString<uint32_t>(&c.author, "an author"));
    QA_RETURN_IF_ERROR(r.GetString<uint32_t>(&c.text, "a text"));
    for (size_t d = 0; d < dims; ++d) {
      uint32_t index;
      QA_RETURN_IF_ERROR(r.Get(&index, "a member index"));
      if (index >= members[d].size())
        return absl::DataLossError(StrCat("comments: entry ", id, " names member ", index, " of dimension '",
                                          model.dimensions[d].name(), "', which lists ", members[d].size()));
      at[d] = members[d][index];
    }
    if (parent >= id)
      return absl::DataLossError(StrCat("comments: entry ", id, " replies to ", parent, ", not an earlier entry"));
    // The same rules as a live write, so a decoded store is one the API could have built.
    absl::StatusOr<CommentId> recorded =
        store->RecordLocked(static_cast<CommentKind>(kind), &at, parent, c);
    if (!recorded.ok())
      return absl::DataLossError(StrCat("comments: entry ", id, ": ", std::string(recorded.status().message())));
  }
  if (r.remaining() != 0)
    return absl::DataLossError(StrCat("comments: ", r.remaining(), " unexpected bytes after the last entry"));
  lock.unlock();
  return store;
}

}  // namespace quantatom

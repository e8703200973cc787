// VersionVector: a vector clock over the replicas of an app's data (docs/durability.md,
// "Vector clocks"). Each replica (the app itself, each sandbox; later, each node) has an id and
// counts its own changes; a vector maps replica id -> the newest change of that replica that a
// value (or a replica's state) has seen. Replica 0 is the app: its counter is the app's
// sequence number (Cube::CurrentSeq), so the app's half of a vector is the version the
// per-cell optimistic checks already use.
//
//   VersionVector a, b;
//   a.Set(kAppReplica, 12); a.Set(7, 3);    // {app:12, 7:3}
//   b.Set(kAppReplica, 14);                 // {app:14}
//   a.Compare(b) == VersionOrder::kConcurrent;  // neither saw all of the other
//
// Compare is the happens-before order: a <= b when every counter of a is <= b's (a missing
// entry is 0). Plain value type; entries are kept sorted by replica id, zeros are not stored.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/byte_codec.h"
#include "base/status.h"

namespace quantatom {

inline constexpr uint64_t kAppReplica = 0;

enum class VersionOrder {
  kEqual,       // the same history
  kBefore,      // this one happened before the other (the other saw all of it, and more)
  kAfter,       // the other happened before this one
  kConcurrent,  // each has changes the other has not seen: a conflict
};

class VersionVector {
 public:
  uint64_t Get(uint64_t replica) const;
  // Sets one counter (0 removes the entry).
  void Set(uint64_t replica, uint64_t counter);
  // Entry-wise maximum: this vector then has seen everything `other` had.
  void Merge(const VersionVector& other);
  VersionOrder Compare(const VersionVector& other) const;
  // Happened before or equal.
  bool LessOrEqual(const VersionVector& other) const;

  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<uint64_t, uint64_t>>& entries() const { return entries_; }
  // "{app:12, 7:3}": replica 0 is "app", others by decimal id.
  std::string ToString() const;

  // Bytes (docs/formats/change-record.md, "Version vectors"): a u32 count, then per entry the
  // replica id and counter as u64, ids strictly increasing, counters non-zero. Decode refuses
  // anything else with DataLoss naming the reader's context.
  void EncodeTo(ByteWriter& w) const;
  static absl::Status DecodeFrom(ByteReader& in, VersionVector* out);

  bool operator==(const VersionVector&) const = default;

 private:
  std::vector<std::pair<uint64_t, uint64_t>> entries_;  // (replica, counter), ids increasing
};

std::string ToString(VersionOrder order);

}  // namespace quantatom

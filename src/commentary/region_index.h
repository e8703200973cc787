// The indexes behind CommentStore: where each entry sits, which entries lie under each member,
// and which adjustments are active. Internal to the module.
//
// For every dimension d and member x, postings(d, x) holds the ids of the entries whose member
// in d is x or below x. An entry lies under a region exactly when its id is in the postings of
// every member of the region, so "under a region" is an intersection of bitmaps, and adding an
// entry only adds its id to the postings of its members' ancestors (model/dimension.h lists
// them with weights, weight-0 paths included): nothing is rebuilt.
//
// Not thread-safe: CommentStore guards it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <roaring/roaring.hh>

#include "absl/container/flat_hash_map.h"
#include "model/app_model.h"

namespace quantatom::commentary_internal {

class RegionIndex {
 public:
  explicit RegionIndex(const AppModel& model);

  const AppModel& model() const { return model_; }
  size_t dims() const { return dims_; }
  uint32_t size() const { return static_cast<uint32_t>(values_.size()); }

  // Adds entry `id`, which must be size() + 1. `adjustment` is its value when it has one.
  void Add(uint32_t id, std::span<const MemberId> coord, const double* adjustment);
  // The adjustment of `id` stops counting.
  void Retract(uint32_t id) { active_.remove(id); }

  std::span<const MemberId> coordinate(uint32_t id) const {
    return {coords_.data() + (id - 1) * dims_, dims_};
  }
  double adjustment(uint32_t id) const { return values_[id - 1]; }
  const Roaring& postings(size_t dim, MemberId member) const { return postings_[dim][member]; }
  const Roaring& active_adjustments() const { return active_; }

  // Ids at exactly `coord`, ascending, or nullptr.
  const std::vector<uint32_t>* At(const Coordinate& coord) const;
  // Ids under-or-equal `region` in every dimension.
  Roaring Under(const Coordinate& region) const;

 private:
  const AppModel& model_;
  const size_t dims_;
  std::vector<MemberId> coords_;  // dims_ members per entry, entry id - 1 first
  std::vector<double> values_;    // adjustment per entry, 0 when it has none
  std::vector<std::vector<Roaring>> postings_;  // [dimension][member]
  Roaring active_;
  absl::flat_hash_map<Coordinate, std::vector<uint32_t>> at_;
};

}  // namespace quantatom::commentary_internal

#include "commentary/region_index.h"

#include <algorithm>

namespace quantatom::commentary_internal {

RegionIndex::RegionIndex(const AppModel& model) : model_(model), dims_(model.dimensions.size()) {
  postings_.resize(dims_);
  for (size_t d = 0; d < dims_; ++d) postings_[d].resize(model.dimensions[d].member_count());
}

void RegionIndex::Add(uint32_t id, std::span<const MemberId> coord, const double* adjustment) {
  coords_.insert(coords_.end(), coord.begin(), coord.end());
  values_.push_back(adjustment ? *adjustment : 0.0);
  for (size_t d = 0; d < dims_; ++d)
    for (const AncestorWeight& a : model_.dimensions[d].ancestors(coord[d])) postings_[d][a.member].add(id);
  if (adjustment) active_.add(id);
  at_[Coordinate(coord.begin(), coord.end())].push_back(id);
}

const std::vector<uint32_t>* RegionIndex::At(const Coordinate& coord) const {
  auto it = at_.find(coord);
  return it == at_.end() ? nullptr : &it->second;
}

Roaring RegionIndex::Under(const Coordinate& region) const {
  // Intersect the smallest postings first, so that the working set shrinks at once.
  std::vector<const Roaring*> lists;
  for (size_t d = 0; d < dims_; ++d) lists.push_back(&postings_[d][region[d]]);
  std::sort(lists.begin(), lists.end(),
            [](const Roaring* a, const Roaring* b) { return a->cardinality() < b->cardinality(); });
  if (lists.empty()) {  // an app without dimensions: every entry is at its only coordinate
    Roaring all;
    all.addRange(1, uint64_t{size()} + 1);
    return all;
  }
  Roaring out = *lists[0];
  for (size_t i = 1; i < lists.size() && !out.isEmpty(); ++i) out &= *lists[i];
  return out;
}

}  // namespace quantatom::commentary_internal

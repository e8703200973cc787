#include "query/consolidated_cache.h"

#include <bit>
#include <cmath>

namespace quantatom {

ConsolidatedCache::ConsolidatedCache(const AppModel* model, size_t capacity) : model_(model), capacity_(capacity) {
  int shift = 0;
  for (const Dimension& d : model->dimensions) {
    int bits = std::max(1, static_cast<int>(std::bit_width(d.member_count() - 1)));
    shift_.push_back(shift);
    mask_.push_back(bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1);
    shift += bits;
  }
  enabled_ = shift <= 64;
}

uint64_t ConsolidatedCache::Key(const Coordinate& coord) const {
  uint64_t key = 0;
  for (size_t d = 0; d < coord.size(); ++d) key |= static_cast<uint64_t>(coord[d]) << shift_[d];
  return key;
}

bool ConsolidatedCache::Lookup(uint64_t key, double* sum, uint32_t* count) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  *sum = it->second.sum + it->second.compensation;
  *count = it->second.count;
  return true;
}

void ConsolidatedCache::Insert(uint64_t key, double sum, uint32_t count) {
  if (!enabled_) return;
  if (entries_.size() >= capacity_ && !entries_.contains(key)) entries_.clear();
  entries_[key] = Entry{sum, 0.0, count};
}

void ConsolidatedCache::AddCompensated(Entry& e, double x) {
  // Neumaier's variant of Kahan summation: the lost low-order part goes to `compensation`.
  double t = e.sum + x;
  if (std::abs(e.sum) >= std::abs(x)) e.compensation += (e.sum - t) + x;
  else e.compensation += (x - t) + e.sum;
  e.sum = t;
}

void ConsolidatedCache::ApplyLeafChange(const Coordinate& leaf, double delta, int dcount) {
  if (entries_.empty()) return;
  const size_t dims = leaf.size();
  // Either enumerate the ancestor combinations of the leaf and probe, or walk the entries:
  // whichever is fewer.
  size_t combos = 1;
  for (size_t d = 0; d < dims && combos <= entries_.size(); ++d) combos *= model_->dimensions[d].ancestors(leaf[d]).size();
  if (combos <= entries_.size()) {
    std::vector<size_t> pos(dims, 0);
    while (true) {
      uint64_t key = 0;
      double w = 1.0;
      for (size_t d = 0; d < dims; ++d) {
        const AncestorWeight& a = model_->dimensions[d].ancestors(leaf[d])[pos[d]];
        key |= static_cast<uint64_t>(a.member) << shift_[d];
        w *= a.weight;
      }
      if (auto it = entries_.find(key); it != entries_.end()) {
        if (dcount < 0) {
          entries_.erase(it);
        } else {
          AddCompensated(it->second, delta * w);
          it->second.count += static_cast<uint32_t>(dcount);
        }
      }
      size_t d = 0;
      while (d < dims && ++pos[d] == model_->dimensions[d].ancestors(leaf[d]).size()) pos[d++] = 0;
      if (d == dims) break;
    }
    return;
  }
  std::vector<uint64_t> dropped;
  for (auto& [key, entry] : entries_) {
    double w = 1.0;
    bool under = true;
    for (size_t d = 0; d < dims && under; ++d) {
      MemberId m = static_cast<MemberId>((key >> shift_[d]) & mask_[d]);
      under = false;
      for (const AncestorWeight& a : model_->dimensions[d].ancestors(leaf[d]))
        if (a.member == m) {
          w *= a.weight;
          under = true;
          break;
        }
    }
    if (!under) continue;
    if (dcount < 0) {
      dropped.push_back(key);
    } else {
      AddCompensated(entry, delta * w);
      entry.count += static_cast<uint32_t>(dcount);
    }
  }
  for (uint64_t key : dropped) entries_.erase(key);
}

void ConsolidatedCache::InvalidateRegion(const std::vector<std::vector<uint32_t>>& touched) {
  if (entries_.empty()) return;
  // Per dimension: the members with a touched leaf at or below them.
  std::vector<std::vector<bool>> dirty(touched.size());
  for (size_t d = 0; d < touched.size(); ++d) {
    const Dimension& dim = model_->dimensions[d];
    dirty[d].assign(dim.member_count(), false);
    // A bulk change names a leaf once per cell: walk each leaf's ancestors once.
    std::vector<bool> seen(dim.leaf_count(), false);
    for (uint32_t ordinal : touched[d]) {
      if (seen[ordinal]) continue;
      seen[ordinal] = true;
      for (const AncestorWeight& a : dim.ancestors(dim.leaf_member(ordinal))) dirty[d][a.member] = true;
    }
  }
  absl::erase_if(entries_, [&](const auto& kv) {
    for (size_t d = 0; d < dirty.size(); ++d)
      if (!dirty[d][static_cast<MemberId>((kv.first >> shift_[d]) & mask_[d])]) return false;
    return true;
  });
}

}  // namespace quantatom

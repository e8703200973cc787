#include "server/change_bus.h"

#include <algorithm>

namespace quantatom {

LeafRegion LeafRegion::Empty(const AppModel& model) {
  LeafRegion r;
  for (const Dimension& d : model.dimensions) r.dims.emplace_back((d.leaf_count() + 63) / 64, 0);
  return r;
}

void LeafRegion::AddMember(const AppModel& model, int dim, MemberId member) {
  for (auto [ordinal, weight] : model.dimensions[dim].LeavesUnder(member)) AddLeaf(dim, ordinal);
}

bool LeafRegion::Intersects(const LeafRegion& other) const {
  if (dims.empty() || other.dims.empty()) return true;
  for (size_t d = 0; d < dims.size(); ++d) {
    bool any = false;
    const auto& a = dims[d];
    const auto& b = other.dims[d];
    for (size_t w = 0; w < a.size() && w < b.size() && !any; ++w) any = (a[w] & b[w]) != 0;
    if (!any) return false;
  }
  return true;
}

ChangeBus::ListenerId ChangeBus::AddListener(std::function<void(const ChangeEvent&)> on_change,
                                             std::function<void()> on_close) {
  std::lock_guard lock(mu_);
  const ListenerId id = next_++;
  listeners_[id] = {std::move(on_change), std::move(on_close)};
  return id;
}

void ChangeBus::RemoveListener(ListenerId id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

void ChangeBus::Publish(const ChangeEvent& event) {
  std::lock_guard lock(mu_);
  for (const auto& [id, l] : listeners_) l.on_change(event);
}

void ChangeBus::CloseAll() {
  std::lock_guard lock(mu_);
  for (const auto& [id, l] : listeners_) l.on_close();
}

}  // namespace quantatom

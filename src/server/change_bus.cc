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

std::vector<ChangeEvent> ChangeBus::Subscription::Wait(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return closed_ || !queue_.empty(); });
  std::vector<ChangeEvent> out(queue_.begin(), queue_.end());
  queue_.clear();
  return out;
}

bool ChangeBus::Subscription::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::shared_ptr<ChangeBus::Subscription> ChangeBus::Subscribe(std::string app, LeafRegion region) {
  auto sub = std::make_shared<Subscription>();
  sub->app_ = std::move(app);
  sub->region_ = std::move(region);
  std::lock_guard lock(mu_);
  subs_.push_back(sub);
  return sub;
}

void ChangeBus::Unsubscribe(const std::shared_ptr<Subscription>& sub) {
  std::lock_guard lock(mu_);
  subs_.remove(sub);
}

void ChangeBus::Publish(const ChangeEvent& event) {
  std::lock_guard lock(mu_);
  for (const auto& sub : subs_) {
    if (sub->app_ != event.app || !event.touched->Intersects(sub->region_)) continue;
    {
      std::lock_guard sub_lock(sub->mu_);
      sub->queue_.push_back(event);
    }
    sub->cv_.notify_one();
  }
}

void ChangeBus::CloseAll() {
  std::lock_guard lock(mu_);
  for (const auto& sub : subs_) {
    {
      std::lock_guard sub_lock(sub->mu_);
      sub->closed_ = true;
    }
    sub->cv_.notify_all();
  }
}

size_t ChangeBus::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

}  // namespace quantatom

#include "engine/version_vector.h"

#include <algorithm>

#include "base/strings.h"

namespace quantatom {

uint64_t VersionVector::Get(uint64_t replica) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), std::make_pair(replica, uint64_t{0}));
  return it != entries_.end() && it->first == replica ? it->second : 0;
}

void VersionVector::Set(uint64_t replica, uint64_t counter) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), std::make_pair(replica, uint64_t{0}));
  const bool found = it != entries_.end() && it->first == replica;
  if (counter == 0) {
    if (found) entries_.erase(it);
  } else if (found) {
    it->second = counter;
  } else {
    entries_.insert(it, {replica, counter});
  }
}

void VersionVector::Merge(const VersionVector& other) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  out.reserve(entries_.size() + other.entries_.size());
  size_t i = 0, j = 0;
  while (i < entries_.size() || j < other.entries_.size()) {
    if (j == other.entries_.size() || (i < entries_.size() && entries_[i].first < other.entries_[j].first)) {
      out.push_back(entries_[i++]);
    } else if (i == entries_.size() || other.entries_[j].first < entries_[i].first) {
      out.push_back(other.entries_[j++]);
    } else {
      out.emplace_back(entries_[i].first, std::max(entries_[i].second, other.entries_[j].second));
      ++i, ++j;
    }
  }
  entries_ = std::move(out);
}

VersionOrder VersionVector::Compare(const VersionVector& other) const {
  bool less = false, greater = false;  // some counter of this is below / above the other's
  size_t i = 0, j = 0;
  while (i < entries_.size() || j < other.entries_.size()) {
    if (j == other.entries_.size() || (i < entries_.size() && entries_[i].first < other.entries_[j].first)) {
      greater = true, ++i;
    } else if (i == entries_.size() || other.entries_[j].first < entries_[i].first) {
      less = true, ++j;
    } else {
      less = less || entries_[i].second < other.entries_[j].second;
      greater = greater || entries_[i].second > other.entries_[j].second;
      ++i, ++j;
    }
  }
  if (less && greater) return VersionOrder::kConcurrent;
  if (less) return VersionOrder::kBefore;
  if (greater) return VersionOrder::kAfter;
  return VersionOrder::kEqual;
}

bool VersionVector::LessOrEqual(const VersionVector& other) const {
  const VersionOrder o = Compare(other);
  return o == VersionOrder::kBefore || o == VersionOrder::kEqual;
}

std::string VersionVector::ToString() const {
  std::vector<std::string> parts;
  for (const auto& [replica, counter] : entries_)
    parts.push_back(replica == kAppReplica ? StrCat("app:", counter) : StrCat(replica, ":", counter));
  return StrCat("{", StrJoin(parts, ", "), "}");
}

void VersionVector::EncodeTo(ByteWriter& w) const {
  w.Put(static_cast<uint32_t>(entries_.size()));
  for (const auto& [replica, counter] : entries_) {
    w.Put(replica);
    w.Put(counter);
  }
}

absl::Status VersionVector::DecodeFrom(ByteReader& in, VersionVector* out) {
  uint64_t n = 0;
  QA_RETURN_IF_ERROR(in.GetCount<uint32_t>(&n, 16, "a version vector's entry count"));
  VersionVector v;
  v.entries_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t replica = 0, counter = 0;
    QA_RETURN_IF_ERROR(in.Get(&replica, "a version vector's replica id"));
    QA_RETURN_IF_ERROR(in.Get(&counter, "a version vector's counter"));
    if (counter == 0) return in.Error("a version vector entry with counter 0");
    if (!v.entries_.empty() && v.entries_.back().first >= replica)
      return in.Error("version vector replica ids not increasing");
    v.entries_.emplace_back(replica, counter);
  }
  *out = std::move(v);
  return absl::OkStatus();
}

std::string ToString(VersionOrder order) {
  switch (order) {
    case VersionOrder::kEqual: return "equal";
    case VersionOrder::kBefore: return "before";
    case VersionOrder::kAfter: return "after";
    case VersionOrder::kConcurrent: return "concurrent";
  }
  return "?";
}

}  // namespace quantatom

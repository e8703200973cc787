#include "store/cell_store.h"

#include <algorithm>
#include <cstring>

#include "base/strings.h"


namespace quantatom {

void RadixSortByKey(KeyValues* cells, int key_bits) {
  constexpr int kDigitBits = 11;
  constexpr size_t kBuckets = size_t{1} << kDigitBits;
  if (std::is_sorted(cells->begin(), cells->end(), [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; }))
    return;
  KeyValues tmp(cells->size());
  KeyValues* from = cells;
  KeyValues* to = &tmp;
  std::vector<size_t> count(kBuckets);
  for (int shift = 0; shift < key_bits; shift += kDigitBits) {
    std::fill(count.begin(), count.end(), 0);
    for (const KeyValue& kv : *from) ++count[(kv.key >> shift) & (kBuckets - 1)];
    if (std::count(count.begin(), count.end(), from->size()) == 1) continue;  // one bucket: nothing to move
    size_t sum = 0;
    for (size_t& c : count) {
      size_t n = c;
      c = sum;
      sum += n;
    }
    KeyValue* out = to->data();
    for (const KeyValue& kv : *from) out[count[(kv.key >> shift) & (kBuckets - 1)]++] = kv;
    std::swap(from, to);
  }
  if (from != cells) cells->swap(*from);
}

absl::Status CellStore::Load(KeyValues cells) {
  for (KeyValue& kv : cells) kv.value += 0.0;  // -0.0 becomes +0.0 (see header)
  RadixSortByKey(&cells, layout_.total_bits());
  for (size_t i = 1; i < cells.size(); ++i)
    if (cells[i].key == cells[i - 1].key)
      return absl::InvalidArgumentError(StrCat("the same cell is given twice (key ", cells[i].key, ")"));
  deleted_.clear();
  delta_.clear();
  BuildMain(cells);
  return absl::OkStatus();
}

absl::Status CellStore::LoadSorted(const char* keys, const char* values, size_t n) {
  auto key_at = [keys](size_t i) {
    uint64_t k;
    std::memcpy(&k, keys + i * sizeof k, sizeof k);
    return k;
  };
  for (size_t i = 1; i < n; ++i)
    if (key_at(i) <= key_at(i - 1))
      return absl::InvalidArgumentError(StrCat("cell ", i, " (key ", key_at(i), ") is not after the one before it"));
  deleted_.clear();
  delta_.clear();
  BuildMainFrom(n, key_at, [values](size_t i) {
    double v;
    std::memcpy(&v, values + i * sizeof v, sizeof v);
    return v + 0.0;  // -0.0 becomes +0.0 (see header)
  });
  return absl::OkStatus();
}

void CellStore::BuildMain(const KeyValues& sorted) {
  BuildMainFrom(
      sorted.size(), [&](size_t i) { return sorted[i].key; }, [&](size_t i) { return sorted[i].value; });
}

template <typename KeyAt, typename ValueAt>
void CellStore::BuildMainFrom(size_t n, const KeyAt& key_at, const ValueAt& value_at) {
  run_prefix_.clear();
  run_start_.clear();
  inner16_.clear();
  inner32_.clear();
  values_.clear();
  if (narrow_) inner16_.resize(n);
  else inner32_.resize(n);
  values_.resize(n);
  const uint64_t inner_mask = layout_.inner_bits() >= 64 ? ~uint64_t{0} : ((uint64_t{1} << layout_.inner_bits()) - 1);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t key = key_at(i);
    uint64_t prefix = layout_.Prefix(key);
    if (run_prefix_.empty() || run_prefix_.back() != prefix) {
      run_prefix_.push_back(prefix);
      run_start_.push_back(static_cast<uint32_t>(i));
    }
    const uint32_t inner = static_cast<uint32_t>(key & inner_mask);
    if (narrow_) inner16_[i] = static_cast<uint16_t>(inner);
    else inner32_[i] = inner;
    values_[i] = value_at(i);
  }
  run_start_.push_back(static_cast<uint32_t>(n));
  run_prefix_.shrink_to_fit();
  run_start_.shrink_to_fit();
}

int64_t CellStore::FindMain(uint64_t key) const {
  uint64_t prefix = layout_.Prefix(key);
  auto it = std::lower_bound(run_prefix_.begin(), run_prefix_.end(), prefix);
  if (it == run_prefix_.end() || *it != prefix) return -1;
  size_t run = static_cast<size_t>(it - run_prefix_.begin());
  const uint32_t inner = layout_.Get(key, layout_.inner_dim());
  return VisitInner([&](const auto* ordinals) -> int64_t {
    const auto* first = ordinals + run_start_[run];
    const auto* last = ordinals + run_start_[run + 1];
    const auto* pos = std::lower_bound(first, last, inner);
    if (pos == last || *pos != inner) return -1;
    return pos - ordinals;
  });
}

size_t CellStore::RunOf(size_t pos) const {
  auto it = std::upper_bound(run_start_.begin(), run_start_.end(), static_cast<uint32_t>(pos));
  return static_cast<size_t>(it - run_start_.begin()) - 1;
}

CellValue CellStore::Get(uint64_t key) const {
  if (auto t = text_.find(key); t != text_.end()) return CellValue::Text(t->second);
  if (auto d = delta_.find(key); d != delta_.end()) return CellValue::Number(d->second);
  int64_t pos = FindMain(key);
  if (pos >= 0 && !deleted_.contains(key)) return CellValue::Number(values_[pos]);
  return CellValue::Empty();
}

CellValue CellStore::Set(uint64_t key, const CellValue& value) {
  CellValue old = Get(key);
  // Remove whatever is there now.
  if (old.is_text()) text_.erase(key);
  int64_t pos = -1;
  if (old.is_number()) {
    if (!delta_.erase(key)) {
      pos = FindMain(key);
      if (!value.is_number()) {  // keep the slot for an in-place update otherwise
        values_[pos] = 0;
        deleted_.insert(key);
      }
    }
  }
  if (value.is_text()) {
    text_[key] = value.text;
  } else if (value.is_number()) {
    const double number = value.number + 0.0;  // -0.0 becomes +0.0 (see header)
    if (pos < 0) pos = FindMain(key);
    if (pos >= 0) {
      values_[pos] = number;
      deleted_.erase(key);
    } else {
      delta_[key] = number;
    }
  }
  if (delta_.size() + deleted_.size() > std::max<size_t>(65536, values_.size() / 32)) Compact();
  return old;
}

KeyValues CellStore::SortedCells() const {
  KeyValues out;
  out.reserve(numeric_cells());
  for (size_t run = 0; run + 1 < run_start_.size(); ++run) {
    for (uint32_t p = run_start_[run]; p < run_start_[run + 1]; ++p) {
      uint64_t key = layout_.Join(run_prefix_[run], inner_at(p));
      if (!deleted_.empty() && deleted_.contains(key)) continue;
      out.push_back({key, values_[p]});
    }
  }
  size_t main_count = out.size();
  for (auto& [k, v] : delta_) out.push_back({k, v});
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(main_count), out.end(),
            [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(main_count), out.end(),
                     [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  return out;
}

void CellStore::Compact() {
  if (delta_.empty() && deleted_.empty()) return;
  KeyValues all = SortedCells();
  deleted_.clear();
  delta_.clear();
  BuildMain(all);
}

size_t CellStore::MemoryBytes() const {
  size_t bytes = run_prefix_.capacity() * sizeof(uint64_t) + run_start_.capacity() * sizeof(uint32_t) +
                 inner16_.capacity() * sizeof(uint16_t) + inner32_.capacity() * sizeof(uint32_t) +
                 values_.capacity() * sizeof(double);
  bytes += delta_.capacity() * (sizeof(std::pair<uint64_t, double>) + 1);
  bytes += deleted_.capacity() * (sizeof(uint64_t) + 1);
  for (auto& [k, t] : text_) bytes += sizeof(k) + sizeof(t) + t.capacity() + 1;
  return bytes;
}

}  // namespace quantatom

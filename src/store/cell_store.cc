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

void CellStore::ApplySorted(std::span<const SortedUpdate> updates) {
  KeyValues inserts;
  std::vector<std::pair<size_t, uint64_t>> erased;  // main position, key
  const size_t runs = run_prefix_.size();
  size_t run = 0;
  for (const SortedUpdate& u : updates) {
    if (!text_.empty()) text_.erase(u.key);
    // The run of the key: galloping forward from the previous one (updates are sorted).
    const uint64_t prefix = layout_.Prefix(u.key);
    if (run < runs && run_prefix_[run] < prefix) {
      size_t step = 1;
      while (run + step < runs && run_prefix_[run + step] < prefix) step *= 2;
      run = static_cast<size_t>(std::lower_bound(run_prefix_.begin() + static_cast<std::ptrdiff_t>(run + step / 2 + 1),
                                                 run_prefix_.begin() + static_cast<std::ptrdiff_t>(std::min(run + step, runs)),
                                                 prefix) -
                                run_prefix_.begin());
    }
    int64_t pos = -1;
    if (run < runs && run_prefix_[run] == prefix) {
      const uint32_t inner = layout_.Get(u.key, layout_.inner_dim());
      pos = VisitInner([&](const auto* ordinals) -> int64_t {
        const auto* first = ordinals + run_start_[run];
        const auto* last = ordinals + run_start_[run + 1];
        const auto* at = std::lower_bound(first, last, inner);
        return at != last && *at == inner ? at - ordinals : -1;
      });
    }
    if (pos >= 0) {
      if (u.erase) {
        erased.emplace_back(static_cast<size_t>(pos), u.key);
      } else {
        values_[pos] = u.value + 0.0;  // -0.0 becomes +0.0 (see header)
        if (!deleted_.empty()) deleted_.erase(u.key);
      }
    } else if (u.erase) {
      delta_.erase(u.key);
    } else if (auto it = delta_.find(u.key); it != delta_.end()) {
      it->second = u.value + 0.0;
    } else {
      inserts.push_back({u.key, u.value + 0.0});
    }
  }
  const size_t limit = std::max<size_t>(65536, values_.size() / 32);
  if (delta_.size() + deleted_.size() + inserts.size() + erased.size() <= limit) {
    for (const KeyValue& kv : inserts) delta_[kv.key] = kv.value;
    for (auto [pos, key] : erased) {
      values_[pos] = 0;
      deleted_.insert(key);
    }
    return;
  }
  // Many cells come or go: one rebuild of main with everything merged in.
  std::vector<bool> drop(values_.size(), false);
  for (auto [pos, key] : erased) drop[pos] = true;
  if (!deleted_.empty())
    for (size_t r = 0; r < runs; ++r)
      for (uint32_t p = run_start_[r]; p < run_start_[r + 1]; ++p)
        if (values_[p] == 0 && deleted_.contains(layout_.Join(run_prefix_[r], inner_at(p)))) drop[p] = true;
  KeyValues extra;
  extra.reserve(delta_.size() + inserts.size());
  for (const auto& [k, v] : delta_) extra.push_back({k, v});
  auto by_key = [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; };
  std::sort(extra.begin(), extra.end(), by_key);
  const size_t from_delta = extra.size();
  extra.insert(extra.end(), inserts.begin(), inserts.end());
  if (from_delta > 0) std::inplace_merge(extra.begin(), extra.begin() + static_cast<std::ptrdiff_t>(from_delta), extra.end(), by_key);
  inserts = KeyValues();
  deleted_.clear();
  delta_.clear();
  RebuildMain(drop, extra);
}

void CellStore::RebuildMain(const std::vector<bool>& drop, const KeyValues& extra) {
  size_t kept = 0;
  for (size_t p = 0; p < values_.size(); ++p) kept += !drop[p];
  const size_t n = kept + extra.size();
  LargeVector<uint64_t> prefixes;
  LargeVector<uint32_t> starts;
  LargeVector<uint16_t> inner16;
  LargeVector<uint32_t> inner32;
  LargeVector<double> values(n);
  if (narrow_) inner16.resize(n);
  else inner32.resize(n);
  const uint64_t inner_mask = (uint64_t{1} << layout_.inner_bits()) - 1;
  size_t i = 0;
  auto emit = [&](uint64_t key, double v) {
    const uint64_t prefix = layout_.Prefix(key);
    if (prefixes.empty() || prefixes.back() != prefix) {
      prefixes.push_back(prefix);
      starts.push_back(static_cast<uint32_t>(i));
    }
    if (narrow_) inner16[i] = static_cast<uint16_t>(key & inner_mask);
    else inner32[i] = static_cast<uint32_t>(key & inner_mask);
    values[i++] = v;
  };
  size_t e = 0;
  for (size_t r = 0; r + 1 < run_start_.size(); ++r)
    for (uint32_t p = run_start_[r]; p < run_start_[r + 1]; ++p) {
      if (drop[p]) continue;
      const uint64_t key = layout_.Join(run_prefix_[r], inner_at(p));
      for (; e < extra.size() && extra[e].key < key; ++e) emit(extra[e].key, extra[e].value);
      emit(key, values_[p]);
    }
  for (; e < extra.size(); ++e) emit(extra[e].key, extra[e].value);
  starts.push_back(static_cast<uint32_t>(n));
  prefixes.shrink_to_fit();
  starts.shrink_to_fit();
  run_prefix_.swap(prefixes);
  run_start_.swap(starts);
  inner16_.swap(inner16);
  inner32_.swap(inner32);
  values_.swap(values);
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

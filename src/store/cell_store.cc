#include "store/cell_store.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/radix_sort.h"
#include "base/strings.h"

namespace quantatom {

void RadixSortByKey(KeyValues* cells, int key_bits) {
  RadixSortBy(cells, key_bits, [](const KeyValue& kv) { return kv.key; });
}

absl::Status CellStore::Load(KeyValues cells) {
  for (KeyValue& kv : cells) kv.value += 0.0;  // -0.0 becomes +0.0 (see header)
  RadixSortByKey(&cells, layout_.total_bits());
  for (size_t i = 1; i < cells.size(); ++i)
    if (cells[i].key == cells[i - 1].key)
      return absl::InvalidArgumentError(StrCat("the same cell is given twice (key ", cells[i].key, ")"));
  deleted_.clear();
  delta_.clear();
  size_t i = 0;
  RebuildMain(false, nullptr, cells.size(), [&](KeyValue* kv) {
    if (i == cells.size()) return false;
    *kv = cells[i++];
    return true;
  });
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
  size_t i = 0;
  RebuildMain(false, nullptr, n, [&](KeyValue* kv) {
    if (i == n) return false;
    kv->key = key_at(i);
    std::memcpy(&kv->value, values + i * sizeof(double), sizeof(double));
    kv->value += 0.0;  // -0.0 becomes +0.0 (see header)
    ++i;
    return true;
  });
  return absl::OkStatus();
}

template <typename Next>
void CellStore::RebuildMain(bool keep, const std::vector<bool>* drop, size_t n, Next&& next) {
  LargeVector<uint64_t> prefixes;
  LargeVector<uint32_t> starts;
  LargeVector<uint16_t> inner16;
  LargeVector<uint32_t> inner32;
  LargeVector<double> values(n);
  if (narrow_) inner16.resize(n);
  else inner32.resize(n);
  // Runs: about one per ten cells on planning data; start from the old count and grow.
  prefixes.reserve(std::min(n, (keep ? run_prefix_.size() : 0) + n / 8 + 16));
  const uint64_t inner_mask = layout_.inner_bits() >= 64 ? ~uint64_t{0} : ((uint64_t{1} << layout_.inner_bits()) - 1);
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
  KeyValue e;
  bool more = next(&e);
  if (keep)
    for (size_t r = 0; r + 1 < run_start_.size(); ++r)
      for (uint32_t p = run_start_[r]; p < run_start_[r + 1]; ++p) {
        if (drop && (*drop)[p]) continue;
        const uint64_t key = layout_.Join(run_prefix_[r], inner_at(p));
        for (; more && e.key < key; more = next(&e)) emit(e.key, e.value);
        emit(key, values_[p]);
      }
  for (; more; more = next(&e)) emit(e.key, e.value);
  if (i != n) std::abort();  // the caller's count is wrong: a bug, never data
  starts.push_back(static_cast<uint32_t>(i));
  prefixes.shrink_to_fit();
  starts.shrink_to_fit();
  run_prefix_.swap(prefixes);
  run_start_.swap(starts);
  inner16_.swap(inner16);
  inner32_.swap(inner32);
  values_.swap(values);
  if (narrow_) inner16_.resize(i);
  else inner32_.resize(i);
  values_.resize(i);
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
  std::vector<bool> drop;
  if (!deleted_.empty()) {
    drop.assign(values_.size(), false);
    for (uint64_t key : deleted_) drop[static_cast<size_t>(FindMain(key))] = true;
  }
  KeyValues extra = SortedDelta();
  const size_t n = values_.size() - deleted_.size() + extra.size();
  size_t e = 0;
  deleted_.clear();
  delta_.clear();
  RebuildMain(true, drop.empty() ? nullptr : &drop, n, [&](KeyValue* kv) {
    if (e == extra.size()) return false;
    *kv = extra[e++];
    return true;
  });
}

KeyValues CellStore::SortedDelta() const {
  KeyValues out;
  out.reserve(delta_.size());
  for (const auto& [k, v] : delta_) out.push_back({k, v});
  std::sort(out.begin(), out.end(), [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  return out;
}

void CellStore::ApplySorted(std::span<const SortedUpdate> updates) {
  const SortedStream one[1] = {{updates}};
  ApplySorted(std::span<const SortedStream>(one));
}

void CellStore::ApplySorted(std::span<const SortedStream> streams) {
  // One ordered pass per stream: existing cells are updated in place, erased main cells and new
  // keys are only marked (per update, whether it inserts), so that many of them can go into
  // one rebuild.
  std::vector<std::vector<std::vector<bool>>> inserts(streams.size());
  size_t inserted = 0;
  std::vector<std::pair<size_t, uint64_t>> erased;  // main position, key
  const size_t runs = run_prefix_.size();
  for (size_t s = 0; s < streams.size(); ++s) {
    size_t run = 0;
    inserts[s].resize(streams[s].size());
    for (size_t part = 0; part < streams[s].size(); ++part) {
      const std::span<const SortedUpdate> updates = streams[s][part];
      inserts[s][part].assign(updates.size(), false);
      for (size_t u_at = 0; u_at < updates.size(); ++u_at) {
        const SortedUpdate& u = updates[u_at];
        if (!text_.empty()) text_.erase(u.key);
        // The run of the key: galloping forward from the previous one (a stream is sorted).
        const uint64_t prefix = layout_.Prefix(u.key);
        if (run < runs && run_prefix_[run] < prefix) {
          size_t step = 1;
          while (run + step < runs && run_prefix_[run + step] < prefix) step *= 2;
          run = static_cast<size_t>(
              std::lower_bound(run_prefix_.begin() + static_cast<std::ptrdiff_t>(run + step / 2 + 1),
                               run_prefix_.begin() + static_cast<std::ptrdiff_t>(std::min(run + step, runs)), prefix) -
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
            if (deleted_.empty() || !deleted_.contains(u.key)) erased.emplace_back(static_cast<size_t>(pos), u.key);
          } else {
            values_[pos] = u.value + 0.0;  // -0.0 becomes +0.0 (see header)
            if (!deleted_.empty()) deleted_.erase(u.key);
          }
        } else if (u.erase) {
          if (!delta_.empty()) delta_.erase(u.key);
        } else if (auto it = delta_.empty() ? delta_.end() : delta_.find(u.key); it != delta_.end()) {
          it->second = u.value + 0.0;
        } else {
          inserts[s][part][u_at] = true;
          ++inserted;
        }
      }
    }
  }
  const size_t limit = std::max<size_t>(65536, values_.size() / 32);
  if (delta_.size() + deleted_.size() + inserted + erased.size() <= limit) {
    for (size_t s = 0; s < streams.size(); ++s)
      for (size_t part = 0; part < streams[s].size(); ++part)
        for (size_t u = 0; u < streams[s][part].size(); ++u)
          if (inserts[s][part][u]) delta_[streams[s][part][u].key] = streams[s][part][u].value + 0.0;
    for (auto [pos, key] : erased) {
      values_[pos] = 0;
      deleted_.insert(key);
    }
    return;
  }
  // Many cells come or go: one rebuild of main, merged with the delta and the new cells.
  std::vector<bool> drop(values_.size(), false);
  for (auto [pos, key] : erased) drop[pos] = true;
  for (uint64_t key : deleted_) drop[static_cast<size_t>(FindMain(key))] = true;
  const KeyValues delta = SortedDelta();
  const size_t n = values_.size() - deleted_.size() - erased.size() + delta.size() + inserted;
  deleted_.clear();
  delta_.clear();
  // Per stream, its next new cell (null at the end); the rebuild takes the least of them and
  // of the delta's.
  struct Cursor {
    size_t part = 0, u = 0;
    const SortedUpdate* at = nullptr;
  };
  std::vector<Cursor> cursors(streams.size());
  auto advance = [&](size_t s) {
    Cursor& c = cursors[s];
    c.at = nullptr;
    for (; c.part < streams[s].size(); ++c.part, c.u = 0)
      for (; c.u < streams[s][c.part].size(); ++c.u)
        if (inserts[s][c.part][c.u]) {
          c.at = &streams[s][c.part][c.u++];
          return;
        }
  };
  for (size_t s = 0; s < streams.size(); ++s) advance(s);
  size_t d = 0;
  RebuildMain(true, &drop, n, [&](KeyValue* kv) {
    int best = -1;
    for (size_t s = 0; s < cursors.size(); ++s)
      if (cursors[s].at && (best < 0 || cursors[s].at->key < cursors[best].at->key)) best = static_cast<int>(s);
    if (d < delta.size() && (best < 0 || delta[d].key < cursors[best].at->key)) {
      *kv = delta[d++];
      return true;
    }
    if (best < 0) return false;
    *kv = {cursors[best].at->key, cursors[best].at->value + 0.0};
    advance(static_cast<size_t>(best));
    return true;
  });
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

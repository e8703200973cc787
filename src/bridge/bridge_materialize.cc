// Full materialisation: every source cell, through the map, into sorted, summed target cells.
//
// The store's main part is sorted by key and split into runs that share every ordinal but the
// inner dimension's (store/cell_store.h). All cells of a run share the translated part of the
// target key, so it is computed once per run. The contributions of one run are few: they are
// summed as they are written (neighbouring leaves often share a target) and sorted only when
// they came out of order. When, as usual, the translation keeps the order of the non-bridged
// dimensions (same names in the same key order, member codes in the same ordinal order), the
// runs' outputs then follow each other in key order and no global sort is needed. Whether that
// holds is checked, not assumed: the first key out of order switches to a radix sort of the
// whole output, so the result never depends on the apps' shapes, only the time does.
#include <algorithm>
#include <cstring>

#include <tbb/parallel_for.h>

#include "base/strings.h"
#include "bridge/bridge.h"

namespace quantatom {
namespace {

// Sorts a few contributions by key (insertion sort: a run's output is usually under 32).
void SortSmall(KeyValue* first, KeyValue* last) {
  if (last - first < 2) return;
  if (last - first > 32) {
    std::sort(first, last, [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
    return;
  }
  for (KeyValue* i = first + 1; i < last; ++i) {
    KeyValue x = *i;
    KeyValue* j = i;
    for (; j > first && (j - 1)->key > x.key; --j) *j = *(j - 1);
    *j = x;
  }
}

// Sums equal neighbours of sorted [begin, end), writing from `*w`; merges into out[*w - 1] when
// it has the same key (and `*w > floor`). Flags `*unsorted` if the first key is below it.
void SumInto(KeyValue* out, size_t floor, size_t begin, size_t end, size_t* w, bool* unsorted) {
  for (size_t i = begin; i < end; ++i) {
    if (*w > floor && out[*w - 1].key >= out[i].key) {
      if (out[*w - 1].key == out[i].key) {
        out[*w - 1].value += out[i].value;
        continue;
      }
      *unsorted = true;
    }
    out[(*w)++] = out[i];
  }
}

// Sorts by key and sums equal keys in place.
void SortAndSum(KeyValues* cells, int key_bits) {
  RadixSortByKey(cells, key_bits);
  size_t w = 0;
  bool unused = false;
  SumInto(cells->data(), 0, 0, cells->size(), &w, &unused);
  cells->resize(w);
}

// A buffer of cells that is never initialised (a KeyValues would zero it first).
class ScratchCells {
 public:
  explicit ScratchCells(size_t n) : n_(n), data_(static_cast<KeyValue*>(LargeAllocate(n * sizeof(KeyValue)))) {}
  ~ScratchCells() { LargeFree(data_, n_ * sizeof(KeyValue)); }
  ScratchCells(const ScratchCells&) = delete;
  ScratchCells& operator=(const ScratchCells&) = delete;
  KeyValue* data() { return data_; }

 private:
  size_t n_;
  KeyValue* data_;
};

struct Chunk {
  size_t first_run = 0, last_run = 0;  // [first_run, last_run)
  size_t offset = 0;                   // start of its slot in the output
  size_t size = 0;                     // contributions written, after summing
  bool unsorted = false;
};

}  // namespace

KeyValues Bridge::DeltaStoreContributions(const CellStore& source) const {
  KeyValues out;
  for (const auto& [key, value] : source.delta()) {
    const uint64_t base = TranslatedBase(key);
    for (const KeyPart& p : Parts(source_layout_.Get(key, source_bridged_)))
      out.push_back({base + p.part, value * p.weight + 0.0});
  }
  SortAndSum(&out, target_layout_.total_bits());
  return out;
}

absl::StatusOr<KeyValues> Bridge::Materialize(const Cube& source, const MaterializeOptions& options) const {
  return source.WithStore([&](const CellStore& store) { return Materialize(store, options); });
}

absl::StatusOr<KeyValues> Bridge::Materialize(const CellStore& source, const MaterializeOptions& options) const {
  const KeyLayout& layout = source.layout();
  bool same_layout = layout.dims() == source_layout_.dims();
  for (int d = 0; same_layout && d < layout.dims(); ++d)
    same_layout = layout.leaf_count(d) == source_layout_.leaf_count(d) && layout.shift(d) == source_layout_.shift(d);
  if (!same_layout)
    return absl::InvalidArgumentError(StrCat("the cells are not laid out as source app '", source_app_, "'"));

  const int inner_dim = layout.inner_dim();
  const bool bridged_inner = inner_dim == source_bridged_;
  std::vector<int> prefix_dims;  // translated once per run
  for (int d : layout.order())
    if (d != inner_dim && d != source_bridged_) prefix_dims.push_back(d);
  const std::span<const uint64_t> prefixes = source.run_prefixes();
  const std::span<const uint32_t> starts = source.run_starts();
  const std::span<const double> values = source.values();
  const bool has_deleted = !source.deleted().empty();
  auto run_base = [&](uint64_t prefix) {
    uint64_t base = 0;
    for (int d : prefix_dims) base += translate_[static_cast<size_t>(d)][layout.PrefixGet(prefix, d)];
    return base;
  };
  // The mappings of a run whose bridged dimension is in the prefix.
  auto run_parts = [&](uint64_t prefix) { return Parts(layout.PrefixGet(prefix, source_bridged_)); };

  // Chunks of whole runs, about chunk_cells cells each.
  std::vector<Chunk> chunks;
  const size_t chunk_cells = std::max<size_t>(1, options.chunk_cells);
  for (size_t run = 0; run < prefixes.size();) {
    Chunk c;
    c.first_run = run;
    const size_t limit = starts[run] + chunk_cells;
    while (run < prefixes.size() && (run == c.first_run || starts[run + 1] <= limit)) ++run;
    c.last_run = run;
    chunks.push_back(c);
  }
  auto for_each_chunk = [&](auto&& fn) {
    if (options.parallel && chunks.size() > 1)
      tbb::parallel_for(size_t{0}, chunks.size(), [&](size_t i) { fn(chunks[i]); }, tbb::simple_partitioner());
    else
      for (Chunk& c : chunks) fn(c);
  };

  // Pass 1: how many contributions each chunk can write (one per mapping of each cell).
  source.VisitInner([&](const auto* inner) {
    for_each_chunk([&](Chunk& c) {
      size_t n = 0;
      if (bridged_inner) {
        for (size_t pos = starts[c.first_run]; pos < starts[c.last_run]; ++pos)
          n += map_begin_[inner[pos] + 1] - map_begin_[inner[pos]];
      } else {
        for (size_t run = c.first_run; run < c.last_run; ++run)
          n += (starts[run + 1] - starts[run]) * run_parts(prefixes[run]).size();
      }
      c.size = n;
    });
  });
  size_t total = 0;
  for (Chunk& c : chunks) {
    c.offset = total;
    total += c.size;
  }

  // Pass 2: contributions, sorted and summed run by run inside each chunk's slot. The slots
  // are raw memory: every byte read back was written first.
  ScratchCells scratch(total);
  source.VisitInner([&](const auto* inner) {
    for_each_chunk([&](Chunk& c) {
      KeyValue* slot = scratch.data() + c.offset;
      size_t w = 0;
      // Adds one contribution, summing it into the previous one of the run when the key is
      // the same (the usual case for neighbouring leaves of one source parent).
      auto add = [&](size_t run_out, uint64_t key, double value, bool* run_sorted) {
        if (w > run_out) {
          if (slot[w - 1].key == key) {
            slot[w - 1].value += value;
            return;
          }
          if (slot[w - 1].key > key) *run_sorted = false;
        }
        slot[w++] = {key, value};
      };
      for (size_t run = c.first_run; run < c.last_run; ++run) {
        const uint64_t prefix = prefixes[run];
        const uint64_t base = run_base(prefix);
        const size_t run_out = w;
        bool run_sorted = true;
        for (size_t pos = starts[run]; pos < starts[run + 1]; ++pos) {
          const double v = values[pos];
          // A deleted main cell holds 0 until compaction; only zeros need the set lookup.
          if (v == 0 && has_deleted && source.deleted().contains(layout.Join(prefix, inner[pos]))) continue;
          if (bridged_inner) {
            for (const KeyPart& p : Parts(inner[pos])) add(run_out, base + p.part, v * p.weight + 0.0, &run_sorted);
          } else {
            const uint64_t inner_part = translate_[static_cast<size_t>(inner_dim)][inner[pos]];
            for (const KeyPart& p : run_parts(prefix)) add(run_out, base + p.part + inner_part, v * p.weight + 0.0, &run_sorted);
          }
        }
        if (!run_sorted) {
          SortSmall(slot + run_out, slot + w);
          size_t end = w;
          w = run_out;
          bool ignored = false;
          SumInto(slot, run_out, run_out, end, &w, &ignored);
        }
        // Where this run meets the previous one.
        if (run_out > 0 && w > run_out && slot[run_out - 1].key >= slot[run_out].key) {
          if (slot[run_out - 1].key == slot[run_out].key) {
            slot[run_out - 1].value += slot[run_out].value;
            std::memmove(slot + run_out, slot + run_out + 1, (w - run_out - 1) * sizeof(KeyValue));
            --w;
          } else {
            c.unsorted = true;
          }
        }
      }
      c.size = w;
    });
  });

  // Gather the slots, summing equal keys where chunks meet.
  bool unsorted = false;
  KeyValues out;
  size_t gathered = 0;
  for (const Chunk& c : chunks) gathered += c.size;
  out.reserve(gathered);
  for (const Chunk& c : chunks) {
    unsorted |= c.unsorted;
    const KeyValue* from = scratch.data() + c.offset;
    const KeyValue* end = from + c.size;
    if (from < end && !out.empty() && out.back().key >= from->key) {
      if (out.back().key == from->key) out.back().value += (from++)->value;
      else unsorted = true;
    }
    out.insert(out.end(), from, end);
  }

  KeyValues delta = DeltaStoreContributions(source);
  if (unsorted) {
    out.insert(out.end(), delta.begin(), delta.end());
    SortAndSum(&out, target_layout_.total_bits());
  } else if (!delta.empty()) {
    KeyValues merged;
    merged.reserve(out.size() + delta.size());
    size_t i = 0, j = 0;
    while (i < out.size() || j < delta.size()) {
      if (j == delta.size() || (i < out.size() && out[i].key < delta[j].key)) merged.push_back(out[i++]);
      else if (i == out.size() || delta[j].key < out[i].key) merged.push_back(delta[j++]);
      else merged.push_back({out[i].key, out[i++].value + delta[j++].value});
    }
    out.swap(merged);
  }
  return out;
}

}  // namespace quantatom

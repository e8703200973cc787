#include "query/consolidate.h"

#include <algorithm>

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include "base/strings.h"


namespace quantatom {

namespace {

// For one dimension: leaf ordinal -> the (index, weight) entries the leaf contributes to.
struct LeafMap {
  std::vector<uint32_t> off{0};
  std::vector<uint32_t> idx;
  std::vector<double> w;
  bool single = true;  // every leaf has at most one entry: use idx1 / w1
  bool full = true;    // every leaf has at least one entry: no filtering on this dimension
  std::vector<int32_t> idx1;
  std::vector<double> w1;

  void Add(uint32_t index, double weight) {
    idx.push_back(index);
    w.push_back(weight);
  }
  void EndLeaf() { off.push_back(static_cast<uint32_t>(idx.size())); }
  void Finish() {
    size_t leaves = off.size() - 1;
    for (size_t l = 0; l < leaves; ++l) {
      uint32_t n = off[l + 1] - off[l];
      single &= n <= 1;
      full &= n >= 1;
    }
    if (single) {
      idx1.assign(leaves, -1);
      w1.assign(leaves, 0.0);
      for (size_t l = 0; l < leaves; ++l)
        if (off[l + 1] > off[l]) idx1[l] = static_cast<int32_t>(idx[off[l]]), w1[l] = w[off[l]];
    }
  }
  bool empty_at(uint32_t l) const { return off[l + 1] == off[l]; }
};

// Leaf -> every target at or above it, with the summed path weight.
LeafMap MapToTargets(const Dimension& dim, const std::vector<MemberId>& targets) {
  std::vector<int32_t> pos(dim.member_count(), -1);
  for (size_t i = 0; i < targets.size(); ++i) pos[targets[i]] = static_cast<int32_t>(i);
  LeafMap m;
  for (uint32_t l = 0; l < dim.leaf_count(); ++l) {
    for (const AncestorWeight& a : dim.ancestors(dim.leaf_member(l)))
      if (pos[a.member] >= 0) m.Add(static_cast<uint32_t>(pos[a.member]), a.weight);
    m.EndLeaf();
  }
  m.Finish();
  return m;
}

// Stage 1 of the staged plan: leaf -> itself if it is a target, otherwise its parents that
// have a target at or above them. `base` receives the members indexed by the map.
LeafMap MapToBase(const Dimension& dim, const std::vector<MemberId>& targets, std::vector<MemberId>* base) {
  std::vector<bool> is_target(dim.member_count(), false);
  for (MemberId t : targets) is_target[t] = true;
  std::vector<int32_t> pos(dim.member_count(), -1);
  auto base_index = [&](MemberId m) {
    if (pos[m] < 0) {
      pos[m] = static_cast<int32_t>(base->size());
      base->push_back(m);
    }
    return static_cast<uint32_t>(pos[m]);
  };
  auto reaches_target = [&](MemberId m) {
    for (const AncestorWeight& a : dim.ancestors(m))
      if (is_target[a.member]) return true;
    return false;
  };
  LeafMap m;
  for (uint32_t l = 0; l < dim.leaf_count(); ++l) {
    MemberId leaf = dim.leaf_member(l);
    if (is_target[leaf]) {
      m.Add(base_index(leaf), 1.0);
    } else {
      for (const Edge& e : dim.parent_edges(leaf))
        if (reaches_target(e.parent)) m.Add(base_index(e.parent), e.weight);
    }
    m.EndLeaf();
  }
  m.Finish();
  return m;
}

// Stage 2: base member -> every target at or above it.
std::vector<std::vector<std::pair<uint32_t, double>>> BaseToTargets(const Dimension& dim, const std::vector<MemberId>& base,
                                                                    const std::vector<MemberId>& targets) {
  std::vector<int32_t> pos(dim.member_count(), -1);
  for (size_t i = 0; i < targets.size(); ++i) pos[targets[i]] = static_cast<int32_t>(i);
  std::vector<std::vector<std::pair<uint32_t, double>>> out(base.size());
  for (size_t b = 0; b < base.size(); ++b)
    for (const AncestorWeight& a : dim.ancestors(base[b]))
      if (pos[a.member] >= 0) out[b].emplace_back(static_cast<uint32_t>(pos[a.member]), a.weight);
  return out;
}

// Row-major strides in key-layout order: the inner dimension varies fastest.
std::vector<size_t> Strides(const KeyLayout& layout, const std::vector<size_t>& sizes, size_t* total) {
  std::vector<size_t> stride(sizes.size());
  size_t s = 1;
  for (auto it = layout.order().rbegin(); it != layout.order().rend(); ++it) {
    stride[*it] = s;
    s *= sizes[*it];
  }
  *total = s;
  return stride;
}

// Product of sizes, saturating, for the size check.
size_t SafeProduct(const std::vector<size_t>& sizes) {
  size_t p = 1;
  for (size_t s : sizes) {
    if (s != 0 && p > SIZE_MAX / s) return SIZE_MAX;
    p *= s;
  }
  return p;
}

// The run ranges [begin, end) of the store whose prefix can have an entry in every prefix
// dimension's map. Leading dimensions whose allowed ordinals are few are enumerated; the first
// dimension that would make the list too long contributes its ordinal ranges and stops.
std::vector<std::pair<size_t, size_t>> RunRanges(const CellStore& store, const std::vector<LeafMap>& maps) {
  const KeyLayout& layout = store.layout();
  const auto prefixes = store.run_prefixes();
  const int prefix_bits = layout.total_bits() - layout.inner_bits();
  constexpr size_t kMaxRanges = 4096;
  std::vector<uint64_t> partial{0};
  int consumed = 0;
  std::vector<std::pair<uint64_t, uint64_t>> key_ranges;  // inclusive prefix bounds
  bool ranges_done = false;
  const auto& order = layout.order();
  for (size_t k = 0; k + 1 < order.size(); ++k) {
    const int d = order[k];
    const LeafMap& m = maps[d];
    if (m.full) break;
    std::vector<uint32_t> allowed;
    for (uint32_t l = 0; l + 1 < m.off.size(); ++l)
      if (!m.empty_at(l)) allowed.push_back(l);
    if (allowed.empty()) return {};
    const int bits = layout.bits(d);
    if (partial.size() * allowed.size() <= kMaxRanges) {
      std::vector<uint64_t> next;
      next.reserve(partial.size() * allowed.size());
      for (uint64_t p : partial)
        for (uint32_t a : allowed) next.push_back((p << bits) | a);
      partial.swap(next);
      consumed += bits;
      continue;
    }
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    for (uint32_t a : allowed) {
      if (!ranges.empty() && ranges.back().second + 1 == a) ranges.back().second = a;
      else ranges.emplace_back(a, a);
    }
    if (partial.size() * ranges.size() <= kMaxRanges) {
      const int rest = prefix_bits - consumed - bits;
      for (uint64_t p : partial)
        for (auto [lo, hi] : ranges)
          key_ranges.emplace_back(((p << bits) | lo) << rest, ((((p << bits) | hi) + 1) << rest) - 1);
      ranges_done = true;
    }
    break;
  }
  if (!ranges_done) {
    const int rest = prefix_bits - consumed;
    for (uint64_t p : partial) key_ranges.emplace_back(p << rest, ((p + 1) << rest) - 1);
  }
  std::vector<std::pair<size_t, size_t>> out;
  for (auto [lo, hi] : key_ranges) {
    size_t b = static_cast<size_t>(std::lower_bound(prefixes.begin(), prefixes.end(), lo) - prefixes.begin());
    size_t e = static_cast<size_t>(std::upper_bound(prefixes.begin() + static_cast<std::ptrdiff_t>(b), prefixes.end(), hi) -
                                   prefixes.begin());
    if (b == e) continue;
    if (!out.empty() && out.back().second >= b) out.back().second = std::max(out.back().second, e);
    else out.emplace_back(b, e);
  }
  return out;
}

struct Accumulator {
  std::vector<double> sum;
  std::vector<uint32_t> count;
  std::vector<std::pair<size_t, double>> combos;  // scratch
  std::vector<std::pair<size_t, double>> next;    // scratch
};

// Sums the main cells of runs [r0, r1) into `acc`.
void ScanRuns(const CellStore& store, const std::vector<LeafMap>& maps, const std::vector<size_t>& stride, size_t r0,
              size_t r1, Accumulator& acc) {
  const KeyLayout& layout = store.layout();
  const auto& order = layout.order();
  const int inner_dim = layout.inner_dim();
  const LeafMap& im = maps[inner_dim];
  const size_t istride = stride[inner_dim];
  const uint64_t* prefixes = store.run_prefixes().data();
  const uint32_t* starts = store.run_starts().data();
  const uint32_t* inner = store.inner_ordinals().data();
  const double* values = store.values().data();
  double* sum = acc.sum.data();
  uint32_t* count = acc.count.data();
  for (size_t run = r0; run < r1; ++run) {
    const uint64_t prefix = prefixes[run];
    acc.combos.clear();
    acc.combos.emplace_back(0, 1.0);
    bool skip = false;
    for (size_t k = 0; k + 1 < order.size(); ++k) {
      const int d = order[k];
      const LeafMap& m = maps[d];
      const uint32_t o = layout.PrefixGet(prefix, d);
      if (m.single) {
        const int32_t t = m.idx1[o];
        if (t < 0) {
          skip = true;
          break;
        }
        for (auto& c : acc.combos) c.first += static_cast<size_t>(t) * stride[d], c.second *= m.w1[o];
      } else {
        if (m.empty_at(o)) {
          skip = true;
          break;
        }
        acc.next.clear();
        for (auto& c : acc.combos)
          for (uint32_t e = m.off[o]; e < m.off[o + 1]; ++e)
            acc.next.emplace_back(c.first + m.idx[e] * stride[d], c.second * m.w[e]);
        acc.combos.swap(acc.next);
      }
    }
    if (skip) continue;
    const uint32_t s = starts[run], e = starts[run + 1];
    for (const auto& [base, wb] : acc.combos) {
      if (im.single) {
        const int32_t* idx1 = im.idx1.data();
        const double* w1 = im.w1.data();
        for (uint32_t p = s; p < e; ++p) {
          const uint32_t o = inner[p];
          const int32_t t = idx1[o];
          if (t >= 0) {
            const size_t i = base + static_cast<size_t>(t) * istride;
            sum[i] += values[p] * (wb * w1[o]);
            ++count[i];
          }
        }
      } else {
        for (uint32_t p = s; p < e; ++p) {
          const uint32_t o = inner[p];
          for (uint32_t x = im.off[o]; x < im.off[o + 1]; ++x) {
            const size_t i = base + im.idx[x] * istride;
            sum[i] += values[p] * (wb * im.w[x]);
            ++count[i];
          }
        }
      }
    }
  }
}

// Adds one full-key cell (delta store) with value `v` and count `dc` through the maps.
void AddKey(const KeyLayout& layout, const std::vector<LeafMap>& maps, const std::vector<size_t>& stride, uint64_t key,
            double v, int dc, double* sum, uint32_t* count) {
  std::vector<std::pair<size_t, double>> combos{{0, 1.0}}, next;
  for (int d = 0; d < layout.dims(); ++d) {
    const LeafMap& m = maps[d];
    const uint32_t o = layout.Get(key, d);
    next.clear();
    for (auto& c : combos)
      for (uint32_t e = m.off[o]; e < m.off[o + 1]; ++e) next.emplace_back(c.first + m.idx[e] * stride[d], c.second * m.w[e]);
    combos.swap(next);
    if (combos.empty()) return;
  }
  for (auto& [i, w] : combos) {
    sum[i] += v * w;
    count[i] += static_cast<uint32_t>(dc);
  }
}

// One pass over the store: every numeric cell adds value x weight into `out` through `maps`.
void Scan(const CellStore& store, const std::vector<LeafMap>& maps, const std::vector<size_t>& stride, bool parallel,
          std::vector<double>* sum_out, std::vector<uint32_t>* count_out) {
  const size_t n = sum_out->size();
  auto ranges = RunRanges(store, maps);
  // Chunks of about 16k cells, so both cores get balanced work.
  std::vector<std::pair<size_t, size_t>> chunks;
  size_t cells = 0;
  const auto starts = store.run_starts();
  for (auto [b, e] : ranges) {
    cells += starts[e] - starts[b];
    for (size_t r = b; r < e;) {
      size_t end = r;
      uint32_t limit = starts[r] + 16384;
      while (end < e && (end == r || starts[end + 1] <= limit)) ++end;
      chunks.emplace_back(r, end);
      r = end;
    }
  }
  if (!parallel || cells < 100000 || chunks.size() < 2) {
    Accumulator acc;
    acc.sum.swap(*sum_out);
    acc.count.swap(*count_out);
    for (auto [b, e] : chunks) ScanRuns(store, maps, stride, b, e, acc);
    acc.sum.swap(*sum_out);
    acc.count.swap(*count_out);
  } else {
    tbb::enumerable_thread_specific<Accumulator> local([n] {
      Accumulator a;
      a.sum.assign(n, 0.0);
      a.count.assign(n, 0);
      return a;
    });
    tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks.size(), 1), [&](const tbb::blocked_range<size_t>& r) {
      Accumulator& acc = local.local();
      for (size_t c = r.begin(); c != r.end(); ++c) ScanRuns(store, maps, stride, chunks[c].first, chunks[c].second, acc);
    });
    double* sum = sum_out->data();
    uint32_t* count = count_out->data();
    for (Accumulator& acc : local) {
      for (size_t i = 0; i < n; ++i) sum[i] += acc.sum[i];
      for (size_t i = 0; i < n; ++i) count[i] += acc.count[i];
    }
  }
  const KeyLayout& layout = store.layout();
  for (const auto& [key, v] : store.delta()) AddKey(layout, maps, stride, key, v, +1, sum_out->data(), count_out->data());
  for (uint64_t key : store.deleted()) AddKey(layout, maps, stride, key, 0.0, -1, sum_out->data(), count_out->data());
}

// Rolls dimension `d` of a dense array from `from` (size nb along d) to `to` (size nt).
void RollDimension(const std::vector<double>& in_sum, const std::vector<uint32_t>& in_count, size_t outer, size_t nb,
                   size_t inner, const std::vector<std::vector<std::pair<uint32_t, double>>>& map, size_t nt,
                   std::vector<double>* out_sum, std::vector<uint32_t>* out_count) {
  out_sum->assign(outer * nt * inner, 0.0);
  out_count->assign(outer * nt * inner, 0);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, outer, std::max<size_t>(1, 65536 / std::max<size_t>(1, nb * inner))),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t o = r.begin(); o != r.end(); ++o) {
                        for (size_t b = 0; b < nb; ++b) {
                          const double* src = in_sum.data() + (o * nb + b) * inner;
                          const uint32_t* srcc = in_count.data() + (o * nb + b) * inner;
                          for (auto [t, w] : map[b]) {
                            double* dst = out_sum->data() + (o * nt + t) * inner;
                            uint32_t* dstc = out_count->data() + (o * nt + t) * inner;
                            for (size_t i = 0; i < inner; ++i) dst[i] += w * src[i];
                            for (size_t i = 0; i < inner; ++i) dstc[i] += srcc[i];
                          }
                        }
                      }
                    });
}

absl::Status CheckSize(size_t n, const ConsolidateOptions& options, std::string_view what) {
  if (n > options.max_dense_cells)
    return absl::ResourceExhaustedError(StrCat("the ", what, " has ", n, " cells; at most ", options.max_dense_cells,
                                                     " are computed in one request (narrow the axes)"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DenseTotals> Consolidate(const AppModel& model, const CellStore& store,
                                        std::vector<std::vector<MemberId>> targets, const ConsolidateOptions& options) {
  const size_t dims = model.dimensions.size();
  if (targets.size() != dims) return absl::InvalidArgumentError("one target list per dimension is required");
  for (size_t d = 0; d < dims; ++d)
    if (targets[d].empty())
      return absl::InvalidArgumentError(StrCat("no member selected in dimension '", model.dimensions[d].name(), "'"));
  const KeyLayout& layout = store.layout();

  std::vector<LeafMap> direct(dims);
  bool all_single = true;
  for (size_t d = 0; d < dims; ++d) {
    direct[d] = MapToTargets(model.dimensions[d], targets[d]);
    all_single &= direct[d].single;
  }
  DenseTotals out;
  std::vector<size_t> sizes(dims);
  for (size_t d = 0; d < dims; ++d) sizes[d] = targets[d].size();
  QA_RETURN_IF_ERROR(CheckSize(SafeProduct(sizes), options, "result"));
  size_t total = 0;
  out.stride = Strides(layout, sizes, &total);
  out.targets = std::move(targets);

  if (all_single) {
    out.sum.assign(total, 0.0);
    out.count.assign(total, 0);
    Scan(store, direct, out.stride, options.parallel, &out.sum, &out.count);
    return out;
  }

  // Staged plan: leaves -> base (parents), then roll each multi-target dimension up.
  std::vector<LeafMap> stage1(dims);
  std::vector<std::vector<MemberId>> base(dims);
  std::vector<bool> staged(dims, false);
  for (size_t d = 0; d < dims; ++d) {
    if (direct[d].single) {
      stage1[d] = std::move(direct[d]);
      base[d] = out.targets[d];
    } else {
      stage1[d] = MapToBase(model.dimensions[d], out.targets[d], &base[d]);
      staged[d] = true;
      if (base[d].empty()) base[d].push_back(out.targets[d][0]);  // nothing below: keep shape
    }
  }
  std::vector<size_t> cur_sizes(dims);
  for (size_t d = 0; d < dims; ++d) cur_sizes[d] = base[d].size();
  QA_RETURN_IF_ERROR(CheckSize(SafeProduct(cur_sizes), options, "base of the consolidation"));
  size_t base_total = 0;
  std::vector<size_t> base_stride = Strides(layout, cur_sizes, &base_total);
  std::vector<double> sum(base_total, 0.0);
  std::vector<uint32_t> count(base_total, 0);
  Scan(store, stage1, base_stride, options.parallel, &sum, &count);

  for (int d : layout.order()) {
    if (!staged[d]) continue;
    size_t outer = 1, inner = 1;
    bool before = true;
    for (int e : layout.order()) {
      if (e == d) {
        before = false;
        continue;
      }
      (before ? outer : inner) *= cur_sizes[e];
    }
    auto map = BaseToTargets(model.dimensions[d], base[d], out.targets[d]);
    std::vector<double> next_sum;
    std::vector<uint32_t> next_count;
    RollDimension(sum, count, outer, cur_sizes[d], inner, map, out.targets[d].size(), &next_sum, &next_count);
    sum.swap(next_sum);
    count.swap(next_count);
    cur_sizes[d] = out.targets[d].size();
  }
  out.sum = std::move(sum);
  out.count = std::move(count);
  return out;
}

CellSelection SelectCellsUnder(const AppModel& model, const CellStore& store, const Coordinate& region) {
  const size_t dims = model.dimensions.size();
  std::vector<LeafMap> maps(dims);
  std::vector<size_t> stride(dims, 0);
  for (size_t d = 0; d < dims; ++d) maps[d] = MapToTargets(model.dimensions[d], {region[d]});
  const KeyLayout& layout = store.layout();
  const auto& order = layout.order();
  const LeafMap& im = maps[layout.inner_dim()];
  const auto prefixes = store.run_prefixes();
  const auto starts = store.run_starts();
  const auto inner = store.inner_ordinals();
  CellSelection sel;
  const bool check_deleted = !store.deleted().empty();
  for (auto [b, e] : RunRanges(store, maps)) {
    for (size_t run = b; run < e; ++run) {
      double w = 1.0;
      bool skip = false;
      for (size_t k = 0; k + 1 < order.size() && !skip; ++k) {
        const uint32_t o = layout.PrefixGet(prefixes[run], order[k]);
        const LeafMap& m = maps[order[k]];
        if (m.idx1[o] < 0) skip = true;
        else w *= m.w1[o];
      }
      if (skip) continue;
      for (uint32_t p = starts[run]; p < starts[run + 1]; ++p) {
        const uint32_t o = inner[p];
        if (im.idx1[o] < 0) continue;
        if (check_deleted && store.deleted().contains(store.MainKey(run, p))) continue;
        sel.main_positions.push_back(p);
        sel.main_weights.push_back(w * im.w1[o]);
      }
    }
  }
  for (const auto& [key, v] : store.delta()) {
    double w = 1.0;
    bool under = true;
    for (int d = 0; d < layout.dims() && under; ++d) {
      const uint32_t o = layout.Get(key, d);
      if (maps[d].idx1[o] < 0) under = false;
      else w *= maps[d].w1[o];
    }
    if (under) {
      sel.delta_keys.push_back(key);
      sel.delta_weights.push_back(w);
    }
  }
  return sel;
}

}  // namespace quantatom

#include "query/consolidate.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cmath>

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
  // Compact forms for the inner loop: 16-bit targets keep the table in L1, and unit weights
  // (every leaf weighs 1 toward its target, the common case) skip the weight lookup.
  std::vector<int16_t> idx16;  // when single and fewer than 32768 targets
  bool unit = false;           // when single and every mapped leaf has weight 1

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
      unit = true;
      int32_t max_idx = -1;
      for (size_t l = 0; l < leaves; ++l) {
        if (idx1[l] >= 0) unit &= w1[l] == 1.0;
        max_idx = std::max(max_idx, idx1[l]);
      }
      if (max_idx < 32767) idx16.assign(idx1.begin(), idx1.end());
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
// dimension's map. Runs are sorted by prefix, so the allowed values of the leading key
// dimensions select contiguous ranges: descend the key dimensions in order, binary-searching the
// sub-range of each allowed value (or value range), down to the last dimension that filters.
// Dimensions that do not filter are enumerated value by value only when a later one does, and
// the descent stops refining (keeping a whole sub-range, filtered per run) past a budget.
// A range of runs [begin, end). `uniform`: every run in it has the same value in every
// non-constant prefix dimension's map (same target and weight), so the scan can decode the
// first run only and add all its cells as one stretch.
struct RunRange {
  size_t begin, end;
  bool uniform;
};

// A map that sends every leaf to the same target with the same weight (a grand total).
bool IsConstantMap(const LeafMap& m) {
  if (!m.single || !m.full) return false;
  for (size_t l = 1; l < m.idx1.size(); ++l)
    if (m.idx1[l] != m.idx1[0] || m.w1[l] != m.w1[0]) return false;
  return true;
}

class RunRangeFinder {
 public:
  RunRangeFinder(const CellStore& store, const std::vector<LeafMap>& maps, bool parallel)
      : store_(store), maps_(maps), parallel_(parallel) {
    const auto& order = store.layout().order();
    for (size_t k = 0; k + 1 < order.size(); ++k)
      if (!maps[order[k]].full) last_filter_ = static_cast<int>(k);
    prefix_bits_ = store_.layout().total_bits() - store_.layout().inner_bits();
    // Ranges come out uniform when every dimension that varies lies at or above the last
    // filtering one (those above are fixed value by value, the last is split by target).
    uniform_possible_ = last_filter_ >= 0;
    for (size_t k = 0; k + 1 < order.size(); ++k) {
      const LeafMap& m = maps[order[k]];
      if (!m.single || (static_cast<int>(k) > last_filter_ && !IsConstantMap(m))) uniform_possible_ = false;
    }
    // Per dimension down to the last filter: its allowed ordinals as ranges, computed once
    // (every sub-range visits them). The last filter's ranges are also cut where the target
    // or weight changes, so each piece comes out uniform.
    for (int k = 0; k <= last_filter_; ++k) {
      const LeafMap& m = maps[order[static_cast<size_t>(k)]];
      std::vector<std::pair<uint32_t, uint32_t>> ranges;
      const uint32_t leaves = static_cast<uint32_t>(m.off.size() - 1);
      const bool cut = k == last_filter_ && uniform_possible_;
      for (uint32_t a = 0; a < leaves;) {
        if (m.empty_at(a)) {
          ++a;
          continue;
        }
        uint32_t z = a;
        while (z + 1 < leaves && !m.empty_at(z + 1) &&
               (!cut || (m.idx1[z + 1] == m.idx1[a] && m.w1[z + 1] == m.w1[a])))
          ++z;
        ranges.emplace_back(a, z);
        a = z + 1;
      }
      ranges_.push_back(std::move(ranges));
    }
  }

  std::vector<RunRange> Find() {
    const auto prefixes = store_.run_prefixes();
    if (prefixes.empty()) return {};
    Refine(0, prefixes.size(), 0, 0, 0);
    return std::move(out_);
  }

 private:
  static constexpr size_t kBudget = 1 << 15;  // refinement steps before whole sub-ranges are kept

  void Push(size_t b, size_t e, bool uniform) {
    if (b == e) return;
    if (!uniform && !out_.empty() && !out_.back().uniform && out_.back().end == b) out_.back().end = e;
    else out_.push_back({b, e, uniform});
  }

  // Runs in [b, e) all share the values `partial` of the first `k` key dimensions (`used` bits).
  void Refine(size_t b, size_t e, int k, uint64_t partial, int used) {
    if (k > last_filter_ || steps_ > kBudget) return Push(b, e, false);
    const KeyLayout& layout = store_.layout();
    const int d = layout.order()[static_cast<size_t>(k)];
    const int bits = layout.bits(d);
    const int rest = prefix_bits_ - used - bits;
    const auto prefixes = store_.run_prefixes();
    // Galloping from `from`: the values are visited in ascending order, so the wanted range
    // usually starts at `from` and is short.
    auto gallop = [&](size_t from, size_t to, auto before_end) {
      size_t lo = from, step = 1;
      while (lo < to && before_end(prefixes[lo])) {
        size_t probe = std::min(to, lo + step);
        if (probe < to && before_end(prefixes[probe])) {
          lo = probe + 1;
          step *= 2;
        } else {
          return static_cast<size_t>(std::partition_point(prefixes.begin() + static_cast<std::ptrdiff_t>(lo),
                                                          prefixes.begin() + static_cast<std::ptrdiff_t>(probe),
                                                          before_end) -
                                     prefixes.begin());
        }
      }
      return lo;
    };
    auto find = [&](uint32_t lo, uint32_t hi, size_t from, size_t to) {
      const uint64_t lo_key = ((partial << bits) | lo) << rest;
      const uint64_t hi_key = ((((partial << bits) | hi) + 1) << rest) - 1;
      size_t sb = gallop(from, to, [&](uint64_t x) { return x < lo_key; });
      size_t se = gallop(sb, to, [&](uint64_t x) { return x <= hi_key; });
      return std::make_pair(sb, se);
    };
    for (auto [a, z] : ranges_[static_cast<size_t>(k)]) {
      ++steps_;
      auto [sb, se] = find(a, z, b, e);
      if (sb == se) continue;
      if (k == last_filter_) {
        Push(sb, se, uniform_possible_);
        continue;
      }
      // A later dimension filters: descend value by value, skipping values with no run.
      struct Child {
        size_t b, e;
        uint64_t partial;
      };
      std::vector<Child> children;
      for (uint32_t v = a; v <= z && sb < se; ++v) {
        auto [vb, ve] = find(v, v, sb, se);
        if (vb != ve) children.push_back({vb, ve, (partial << bits) | v});
        sb = ve;
      }
      if (parallel_ && children.size() >= 8) {
        // Independent sub-ranges: refine them on all cores, then keep their order.
        std::vector<std::vector<RunRange>> parts(children.size());
        tbb::parallel_for(size_t{0}, children.size(), [&](size_t i) {
          RunRangeFinder sub(*this, SubRange{});
          sub.Refine(children[i].b, children[i].e, k + 1, children[i].partial, used + bits);
          parts[i] = std::move(sub.out_);
        });
        for (auto& part : parts)
          for (const RunRange& r : part) Push(r.begin, r.end, r.uniform);
      } else {
        for (const Child& c : children) Refine(c.b, c.e, k + 1, c.partial, used + bits);
      }
    }
  }

  // A finder for a sub-range: same maps and tables, its own output, no nested parallelism.
  struct SubRange {};
  RunRangeFinder(const RunRangeFinder& parent, SubRange)
      : store_(parent.store_),
        maps_(parent.maps_),
        parallel_(false),
        uniform_possible_(parent.uniform_possible_),
        last_filter_(parent.last_filter_),
        prefix_bits_(parent.prefix_bits_),
        ranges_(parent.ranges_) {}

  const CellStore& store_;
  const std::vector<LeafMap>& maps_;
  const bool parallel_;
  bool uniform_possible_ = false;
  int last_filter_ = -1;
  int prefix_bits_ = 0;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> ranges_;  // per key dimension
  size_t steps_ = 0;
  std::vector<RunRange> out_;
};

std::vector<RunRange> RunRanges(const CellStore& store, const std::vector<LeafMap>& maps, bool parallel = true) {
  return RunRangeFinder(store, maps, parallel).Find();
}

struct Accumulator {
  LargeVector<double> sum;
  LargeVector<uint32_t> count;
  std::vector<std::pair<size_t, double>> combos;  // scratch
  std::vector<std::pair<size_t, double>> next;    // scratch
};

// How one prefix dimension enters the per-run computation.
struct PrefixDim {
  int shift;       // of the ordinal inside a run prefix
  uint64_t mask;
  const LeafMap* map;
  size_t stride;
};

// The per-run plan: dimensions whose map sends every leaf to the same target with the same
// weight (a total) are folded into a constant offset and weight and never decoded.
struct ScanPlan {
  std::vector<PrefixDim> dims;
  bool all_single = true;
  size_t base = 0;
  double weight = 1.0;
};

ScanPlan MakeScanPlan(const KeyLayout& layout, const std::vector<LeafMap>& maps, const std::vector<size_t>& stride) {
  ScanPlan plan;
  const auto& order = layout.order();
  for (size_t k = 0; k + 1 < order.size(); ++k) {
    const int d = order[k];
    const LeafMap& m = maps[d];
    if (IsConstantMap(m)) {
      plan.base += static_cast<size_t>(m.idx1[0]) * stride[d];
      plan.weight *= m.w1[0];
      continue;
    }
    const int bits = layout.bits(d);
    plan.dims.push_back({layout.shift(d) - layout.inner_bits(), bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1, &m,
                         stride[d]});
    plan.all_single &= m.single;
  }
  return plan;
}

// Adds the cells [s, e), all with the same offset `base` and weight `wb`, through a single
// inner map. Cells whose inner member has no target go to the trash slot, so the loop has no
// data-dependent branch.
//
// Cells of a run are sorted by inner ordinal, so neighbours often add into the same total, and
// each add would wait for the previous one (store-to-load forwarding). With kBanks > 1,
// consecutive cells add into kBanks separate copies of the totals (`bank` apart), folded at the
// end; this breaks the chain (measured: 12 -> 7.5 ms per 10M cells on one core).
//
// Counts are only read as "is there a cell", so most of the time none is kept per cell:
//  - kSignedZero: totals start at -0.0, which no cell can produce when its contribution is
//    v * w with w > 0 (stored values are never -0.0, and x + y is -0.0 only if both are), so
//    "still -0.0" means "no cell"; a sum of cells that cancels is +0.0. The count is derived
//    after the scan. This saves a store per cell.
//  - kFlag: a flag per total, for stretches whose weights can be negative or zero.
//  - kCount: real counts, while deleted main cells (value 0) await compaction and must be
//    taken back out.
enum class CountMode { kSignedZero, kFlag, kCount };

template <typename Index, bool kUnit, int kBanks, CountMode kMode, typename Inner>
inline void AddCellsSingle(const Index* idx, const double* w1, size_t istride, size_t trash, size_t bank,
                           const Inner* inner, const double* values, uint32_t s, uint32_t e, size_t base, double wb,
                           double* sum, uint32_t* count) {
  auto one = [&](uint32_t p, size_t offset) {
    const uint32_t o = inner[p];
    const int32_t t = idx[o];
    const size_t i = offset + (t >= 0 ? base + static_cast<size_t>(t) * istride : trash);
    if constexpr (kUnit) sum[i] += values[p] * wb;
    else sum[i] += values[p] * (wb * w1[o]);
    if constexpr (kMode == CountMode::kCount) ++count[i];
    else if constexpr (kMode == CountMode::kFlag) count[i] = 1;
  };
  uint32_t p = s;
  if constexpr (kBanks > 1) {
    for (; p + kBanks <= e; p += kBanks) {
#pragma GCC unroll 8
      for (int k = 0; k < kBanks; ++k) one(p + static_cast<uint32_t>(k), static_cast<size_t>(k) * bank);
    }
  }
  for (; p < e; ++p) one(p, 0);
}

template <int kBanks, CountMode kMode, typename Inner>
[[gnu::noinline]] void AddCellsSingleDispatch(const LeafMap& im, size_t istride, size_t trash, size_t bank, const Inner* inner,
                                   const double* values, uint32_t s, uint32_t e, size_t base, double wb, double* sum,
                                   uint32_t* count) {
  if (!im.idx16.empty()) {
    if (im.unit) AddCellsSingle<int16_t, true, kBanks, kMode>(im.idx16.data(), nullptr, istride, trash, bank, inner, values, s, e, base, wb, sum, count);
    else AddCellsSingle<int16_t, false, kBanks, kMode>(im.idx16.data(), im.w1.data(), istride, trash, bank, inner, values, s, e, base, wb, sum, count);
  } else {
    if (im.unit) AddCellsSingle<int32_t, true, kBanks, kMode>(im.idx1.data(), nullptr, istride, trash, bank, inner, values, s, e, base, wb, sum, count);
    else AddCellsSingle<int32_t, false, kBanks, kMode>(im.idx1.data(), im.w1.data(), istride, trash, bank, inner, values, s, e, base, wb, sum, count);
  }
}

// Banks of totals per accumulator (see AddCellsSingle): only while they stay cache-resident.
constexpr int kBanks = 4;
inline int BanksFor(size_t slots) { return slots <= 8192 ? kBanks : 1; }

// `bank` = distance between banks (the number of slots); banks == 1 means one copy.
template <typename Inner>
inline void AddCells(const LeafMap& im, size_t istride, size_t trash, int banks, bool counting, size_t bank,
                     const Inner* inner, const double* values, uint32_t s, uint32_t e, size_t base, double wb,
                     double* sum, uint32_t* count) {
  if (im.single) {
    const CountMode mode = counting ? CountMode::kCount : (im.unit && wb > 0) ? CountMode::kSignedZero : CountMode::kFlag;
    auto run = [&]<int kB, CountMode kM>() {
      AddCellsSingleDispatch<kB, kM>(im, istride, trash, bank, inner, values, s, e, base, wb, sum, count);
    };
    const bool banked = banks > 1;
    switch (mode) {
      case CountMode::kSignedZero:
        banked ? run.template operator()<kBanks, CountMode::kSignedZero>() : run.template operator()<1, CountMode::kSignedZero>();
        break;
      case CountMode::kFlag:
        banked ? run.template operator()<kBanks, CountMode::kFlag>() : run.template operator()<1, CountMode::kFlag>();
        break;
      case CountMode::kCount:
        banked ? run.template operator()<kBanks, CountMode::kCount>() : run.template operator()<1, CountMode::kCount>();
        break;
    }
    return;
  }
  for (uint32_t p = s; p < e; ++p) {
    const uint32_t o = inner[p];
    for (uint32_t x = im.off[o]; x < im.off[o + 1]; ++x) {
      const size_t i = base + im.idx[x] * istride;
      sum[i] += values[p] * (wb * im.w[x]);
      ++count[i];
    }
  }
}

// Offset and weight of the runs with this prefix, through a plan whose maps are all single;
// the offset is `trash` when some dimension has no target for the prefix.
inline std::pair<size_t, double> RunOffset(const ScanPlan& plan, uint64_t prefix, size_t trash) {
  size_t base = plan.base;
  double wb = plan.weight;
  for (const PrefixDim& pd : plan.dims) {
    const uint32_t o = static_cast<uint32_t>((prefix >> pd.shift) & pd.mask);
    const int32_t t = pd.map->idx1[o];
    base = t < 0 ? trash : base + static_cast<size_t>(t) * pd.stride;
    wb *= pd.map->w1[o];
  }
  return {base, wb};
}

// Sums the main cells of runs [r0, r1) into `acc`. First the offset and weight of every run
// (a short loop over the prefix dimensions, no cells), then one pass over the cells of each
// stretch of consecutive runs that share them: runs hold ~10 cells, stretches often thousands.
template <typename Inner>
void ScanRuns(const CellStore& store, const Inner* inner, const ScanPlan& plan, const LeafMap& im, size_t istride,
              size_t trash, const RunRange& range, Accumulator& acc) {
  const size_t r0 = range.begin, r1 = range.end;
  const size_t slots = trash + 1;
  const int banks = static_cast<int>(acc.sum.size() / slots);
  const bool counting = !store.deleted().empty();
  const uint64_t* prefixes = store.run_prefixes().data();
  const uint32_t* starts = store.run_starts().data();
  const double* values = store.values().data();
  double* sum = acc.sum.data();
  uint32_t* count = acc.count.data();
  if (plan.all_single && range.uniform) {
    const auto [base, wb] = RunOffset(plan, prefixes[r0], trash);
    if (base < trash) AddCells(im, istride, trash, banks, counting, slots, inner, values, starts[r0], starts[r1], base, wb, sum, count);
    return;
  }
  if (plan.all_single) {
    // Runs whose prefixes agree on every planned dimension share offset and weight; those
    // dimensions usually sit in the high bits, so such runs are consecutive: find the end of
    // each group by galloping over the sorted prefixes instead of decoding every run.
    int low_shift = 64;
    for (const PrefixDim& pd : plan.dims) low_shift = std::min(low_shift, pd.shift);
    auto group_of = [&](size_t run) { return low_shift >= 64 ? uint64_t{0} : prefixes[run] >> low_shift; };
    size_t pending_base = trash;
    double pending_wb = 0;
    uint32_t pending_start = 0, pending_end = 0;
    auto flush = [&] {
      if (pending_base < trash && pending_end > pending_start)
        AddCells(im, istride, trash, banks, counting, slots, inner, values, pending_start, pending_end, pending_base, pending_wb, sum, count);
    };
    for (size_t run = r0; run < r1;) {
      const size_t start = run;
      const uint64_t group = group_of(start);
      // lo: last run known in the group; hi: first run known outside it (or r1).
      size_t lo = start, hi = start + 1, step = 1;
      while (hi < r1 && group_of(hi) == group) {
        lo = hi;
        step *= 2;
        hi = std::min(r1, hi + step);
      }
      while (lo + 1 < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (group_of(mid) == group) lo = mid;
        else hi = mid;
      }
      const auto [base, wb] = RunOffset(plan, prefixes[start], trash);
      // Consecutive groups with the same offset and weight (e.g. several leaves of one
      // total) become one stretch of cells.
      if (base == pending_base && wb == pending_wb && pending_end == starts[start]) {
        pending_end = starts[hi];
      } else {
        flush();
        pending_base = base;
        pending_wb = wb;
        pending_start = starts[start];
        pending_end = starts[hi];
      }
      run = hi;
    }
    flush();
    return;
  }
  for (size_t run = r0; run < r1; ++run) {
    const uint64_t prefix = prefixes[run];
    acc.combos.clear();
    acc.combos.emplace_back(plan.base, plan.weight);
    bool skip = false;
    for (const PrefixDim& pd : plan.dims) {
      const LeafMap& m = *pd.map;
      const uint32_t o = static_cast<uint32_t>((prefix >> pd.shift) & pd.mask);
      if (m.empty_at(o)) {
        skip = true;
        break;
      }
      acc.next.clear();
      for (auto& c : acc.combos)
        for (uint32_t x = m.off[o]; x < m.off[o + 1]; ++x) acc.next.emplace_back(c.first + m.idx[x] * pd.stride, c.second * m.w[x]);
      acc.combos.swap(acc.next);
    }
    if (skip) continue;
    for (const auto& [base, wb] : acc.combos)
      AddCells(im, istride, trash, banks, counting, slots, inner, values, starts[run], starts[run + 1], base, wb, sum, count);
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
          LargeVector<double>* sum_out, LargeVector<uint32_t>* count_out) {
  // One extra slot at the end takes the cells that belong to no total.
  const size_t trash = sum_out->size();
  sum_out->push_back(0.0);
  count_out->push_back(0);
  const size_t n = sum_out->size();
  auto ranges = RunRanges(store, maps, parallel);
  // Chunks of about 256k cells: long enough for stretches to pay off, many enough to balance.
  std::vector<RunRange> chunks;
  size_t cells = 0;
  const auto starts = store.run_starts();
  for (const RunRange& range : ranges) {
    cells += starts[range.end] - starts[range.begin];
    for (size_t r = range.begin; r < range.end;) {
      size_t end = r;
      uint32_t limit = starts[r] + (1u << 18);
      while (end < range.end && (end == r || starts[end + 1] <= limit)) ++end;
      chunks.push_back({r, end, range.uniform});
      r = end;
    }
  }
  const ScanPlan plan = MakeScanPlan(store.layout(), maps, stride);
  const int inner_dim = store.layout().inner_dim();
  const LeafMap& im = maps[inner_dim];
  const size_t istride = stride[inner_dim];
  const int banks = BanksFor(n);
  auto make_accumulator = [n, banks] {
    Accumulator a;
    a.sum.assign(n * static_cast<size_t>(banks), -0.0);  // "no cell yet" (see CountMode)
    a.count.assign(n * static_cast<size_t>(banks), 0);
    return a;
  };
  tbb::enumerable_thread_specific<Accumulator> local(make_accumulator);
  if (!parallel || cells < 100000 || chunks.size() < 2) {
    Accumulator& acc = local.local();
    store.VisitInner([&](const auto* inner) {
      for (const RunRange& c : chunks) ScanRuns(store, inner, plan, im, istride, trash, c, acc);
    });
  } else {
    store.VisitInner([&](const auto* inner) {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks.size(), 1), [&](const tbb::blocked_range<size_t>& r) {
        Accumulator& acc = local.local();
        for (size_t c = r.begin(); c != r.end(); ++c) ScanRuns(store, inner, plan, im, istride, trash, chunks[c], acc);
      });
    });
  }
  double* sum = sum_out->data();
  uint32_t* count = count_out->data();
  for (Accumulator& acc : local) {
    for (int k = 0; k < banks; ++k) {
      const double* s = acc.sum.data() + static_cast<size_t>(k) * n;
      const uint32_t* c = acc.count.data() + static_cast<size_t>(k) * n;
      for (size_t i = 0; i < n; ++i) sum[i] += s[i];
      // A total that left -0.0 got a cell even if no count was kept (CountMode::kSignedZero).
      for (size_t i = 0; i < n; ++i) count[i] += c[i] + (c[i] == 0 && !(s[i] == 0.0 && std::signbit(s[i])));
    }
  }
  sum_out->pop_back();
  count_out->pop_back();
  const KeyLayout& layout = store.layout();
  for (const auto& [key, v] : store.delta()) AddKey(layout, maps, stride, key, v, +1, sum_out->data(), count_out->data());
  for (uint64_t key : store.deleted()) AddKey(layout, maps, stride, key, 0.0, -1, sum_out->data(), count_out->data());
}

// Rolls dimension `d` of a dense array from `from` (size nb along d) to `to` (size nt).
void RollDimension(const LargeVector<double>& in_sum, const LargeVector<uint32_t>& in_count, size_t outer, size_t nb,
                   size_t inner, const std::vector<std::vector<std::pair<uint32_t, double>>>& map, size_t nt,
                   LargeVector<double>* out_sum, LargeVector<uint32_t>* out_count) {
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
  LargeVector<double> sum(base_total, 0.0);
  LargeVector<uint32_t> count(base_total, 0);
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
    LargeVector<double> next_sum;
    LargeVector<uint32_t> next_count;
    RollDimension(sum, count, outer, cur_sizes[d], inner, map, out.targets[d].size(), &next_sum, &next_count);
    sum.swap(next_sum);
    count.swap(next_count);
    cur_sizes[d] = out.targets[d].size();
  }
  out.sum = std::move(sum);
  out.count = std::move(count);
  return out;
}

namespace {

// Calls fn(first, end, run weight, inner map, run prefix) for every main run under `region` (its cells
// still to be filtered through the inner map; deleted cells included: they hold 0), and
// fn_delta(key, weight) for every delta cell under it. Returns the sum of what fn returned.
// With `parallel`, main cells are visited from several threads (fn must allow that). fn
// returns an R (a count, partial sums) and the results are added with +=, per chunk of runs.
template <typename R = size_t, typename MainFn, typename DeltaFn>
R VisitCellsUnder(const AppModel& model, const CellStore& store, const Coordinate& region, bool parallel, MainFn&& fn,
                  DeltaFn&& fn_delta) {
  const size_t dims = model.dimensions.size();
  std::vector<LeafMap> maps(dims);
  std::vector<size_t> stride(dims, 0);
  for (size_t d = 0; d < dims; ++d) maps[d] = MapToTargets(model.dimensions[d], {region[d]});
  const KeyLayout& layout = store.layout();
  const ScanPlan plan = MakeScanPlan(layout, maps, stride);
  const LeafMap& im = maps[layout.inner_dim()];
  const uint64_t* prefixes = store.run_prefixes().data();
  const uint32_t* starts = store.run_starts().data();
  auto visit_runs = [&](size_t b, size_t e) {
    R total{};
    for (size_t run = b; run < e; ++run) {
      double w = plan.weight;
      bool under = true;
      for (const PrefixDim& pd : plan.dims) {
        const uint32_t o = static_cast<uint32_t>((prefixes[run] >> pd.shift) & pd.mask);
        if (pd.map->idx1[o] < 0) {
          under = false;
          break;
        }
        w *= pd.map->w1[o];
      }
      if (under) total += fn(starts[run], starts[run + 1], w, im, prefixes[run]);
    }
    return total;
  };
  auto ranges = RunRanges(store, maps);
  R total{};
  if (!parallel) {
    for (const RunRange& range : ranges) total += visit_runs(range.begin, range.end);
  } else {
    std::vector<std::pair<size_t, size_t>> chunks;
    for (const RunRange& range : ranges)
      for (size_t r = range.begin; r < range.end; r += 8192) chunks.emplace_back(r, std::min(range.end, r + 8192));
    std::mutex mu;
    tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks.size(), 1), [&](const tbb::blocked_range<size_t>& r) {
      R part{};
      for (size_t c = r.begin(); c != r.end(); ++c) part += visit_runs(chunks[c].first, chunks[c].second);
      std::lock_guard lock(mu);
      total += part;
    });
  }
  for (const auto& [key, v] : store.delta()) {
    double w = 1.0;
    bool under = true;
    for (int d = 0; d < layout.dims() && under; ++d) {
      const uint32_t o = layout.Get(key, d);
      if (maps[d].idx1[o] < 0) under = false;
      else w *= maps[d].w1[o];
    }
    if (under) fn_delta(key, w);
  }
  return total;
}

}  // namespace

CellSelection SelectCellsUnder(const AppModel& model, const CellStore& store, const Coordinate& region) {
  CellSelection sel;
  const bool check_deleted = !store.deleted().empty();
  VisitCellsUnder(
      model, store, region, /*parallel=*/false,
      [&](uint32_t first, uint32_t end, double w, const LeafMap& im, uint64_t) {
        for (uint32_t p = first; p < end; ++p) {
          const uint32_t o = store.inner_at(p);
          if (im.idx1[o] < 0) continue;
          if (check_deleted && store.deleted().contains(store.MainKey(store.RunOf(p), p))) continue;
          sel.main_positions.push_back(p);
          sel.main_weights.push_back(w * im.w1[o]);
        }
        return size_t{0};
      },
      [&](uint64_t key, double w) {
        sel.delta_keys.push_back(key);
        sel.delta_weights.push_back(w);
      });
  return sel;
}

size_t ScaleCellsUnder(const AppModel& model, CellStore& store, const Coordinate& region, double factor,
                       ScaleRecord* record) {
  return ScaleUnheldCellsUnder(model, store, region, {}, factor, record);
}

namespace {

// Per hold, per dimension: which leaf ordinals lie under the hold's member.
class HoldTest {
 public:
  HoldTest(const AppModel& model, const std::vector<Coordinate>& holds) : layout_dims_(model.dimensions.size()) {
    for (const Coordinate& h : holds) {
      std::vector<std::vector<bool>> under(model.dimensions.size());
      for (size_t d = 0; d < model.dimensions.size(); ++d) {
        // kNoMember: any member of the dimension (read-only members hold a whole slice).
        under[d].assign(model.dimensions[d].leaf_count(), h[d] == kNoMember);
        if (h[d] != kNoMember)
          for (auto [ordinal, w] : model.dimensions[d].LeavesUnder(h[d])) under[d][ordinal] = true;
      }
      holds_.push_back(std::move(under));
    }
  }
  bool empty() const { return holds_.empty(); }
  // `ordinal(d)` gives the cell's leaf ordinal in dimension d.
  template <typename OrdinalOf>
  bool Held(OrdinalOf&& ordinal) const {
    for (const auto& h : holds_) {
      bool under = true;
      for (size_t d = 0; d < layout_dims_ && under; ++d) under = h[d][ordinal(d)];
      if (under) return true;
    }
    return false;
  }

 private:
  size_t layout_dims_;
  std::vector<std::vector<std::vector<bool>>> holds_;
};

}  // namespace

HeldSums SumCellsUnder(const AppModel& model, const CellStore& store, const Coordinate& region,
                       const std::vector<Coordinate>& holds) {
  const HoldTest test(model, holds);
  const KeyLayout& layout = store.layout();
  const double* values = store.values().data();
  const bool check_deleted = !store.deleted().empty();
  HeldSums delta_part;
  HeldSums total = VisitCellsUnder<HeldSums>(
      model, store, region, /*parallel=*/true,
      [&](uint32_t first, uint32_t end, double w, const LeafMap& im, uint64_t prefix) {
        HeldSums part;
        for (uint32_t p = first; p < end; ++p) {
          const uint32_t o = store.inner_at(p);
          if (im.idx1[o] < 0) continue;
          if (check_deleted && store.deleted().contains(layout.Join(prefix, o))) continue;
          const double x = values[p] * w * im.w1[o];
          const bool held = !test.empty() && test.Held([&](size_t d) {
            return static_cast<int>(d) == layout.inner_dim() ? o : layout.PrefixGet(prefix, static_cast<int>(d));
          });
          if (held) part.held += x, ++part.held_cells;
          else part.unheld += x, ++part.unheld_cells;
        }
        return part;
      },
      [&](uint64_t key, double w) {
        const double x = store.delta().at(key) * w;
        const bool held = !test.empty() && test.Held([&](size_t d) { return layout.Get(key, static_cast<int>(d)); });
        if (held) delta_part.held += x, ++delta_part.held_cells;
        else delta_part.unheld += x, ++delta_part.unheld_cells;
      });
  total += delta_part;
  return total;
}

bool ForEachLeafUnder(const AppModel& model, const Coordinate& region, size_t max_leaves,
                      const std::function<void(const uint32_t* ordinals, double weight)>& fn) {
  const size_t dims = model.dimensions.size();
  std::vector<std::vector<std::pair<uint32_t, double>>> per_dim(dims);
  size_t total = 1;
  for (size_t d = 0; d < dims; ++d) {
    per_dim[d] = model.dimensions[d].LeavesUnder(region[d]);
    const size_t n = per_dim[d].size();
    if (n != 0 && total > max_leaves / n) return false;  // checked before multiplying: no overflow
    total *= n;
  }
  if (total > max_leaves) return false;
  if (total == 0) return true;
  std::vector<size_t> pos(dims, 0);
  std::vector<uint32_t> ordinals(dims);
  while (true) {
    double w = 1;
    for (size_t d = 0; d < dims; ++d) ordinals[d] = per_dim[d][pos[d]].first, w *= per_dim[d][pos[d]].second;
    fn(ordinals.data(), w);
    size_t d = 0;
    while (d < dims && ++pos[d] == per_dim[d].size()) pos[d++] = 0;
    if (d == dims) return true;
  }
}

namespace {
// Collects the recorded cells of a parallel rescale into one buffer sized up front: each
// thread stages cells locally and claims a slice of the buffer with one atomic add per kStage
// cells, so recording costs one write per cell, no growing vectors (fresh pages are slow to
// fault) and no shared cache line per run (runs are often a handful of cells).
constexpr size_t kStage = 2048;
class RecordSink {
 public:
  explicit RecordSink(ScaleRecord* record) : record_(record) {
    if (record_) record_->before.resize(record_->expected);
  }
  bool active() const { return record_ != nullptr; }
  void Add(uint64_t key, double value) {
    // The thread's stage, looked up once per sink and thread: a lookup per cell costs as much
    // as the rest of the cell's work.
    thread_local uint64_t cached_id = 0;
    thread_local Stage* cached = nullptr;
    if (cached_id != id_) {
      cached = &stages_.local();
      cached_id = id_;
    }
    Stage& stage = *cached;
    stage.cells[stage.n++] = KeyBefore(key, value);
    if (stage.n == kStage) Flush(stage);
  }
  void Finish() {
    if (!record_) return;
    for (Stage& stage : stages_) Flush(stage);
    record_->before.resize(std::min(cursor_.load(), record_->expected));
    record_->before.insert(record_->before.end(), overflow_.begin(), overflow_.end());
  }

 private:
  struct Stage {
    std::unique_ptr<KeyBefore[]> cells{new KeyBefore[kStage]};
    size_t n = 0;
  };
  void Flush(Stage& stage) {
    const size_t n = stage.n;
    const size_t at = cursor_.fetch_add(n, std::memory_order_relaxed);
    const size_t fit = at >= record_->expected ? 0 : std::min(n, record_->expected - at);
    std::copy(stage.cells.get(), stage.cells.get() + fit, record_->before.data() + at);
    if (fit < n) {
      std::lock_guard lock(overflow_mu_);
      overflow_.insert(overflow_.end(), stage.cells.get() + fit, stage.cells.get() + n);
    }
    stage.n = 0;
  }
  static uint64_t NextId() {
    static std::atomic<uint64_t> ids{1};
    return ids.fetch_add(1);
  }
  ScaleRecord* record_;
  const uint64_t id_ = NextId();  // tells this sink from an earlier one at the same address
  tbb::enumerable_thread_specific<Stage> stages_;
  std::atomic<size_t> cursor_{0};
  std::mutex overflow_mu_;
  std::vector<KeyBefore> overflow_;
};

}  // namespace

size_t ScaleUnheldCellsUnder(const AppModel& model, CellStore& store, const Coordinate& region,
                             const std::vector<Coordinate>& holds, double factor, ScaleRecord* record) {
  const HoldTest test(model, holds);
  const KeyLayout& layout = store.layout();
  double* values = store.mutable_values().data();
  const bool check_deleted = !store.deleted().empty();
  if (record && record->expected == 0) {
    record->expected = VisitCellsUnder<size_t>(
        model, store, region, /*parallel=*/true,
        [](uint32_t first, uint32_t end, double, const LeafMap&, uint64_t) { return size_t{end - first}; },
        [&](uint64_t, double) { ++record->expected; });
  }
  RecordSink sink(record);
  std::vector<uint64_t> delta_keys;
  const size_t scaled = VisitCellsUnder<size_t>(
      model, store, region, /*parallel=*/true,
      [&](uint32_t first, uint32_t end, double, const LeafMap& im, uint64_t prefix) {
        size_t n = 0;
        for (uint32_t p = first; p < end; ++p) {
          const uint32_t o = store.inner_at(p);
          if (im.idx1[o] < 0) continue;
          if (!test.empty() && test.Held([&](size_t d) {
                return static_cast<int>(d) == layout.inner_dim() ? o : layout.PrefixGet(prefix, static_cast<int>(d));
              }))
            continue;
          if (check_deleted && store.deleted().contains(layout.Join(prefix, o))) continue;
          if (sink.active()) sink.Add(layout.Join(prefix, o), values[p]);
          values[p] = values[p] * factor + 0.0;  // never -0.0 (cell_store.h)
          ++n;
        }
        return n;
      },
      [&](uint64_t key, double) {
        if (test.empty() || !test.Held([&](size_t d) { return layout.Get(key, static_cast<int>(d)); }))
          delta_keys.push_back(key);
      });
  for (uint64_t key : delta_keys) {
    double& v = store.mutable_delta()[key];
    if (sink.active()) sink.Add(key, v);
    v = v * factor + 0.0;
  }
  sink.Finish();
  return scaled + delta_keys.size();
}

}  // namespace quantatom

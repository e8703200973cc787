#include "targets/guidance.h"

#include <algorithm>
#include <cmath>

#include "base/numbers.h"
#include "base/strings.h"
#include "spread/spread.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace quantatom {

std::optional<double> TargetGuidance::Find(uint64_t key) const {
  auto it = std::lower_bound(keys.begin(), keys.end(), key);
  if (it == keys.end() || *it != key) return std::nullopt;
  return values[it - keys.begin()];
}

namespace {

// Per dimension, the weight of each leaf ordinal toward a coordinate's member, and whether it
// is below it at all (a weight of 0 can still be below: docs/semantics.md).
struct RegionMap {
  std::vector<std::vector<double>> weight;
  std::vector<std::vector<uint8_t>> under;
  std::vector<std::vector<std::pair<uint32_t, double>>> leaves;  // sorted by ordinal

  RegionMap(const AppModel& model, const Coordinate& coord) {
    const size_t dims = model.dimensions.size();
    weight.resize(dims), under.resize(dims), leaves.resize(dims);
    for (size_t d = 0; d < dims; ++d) {
      const Dimension& dim = model.dimensions[d];
      weight[d].assign(dim.leaf_count(), 0.0);
      under[d].assign(dim.leaf_count(), 0);
      leaves[d] = dim.LeavesUnder(coord[d]);
      for (auto [o, w] : leaves[d]) weight[d][o] = w, under[d][o] = 1;
    }
  }
};

// Which leaves belong to the targets nested in a target: one bit per nested target, per leaf
// ordinal of every dimension, so a cell is held when the AND over its dimensions is non-zero.
class HeldTest {
 public:
  HeldTest(const AppModel& model, const std::vector<const Coordinate*>& inner) : words_((inner.size() + 63) / 64) {
    masks_.resize(model.dimensions.size());
    for (size_t d = 0; d < model.dimensions.size(); ++d) {
      masks_[d].assign(static_cast<size_t>(model.dimensions[d].leaf_count()) * words_, 0);
      for (size_t i = 0; i < inner.size(); ++i)
        for (auto [o, w] : model.dimensions[d].LeavesUnder((*inner[i])[d]))
          masks_[d][o * words_ + i / 64] |= uint64_t{1} << (i % 64);
    }
  }
  bool empty() const { return words_ == 0; }
  size_t words() const { return words_; }
  const uint64_t* mask(size_t d, uint32_t ordinal) const { return masks_[d].data() + ordinal * words_; }

 private:
  size_t words_;
  std::vector<std::vector<uint64_t>> masks_;
};

struct RunRange {
  size_t begin = 0, end = 0;
};

// Runs whose prefix can lie under `region`: leading key dimensions with one leaf fix their
// bits, the first with several bounds the range; the rest is filtered run by run.
RunRange NarrowRuns(const CellStore& store, const RegionMap& region) {
  const KeyLayout& layout = store.layout();
  const auto prefixes = store.run_prefixes();
  uint64_t lo = 0, hi = 0;
  const int inner_bits = layout.inner_bits();
  bool open = false;  // below the first multi-leaf dimension every bit is free
  for (int d : layout.order()) {
    if (d == layout.inner_dim()) break;
    const int shift = layout.shift(d) - inner_bits;
    const uint64_t mask = ((uint64_t{1} << layout.bits(d)) - 1) << shift;
    if (open) {
      hi |= mask;
      continue;
    }
    const auto& leaves = region.leaves[d];
    if (leaves.empty()) return {};
    lo |= uint64_t{leaves.front().first} << shift;
    hi |= uint64_t{leaves.back().first} << shift;
    open = leaves.front().first != leaves.back().first;
  }
  const size_t b = std::lower_bound(prefixes.begin(), prefixes.end(), lo) - prefixes.begin();
  const size_t e = std::upper_bound(prefixes.begin(), prefixes.end(), hi) - prefixes.begin();
  return {b, std::max(b, e)};
}

// One basis cell under the target: where its guidance goes and what it weighs.
struct BasisSums {
  size_t cells = 0;  // unheld, numeric, not text at the guidance key
  double base = 0;   // weighted sum of their values
};

class GuidanceBuilder {
 public:
  GuidanceBuilder(const TargetLayer& layer, const CellStore& store, const GuidanceOptions& options)
      : layer_(layer), model_(layer.model()), store_(store), layout_(store.layout()), options_(options) {}

  absl::StatusOr<std::vector<TargetGuidance>> Run(std::vector<TargetGuidance>* recycle) {
    const auto& targets = layer_.targets();
    const auto& parents = layer_.parents();
    const size_t n = targets.size();
    std::vector<int> depth(n, 0);
    for (size_t i = 0; i < n; ++i)
      for (int p = parents[i]; p >= 0; p = parents[p]) ++depth[i];
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    // Innermost first: a target needs its nested targets' guidance (its held part).
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return depth[a] > depth[b]; });
    std::vector<TargetGuidance> out(n);
    if (recycle != nullptr && recycle->size() == n) out = std::move(*recycle);
    for (size_t i : order) {
      std::vector<size_t> nested, children;
      for (size_t j = 0; j < n; ++j) {
        if (parents[j] == static_cast<int>(i)) children.push_back(j);
        for (int p = parents[j]; p >= 0; p = parents[p])
          if (p == static_cast<int>(i)) nested.push_back(j);
      }
      absl::Status s = Guide(targets[i], children, nested, out, &out[i]);
      if (!s.ok())
        return absl::Status(s.code(), StrCat("cannot guide the target at ", model_.FormatCoordinate(targets[i].coord),
                                             ": ", std::string(s.message())));
    }
    return out;
  }

 private:
  absl::Status Guide(const Target& target, const std::vector<size_t>& children, const std::vector<size_t>& nested,
                     const std::vector<TargetGuidance>& done, TargetGuidance* out) {
    const RegionMap region(model_, target.coord);
    std::vector<const Coordinate*> inner;
    for (size_t c : children) inner.push_back(&layer_.targets()[c].coord);
    const HeldTest held(model_, inner);
    // The held part: the nested targets' guidance, weighted toward this target.
    double held_sum = 0;
    for (size_t j : nested) {
      const TargetGuidance& g = done[j];
      for (size_t k = 0; k < g.size(); ++k) {
        double w = 1;
        for (int d = 0; d < layout_.dims(); ++d) w *= region.weight[d][layout_.Get(g.keys[k], d)];
        held_sum += w * g.values[k];
      }
    }
    out->held = held_sum;
    if (target.method == GuidanceMethod::kProportional) {
      QA_ASSIGN_OR_RETURN(bool done_proportional, Proportional(target, region, inner, held, held_sum, out));
      if (done_proportional) return absl::OkStatus();
    }
    return Equal(target, region, held, !nested.empty(), held_sum, out);
  }

  // Scans the basis cells under the target (two passes: sums, then guidance at known offsets).
  // Returns false when the basis sums to zero, so the caller spreads equally instead.
  absl::StatusOr<bool> Proportional(const Target& target, const RegionMap& target_region,
                                    const std::vector<const Coordinate*>& inner, const HeldTest& target_held,
                                    double held_sum, TargetGuidance* out) {
    const int sd = layer_.config().scenario_dim;
    const bool rebase = target.basis != kNoMember && target.basis != target.coord[sd];
    Coordinate basis_coord = target.coord;
    if (rebase) basis_coord[sd] = target.basis;
    const RegionMap basis_region = rebase ? RegionMap(model_, basis_coord) : RegionMap(target_region);
    // The scan tests basis keys, so a rebased scan tests the nested targets moved to the basis.
    std::vector<Coordinate> inner_basis;
    std::vector<const Coordinate*> inner_basis_ptr;
    if (rebase) {
      for (const Coordinate* c : inner) inner_basis.push_back(*c), inner_basis.back()[sd] = target.basis;
      for (const Coordinate& c : inner_basis) inner_basis_ptr.push_back(&c);
    }
    const HeldTest rebased_held = rebase ? HeldTest(model_, inner_basis_ptr) : HeldTest(model_, {});
    const HeldTest& held = rebase ? rebased_held : target_held;
    // Basis keys become guidance keys by swapping the scenario ordinal (both are leaves).
    uint64_t key_xor = 0;
    if (rebase) {
      const Dimension& scen = model_.dimensions[sd];
      key_xor = static_cast<uint64_t>(scen.leaf_ordinal(target.basis) ^ scen.leaf_ordinal(target.coord[sd]))
                << layout_.shift(sd);
    }
    const RunRange runs = NarrowRuns(store_, basis_region);
    std::vector<RunRange> chunks;
    for (size_t r = runs.begin; r < runs.end; r += 4096) chunks.push_back({r, std::min(runs.end, r + 4096)});
    std::vector<BasisSums> sums(chunks.size());
    const Scanner scan{*this, basis_region, held, key_xor};
    auto for_chunks = [&](auto&& fn) {
      if (options_.parallel && chunks.size() > 1) {
        tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks.size(), 1), [&](const tbb::blocked_range<size_t>& r) {
          for (size_t c = r.begin(); c != r.end(); ++c) fn(c);
        });
      } else {
        for (size_t c = 0; c < chunks.size(); ++c) fn(c);
      }
    };
    for_chunks([&](size_t c) {
      scan.Runs(chunks[c], [&](uint64_t, double v, double w) { ++sums[c].cells, sums[c].base += v * w; });
    });
    // Delta cells (new since the last compaction) are few: list them and merge them in.
    std::vector<std::pair<uint64_t, double>> delta;
    BasisSums total;
    for (const auto& [key, v] : store_.delta()) {
      double w = 1;
      if (!scan.Under(key, &w)) continue;
      delta.emplace_back(key ^ key_xor, v);
      ++total.cells, total.base += v * w;
    }
    std::sort(delta.begin(), delta.end());
    std::vector<size_t> offset(chunks.size() + 1, 0);
    for (size_t c = 0; c < chunks.size(); ++c) {
      offset[c + 1] = offset[c] + sums[c].cells;
      total.base += sums[c].base;
    }
    total.cells += offset.back();
    if (total.base == 0) return false;  // nothing to scale: spread equally (as ComputeSpread)
    const double factor = (target.value - held_sum) / total.base;
    if (!std::isfinite(factor)) return absl::InvalidArgumentError("the guidance would not be a finite number");
    const size_t main_cells = offset.back();
    // Reuse the arrays' memory when it is large enough (clear first: growing must not copy).
    GuidanceArray<uint64_t> keys = std::move(out->keys);
    GuidanceArray<double> values = std::move(out->values);
    keys.clear(), values.clear();
    keys.reserve(main_cells + delta.size()), values.reserve(main_cells + delta.size());
    keys.resize(main_cells), values.resize(main_cells);
    for_chunks([&](size_t c) {
      size_t at = offset[c];
      scan.Runs(chunks[c], [&](uint64_t key, double v, double) {
        keys[at] = key;
        values[at] = v * factor + 0.0;  // -0.0 would read as a sign
        ++at;
      });
    });
    if (!delta.empty()) {
      for (auto& [key, v] : delta) v = v * factor + 0.0;
      MergeDelta(delta, &keys, &values);
    }
    out->keys = std::move(keys);
    out->values = std::move(values);
    out->equal = false;
    return true;
  }

  // Visits the basis cells under a region that no nested target holds and that are not text
  // at their guidance key: fn(guidance key, value, weight), in key order within a chunk.
  struct Scanner {
    const GuidanceBuilder& b;
    const RegionMap& region;
    const HeldTest& held;
    uint64_t key_xor;

    bool Under(uint64_t key, double* w) const {
      const KeyLayout& layout = b.layout_;
      uint64_t bits[4] = {~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
      std::vector<uint64_t> wide(held.words() > 4 ? held.words() : 0, ~uint64_t{0});
      uint64_t* acc = wide.empty() ? bits : wide.data();
      for (int d = 0; d < layout.dims(); ++d) {
        const uint32_t o = layout.Get(key, d);
        if (!region.under[d][o]) return false;
        *w *= region.weight[d][o];
        if (!held.empty()) {
          const uint64_t* m = held.mask(d, o);
          for (size_t k = 0; k < held.words(); ++k) acc[k] &= m[k];
        }
      }
      for (size_t k = 0; k < held.words(); ++k)
        if (acc[k]) return false;
      return !b.IsText(key ^ key_xor);
    }

    template <typename Fn>
    void Runs(RunRange range, Fn&& fn) const {
      const KeyLayout& layout = b.layout_;
      const CellStore& store = b.store_;
      const auto prefixes = store.run_prefixes();
      const auto starts = store.run_starts();
      const double* values = store.values().data();
      const int inner = layout.inner_dim();
      const std::vector<double>& inner_w = region.weight[inner];
      const std::vector<uint8_t>& inner_under = region.under[inner];
      const bool check_deleted = !store.deleted().empty();
      const bool check_text = !store.texts().empty();
      const size_t words = held.words();
      std::vector<uint64_t> prefix_mask(words);
      for (size_t run = range.begin; run < range.end; ++run) {
        const uint64_t prefix = prefixes[run];
        double w = 1;
        bool under = true;
        std::fill(prefix_mask.begin(), prefix_mask.end(), ~uint64_t{0});
        for (int d = 0; d < layout.dims() && under; ++d) {
          if (d == inner) continue;
          const uint32_t o = layout.PrefixGet(prefix, d);
          under = region.under[d][o];
          w *= region.weight[d][o];
          if (words) {
            const uint64_t* m = held.mask(d, o);
            for (size_t k = 0; k < words; ++k) prefix_mask[k] &= m[k];
          }
        }
        if (!under) continue;
        bool any_held = false;
        for (size_t k = 0; k < words; ++k) any_held |= prefix_mask[k] != 0;
        const uint32_t first = starts[run], end = starts[run + 1];
        for (uint32_t p = first; p < end; ++p) {
          const uint32_t o = store.inner_at(p);
          if (!inner_under[o]) continue;
          if (any_held) {
            const uint64_t* m = held.mask(inner, o);
            bool h = false;
            for (size_t k = 0; k < words; ++k) h |= (prefix_mask[k] & m[k]) != 0;
            if (h) continue;
          }
          const uint64_t key = layout.Join(prefix, o);
          if (check_deleted && store.deleted().contains(key)) continue;
          if (check_text && b.IsText(key ^ key_xor)) continue;
          fn(key ^ key_xor, values[p], w * inner_w[o]);
        }
      }
    }
  };

  bool IsText(uint64_t key) const { return !store_.texts().empty() && store_.texts().contains(key); }

  // Merges the sorted delta entries into the sorted arrays in place, from the back (the arrays
  // were reserved for them, so nothing is reallocated).
  static void MergeDelta(const std::vector<std::pair<uint64_t, double>>& delta, GuidanceArray<uint64_t>* keys,
                         GuidanceArray<double>* values) {
    size_t i = keys->size(), j = delta.size(), o = i + j;
    keys->resize(o), values->resize(o);
    uint64_t* k = keys->data();
    double* v = values->data();
    while (j > 0) {
      --o;
      if (i > 0 && k[i - 1] > delta[j - 1].first) {
        --i;
        k[o] = k[i], v[o] = v[i];
      } else {
        --j;
        k[o] = delta[j].first, v[o] = delta[j].second;
      }
    }
  }

  // Every leaf of the cross product under the target that no nested target holds and that is
  // not text gets the same share, by ComputeSpread's equal method. The nested targets enter it
  // as one held leaf carrying their weighted guidance.
  absl::Status Equal(const Target& target, const RegionMap& region, const HeldTest& held, bool has_nested,
                     double held_sum, TargetGuidance* out) {
    const std::vector<int>& order = layout_.order();
    size_t total = 1;
    for (int d : order) {
      const size_t n = region.leaves[d].size();
      if (n != 0 && total > options_.max_leaves / n) total = options_.max_leaves + 1;
      else total *= n;
      if (total > options_.max_leaves)
        return absl::FailedPreconditionError(StrCat("equal guidance would cover more than ", options_.max_leaves,
                                                    " leaves (the limit); set the target on a smaller total"));
    }
    GuidanceArray<uint64_t> keys;
    LargeVector<SpreadLeaf> leaves;
    keys.reserve(total);
    leaves.reserve(total + 1);
    if (has_nested) leaves.push_back({held_sum, 1.0, true});
    const int dims = layout_.dims();
    std::vector<size_t> pos(dims, 0);
    std::vector<uint64_t> acc(held.words());
    // Odometer in key order: the last dimension of the layout order (lowest bits) turns fastest.
    for (size_t left = total; left > 0; --left) {
      uint64_t key = 0;
      double w = 1;
      std::fill(acc.begin(), acc.end(), ~uint64_t{0});
      for (int d = 0; d < dims; ++d) {
        auto [o, wd] = region.leaves[d][pos[d]];
        key |= uint64_t{o} << layout_.shift(d);
        w *= wd;
        if (!held.empty()) {
          const uint64_t* m = held.mask(d, o);
          for (size_t k = 0; k < acc.size(); ++k) acc[k] &= m[k];
        }
      }
      bool is_held = false;
      for (uint64_t a : acc) is_held |= a != 0;
      if (!is_held && !IsText(key)) {
        keys.push_back(key);
        leaves.push_back({std::nullopt, w, false});
      }
      for (int i = dims - 1; i >= 0; --i) {
        const int d = order[i];
        if (++pos[d] < region.leaves[d].size()) break;
        pos[d] = 0;
      }
    }
    if (keys.empty() && has_nested) {
      // The nested targets govern every leaf: fine if they add up to this target.
      const double rest = target.value - held_sum;
      if (std::abs(rest) <= 1e-9 * std::max({1.0, std::abs(target.value), std::abs(held_sum)})) {
        out->keys.clear(), out->values.clear(), out->equal = true;
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(
          StrCat("the nested targets cover every leaf below it and leave a remainder of ", FormatNumber(rest),
                 " with no leaf to take it"));
    }
    QA_ASSIGN_OR_RETURN(auto result, ComputeSpread(std::span<const SpreadLeaf>(leaves.data(), leaves.size()),
                                                   {SpreadMethod::kEqual, target.value}));
    const size_t skip = has_nested ? 1 : 0;
    out->values.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) out->values[i] = *result[i + skip] + 0.0;
    out->keys = std::move(keys);
    out->equal = true;
    return absl::OkStatus();
  }

  const TargetLayer& layer_;
  const AppModel& model_;
  const CellStore& store_;
  const KeyLayout& layout_;
  const GuidanceOptions& options_;
};

}  // namespace

absl::StatusOr<std::vector<TargetGuidance>> ComputeGuidance(const TargetLayer& layer, const CellStore& store,
                                                            const GuidanceOptions& options,
                                                            std::vector<TargetGuidance>* recycle) {
  return GuidanceBuilder(layer, store, options).Run(recycle);
}

}  // namespace quantatom

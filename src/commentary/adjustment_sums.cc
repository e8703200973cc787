#include "commentary/adjustment_sums.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace quantatom::commentary_internal {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
// Beyond this many targets in a dimension, the union of their postings costs more than it
// saves: such dimensions are filtered per candidate instead.
constexpr size_t kMaxTargetsForFilter = 64;

struct Reach {
  uint32_t target;
  double weight;
};

// Targets of one dimension and, lazily per member, the targets its ancestors-or-self include.
class DimensionTargets {
 public:
  explicit DimensionTargets(const Dimension& dim)
      : dim_(dim), target_of_(dim.member_count(), kNone), memo_begin_(dim.member_count(), kNone),
        memo_end_(dim.member_count(), kNone) {}

  uint32_t AddTarget(MemberId m) {
    if (target_of_[m] == kNone) {
      target_of_[m] = static_cast<uint32_t>(targets_.size());
      targets_.push_back(m);
    }
    return target_of_[m];
  }
  const std::vector<MemberId>& targets() const { return targets_; }

  std::span<const Reach> ReachOf(MemberId m) {
    if (memo_begin_[m] == kNone) [[unlikely]] {
      memo_begin_[m] = static_cast<uint32_t>(reach_.size());
      for (const AncestorWeight& a : dim_.ancestors(m))
        if (target_of_[a.member] != kNone) reach_.push_back({target_of_[a.member], a.weight});
      memo_end_[m] = static_cast<uint32_t>(reach_.size());
    }
    return {reach_.data() + memo_begin_[m], reach_.data() + memo_end_[m]};
  }

 private:
  const Dimension& dim_;
  std::vector<uint32_t> target_of_;
  std::vector<MemberId> targets_;
  std::vector<uint32_t> memo_begin_, memo_end_;
  std::vector<Reach> reach_;
};

// Neumaier's compensated sum, so that many adjustments of mixed magnitude add up as exactly as
// a double allows, in a fixed order (ascending id).
struct CompensatedSum {
  double sum = 0, compensation = 0;
  void Add(double x) {
    double t = sum + x;
    compensation += std::abs(sum) >= std::abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + compensation; }
};

// Maps a tuple of target indexes to the cells that have it (a grid may list a cell twice).
class CellsByTargets {
 public:
  CellsByTargets(const std::vector<uint32_t>& radix, const std::vector<uint32_t>& cell_targets, size_t cells)
      : dims_(radix.size()), radix_(radix), next_(cells, kNone) {
    unsigned __int128 product = 1;
    for (uint32_t r : radix) {
      product *= r;
      if (product > std::numeric_limits<uint64_t>::max()) packed_ = false;
    }
    // A grid is mostly a full cross product of its targets: then a dense table, indexed by the
    // packed key, replaces the hash lookup in the inner loop.
    dense_ = packed_ && product <= std::max<size_t>(4 * cells, 4096);
    if (dense_) dense_heads_.assign(static_cast<size_t>(product), kNone);
    for (size_t i = cells; i-- > 0;) {  // backwards, so that chains list cells in grid order
      const uint32_t* tuple = cell_targets.data() + i * dims_;
      uint32_t* head = dense_    ? &dense_heads_[Pack(tuple)]
                       : packed_ ? &by_key_.try_emplace(Pack(tuple), kNone).first->second
                                 : &by_tuple_.try_emplace(std::vector<uint32_t>(tuple, tuple + dims_), kNone).first->second;
      next_[i] = *head;
      *head = static_cast<uint32_t>(i);
    }
  }
  uint32_t First(const uint32_t* tuple) const {
    if (dense_) return dense_heads_[Pack(tuple)];
    if (packed_) {
      auto it = by_key_.find(Pack(tuple));
      return it == by_key_.end() ? kNone : it->second;
    }
    auto it = by_tuple_.find(std::vector<uint32_t>(tuple, tuple + dims_));
    return it == by_tuple_.end() ? kNone : it->second;
  }
  uint32_t Next(uint32_t cell) const { return next_[cell]; }

 private:
  uint64_t Pack(const uint32_t* tuple) const {
    uint64_t key = 0;
    for (size_t d = 0; d < dims_; ++d) key = key * radix_[d] + tuple[d];
    return key;
  }
  size_t dims_;
  std::vector<uint32_t> radix_;
  bool packed_ = true;
  bool dense_ = false;
  std::vector<uint32_t> dense_heads_;
  absl::flat_hash_map<uint64_t, uint32_t> by_key_;
  absl::flat_hash_map<std::vector<uint32_t>, uint32_t> by_tuple_;
  std::vector<uint32_t> next_;
};

// Hashes of the tuple prefixes the grid's cells have, per length (in the order of
// `by_targets_descending`): a walk over combinations stops at a prefix no cell has. A hash
// collision only lets a walk go deeper; the final lookup is exact.
class CellPrefixes {
 public:
  CellPrefixes(const std::vector<uint32_t>& cell_targets, const std::vector<uint32_t>& radix, size_t cells)
      : dims_(radix.size()), order_(radix.size()), by_length_(radix.size()) {
    for (size_t d = 0; d < dims_; ++d) order_[d] = d;
    // Dimensions with many targets first: they tell cells apart soonest.
    std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) { return radix[a] > radix[b]; });
    for (size_t i = 0; i < cells; ++i) {
      uint64_t h = 0;
      for (size_t k = 0; k < dims_; ++k) {
        h = Extend(h, cell_targets[i * dims_ + order_[k]]);
        by_length_[k].insert(h);
      }
    }
  }
  static uint64_t Extend(uint64_t h, uint32_t target) {
    h = (h ^ (target + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2))) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
  }
  size_t dims() const { return dims_; }
  size_t dimension_at(size_t k) const { return order_[k]; }
  bool Has(size_t k, uint64_t h) const { return by_length_[k].contains(h); }

 private:
  size_t dims_;
  std::vector<size_t> order_;
  std::vector<absl::flat_hash_set<uint64_t>> by_length_;
};

// Calls `emit(weight)` with `tuple` set, for each combination of reached targets whose every
// prefix some cell has.
template <typename Emit>
void WalkCombinations(const CellPrefixes& prefixes, const std::vector<std::span<const Reach>>& reach, size_t k,
                      uint64_t h, double weight, std::vector<uint32_t>& tuple, const Emit& emit) {
  if (k == prefixes.dims()) {
    emit(weight);
    return;
  }
  const size_t d = prefixes.dimension_at(k);
  for (const Reach& r : reach[d]) {
    uint64_t next = CellPrefixes::Extend(h, r.target);
    if (!prefixes.Has(k, next)) continue;
    tuple[d] = r.target;
    WalkCombinations(prefixes, reach, k + 1, next, weight * r.weight, tuple, emit);
  }
}

}  // namespace

std::vector<AdjustmentSum> SumAdjustments(const RegionIndex& index, std::span<const Coordinate> cells) {
  std::vector<AdjustmentSum> out(cells.size());
  const Roaring& active = index.active_adjustments();
  if (cells.empty() || active.isEmpty()) return out;
  const size_t dims = index.dims();
  const AppModel& model = index.model();

  std::vector<DimensionTargets> targets;
  targets.reserve(dims);
  for (size_t d = 0; d < dims; ++d) targets.emplace_back(model.dimensions[d]);
  std::vector<uint32_t> cell_targets(cells.size() * dims);
  for (size_t i = 0; i < cells.size(); ++i)
    for (size_t d = 0; d < dims; ++d) cell_targets[i * dims + d] = targets[d].AddTarget(cells[i][d]);
  std::vector<uint32_t> radix(dims);
  for (size_t d = 0; d < dims; ++d) radix[d] = static_cast<uint32_t>(targets[d].targets().size());
  CellsByTargets cells_by_targets(radix, cell_targets, cells.size());

  // Candidates: active adjustments under some target in each dimension with few targets.
  std::vector<size_t> by_selectivity(dims);
  for (size_t d = 0; d < dims; ++d) by_selectivity[d] = d;
  std::sort(by_selectivity.begin(), by_selectivity.end(), [&](size_t a, size_t b) { return radix[a] < radix[b]; });
  Roaring candidates = active;
  for (size_t d : by_selectivity) {
    if (radix[d] > kMaxTargetsForFilter || candidates.isEmpty()) break;
    std::vector<const Roaring*> lists;
    for (MemberId m : targets[d].targets()) lists.push_back(&index.postings(d, m));
    candidates &= lists.size() == 1 ? *lists[0] : Roaring::fastunion(lists.size(), lists.data());
  }

  std::vector<CompensatedSum> sums(cells.size());
  std::vector<std::span<const Reach>> reach(dims);
  std::vector<uint32_t> tuple(dims);
  std::optional<CellPrefixes> prefixes;  // built on the first adjustment that needs it
  // Ids in bulk: iterating the bitmap one id at a time costs more than the work per id.
  std::vector<uint32_t> ids(candidates.cardinality());
  candidates.toUint32Array(ids.data());
  for (uint32_t id : ids) {
    std::span<const MemberId> coord = index.coordinate(id);
    bool reaches = true, single = true;
    double weight = 1;
    for (size_t d = 0; d < dims && reaches; ++d) {
      reach[d] = targets[d].ReachOf(coord[d]);
      reaches = !reach[d].empty();
      if (!reaches) break;
      single &= reach[d].size() == 1;
      tuple[d] = reach[d][0].target;
      weight *= reach[d][0].weight;
    }
    if (!reaches) continue;
    const double value = index.adjustment(id);
    if (single) {  // the usual case: one target per dimension, so one tuple
      for (uint32_t cell = cells_by_targets.First(tuple.data()); cell != kNone; cell = cells_by_targets.Next(cell)) {
        sums[cell].Add(value * weight);
        out[cell].any = true;
      }
      continue;
    }
    // Several targets in some dimension (a grid holding a member and its ancestor). The
    // combinations multiply across dimensions, so walk them depth-first and cut every prefix
    // that no cell starts with.
    if (!prefixes) prefixes.emplace(cell_targets, radix, cells.size());
    WalkCombinations(*prefixes, reach, 0, 0, 1.0, tuple, [&](double combination_weight) {
      for (uint32_t cell = cells_by_targets.First(tuple.data()); cell != kNone; cell = cells_by_targets.Next(cell)) {
        sums[cell].Add(value * combination_weight);
        out[cell].any = true;
      }
    });
  }
  for (size_t i = 0; i < cells.size(); ++i) out[i].sum = sums[i].value();
  return out;
}

}  // namespace quantatom::commentary_internal

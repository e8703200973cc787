#include "targets/targets.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "base/strings.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace quantatom {

const Variance& LayerValues::Get(VarianceKind kind) const {
  switch (kind) {
    case VarianceKind::kActualVsPlan: return actual_vs_plan;
    case VarianceKind::kPlanVsTarget: return plan_vs_target;
    case VarianceKind::kActualVsTarget: return actual_vs_target;
  }
  return actual_vs_plan;
}

namespace {

LayerValues MakeLayers(std::optional<double> plan, std::optional<double> actual, std::optional<double> target) {
  LayerValues v;
  v.plan = plan, v.actual = actual, v.target = target;
  v.actual_vs_plan = ComputeVariance(actual, plan);
  v.plan_vs_target = ComputeVariance(plan, target);
  v.actual_vs_target = ComputeVariance(actual, target);
  return v;
}

}  // namespace

Targets::Targets(const Cube* cube, TargetsConfig config, GuidanceOptions options)
    : cube_(cube), model_(cube->model()), config_(config), options_(options), layer_(&cube->model(), config) {}

absl::Status Targets::ValidateCoordinate(const Coordinate& coord) const {
  if (coord.size() != model_.dimensions.size())
    return absl::InvalidArgumentError(
        StrCat("a coordinate needs ", model_.dimensions.size(), " members, got ", coord.size()));
  for (size_t d = 0; d < coord.size(); ++d)
    if (coord[d] >= model_.dimensions[d].member_count())
      return absl::NotFoundError(
          StrCat("member id ", coord[d], " is not in dimension '", model_.dimensions[d].name(), "'"));
  return absl::OkStatus();
}

absl::Status Targets::Set(const Target& target) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(target.coord));
  if (model_.IsLeaf(target.coord)) {
    const uint64_t key = cube_->PackLeaf(target.coord);
    if (cube_->WithStore([&](const CellStore& store) { return store.Get(key).is_text(); }))
      return absl::InvalidArgumentError(
          StrCat("cannot set a target on the text cell ", model_.FormatCoordinate(target.coord)));
  }
  std::lock_guard lock(mu_);
  TargetLayer next = layer_;
  QA_RETURN_IF_ERROR(next.Set(target));
  return CommitLocked(std::move(next));
}

absl::Status Targets::Remove(const Coordinate& coord) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(coord));
  std::lock_guard lock(mu_);
  TargetLayer next = layer_;
  if (!next.Remove(coord))
    return absl::NotFoundError(StrCat("there is no target at ", model_.FormatCoordinate(coord)));
  return CommitLocked(std::move(next));
}

std::vector<Target> Targets::List() const {
  std::lock_guard lock(mu_);
  return layer_.targets();
}

absl::Status Targets::RecomputeLocked(const TargetLayer& layer) {
  std::vector<TargetGuidance> recycle;
  if (guidance_ && guidance_.use_count() == 1) recycle = std::move(*guidance_);
  guidance_.reset();  // stale from here on, whatever happens below
  uint64_t data_version = 0;
  auto guidance = cube_->WithStore([&](const CellStore& store) {
    data_version = cube_->data_version();
    return ComputeGuidance(layer, store, options_, &recycle);
  });
  QA_RETURN_IF_ERROR(guidance.status());
  guidance_ = std::make_shared<std::vector<TargetGuidance>>(*std::move(guidance));
  guidance_layer_version_ = layer.version();
  guidance_data_version_ = data_version;
  return absl::OkStatus();
}

absl::Status Targets::CommitLocked(TargetLayer layer) {
  absl::Status s = RecomputeLocked(layer);
  if (!s.ok()) return s;  // the current layer's guidance is recomputed on the next read
  layer_ = std::move(layer);
  config_ = layer_.config();
  guidance_layer_version_ = layer_.version();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const std::vector<TargetGuidance>>> Targets::GuidanceLocked() {
  if (!guidance_ || guidance_layer_version_ != layer_.version() || guidance_data_version_ != cube_->data_version())
    QA_RETURN_IF_ERROR(RecomputeLocked(layer_));
  return std::shared_ptr<const std::vector<TargetGuidance>>(guidance_);
}

absl::StatusOr<std::shared_ptr<const std::vector<TargetGuidance>>> Targets::Guidance() {
  std::lock_guard lock(mu_);
  return GuidanceLocked();
}

absl::StatusOr<std::optional<double>> Targets::GuidanceAt(const Coordinate& leaf) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(leaf));
  if (!model_.IsLeaf(leaf))
    return absl::InvalidArgumentError(
        StrCat(model_.FormatCoordinate(leaf), " is not a leaf coordinate: read TargetAt for totals"));
  std::lock_guard lock(mu_);
  QA_ASSIGN_OR_RETURN(auto guidance, GuidanceLocked());
  const uint64_t key = cube_->PackLeaf(leaf);
  // Each leaf has at most one governing target, so the first hit is the answer.
  for (const TargetGuidance& g : *guidance)
    if (std::optional<double> v = g.Find(key)) return v;
  return std::optional<double>();
}

Targets::GuidanceSplit Targets::SumGuidance(const std::vector<TargetGuidance>& guidance, const Coordinate& coord,
                                            const std::vector<int>& split_dims,
                                            const std::vector<std::vector<MemberId>>& split_members) const {
  const int dims = static_cast<int>(model_.dimensions.size());
  const KeyLayout& layout = cube_->layout();
  // Per dimension, the weight of each leaf toward `coord` (NaN: not below it).
  std::vector<std::vector<double>> weight(dims);
  for (int d = 0; d < dims; ++d) {
    weight[d].assign(model_.dimensions[d].leaf_count(), std::nan(""));
    for (auto [o, w] : model_.dimensions[d].LeavesUnder(coord[d])) weight[d][o] = w;
  }
  // In a split dimension a leaf usually lies under one of the members: a flat slot per leaf
  // ordinal (-1: none). With alternate parents it may lie under several; those leaves keep the
  // rest in `extra`.
  const size_t splits = split_dims.size();
  struct SplitMap {
    std::vector<int32_t> slot;
    std::vector<double> weight;
    std::vector<std::vector<std::pair<uint32_t, double>>> extra;  // empty unless needed
  };
  std::vector<SplitMap> maps(splits);
  std::vector<size_t> slot_base(splits + 1, 1);  // accumulator 0 is the total
  for (size_t i = 0; i < splits; ++i) {
    SplitMap& m = maps[i];
    const uint32_t leaves = model_.dimensions[split_dims[i]].leaf_count();
    m.slot.assign(leaves, -1);
    m.weight.assign(leaves, 0.0);
    for (size_t s = 0; s < split_members[i].size(); ++s)
      for (auto [o, w] : model_.dimensions[split_dims[i]].LeavesUnder(split_members[i][s])) {
        if (m.slot[o] < 0) {
          m.slot[o] = static_cast<int32_t>(s), m.weight[o] = w;
        } else {
          if (m.extra.empty()) m.extra.resize(leaves);
          m.extra[o].emplace_back(static_cast<uint32_t>(s), w);
        }
      }
    slot_base[i + 1] = slot_base[i] + split_members[i].size();
  }
  // Targets whose leaves all miss `coord` in some dimension are skipped whole.
  struct Chunk {
    const TargetGuidance* g;
    size_t begin, end;
  };
  std::vector<Chunk> chunks;
  const auto& targets = layer_.targets();
  for (size_t t = 0; t < guidance.size(); ++t) {
    bool meets = true;
    for (int d = 0; d < dims && meets; ++d) {
      meets = false;
      for (auto [o, w] : model_.dimensions[d].LeavesUnder(targets[t].coord[d]))
        if (!std::isnan(weight[d][o])) {
          meets = true;
          break;
        }
    }
    if (!meets) continue;
    for (size_t b = 0; b < guidance[t].size(); b += 65536)
      chunks.push_back({&guidance[t], b, std::min(guidance[t].size(), b + 65536)});
  }
  struct Acc {
    std::vector<double> sum;
    std::vector<uint8_t> any;
  };
  std::vector<Acc> acc(chunks.size(), Acc{std::vector<double>(slot_base.back(), 0.0),
                                          std::vector<uint8_t>(slot_base.back(), 0)});
  auto run = [&](size_t c) {
    const Chunk& chunk = chunks[c];
    Acc& a = acc[c];
    std::vector<double> w(dims);
    for (size_t k = chunk.begin; k < chunk.end; ++k) {
      const uint64_t key = chunk.g->keys[k];
      const double g = chunk.g->values[k];
      double all = 1;
      for (int d = 0; d < dims; ++d) all *= (w[d] = weight[d][layout.Get(key, d)]);
      if (std::isnan(all)) continue;  // a child below `coord` is below it too: nothing to split
      a.sum[0] += all * g, a.any[0] = 1;
      for (size_t i = 0; i < splits; ++i) {
        const int sd = split_dims[i];
        double others = g;
        for (int d = 0; d < dims; ++d)
          if (d != sd) others *= w[d];
        const SplitMap& m = maps[i];
        const uint32_t o = layout.Get(key, sd);
        if (m.slot[o] < 0) continue;
        a.sum[slot_base[i] + m.slot[o]] += others * m.weight[o];
        a.any[slot_base[i] + m.slot[o]] = 1;
        if (!m.extra.empty())
          for (auto [extra_slot, ws] : m.extra[o]) {
            a.sum[slot_base[i] + extra_slot] += others * ws;
            a.any[slot_base[i] + extra_slot] = 1;
          }
      }
    }
  };
  if (options_.parallel && chunks.size() > 1) {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks.size(), 1), [&](const tbb::blocked_range<size_t>& r) {
      for (size_t c = r.begin(); c != r.end(); ++c) run(c);
    });
  } else {
    for (size_t c = 0; c < chunks.size(); ++c) run(c);
  }
  // Chunks are added in a fixed order, so the sums do not depend on the thread schedule.
  std::vector<double> sum(slot_base.back(), 0.0);
  std::vector<uint8_t> any(slot_base.back(), 0);
  for (const Acc& a : acc)
    for (size_t s = 0; s < sum.size(); ++s) sum[s] += a.sum[s], any[s] |= a.any[s];
  auto value = [&](size_t s) { return any[s] ? std::optional<double>(sum[s] + 0.0) : std::nullopt; };
  GuidanceSplit out;
  out.total = value(0);
  out.by_member.resize(splits);
  for (size_t i = 0; i < splits; ++i)
    for (size_t s = 0; s < split_members[i].size(); ++s) out.by_member[i].push_back(value(slot_base[i] + s));
  return out;
}

std::optional<double> Targets::TargetAtLocked(const std::vector<TargetGuidance>& guidance,
                                              const Coordinate& coord) const {
  const int i = layer_.Find(coord);
  if (i >= 0) return layer_.targets()[i].value;
  return SumGuidance(guidance, coord, {}, {}).total;
}

absl::StatusOr<std::optional<double>> Targets::TargetAt(const Coordinate& coord) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(coord));
  std::lock_guard lock(mu_);
  QA_ASSIGN_OR_RETURN(auto guidance, GuidanceLocked());
  return TargetAtLocked(*guidance, coord);
}

absl::StatusOr<LayerValues> Targets::Layers(const Coordinate& coord) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(coord));
  std::lock_guard lock(mu_);
  if (config_.scenario_dim < 0 || config_.plan == kNoMember || config_.actual == kNoMember)
    return absl::FailedPreconditionError("targets: no scenario dimension with plan and actual members is configured");
  QA_ASSIGN_OR_RETURN(auto guidance, GuidanceLocked());
  auto read = [&](MemberId scenario) -> absl::StatusOr<std::optional<double>> {
    Coordinate c = coord;
    c[config_.scenario_dim] = scenario;
    QA_ASSIGN_OR_RETURN(CellValue v, cube_->ReadCell(c));
    return v.is_number() ? std::optional<double>(v.number) : std::nullopt;
  };
  QA_ASSIGN_OR_RETURN(std::optional<double> plan, read(config_.plan));
  QA_ASSIGN_OR_RETURN(std::optional<double> actual, read(config_.actual));
  Coordinate at_plan = coord;
  at_plan[config_.scenario_dim] = config_.plan;
  return MakeLayers(plan, actual, TargetAtLocked(*guidance, at_plan));
}

absl::StatusOr<std::vector<Contributor>> Targets::TopContributors(const Coordinate& coord, VarianceKind kind, int dim,
                                                                  size_t top_n) {
  QA_RETURN_IF_ERROR(ValidateCoordinate(coord));
  const int dims = static_cast<int>(model_.dimensions.size());
  if (dim >= dims || dim < -1) return absl::InvalidArgumentError(StrCat("no dimension ", dim));
  std::lock_guard lock(mu_);
  const int sd = config_.scenario_dim;
  if (sd < 0 || config_.plan == kNoMember || config_.actual == kNoMember)
    return absl::FailedPreconditionError("targets: no scenario dimension with plan and actual members is configured");
  if (dim >= 0 && dim == sd)
    return absl::InvalidArgumentError("contributors are ranked along a dimension other than the scenario one");
  QA_ASSIGN_OR_RETURN(auto guidance, GuidanceLocked());

  // The dimensions to rank along, with the children and their edge weights.
  std::vector<int> split_dims;
  std::vector<std::vector<MemberId>> children;
  std::vector<std::vector<double>> edge_weights;
  for (int d = 0; d < dims; ++d) {
    if (d == sd || (dim >= 0 && d != dim)) continue;
    const auto edges = model_.dimensions[d].child_edges(coord[d]);
    if (edges.empty()) continue;
    split_dims.push_back(d);
    children.emplace_back();
    edge_weights.emplace_back();
    for (const Edge& e : edges) children.back().push_back(e.child), edge_weights.back().push_back(e.weight);
  }
  // Plan and actual of every child, and of the parent. One consolidation over the cross product
  // of the children of every split dimension gives them all: a child's total is the sum over
  // the other dimensions' children times their edge weights (every path from a leaf to a
  // member passes through exactly one of its children), and the parent's is the sum over all.
  // When that cross product is large, one consolidation per dimension instead.
  const bool two = config_.actual != config_.plan;
  struct Totals {
    double sum = 0;
    bool any = false;
    void Add(double v) { sum += v, any = true; }
    std::optional<double> value() const { return any ? std::optional<double>(sum + 0.0) : std::nullopt; }
  };
  std::vector<std::vector<std::array<Totals, 2>>> child_totals(split_dims.size());
  for (size_t i = 0; i < split_dims.size(); ++i) child_totals[i].resize(children[i].size());
  std::array<Totals, 2> parent_totals;
  auto consolidate = [&](const std::vector<size_t>& group, bool with_parent) -> absl::Status {
    std::vector<std::vector<MemberId>> request(dims);
    for (int e = 0; e < dims; ++e) request[e] = {coord[e]};
    for (size_t i : group) request[split_dims[i]] = children[i];
    request[sd] = {config_.plan};
    if (two) request[sd].push_back(config_.actual);
    QA_ASSIGN_OR_RETURN(DenseTotals totals, cube_->Consolidate(request));
    std::vector<size_t> pos(group.size(), 0);
    for (size_t scen = 0; scen < (two ? 2u : 1u); ++scen) {
      std::fill(pos.begin(), pos.end(), 0);
      while (true) {
        size_t at = scen * totals.stride[sd];
        double all = 1;
        for (size_t g = 0; g < group.size(); ++g) {
          at += pos[g] * totals.stride[split_dims[group[g]]];
          all *= edge_weights[group[g]][pos[g]];
        }
        if (totals.count[at] > 0) {
          const double v = totals.sum[at];
          if (with_parent) parent_totals[scen].Add(all * v);
          for (size_t g = 0; g < group.size(); ++g) {
            double others = v;
            for (size_t h = 0; h < group.size(); ++h)
              if (h != g) others *= edge_weights[group[h]][pos[h]];
            child_totals[group[g]][pos[g]][scen].Add(others);
          }
        }
        size_t g = 0;
        while (g < group.size() && ++pos[g] == children[group[g]].size()) pos[g++] = 0;
        if (g == group.size()) break;
      }
    }
    return absl::OkStatus();
  };
  size_t cross = 1;
  std::vector<size_t> all_splits;
  for (size_t i = 0; i < split_dims.size(); ++i) {
    all_splits.push_back(i);
    cross = std::min<size_t>(cross * children[i].size(), size_t{1} << 40);
  }
  if (cross <= (size_t{1} << 20)) {
    QA_RETURN_IF_ERROR(consolidate(all_splits, /*with_parent=*/true));
  } else {
    for (size_t i : all_splits) QA_RETURN_IF_ERROR(consolidate({i}, /*with_parent=*/i == 0));
  }
  auto total_at = [&](int split, size_t child, bool actual) -> std::optional<double> {
    const size_t scen = actual && two ? 1 : 0;
    return split < 0 ? parent_totals[scen].value() : child_totals[split][child][scen].value();
  };
  Coordinate at_plan = coord;
  at_plan[sd] = config_.plan;
  const GuidanceSplit sums = SumGuidance(*guidance, at_plan, split_dims, children);
  auto target_of = [&](const Coordinate& c, std::optional<double> guided) {
    const int i = layer_.Find(c);
    return i >= 0 ? std::optional<double>(layer_.targets()[i].value) : guided;
  };
  const LayerValues parent = MakeLayers(total_at(-1, 0, false), total_at(-1, 0, true), target_of(at_plan, sums.total));
  const std::optional<double> parent_var = parent.Get(kind).abs;

  std::vector<Contributor> out;
  for (size_t i = 0; i < split_dims.size(); ++i) {
    for (size_t c = 0; c < children[i].size(); ++c) {
      Coordinate child = at_plan;
      child[split_dims[i]] = children[i][c];
      Contributor k;
      k.dim = split_dims[i];
      k.member = children[i][c];
      k.edge_weight = edge_weights[i][c];
      k.values = MakeLayers(total_at(static_cast<int>(i), c, false), total_at(static_cast<int>(i), c, true),
                            target_of(child, sums.by_member[i][c]));
      k.variance = k.values.Get(kind);
      if (!k.variance.abs) continue;
      if (parent_var && *parent_var != 0) k.share = k.edge_weight * *k.variance.abs / *parent_var;
      out.push_back(std::move(k));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Contributor& a, const Contributor& b) {
    return std::abs(*a.variance.abs) > std::abs(*b.variance.abs);
  });
  if (out.size() > top_n) out.resize(top_n);
  return out;
}

std::string Targets::Encode() const {
  std::lock_guard lock(mu_);
  return EncodeTargetLayer(layer_);
}

absl::Status Targets::Decode(std::string_view bytes) {
  QA_ASSIGN_OR_RETURN(TargetLayer layer, DecodeTargetLayer(&model_, bytes));
  std::lock_guard lock(mu_);
  return CommitLocked(std::move(layer));
}

}  // namespace quantatom

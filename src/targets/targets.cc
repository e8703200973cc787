#include "targets/targets.h"

#include <algorithm>
#include <cmath>

#include "base/strings.h"

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

absl::Status Targets::CommitLocked(TargetLayer layer) {
  absl::Status status;
  uint64_t data_version = 0;
  auto guidance = cube_->WithStore([&](const CellStore& store) {
    data_version = cube_->data_version();
    return ComputeGuidance(layer, store, options_);
  });
  QA_RETURN_IF_ERROR(guidance.status());
  layer_ = std::move(layer);
  config_ = layer_.config();
  guidance_ = std::make_shared<const std::vector<TargetGuidance>>(*std::move(guidance));
  guidance_layer_version_ = layer_.version();
  guidance_data_version_ = data_version;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const std::vector<TargetGuidance>>> Targets::GuidanceLocked() {
  if (guidance_ && guidance_layer_version_ == layer_.version() && guidance_data_version_ == cube_->data_version())
    return guidance_;
  uint64_t data_version = 0;
  auto guidance = cube_->WithStore([&](const CellStore& store) {
    data_version = cube_->data_version();
    return ComputeGuidance(layer_, store, options_);
  });
  QA_RETURN_IF_ERROR(guidance.status());
  guidance_ = std::make_shared<const std::vector<TargetGuidance>>(*std::move(guidance));
  guidance_layer_version_ = layer_.version();
  guidance_data_version_ = data_version;
  return guidance_;
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

std::vector<std::optional<double>> Targets::GuidanceSums(const std::vector<TargetGuidance>& guidance,
                                                         const Coordinate& coord, int split_dim,
                                                         const std::vector<MemberId>& split) const {
  const size_t dims = model_.dimensions.size();
  const KeyLayout& layout = cube_->layout();
  // Per dimension, the weight of each leaf toward `coord` (NaN: not below it).
  std::vector<std::vector<double>> weight(dims);
  for (size_t d = 0; d < dims; ++d) {
    weight[d].assign(model_.dimensions[d].leaf_count(), std::nan(""));
    if (static_cast<int>(d) == split_dim) continue;
    for (auto [o, w] : model_.dimensions[d].LeavesUnder(coord[d])) weight[d][o] = w;
  }
  // In the split dimension, a leaf may lie under several of the members (alternate parents).
  const size_t slots = split_dim < 0 ? 1 : split.size();
  std::vector<std::vector<std::pair<uint32_t, double>>> slot_of(split_dim < 0 ? 0 : model_.dimensions[split_dim].leaf_count());
  for (size_t s = 0; split_dim >= 0 && s < split.size(); ++s)
    for (auto [o, w] : model_.dimensions[split_dim].LeavesUnder(split[s])) slot_of[o].emplace_back(s, w);
  std::vector<double> sum(slots, 0);
  std::vector<bool> any(slots, false);
  for (const TargetGuidance& g : guidance) {
    for (size_t k = 0; k < g.size(); ++k) {
      const uint64_t key = g.keys[k];
      double w = 1;
      for (size_t d = 0; d < dims && !std::isnan(w); ++d)
        if (static_cast<int>(d) != split_dim) w *= weight[d][layout.Get(key, static_cast<int>(d))];
      if (std::isnan(w)) continue;
      if (split_dim < 0) {
        sum[0] += w * g.values[k], any[0] = true;
        continue;
      }
      for (auto [s, ws] : slot_of[layout.Get(key, split_dim)]) sum[s] += w * ws * g.values[k], any[s] = true;
    }
  }
  std::vector<std::optional<double>> out(slots);
  for (size_t s = 0; s < slots; ++s)
    if (any[s]) out[s] = sum[s] + 0.0;
  return out;
}

std::optional<double> Targets::TargetAtLocked(const std::vector<TargetGuidance>& guidance,
                                              const Coordinate& coord) const {
  const int i = layer_.Find(coord);
  if (i >= 0) return layer_.targets()[i].value;
  return GuidanceSums(guidance, coord, -1, {})[0];
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
  const int dims = static_cast<int>(model_.dimensions.size());
  const int sd = config_.scenario_dim;
  if (dim >= dims || dim < -1) return absl::InvalidArgumentError(StrCat("no dimension ", dim));
  if (dim >= 0 && dim == sd)
    return absl::InvalidArgumentError("contributors are ranked along a dimension other than the scenario one");
  QA_ASSIGN_OR_RETURN(LayerValues parent, Layers(coord));
  const std::optional<double> parent_var = parent.Get(kind).abs;

  std::lock_guard lock(mu_);
  QA_ASSIGN_OR_RETURN(auto guidance, GuidanceLocked());
  std::vector<Contributor> out;
  for (int d = 0; d < dims; ++d) {
    if (d == sd || (dim >= 0 && d != dim)) continue;
    const auto edges = model_.dimensions[d].child_edges(coord[d]);
    if (edges.empty()) continue;
    std::vector<MemberId> children;
    for (const Edge& e : edges) children.push_back(e.child);
    // Plan and actual of every child in one consolidation.
    std::vector<std::vector<MemberId>> request(dims);
    for (int e = 0; e < dims; ++e) request[e] = {coord[e]};
    request[d] = children;
    request[sd] = {config_.plan};
    if (config_.actual != config_.plan) request[sd].push_back(config_.actual);
    QA_ASSIGN_OR_RETURN(DenseTotals totals, cube_->Consolidate(request));
    auto total_at = [&](size_t child, size_t scenario) -> std::optional<double> {
      size_t at = child * totals.stride[d] + scenario * totals.stride[sd];
      return totals.count[at] > 0 ? std::optional<double>(totals.sum[at]) : std::nullopt;
    };
    Coordinate at_plan = coord;
    at_plan[sd] = config_.plan;
    const std::vector<std::optional<double>> sums = GuidanceSums(*guidance, at_plan, d, children);
    for (size_t c = 0; c < children.size(); ++c) {
      Coordinate child = at_plan;
      child[d] = children[c];
      const int explicit_target = layer_.Find(child);
      Contributor k;
      k.dim = d;
      k.member = children[c];
      k.edge_weight = edges[c].weight;
      k.values = MakeLayers(total_at(c, 0), total_at(c, config_.actual != config_.plan ? 1 : 0),
                            explicit_target >= 0 ? std::optional<double>(layer_.targets()[explicit_target].value)
                                                 : sums[c]);
      k.variance = k.values.Get(kind);
      if (!k.variance.abs) continue;
      if (parent_var && *parent_var != 0) k.share = k.edge_weight * *k.variance.abs / *parent_var;
      out.push_back(std::move(k));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Contributor& a, const Contributor& b) { return std::abs(*a.variance.abs) > std::abs(*b.variance.abs); });
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

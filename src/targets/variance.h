// Variance between two layers of a coordinate (actual vs plan, plan vs target, actual vs target).
//
// Empty is not 0 (docs/semantics.md), and the rules keep it so (docs/targets.md):
//   absolute = value - base, where an empty side counts as 0; empty only when both are empty;
//   percent  = absolute / |base| x 100; empty when the base is empty or 0 (no percent of
//              nothing), so a percent is never infinite.
// Dividing by |base| keeps the sign of the absolute variance: +10% means above the base, also
// for negative bases (costs entered as negative numbers).
#pragma once

#include <optional>
#include <string_view>

namespace quantatom {

enum class VarianceKind { kActualVsPlan, kPlanVsTarget, kActualVsTarget };
// "actual-plan", "plan-target", "actual-target".
std::string_view VarianceKindName(VarianceKind kind);

struct Variance {
  std::optional<double> abs;
  std::optional<double> pct;
  bool operator==(const Variance&) const = default;
};

Variance ComputeVariance(std::optional<double> value, std::optional<double> base);

}  // namespace quantatom

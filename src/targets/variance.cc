#include "targets/variance.h"

#include <cmath>

namespace quantatom {

std::string_view VarianceKindName(VarianceKind kind) {
  switch (kind) {
    case VarianceKind::kActualVsPlan: return "actual-plan";
    case VarianceKind::kPlanVsTarget: return "plan-target";
    case VarianceKind::kActualVsTarget: return "actual-target";
  }
  return "actual-plan";
}

Variance ComputeVariance(std::optional<double> value, std::optional<double> base) {
  Variance v;
  if (!value && !base) return v;
  v.abs = value.value_or(0) - base.value_or(0) + 0.0;
  if (base && *base != 0) v.pct = *v.abs / std::abs(*base) * 100 + 0.0;
  return v;
}

}  // namespace quantatom

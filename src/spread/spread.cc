#include "spread/spread.h"

#include <cmath>

#include "base/strings.h"

namespace quantatom {

namespace {
constexpr std::pair<SpreadMethod, std::string_view> kNames[] = {
    {SpreadMethod::kProportional, "proportional"}, {SpreadMethod::kEqual, "equal"},
    {SpreadMethod::kRepeat, "repeat"},             {SpreadMethod::kPercentChange, "percent"},
    {SpreadMethod::kAdd, "add"},                   {SpreadMethod::kClear, "clear"},
    {SpreadMethod::kRelative, "relative"},         {SpreadMethod::kStraightLine, "straight"},
    {SpreadMethod::kGrowth, "growth"},
};
}  // namespace

absl::StatusOr<SpreadMethod> ParseSpreadMethod(std::string_view name) {
  for (auto& [m, n] : kNames)
    if (n == name) return m;
  std::vector<std::string_view> names;
  for (auto& [m, n] : kNames) names.push_back(n);
  return absl::InvalidArgumentError(StrCat("unknown spread method '", name, "' (expected one of: ", StrJoin(names, ", "), ")"));
}

std::string_view SpreadMethodName(SpreadMethod method) {
  for (auto& [m, n] : kNames)
    if (m == method) return n;
  return "proportional";
}

bool SpreadFillsEmptyLeaves(SpreadMethod method) {
  return method == SpreadMethod::kEqual || method == SpreadMethod::kRepeat;
}

absl::StatusOr<std::vector<std::optional<double>>> ComputeSpread(std::span<const SpreadLeaf> leaves,
                                                                 const SpreadRequest& request) {
  if (!std::isfinite(request.amount)) return absl::InvalidArgumentError("the spread amount is not a finite number");
  std::vector<std::optional<double>> out(leaves.size());
  double held_total = 0, base = 0, unheld_weight = 0;
  size_t unheld = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    out[i] = leaves[i].value;
    if (leaves[i].held) {
      if (leaves[i].value) held_total += leaves[i].weight * *leaves[i].value;
      continue;
    }
    ++unheld;
    unheld_weight += leaves[i].weight;
    if (leaves[i].value) base += leaves[i].weight * *leaves[i].value;
  }
  if (unheld == 0)
    return absl::FailedPreconditionError(
        leaves.empty() ? "there is no leaf below the cell to spread into" : "every leaf below the cell is held");

  auto equal = [&](double total) -> absl::Status {
    if (unheld_weight == 0)
      return absl::FailedPreconditionError(
          "the weights of the unheld leaves sum to zero, so no equal spread can reach the total");
    const double each = (total - held_total) / unheld_weight;
    for (size_t i = 0; i < leaves.size(); ++i)
      if (!leaves[i].held) out[i] = each;
    return absl::OkStatus();
  };
  auto proportional = [&](double total) -> absl::Status {
    if (base == 0) return equal(total);  // nothing to scale: spread equally (TM1, Jedox)
    const double factor = (total - held_total) / base;
    for (size_t i = 0; i < leaves.size(); ++i)
      if (!leaves[i].held && leaves[i].value) out[i] = *leaves[i].value * factor;
    return absl::OkStatus();
  };

  switch (request.method) {
    case SpreadMethod::kProportional:
    case SpreadMethod::kRelative:  // the caller put the basis slice's values in the leaves
      QA_RETURN_IF_ERROR(proportional(request.amount));
      break;
    case SpreadMethod::kStraightLine:
    case SpreadMethod::kGrowth:
      return absl::InvalidArgumentError(StrCat("a ", SpreadMethodName(request.method),
                                               " spread runs along time: spread through the cube"));
    case SpreadMethod::kEqual:
      QA_RETURN_IF_ERROR(equal(request.amount));
      break;
    case SpreadMethod::kAdd:
      QA_RETURN_IF_ERROR(proportional(held_total + base + request.amount));
      break;
    case SpreadMethod::kRepeat:
      for (size_t i = 0; i < leaves.size(); ++i)
        if (!leaves[i].held) out[i] = request.amount;
      break;
    case SpreadMethod::kPercentChange:
      for (size_t i = 0; i < leaves.size(); ++i)
        if (!leaves[i].held && leaves[i].value) out[i] = *leaves[i].value * (1 + request.amount / 100);
      break;
    case SpreadMethod::kClear:
      for (size_t i = 0; i < leaves.size(); ++i)
        if (!leaves[i].held) out[i] = std::nullopt;
      break;
  }
  for (auto& v : out)
    if (v && !std::isfinite(*v)) return absl::InvalidArgumentError("the spread would produce a value that is not finite");
  return out;
}

}  // namespace quantatom

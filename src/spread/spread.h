// Spreading: typing a value into a consolidated cell and letting the leaves below take it.
//
// The vocabulary is TM1's and Jedox's (docs/spreading.md has the exact rules):
//   proportional  scale the unheld leaves so the total hits the new value; if they are all
//                 empty or zero, spread equally instead
//   equal         every unheld leaf gets the same value, chosen so the total hits the new value
//   repeat        every unheld leaf gets the value itself
//   percent       every unheld non-empty leaf changes by the given percentage
//   add           the total changes by the given amount, spread proportionally
//   clear         every unheld leaf becomes empty
//   relative      proportional, with the shape taken from another slice (e.g. Budget spread
//                 like last year's Actual): SpreadRequest::basis
//   straight      the total divided evenly over the time periods below the cell, each period's
//                 share spread proportionally over its leaves
//   growth        like straight, each period growth_percent larger than the one before
// Held leaves keep their value: their weighted contribution is subtracted from the new total
// and the rest is spread. A leaf's weight is its path weight toward the spread cell, so a
// spread into "Net income" (Revenue - Costs) keeps the identity Net = Revenue - Costs.
//
// ComputeSpread is the pure algorithm over a list of leaves; Cube::Spread (engine/cube.h)
// gathers the leaves under a coordinate, calls it, and commits the result atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace quantatom {

enum class SpreadMethod {
  kProportional, kEqual, kRepeat, kPercentChange, kAdd, kClear, kRelative, kStraightLine, kGrowth
};

// "proportional", "equal", "repeat", "percent", "add", "clear", "relative", "straight",
// "growth".
absl::StatusOr<SpreadMethod> ParseSpreadMethod(std::string_view name);
std::string_view SpreadMethodName(SpreadMethod method);

// Whether the method writes to empty leaves (so the caller must list them too).
bool SpreadFillsEmptyLeaves(SpreadMethod method);

struct SpreadRequest {
  SpreadMethod method = SpreadMethod::kProportional;
  // The new total (proportional, equal), the value per leaf (repeat), the percentage
  // (percent: 10 = +10%), or the change of the total (add). Ignored by clear.
  double amount = 0;
  // relative: the slice the shape comes from, as member replacements (dimension index, leaf
  // member id), e.g. {scenario, Actual}, and a shift along the time dimension's leaves (-12:
  // the same month a year earlier).
  std::vector<std::pair<size_t, uint32_t>> basis;
  int basis_time_offset = 0;
  // growth: percent change from one period to the next (5 = each period 5% above the one before).
  double growth_percent = 0;
};

struct SpreadLeaf {
  std::optional<double> value;  // empty when nullopt
  double weight = 1;            // path weight toward the spread cell
  bool held = false;
};

// The new value of every leaf, in order (nullopt = empty). FailedPrecondition when the request
// cannot be met: every leaf held, or the unheld weights sum to zero. `leaves` must list every
// leaf below the cell when SpreadFillsEmptyLeaves(method), or when the proportional base may
// be zero; otherwise the non-empty ones are enough.
absl::StatusOr<std::vector<std::optional<double>>> ComputeSpread(std::span<const SpreadLeaf> leaves,
                                                                 const SpreadRequest& request);

}  // namespace quantatom

// Cube::Spread against an independent reference: the reference enumerates the leaves of the
// generated edge list, computes path weights by recursion and applies the spread rules of
// docs/spreading.md itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "engine/cube.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using testing_util::RandomApp;

struct RefLeaf {
  std::vector<int> raw;
  std::optional<double> value;
  bool text = false;
  double weight = 1;
  bool held = false;
};

// The expected leaf values after the spread, or nullopt if the spread must fail.
std::optional<std::vector<std::optional<double>>> Reference(const std::vector<RefLeaf>& leaves, SpreadMethod method,
                                                            double amount) {
  double h = 0, b = 0, w = 0;
  int unheld = 0;
  for (const RefLeaf& l : leaves) {
    bool held = l.held || l.text;
    if (held) {
      if (l.value) h += l.weight * *l.value;
    } else {
      ++unheld;
      w += l.weight;
      if (l.value) b += l.weight * *l.value;
    }
  }
  std::vector<std::optional<double>> out;
  for (const RefLeaf& l : leaves) out.push_back(l.value);
  if (method == SpreadMethod::kPercentChange || method == SpreadMethod::kClear) {
    // These act on values only: none at all is a no-op, only held ones is an error.
    int values = 0, unheld_values = 0;
    for (const RefLeaf& l : leaves) {
      values += l.value.has_value();
      unheld_values += l.value.has_value() && !l.held;
    }
    if (values == 0) return out;
    if (unheld_values == 0) return std::nullopt;
  }
  if (unheld == 0) return std::nullopt;
  double total = amount;
  if (method == SpreadMethod::kAdd) total = h + b + amount;
  bool equal = method == SpreadMethod::kEqual ||
               ((method == SpreadMethod::kProportional || method == SpreadMethod::kAdd) && b == 0);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const RefLeaf& l = leaves[i];
    if (l.held || l.text) continue;
    if (equal) {
      if (w == 0) return std::nullopt;
      out[i] = (total - h) / w;
    } else if (method == SpreadMethod::kProportional || method == SpreadMethod::kAdd) {
      if (l.value) out[i] = *l.value * (total - h) / b;
    } else if (method == SpreadMethod::kRepeat) {
      out[i] = amount;
    } else if (method == SpreadMethod::kPercentChange) {
      if (l.value) out[i] = *l.value * (1 + amount / 100);
    } else {
      out[i] = std::nullopt;
    }
  }
  return out;
}

TEST(CubeSpreadTest, EveryMethodWithAndWithoutHoldsMatchesTheReference) {
  std::mt19937_64 rng(777);
  const SpreadMethod methods[] = {SpreadMethod::kProportional, SpreadMethod::kEqual,         SpreadMethod::kRepeat,
                                  SpreadMethod::kPercentChange, SpreadMethod::kAdd, SpreadMethod::kClear};
  int failures_expected = 0, spreads = 0;
  for (int model = 0; model < 120; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng);
    auto cube = *Cube::Create(app.model);
    std::vector<CellWrite> batch;
    for (int i = 0; i < 40; ++i) {
      auto c = testing_util::RandomLeafCoordinate(app, rng);
      CellValue v = rng() % 8 == 0 ? CellValue::Text("t") : CellValue::Number(static_cast<double>(1 + rng() % 50));
      app.cells[c] = v;
      batch.push_back({testing_util::ToCoordinate(app, c), v});
    }
    ASSERT_TRUE(cube->Write(batch).ok());
    for (int round = 0; round < 4; ++round) {
      std::vector<int> target;
      for (auto& raw : app.raw) target.push_back(static_cast<int>(rng() % raw.members));
      std::vector<std::vector<int>> holds;
      for (int h = static_cast<int>(rng() % 3); h > 0; --h) {
        std::vector<int> hold;
        for (auto& raw : app.raw) hold.push_back(static_cast<int>(rng() % raw.members));
        holds.push_back(hold);
      }
      SpreadMethod method = methods[rng() % 6];
      double amount = static_cast<double>(static_cast<int>(rng() % 400) - 100);

      // Reference leaves: every leaf coordinate under the target.
      std::vector<RefLeaf> leaves;
      std::vector<int> cur(app.raw.size(), 0);
      std::function<void(size_t)> walk = [&](size_t d) {
        if (d == app.raw.size()) {
          RefLeaf l;
          l.raw = cur;
          for (size_t k = 0; k < cur.size(); ++k) l.weight *= app.raw[k].Weight(cur[k], target[k]);
          auto it = app.cells.find(cur);
          if (it != app.cells.end()) {
            if (it->second.is_number()) l.value = it->second.number;
            else l.text = true;
          }
          for (auto& h : holds) {
            bool under = true;
            for (size_t k = 0; k < cur.size(); ++k) under &= app.raw[k].Under(cur[k], h[k]);
            l.held |= under;
          }
          leaves.push_back(l);
          return;
        }
        for (int m = 0; m < app.raw[d].members; ++m) {
          if (!app.raw[d].IsLeaf(m) || !app.raw[d].Under(m, target[d])) continue;
          cur[d] = m;
          walk(d + 1);
        }
      };
      walk(0);
      auto expected = Reference(leaves, method, amount);

      std::vector<Coordinate> hold_coords;
      for (auto& h : holds) hold_coords.push_back(testing_util::ToCoordinate(app, h));
      auto result = cube->Spread(testing_util::ToCoordinate(app, target), {method, amount}, hold_coords);
      SCOPED_TRACE("model " + std::to_string(model) + " round " + std::to_string(round) + " method " +
                   std::string(SpreadMethodName(method)));
      ++spreads;
      if (!expected) {
        ++failures_expected;
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
      } else {
        ASSERT_TRUE(result.ok()) << result.status();
        for (size_t i = 0; i < leaves.size(); ++i) {
          const auto& want = (*expected)[i];
          if (leaves[i].text) continue;
          if (want) app.cells[leaves[i].raw] = CellValue::Number(*want);
          else app.cells.erase(leaves[i].raw);
        }
      }
      // Every leaf cell of the app equals the reference (nothing changed on failure).
      for (auto& [raw, v] : app.cells) {
        CellValue got = *cube->ReadCell(testing_util::ToCoordinate(app, raw));
        ASSERT_TRUE(testing_util::SameValue(got, v)) << testing_util::Describe(got) << " vs " << testing_util::Describe(v);
      }
      ASSERT_EQ(cube->Stats().numeric_cells + cube->Stats().text_cells, app.cells.size());
      // The spread cell shows the requested total where the method defines one.
      if (expected && (method == SpreadMethod::kProportional || method == SpreadMethod::kEqual)) {
        CellValue total = *cube->ReadCell(testing_util::ToCoordinate(app, target));
        ASSERT_TRUE(total.is_number() || amount == 0);
        if (total.is_number()) {
          EXPECT_NEAR(total.number, amount, 1e-6 * std::max(1.0, std::abs(amount)));
        }
      }
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(failures_expected, 0);  // the impossible cases were exercised
  EXPECT_GT(spreads - failures_expected, 300);
}

// Random cells (a few texts) into a random app and its cube.
void Fill(RandomApp& app, Cube& cube, std::mt19937_64& rng, int n) {
  std::vector<CellWrite> batch;
  for (int i = 0; i < n; ++i) {
    auto c = testing_util::RandomLeafCoordinate(app, rng);
    CellValue v = rng() % 10 == 0 ? CellValue::Text("t") : CellValue::Number(static_cast<double>(1 + rng() % 50));
    app.cells[c] = v;
    batch.push_back({testing_util::ToCoordinate(app, c), v});
  }
  ASSERT_TRUE(cube.Write(batch).ok());
}

// Every leaf coordinate under `target` (generator numbering).
std::vector<std::vector<int>> LeavesUnder(const RandomApp& app, const std::vector<int>& target) {
  std::vector<std::vector<int>> out;
  std::vector<int> cur(app.raw.size());
  std::function<void(size_t)> walk = [&](size_t d) {
    if (d == app.raw.size()) return out.push_back(cur);
    for (int m = 0; m < app.raw[d].members; ++m)
      if (app.raw[d].IsLeaf(m) && app.raw[d].Under(m, target[d])) cur[d] = m, walk(d + 1);
  };
  walk(0);
  return out;
}

bool Covered(const RandomApp& app, const std::vector<std::vector<int>>& holds, const std::vector<int>& c) {
  for (auto& h : holds) {
    bool under = true;
    for (size_t d = 0; d < c.size(); ++d) under = under && app.raw[d].Under(c[d], h[d]);
    if (under) return true;
  }
  return false;
}

std::vector<std::vector<int>> RandomHolds(const RandomApp& app, std::mt19937_64& rng) {
  std::vector<std::vector<int>> holds;
  for (int h = static_cast<int>(rng() % 3); h > 0; --h) {
    std::vector<int> hold;
    for (auto& raw : app.raw) hold.push_back(static_cast<int>(rng() % raw.members));
    holds.push_back(hold);
  }
  return holds;
}

// Checks every leaf of the cube against the reference cells (nothing else changed).
void ExpectCells(const RandomApp& app, const Cube& cube) {
  for (auto& [raw, v] : app.cells) {
    CellValue got = *cube.ReadCell(testing_util::ToCoordinate(app, raw));
    ASSERT_TRUE(testing_util::SameValue(got, v)) << testing_util::Describe(got) << " vs " << testing_util::Describe(v);
  }
  ASSERT_EQ(cube.Stats().numeric_cells + cube.Stats().text_cells, app.cells.size());
}

// Relative proportional: the unheld leaves take the basis slice's shape (dimension 0's leaf
// member replaced by another leaf), held and text leaves keep theirs; unheld leaves with a value
// and no basis value become 0; an empty basis is refused.
TEST(CubeSpreadTest, RelativeSpreadMatchesTheReferenceOverRandomModels) {
  std::mt19937_64 rng(4242);
  int done = 0, refused = 0;
  for (int model = 0; model < 150; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng);
    auto cube = *Cube::Create(app.model);
    Fill(app, *cube, rng, 60);
    std::vector<int> leaves0;
    for (int m = 0; m < app.raw[0].members; ++m)
      if (app.raw[0].IsLeaf(m)) leaves0.push_back(m);
    std::vector<int> target;
    for (auto& raw : app.raw) target.push_back(static_cast<int>(rng() % raw.members));
    target[0] = leaves0[rng() % leaves0.size()];
    const int basis0 = leaves0[rng() % leaves0.size()];
    auto holds = RandomHolds(app, rng);
    const double amount = static_cast<double>(static_cast<int>(rng() % 400) - 100);

    // Reference.
    struct L { std::vector<int> c; double w = 1; bool held = false; std::optional<double> value; };
    std::vector<L> ls;
    double held_sum = 0, basis_sum = 0;
    for (auto& c : LeavesUnder(app, target)) {
      L l{c};
      for (size_t d = 0; d < c.size(); ++d) l.w *= app.raw[d].Weight(c[d], target[d]);
      auto now = app.cells.find(c);
      std::vector<int> b = c;
      b[0] = basis0;
      auto base = app.cells.find(b);
      const bool has_now = now != app.cells.end();
      const bool has_basis = base != app.cells.end() && base->second.is_number();
      if (!has_now && !has_basis) continue;
      l.held = (has_now && now->second.is_text()) || Covered(app, holds, c);
      if (l.held) {
        if (has_now && now->second.is_number()) held_sum += l.w * now->second.number;
      } else {
        l.value = has_basis ? base->second.number : 0.0;
        basis_sum += l.w * *l.value;
      }
      ls.push_back(l);
    }
    SpreadRequest r{SpreadMethod::kRelative, amount};
    r.basis = {{0, testing_util::Id(app, 0, basis0)}};
    std::vector<Coordinate> hold_coords;
    for (auto& h : holds) hold_coords.push_back(testing_util::ToCoordinate(app, h));
    auto result = cube->Spread(testing_util::ToCoordinate(app, target), r, hold_coords);
    SCOPED_TRACE("model " + std::to_string(model));
    if (basis_sum == 0) {
      ++refused;
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
    } else {
      ++done;
      ASSERT_TRUE(result.ok()) << result.status();
      for (const L& l : ls)
        if (!l.held) app.cells[l.c] = CellValue::Number(*l.value * (amount - held_sum) / basis_sum);
    }
    ExpectCells(app, *cube);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(done, 40);
  EXPECT_GT(refused, 5);
}

// Straight line and growth: periods (time leaves under the target, in leaf order) that one hold
// covers keep their total; the rest share the amount left, 1 : r : r^2 ...; each period's share
// is a proportional spread into it (equal when empty), and one failing period fails the whole.
TEST(CubeSpreadTest, SpreadsAlongTimeMatchTheReferenceOverRandomModels) {
  std::mt19937_64 rng(99);
  int done = 0, refused = 0;
  for (int model = 0; model < 150; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng, /*wide=*/false, /*first_is_time=*/true);
    auto cube = *Cube::Create(app.model);
    Fill(app, *cube, rng, 40);
    std::vector<int> target;
    for (auto& raw : app.raw) target.push_back(static_cast<int>(rng() % raw.members));
    auto holds = RandomHolds(app, rng);
    const bool growth = rng() % 2 == 0;
    const double g = growth ? static_cast<double>(static_cast<int>(rng() % 40) - 10) : 0;
    const double amount = static_cast<double>(static_cast<int>(rng() % 400) - 100);

    // Periods in time order.
    const Dimension& time = app.model.dimensions[0];
    std::vector<int> periods;
    for (int m = 0; m < app.raw[0].members; ++m)
      if (app.raw[0].IsLeaf(m) && app.raw[0].Under(m, target[0])) periods.push_back(m);
    std::sort(periods.begin(), periods.end(), [&](int a, int b) {
      return time.leaf_ordinal(testing_util::Id(app, 0, a)) < time.leaf_ordinal(testing_util::Id(app, 0, b));
    });
    std::vector<int> open;
    double held_total = 0;
    for (int p : periods) {
      std::vector<int> pc = target;
      pc[0] = p;
      bool covered = false;
      for (auto& h : holds) {
        bool all = true;
        for (size_t d = 0; d < pc.size(); ++d) all = all && app.raw[d].Under(pc[d], h[d]);
        covered = covered || all;
      }
      if (covered) {
        CellValue v = app.Evaluate(pc);
        held_total += app.raw[0].Weight(p, target[0]) * (v.is_number() ? v.number : 0.0);
      } else {
        open.push_back(p);
      }
    }
    bool ok = !open.empty();
    double denominator = 0, s = 1;
    std::vector<double> share;
    for (int p : open) share.push_back(s), denominator += app.raw[0].Weight(p, target[0]) * s, s *= 1 + g / 100;
    ok = ok && denominator != 0;
    auto expected = app.cells;
    for (size_t k = 0; ok && k < open.size(); ++k) {
      std::vector<int> pc = target;
      pc[0] = open[k];
      std::vector<RefLeaf> leaves;
      for (auto& c : LeavesUnder(app, pc)) {
        RefLeaf l;
        l.raw = c;
        for (size_t d = 0; d < c.size(); ++d) l.weight *= app.raw[d].Weight(c[d], pc[d]);
        auto it = app.cells.find(c);
        if (it != app.cells.end()) {
          if (it->second.is_number()) l.value = it->second.number;
          else l.text = true;
        }
        l.held = Covered(app, holds, c);
        leaves.push_back(l);
      }
      auto part = Reference(leaves, SpreadMethod::kProportional, (amount - held_total) * share[k] / denominator);
      if (!part) {
        ok = false;
        break;
      }
      for (size_t i = 0; i < leaves.size(); ++i) {
        if (leaves[i].text) continue;
        if ((*part)[i]) expected[leaves[i].raw] = CellValue::Number(*(*part)[i]);
        else expected.erase(leaves[i].raw);
      }
    }
    SpreadRequest r{growth ? SpreadMethod::kGrowth : SpreadMethod::kStraightLine, amount};
    r.growth_percent = g;
    std::vector<Coordinate> hold_coords;
    for (auto& h : holds) hold_coords.push_back(testing_util::ToCoordinate(app, h));
    auto result = cube->Spread(testing_util::ToCoordinate(app, target), r, hold_coords);
    SCOPED_TRACE("model " + std::to_string(model) + (growth ? " growth" : " straight"));
    if (!ok) {
      ++refused;
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
    } else {
      ++done;
      ASSERT_TRUE(result.ok()) << result.status();
      app.cells = expected;
    }
    ExpectCells(app, *cube);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(done, 60);
  EXPECT_GT(refused, 3);
}

TEST(CubeSpreadTest, EqualSpreadOverTooManyEmptyLeavesIsRefused) {
  DimensionBuilder a("A", DimensionType::kGeneric);
  ASSERT_TRUE(a.AddMember("T").ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(a.AddMember("a" + std::to_string(i)).ok());
    ASSERT_TRUE(a.AddEdge("a" + std::to_string(i), "T").ok());
  }
  AppModel m;
  m.dimensions.push_back(*std::move(a).Build());
  auto cube = *Cube::Create(m);
  auto r = cube->Spread({0}, {SpreadMethod::kEqual, 100}, {}, "", /*max_leaves=*/50);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("more than 50 leaves"), std::string::npos) << r.status();
  EXPECT_EQ(cube->Stats().numeric_cells, 0u);
  ASSERT_TRUE(cube->Spread({0}, {SpreadMethod::kEqual, 100}).ok());
  EXPECT_EQ(*cube->ReadCell({1}), CellValue::Number(1));
}

}  // namespace
}  // namespace quantatom

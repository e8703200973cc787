// Cube::Spread against an independent reference: the reference enumerates the leaves of the
// generated edge list, computes path weights by recursion and applies the spread rules of
// docs/spreading.md itself.
#include <gtest/gtest.h>

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

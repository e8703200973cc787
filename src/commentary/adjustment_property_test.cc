// Adjustment totals on random apps against a brute force that reads only the generator's raw
// edges (query/random_model_testutil.h), never the store's index or Dimension's ancestors.
#include <random>

#include <gtest/gtest.h>

#include "commentary/comment_store.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using testing_util::MakeRandomApp;
using testing_util::RandomApp;
using testing_util::ToCoordinate;

struct RawAdjustment {
  std::vector<int> at;  // generator member numbers
  double value;
  bool active;
};

std::vector<int> RandomAnyLevelCoordinate(const RandomApp& app, std::mt19937_64& rng) {
  std::vector<int> c;
  for (const auto& raw : app.raw) c.push_back(static_cast<int>(rng() % raw.members));
  return c;
}

// Path weights and "under" for every pair of members, from the raw edges alone. Both
// generators only give a member parents numbered below it, so filling members in ascending
// order finds every parent's row complete.
struct RawTables {
  std::vector<std::vector<std::vector<double>>> weight;  // [d][m][x]: Σ over paths m -> x
  std::vector<std::vector<std::vector<char>>> under;     // [d][m][x]: some path m -> x
  explicit RawTables(const RandomApp& app) {
    for (const testing_util::RawDim& raw : app.raw) {
      const int n = raw.members;
      std::vector<std::vector<double>> w(n, std::vector<double>(n, 0));
      std::vector<std::vector<char>> u(n, std::vector<char>(n, 0));
      for (int m = 0; m < n; ++m) {
        w[m][m] = 1;
        u[m][m] = 1;
        for (const auto& e : raw.edges) {
          if (e.child != m) continue;
          EXPECT_LT(e.parent, m);
          for (int x = 0; x < n; ++x) {
            w[m][x] += e.weight * w[e.parent][x];
            u[m][x] |= u[e.parent][x];
          }
        }
      }
      weight.push_back(std::move(w));
      under.push_back(std::move(u));
    }
  }
};

// Σ over active adjustments under-or-equal `q` of value × Π path weights, and whether any is.
std::pair<double, bool> BruteForce(const RawTables& raw, const std::vector<RawAdjustment>& adjustments,
                                   const std::vector<int>& q) {
  double sum = 0;
  bool any = false;
  for (const RawAdjustment& a : adjustments) {
    if (!a.active) continue;
    double weight = 1;
    bool under = true;
    for (size_t d = 0; d < raw.weight.size() && under; ++d) {
      under = raw.under[d][a.at[d]][q[d]];
      weight *= raw.weight[d][a.at[d]][q[d]];
    }
    if (!under) continue;
    any = true;
    sum += a.value * weight;
  }
  return {sum, any};
}

// A random app with `dims` dimensions of `members` members each, built like MakeRandomApp (a
// member's parents come before it, so the graph is acyclic; weights include -1, 0.5 and 2).
RandomApp MakeManyDimensionApp(std::mt19937_64& rng, int dims, int members) {
  RandomApp app;
  const double weights[] = {1, 1, -1, 0.5, 2};
  for (int d = 0; d < dims; ++d) {
    testing_util::RawDim raw;
    raw.members = members;
    for (int m = 1; m < members; ++m) {
      int first = static_cast<int>(rng() % std::max(1, m / 3));
      raw.edges.push_back({m, first, weights[rng() % 5]});
      int second = static_cast<int>(rng() % m);
      if (rng() % 6 == 0 && second != first) raw.edges.push_back({m, second, weights[rng() % 5]});
    }
    DimensionBuilder b("D" + std::to_string(d), DimensionType::kGeneric);
    for (int m = 0; m < members; ++m) EXPECT_TRUE(b.AddMember(testing_util::Code(d, m)).ok());
    for (auto& e : raw.edges)
      EXPECT_TRUE(b.AddEdge(testing_util::Code(d, e.child), testing_util::Code(d, e.parent), e.weight).ok());
    app.model.dimensions.push_back(*std::move(b).Build());
    app.raw.push_back(std::move(raw));
  }
  return app;
}

// Several waves of writes (and retractions), each followed by a grid of `grid_cells` random
// cells plus the cells the adjustments sit on, compared cell by cell with the brute force.
void CheckAgainstBruteForce(const RandomApp& app, std::mt19937_64& rng, int waves, int per_wave, int grid_cells) {
  CommentStore store(app.model);
  const RawTables raw(app);
  std::vector<RawAdjustment> adjustments;
  std::vector<CommentId> ids;
  for (int wave = 0; wave < waves; ++wave) {
    for (int i = 0; i < per_wave; ++i) {
      std::vector<int> at = RandomAnyLevelCoordinate(app, rng);
      std::optional<double> value;
      if (rng() % 4 != 0) value = static_cast<double>(static_cast<int>(rng() % 201) - 100) / 4;
      auto id = store.Post(ToCoordinate(app, at), {"u", int64_t(i), "c", value});
      ASSERT_TRUE(id.ok()) << id.status();
      if (value) {
        adjustments.push_back({at, *value, true});
        ids.push_back(*id);
      }
    }
    if (!ids.empty() && rng() % 2 == 0) {
      size_t k = rng() % ids.size();
      if (adjustments[k].active) {
        ASSERT_TRUE(store.Retract(ids[k], {"u", 0, "undo", {}}).ok());
        adjustments[k].active = false;
      }
    }
    std::vector<std::vector<int>> raw_cells;
    std::vector<Coordinate> cells;
    for (int i = 0; i < grid_cells; ++i) {
      raw_cells.push_back(RandomAnyLevelCoordinate(app, rng));
      cells.push_back(ToCoordinate(app, raw_cells.back()));
    }
    for (const auto& a : adjustments) {
      raw_cells.push_back(a.at);
      cells.push_back(ToCoordinate(app, a.at));
    }
    raw_cells.push_back(raw_cells.front());  // a repeated cell
    cells.push_back(cells.front());
    auto markers = store.Markers(cells);
    ASSERT_TRUE(markers.ok()) << markers.status();
    for (size_t i = 0; i < cells.size(); ++i) {
      auto [sum, any] = BruteForce(raw, adjustments, raw_cells[i]);
      EXPECT_EQ((*markers)[i].adjusted, any) << app.model.FormatCoordinate(cells[i]);
      EXPECT_NEAR((*markers)[i].adjustment, sum, 1e-9 * std::max(1.0, std::abs(sum)))
          << app.model.FormatCoordinate(cells[i]);
    }
    // A cell alone (one target per dimension) agrees with the same cell in the grid.
    for (size_t i = 0; i < 5 && i < cells.size(); ++i) {
      auto one = store.Markers({&cells[i], 1});
      EXPECT_NEAR((*one)[0].adjustment, (*markers)[i].adjustment,
                  1e-9 * std::max(1.0, std::abs((*markers)[i].adjustment)));
    }
  }
}

TEST(AdjustmentPropertyTest, TotalsMatchBruteForceOnRandomApps) {
  std::mt19937_64 rng(20240611);
  for (int round = 0; round < 60; ++round) {
    SCOPED_TRACE(round);
    CheckAgainstBruteForce(MakeRandomApp(rng), rng, 4, 15, 40);
  }
}

// Wide dimensions give grids with more than 64 targets in a dimension (not narrowed by bitmaps)
// and sparse grids (hash lookup of cells instead of the dense table).
TEST(AdjustmentPropertyTest, TotalsMatchBruteForceOnWideAppsAndSparseGrids) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE(round);
    CheckAgainstBruteForce(MakeRandomApp(rng, /*wide=*/true), rng, 3, 40, 300);
  }
}

// Sixteen dimensions: the grid's tuples of targets do not fit a 64-bit key.
TEST(AdjustmentPropertyTest, TotalsMatchBruteForceWhenTargetTuplesExceed64Bits) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    CheckAgainstBruteForce(MakeManyDimensionApp(rng, 16, 24), rng, 2, 40, 200);
  }
}

TEST(AdjustmentPropertyTest, ListUnderMatchesBruteForceRegionTest) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 40; ++round) {
    RandomApp app = MakeRandomApp(rng);
    CommentStore store(app.model);
    std::vector<std::vector<int>> where;
    for (int i = 0; i < 50; ++i) {
      where.push_back(RandomAnyLevelCoordinate(app, rng));
      ASSERT_TRUE(store.Post(ToCoordinate(app, where.back()), {"u", int64_t(rng() % 10), "c", {}}).ok());
    }
    for (int q = 0; q < 10; ++q) {
      std::vector<int> region = RandomAnyLevelCoordinate(app, rng);
      size_t expected = 0;
      for (const auto& at : where) {
        bool under = true;
        for (size_t d = 0; d < app.raw.size(); ++d) under = under && app.raw[d].Under(at[d], region[d]);
        expected += under;
      }
      size_t seen = 0;
      std::optional<ListCursor> cursor;
      std::pair<int64_t, CommentId> previous{INT64_MAX, UINT32_MAX};
      do {
        auto page = store.ListUnder(ToCoordinate(app, region), 3, cursor);
        ASSERT_TRUE(page.ok()) << page.status();
        for (const Comment& c : page->comments) {
          std::pair<int64_t, CommentId> key{c.time_ms, c.id};
          EXPECT_LT(key, previous);
          previous = key;
        }
        seen += page->comments.size();
        cursor = page->next;
      } while (cursor);
      EXPECT_EQ(seen, expected) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace quantatom

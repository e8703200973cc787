// Cube::NewestChangeUnder against a reference built from the per-leaf versions
// (Cube::ChangedSince): a cell's version at any level is the newest version of a leaf below it.
#include <gtest/gtest.h>

#include <random>

#include "engine/cube.h"

namespace quantatom {
namespace {

// Account: Total = a + b - c, and Alt = b (a second parent); Region: World = North + South.
std::unique_ptr<Cube> SmallCube() {
  DimensionBuilder account("Account", DimensionType::kGeneric);
  for (const char* m : {"Total", "a", "b", "c", "Alt"}) EXPECT_TRUE(account.AddMember(m).ok());
  EXPECT_TRUE(account.AddEdge("a", "Total").ok());
  EXPECT_TRUE(account.AddEdge("b", "Total").ok());
  EXPECT_TRUE(account.AddEdge("c", "Total", -1).ok());
  EXPECT_TRUE(account.AddEdge("b", "Alt").ok());
  DimensionBuilder region("Region", DimensionType::kGeneric);
  for (const char* m : {"World", "North", "South"}) EXPECT_TRUE(region.AddMember(m).ok());
  EXPECT_TRUE(region.AddEdge("North", "World").ok());
  EXPECT_TRUE(region.AddEdge("South", "World").ok());
  AppModel model;
  model.name = "small";
  model.dimensions.push_back(*std::move(account).Build());
  model.dimensions.push_back(*std::move(region).Build());
  return *Cube::Create(std::move(model));
}

TEST(CubeVersions, ACellsVersionIsTheNewestVersionOfALeafBelowItAfterWritesSpreadsAndUndos) {
  auto cube = SmallCube();
  const AppModel& model = cube->model();
  std::vector<Coordinate> all, leaves;
  for (MemberId a = 0; a < model.dimensions[0].member_count(); ++a) {
    for (MemberId r = 0; r < model.dimensions[1].member_count(); ++r) {
      all.push_back({a, r});
      if (model.IsLeaf(all.back())) leaves.push_back(all.back());
    }
  }
  std::mt19937 rng(7);
  for (int step = 0; step < 60; ++step) {
    const int kind = static_cast<int>(rng() % 4);
    if (kind <= 1) {
      const Coordinate& leaf = leaves[rng() % leaves.size()];
      ASSERT_TRUE(cube->Write({{leaf, rng() % 5 == 0 ? CellValue::Empty() : CellValue::Number(rng() % 100)}}, "u").ok());
    } else if (kind == 2) {
      const Coordinate& at = all[rng() % all.size()];
      (void)cube->Spread(at, {SpreadMethod::kEqual, static_cast<double>(rng() % 50)}, {}, "u");
    } else {
      (void)cube->Undo("u");
    }
    std::vector<uint64_t> got = cube->NewestChangeUnder(all);
    for (size_t i = 0; i < all.size(); ++i) {
      // Reference: the per-leaf versions of every leaf below the cell.
      std::vector<uint64_t> keys;
      for (auto [ao, aw] : model.dimensions[0].LeavesUnder(all[i][0]))
        for (auto [ro, rw] : model.dimensions[1].LeavesUnder(all[i][1]))
          keys.push_back(cube->PackLeaf({model.dimensions[0].leaf_member(ao), model.dimensions[1].leaf_member(ro)}));
      uint64_t want = 0;
      for (const BaseChange& b : cube->ChangedSince(0, keys)) want = std::max(want, b.seq);
      ASSERT_EQ(got[i], want) << "step " << step << " cell " << model.FormatCoordinate(all[i]);
    }
  }
}

}  // namespace
}  // namespace quantatom

// Undo and redo through the Cube: state comparisons against snapshots taken before the change,
// and hand-made conflicts between two users.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/cube.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using ::testing::HasSubstr;

// Every leaf cell, for comparing whole states.
std::map<uint64_t, CellValue> Cells(const Cube& cube) {
  std::map<uint64_t, CellValue> out;
  cube.WithStore([&](const CellStore& s) {
    for (const KeyValue& kv : s.SortedCells()) out[kv.key] = CellValue::Number(kv.value);
    for (const auto& [k, t] : s.texts()) out[k] = CellValue::Text(t);
    return 0;
  });
  return out;
}

struct Plan {
  AppModel model;
  Plan() {
    DimensionBuilder a("Account", DimensionType::kAccount);
    for (const char* c : {"Total", "x", "y", "z"}) EXPECT_TRUE(a.AddMember(c).ok());
    for (const char* c : {"x", "y", "z"}) EXPECT_TRUE(a.AddEdge(c, "Total").ok());
    model.dimensions.push_back(*std::move(a).Build());
  }
  Coordinate At(const char* code) const { return {*model.dimensions[0].Find(code)}; }
};

TEST(HistoryTest, UndoRestoresOwnChangesAndRedoReappliesThem) {
  Plan p;
  auto cube = *Cube::Create(p.model);
  ASSERT_TRUE(cube->Write({{p.At("x"), CellValue::Number(10)}, {p.At("y"), CellValue::Number(30)}}, "alice").ok());
  ASSERT_TRUE(cube->Write({{p.At("z"), CellValue::Number(60)}}, "bob").ok());
  ASSERT_TRUE(cube->Spread(p.At("Total"), {SpreadMethod::kProportional, 200}, {}, "alice").ok());
  EXPECT_EQ(*cube->ReadCell(p.At("Total")), CellValue::Number(200));
  // alice undoes her spread, then her first write; bob's cell stays.
  EXPECT_EQ(*cube->Undo("alice"), 3u);
  EXPECT_EQ(*cube->ReadCell(p.At("x")), CellValue::Number(10));
  EXPECT_EQ(*cube->ReadCell(p.At("z")), CellValue::Number(60));
  EXPECT_EQ(*cube->Undo("alice"), 1u);
  EXPECT_TRUE(cube->ReadCell(p.At("x"))->is_empty());
  EXPECT_EQ(*cube->ReadCell(p.At("Total")), CellValue::Number(60));
  EXPECT_EQ(cube->Undo("alice").status().code(), absl::StatusCode::kNotFound);
  // Redo in reverse order of the undos.
  EXPECT_EQ(*cube->Redo("alice"), 1u);
  EXPECT_EQ(*cube->Redo("alice"), 3u);
  EXPECT_EQ(*cube->ReadCell(p.At("Total")), CellValue::Number(200));
  EXPECT_EQ(cube->Redo("alice").status().code(), absl::StatusCode::kNotFound);
}

TEST(HistoryTest, UndoOverSomeoneElsesLaterChangeIsRefusedAndChangesNothing) {
  Plan p;
  auto cube = *Cube::Create(p.model);
  ASSERT_TRUE(cube->Write({{p.At("x"), CellValue::Number(1)}}, "alice").ok());
  ASSERT_TRUE(cube->Write({{p.At("x"), CellValue::Number(2)}}, "bob").ok());
  auto before = Cells(*cube);
  auto undo = cube->Undo("alice");
  ASSERT_FALSE(undo.ok());
  EXPECT_EQ(undo.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(undo.status().message()), HasSubstr("cell Account=x was changed since by change set 2 (user 'bob')"));
  EXPECT_THAT(std::string(undo.status().message()), HasSubstr("Account=x"));
  EXPECT_EQ(Cells(*cube), before);
  // bob may undo his own, and then alice's undo goes through.
  EXPECT_TRUE(cube->Undo("bob").ok());
  EXPECT_TRUE(cube->Undo("alice").ok());
  EXPECT_TRUE(cube->ReadCell(p.At("x"))->is_empty());
}

TEST(HistoryTest, RedoIsRefusedWhenTheCellsChangedSinceTheUndo) {
  Plan p;
  auto cube = *Cube::Create(p.model);
  ASSERT_TRUE(cube->Write({{p.At("y"), CellValue::Number(5)}}, "alice").ok());
  ASSERT_TRUE(cube->Undo("alice").ok());
  ASSERT_TRUE(cube->Write({{p.At("y"), CellValue::Number(7)}}, "bob").ok());
  auto redo = cube->Redo("alice");
  EXPECT_EQ(redo.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(*cube->ReadCell(p.At("y")), CellValue::Number(7));
}

TEST(HistoryTest, ANewOwnChangeDiscardsWhatCouldBeRedone) {
  Plan p;
  auto cube = *Cube::Create(p.model);
  ASSERT_TRUE(cube->Write({{p.At("x"), CellValue::Number(1)}}, "alice").ok());
  ASSERT_TRUE(cube->Undo("alice").ok());
  ASSERT_TRUE(cube->Write({{p.At("z"), CellValue::Number(3)}}, "alice").ok());
  EXPECT_EQ(cube->Redo("alice").status().code(), absl::StatusCode::kNotFound);
}

// Every kind of spread, undone, gives back exactly the state before it (random models, both
// spread paths, text cells, clears).
TEST(HistoryTest, UndoOfEveryChangeRestoresTheExactPriorState) {
  std::mt19937_64 rng(99);
  const SpreadMethod methods[] = {SpreadMethod::kProportional, SpreadMethod::kEqual, SpreadMethod::kRepeat,
                                  SpreadMethod::kPercentChange, SpreadMethod::kAdd, SpreadMethod::kClear};
  int undone = 0;
  for (int model = 0; model < 40; ++model) {
    testing_util::RandomApp app = testing_util::MakeRandomApp(rng);
    auto cube = *Cube::Create(app.model);
    std::vector<CellWrite> batch;
    for (int i = 0; i < 30; ++i)
      batch.push_back({testing_util::ToCoordinate(app, testing_util::RandomLeafCoordinate(app, rng)),
                       rng() % 6 == 0 ? CellValue::Text("t") : CellValue::Number(static_cast<double>(rng() % 90))});
    ASSERT_TRUE(cube->Write(batch, "u").ok());
    for (int step = 0; step < 6; ++step) {
      auto before = Cells(*cube);
      std::vector<int> target;
      for (auto& raw : app.raw) target.push_back(static_cast<int>(rng() % raw.members));
      absl::Status s;
      s = cube->Spread(testing_util::ToCoordinate(app, target), {methods[rng() % 6], 123}, {}, "u").status();
      if (!s.ok()) continue;  // impossible spreads change nothing and record nothing
      auto after = Cells(*cube);
      ASSERT_TRUE(cube->Undo("u").ok());
      ASSERT_EQ(Cells(*cube), before) << "model " << model << " step " << step;
      ASSERT_TRUE(cube->Redo("u").ok());
      ASSERT_EQ(Cells(*cube), after);
      ++undone;
    }
  }
  EXPECT_GT(undone, 100);
}

}  // namespace
}  // namespace quantatom

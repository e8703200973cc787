// Spreads that planners use beyond the leaf-list methods: relative proportional, straight line
// and growth along time, per-user holds and read-only members. Every expected value is worked
// out by hand in the comments.
#include <gtest/gtest.h>

#include "engine/cube.h"
#include "engine/sandbox.h"

namespace quantatom {
namespace {

// Account: Total = r1 + r2. Month (time): Y = m1..m4. Scenario: Actual (read-only), Budget.
std::unique_ptr<Cube> MakeCube() {
  DimensionBuilder account("Account", DimensionType::kAccount);
  EXPECT_TRUE(account.AddMember("Total").ok());
  for (const char* c : {"r1", "r2"}) {
    EXPECT_TRUE(account.AddMember(c).ok());
    EXPECT_TRUE(account.AddEdge(c, "Total").ok());
  }
  DimensionBuilder month("Month", DimensionType::kTime);
  EXPECT_TRUE(month.AddMember("Y").ok());
  for (const char* c : {"m1", "m2", "m3", "m4"}) {
    EXPECT_TRUE(month.AddMember(c).ok());
    EXPECT_TRUE(month.AddEdge(c, "Y").ok());
  }
  DimensionBuilder scenario("Scenario", DimensionType::kScenario);
  EXPECT_TRUE(scenario.AddMember("Actual", "Actual", {{"read_only", "true"}}).ok());
  EXPECT_TRUE(scenario.AddMember("Budget").ok());
  AppModel m;
  m.dimensions.push_back(*std::move(account).Build());
  m.dimensions.push_back(*std::move(month).Build());
  m.dimensions.push_back(*std::move(scenario).Build());
  return *Cube::Create(std::move(m));
}

Coordinate At(const Cube& cube, const std::string& text) { return *cube.model().ParseCoordinate(text); }

double Value(const Cube& cube, const std::string& text) {
  CellValue v = *cube.ReadCell(At(cube, text));
  EXPECT_TRUE(v.is_number()) << text;
  return v.number;
}

void Put(Cube& cube, const std::string& text, double v) {
  WriteOptions load;
  load.allow_read_only = true;
  ASSERT_TRUE(cube.Write({{At(cube, text), CellValue::Number(v)}}, "loader", load).ok()) << text;
}

TEST(PlanningSpreadTest, WritesIntoAReadOnlyScenarioAreRefusedAndChangeNothing) {
  auto cube = MakeCube();
  auto s = cube->Write({{At(*cube, "Account=r1,Month=m1,Scenario=Actual"), CellValue::Number(5)}}, "ann");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("Scenario 'Actual' is read-only"), std::string::npos) << s;
  EXPECT_EQ(cube->Stats().numeric_cells, 0u);
  auto spread = cube->Spread(At(*cube, "Account=Total,Month=Y,Scenario=Actual"), {SpreadMethod::kEqual, 8}, {}, "ann");
  ASSERT_FALSE(spread.ok());
  EXPECT_EQ(spread.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(cube->Stats().numeric_cells, 0u);
  EXPECT_TRUE(cube->IsHeld("ann", At(*cube, "Account=r1,Month=m1,Scenario=Actual")));
  EXPECT_FALSE(cube->IsHeld("ann", At(*cube, "Account=r1,Month=m1,Scenario=Budget")));
}

TEST(PlanningSpreadTest, UserHoldsApplyToThatUsersSpreadsOnly) {
  auto cube = MakeCube();
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 10);
  Put(*cube, "Account=r2,Month=m1,Scenario=Budget", 30);
  ASSERT_TRUE(cube->SetHold("ann", At(*cube, "Account=r1,Month=m1,Scenario=Budget"), true).ok());
  // ann: r1 held at 10, so r2 takes 100 - 10 = 90.
  ASSERT_TRUE(cube->Spread(At(*cube, "Account=Total,Month=m1,Scenario=Budget"), {SpreadMethod::kProportional, 100}, {}, "ann").ok());
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 10);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r2,Month=m1,Scenario=Budget"), 90);
  // bob holds nothing: 10/90 scale to 20/180 for 200.
  ASSERT_TRUE(cube->Spread(At(*cube, "Account=Total,Month=m1,Scenario=Budget"), {SpreadMethod::kProportional, 200}, {}, "bob").ok());
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 20);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r2,Month=m1,Scenario=Budget"), 180);
  EXPECT_EQ(cube->Holds("ann").size(), 1u);
  ASSERT_TRUE(cube->SetHold("ann", At(*cube, "Account=r1,Month=m1,Scenario=Budget"), false).ok());
  EXPECT_TRUE(cube->Holds("ann").empty());
}

TEST(PlanningSpreadTest, SpreadIntoATotalOverBothScenariosKeepsActualsAndFillsBudget) {
  auto cube = MakeCube();
  // No scenario total exists in this model, so hold-free spreading over Actual is tested via
  // an account total with actual cells present in another scenario: they must stay.
  Put(*cube, "Account=r1,Month=m1,Scenario=Actual", 7);
  ASSERT_TRUE(cube->Spread(At(*cube, "Account=Total,Month=m1,Scenario=Budget"), {SpreadMethod::kEqual, 50}, {}, "ann").ok());
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Actual"), 7);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 25);
}

TEST(PlanningSpreadTest, RelativeSpreadTakesTheShapeOfActual) {
  auto cube = MakeCube();
  // Actual: r1 = 1, 3 in m1, m2; r2 = 4 in m1 (total 8). Budget has r2 m3 = 100 (no actual).
  Put(*cube, "Account=r1,Month=m1,Scenario=Actual", 1);
  Put(*cube, "Account=r1,Month=m2,Scenario=Actual", 3);
  Put(*cube, "Account=r2,Month=m1,Scenario=Actual", 4);
  Put(*cube, "Account=r2,Month=m3,Scenario=Budget", 100);
  SpreadRequest r{SpreadMethod::kRelative, 80};
  r.basis = {{2, *cube->model().dimensions[2].Find("Actual")}};
  auto n = cube->Spread(At(*cube, "Account=Total,Month=Y,Scenario=Budget"), r, {}, "ann");
  ASSERT_TRUE(n.ok()) << n.status();
  // 80 in the shape 1:3:4 -> 10, 30, 40; r2 m3 had a value but no actual: 0.
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 10);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m2,Scenario=Budget"), 30);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r2,Month=m1,Scenario=Budget"), 40);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r2,Month=m3,Scenario=Budget"), 0);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=Total,Month=Y,Scenario=Budget"), 80);
  // One change set: undo restores the single prior value.
  ASSERT_TRUE(cube->Undo("ann").ok());
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=Total,Month=Y,Scenario=Budget"), 100);
  EXPECT_TRUE(cube->ReadCell(At(*cube, "Account=r1,Month=m1,Scenario=Budget"))->is_empty());
}

TEST(PlanningSpreadTest, RelativeSpreadShiftedAlongTimeWithAHold) {
  auto cube = MakeCube();
  // Budget m2..m4 shaped like m1..m3 of Budget itself (offset -1), r1 only; m2 held at 5.
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 2);
  Put(*cube, "Account=r1,Month=m2,Scenario=Budget", 5);
  Put(*cube, "Account=r1,Month=m3,Scenario=Budget", 3);
  SpreadRequest r{SpreadMethod::kRelative, 0};
  r.basis_time_offset = -1;
  // Target: r1 over the whole year: basis of m(k) is m(k-1): m1 <- none, m2 <- 2, m3 <- 5, m4 <- 3.
  // Held m2 keeps 5; the rest (m1, m3, m4) share 55 - 5 = 50 as 0 : 5 : 3 -> 0, 31.25, 18.75.
  r.amount = 55;
  auto n = cube->Spread(At(*cube, "Account=r1,Month=Y,Scenario=Budget"), r,
                        {At(*cube, "Account=r1,Month=m2,Scenario=Budget")}, "ann");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 0);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m2,Scenario=Budget"), 5);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m3,Scenario=Budget"), 31.25);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m4,Scenario=Budget"), 18.75);
}

TEST(PlanningSpreadTest, RelativeSpreadWithAnEmptyBasisIsRefusedAndChangesNothing) {
  auto cube = MakeCube();
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 2);
  SpreadRequest r{SpreadMethod::kRelative, 10};
  r.basis = {{2, *cube->model().dimensions[2].Find("Actual")}};
  auto n = cube->Spread(At(*cube, "Account=Total,Month=Y,Scenario=Budget"), r, {}, "ann");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(n.status().message()).find("gives no shape"), std::string::npos) << n.status();
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 2);
  // Replacing a consolidated member is refused.
  SpreadRequest bad{SpreadMethod::kRelative, 10};
  bad.basis = {{1, *cube->model().dimensions[1].Find("m1")}};
  EXPECT_EQ(cube->Spread(At(*cube, "Account=Total,Month=Y,Scenario=Budget"), bad, {}, "ann").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PlanningSpreadTest, StraightLineSplitsEvenlyOverPeriodsThenProportionallyWithin) {
  auto cube = MakeCube();
  // m1 has r1 = 1, r2 = 3; the other months are empty (equal within them).
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 1);
  Put(*cube, "Account=r2,Month=m1,Scenario=Budget", 3);
  ASSERT_TRUE(cube->Spread(At(*cube, "Account=Total,Month=Y,Scenario=Budget"), {SpreadMethod::kStraightLine, 400}, {}, "ann").ok());
  // 100 a month; m1 keeps its 1:3 shape -> 25, 75; m2..m4 empty -> 50, 50.
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 25);
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r2,Month=m1,Scenario=Budget"), 75);
  for (const char* m : {"m2", "m3", "m4"}) {
    EXPECT_DOUBLE_EQ(Value(*cube, std::string("Account=r1,Month=") + m + ",Scenario=Budget"), 50);
    EXPECT_DOUBLE_EQ(Value(*cube, std::string("Account=Total,Month=") + m + ",Scenario=Budget"), 100);
  }
  ASSERT_TRUE(cube->Undo("ann").ok());
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=Total,Month=Y,Scenario=Budget"), 4);
  EXPECT_TRUE(cube->ReadCell(At(*cube, "Account=r1,Month=m2,Scenario=Budget"))->is_empty());
}

TEST(PlanningSpreadTest, GrowthSkipsHeldPeriodsAndCompoundsOverTheRest) {
  auto cube = MakeCube();
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 10);
  // m1 held (10). The remaining 10 + 100 + 110... : 341 - 10 = 331 over m2..m4 growing 10%:
  // shares 1, 1.1, 1.21 (sum 3.31) -> 100, 110, 121.
  SpreadRequest r{SpreadMethod::kGrowth, 341};
  r.growth_percent = 10;
  ASSERT_TRUE(cube->Spread(At(*cube, "Account=r1,Month=Y,Scenario=Budget"), r,
                           {At(*cube, "Account=Total,Month=m1,Scenario=Budget")}, "ann")
                  .ok());
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r1,Month=m1,Scenario=Budget"), 10);
  EXPECT_NEAR(Value(*cube, "Account=r1,Month=m2,Scenario=Budget"), 100, 1e-9);
  EXPECT_NEAR(Value(*cube, "Account=r1,Month=m3,Scenario=Budget"), 110, 1e-9);
  EXPECT_NEAR(Value(*cube, "Account=r1,Month=m4,Scenario=Budget"), 121, 1e-9);
}

TEST(PlanningSpreadTest, APeriodThatCannotTakeItsShareRollsBackEveryPeriod) {
  auto cube = MakeCube();
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 1);
  // m3 is held for r1 and r2 separately (no single hold covers the month), so m3's share
  // cannot land: nothing may change, including m1, m2 which come before it.
  auto n = cube->Spread(At(*cube, "Account=Total,Month=Y,Scenario=Budget"), {SpreadMethod::kStraightLine, 40},
                        {At(*cube, "Account=r1,Month=m3,Scenario=Budget"), At(*cube, "Account=r2,Month=m3,Scenario=Budget")},
                        "ann");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(n.status().message()).find("Month 'm3'"), std::string::npos) << n.status();
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=Total,Month=Y,Scenario=Budget"), 1);
  EXPECT_EQ(cube->Stats().numeric_cells, 1u);
  EXPECT_EQ(cube->Undo("ann").status().code(), absl::StatusCode::kNotFound);
}

TEST(PlanningSpreadTest, SandboxesHonourReadOnlyMembersAndUserHolds) {
  auto cube = MakeCube();
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 10);
  Put(*cube, "Account=r2,Month=m1,Scenario=Budget", 30);
  Put(*cube, "Account=r1,Month=m1,Scenario=Actual", 7);
  ASSERT_TRUE(cube->SetHold("ann", At(*cube, "Account=r1,Month=m1,Scenario=Budget"), true).ok());
  Sandbox box(cube.get(), "ann");
  auto w = box.Write({{At(*cube, "Account=r1,Month=m1,Scenario=Actual"), CellValue::Number(1)}});
  EXPECT_EQ(w.code(), absl::StatusCode::kFailedPrecondition) << w;
  EXPECT_EQ(box.Spread(At(*cube, "Account=Total,Month=m1,Scenario=Actual"), {SpreadMethod::kEqual, 8}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  SpreadRequest relative{SpreadMethod::kRelative, 8};
  relative.basis = {{1, *cube->model().dimensions[1].Find("m1")}};  // Month=Y is consolidated: refused
  EXPECT_EQ(box.Spread(At(*cube, "Account=Total,Month=Y,Scenario=Budget"), relative).status().code(),
            absl::StatusCode::kInvalidArgument);
  // ann's hold on r1 applies in her sandbox: r2 takes 100 - 10.
  ASSERT_TRUE(box.Spread(At(*cube, "Account=Total,Month=m1,Scenario=Budget"), {SpreadMethod::kProportional, 100}).ok());
  EXPECT_EQ(*box.ReadCell(At(*cube, "Account=r1,Month=m1,Scenario=Budget")), CellValue::Number(10));
  EXPECT_EQ(*box.ReadCell(At(*cube, "Account=r2,Month=m1,Scenario=Budget")), CellValue::Number(90));
  EXPECT_EQ(*box.ReadCell(At(*cube, "Account=r1,Month=m1,Scenario=Actual")), CellValue::Number(7));
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=r2,Month=m1,Scenario=Budget"), 30);  // base untouched
}

TEST(PlanningSpreadTest, SpreadsAlongTimeInASandboxMatchTheAppsAndRollBackWhole) {
  // The same growth spread as GrowthSkipsHeldPeriodsAndCompoundsOverTheRest, in a sandbox.
  auto cube = MakeCube();
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 10);
  Sandbox box(cube.get(), "ann");
  SpreadRequest r{SpreadMethod::kGrowth, 341};
  r.growth_percent = 10;
  ASSERT_TRUE(box.Spread(At(*cube, "Account=r1,Month=Y,Scenario=Budget"), r,
                         {At(*cube, "Account=Total,Month=m1,Scenario=Budget")}).ok());
  EXPECT_EQ(*box.ReadCell(At(*cube, "Account=r1,Month=m1,Scenario=Budget")), CellValue::Number(10));
  EXPECT_NEAR(box.ReadCell(At(*cube, "Account=r1,Month=m2,Scenario=Budget"))->number, 100, 1e-9);
  EXPECT_NEAR(box.ReadCell(At(*cube, "Account=r1,Month=m4,Scenario=Budget"))->number, 121, 1e-9);
  EXPECT_TRUE(cube->ReadCell(At(*cube, "Account=r1,Month=m2,Scenario=Budget"))->is_empty());  // app untouched
  // m3 held per account (no single hold covers it): the whole straight-line spread is refused
  // and the sandbox is as it was.
  const size_t before = box.size();
  auto n = box.Spread(At(*cube, "Account=Total,Month=Y,Scenario=Budget"), {SpreadMethod::kStraightLine, 40},
                      {At(*cube, "Account=r1,Month=m3,Scenario=Budget"), At(*cube, "Account=r2,Month=m3,Scenario=Budget")});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(box.size(), before);
  EXPECT_NEAR(box.ReadCell(At(*cube, "Account=r1,Month=m2,Scenario=Budget"))->number, 100, 1e-9);
}

TEST(PlanningSpreadTest, RelativeSpreadsInASandboxMatchTheApps) {
  // The case of RelativeSpreadShiftedAlongTimeWithAHold, once in a sandbox, once in the app.
  for (bool in_sandbox : {true, false}) {
    auto cube = MakeCube();
    Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 2);
    Put(*cube, "Account=r1,Month=m2,Scenario=Budget", 5);
    Put(*cube, "Account=r1,Month=m3,Scenario=Budget", 3);
    SpreadRequest r{SpreadMethod::kRelative, 55};
    r.basis_time_offset = -1;
    const Coordinate target = At(*cube, "Account=r1,Month=Y,Scenario=Budget");
    const std::vector<Coordinate> holds = {At(*cube, "Account=r1,Month=m2,Scenario=Budget")};
    Sandbox box(cube.get(), "ann");
    ASSERT_TRUE((in_sandbox ? box.Spread(target, r, holds) : cube->Spread(target, r, holds, "ann")).ok());
    auto read = [&](const char* m) {
      const Coordinate c = At(*cube, std::string("Account=r1,Month=") + m + ",Scenario=Budget");
      return (in_sandbox ? *box.ReadCell(c) : *cube->ReadCell(c)).number;
    };
    EXPECT_DOUBLE_EQ(read("m1"), 0) << in_sandbox;
    EXPECT_DOUBLE_EQ(read("m2"), 5) << in_sandbox;
    EXPECT_DOUBLE_EQ(read("m3"), 31.25) << in_sandbox;
    EXPECT_DOUBLE_EQ(read("m4"), 18.75) << in_sandbox;
  }
}

TEST(PlanningSpreadTest, ASandboxRestoredFromItsBytesReadsAndCommitsTheSame) {
  auto cube = MakeCube();
  Put(*cube, "Account=r1,Month=m1,Scenario=Budget", 10);
  Sandbox box(cube.get(), "ann");
  ASSERT_TRUE(box.Write({{At(*cube, "Account=r2,Month=m2,Scenario=Budget"), CellValue::Number(5)},
                         {At(*cube, "Account=r1,Month=m1,Scenario=Budget"), CellValue::Text("tbd")}})
                  .ok());
  const std::string bytes = box.Encode();
  auto back = Sandbox::Restore(cube.get(), "ann", bytes, "x");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*(*back)->ReadCell(At(*cube, "Account=Total,Month=Y,Scenario=Budget")), CellValue::Number(5));
  EXPECT_EQ(*(*back)->ReadCell(At(*cube, "Account=r1,Month=m1,Scenario=Budget")), CellValue::Text("tbd"));
  EXPECT_EQ((*back)->Encode(), bytes);
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    ASSERT_EQ(Sandbox::Restore(cube.get(), "ann", std::string_view(bytes).substr(0, cut), "x").status().code(),
              absl::StatusCode::kDataLoss) << cut;
  ASSERT_TRUE((*back)->Commit().ok());
  EXPECT_DOUBLE_EQ(Value(*cube, "Account=Total,Month=Y,Scenario=Budget"), 5);
}

}  // namespace
}  // namespace quantatom

// Formulas inside sandboxes: the sandbox's view shows formula cells computed from its own
// inputs; the app and other sandboxes do not; commit carries the inputs and the app
// recomputes; discard leaves nothing. Expected values are hand-computed.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "engine/cube.h"
#include "engine/sandbox.h"
#include "formula/testutil.h"

namespace quantatom {
namespace {

using formula::Scope;

class SandboxFormulas : public ::testing::Test {
 protected:
  void SetUp() override { cube_ = *Cube::Create(formula::testing::PnlModel()); }

  Coordinate C(std::string_view acc, std::string_view region, std::string_view month,
               std::string_view scenario = "Budget") const {
    std::string text = std::string("Account=") + std::string(acc) + ",Region=" + std::string(region) +
                       ",Month=" + std::string(month) + ",Scenario=" + std::string(scenario);
    auto c = cube_->model().ParseCoordinate(text);
    EXPECT_TRUE(c.ok()) << text;
    return *c;
  }
  CellWrite W(std::string_view acc, std::string_view region, std::string_view month, double v,
              std::string_view scenario = "Budget") const {
    return {C(acc, region, month, scenario), CellValue::Number(v)};
  }
  static double Num(absl::StatusOr<CellValue> v) {
    EXPECT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v.ok() && v->is_number()) << (v.ok() ? "not a number" : "");
    return v.ok() && v->is_number() ? v->number : -1e300;
  }
  absl::Status Define(std::string_view member, std::string_view text, Scope scope = Scope::kLeaf) {
    return cube_->SetFormula({"Account", std::string(member), std::string(text), scope});
  }
  std::unique_ptr<Cube> cube_;
};

const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun"};

TEST_F(SandboxFormulas, RecurrenceFollowsASandboxWriteThroughEveryLaterPeriod) {
  const double flows[] = {10, -3, 5, 0, 7, 1};
  std::vector<CellWrite> base;
  for (int i = 0; i < 6; ++i) base.push_back(W("Flow", "EMEA", kMonths[i], flows[i]));
  ASSERT_TRUE(cube_->Write(base).ok());
  ASSERT_TRUE(Define("Closing", "Opening + Flow").ok());
  ASSERT_TRUE(Define("Opening", "prev(Closing)").ok());
  Sandbox ann(cube_.get(), "ann"), bob(cube_.get(), "bob");
  ASSERT_TRUE(ann.Write({W("Flow", "EMEA", "Feb", 100)}).ok());
  // Ann's view: Closing = 10, 110, 115, 115, 122, 123; Opening is the previous Closing.
  const double ann_closing[] = {10, 110, 115, 115, 122, 123};
  const double app_closing[] = {10, 7, 12, 12, 19, 20};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Num(ann.ReadCell(C("Closing", "EMEA", kMonths[i]))), ann_closing[i]) << kMonths[i];
    EXPECT_EQ(Num(cube_->ReadCell(C("Closing", "EMEA", kMonths[i]))), app_closing[i]) << kMonths[i];
    EXPECT_EQ(Num(bob.ReadCell(C("Closing", "EMEA", kMonths[i]))), app_closing[i]) << kMonths[i];
    if (i > 0) { EXPECT_EQ(Num(ann.ReadCell(C("Opening", "EMEA", kMonths[i]))), ann_closing[i - 1]); }
  }
  // Totals over the derived cells: Q2 Closing at World = 115 + 122 + 123.
  EXPECT_EQ(Num(ann.ReadCell(C("Closing", "World", "Q2"))), 115 + 122 + 123);
  EXPECT_EQ(Num(cube_->ReadCell(C("Closing", "World", "Q2"))), 12 + 19 + 20);
  // A later write in the app (Jan) is seen through the sandbox's formulas too.
  ASSERT_TRUE(cube_->Write({W("Flow", "EMEA", "Jan", 20)}).ok());
  EXPECT_EQ(Num(ann.ReadCell(C("Closing", "EMEA", "Jun"))), 133);
  EXPECT_EQ(Num(bob.ReadCell(C("Closing", "EMEA", "Jun"))), 30);
  // Commit carries Flow only; the app recomputes its formulas from it.
  auto c = ann.Commit();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->written, 1u);
  EXPECT_TRUE(c->conflicts.empty());
  EXPECT_EQ(Num(cube_->ReadCell(C("Closing", "EMEA", "Jun"))), 133);
  EXPECT_EQ(Num(bob.ReadCell(C("Closing", "EMEA", "Jun"))), 133);
}

TEST_F(SandboxFormulas, CrossScenarioTotalsAndRatiosInTheView) {
  ASSERT_TRUE(cube_->Write({W("Sales", "EMEA", "Jan", 100), W("COGS", "EMEA", "Jan", 60), W("Sales", "AMER", "Feb", 300),
                            W("COGS", "AMER", "Feb", 30), W("Sales", "EMEA", "Jan", 80, "Actual")})
                  .ok());
  ASSERT_TRUE(Define("GM", "Sales - COGS").ok());
  ASSERT_TRUE(Define("GMPct", "GM / Sales", Scope::kBoth).ok());
  ASSERT_TRUE(Define("Amount", "Sales - [Sales, Scenario=Actual]").ok());
  ASSERT_TRUE(Define("Units", "sum(children(Revenue)) * 2").ok());
  Sandbox ann(cube_.get(), "ann");
  ASSERT_TRUE(ann.Write({W("Sales", "EMEA", "Jan", 90, "Actual"), W("COGS", "AMER", "Feb", 150)}).ok());
  EXPECT_EQ(Num(ann.ReadCell(C("Amount", "EMEA", "Jan"))), 10);  // Budget cell reading Actual
  EXPECT_EQ(Num(cube_->ReadCell(C("Amount", "EMEA", "Jan"))), 20);
  EXPECT_EQ(Num(ann.ReadCell(C("Units", "EMEA", "Jan", "Actual"))), 180);  // a sum over a total
  EXPECT_EQ(Num(ann.ReadCell(C("GM", "AMER", "Feb"))), 150);
  // The ratio at World Q1 over the view: (40 + 150) / (100 + 300), evaluated after consolidation.
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("GMPct", "World", "Q1"))), 190.0 / 400.0);
  EXPECT_DOUBLE_EQ(Num(cube_->ReadCell(C("GMPct", "World", "Q1"))), 310.0 / 400.0);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("GMPct", "AMER", "Feb"))), 0.5);
  // A grid read mixing leaves and totals.
  GridQuery q;
  const auto& dims = cube_->model().dimensions;
  q.rows = CrossJoin({1}, {{*dims[1].Find("AMER"), *dims[1].Find("World")}});
  q.cols = CrossJoin({0}, {{*dims[0].Find("GM"), *dims[0].Find("GMPct")}});
  q.slicers = {{2, *dims[2].Find("FY")}, {3, *dims[3].Find("Budget")}};
  auto g = ann.Query(q);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->at(0, 0).number, 150);
  EXPECT_DOUBLE_EQ(g->at(0, 1).number, 0.5);
  EXPECT_EQ(g->at(1, 0).number, 190);
  EXPECT_DOUBLE_EQ(g->at(1, 1).number, 190.0 / 400.0);
  // A formula pinning a total of another dimension: a write in AMER moves EMEA's share.
  ASSERT_TRUE(Define("Price", "Sales / [Sales, Region=World]").ok());
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Price", "EMEA", "Jan"))), 1.0);
  ASSERT_TRUE(ann.Write({W("Sales", "AMER", "Jan", 300)}).ok());
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Price", "EMEA", "Jan"))), 100.0 / 400.0);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Price", "AMER", "Jan"))), 300.0 / 400.0);
  EXPECT_DOUBLE_EQ(Num(cube_->ReadCell(C("Price", "EMEA", "Jan"))), 1.0);
  // Formula cells stay read-only in the sandbox.
  EXPECT_FALSE(ann.Write({W("GM", "AMER", "Feb", 1)}).ok());
  // Discard leaves nothing: the app unchanged, the sandbox closed.
  ASSERT_TRUE(ann.Discard().ok());
  EXPECT_EQ(Num(cube_->ReadCell(C("GM", "AMER", "Feb"))), 270);
  EXPECT_FALSE(ann.ReadCell(C("GM", "AMER", "Feb")).ok());
}

TEST_F(SandboxFormulas, SpreadsFeedFormulasAndHoldTheirCells) {
  ASSERT_TRUE(cube_->Write({W("Sales", "EMEA", "Jan", 100), W("Sales", "EMEA", "Feb", 300), W("COGS", "EMEA", "Jan", 10)})
                  .ok());
  ASSERT_TRUE(Define("GM", "Sales - COGS").ok());
  Sandbox ann(cube_.get(), "ann");
  // Proportional spread of Sales EMEA Q1 to 800: Jan 200, Feb 600; GM follows.
  auto n = ann.Spread(C("Sales", "EMEA", "Q1"), SpreadRequest{SpreadMethod::kProportional, 800});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(Num(ann.ReadCell(C("GM", "EMEA", "Jan"))), 190);
  EXPECT_EQ(Num(ann.ReadCell(C("GM", "EMEA", "Feb"))), 600);
  EXPECT_EQ(Num(cube_->ReadCell(C("GM", "EMEA", "Feb"))), 300);
  // A spread into a total over the sandbox's own cells: NetIncome EMEA Jan is Sales 200 -
  // COGS 10 = 190 in the view; to 380 scales both by 2, and GM follows.
  n = ann.Spread(C("NetIncome", "EMEA", "Jan"), SpreadRequest{SpreadMethod::kProportional, 380});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Sales", "EMEA", "Jan"))), 400);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("COGS", "EMEA", "Jan"))), 20);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("GM", "EMEA", "Jan"))), 380);
  auto c = ann.Commit();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->written, 3u);  // Sales Jan, Sales Feb, COGS Jan: never GM
  EXPECT_DOUBLE_EQ(Num(cube_->ReadCell(C("GM", "EMEA", "Jan"))), 380);
  EXPECT_DOUBLE_EQ(Num(cube_->ReadCell(C("GM", "EMEA", "Feb"))), 600);
}

TEST_F(SandboxFormulas, ASpreadOverFormulaCellsHoldsThemAtTheSandboxsValue) {
  ASSERT_TRUE(cube_->Write({W("Sales", "EMEA", "Jan", 100), W("Sales", "EMEA", "Feb", 300)}).ok());
  ASSERT_TRUE(Define("Services", "Sales * 0.5").ok());
  Sandbox ann(cube_.get(), "ann");
  ASSERT_TRUE(ann.Write({W("Sales", "EMEA", "Jan", 200)}).ok());
  // The view: Sales 200 + 300, Services (derived) 100 + 150: Revenue Q1 750 (the app's 600).
  EXPECT_EQ(Num(ann.ReadCell(C("Revenue", "EMEA", "Q1"))), 750);
  // Spread Revenue Q1 to 1000: Services is held at the view's 250, so Sales (500) takes 750,
  // x1.5: Jan 300, Feb 450 (with the app's Services, 200, it would be 320 and 480). Services
  // then follows: 150 and 225.
  auto n = ann.Spread(C("Revenue", "EMEA", "Q1"), SpreadRequest{SpreadMethod::kProportional, 1000});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Sales", "EMEA", "Jan"))), 300);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Sales", "EMEA", "Feb"))), 450);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Services", "EMEA", "Feb"))), 225);
  EXPECT_DOUBLE_EQ(Num(ann.ReadCell(C("Revenue", "EMEA", "Q1"))), 1125);
  EXPECT_EQ(Num(cube_->ReadCell(C("Revenue", "EMEA", "Q1"))), 600);
}

TEST_F(SandboxFormulas, GridReadsStayConsistentWhileTheAppAndTheSandboxWrite) {
  ASSERT_TRUE(Define("Closing", "prev(Closing) + Flow").ok());
  Sandbox ann(cube_.get(), "ann");
  ASSERT_TRUE(ann.Write({W("Flow", "EMEA", "Jan", 1)}).ok());
  // One grid: Flow in each month and Closing in June. In any consistent view Closing Jun is
  // the sum of the six flows, whoever wrote them last.
  const auto& dims = cube_->model().dimensions;
  GridQuery q;
  std::vector<std::vector<MemberId>> tuples;
  for (const char* m : kMonths) tuples.push_back({*dims[0].Find("Flow"), *dims[2].Find(m)});
  tuples.push_back({*dims[0].Find("Closing"), *dims[2].Find("Jun")});
  q.rows.dims = {0, 2};
  q.rows.tuples = tuples;
  q.cols.tuples = {{}};
  q.slicers = {{1, *dims[1].Find("EMEA")}, {3, *dims[3].Find("Budget")}};
  std::atomic<bool> stop{false};
  std::thread app_writer([&] {
    for (int i = 0; !stop; ++i) (void)cube_->Write({W("Flow", "EMEA", kMonths[1 + i % 5], i % 7)});
  });
  std::thread sandbox_writer([&] {
    for (int i = 0; !stop; ++i) (void)ann.Write({W("Flow", "EMEA", kMonths[i % 3], i % 11)});
  });
  for (int r = 0; r < 300; ++r) {
    auto g = ann.Query(q);
    ASSERT_TRUE(g.ok()) << g.status();
    double sum = 0;
    for (int m = 0; m < 6; ++m)
      if (g->cells[m].is_number()) sum += g->cells[m].number;
    ASSERT_TRUE(g->cells[6].is_number());
    EXPECT_EQ(g->cells[6].number, sum) << "read " << r;
  }
  stop = true;
  app_writer.join();
  sandbox_writer.join();
}

TEST_F(SandboxFormulas, RestoredAndMergedSandboxesRecomputeTheirFormulas) {
  ASSERT_TRUE(cube_->Write({W("Sales", "EMEA", "Jan", 100), W("COGS", "EMEA", "Jan", 60)}).ok());
  ASSERT_TRUE(Define("GM", "Sales - COGS").ok());
  Sandbox ann(cube_.get(), "ann", 11), bob(cube_.get(), "bob", 12);
  ASSERT_TRUE(ann.Write({W("Sales", "EMEA", "Jan", 500)}).ok());
  EXPECT_EQ(Num(ann.ReadCell(C("GM", "EMEA", "Jan"))), 440);
  // Encoded with its entered cells only; restored, its formulas are computed again.
  auto restored = Sandbox::Restore(cube_.get(), "ann", ann.Encode(), "test");
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->size(), 1u);
  EXPECT_EQ(Num((*restored)->ReadCell(C("GM", "EMEA", "Jan"))), 440);
  // Merged into another sandbox: the receiver's formulas follow.
  ASSERT_TRUE(bob.Write({W("COGS", "EMEA", "Jan", 100)}).ok());
  EXPECT_EQ(Num(bob.ReadCell(C("GM", "EMEA", "Jan"))), 0);
  ASSERT_TRUE(bob.MergeFrom(ann).ok());
  EXPECT_EQ(Num(bob.ReadCell(C("GM", "EMEA", "Jan"))), 400);
  // A formula redefined in the app shows in the open sandboxes.
  ASSERT_TRUE(Define("GM", "Sales - 2 * COGS").ok());
  EXPECT_EQ(Num(bob.ReadCell(C("GM", "EMEA", "Jan"))), 300);
  EXPECT_EQ(Num(ann.ReadCell(C("GM", "EMEA", "Jan"))), 380);
  EXPECT_EQ(Num(cube_->ReadCell(C("GM", "EMEA", "Jan"))), -20);
}

}  // namespace
}  // namespace quantatom

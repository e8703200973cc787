#include <bit>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "engine/cube.h"
#include "engine/data_folder.h"
#include "engine/formula_bulk.h"
#include "engine/sandbox.h"
#include "formula/jit.h"
#include "formula/testutil.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using formula::Scope;

class CubeFormulas : public ::testing::Test {
 protected:
  void SetUp() override { cube_ = *Cube::Create(formula::testing::PnlModel()); }

  Coordinate C(std::string_view text) const {
    auto c = cube_->model().ParseCoordinate(text);
    EXPECT_TRUE(c.ok()) << text << ": " << c.status();
    return *c;
  }
  void Put(std::string_view acc, std::string_view region, std::string_view month, double v,
           std::string_view scenario = "Budget") {
    auto s = cube_->Write({{C(StrCat("Account=", acc, ",Region=", region, ",Month=", month, ",Scenario=", scenario)),
                            CellValue::Number(v)}});
    ASSERT_TRUE(s.ok()) << s;
  }
  CellValue Read(std::string_view acc, std::string_view region, std::string_view month,
                 std::string_view scenario = "Budget") const {
    auto v = cube_->ReadCell(C(StrCat("Account=", acc, ",Region=", region, ",Month=", month, ",Scenario=", scenario)));
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }
  double Num(std::string_view acc, std::string_view region, std::string_view month,
             std::string_view scenario = "Budget") const {
    CellValue v = Read(acc, region, month, scenario);
    EXPECT_TRUE(v.is_number()) << acc << " " << region << " " << month;
    return v.number;
  }
  absl::Status Define(std::string_view member, std::string_view text, Scope scope = Scope::kLeaf) {
    return cube_->SetFormula({"Account", std::string(member), std::string(text), scope});
  }
  static std::string StrCat(std::string_view a, std::string_view b, std::string_view c = "", std::string_view d = "",
                            std::string_view e = "", std::string_view f = "", std::string_view g = "",
                            std::string_view h = "") {
    return std::string(a) + std::string(b) + std::string(c) + std::string(d) + std::string(e) + std::string(f) +
           std::string(g) + std::string(h);
  }
  std::unique_ptr<Cube> cube_;
};

TEST_F(CubeFormulas, LeafFormulaPopulatesWhereItsInputsAreAndConsolidates) {
  Put("Sales", "EMEA", "Jan", 100);
  Put("COGS", "EMEA", "Jan", 60);
  Put("Sales", "AMER", "Jan", 50);  // no COGS: empty reads as 0
  ASSERT_TRUE(Define("GM", "Sales - COGS").ok());
  EXPECT_EQ(Num("GM", "EMEA", "Jan"), 40);
  EXPECT_EQ(Num("GM", "AMER", "Jan"), 50);
  EXPECT_TRUE(Read("GM", "EMEA", "Feb").is_empty());  // no input there: no cell (no feeders)
  EXPECT_EQ(Num("GM", "World", "Jan"), 90);            // computed leaves consolidate
  EXPECT_EQ(Num("GM", "World", "Q1"), 90);
  // A write to an input recalculates, and the total read right after is consistent.
  EXPECT_EQ(Num("GM", "World", "FY"), 90);  // now cached
  Put("COGS", "AMER", "Jan", 20);
  EXPECT_EQ(Num("GM", "AMER", "Jan"), 30);
  EXPECT_EQ(Num("GM", "World", "FY"), 70);
  // Clearing every input removes the formula cell.
  ASSERT_TRUE(cube_->Write({{C("Account=Sales,Region=AMER,Month=Jan,Scenario=Budget"), CellValue::Empty()},
                            {C("Account=COGS,Region=AMER,Month=Jan,Scenario=Budget"), CellValue::Empty()}})
                  .ok());
  EXPECT_TRUE(Read("GM", "AMER", "Jan").is_empty());
  EXPECT_EQ(Num("GM", "World", "FY"), 40);
}

TEST_F(CubeFormulas, FormulaCellsAreReadOnlyAndHeldBySpreads) {
  Put("Sales", "EMEA", "Jan", 100);
  Put("Rent", "EMEA", "Jan", 10);
  ASSERT_TRUE(Define("COGS", "Sales * 0.5").ok());
  auto s = cube_->Write({{C("Account=COGS,Region=EMEA,Month=Jan,Scenario=Budget"), CellValue::Number(1)}});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(std::string(s.message()).find("Account 'COGS'"), std::string::npos) << s;
  // Spreading into Costs (COGS + Rent) changes only Rent; COGS stays the formula's value.
  SpreadRequest r;
  r.amount = 80;
  ASSERT_TRUE(cube_->Spread(C("Account=Costs,Region=EMEA,Month=Jan,Scenario=Budget"), r).ok());
  EXPECT_EQ(Num("COGS", "EMEA", "Jan"), 50);
  EXPECT_EQ(Num("Rent", "EMEA", "Jan"), 30);
  // Spreading into Revenue scales Sales; COGS follows it.
  r.amount = 300;
  ASSERT_TRUE(cube_->Spread(C("Account=Revenue,Region=EMEA,Month=Jan,Scenario=Budget"), r).ok());
  EXPECT_EQ(Num("COGS", "EMEA", "Jan"), 150);
  EXPECT_EQ(Num("Costs", "EMEA", "Jan"), 180);
  // Undo of the spread brings COGS back with Sales.
  ASSERT_TRUE(cube_->Undo("").ok());
  EXPECT_EQ(Num("COGS", "EMEA", "Jan"), 50);
}

// An in-place rescale recomputes only the formulas whose cells it scaled or that read what it
// scaled; the others keep their cells, and every formula cell is right afterwards.
TEST_F(CubeFormulas, RescaleRecomputesTheFormulasItTouches) {
  Put("Sales", "EMEA", "Jan", 100);
  Put("Services", "EMEA", "Jan", 40);
  Put("Rent", "AMER", "Feb", 7);
  ASSERT_TRUE(Define("COGS", "Sales * 0.5").ok());
  ASSERT_TRUE(Define("GM", "Sales - COGS").ok());
  ASSERT_TRUE(Define("Amount", "Rent * 3").ok());
  // Scaling everything under Revenue (Sales, Services) by 2: COGS and GM follow Sales.
  ASSERT_TRUE(cube_->ScaleLeaves(C("Account=Revenue,Region=World,Month=FY,Scenario=Budget"), 2).ok());
  EXPECT_EQ(Num("Sales", "EMEA", "Jan"), 200);
  EXPECT_EQ(Num("COGS", "EMEA", "Jan"), 100);
  EXPECT_EQ(Num("GM", "EMEA", "Jan"), 100);
  EXPECT_EQ(Num("Amount", "AMER", "Feb"), 21);
  // Scaling a region that holds formula cells themselves (everything): they are recomputed
  // from their scaled inputs, not left scaled.
  ASSERT_TRUE(cube_->ScaleLeaves(C("Account=NetIncome,Region=World,Month=FY,Scenario=Budget"), 10).ok());
  EXPECT_EQ(Num("Sales", "EMEA", "Jan"), 2000);
  EXPECT_EQ(Num("COGS", "EMEA", "Jan"), 1000);
  EXPECT_EQ(Num("GM", "EMEA", "Jan"), 1000);
  EXPECT_EQ(Num("Amount", "AMER", "Feb"), 210);
}

TEST_F(CubeFormulas, RatioIsComputedAfterConsolidationNotSummed) {
  Put("Sales", "EMEA", "Jan", 100);
  Put("COGS", "EMEA", "Jan", 60);
  Put("Sales", "AMER", "Feb", 300);
  Put("COGS", "AMER", "Feb", 30);
  ASSERT_TRUE(Define("GM", "Sales - COGS").ok());
  ASSERT_TRUE(Define("GMPct", "GM / Sales", Scope::kBoth).ok());
  EXPECT_DOUBLE_EQ(Num("GMPct", "EMEA", "Jan"), 0.4);
  EXPECT_DOUBLE_EQ(Num("GMPct", "AMER", "Feb"), 0.9);
  // World Q1: (40 + 270) / (100 + 300), not 0.4 + 0.9.
  EXPECT_DOUBLE_EQ(Num("GMPct", "World", "Q1"), 310.0 / 400.0);
  // A grid mixing leaves and totals.
  GridQuery q;
  q.rows = CrossJoin({1}, {{*cube_->model().dimensions[1].Find("EMEA"), *cube_->model().dimensions[1].Find("World")}});
  q.cols = CrossJoin({2}, {{*cube_->model().dimensions[2].Find("Jan"), *cube_->model().dimensions[2].Find("FY")}});
  q.slicers = {{0, *cube_->model().dimensions[0].Find("GMPct")}, {3, *cube_->model().dimensions[3].Find("Budget")}};
  for (bool cached : {false, true, true}) {
    Cube::ReadOptions ro;
    ro.use_cache = cached;
    auto g = cube_->Query(q, ro);
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_DOUBLE_EQ(g->at(0, 0).number, 0.4);
    EXPECT_DOUBLE_EQ(g->at(0, 1).number, 0.4);
    EXPECT_DOUBLE_EQ(g->at(1, 0).number, 0.4);
    EXPECT_DOUBLE_EQ(g->at(1, 1).number, 310.0 / 400.0);
  }
  // A ratio on a consolidated member: Revenue's own consolidation replaced.
  ASSERT_TRUE(Define("Revenue", "Sales * 2", Scope::kConsolidated).ok());
  EXPECT_EQ(Num("Revenue", "World", "FY"), 800);
}

TEST_F(CubeFormulas, DivisionByZeroIsAnErrorCellAndTotalsAboveItAreErrors) {
  Put("Sales", "EMEA", "Jan", 100);
  Put("Units", "EMEA", "Jan", 0);
  Put("Sales", "AMER", "Jan", 90);
  Put("Units", "AMER", "Jan", 3);
  ASSERT_TRUE(Define("Price", "Sales / Units").ok());
  EXPECT_EQ(ErrorOf(Num("Price", "EMEA", "Jan")), CellError::kDivZero);
  EXPECT_EQ(Num("Price", "AMER", "Jan"), 30);
  EXPECT_EQ(ErrorOf(Num("Price", "World", "Jan")), CellError::kDivZero);
  // Fixing the input clears the error everywhere, cached totals included.
  Put("Units", "EMEA", "Jan", 4);
  EXPECT_EQ(Num("Price", "EMEA", "Jan"), 25);
  EXPECT_EQ(Num("Price", "World", "Jan"), 55);
  ASSERT_TRUE(Define("Amount", "iferror(Sales / (Units - 4), -1)").ok());
  EXPECT_EQ(Num("Amount", "EMEA", "Jan"), -1);
  EXPECT_EQ(Num("Amount", "AMER", "Jan"), -90);
}

TEST_F(CubeFormulas, RecurrenceAlongTimeRunsInOrder) {
  // Opening = prev(Closing); Closing = Opening + Flow, hand-computed.
  const double flows[] = {10, -3, 5, 0, 7, 1};
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun"};
  for (int i = 0; i < 6; ++i)
    if (i != 3) Put("Flow", "EMEA", months[i], flows[i]);
  Put("Opening", "EMEA", "Jan", 100);  // overwritten: Opening is a formula
  ASSERT_TRUE(Define("Closing", "Opening + Flow").ok());
  ASSERT_TRUE(Define("Opening", "prev(Closing)").ok());
  double closing = 0;
  for (int i = 0; i < 6; ++i) {
    if (i == 0) {
      EXPECT_TRUE(Read("Opening", "EMEA", "Jan").is_empty());
    } else {
      EXPECT_EQ(Num("Opening", "EMEA", months[i]), closing);
    }
    closing += flows[i];
    EXPECT_EQ(Num("Closing", "EMEA", months[i]), closing) << months[i];
  }
  // A write in February flows to every later month.
  Put("Flow", "EMEA", "Feb", 100);
  EXPECT_EQ(Num("Closing", "EMEA", "Jun"), 10 + 100 + 5 + 0 + 7 + 1);
  EXPECT_EQ(Num("Opening", "EMEA", "Apr"), 115);
}

TEST_F(CubeFormulas, TimeFunctions) {
  const double sales[] = {1, 2, 4, 8, 16, 32};
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun"};
  for (int i = 0; i < 6; ++i) Put("Sales", "EMEA", months[i], sales[i]);
  auto check = [&](std::string_view text, std::vector<double> want) {
    ASSERT_TRUE(Define("Amount", text).ok()) << text;
    for (int i = 0; i < 6; ++i) {
      CellValue v = Read("Amount", "EMEA", months[i]);
      if (std::isnan(want[i])) {
        EXPECT_TRUE(v.is_empty()) << text << " " << months[i];
      } else {
        EXPECT_EQ(v.number, want[i]) << text << " " << months[i];
      }
    }
  };
  const double none = NAN;
  check("ytd(Sales)", {1, 3, 7, 15, 31, 63});
  check("qtd(Sales)", {1, 3, 7, 8, 24, 56});
  check("cumulative(Sales)", {1, 3, 7, 15, 31, 63});
  check("prev(Sales)", {none, 1, 2, 4, 8, 16});
  check("next(Sales)", {2, 4, 8, 16, 32, none});
  check("lag(Sales, 2)", {none, none, 1, 2, 4, 8});
  check("lead(Sales, 3)", {8, 16, 32, none, none, none});
  check("first(Sales)", {1, 1, 1, 1, 1, 1});
  check("last(Sales)", {32, 32, 32, 32, 32, 32});
  check("average(Sales)", {1, 1.5, 7.0 / 3, 15.0 / 4, 31.0 / 5, 63.0 / 6});
  check("Sales - prev(Sales)", {1, 1, 2, 4, 8, 16});
}

// Time functions of a consolidated-scope formula read at quarters and the year: a step moves to
// the total of the same level; a window is that of the total's last month. Hand-computed.
TEST_F(CubeFormulas, TimeFunctionsAtConsolidatedPeriods) {
  const double sales[] = {1, 2, 4, 8, 16, 32};
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun"};
  for (int i = 0; i < 6; ++i) Put("Sales", "EMEA", months[i], sales[i]);
  auto at = [&](std::string_view text, std::string_view period) {
    EXPECT_TRUE(Define("Amount", text, Scope::kBoth).ok()) << text;
    return Read("Amount", "EMEA", period);
  };
  // Q1 = 7, Q2 = 56, FY = 63.
  EXPECT_EQ(at("prev(Sales)", "Q2").number, 7);      // Q1
  EXPECT_TRUE(at("prev(Sales)", "Q1").is_empty());   // before the first quarter
  EXPECT_EQ(at("next(Sales)", "Q1").number, 56);     // Q2
  EXPECT_TRUE(at("lag(Sales, 1)", "FY").is_empty());  // the only year
  EXPECT_EQ(at("ytd(Sales)", "Q1").number, 7);       // ytd at Mar
  EXPECT_EQ(at("ytd(Sales)", "Q2").number, 63);      // ytd at Jun
  EXPECT_EQ(at("qtd(Sales)", "Q2").number, 56);      // qtd at Jun
  EXPECT_EQ(at("cumulative(Sales)", "FY").number, 63);
  EXPECT_EQ(at("first(Sales)", "Q2").number, 1);
  EXPECT_EQ(at("last(Sales)", "Q1").number, 32);
  EXPECT_EQ(at("average(Sales)", "Q1").number, 7.0 / 3);  // average over Jan..Mar
  EXPECT_EQ(at("Sales - prev(Sales)", "Q2").number, 56 - 7);
  // Leaf months are unchanged.
  EXPECT_EQ(at("prev(Sales)", "Apr").number, 4);
}

TEST_F(CubeFormulas, SetsAttributesAndOtherScenarios) {
  Put("Sales", "EMEA", "Jan", 100);
  Put("Services", "EMEA", "Jan", 20);
  Put("Sales", "AMER", "Jan", 50);
  Put("Sales", "EMEA", "Jan", 80, "Actual");
  ASSERT_TRUE(Define("Amount", "sum(children(Revenue)) * attr(Region, \"tax_rate\")").ok());
  EXPECT_DOUBLE_EQ(Num("Amount", "EMEA", "Jan"), 24);
  EXPECT_EQ(ErrorOf(Num("Amount", "AMER", "Jan")), CellError::kRef);  // AMER has no tax_rate
  ASSERT_TRUE(Define("Amount", "Sales - [Sales, Scenario=Actual]").ok());
  EXPECT_EQ(Num("Amount", "EMEA", "Jan"), 20);
  EXPECT_EQ(Num("Amount", "EMEA", "Jan", "Actual"), 0);
  // A change in Actual reaches the Budget cell that reads it.
  Put("Sales", "EMEA", "Jan", 90, "Actual");
  EXPECT_EQ(Num("Amount", "EMEA", "Jan"), 10);
  auto st = Define("Amount", "Sales / count(leaves(Revenue)) + avg(children(Revenue))");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Num("Amount", "EMEA", "Jan"), 100.0 / 2 + 60);
  ASSERT_TRUE(Define("Amount", "Sales / [Sales, Region=World]").ok());
  EXPECT_DOUBLE_EQ(Num("Amount", "AMER", "Jan"), 50.0 / 150);
}

TEST_F(CubeFormulas, LookupIntoAnotherApp) {
  AppModel fx_model;
  fx_model.name = "fx";
  {
    DimensionBuilder b("Region", DimensionType::kEntity);
    (void)b.AddMember("EMEA");
    (void)b.AddMember("AMER");
    fx_model.dimensions.push_back(*std::move(b).Build());
  }
  {
    DimensionBuilder b("Measure", DimensionType::kMeasure);
    (void)b.AddMember("Rate");
    fx_model.dimensions.push_back(*std::move(b).Build());
  }
  auto fx = *Cube::Create(fx_model);
  ASSERT_TRUE(fx->Write({{*fx_model.ParseCoordinate("Region=EMEA,Measure=Rate"), CellValue::Number(1.1)}}).ok());
  cube_->SetAppResolver([&](std::string_view app) -> const Cube* { return app == "fx" ? fx.get() : nullptr; });
  Put("Sales", "EMEA", "Jan", 100);
  Put("Sales", "AMER", "Jan", 100);
  ASSERT_TRUE(Define("Amount", "Sales * lookup(\"fx\", [Measure=Rate])").ok());
  EXPECT_DOUBLE_EQ(Num("Amount", "EMEA", "Jan"), 110);
  EXPECT_EQ(Num("Amount", "AMER", "Jan"), 0);  // no rate entered: empty reads as 0
}

TEST_F(CubeFormulas, BadDefinitionsChangeNothing) {
  Put("Sales", "EMEA", "Jan", 100);
  ASSERT_TRUE(Define("GM", "Sales * 2").ok());
  auto s = Define("Amount", "GM +");
  EXPECT_EQ(s.message(), "formula for Account=Amount: line 1, column 5: expected a number, a member, a function or '(' but found the end of the formula");
  s = Define("Sales", "GM - 1");
  EXPECT_NE(std::string(s.message()).find("formula cycle: "), std::string::npos) << s;
  s = cube_->SetFormula({"Region", "EMEA", "AMER * 2", Scope::kLeaf});
  EXPECT_NE(std::string(s.message()).find("one dimension"), std::string::npos) << s;
  EXPECT_EQ(cube_->Formulas().size(), 1u);
  EXPECT_EQ(Num("GM", "EMEA", "Jan"), 200);
  EXPECT_EQ(Num("Sales", "EMEA", "Jan"), 100);
  // Removing a formula clears its cells and makes the member writable again.
  ASSERT_TRUE(cube_->RemoveFormula("Account", "GM").ok());
  EXPECT_TRUE(Read("GM", "EMEA", "Jan").is_empty());
  Put("GM", "EMEA", "Jan", 5);
  EXPECT_EQ(cube_->RemoveFormula("Account", "GM").code(), absl::StatusCode::kNotFound);
}

TEST_F(CubeFormulas, FormulasAreSavedWithTheApp) {
  Put("Sales", "EMEA", "Jan", 100);
  Put("COGS", "EMEA", "Jan", 30);
  ASSERT_TRUE(Define("GM", "Sales-COGS").ok());
  ASSERT_TRUE(Define("GMPct", "GM/Sales", Scope::kBoth).ok());
  std::string bytes = EncodeAppSnapshot(*cube_);
  auto loaded = DecodeAppSnapshot(bytes, "mem", "pnl");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->Formulas(), cube_->Formulas());
  EXPECT_EQ((*loaded)->Formulas()[0].text, "Sales - COGS");
  ASSERT_TRUE((*loaded)->Write({{C("Account=COGS,Region=EMEA,Month=Jan,Scenario=Budget"), CellValue::Number(50)}}).ok());
  EXPECT_EQ((*loaded)->ReadCell(C("Account=GM,Region=EMEA,Month=Jan,Scenario=Budget"))->number, 50);
  EXPECT_EQ((*loaded)->ReadCell(C("Account=GMPct,Region=World,Month=FY,Scenario=Budget"))->number, 0.5);
}

// Formulas are defined and removed while other threads write: each write either lands or is
// refused because its member has become a formula member (read-only), never half; at the end
// the formula cells equal their inputs computed here, and a full recalculation changes nothing.
// (Run under ThreadSanitizer too: it caught the read-only list being read outside the lock.)
TEST_F(CubeFormulas, DefiningFormulasWhileThreadsWriteIsSafe) {
  const std::vector<std::string> regions = {"EMEA", "AMER"};
  const std::vector<std::string> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun"};
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t)
    writers.emplace_back([&, t] {
      std::mt19937_64 rng(t + 1);
      for (int i = 0; !stop.load() || i < 200; ++i) {
        // Sales and COGS are never formula members; GM is one now and then.
        const char* acc = i % 5 == 4 ? "GM" : (i % 2 ? "Sales" : "COGS");
        Coordinate c = C(StrCat("Account=", acc, ",Region=", regions[rng() % 2], ",Month=", months[rng() % 6],
                                ",Scenario=Budget"));
        absl::Status s = cube_->Write({{c, CellValue::Number(static_cast<double>(rng() % 100))}});
        if (!s.ok()) {
          ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
          ASSERT_EQ(acc, std::string("GM")) << s;
          ++refused;
        }
        if (i % 16 == 0) (void)cube_->ReadCell(C("Account=NetIncome,Region=World,Month=FY,Scenario=Budget"));
      }
    });
  for (int round = 0; round < 30; ++round) {
    ASSERT_TRUE(Define("GM", round % 2 ? "Sales - COGS" : "Sales - 2 * COGS").ok());
    ASSERT_TRUE(Define("Amount", "GM * 2 + prev(Sales)").ok());
    if (round % 3 == 2) {
      ASSERT_TRUE(cube_->RemoveFormula("Account", "Amount").ok());
      ASSERT_TRUE(cube_->RemoveFormula("Account", "GM").ok());
    }
  }
  ASSERT_TRUE(Define("GM", "Sales - COGS").ok());
  ASSERT_TRUE(Define("Amount", "GM * 2 + prev(Sales)").ok());
  stop = true;
  for (auto& w : writers) w.join();
  for (const auto& r : regions)
    for (size_t m = 0; m < months.size(); ++m) {
      const CellValue sales = Read("Sales", r, months[m]), cogs = Read("COGS", r, months[m]);
      const CellValue prev_sales = m > 0 ? Read("Sales", r, months[m - 1]) : CellValue::Empty();
      const CellValue gm = Read("GM", r, months[m]), amount = Read("Amount", r, months[m]);
      const double s = sales.is_number() ? sales.number : 0, c = cogs.is_number() ? cogs.number : 0;
      if (sales.is_number() || cogs.is_number()) {
        ASSERT_TRUE(gm.is_number()) << r << " " << months[m];
        EXPECT_EQ(gm.number, s - c) << r << " " << months[m];
      } else {
        EXPECT_TRUE(gm.is_empty()) << r << " " << months[m];
      }
      if (gm.is_number() || prev_sales.is_number()) {
        ASSERT_TRUE(amount.is_number()) << r << " " << months[m];
        EXPECT_EQ(amount.number, (gm.is_number() ? gm.number : 0) * 2 + (prev_sales.is_number() ? prev_sales.number : 0));
      } else {
        EXPECT_TRUE(amount.is_empty()) << r << " " << months[m];
      }
    }
  KeyValues before = cube_->WithStore([](const CellStore& s) { return s.SortedCells(); });
  cube_->RecalculateFormulas();
  KeyValues after = cube_->WithStore([](const CellStore& s) { return s.SortedCells(); });
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].key, after[i].key);
    EXPECT_EQ(std::bit_cast<uint64_t>(before[i].value), std::bit_cast<uint64_t>(after[i].value));
  }
}

// ---- Property: incremental recalculation equals full recalculation, and both equal an
// independent evaluation, over random write sequences on random models.

using testing_util::RandomApp;

TEST(CubeFormulasProperty, IncrementalEqualsFullAndBruteForceOnRandomModelsAndSandboxes) {
  std::mt19937_64 rng(20261124);
  int models = 0;
  for (int trial = 0; models < 25 && trial < 400; ++trial) {
    RandomApp app = testing_util::MakeRandomApp(rng, false, /*first_is_time=*/true);
    const int dims = static_cast<int>(app.raw.size());
    if (dims < 2) continue;
    const int fd = dims - 1;  // the formula dimension; dimension 0 is time
    std::vector<int> leaves;
    for (int m = 0; m < app.raw[fd].members; ++m)
      if (app.raw[fd].IsLeaf(m)) leaves.push_back(m);
    if (leaves.size() < 6) continue;
    size_t coords = 1;
    for (auto& raw : app.raw) coords *= raw.members;
    if (coords > 20000) continue;
    ++models;
    std::shuffle(leaves.begin(), leaves.end(), rng);
    const int a = leaves[0], b = leaves[1], f1 = leaves[2], f2 = leaves[3], f3 = leaves[4], f4 = leaves[5];
    // Every other model: the bulk recalculation cuts these small stores into many chunks.
    SetBulkChunkCellsForTesting(models % 2 ? 3 : 50000);
    using testing_util::Code;
    auto cube = *Cube::Create(app.model);
    const std::string dn = app.model.dimensions[fd].name();
    ASSERT_TRUE(cube->SetFormula({dn, Code(fd, f1), Code(fd, a) + " - 2 * " + Code(fd, b), Scope::kLeaf}).ok());
    ASSERT_TRUE(cube->SetFormula({dn, Code(fd, f2), "iferror(" + Code(fd, f1) + " / " + Code(fd, b) + ", 0.5) + ytd(" + Code(fd, a) + ")", Scope::kLeaf}).ok());
    auto s = cube->SetFormula({dn, Code(fd, f3), "prev(" + Code(fd, f3) + ") + " + Code(fd, f1), Scope::kLeaf});
    ASSERT_TRUE(s.ok()) << s;
    // Shifted inputs: the bulk path walks them with a step along time.
    s = cube->SetFormula({dn, Code(fd, f4), "lag(" + Code(fd, a) + ", 2) + next(" + Code(fd, b) + ") * 3", Scope::kLeaf});
    ASSERT_TRUE(s.ok()) << s;
    // A same-period chain over f1 (when the dimension has room): fused into f1's pass, reading
    // f1's and f5's results from the pass itself. Defined together; a repeat is refused.
    const bool chain = leaves.size() >= 8;
    const int f5 = chain ? leaves[6] : -1, f6 = chain ? leaves[7] : -1;
    if (chain) {
      const FormulaDefinition d5{dn, Code(fd, f5), Code(fd, f1) + " * 0.5 + " + Code(fd, b), Scope::kLeaf};
      const FormulaDefinition d6{dn, Code(fd, f6), Code(fd, f5) + " / 2 + " + Code(fd, f1), Scope::kLeaf};
      EXPECT_TRUE(absl::IsInvalidArgument(cube->SetFormulas({d5, d5})));
      s = cube->SetFormulas({d6, d5});
      ASSERT_TRUE(s.ok()) << s;
    }
    // Inputs as the test tracks them: only members a and b (and others) are written.
    std::map<std::vector<int>, double> input;
    std::vector<int> time_leaves;  // generator ids in leaf order
    {
      const Dimension& t = app.model.dimensions[0];
      for (uint32_t o = 0; o < t.leaf_count(); ++o) {
        const std::string& code = t.member(t.leaf_member(o)).code;
        time_leaves.push_back(std::stoi(code.substr(code.find('m') + 1)));
      }
    }
    // The formula cells f1, f3, f4, f5, f6 computed from entered cells `input` alone (brute
    // force, independent of the engine); `contexts` receives the non-time, non-formula leaf
    // combinations.
    auto reference = [&](const std::map<std::vector<int>, double>& cells, std::vector<std::vector<int>>& contexts) {
      // Expected formula cells, computed here from `input` alone.
      std::map<std::vector<int>, double> expected;
      auto in = [&](std::vector<int> c, int member) -> std::optional<double> {
        c[fd] = member;
        auto it = cells.find(c);
        if (it == cells.end()) return std::nullopt;
        return it->second;
      };
      contexts = {{}};
      for (int d = 1; d < dims; ++d) {
        if (d == fd) {
          for (auto& c : contexts) c.push_back(0);
          continue;
        }
        std::vector<std::vector<int>> next;
        for (auto& c : contexts)
          for (int m = 0; m < app.raw[d].members; ++m)
            if (app.raw[d].IsLeaf(m)) {
              auto x = c;
              x.push_back(m);
              next.push_back(x);
            }
        contexts = next;
      }
      for (auto& ctx : contexts) {
        std::optional<double> f3_prev;
        for (size_t ti = 0; ti < time_leaves.size(); ++ti) {
          std::vector<int> c = {time_leaves[ti]};
          c.insert(c.end(), ctx.begin(), ctx.end());
          auto va = in(c, a), vb = in(c, b);
          std::optional<double> v1;
          if (va || vb) v1 = va.value_or(0) - 2 * vb.value_or(0);
          if (v1) {
            c[fd] = f1;
            expected[c] = *v1;
          }
          if (chain) {
            std::optional<double> v5;
            if (v1 || vb) v5 = v1.value_or(0) * 0.5 + vb.value_or(0);
            if (v5) {
              c[fd] = f5;
              expected[c] = *v5;
              c[fd] = f6;
              expected[c] = *v5 / 2 + v1.value_or(0);
            }
          }
          std::optional<double> v3;
          if (f3_prev || v1) v3 = f3_prev.value_or(0) + v1.value_or(0);
          if (v3) {
            c[fd] = f3;
            expected[c] = *v3;
          }
          f3_prev = v3;
          {
            std::optional<double> lag_a, next_b;
            if (ti >= 2) {
              std::vector<int> p = c;
              p[0] = time_leaves[ti - 2];
              lag_a = in(p, a);
            }
            if (ti + 1 < time_leaves.size()) {
              std::vector<int> p = c;
              p[0] = time_leaves[ti + 1];
              next_b = in(p, b);
            }
            if (lag_a || next_b) {
              c[fd] = f4;
              expected[c] = lag_a.value_or(0) + next_b.value_or(0) * 3;
            }
          }
        }
      }
      return expected;
    };
    // A sandbox over the app: its own writes of a and b (nullopt: cleared), and whether it
    // spread (then its entered cells are read back from it).
    auto sb = std::make_unique<Sandbox>(cube.get(), "ann");
    std::map<std::vector<int>, std::optional<double>> sb_input;
    bool sb_spread = false;
    for (int step = 0; step < 12; ++step) {
      std::vector<CellWrite> batch;
      const int n = 1 + static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i) {
        std::vector<int> c = testing_util::RandomLeafCoordinate(app, rng);
        c[fd] = rng() % 3 == 0 ? b : a;
        if (rng() % 5 == 0) {
          input.erase(c);
          batch.push_back({testing_util::ToCoordinate(app, c), CellValue::Empty()});
        } else {
          double v = static_cast<double>(static_cast<int>(rng() % 7) - 2);
          input[c] = v;
          batch.push_back({testing_util::ToCoordinate(app, c), CellValue::Number(v)});
        }
      }
      ASSERT_TRUE(cube->Write(batch).ok());
      std::vector<std::vector<int>> contexts;
      std::map<std::vector<int>, double> expected = reference(input, contexts);
      // Every formula cell of f1 and f3 in the cube equals the independent values.
      for (auto& ctx : contexts)
        for (int t : time_leaves)
          for (int member : {f1, f3, f4, f5, f6}) {
            if (member < 0) continue;
            std::vector<int> c = {t};
            c.insert(c.end(), ctx.begin(), ctx.end());
            c[fd] = member;
            CellValue got = *cube->ReadCell(testing_util::ToCoordinate(app, c));
            auto it = expected.find(c);
            if (it == expected.end()) {
              ASSERT_TRUE(got.is_empty()) << "trial " << trial << " step " << step << " "
                                          << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c));
            } else {
              ASSERT_TRUE(got.is_number() && got.number == it->second)
                  << "trial " << trial << " step " << step << " " << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c))
                  << " got " << testing_util::Describe(got) << " want " << it->second;
            }
          }
      // Incremental state equals a full recalculation from scratch, bit for bit.
      KeyValues before = cube->WithStore([](const CellStore& s) { return s.SortedCells(); });
      cube->RecalculateFormulas();
      KeyValues after = cube->WithStore([](const CellStore& s) { return s.SortedCells(); });
      ASSERT_EQ(before.size(), after.size());
      for (size_t i = 0; i < before.size(); ++i) {
        ASSERT_EQ(before[i].key, after[i].key);
        ASSERT_EQ(std::bit_cast<uint64_t>(before[i].value), std::bit_cast<uint64_t>(after[i].value));
      }
      // And consolidated reads equal the brute force over entered + expected formula cells.
      RandomApp all = app;
      all.cells.clear();
      for (auto& [c, v] : input) all.cells[c] = CellValue::Number(v);
      for (auto& [c, v] : expected) all.cells[c] = CellValue::Number(v);
      // f2's cells are in the cube too: add them as the cube has them (checked against the
      // tiers below), so the totals compare everything else independently.
      for (auto& ctx : contexts)
        for (int t : time_leaves) {
          std::vector<int> c = {t};
          c.insert(c.end(), ctx.begin(), ctx.end());
          c[fd] = f2;
          CellValue got = *cube->ReadCell(testing_util::ToCoordinate(app, c));
          if (!got.is_empty()) all.cells[c] = got;
        }
      for (int probe = 0; probe < 20; ++probe) {
        std::vector<int> c;
        for (auto& raw : app.raw) c.push_back(static_cast<int>(rng() % raw.members));
        CellValue want = all.Evaluate(c);
        CellValue got = *cube->ReadCell(testing_util::ToCoordinate(app, c));
        ASSERT_TRUE(testing_util::SameValue(got, want) || (want.is_number() && std::isnan(want.number) && got.is_number() && std::isnan(got.number)))
            << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c)) << " got " << testing_util::Describe(got)
            << " want " << testing_util::Describe(want);
      }
      // ---- The same model through a sandbox (docs/sandboxes.md, "Formulas"): the view's
      // formula cells and totals equal the reference over the view's entered cells, while the
      // app (checked above) equals the reference over its own.
      {
        std::vector<CellWrite> sbatch;
        const int sn = static_cast<int>(rng() % 4);
        for (int i = 0; i < sn; ++i) {
          std::vector<int> c = testing_util::RandomLeafCoordinate(app, rng);
          c[fd] = rng() % 3 == 0 ? b : a;
          if (rng() % 5 == 0) {
            sb_input[c] = std::nullopt;
            sbatch.push_back({testing_util::ToCoordinate(app, c), CellValue::Empty()});
          } else {
            const double v = static_cast<double>(static_cast<int>(rng() % 9) - 3);
            sb_input[c] = v;
            sbatch.push_back({testing_util::ToCoordinate(app, c), CellValue::Number(v)});
          }
        }
        ASSERT_TRUE(sb->Write(sbatch).ok());
        if (rng() % 4 == 0) {  // a spread into a total of member a
          std::vector<int> c = testing_util::RandomLeafCoordinate(app, rng);
          c[fd] = a;
          c[0] = static_cast<int>(rng() % app.raw[0].members);
          auto n = sb->Spread(testing_util::ToCoordinate(app, c),
                              SpreadRequest{SpreadMethod::kProportional, static_cast<double>(rng() % 50)});
          sb_spread = sb_spread || n.ok();
        }
        // The view's entered cells: the app's with the sandbox's writes over them; after a
        // spread, as the sandbox shows them (entered cells of a and b only, never formulas).
        std::map<std::vector<int>, double> view_input = input;
        for (auto& [c, v] : sb_input) {
          if (v) view_input[c] = *v;
          else view_input.erase(c);
        }
        if (sb_spread) {
          view_input.clear();
          for (auto& ctx : contexts)
            for (int t : time_leaves)
              for (int member : {a, b}) {
                std::vector<int> c = {t};
                c.insert(c.end(), ctx.begin(), ctx.end());
                c[fd] = member;
                CellValue got = *sb->ReadCell(testing_util::ToCoordinate(app, c));
                if (got.is_number()) view_input[c] = got.number;
              }
        }
        std::vector<std::vector<int>> view_contexts;
        const std::map<std::vector<int>, double> view_expected = reference(view_input, view_contexts);
        RandomApp view_all = app;
        view_all.cells.clear();
        for (auto& [c, v] : view_input) view_all.cells[c] = CellValue::Number(v);
        for (auto& ctx : contexts)
          for (int t : time_leaves)
            for (int member : {f1, f2, f3, f4, f5, f6}) {
              if (member < 0) continue;
              std::vector<int> c = {t};
              c.insert(c.end(), ctx.begin(), ctx.end());
              c[fd] = member;
              CellValue got = *sb->ReadCell(testing_util::ToCoordinate(app, c));
              if (member == f2) {  // as the sandbox has it (the tiers check f2), for the totals
                if (!got.is_empty()) view_all.cells[c] = got;
                continue;
              }
              auto it = view_expected.find(c);
              if (it == view_expected.end()) {
                ASSERT_TRUE(got.is_empty()) << "sandbox: trial " << trial << " step " << step << " "
                                            << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c)) << " got "
                                            << testing_util::Describe(got);
              } else {
                ASSERT_TRUE(got.is_number() && got.number == it->second)
                    << "sandbox: trial " << trial << " step " << step << " "
                    << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c)) << " got "
                    << testing_util::Describe(got) << " want " << it->second;
                view_all.cells[c] = got;
              }
            }
        for (int probe = 0; probe < 10; ++probe) {
          std::vector<int> c;
          for (auto& raw : app.raw) c.push_back(static_cast<int>(rng() % raw.members));
          CellValue want = view_all.Evaluate(c);
          CellValue got = *sb->ReadCell(testing_util::ToCoordinate(app, c));
          ASSERT_TRUE(testing_util::SameValue(got, want) ||
                      (want.is_number() && std::isnan(want.number) && got.is_number() && std::isnan(got.number)))
              << "sandbox: " << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c)) << " got "
              << testing_util::Describe(got) << " want " << testing_util::Describe(want);
        }
        // Now and then the sandbox commits (its cells win: the app's entered cells become the
        // view's, and the next step checks the app's formulas against them) or is discarded.
        const int fate = static_cast<int>(rng() % 6);
        if (fate <= 1) {
          if (fate == 0) {
            auto committed = sb->Commit(ConflictPolicy::kKeepMine);
            ASSERT_TRUE(committed.ok()) << committed.status();
            input = view_input;
          } else {
            ASSERT_TRUE(sb->Discard().ok());
          }
          sb = std::make_unique<Sandbox>(cube.get(), "ann");
          sb_input.clear();
          sb_spread = false;
        }
      }
    }
    // The evaluation tiers agree bit for bit on the final state.
    KeyValues vm = cube->WithStore([](const CellStore& s) { return s.SortedCells(); });
    std::vector<FormulaTier> tiers = {FormulaTier::kInterpreter};
    if (formula::JitModule::Available()) tiers.push_back(FormulaTier::kJit);
    for (FormulaTier tier : tiers) {
      cube->SetFormulaTier(tier);
      ASSERT_TRUE(cube->SetFormula({dn, Code(fd, f1), Code(fd, a) + " - 2 * " + Code(fd, b), Scope::kLeaf}).ok());
      cube->RecalculateFormulas();
      KeyValues other = cube->WithStore([](const CellStore& s) { return s.SortedCells(); });
      ASSERT_EQ(vm.size(), other.size());
      for (size_t i = 0; i < vm.size(); ++i)
        ASSERT_EQ(std::bit_cast<uint64_t>(vm[i].value), std::bit_cast<uint64_t>(other[i].value));
    }
  }
  SetBulkChunkCellsForTesting(50000);
  EXPECT_GE(models, 10);
}

}  // namespace
}  // namespace quantatom

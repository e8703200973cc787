// Test support: a small P&L app (Account x Region x Month x Scenario). Not API.
#pragma once

#include "model/app_model.h"

namespace quantatom::formula::testing {

// Account: NetIncome = Revenue - Costs; Revenue = Sales + Services; Costs = COGS + Rent;
//          leaves also GM, GMPct, Opening, Closing, Flow, Units, Price, Amount.
// Region: World = EMEA + AMER (EMEA tax_rate 0.2; AMER has none).
// Month: FY = Q1 (Jan Feb Mar) + Q2 (Apr May Jun).   Scenario: Actual, Budget.
inline AppModel PnlModel() {
  AppModel model;
  model.name = "pnl";
  {
    DimensionBuilder b("Account", DimensionType::kAccount);
    for (const char* c : {"NetIncome", "Revenue", "Costs", "Sales", "Services", "COGS", "Rent", "GM", "GMPct",
                          "Opening", "Closing", "Flow", "Units", "Price", "Amount"})
      (void)b.AddMember(c);
    (void)b.AddEdge("Revenue", "NetIncome");
    (void)b.AddEdge("Costs", "NetIncome", -1);
    (void)b.AddEdge("Sales", "Revenue");
    (void)b.AddEdge("Services", "Revenue");
    (void)b.AddEdge("COGS", "Costs");
    (void)b.AddEdge("Rent", "Costs");
    model.dimensions.push_back(*std::move(b).Build());
  }
  {
    DimensionBuilder b("Region", DimensionType::kEntity);
    (void)b.AddMember("World");
    (void)b.AddMember("EMEA", "", {{"tax_rate", "0.2"}});
    (void)b.AddMember("AMER");
    (void)b.AddEdge("EMEA", "World");
    (void)b.AddEdge("AMER", "World");
    model.dimensions.push_back(*std::move(b).Build());
  }
  {
    DimensionBuilder b("Month", DimensionType::kTime);
    for (const char* c : {"FY", "Q1", "Q2", "Jan", "Feb", "Mar", "Apr", "May", "Jun"}) (void)b.AddMember(c);
    (void)b.AddEdge("Q1", "FY");
    (void)b.AddEdge("Q2", "FY");
    for (const char* c : {"Jan", "Feb", "Mar"}) (void)b.AddEdge(c, "Q1");
    for (const char* c : {"Apr", "May", "Jun"}) (void)b.AddEdge(c, "Q2");
    model.dimensions.push_back(*std::move(b).Build());
  }
  {
    DimensionBuilder b("Scenario", DimensionType::kScenario);
    (void)b.AddMember("Actual");
    (void)b.AddMember("Budget");
    model.dimensions.push_back(*std::move(b).Build());
  }
  return model;
}

}  // namespace quantatom::formula::testing

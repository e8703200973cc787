#include "bridge/bridge.h"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

using ::testing::HasSubstr;

Dimension Build(std::string name, std::vector<std::string> members,
                std::vector<std::tuple<std::string, std::string, double>> edges = {}) {
  DimensionBuilder b(std::move(name), DimensionType::kGeneric);
  for (auto& m : members) EXPECT_TRUE(b.AddMember(m).ok());
  for (auto& [c, p, w] : edges) EXPECT_TRUE(b.AddEdge(c, p, w).ok());
  return *std::move(b).Build();
}

Dimension Gl() {
  return Build("account", {"Total", "Rev", "R1", "R2", "R3", "Cost", "C1", "C2"},
               {{"Rev", "Total", 1}, {"R1", "Rev", 1}, {"R2", "Rev", 1}, {"R3", "Rev", 1}, {"Cost", "Total", -1},
                {"C1", "Cost", 1}, {"C2", "Cost", 1}});
}
Dimension PlanAccount() {
  return Build("account", {"PTotal", "PRev", "PCost", "PMisc"}, {{"PRev", "PTotal", 1}, {"PCost", "PTotal", 1}, {"PMisc", "PTotal", 1}});
}

// Actuals: account (GL), region, month. Plan: month, account (plan chart), region, in another
// order, with the regions defined in another order and one more of them.
AppModel Actuals() {
  AppModel m;
  m.name = "actuals";
  m.dimensions.push_back(Gl());
  m.dimensions.push_back(Build("region", {"World", "EMEA", "US"}, {{"EMEA", "World", 1}, {"US", "World", 1}}));
  m.dimensions.push_back(Build("month", {"Jan", "Feb"}));
  return m;
}
AppModel Plan() {
  AppModel m;
  m.name = "plan";
  m.dimensions.push_back(Build("month", {"Feb", "Jan", "Mar"}));
  m.dimensions.push_back(PlanAccount());
  m.dimensions.push_back(Build("region", {"APAC", "US", "EMEA", "World"}, {{"EMEA", "World", 1}, {"US", "World", 1}}));
  return m;
}

const char* kRules = "source,target,weight\nRev,PRev\nR3,PMisc\nCost,PCost,0.6\nCost,PMisc,0.4\n";

Bridge MakeBridge(const AppModel& actuals, const AppModel& plan, const char* csv = kRules) {
  auto rules = ParseBridgeRules("rules.csv", csv);
  EXPECT_TRUE(rules.ok()) << rules.status();
  auto bridge = Bridge::FromRules(actuals, plan, "account", "account", *rules);
  EXPECT_TRUE(bridge.ok()) << bridge.status();
  return *std::move(bridge);
}

std::unique_ptr<Cube> CubeWith(const AppModel& model, const std::vector<std::pair<std::string, double>>& cells) {
  auto cube = *Cube::Create(model);
  KeyValues kv;
  for (auto& [coord, v] : cells) kv.push_back({cube->PackLeaf(*model.ParseCoordinate(coord)), v});
  EXPECT_TRUE(cube->Load(std::move(kv)).ok());
  return cube;
}

// Target cells as "coordinate -> value".
std::map<std::string, double> Decode(const AppModel& plan, const KeyValues& cells) {
  auto cube = *Cube::Create(plan);
  std::map<std::string, double> out;
  for (const KeyValue& kv : cells) {
    Coordinate c;
    for (size_t d = 0; d < plan.dimensions.size(); ++d)
      c.push_back(plan.dimensions[d].leaf_member(cube->layout().Get(kv.key, static_cast<int>(d))));
    out[plan.FormatCoordinate(c)] = kv.value;
  }
  return out;
}

TEST(BridgeTest, MaterializeMapsSplitsAndSumsIntoTargetCells) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  auto source = CubeWith(actuals, {{"account=R1,region=EMEA,month=Jan", 10},
                                   {"account=R2,region=EMEA,month=Jan", 5},
                                   {"account=R3,region=EMEA,month=Jan", 7},
                                   {"account=C1,region=US,month=Feb", 100},
                                   {"account=C2,region=US,month=Feb", 50}});
  auto cells = bridge.Materialize(*source);
  ASSERT_TRUE(cells.ok()) << cells.status();
  EXPECT_EQ(Decode(plan, *cells), (std::map<std::string, double>{
                                      {"month=Jan,account=PRev,region=EMEA", 15},
                                      {"month=Jan,account=PMisc,region=EMEA", 7},
                                      {"month=Feb,account=PCost,region=US", 90},
                                      {"month=Feb,account=PMisc,region=US", 60},
                                  }));
  // Ready for Load, and the plan consolidates it like any cell.
  auto target = *Cube::Create(plan);
  ASSERT_TRUE(target->Load(*std::move(cells)).ok());
  auto total = target->ReadCell(*plan.ParseCoordinate("month=Feb,account=PTotal,region=World"));
  ASSERT_TRUE(total.ok());
  EXPECT_DOUBLE_EQ(total->number, 150);
}

TEST(BridgeTest, ContributionsSummingToZeroGiveAZeroCellNotAnEmptyOne) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  auto source = CubeWith(actuals, {{"account=R1,region=US,month=Jan", 10}, {"account=R2,region=US,month=Jan", -10},
                                   {"account=R3,region=US,month=Jan", 0}});
  auto cells = bridge.Materialize(*source);
  ASSERT_TRUE(cells.ok());
  auto decoded = Decode(plan, *cells);
  EXPECT_EQ(decoded, (std::map<std::string, double>{{"month=Jan,account=PRev,region=US", 0},
                                                    {"month=Jan,account=PMisc,region=US", 0}}));
  for (const KeyValue& kv : *cells) EXPECT_FALSE(std::signbit(kv.value));
}

TEST(BridgeTest, MaterializeSeesWritesDeletesAndNewCellsOfTheSourceStore) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  auto source = CubeWith(actuals, {{"account=R1,region=EMEA,month=Jan", 10}, {"account=R2,region=EMEA,month=Jan", 5}});
  ASSERT_TRUE(source->Write({{*actuals.ParseCoordinate("account=R1,region=EMEA,month=Jan"), CellValue::Empty()},
                             {*actuals.ParseCoordinate("account=C1,region=EMEA,month=Jan"), CellValue::Number(10)},
                             {*actuals.ParseCoordinate("account=R3,region=US,month=Feb"), CellValue::Text("n/a")}})
                  .ok());
  auto cells = bridge.Materialize(*source);
  ASSERT_TRUE(cells.ok());
  EXPECT_EQ(Decode(plan, *cells), (std::map<std::string, double>{{"month=Jan,account=PRev,region=EMEA", 5},
                                                                 {"month=Jan,account=PCost,region=EMEA", 6},
                                                                 {"month=Jan,account=PMisc,region=EMEA", 4}}));
}

TEST(BridgeTest, IncrementalDeltasFollowOneSourceChange) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  auto source = CubeWith(actuals, {{"account=C1,region=US,month=Feb", 100}});
  auto target = *Cube::Create(plan);
  ASSERT_TRUE(target->Load(*bridge.Materialize(*source)).ok());

  const uint64_t key = source->PackLeaf(*actuals.ParseCoordinate("account=C1,region=US,month=Feb"));
  std::vector<SourceChange> change{{key, 100.0, 110.0}};
  auto deltas = bridge.Deltas(change);
  ASSERT_TRUE(deltas.ok()) << deltas.status();
  ASSERT_EQ(deltas->size(), 2u);
  EXPECT_DOUBLE_EQ((*deltas)[0].delta + (*deltas)[1].delta, 10);
  ASSERT_TRUE(bridge.Apply(target.get(), *deltas).ok());
  EXPECT_DOUBLE_EQ(target->ReadCell(*plan.ParseCoordinate("month=Feb,account=PCost,region=US"))->number, 66);
  EXPECT_DOUBLE_EQ(target->ReadCell(*plan.ParseCoordinate("month=Feb,account=PMisc,region=US"))->number, 44);

  // A new source cell creates its target cells, even with the value 0.
  const uint64_t fresh = source->PackLeaf(*actuals.ParseCoordinate("account=R1,region=EMEA,month=Jan"));
  std::vector<SourceChange> create{{fresh, std::nullopt, 0.0}};
  ASSERT_TRUE(bridge.Apply(target.get(), *bridge.Deltas(create)).ok());
  CellValue created = *target->ReadCell(*plan.ParseCoordinate("month=Jan,account=PRev,region=EMEA"));
  EXPECT_TRUE(created.is_number());
  EXPECT_EQ(created.number, 0);
  // The same value again changes nothing.
  std::vector<SourceChange> same{{key, 110.0, 110.0}};
  EXPECT_TRUE(bridge.Deltas(same)->empty());
}

TEST(BridgeTest, DeltasOfSeveralChangesAreSummedPerTargetCell) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  auto source = *Cube::Create(actuals);
  auto key = [&](const char* c) { return source->PackLeaf(*actuals.ParseCoordinate(c)); };
  std::vector<SourceChange> changes{{key("account=R1,region=US,month=Jan"), 1.0, 3.0},
                                    {key("account=R2,region=US,month=Jan"), std::nullopt, 5.0},
                                    {key("account=R1,region=US,month=Jan"), 3.0, std::nullopt}};
  auto deltas = bridge.Deltas(changes);
  ASSERT_TRUE(deltas.ok());
  ASSERT_EQ(deltas->size(), 1u);
  EXPECT_DOUBLE_EQ((*deltas)[0].delta, 2 + 5 - 3);
}

TEST(BridgeTest, BadChangesAreRejected) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  std::vector<SourceChange> nan{{0, 1.0, std::nan("")}};
  EXPECT_THAT(std::string(bridge.Deltas(nan).status().message()), HasSubstr("change 1 of 1 (key 0): values must be finite"));
  std::vector<SourceChange> outside{{~uint64_t{0}, 1.0, 2.0}};
  EXPECT_THAT(std::string(bridge.Deltas(outside).status().message()), HasSubstr("is not a leaf cell of source app 'actuals'"));
}

TEST(BridgeTest, TargetTextCellIsRefusedAndNothingChanges) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  auto target = *Cube::Create(plan);
  const Coordinate text_cell = *plan.ParseCoordinate("month=Jan,account=PRev,region=US");
  ASSERT_TRUE(target->Write({{text_cell, CellValue::Text("note")}}).ok());
  auto source = *Cube::Create(actuals);
  std::vector<SourceChange> changes{{source->PackLeaf(*actuals.ParseCoordinate("account=C1,region=US,month=Jan")), 1.0, 2.0},
                                    {source->PackLeaf(*actuals.ParseCoordinate("account=R1,region=US,month=Jan")), 1.0, 2.0}};
  absl::Status s = bridge.Apply(target.get(), *bridge.Deltas(changes));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("target cell month=Jan,account=PRev,region=US holds text"));
  EXPECT_TRUE(target->ReadCell(*plan.ParseCoordinate("month=Jan,account=PCost,region=US"))->is_empty());
  // The source app is not a target.
  EXPECT_THAT(std::string(bridge.Apply(source.get(), *bridge.Deltas(changes)).message()),
              HasSubstr("is not the bridge's target app 'plan'"));
}

TEST(BridgeTest, SourceLeafWithoutTargetCounterpartIsNamed) {
  AppModel actuals = Actuals(), plan = Plan();
  actuals.dimensions[1] = Build("region", {"World", "EMEA", "US", "LATAM"}, {{"EMEA", "World", 1}, {"US", "World", 1}, {"LATAM", "World", 1}});
  auto bridge = Bridge::FromRules(actuals, plan, "account", "account", *ParseBridgeRules("rules.csv", kRules));
  EXPECT_EQ(bridge.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(bridge.status().message()),
            "1 leaf member(s) of dimension 'region' in source app 'actuals' are not in target app 'plan': 'LATAM'");
}

TEST(BridgeTest, SourceLeafConsolidatedInTargetIsRejected) {
  AppModel actuals = Actuals(), plan = Plan();
  plan.dimensions[0] = Build("month", {"Jan", "Feb", "Jan1"}, {{"Jan1", "Jan", 1}});
  auto bridge = Bridge::FromRules(actuals, plan, "account", "account", *ParseBridgeRules("rules.csv", kRules));
  EXPECT_THAT(std::string(bridge.status().message()), HasSubstr("are consolidated in target app 'plan': 'Jan'"));
}

TEST(BridgeTest, MismatchedDimensionsAreRejected) {
  AppModel actuals = Actuals(), plan = Plan();
  plan.dimensions[2] = Build("entity", {"E1"});
  auto bridge = Bridge::FromRules(actuals, plan, "account", "account", *ParseBridgeRules("rules.csv", kRules));
  EXPECT_EQ(bridge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bridge.status().message()), HasSubstr("dimension 'region' of source app 'actuals' has no counterpart"));
  plan.dimensions.pop_back();
  EXPECT_THAT(std::string(Bridge::FromRules(actuals, plan, "account", "account", *ParseBridgeRules("rules.csv", kRules))
                              .status()
                              .message()),
              HasSubstr("must have the same dimensions apart from the bridged ones"));
  EXPECT_EQ(Bridge::FromRules(actuals, Plan(), "gl", "account", *ParseBridgeRules("rules.csv", kRules)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(BridgeTest, IncompleteBridgeIsRefusedNamingTheLeaves) {
  AppModel actuals = Actuals(), plan = Plan();
  auto rules = ParseBridgeRules("rules.csv", "source,target,weight\nRev,PRev\nC1,PCost,0.5\n");
  auto bridge = Bridge::FromRules(actuals, plan, "account", "account", *rules);
  EXPECT_EQ(bridge.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(bridge.status().message()), HasSubstr("1 unmapped source leaf(s): C2"));
  EXPECT_THAT(std::string(bridge.status().message()), HasSubstr("1 under-mapped source leaf(s): C1 (total 0.5)"));
}

TEST(BridgeTest, MaterializeRejectsCellsOfAnotherApp) {
  AppModel actuals = Actuals(), plan = Plan();
  Bridge bridge = MakeBridge(actuals, plan);
  auto other = *Cube::Create(plan);
  EXPECT_THAT(std::string(bridge.Materialize(*other).status().message()), HasSubstr("not laid out as source app 'actuals'"));
}

}  // namespace
}  // namespace quantatom

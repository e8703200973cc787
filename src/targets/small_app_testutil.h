// Test support: small hand-written apps for the targets tests, as a Cube with cells.
#pragma once

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "engine/cube.h"

namespace quantatom::targets_testing {

// `edges` are (child, parent, weight); members are listed in `members` order.
inline Dimension MakeDim(const std::string& name, const std::vector<std::string>& members,
                         const std::vector<std::tuple<std::string, std::string, double>>& edges,
                         DimensionType type = DimensionType::kGeneric) {
  DimensionBuilder b(name, type);
  for (const auto& m : members) EXPECT_TRUE(b.AddMember(m).ok());
  for (const auto& [c, p, w] : edges) EXPECT_TRUE(b.AddEdge(c, p, w).ok());
  return *std::move(b).Build();
}

struct SmallApp {
  std::unique_ptr<Cube> cube;
  Coordinate At(const std::string& text) const {
    auto c = cube->model().ParseCoordinate(text);
    EXPECT_TRUE(c.ok()) << text << ": " << c.status();
    return c.ok() ? *c : Coordinate{};
  }
  void Write(const std::string& text, double v) {
    ASSERT_TRUE(cube->Write({{At(text), CellValue::Number(v)}}).ok());
  }
  // Replaces every cell: these go to the store's sorted main part (Write adds to its delta).
  void Load(const std::vector<std::pair<std::string, double>>& cells) {
    KeyValues kv;
    for (const auto& [text, v] : cells) kv.push_back({cube->PackLeaf(At(text)), v});
    ASSERT_TRUE(cube->Load(std::move(kv)).ok());
  }
  void WriteText(const std::string& text, const std::string& t) {
    ASSERT_TRUE(cube->Write({{At(text), CellValue::Text(t)}}).ok());
  }
};

inline SmallApp MakeApp(std::vector<Dimension> dims) {
  AppModel model;
  model.name = "small";
  model.dimensions = std::move(dims);
  SmallApp app;
  app.cube = *Cube::Create(std::move(model));
  EXPECT_TRUE(app.cube->Load({}).ok());
  return app;
}

// Account: Total <- G1 (North, South), East; Scenario: Actual, Budget (leaves).
inline SmallApp MakeRegionsApp() {
  return MakeApp({MakeDim("Account", {"Total", "G1", "North", "South", "East"},
                          {{"G1", "Total", 1}, {"North", "G1", 1}, {"South", "G1", 1}, {"East", "Total", 1}}),
                  MakeDim("Scenario", {"Actual", "Budget"}, {}, DimensionType::kScenario)});
}

}  // namespace quantatom::targets_testing

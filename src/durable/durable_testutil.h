// Test support for the durable layer (not API): a small app of two dimensions, made from a JSON
// model, and helpers that read its leaf cells into a plain map for comparisons.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "base/strings.h"
#include "engine/cube.h"
#include "model/model_json.h"

namespace quantatom::durable::testing_util {

// Dimension "item": leaves i0..i{items-1} under "all"; dimension "slot": s0..s3 under "tot".
inline std::unique_ptr<Cube> SmallApp(const std::string& name, int items = 16) {
  std::string json = StrCat(R"({"app": ")", name, R"(", "dimensions": [{"name": "item", "members": [{"code": "all"})");
  for (int i = 0; i < items; ++i) json += StrCat(R"(, {"code": "i)", i, R"(", "parent": "all"})");
  json += R"(]}, {"name": "slot", "members": [{"code": "tot"}, {"code": "s0", "parent": "tot"}, {"code": "s1", "parent": "tot"}, {"code": "s2", "parent": "tot"}, {"code": "s3", "parent": "tot"}]}]})";
  auto file = ParseModelJson("small.json", json);
  if (!file.ok()) return nullptr;
  auto cube = Cube::Create(std::move(file->model));
  return cube.ok() ? *std::move(cube) : nullptr;
}

inline Coordinate Leaf(const Cube& cube, int item, int slot) {
  return *cube.model().ParseCoordinate(StrCat("item=i", item, ",slot=s", slot));
}

// Every numeric leaf cell, by packed key.
inline std::map<uint64_t, double> Cells(const Cube& cube) {
  std::map<uint64_t, double> out;
  cube.WithStore([&](const CellStore& store) {
    for (const KeyValue& kv : store.SortedCells()) out[kv.key] = kv.value;
  });
  return out;
}

// A fresh, empty folder under the test temp dir.
inline std::string FreshDir(const std::string& name) {
  std::string dir = StrCat(::testing::TempDir(), "/durable_", name, "_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace quantatom::durable::testing_util

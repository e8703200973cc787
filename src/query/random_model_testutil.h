// Test support: random apps and an independent brute-force evaluator.
//
// The brute force reads only the edge list the generator produced (never Dimension's derived
// ancestors, leaf maps or the store), enumerates paths recursively, and sums every cell.
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/app_model.h"
#include "model/cell_value.h"

namespace quantatom::testing_util {

struct RawDim {
  int members = 0;
  struct E {
    int child, parent;
    double weight;
  };
  std::vector<E> edges;
  bool IsLeaf(int m) const {
    for (auto& e : edges)
      if (e.parent == m) return false;
    return true;
  }
  // Sum over paths from m up to x of the product of weights (1 if m == x).
  double Weight(int m, int x) const {
    double w = m == x ? 1.0 : 0.0;
    for (auto& e : edges)
      if (e.child == m) w += e.weight * Weight(e.parent, x);
    return w;
  }
  bool Under(int m, int x) const {
    if (m == x) return true;
    for (auto& e : edges)
      if (e.child == m && Under(e.parent, x)) return true;
    return false;
  }
};

struct RandomApp {
  std::vector<RawDim> raw;
  AppModel model;
  std::map<std::vector<int>, CellValue> cells;  // leaf coordinate -> value (no empties)

  // Brute-force value of any coordinate.
  CellValue Evaluate(const std::vector<int>& coord) const {
    bool leaf = true;
    for (size_t d = 0; d < raw.size(); ++d) leaf &= raw[d].IsLeaf(coord[d]);
    if (leaf) {
      auto it = cells.find(coord);
      return it == cells.end() ? CellValue::Empty() : it->second;
    }
    double sum = 0;
    bool any = false;
    for (auto& [c, v] : cells) {
      if (!v.is_number()) continue;
      bool under = true;
      double w = 1;
      for (size_t d = 0; d < raw.size() && under; ++d) {
        under = raw[d].Under(c[d], coord[d]);
        if (under) w *= raw[d].Weight(c[d], coord[d]);
      }
      if (!under) continue;
      any = true;
      sum += v.number * w;
    }
    return any ? CellValue::Number(sum) : CellValue::Empty();
  }
};

inline std::string Code(int d, int m) { return "d" + std::to_string(d) + "m" + std::to_string(m); }

// `wide` makes dimensions with many leaves (exercises the range filters of the scan).
// `first_is_time` makes dimension 0 a time dimension (for the spreads that run along time).
inline RandomApp MakeRandomApp(std::mt19937_64& rng, bool wide = false, bool first_is_time = false) {
  RandomApp app;
  app.model.name = "random";
  int dims = 1 + static_cast<int>(rng() % 4);
  const double weights[] = {1, 1, 1, -1, 0.5, 2, 0.25};
  for (int d = 0; d < dims; ++d) {
    RawDim raw;
    raw.members = wide ? 60 + static_cast<int>(rng() % 60) : 2 + static_cast<int>(rng() % 25);
    // Members 0..k-1 may be parents of later members: the order makes the graph acyclic.
    for (int m = 1; m < raw.members; ++m) {
      int parents = static_cast<int>(rng() % 4 == 0 ? 0 : (rng() % 5 == 0 ? 2 : 1));
      std::vector<int> used;
      for (int p = 0; p < parents; ++p) {
        int parent = static_cast<int>(rng() % std::max(1, std::min(m, 1 + m / 2)));
        if (std::find(used.begin(), used.end(), parent) != used.end()) continue;
        used.push_back(parent);
        raw.edges.push_back({m, parent, weights[rng() % 7]});
      }
    }
    DimensionBuilder b("D" + std::to_string(d), d == 0 && first_is_time ? DimensionType::kTime : DimensionType::kGeneric);
    // Members are added in a shuffled order, so member ids, leaf ordinals and the generator's
    // numbering all differ.
    std::vector<int> order(raw.members);
    for (int i = 0; i < raw.members; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (int m : order) (void)b.AddMember(Code(d, m));
    for (auto& e : raw.edges) (void)b.AddEdge(Code(d, e.child), Code(d, e.parent), e.weight);
    app.model.dimensions.push_back(*std::move(b).Build());
    app.raw.push_back(std::move(raw));
  }
  return app;
}

// Member id in the model of generator member `m` of dimension `d`.
inline MemberId Id(const RandomApp& app, int d, int m) { return *app.model.dimensions[d].Find(Code(d, m)); }

inline std::vector<int> RandomLeafCoordinate(const RandomApp& app, std::mt19937_64& rng) {
  std::vector<int> c;
  for (auto& raw : app.raw) {
    int m;
    do m = static_cast<int>(rng() % raw.members);
    while (!raw.IsLeaf(m));
    c.push_back(m);
  }
  return c;
}

inline Coordinate ToCoordinate(const RandomApp& app, const std::vector<int>& c) {
  Coordinate out;
  for (size_t d = 0; d < c.size(); ++d) out.push_back(Id(app, static_cast<int>(d), c[d]));
  return out;
}

inline bool SameValue(const CellValue& a, const CellValue& b) {
  if (a.kind != b.kind) return false;
  if (a.is_text()) return a.text == b.text;
  if (a.is_number()) return std::abs(a.number - b.number) <= 1e-9 * std::max(1.0, std::abs(b.number));
  return true;
}

inline std::string Describe(const CellValue& v) {
  if (v.is_number()) return std::to_string(v.number);
  if (v.is_text()) return "text:" + v.text;
  return "empty";
}

}  // namespace quantatom::testing_util

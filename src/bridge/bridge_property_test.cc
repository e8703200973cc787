// Random source and target apps, random rules: full materialisation against a brute force that
// reads only the generator's raw edges and the raw rules (never the resolved map, Dimension's
// derived data or the key layouts), and incremental updates against full re-materialisation.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "bridge/bridge.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using testing_util::RandomApp;
using testing_util::RawDim;

struct RawRule {
  int source;  // generator member of the bridged source dimension
  int target;  // generator member of the target plan dimension (a leaf)
  double weight;
};

std::string PlanCode(int m) { return "p" + std::to_string(m); }

// A random forest of `members` members, parents before children (acyclic), several parents
// allowed; built into a Dimension with the members added in shuffled order.
Dimension RandomDimension(std::mt19937_64& rng, const std::string& name, RawDim* raw,
                          const std::function<std::string(int)>& code) {
  raw->members = 2 + static_cast<int>(rng() % 20);
  for (int m = 1; m < raw->members; ++m) {
    int parents = static_cast<int>(rng() % 3 == 0 ? 0 : (rng() % 4 == 0 ? 2 : 1));
    std::set<int> used;
    for (int p = 0; p < parents; ++p) {
      int parent = static_cast<int>(rng() % static_cast<uint64_t>(m));
      if (used.insert(parent).second) raw->edges.push_back({m, parent, 1});
    }
  }
  std::vector<int> order(static_cast<size_t>(raw->members));
  for (int i = 0; i < raw->members; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  DimensionBuilder b(name, DimensionType::kGeneric);
  for (int m : order) EXPECT_TRUE(b.AddMember(code(m)).ok());
  for (auto& e : raw->edges) EXPECT_TRUE(b.AddEdge(code(e.child), code(e.parent), e.weight).ok());
  return *std::move(b).Build();
}

// The same dimension rebuilt: members in another order, plus a few extra leaves the source
// does not have (a target may have more members).
Dimension Rebuilt(std::mt19937_64& rng, const Dimension& d, const RawDim& raw, int dim) {
  std::vector<int> order(static_cast<size_t>(raw.members));
  for (int i = 0; i < raw.members; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  DimensionBuilder b(d.name(), DimensionType::kGeneric);
  for (int m : order) EXPECT_TRUE(b.AddMember(testing_util::Code(dim, m)).ok());
  for (int extra = 0; extra < static_cast<int>(rng() % 3); ++extra) EXPECT_TRUE(b.AddMember("extra" + std::to_string(extra)).ok());
  for (auto& e : raw.edges) EXPECT_TRUE(b.AddEdge(testing_util::Code(dim, e.child), testing_util::Code(dim, e.parent), e.weight).ok());
  return *std::move(b).Build();
}

// Shortest number of edges from m up to x over the raw edges, or -1.
int RawDistance(const RawDim& raw, int m, int x) {
  if (m == x) return 0;
  int best = -1;
  for (auto& e : raw.edges)
    if (e.child == m) {
      int d = RawDistance(raw, e.parent, x);
      if (d >= 0 && (best < 0 || d + 1 < best)) best = d + 1;
    }
  return best;
}

struct Scenario {
  RandomApp source;
  int bridged = 0;   // source dimension index
  RawDim plan_raw;   // the target's bridged dimension
  AppModel target;
  std::vector<int> target_dim_of;  // source dimension -> target dimension
  int target_bridged = 0;
  std::vector<RawRule> rules;
};

std::string RulesCsv(const Scenario& s) {
  std::string csv = "source,target,weight\n";
  for (const RawRule& r : s.rules)
    csv += testing_util::Code(s.bridged, r.source) + "," + PlanCode(r.target) + "," + std::to_string(r.weight) + "\n";
  return csv;
}

Scenario MakeScenario(std::mt19937_64& rng) {
  Scenario s;
  s.source = testing_util::MakeRandomApp(rng);
  const int dims = static_cast<int>(s.source.model.dimensions.size());
  s.bridged = static_cast<int>(rng() % static_cast<uint64_t>(dims));
  Dimension plan = RandomDimension(rng, "plan", &s.plan_raw, PlanCode);

  // Target dimensions: the others (rebuilt half of the time) and the plan dimension, in the
  // source's order or shuffled.
  std::vector<int> order;  // source dimension index, or -1 for the plan dimension
  for (int d = 0; d < dims; ++d) order.push_back(d == s.bridged ? -1 : d);
  const bool reshape = rng() % 2 == 0;
  if (reshape) std::shuffle(order.begin(), order.end(), rng);
  s.target.name = "target";
  s.target_dim_of.assign(static_cast<size_t>(dims), -1);
  for (int d : order) {
    const int td = static_cast<int>(s.target.dimensions.size());
    if (d < 0) {
      s.target_bridged = td;
      s.target.dimensions.push_back(plan);
      continue;
    }
    s.target_dim_of[static_cast<size_t>(d)] = td;
    const Dimension& from = s.source.model.dimensions[static_cast<size_t>(d)];
    s.target.dimensions.push_back(reshape ? Rebuilt(rng, from, s.source.raw[static_cast<size_t>(d)], d) : from);
  }

  // Rules: every root of the bridged dimension and a random third of the other members, each
  // split one, two or three ways.
  const RawDim& raw = s.source.raw[static_cast<size_t>(s.bridged)];
  std::vector<int> plan_leaves;
  for (int m = 0; m < s.plan_raw.members; ++m)
    if (s.plan_raw.IsLeaf(m)) plan_leaves.push_back(m);
  const std::vector<std::vector<double>> splits = {{1}, {0.6, 0.4}, {1.5, -0.5}, {0.5, 0.25, 0.25}};
  for (int m = 0; m < raw.members; ++m) {
    bool root = true;
    for (auto& e : raw.edges) root &= e.child != m;
    if (!root && rng() % 3 != 0) continue;
    std::vector<double> split = splits[rng() % splits.size()];
    if (split.size() > plan_leaves.size()) split = {1};
    std::vector<int> targets = plan_leaves;
    std::shuffle(targets.begin(), targets.end(), rng);
    for (size_t i = 0; i < split.size(); ++i) s.rules.push_back({m, targets[i], split[i]});
  }
  std::shuffle(s.rules.begin(), s.rules.end(), rng);
  return s;
}

// Brute force: (target coordinate -> sum) of the source cells, from raw rules and raw edges.
std::map<Coordinate, double> BruteForce(const Scenario& s, const std::map<std::vector<int>, double>& cells) {
  const RawDim& raw = s.source.raw[static_cast<size_t>(s.bridged)];
  std::map<Coordinate, double> out;
  for (const auto& [coord, value] : cells) {
    const int leaf = coord[static_cast<size_t>(s.bridged)];
    int nearest = -1;
    std::set<int> governing;
    for (const RawRule& r : s.rules) {
      int d = RawDistance(raw, leaf, r.source);
      if (d < 0) continue;
      if (nearest < 0 || d < nearest) {
        nearest = d;
        governing.clear();
      }
      if (d == nearest) governing.insert(r.source);
    }
    EXPECT_EQ(governing.size(), 1u) << "brute force: leaf " << leaf << " is unmapped or ambiguous";
    for (const RawRule& r : s.rules) {
      if (governing.count(r.source) == 0) continue;
      Coordinate target(s.target.dimensions.size());
      for (size_t d = 0; d < coord.size(); ++d) {
        if (static_cast<int>(d) == s.bridged) continue;
        const int td = s.target_dim_of[d];
        target[static_cast<size_t>(td)] =
            *s.target.dimensions[static_cast<size_t>(td)].Find(testing_util::Code(static_cast<int>(d), coord[d]));
      }
      target[static_cast<size_t>(s.target_bridged)] = *s.target.dimensions[static_cast<size_t>(s.target_bridged)].Find(PlanCode(r.target));
      out[target] += value * r.weight;
    }
  }
  return out;
}

std::map<Coordinate, double> Decode(const Cube& target_cube, const KeyValues& cells) {
  std::map<Coordinate, double> out;
  const AppModel& m = target_cube.model();
  uint64_t previous = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    EXPECT_TRUE(i == 0 || cells[i].key > previous) << "keys must be sorted and unique";
    previous = cells[i].key;
    Coordinate c;
    for (size_t d = 0; d < m.dimensions.size(); ++d)
      c.push_back(m.dimensions[d].leaf_member(target_cube.layout().Get(cells[i].key, static_cast<int>(d))));
    out[c] = cells[i].value;
  }
  return out;
}

bool Close(double a, double b, double scale) { return std::abs(a - b) <= 1e-9 * std::max(1.0, scale); }

void ExpectSame(const std::map<Coordinate, double>& got, const std::map<Coordinate, double>& want, const AppModel& model,
                const std::string& what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  for (const auto& [c, v] : want) {
    auto it = got.find(c);
    ASSERT_TRUE(it != got.end()) << what << ": missing " << model.FormatCoordinate(c);
    EXPECT_TRUE(Close(it->second, v, std::abs(v))) << what << " " << model.FormatCoordinate(c) << ": " << it->second << " vs " << v;
  }
}

std::vector<int> RandomSourceLeaf(const Scenario& s, std::mt19937_64& rng) {
  return testing_util::RandomLeafCoordinate(s.source, rng);
}

TEST(BridgePropertyTest, MaterializeMatchesBruteForceAndIncrementalMatchesFull) {
  std::mt19937_64 rng(20240611);
  int checked = 0, fast_order = 0;
  for (int iteration = 0; iteration < 300; ++iteration) {
    Scenario s = MakeScenario(rng);
    // Settle ambiguities the random rules created with a rule on the leaf itself (distance 0).
    auto rules = ParseBridgeRules("rules.csv", RulesCsv(s));
    ASSERT_TRUE(rules.ok()) << rules.status();
    const Dimension& source_bridged = s.source.model.dimensions[static_cast<size_t>(s.bridged)];
    const Dimension& target_bridged = s.target.dimensions[static_cast<size_t>(s.target_bridged)];
    ResolvedBridge resolved = ResolveBridge(source_bridged, target_bridged, *rules);
    if (!resolved.report.ambiguous.empty()) {
      int some_leaf = 0;
      while (!s.plan_raw.IsLeaf(some_leaf)) ++some_leaf;
      for (const auto& a : resolved.report.ambiguous) s.rules.push_back({std::stoi(a.leaf.substr(a.leaf.find('m') + 1)), some_leaf, 1});
      rules = ParseBridgeRules("rules.csv", RulesCsv(s));
      ASSERT_TRUE(rules.ok());
      resolved = ResolveBridge(source_bridged, target_bridged, *rules);
    }
    ASSERT_TRUE(resolved.report.ok()) << resolved.report.ToText();
    auto bridge = Bridge::Create(s.source.model, s.target, source_bridged.name(), target_bridged.name(), std::move(resolved));
    ASSERT_TRUE(bridge.ok()) << bridge.status();

    // Source cells: small integers, zeros and negatives included.
    auto source = *Cube::Create(s.source.model);
    auto target = *Cube::Create(s.target);
    std::map<std::vector<int>, double> cells;
    const int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) cells[RandomSourceLeaf(s, rng)] = static_cast<double>(static_cast<int>(rng() % 41) - 20);
    KeyValues kv;
    for (auto& [c, v] : cells) kv.push_back({source->PackLeaf(testing_util::ToCoordinate(s.source, c)), v});
    ASSERT_TRUE(source->Load(std::move(kv)).ok());

    MaterializeOptions options;
    options.chunk_cells = std::vector<size_t>{1, 3, 1 << 18}[rng() % 3];
    options.parallel = rng() % 2 == 0;
    auto full = bridge->Materialize(*source, options);
    ASSERT_TRUE(full.ok()) << full.status();
    ExpectSame(Decode(*target, *full), BruteForce(s, cells), s.target, "initial");
    ASSERT_TRUE(target->Load(*std::move(full)).ok());

    // Random changes, in batches of one to three, through Deltas and Apply.
    for (int round = 0; round < 8; ++round) {
      std::vector<SourceChange> changes;
      const int batch = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < batch; ++i) {
        std::vector<int> leaf = RandomSourceLeaf(s, rng);
        Coordinate coord = testing_util::ToCoordinate(s.source, leaf);
        CellValue old = *source->ReadCell(coord);
        CellValue now = rng() % 5 == 0 ? CellValue::Empty() : CellValue::Number(static_cast<double>(static_cast<int>(rng() % 41) - 20));
        ASSERT_TRUE(source->Write({{coord, now}}).ok());
        if (now.is_number()) cells[leaf] = now.number;
        else cells.erase(leaf);
        changes.push_back({source->PackLeaf(coord), old.is_number() ? std::optional(old.number) : std::nullopt,
                           now.is_number() ? std::optional(now.number) : std::nullopt});
      }
      auto deltas = bridge->Deltas(changes);
      ASSERT_TRUE(deltas.ok()) << deltas.status();
      ASSERT_TRUE(bridge->Apply(target.get(), *deltas).ok());
    }
    // Full re-materialisation (the source store now has delta and deleted cells) against the
    // brute force, and the incrementally kept target against both. A target cell whose source
    // cells were all cleared stays at 0 incrementally (docs/bridges.md): extra cells must be 0.
    auto again = bridge->Materialize(*source, options);
    ASSERT_TRUE(again.ok());
    std::map<Coordinate, double> want = BruteForce(s, cells);
    ExpectSame(Decode(*target, *again), want, s.target, "re-materialised");
    std::map<Coordinate, double> kept = target->WithStore([&](const CellStore& store) { return Decode(*target, store.SortedCells()); });
    for (const auto& [c, v] : kept) {
      if (!want.count(c)) {
        EXPECT_TRUE(Close(v, 0, 1)) << "extra incremental cell " << s.target.FormatCoordinate(c) << " = " << v;
      }
    }
    for (const auto& [c, v] : want) {
      auto it = kept.find(c);
      ASSERT_TRUE(it != kept.end()) << "incremental misses " << s.target.FormatCoordinate(c);
      EXPECT_TRUE(Close(it->second, v, 100)) << "incremental " << s.target.FormatCoordinate(c) << ": " << it->second << " vs " << v;
    }
    ++checked;
    fast_order += s.target_bridged == s.bridged;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(checked, 300);
  EXPECT_GT(fast_order, 50);
}

// The coverage report against the brute-force classification, on rules that need not cover.
TEST(BridgePropertyTest, CoverageReportMatchesBruteForce) {
  std::mt19937_64 rng(7);
  for (int iteration = 0; iteration < 300; ++iteration) {
    Scenario s = MakeScenario(rng);
    // Drop a random part of the rules, so leaves become unmapped or under-mapped.
    std::vector<RawRule> kept;
    for (const RawRule& r : s.rules)
      if (rng() % 4 != 0) kept.push_back(r);
    s.rules = kept;
    auto rules = ParseBridgeRules("rules.csv", RulesCsv(s));
    ASSERT_TRUE(rules.ok());
    const Dimension& src = s.source.model.dimensions[static_cast<size_t>(s.bridged)];
    ResolvedBridge r = ResolveBridge(src, s.target.dimensions[static_cast<size_t>(s.target_bridged)], *rules);

    const RawDim& raw = s.source.raw[static_cast<size_t>(s.bridged)];
    std::set<std::string> unmapped, ambiguous, off, mapped;
    std::set<int> used;
    for (int leaf = 0; leaf < raw.members; ++leaf) {
      if (!raw.IsLeaf(leaf)) continue;
      int nearest = -1;
      std::set<int> governing;
      for (const RawRule& rule : s.rules) {
        int d = RawDistance(raw, leaf, rule.source);
        if (d < 0) continue;
        if (nearest < 0 || d < nearest) {
          nearest = d;
          governing.clear();
        }
        if (d == nearest) governing.insert(rule.source);
      }
      const std::string code = testing_util::Code(s.bridged, leaf);
      if (governing.empty()) unmapped.insert(code);
      else if (governing.size() > 1) ambiguous.insert(code);
      else {
        double total = 0;
        for (const RawRule& rule : s.rules)
          if (rule.source == *governing.begin()) total += rule.weight;
        (std::abs(total - 1) <= 1e-9 ? mapped : off).insert(code);
        used.insert(*governing.begin());
      }
    }
    std::set<std::string> got_off;
    for (auto& t : r.report.over_mapped) got_off.insert(t.leaf);
    for (auto& t : r.report.under_mapped) got_off.insert(t.leaf);
    std::set<std::string> got_ambiguous;
    for (auto& a : r.report.ambiguous) got_ambiguous.insert(a.leaf);
    EXPECT_EQ(std::set<std::string>(r.report.unmapped.begin(), r.report.unmapped.end()), unmapped);
    EXPECT_EQ(got_ambiguous, ambiguous);
    EXPECT_EQ(got_off, off);
    EXPECT_EQ(r.report.mapped_leaves, mapped.size());
    size_t unused = 0;
    for (const RawRule& rule : s.rules) unused += used.count(rule.source) == 0;
    EXPECT_EQ(r.report.unused_rules.size(), unused);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace quantatom

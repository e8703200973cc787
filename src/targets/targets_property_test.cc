// Targets against an independent reference on random apps.
//
// The reference works on the generator's raw edge lists (testing_util::RawDim: recursive path
// weights, no Dimension, no store, no ComputeSpread): it enumerates every leaf coordinate,
// finds each leaf's governing target (the smallest target containing it), and applies the
// rules of docs/targets.md target by target, innermost first. Cell values are integers and
// edge weights dyadic, so the reference's sums are exact and "basis sums to zero" is decided
// alike on both sides.
#include <cmath>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "query/random_model_testutil.h"
#include "targets/targets.h"

namespace quantatom {
namespace {

using testing_util::RandomApp;
using testing_util::RawDim;
using Raw = std::vector<int>;

struct RefTarget {
  Raw coord;
  double value;
  bool equal;
  int basis;  // raw scenario member, or -1
};

class Reference {
 public:
  Reference(const RandomApp& app, int sd) : app_(app), sd_(sd) {
    std::vector<std::vector<int>> leaves(app.raw.size());
    for (size_t d = 0; d < app.raw.size(); ++d)
      for (int m = 0; m < app.raw[d].members; ++m)
        if (app.raw[d].IsLeaf(m)) leaves[d].push_back(m);
    Raw c(app.raw.size(), 0);
    std::function<void(size_t)> rec = [&](size_t d) {
      if (d == app.raw.size()) return all_.push_back(c);
      for (int m : leaves[d]) c[d] = m, rec(d + 1);
    };
    rec(0);
  }
  const std::vector<Raw>& leaves() const { return all_; }

  bool Under(const Raw& leaf, const Raw& x) const {
    for (size_t d = 0; d < x.size(); ++d)
      if (!app_.raw[d].Under(leaf[d], x[d])) return false;
    return true;
  }
  double Weight(const Raw& leaf, const Raw& x) const {
    double w = 1;
    for (size_t d = 0; d < x.size(); ++d) w *= app_.raw[d].Weight(leaf[d], x[d]);
    return w;
  }
  std::vector<Raw> LeavesUnder(const Raw& x) const {
    std::vector<Raw> out;
    for (const Raw& l : all_)
      if (Under(l, x)) out.push_back(l);
    return out;
  }
  const CellValue* Cell(const Raw& leaf) const {
    auto it = app_.cells.find(leaf);
    return it == app_.cells.end() ? nullptr : &it->second;
  }

  // "same", "overlap", "inside", "contains" or "disjoint", from leaf sets.
  std::string Relate(const Raw& a, const Raw& b) const {
    auto la = LeavesUnder(a), lb = LeavesUnder(b);
    size_t common = 0;
    for (const Raw& l : la) common += Under(l, b);
    if (common == 0) return "disjoint";
    if (common == la.size() && common == lb.size()) return "same";
    if (common == la.size()) return "inside";
    if (common == lb.size()) return "contains";
    return "overlap";
  }

  // Guidance per leaf, or nullopt if some target cannot be guided.
  std::optional<std::map<Raw, double>> Guide(const std::vector<RefTarget>& targets) const {
    std::vector<std::vector<Raw>> under(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) under[i] = LeavesUnder(targets[i].coord);
    std::map<Raw, int> governing;
    for (const Raw& l : all_) {
      int best = -1;
      for (size_t i = 0; i < targets.size(); ++i)
        if (Under(l, targets[i].coord) && (best < 0 || under[i].size() < under[best].size())) best = static_cast<int>(i);
      if (best >= 0) governing[l] = best;
    }
    std::vector<size_t> order(targets.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return under[a].size() < under[b].size(); });
    std::map<Raw, double> g;
    for (size_t i : order) {
      const RefTarget& t = targets[i];
      double h = 0, b = 0, w = 0;
      bool nested = false;
      for (size_t j = 0; j < targets.size(); ++j)
        nested |= j != i && under[j].size() < under[i].size() && Relate(targets[j].coord, t.coord) == "inside";
      std::vector<Raw> mine;
      for (const Raw& l : under[i]) {
        if (governing.at(l) != static_cast<int>(i)) {
          if (g.count(l)) h += Weight(l, t.coord) * g[l];
          continue;
        }
        const CellValue* own = Cell(l);
        if (own && own->is_text()) continue;
        mine.push_back(l);
      }
      auto basis_of = [&](const Raw& l) -> std::optional<double> {
        Raw at = l;
        if (t.basis >= 0) at[sd_] = t.basis;
        const CellValue* v = Cell(at);
        return v && v->is_number() ? std::optional<double>(v->number) : std::nullopt;
      };
      if (!t.equal)
        for (const Raw& l : mine)
          if (auto v = basis_of(l)) b += Weight(l, t.coord) * *v;
      if (!t.equal && b != 0) {
        for (const Raw& l : mine)
          if (auto v = basis_of(l)) g[l] = *v * (t.value - h) / b;
        continue;
      }
      if (mine.empty()) {
        if (nested && std::abs(t.value - h) <= 1e-9 * std::max({1.0, std::abs(t.value), std::abs(h)})) continue;
        return std::nullopt;
      }
      for (const Raw& l : mine) w += Weight(l, t.coord);
      if (w == 0) return std::nullopt;
      for (const Raw& l : mine) g[l] = (t.value - h) / w;
    }
    return g;
  }

  std::optional<double> TargetAt(const std::vector<RefTarget>& targets, const std::map<Raw, double>& g,
                                 const Raw& coord) const {
    for (const RefTarget& t : targets)
      if (t.coord == coord) return t.value;
    std::optional<double> sum;
    for (const auto& [l, v] : g)
      if (Under(l, coord)) sum = sum.value_or(0) + Weight(l, coord) * v;
    return sum;
  }

 private:
  const RandomApp& app_;
  int sd_;
  std::vector<Raw> all_;
};

std::optional<double> Num(const CellValue& v) { return v.is_number() ? std::optional<double>(v.number) : std::nullopt; }

void ExpectNear(std::optional<double> got, std::optional<double> want, const std::string& what) {
  ASSERT_EQ(got.has_value(), want.has_value()) << what << ": got " << (got ? std::to_string(*got) : "empty")
                                               << ", want " << (want ? std::to_string(*want) : "empty");
  if (want) {
    EXPECT_NEAR(*got, *want, 1e-7 * std::max(1.0, std::abs(*want))) << what;
  }
}

// Absolute and percent variance written out from the rules, not through ComputeVariance.
void ExpectVariance(const Variance& got, std::optional<double> value, std::optional<double> base,
                    const std::string& what) {
  std::optional<double> abs, pct;
  if (value || base) abs = (value ? *value : 0.0) - (base ? *base : 0.0);
  if (abs && base && *base != 0) pct = 100 * *abs / std::abs(*base);
  ExpectNear(got.abs, abs, what + " abs");
  ExpectNear(got.pct, pct, what + " pct");
}

TEST(TargetsPropertyTest, MatchesTheReferenceOnRandomApps) {
  std::mt19937_64 rng(20261124);
  int worlds = 0, accepted = 0, refused = 0;
  while (worlds < 60) {
    RandomApp app = testing_util::MakeRandomApp(rng);
    // A scenario dimension: Actual (0) and Budget (1), both leaves.
    const int sd = static_cast<int>(app.raw.size());
    RawDim scen;
    scen.members = 2;
    DimensionBuilder b("Scenario", DimensionType::kScenario);
    ASSERT_TRUE(b.AddMember(testing_util::Code(sd, 0)).ok());
    ASSERT_TRUE(b.AddMember(testing_util::Code(sd, 1)).ok());
    app.model.dimensions.push_back(*std::move(b).Build());
    app.raw.push_back(scen);
    size_t cross = 1;
    for (auto& raw : app.raw) {
      int leaves = 0;
      for (int m = 0; m < raw.members; ++m) leaves += raw.IsLeaf(m);
      cross *= leaves;
    }
    if (cross > 1500) continue;
    ++worlds;
    const Reference ref(app, sd);
    // Cells: about half the leaves, small integers (0 included), a few text cells; most in the
    // store's main part, some written afterwards (its delta).
    KeyValues main;
    std::vector<CellWrite> later;
    auto cube = *Cube::Create(app.model);
    for (const Raw& l : ref.leaves()) {
      const int roll = static_cast<int>(rng() % 100);
      if (roll < 45) {
        const double v = static_cast<double>(static_cast<int>(rng() % 26) - 5);
        app.cells[l] = CellValue::Number(v);
        if (rng() % 4 == 0) later.push_back({testing_util::ToCoordinate(app, l), CellValue::Number(v)});
        else main.push_back({cube->PackLeaf(testing_util::ToCoordinate(app, l)), v});
      } else if (roll < 48) {
        app.cells[l] = CellValue::Text("t");
        later.push_back({testing_util::ToCoordinate(app, l), CellValue::Text("t")});
      }
    }
    ASSERT_TRUE(cube->Load(std::move(main)).ok());
    ASSERT_TRUE(cube->Write(later).ok());

    TargetsConfig config;
    config.scenario_dim = sd;
    config.plan = testing_util::Id(app, sd, 1);
    config.actual = testing_util::Id(app, sd, 0);
    Targets targets(cube.get(), config);
    std::vector<RefTarget> layer;
    auto random_member = [&](int d) { return static_cast<int>(rng() % app.raw[d].members); };
    for (int attempt = 0; attempt < 6; ++attempt) {
      RefTarget t;
      for (int d = 0; d < sd; ++d) t.coord.push_back(random_member(d));
      t.coord.push_back(rng() % 5 == 0 ? 0 : 1);
      t.value = static_cast<double>(static_cast<int>(rng() % 400) - 100);
      t.equal = rng() % 10 < 3;
      t.basis = !t.equal && rng() % 3 == 0 ? 1 - t.coord[sd] : -1;
      Target target{testing_util::ToCoordinate(app, t.coord), t.value,
                    t.equal ? GuidanceMethod::kEqual : GuidanceMethod::kProportional,
                    t.basis >= 0 ? testing_util::Id(app, sd, t.basis) : kNoMember};
      const std::string where = app.model.FormatCoordinate(target.coord);
      // Expected outcome, from the reference alone.
      bool leaf = true;
      for (int d = 0; d <= sd; ++d) leaf &= app.raw[d].IsLeaf(t.coord[d]);
      const CellValue* cell = ref.Cell(t.coord);
      std::vector<RefTarget> trial = layer;
      bool overlaps = false, replaced = false;
      for (RefTarget& o : trial) {
        if (o.coord == t.coord) {
          o = t;  // a target set again keeps its place
          replaced = true;
          continue;
        }
        const std::string r = ref.Relate(t.coord, o.coord);
        overlaps |= r == "same" || r == "overlap";
      }
      if (!replaced) trial.push_back(t);
      const absl::Status s = targets.Set(target);
      if (leaf && cell && cell->is_text()) {
        EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << where << ": " << s;
        ++refused;
        continue;
      }
      if (overlaps) {
        EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << where << ": " << s;
        ++refused;
        continue;
      }
      auto guide = ref.Guide(trial);
      if (!guide) {
        EXPECT_FALSE(s.ok()) << where;
        ++refused;
        continue;
      }
      ASSERT_TRUE(s.ok()) << where << ": " << s;
      ++accepted;
      layer = trial;
    }
    ASSERT_EQ(targets.List().size(), layer.size());
    auto guide = ref.Guide(layer);
    ASSERT_TRUE(guide.has_value());
    // Guidance at every leaf.
    for (const Raw& l : ref.leaves()) {
      auto got = targets.GuidanceAt(testing_util::ToCoordinate(app, l));
      ASSERT_TRUE(got.ok()) << got.status();
      auto it = guide->find(l);
      ExpectNear(*got, it == guide->end() ? std::nullopt : std::optional<double>(it->second),
                 "guidance at " + app.model.FormatCoordinate(testing_util::ToCoordinate(app, l)));
    }
    // Target, layers and contributors at random coordinates.
    for (int probe = 0; probe < 8; ++probe) {
      Raw c;
      for (int d = 0; d <= sd; ++d) c.push_back(random_member(d));
      const Coordinate coord = testing_util::ToCoordinate(app, c);
      const std::string where = app.model.FormatCoordinate(coord);
      auto target_at = targets.TargetAt(coord);
      ASSERT_TRUE(target_at.ok());
      ExpectNear(*target_at, ref.TargetAt(layer, *guide, c), "target at " + where);
      Raw plan = c, actual = c;
      plan[sd] = 1, actual[sd] = 0;
      const std::optional<double> p = Num(app.Evaluate(plan)), a = Num(app.Evaluate(actual));
      const std::optional<double> t = ref.TargetAt(layer, *guide, plan);
      auto layers = targets.Layers(coord);
      ASSERT_TRUE(layers.ok()) << layers.status();
      ExpectNear(layers->plan, p, "plan at " + where);
      ExpectNear(layers->actual, a, "actual at " + where);
      ExpectNear(layers->target, t, "target layer at " + where);
      ExpectVariance(layers->actual_vs_plan, a, p, "actual-plan at " + where);
      ExpectVariance(layers->plan_vs_target, p, t, "plan-target at " + where);
      ExpectVariance(layers->actual_vs_target, a, t, "actual-target at " + where);
      // Contributors to actual - plan along every dimension: the ranked absolute variances.
      std::vector<double> want;
      for (int d = 0; d < sd; ++d)
        for (const auto& e : app.raw[d].edges) {
          if (e.parent != c[d]) continue;
          Raw pc = plan, ac = actual;
          pc[d] = ac[d] = e.child;
          const std::optional<double> cp = Num(app.Evaluate(pc)), ca = Num(app.Evaluate(ac));
          if (cp || ca) want.push_back(std::abs(ca.value_or(0) - cp.value_or(0)));
        }
      std::sort(want.rbegin(), want.rend());
      if (want.size() > 4) want.resize(4);
      auto top = targets.TopContributors(coord, VarianceKind::kActualVsPlan, -1, 4);
      ASSERT_TRUE(top.ok()) << top.status();
      ASSERT_EQ(top->size(), want.size()) << "contributors at " << where;
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(std::abs(*(*top)[i].variance.abs), want[i], 1e-7 * std::max(1.0, want[i])) << where;
    }
  }
  // The generator must exercise both outcomes.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 20);
}

}  // namespace
}  // namespace quantatom

#include "bridge/bridge_map.h"

#include <algorithm>
#include <cmath>

#include "base/numbers.h"
#include "base/strings.h"

namespace quantatom {

class BridgeMapBuilder {
 public:
  explicit BridgeMapBuilder(uint32_t target_leaf_count) { map_.target_leaf_count_ = target_leaf_count; }
  // Leaves must be added in ordinal order; `targets` sorted by target ordinal.
  void AddLeaf(std::span<const LeafMapping> targets) {
    map_.entries_.insert(map_.entries_.end(), targets.begin(), targets.end());
    map_.begin_.push_back(static_cast<uint32_t>(map_.entries_.size()));
    map_.max_fanout_ = std::max(map_.max_fanout_, static_cast<uint32_t>(targets.size()));
  }
  BridgeMap Build() && { return std::move(map_); }

 private:
  BridgeMap map_;
};

namespace {

// The rules that name a known source member, grouped by that member.
struct MemberRules {
  bool has_rules = false;          // at least one rule names it (even one with a bad target)
  std::vector<LeafMapping> targets;  // its valid rules, sorted by target ordinal
  std::vector<int> rule_indices;     // every rule naming it, in file order
  bool governs = false;              // governs at least one leaf
};

std::string Listed(const std::vector<std::string>& items, size_t max_listed) {
  std::vector<std::string> head(items.begin(), items.begin() + std::min(items.size(), max_listed));
  std::string out = StrJoin(head, ", ");
  if (items.size() > max_listed) StrAppend(&out, ", ... (", items.size() - max_listed, " more)");
  return out;
}

std::vector<std::string> TotalsText(const std::vector<CoverageReport::LeafTotal>& totals) {
  std::vector<std::string> out;
  for (const auto& t : totals) out.push_back(StrCat(t.leaf, " (total ", FormatNumber(t.total), ")"));
  return out;
}

std::vector<std::string> AmbiguityText(const std::vector<CoverageReport::Ambiguity>& list) {
  std::vector<std::string> out;
  for (const auto& a : list)
    out.push_back(StrCat(a.leaf, " (rules on ", StrJoin(a.members, " and "), ", both ", a.distance, " level",
                         a.distance == 1 ? "" : "s", " up)"));
  return out;
}

}  // namespace

ResolvedBridge ResolveBridge(const Dimension& source, const Dimension& target, const BridgeRules& rules) {
  ResolvedBridge out;
  CoverageReport& report = out.report;
  report.source_leaves = source.leaf_count();

  std::vector<MemberRules> by_member(source.member_count());
  for (size_t i = 0; i < rules.rules.size(); ++i) {
    const BridgeRule& rule = rules.rules[i];
    std::optional<MemberId> from = source.Find(rule.source);
    if (!from) {
      report.rule_errors.push_back(StrCat(rules.Where(rule, "source"), ": unknown member '", rule.source,
                                          "' in source dimension '", source.name(), "'"));
      continue;
    }
    MemberRules& member = by_member[*from];
    member.has_rules = true;
    member.rule_indices.push_back(static_cast<int>(i));
    std::optional<MemberId> to = target.Find(rule.target);
    if (!to) {
      report.rule_errors.push_back(StrCat(rules.Where(rule, "target"), ": unknown member '", rule.target,
                                          "' in target dimension '", target.name(), "'"));
      continue;
    }
    if (!target.is_leaf(*to)) {
      report.rule_errors.push_back(StrCat(rules.Where(rule, "target"), ": '", rule.target, "' in target dimension '",
                                          target.name(), "' is consolidated: bridge to its leaves"));
      continue;
    }
    member.targets.push_back({target.leaf_ordinal(*to), rule.weight});
  }
  for (MemberRules& m : by_member)
    std::sort(m.targets.begin(), m.targets.end(), [](const LeafMapping& a, const LeafMapping& b) { return a.target < b.target; });

  // Breadth-first search upward from each leaf, one distance at a time. `stamp` marks the
  // members already reached from the current leaf without clearing a set per leaf.
  BridgeMapBuilder builder(target.leaf_count());
  std::vector<uint32_t> stamp(source.member_count(), UINT32_MAX);
  std::vector<MemberId> frontier, next, governing;
  for (uint32_t leaf = 0; leaf < source.leaf_count(); ++leaf) {
    const MemberId leaf_member = source.leaf_member(leaf);
    frontier.assign(1, leaf_member);
    stamp[leaf_member] = leaf;
    governing.clear();
    int distance = 0;
    while (!frontier.empty()) {
      for (MemberId m : frontier)
        if (by_member[m].has_rules) governing.push_back(m);
      if (!governing.empty()) break;
      next.clear();
      for (MemberId m : frontier)
        for (const Edge& e : source.parent_edges(m))
          if (stamp[e.parent] != leaf) {
            stamp[e.parent] = leaf;
            next.push_back(e.parent);
          }
      frontier.swap(next);
      ++distance;
    }
    const std::string& code = source.member(leaf_member).code;
    if (governing.empty()) {
      report.unmapped.push_back(code);
      builder.AddLeaf({});
      continue;
    }
    if (governing.size() > 1) {
      CoverageReport::Ambiguity a{code, {}, distance};
      for (MemberId m : governing) a.members.push_back(source.member(m).code);
      std::sort(a.members.begin(), a.members.end());
      report.ambiguous.push_back(std::move(a));
      builder.AddLeaf({});
      continue;
    }
    MemberRules& rule_set = by_member[governing[0]];
    rule_set.governs = true;
    builder.AddLeaf(rule_set.targets);
    double total = 0;
    for (const LeafMapping& t : rule_set.targets) total += t.weight;
    if (std::abs(total - 1) <= kBridgeWeightTolerance) ++report.mapped_leaves;
    else if (total > 1) report.over_mapped.push_back({code, total});
    else report.under_mapped.push_back({code, total});
  }

  for (const MemberRules& m : by_member)
    if (m.has_rules && !m.governs)
      for (int i : m.rule_indices) {
        const BridgeRule& rule = rules.rules[static_cast<size_t>(i)];
        report.unused_rules.push_back({rule.line, rule.source, rule.target});
      }
  std::sort(report.unused_rules.begin(), report.unused_rules.end(),
            [](const auto& a, const auto& b) { return a.line < b.line; });
  out.map = std::move(builder).Build();
  return out;
}

absl::Status CoverageReport::ToStatus(size_t max_listed) const {
  if (ok()) return absl::OkStatus();
  std::vector<std::string> parts;
  if (!rule_errors.empty())
    parts.push_back(StrCat(rule_errors.size(), " rule error(s): ", Listed(rule_errors, max_listed)));
  if (!unmapped.empty())
    parts.push_back(StrCat(unmapped.size(), " unmapped source leaf(s): ", Listed(unmapped, max_listed)));
  if (!over_mapped.empty())
    parts.push_back(StrCat(over_mapped.size(), " over-mapped source leaf(s): ", Listed(TotalsText(over_mapped), max_listed)));
  if (!under_mapped.empty())
    parts.push_back(
        StrCat(under_mapped.size(), " under-mapped source leaf(s): ", Listed(TotalsText(under_mapped), max_listed)));
  if (!ambiguous.empty())
    parts.push_back(StrCat(ambiguous.size(), " ambiguous source leaf(s): ", Listed(AmbiguityText(ambiguous), max_listed)));
  return absl::FailedPreconditionError(
      StrCat("the bridge does not map every source leaf with total weight 1: ", StrJoin(parts, "; ")));
}

std::string CoverageReport::ToText(size_t max_listed) const {
  std::string out = StrCat(source_leaves, " source leaves: ", mapped_leaves, " mapped with total weight 1, ",
                           unmapped.size(), " unmapped, ", over_mapped.size(), " over-mapped, ", under_mapped.size(),
                           " under-mapped, ", ambiguous.size(), " ambiguous; ", rule_errors.size(), " rule error(s), ",
                           unused_rules.size(), " unused rule(s)\n");
  auto section = [&](std::string_view title, const std::vector<std::string>& items) {
    if (!items.empty()) StrAppend(&out, title, ": ", Listed(items, max_listed), "\n");
  };
  section("rule errors", rule_errors);
  section("unmapped", unmapped);
  section("over-mapped", TotalsText(over_mapped));
  section("under-mapped", TotalsText(under_mapped));
  section("ambiguous", AmbiguityText(ambiguous));
  std::vector<std::string> unused;
  for (const auto& u : unused_rules) unused.push_back(StrCat("line ", u.line, " ", u.source, " -> ", u.target));
  section("unused (fully overridden)", unused);
  return out;
}

}  // namespace quantatom

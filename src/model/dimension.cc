#include "model/dimension.h"

#include <algorithm>
#include <cmath>
#include "base/strings.h"


namespace quantatom {

namespace {
constexpr std::pair<DimensionType, std::string_view> kTypeNames[] = {
    {DimensionType::kGeneric, "generic"},   {DimensionType::kAccount, "account"},
    {DimensionType::kTime, "time"},         {DimensionType::kScenario, "scenario"},
    {DimensionType::kVersion, "version"},   {DimensionType::kEntity, "entity"},
    {DimensionType::kCurrency, "currency"}, {DimensionType::kMeasure, "measure"},
};
}  // namespace

std::string_view DimensionTypeName(DimensionType type) {
  for (auto& [t, n] : kTypeNames)
    if (t == type) return n;
  return "generic";
}

absl::StatusOr<DimensionType> ParseDimensionType(std::string_view name) {
  for (auto& [t, n] : kTypeNames)
    if (n == name) return t;
  std::vector<std::string_view> names;
  for (auto& [t, n] : kTypeNames) names.push_back(n);
  return absl::InvalidArgumentError(StrCat("unknown dimension type '", name,
                                                 "' (expected one of: ", StrJoin(names, ", "), ")"));
}

std::string_view Member::Attribute(std::string_view key) const {
  for (auto& [k, v] : attributes)
    if (k == key) return v;
  return {};
}

std::optional<MemberId> Dimension::Find(std::string_view code) const {
  auto it = by_code_.find(absl::string_view(code.data(), code.size()));
  if (it == by_code_.end()) return std::nullopt;
  return it->second;
}

std::span<const Edge> Dimension::child_edges(MemberId id) const {
  return {child_edges_.data() + child_begin_[id], child_edges_.data() + child_begin_[id + 1]};
}

std::span<const Edge> Dimension::parent_edges(MemberId id) const {
  return {parent_edges_.data() + parent_begin_[id], parent_edges_.data() + parent_begin_[id + 1]};
}

std::span<const AncestorWeight> Dimension::ancestors(MemberId id) const {
  return {ancestors_.data() + ancestor_begin_[id], ancestors_.data() + ancestor_begin_[id + 1]};
}

bool Dimension::IsAncestorOrSelf(MemberId ancestor, MemberId id) const {
  for (const AncestorWeight& a : ancestors(id))
    if (a.member == ancestor) return true;
  return false;
}

std::vector<MemberId> Dimension::Descendants(MemberId id) const {
  std::vector<MemberId> out;
  std::vector<bool> seen(members_.size(), false);
  std::vector<MemberId> stack{id};
  seen[id] = true;
  while (!stack.empty()) {
    MemberId m = stack.back();
    stack.pop_back();
    if (m != id) out.push_back(m);
    auto kids = child_edges(m);
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
      if (!seen[it->child]) {
        seen[it->child] = true;
        stack.push_back(it->child);
      }
    }
  }
  return out;
}

std::vector<std::pair<uint32_t, double>> Dimension::LeavesUnder(MemberId id) const {
  std::vector<std::pair<uint32_t, double>> out;
  if (is_leaf(id)) {
    out.emplace_back(leaf_ordinal_[id], 1.0);
    return out;
  }
  for (MemberId m : Descendants(id)) {
    if (!is_leaf(m)) continue;
    for (const AncestorWeight& a : ancestors(m)) {
      if (a.member == id) {
        out.emplace_back(leaf_ordinal_[m], a.weight);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

DimensionBuilder::DimensionBuilder(std::string name, DimensionType type) {
  dim_.name_ = std::move(name);
  dim_.type_ = type;
}

absl::Status DimensionBuilder::AddMember(std::string code, std::string name,
                                         std::vector<std::pair<std::string, std::string>> attributes) {
  if (code.empty()) return absl::InvalidArgumentError("member code is empty");
  MemberId id = static_cast<MemberId>(dim_.members_.size());
  if (!dim_.by_code_.emplace(code, id).second)
    return absl::AlreadyExistsError(StrCat("duplicate member code '", code, "'"));
  if (name.empty()) name = code;
  dim_.members_.push_back(Member{std::move(code), std::move(name), std::move(attributes)});
  return absl::OkStatus();
}

absl::Status DimensionBuilder::AddEdge(std::string_view child, std::string_view parent, double weight) {
  auto c = dim_.Find(child);
  if (!c) return absl::NotFoundError(StrCat("unknown member '", child, "'"));
  auto p = dim_.Find(parent);
  if (!p) return absl::NotFoundError(StrCat("unknown member '", parent, "'"));
  if (*c == *p) return absl::InvalidArgumentError(StrCat("member '", child, "' cannot be its own parent"));
  if (!std::isfinite(weight)) return absl::InvalidArgumentError("edge weight is not a finite number");
  if (!edge_seen_.emplace(std::make_pair(*c, *p), true).second)
    return absl::InvalidArgumentError(StrCat("edge '", child, "' -> '", parent, "' is defined twice"));
  dim_.edges_.push_back(Edge{*c, *p, weight});
  return absl::OkStatus();
}

absl::StatusOr<Dimension> DimensionBuilder::Build() && {
  Dimension& d = dim_;
  const uint32_t n = d.member_count();
  if (n == 0) return absl::InvalidArgumentError(StrCat("dimension '", d.name_, "' has no members"));

  // Group edges by parent and by child, keeping definition order inside each group.
  auto group = [n](const std::vector<Edge>& edges, auto key, std::vector<Edge>* out, std::vector<uint32_t>* begin) {
    begin->assign(n + 1, 0);
    for (const Edge& e : edges) ++(*begin)[key(e) + 1];
    for (uint32_t i = 0; i < n; ++i) (*begin)[i + 1] += (*begin)[i];
    out->resize(edges.size());
    std::vector<uint32_t> fill(begin->begin(), begin->end() - 1);
    for (const Edge& e : edges) (*out)[fill[key(e)]++] = e;
  };
  group(d.edges_, [](const Edge& e) { return e.parent; }, &d.child_edges_, &d.child_begin_);
  group(d.edges_, [](const Edge& e) { return e.child; }, &d.parent_edges_, &d.parent_begin_);
  // A parent's children go in member order, not edge order: the leaf ordinals (and so the cell
  // keys of a snapshot) then depend only on the member order and each child's parent order,
  // which ModelToJson preserves, and not on the order the edges happened to be defined in.
  // Parent edges stay in definition order: a child's first one names its primary parent.
  for (MemberId p = 0; p < n; ++p)
    std::stable_sort(d.child_edges_.begin() + d.child_begin_[p], d.child_edges_.begin() + d.child_begin_[p + 1],
                     [](const Edge& a, const Edge& b) { return a.child < b.child; });

  // Depth-first search from every member along parent -> child edges: finds cycles and gives a
  // post-order (children before parents). Iterative, so deep hierarchies cannot overflow.
  enum : uint8_t { kWhite, kGrey, kBlack };
  std::vector<uint8_t> color(n, kWhite);
  std::vector<MemberId> post_order;
  post_order.reserve(n);
  std::vector<std::pair<MemberId, uint32_t>> stack;  // member, next child edge index
  for (MemberId start = 0; start < n; ++start) {
    if (color[start] != kWhite) continue;
    stack.emplace_back(start, 0);
    color[start] = kGrey;
    while (!stack.empty()) {
      auto& [m, next] = stack.back();
      auto kids = d.child_edges(m);
      if (next < kids.size()) {
        MemberId c = kids[next++].child;
        if (color[c] == kGrey) {
          // The grey members on the stack from c to m form the cycle.
          std::vector<std::string> path;
          bool on = false;
          for (auto& [s, _] : stack) {
            if (s == c) on = true;
            if (on) path.push_back(d.members_[s].code);
          }
          path.push_back(d.members_[c].code);
          std::reverse(path.begin(), path.end());  // child -> parent direction reads as "rolls up to"
          return absl::InvalidArgumentError(
              StrCat("cycle in the hierarchy of dimension '", d.name_, "': ", StrJoin(path, " -> ")));
        }
        if (color[c] == kWhite) {
          color[c] = kGrey;
          stack.emplace_back(c, 0);
        }
      } else {
        color[m] = kBlack;
        post_order.push_back(m);
        stack.pop_back();
      }
    }
  }

  d.levels_.assign(n, 0);
  for (MemberId m : post_order) {
    int lvl = 0;
    for (const Edge& e : d.child_edges(m)) lvl = std::max(lvl, d.levels_[e.child] + 1);
    d.levels_[m] = lvl;
    d.max_level_ = std::max(d.max_level_, lvl);
  }

  d.roots_.clear();
  for (MemberId m = 0; m < n; ++m)
    if (d.parent_edges(m).empty()) d.roots_.push_back(m);

  // Leaf ordinals: depth-first along primary edges (a child's first parent edge), roots in
  // definition order, children in member order. Every member has exactly one primary parent or is a root, so each leaf is
  // numbered once and the leaves under a member of the primary tree are contiguous.
  d.leaf_ordinal_.assign(n, kNoMember);
  d.leaves_.clear();
  std::vector<MemberId> dfs;
  for (auto it = d.roots_.rbegin(); it != d.roots_.rend(); ++it) dfs.push_back(*it);
  while (!dfs.empty()) {
    MemberId m = dfs.back();
    dfs.pop_back();
    auto kids = d.child_edges(m);
    if (kids.empty()) {
      d.leaf_ordinal_[m] = static_cast<uint32_t>(d.leaves_.size());
      d.leaves_.push_back(m);
      continue;
    }
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
      const Edge& primary = d.parent_edges(it->child).front();
      if (primary.parent == m) dfs.push_back(it->child);
    }
  }

  // Ancestor weights, parents before children (reverse post-order): anc(m) = {m: 1} plus, for
  // each parent edge (p, w), w * anc(p), summed per ancestor.
  std::vector<std::vector<AncestorWeight>> anc(n);
  for (auto it = post_order.rbegin(); it != post_order.rend(); ++it) {
    MemberId m = *it;
    std::vector<AncestorWeight>& out = anc[m];
    out.push_back({m, 1.0});
    for (const Edge& e : d.parent_edges(m)) {
      for (const AncestorWeight& a : anc[e.parent]) {
        auto found = std::find_if(out.begin(), out.end(), [&](const AncestorWeight& x) { return x.member == a.member; });
        if (found == out.end()) out.push_back({a.member, e.weight * a.weight});
        else found->weight += e.weight * a.weight;
      }
    }
  }
  d.ancestor_begin_.assign(n + 1, 0);
  for (MemberId m = 0; m < n; ++m) d.ancestor_begin_[m + 1] = d.ancestor_begin_[m] + static_cast<uint32_t>(anc[m].size());
  d.ancestors_.clear();
  d.ancestors_.reserve(d.ancestor_begin_[n]);
  for (auto& v : anc) d.ancestors_.insert(d.ancestors_.end(), v.begin(), v.end());
  return std::move(dim_);
}

}  // namespace quantatom

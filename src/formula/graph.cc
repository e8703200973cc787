#include "formula/graph.h"

#include <algorithm>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "base/strings.h"

namespace quantatom::formula {

namespace {

struct GraphEdge {
  int from, to, direction;
};

std::string CycleText(const Dimension& dim, const std::vector<const BoundFormula*>& f, const std::vector<int>& cycle) {
  std::vector<std::string> codes;
  for (int i : cycle) codes.push_back(dim.member(f[i]->member).code);
  codes.push_back(dim.member(f[cycle[0]]->member).code);
  return StrJoin(codes, " -> ");
}

// A path from `from` to `to` over `edges` accepted by `use`, as formula indices, or empty.
std::vector<int> FindPath(int n, const std::vector<GraphEdge>& edges, int from, int to,
                          const std::function<bool(const GraphEdge&)>& use) {
  std::vector<int> prev(n, -2);
  std::vector<int> queue = {from};
  prev[from] = -1;
  for (size_t q = 0; q < queue.size(); ++q) {
    int u = queue[q];
    for (const GraphEdge& e : edges) {
      if (e.from != u || !use(e)) continue;
      if (e.to == to) {
        std::vector<int> path = {to};
        for (int v = u; v != -1 && v != to; v = prev[v]) path.push_back(v);
        if (path.back() != from) path.push_back(from);
        std::reverse(path.begin(), path.end());
        // path runs from -> ... -> to; callers want the cycle starting at `to`'s reader side.
        return path;
      }
      if (prev[e.to] == -2) {
        prev[e.to] = u;
        queue.push_back(e.to);
      }
    }
  }
  return {};
}

}  // namespace

absl::StatusOr<FormulaGraph> FormulaGraph::Build(const Dimension& dim, const std::vector<const BoundFormula*>& f) {
  const int n = static_cast<int>(f.size());
  absl::flat_hash_map<MemberId, int> by_member;
  for (int i = 0; i < n; ++i) by_member[f[i]->member] = i;
  // Edge from the formula whose cells are read to the reader.
  std::vector<GraphEdge> edges;
  for (int i = 0; i < n; ++i)
    for (const Dependency& dep : f[i]->dependencies) {
      std::vector<MemberId> members = {dep.member};
      if (!dim.is_leaf(dep.member))
        for (auto [ordinal, w] : dim.LeavesUnder(dep.member)) members.push_back(dim.leaf_member(ordinal));
      for (MemberId m : members)
        if (auto it = by_member.find(m); it != by_member.end()) edges.push_back({it->second, i, dep.direction});
    }
  FormulaGraph g;
  g.readers.resize(n);
  for (const GraphEdge& e : edges)
    if (std::find(g.readers[e.from].begin(), g.readers[e.from].end(), e.to) == g.readers[e.from].end())
      g.readers[e.from].push_back(e.to);

  // 1. The same-period and forward edges must be acyclic: a topological order gives the ranks.
  {
    std::vector<int> indegree(n, 0);
    for (const GraphEdge& e : edges)
      if (e.direction >= 0) ++indegree[e.to];
    std::vector<int> order;
    for (int i = 0; i < n; ++i)
      if (indegree[i] == 0) order.push_back(i);
    for (size_t q = 0; q < order.size(); ++q)
      for (const GraphEdge& e : edges)
        if (e.direction >= 0 && e.from == order[q] && --indegree[e.to] == 0) order.push_back(e.to);
    if (static_cast<int>(order.size()) < n) {
      for (const GraphEdge& e : edges) {
        if (e.direction < 0 || indegree[e.to] == 0 || indegree[e.from] == 0) continue;
        std::vector<int> cycle = e.from == e.to ? std::vector<int>{e.from}
                                                : FindPath(n, edges, e.to, e.from, [](const GraphEdge& x) { return x.direction >= 0; });
        if (cycle.empty()) continue;
        return absl::InvalidArgumentError(StrCat("formula cycle: ", CycleText(dim, f, cycle),
                                                 " (a formula may read its own member's cells only in earlier periods: prev, lag)"));
      }
      return absl::InvalidArgumentError("formula cycle");
    }
    g.rank.resize(n);
    for (int r = 0; r < n; ++r) g.rank[order[r]] = r;
  }

  // 2. Strongly connected components of the whole graph (Tarjan), numbered in topological order.
  std::vector<int> index(n, -1), low(n, 0), comp(n, -1), stack;
  std::vector<bool> on_stack(n, false);
  int next_index = 0, comps = 0;
  std::function<void(int)> strong = [&](int v) {
    index[v] = low[v] = next_index++;
    stack.push_back(v);
    on_stack[v] = true;
    for (const GraphEdge& e : edges) {
      if (e.from != v) continue;
      if (index[e.to] < 0) {
        strong(e.to);
        low[v] = std::min(low[v], low[e.to]);
      } else if (on_stack[e.to]) {
        low[v] = std::min(low[v], index[e.to]);
      }
    }
    if (low[v] == index[v]) {
      for (;;) {
        int w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        comp[w] = comps;
        if (w == v) break;
      }
      ++comps;
    }
  };
  for (int i = 0; i < n; ++i)
    if (index[i] < 0) strong(i);
  // Tarjan numbers components in reverse topological order.
  g.component.resize(n);
  for (int i = 0; i < n; ++i) g.component[i] = comps - 1 - comp[i];

  for (const GraphEdge& e : edges)
    if (e.direction > 0 && comp[e.from] == comp[e.to]) {
      std::vector<int> cycle = e.from == e.to ? std::vector<int>{e.from}
                                              : FindPath(n, edges, e.to, e.from, [&](const GraphEdge& x) {
                                                  return comp[x.from] == comp[e.from] && comp[x.to] == comp[e.from];
                                                });
      return absl::InvalidArgumentError(StrCat("formula cycle: ", CycleText(dim, f, cycle),
                                               " reads both earlier and later periods, so it has no first period to start from"));
    }
  return g;
}

}  // namespace quantatom::formula

// A dimension: members with codes, names and attributes, in weighted hierarchies.
//
// Members are addressed by MemberId, their index in the dimension (stable for the life of the
// Dimension). Parent-child edges carry a weight (default 1; -1 and fractions allowed); a member
// may have several parents (alternate hierarchies). A leaf is a member without children: leaves
// hold data, every other member is consolidated from them.
//
// Consolidation weight (docs/semantics.md): the weight of leaf L toward ancestor X is the sum,
// over every path from L up to X, of the product of the edge weights on the path (1 for L = X).
//
// Leaves are also numbered densely (leaf ordinals 0..leaf_count()-1) in depth-first order of the
// primary hierarchy (each member's first parent), children in member order, so the leaves under
// a member are mostly one contiguous ordinal range. The cell store keys cells by leaf ordinals.
//
// A Dimension is immutable once built and safe to read from many threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"

namespace quantatom {

using MemberId = uint32_t;
inline constexpr MemberId kNoMember = UINT32_MAX;

enum class DimensionType { kGeneric, kAccount, kTime, kScenario, kVersion, kEntity, kCurrency, kMeasure };
std::string_view DimensionTypeName(DimensionType type);
absl::StatusOr<DimensionType> ParseDimensionType(std::string_view name);

struct Member {
  std::string code;  // unique within the dimension; what users and files refer to
  std::string name;  // display name
  std::vector<std::pair<std::string, std::string>> attributes;  // in definition order
  std::string_view Attribute(std::string_view key) const;  // "" when absent
};

struct Edge {
  MemberId child;
  MemberId parent;
  double weight;
};

// A member reached from a leaf going up, with the summed path weight.
struct AncestorWeight {
  MemberId member;
  double weight;
};

class Dimension {
 public:
  const std::string& name() const { return name_; }
  DimensionType type() const { return type_; }

  uint32_t member_count() const { return static_cast<uint32_t>(members_.size()); }
  const Member& member(MemberId id) const { return members_[id]; }
  std::optional<MemberId> Find(std::string_view code) const;

  bool is_leaf(MemberId id) const { return leaf_ordinal_[id] != kNoMember; }
  // 0 for leaves; otherwise 1 + the largest level among the children.
  int level(MemberId id) const { return levels_[id]; }
  int max_level() const { return max_level_; }

  // Edges in definition order. Per member: its child edges in member order of the children
  // (whatever order the edges were defined in), and its parent edges in definition order (the
  // first one is the primary parent).
  const std::vector<Edge>& edges() const { return edges_; }
  std::span<const Edge> child_edges(MemberId id) const;
  std::span<const Edge> parent_edges(MemberId id) const;
  // Members without parents, in definition order.
  const std::vector<MemberId>& roots() const { return roots_; }

  uint32_t leaf_count() const { return static_cast<uint32_t>(leaves_.size()); }
  MemberId leaf_member(uint32_t ordinal) const { return leaves_[ordinal]; }
  // Leaf ordinal of a member, or kNoMember if it is consolidated.
  uint32_t leaf_ordinal(MemberId id) const { return leaf_ordinal_[id]; }

  // Every ancestor-or-self of `id` with the summed path weight, `id` itself first.
  std::span<const AncestorWeight> ancestors(MemberId id) const;
  // Leaf ordinals under `id` (itself if a leaf) with their weights toward `id`, sorted by
  // ordinal. A leaf that reaches `id` along paths whose weights cancel is listed with weight 0:
  // it is still below `id` (its value makes the cell non-empty).
  std::vector<std::pair<uint32_t, double>> LeavesUnder(MemberId id) const;
  // Members below `id` (not itself), each once, in depth-first order.
  std::vector<MemberId> Descendants(MemberId id) const;
  // True if `ancestor` is `id` or above it.
  bool IsAncestorOrSelf(MemberId ancestor, MemberId id) const;

 private:
  friend class DimensionBuilder;
  std::string name_;
  DimensionType type_ = DimensionType::kGeneric;
  std::vector<Member> members_;
  absl::flat_hash_map<std::string, MemberId> by_code_;
  std::vector<Edge> edges_;
  std::vector<Edge> child_edges_;   // grouped by parent, by child id within a group
  std::vector<uint32_t> child_begin_;  // member_count + 1 offsets into child_edges_
  std::vector<Edge> parent_edges_;  // grouped by child
  std::vector<uint32_t> parent_begin_;
  std::vector<MemberId> roots_;
  std::vector<int> levels_;
  int max_level_ = 0;
  std::vector<MemberId> leaves_;
  std::vector<uint32_t> leaf_ordinal_;
  std::vector<AncestorWeight> ancestors_;  // grouped by member
  std::vector<uint32_t> ancestor_begin_;
};

// Builds a Dimension. Errors name the member codes involved; the caller adds file and line.
class DimensionBuilder {
 public:
  DimensionBuilder(std::string name, DimensionType type);

  // AlreadyExists if the code is taken; InvalidArgument if it is empty.
  absl::Status AddMember(std::string code, std::string name = "",
                         std::vector<std::pair<std::string, std::string>> attributes = {});
  // NotFound for an unknown code; InvalidArgument for a self-loop, a non-finite weight or the
  // same edge twice.
  absl::Status AddEdge(std::string_view child, std::string_view parent, double weight = 1.0);
  bool HasMember(std::string_view code) const { return dim_.Find(code).has_value(); }

  // Checks for cycles (the error prints one: "A -> B -> A"), derives levels, leaf ordinals and
  // ancestor weights. InvalidArgument if the dimension has no member.
  absl::StatusOr<Dimension> Build() &&;

 private:
  Dimension dim_;
  absl::flat_hash_map<std::pair<MemberId, MemberId>, bool> edge_seen_;
};

}  // namespace quantatom

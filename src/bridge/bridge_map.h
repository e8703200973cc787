// Resolving bridge rules against the source and target dimensions: which target leaves, with
// which weights, each source leaf maps to, and whether the bridge covers every leaf once.
//
// Inheritance (docs/bridges.md). A rule on a source member applies to every source leaf below
// it unless a nearer member has rules: for a leaf L, the *governing member* is the member with
// rules at the smallest distance above L (the number of edges on the shortest upward path; L
// itself is at distance 0). All rules of the governing member apply to L together (a split);
// rules further up are ignored for L. Two or more distinct members with rules at that same
// smallest distance make L *ambiguous*: it maps to nothing and blocks the bridge, because the
// model builder must say which one wins (a rule on L or on a nearer member).
//
// Coverage. Each source leaf's total weight (the sum of its governing member's rule weights)
// must be 1 within 1e-9. The CoverageReport lists unmapped, over- and under-mapped and
// ambiguous leaves, rules naming unknown or non-leaf members (with the rules file line), and
// rules that govern no leaf (fully overridden: a warning, they do not block the bridge).
//
// The result is a BridgeMap: for every source leaf ordinal, its (target leaf ordinal, weight)
// list, in flat arrays (CSR). It is immutable and safe to read from many threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bridge/bridge_rules.h"
#include "model/dimension.h"

namespace quantatom {

struct LeafMapping {
  uint32_t target;  // target leaf ordinal
  double weight;
};

// Per source leaf ordinal, the target leaves it maps to, sorted by target ordinal.
class BridgeMap {
 public:
  uint32_t source_leaf_count() const { return static_cast<uint32_t>(begin_.size()) - 1; }
  uint32_t target_leaf_count() const { return target_leaf_count_; }
  std::span<const LeafMapping> Targets(uint32_t source_leaf) const {
    return {entries_.data() + begin_[source_leaf], entries_.data() + begin_[source_leaf + 1]};
  }
  size_t entry_count() const { return entries_.size(); }
  // The largest number of targets of one source leaf.
  uint32_t max_fanout() const { return max_fanout_; }

 private:
  friend class BridgeMapBuilder;
  std::vector<uint32_t> begin_{0};  // source_leaf_count + 1 offsets into entries_
  std::vector<LeafMapping> entries_;
  uint32_t target_leaf_count_ = 0;
  uint32_t max_fanout_ = 0;
};

struct CoverageReport {
  struct LeafTotal {
    std::string leaf;  // source leaf code
    double total;      // its summed weight
  };
  struct Ambiguity {
    std::string leaf;                  // source leaf code
    std::vector<std::string> members;  // the members with rules at the same nearest distance
    int distance;
  };
  struct UnusedRule {
    int line;
    std::string source, target;
  };

  uint32_t source_leaves = 0;
  uint32_t mapped_leaves = 0;               // total weight 1
  std::vector<std::string> unmapped;        // no rule on the leaf or above it
  std::vector<LeafTotal> over_mapped;       // total > 1 + 1e-9
  std::vector<LeafTotal> under_mapped;      // total < 1 - 1e-9 (0 included: splits that cancel)
  std::vector<Ambiguity> ambiguous;
  std::vector<std::string> rule_errors;     // "file:line:field: message", unknown or non-leaf codes
  std::vector<UnusedRule> unused_rules;     // fully overridden; a warning only

  // True when every source leaf totals 1 and no rule is in error (unused rules allowed).
  bool ok() const {
    return unmapped.empty() && over_mapped.empty() && under_mapped.empty() && ambiguous.empty() && rule_errors.empty();
  }
  // OK, or FailedPrecondition naming the first `max_listed` problems of each kind.
  absl::Status ToStatus(size_t max_listed = 5) const;
  // A human-readable report: counts, then up to `max_listed` entries per list.
  std::string ToText(size_t max_listed = 20) const;
};

struct ResolvedBridge {
  BridgeMap map;
  CoverageReport report;
};

// Resolves `rules` from members of `source` to leaves of `target`. Never fails: every problem
// goes into the report (rules in error are left out of the map; ambiguous and unmapped leaves
// map to nothing). Cost: O(rules + leaves x ancestors).
ResolvedBridge ResolveBridge(const Dimension& source, const Dimension& target, const BridgeRules& rules);

// Tolerance on a leaf's total weight.
inline constexpr double kBridgeWeightTolerance = 1e-9;

}  // namespace quantatom

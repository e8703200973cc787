// Member-set expressions: how a grid axis or a command line names the members of one
// dimension. A set is a comma-separated list of items, kept in order, duplicates dropped:
//
//   Revenue                one member, by code
//   children(NetIncome)    its children, in definition order
//   leaves(NetIncome)      the leaves below it (itself if it is a leaf), in leaf order
//   descendants(Costs)     every member below it, depth first
//   self_and_children(Q1)  the member, then its children (a typical expandable row)
//   level(2)               every member of level 2 (0 = leaves)
//   roots                  the members without parents
//   all                    every member, in definition order
//
// Codes containing ',', '(' or ')' can be quoted: "Sales, EMEA".
#pragma once

#include <string_view>
#include <vector>

#include "model/dimension.h"

namespace quantatom {

// InvalidArgument naming the item and position for a syntax error; NotFound for an unknown
// member. An empty result is an error too (an axis must show something).
absl::StatusOr<std::vector<MemberId>> ParseMemberSet(const Dimension& dim, std::string_view expr);

}  // namespace quantatom

#include "model/dimension.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// NetIncome = Revenue - Costs; Costs = Salaries + Rent; an alternate rollup "Fixed" holds Rent
// at half weight.
Dimension Accounts() {
  DimensionBuilder b("Account", DimensionType::kAccount);
  for (const char* c : {"NetIncome", "Revenue", "Costs", "Salaries", "Rent", "Fixed"}) EXPECT_TRUE(b.AddMember(c).ok());
  EXPECT_TRUE(b.AddEdge("Revenue", "NetIncome").ok());
  EXPECT_TRUE(b.AddEdge("Costs", "NetIncome", -1).ok());
  EXPECT_TRUE(b.AddEdge("Salaries", "Costs").ok());
  EXPECT_TRUE(b.AddEdge("Rent", "Costs").ok());
  EXPECT_TRUE(b.AddEdge("Rent", "Fixed", 0.5).ok());
  auto d = std::move(b).Build();
  EXPECT_TRUE(d.ok()) << d.status();
  return std::move(d).value();
}

TEST(DimensionTest, LevelsAreDerivedFromTheLeavesUp) {
  Dimension d = Accounts();
  EXPECT_EQ(d.level(*d.Find("Salaries")), 0);
  EXPECT_EQ(d.level(*d.Find("Costs")), 1);
  EXPECT_EQ(d.level(*d.Find("NetIncome")), 2);
  EXPECT_EQ(d.level(*d.Find("Fixed")), 1);
  EXPECT_EQ(d.max_level(), 2);
}

TEST(DimensionTest, AncestorWeightsMultiplyAlongPaths) {
  Dimension d = Accounts();
  MemberId rent = *d.Find("Rent");
  std::vector<std::pair<std::string, double>> got;
  for (const AncestorWeight& a : d.ancestors(rent)) got.emplace_back(d.member(a.member).code, a.weight);
  EXPECT_THAT(got, ::testing::UnorderedElementsAre(Pair("Rent", 1.0), Pair("Costs", 1.0), Pair("NetIncome", -1.0),
                                                   Pair("Fixed", 0.5)));
}

TEST(DimensionTest, LeafOrdinalsFollowThePrimaryHierarchyDepthFirst) {
  Dimension d = Accounts();
  ASSERT_EQ(d.leaf_count(), 3u);
  EXPECT_EQ(d.member(d.leaf_member(0)).code, "Revenue");
  EXPECT_EQ(d.member(d.leaf_member(1)).code, "Salaries");
  EXPECT_EQ(d.member(d.leaf_member(2)).code, "Rent");
  EXPECT_EQ(d.leaf_ordinal(*d.Find("Costs")), kNoMember);
}

TEST(DimensionTest, ChildrenAndLeafOrdinalsFollowMemberOrderNotEdgeOrder) {
  // Members T, b, X, a, c; edges defined c, a, X under T, then b under X and b under T (so b's
  // primary parent is X). Children of T in member order: b, X, a, c. Depth first, b is entered
  // from X only: leaves b, a, c.
  DimensionBuilder b("D", DimensionType::kGeneric);
  for (const char* c : {"T", "b", "X", "a", "c"}) ASSERT_TRUE(b.AddMember(c).ok());
  ASSERT_TRUE(b.AddEdge("c", "T").ok());
  ASSERT_TRUE(b.AddEdge("a", "T").ok());
  ASSERT_TRUE(b.AddEdge("X", "T").ok());
  ASSERT_TRUE(b.AddEdge("b", "X").ok());
  ASSERT_TRUE(b.AddEdge("b", "T", 2).ok());
  Dimension d = *std::move(b).Build();
  std::vector<std::string> children;
  for (const Edge& e : d.child_edges(*d.Find("T"))) children.push_back(d.member(e.child).code);
  EXPECT_THAT(children, ElementsAre("b", "X", "a", "c"));
  std::vector<std::string> leaves;
  for (uint32_t i = 0; i < d.leaf_count(); ++i) leaves.push_back(d.member(d.leaf_member(i)).code);
  EXPECT_THAT(leaves, ElementsAre("b", "a", "c"));
  // Parent edges keep definition order: the first is the primary parent.
  auto parents = d.parent_edges(*d.Find("b"));
  ASSERT_EQ(parents.size(), 2u);
  EXPECT_EQ(d.member(parents[0].parent).code, "X");
  EXPECT_EQ(d.member(parents[1].parent).code, "T");
}

TEST(DimensionTest, LeavesUnderCarryTheirWeights) {
  Dimension d = Accounts();
  EXPECT_THAT(d.LeavesUnder(*d.Find("NetIncome")), ElementsAre(Pair(0u, 1.0), Pair(1u, -1.0), Pair(2u, -1.0)));
  EXPECT_THAT(d.LeavesUnder(*d.Find("Fixed")), ElementsAre(Pair(2u, 0.5)));
  EXPECT_THAT(d.LeavesUnder(*d.Find("Rent")), ElementsAre(Pair(2u, 1.0)));
}

TEST(DimensionTest, TwoPathsToTheSameAncestorAreSummed) {
  // Diamond: L -> A -> T and L -> B -> T with weights 2 and 3, then 1 and -1.
  DimensionBuilder b("D", DimensionType::kGeneric);
  for (const char* c : {"T", "A", "B", "L"}) ASSERT_TRUE(b.AddMember(c).ok());
  ASSERT_TRUE(b.AddEdge("A", "T", 1).ok());
  ASSERT_TRUE(b.AddEdge("B", "T", -1).ok());
  ASSERT_TRUE(b.AddEdge("L", "A", 2).ok());
  ASSERT_TRUE(b.AddEdge("L", "B", 3).ok());
  Dimension d = *std::move(b).Build();
  EXPECT_THAT(d.LeavesUnder(*d.Find("T")), ElementsAre(Pair(0u, 2.0 - 3.0)));
}

TEST(DimensionTest, CycleIsRejectedAndPrinted) {
  DimensionBuilder b("Org", DimensionType::kEntity);
  for (const char* c : {"A", "B", "C"}) ASSERT_TRUE(b.AddMember(c).ok());
  ASSERT_TRUE(b.AddEdge("B", "A").ok());
  ASSERT_TRUE(b.AddEdge("C", "B").ok());
  ASSERT_TRUE(b.AddEdge("A", "C").ok());
  auto d = std::move(b).Build();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), ::testing::HasSubstr("cycle in the hierarchy of dimension 'Org'"));
  EXPECT_THAT(std::string(d.status().message()), ::testing::HasSubstr("A -> C -> B -> A"));
}

TEST(DimensionTest, DuplicateCodeUnknownMemberAndSelfLoopAreRejected) {
  DimensionBuilder b("D", DimensionType::kGeneric);
  ASSERT_TRUE(b.AddMember("X").ok());
  EXPECT_EQ(b.AddMember("X").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(b.AddEdge("X", "Nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b.AddEdge("X", "X").code(), absl::StatusCode::kInvalidArgument);
}

TEST(DimensionTest, EmptyDimensionIsRejected) {
  EXPECT_FALSE(DimensionBuilder("Empty", DimensionType::kGeneric).Build().ok());
}

TEST(DimensionTest, DeepChainBuildsWithLevelsAndWeights) {
  DimensionBuilder b("Deep", DimensionType::kGeneric);
  constexpr int kDepth = 2000;
  for (int i = 0; i < kDepth; ++i) ASSERT_TRUE(b.AddMember("m" + std::to_string(i)).ok());
  for (int i = 1; i < kDepth; ++i) ASSERT_TRUE(b.AddEdge("m" + std::to_string(i), "m" + std::to_string(i - 1)).ok());
  auto d = std::move(b).Build();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->level(0), kDepth - 1);
  EXPECT_EQ(d->leaf_count(), 1u);
  EXPECT_EQ(d->ancestors(kDepth - 1).size(), static_cast<size_t>(kDepth));
}

TEST(DimensionTypeTest, UnknownTypeListsTheValidOnes) {
  auto t = ParseDimensionType("calendar");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), ::testing::HasSubstr("time"));
}

}  // namespace
}  // namespace quantatom

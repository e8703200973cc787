#include "query/member_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

Dimension Months() {
  DimensionBuilder b("Month", DimensionType::kTime);
  for (const char* c : {"FY", "Q1", "Q2", "Jan", "Feb", "Mar", "Apr", "May, late"}) EXPECT_TRUE(b.AddMember(c).ok());
  EXPECT_TRUE(b.AddEdge("Q1", "FY").ok());
  EXPECT_TRUE(b.AddEdge("Q2", "FY").ok());
  for (const char* m : {"Jan", "Feb", "Mar"}) EXPECT_TRUE(b.AddEdge(m, "Q1").ok());
  for (const char* m : {"Apr", "May, late"}) EXPECT_TRUE(b.AddEdge(m, "Q2").ok());
  return *std::move(b).Build();
}

std::vector<std::string> Codes(const Dimension& d, const std::vector<MemberId>& ids) {
  std::vector<std::string> out;
  for (MemberId m : ids) out.push_back(d.member(m).code);
  return out;
}

TEST(MemberSetTest, FunctionsAndListsKeepOrderWithoutDuplicates) {
  Dimension d = Months();
  EXPECT_THAT(Codes(d, *ParseMemberSet(d, "children(FY)")), ::testing::ElementsAre("Q1", "Q2"));
  EXPECT_THAT(Codes(d, *ParseMemberSet(d, "leaves(Q2), Q2")), ::testing::ElementsAre("Apr", "May, late", "Q2"));
  EXPECT_THAT(Codes(d, *ParseMemberSet(d, "self_and_children(Q1), Jan")), ::testing::ElementsAre("Q1", "Jan", "Feb", "Mar"));
  EXPECT_THAT(Codes(d, *ParseMemberSet(d, "level(1)")), ::testing::ElementsAre("Q1", "Q2"));
  EXPECT_THAT(Codes(d, *ParseMemberSet(d, "descendants(Q2)")), ::testing::ElementsAre("Apr", "May, late"));
  EXPECT_THAT(Codes(d, *ParseMemberSet(d, "\"May, late\", roots")), ::testing::ElementsAre("May, late", "FY"));
  EXPECT_EQ(ParseMemberSet(d, "all")->size(), 8u);
}

TEST(MemberSetTest, ErrorsNameTheItem) {
  Dimension d = Months();
  auto unknown = ParseMemberSet(d, "Q1, children(Q9)");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), ::testing::HasSubstr("unknown member 'Q9' in dimension 'Month'"));
  EXPECT_THAT(std::string(ParseMemberSet(d, "kids(Q1)").status().message()), ::testing::HasSubstr("unknown function 'kids'"));
  EXPECT_THAT(std::string(ParseMemberSet(d, "children(Q1").status().message()), ::testing::HasSubstr("missing ')'"));
  EXPECT_THAT(std::string(ParseMemberSet(d, "level(x)").status().message()), ::testing::HasSubstr("takes a number"));
  EXPECT_THAT(std::string(ParseMemberSet(d, "children(Jan)").status().message()), ::testing::HasSubstr("selects no member"));
  EXPECT_THAT(std::string(ParseMemberSet(d, "Q1,,Q2").status().message()), ::testing::HasSubstr("empty item"));
}

}  // namespace
}  // namespace quantatom

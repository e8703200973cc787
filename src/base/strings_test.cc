#include "base/strings.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

TEST(StrCatTest, MixesStringKindsAndNumbers) {
  std::string_view sv = "view";
  EXPECT_EQ(StrCat("a", std::string("b"), sv, absl::string_view("c"), 12, ':', 1.5), "abviewc12:1.5");
}

TEST(SplitTrimmedTest, DropsEmptyPartsAndSpaces) {
  auto parts = SplitTrimmed(" a , ,b,c ", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "a");
  EXPECT_EQ(parts[2], "c");
}

TEST(StrJoinTest, JoinsWithSeparator) {
  EXPECT_EQ(StrJoin(std::vector<std::string>{"x", "y", "z"}, " -> "), "x -> y -> z");
}

}  // namespace
}  // namespace quantatom

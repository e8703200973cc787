#include "formula/parser.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace quantatom::formula {
namespace {

std::string Canon(std::string_view text) {
  auto tree = Parse(text);
  EXPECT_TRUE(tree.ok()) << text << ": " << tree.status();
  return tree.ok() ? Print(**tree) : "";
}

std::string ErrorOf(std::string_view text) {
  auto tree = Parse(text);
  EXPECT_FALSE(tree.ok()) << text;
  return tree.ok() ? "" : std::string(tree.status().message());
}

TEST(FormulaParser, MultiplicationBindsTighterThanAddition) {
  // The printer adds parentheses only where the tree needs them: hand-computed shapes.
  EXPECT_EQ(Canon("a+b*c"), "a + b * c");
  EXPECT_EQ(Canon("(a+b)*c"), "(a + b) * c");
  EXPECT_EQ(Canon("a-(b-c)"), "a - (b - c)");
  EXPECT_EQ(Canon("(a-b)-c"), "a - b - c");
  EXPECT_EQ(Canon("a/(b*c)"), "a / (b * c)");
  EXPECT_EQ(Canon("-a*b"), "-a * b");
  EXPECT_EQ(Canon("-(a+b)"), "-(a + b)");
  EXPECT_EQ(Canon("+a"), "a");
}

TEST(FormulaParser, LogicBindsLooserThanComparison) {
  EXPECT_EQ(Canon("a<1 or b>=2 and not c=3"), "a < 1 or b >= 2 and not c = 3");
  EXPECT_EQ(Canon("(a or b) and c"), "(a or b) and c");
  EXPECT_EQ(Canon("not (a and b)"), "not (a and b)");
  EXPECT_EQ(Canon("(a=b)=c"), "(a = b) = c");
  EXPECT_EQ(Canon("1 + (not a)"), "1 + (not a)");
  auto tree = Parse("a or b and c");
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ((*tree)->text, "or");
  EXPECT_EQ((*tree)->args[1]->text, "and");
}

TEST(FormulaParser, ReferencesCallsAndLiterals) {
  EXPECT_EQ(Canon("[Sales,Scenario=Actual]"), "[Sales, Scenario=Actual]");
  EXPECT_EQ(Canon("'Gross Margin' + 'it''s'"), "'Gross Margin' + 'it''s'");
  EXPECT_EQ(Canon("IF(x>0, 1.5e3, .25)"), "if(x > 0, 1500, 0.25)");
  EXPECT_EQ(Canon("attr(Region, \"tax \"\"rate\"\"\")"), "attr(Region, \"tax \"\"rate\"\"\")");
  EXPECT_EQ(Canon("'and' + x"), "'and' + x");
  EXPECT_EQ(Canon("f()"), "f()");
}

TEST(FormulaParser, ErrorsNameLineColumnAndWhatWasExpected) {
  EXPECT_EQ(ErrorOf("(a + "), "line 1, column 6: expected a number, a member, a function or '(' but found the end of the formula");
  EXPECT_EQ(ErrorOf("if(a, b c)"), "line 1, column 9: expected ',' or ')' but found 'c'");
  EXPECT_EQ(ErrorOf("a +\n  $b"), "line 2, column 3: unexpected character '$'");
  EXPECT_EQ(ErrorOf("a = b = c"), "line 1, column 7: comparisons do not chain: put parentheses around one side of '='");
  EXPECT_EQ(ErrorOf("[a, ]"), "line 1, column 5: expected a member code or Dimension=Code but found ']'");
  EXPECT_EQ(ErrorOf("a b"), "line 1, column 3: expected an operator or the end of the formula but found 'b'");
  EXPECT_EQ(ErrorOf("'open"), "line 1, column 1: unterminated quoted name");
  EXPECT_EQ(ErrorOf("1e999"), "line 1, column 1: malformed number '1e999'");
  EXPECT_EQ(ErrorOf(""), "line 1, column 1: expected a number, a member, a function or '(' but found the end of the formula");
}

TEST(FormulaParser, DeepNestingIsRefusedNotACrash) {
  std::string deep(10000, '(');
  EXPECT_NE(ErrorOf(deep).find("nested deeper than"), std::string::npos);
  std::string minus(10000, '-');
  EXPECT_NE(ErrorOf(minus + "1").find("nested deeper than"), std::string::npos);
}

TEST(FormulaParser, PrintedTextRoundTrips) {
  for (std::string_view text : {"if(Revenue > 0, (Revenue - COGS) / Revenue, 0)", "a - -b * (c - d) / -(e + 1)",
                                "sum(children(Region=World)) + ytd(Sales) - lag([Sales, Region=EMEA], 3)",
                                "not not a or (b and c) = 1", "1e-7 * 123456789012345680000"}) {
    auto tree = Parse(text);
    ASSERT_TRUE(tree.ok()) << tree.status();
    std::string printed = Print(**tree);
    auto again = Parse(printed);
    ASSERT_TRUE(again.ok()) << printed;
    EXPECT_TRUE((*again)->SameTree(**tree)) << printed;
    EXPECT_EQ(Print(**again), printed);
  }
}

TEST(FormulaParser, FuzzCorpusReplays) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(QA_FORMULA_FUZZ_CORPUS)) {
    if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    ++files;
    auto tree = Parse(ss.str());
    const bool should_fail = entry.path().filename().string().rfind("error_", 0) == 0;
    EXPECT_EQ(tree.ok(), !should_fail) << entry.path();
    if (!tree.ok()) {
      EXPECT_EQ(std::string(tree.status().message()).rfind("line ", 0), 0u) << tree.status();
      continue;
    }
    std::string printed = Print(**tree);
    auto again = Parse(printed);
    ASSERT_TRUE(again.ok()) << printed;
    EXPECT_TRUE((*again)->SameTree(**tree)) << entry.path();
  }
  EXPECT_GE(files, 10);
}

}  // namespace
}  // namespace quantatom::formula

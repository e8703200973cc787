#include <gtest/gtest.h>

#include "formula/bound.h"
#include "formula/parser.h"
#include "formula/testutil.h"

namespace quantatom::formula {
namespace {

class FormulaBinder : public ::testing::Test {
 protected:
  absl::StatusOr<BoundFormula> BindText(std::string_view text, std::string_view member = "GM",
                                        Scope scope = Scope::kLeaf) {
    auto tree = Parse(text);
    if (!tree.ok()) return tree.status();
    return Bind(model_, 0, *model_.dimensions[0].Find(member), scope, **tree);
  }
  MemberId Acc(std::string_view code) const { return *model_.dimensions[0].Find(code); }
  AppModel model_ = testing::PnlModel();
};

TEST_F(FormulaBinder, ResolvesSameDimensionOtherDimensionsAndTuples) {
  auto f = BindText("Sales - [COGS, Scenario=Actual] + [Region=EMEA]");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->inputs.size(), 3u);
  EXPECT_EQ(f->inputs[0].terms[0][0], Acc("Sales"));
  EXPECT_TRUE(f->inputs[0].driving);
  EXPECT_EQ(f->inputs[1].terms[0][3], *model_.dimensions[3].Find("Actual"));
  EXPECT_FALSE(f->inputs[1].driving);  // pins another dimension: a lookup, not a driver
  EXPECT_EQ(f->inputs[2].terms[0][0], kNoMember);  // own member, another region
  EXPECT_EQ(f->text, "Sales - [COGS, Scenario=Actual] + [Region=EMEA]");
}

TEST_F(FormulaBinder, SetsTimeAttributesAndRepeatedInputs) {
  auto f = BindText("sum(children(Revenue)) + count(leaves(Region=World)) + ytd(Sales) + lag(Sales, 2) + "
                    "attr(Region, \"tax_rate\") + Sales * Sales");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->inputs.size(), 6u);  // Sales read once for Sales * Sales
  EXPECT_EQ(f->inputs[0].terms.size(), 2u);
  EXPECT_EQ(f->inputs[1].aggregate, Input::Aggregate::kCount);
  EXPECT_FALSE(f->inputs[1].driving);
  EXPECT_EQ(f->inputs[2].time, TimeMode::kYearToDate);
  EXPECT_EQ(f->inputs[3].shift, -2);
  EXPECT_EQ(f->inputs[4].attr_values[*model_.dimensions[1].Find("EMEA")], 0.2);
  EXPECT_EQ(ErrorOf(f->inputs[4].attr_values[*model_.dimensions[1].Find("AMER")]), CellError::kRef);
}

TEST_F(FormulaBinder, ErrorsNamePositionAndName) {
  EXPECT_EQ(BindText("Sales + Nope").status().message(), "line 1, column 9: no member 'Nope' in dimension 'Account'");
  EXPECT_EQ(BindText("[Sales, Planet=Mars]").status().message(), "line 1, column 1: no dimension 'Planet' in app 'pnl'");
  EXPECT_EQ(BindText("Sales + frobnicate(1)").status().message(), "line 1, column 9: unknown function 'frobnicate'");
  EXPECT_EQ(BindText("if(Sales, 1)").status().message(), "line 1, column 1: if() takes 3 arguments, got 2");
  EXPECT_EQ(BindText("lag(Sales, 1.5)").status().message(), "line 1, column 12: expected a whole number");
  EXPECT_EQ(BindText("prev([Sales, Month=Jan])").status().message(),
            "line 1, column 1: prev() reads relative periods: its reference cannot name a member of 'Month'");
  EXPECT_EQ(BindText("lookup(\"fx\", [Rate=EUR]) + Sales").status().message(), "line 1, column 8: no app 'fx' to look up");
  EXPECT_NE(BindText("[Sales, Scenario=Actual] * 2").status().message().find("would never be populated"), std::string::npos);
  EXPECT_NE(BindText("Sales", "Revenue").status().message().find("is consolidated"), std::string::npos);
  EXPECT_TRUE(BindText("Sales / Revenue", "Revenue", Scope::kConsolidated).ok());
}

TEST_F(FormulaBinder, TimeAxisWindowsFollowQuartersAndYears) {
  TimeAxis axis = TimeAxis::Of(model_);
  ASSERT_EQ(axis.dim, 2);
  // Leaves in order: Jan Feb Mar Apr May Jun (ordinals 0..5).
  EXPECT_EQ(axis.Window(TimeMode::kYearToDate, 0, 4), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(axis.Window(TimeMode::kQuarterToDate, 0, 4), (std::pair<int64_t, int64_t>{3, 4}));
  EXPECT_EQ(axis.Window(TimeMode::kYearLast, 0, 1), (std::pair<int64_t, int64_t>{5, 5}));
  EXPECT_EQ(axis.Window(TimeMode::kShift, -1, 3), (std::pair<int64_t, int64_t>{2, 2}));
  auto before_start = axis.Window(TimeMode::kShift, -1, 0);
  EXPECT_GT(before_start.first, before_start.second);
}

}  // namespace
}  // namespace quantatom::formula

#include "formula/graph.h"

#include <gtest/gtest.h>

#include "formula/parser.h"
#include "formula/testutil.h"

namespace quantatom::formula {
namespace {

class FormulaGraphTest : public ::testing::Test {
 protected:
  absl::StatusOr<FormulaGraph> Build(std::vector<std::pair<std::string, std::string>> defs) {
    bound_.clear();
    for (auto& [member, text] : defs) {
      auto tree = Parse(text);
      EXPECT_TRUE(tree.ok()) << tree.status();
      auto f = Bind(model_, 0, *model_.dimensions[0].Find(member), Scope::kLeaf, **tree);
      EXPECT_TRUE(f.ok()) << f.status();
      bound_.push_back(*std::move(f));
    }
    std::vector<const BoundFormula*> ptrs;
    for (auto& f : bound_) ptrs.push_back(&f);
    return FormulaGraph::Build(model_.dimensions[0], ptrs);
  }
  AppModel model_ = testing::PnlModel();
  std::vector<BoundFormula> bound_;
};

TEST_F(FormulaGraphTest, ChainIsOrderedByDependencies) {
  auto g = Build({{"Amount", "GM * 2"}, {"GM", "Sales - COGS"}, {"Flow", "Amount + 1"}});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_LT(g->rank[1], g->rank[0]);
  EXPECT_LT(g->rank[0], g->rank[2]);
  EXPECT_EQ(g->readers[1], std::vector<int>{0});
}

TEST_F(FormulaGraphTest, CycleIsRefusedAndPrinted) {
  auto g = Build({{"GM", "Amount + Sales"}, {"Amount", "Flow * 2"}, {"Flow", "GM - 1"}});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("formula cycle: "), std::string::npos) << g.status();
  for (const char* code : {"GM", "Amount", "Flow"})
    EXPECT_NE(g.status().message().find(code), std::string::npos) << g.status();
  auto self = Build({{"GM", "GM + Sales"}});
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.status().message().find("GM -> GM"), std::string::npos) << self.status();
}

TEST_F(FormulaGraphTest, CycleThroughATotalIsACycle) {
  // GM reads Revenue, whose leaf Sales is computed from GM.
  model_ = testing::PnlModel();
  auto g = Build({{"GM", "Revenue - COGS"}, {"Sales", "GM * 2"}});
  EXPECT_FALSE(g.ok());
}

TEST_F(FormulaGraphTest, RecurrenceAlongTimeIsAllowed) {
  auto g = Build({{"Opening", "prev(Closing)"}, {"Closing", "Opening + Flow"}});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->component[0], g->component[1]);  // one recurrent component
  EXPECT_LT(g->rank[0], g->rank[1]);           // same period: Opening first
  auto self = Build({{"Closing", "prev(Closing) + Flow"}});
  EXPECT_TRUE(self.ok()) << self.status();
}

TEST_F(FormulaGraphTest, RecurrenceReadingForwardIsRefused) {
  auto g = Build({{"Opening", "prev(Closing)"}, {"Closing", "next(Opening) + Flow"}});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("no first period"), std::string::npos) << g.status();
}

}  // namespace
}  // namespace quantatom::formula

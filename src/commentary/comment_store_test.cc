#include "commentary/comment_store.h"

#include <cmath>
#include <limits>
#include <thread>

#include <gtest/gtest.h>

#include "base/strings.h"

namespace quantatom {
namespace {

// Account: NetIncome = Revenue - Costs; Revenue = Sales + Services; Costs = Salaries + Rent;
//          an alternate root Gross = 2 x Sales.
// Region:  World = EMEA + Americas; EMEA = France + Germany.
AppModel MakeModel() {
  AppModel model;
  model.name = "acme";
  DimensionBuilder account("Account", DimensionType::kAccount);
  for (const char* code : {"NetIncome", "Revenue", "Costs", "Sales", "Services", "Salaries", "Rent", "Gross"})
    EXPECT_TRUE(account.AddMember(code).ok());
  EXPECT_TRUE(account.AddEdge("Revenue", "NetIncome", 1).ok());
  EXPECT_TRUE(account.AddEdge("Costs", "NetIncome", -1).ok());
  EXPECT_TRUE(account.AddEdge("Sales", "Revenue").ok());
  EXPECT_TRUE(account.AddEdge("Services", "Revenue").ok());
  EXPECT_TRUE(account.AddEdge("Salaries", "Costs").ok());
  EXPECT_TRUE(account.AddEdge("Rent", "Costs").ok());
  EXPECT_TRUE(account.AddEdge("Sales", "Gross", 2).ok());
  DimensionBuilder region("Region", DimensionType::kEntity);
  for (const char* code : {"World", "EMEA", "Americas", "France", "Germany"}) EXPECT_TRUE(region.AddMember(code).ok());
  EXPECT_TRUE(region.AddEdge("EMEA", "World").ok());
  EXPECT_TRUE(region.AddEdge("Americas", "World").ok());
  EXPECT_TRUE(region.AddEdge("France", "EMEA").ok());
  EXPECT_TRUE(region.AddEdge("Germany", "EMEA").ok());
  model.dimensions.push_back(*std::move(account).Build());
  model.dimensions.push_back(*std::move(region).Build());
  return model;
}

class CommentStoreTest : public ::testing::Test {
 protected:
  Coordinate At(std::string_view text) { return *model_.ParseCoordinate(text); }
  NewComment Note(std::string text, int64_t time_ms = 1000, std::optional<double> adjustment = std::nullopt) {
    return NewComment{"ana", time_ms, std::move(text), adjustment};
  }
  CommentId PostOk(std::string_view at, std::string text, int64_t time_ms = 1000,
                   std::optional<double> adjustment = std::nullopt) {
    auto id = store_.Post(At(at), Note(std::move(text), time_ms, adjustment));
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : kNoComment;
  }
  CellMarker MarkerAt(std::string_view at) {
    Coordinate c = At(at);
    return (*store_.Markers({&c, 1}))[0];
  }
  double AdjustmentAt(std::string_view at) { return MarkerAt(at).adjustment; }

  AppModel model_ = MakeModel();
  CommentStore store_{model_};
};

TEST_F(CommentStoreTest, LeafAdjustmentShowsInEveryAncestorWithPathWeights) {
  PostOk("Account=Sales,Region=France", "one-off fee", 1000, 100.0);
  PostOk("Account=Rent,Region=Germany", "lease renewal", 1000, 10.0);
  EXPECT_EQ(AdjustmentAt("Account=Sales,Region=France"), 100);
  EXPECT_EQ(AdjustmentAt("Account=Revenue,Region=EMEA"), 100);
  EXPECT_EQ(AdjustmentAt("Account=Revenue,Region=World"), 100);
  EXPECT_EQ(AdjustmentAt("Account=Gross,Region=France"), 200);  // alternate parent, weight 2
  EXPECT_EQ(AdjustmentAt("Account=Costs,Region=World"), 10);
  EXPECT_EQ(AdjustmentAt("Account=NetIncome,Region=World"), 100 - 10);  // Costs enter with -1
  EXPECT_EQ(AdjustmentAt("Account=NetIncome,Region=Germany"), -10);
}

TEST_F(CommentStoreTest, AdjustmentDoesNotShowBesideOrBelowItsCell) {
  PostOk("Account=Sales,Region=France", "fee", 1000, 100.0);
  for (const char* other : {"Account=Services,Region=France", "Account=Sales,Region=Germany",
                            "Account=Costs,Region=World", "Account=Revenue,Region=Americas"}) {
    CellMarker m = MarkerAt(other);
    EXPECT_FALSE(m.adjusted) << other;
    EXPECT_EQ(m.adjustment, 0) << other;
  }
}

TEST_F(CommentStoreTest, TopSideAdjustmentShowsInTotalAndAncestorsNeverInDescendants) {
  PostOk("Account=Revenue,Region=EMEA", "top-side: accrual", 1000, 50.0);
  EXPECT_EQ(AdjustmentAt("Account=Revenue,Region=EMEA"), 50);
  EXPECT_EQ(AdjustmentAt("Account=Revenue,Region=World"), 50);
  EXPECT_EQ(AdjustmentAt("Account=NetIncome,Region=EMEA"), 50);
  EXPECT_EQ(AdjustmentAt("Account=NetIncome,Region=World"), 50);
  for (const char* below : {"Account=Sales,Region=EMEA", "Account=Revenue,Region=France",
                            "Account=Sales,Region=France", "Account=Gross,Region=EMEA"})
    EXPECT_FALSE(MarkerAt(below).adjusted) << below;
}

TEST_F(CommentStoreTest, AdjustedValueOfEmptyIsTheAdjustmentAndEmptyWithoutOneStaysEmpty) {
  PostOk("Account=Sales,Region=France", "fee", 1000, 7.5);
  EXPECT_EQ(*store_.Adjusted(At("Account=Revenue,Region=World"), CellValue::Empty()), CellValue::Number(7.5));
  EXPECT_EQ(*store_.Adjusted(At("Account=Revenue,Region=World"), CellValue::Number(2)), CellValue::Number(9.5));
  EXPECT_EQ(*store_.Adjusted(At("Account=Rent,Region=World"), CellValue::Empty()), CellValue::Empty());
  EXPECT_EQ(*store_.Adjusted(At("Account=Sales,Region=France"), CellValue::Text("n/a")), CellValue::Text("n/a"));
}

TEST_F(CommentStoreTest, AdjustmentsThatCancelStillMakeAnEmptyCellZero) {
  PostOk("Account=Sales,Region=France", "plus", 1000, 5.0);
  PostOk("Account=Sales,Region=Germany", "minus", 1000, -5.0);
  CellMarker m = MarkerAt("Account=Sales,Region=EMEA");
  EXPECT_TRUE(m.adjusted);
  EXPECT_EQ(m.adjustment, 0);
  EXPECT_EQ(ApplyAdjustment(CellValue::Empty(), m), CellValue::Number(0));
}

TEST_F(CommentStoreTest, RetractionIsARecordedReplyAndEndsTheAdjustment) {
  CommentId adj = PostOk("Account=Sales,Region=France", "fee", 1000, 100.0);
  auto retraction = store_.Retract(adj, Note("booked in the ledger now", 2000));
  ASSERT_TRUE(retraction.ok()) << retraction.status();
  EXPECT_FALSE(MarkerAt("Account=Revenue,Region=World").adjusted);
  EXPECT_EQ(store_.active_adjustments(), 0u);
  Comment original = *store_.Get(adj);
  EXPECT_EQ(original.adjustment, 100.0);  // history kept
  EXPECT_EQ(original.retracted_by, *retraction);
  Comment r = *store_.Get(*retraction);
  EXPECT_EQ(r.kind, CommentKind::kRetraction);
  EXPECT_EQ(r.parent, adj);
  EXPECT_EQ(r.coordinate, At("Account=Sales,Region=France"));
  EXPECT_EQ(store_.size(), 2u);

  auto again = store_.Retract(adj, Note("twice", 3000));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(again.status().message()).find("already retracted by comment 2"), std::string::npos);
}

TEST_F(CommentStoreTest, RetractingAPlainCommentOrWithAValueIsRefused) {
  CommentId note = PostOk("Account=Sales,Region=France", "just a note");
  EXPECT_EQ(store_.Retract(note, Note("why")).status().code(), absl::StatusCode::kFailedPrecondition);
  CommentId adj = PostOk("Account=Sales,Region=France", "fee", 1000, 1.0);
  EXPECT_EQ(store_.Retract(adj, Note("why", 1000, 2.0)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.Retract(99, Note("why")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.size(), 2u);
}

TEST_F(CommentStoreTest, ThreadsAtACoordinateComeInReadingOrder) {
  CommentId a = PostOk("Account=Revenue,Region=EMEA", "why is EMEA up?", 1000);
  CommentId b = *store_.Reply(a, Note("a large deal in France", 2000));
  CommentId c = *store_.Reply(b, Note("which one?", 3000));
  CommentId d = *store_.Reply(a, Note("also price increases", 4000));
  CommentId e = PostOk("Account=Revenue,Region=EMEA", "second thread", 5000);
  PostOk("Account=Revenue,Region=World", "elsewhere", 6000);

  auto threads = *store_.ThreadsAt(At("Account=Revenue,Region=EMEA"));
  ASSERT_EQ(threads.size(), 2u);
  std::vector<std::pair<CommentId, int>> first;
  for (const ThreadEntry& entry : threads[0]) first.push_back({entry.comment.id, entry.depth});
  EXPECT_EQ(first, (std::vector<std::pair<CommentId, int>>{{a, 0}, {b, 1}, {c, 2}, {d, 1}}));
  ASSERT_EQ(threads[1].size(), 1u);
  EXPECT_EQ(threads[1][0].comment.id, e);
  EXPECT_EQ(threads[0][1].comment.text, "a large deal in France");
  EXPECT_EQ(threads[0][1].comment.coordinate, At("Account=Revenue,Region=EMEA"));
  EXPECT_TRUE(store_.ThreadsAt(At("Account=Sales,Region=EMEA"))->empty());
}

TEST_F(CommentStoreTest, ReplyMayCarryItsOwnAdjustment) {
  CommentId a = PostOk("Account=Sales,Region=France", "needs a fix", 1000);
  ASSERT_TRUE(store_.Reply(a, Note("fixed", 2000, -3.0)).ok());
  EXPECT_EQ(AdjustmentAt("Account=NetIncome,Region=World"), -3);
}

TEST_F(CommentStoreTest, ListUnderRegionIsNewestFirstWithStablePaging) {
  CommentId sales_fr = PostOk("Account=Sales,Region=France", "s-fr", 3000);
  CommentId rev_emea = PostOk("Account=Revenue,Region=EMEA", "rev-emea", 5000);
  PostOk("Account=Revenue,Region=World", "rev-world (above the region)", 9000);
  PostOk("Account=Rent,Region=France", "rent (beside the region)", 9000);
  CommentId services_de = PostOk("Account=Services,Region=Germany", "sv-de", 5000);  // same time, later id
  CommentId reply = *store_.Reply(sales_fr, Note("reply", 4000));

  Coordinate region = At("Account=Revenue,Region=EMEA");
  auto page1 = *store_.ListUnder(region, 2);
  ASSERT_EQ(page1.comments.size(), 2u);
  EXPECT_EQ(page1.comments[0].id, services_de);
  EXPECT_EQ(page1.comments[1].id, rev_emea);
  ASSERT_TRUE(page1.next.has_value());
  // A newer comment arriving between pages does not shift the next page.
  PostOk("Account=Sales,Region=Germany", "late", 99000);
  auto page2 = *store_.ListUnder(region, 2, page1.next);
  ASSERT_EQ(page2.comments.size(), 2u);
  EXPECT_EQ(page2.comments[0].id, reply);
  EXPECT_EQ(page2.comments[1].id, sales_fr);
  EXPECT_FALSE(page2.next.has_value());
  EXPECT_EQ(store_.ListUnder(region, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CommentStoreTest, MarkersForAGrid) {
  PostOk("Account=Sales,Region=France", "fee", 1000, 100.0);
  PostOk("Account=Revenue,Region=EMEA", "note only");
  PostOk("Account=Revenue,Region=EMEA", "top-side", 1000, 1.0);
  std::vector<Coordinate> grid;
  for (const char* account : {"Sales", "Revenue"})
    for (const char* region : {"France", "EMEA", "World", "France"})  // a repeated column
      grid.push_back(At(StrCat("Account=", account, ",Region=", region)));
  auto markers = *store_.Markers(grid);
  ASSERT_EQ(markers.size(), 8u);
  std::vector<bool> has_comment, adjusted;
  std::vector<double> sums;
  for (const CellMarker& m : markers) {
    has_comment.push_back(m.has_comment);
    adjusted.push_back(m.adjusted);
    sums.push_back(m.adjustment);
  }
  EXPECT_EQ(has_comment, (std::vector<bool>{true, false, false, true, false, true, false, false}));
  EXPECT_EQ(adjusted, (std::vector<bool>(8, true)));
  // Revenue,France holds the leaf adjustment below it but not the top-side one beside it.
  EXPECT_EQ(sums, (std::vector<double>{100, 100, 100, 100, 100, 101, 101, 100}));
  EXPECT_TRUE(store_.Markers({})->empty());
}

TEST_F(CommentStoreTest, BadInputIsRefusedAndNothingChanges) {
  Coordinate ok = At("Account=Sales,Region=France");
  struct Case {
    NewComment comment;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"ana", 1, "", {}}, "comment text is empty"},
      {{"ana", 1, " \n\t", {}}, "comment text is blank"},
      {{"ana", 1, "bad \xC3", {}}, "comment text is not valid UTF-8"},
      {{"ana", 1, std::string("a\0b", 3), {}}, "comment text contains a NUL character"},
      {{"ana", 1, std::string(kMaxCommentTextBytes + 1, 'x'), {}}, "comment text is 16385 bytes; the limit is 16384"},
      {{"", 1, "text", {}}, "comment author is empty"},
      {{"ana", -1, "text", {}}, "comment time -1 ms is outside"},
      {{"ana", 1, "text", std::numeric_limits<double>::quiet_NaN()}, "adjustment is not a finite number"},
      {{"ana", 1, "text", std::numeric_limits<double>::infinity()}, "adjustment is not a finite number"},
  };
  for (const Case& c : cases) {
    auto id = store_.Post(ok, c.comment);
    ASSERT_FALSE(id.ok()) << c.message;
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(id.status().message()).find(c.message), std::string::npos) << id.status();
  }
  EXPECT_EQ(store_.Post({0}, Note("x")).status().message(), "a coordinate needs 2 members, got 1");
  EXPECT_EQ(store_.Post({0, 77}, Note("x")).status().message(),
            "member id 77 is not in dimension 'Region' (it has 5 members)");
  EXPECT_EQ(store_.Reply(42, Note("x")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.Reply(kNoComment, Note("x")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.Get(1).status().code(), absl::StatusCode::kNotFound);
  std::vector<Coordinate> bad_grid = {ok, {1}};
  EXPECT_EQ(store_.Markers(bad_grid).status().message(), "cell 2 of 2: a coordinate needs 2 members, got 1");
  EXPECT_EQ(store_.size(), 0u);
  // Unknown codes never reach the store: the coordinate parser names them.
  EXPECT_EQ(model_.ParseCoordinate("Account=Nope,Region=France").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CommentStoreTest, UnicodeTextAndAuthorsAreKept) {
  auto id = store_.Post(At("Account=Sales,Region=France"), {"Zoë", 1, "Prévision révisée ✓ 👍", {}});
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(store_.Get(*id)->text, "Prévision révisée ✓ 👍");
  EXPECT_EQ(store_.Get(*id)->author, "Zoë");
}

TEST_F(CommentStoreTest, ConcurrentReadersSeeWholeEntries) {
  Coordinate total = At("Account=NetIncome,Region=World");
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(store_.Post(At("Account=Sales,Region=France"), Note("n", i, 1.0)).ok());
  });
  double last = 0;
  for (int i = 0; i < 2000; ++i) {
    CellMarker m = (*store_.Markers({&total, 1}))[0];
    EXPECT_GE(m.adjustment, last);  // grows one whole entry at a time
    EXPECT_EQ(m.adjustment, std::floor(m.adjustment));
    last = m.adjustment;
  }
  writer.join();
  EXPECT_EQ(AdjustmentAt("Account=NetIncome,Region=World"), 2000);
}

}  // namespace
}  // namespace quantatom

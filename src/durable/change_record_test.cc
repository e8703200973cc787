#include "durable/change_record.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <random>

#include "durable/durable_testutil.h"

namespace quantatom::durable {
namespace {

ChangeRecord Sample() {
  ChangeRecord r;
  r.time_us = 1234567;
  r.user = "ann";
  r.cause = "bridge";
  r.undos.push_back({true, "ann", 3, {{7, CellValue::Number(1), CellValue::Empty()}}});
  r.sets.push_back({4, "ann", "bridge", {{1, CellValue::Empty(), CellValue::Number(2.5)},
                                         {2, CellValue::Text("x"), CellValue::Text("yz")}}});
  r.holds.push_back({"ann", {{1, 2}, {3, 4}}});
  r.sections.push_back({"comments", std::string("abc\0d", 5)});
  r.sections.push_back({"sandbox:ann", std::nullopt});
  r.formulas.push_back({"A", "m", std::nullopt, FormulaDefinition{"A", "m", "x*2", formula::Scope::kBoth}});
  return r;
}

bool Same(const ChangeRecord& a, const ChangeRecord& b) {
  return EncodeChangeRecord(a) == EncodeChangeRecord(b) && a.sets.size() == b.sets.size() &&
         a.sets[0].changes[1].after == b.sets[0].changes[1].after && a.holds[0].holds == b.holds[0].holds &&
         a.sections[0].bytes == b.sections[0].bytes && !b.sections[1].bytes && a.formulas == b.formulas;
}

TEST(ChangeRecordTest, RoundTripsEveryPart) {
  ChangeRecord r = Sample();
  auto back = DecodeChangeRecord(EncodeChangeRecord(r), "test");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(Same(r, *back));
  EXPECT_EQ(back->undos[0].id, 3u);
  EXPECT_TRUE(back->undos[0].redo);
  EXPECT_EQ(back->user, "ann");
  EXPECT_EQ(back->time_us, 1234567);
}

// The formula part as docs/formats/change-record.md writes it, byte by byte.
TEST(ChangeRecordTest, FormulaPartHasTheDocumentedBytes) {
  ChangeRecord r;
  r.time_us = 1;
  r.user = "u";
  r.cause = "formula definition";
  r.formulas.push_back({"A", "m", FormulaDefinition{"A", "m", "1", formula::Scope::kLeaf}, std::nullopt});
  const std::string header = std::string("\x01", 1) + std::string("\x01\0\0\0\0\0\0\0", 8) +
                             std::string("\x01\0\0\0u", 5) + std::string("\x12\0\0\0", 4) + "formula definition";
  const std::string part = std::string("\x07", 1) + std::string("\x01\0\0\0A", 5) + std::string("\x01\0\0\0m", 5) +
                           std::string("\x01\x01\0\0\0" "1\x00", 7) + std::string("\x00", 1);
  EXPECT_EQ(EncodeChangeRecord(r), header + part);
  auto back = DecodeChangeRecord(header + part, "t");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->formulas, r.formulas);
}

std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string U64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string Str(const std::string& s) { return U32(static_cast<uint32_t>(s.size())) + s; }
std::string Num(double v) { return std::string("\x01", 1) + std::string(reinterpret_cast<const char*>(&v), 8); }
const std::string kEmpty("\x00", 1);

// A change set encoded where the cube's history keeps it (what DurableApp logs) has the bytes
// docs/formats/change-record.md gives, laid out by hand here: cells in the order applied, a
// cell written twice twice, text and clears as tagged values.
TEST(ChangeRecordTest, ChangeSetEncodedInPlaceHasTheDocumentedBytes) {
  auto cube = testing_util::SmallApp("inplace");
  ASSERT_NE(cube, nullptr);
  using testing_util::Leaf;
  ASSERT_TRUE(cube->Write({{Leaf(*cube, 2, 0), CellValue::Number(5)}}, "ann").ok());
  ASSERT_TRUE(cube->Write({{Leaf(*cube, 0, 0), CellValue::Number(1)},
                           {Leaf(*cube, 1, 0), CellValue::Text("t")},
                           {Leaf(*cube, 0, 0), CellValue::Number(2)},
                           {Leaf(*cube, 2, 0), CellValue::Empty()}},
                          "bob")
                  .ok());
  const uint64_t k0 = cube->PackLeaf(Leaf(*cube, 0, 0)), k1 = cube->PackLeaf(Leaf(*cube, 1, 0)),
                 k2 = cube->PackLeaf(Leaf(*cube, 2, 0));
  ChangeRecord r;
  r.time_us = 77;
  r.user = "bob";
  r.cause = "write";
  std::string bytes;
  cube->ReadChangeSetsAfter(1, [&](std::span<const ChangeSet> sets) {
    ASSERT_EQ(sets.size(), 1u);
    const ChangeSetInPlace in_place[] = {{&sets[0], nullptr}};
    bytes = std::string(EncodeChangeRecord(r, in_place).bytes());
  });
  const std::string expected = std::string("\x01", 1) + U64(77) + Str("bob") + Str("write") +  // header
                               std::string("\x01", 1) + U64(2) + Str("bob") + Str("write") + U64(4) +
                               U64(k0) + kEmpty + Num(1) +                                     // new cell
                               U64(k1) + kEmpty + std::string("\x02", 1) + Str("t") +          // text
                               U64(k0) + Num(1) + Num(2) +                                     // again
                               U64(k2) + Num(5) + kEmpty;                                      // cleared
  EXPECT_EQ(bytes, expected);
  auto back = DecodeChangeRecord(bytes, "t");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->sets.size(), 1u);
  EXPECT_EQ(back->sets[0].changes.size(), 4u);
}

// A proportional spread is kept as scaled cells (before values and a factor); in place, its
// cells are logged with the before and after values computed by hand.
TEST(ChangeRecordTest, ScaledSpreadEncodedInPlaceLogsEachCell) {
  auto cube = testing_util::SmallApp("scaled");
  ASSERT_NE(cube, nullptr);
  using testing_util::Leaf;
  ASSERT_TRUE(cube->Write({{Leaf(*cube, 0, 0), CellValue::Number(10)}, {Leaf(*cube, 1, 0), CellValue::Number(30)}}).ok());
  ASSERT_TRUE(cube->Spread(*cube->model().ParseCoordinate("item=all,slot=s0"), {SpreadMethod::kProportional, 80}, {}, "bob").ok());
  std::string bytes;
  cube->ReadChangeSetsAfter(1, [&](std::span<const ChangeSet> sets) {
    ASSERT_EQ(sets.size(), 1u);
    const ChangeSetInPlace in_place[] = {{&sets[0], nullptr}};
    bytes = std::string(EncodeChangeRecord(ChangeRecord{}, in_place).bytes());
  });
  auto back = DecodeChangeRecord(bytes, "t");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->sets.size(), 1u);
  EXPECT_EQ(back->sets[0].user, "bob");
  std::map<uint64_t, std::pair<double, double>> cells;
  for (const RecordedChange& c : back->sets[0].changes) cells[c.key] = {c.before.number, c.after.number};
  const std::map<uint64_t, std::pair<double, double>> want = {{cube->PackLeaf(Leaf(*cube, 0, 0)), {10, 20}},
                                                              {cube->PackLeaf(Leaf(*cube, 1, 0)), {30, 60}}};
  EXPECT_EQ(cells, want);
}

// Decoding with a cell visitor hands over the same cells in the same order, keeping none, with
// the undo or change set each belongs to.
TEST(ChangeRecordTest, CellVisitorSeesEveryCellInOrder) {
  ChangeRecord r = Sample();
  const std::string bytes = EncodeChangeRecord(r);
  std::vector<std::pair<std::string, uint64_t>> seen;
  auto back = DecodeChangeRecord(bytes, "t", [&](const ChangeRecord& so_far, bool undo, const RecordedChange& c) {
    seen.emplace_back(undo ? StrCat("undo ", so_far.undos.back().id) : StrCat("set ", so_far.sets.back().id), c.key);
    if (c.key == 2) { EXPECT_EQ(c.after, CellValue::Text("yz")); }
  });
  ASSERT_TRUE(back.ok()) << back.status();
  const std::vector<std::pair<std::string, uint64_t>> want = {{"undo 3", 7}, {"set 4", 1}, {"set 4", 2}};
  EXPECT_EQ(seen, want);
  EXPECT_TRUE(back->sets[0].changes.empty());
  EXPECT_TRUE(back->undos[0].changes.empty());
  EXPECT_EQ(back->formulas, r.formulas);
  EXPECT_EQ(back->sections.size(), 2u);
}

// Every prefix and random damage either decodes or is DataLoss naming where; never a crash
// (run under the sanitizers by the fuzz build).
TEST(ChangeRecordTest, DamagedBytesAreRefusedNotTrusted) {
  const std::string good = EncodeChangeRecord(Sample());
  for (size_t n = 0; n < good.size(); ++n) {
    // A prefix that ends between parts decodes (to fewer parts: the log's CRC and length are
    // what tell a whole record); any other is DataLoss naming the record.
    auto r = DecodeChangeRecord(std::string_view(good).substr(0, n), "rec 9");
    if (r.ok()) {
      EXPECT_LT(EncodeChangeRecord(*r).size(), good.size());
      continue;
    }
    EXPECT_TRUE(absl::IsDataLoss(r.status()));
    EXPECT_NE(std::string(r.status().message()).find("rec 9"), std::string::npos);
  }
  std::mt19937_64 rng(5);
  for (int i = 0; i < 5000; ++i) {
    std::string bad = good;
    bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    auto r = DecodeChangeRecord(bad, "rec");
    if (!r.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(r.status()));
    }
  }
}

}  // namespace
}  // namespace quantatom::durable

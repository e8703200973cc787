#include "durable/change_record.h"

#include <gtest/gtest.h>

#include <random>

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

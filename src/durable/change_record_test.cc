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
  return r;
}

bool Same(const ChangeRecord& a, const ChangeRecord& b) {
  return EncodeChangeRecord(a) == EncodeChangeRecord(b) && a.sets.size() == b.sets.size() &&
         a.sets[0].changes[1].after == b.sets[0].changes[1].after && a.holds[0].holds == b.holds[0].holds &&
         a.sections[0].bytes == b.sections[0].bytes && !b.sections[1].bytes;
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

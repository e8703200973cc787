#include "base/byte_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantatom {
namespace {

using ::testing::HasSubstr;

TEST(ByteCodecTest, WritesLittleEndianFieldsAndLengthPrefixedStrings) {
  ByteWriter w;
  w.Put<uint32_t>(0x04030201);
  w.PutString<uint16_t>("ab");
  w.Put<uint8_t>(9);
  // Hand-written: 01 02 03 04 | 02 00 'a' 'b' | 09
  EXPECT_EQ(w.Take(), std::string("\x01\x02\x03\x04\x02\x00" "ab\x09", 9));
}

TEST(ByteCodecTest, ReadsBackWhatWasWritten) {
  ByteWriter w;
  const uint64_t column[3] = {7, 8, 9};
  w.Put<double>(2.5);
  w.PutString<uint32_t>("text");
  w.PutArray(column, 3);
  const std::string bytes = w.Take();
  ByteReader r(bytes, "test");
  double d = 0;
  std::string s;
  uint64_t back[3] = {};
  ASSERT_TRUE(r.Get(&d).ok());
  ASSERT_TRUE(r.GetString<uint32_t>(&s).ok());
  ASSERT_TRUE(r.GetArray(back, 3).ok());
  EXPECT_EQ(d, 2.5);
  EXPECT_EQ(s, "text");
  EXPECT_EQ(back[2], 9u);
  EXPECT_TRUE(r.done());
}

TEST(ByteCodecTest, EveryTruncationIsDataLossNamingTheOffset) {
  ByteWriter w;
  w.Put<uint64_t>(1);
  w.PutString<uint32_t>("hello");
  const std::string bytes = w.Take();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    ByteReader r(std::string_view(bytes).substr(0, cut), "f.qa");
    uint64_t v = 0;
    std::string s;
    absl::Status st = r.Get(&v, "the version");
    if (st.ok()) st = r.GetString<uint32_t>(&s, "a name");
    ASSERT_EQ(st.code(), absl::StatusCode::kDataLoss) << "cut " << cut;
    EXPECT_THAT(std::string(st.message()), HasSubstr("f.qa: truncated at byte ")) << cut;
    EXPECT_THAT(std::string(st.message()), HasSubstr(cut < 8 ? "(reading the version)" : "(reading a name)")) << cut;
  }
}

TEST(ByteCodecTest, ACountLargerThanTheBytesLeftIsRefusedBeforeAllocating) {
  ByteWriter w;
  w.Put<uint64_t>(uint64_t{1} << 60);  // garbled: claims 2^60 items
  w.Put<uint64_t>(0);
  const std::string bytes = w.Take();
  ByteReader r(bytes, "log record 3");
  uint64_t n = 0;
  absl::Status st = r.GetCount<uint64_t>(&n, 8, "cells");
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.message()), HasSubstr("log record 3: truncated at byte 8 (reading cells)"));
  // One item of 8 bytes is left: a count of 1 passes.
  ByteWriter ok;
  ok.Put<uint32_t>(1);
  ok.Put<uint64_t>(5);
  const std::string ok_bytes = ok.Take();
  ByteReader r2(ok_bytes, "x");
  EXPECT_TRUE(r2.GetCount<uint32_t>(&n, 8).ok());
  EXPECT_EQ(n, 1u);
}

TEST(ByteCodecTest, ErrorNamesContextWhatAndOffset) {
  ByteReader r("abc", "targets");
  std::string_view two;
  ASSERT_TRUE(r.GetBytes(2, &two).ok());
  EXPECT_EQ(two, "ab");
  EXPECT_EQ(r.Error("bad method 7").message(), "targets: bad method 7 at byte 2");
}

}  // namespace
}  // namespace quantatom

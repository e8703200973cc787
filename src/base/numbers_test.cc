#include "base/numbers.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

TEST(ParseDoubleTest, AcceptsPlainDecimalAndExponentForms) {
  double v = 0;
  EXPECT_TRUE(ParseDouble("12", &v));
  EXPECT_EQ(v, 12);
  EXPECT_TRUE(ParseDouble("-3.25", &v));
  EXPECT_EQ(v, -3.25);
  EXPECT_TRUE(ParseDouble("+1e3", &v));
  EXPECT_EQ(v, 1000);
}

TEST(ParseDoubleTest, RejectsMalformedTokens) {
  double v = 0;
  for (const char* bad : {"", " 1", "1 ", "1,5", "12x", "nan", "inf", "--1", "1e999"}) {
    EXPECT_FALSE(ParseDouble(bad, &v)) << bad;
  }
}

TEST(ParseUint32Test, RejectsNegativeAndOverflow) {
  uint32_t v = 0;
  EXPECT_TRUE(ParseUint32("4294967295", &v));
  EXPECT_FALSE(ParseUint32("4294967296", &v));
  EXPECT_FALSE(ParseUint32("-1", &v));
  EXPECT_FALSE(ParseUint32("1.0", &v));
}

TEST(FormatNumberTest, ShortestRoundTrip) {
  EXPECT_EQ(FormatNumber(1200), "1200");
  EXPECT_EQ(FormatNumber(0.1), "0.1");
  EXPECT_EQ(FormatNumber(-2.5), "-2.5");
}

}  // namespace
}  // namespace quantatom

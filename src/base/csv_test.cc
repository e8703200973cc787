#include "base/csv.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

TEST(CsvFileTest, ReturnsRecordsWithTheirLineNumbersSkippingBlankLines) {
  CsvFile f = CsvFile::FromString("x.csv", "a,b\n\n  \nc,d\r\n");
  std::vector<std::string> fields;
  absl::Status err;
  ASSERT_TRUE(f.Next(&fields, &err));
  EXPECT_EQ(f.line(), 1);
  EXPECT_EQ(fields, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(f.Next(&fields, &err));
  EXPECT_EQ(f.line(), 4);
  EXPECT_EQ(fields, (std::vector<std::string>{"c", "d"}));
  EXPECT_FALSE(f.Next(&fields, &err));
  EXPECT_TRUE(err.ok());
}

TEST(CsvFileTest, QuotedFieldsKeepCommasAndDoubledQuotes) {
  std::vector<std::string> fields;
  ASSERT_TRUE(SplitCsvLine(R"(1,"Sales, EMEA","say ""hi""",)", &fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"1", "Sales, EMEA", "say \"hi\"", ""}));
}

TEST(CsvFileTest, UnclosedQuoteIsAnErrorNamingFileAndLine) {
  CsvFile f = CsvFile::FromString("dims.csv", "ok,1\n\"broken,2\n");
  std::vector<std::string> fields;
  absl::Status err;
  ASSERT_TRUE(f.Next(&fields, &err));
  EXPECT_FALSE(f.Next(&fields, &err));
  EXPECT_EQ(err.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(err.message(), "dims.csv:2: unclosed quote");
}

TEST(CsvFileTest, EmptyFileIsRejectedUnlessAllowed) {
  std::string path = ::testing::TempDir() + "/empty.csv";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("\n\n", f);
  std::fclose(f);
  auto r = CsvFile::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ": file is empty");
  EXPECT_TRUE(CsvFile::Open(path, /*allow_empty=*/true).ok());
}

TEST(CsvFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(CsvFile::Open("/nonexistent/x.csv").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace quantatom

#include "base/file_util.h"

#include <gtest/gtest.h>

namespace quantatom {
namespace {

TEST(FileUtilTest, AtomicWriteReplacesContentsAndLeavesNoTemporary) {
  std::string path = ::testing::TempDir() + "/atomic.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(*ReadFile(path), "second");
  EXPECT_EQ(ReadFile(path + ".tmp").status().code(), absl::StatusCode::kNotFound);
}

TEST(FileUtilTest, WriteIntoMissingFolderFailsWithItsPath) {
  absl::Status s = WriteFileAtomically("/nonexistent-folder/x", "data");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-folder/x.tmp"), std::string::npos);
}

TEST(FileUtilTest, ChecksumDiffersWhenOneBitFlips) {
  std::string a = "planning", b = a;
  b[3] ^= 1;
  EXPECT_NE(Checksum64(a.data(), a.size()), Checksum64(b.data(), b.size()));
}

}  // namespace
}  // namespace quantatom

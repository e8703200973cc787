#include "base/file_util.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace quantatom {
namespace {

// The names of the files in `dir`, sorted.
std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// An empty folder of its own: ctest runs tests in parallel processes, and other build folders
// may run the same tests at the same time.
std::string FreshDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(FileUtilTest, AtomicWriteReplacesContentsAndLeavesNoTemporary) {
  std::string dir = FreshDir("atomic");
  std::string path = dir + "/atomic.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(*ReadFile(path), "second");
  EXPECT_EQ(FilesIn(dir), std::vector<std::string>{"atomic.txt"});
}

TEST(FileUtilTest, AtomicWriteDoesNotUseAnotherWritersTemporaryName) {
  // `x.tmp` was the one temporary name every writer of `x` shared. Make it unusable: a writer
  // that still used it would fail to create it.
  std::string dir = FreshDir("atomic_other");
  std::string path = dir + "/x";
  std::filesystem::create_directory(path + ".tmp");
  absl::Status s = WriteFileAtomically(path, "mine");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(*ReadFile(path), "mine");
  EXPECT_EQ(FilesIn(dir), (std::vector<std::string>{"x", "x.tmp"}));
}

TEST(FileUtilTest, ConcurrentAtomicWritesOfOnePathLeaveOneWholeVersion) {
  std::string dir = FreshDir("atomic_race");
  std::string path = dir + "/x";
  const std::string a(1 << 20, 'a'), b(1 << 19, 'b');
  for (int round = 0; round < 20; ++round) {
    absl::Status sa, sb;
    std::thread ta([&] { sa = WriteFileAtomically(path, a); });
    std::thread tb([&] { sb = WriteFileAtomically(path, b); });
    ta.join();
    tb.join();
    ASSERT_TRUE(sa.ok()) << sa;
    ASSERT_TRUE(sb.ok()) << sb;
    std::string got = *ReadFile(path);
    ASSERT_TRUE(got == a || got == b) << "round " << round << ": a mix of " << got.size() << " bytes";
  }
  EXPECT_EQ(FilesIn(dir), std::vector<std::string>{"x"});
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

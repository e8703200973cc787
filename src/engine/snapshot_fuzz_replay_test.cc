// Replays the snapshot reader's fuzz corpus (snapshot_fuzz_corpus/, see snapshot_reader_fuzz.cc)
// in the normal test run, with every truncation and random bit flips, each with its checksum
// recomputed: the reader must load or refuse with DataLoss, never crash or hang.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "base/file_util.h"
#include "engine/data_folder.h"

namespace quantatom {
namespace {

absl::Status Decode(std::string bytes) {
  if (bytes.size() >= 8) {
    const uint64_t sum = Checksum64(bytes.data(), bytes.size() - 8);
    std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
  }
  SnapshotSections extra;
  auto cube = DecodeAppSnapshot(bytes, "corpus", "acme", &extra);
  if (cube.ok()) {
    // Whatever loads saves and loads again to the same cells.
    auto again = DecodeAppSnapshot(EncodeAppSnapshot(**cube, extra), "again", "acme");
    if (!again.ok()) return again.status();
    EXPECT_EQ((*again)->Stats().numeric_cells, (*cube)->Stats().numeric_cells);
  }
  return cube.status();
}

TEST(SnapshotFuzzCorpusTest, CorpusTruncationsAndBitFlipsLoadOrRefuseCleanly) {
  int files = 0, loaded = 0, refused = 0;
  std::mt19937_64 rng(3);
  for (const auto& entry : std::filesystem::directory_iterator(QA_SNAPSHOT_FUZZ_CORPUS)) {
    auto bytes = ReadFile(entry.path().string());
    ASSERT_TRUE(bytes.ok());
    ++files;
    // As stored (a truncated seed fails its checksum).
    SnapshotSections extra;
    auto as_is = DecodeAppSnapshot(*bytes, "corpus", "acme", &extra);
    if (!as_is.ok()) { EXPECT_TRUE(absl::IsDataLoss(as_is.status())) << entry.path() << ": " << as_is.status(); }
    for (size_t n = 0; n <= bytes->size(); n += 3) {
      absl::Status s = Decode(bytes->substr(0, n));
      if (s.ok()) ++loaded;
      else {
        ++refused;
        ASSERT_TRUE(absl::IsDataLoss(s)) << entry.path() << " cut at " << n << ": " << s;
      }
    }
    for (int i = 0; i < 1500; ++i) {
      std::string bad = *bytes;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
        bad[rng() % (bad.size() - 8)] ^= static_cast<char>(1u << (rng() % 8));
      absl::Status s = Decode(bad);
      if (s.ok()) ++loaded;
      else {
        ++refused;
        ASSERT_TRUE(absl::IsDataLoss(s)) << entry.path() << " flip " << i << ": " << s;
      }
    }
  }
  EXPECT_GE(files, 3);
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace quantatom

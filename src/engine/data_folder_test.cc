#include "engine/data_folder.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/file_util.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

std::unique_ptr<Cube> SampleCube(std::mt19937_64& rng) {
  testing_util::RandomApp app;
  do app = testing_util::MakeRandomApp(rng);
  while (app.model.dimensions.size() < 2);
  app.model.name = "plan";
  auto cube = *Cube::Create(app.model);
  std::vector<CellWrite> batch;
  for (int i = 0; i < 50; ++i) {
    auto c = testing_util::ToCoordinate(app, testing_util::RandomLeafCoordinate(app, rng));
    batch.push_back({c, i % 10 == 0 ? CellValue::Text("note " + std::to_string(i)) : CellValue::Number(i * 1.25)});
  }
  EXPECT_TRUE(cube->Write(batch).ok());
  return cube;
}

TEST(DataFolderTest, SavedAppLoadsBackWithEveryCell) {
  std::mt19937_64 rng(1);
  auto cube = SampleCube(rng);
  std::string root = ::testing::TempDir() + "/df_roundtrip";
  std::filesystem::remove_all(root);
  DataFolder folder(root);
  ASSERT_TRUE(folder.SaveApp(*cube).ok());
  EXPECT_EQ(*folder.ListApps(), std::vector<std::string>{"plan"});
  auto back = folder.LoadApp("plan");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(EncodeAppSnapshot(**back), EncodeAppSnapshot(*cube));
  CubeStats a = cube->Stats(), b = (*back)->Stats();
  EXPECT_EQ(a.numeric_cells, b.numeric_cells);
  EXPECT_EQ(a.text_cells, b.text_cells);
}

TEST(DataFolderTest, DamagedOrTruncatedFileIsDataLossNotACrash) {
  std::mt19937_64 rng(2);
  auto cube = SampleCube(rng);
  std::string bytes = EncodeAppSnapshot(*cube);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_EQ(DecodeAppSnapshot(flipped, "x.qa").status().code(), absl::StatusCode::kDataLoss);
  for (size_t cut : {size_t{0}, size_t{5}, bytes.size() / 3, bytes.size() - 1}) {
    auto r = DecodeAppSnapshot(std::string_view(bytes).substr(0, cut), "x.qa");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << cut;
  }
}

TEST(DataFolderTest, UnknownAppIsNotFound) {
  DataFolder folder(::testing::TempDir() + "/df_empty");
  ASSERT_TRUE(folder.Init().ok());
  auto r = folder.LoadApp("nothing");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(folder.LoadApp("../etc").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quantatom

#include "engine/data_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "base/file_util.h"
#include "base/strings.h"
#include "model/model_json.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// An empty folder of its own: ctest runs tests in parallel processes, and other build folders
// may run the same tests at the same time.
std::string FreshRoot(const std::string& name) {
  std::string root = StrCat(::testing::TempDir(), "/", name, "_", static_cast<int64_t>(::getpid()));
  std::filesystem::remove_all(root);
  return root;
}

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
  std::string root = FreshRoot("df_roundtrip");
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

TEST(DataFolderTest, HoldsAndOtherSectionsComeBackWithTheApp) {
  std::mt19937_64 rng(5);
  auto cube = SampleCube(rng);
  Coordinate top;
  for (const Dimension& d : cube->model().dimensions) top.push_back(d.roots()[0]);
  ASSERT_TRUE(cube->SetHold("ann", top, true).ok());
  std::string root = FreshRoot("df_sections");
  DataFolder folder(root);
  ASSERT_TRUE(folder.SaveApp(*cube, {{"comments", std::string("a\0b", 3)}, {"targets", ""}}).ok());
  SnapshotSections extra;
  auto back = folder.LoadApp("plan", &extra);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->Holds("ann"), std::vector<Coordinate>{top});
  EXPECT_TRUE((*back)->Holds("bob").empty());
  ASSERT_EQ(extra.size(), 2u);
  EXPECT_EQ(extra[0], (std::pair<std::string, std::string>("comments", std::string("a\0b", 3))));
  EXPECT_EQ(extra[1].first, "targets");
  // Every truncation of a file with sections is DataLoss, never a crash.
  std::string bytes = EncodeAppSnapshot(*cube, {{"comments", "xyz"}});
  for (size_t cut = 0; cut < bytes.size(); cut += 7)
    EXPECT_EQ(DecodeAppSnapshot(std::string_view(bytes).substr(0, cut), "x.qa", "plan").status().code(),
              absl::StatusCode::kDataLoss);
}

TEST(DataFolderTest, UndoAndRedoWorkAfterTheAppIsSavedAndLoaded) {
  std::mt19937_64 rng(6);
  auto cube = SampleCube(rng);  // one write batch by "" (change set 1)
  Coordinate top;
  for (const Dimension& d : cube->model().dimensions) top.push_back(d.roots()[0]);
  const std::string before = EncodeAppSnapshot(*cube);
  ASSERT_TRUE(cube->Spread(top, {SpreadMethod::kPercentChange, 10}, {}, "ann").ok());  // a rescale
  const KeyValues after_spread = cube->WithStore([](const CellStore& s) { return s.SortedCells(); });
  std::string root = FreshRoot("df_history");
  DataFolder folder(root);
  ASSERT_TRUE(folder.SaveApp(*cube).ok());
  auto back = folder.LoadApp("plan");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE((*back)->Undo("ann").ok());
  // Undone: the cells are those before the spread (the history differs: it records the undo).
  auto cells = [](const Cube& c) { return c.WithStore([](const CellStore& s) { return s.SortedCells(); }); };
  auto original = DecodeAppSnapshot(before, "x.qa", "plan");
  ASSERT_TRUE(original.ok());
  auto a = cells(**back), b = cells(**original);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(a[i].key == b[i].key && a[i].value == b[i].value) << i;
  ASSERT_TRUE(folder.SaveApp(**back).ok());
  auto again = folder.LoadApp("plan");
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE((*again)->Redo("ann").ok());
  auto c = cells(**again);
  ASSERT_EQ(c.size(), after_spread.size());
  for (size_t i = 0; i < c.size(); ++i) ASSERT_TRUE(c[i].key == after_spread[i].key && c[i].value == after_spread[i].value);
  EXPECT_EQ((*again)->Undo("nobody").status().code(), absl::StatusCode::kNotFound);
}

TEST(DataFolderTest, HistoryBeyondTheBudgetExpiresAndUndoStopsThere) {
  std::mt19937_64 rng(7);
  auto cube = SampleCube(rng);  // change set 1: 50 cells by ""
  Coordinate leaf;
  for (const Dimension& d : cube->model().dimensions) leaf.push_back(d.leaf_member(0));
  ASSERT_TRUE(cube->Write({{leaf, CellValue::Number(1)}}, "").ok());  // change set 2: one cell
  auto fresh = *Cube::Create(cube->model());
  ASSERT_TRUE(fresh->Load(cube->WithStore([](const CellStore& s) { return s.SortedCells(); })).ok());
  ASSERT_TRUE(fresh->RestoreHistory(cube->EncodeHistory(/*max_cells=*/10), "x").ok());
  EXPECT_TRUE(fresh->Undo("").ok());  // set 2 kept its cell
  auto r = fresh->Undo("");            // set 1 expired
  ASSERT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no longer kept for undo"));
  // Every truncation of the history bytes is refused, and the history is left as it was.
  const std::string bytes = cube->EncodeHistory(1000);
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    ASSERT_EQ(fresh->RestoreHistory(std::string_view(bytes).substr(0, cut), "x").code(), absl::StatusCode::kDataLoss) << cut;
}

TEST(DataFolderTest, DamagedOrTruncatedFileIsDataLossNotACrash) {
  std::mt19937_64 rng(2);
  auto cube = SampleCube(rng);
  std::string bytes = EncodeAppSnapshot(*cube);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_EQ(DecodeAppSnapshot(flipped, "x.qa", "plan").status().code(), absl::StatusCode::kDataLoss);
  for (size_t cut : {size_t{0}, size_t{5}, bytes.size() / 3, bytes.size() - 1}) {
    auto r = DecodeAppSnapshot(std::string_view(bytes).substr(0, cut), "x.qa", "plan");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << cut;
  }
}

TEST(DataFolderTest, UnknownAppIsNotFound) {
  DataFolder folder(FreshRoot("df_empty"));
  ASSERT_TRUE(folder.Init().ok());
  auto r = folder.LoadApp("nothing");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(folder.LoadApp("../etc").status().code(), absl::StatusCode::kInvalidArgument);
}

// Two dimensions whose child edges are defined in the reverse of member order, as a data set's
// hier_<dim>.csv may list them: T over a, b, c (edges c, b, a) and W over x, y (edges y, x).
std::unique_ptr<Cube> ReversedEdgeCube() {
  AppModel model;
  model.name = "plan";
  DimensionBuilder acc("Account", DimensionType::kAccount);
  for (const char* c : {"T", "a", "b", "c"}) EXPECT_TRUE(acc.AddMember(c).ok());
  for (const char* c : {"c", "b", "a"}) EXPECT_TRUE(acc.AddEdge(c, "T").ok());
  DimensionBuilder reg("Region", DimensionType::kEntity);
  for (const char* c : {"W", "x", "y"}) EXPECT_TRUE(reg.AddMember(c).ok());
  for (const char* c : {"y", "x"}) EXPECT_TRUE(reg.AddEdge(c, "W").ok());
  model.dimensions.push_back(*std::move(acc).Build());
  model.dimensions.push_back(*std::move(reg).Build());
  return *Cube::Create(std::move(model));
}

TEST(DataFolderTest, LeafCellsStayOnTheirMembersWhenEdgesWereDefinedOutOfMemberOrder) {
  auto cube = ReversedEdgeCube();
  const AppModel& m = cube->model();
  // A distinct value per leaf coordinate, addressed by member codes only.
  std::map<std::string, double> expected;
  double v = 1;
  for (const char* a : {"a", "b", "c"})
    for (const char* r : {"x", "y"}) expected[StrCat("Account=", a, ",Region=", r)] = v++;
  std::vector<CellWrite> batch;
  for (const auto& [coord, value] : expected) batch.push_back({*m.ParseCoordinate(coord), CellValue::Number(value)});
  ASSERT_TRUE(cube->Write(batch).ok());

  std::string root = FreshRoot("df_edge_order");
  DataFolder folder(root);
  ASSERT_TRUE(folder.SaveApp(*cube).ok());
  auto back = folder.LoadApp("plan");
  ASSERT_TRUE(back.ok()) << back.status();
  for (const auto& [coord, value] : expected) {
    auto c = (*back)->model().ParseCoordinate(coord);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(*(*back)->ReadCell(*c), CellValue::Number(value)) << coord;
  }
  EXPECT_EQ(*(*back)->ReadCell(*(*back)->model().ParseCoordinate("Account=T,Region=W")), CellValue::Number(21));
}

// The snapshot layout of docs/formats/app-snapshot.md, built by hand so that a test can write
// what EncodeAppSnapshot never would.
struct RawSnapshot {
  std::string model_json;
  std::vector<std::pair<uint64_t, double>> numbers;
  std::vector<std::pair<uint64_t, std::string>> texts;
  std::string trailer;  // bytes between the last text cell and the checksum

  std::string Bytes() const {
    std::string out = "QAAPPv01";
    auto put = [&out](uint64_t x) { out.append(reinterpret_cast<const char*>(&x), 8); };
    put(model_json.size());
    out += model_json;
    put(numbers.size());
    for (auto& [key, value] : numbers) put(key);
    for (auto& [key, value] : numbers) {
      uint64_t bits;
      std::memcpy(&bits, &value, 8);
      put(bits);
    }
    put(texts.size());
    for (auto& [key, text] : texts) {
      put(key);
      put(text.size());
      out += text;
    }
    out += trailer;
    put(Checksum64(out.data(), out.size()));
    return out;
  }
};

// Account has 3 leaves (2 key bits, so ordinal 3 fits the bits but names no leaf) and is the
// inner dimension; Region has 2 leaves (1 bit), above it.
RawSnapshot ValidRawSnapshot() {
  RawSnapshot raw;
  raw.model_json = ModelToJson(ReversedEdgeCube()->model());
  raw.numbers = {{0b0'00, 1.5}, {0b1'10, 2.5}};
  raw.texts = {{0b0'01, "note"}};
  return raw;
}

TEST(DataFolderTest, HandBuiltSnapshotLoads) {
  // The reference for the tests below: the same bytes, minus their one defect, are accepted.
  auto cube = DecodeAppSnapshot(ValidRawSnapshot().Bytes(), "p.qa", "plan");
  ASSERT_TRUE(cube.ok()) << cube.status();
  const AppModel& m = (*cube)->model();
  EXPECT_EQ(*(*cube)->ReadCell(*m.ParseCoordinate("Account=a,Region=x")), CellValue::Number(1.5));
  EXPECT_EQ(*(*cube)->ReadCell(*m.ParseCoordinate("Account=c,Region=y")), CellValue::Number(2.5));
  EXPECT_EQ(*(*cube)->ReadCell(*m.ParseCoordinate("Account=b,Region=x")), CellValue::Text("note"));
}

TEST(DataFolderTest, BytesAfterTheTextCellsAreDataLossNamingTheOffset) {
  RawSnapshot raw = ValidRawSnapshot();
  raw.trailer = "junk";
  std::string bytes = raw.Bytes();
  auto r = DecodeAppSnapshot(bytes, "p.qa", "plan");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  // The trailer starts 4 + 8 bytes before the end (itself, then the checksum).
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr(StrCat("4 unexpected bytes after the text cells at byte ", bytes.size() - 12)));
}

TEST(DataFolderTest, KeyOutsideTheLeafCountsIsDataLoss) {
  struct Case {
    bool text;
    uint64_t key;
    const char* message;
  };
  for (const Case& c : {Case{false, 0b0'11, "numeric cell 1 has key 3, whose ordinal 3 in dimension 'Account' is not below its 3 leaves"},
                        Case{true, 0b1'11, "text cell 0 has key 7, whose ordinal 3 in dimension 'Account'"},
                        Case{false, uint64_t{1} << 3, "numeric cell 1 has key 8, which uses bits above the 3 bits"},
                        Case{true, uint64_t{1} << 63, "text cell 0 has key 9223372036854775808, which uses bits above"}}) {
    RawSnapshot raw = ValidRawSnapshot();
    if (c.text) raw.texts[0].first = c.key;
    else raw.numbers[1].first = c.key;
    auto r = DecodeAppSnapshot(raw.Bytes(), "p.qa", "plan");
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << c.key << ": " << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message));
  }
}

TEST(DataFolderTest, CellCountBeyondTheFileIsDataLossNotAnAllocation) {
  RawSnapshot raw = ValidRawSnapshot();
  std::string bytes = raw.Bytes();
  // N sits right after the model JSON; claim 2^61 cells and reseal the checksum.
  uint64_t huge = uint64_t{1} << 61;
  std::memcpy(bytes.data() + 16 + raw.model_json.size(), &huge, 8);
  uint64_t sum = Checksum64(bytes.data(), bytes.size() - 8);
  std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
  EXPECT_EQ(DecodeAppSnapshot(bytes, "p.qa", "plan").status().code(), absl::StatusCode::kDataLoss);
}

TEST(DataFolderTest, FileOfAnotherAppIsDataLoss) {
  auto r = DecodeAppSnapshot(ValidRawSnapshot().Bytes(), "other.qa", "other");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("other.qa: the file holds app 'plan', not 'other'"));

  // The same through the folder: a snapshot copied to another app's name.
  std::string root = FreshRoot("df_renamed");
  DataFolder folder(root);
  ASSERT_TRUE(folder.SaveApp(*ReversedEdgeCube()).ok());
  std::filesystem::copy_file(folder.AppPath("plan"), folder.AppPath("copy"));
  EXPECT_EQ(folder.LoadApp("copy").status().code(), absl::StatusCode::kDataLoss);
}

TEST(AppLockTest, SecondLockWaitsForTheFirstToBeReleased) {
  DataFolder folder(FreshRoot("df_lock_wait"));
  auto first = AppLock::Acquire(folder, "plan", 0ms);
  ASSERT_TRUE(first.ok()) << first.status();
  std::atomic<bool> second_locked{false};
  absl::Status second_status;
  std::thread second([&] {
    auto lock = AppLock::Acquire(folder, "plan", 60s);
    second_status = lock.status();
    second_locked = true;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(second_locked) << "the second lock did not wait";
  { AppLock release = *std::move(first); }
  second.join();
  EXPECT_TRUE(second_locked);
  EXPECT_TRUE(second_status.ok()) << second_status;
}

TEST(AppLockTest, LockStillHeldAfterTheTimeoutIsUnavailableNamingTheLockFile) {
  DataFolder folder(FreshRoot("df_lock_timeout"));
  auto held = AppLock::Acquire(folder, "plan", 0ms);
  ASSERT_TRUE(held.ok()) << held.status();
  auto start = std::chrono::steady_clock::now();
  auto again = AppLock::Acquire(folder, "plan", 100ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  ASSERT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("app 'plan' is in use by another process"));
  EXPECT_THAT(std::string(again.status().message()), HasSubstr(folder.LockPath("plan")));
  // Other apps are not affected.
  EXPECT_TRUE(AppLock::Acquire(folder, "budget", 0ms).ok());
}

TEST(AppLockTest, BadAppNameIsRejectedBeforeAnyFileIsMade) {
  std::string root = FreshRoot("df_lock_name");
  DataFolder folder(root);
  EXPECT_EQ(AppLock::Acquire(folder, "../x", 0ms).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(root + "/x.lock"));
}

}  // namespace
}  // namespace quantatom

#include <random>

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "commentary/comment_store.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using testing_util::MakeRandomApp;
using testing_util::RandomApp;

// A store with plain comments, replies, adjustments, a retraction and non-ASCII text.
std::unique_ptr<CommentStore> MakeStore(const RandomApp& app, std::mt19937_64& rng, int count) {
  auto store = std::make_unique<CommentStore>(app.model);
  for (int i = 0; i < count; ++i) {
    Coordinate at;
    for (const Dimension& dim : app.model.dimensions) at.push_back(static_cast<MemberId>(rng() % dim.member_count()));
    std::optional<double> value;
    if (i % 2) value = 0.1 * i - 3;
    NewComment c{i % 3 ? "ana" : "Zoë", 1700000000000 + i, "note ✓ " + std::to_string(i), value};
    auto id = i % 5 == 4 ? store->Reply(static_cast<CommentId>(i), c) : store->Post(at, c);
    EXPECT_TRUE(id.ok()) << id.status();
  }
  if (count >= 2) {
    EXPECT_TRUE(store->Retract(2, {"bob", 1800000000000, "wrong month", {}}).ok());
  }
  return store;
}

void ExpectSame(const CommentStore& a, const CommentStore& b) {
  ASSERT_EQ(a.size(), b.size());
  for (CommentId id = 1; id <= a.size(); ++id) {
    Comment x = *a.Get(id), y = *b.Get(id);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.coordinate, y.coordinate);
    EXPECT_EQ(x.author, y.author);
    EXPECT_EQ(x.time_ms, y.time_ms);
    EXPECT_EQ(x.text, y.text);
    EXPECT_EQ(x.parent, y.parent);
    EXPECT_EQ(x.adjustment, y.adjustment);
    EXPECT_EQ(x.retracted_by, y.retracted_by);
  }
  EXPECT_EQ(a.active_adjustments(), b.active_adjustments());
}

TEST(CommentCodecTest, RoundTripKeepsEveryEntryAndEncodesToTheSameBytes) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 20; ++round) {
    RandomApp app = MakeRandomApp(rng);
    auto store = MakeStore(app, rng, 40);
    std::string bytes = store->Encode();
    auto decoded = CommentStore::Decode(app.model, bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ExpectSame(*store, **decoded);
    EXPECT_EQ((*decoded)->Encode(), bytes);
    Coordinate top;
    for (const Dimension& dim : app.model.dimensions) top.push_back(dim.roots()[0]);
    EXPECT_EQ(store->Markers({&top, 1})->at(0).adjustment, (*decoded)->Markers({&top, 1})->at(0).adjustment);
  }
}

TEST(CommentCodecTest, EmptyStoreRoundTrips) {
  std::mt19937_64 rng(4);
  RandomApp app = MakeRandomApp(rng);
  CommentStore empty(app.model);
  auto decoded = CommentStore::Decode(app.model, empty.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ((*decoded)->size(), 0u);
}

TEST(CommentCodecTest, TruncationAtEveryOffsetIsDataLoss) {
  std::mt19937_64 rng(5);
  RandomApp app = MakeRandomApp(rng);
  std::string bytes = MakeStore(app, rng, 12)->Encode();
  for (size_t size = 0; size < bytes.size(); ++size) {
    auto decoded = CommentStore::Decode(app.model, std::string_view(bytes).substr(0, size));
    ASSERT_FALSE(decoded.ok()) << size;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << size;
  }
}

TEST(CommentCodecTest, FlippedByteAtEveryOffsetIsDataLoss) {
  std::mt19937_64 rng(6);
  RandomApp app = MakeRandomApp(rng);
  std::string bytes = MakeStore(app, rng, 12)->Encode();
  for (size_t offset = 0; offset < bytes.size(); ++offset) {
    std::string damaged = bytes;
    damaged[offset] ^= 0x5A;
    auto decoded = CommentStore::Decode(app.model, damaged);
    ASSERT_FALSE(decoded.ok()) << offset;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << offset;
  }
}

// The checksum hides the structural checks; here damage comes with a valid checksum, as from a
// buggy writer, and the decoder must still refuse it or build a store the API could have built.
TEST(CommentCodecTest, DamageBehindAValidChecksumNeverCrashes) {
  std::mt19937_64 rng(8);
  RandomApp app = MakeRandomApp(rng);
  std::string bytes = MakeStore(app, rng, 12)->Encode();
  int refused = 0;
  for (size_t offset = 8; offset + 8 < bytes.size(); ++offset) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      std::string damaged = bytes;
      damaged[offset] ^= flip;
      uint64_t sum = Checksum64(damaged.data(), damaged.size() - 8);
      std::memcpy(damaged.data() + damaged.size() - 8, &sum, 8);
      auto decoded = CommentStore::Decode(app.model, damaged);
      if (!decoded.ok()) {
        ++refused;
        EXPECT_TRUE(decoded.status().code() == absl::StatusCode::kDataLoss ||
                    decoded.status().code() == absl::StatusCode::kFailedPrecondition)
            << decoded.status();
        continue;
      }
      // A consistent store: it encodes, and that decodes to the same bytes again.
      std::string again = (*decoded)->Encode();
      auto redecoded = CommentStore::Decode(app.model, again);
      ASSERT_TRUE(redecoded.ok()) << redecoded.status();
      EXPECT_EQ((*redecoded)->Encode(), again);
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(CommentCodecTest, BadMagicAndTrailingBytesAreNamed) {
  std::mt19937_64 rng(9);
  RandomApp app = MakeRandomApp(rng);
  std::string bytes = CommentStore(app.model).Encode();
  std::string other = bytes;
  other[0] = 'X';
  EXPECT_EQ(CommentStore::Decode(app.model, other).status().message(),
            "comments: not a QuantatomAI comment store (bad magic)");
  std::string longer = bytes.substr(0, bytes.size() - 8) + "junk";
  uint64_t sum = Checksum64(longer.data(), longer.size());
  longer.append(reinterpret_cast<const char*>(&sum), 8);
  EXPECT_EQ(CommentStore::Decode(app.model, longer).status().message(),
            "comments: 4 unexpected bytes after the last entry");
}

TEST(CommentCodecTest, MemberMissingFromTheModelIsFailedPrecondition) {
  AppModel with;
  DimensionBuilder a("Region", DimensionType::kEntity);
  ASSERT_TRUE(a.AddMember("World").ok());
  ASSERT_TRUE(a.AddMember("Atlantis").ok());
  ASSERT_TRUE(a.AddEdge("Atlantis", "World").ok());
  with.dimensions.push_back(*std::move(a).Build());
  CommentStore store(with);
  ASSERT_TRUE(store.Post({*with.dimensions[0].Find("Atlantis")}, {"ana", 1, "sunk", 5.0}).ok());

  AppModel without;
  DimensionBuilder b("Region", DimensionType::kEntity);
  ASSERT_TRUE(b.AddMember("World").ok());
  without.dimensions.push_back(*std::move(b).Build());
  auto decoded = CommentStore::Decode(without, store.Encode());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(decoded.status().message(), "comments: member 'Atlantis' is not in dimension 'Region'");

  AppModel renamed;
  DimensionBuilder c("Geo", DimensionType::kEntity);
  ASSERT_TRUE(c.AddMember("Atlantis").ok());
  renamed.dimensions.push_back(*std::move(c).Build());
  EXPECT_EQ(CommentStore::Decode(renamed, store.Encode()).status().message(),
            "comments: dimension 1 is 'Region' in the stored comments, 'Geo' in the app");
}

}  // namespace
}  // namespace quantatom

// The web client's files leave the server compressed once and only once, in an encoding the
// browser asked for, and decode back to the bytes on disk.
#include "server/static_assets.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "server/server_testutil.h"

namespace quantatom {
namespace {


class StaticAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("qa_static_" + std::to_string(getpid()));
    std::filesystem::create_directories(root_ / "assets");
    // JavaScript-like text large enough to be worth compressing, with some noise so that the
    // compressed size is not trivial.
    std::mt19937 rng(7);
    for (int i = 0; i < 4000; ++i) bundle_ += "export const cell" + std::to_string(rng() % 100000) + " = (v) => v * 2;\n";
    std::ofstream(root_ / "assets" / "index-abc123.js", std::ios::binary) << bundle_;
    std::ofstream(root_ / "index.html", std::ios::binary) << "<!doctype html><title>QuantatomAI</title>";
    ConnectOptions options;
    options.static_dir = root_.string();
    server_ = std::make_unique<testing::TestServer>(options);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(root_);
  }
  // A GET that leaves the body as it came off the wire when `raw`.
  httplib::Result Get(const std::string& path, const std::string& accept, bool raw) {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_decompress(!raw);
    httplib::Headers headers;
    if (!accept.empty()) headers.emplace("Accept-Encoding", accept);
    return client.Get(path.c_str(), headers);
  }

  std::filesystem::path root_;
  std::string bundle_;
  std::unique_ptr<testing::TestServer> server_;
};

TEST_F(StaticAssetsTest, BrotliAndGzipCopiesDecodeToTheFileOnDisk) {
  for (const char* accept : {"gzip, deflate, br", "gzip"}) {
    std::string want = std::string(accept).find("br") != std::string::npos ? "br" : "gzip";
    auto raw = Get("/assets/index-abc123.js", accept, /*raw=*/true);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->status, 200);
    EXPECT_EQ(raw->get_header_value("Content-Encoding"), want) << accept;
    EXPECT_EQ(raw->get_header_value_count("Content-Encoding"), 1u);
    EXPECT_LT(raw->body.size(), bundle_.size() / 3);
    // httplib's client decodes with zlib / libbrotlidec, independent of our encoder; one decode
    // must give the file back, so the body was not compressed twice.
    auto decoded = Get("/assets/index-abc123.js", accept, /*raw=*/false);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->body, bundle_) << accept;
    EXPECT_EQ(decoded->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  }
}

TEST_F(StaticAssetsTest, AClientThatRefusesEncodingsGetsTheFileAsIs) {
  for (const char* accept : {"", "identity", "br;q=0, gzip;q=0"}) {
    auto res = Get("/assets/index-abc123.js", accept, /*raw=*/true);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_FALSE(res->has_header("Content-Encoding")) << accept;
    EXPECT_EQ(res->body, bundle_) << accept;
  }
  auto page = Get("/", "gzip", /*raw=*/false);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, "<!doctype html><title>QuantatomAI</title>");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");
}

TEST_F(StaticAssetsTest, ARebuiltFileIsServedFreshNotFromTheCache) {
  ASSERT_EQ(Get("/assets/index-abc123.js", "br", false)->body, bundle_);
  std::string next = bundle_ + "export const added = 1;\n";
  std::ofstream(root_ / "assets" / "index-abc123.js", std::ios::binary | std::ios::trunc) << next;
  std::filesystem::last_write_time(root_ / "assets" / "index-abc123.js",
                                   std::filesystem::file_time_type::clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(Get("/assets/index-abc123.js", "br", false)->body, next);
}

TEST(StaticAssetsEncoding, PrefersBrotliThenGzipAndHonoursZeroWeights) {
  EXPECT_EQ(StaticAssets::ChooseEncoding("gzip, deflate, br"), "br");
  EXPECT_EQ(StaticAssets::ChooseEncoding("gzip;q=1.0, br;q=0"), "gzip");
  EXPECT_EQ(StaticAssets::ChooseEncoding("br;q=0.0, gzip;q=0"), "");
  EXPECT_EQ(StaticAssets::ChooseEncoding("deflate"), "");
  EXPECT_EQ(StaticAssets::ChooseEncoding("brotli-ish, xgzip"), "");
}

}  // namespace
}  // namespace quantatom

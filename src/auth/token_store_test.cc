#include "auth/token_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace quantatom {
namespace {

TEST(Sha256, MatchesTheStandardTestVector) {
  // FIPS 180-2, "abc".
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenStore, FirstStartCreatesAnAdminWhoseTokenIsKeptOnlyHashed) {
  auto dir = std::filesystem::temp_directory_path() / ("qa_auth_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "auth.json").string();
  std::string token;
  {
    TokenStore store(path);
    ASSERT_TRUE(store.Open().ok());
    auto t = store.EnsureAdmin("admin", nullptr);
    ASSERT_TRUE(t.ok() && t->has_value());
    token = **t;
    auto again = store.EnsureAdmin("admin", nullptr);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value());
  }
  std::ifstream in(path);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file.find(token), std::string::npos);
  EXPECT_NE(file.find(Sha256Hex(token)), std::string::npos);
  TokenStore reopened(path);
  ASSERT_TRUE(reopened.Open().ok());
  auto user = reopened.Authenticate("Bearer " + token);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ((*user)->name, "admin");
  EXPECT_TRUE((*user)->admin);
  std::filesystem::remove_all(dir);
}

TEST(TokenStore, RejectsMissingMalformedWrongAndRevokedTokens) {
  TokenStore store("");
  ASSERT_TRUE(store.Open().ok());
  ASSERT_TRUE(store.EnsureAdmin("root", "preset-token-0123456789").ok());
  ASSERT_TRUE(store.CreateUser({"ann", {"sales"}, false}).ok());
  auto issued = store.IssueToken("ann");
  ASSERT_TRUE(issued.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(store.Authenticate("").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(store.Authenticate("Basic abc").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(store.Authenticate("Bearer ").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(store.Authenticate("Bearer qa_wrong").status()));
  auto ann = store.Authenticate("Bearer " + issued->first);
  ASSERT_TRUE(ann.ok());
  EXPECT_EQ((*ann)->name, "ann");
  EXPECT_FALSE((*ann)->admin);
  ASSERT_TRUE(store.Authenticate("Bearer preset-token-0123456789").ok());
  ASSERT_TRUE(store.RevokeToken(issued->second).ok());
  EXPECT_TRUE(absl::IsUnauthenticated(store.Authenticate("Bearer " + issued->first).status()));
  EXPECT_TRUE(absl::IsAlreadyExists(store.CreateUser({"ann", {}, false})));
  EXPECT_TRUE(absl::IsInvalidArgument(store.CreateUser({"a b", {}, false})));
}

}  // namespace
}  // namespace quantatom

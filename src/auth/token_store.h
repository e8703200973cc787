// Users and API tokens. A token is a random secret ("qa_" + 64 hex digits) shown once when it
// is issued; only its SHA-256 is kept, so a copy of the store file does not let anyone in.
// A request carries it as `Authorization: Bearer <token>`.
//
//   TokenStore store("DATA/auth.json");
//   QA_RETURN_IF_ERROR(store.Open());
//   auto first = store.EnsureAdmin("admin", getenv("QUANTATOM_ADMIN_TOKEN"));  // the token, once
//   auto user = store.Authenticate("Bearer qa_...");                         // or Unauthenticated
//
// The file is rewritten atomically (fsync + rename) on every change. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace quantatom {

struct User {
  std::string name;
  std::vector<std::string> roles;
  bool admin = false;  // server administrator: every right on every cell
};

// The SHA-256 of `data` as 64 lowercase hex digits (OpenSSL libcrypto).
std::string Sha256Hex(std::string_view data);

class TokenStore {
 public:
  // `path` empty: kept in memory only (tests).
  explicit TokenStore(std::string path) : path_(std::move(path)) {}

  // Reads the file if it exists. DataLoss naming the file and field if it does not parse.
  absl::Status Open();

  // On the first start (no user yet), creates user `name` as admin with a token: `preset` if
  // given (at least 20 characters, else InvalidArgument), else a random one. Returns the token
  // when it was created now, nullopt when an admin already existed (the token is not kept).
  absl::StatusOr<std::optional<std::string>> EnsureAdmin(const std::string& name, const char* preset);

  // The user behind an `Authorization` header value. Unauthenticated, with a message that
  // never repeats the token, for a missing header, a malformed one or an unknown token.
  absl::StatusOr<std::shared_ptr<const User>> Authenticate(std::string_view authorization) const;

  // AlreadyExists for a taken name; InvalidArgument for a bad one (letters, digits, "_.-@").
  absl::Status CreateUser(const User& user);
  std::vector<User> Users() const;
  // A new random token for `user` (NotFound if no such user); returns {token, token_id}.
  absl::StatusOr<std::pair<std::string, std::string>> IssueToken(const std::string& user);
  absl::Status AddToken(const std::string& user, const std::string& token);
  // NotFound for an unknown id.
  absl::Status RevokeToken(const std::string& token_id);

 private:
  struct TokenEntry {
    std::string sha256;  // hex
    std::string user;
  };
  absl::Status SaveLocked() const;
  absl::Status AddTokenLocked(const std::string& user, const std::string& token);

  const std::string path_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const User>> users_;  // guarded by mu_
  std::vector<TokenEntry> tokens_;                  // guarded by mu_
};

}  // namespace quantatom

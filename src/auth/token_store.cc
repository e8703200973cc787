#include "auth/token_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/status.h"
#include "base/strings.h"

namespace quantatom {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '@')) return false;
  }
  return true;
}

// Compares two hex digests in time independent of where they differ.
bool SameDigest(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

absl::Status TokenStore::Open() {
  std::lock_guard lock(mu_);
  if (path_.empty()) return absl::OkStatus();
  auto bytes = ReadFile(path_);
  if (!bytes.ok()) return absl::IsNotFound(bytes.status()) ? absl::OkStatus() : bytes.status();
  try {
    auto doc = nlohmann::json::parse(*bytes);
    for (const auto& u : doc.at("users")) {
      auto user = std::make_shared<User>();
      user->name = u.at("name").get<std::string>();
      user->admin = u.value("admin", false);
      for (const auto& r : u.value("roles", nlohmann::json::array())) user->roles.push_back(r.get<std::string>());
      users_.push_back(std::move(user));
    }
    for (const auto& t : doc.at("tokens")) {
      tokens_.push_back({t.at("sha256").get<std::string>(), t.at("user").get<std::string>()});
    }
  } catch (const std::exception& e) {
    users_.clear();
    tokens_.clear();
    return absl::DataLossError(StrCat(path_, ": not a valid token store: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status TokenStore::SaveLocked() const {
  if (path_.empty()) return absl::OkStatus();
  nlohmann::json doc;
  doc["users"] = nlohmann::json::array();
  for (const auto& u : users_) doc["users"].push_back({{"name", u->name}, {"admin", u->admin}, {"roles", u->roles}});
  doc["tokens"] = nlohmann::json::array();
  for (const auto& t : tokens_) doc["tokens"].push_back({{"sha256", t.sha256}, {"user", t.user}});
  return WriteFileAtomically(path_, doc.dump(1));
}

absl::StatusOr<std::optional<std::string>> TokenStore::EnsureAdmin(const std::string& name, const char* preset) {
  std::lock_guard lock(mu_);
  for (const auto& u : users_) {
    if (u->admin) {
      // An operator who sets the variable expects it to work, also on later starts.
      if (preset != nullptr && *preset != '\0') {
        std::string digest = Sha256Hex(preset);
        bool known = false;
        for (const auto& t : tokens_) known = known || SameDigest(t.sha256, digest);
        if (!known) QA_RETURN_IF_ERROR(AddTokenLocked(u->name, preset));
      }
      return std::optional<std::string>();
    }
  }
  if (!ValidName(name)) return absl::InvalidArgumentError(StrCat("bad admin user name '", name, "'"));
  auto user = std::make_shared<User>();
  user->name = name;
  user->admin = true;
  users_.push_back(user);
  std::string token;
  if (preset != nullptr && *preset != '\0') {
    token = preset;
  } else {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) return absl::InternalError("no random bytes for a token");
    token = "qa_" + Hex(raw, sizeof raw);
  }
  auto st = AddTokenLocked(name, token);
  if (!st.ok()) {
    users_.pop_back();
    return st;
  }
  return std::optional<std::string>(token);
}

absl::Status TokenStore::AddTokenLocked(const std::string& user, const std::string& token) {
  if (token.size() < 20) return absl::InvalidArgumentError("a token needs at least 20 characters");
  tokens_.push_back({Sha256Hex(token), user});
  auto st = SaveLocked();
  if (!st.ok()) tokens_.pop_back();
  return st;
}

absl::Status TokenStore::AddToken(const std::string& user, const std::string& token) {
  std::lock_guard lock(mu_);
  bool found = false;
  for (const auto& u : users_) found = found || u->name == user;
  if (!found) return absl::NotFoundError(StrCat("no user '", user, "'"));
  return AddTokenLocked(user, token);
}

absl::StatusOr<std::shared_ptr<const User>> TokenStore::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) return absl::UnauthenticatedError("missing Authorization: Bearer <token> header");
  if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer) {
    return absl::UnauthenticatedError("the Authorization header must be 'Bearer <token>'");
  }
  std::string digest = Sha256Hex(authorization.substr(kBearer.size()));
  std::lock_guard lock(mu_);
  for (const auto& t : tokens_) {
    if (SameDigest(t.sha256, digest)) {
      for (const auto& u : users_) {
        if (u->name == t.user) return u;
      }
    }
  }
  return absl::UnauthenticatedError("unknown or revoked token");
}

absl::Status TokenStore::CreateUser(const User& user) {
  if (!ValidName(user.name)) {
    return absl::InvalidArgumentError(StrCat("bad user name '", user.name, "' (1-64 letters, digits, _ . - @)"));
  }
  std::lock_guard lock(mu_);
  for (const auto& u : users_) {
    if (u->name == user.name) return absl::AlreadyExistsError(StrCat("user '", user.name, "' exists"));
  }
  users_.push_back(std::make_shared<User>(user));
  auto st = SaveLocked();
  if (!st.ok()) users_.pop_back();
  return st;
}

std::vector<User> TokenStore::Users() const {
  std::lock_guard lock(mu_);
  std::vector<User> out;
  for (const auto& u : users_) out.push_back(*u);
  return out;
}

absl::StatusOr<std::pair<std::string, std::string>> TokenStore::IssueToken(const std::string& user) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return absl::InternalError("no random bytes for a token");
  std::string token = "qa_" + Hex(raw, sizeof raw);
  QA_RETURN_IF_ERROR(AddToken(user, token));
  return std::make_pair(token, Sha256Hex(token).substr(0, 8));
}

absl::Status TokenStore::RevokeToken(const std::string& token_id) {
  std::lock_guard lock(mu_);
  if (token_id.size() < 8) return absl::InvalidArgumentError("a token id has 8 hex digits");
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].sha256.compare(0, token_id.size(), token_id) == 0) {
      TokenEntry old = tokens_[i];
      tokens_.erase(tokens_.begin() + i);
      auto st = SaveLocked();
      if (!st.ok()) tokens_.insert(tokens_.begin() + i, old);
      return st;
    }
  }
  return absl::NotFoundError(StrCat("no token with id '", token_id, "'"));
}

}  // namespace quantatom

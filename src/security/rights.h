// Member rights and their compiled per-cell masks (the spec's security_mask).
//
// A role gets read / write / none on members of each dimension of an app. A member without an
// entry of its own takes the right of its parents (the most restrictive one when it has
// several), a root without one the dimension's default. A dimension the role has no rules for
// is `write` for every member; a role with no rules at all on an app gives no access to it.
// A cell's right for a role is the minimum over its dimensions, and a user's right on a cell is
// the best over their roles. Compiling turns this into, per dimension and member, a bit mask of
// the user's roles (bit r set: role r reads / writes the member), so a cell's check is an AND
// of one word per dimension.
//
// The app's totals policy decides what a consolidated cell shows when some leaf below it is
// not readable: kVisibleOnly (default) sums only the readable leaf cells; kIncludeHidden shows
// the full total (TM1); kDeny hides it unless one role reads every leaf below it.
//
// Thread-safe: AppSecurity serialises changes; a CellRights is immutable once compiled.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/app_model.h"

namespace quantatom {

enum class Access : uint8_t { kNone = 0, kRead = 1, kWrite = 2 };
enum class TotalsPolicy : uint8_t { kVisibleOnly = 0, kIncludeHidden = 1, kDeny = 2 };

struct DimensionRule {
  Access default_access = Access::kWrite;
  std::vector<std::pair<MemberId, Access>> members;  // explicit entries
};

// What one user may do on one app's cells.
class CellRights {
 public:
  bool admin() const { return admin_; }
  // Whether the user may see the app at all (admin, or a role with rules on it).
  bool app_visible() const { return admin_ || role_count_ > 0; }
  bool CanRead(const Coordinate& c) const { return admin_ || And(read_, c) != 0; }
  bool CanWrite(const Coordinate& c) const { return admin_ || And(write_, c) != 0; }
  // One role reads (writes) every leaf cell below `c`.
  bool ReadsAllBelow(const Coordinate& c) const { return admin_ || And(read_below_, c) != 0; }
  bool WritesAllBelow(const Coordinate& c) const { return admin_ || And(write_below_, c) != 0; }
  // A leaf cell given as leaf ordinals per dimension.
  bool CanReadLeaf(const std::vector<MemberId>& leaf_members) const { return CanRead(leaf_members); }
  // Whether the member may be named at all: the user reads it or something below it. An
  // invisible member is reported as not found, never as forbidden.
  bool MemberVisible(int dim, MemberId m) const { return admin_ || visible_[dim][m]; }

 private:
  friend class AppSecurity;
  static uint64_t And(const std::vector<std::vector<uint64_t>>& masks, const Coordinate& c) {
    uint64_t bits = ~uint64_t{0};
    for (size_t d = 0; d < masks.size() && bits != 0; ++d) bits &= masks[d][c[d]];
    return bits;
  }
  bool admin_ = false;
  int role_count_ = 0;
  std::vector<std::vector<uint64_t>> read_, write_, read_below_, write_below_;
  std::vector<std::vector<bool>> visible_;
};

class AppSecurity {
 public:
  explicit AppSecurity(const AppModel* model) : model_(model) {}

  // Replaces `role`'s rules for dimension `dim`. InvalidArgument for a bad dimension or member.
  absl::Status SetRule(const std::string& role, int dim, DimensionRule rule);
  void SetTotalsPolicy(TotalsPolicy policy);
  TotalsPolicy totals_policy() const;

  // The compiled rights of a user with `roles` (at most 64 of them are used). Compiled rights
  // are cached per role set until the next change of rules, unless `use_cache` is false.
  std::shared_ptr<const CellRights> Compile(const std::vector<std::string>& roles, bool admin,
                                            bool use_cache = true) const;

  // The rules as bytes (kept with the app) and back.
  std::string Encode() const;
  absl::Status Decode(std::string_view bytes);

 private:
  std::shared_ptr<CellRights> CompileLocked(const std::vector<std::string>& roles, bool admin) const;

  const AppModel* model_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<int, DimensionRule>> roles_;  // guarded by mu_
  TotalsPolicy policy_ = TotalsPolicy::kVisibleOnly;            // guarded by mu_
  mutable std::map<std::string, std::shared_ptr<const CellRights>> cache_;  // guarded by mu_
};

}  // namespace quantatom

#include "security/rights.h"

#include <algorithm>

#include "base/status.h"
#include "base/strings.h"

namespace quantatom {
namespace {

// Per member, the role's effective access in one dimension: explicit entry, else the most
// restrictive parent, else the default.
std::vector<Access> Effective(const Dimension& dim, const DimensionRule* rule) {
  const uint32_t n = dim.member_count();
  std::vector<Access> out(n, Access::kWrite);
  if (rule == nullptr) return out;
  std::vector<int8_t> own(n, -1);
  for (auto [m, a] : rule->members) own[m] = static_cast<int8_t>(a);
  std::vector<uint8_t> state(n, 0);  // 0 todo, 1 done
  std::vector<MemberId> stack;
  for (MemberId start = 0; start < n; ++start) {
    if (state[start]) continue;
    stack.push_back(start);
    while (!stack.empty()) {
      MemberId m = stack.back();
      if (state[m]) {
        stack.pop_back();
        continue;
      }
      if (own[m] >= 0) {
        out[m] = static_cast<Access>(own[m]);
        state[m] = 1;
        stack.pop_back();
        continue;
      }
      auto parents = dim.parent_edges(m);
      bool ready = true;
      for (const auto& e : parents) {
        if (!state[e.parent]) {
          stack.push_back(e.parent);
          ready = false;
        }
      }
      if (!ready) continue;
      Access a = parents.empty() ? rule->default_access : Access::kWrite;
      for (const auto& e : parents) a = std::min(a, out[e.parent]);
      out[m] = a;
      state[m] = 1;
      stack.pop_back();
    }
  }
  return out;
}

}  // namespace

absl::Status AppSecurity::SetRule(const std::string& role, int dim, DimensionRule rule) {
  if (dim < 0 || dim >= static_cast<int>(model_->dimensions.size())) {
    return absl::InvalidArgumentError(StrCat("no dimension #", dim));
  }
  if (role.empty()) return absl::InvalidArgumentError("a role needs a name");
  for (auto [m, a] : rule.members) {
    if (m >= model_->dimensions[dim].member_count()) return absl::InvalidArgumentError("member id out of range");
  }
  std::lock_guard lock(mu_);
  roles_[role][dim] = std::move(rule);
  cache_.clear();
  return absl::OkStatus();
}

void AppSecurity::SetTotalsPolicy(TotalsPolicy policy) {
  std::lock_guard lock(mu_);
  policy_ = policy;
}

TotalsPolicy AppSecurity::totals_policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

std::shared_ptr<const CellRights> AppSecurity::Compile(const std::vector<std::string>& roles, bool admin,
                                                       bool use_cache) const {
  std::lock_guard lock(mu_);
  if (!use_cache) return CompileLocked(roles, admin);
  std::string key = StrCat(admin ? "A|" : "U|", StrJoin(roles, "|"));
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  auto compiled = CompileLocked(roles, admin);
  cache_[key] = compiled;
  return compiled;
}

std::shared_ptr<CellRights> AppSecurity::CompileLocked(const std::vector<std::string>& roles, bool admin) const {
  auto out = std::make_shared<CellRights>();
  out->admin_ = admin;
  const size_t dims = model_->dimensions.size();
  out->read_.resize(dims);
  out->write_.resize(dims);
  out->read_below_.resize(dims);
  out->write_below_.resize(dims);
  out->visible_.resize(dims);
  for (size_t d = 0; d < dims; ++d) {
    uint32_t n = model_->dimensions[d].member_count();
    out->read_[d].assign(n, 0);
    out->write_[d].assign(n, 0);
    out->read_below_[d].assign(n, 0);
    out->write_below_[d].assign(n, 0);
    out->visible_[d].assign(n, false);
  }
  int bit = 0;
  for (const std::string& role : roles) {
    auto it = roles_.find(role);
    if (it == roles_.end() || bit >= 64) continue;
    const uint64_t mask = uint64_t{1} << bit++;
    for (size_t d = 0; d < dims; ++d) {
      const Dimension& dim = model_->dimensions[d];
      auto rule = it->second.find(static_cast<int>(d));
      std::vector<Access> eff = Effective(dim, rule == it->second.end() ? nullptr : &rule->second);
      for (MemberId m = 0; m < dim.member_count(); ++m) {
        if (eff[m] >= Access::kRead) out->read_[d][m] |= mask;
        if (eff[m] >= Access::kWrite) out->write_[d][m] |= mask;
      }
      // Every leaf below: a leaf's own right; a parent's, the AND over its leaves. The leaf
      // sets are read from the dimension (LeavesUnder), not from the child edges, so that a
      // member with several parents is counted under each.
      for (MemberId m = 0; m < dim.member_count(); ++m) {
        bool all_read = true, all_write = true;
        for (auto [ordinal, weight] : dim.LeavesUnder(m)) {
          Access a = eff[dim.leaf_member(ordinal)];
          all_read = all_read && a >= Access::kRead;
          all_write = all_write && a >= Access::kWrite;
        }
        if (all_read) out->read_below_[d][m] |= mask;
        if (all_write) out->write_below_[d][m] |= mask;
      }
    }
  }
  out->role_count_ = bit;
  // Visible: read, or something below read, in some role.
  for (size_t d = 0; d < dims; ++d) {
    const Dimension& dim = model_->dimensions[d];
    for (MemberId m = 0; m < dim.member_count(); ++m) {
      if (out->read_[d][m] == 0) continue;
      out->visible_[d][m] = true;
      for (const auto& a : dim.ancestors(m)) out->visible_[d][a.member] = true;
    }
  }
  return out;
}

std::string AppSecurity::Encode() const {
  std::lock_guard lock(mu_);
  // Text lines: "policy N" then "rule ROLE DIM DEFAULT m:a m:a ..."; roles have no spaces.
  std::string out = StrCat("policy ", static_cast<int>(policy_), "\n");
  for (const auto& [role, dims] : roles_) {
    for (const auto& [d, rule] : dims) {
      StrAppend(&out, "rule ", role, " ", d, " ", static_cast<int>(rule.default_access));
      for (auto [m, a] : rule.members) StrAppend(&out, " ", m, ":", static_cast<int>(a));
      out += "\n";
    }
  }
  return out;
}

absl::Status AppSecurity::Decode(std::string_view bytes) {
  std::map<std::string, std::map<int, DimensionRule>> roles;
  TotalsPolicy policy = TotalsPolicy::kVisibleOnly;
  for (std::string_view line : SplitTrimmed(bytes, '\n')) {
    if (line.empty()) continue;
    std::vector<std::string_view> parts;
    for (std::string_view p : SplitTrimmed(line, ' ')) parts.push_back(p);
    auto num = [](std::string_view s) { return std::stoll(std::string(s)); };
    try {
      if (parts[0] == "policy" && parts.size() == 2) {
        long long p = num(parts[1]);
        if (p < 0 || p > 2) return absl::DataLossError("security section: bad policy");
        policy = static_cast<TotalsPolicy>(p);
      } else if (parts[0] == "rule" && parts.size() >= 4) {
        int d = static_cast<int>(num(parts[2]));
        if (d < 0 || d >= static_cast<int>(model_->dimensions.size())) return absl::DataLossError("security section: bad dimension");
        DimensionRule rule;
        rule.default_access = static_cast<Access>(std::clamp<long long>(num(parts[3]), 0, 2));
        for (size_t i = 4; i < parts.size(); ++i) {
          size_t colon = parts[i].find(':');
          if (colon == std::string_view::npos) return absl::DataLossError("security section: bad entry");
          long long m = num(parts[i].substr(0, colon));
          if (m < 0 || m >= model_->dimensions[d].member_count()) return absl::DataLossError("security section: bad member");
          rule.members.push_back({static_cast<MemberId>(m),
                                  static_cast<Access>(std::clamp<long long>(num(parts[i].substr(colon + 1)), 0, 2))});
        }
        roles[std::string(parts[1])][d] = std::move(rule);
      } else {
        return absl::DataLossError(StrCat("security section: bad line '", line, "'"));
      }
    } catch (const std::exception&) {
      return absl::DataLossError(StrCat("security section: bad number in '", line, "'"));
    }
  }
  std::lock_guard lock(mu_);
  roles_ = std::move(roles);
  policy_ = policy;
  cache_.clear();
  return absl::OkStatus();
}

}  // namespace quantatom

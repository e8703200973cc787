#include "query/member_set.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "base/numbers.h"
#include "base/strings.h"

namespace quantatom {

namespace {

// Splits on top-level commas (not inside quotes or parentheses).
absl::StatusOr<std::vector<std::pair<std::string, size_t>>> SplitItems(std::string_view expr) {
  std::vector<std::pair<std::string, size_t>> items;
  std::string cur;
  size_t start = 0;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i <= expr.size(); ++i) {
    char c = i < expr.size() ? expr[i] : ',';
    if (quoted) {
      if (c == '"') quoted = false;
      cur.push_back(c);
      continue;
    }
    if (i == expr.size() || (c == ',' && depth == 0)) {
      if (i == expr.size() && depth != 0)
        return absl::InvalidArgumentError(StrCat("member set '", expr, "': missing ')'"));
      items.emplace_back(std::string(Trim(cur)), start);
      cur.clear();
      start = i + 1;
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0)
      return absl::InvalidArgumentError(StrCat("member set '", expr, "': unexpected ')' at position ", i + 1));
    cur.push_back(c);
  }
  if (quoted) return absl::InvalidArgumentError(StrCat("member set '", expr, "': unclosed quote"));
  return items;
}

std::string Unquote(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

}  // namespace

absl::StatusOr<std::vector<MemberId>> ParseMemberSet(const Dimension& dim, std::string_view expr) {
  QA_ASSIGN_OR_RETURN(auto items, SplitItems(expr));
  std::vector<MemberId> out;
  absl::flat_hash_set<MemberId> seen;
  auto add = [&](MemberId m) {
    if (seen.insert(m).second) out.push_back(m);
  };
  auto find = [&](std::string_view code, size_t pos) -> absl::StatusOr<MemberId> {
    auto m = dim.Find(Unquote(code));
    if (!m)
      return absl::NotFoundError(StrCat("member set '", expr, "' (position ", pos + 1, "): unknown member '",
                                              Unquote(code), "' in dimension '", dim.name(), "'"));
    return *m;
  };
  for (auto& [item, pos] : items) {
    if (item.empty())
      return absl::InvalidArgumentError(StrCat("member set '", expr, "' (position ", pos + 1, "): empty item"));
    if (item == "all") {
      for (MemberId m = 0; m < dim.member_count(); ++m) add(m);
      continue;
    }
    if (item == "roots") {
      for (MemberId m : dim.roots()) add(m);
      continue;
    }
    size_t open = item.find('(');
    if (open == std::string::npos || item.front() == '"') {
      QA_ASSIGN_OR_RETURN(MemberId m, find(item, pos));
      add(m);
      continue;
    }
    if (item.back() != ')')
      return absl::InvalidArgumentError(StrCat("member set '", expr, "' (position ", pos + 1, "): '", item,
                                                     "' must end with ')'"));
    std::string fn(Trim(std::string_view(item).substr(0, open)));
    std::string arg = item.substr(open + 1, item.size() - open - 2);
    if (fn == "level") {
      uint32_t level = 0;
      if (!ParseUint32(Trim(arg), &level))
        return absl::InvalidArgumentError(StrCat("member set '", expr, "' (position ", pos + 1,
                                                       "): level() takes a number, got '", arg, "'"));
      for (MemberId m = 0; m < dim.member_count(); ++m)
        if (dim.level(m) == static_cast<int>(level)) add(m);
      continue;
    }
    QA_ASSIGN_OR_RETURN(MemberId m, find(arg, pos + open + 1));
    if (fn == "children") {
      for (const Edge& e : dim.child_edges(m)) add(e.child);
    } else if (fn == "self_and_children") {
      add(m);
      for (const Edge& e : dim.child_edges(m)) add(e.child);
    } else if (fn == "leaves") {
      for (auto [ordinal, w] : dim.LeavesUnder(m)) add(dim.leaf_member(ordinal));
    } else if (fn == "descendants") {
      for (MemberId d : dim.Descendants(m)) add(d);
    } else {
      return absl::InvalidArgumentError(StrCat(
          "member set '", expr, "' (position ", pos + 1, "): unknown function '", fn,
          "' (expected children, leaves, descendants, self_and_children or level)"));
    }
  }
  if (out.empty())
    return absl::InvalidArgumentError(StrCat("member set '", expr, "' selects no member of dimension '", dim.name(), "'"));
  return out;
}

}  // namespace quantatom

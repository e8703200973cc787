#include "bridge/bridge.h"

#include <algorithm>
#include <cmath>

#include "base/numbers.h"
#include "base/strings.h"

namespace quantatom {
namespace {

absl::StatusOr<KeyLayout> LayoutOf(const AppModel& app) {
  std::vector<uint32_t> leaf_counts;
  for (const Dimension& d : app.dimensions) leaf_counts.push_back(d.leaf_count());
  return KeyLayout::Make(leaf_counts);
}

std::vector<std::string> DimensionNames(const AppModel& app) {
  std::vector<std::string> out;
  for (const Dimension& d : app.dimensions) out.push_back(d.name());
  return out;
}

constexpr size_t kMaxNamed = 5;

}  // namespace

absl::StatusOr<Bridge> Bridge::Create(const AppModel& source, const AppModel& target, std::string_view source_dimension,
                                      std::string_view target_dimension, ResolvedBridge resolved) {
  Bridge b;
  b.source_app_ = source.name;
  b.target_app_ = target.name;
  b.source_bridged_ = source.FindDimension(source_dimension);
  b.target_bridged_ = target.FindDimension(target_dimension);
  if (b.source_bridged_ < 0)
    return absl::NotFoundError(StrCat("source app '", source.name, "' has no dimension '", source_dimension,
                                      "' (its dimensions: ", StrJoin(DimensionNames(source), ", "), ")"));
  if (b.target_bridged_ < 0)
    return absl::NotFoundError(StrCat("target app '", target.name, "' has no dimension '", target_dimension,
                                      "' (its dimensions: ", StrJoin(DimensionNames(target), ", "), ")"));
  const Dimension& source_bridged = source.dimensions[static_cast<size_t>(b.source_bridged_)];
  const Dimension& target_bridged = target.dimensions[static_cast<size_t>(b.target_bridged_)];
  QA_RETURN_IF_ERROR(resolved.report.ToStatus());
  if (resolved.map.source_leaf_count() != source_bridged.leaf_count() ||
      resolved.map.target_leaf_count() != target_bridged.leaf_count())
    return absl::InvalidArgumentError(StrCat("the bridge map was resolved for ", resolved.map.source_leaf_count(), " -> ",
                                             resolved.map.target_leaf_count(), " leaves, but '", source_dimension, "' has ",
                                             source_bridged.leaf_count(), " and '", target_dimension, "' has ",
                                             target_bridged.leaf_count()));
  QA_ASSIGN_OR_RETURN(b.source_layout_, LayoutOf(source));
  QA_ASSIGN_OR_RETURN(b.target_layout_, LayoutOf(target));

  // Pair every other dimension by name, one to one.
  if (source.dimensions.size() != target.dimensions.size())
    return absl::InvalidArgumentError(
        StrCat("apps '", source.name, "' (", StrJoin(DimensionNames(source), ", "), ") and '", target.name, "' (",
               StrJoin(DimensionNames(target), ", "), ") must have the same dimensions apart from the bridged ones"));
  std::vector<bool> target_matched(target.dimensions.size(), false);
  target_matched[static_cast<size_t>(b.target_bridged_)] = true;
  b.translate_.resize(source.dimensions.size());
  for (size_t d = 0; d < source.dimensions.size(); ++d) {
    if (static_cast<int>(d) == b.source_bridged_) continue;
    const Dimension& from = source.dimensions[d];
    const int td = target.FindDimension(from.name());
    if (td < 0 || target_matched[static_cast<size_t>(td)])
      return absl::InvalidArgumentError(StrCat("dimension '", from.name(), "' of source app '", source.name,
                                               "' has no counterpart in target app '", target.name, "' (its dimensions: ",
                                               StrJoin(DimensionNames(target), ", "), "; bridged: '", target_dimension, "')"));
    target_matched[static_cast<size_t>(td)] = true;
    const Dimension& to = target.dimensions[static_cast<size_t>(td)];
    std::vector<std::string> missing, consolidated;
    std::vector<uint64_t>& table = b.translate_[d];
    table.resize(from.leaf_count());
    for (uint32_t ordinal = 0; ordinal < from.leaf_count(); ++ordinal) {
      const std::string& code = from.member(from.leaf_member(ordinal)).code;
      std::optional<MemberId> m = to.Find(code);
      if (!m) {
        missing.push_back(code);
        continue;
      }
      if (!to.is_leaf(*m)) {
        consolidated.push_back(code);
        continue;
      }
      table[ordinal] = static_cast<uint64_t>(to.leaf_ordinal(*m)) << b.target_layout_.shift(td);
    }
    auto named = [](const std::vector<std::string>& codes) {
      std::vector<std::string> head(codes.begin(), codes.begin() + std::min(codes.size(), kMaxNamed));
      return StrCat("'", StrJoin(head, "', '"), "'", codes.size() > kMaxNamed ? StrCat(" and ", codes.size() - kMaxNamed, " more") : "");
    };
    if (!missing.empty())
      return absl::NotFoundError(StrCat(missing.size(), " leaf member(s) of dimension '", from.name(), "' in source app '",
                                        source.name, "' are not in target app '", target.name, "': ", named(missing)));
    if (!consolidated.empty())
      return absl::InvalidArgumentError(StrCat(consolidated.size(), " leaf member(s) of dimension '", from.name(),
                                               "' in source app '", source.name, "' are consolidated in target app '",
                                               target.name, "': ", named(consolidated)));
  }

  b.map_ = std::move(resolved.map);
  b.report_ = std::move(resolved.report);
  b.map_begin_.push_back(0);
  const int target_shift = b.target_layout_.shift(b.target_bridged_);
  for (uint32_t s = 0; s < b.map_.source_leaf_count(); ++s) {
    for (const LeafMapping& m : b.map_.Targets(s))
      b.parts_.push_back({static_cast<uint64_t>(m.target) << target_shift, m.weight});
    b.map_begin_.push_back(static_cast<uint32_t>(b.parts_.size()));
  }
  for (const Dimension& d : target.dimensions) {
    b.target_dimension_names_.push_back(d.name());
    std::vector<MemberId> leaves(d.leaf_count());
    for (uint32_t o = 0; o < d.leaf_count(); ++o) leaves[o] = d.leaf_member(o);
    b.target_leaf_members_.push_back(std::move(leaves));
  }
  return b;
}

absl::StatusOr<Bridge> Bridge::FromRules(const AppModel& source, const AppModel& target,
                                         std::string_view source_dimension, std::string_view target_dimension,
                                         const BridgeRules& rules) {
  const int sd = source.FindDimension(source_dimension);
  const int td = target.FindDimension(target_dimension);
  if (sd < 0 || td < 0) return Create(source, target, source_dimension, target_dimension, ResolvedBridge{});
  return Create(source, target, source_dimension, target_dimension,
                ResolveBridge(source.dimensions[static_cast<size_t>(sd)], target.dimensions[static_cast<size_t>(td)], rules));
}

uint64_t Bridge::TranslatedBase(uint64_t source_key) const {
  uint64_t base = 0;
  for (int d = 0; d < source_layout_.dims(); ++d)
    if (d != source_bridged_) base += translate_[static_cast<size_t>(d)][source_layout_.Get(source_key, d)];
  return base;
}

absl::Status Bridge::CheckSourceKey(uint64_t key) const {
  const int bits = source_layout_.total_bits();
  bool ok = bits >= 64 || (key >> bits) == 0;
  for (int d = 0; ok && d < source_layout_.dims(); ++d) ok = source_layout_.Get(key, d) < source_layout_.leaf_count(d);
  if (!ok) return absl::InvalidArgumentError(StrCat("key ", key, " is not a leaf cell of source app '", source_app_, "'"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TargetDelta>> Bridge::Deltas(std::span<const SourceChange> changes) const {
  std::vector<TargetDelta> out;
  for (size_t i = 0; i < changes.size(); ++i) {
    const SourceChange& c = changes[i];
    QA_RETURN_IF_ERROR(CheckSourceKey(c.key));
    if ((c.old_value && !std::isfinite(*c.old_value)) || (c.new_value && !std::isfinite(*c.new_value)))
      return absl::InvalidArgumentError(StrCat("change ", i + 1, " of ", changes.size(), " (key ", c.key,
                                               "): values must be finite numbers"));
    if (c.old_value == c.new_value) continue;
    const double delta = c.new_value.value_or(0) - c.old_value.value_or(0);
    const uint64_t base = TranslatedBase(c.key);
    // + 0.0 turns a -0.0 contribution into +0.0 (stored numbers are never -0.0).
    for (const KeyPart& p : Parts(source_layout_.Get(c.key, source_bridged_)))
      out.push_back({base + p.part, delta * p.weight + 0.0});
  }
  // One change yields distinct keys, already in order; several may meet on a target cell.
  if (changes.size() > 1) {
    std::stable_sort(out.begin(), out.end(), [](const TargetDelta& a, const TargetDelta& b) { return a.key < b.key; });
    size_t w = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      if (w > 0 && out[w - 1].key == out[i].key) out[w - 1].delta += out[i].delta;
      else out[w++] = out[i];
    }
    out.resize(w);
  }
  return out;
}

absl::Status Bridge::CheckTargetCube(const Cube& target) const {
  const AppModel& m = target.model();
  bool same = m.dimensions.size() == target_dimension_names_.size();
  for (size_t d = 0; same && d < m.dimensions.size(); ++d)
    same = m.dimensions[d].name() == target_dimension_names_[d] &&
           m.dimensions[d].leaf_count() == target_leaf_members_[d].size();
  if (!same)
    return absl::InvalidArgumentError(StrCat("cube '", m.name, "' is not the bridge's target app '", target_app_,
                                             "' (dimensions ", StrJoin(target_dimension_names_, ", "), ")"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CellWrite>> Bridge::TargetWrites(const Cube& target, std::span<const TargetDelta> deltas) const {
  QA_RETURN_IF_ERROR(CheckTargetCube(target));
  std::vector<CellWrite> writes;
  writes.reserve(deltas.size());
  const int dims = target_layout_.dims();
  for (const TargetDelta& d : deltas) {
    if (!std::isfinite(d.delta)) return absl::InvalidArgumentError(StrCat("delta for key ", d.key, " is not finite"));
    Coordinate coord(static_cast<size_t>(dims));
    for (int dim = 0; dim < dims; ++dim) {
      const uint32_t ordinal = target_layout_.Get(d.key, dim);
      if (ordinal >= target_leaf_members_[static_cast<size_t>(dim)].size())
        return absl::InvalidArgumentError(StrCat("key ", d.key, " is not a leaf cell of target app '", target_app_, "'"));
      coord[static_cast<size_t>(dim)] = target_leaf_members_[static_cast<size_t>(dim)][ordinal];
    }
    QA_ASSIGN_OR_RETURN(CellValue current, target.ReadCell(coord));
    if (current.is_text())
      return absl::FailedPreconditionError(StrCat("target cell ", target.model().FormatCoordinate(coord),
                                                  " holds text; a bridge adds numbers only"));
    if (current.is_number() && d.delta == 0) continue;
    writes.push_back({std::move(coord), CellValue::Number((current.is_number() ? current.number : 0.0) + d.delta)});
  }
  return writes;
}

absl::Status Bridge::Apply(Cube* target, std::span<const TargetDelta> deltas, const std::string& user) const {
  QA_ASSIGN_OR_RETURN(std::vector<CellWrite> writes, TargetWrites(*target, deltas));
  if (writes.empty()) return absl::OkStatus();
  return target->Write(writes, user);
}

}  // namespace quantatom

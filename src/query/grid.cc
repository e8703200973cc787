#include "query/grid.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "query/member_set.h"
#include "base/strings.h"

namespace quantatom {

GridQuery OneCellQuery(const Coordinate& coord) {
  GridQuery q;
  q.rows.dims = {0};
  q.rows.tuples = {{coord[0]}};
  q.cols.tuples = {{}};
  for (size_t d = 1; d < coord.size(); ++d) q.slicers.emplace_back(static_cast<int>(d), coord[d]);
  return q;
}

Axis CrossJoin(std::vector<int> dims, const std::vector<std::vector<MemberId>>& lists) {
  Axis axis;
  axis.dims = std::move(dims);
  axis.tuples.push_back({});
  for (const auto& list : lists) {
    std::vector<std::vector<MemberId>> next;
    next.reserve(axis.tuples.size() * list.size());
    for (const auto& t : axis.tuples)
      for (MemberId m : list) {
        next.push_back(t);
        next.back().push_back(m);
      }
    axis.tuples.swap(next);
  }
  return axis;
}

Coordinate ResolvedGrid::CellCoordinate(const GridQuery& q, size_t r, size_t c) const {
  Coordinate coord = fixed;
  for (size_t i = 0; i < q.rows.dims.size(); ++i) coord[q.rows.dims[i]] = q.rows.tuples[r][i];
  for (size_t i = 0; i < q.cols.dims.size(); ++i) coord[q.cols.dims[i]] = q.cols.tuples[c][i];
  return coord;
}

absl::StatusOr<ResolvedGrid> ResolveGrid(const AppModel& model, const GridQuery& query) {
  const int dims = static_cast<int>(model.dimensions.size());
  std::vector<int> placed(dims, 0);
  ResolvedGrid g;
  g.fixed.assign(dims, kNoMember);
  auto place = [&](int d) -> absl::Status {
    if (d < 0 || d >= dims) return absl::InvalidArgumentError(StrCat("dimension index ", d, " is out of range"));
    if (placed[d]++) return absl::InvalidArgumentError(StrCat("dimension '", model.dimensions[d].name(), "' is placed twice"));
    return absl::OkStatus();
  };
  for (const Axis* axis : {&query.rows, &query.cols}) {
    for (int d : axis->dims) QA_RETURN_IF_ERROR(place(d));
    if (axis->tuples.empty()) return absl::InvalidArgumentError("an axis has no member");
    for (const auto& t : axis->tuples) {
      if (t.size() != axis->dims.size())
        return absl::InvalidArgumentError(StrCat("an axis tuple has ", t.size(), " members for ", axis->dims.size(), " dimensions"));
      for (size_t i = 0; i < t.size(); ++i)
        if (t[i] >= model.dimensions[axis->dims[i]].member_count())
          return absl::InvalidArgumentError(StrCat("member id ", t[i], " is out of range in dimension '",
                                                         model.dimensions[axis->dims[i]].name(), "'"));
    }
  }
  for (auto [d, m] : query.slicers) {
    QA_RETURN_IF_ERROR(place(d));
    if (m >= model.dimensions[d].member_count())
      return absl::InvalidArgumentError(StrCat("member id ", m, " is out of range in dimension '", model.dimensions[d].name(), "'"));
    g.fixed[d] = m;
  }
  for (int d = 0; d < dims; ++d) {
    if (placed[d]) continue;
    const Dimension& dim = model.dimensions[d];
    if (dim.roots().size() != 1) {
      std::vector<std::string> codes;
      for (MemberId r : dim.roots()) codes.push_back(dim.member(r).code);
      if (codes.size() > 5) codes.resize(5), codes.push_back("...");
      return absl::InvalidArgumentError(StrCat("dimension '", dim.name(), "' has several top members (",
                                                     StrJoin(codes, ", "), "): choose one as a slicer"));
    }
    g.fixed[d] = dim.roots()[0];
  }
  g.rows = query.rows.tuples.size();
  g.cols = query.cols.tuples.size();
  return g;
}

absl::StatusOr<Grid> EvaluateGrid(const AppModel& model, const CellStore& store, const GridQuery& query,
                                  const ConsolidateOptions& options) {
  QA_ASSIGN_OR_RETURN(ResolvedGrid rg, ResolveGrid(model, query));
  const size_t dims = model.dimensions.size();
  // Distinct members per dimension, and each grid cell's index into them.
  std::vector<std::vector<MemberId>> targets(dims);
  std::vector<absl::flat_hash_map<MemberId, uint32_t>> index(dims);
  auto intern = [&](size_t d, MemberId m) {
    auto [it, inserted] = index[d].emplace(m, static_cast<uint32_t>(targets[d].size()));
    if (inserted) targets[d].push_back(m);
    return it->second;
  };
  for (size_t d = 0; d < dims; ++d)
    if (rg.fixed[d] != kNoMember) intern(d, rg.fixed[d]);
  std::vector<std::vector<uint32_t>> row_idx(rg.rows), col_idx(rg.cols);
  for (size_t r = 0; r < rg.rows; ++r)
    for (size_t i = 0; i < query.rows.dims.size(); ++i) row_idx[r].push_back(intern(query.rows.dims[i], query.rows.tuples[r][i]));
  for (size_t c = 0; c < rg.cols; ++c)
    for (size_t i = 0; i < query.cols.dims.size(); ++i) col_idx[c].push_back(intern(query.cols.dims[i], query.cols.tuples[c][i]));

  QA_ASSIGN_OR_RETURN(DenseTotals totals, Consolidate(model, store, targets, options));
  size_t fixed_offset = 0;
  for (size_t d = 0; d < dims; ++d)
    if (rg.fixed[d] != kNoMember) fixed_offset += totals.stride[d] * index[d][rg.fixed[d]];
  std::vector<size_t> row_off(rg.rows, fixed_offset), col_off(rg.cols, 0);
  for (size_t r = 0; r < rg.rows; ++r)
    for (size_t i = 0; i < query.rows.dims.size(); ++i) row_off[r] += totals.stride[query.rows.dims[i]] * row_idx[r][i];
  for (size_t c = 0; c < rg.cols; ++c)
    for (size_t i = 0; i < query.cols.dims.size(); ++i) col_off[c] += totals.stride[query.cols.dims[i]] * col_idx[c][i];

  Grid grid;
  grid.rows = rg.rows;
  grid.cols = rg.cols;
  grid.cells.resize(rg.rows * rg.cols);
  grid.counts.resize(rg.rows * rg.cols);
  const bool has_text = store.text_cells() > 0;
  std::vector<uint32_t> ordinals(dims);
  for (size_t r = 0; r < rg.rows; ++r) {
    for (size_t c = 0; c < rg.cols; ++c) {
      size_t i = row_off[r] + col_off[c];
      CellValue& out = grid.cells[r * rg.cols + c];
      grid.counts[r * rg.cols + c] = totals.count[i];
      if (totals.count[i] > 0) {
        out = CellValue::Number(totals.sum[i]);
      } else if (has_text) {
        // A leaf coordinate may hold text, which is shown but never summed.
        Coordinate coord = rg.CellCoordinate(query, r, c);
        if (model.IsLeaf(coord)) {
          for (size_t d = 0; d < dims; ++d) ordinals[d] = model.dimensions[d].leaf_ordinal(coord[d]);
          out = store.Get(store.layout().Pack(ordinals.data()));
        }
      }
    }
  }
  return grid;
}

absl::StatusOr<Axis> ParseAxis(const AppModel& model, std::string_view text) {
  std::vector<int> dims;
  std::vector<std::vector<MemberId>> lists;
  for (std::string_view part : SplitTrimmed(text, ';')) {
    size_t colon = part.find(':');
    if (colon == std::string_view::npos)
      return absl::InvalidArgumentError(StrCat("axis part '", Trim(part),
                                                     "' is not of the form Dimension: members"));
    std::string_view name = Trim(part.substr(0, colon));
    int d = model.FindDimension(name);
    if (d < 0) return absl::NotFoundError(StrCat("unknown dimension '", name, "'"));
    QA_ASSIGN_OR_RETURN(auto members, ParseMemberSet(model.dimensions[d], part.substr(colon + 1)));
    dims.push_back(d);
    lists.push_back(std::move(members));
  }
  if (dims.empty()) return absl::InvalidArgumentError("an axis needs at least one dimension");
  return CrossJoin(std::move(dims), lists);
}

absl::StatusOr<std::vector<std::pair<int, MemberId>>> ParseSlicers(const AppModel& model, std::string_view text) {
  std::vector<std::pair<int, MemberId>> out;
  for (std::string_view part : SplitTrimmed(text, ',')) {
    part = Trim(part);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      return absl::InvalidArgumentError(StrCat("slicer '", part, "' is not of the form Dimension=Member"));
    std::string_view name = Trim(part.substr(0, eq));
    std::string_view code = Trim(part.substr(eq + 1));
    int d = model.FindDimension(name);
    if (d < 0) return absl::NotFoundError(StrCat("unknown dimension '", name, "'"));
    auto m = model.dimensions[d].Find(code);
    if (!m) return absl::NotFoundError(StrCat("unknown member '", code, "' in dimension '", name, "'"));
    out.emplace_back(d, *m);
  }
  return out;
}

}  // namespace quantatom

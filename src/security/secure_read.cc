#include "security/secure_read.h"

#include "base/status.h"
#include "query/consolidate.h"

namespace quantatom {
namespace {

enum class Shown { kHidden, kPlain, kVisibleSum };

Shown Decide(const AppModel& model, const Coordinate& coord, const CellRights& rights, TotalsPolicy policy) {
  if (!rights.CanRead(coord)) return Shown::kHidden;
  if (rights.admin() || model.IsLeaf(coord) || policy == TotalsPolicy::kIncludeHidden) return Shown::kPlain;
  if (rights.ReadsAllBelow(coord)) return Shown::kPlain;
  return policy == TotalsPolicy::kDeny ? Shown::kHidden : Shown::kVisibleSum;
}

}  // namespace

std::pair<double, size_t> VisibleTotal(const Cube& cube, const Coordinate& coord, const CellRights& rights) {
  const AppModel& model = cube.model();
  return cube.WithStore([&](const CellStore& store) {
    CellSelection sel = SelectCellsUnder(model, store, coord);
    const KeyLayout& layout = store.layout();
    const size_t dims = model.dimensions.size();
    std::vector<uint32_t> ordinals(dims);
    Coordinate leaf(dims);
    double sum = 0;
    size_t count = 0;
    auto visit = [&](uint64_t key, double value, double weight) {
      layout.Unpack(key, ordinals.data());
      for (size_t d = 0; d < dims; ++d) leaf[d] = model.dimensions[d].leaf_member(ordinals[d]);
      if (!rights.CanRead(leaf)) return;
      sum += value * weight;
      ++count;
    };
    auto values = store.values();
    for (size_t i = 0; i < sel.main_positions.size(); ++i) {
      uint32_t pos = sel.main_positions[i];
      visit(store.MainKey(store.RunOf(pos), pos), values[pos], sel.main_weights[i]);
    }
    for (size_t i = 0; i < sel.delta_keys.size(); ++i) {
      visit(sel.delta_keys[i], store.delta().at(sel.delta_keys[i]), sel.delta_weights[i]);
    }
    return std::make_pair(sum, count);
  });
}

absl::StatusOr<SecureGrid> QueryAs(const Cube& cube, const GridQuery& q, const CellRights& rights,
                                   TotalsPolicy policy, const Cube::ReadOptions& options) {
  SecureGrid out;
  QA_ASSIGN_OR_RETURN(out.grid, cube.Query(q, options));
  out.hidden.assign(out.grid.cells.size(), 0);
  if (rights.admin()) return out;
  QA_ASSIGN_OR_RETURN(ResolvedGrid resolved, ResolveGrid(cube.model(), q));
  for (size_t r = 0; r < out.grid.rows; ++r) {
    for (size_t c = 0; c < out.grid.cols; ++c) {
      size_t i = r * out.grid.cols + c;
      Coordinate coord = resolved.CellCoordinate(q, r, c);
      switch (Decide(cube.model(), coord, rights, policy)) {
        case Shown::kPlain:
          break;
        case Shown::kHidden:
          out.hidden[i] = 1;
          out.grid.cells[i] = CellValue::Empty();
          break;
        case Shown::kVisibleSum: {
          auto [sum, count] = VisibleTotal(cube, coord, rights);
          out.grid.cells[i] = count == 0 ? CellValue::Empty() : CellValue::Number(sum);
          break;
        }
      }
    }
  }
  return out;
}

absl::StatusOr<std::optional<CellValue>> ReadCellAs(const Cube& cube, const Coordinate& coord,
                                                    const CellRights& rights, TotalsPolicy policy,
                                                    const Cube::ReadOptions& options) {
  switch (Decide(cube.model(), coord, rights, policy)) {
    case Shown::kHidden:
      return std::optional<CellValue>();
    case Shown::kPlain: {
      QA_ASSIGN_OR_RETURN(CellValue v, cube.ReadCell(coord, options));
      return std::optional<CellValue>(v);
    }
    case Shown::kVisibleSum: {
      auto [sum, count] = VisibleTotal(cube, coord, rights);
      return std::optional<CellValue>(count == 0 ? CellValue::Empty() : CellValue::Number(sum));
    }
  }
  return std::optional<CellValue>();
}

}  // namespace quantatom

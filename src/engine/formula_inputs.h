// Reading the inputs of a leaf-level formula at one leaf cell, key lookup by key lookup
// (engine-internal). The general path: any input, any cell. Full recalculation reads the
// common inputs by merged slice walks instead (formula_bulk.h) and comes here only for the
// rest (attributes, lookups, pinned members, time windows), in the same order of additions so
// that both give the same bits.
#pragma once

#include <tuple>

#include "engine/formula_state.h"

namespace quantatom {

struct InputValue {
  double value = 0;
  uint32_t count = 0;  // non-empty cells read
};

// The value of an input from the sum and count of the cells it read.
inline double FinishInput(const formula::Input& in, double sum, uint32_t count) {
  switch (in.aggregate) {
    case formula::Input::Aggregate::kSum: return sum;
    case formula::Input::Aggregate::kCount: return count;
    case formula::Input::Aggregate::kAverage: return count ? sum / count : ErrorValue(CellError::kDivZero);
  }
  return sum;
}

// Const over the cells: safe on many threads. `Cells` is the CellStore, or a view of it with
// some cells replaced (a sandbox's, engine/sandbox.h): anything with Get(key) and layout().
template <typename Cells>
class LeafReaderOver {
 public:
  LeafReaderOver(const AppModel& model, const Cells& store, const FormulaState& st)
      : model_(model), store_(store), st_(st), dims_(static_cast<int>(model.dimensions.size())) {}

  InputValue Read(const CompiledFormula& f, size_t i, const uint32_t* target) const {
    const formula::Input& in = f.bound.inputs[i];
    switch (in.kind) {
      case formula::Input::Kind::kAttribute: {
        const Dimension& d = model_.dimensions[in.attr_dim];
        return {in.attr_values[d.leaf_member(target[in.attr_dim])], 0};
      }
      case formula::Input::Kind::kOtherApp: return ReadOtherApp(in, target);
      case formula::Input::Kind::kCells: break;
    }
    double sum = 0;
    uint32_t count = 0;
    const int tdim = st_.time.dim;
    for (size_t t = 0; t < in.terms.size(); ++t) {
      int64_t lo = 0, hi = 0;
      const bool windowed = tdim >= 0 && in.time != formula::TimeMode::kSame;
      if (windowed) std::tie(lo, hi) = st_.time.Window(in.time, in.shift, target[tdim]);
      for (int64_t p = lo; p <= hi; ++p) {
        uint32_t ord[64];
        for (int d = 0; d < dims_; ++d) ord[d] = target[d];
        ord[st_.dim] = f.member_ordinal;
        if (windowed) ord[tdim] = static_cast<uint32_t>(p);
        const auto& pins = f.pinned[i][t];
        if (f.simple[i][t]) {
          for (int d = 0; d < dims_; ++d)
            if (!pins[d].empty()) ord[d] = pins[d][0].first;
          Add(store_.Get(store_.layout().Pack(ord)), 1.0, &sum, &count);
        } else {
          Enumerate(pins, ord, 0, 1.0, &sum, &count);
        }
      }
    }
    return {FinishInput(in, sum, count), count};
  }

 private:
  static void Add(const CellValue& v, double weight, double* sum, uint32_t* count) {
    if (v.is_number()) {
      *sum += weight * v.number;
      ++*count;
    } else if (v.is_text()) {
      *sum += ErrorValue(CellError::kValue);
      ++*count;
    }
  }

  void Enumerate(const std::vector<std::vector<std::pair<uint32_t, double>>>& pins, uint32_t* ord, int d, double w,
                 double* sum, uint32_t* count) const {
    if (d == dims_) {
      Add(store_.Get(store_.layout().Pack(ord)), w, sum, count);
      return;
    }
    if (pins[d].empty()) return Enumerate(pins, ord, d + 1, w, sum, count);
    const uint32_t keep = ord[d];
    for (auto [o, weight] : pins[d]) {
      ord[d] = o;
      Enumerate(pins, ord, d + 1, w * weight, sum, count);
    }
    ord[d] = keep;
  }

  InputValue ReadOtherApp(const formula::Input& in, const uint32_t* target) const {
    const Cube* other = st_.apps ? st_.apps(in.app) : nullptr;
    if (!other) return {ErrorValue(CellError::kRef), 0};
    Coordinate coord(in.other_dims.size());
    for (size_t od = 0; od < coord.size(); ++od) {
      const formula::Input::OtherDim& o = in.other_dims[od];
      if (o.pinned != kNoMember) {
        coord[od] = o.pinned;
        continue;
      }
      coord[od] = o.by_member[model_.dimensions[o.follows].leaf_member(target[o.follows])];
      if (coord[od] == kNoMember) return {ErrorValue(CellError::kRef), 0};
    }
    auto v = other->ReadCell(coord);
    if (!v.ok()) return {ErrorValue(CellError::kRef), 0};
    if (v->is_text()) return {ErrorValue(CellError::kValue), 0};
    return {v->is_number() ? v->number : 0.0, 0};
  }

  const AppModel& model_;
  const Cells& store_;
  const FormulaState& st_;
  const int dims_;
};

using LeafReader = LeafReaderOver<CellStore>;

}  // namespace quantatom

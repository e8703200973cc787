#include "store/slice_cursor.h"

#include <algorithm>

namespace quantatom {

std::vector<SliceExtra> SliceExtras(const CellStore& store, int dim, uint32_t ordinal) {
  const KeyLayout& layout = store.layout();
  std::vector<SliceExtra> out;
  for (const auto& [key, v] : store.delta())
    if (layout.Get(key, dim) == ordinal) out.push_back({SliceCursor::Residual(layout, dim, key), v, false});
  for (const auto& [key, t] : store.texts())
    if (layout.Get(key, dim) == ordinal) out.push_back({SliceCursor::Residual(layout, dim, key), 0.0, true});
  std::sort(out.begin(), out.end(), [](const SliceExtra& a, const SliceExtra& b) { return a.residual < b.residual; });
  return out;
}

SliceCursor::SliceCursor(const CellStore& store, int dim, uint32_t ordinal, const std::vector<SliceExtra>* extras,
                         uint64_t lo, uint64_t hi)
    : store_(store),
      layout_(store.layout()),
      dim_(dim),
      ordinal_(ordinal),
      inner_(dim == store.layout().inner_dim()),
      hi_(hi),
      check_deleted_(!store.deleted().empty()),
      runs_(store.run_count()),
      extras_(extras) {
  if (!inner_) {
    prefix_shift_ = layout_.shift(dim) - layout_.inner_bits();
    prefix_mask_ = FieldMask(layout_, dim);
  }
  const uint64_t key_lo = WithOrdinal(layout_, dim, lo, ordinal);
  const auto prefixes = store.run_prefixes();
  run_ = static_cast<size_t>(std::lower_bound(prefixes.begin(), prefixes.end(), layout_.Prefix(key_lo)) - prefixes.begin());
  first_run_ = run_;
  if (run_ < runs_ && prefixes[run_] == layout_.Prefix(key_lo)) {
    const uint32_t inner = static_cast<uint32_t>(key_lo & ((uint64_t{1} << layout_.inner_bits()) - 1));
    const auto starts = store.run_starts();
    first_pos_ = store.VisitInner([&](const auto* ordinals) {
      return static_cast<size_t>(std::lower_bound(ordinals + starts[run_], ordinals + starts[run_ + 1], inner) - ordinals);
    });
  } else {
    first_pos_ = run_ < runs_ ? store.run_starts()[run_] : 0;
  }
  SettleMain();
  extra_ = static_cast<size_t>(std::lower_bound(extras->begin(), extras->end(), lo,
                                                [](const SliceExtra& e, uint64_t r) { return e.residual < r; }) -
                               extras->begin());
  Pick();
}

size_t SliceCursor::SeekRun(size_t from, uint64_t prefix) const {
  const auto prefixes = store_.run_prefixes();
  if (from >= runs_ || prefixes[from] >= prefix) return from;
  size_t step = 1;
  while (from + step < runs_ && prefixes[from + step] < prefix) step *= 2;
  const size_t lo = from + step / 2 + 1, hi = std::min(from + step, runs_);
  return static_cast<size_t>(std::lower_bound(prefixes.begin() + static_cast<std::ptrdiff_t>(lo),
                                              prefixes.begin() + static_cast<std::ptrdiff_t>(hi), prefix) -
                             prefixes.begin());
}

void SliceCursor::SettleMain() {
  const auto prefixes = store_.run_prefixes();
  const auto starts = store_.run_starts();
  const int inner_bits = layout_.inner_bits();
  for (;;) {
    if (pos_ < run_end_) {  // a cell of a run of the slice
      const uint64_t res = run_residual_ | (inner_ ? 0 : store_.inner_at(pos_));
      if (res >= hi_) break;
      if (check_deleted_ && store_.values()[pos_] == 0 &&
          store_.deleted().contains(layout_.Join(prefixes[run_], store_.inner_at(pos_)))) {
        ++pos_;
        continue;
      }
      main_res_ = res;
      return;
    }
    if (run_end_ != 0) {  // leave the finished run
      ++run_;
      run_end_ = pos_ = 0;
    }
    if (run_ >= runs_) break;
    const uint64_t p = prefixes[run_];
    const size_t begin = run_ == first_run_ ? first_pos_ : starts[run_];
    if (inner_) {
      run_residual_ = p << inner_bits;
      if (run_residual_ >= hi_) break;
      const size_t at = store_.VisitInner([&](const auto* ordinals) {
        return static_cast<size_t>(std::lower_bound(ordinals + begin, ordinals + starts[run_ + 1], ordinal_) - ordinals);
      });
      if (at < starts[run_ + 1] && store_.inner_at(at) == ordinal_) {
        pos_ = at;
        run_end_ = at + 1;
      } else {
        ++run_;
      }
      continue;
    }
    const uint64_t field = (p >> prefix_shift_) & prefix_mask_;
    if (field == ordinal_) {
      pos_ = begin;
      run_end_ = starts[run_ + 1];
      run_residual_ = (p & ~(prefix_mask_ << prefix_shift_)) << inner_bits;
      continue;
    }
    // Skip to the next prefix with the slice's ordinal: in the same higher fields when this
    // run's ordinal is below it, else in the next value of the higher fields.
    const uint64_t low = prefix_shift_ == 0 ? 0 : p & ((uint64_t{1} << prefix_shift_) - 1);
    uint64_t target;
    if (field < ordinal_) {
      target = (p & ~(prefix_mask_ << prefix_shift_) & ~low) | (static_cast<uint64_t>(ordinal_) << prefix_shift_);
    } else {
      const int above = prefix_shift_ + layout_.bits(dim_);
      if (above >= 64) break;
      const uint64_t high = (p >> above) + 1;
      if (((high << above) >> above) != high) break;  // past the last possible prefix
      target = (high << above) | (static_cast<uint64_t>(ordinal_) << prefix_shift_);
    }
    run_ = SeekRun(run_ + 1, target);
  }
  main_res_ = kEnd;
  run_ = runs_;
  run_end_ = pos_ = 0;
}

void SliceCursor::Pick() {
  const uint64_t extra = extra_ < extras_->size() && (*extras_)[extra_].residual < hi_ ? (*extras_)[extra_].residual : kEnd;
  if (main_res_ <= extra) {
    cur_ = main_res_;
    from_main_ = true;
    text_ = false;
    value_ = main_res_ == kEnd ? 0 : store_.values()[pos_];
  } else {
    cur_ = extra;
    from_main_ = false;
    text_ = (*extras_)[extra_].text;
    value_ = (*extras_)[extra_].value;
  }
}

void SliceCursor::Next() {
  if (cur_ == kEnd) return;
  if (from_main_) {
    ++pos_;
    SettleMain();
  } else {
    ++extra_;
  }
  Pick();
}

}  // namespace quantatom

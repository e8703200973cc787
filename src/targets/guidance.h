// Guidance: the share of each target that falls on each leaf below it.
//
// Each leaf has at most one governing target, the innermost one above it (target_layer.h
// forbids partial overlaps). A target spreads its value over the leaves it governs, treating
// the leaves of the targets nested inside it as held cells whose values are their own
// guidance: so it spreads only its remainder, exactly as a spread with holds does
// (docs/spreading.md). Proportional guidance follows the basis cells (empty basis leaves get
// no guidance; an all-empty or zero basis falls back to equal over every leaf of the cross
// product); equal guidance covers every leaf of the cross product. The rules, with the errors,
// are in docs/targets.md.
//
// Guidance is kept per target as two parallel arrays, packed leaf keys (store/key_layout.h)
// sorted ascending and values, in LargeVectors: a million leaves cost 16 MB and are computed in
// one pass over the basis cells plus one multiply (the proportional factor follows from the
// sums, as in Cube::Spread's fast path), or, for equal guidance, by ComputeSpread over the
// enumerated leaves.
//
// Pure functions of the model, the cells and the layer: no locks (the caller holds the cube's
// read lock; see targets.h).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "base/large_allocator.h"
#include "base/status.h"
#include "store/cell_store.h"
#include "targets/target_layer.h"

namespace quantatom {

// A LargeVector whose new elements are left uninitialised: guidance arrays are sized once and
// then written in full, and zeroing 16 MB per million leaves first would cost a whole pass.
template <typename T>
struct UninitLargeAllocator : LargeAllocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitLargeAllocator<U>;
  };
  UninitLargeAllocator() = default;
  template <typename U>
  UninitLargeAllocator(const UninitLargeAllocator<U>&) {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <typename T>
using GuidanceArray = std::vector<T, UninitLargeAllocator<T>>;

struct TargetGuidance {
  GuidanceArray<uint64_t> keys;  // leaves governed by this target, ascending
  GuidanceArray<double> values;  // guidance per key
  bool equal = false;          // spread equally (equal method, or proportional over a zero basis)
  double held = 0;             // weighted guidance of the nested targets' leaves (the held part)
  size_t size() const { return keys.size(); }
  // Guidance at `key`, or nullopt if this target gives that leaf none.
  std::optional<double> Find(uint64_t key) const;
};

struct GuidanceOptions {
  // Largest cross product that equal guidance (or the proportional fallback) may fill; beyond
  // it, FailedPrecondition, as Cube::Spread's max_leaves.
  size_t max_leaves = 1'000'000;
  bool parallel = true;
};

// The guidance of every target of `layer`, index-aligned with layer.targets(). Fails (with the
// target's coordinate in the message) when a target cannot be met: FailedPrecondition when
// nested targets cover all its leaves but leave a non-zero remainder, when the leaves' weights
// cancel, or when equal guidance would exceed max_leaves; InvalidArgument when a result is not
// finite.
// `recycle`, when given, is a previous result whose arrays may be reused (it is consumed):
// recomputing then writes into memory already mapped instead of faulting in fresh pages.
absl::StatusOr<std::vector<TargetGuidance>> ComputeGuidance(const TargetLayer& layer, const CellStore& store,
                                                            const GuidanceOptions& options = {},
                                                            std::vector<TargetGuidance>* recycle = nullptr);

}  // namespace quantatom

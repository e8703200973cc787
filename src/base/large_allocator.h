// An allocator for large arrays (cell columns, sort buffers, dense totals).
//
// First-touch page faults are the hidden cost of big allocations: on the virtual machines this
// project runs on, touching 160 MB of fresh 4 KiB pages takes ~400 ms, while the same memory
// mapped with transparent huge pages and populated in one call takes ~8 ms. Allocations of at
// least 1 MiB therefore get their own mapping, advised as huge pages and populated up front;
// smaller ones go to malloc.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace quantatom {

void* LargeAllocate(size_t bytes);
void LargeFree(void* p, size_t bytes);

template <typename T>
struct LargeAllocator {
  using value_type = T;
  LargeAllocator() = default;
  template <typename U>
  LargeAllocator(const LargeAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(LargeAllocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { LargeFree(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const LargeAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using LargeVector = std::vector<T, LargeAllocator<T>>;

// For buffers sized by an upper bound and filled only in part (a spread's record, sized by the
// cells of the runs it visits): large ones are mapped as huge pages but not populated, so only
// the part written is ever faulted in, a 2 MiB page at a time.
void* LazyAllocate(size_t bytes);
void LazyFree(void* p, size_t bytes);

template <typename T>
struct LazyAllocator {
  using value_type = T;
  LazyAllocator() = default;
  template <typename U>
  LazyAllocator(const LazyAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(LazyAllocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { LazyFree(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const LazyAllocator<U>&) const {
    return true;
  }
};

}  // namespace quantatom

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

}  // namespace quantatom

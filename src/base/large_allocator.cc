#include "base/large_allocator.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace quantatom {

namespace {
constexpr size_t kLargeThreshold = size_t{1} << 20;
#ifndef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14
#endif
}  // namespace

void* LargeAllocate(size_t bytes) {
  if (bytes < kLargeThreshold) {
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_HUGEPAGE);
  if (::madvise(p, bytes, MADV_POPULATE_WRITE) != 0) {
    // Older kernels: touch one byte per page instead (still one fault per page, but no worse
    // than malloc).
    for (size_t i = 0; i < bytes; i += 4096) static_cast<volatile char*>(p)[i] = 0;
  }
  return p;
}

void LargeFree(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kLargeThreshold) std::free(p);
  else ::munmap(p, bytes);
}

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
size_t LazyMappingBytes(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }
}  // namespace

void* LazyAllocate(size_t bytes) {
  if (bytes < kLargeThreshold) {
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  // A whole number of huge pages, so that the kernel can back all of it with them.
  const size_t len = LazyMappingBytes(bytes);
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, len, MADV_HUGEPAGE);
  return p;
}

void LazyFree(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kLargeThreshold) std::free(p);
  else ::munmap(p, LazyMappingBytes(bytes));
}

}  // namespace quantatom

// libFuzzer target for the app snapshot reader (DecodeAppSnapshot, docs/formats/app-snapshot.md).
// Each input is tried as it is and with its trailing checksum recomputed, so that mutations
// reach the parser behind the checksum (a crafted file can carry a valid checksum).
//   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DQUANTATOM_FUZZ=ON
//   ninja -C build-fuzz snapshot_reader_fuzz
//   build-fuzz/src/engine/snapshot_reader_fuzz src/engine/snapshot_fuzz_corpus
// The corpus is also replayed (with truncations and bit flips) by qa_engine_test.
#include <cstdint>
#include <cstring>
#include <string>

#include "base/file_util.h"
#include "engine/data_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  for (int fixed = 0; fixed < 2; ++fixed) {
    if (fixed) {
      if (bytes.size() < 8) break;
      const uint64_t sum = quantatom::Checksum64(bytes.data(), bytes.size() - 8);
      std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
    }
    quantatom::SnapshotSections extra;
    auto cube = quantatom::DecodeAppSnapshot(bytes, "fuzz", "acme", &extra);
    if (cube.ok()) (void)quantatom::EncodeAppSnapshot(**cube, extra);  // what loads must save
  }
  return 0;
}

// libFuzzer target: any bytes through ReadLogBytes, with and without salvage. The reader must
// not crash, and what it accepts must obey its contract.
//   ./build-fuzz/src/wal/log_reader_fuzz src/wal/fuzz_corpus -max_total_time=60
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wal/log_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (bool salvage : {false, true}) {
    auto contents = quantatom::wal::ReadLogBytes(bytes, {.salvage = salvage});
    if (!contents.ok()) {
      if (salvage || !absl::IsDataLoss(contents.status())) std::abort();
      continue;
    }
    if (contents->valid_bytes > size) std::abort();
    if (contents->truncated_tail != (contents->valid_bytes < size)) std::abort();
    for (size_t i = 1; i < contents->records.size(); ++i) {
      if (contents->records[i].seq != contents->records[i - 1].seq + 1) std::abort();
    }
  }
  return 0;
}

// libFuzzer target: any bytes through Parse. The parser must not crash, every error must name
// a line and column, and what it accepts must round-trip: Parse(Print(t)) is t, and printing
// is a fixed point.
//   ./build-fuzz/src/formula/formula_parser_fuzz src/formula/fuzz_corpus -max_total_time=60
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formula/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tree = quantatom::formula::Parse(text);
  if (!tree.ok()) {
    if (!absl::IsInvalidArgument(tree.status())) std::abort();
    return 0;
  }
  std::string printed = quantatom::formula::Print(**tree);
  auto again = quantatom::formula::Parse(printed);
  if (!again.ok() || !(*again)->SameTree(**tree)) std::abort();
  if (quantatom::formula::Print(**again) != printed) std::abort();
  return 0;
}

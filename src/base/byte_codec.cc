#include "base/byte_codec.h"

#include "base/strings.h"

namespace quantatom {

absl::Status ByteReader::Error(std::string_view what) const {
  return absl::DataLossError(StrCat(context_, ": ", what, " at byte ", pos_));
}

absl::Status ByteReader::Truncated(std::string_view what) const {
  if (what.empty()) return absl::DataLossError(StrCat(context_, ": truncated at byte ", pos_));
  return absl::DataLossError(StrCat(context_, ": truncated at byte ", pos_, " (reading ", what, ")"));
}

}  // namespace quantatom

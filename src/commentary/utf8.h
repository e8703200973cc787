// Strict UTF-8 validation for comment text and authors.
#pragma once

#include <string_view>

namespace quantatom::commentary_internal {

// True if `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
bool IsValidUtf8(std::string_view text);

}  // namespace quantatom::commentary_internal

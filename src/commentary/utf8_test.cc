#include "commentary/utf8.h"

#include <gtest/gtest.h>

namespace quantatom::commentary_internal {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  for (const char* text : {"", "plain", "é", "中文", "👍", "\x7F", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"})
    EXPECT_TRUE(IsValidUtf8(text)) << text;
}

TEST(Utf8Test, RejectsMalformedText) {
  for (const char* text : {"\x80", "\xC3", "\xE4\xB8", "\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80",
                           "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\xFF", "ok\xC3(", "\xF0\x9F\x91"})
    EXPECT_FALSE(IsValidUtf8(text)) << testing::PrintToString(text);
}

}  // namespace
}  // namespace quantatom::commentary_internal

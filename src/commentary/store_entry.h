// How CommentStore keeps one entry (the coordinate and adjustment value live in RegionIndex).
// Internal to the module: shared by comment_store.cc and comment_codec.cc.
#pragma once

#include <string>

#include "commentary/comment_store.h"

namespace quantatom {

struct CommentStore::Entry {
  CommentKind kind = CommentKind::kNote;
  bool has_adjustment = false;
  CommentId parent = kNoComment;
  CommentId retracted_by = kNoComment;  // derived from the retraction entries, never stored
  int64_t time_ms = 0;
  std::string author;
  std::string text;
};

}  // namespace quantatom

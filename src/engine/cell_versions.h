// Cell versions: what a writer that worked from an older state of an app needs to know before
// its changes go in (DESIGN.md §3 "Writing": a write may carry the version its writer last
// saw, and is rejected if the cell changed since).
//
// A version is the cube's sequence number (Cube::CurrentSeq): every change to the cells (a
// write, a spread, an undo, a redo, a rescale, a load) advances it by at least one, under the
// cube's write lock. A cell "changed after S" when a change set applied, undone or redone
// after S touched it, or a rescale after S covered it, or the app was loaded after S.
// Versions are answered from the history of change sets (engine/history.h): no per-cell
// counter is kept, so a spread over millions of cells costs nothing more.
//
// These are plain value types; engine/cube.h has the methods (CurrentSeq, ChangedSince,
// FindConflicts, WriteVersioned) and engine/sandbox.h the main user.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/app_model.h"
#include "model/cell_value.h"
#include "engine/version_vector.h"

namespace quantatom {

// The newest change to one cell after some sequence number.
struct BaseChange {
  uint64_t key = 0;         // packed leaf key (Cube::PackLeaf)
  uint64_t seq = 0;         // when it happened
  uint64_t change_set = 0;  // the change set's id; 0 for a rescale or a load (not recorded)
  std::string user;         // who ("" for a rescale or a load)
  std::string action;       // "write", "spread", "undo of write", "redo of spread", "scale", "load"...
};

// A leaf write that carries the version its writer last saw of the cell.
struct VersionedWrite {
  uint64_t key = 0;  // packed leaf key (Cube::PackLeaf)
  CellValue value;   // empty clears the cell
  uint64_t seen_seq = 0;
  // The whole vector clock the writer's value derives from (a sandbox cell), or null: then
  // only `seen_seq`, the app's entry, is compared (engine/version_vector.h).
  const VersionVector* seen = nullptr;
};

// What to do with the writes whose cell changed after their `seen_seq`.
enum class ConflictPolicy {
  kAbort,      // write nothing; the error lists the conflicting cells
  kKeepMine,   // write them anyway (they are reported as overwritten)
  kKeepTheirs, // skip them, write the rest (they are reported as skipped)
};

// A write whose cell changed after its writer's version.
struct WriteConflict {
  uint64_t key = 0;
  Coordinate coord;   // leaf members
  CellValue current;  // the app's value now
  CellValue mine;     // the value the writer wants
  uint64_t seen_seq = 0;
  BaseChange change;  // the newest change the writer did not see
};

struct VersionedWriteResult {
  uint64_t change_set = 0;  // the one change set recorded
  size_t written = 0;       // writes applied
  std::vector<WriteConflict> conflicts;  // overwritten (keep mine) or skipped (keep theirs)
  size_t superseded = 0;  // writes skipped: the app's newest change already saw them (vectors)
};

}  // namespace quantatom

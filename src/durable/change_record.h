// The payload of one write-ahead log record: everything one mutation of an app changed
// (docs/formats/change-record.md). Cells are logged physically (key, value before, value after),
// so that replay does not re-run spreads or bridges and the audit trail has both values; the
// other layers are logged as what they became (a user's holds, a section's bytes).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/cube.h"

namespace quantatom::durable {

// A change set the mutation recorded in the cube's history (engine/history.h).
struct LoggedChangeSet {
  uint64_t id = 0;
  std::string user, action;
  std::vector<RecordedChange> changes;  // in the order applied
  // A sandbox commit: the other replicas' counters the app's clock had after it (cumulative,
  // Cube::MergedAfter; engine/version_vector.h). Empty for every other change set.
  VersionVector merged;
};

// An undo or redo of an earlier change set; `changes` are the cells it set (for the audit
// trail; replay runs Cube::Undo / Redo, which marks the history as the original did).
struct LoggedUndo {
  bool redo = false;
  std::string user;
  uint64_t id = 0;
  std::vector<RecordedChange> changes;
};

// A user's holds after the mutation (all of them).
struct LoggedHolds {
  std::string user;
  std::vector<Coordinate> holds;
};

// A named layer kept with the app (comments, targets, a bridge's keys, a sandbox) after the
// mutation: its bytes, or removed.
struct LoggedSection {
  std::string name;
  std::optional<std::string> bytes;  // nullopt: removed
};

// A formula definition set or removed on a member (model metadata: the computed cells are
// derived, never logged; replay recomputes them). Before and after, for the audit trail.
struct LoggedFormula {
  std::string dimension, member;
  std::optional<FormulaDefinition> before;  // nullopt: the member had no formula
  std::optional<FormulaDefinition> after;   // nullopt: removed
  bool operator==(const LoggedFormula&) const = default;
};

struct ChangeRecord {
  int64_t time_us = 0;  // wall clock, microseconds since 1970 (UTC)
  std::string user;
  std::string cause;  // what the user did: "write", "spread", "bridge", "undo", "hold", "comment"...
  std::vector<LoggedChangeSet> sets;
  std::vector<LoggedUndo> undos;
  std::vector<LoggedHolds> holds;
  std::vector<LoggedSection> sections;
  std::vector<LoggedFormula> formulas;
  bool empty() const {
    return sets.empty() && undos.empty() && holds.empty() && sections.empty() && formulas.empty();
  }
};

// A change set logged straight from the cube's history (Cube::ReadChangeSetsAfter), without
// flattening it into RecordedChanges first: encoded as the same bytes as a LoggedChangeSet of
// Cube::Flatten(*set) with `merged`.
struct ChangeSetInPlace {
  const ChangeSet* set = nullptr;
  const VersionVector* merged = nullptr;  // null or empty: not a sandbox commit
};

// An undo or redo logged straight from the change set it undid or redid, where the cube's
// history keeps it (Cube::ReadChangeSetsAfter): encoded as the same bytes as a LoggedUndo whose
// cells are Cube::Flatten(*set), backwards with before and after swapped for an undo (the
// cells as the undo set them), as they are for a redo. A 1M-cell undo is neither copied nor
// flattened first.
struct UndoInPlace {
  bool redo = false;
  const std::string* user = nullptr;
  uint64_t id = 0;
  const ChangeSet* set = nullptr;
};

// An encoded record in one buffer sized once from an upper bound of its length and mapped
// lazily (base/large_allocator.h): a bulk write's record is tens of MB, and a string grown by
// doubling would copy it and fault its pages in again at every step. Move-only.
class EncodedRecord {
 public:
  EncodedRecord() = default;
  EncodedRecord(EncodedRecord&& other) noexcept { *this = std::move(other); }
  EncodedRecord& operator=(EncodedRecord&& other) noexcept;
  EncodedRecord(const EncodedRecord&) = delete;
  EncodedRecord& operator=(const EncodedRecord&) = delete;
  ~EncodedRecord();
  std::string_view bytes() const { return {data_, size_}; }

 private:
  friend EncodedRecord EncodeChangeRecord(const ChangeRecord&, std::span<const UndoInPlace>,
                                          std::span<const ChangeSetInPlace>);
  char* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

// The record's bytes; `in_place` change sets follow `record.sets` (the format has one list of
// change sets). The bytes do not depend on which of the two holds a set.
EncodedRecord EncodeChangeRecord(const ChangeRecord& record, std::span<const ChangeSetInPlace> in_place);
// The same with undos and redos in place; they follow `record.undos` (the format has one list
// of undo and redo parts, before the change sets).
EncodedRecord EncodeChangeRecord(const ChangeRecord& record, std::span<const UndoInPlace> undos,
                                 std::span<const ChangeSetInPlace> in_place);
std::string EncodeChangeRecord(const ChangeRecord& record);
// DataLoss naming `where` (e.g. "log record 17") for bytes that do not decode; never reads out
// of bounds and allocates no more than the bytes justify.
absl::StatusOr<ChangeRecord> DecodeChangeRecord(std::string_view bytes, std::string_view where);
// The same, but the cells of undos and change sets are handed to `cell` as they are read, in
// the record's order, and not kept (their `changes` stay empty): for a reader that wants them
// one at a time (the audit entries of a bulk write). `record` is the record read so far; the
// cell belongs to its last undo (`undo`) or its last change set. On an error, the cells before
// it have been handed over already.
using CellVisitor = std::function<void(const ChangeRecord& record, bool undo, const RecordedChange& cell)>;
absl::StatusOr<ChangeRecord> DecodeChangeRecord(std::string_view bytes, std::string_view where, const CellVisitor& cell);

}  // namespace quantatom::durable

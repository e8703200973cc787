// Reading small, header-less CSV files with precise error locations.
//
// CsvFile loads a whole file and hands out its records one at a time, each with its 1-based
// line number, so that every error can name "file:line". Fields may be quoted ("a,b" and ""
// for a literal quote). Blank lines are skipped. Large numeric files (cells.csv) have their own
// parallel parser in importer/; this one is for dimensions, hierarchies and write batches.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace quantatom {

class CsvFile {
 public:
  // Reads `path`. NotFound if it cannot be opened; InvalidArgument if it is empty and
  // `allow_empty` is false.
  static absl::StatusOr<CsvFile> Open(const std::string& path, bool allow_empty = false);
  static CsvFile FromString(std::string name, std::string text);

  // Advances to the next non-blank record. Returns false at the end of the file, or with
  // `*error` set when a quoted field is not closed.
  bool Next(std::vector<std::string>* fields, absl::Status* error);

  // 1-based line number of the record last returned by Next().
  int line() const { return line_; }
  const std::string& name() const { return name_; }

  // "file:line: message", as InvalidArgument.
  absl::Status Error(std::string_view message) const;

 private:
  CsvFile(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {}
  std::string name_;
  std::string text_;
  size_t pos_ = 0;
  int line_ = 0;
  int next_line_ = 1;
};

// Splits one CSV line into fields (quotes honoured). Returns false on an unclosed quote.
bool SplitCsvLine(std::string_view line, std::vector<std::string>* fields);

}  // namespace quantatom

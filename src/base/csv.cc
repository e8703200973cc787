#include "base/csv.h"

#include <fstream>
#include <sstream>

#include "base/file_util.h"
#include "base/strings.h"

namespace quantatom {

absl::StatusOr<CsvFile> CsvFile::Open(const std::string& path, bool allow_empty) {
  QA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank && !allow_empty) return absl::InvalidArgumentError(StrCat(path, ": file is empty"));
  return CsvFile(path, std::move(text));
}

CsvFile CsvFile::FromString(std::string name, std::string text) {
  return CsvFile(std::move(name), std::move(text));
}

bool SplitCsvLine(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      // Text after the closing quote up to the comma is kept verbatim.
      while (i < line.size() && line[i] != ',') field.push_back(line[i++]);
    } else {
      while (i < line.size() && line[i] != ',') field.push_back(line[i++]);
    }
    fields->push_back(field);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

bool CsvFile::Next(std::vector<std::string>* fields, absl::Status* error) {
  while (pos_ < text_.size()) {
    size_t end = text_.find('\n', pos_);
    if (end == std::string::npos) end = text_.size();
    std::string_view line(text_.data() + pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    line_ = next_line_++;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (!SplitCsvLine(line, fields)) {
      *error = Error("unclosed quote");
      return false;
    }
    return true;
  }
  return false;
}

absl::Status CsvFile::Error(std::string_view message) const {
  return absl::InvalidArgumentError(StrCat(name_, ":", line_, ": ", message));
}

}  // namespace quantatom

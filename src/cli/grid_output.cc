#include "cli/grid_output.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "base/numbers.h"
#include "model/cell_error.h"
#include "base/strings.h"

namespace quantatom {

namespace {

std::string TupleLabel(const AppModel& model, const Axis& axis, size_t i) {
  std::vector<std::string> codes;
  for (size_t k = 0; k < axis.dims.size(); ++k) codes.push_back(model.dimensions[axis.dims[k]].member(axis.tuples[i][k]).code);
  return StrJoin(codes, "/");
}

// 1234567.5 -> "1,234,567.50"; integers without decimals.
std::string Pretty(double v) {
  bool integral = std::abs(v) < 1e15 && v == std::floor(v);
  std::string digits = integral ? fmt::format("{:.0f}", std::abs(v)) : fmt::format("{:.2f}", std::abs(v));
  size_t dot = digits.find('.');
  size_t int_end = dot == std::string::npos ? digits.size() : dot;
  std::string out;
  for (size_t i = 0; i < int_end; ++i) {
    if (i && (int_end - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  out += digits.substr(int_end);
  return (v < 0 ? "-" : "") + out;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

absl::StatusOr<GridFormat> ParseGridFormat(std::string_view name) {
  if (name == "table") return GridFormat::kTable;
  if (name == "csv") return GridFormat::kCsv;
  if (name == "json") return GridFormat::kJson;
  return absl::InvalidArgumentError(StrCat("unknown format '", name, "' (expected table, csv or json)"));
}

std::string FormatGrid(const AppModel& model, const GridQuery& query, const Grid& grid, GridFormat format) {
  std::vector<std::string> row_labels, col_labels;
  for (size_t r = 0; r < grid.rows; ++r) row_labels.push_back(TupleLabel(model, query.rows, r));
  for (size_t c = 0; c < grid.cols; ++c) col_labels.push_back(TupleLabel(model, query.cols, c));
  std::vector<std::string> row_dim_names;
  for (int d : query.rows.dims) row_dim_names.push_back(model.dimensions[d].name());
  std::string corner = StrJoin(row_dim_names, "/");

  if (format == GridFormat::kJson) {
    nlohmann::json j;
    j["rows"] = row_labels;
    j["cols"] = col_labels;
    nlohmann::json values = nlohmann::json::array();
    for (size_t r = 0; r < grid.rows; ++r) {
      nlohmann::json row = nlohmann::json::array();
      for (size_t c = 0; c < grid.cols; ++c) {
        const CellValue& v = grid.at(r, c);
        if (v.is_number() && ErrorOf(v.number) != CellError::kNone) row.push_back(std::string(ErrorText(ErrorOf(v.number))));
        else if (v.is_number()) row.push_back(v.number);
        else if (v.is_text()) row.push_back(v.text);
        else row.push_back(nullptr);
      }
      values.push_back(std::move(row));
    }
    j["values"] = std::move(values);
    return j.dump() + "\n";
  }
  if (format == GridFormat::kCsv) {
    std::string out = CsvField(corner);
    for (auto& c : col_labels) StrAppend(&out, ",", CsvField(c));
    out += "\n";
    for (size_t r = 0; r < grid.rows; ++r) {
      out += CsvField(row_labels[r]);
      for (size_t c = 0; c < grid.cols; ++c) {
        const CellValue& v = grid.at(r, c);
        out += ",";
        if (v.is_number() && ErrorOf(v.number) != CellError::kNone) out += ErrorText(ErrorOf(v.number));
        else if (v.is_number()) out += FormatNumber(v.number);
        else if (v.is_text()) out += CsvField(v.text);
      }
      out += "\n";
    }
    return out;
  }
  // Table: right-aligned numbers, left-aligned row labels.
  std::vector<std::vector<std::string>> text(grid.rows, std::vector<std::string>(grid.cols));
  size_t label_w = corner.size();
  for (auto& l : row_labels) label_w = std::max(label_w, l.size());
  std::vector<size_t> col_w(grid.cols);
  for (size_t c = 0; c < grid.cols; ++c) col_w[c] = col_labels[c].size();
  for (size_t r = 0; r < grid.rows; ++r)
    for (size_t c = 0; c < grid.cols; ++c) {
      const CellValue& v = grid.at(r, c);
      if (v.is_number() && ErrorOf(v.number) != CellError::kNone) text[r][c] = ErrorText(ErrorOf(v.number));
      else text[r][c] = v.is_number() ? Pretty(v.number) : v.is_text() ? v.text : "";
      col_w[c] = std::max(col_w[c], text[r][c].size());
    }
  std::string out = fmt::format("{:<{}}", corner, label_w);
  for (size_t c = 0; c < grid.cols; ++c) StrAppend(&out, "  ", fmt::format("{:>{}}", col_labels[c], col_w[c]));
  out += "\n";
  for (size_t r = 0; r < grid.rows; ++r) {
    StrAppend(&out, fmt::format("{:<{}}", row_labels[r], label_w));
    for (size_t c = 0; c < grid.cols; ++c) StrAppend(&out, "  ", fmt::format("{:>{}}", text[r][c], col_w[c]));
    out += "\n";
  }
  return out;
}

}  // namespace quantatom

#include "importer/dataset_import.h"

#include "absl/container/flat_hash_map.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <tbb/parallel_for.h>

#include "absl/strings/ascii.h"
#include "base/csv.h"
#include "base/file_util.h"
#include "base/numbers.h"
#include "base/progress.h"
#include "base/strings.h"

namespace quantatom {

namespace {

DimensionType GuessType(std::string_view name) {
  std::string n = absl::AsciiStrToLower(std::string(name));
  if (n.find("account") != std::string::npos) return DimensionType::kAccount;
  for (const char* t : {"month", "time", "period", "year", "quarter", "week", "day"})
    if (n.find(t) != std::string::npos) return DimensionType::kTime;
  if (n.find("scenario") != std::string::npos) return DimensionType::kScenario;
  if (n.find("version") != std::string::npos) return DimensionType::kVersion;
  if (n.find("currency") != std::string::npos) return DimensionType::kCurrency;
  if (n.find("entity") != std::string::npos || n.find("company") != std::string::npos) return DimensionType::kEntity;
  return DimensionType::kGeneric;
}

absl::StatusOr<std::vector<std::string>> ReadManifestDims(const std::string& dir) {
  std::string path = dir + "/manifest.json";
  auto text = ReadFile(path);
  if (!text.ok())
    return absl::NotFoundError(StrCat(path, ": missing (it names the dimensions in the column order of cells.csv)"));
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(StrCat(path, ": not valid JSON: ", e.what()));
  }
  if (!j.is_object() || !j.contains("dims") || !j["dims"].is_object() || j["dims"].empty())
    return absl::InvalidArgumentError(StrCat(path, ": needs an object \"dims\" naming the dimensions"));
  std::vector<std::string> dims;
  for (auto it = j["dims"].begin(); it != j["dims"].end(); ++it) dims.push_back(it.key());
  return dims;
}

// Optional side files of a dimension, each with a header line: labels_<dim>.csv (code,name:
// display names) and attributes_<dim>.csv (code,attribute,value: e.g. read_only). Keyed by code;
// checked against the elements once they are read.
struct MemberExtras {
  absl::flat_hash_map<std::string, std::pair<std::string, int>> names;  // code -> (name, line)
  absl::flat_hash_map<std::string, std::vector<std::pair<std::string, std::string>>> attributes;
  std::vector<std::pair<std::string, std::string>> where;  // (code, "file:line") for unknown-code errors
};

absl::Status ReadExtrasFile(const std::string& path, const std::vector<std::string>& header, MemberExtras* extras) {
  if (!std::filesystem::exists(path)) return absl::OkStatus();
  QA_ASSIGN_OR_RETURN(CsvFile file, CsvFile::Open(path, /*allow_empty=*/true));
  std::vector<std::string> f;
  absl::Status err;
  bool first = true;
  while (file.Next(&f, &err)) {
    if (first) {
      first = false;
      if (f != header) return file.Error(StrCat("expected the header '", StrJoin(header, ","), "'"));
      continue;
    }
    if (f.size() != header.size())
      return file.Error(StrCat("expected ", header.size(), " fields (", StrJoin(header, ","), "), found ", f.size()));
    if (f[0].empty()) return file.Error("field 'code' is empty");
    if (header.size() == 2) {
      extras->names[f[0]] = {f[1], file.line()};
    } else {
      if (f[1].empty() || f[1] == "id") return file.Error(StrCat("field 'attribute': '", f[1], "' is empty or reserved"));
      extras->attributes[f[0]].emplace_back(f[1], f[2]);
    }
    extras->where.emplace_back(f[0], StrCat(file.name(), ":", file.line()));
  }
  return err;
}

absl::StatusOr<Dimension> ReadDimension(const std::string& dir, const std::string& name, std::vector<MemberId>* member_of_id) {
  std::string epath = StrCat(dir, "/elements_", name, ".csv");
  std::string hpath = StrCat(dir, "/hier_", name, ".csv");
  MemberExtras extras;
  QA_RETURN_IF_ERROR(ReadExtrasFile(StrCat(dir, "/labels_", name, ".csv"), {"code", "name"}, &extras));
  QA_RETURN_IF_ERROR(ReadExtrasFile(StrCat(dir, "/attributes_", name, ".csv"), {"code", "attribute", "value"}, &extras));
  QA_ASSIGN_OR_RETURN(CsvFile elements, CsvFile::Open(epath));
  DimensionBuilder builder(name, GuessType(name));
  std::vector<std::string> f;
  absl::Status err;
  std::vector<std::string> code_of_id;
  std::vector<int> line_of_id;
  while (elements.Next(&f, &err)) {
    if (f.size() != 3)
      return elements.Error(StrCat("expected 3 fields (id,name,level), found ", f.size()));
    uint32_t id = 0, level = 0;
    if (!ParseUint32(f[0], &id)) return elements.Error(StrCat("field 'id': '", f[0], "' is not a non-negative integer"));
    if (!ParseUint32(f[2], &level)) return elements.Error(StrCat("field 'level': '", f[2], "' is not a non-negative integer"));
    if (id >= 100'000'000) return elements.Error(StrCat("field 'id': ", id, " is too large (ids must be below 100,000,000)"));
    if (id >= code_of_id.size()) code_of_id.resize(id + 1), line_of_id.resize(id + 1, 0);
    if (line_of_id[id])
      return elements.Error(StrCat("field 'id': duplicate id ", id, " (first on line ", line_of_id[id], ")"));
    std::vector<std::pair<std::string, std::string>> attributes = {{"id", f[0]}};
    if (auto a = extras.attributes.find(f[1]); a != extras.attributes.end())
      attributes.insert(attributes.end(), a->second.begin(), a->second.end());
    auto label = extras.names.find(f[1]);
    absl::Status s = builder.AddMember(f[1], label != extras.names.end() ? label->second.first : f[1], std::move(attributes));
    if (!s.ok()) return elements.Error(StrCat("field 'name': ", s.message()));
    code_of_id[id] = f[1];
    line_of_id[id] = elements.line();
  }
  QA_RETURN_IF_ERROR(err);
  for (const auto& [c, where] : extras.where)
    if (!builder.HasMember(c))
      return absl::InvalidArgumentError(StrCat(where, ": field 'code': unknown member '", c, "' (not in ",
                                               std::filesystem::path(epath).filename().string(), ")"));

  QA_ASSIGN_OR_RETURN(CsvFile hier, CsvFile::Open(hpath, /*allow_empty=*/true));
  auto code = [&](const std::string& field, const char* what, std::string* out) -> absl::Status {
    uint32_t id = 0;
    if (!ParseUint32(field, &id)) return hier.Error(StrCat("field '", what, "': '", field, "' is not a non-negative integer"));
    if (id >= line_of_id.size() || !line_of_id[id])
      return hier.Error(StrCat("field '", what, "': unknown member id ", id, " (not in ", std::filesystem::path(epath).filename().string(), ")"));
    *out = code_of_id[id];
    return absl::OkStatus();
  };
  while (hier.Next(&f, &err)) {
    if (f.size() != 3) return hier.Error(StrCat("expected 3 fields (child,parent,weight), found ", f.size()));
    std::string child, parent;
    QA_RETURN_IF_ERROR(code(f[0], "child", &child));
    QA_RETURN_IF_ERROR(code(f[1], "parent", &parent));
    double w = 0;
    if (!ParseDouble(f[2], &w)) return hier.Error(StrCat("field 'weight': '", f[2], "' is not a number"));
    absl::Status s = builder.AddEdge(child, parent, w);
    if (!s.ok()) return hier.Error(std::string(s.message()));
  }
  QA_RETURN_IF_ERROR(err);
  auto dim = std::move(builder).Build();
  if (!dim.ok()) return absl::InvalidArgumentError(StrCat(hpath, ": ", dim.status().message()));
  member_of_id->assign(code_of_id.size(), kNoMember);
  for (size_t id = 0; id < code_of_id.size(); ++id)
    if (line_of_id[id]) (*member_of_id)[id] = *dim->Find(code_of_id[id]);
  return std::move(dim).value();
}

// Parses the unsigned integer in [p, end); false if it is not one.
inline bool ParseId(const char* p, const char* end, uint32_t* out) {
  if (p == end || end - p > 9) return false;
  uint32_t v = 0;
  for (; p < end; ++p) {
    unsigned d = static_cast<unsigned>(*p - '0');
    if (d > 9) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Integers are the common case in planning data: parse them without from_chars.
inline bool ParseValue(const char* p, const char* end, double* out) {
  const char* q = p;
  bool neg = false;
  if (q < end && *q == '-') neg = true, ++q;
  if (q < end && end - q <= 15) {
    uint64_t v = 0;
    const char* r = q;
    for (; r < end; ++r) {
      unsigned d = static_cast<unsigned>(*r - '0');
      if (d > 9) break;
      v = v * 10 + d;
    }
    if (r == end) {
      *out = neg ? -static_cast<double>(v) : static_cast<double>(v);
      return true;
    }
  }
  return ParseDouble(std::string_view(p, static_cast<size_t>(end - p)), out);
}

struct ChunkResult {
  size_t lines = 0;   // lines seen (blank included)
  size_t cells = 0;   // cells written
  size_t error_line = 0;  // 1-based within the chunk, 0 = no error
  std::string error;
};

// What a source id of one dimension means for cells.
constexpr uint32_t kUnknownId = UINT32_MAX;
constexpr uint32_t kConsolidatedId = UINT32_MAX - 1;

}  // namespace

absl::StatusOr<DatasetModel> ReadDatasetModel(const std::string& dir, const DatasetOptions& options) {
  QA_RETURN_IF_ERROR(ValidateAppName(options.app_name));
  QA_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadManifestDims(dir));
  DatasetModel out;
  out.model.name = options.app_name;
  out.model.planning_type = options.planning_type;
  for (const std::string& name : names) {
    std::vector<MemberId> ids;
    QA_ASSIGN_OR_RETURN(Dimension d, ReadDimension(dir, name, &ids));
    out.model.dimensions.push_back(std::move(d));
    out.member_of_id.push_back(std::move(ids));
  }
  return out;
}

absl::StatusOr<KeyValues> ReadCellsCsv(const std::string& path, const DatasetModel& dataset,
                                                   const KeyLayout& layout, bool progress) {
  QA_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  const std::string_view text = file.data();
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return absl::InvalidArgumentError(StrCat(path, ": file is empty"));
  const int dims = static_cast<int>(dataset.model.dimensions.size());
  // Per dimension: source id -> leaf ordinal, or a marker for unknown / consolidated ids.
  std::vector<std::vector<uint32_t>> ordinal(dims);
  for (int d = 0; d < dims; ++d) {
    const Dimension& dim = dataset.model.dimensions[d];
    ordinal[d].assign(dataset.member_of_id[d].size(), kUnknownId);
    for (size_t id = 0; id < dataset.member_of_id[d].size(); ++id) {
      MemberId m = dataset.member_of_id[d][id];
      if (m != kNoMember) ordinal[d][id] = dim.is_leaf(m) ? dim.leaf_ordinal(m) : kConsolidatedId;
    }
  }

  // Chunks end at line ends; about 4 MiB each so both cores stay busy.
  std::vector<size_t> bounds{0};
  constexpr size_t kChunk = 4 << 20;
  while (bounds.back() < text.size()) {
    size_t next = std::min(text.size(), bounds.back() + kChunk);
    if (next < text.size()) {
      const char* nl = static_cast<const char*>(std::memchr(text.data() + next, '\n', text.size() - next));
      next = nl ? static_cast<size_t>(nl - text.data()) + 1 : text.size();
    }
    bounds.push_back(next);
  }
  const size_t chunks = bounds.size() - 1;
  // Lines per chunk first, so every chunk writes straight into its slice of the output.
  std::vector<size_t> line_count(chunks);
  tbb::parallel_for(size_t{0}, chunks, [&](size_t c) {
    size_t n = static_cast<size_t>(std::count(text.data() + bounds[c], text.data() + bounds[c + 1], '\n'));
    if (bounds[c + 1] == text.size() && text.back() != '\n') ++n;
    line_count[c] = n;
  });
  std::vector<size_t> first_line(chunks + 1, 0);
  for (size_t c = 0; c < chunks; ++c) first_line[c + 1] = first_line[c] + line_count[c];
  KeyValues cells(first_line[chunks]);
  std::vector<ChunkResult> results(chunks);
  ProgressBar bar("reading " + std::filesystem::path(path).filename().string(), chunks);
  std::atomic<size_t> done{0};

  tbb::parallel_for(size_t{0}, chunks, [&](size_t c) {
    ChunkResult& r = results[c];
    KeyValue* out = cells.data() + first_line[c];
    const char* p = text.data() + bounds[c];
    const char* end = text.data() + bounds[c + 1];
    uint32_t ords[64];
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const char* line_end = nl ? nl : end;
      ++r.lines;
      const char* le = line_end;
      if (le > p && le[-1] == '\r') --le;
      // Blank lines, and lines of spaces and tabs, are skipped as in the other CSV files
      // (base/csv.h). A data line starts with a digit, so this costs one comparison.
      const char* first = p;
      while (first < le && (*first == ' ' || *first == '\t')) ++first;
      if (first == le) {
        p = line_end + 1;
        continue;
      }
      const char* f = p;
      bool ok = true;
      for (int d = 0; d <= dims && ok; ++d) {
        const char* comma = d < dims ? static_cast<const char*>(std::memchr(f, ',', static_cast<size_t>(le - f))) : nullptr;
        const char* fe = d < dims ? comma : le;
        if (d < dims && !comma) {
          int found = d + 1;
          r.error = StrCat("expected ", dims + 1, " fields (", dims, " ids and a value), found ", found);
          ok = false;
          break;
        }
        if (d == dims) {
          if (std::memchr(f, ',', static_cast<size_t>(le - f))) {
            size_t extra = static_cast<size_t>(std::count(f, le, ','));
            r.error = StrCat("expected ", dims + 1, " fields (", dims, " ids and a value), found ", dims + 1 + extra);
            ok = false;
            break;
          }
          double v = 0;
          if (!ParseValue(f, fe, &v)) {
            r.error = StrCat("field ", dims + 1, " (value): '", std::string_view(f, static_cast<size_t>(fe - f)),
                                   "' is not a number");
            ok = false;
            break;
          }
          out->key = layout.Pack(ords);
          out->value = v;
          ++out;
          ++r.cells;
          break;
        }
        uint32_t id = 0;
        const std::string& dim_name = dataset.model.dimensions[d].name();
        if (!ParseId(f, fe, &id)) {
          r.error = StrCat("field ", d + 1, " (", dim_name, "): '", std::string_view(f, static_cast<size_t>(fe - f)),
                                 "' is not a member id");
          ok = false;
          break;
        }
        uint32_t o = id < ordinal[d].size() ? ordinal[d][id] : kUnknownId;
        if (o == kUnknownId) {
          r.error = StrCat("field ", d + 1, " (", dim_name, "): unknown member id ", id);
          ok = false;
          break;
        }
        if (o == kConsolidatedId) {
          r.error = StrCat("field ", d + 1, " (", dim_name, "): member id ", id, " ('",
                                 dataset.model.dimensions[d].member(dataset.member_of_id[d][id]).code,
                                 "') is consolidated; cells are stored at leaves");
          ok = false;
          break;
        }
        ords[d] = o;
        f = fe + 1;
      }
      if (!ok) {
        r.error_line = r.lines;
        return;
      }
      p = line_end + 1;
    }
    if (progress) bar.Update(done.fetch_add(1) + 1);
  });
  bar.Finish();
  for (size_t c = 0; c < chunks; ++c)
    if (results[c].error_line)
      return absl::InvalidArgumentError(StrCat(path, ":", first_line[c] + results[c].error_line, ": ", results[c].error));
  // Close the gaps left by blank lines.
  size_t w = 0;
  for (size_t c = 0; c < chunks; ++c) {
    if (w != first_line[c]) std::memmove(cells.data() + w, cells.data() + first_line[c], results[c].cells * sizeof(KeyValue));
    w += results[c].cells;
  }
  cells.resize(w);
  return cells;
}

absl::Status LoadCellsCsv(const std::string& path, const DatasetModel& dataset, Cube* cube, bool progress) {
  QA_ASSIGN_OR_RETURN(KeyValues cells, ReadCellsCsv(path, dataset, cube->layout(), progress));
  absl::Status s = cube->Load(std::move(cells));
  if (s.ok() || s.code() != absl::StatusCode::kInvalidArgument) return s;
  // A cell given twice: find the two lines for the message (rare path, serial).
  uint64_t key = 0;
  const std::string msg(s.message());
  size_t k = msg.find("(key ");
  if (k == std::string::npos) return s;
  key = std::stoull(msg.substr(k + 5));
  QA_ASSIGN_OR_RETURN(CsvFile file, CsvFile::Open(path));
  std::vector<std::string> f;
  absl::Status err;
  std::vector<int> lines;
  const int dims = static_cast<int>(dataset.model.dimensions.size());
  while (file.Next(&f, &err) && lines.size() < 2) {
    uint32_t ords[64];
    for (int d = 0; d < dims; ++d) {
      uint32_t id = 0;
      ParseUint32(f[d], &id);
      ords[d] = dataset.model.dimensions[d].leaf_ordinal(dataset.member_of_id[d][id]);
    }
    if (cube->layout().Pack(ords) == key) lines.push_back(file.line());
  }
  if (lines.size() < 2) return s;
  return absl::InvalidArgumentError(
      StrCat(path, ":", lines[1], ": the same cell is given twice (first on line ", lines[0], ")"));
}

absl::StatusOr<std::unique_ptr<Cube>> ImportDataset(const std::string& dir, const DatasetOptions& options) {
  QA_ASSIGN_OR_RETURN(DatasetModel dataset, ReadDatasetModel(dir, options));
  QA_ASSIGN_OR_RETURN(auto cube, Cube::Create(dataset.model));
  QA_RETURN_IF_ERROR(LoadCellsCsv(dir + "/cells.csv", dataset, cube.get(), options.progress));
  return cube;
}

}  // namespace quantatom

#include "engine/data_folder.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/file_util.h"
#include "model/model_json.h"
#include "base/strings.h"

namespace quantatom {

namespace {

constexpr char kMagic[8] = {'Q', 'A', 'A', 'P', 'P', 'v', '0', '1'};

template <typename T>
void Put(std::string* out, const T& v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

class Cursor {
 public:
  Cursor(std::string_view bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}
  template <typename T>
  absl::Status Get(T* v) {
    if (bytes_.size() - pos_ < sizeof(T)) return Truncated();
    std::memcpy(v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }
  absl::Status GetBytes(size_t n, std::string_view* out) {
    if (bytes_.size() - pos_ < n) return Truncated();
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }
  absl::Status GetArray(size_t n, size_t elem, void* out) {
    if (n > (bytes_.size() - pos_) / elem) return Truncated();
    std::memcpy(out, bytes_.data() + pos_, n * elem);
    pos_ += n * elem;
    return absl::OkStatus();
  }
  size_t pos() const { return pos_; }

 private:
  absl::Status Truncated() const {
    return absl::DataLossError(StrCat(name_, ": file is truncated at byte ", pos_));
  }
  std::string_view bytes_;
  size_t pos_ = 0;
  std::string name_;
};

}  // namespace

std::string EncodeAppSnapshot(const Cube& cube) {
  std::string model = ModelToJson(cube.model());
  return cube.WithStore([&](const CellStore& store) {
    KeyValues cells = store.SortedCells();
    std::string out;
    out.reserve(64 + model.size() + cells.size() * 16);
    out.append(kMagic, sizeof kMagic);
    Put(&out, static_cast<uint64_t>(model.size()));
    out += model;
    Put(&out, static_cast<uint64_t>(cells.size()));
    for (const KeyValue& kv : cells) Put(&out, kv.key);
    for (const KeyValue& kv : cells) Put(&out, kv.value);
    // Sorted, so that the same cells always encode to the same bytes.
    std::vector<std::pair<uint64_t, const std::string*>> texts;
    for (const auto& [key, text] : store.texts()) texts.emplace_back(key, &text);
    std::sort(texts.begin(), texts.end());
    Put(&out, static_cast<uint64_t>(texts.size()));
    for (const auto& [key, text_ptr] : texts) {
      const std::string& text = *text_ptr;
      Put(&out, key);
      Put(&out, static_cast<uint64_t>(text.size()));
      out += text;
    }
    Put(&out, Checksum64(out.data(), out.size()));
    return out;
  });
}

absl::StatusOr<std::unique_ptr<Cube>> DecodeAppSnapshot(std::string_view bytes, const std::string& name) {
  if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return absl::DataLossError(StrCat(name, ": not a QuantatomAI app file (bad magic)"));
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (Checksum64(bytes.data(), bytes.size() - 8) != stored)
    return absl::DataLossError(StrCat(name, ": checksum mismatch (the file is damaged)"));
  Cursor cur(bytes.substr(0, bytes.size() - 8), name);
  std::string_view skip;
  QA_RETURN_IF_ERROR(cur.GetBytes(sizeof kMagic, &skip));
  uint64_t model_size = 0;
  QA_RETURN_IF_ERROR(cur.Get(&model_size));
  std::string_view model_text;
  QA_RETURN_IF_ERROR(cur.GetBytes(model_size, &model_text));
  auto file = ParseModelJson(name, model_text);
  if (!file.ok()) return absl::DataLossError(file.status().message());
  QA_ASSIGN_OR_RETURN(auto cube, Cube::Create(std::move(file->model)));
  uint64_t n = 0;
  QA_RETURN_IF_ERROR(cur.Get(&n));
  std::vector<uint64_t> keys(n);
  std::vector<double> values(n);
  QA_RETURN_IF_ERROR(cur.GetArray(n, sizeof(uint64_t), keys.data()));
  QA_RETURN_IF_ERROR(cur.GetArray(n, sizeof(double), values.data()));
  KeyValues cells(n);
  for (size_t i = 0; i < n; ++i) cells[i] = {keys[i], values[i]};
  keys = {};
  values = {};
  uint64_t texts = 0;
  QA_RETURN_IF_ERROR(cur.Get(&texts));
  std::vector<std::pair<uint64_t, std::string>> text_cells;
  for (uint64_t i = 0; i < texts; ++i) {
    uint64_t key = 0, len = 0;
    QA_RETURN_IF_ERROR(cur.Get(&key));
    QA_RETURN_IF_ERROR(cur.Get(&len));
    std::string_view t;
    QA_RETURN_IF_ERROR(cur.GetBytes(len, &t));
    text_cells.emplace_back(key, std::string(t));
  }
  absl::Status s = cube->Load(std::move(cells), std::move(text_cells));
  if (!s.ok()) return absl::DataLossError(StrCat(name, ": ", s.message()));
  return cube;
}

absl::Status DataFolder::Init() const {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(root_) / "apps", ec);
  if (ec) return absl::InternalError(StrCat("cannot create data folder ", root_, "/apps: ", ec.message()));
  return absl::OkStatus();
}

std::string DataFolder::AppPath(const std::string& app) const { return StrCat(root_, "/apps/", app, ".qa"); }

bool DataFolder::HasApp(const std::string& app) const { return std::filesystem::exists(AppPath(app)); }

absl::StatusOr<std::vector<std::string>> DataFolder::ListApps() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(root_) / "apps", ec))
    if (entry.path().extension() == ".qa") out.push_back(entry.path().stem().string());
  if (ec) return absl::NotFoundError(StrCat("cannot list ", root_, "/apps: ", ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status DataFolder::SaveApp(const Cube& cube) const {
  QA_RETURN_IF_ERROR(ValidateAppName(cube.model().name));
  QA_RETURN_IF_ERROR(Init());
  return WriteFileAtomically(AppPath(cube.model().name), EncodeAppSnapshot(cube));
}

absl::StatusOr<std::unique_ptr<Cube>> DataFolder::LoadApp(const std::string& app) const {
  QA_RETURN_IF_ERROR(ValidateAppName(app));
  auto bytes = ReadFile(AppPath(app));
  if (!bytes.ok()) {
    if (absl::IsNotFound(bytes.status()))
      return absl::NotFoundError(StrCat("no app '", app, "' in data folder ", root_));
    return bytes.status();
  }
  return DecodeAppSnapshot(*bytes, AppPath(app));
}

}  // namespace quantatom

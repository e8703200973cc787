#include "engine/data_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/byte_codec.h"
#include "base/file_util.h"
#include "model/model_json.h"
#include "base/strings.h"

namespace quantatom {

namespace {

constexpr char kMagic[8] = {'Q', 'A', 'A', 'P', 'P', 'v', '0', '2'};
// Files written before sections existed: the same layout, ending after the text cells.
constexpr char kMagicV1[8] = {'Q', 'A', 'A', 'P', 'P', 'v', '0', '1'};
constexpr std::string_view kHoldsSection = "holds";
constexpr std::string_view kHistorySection = "history";
// Vector clocks: the table of sandbox merges (Cube::EncodeClocks); absent before any, and in
// files written before vector clocks existed (their vectors are the app's seq alone).
constexpr std::string_view kClocksSection = "clocks";
constexpr std::string_view kFormulasSection = "formulas";
// The undo history keeps the cells of the newest change sets up to this many (about 64 MB);
// older sets stay listed but can no longer be undone after a save.
constexpr size_t kHistoryCellsKept = 4'000'000;

// The first dimension whose ordinal in `key` is not below its leaf count, or -1 if the key is a
// leaf coordinate of the model. Bits above the layout count as dimension `dims()`.
int FirstBadOrdinal(uint64_t key, const KeyLayout& layout) {
  if (layout.total_bits() < 64 && (key >> layout.total_bits()) != 0) return layout.dims();
  for (int d = 0; d < layout.dims(); ++d)
    if (layout.Get(key, d) >= layout.leaf_count(d)) return d;
  return -1;
}

// DataLoss naming the key and what is wrong with it; `what` says which cell it is.
absl::Status BadKey(const std::string& path, const AppModel& model, const KeyLayout& layout, uint64_t key, int dim,
                    std::string_view what) {
  if (dim == layout.dims())
    return absl::DataLossError(StrCat(path, ": ", what, " has key ", key, ", which uses bits above the ",
                                      layout.total_bits(), " bits of the cell key"));
  return absl::DataLossError(StrCat(path, ": ", what, " has key ", key, ", whose ordinal ", layout.Get(key, dim),
                                    " in dimension '", model.dimensions[dim].name(), "' is not below its ",
                                    layout.leaf_count(dim), " leaves"));
}

}  // namespace

namespace {
// Holds: count of users; per user: name length, name, count of holds, each hold as one member
// id per dimension (uint32).
std::string EncodeHolds(const Cube& cube) {
  ByteWriter w;
  auto all = cube.AllHolds();
  w.Put(static_cast<uint64_t>(all.size()));
  for (const auto& [user, list] : all) {
    w.PutString<uint64_t>(user);
    w.Put(static_cast<uint64_t>(list.size()));
    for (const Coordinate& c : list)
      for (MemberId m : c) w.Put(static_cast<uint32_t>(m));
  }
  return w.Take();
}

absl::Status DecodeHolds(std::string_view bytes, const std::string& path, Cube* cube) {
  const std::string context = StrCat(path, " (holds)");
  ByteReader cur(bytes, context);
  uint64_t users = 0;
  QA_RETURN_IF_ERROR(cur.Get(&users));
  const size_t dims = cube->model().dimensions.size();
  for (uint64_t u = 0; u < users; ++u) {
    uint64_t n = 0;
    std::string_view user;
    QA_RETURN_IF_ERROR(cur.GetString<uint64_t>(&user, "a user"));
    QA_RETURN_IF_ERROR(cur.GetCount<uint64_t>(&n, dims * sizeof(uint32_t), "a hold count"));
    for (uint64_t i = 0; i < n; ++i) {
      Coordinate c(dims);
      for (size_t d = 0; d < dims; ++d) {
        uint32_t m = 0;
        QA_RETURN_IF_ERROR(cur.Get(&m));
        c[d] = m;
      }
      absl::Status s = cube->SetHold(std::string(user), c, true);
      if (!s.ok()) return absl::DataLossError(StrCat(path, ": hold ", i, " of user '", user, "': ", s.message()));
    }
  }
  if (cur.remaining() != 0) return absl::DataLossError(StrCat(path, ": unexpected bytes after the holds"));
  return absl::OkStatus();
}
}  // namespace

std::string EncodeAppSnapshot(const Cube& cube, const SnapshotSections& extra) {
  std::string model = ModelToJson(cube.model());
  SnapshotSections sections;
  sections.emplace_back(std::string(kHoldsSection), EncodeHolds(cube));
  sections.emplace_back(std::string(kHistorySection), cube.EncodeHistory(kHistoryCellsKept));
  if (std::string clocks = cube.EncodeClocks(); clocks.size() > 16)  // more than an empty table
    sections.emplace_back(std::string(kClocksSection), std::move(clocks));
  if (!cube.Formulas().empty()) sections.emplace_back(std::string(kFormulasSection), cube.EncodeFormulas());
  // The caller's sections are written from where they are (the history after a bulk write is
  // tens of MB: no copy), and the output is sized once for all of it.
  const SnapshotSections* const lists[] = {&sections, &extra};
  size_t section_bytes = 0;
  for (const SnapshotSections* list : lists)
    for (const auto& [name, bytes] : *list) section_bytes += 16 + name.size() + bytes.size();
  return cube.WithStore([&](const CellStore& store) {
    KeyValues cells = store.SortedCells();
    ByteWriter w;
    w.Reserve(64 + model.size() + cells.size() * 16 + section_bytes);
    w.PutBytes(std::string_view(kMagic, sizeof kMagic));
    w.PutString<uint64_t>(model);
    w.Put(static_cast<uint64_t>(cells.size()));
    for (const KeyValue& kv : cells) w.Put(kv.key);
    for (const KeyValue& kv : cells) w.Put(kv.value);
    // Sorted, so that the same cells always encode to the same bytes.
    std::vector<std::pair<uint64_t, const std::string*>> texts;
    for (const auto& [key, text] : store.texts()) texts.emplace_back(key, &text);
    std::sort(texts.begin(), texts.end());
    w.Put(static_cast<uint64_t>(texts.size()));
    for (const auto& [key, text] : texts) {
      w.Put(key);
      w.PutString<uint64_t>(*text);
    }
    w.Put(static_cast<uint64_t>(sections.size() + extra.size()));
    for (const SnapshotSections* list : lists)
      for (const auto& [name, bytes] : *list) {
        w.PutString<uint64_t>(name);
        w.PutString<uint64_t>(bytes);
      }
    w.Put(Checksum64(w.bytes().data(), w.size()));
    return w.Take();
  });
}

absl::StatusOr<std::unique_ptr<Cube>> DecodeAppSnapshot(std::string_view bytes, const std::string& path,
                                                        const std::string& app, SnapshotSections* extra) {
  if (bytes.size() < sizeof kMagic + 8 ||
      (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0 && std::memcmp(bytes.data(), kMagicV1, sizeof kMagic) != 0))
    return absl::DataLossError(StrCat(path, ": not a QuantatomAI app file (bad magic)"));
  const bool has_sections = std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (Checksum64(bytes.data(), bytes.size() - 8) != stored)
    return absl::DataLossError(StrCat(path, ": checksum mismatch (the file is damaged)"));
  // From here on the bytes are as written, by us or by someone who recomputed the checksum, so
  // everything that could make the cube lie about its cells is checked, not trusted.
  ByteReader cur(bytes.substr(0, bytes.size() - 8), path);
  std::string_view skip;
  QA_RETURN_IF_ERROR(cur.GetBytes(sizeof kMagic, &skip));
  std::string_view model_text;
  QA_RETURN_IF_ERROR(cur.GetString<uint64_t>(&model_text, "the model"));
  auto file = ParseModelJson(path, model_text);
  if (!file.ok()) return absl::DataLossError(file.status().message());
  // A copied or renamed file would otherwise load under a name it does not hold, and its next
  // save would go to its own name.
  if (file->model.name != app)
    return absl::DataLossError(StrCat(path, ": the file holds app '", file->model.name, "', not '", app, "'"));
  auto created = Cube::Create(std::move(file->model));
  if (!created.ok()) return absl::DataLossError(StrCat(path, ": ", created.status().message()));
  std::unique_ptr<Cube> cube = *std::move(created);
  const AppModel& model = cube->model();
  const KeyLayout& layout = cube->layout();
  uint64_t n = 0;
  QA_RETURN_IF_ERROR(cur.GetCount<uint64_t>(&n, sizeof(uint64_t) + sizeof(double), "the cell count"));
  // The two columns are used where they lie in the file: checked here, then read once into the
  // store (Cube::LoadSorted), with no copy of the pairs.
  std::string_view keys, values;
  QA_RETURN_IF_ERROR(cur.GetBytes(n * sizeof(uint64_t), &keys, "the keys"));
  QA_RETURN_IF_ERROR(cur.GetBytes(n * sizeof(double), &values, "the values"));
  // A key whose ordinals do not name leaves would be stored and summed into whatever totals its
  // bits happen to select.
  for (size_t i = 0; i < n; ++i) {
    uint64_t key;
    std::memcpy(&key, keys.data() + i * sizeof key, sizeof key);
    if (int d = FirstBadOrdinal(key, layout); d >= 0)
      return BadKey(path, model, layout, key, d, StrCat("numeric cell ", i));
  }
  uint64_t texts = 0;
  QA_RETURN_IF_ERROR(cur.Get(&texts));
  std::vector<std::pair<uint64_t, std::string>> text_cells;
  for (uint64_t i = 0; i < texts; ++i) {
    uint64_t key = 0;
    QA_RETURN_IF_ERROR(cur.Get(&key, "a text cell"));
    if (int d = FirstBadOrdinal(key, layout); d >= 0) return BadKey(path, model, layout, key, d, StrCat("text cell ", i));
    std::string_view t;
    QA_RETURN_IF_ERROR(cur.GetString<uint64_t>(&t, "a text cell"));
    text_cells.emplace_back(key, std::string(t));
  }
  SnapshotSections sections;
  if (has_sections) {
    uint64_t count = 0;
    QA_RETURN_IF_ERROR(cur.Get(&count));
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view name, body;
      QA_RETURN_IF_ERROR(cur.GetString<uint64_t>(&name, "a section name"));
      QA_RETURN_IF_ERROR(cur.GetString<uint64_t>(&body, "a section"));
      sections.emplace_back(std::string(name), std::string(body));
    }
  }
  // The counts say where the cells end; anything after them means the counts are wrong.
  if (cur.remaining() != 0)
    return absl::DataLossError(StrCat(path, ": ", cur.remaining(), " unexpected bytes after the ",
                                      has_sections ? "sections" : "text cells", " at byte ", cur.pos()));
  // We write the keys in increasing order; a file that has them otherwise (or twice) loads
  // through the general path, which sorts them and names a key given twice.
  absl::Status s = cube->LoadSorted(keys.data(), values.data(), n, text_cells);
  if (absl::IsInvalidArgument(s)) {
    KeyValues cells(n);
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(&cells[i].key, keys.data() + i * sizeof(uint64_t), sizeof(uint64_t));
      std::memcpy(&cells[i].value, values.data() + i * sizeof(double), sizeof(double));
    }
    s = cube->Load(std::move(cells), std::move(text_cells));
  }
  if (!s.ok()) return absl::DataLossError(StrCat(path, ": ", s.message()));
  for (auto& [name, body] : sections) {
    if (name == kHoldsSection) QA_RETURN_IF_ERROR(DecodeHolds(body, path, cube.get()));
    else if (name == kHistorySection) QA_RETURN_IF_ERROR(cube->RestoreHistory(body, path));
    else if (name == kClocksSection) QA_RETURN_IF_ERROR(cube->RestoreClocks(body, path));
    else if (name == kFormulasSection) QA_RETURN_IF_ERROR(cube->RestoreFormulas(body, path));
    else if (extra) extra->emplace_back(std::move(name), std::move(body));
  }
  return cube;
}

absl::Status DataFolder::Init() const {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(root_) / "apps", ec);
  if (ec) return absl::InternalError(StrCat("cannot create data folder ", root_, "/apps: ", ec.message()));
  return absl::OkStatus();
}

std::string DataFolder::AppPath(const std::string& app) const { return StrCat(root_, "/apps/", app, ".qa"); }

std::string DataFolder::LockPath(const std::string& app) const { return StrCat(root_, "/apps/", app, ".lock"); }

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

absl::Status DataFolder::SaveApp(const Cube& cube, const SnapshotSections& extra) const {
  QA_RETURN_IF_ERROR(ValidateAppName(cube.model().name));
  QA_RETURN_IF_ERROR(Init());
  return WriteFileAtomically(AppPath(cube.model().name), EncodeAppSnapshot(cube, extra));
}

absl::StatusOr<std::unique_ptr<Cube>> DataFolder::LoadApp(const std::string& app, SnapshotSections* extra) const {
  QA_RETURN_IF_ERROR(ValidateAppName(app));
  // Mapped, not read: the cell columns are decoded from the page cache in place.
  auto file = MappedFile::Open(AppPath(app));
  if (!file.ok()) {
    if (absl::IsNotFound(file.status()))
      return absl::NotFoundError(StrCat("no app '", app, "' in data folder ", root_));
    return file.status();
  }
  return DecodeAppSnapshot(file->data(), AppPath(app), app, extra);
}

absl::StatusOr<AppLock> AppLock::Acquire(const DataFolder& folder, const std::string& app,
                                         std::chrono::milliseconds timeout) {
  QA_RETURN_IF_ERROR(ValidateAppName(app));
  QA_RETURN_IF_ERROR(folder.Init());
  const std::string path = folder.LockPath(app);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(StrCat("cannot create lock file ", path, ": ", std::strerror(errno)));
  // flock has no timeout, so poll without blocking, sleeping a little longer each time (up to
  // 50 ms) so that a short wait is noticed at once and a long one costs little.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) {
      absl::Status s = absl::InternalError(StrCat("cannot lock ", path, ": ", std::strerror(errno)));
      ::close(fd);
      return s;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      ::close(fd);
      return absl::UnavailableError(StrCat("app '", app, "' is in use by another process (still locked after ",
                                           timeout.count(), " ms: ", path, ")"));
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return AppLock(fd);
}

AppLock::~AppLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor of the open file releases the lock
}

}  // namespace quantatom

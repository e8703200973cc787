#include "audit/audit_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/strings.h"

namespace quantatom::audit {
namespace {

// Reads `n` bytes at `offset` of `fd` (fewer at the end of the file).
absl::StatusOr<std::string> ReadAt(int fd, uint64_t offset, uint64_t n, const std::string& path) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::InternalError(StrCat("cannot read ", path, ": ", std::strerror(errno)));
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  out.resize(done);
  return out;
}

constexpr uint64_t kMagicBytes = 8;  // the file header (audit_trail.cc)

}  // namespace

absl::StatusOr<std::unique_ptr<AuditIndex>> AuditIndex::Open(const std::string& path) {
  std::unique_ptr<AuditIndex> index(new AuditIndex(path));
  QA_RETURN_IF_ERROR(index->Rebuild());
  return index;
}

absl::Status AuditIndex::Rebuild() {
  entries_.clear();
  by_user_.clear();
  by_cell_.clear();
  by_time_.clear();
  valid_bytes_ = 0;
  head_ = Hash{};
  absl::StatusOr<AuditFile> file = ReadAuditFile(path_);
  if (absl::IsNotFound(file.status())) return absl::OkStatus();
  QA_RETURN_IF_ERROR(file.status());
  bytes_read_ += file->valid_bytes;
  valid_bytes_ = file->valid_bytes;
  for (size_t i = 0; i < file->entries.size(); ++i) Add(std::move(file->entries[i]), file->hashes[i]);
  return absl::OkStatus();
}

void AuditIndex::Add(AuditEntry e, const Hash& h) {
  const uint32_t number = static_cast<uint32_t>(entries_.size());
  by_user_[e.user].push_back(number);
  by_cell_[e.coordinate].push_back(number);
  // Times nearly always arrive in order (wall clock at commit); an entry older than the newest
  // is inserted at its place.
  auto later = [&](uint32_t other) { return entries_[other].time_us > e.time_us; };
  if (by_time_.empty() || !later(by_time_.back())) {
    by_time_.push_back(number);
    entries_.push_back(std::move(e));
  } else {
    const int64_t t = e.time_us;
    entries_.push_back(std::move(e));
    auto at = std::upper_bound(by_time_.begin(), by_time_.end(), t,
                               [&](int64_t v, uint32_t other) { return v < entries_[other].time_us; });
    by_time_.insert(at, number);
  }
  head_ = h;
}

absl::Status AuditIndex::Refresh() {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return absl::InternalError(StrCat("cannot open ", path_, ": ", std::strerror(errno)));
    if (entries_.empty()) return absl::OkStatus();
    return Rebuild();  // the file is gone: report what ReadAuditFile says
  }
  struct stat st{};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const uint64_t size = stat_ok ? static_cast<uint64_t>(st.st_size) : 0;
  absl::Status result = absl::OkStatus();
  bool rewritten = !stat_ok || size < valid_bytes_;
  if (!rewritten && !entries_.empty()) {
    // The last checked entry must still end with the hash it had.
    absl::StatusOr<std::string> tail = ReadAt(fd, valid_bytes_ - head_.size(), head_.size(), path_);
    rewritten = !tail.ok() || tail->size() != head_.size() || std::memcmp(tail->data(), head_.data(), head_.size()) != 0;
  }
  if (rewritten || valid_bytes_ < kMagicBytes) {
    ::close(fd);
    return Rebuild();
  }
  if (size > valid_bytes_) {
    absl::StatusOr<std::string> more = ReadAt(fd, valid_bytes_, size - valid_bytes_, path_);
    if (!more.ok()) {
      result = more.status();
    } else {
      AuditFile appended;
      result = ParseAuditEntries(*more, valid_bytes_, head_, entries_.size(), path_, &appended);
      if (result.ok()) {
        bytes_read_ += appended.valid_bytes - valid_bytes_;
        valid_bytes_ = appended.valid_bytes;
        for (size_t i = 0; i < appended.entries.size(); ++i) Add(std::move(appended.entries[i]), appended.hashes[i]);
      }
    }
  }
  ::close(fd);
  return result;
}

std::vector<uint32_t> AuditIndex::Find(const AuditQuery& query) const {
  static const std::vector<uint32_t> kNone;
  // Candidates: the shortest list the query allows, in file order.
  const std::vector<uint32_t>* list = nullptr;
  auto consider = [&](const std::unordered_map<std::string, std::vector<uint32_t>>& map, const std::string& key) {
    if (key.empty()) return;
    auto it = map.find(key);
    const std::vector<uint32_t>* l = it == map.end() ? &kNone : &it->second;
    if (list == nullptr || l->size() < list->size()) list = l;
  };
  consider(by_cell_, query.coordinate);
  consider(by_user_, query.user);
  // The time range as a slice of by_time_.
  auto lo = by_time_.begin(), hi = by_time_.end();
  if (query.since_us) {
    lo = std::lower_bound(by_time_.begin(), by_time_.end(), *query.since_us,
                          [&](uint32_t i, int64_t t) { return entries_[i].time_us < t; });
  }
  if (query.until_us) {
    hi = std::upper_bound(lo, by_time_.end(), *query.until_us,
                          [&](int64_t t, uint32_t i) { return t < entries_[i].time_us; });
  }
  std::vector<uint32_t> out;
  const size_t range = static_cast<size_t>(hi - lo);
  if ((query.since_us || query.until_us) && (list == nullptr || range < list->size())) {
    for (auto it = lo; it != hi; ++it)
      if (query.Matches(entries_[*it])) out.push_back(*it);
    std::sort(out.begin(), out.end());
    return out;
  }
  if (list == nullptr) {
    for (uint32_t i = 0; i < entries_.size(); ++i)
      if (query.Matches(entries_[i])) out.push_back(i);
    return out;
  }
  for (uint32_t i : *list)
    if (query.Matches(entries_[i])) out.push_back(i);
  return out;
}

}  // namespace quantatom::audit

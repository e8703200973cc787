#include "audit/audit_trail.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/byte_codec.h"
#include "base/file_util.h"
#include "base/strings.h"
#include "model/cell_value_codec.h"

namespace quantatom::audit {
namespace {

constexpr char kFileMagic[8] = {'Q', 'A', 'A', 'U', 'D', 'v', '0', '1'};

// The entry's body: what the hash covers after the previous hash.
void EncodeBody(ByteWriter& w, const AuditEntryRef& e) {
  w.Put(e.log_seq);
  w.Put(e.time_us);
  w.PutString<uint32_t>(e.user);
  w.PutString<uint32_t>(e.cause);
  w.PutString<uint32_t>(e.coordinate);
  PutCellValue(w, *e.before);
  PutCellValue(w, *e.after);
}

AuditEntryRef RefOf(const AuditEntry& e) {
  return {e.log_seq, e.time_us, e.user, e.cause, e.coordinate, &e.before, &e.after};
}

std::string EncodeBody(const AuditEntry& e) {
  ByteWriter w;
  EncodeBody(w, RefOf(e));
  return w.Take();
}

// Appends one entry (length, body, hash) to `out` and returns its hash.
Hash AppendEntry(std::string* out, const Hash& prev, std::string_view body);

Hash HashBody(const Hash& prev, std::string_view body) {
  // One context per thread, reused: creating an EVP context per entry costs more than hashing.
  thread_local std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const uint32_t n = static_cast<uint32_t>(body.size());
  Hash h;
  // Fetched once: EVP_sha256() looks the algorithm up again on every init (OpenSSL 3), which
  // cost more than hashing the ~100 bytes of an entry.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_DigestInit_ex(ctx.get(), sha256, nullptr);
  EVP_DigestUpdate(ctx.get(), prev.data(), prev.size());
  EVP_DigestUpdate(ctx.get(), &n, sizeof n);
  EVP_DigestUpdate(ctx.get(), body.data(), body.size());
  EVP_DigestFinal_ex(ctx.get(), h.data(), nullptr);
  return h;
}

Hash AppendEntry(std::string* out, const Hash& prev, std::string_view body) {
  const Hash h = HashBody(prev, body);
  const uint32_t n = static_cast<uint32_t>(body.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(body);
  out->append(reinterpret_cast<const char*>(h.data()), h.size());
  return h;
}

// Writes all of `bytes` at `offset`; 0, or the errno that stopped it (ENOSPC for a write of 0).
int WriteAllAt(int fd, std::string_view bytes, uint64_t offset) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : ENOSPC;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// A failed append: ResourceExhausted for a full disk or quota, else Internal.
absl::Status AppendFailed(const std::string& path, int err) {
  return absl::Status(err == ENOSPC || err == EDQUOT ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kInternal,
                      StrCat("cannot append to the audit trail ", path, ": ", std::strerror(err)));
}

bool DecodeBody(std::string_view body, AuditEntry* e) {
  ByteReader in(body, "audit entry");
  return in.Get(&e->log_seq).ok() && in.Get(&e->time_us).ok() && in.GetString<uint32_t>(&e->user).ok() &&
         in.GetString<uint32_t>(&e->cause).ok() && in.GetString<uint32_t>(&e->coordinate).ok() &&
         GetCellValue(in, &e->before).ok() && GetCellValue(in, &e->after).ok() && in.done();
}

}  // namespace

std::string CauseOfAction(std::string_view action) {
  if (action == "write") return "input";
  if (action.starts_with("undo")) return "undo";
  if (action.starts_with("redo")) return "redo";
  return std::string(action);  // spread, bridge, import, formula, sandbox commit...
}

Hash ChainHash(const Hash& prev, const AuditEntry& entry) { return HashBody(prev, EncodeBody(entry)); }

std::string HashHex(const Hash& h) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : h) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

absl::StatusOr<AuditFile> ParseAuditFile(std::string_view bytes, const std::string& path) {
  AuditFile file;
  if (bytes.size() < sizeof kFileMagic) {
    // A file cut before its header was written completely: nothing was appended yet.
    file.torn_tail = !bytes.empty();
    if (!std::string_view(kFileMagic, bytes.size()).starts_with(bytes) || bytes.size() == 0) {
      if (!bytes.empty()) return absl::DataLossError(StrCat(path, ": not an audit trail (bad magic)"));
    }
    return file;
  }
  if (std::memcmp(bytes.data(), kFileMagic, sizeof kFileMagic) != 0)
    return absl::DataLossError(StrCat(path, ": not an audit trail (bad magic)"));
  QA_RETURN_IF_ERROR(ParseAuditEntries(bytes.substr(sizeof kFileMagic), sizeof kFileMagic, Hash{}, 0, path, &file));
  return file;
}

absl::Status ParseAuditEntries(std::string_view bytes, uint64_t offset, Hash prev, uint64_t first_number,
                               const std::string& path, AuditFile* file) {
  uint64_t number = first_number;
  size_t pos = 0;
  file->valid_bytes = offset;
  while (pos < bytes.size()) {
    const size_t left = bytes.size() - pos;
    uint32_t n = 0;
    if (left < sizeof n) break;
    std::memcpy(&n, bytes.data() + pos, sizeof n);
    if (left - sizeof n < static_cast<uint64_t>(n) + 32) break;  // cut short: a torn append
    std::string_view body = bytes.substr(pos + sizeof n, n);
    Hash stored;
    std::memcpy(stored.data(), bytes.data() + pos + sizeof n + n, 32);
    AuditEntry e;
    if (!DecodeBody(body, &e))
      return absl::DataLossError(StrCat(path, ": audit entry ", number + 1, " at byte ", offset + pos,
                                        " does not decode"));
    const Hash h = HashBody(prev, body);
    if (h != stored)
      return absl::DataLossError(StrCat(path, ": audit chain broken at entry ", number + 1, " (byte ",
                                        offset + pos, "): its hash does not follow from the entries before it"));
    file->entries.push_back(std::move(e));
    file->hashes.push_back(h);
    prev = h;
    ++number;
    pos += sizeof n + n + 32;
    file->valid_bytes = offset + pos;
  }
  file->torn_tail = pos < bytes.size();
  return absl::OkStatus();
}

absl::StatusOr<AuditFile> ReadAuditFile(const std::string& path) {
  QA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return ParseAuditFile(bytes, path);
}

absl::StatusOr<std::unique_ptr<AuditTrail>> AuditTrail::Open(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok() && !absl::IsNotFound(bytes.status())) return bytes.status();
  if (!bytes.ok() || bytes->size() < sizeof kFileMagic) {
    // New (or cut before its header was complete): write the header durably.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return absl::InternalError(StrCat("cannot create ", path, ": ", std::strerror(errno)));
    const bool ok = ::write(fd, kFileMagic, sizeof kFileMagic) == static_cast<ssize_t>(sizeof kFileMagic) &&
                    ::fdatasync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) return absl::InternalError(StrCat("cannot write ", path, ": ", std::strerror(err)));
    std::string dir = std::filesystem::path(path).parent_path().string();
    QA_RETURN_IF_ERROR(SyncDirectory(dir.empty() ? "." : dir));
    return std::unique_ptr<AuditTrail>(new AuditTrail(path, sizeof kFileMagic, 0, Hash{}, 0, 0));
  }
  QA_ASSIGN_OR_RETURN(AuditFile file, ParseAuditFile(*bytes, path));
  if (file.torn_tail) {
    if (::truncate(path.c_str(), static_cast<off_t>(file.valid_bytes)) != 0)
      return absl::InternalError(StrCat("cannot cut the torn tail of ", path, ": ", std::strerror(errno)));
  }
  const uint64_t last = file.entries.empty() ? 0 : file.entries.back().log_seq;
  uint64_t last_entries = 0;
  for (auto e = file.entries.rbegin(); e != file.entries.rend() && e->log_seq == last; ++e) ++last_entries;
  return std::unique_ptr<AuditTrail>(
      new AuditTrail(path, file.valid_bytes, file.entries.size(), file.head(), last, last_entries));
}

AuditTrail::Chained AuditTrail::Chain(const std::vector<AuditEntry>& entries) const {
  Chained out;
  out.from = out.head = head_;
  out.count = entries.size();
  out.last_seq = entries.empty() ? last_seq_ : entries.back().log_seq;
  auto e = entries.rbegin();
  for (; e != entries.rend() && e->log_seq == out.last_seq; ++e) ++out.last_seq_entries;
  if (e == entries.rend() && out.last_seq == last_seq_) out.last_seq_entries += last_seq_entries_;
  // Bodies first, so the output is sized once (a 1M-cell import chains 1M entries; growing
  // the string by doubling copied and page-faulted it over and over).
  std::vector<std::string> bodies;
  bodies.reserve(entries.size());
  size_t total = 0;
  for (const AuditEntry& e : entries) {
    bodies.push_back(EncodeBody(e));
    total += sizeof(uint32_t) + bodies.back().size() + out.head.size();
  }
  out.bytes.reserve(total);
  for (const std::string& body : bodies) out.head = AppendEntry(&out.bytes, out.head, body);
  return out;
}

absl::Status AuditTrail::Append(const Chained& chained) {
  if (chained.count == 0) return absl::OkStatus();
  if (chained.from != head_)
    return absl::FailedPreconditionError(StrCat("audit trail ", path_, ": entries chained after another head"));
  const std::string& out = chained.bytes;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(StrCat("cannot open ", path_, ": ", std::strerror(errno)));
  int err = WriteAllAt(fd, out, size_);
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  if (err != 0) {
    (void)::ftruncate(fd, static_cast<off_t>(size_));  // best effort; a reopen cuts it anyway
    ::close(fd);
    return AppendFailed(path_, err);
  }
  ::close(fd);
  size_ += out.size();
  count_ += chained.count;
  head_ = chained.head;
  last_seq_ = chained.last_seq;
  last_seq_entries_ = chained.last_seq_entries;
  return absl::OkStatus();
}

// ---- Appender

namespace {
// Written out whenever the chunk passes this: big enough that the write calls cost nothing,
// small enough to stay in the caches (and to be faulted in only once).
constexpr size_t kChunkBytes = size_t{4} << 20;
}  // namespace

absl::StatusOr<std::unique_ptr<AuditTrail::Appender>> AuditTrail::StartAppend() {
  std::unique_ptr<Appender> a(new Appender(this));
  a->fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (a->fd_ < 0) return absl::InternalError(StrCat("cannot open ", path_, ": ", std::strerror(errno)));
  return a;
}

AuditTrail::Appender::Appender(AuditTrail* trail)
    : trail_(trail), last_seq_(trail->last_seq_), last_seq_entries_(trail->last_seq_entries_), head_(trail->head_) {
  chunk_.reserve(kChunkBytes + 4096);
}

AuditTrail::Appender::~Appender() {
  if (fd_ < 0) return;
  // Not committed: nothing of it is part of the trail (best effort; a reopen cuts a torn tail).
  if (!done_ && written_ > 0) (void)::ftruncate(fd_, static_cast<off_t>(trail_->size_));
  ::close(fd_);
}

void AuditTrail::Appender::Add(const AuditEntryRef& entry) {
  ByteWriter w;
  w.Reserve(128);
  EncodeBody(w, entry);
  head_ = AppendEntry(&chunk_, head_, w.bytes());
  ++count_;
  last_seq_entries_ = entry.log_seq == last_seq_ ? last_seq_entries_ + 1 : 1;
  last_seq_ = entry.log_seq;
  if (chunk_.size() >= kChunkBytes) Flush();
}

void AuditTrail::Appender::Flush() {
  if (err_ == 0) err_ = WriteAllAt(fd_, chunk_, trail_->size_ + written_);
  written_ += chunk_.size();  // after an error only the cut back on drop uses it
  chunk_.clear();
}

absl::Status AuditTrail::Appender::Commit() {
  if (done_) return absl::FailedPreconditionError(StrCat("audit trail ", trail_->path_, ": appender committed twice"));
  if (count_ == 0) {
    done_ = true;
    return absl::OkStatus();
  }
  Flush();
  if (err_ == 0 && ::fdatasync(fd_) != 0) err_ = errno;
  if (err_ != 0) return AppendFailed(trail_->path_, err_);
  done_ = true;
  trail_->size_ += written_;
  trail_->count_ += count_;
  trail_->head_ = head_;
  trail_->last_seq_ = last_seq_;
  trail_->last_seq_entries_ = last_seq_entries_;
  return absl::OkStatus();
}

bool AuditQuery::Matches(const AuditEntry& e) const {
  if (!coordinate.empty() && e.coordinate != coordinate) return false;
  if (!user.empty() && e.user != user) return false;
  if (since_us && e.time_us < *since_us) return false;
  if (until_us && e.time_us > *until_us) return false;
  return true;
}

}  // namespace quantatom::audit

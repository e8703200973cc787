// ByteWriter / ByteReader: the one little-endian byte codec of every file format we write
// (snapshots, history, change records, audit entries, comments, targets; docs/formats/).
//
// Fixed-width values are stored as their in-memory bytes (the formats are little-endian and so
// is every machine we build for: see the static_assert). A string is a length of a chosen width
// followed by its bytes; each format says which width (PutString<uint32_t> and so on).
//
//   ByteWriter w;
//   w.Put<uint64_t>(7);
//   w.PutString<uint32_t>("ann");
//   std::string bytes = w.Take();
//
//   ByteReader r(bytes, "acme.qa (holds)");
//   uint64_t n;
//   std::string user;
//   QA_RETURN_IF_ERROR(r.Get(&n));
//   QA_RETURN_IF_ERROR(r.GetString<uint32_t>(&user));
//
// Every read checks the bytes left first, so truncated or garbled input ends in DataLoss
// ("<context>: truncated at byte <offset> (reading <what>)"), never a read past the end, and a
// count is checked against the bytes left before anything is allocated for it.
//
// Not thread-safe; a reader only borrows its bytes and context, which must outlive it.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/status.h"

namespace quantatom {

static_assert(std::endian::native == std::endian::little, "the file formats are little-endian");

class ByteWriter {
 public:
  ByteWriter() = default;

  template <typename T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  // `n` values of T, back to back (a column).
  template <typename T>
  void PutArray(const T* values, size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(values), n * sizeof(T));
  }
  void PutBytes(std::string_view bytes) { out_.append(bytes); }
  // The length as a Len, then the bytes. The caller keeps strings within Len's range (the
  // formats bound them: a member code, a section); a longer one is a bug, not bad input.
  template <typename Len>
  void PutString(std::string_view s) {
    static_assert(std::is_unsigned_v<Len>);
    Put(static_cast<Len>(s.size()));
    out_.append(s);
  }

  void Reserve(size_t n) { out_.reserve(n); }
  size_t size() const { return out_.size(); }
  const std::string& bytes() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class ByteReader {
 public:
  // `context` names the bytes in errors (a file, "log record 17", "targets").
  ByteReader(std::string_view bytes, std::string_view context) : bytes_(bytes), context_(context) {}

  template <typename T>
  absl::Status Get(T* v, std::string_view what = {}) {
    static_assert(std::is_trivially_copyable_v<T>);
    QA_RETURN_IF_ERROR(Need(sizeof(T), what));
    std::memcpy(v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }
  // `n` values of T into `out` (room for n).
  template <typename T>
  absl::Status GetArray(T* out, uint64_t n, std::string_view what = {}) {
    static_assert(std::is_trivially_copyable_v<T>);
    QA_RETURN_IF_ERROR(NeedItems(n, sizeof(T), what));
    std::memcpy(out, bytes_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return absl::OkStatus();
  }
  // The next `n` bytes, borrowed.
  absl::Status GetBytes(uint64_t n, std::string_view* out, std::string_view what = {}) {
    QA_RETURN_IF_ERROR(Need(n, what));
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }
  // A Len-prefixed string, borrowed or copied.
  template <typename Len>
  absl::Status GetString(std::string_view* s, std::string_view what = {}) {
    Len n = 0;
    QA_RETURN_IF_ERROR(Get(&n, what));
    return GetBytes(n, s, what);
  }
  template <typename Len>
  absl::Status GetString(std::string* s, std::string_view what = {}) {
    std::string_view v;
    QA_RETURN_IF_ERROR(GetString<Len>(&v, what));
    s->assign(v);
    return absl::OkStatus();
  }
  // A count (stored as Count) of items of at least `min_item_bytes` each: DataLoss unless the
  // bytes left could hold them, so that a garbled count never drives a huge allocation.
  template <typename Count>
  absl::Status GetCount(uint64_t* n, size_t min_item_bytes, std::string_view what = {}) {
    Count c = 0;
    QA_RETURN_IF_ERROR(Get(&c, what));
    *n = c;
    return NeedItems(*n, min_item_bytes, what);
  }
  // DataLoss unless `n` items of `item_bytes` each are left.
  absl::Status NeedItems(uint64_t n, size_t item_bytes, std::string_view what = {}) const {
    if (item_bytes > 0 && n > remaining() / item_bytes) return Truncated(what);
    return absl::OkStatus();
  }

  // DataLoss "<context>: <what> at byte <offset>", for a value that decodes but is wrong.
  absl::Status Error(std::string_view what) const;

  size_t pos() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  absl::Status Need(uint64_t n, std::string_view what) const {
    if (n > remaining()) return Truncated(what);
    return absl::OkStatus();
  }
  absl::Status Truncated(std::string_view what) const;

  std::string_view bytes_;
  size_t pos_ = 0;
  std::string_view context_;
};

}  // namespace quantatom

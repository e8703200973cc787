#include "server/static_assets.h"

#include <brotli/encode.h>
#include <httplib.h>
#include <zlib.h>

#include <cstdlib>
#include <string_view>

namespace quantatom {
namespace {

// Levels chosen for a one-time cost of tens of milliseconds on the bundle while staying within a
// few percent of the best ratio.
constexpr int kGzipLevel = 9;
constexpr int kBrotliQuality = 9;

std::string Gzip(const std::string& in) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer rather than a raw zlib stream.
  if (deflateInit2(&zs, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

std::string Brotli(const std::string& in) {
  size_t size = BrotliEncoderMaxCompressedSize(in.size());
  if (size == 0) return {};
  std::string out(size, '\0');
  if (!BrotliEncoderCompress(kBrotliQuality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, in.size(),
                             reinterpret_cast<const uint8_t*>(in.data()), &size,
                             reinterpret_cast<uint8_t*>(out.data()))) {
    return {};
  }
  out.resize(size);
  return out;
}

// Whether a token of Accept-Encoding names `coding` with a q-value above zero.
bool Accepts(std::string_view header, std::string_view coding) {
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    size_t semi = item.find(';');
    std::string_view name = item.substr(0, semi);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name != coding) continue;
    if (semi == std::string_view::npos) return true;
    std::string_view params = item.substr(semi + 1);
    size_t q = params.find("q=");
    if (q == std::string_view::npos) return true;
    // "q=0", "q=0.0" refuse the coding; any other weight accepts it.
    return std::strtod(std::string(params.substr(q + 2)).c_str(), nullptr) > 0;
  }
  return false;
}

}  // namespace

std::string StaticAssets::ChooseEncoding(const std::string& accept_encoding) {
  if (Accepts(accept_encoding, "br")) return "br";
  if (Accepts(accept_encoding, "gzip")) return "gzip";
  return "";
}

std::shared_ptr<const StaticAssets::Compressed> StaticAssets::Lookup(const std::string& path,
                                                                     const std::string& body) {
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(root_ / path.substr(path.find_first_not_of('/')), ec);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(path);
    if (it != cache_.end() && !ec && it->second->mtime == mtime) return it->second;
  }
  // Compressed outside the lock: two first requests may both compress; the results are equal.
  auto entry = std::make_shared<Compressed>();
  entry->mtime = mtime;
  entry->gzip = Gzip(body);
  entry->brotli = Brotli(body);
  std::lock_guard<std::mutex> lock(mu_);
  cache_[path] = entry;
  return entry;
}

void StaticAssets::Finish(const httplib::Request& req, httplib::Response& res) {
  if (req.path.rfind("/assets/", 0) == 0) {
    // Vite names these files by a hash of their content: a new build gets new names.
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  } else {
    res.set_header("Cache-Control", "no-cache");
  }
  res.set_header("Vary", "Accept-Encoding");
  std::string encoding = ChooseEncoding(req.get_header_value("Accept-Encoding"));
  // httplib would otherwise compress the body on its way out, per request, at brotli's slowest
  // level, and ignoring "q=0". The request object is httplib's per-connection local, not a
  // const object, so hiding the header from its encoder is defined behaviour.
  const_cast<httplib::Headers&>(req.headers).erase("Accept-Encoding");
  // Small files and ranges go out as they are.
  if (encoding.empty() || res.body.size() < 1024 || req.has_header("Range")) return;
  std::shared_ptr<const Compressed> entry = Lookup(req.path, res.body);
  const std::string& copy = encoding == "br" ? entry->brotli : entry->gzip;
  if (copy.empty() || copy.size() >= res.body.size()) return;
  res.body = copy;
  res.set_header("Content-Encoding", encoding);
}

}  // namespace quantatom

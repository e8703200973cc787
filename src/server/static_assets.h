#pragma once
// Serves the web client's files (the Vite build under --web) compressed once, not per request.
//
// cpp-httplib 0.11 compresses every text/* and JavaScript body on every request, with brotli at
// quality 11 when the browser accepts it: 1.3-1.7 s of CPU for our 425 KB bundle, on each page
// open. It has no switch for that. StaticAssets keeps, per file and modification time, one gzip
// and one brotli copy made at a moderate level, and hands the right one out; Vite's
// content-hashed files under /assets/ are marked immutable so a browser asks for them once.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace quantatom {

class StaticAssets {
 public:
  explicit StaticAssets(std::filesystem::path root) : root_(std::move(root)) {}

  // httplib's file-request hook: called after it has read a file under the mount point into
  // `res`. Replaces the body with a cached compressed copy when the client accepts one.
  void Finish(const httplib::Request& req, httplib::Response& res);

  // The encodings a client's Accept-Encoding allows, best first ("br", "gzip" or "").
  static std::string ChooseEncoding(const std::string& accept_encoding);

 private:
  struct Compressed {
    std::filesystem::file_time_type mtime;
    std::string gzip;
    std::string brotli;
  };
  std::shared_ptr<const Compressed> Lookup(const std::string& path, const std::string& body);

  std::filesystem::path root_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Compressed>> cache_;
};

}  // namespace quantatom

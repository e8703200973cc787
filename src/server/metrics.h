// Prometheus metrics in the text exposition format (version 0.0.4), served at /metrics:
// request counts by method and code, request latency histograms by method, and any named
// histogram or gauge a subsystem registers (change delivery delay, subscribers).
//
// Thread-safe; recording costs a map lookup under a mutex, which is small beside a request.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace quantatom {

class Metrics {
 public:
  // One finished RPC: `code` is the Connect code name ("ok", "not_found", ...).
  void RecordCall(const std::string& method, const std::string& code, double seconds);
  // Adds `seconds` to the histogram `name` (created on first use, with `help`).
  void Observe(const std::string& name, const std::string& help, double seconds);
  void AddCounter(const std::string& name, const std::string& help, double delta);
  // A gauge whose value is read when the metrics are rendered.
  void SetGauge(const std::string& name, const std::string& help, std::function<double()> read);
  std::string Render() const;

  // Bucket bounds in seconds: 50 us to 10 s.
  static constexpr std::array<double, 14> kBounds = {5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
                                                     1e-2, 2.5e-2, 5e-2, 0.1, 0.5, 2.5, 10};

 private:
  struct Histogram {
    std::string help;
    std::array<uint64_t, kBounds.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
    void Add(double v);
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> calls_;  // (method, code)
  std::map<std::string, Histogram> call_seconds_;                    // by method
  std::map<std::string, Histogram> histograms_;
  std::map<std::string, std::pair<std::string, double>> counters_;
  std::map<std::string, std::pair<std::string, std::function<double()>>> gauges_;
};

}  // namespace quantatom

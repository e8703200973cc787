#include "server/metrics.h"

#include "base/strings.h"

namespace quantatom {
namespace {

std::string Num(double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void Metrics::Histogram::Add(double v) {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (v <= kBounds[i]) ++buckets[i];
  }
  ++count;
  sum += v;
}

void Metrics::RecordCall(const std::string& method, const std::string& code, double seconds) {
  std::lock_guard lock(mu_);
  ++calls_[{method, code}];
  call_seconds_[method].Add(seconds);
}

void Metrics::Observe(const std::string& name, const std::string& help, double seconds) {
  std::lock_guard lock(mu_);
  Histogram& h = histograms_[name];
  h.help = help;
  h.Add(seconds);
}

void Metrics::AddCounter(const std::string& name, const std::string& help, double delta) {
  std::lock_guard lock(mu_);
  auto& c = counters_[name];
  c.first = help;
  c.second += delta;
}

void Metrics::SetGauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_[name] = {help, std::move(read)};
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto histogram = [&](const std::string& name, const std::string& labels, const Histogram& h) {
    std::string sep = labels.empty() ? "" : ",";
    for (size_t i = 0; i < kBounds.size(); ++i) {
      StrAppend(&out, name, "_bucket{", labels, sep, "le=\"", Num(kBounds[i]), "\"} ", h.buckets[i], "\n");
    }
    StrAppend(&out, name, "_bucket{", labels, sep, "le=\"+Inf\"} ", h.count, "\n");
    std::string braces = labels.empty() ? "" : StrCat("{", labels, "}");
    StrAppend(&out, name, "_sum", braces, " ", Num(h.sum), "\n", name, "_count", braces, " ", h.count, "\n");
  };
  out += "# HELP quantatom_rpc_requests_total RPCs finished, by method and Connect code.\n";
  out += "# TYPE quantatom_rpc_requests_total counter\n";
  for (const auto& [key, n] : calls_) {
    StrAppend(&out, "quantatom_rpc_requests_total{method=\"", key.first, "\",code=\"", key.second, "\"} ", n, "\n");
  }
  out += "# HELP quantatom_rpc_seconds RPC latency from request read to response written.\n";
  out += "# TYPE quantatom_rpc_seconds histogram\n";
  for (const auto& [method, h] : call_seconds_) histogram("quantatom_rpc_seconds", StrCat("method=\"", method, "\""), h);
  for (const auto& [name, h] : histograms_) {
    StrAppend(&out, "# HELP ", name, " ", h.help, "\n# TYPE ", name, " histogram\n");
    histogram(name, "", h);
  }
  for (const auto& [name, c] : counters_) {
    StrAppend(&out, "# HELP ", name, " ", c.first, "\n# TYPE ", name, " counter\n", name, " ", Num(c.second), "\n");
  }
  for (const auto& [name, g] : gauges_) {
    StrAppend(&out, "# HELP ", name, " ", g.first, "\n# TYPE ", name, " gauge\n", name, " ", Num(g.second()), "\n");
  }
  return out;
}

}  // namespace quantatom

// quantatom-server: serves the apps of a data folder over the Connect API (docs/api.md).
//
//   quantatom-server --data var/data [--host 127.0.0.1] [--port 8080] [--web web/dist]
//
// On the first start it creates the admin user and prints its token once (or takes it from
// QUANTATOM_ADMIN_TOKEN). Logs are JSON lines on stderr; metrics at /metrics.
#include <csignal>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "auth/token_store.h"
#include "server/app_host.h"
#include "server/connect.h"
#include "server/services.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  using namespace quantatom;
  CLI::App cli("QuantatomAI server: the Connect API over the apps of a data folder");
  std::string data, host = "127.0.0.1", web, log_level = "info";
  int port = 8080, threads = 256;
  size_t max_body = size_t{256} << 20;
  std::vector<std::string> origins = {"*"};
  cli.add_option("--data", data, "data folder")->required();
  cli.add_option("--host", host, "address to listen on");
  cli.add_option("--port", port, "port (0: any free port)");
  cli.add_option("--web", web, "static folder served at / (the browser app)");
  cli.add_option("--max-body-bytes", max_body, "largest request body");
  cli.add_option("--threads", threads, "HTTP worker threads (open Subscribe streams hold none)");
  cli.add_option("--cors-origin", origins, "origins allowed cross-origin ('*': any)");
  cli.add_option("--log-level", log_level, "debug, info, warn, error");
  CLI11_PARSE(cli, argc, argv);

  auto logger = spdlog::stderr_logger_mt("quantatom");
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","event":%v})", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  TokenStore tokens(data + "/auth.json");
  if (auto st = tokens.Open(); !st.ok()) {
    std::fprintf(stderr, "quantatom-server: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  auto admin = tokens.EnsureAdmin("admin", std::getenv("QUANTATOM_ADMIN_TOKEN"));
  if (!admin.ok()) {
    std::fprintf(stderr, "quantatom-server: %s\n", std::string(admin.status().message()).c_str());
    return 1;
  }
  auto apps = AppHost::Open(data);
  if (!apps.ok()) {
    std::fprintf(stderr, "quantatom-server: %s\n", std::string(apps.status().message()).c_str());
    return 1;
  }
  Metrics metrics;
  AppHost* app_host = apps->get();
  ApiServices services(app_host, &tokens, &metrics);
  metrics.SetGauge("quantatom_subscribers", "Open Subscribe streams.",
                   [&services] { return static_cast<double>(services.subscribers()); });
  ConnectOptions options;
  options.static_dir = web;
  options.cors_origins = origins;
  options.max_request_bytes = max_body;
  options.threads = threads;
  ConnectServer server(options, services.MakeAuthorizer(), &metrics);
  services.Register(server);
  server.OnStop([app_host] { app_host->bus().CloseAll(); });
  auto bound = server.Start(host, port);
  if (!bound.ok()) {
    std::fprintf(stderr, "quantatom-server: %s\n", std::string(bound.status().message()).c_str());
    return 1;
  }
  std::printf("QuantatomAI server on http://%s:%d/ (apps: %zu; metrics: /metrics)\n", host.c_str(), *bound,
              app_host->AppNames().size());
  if (admin->has_value()) {
    std::printf("admin token (shown once; keep it): %s\n", (*admin)->c_str());
  } else {
    std::printf("admin exists already: use its token (or set QUANTATOM_ADMIN_TOKEN)\n");
  }
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info(R"({"stopping":true})");
  server.Stop();
  app_host->Close();
  return 0;
}

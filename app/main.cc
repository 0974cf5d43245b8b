// rowcached: the process. Loads the configuration, starts the embedded cache server and
// serves until SHUTDOWN, SIGINT or SIGTERM.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "app/config.h"
#include "middleware/bloom_family.h"
#include "middleware/row_cache.h"
#include "server/network.h"
#include "server/persistence.h"
#include "server/server_context.h"

using namespace rowcached;

int main(int argc, char** argv) {
  app::Config config;
  std::string error;
  switch (app::LoadConfig(argc, argv, &config, &error)) {
    case app::LoadResult::kExit:
      return 0;
    case app::LoadResult::kError:
      std::fprintf(stderr, "rowcached: bad configuration: %s\n", error.c_str());
      return 1;
    case app::LoadResult::kOk:
      break;
  }
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config.loglevel));
  spdlog::info("rowcached {} starting{}", server::kRowcachedVersion,
               config.config_file.empty() ? " with defaults" : " with " + config.config_file);

  // Signals are taken by one thread with sigwait, so no handler runs on an I/O thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  server::ServerContext context(config.server);
  middleware::RegisterBloomFamily(context.registry());
  // Rows go into snapshots before anything can write one (the AOF's first base, at Load).
  if (!config.tables.empty()) middleware::KeepRowsInSnapshots(context);
  if (!context.persistence().Load(&error)) {
    spdlog::error("cannot load the saved data: {}", error);
    return 1;
  }
  std::shared_ptr<middleware::RowCache> row_cache;
  if (!config.tables.empty()) {
    row_cache = middleware::StartRowCache(context, app::RowCacheOptions(config), &error);
    if (!row_cache) {
      std::fprintf(stderr, "rowcached: bad configuration: %s: %s\n",
                   config.config_file.empty() ? "command line" : config.config_file.c_str(),
                   error.c_str());
      return 1;
    }
  }
  server::NetworkServer network(context);
  if (!network.Start(&error)) {
    spdlog::error("{}", error);
    return 1;
  }
  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!stopping) {
      spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    network.RequestStop();
  });
  network.Wait();
  stopping = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // wakes sigwait if still waiting
  signal_thread.join();
  // The row cache's threads stop first: nothing changes the keyspace during the last save.
  if (row_cache) middleware::StopRowCache(*row_cache);
  if (!context.persistence().FinishShutdown(&error)) {
    spdlog::error("the final snapshot failed: {}", error);
  }
  spdlog::info("bye");
  return 0;
}

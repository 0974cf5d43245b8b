// rowcached: the process. Loads the configuration, starts the embedded cache server and
// serves until SHUTDOWN, SIGINT or SIGTERM.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "app/config.h"
#include "middleware/bloom_family.h"
#include "middleware/row_cache.h"
#include "server/aof.h"
#include "server/background_child.h"
#include "server/network.h"
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
  // Persistence: with appendonly, the AOF is loaded, then opened for appending before serving.
  server::BackgroundChild background_child;
  std::unique_ptr<server::AppendOnlyFile> aof;
  if (config.server.appendonly) {
    server::AofLoadResult loaded;
    auto start = std::chrono::steady_clock::now();
    if (!server::LoadAppendOnlyFile(context, config.server, &error, &loaded)) {
      spdlog::error("{}", error);
      return 1;
    }
    if (loaded.found) {
      spdlog::info("DB loaded from append only file: {:.3f} seconds ({} files, {} commands)",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                   loaded.files_loaded, loaded.commands);
    }
    aof = server::AppendOnlyFile::Open(context, background_child, &error);
    if (!aof) {
      spdlog::error("{}", error);
      return 1;
    }
    context.set_command_log(aof.get());
  }
  server::NetworkServer network(context);
  if (!network.Start(&error)) {
    spdlog::error("{}", error);
    return 1;
  }
  // The AOF's periodic work (appendfsync changes, rewrite children, automatic rewrites), at the
  // server's hz.
  std::mutex aof_cron_mu;
  std::condition_variable aof_cron_cv;
  bool aof_cron_stop = false;
  std::thread aof_cron;
  if (aof) {
    aof_cron = std::thread([&] {
      std::unique_lock l(aof_cron_mu);
      while (!aof_cron_stop) {
        int hz = std::clamp(context.options().hz, 1, 500);
        aof_cron_cv.wait_for(l, std::chrono::milliseconds(1000 / hz),
                             [&] { return aof_cron_stop; });
        if (!aof_cron_stop) aof->Cron();
      }
    });
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
  if (aof) {
    {
      std::lock_guard l(aof_cron_mu);
      aof_cron_stop = true;
    }
    aof_cron_cv.notify_all();
    aof_cron.join();
    context.set_command_log(nullptr);
    aof.reset();  // writes and fsyncs what is buffered
  }
  stopping = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // wakes sigwait if still waiting
  signal_thread.join();
  if (row_cache) middleware::StopRowCache(*row_cache);
  spdlog::info("bye");
  return 0;
}

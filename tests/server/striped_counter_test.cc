#include "server/striped_counter.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using rowcached::server::StripedCounter;

TEST_CASE("striped counter sums the adds of every thread and resets", "[counter][tsan]") {
  StripedCounter counter;
  constexpr int kThreads = 20;  // more threads than lines: some share one
  constexpr uint64_t kAdds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < kAdds; ++i) counter.Add(t % 2 == 0 ? 1 : 3);
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(counter.Load() == kAdds * (kThreads / 2) * (1 + 3));
  counter.Reset();
  REQUIRE(counter.Load() == 0);
  counter.Add(5);
  REQUIRE(counter.Load() == 5);
}

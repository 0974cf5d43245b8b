// Bloom filter unit tests: sizing, no false negatives, measured false-positive rates against the
// configured bound, scaling and its compound bound, NONSCALING, and concurrent adds and reads.
//
// False-positive rates are measured over 100,000 probes that were never added, with fixed seeds,
// and must stay within 1.5x the configured rate. For a rate p the expected count is 100000 * p
// with a standard deviation of about sqrt(100000 * p): the margin is >= 5 deviations at 0.1% and
// far more at 1%, so a failure means a sizing or hashing bug, not bad luck.
#include "middleware/bloom.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/hyperloglog.h"

namespace rowcached::middleware {
namespace {

constexpr size_t kProbes = 100000;
constexpr double kMargin = 1.5;

// `n` distinct items: a prefix (so sets with different prefixes are disjoint) and a counter
// mixed with a seeded random number (so the items are not just sequential).
std::vector<std::string> Items(std::string_view prefix, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> items;
  items.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    items.push_back(std::string(prefix) + std::to_string(i) + ":" + std::to_string(rng()));
  }
  return items;
}

template <typename Filter>
double MeasuredFpRate(const Filter& filter) {
  size_t positives = 0;
  for (const std::string& probe : Items("probe:", kProbes, 0xfeed)) {
    if (filter.MightContain(probe)) ++positives;
  }
  return static_cast<double>(positives) / kProbes;
}

TEST_CASE("SizeBloom follows RedisBloom's bits-per-entry and hash-count formulas", "[bloom]") {
  // 1%: bpe 9.585, 958 bits rounded up to 15 words; ceil(6.64) = 7 hashes.
  auto s = SizeBloom(100, 0.01);
  REQUIRE(s);
  CHECK(s->bits == 960);
  CHECK(s->hashes == 7);
  CHECK(s->bits_per_entry == Approx(-std::log(0.01) / (std::log(2) * std::log(2))));
  // 0.5% (a default BF.ADD filter's first sub-filter): 1102 bits -> 18 words, 8 hashes.
  s = SizeBloom(100, 0.005);
  REQUIRE(s);
  CHECK(s->bits == 1152);
  CHECK(s->hashes == 8);
  // 0.1%: 14377 bits -> 225 words, 10 hashes.
  s = SizeBloom(1000, 0.001);
  REQUIRE(s);
  CHECK(s->bits == 14400);
  CHECK(s->hashes == 10);
  // A single item at a loose rate still gets one word.
  s = SizeBloom(1, 0.9);
  REQUIRE(s);
  CHECK(s->bits == 64);
  CHECK(s->hashes == 1);
}

TEST_CASE("SizeBloom rejects out-of-range parameters and oversized arrays", "[bloom]") {
  CHECK_FALSE(SizeBloom(0, 0.01));
  CHECK_FALSE(SizeBloom(100, 0));
  CHECK_FALSE(SizeBloom(100, 1));
  CHECK_FALSE(SizeBloom(100, -0.5));
  CHECK_FALSE(SizeBloom(100, std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(SizeBloom(UINT64_MAX, 0.01));
  CHECK_FALSE(SizeBloom(1'000'000'000'000, 0.001));  // 1.8 TB
  CHECK(SizeBloom(1'000'000'000'000, 0.001, uint64_t{1} << 42));
  CHECK_FALSE(SizeBloom(1000, 0.01, 64));  // 1199 bytes > 64
}

TEST_CASE("MurmurHash64A and HashItem are deterministic", "[bloom]") {
  using server::hll::MurmurHash64A;
  CHECK(MurmurHash64A("", 0) == 0);  // no input, no seed: every step keeps 0
  CHECK(MurmurHash64A("abc", 1) == MurmurHash64A("abc", 1));
  CHECK(MurmurHash64A("abc", 1) != MurmurHash64A("abc", 2));
  // Every tail length takes its own path through the switch.
  std::string s = "0123456789abcdef";
  std::vector<uint64_t> seen;
  for (size_t len = 0; len <= s.size(); ++len) {
    uint64_t h = MurmurHash64A(std::string_view(s).substr(0, len), 7);
    for (uint64_t other : seen) CHECK(h != other);
    seen.push_back(h);
  }
  BloomHash a = HashItem("products:42");
  BloomHash b = HashItem("products:42");
  CHECK(a.h1 == b.h1);
  CHECK(a.h2 == b.h2);
  CHECK(a.h1 != a.h2);
}

TEST_CASE("BloomFilter Add reports whether the item was new", "[bloom]") {
  auto sizing = SizeBloom(100, 0.01);
  REQUIRE(sizing);
  BloomFilter f(100, 0.01, *sizing);
  CHECK_FALSE(f.MightContain("a"));
  CHECK(f.Add("a"));
  CHECK_FALSE(f.Add("a"));
  CHECK(f.MightContain("a"));
  CHECK(f.items() == 1);
  CHECK(f.Add(""));  // the empty item is an item like any other
  CHECK(f.MightContain(""));
  CHECK(f.items() == 2);
  CHECK(f.bytes() == 120);
  CHECK(f.MemoryUsage() >= f.bytes());
}

TEST_CASE("BloomFilter has no false negatives and its false-positive rate is within bounds",
          "[bloom]") {
  for (double error : {0.01, 0.001}) {
    constexpr size_t kItems = 100000;
    auto sizing = SizeBloom(kItems, error);
    REQUIRE(sizing);
    BloomFilter f(kItems, error, *sizing);
    std::vector<std::string> items = Items("item:", kItems, 42);
    for (const std::string& item : items) (void)f.Add(item);
    size_t missing = 0;
    for (const std::string& item : items) missing += f.MightContain(item) ? 0 : 1;
    CHECK(missing == 0);
    double rate = MeasuredFpRate(f);
    CAPTURE(error, rate);
    CHECK(rate <= error * kMargin);
    // Items that were false positives when added are not counted as new.
    CHECK(f.items() <= kItems);
    CHECK(f.items() >= kItems - static_cast<size_t>(kItems * error * kMargin));
  }
}

TEST_CASE("ScalableBloom rejects out-of-range options", "[bloom]") {
  CHECK_FALSE(ScalableBloom::Create({.capacity = 0}));
  CHECK_FALSE(ScalableBloom::Create({.error_rate = 0}));
  CHECK_FALSE(ScalableBloom::Create({.error_rate = 1}));
  CHECK_FALSE(ScalableBloom::Create({.expansion = 0}));
  CHECK_FALSE(ScalableBloom::Create({.capacity = 10'000'000'000, .error_rate = 0.0001}));
  CHECK(ScalableBloom::Create({.expansion = 0, .scaling = false}));  // expansion unused
}

TEST_CASE("ScalableBloom grows by expansion and keeps the compound error bound", "[bloom]") {
  constexpr double kError = 0.01;
  auto chain = ScalableBloom::Create({.capacity = 1000, .error_rate = kError, .expansion = 2});
  REQUIRE(chain);
  CHECK(chain->num_filters() == 1);
  CHECK(chain->capacity() == 1000);

  constexpr size_t kItems = 50000;
  std::vector<std::string> items = Items("item:", kItems, 7);
  for (const std::string& item : items) {
    BloomAddResult r = chain->Add(item);
    REQUIRE((r == BloomAddResult::kAdded || r == BloomAddResult::kExists));
  }
  // 1000 + 2000 + 4000 + 8000 + 16000 = 31000 < 50000 <= 63000.
  REQUIRE(chain->num_filters() == 6);
  CHECK(chain->capacity() == 63000);
  double bound = 0;
  for (size_t i = 0; i < chain->num_filters(); ++i) {
    CAPTURE(i);
    CHECK(chain->filter(i).capacity() == (uint64_t{1000} << i));
    // RedisBloom's tightening: sub-filter i gets error * 0.5^(i+1).
    CHECK(chain->filter(i).error_rate() == Approx(kError * std::pow(0.5, i + 1)));
    bound += chain->filter(i).error_rate();
  }
  CHECK(bound < kError);
  // Every full sub-filter holds exactly its capacity.
  for (size_t i = 0; i + 1 < chain->num_filters(); ++i) {
    CHECK(chain->filter(i).items() == chain->filter(i).capacity());
  }
  CHECK(chain->items() <= kItems);
  CHECK(chain->items() >= kItems - static_cast<size_t>(kItems * kError));

  size_t missing = 0;
  for (const std::string& item : items) missing += chain->MightContain(item) ? 0 : 1;
  CHECK(missing == 0);
  double rate = MeasuredFpRate(*chain);
  CAPTURE(rate);
  CHECK(rate <= kError * kMargin);
}

TEST_CASE("ScalableBloom with expansion 1 adds equal sub-filters within the bound", "[bloom]") {
  constexpr double kError = 0.01;
  auto chain = ScalableBloom::Create({.capacity = 1000, .error_rate = kError, .expansion = 1});
  REQUIRE(chain);
  std::vector<std::string> items = Items("item:", 10000, 11);
  for (const std::string& item : items) (void)chain->Add(item);
  CHECK(chain->num_filters() == 10);
  for (size_t i = 0; i < chain->num_filters(); ++i) CHECK(chain->filter(i).capacity() == 1000);
  // Later sub-filters need more bits per item for their tighter rates.
  CHECK(chain->filter(9).bits() > chain->filter(0).bits());
  size_t missing = 0;
  for (const std::string& item : items) missing += chain->MightContain(item) ? 0 : 1;
  CHECK(missing == 0);
  double rate = MeasuredFpRate(*chain);
  CAPTURE(rate);
  CHECK(rate <= kError * kMargin);
}

TEST_CASE("A NONSCALING ScalableBloom refuses new items once at capacity", "[bloom]") {
  auto chain = ScalableBloom::Create({.capacity = 100, .error_rate = 0.01, .scaling = false});
  REQUIRE(chain);
  // The only sub-filter has the full error rate: nothing to share it with.
  CHECK(chain->filter(0).error_rate() == 0.01);
  std::vector<std::string> items = Items("item:", 1000, 3);
  size_t i = 0;
  for (; i < items.size(); ++i) {
    BloomAddResult r = chain->Add(items[i]);
    if (r == BloomAddResult::kFull) break;
    REQUIRE((r == BloomAddResult::kAdded || r == BloomAddResult::kExists));
  }
  CHECK(i < items.size());
  CHECK(chain->items() == 100);
  CHECK(chain->num_filters() == 1);
  CHECK(chain->capacity() == 100);
  // A present item is still reported present; a full filter changes nothing.
  CHECK(chain->Add(items[0]) == BloomAddResult::kExists);
  CHECK_FALSE(chain->MightContain(items[i]));
  CHECK(chain->Add(items[i]) == BloomAddResult::kFull);
  CHECK(chain->items() == 100);
}

TEST_CASE("ScalableBloom reports kCannotGrow when the next sub-filter is too large", "[bloom]") {
  // The second sub-filter, 8.6e9 items at 0.25%, would need 13 GB: it cannot be made.
  auto chain = ScalableBloom::Create({.capacity = 2, .error_rate = 0.01, .expansion = UINT32_MAX});
  REQUIRE(chain);
  CHECK(chain->Add("a") == BloomAddResult::kAdded);
  CHECK(chain->Add("b") == BloomAddResult::kAdded);
  CHECK(chain->Add("c") == BloomAddResult::kCannotGrow);
  CHECK(chain->num_filters() == 1);
  CHECK(chain->items() == 2);
}

TEST_CASE("ScalableBloom copies are independent and sizes are accounted", "[bloom]") {
  auto chain = ScalableBloom::Create({});
  REQUIRE(chain);
  CHECK(chain->InfoSize() == 240);  // RedisBloom's BF.INFO Size of a default filter
  (void)chain->Add("a");
  ScalableBloom copy = *chain;
  CHECK(copy.Add("b") == BloomAddResult::kAdded);
  CHECK(copy.MightContain("a"));
  CHECK_FALSE(chain->MightContain("b"));
  CHECK(chain->items() == 1);
  CHECK(copy.items() == 2);
  CHECK(chain->MemoryUsage() >= chain->filter(0).bytes());
}

TEST_CASE("ConcurrentBloom has no false negatives and its false-positive rate is within bounds",
          "[bloom]") {
  CHECK_FALSE(ConcurrentBloom::Create(0, 0.01));
  CHECK_FALSE(ConcurrentBloom::Create(100, 1.5));
  constexpr size_t kItems = 100000;
  constexpr double kError = 0.001;  // the row cache's default bloom_error_rate
  auto f = ConcurrentBloom::Create(kItems, kError);
  REQUIRE(f);
  CHECK(f->bits() == 1437760);
  CHECK(f->hashes() == 10);
  std::vector<std::string> items = Items("products:", kItems, 99);
  for (const std::string& item : items) (void)f->Add(item);
  size_t missing = 0;
  for (const std::string& item : items) missing += f->MightContain(item) ? 0 : 1;
  CHECK(missing == 0);
  double rate = MeasuredFpRate(*f);
  CAPTURE(rate);
  CHECK(rate <= kError * kMargin);
  CHECK_FALSE(f->over_capacity());
  CHECK_FALSE(f->Add(items[0]));

  // Past capacity it still never forgets, but the rate rises (documented in the header).
  std::vector<std::string> more = Items("orders:", kItems / 2, 100);
  for (const std::string& item : more) (void)f->Add(item);
  CHECK(f->over_capacity());
  for (const std::string& item : more) missing += f->MightContain(item) ? 0 : 1;
  CHECK(missing == 0);
  CHECK(MeasuredFpRate(*f) > kError * kMargin);
}

TEST_CASE("ConcurrentBloom never loses an item added while other threads read and add",
          "[bloom][concurrency]") {
  constexpr size_t kWriters = 4;
  constexpr size_t kReaders = 4;
  constexpr size_t kPerWriter = 25000;
  auto f = ConcurrentBloom::Create(kWriters * kPerWriter, 0.001);
  REQUIRE(f);
  std::vector<std::vector<std::string>> items;
  for (size_t w = 0; w < kWriters; ++w) {
    items.push_back(Items("w" + std::to_string(w) + ":", kPerWriter, w));
  }
  // published[w] = how many of writer w's items have been added. A reader that sees n there
  // (acquire) must find items [0, n) of writer w: their Adds happened-before its lookups.
  std::vector<std::atomic<size_t>> published(kWriters);
  std::atomic<size_t> writers_done{0};
  std::atomic<size_t> lost{0};
  std::atomic<uint64_t> reader_checks{0};

  std::vector<std::thread> threads;
  for (size_t w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (size_t i = 0; i < kPerWriter; ++i) {
        (void)f->Add(items[w][i]);
        published[w].store(i + 1, std::memory_order_release);
      }
      writers_done.fetch_add(1, std::memory_order_release);
    });
  }
  for (size_t r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      std::vector<size_t> checked(kWriters, 0);
      uint64_t checks = 0;
      while (true) {
        // Read `done` before the counts: if every writer had finished, the counts are final.
        bool done = writers_done.load(std::memory_order_acquire) == kWriters;
        bool progressed = false;
        for (size_t w = 0; w < kWriters; ++w) {
          size_t n = published[w].load(std::memory_order_acquire);
          for (; checked[w] < n; ++checked[w], ++checks) {
            if (!f->MightContain(items[w][checked[w]])) lost.fetch_add(1);
            progressed = true;
          }
        }
        if (done) break;
        if (!progressed) std::this_thread::yield();
      }
      reader_checks.fetch_add(checks);
    });
  }
  for (std::thread& t : threads) t.join();

  CHECK(lost.load() == 0);
  // Every reader saw every item once.
  CHECK(reader_checks.load() == kReaders * kWriters * kPerWriter);
  for (const auto& writer_items : items) {
    for (const std::string& item : writer_items) REQUIRE(f->MightContain(item));
  }
  CHECK(f->items() <= kWriters * kPerWriter);
}

}  // namespace
}  // namespace rowcached::middleware

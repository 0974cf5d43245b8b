#include "app/config.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace rowcached::app;

namespace {

// A config file in a fresh temporary directory, removed at the end of the test.
class TempConfig {
 public:
  explicit TempConfig(const std::string& text) {
    char tmpl[] = "/tmp/rowcached-config-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/rowcached.toml";
    std::ofstream(path_) << text;
  }
  ~TempConfig() {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

LoadResult Load(std::vector<std::string> args, Config* config, std::string* error) {
  args.insert(args.begin(), "rowcached");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return LoadConfig(static_cast<int>(argv.size()), argv.data(), config, error);
}

}  // namespace

TEST_CASE("config reads the contract's example file", "[config]") {
  TempConfig file(R"(
[server]
bind = "127.0.0.1"
port = 6380
threads = 2
requirepass = "s3cret"

[cache]
maxmemory = "1gb"
maxmemory_policy = "allkeys-lru"

[persistence]
dir = "./data"
appendonly = true
appendfsync = "always"
save = ["3600 1", "300 100"]

[database]
url = "mysql://app:secret@127.0.0.1:3306/shop"
queues = 8

[[tables]]
name = "products"
key = "id"
columns = ["id", "name", "price"]
mode = "cache-aside"
ttl = "10m"
ttl_jitter = 0.2
read_timeout = "200ms"
on_timeout = "stale"
negative_ttl = "30s"
bloom = false
bloom_capacity = 5000
bloom_error_rate = 0.01
)");
  Config c;
  std::string error;
  REQUIRE(Load({"--config", file.path()}, &c, &error) == LoadResult::kOk);
  CHECK(c.server.port == 6380);
  CHECK(c.server.threads == 2);
  CHECK(c.server.requirepass == "s3cret");
  CHECK(c.server.maxmemory == 1024LL * 1024 * 1024);
  CHECK(c.server.appendonly);
  CHECK(c.server.appendfsync == "always");
  CHECK(c.server.save == std::vector<std::string>{"3600 1", "300 100"});
  CHECK(c.database.queues == 8);
  REQUIRE(c.tables.size() == 1);
  const TableConfig& t = c.tables[0];
  CHECK(t.name == "products");
  CHECK(t.columns == std::vector<std::string>{"id", "name", "price"});
  CHECK(t.mode == "cache-aside");
  CHECK(t.ttl_ms == 600000);
  CHECK(t.ttl_jitter == Approx(0.2));
  CHECK(t.read_timeout_ms == 200);
  CHECK(t.on_timeout == "stale");
  CHECK(t.negative_ttl_ms == 30000);
  CHECK_FALSE(t.bloom);
  CHECK(t.bloom_capacity == 5000);
}

TEST_CASE("config defaults need no file", "[config]") {
  Config c;
  std::string error;
  REQUIRE(Load({}, &c, &error) == LoadResult::kOk);
  CHECK(c.server.bind == "127.0.0.1");
  CHECK(c.server.port == 6379);
  CHECK(c.database.url.rfind("sqlite:", 0) == 0);
  CHECK(c.tables.empty());
}

TEST_CASE("config command line overrides the file", "[config]") {
  TempConfig file("[server]\nport = 6380\n[[tables]]\nname = \"products\"\n");
  Config c;
  std::string error;
  REQUIRE(Load({"--config", file.path(), "--server.port=7000", "--cache.maxmemory", "2mb",
                "--tables.products.ttl=5m", "--persistence.save=60 1,10 5"},
               &c, &error) == LoadResult::kOk);
  CHECK(c.server.port == 7000);
  CHECK(c.server.maxmemory == 2 * 1024 * 1024);
  CHECK(c.tables[0].ttl_ms == 300000);
  CHECK(c.server.save == std::vector<std::string>{"60 1", "10 5"});
}

TEST_CASE("config refuses bad input with file, key and reason", "[config]") {
  struct Case {
    std::string toml;
    std::vector<std::string> args;
    std::vector<std::string> expect;  // substrings of the message
  };
  std::vector<Case> cases = {
      {"[server]\nprot = 1\n", {}, {"rowcached.toml", "unknown key 'server.prot'"}},
      {"[sever]\n", {}, {"unknown section 'sever'"}},
      {"[server]\nport = 70000\n", {}, {"server.port", "between 0 and 65535"}},
      {"[server]\nport = \"x\"\n", {}, {"server.port", "expected an integer"}},
      {"[cache]\nmaxmemory = \"lots\"\n", {}, {"cache.maxmemory", "memory size"}},
      {"[cache]\nmaxmemory_policy = \"lru\"\n", {}, {"cache.maxmemory_policy", "one of"}},
      {"[[tables]]\nname = \"p\"\nttl = \"10 minutes\"\n", {}, {"tables.ttl", "duration"}},
      {"[[tables]]\nname = \"p\"\nbloom_error_rate = 0\n", {}, {"tables.bloom_error_rate"}},
      {"[[tables]]\nkey = \"id\"\n", {}, {"tables.name", "needs a name"}},
      {"[[tables]]\nname = \"p\"\n[[tables]]\nname = \"p\"\n", {}, {"configured twice"}},
      {"[persistence]\nsave = [\"often\"]\n", {}, {"persistence.save", "seconds changes"}},
      {"[server\n", {}, {"rowcached.toml:1"}},
      {"", {"--server.port=notanumber"}, {"command line", "server.port", "expected an integer"}},
      {"", {"--server.nope=1"}, {"command line", "unknown key 'server.nope'"}},
      {"", {"--tables.ghost.ttl=1s"}, {"no table named 'ghost'"}},
  };
  for (const auto& c : cases) {
    TempConfig file(c.toml);
    std::vector<std::string> args = {"--config", file.path()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Config config;
    std::string error;
    INFO(c.toml << " " << (c.args.empty() ? "" : c.args[0]));
    REQUIRE(Load(args, &config, &error) == LoadResult::kError);
    for (const auto& e : c.expect) {
      INFO(error);
      CHECK(error.find(e) != std::string::npos);
    }
  }
}

TEST_CASE("config durations", "[config]") {
  int64_t ms = -1;
  CHECK((ParseDuration("200ms", &ms) && ms == 200));
  CHECK((ParseDuration("30s", &ms) && ms == 30000));
  CHECK((ParseDuration("10m", &ms) && ms == 600000));
  CHECK((ParseDuration("1h", &ms) && ms == 3600000));
  CHECK((ParseDuration("0", &ms) && ms == 0));
  CHECK((ParseDuration("1.5s", &ms) && ms == 1500));
  CHECK_FALSE(ParseDuration("10", &ms));
  CHECK_FALSE(ParseDuration("-1s", &ms));
  CHECK_FALSE(ParseDuration("s", &ms));
}

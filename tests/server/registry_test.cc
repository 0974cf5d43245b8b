// The command table: Registry::AddAll turns CommandRows into CommandSpecs field for field, and the
// built-in families register the key positions and flags the dispatcher and the middleware's
// KeyInterceptor rely on.
#include <catch2/catch.hpp>
#include <string>

#include "command_harness.h"
#include "server/command.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

void Handler1(CommandContext& ctx) { ctx.reply.SimpleString("one"); }
void Handler2(CommandContext& ctx) { ctx.reply.SimpleString("two"); }

struct Keys {
  int first, last, step;
  bool operator==(const Keys&) const = default;
};

Keys KeysOf(const CommandSpec& spec) { return {spec.first_key, spec.last_key, spec.key_step}; }

const CommandSpec& Spec(CommandHarness& h, std::string_view name) {
  const CommandSpec* spec = h.server().registry().Find(name);
  REQUIRE(spec != nullptr);
  return *spec;
}

}  // namespace

TEST_CASE("AddAll registers each row as a spec, in order", "[registry]") {
  static constexpr CommandRow kRows[] = {
      {"one", kReadOnly | kFast, 2, 1, 1, 1, Handler1},
      {"two", kWrite | kNoShardLock, -3, 0, 0, 0, Handler2},
      {"three", kWrite, -3, 1, -1, 2, Handler1},
  };
  Registry registry;
  registry.AddAll(kRows);
  REQUIRE(registry.all().size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    const CommandSpec& spec = *registry.all()[i];
    CHECK(spec.name == kRows[i].name);
    CHECK(spec.flags == kRows[i].flags);
    CHECK(spec.arity == kRows[i].arity);
    CHECK(KeysOf(spec) == Keys{kRows[i].first_key, kRows[i].last_key, kRows[i].key_step});
    CHECK(spec.handler);
    CHECK(spec.subcommands.empty());
  }
  CHECK(registry.Find("THREE") == registry.all()[2].get());
}

TEST_CASE("built-in commands keep Redis' key positions and flags", "[registry]") {
  CommandHarness h;
  CHECK(KeysOf(Spec(h, "hset")) == Keys{1, 1, 1});
  CHECK(Spec(h, "hset").flags == (kWrite | kDenyOom | kFast));
  CHECK(KeysOf(Spec(h, "sintercard")) == Keys{0, 0, 0});
  CHECK((Spec(h, "sintercard").flags & kNoShardLock) != 0);
  CHECK(KeysOf(Spec(h, "smove")) == Keys{1, 2, 1});
  CHECK(KeysOf(Spec(h, "bzpopmin")) == Keys{1, -2, 1});
  CHECK(KeysOf(Spec(h, "blpop")) == Keys{1, -2, 1});
  CHECK(KeysOf(Spec(h, "zrangestore")) == Keys{1, 2, 1});
  CHECK(KeysOf(Spec(h, "zunionstore")) == Keys{1, 1, 1});
  CHECK(KeysOf(Spec(h, "mset")) == Keys{1, -1, 2});
  CHECK(KeysOf(Spec(h, "bitop")) == Keys{2, -1, 1});
  CHECK(KeysOf(Spec(h, "keys")) == Keys{0, 0, 0});
  CHECK((Spec(h, "keys").flags & kAllShards) != 0);
  CHECK(Spec(h, "ping").arity == -1);
  CHECK(Spec(h, "get").arity == 2);

  // Every command either has a handler or is a container of subcommands, and names its keys with
  // a step exactly when it names a first key.
  for (const auto& spec : h.server().registry().all()) {
    INFO(spec->name);
    CHECK((spec->handler != nullptr) != !spec->subcommands.empty());
    CHECK((spec->first_key > 0) == (spec->key_step > 0));
    if (spec->first_key == 0) CHECK(spec->last_key == 0);
  }
}

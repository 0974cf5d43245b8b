// Commands are data: one CommandSpec per command (name, flags, arity, key positions, handler),
// registered by each family's Register...Family(). The dispatcher checks existence, arity and
// authentication once, locks the shards of the keys the spec names, and calls the handler.
//
// A handler ("Cmd") parses arguments and writes the reply; the key-local work lives in "Op"
// functions that return values and Statuses and know nothing of sockets.
//
// Thread-safety: handlers run on the I/O thread that owns the connection, holding the shard
// locks of their keys (or of all shards for kAllShards commands); they must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/keyspace.h"
#include "server/reply.h"

namespace rowcached::server {

class CommandLog;
class ServerContext;
struct CommandContext;

// Flags, as in Redis' command table. Names match COMMAND INFO's flag names where one exists.
enum CommandFlag : uint32_t {
  kWrite = 1u << 0,        // "write": modifies the keyspace
  kReadOnly = 1u << 1,     // "readonly"
  kFast = 1u << 2,         // "fast": O(1) or O(log N)
  kAdmin = 1u << 3,        // "admin"
  kNoAuth = 1u << 4,       // "no_auth": allowed before AUTH
  kAllShards = 1u << 5,    // locks every shard (whole-keyspace commands)
  kNoShardLock = 1u << 6,  // the handler locks what it needs itself
  kLoading = 1u << 7,      // "loading": allowed while loading
  kStale = 1u << 8,        // "stale"
  kNoScript = 1u << 9,     // "noscript"
  kDenyOom = 1u << 10,     // "denyoom": refused when over maxmemory with noeviction
};

// A function pointer for built-in commands; extensions may bind their own state.
using CommandHandler = std::function<void(CommandContext& ctx)>;

struct CommandSpec {
  std::string name;  // lower case, e.g. "get" or "config|get" for a subcommand
  uint32_t flags = 0;
  int arity = 0;      // exact count of args incl. the name; negative = at least -arity
  int first_key = 0;  // 1-based position of the first key; 0 = no keys
  int last_key = 0;   // last key position; negative counts from the end (-1 = last arg)
  int key_step = 0;
  CommandHandler handler = nullptr;
  std::vector<CommandSpec> subcommands;  // CONFIG GET, CLIENT LIST, ...

  // The positions of the keys in `args` per first/last/step.
  void CollectKeys(const std::vector<std::string_view>& args,
                   std::vector<std::string_view>* keys) const;
  bool ArityOk(size_t argc) const {
    return arity >= 0 ? argc == static_cast<size_t>(arity) : argc >= static_cast<size_t>(-arity);
  }
};

// One command without subcommands as a row of a family's constexpr table, registered with
// Registry::AddAll: {name, flags, arity, first_key, last_key, key_step, handler}. The fields mean
// what CommandSpec's do; every one is written in the table (key_step too), so a row reads as the
// command's whole spec. The handler is a plain function pointer so that tables are constexpr;
// commands whose handler binds state, or that have subcommands, use Registry::Add.
struct CommandRow {
  const char* name;
  uint32_t flags;
  int arity;
  int first_key;
  int last_key;
  int key_step;
  void (*handler)(CommandContext& ctx);
};

class Registry {
 public:
  // Adds or replaces a command (replacing lets an extension wrap a built-in one).
  void Add(CommandSpec spec);
  // Adds each row as a CommandSpec, in order.
  void AddAll(std::span<const CommandRow> rows);
  // Finds by name, case-insensitively; nullptr when unknown.
  const CommandSpec* Find(std::string_view name) const;
  const std::vector<std::unique_ptr<CommandSpec>>& all() const { return specs_; }

 private:
  std::vector<std::unique_ptr<CommandSpec>> specs_;
  // Lower-case name -> spec. Small open table keyed by the name; built at start-up only.
  std::vector<std::pair<std::string, const CommandSpec*>> index_;
};

// Completes a reply that a handler could not give at once (a cache miss waiting for the database).
// May be called from any thread, exactly once; the reply is written in request order.
class DeferredReply {
 public:
  virtual ~DeferredReply() = default;
  // `resp` holds the reply bytes; the builder passed to the callback uses the client's protocol.
  virtual void Complete(const std::function<void(ReplyBuilder&)>& write) = 0;
  // What to run if the client disconnects before the reply is sent (a blocked client stops
  // waiting for its keys). Runs at most once, on the connection's thread; it may race with a
  // Complete() from another thread, so it must decide under its own lock. Set it right after
  // ctx.defer(), from the handler. Implementations that never cancel may ignore it.
  virtual void SetOnCancel(std::function<void()> on_cancel) { (void)on_cancel; }
};

// Per-connection state visible to commands. Fields read by other threads (CLIENT LIST) are
// atomics or guarded by `mu`.
struct ClientState {
  uint64_t id = 0;
  int fd = -1;
  std::string addr;   // "ip:port" of the peer
  std::string laddr;  // local "ip:port"
  int64_t created_ms = 0;
  std::atomic<int64_t> last_interaction_ms{0};
  std::atomic<int> db{0};
  std::atomic<int> resp{2};
  std::atomic<const char*> last_command{"NULL"};
  bool authenticated = false;
  bool close_after_reply = false;
  mutable std::mutex mu;  // guards `name`
  std::string name;

  // MULTI/EXEC (multi_family.cc). Owning thread only, except `watch_dirty`, which KeyModified
  // sets from any thread.
  bool in_multi = false;
  bool multi_failed = false;  // a command was refused while queueing: EXEC aborts
  std::vector<std::vector<std::string>> queued;
  std::vector<std::pair<int, std::string>> watched;  // (db, key), registered in WatchRegistry
  std::atomic<bool> watch_dirty{false};              // a watched key changed: EXEC aborts

  // Pub/sub (pubsub_family.cc). The sets are owning-thread only; the counts are read by other
  // threads (CLIENT LIST, and PING/the dispatcher on the owning thread).
  std::set<std::string, std::less<>> channels;
  std::set<std::string, std::less<>> patterns;
  std::atomic<int> channel_count{0};
  std::atomic<int> pattern_count{0};
  // Delivers a pub/sub message, already rendered in this client's protocol, from any thread,
  // without blocking and after every reply already written. Set by the network layer before the
  // client runs a command; null = nowhere to deliver (the message is dropped).
  std::function<void(std::string bytes)> push;

  bool subscribed() const {
    return channel_count.load(std::memory_order_relaxed) +
               pattern_count.load(std::memory_order_relaxed) >
           0;
  }

  std::string Name() const {
    std::lock_guard l(mu);
    return name;
  }
};

struct CommandContext {
  CommandContext(const std::vector<std::string_view>& args, ReplyBuilder& reply,
                 ClientState& client, ServerContext& server, const CommandSpec& spec,
                 ShardLocks& locks, std::function<std::shared_ptr<DeferredReply>()> defer)
      : args(args),
        reply(reply),
        client(client),
        server(server),
        spec(spec),
        locks(locks),
        defer(std::move(defer)) {}

  const std::vector<std::string_view>& args;
  ReplyBuilder& reply;
  ClientState& client;
  ServerContext& server;
  const CommandSpec& spec;
  ShardLocks& locks;
  // Parks the reply (see DeferredReply). The connection stops executing this client's next
  // commands until it completes, so a client's commands stay in order.
  std::function<std::shared_ptr<DeferredReply>()> defer;

  Db db() const;
  size_t argc() const { return args.size(); }
  const std::string_view& arg(size_t i) const { return args[i]; }

  // Propagation to the command log (command_log.h; propagate.h). A command that changed
  // something is logged as it was received, unless its handler calls PropagateAs: then the
  // commands given there are logged instead, in order (a relative expiry made absolute, SPOP
  // as the SREM of what it took, ...). Handlers build those only when logging() is true, so
  // that they cost nothing when the append-only file is off.
  //
  // Whether the command is logged, read once per command after its keys are locked (so a log
  // installed meanwhile sees the command either in its snapshot or in the log).
  bool logging() {
    if (!log_loaded_) {
      log_ = LoadCommandLog();
      log_loaded_ = true;
    }
    return log_ != nullptr;
  }
  CommandLog* command_log() { return logging() ? log_ : nullptr; }
  // Logs `command` in place of the command received (call once per command to log).
  void PropagateAs(std::vector<std::string> command) {
    propagate_replaced_ = true;
    propagate_as_.push_back(std::move(command));
  }
  // Logs nothing for this command: its handler logged its changes itself (EXEC).
  void PropagateNothing() { propagate_replaced_ = true; }
  bool propagate_replaced() const { return propagate_replaced_; }
  const std::vector<std::vector<std::string>>& propagate_as() const { return propagate_as_; }

 private:
  CommandLog* LoadCommandLog() const;

  bool log_loaded_ = false;
  CommandLog* log_ = nullptr;
  bool propagate_replaced_ = false;
  std::vector<std::vector<std::string>> propagate_as_;  // empty until PropagateAs: no allocation
};

// Case-insensitive ASCII comparison, for options like "EX" and "nx".
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);

}  // namespace rowcached::server

#include "app/config.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>

#include "server/util.h"
#include "server/version.h"

namespace rowcached::app {

bool ParseDuration(std::string_view text, int64_t* ms) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return false;
  double value;
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc() || p != text.data() + i || value < 0) return false;
  std::string_view unit = text.substr(i);
  double mul;
  if (unit == "ms")
    mul = 1;
  else if (unit == "s")
    mul = 1000;
  else if (unit == "m")
    mul = 60 * 1000;
  else if (unit == "h")
    mul = 3600 * 1000;
  else if (unit == "d")
    mul = 86400 * 1000;
  else if (unit.empty() && value == 0)
    mul = 0;  // "0" = off
  else
    return false;
  *ms = static_cast<int64_t>(value * mul);
  return true;
}

namespace {

// How one config key is read: `apply` checks the TOML node and stores it, or returns the reason
// it is refused. `parse_override` turns a command-line string into the TOML node it stands for.
enum class Kind { kString, kInt, kBool, kFloat, kStringList, kMemory, kDuration };

struct KeyDef {
  const char* name;
  Kind kind;
  std::function<std::string(const toml::node&, Config&, TableConfig*)> apply;
};

std::string ExpectString(const toml::node& n, std::string* out) {
  if (auto v = n.value<std::string>()) {
    *out = *v;
    return "";
  }
  return "expected a string";
}

std::string ExpectInt(const toml::node& n, int64_t min, int64_t max, int64_t* out) {
  auto v = n.as_integer() ? std::optional<int64_t>(n.as_integer()->get()) : std::nullopt;
  if (!v) return "expected an integer";
  if (*v < min || *v > max) {
    return "expected an integer between " + std::to_string(min) + " and " + std::to_string(max) +
           ", got " + std::to_string(*v);
  }
  *out = *v;
  return "";
}

std::string ExpectBool(const toml::node& n, bool* out) {
  if (auto v = n.value<bool>(); v && n.is_boolean()) {
    *out = *v;
    return "";
  }
  return "expected true or false";
}

std::string ExpectFloat(const toml::node& n, double min, double max, bool open_min, double* out) {
  std::optional<double> v;
  if (n.is_floating_point()) v = n.as_floating_point()->get();
  if (n.is_integer()) v = static_cast<double>(n.as_integer()->get());
  if (!v) return "expected a number";
  if (*v > max || *v < min || (open_min && *v == min)) {
    return "expected a number " + std::string(open_min ? "above " : "from ") + std::to_string(min) +
           " to " + std::to_string(max);
  }
  *out = *v;
  return "";
}

std::string ExpectMemory(const toml::node& n, int64_t* out) {
  if (n.is_integer()) return ExpectInt(n, 0, INT64_MAX, out);
  if (auto s = n.value<std::string>()) {
    if (server::ParseMemory(*s, out)) return "";
    return "expected a memory size like \"512mb\" or \"1gb\", got \"" + *s + "\"";
  }
  return "expected a memory size like \"512mb\" or \"1gb\"";
}

std::string ExpectDuration(const toml::node& n, int64_t* out) {
  if (n.is_integer() && n.as_integer()->get() == 0) {
    *out = 0;
    return "";
  }
  if (auto s = n.value<std::string>(); s && n.is_string()) {
    if (ParseDuration(*s, out)) return "";
    return "expected a duration like \"200ms\", \"30s\", \"10m\" or \"0\", got \"" + *s + "\"";
  }
  return "expected a duration like \"200ms\", \"30s\", \"10m\" or \"0\"";
}

std::string ExpectStringList(const toml::node& n, std::vector<std::string>* out) {
  const toml::array* a = n.as_array();
  if (a == nullptr) return "expected an array of strings";
  std::vector<std::string> items;
  for (const auto& e : *a) {
    auto s = e.value<std::string>();
    if (!s || !e.is_string()) return "expected an array of strings";
    items.push_back(*s);
  }
  *out = std::move(items);
  return "";
}

std::string ExpectOneOf(const toml::node& n, std::initializer_list<const char*> allowed,
                        std::string* out) {
  std::string v;
  if (auto err = ExpectString(n, &v); !err.empty()) return err;
  for (const char* a : allowed) {
    if (v == a) {
      *out = v;
      return "";
    }
  }
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return "expected one of " + list + ", got \"" + v + "\"";
}

using Apply = std::function<std::string(const toml::node&, Config&, TableConfig*)>;

#define CFG(expr)                                                     \
  [](const toml::node& n, Config& c, TableConfig* t) -> std::string { \
    (void)c;                                                          \
    (void)t;                                                          \
    return expr;                                                      \
  }

// Every key of every section. Adding a key is adding a line.
const std::vector<std::pair<std::string, std::vector<KeyDef>>>& Schema() {
  static const std::vector<std::pair<std::string, std::vector<KeyDef>>> schema = {
      {"server",
       {
           {"bind", Kind::kString, CFG(ExpectString(n, &c.server.bind))},
           {"port", Kind::kInt,
            [](const toml::node& n, Config& c, TableConfig*) {
              int64_t v;
              auto e = ExpectInt(n, 0, 65535, &v);
              if (e.empty()) c.server.port = static_cast<int>(v);
              return e;
            }},
           {"threads", Kind::kInt,
            [](const toml::node& n, Config& c, TableConfig*) {
              int64_t v;
              auto e = ExpectInt(n, 0, 1024, &v);
              if (e.empty()) c.server.threads = static_cast<int>(v);
              return e;
            }},
           {"requirepass", Kind::kString, CFG(ExpectString(n, &c.server.requirepass))},
           {"maxclients", Kind::kInt, CFG(ExpectInt(n, 1, 1000000, &c.server.maxclients))},
           {"databases", Kind::kInt,
            [](const toml::node& n, Config& c, TableConfig*) {
              int64_t v;
              auto e = ExpectInt(n, 1, 10000, &v);
              if (e.empty()) c.server.databases = static_cast<int>(v);
              return e;
            }},
           {"hz", Kind::kInt,
            [](const toml::node& n, Config& c, TableConfig*) {
              int64_t v;
              auto e = ExpectInt(n, 1, 500, &v);
              if (e.empty()) c.server.hz = static_cast<int>(v);
              return e;
            }},
           {"timeout", Kind::kInt, CFG(ExpectInt(n, 0, INT32_MAX, &c.server.timeout))},
           {"proto_max_bulk_len", Kind::kMemory,
            CFG(ExpectMemory(n, &c.server.proto_max_bulk_len))},
           {"client_query_buffer_limit", Kind::kMemory,
            CFG(ExpectMemory(n, &c.server.client_query_buffer_limit))},
           {"loglevel", Kind::kString,
            CFG(ExpectOneOf(n, {"trace", "debug", "info", "warn", "error"}, &c.loglevel))},
       }},
      {"cache",
       {
           {"maxmemory", Kind::kMemory, CFG(ExpectMemory(n, &c.server.maxmemory))},
           {"maxmemory_policy", Kind::kString,
            CFG(ExpectOneOf(n,
                            {"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                             "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"},
                            &c.server.maxmemory_policy))},
           {"maxmemory_samples", Kind::kInt, CFG(ExpectInt(n, 1, 64, &c.server.maxmemory_samples))},
           {"lfu_log_factor", Kind::kInt,
            CFG(ExpectInt(n, 0, INT32_MAX, &c.server.lfu_log_factor))},
           {"lfu_decay_time", Kind::kInt,
            CFG(ExpectInt(n, 0, INT32_MAX, &c.server.lfu_decay_time))},
       }},
      {"persistence",
       {
           {"dir", Kind::kString, CFG(ExpectString(n, &c.server.dir))},
           {"appendonly", Kind::kBool, CFG(ExpectBool(n, &c.server.appendonly))},
           {"appendfsync", Kind::kString,
            CFG(ExpectOneOf(n, {"always", "everysec", "no"}, &c.server.appendfsync))},
           {"save", Kind::kStringList,
            [](const toml::node& n, Config& c, TableConfig*) {
              std::vector<std::string> rules;
              auto e = ExpectStringList(n, &rules);
              if (!e.empty()) return e;
              for (const auto& r : rules) {
                std::istringstream in(r);
                int64_t secs, changes;
                std::string rest;
                if (!(in >> secs >> changes) || (in >> rest) || secs <= 0 || changes <= 0) {
                  return "expected rules like \"3600 1\" (seconds changes), got \"" + r + "\"";
                }
              }
              c.server.save = rules;
              return std::string();
            }},
           {"dbfilename", Kind::kString, CFG(ExpectString(n, &c.server.dbfilename))},
           {"rdbcompression", Kind::kBool, CFG(ExpectBool(n, &c.server.rdbcompression))},
           {"appendfilename", Kind::kString, CFG(ExpectString(n, &c.server.appendfilename))},
           {"appenddirname", Kind::kString, CFG(ExpectString(n, &c.server.appenddirname))},
           {"aof_load_truncated", Kind::kBool, CFG(ExpectBool(n, &c.server.aof_load_truncated))},
           {"aof_use_rdb_preamble", Kind::kBool,
            CFG(ExpectBool(n, &c.server.aof_use_rdb_preamble))},
           {"auto_aof_rewrite_percentage", Kind::kInt,
            CFG(ExpectInt(n, 0, INT32_MAX, &c.server.auto_aof_rewrite_percentage))},
           {"auto_aof_rewrite_min_size", Kind::kMemory,
            CFG(ExpectMemory(n, &c.server.auto_aof_rewrite_min_size))},
       }},
      {"database",
       {
           {"url", Kind::kString, CFG(ExpectString(n, &c.database.url))},
           {"queues", Kind::kInt, CFG(ExpectInt(n, 1, 1024, &c.database.queues))},
       }},
      {"tables",
       {
           {"name", Kind::kString, CFG(ExpectString(n, &t->name))},
           {"key", Kind::kString, CFG(ExpectString(n, &t->key))},
           {"columns", Kind::kStringList, CFG(ExpectStringList(n, &t->columns))},
           {"mode", Kind::kString, CFG(ExpectOneOf(n, {"write-through", "cache-aside"}, &t->mode))},
           {"ttl", Kind::kDuration, CFG(ExpectDuration(n, &t->ttl_ms))},
           {"ttl_jitter", Kind::kFloat, CFG(ExpectFloat(n, 0, 1, false, &t->ttl_jitter))},
           {"read_timeout", Kind::kDuration, CFG(ExpectDuration(n, &t->read_timeout_ms))},
           {"on_timeout", Kind::kString,
            CFG(ExpectOneOf(n, {"db", "stale", "error"}, &t->on_timeout))},
           {"negative_ttl", Kind::kDuration, CFG(ExpectDuration(n, &t->negative_ttl_ms))},
           {"bloom", Kind::kBool, CFG(ExpectBool(n, &t->bloom))},
           {"bloom_capacity", Kind::kInt, CFG(ExpectInt(n, 1, INT64_MAX, &t->bloom_capacity))},
           {"bloom_error_rate", Kind::kFloat,
            CFG(ExpectFloat(n, 0, 0.5, true, &t->bloom_error_rate))},
       }},
  };
  return schema;
}
#undef CFG

const KeyDef* FindKey(std::string_view section, std::string_view key) {
  for (const auto& [name, keys] : Schema()) {
    if (name != section) continue;
    for (const auto& k : keys) {
      if (key == k.name) return &k;
    }
  }
  return nullptr;
}

bool KnownSection(std::string_view section) {
  for (const auto& [name, keys] : Schema()) {
    if (name == section) return true;
  }
  return false;
}

// A command-line value as the TOML node its key expects.
std::optional<toml::table> OverrideNode(const KeyDef& def, std::string_view value,
                                        std::string* error) {
  toml::table holder;
  switch (def.kind) {
    case Kind::kString:
    case Kind::kDuration:
      holder.insert("v", std::string(value));
      break;
    case Kind::kMemory: {
      int64_t n;
      if (server::ParseInt64(value, &n)) {
        holder.insert("v", n);
      } else {
        holder.insert("v", std::string(value));
      }
      break;
    }
    case Kind::kInt: {
      int64_t n;
      if (!server::ParseInt64(value, &n)) {
        *error = "expected an integer, got \"" + std::string(value) + "\"";
        return std::nullopt;
      }
      holder.insert("v", n);
      break;
    }
    case Kind::kFloat: {
      double d;
      if (!server::ParseDouble(value, &d)) {
        *error = "expected a number, got \"" + std::string(value) + "\"";
        return std::nullopt;
      }
      holder.insert("v", d);
      break;
    }
    case Kind::kBool:
      if (value == "true" || value == "yes" || value == "1") {
        holder.insert("v", true);
      } else if (value == "false" || value == "no" || value == "0") {
        holder.insert("v", false);
      } else {
        *error = "expected true or false, got \"" + std::string(value) + "\"";
        return std::nullopt;
      }
      break;
    case Kind::kStringList: {
      toml::array a;
      std::string item;
      std::istringstream in{std::string(value)};
      while (std::getline(in, item, ',')) a.push_back(item);
      holder.insert("v", std::move(a));
      break;
    }
  }
  return holder;
}

std::string ApplySection(const std::string& where, const std::string& section,
                         const toml::table& table, Config& config, TableConfig* t) {
  for (const auto& [key, node] : table) {
    const KeyDef* def = FindKey(section, key.str());
    std::string full = section + "." + std::string(key.str());
    if (def == nullptr) return where + ": unknown key '" + full + "'";
    std::string err = def->apply(node, config, t);
    if (!err.empty()) return where + ": " + full + ": " + err;
  }
  return "";
}

}  // namespace

LoadResult LoadConfig(int argc, char** argv, Config* config, std::string* error) {
  CLI::App app{
      "rowcached: a Redis-compatible cache server that keeps cached database rows coherent.\n"
      "Every config key can also be given on the command line as --section.key=value,\n"
      "e.g. --server.port=7000 --cache.maxmemory=2gb --tables.products.ttl=5m",
      "rowcached"};
  std::string config_file;
  bool version = false;
  app.add_option("-c,--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
  app.add_flag("-v,--version", version, "print the version and exit");
  app.allow_extras();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return LoadResult::kExit;
  } catch (const CLI::ParseError& e) {
    *error = e.what();
    return LoadResult::kError;
  }
  if (version) {
    std::cout << "rowcached " << ROWCACHED_VERSION << " (Redis protocol 7.0 compatible)\n";
    return LoadResult::kExit;
  }

  toml::table doc;
  if (!config_file.empty()) {
    try {
      doc = toml::parse_file(config_file);
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << config_file << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
          << e.description();
      *error = msg.str();
      return LoadResult::kError;
    }
  }
  const std::string where = config_file.empty() ? "defaults" : config_file;

  // Overrides: --section.key=value or --section.key value; tables by name:
  // --tables.<name>.<key>=value.
  std::vector<std::string> extras = app.remaining();
  for (size_t i = 0; i < extras.size(); ++i) {
    std::string arg = extras[i];
    if (arg.rfind("--", 0) != 0) {
      *error = "command line: unexpected argument '" + arg + "'";
      return LoadResult::kError;
    }
    arg = arg.substr(2);
    std::string value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < extras.size()) {
      value = extras[++i];
    } else {
      *error = "command line: --" + arg + " needs a value";
      return LoadResult::kError;
    }
    auto dot = arg.find('.');
    if (dot == std::string::npos) {
      *error = "command line: unknown option '--" + arg + "' (config keys are --section.key=value)";
      return LoadResult::kError;
    }
    std::string section = arg.substr(0, dot), key = arg.substr(dot + 1);
    toml::table* target = nullptr;
    if (section == "tables") {
      auto dot2 = key.find('.');
      if (dot2 == std::string::npos) {
        *error = "command line: '--" + arg + "': use --tables.<table>.<key>=value";
        return LoadResult::kError;
      }
      std::string table_name = key.substr(0, dot2);
      key = key.substr(dot2 + 1);
      toml::array* tables = doc["tables"].as_array();
      if (tables != nullptr) {
        for (auto& t : *tables) {
          if (auto* tt = t.as_table(); tt && (*tt)["name"].value<std::string>() == table_name) {
            target = tt;
          }
        }
      }
      if (target == nullptr) {
        *error = "command line: '--" + arg + "': no table named '" + table_name + "' in " + where;
        return LoadResult::kError;
      }
    } else {
      if (!KnownSection(section)) {
        *error = "command line: unknown key '" + arg + "'";
        return LoadResult::kError;
      }
      if (!doc.contains(section)) doc.insert(section, toml::table{});
      target = doc[section].as_table();
      if (target == nullptr) {
        *error = where + ": '" + section + "' must be a table";
        return LoadResult::kError;
      }
    }
    const KeyDef* def = FindKey(section, key);
    if (def == nullptr) {
      *error = "command line: unknown key '" + arg + "'";
      return LoadResult::kError;
    }
    std::string err;
    auto node = OverrideNode(*def, value, &err);
    if (!node) {
      *error = "command line: " + arg + ": " + err;
      return LoadResult::kError;
    }
    target->insert_or_assign(key, std::move(*(*node)["v"].node()));
  }

  Config c;
  c.config_file = config_file;
  for (const auto& [name, node] : doc) {
    std::string section(name.str());
    if (!KnownSection(section)) {
      *error = where + ": unknown section '" + section + "'";
      return LoadResult::kError;
    }
    if (section == "tables") {
      const toml::array* tables = node.as_array();
      if (tables == nullptr) {
        *error = where + ": 'tables' must be an array of tables ([[tables]])";
        return LoadResult::kError;
      }
      for (const auto& t : *tables) {
        const toml::table* tt = t.as_table();
        if (tt == nullptr) {
          *error = where + ": each [[tables]] entry must be a table";
          return LoadResult::kError;
        }
        TableConfig table;
        if (auto err = ApplySection(where, "tables", *tt, c, &table); !err.empty()) {
          *error = err;
          return LoadResult::kError;
        }
        if (table.name.empty()) {
          *error = where + ": tables.name: every [[tables]] entry needs a name";
          return LoadResult::kError;
        }
        for (const auto& other : c.tables) {
          if (other.name == table.name) {
            *error = where + ": tables.name: table '" + table.name + "' is configured twice";
            return LoadResult::kError;
          }
        }
        c.tables.push_back(std::move(table));
      }
      continue;
    }
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      *error = where + ": '" + section + "' must be a table";
      return LoadResult::kError;
    }
    if (auto err = ApplySection(where, section, *table, c, nullptr); !err.empty()) {
      *error = err;
      return LoadResult::kError;
    }
  }
  *config = std::move(c);
  return LoadResult::kOk;
}

middleware::Options RowCacheOptions(const Config& config) {
  middleware::Options o;
  o.database.url = config.database.url;
  o.queues = static_cast<size_t>(config.database.queues);
  for (const auto& t : config.tables) {
    middleware::TableOptions m;
    m.name = t.name;
    m.key = t.key;
    m.columns = t.columns;
    m.mode =
        t.mode == "cache-aside" ? middleware::Mode::kCacheAside : middleware::Mode::kWriteThrough;
    m.ttl = std::chrono::milliseconds(t.ttl_ms);
    m.ttl_jitter = t.ttl_jitter;
    m.read_timeout = std::chrono::milliseconds(t.read_timeout_ms);
    m.on_timeout = t.on_timeout == "stale"   ? middleware::OnTimeout::kStale
                   : t.on_timeout == "error" ? middleware::OnTimeout::kError
                                             : middleware::OnTimeout::kDb;
    m.negative_ttl = std::chrono::milliseconds(t.negative_ttl_ms);
    m.bloom = t.bloom;
    m.bloom_capacity = static_cast<uint64_t>(t.bloom_capacity);
    m.bloom_error_rate = t.bloom_error_rate;
    o.tables.push_back(std::move(m));
  }
  return o;
}

}  // namespace rowcached::app

#include <algorithm>
#include <cctype>

#include "server/command.h"
#include "server/server_context.h"

namespace rowcached::server {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string ToLower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string ToUpper(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

void Registry::AddAll(std::span<const CommandRow> rows) {
  for (const CommandRow& row : rows) {
    Add({.name = row.name,
         .flags = row.flags,
         .arity = row.arity,
         .first_key = row.first_key,
         .last_key = row.last_key,
         .key_step = row.key_step,
         .handler = row.handler});
  }
}

void CommandSpec::CollectKeys(const std::vector<std::string_view>& args,
                              std::vector<std::string_view>* keys) const {
  if (first_key <= 0 || static_cast<size_t>(first_key) >= args.size()) return;
  int last = last_key < 0 ? static_cast<int>(args.size()) + last_key : last_key;
  int step = key_step > 0 ? key_step : 1;
  for (int i = first_key; i <= last && i < static_cast<int>(args.size()); i += step) {
    keys->push_back(args[i]);
  }
}

void Registry::Add(CommandSpec spec) {
  std::string name = ToLower(spec.name);
  spec.name = name;
  for (auto& s : specs_) {
    if (s->name == name) {
      *s = std::move(spec);
      return;
    }
  }
  specs_.push_back(std::make_unique<CommandSpec>(std::move(spec)));
  index_.emplace_back(name, specs_.back().get());
  std::sort(index_.begin(), index_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

const CommandSpec* Registry::Find(std::string_view name) const {
  char buf[32];
  if (name.size() >= sizeof(buf)) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  std::string_view lower(buf, name.size());
  auto it = std::lower_bound(index_.begin(), index_.end(), lower,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  if (it == index_.end() || it->first != lower) return nullptr;
  return it->second;
}

Db CommandContext::db() const {
  return Db(&server.keyspace(), client.db.load(std::memory_order_relaxed));
}

}  // namespace rowcached::server

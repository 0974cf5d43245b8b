#include "server/writable_string.h"

#include <memory>

namespace rowcached::server {

std::string* WritableString(Db& db, Entry* e) {
  if (e->inline_string()) {
    auto heap = std::make_unique<StringObject>(std::string(e->str()));
    e = db.Put(Entry::NewObject(e->key(), ValueType::kString, std::move(heap)), /*keep_ttl=*/true);
  }
  return &static_cast<StringObject*>(e->object())->value;
}

std::string* NewWritableString(Db& db, std::string_view key, std::string value) {
  Entry* e =
      db.SetObject(key, ValueType::kString, std::make_unique<StringObject>(std::move(value)));
  return &static_cast<StringObject*>(e->object())->value;
}

}  // namespace rowcached::server

// BF.RESERVE BF.ADD BF.MADD BF.EXISTS BF.MEXISTS BF.INFO: general Bloom filters in the keyspace,
// with RedisBloom 2.x's semantics, defaults, replies and error texts.
//
// A filter is a BloomObject (a ScalableBloom) stored under ValueType::kBloom: TYPE answers
// "MBbloom--" as for RedisBloom's module type, and OBJECT ENCODING answers "raw", which is what
// Redis answers for every module value.
//
// Cmd functions (in bloom_family.cc) parse arguments and write replies; the Op functions below do
// the key-local work on a Db and return values and a BfStatus. Ops REQUIRE the caller to hold
// the key's shard lock (the dispatcher does: every BF command names its key at position 1).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "middleware/bloom.h"
#include "server/command.h"
#include "server/entry.h"
#include "server/keyspace.h"

namespace rowcached::middleware {

// The keyspace value of a BF.* key.
class BloomObject final : public server::Object {
 public:
  explicit BloomObject(ScalableBloom bloom) : bloom_(std::move(bloom)) {}
  size_t MemoryUsage() const override {
    return sizeof(*this) - sizeof(bloom_) + bloom_.MemoryUsage();
  }
  std::unique_ptr<server::Object> Clone() const override {
    return std::make_unique<BloomObject>(bloom_);
  }
  std::string_view Encoding() const override { return "raw"; }

  ScalableBloom& bloom() { return bloom_; }
  const ScalableBloom& bloom() const { return bloom_; }

 private:
  ScalableBloom bloom_;
};

// Outcomes of BF ops that are key-level errors. server::Status has no words for RedisBloom's
// errors, so the family keeps its own vocabulary; BfErrorText maps it to RedisBloom's texts.
enum class [[nodiscard]] BfStatus{
    kOk,
    kItemExists,    // BF.RESERVE on an existing filter: "ERR item exists"
    kNotFound,      // BF.INFO on a missing key: "ERR not found"
    kWrongType,     // a key of another type: WRONGTYPE
    kCannotCreate,  // the filter would be too large (kMaxBloomFilterBytes): "ERR could not create
                    // filter"
};
// REQUIRES: status != kOk.
std::string_view BfErrorText(BfStatus status);

// Creates an empty filter at `key`. kItemExists if a filter is there, kWrongType if another
// value is, kCannotCreate if the options are out of range or the filter too large.
BfStatus OpBfReserve(server::Db& db, std::string_view key, const ScalableBloomOptions& options);

// Adds `items` in order to the filter at `key`, creating it with ScalableBloomOptions{} if the
// key is missing. Appends one result per item to `results`, stopping after the first kFull or
// kCannotGrow (as RedisBloom stops a BF.MADD at a full NONSCALING filter).
BfStatus OpBfAdd(server::Db& db, std::string_view key, std::span<const std::string_view> items,
                 std::vector<BloomAddResult>* results);

// Whether each item may be in the filter at `key`. As RedisBloom, a missing key or a key of
// another type answers false for every item rather than an error.
void OpBfExists(server::Db& db, std::string_view key, std::span<const std::string_view> items,
                std::vector<bool>* out);

struct BloomInfo {
  uint64_t capacity = 0;
  uint64_t size = 0;  // ScalableBloom::InfoSize()
  uint64_t filters = 0;
  uint64_t items = 0;
  std::optional<uint32_t> expansion;  // nullopt for a NONSCALING filter
};
// kNotFound for a missing key, kWrongType for another type.
BfStatus OpBfInfo(server::Db& db, std::string_view key, BloomInfo* info);

// Registers the six commands. Flags and key positions as RedisBloom's: the writers are
// "write deny-oom", the readers "readonly fast", and every command's one key is argument 1.
void RegisterBloomFamily(server::Registry& registry);

}  // namespace rowcached::middleware

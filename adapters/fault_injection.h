// adapters/fault_injection.h — a Database / Connection wrapper that injects delays and failures
// and lets a test hold a call mid-flight (after leveldb's fault_injection_test).
//
//   auto faults = std::make_shared<FaultInjector>();
//   auto db = WrapWithFaults(std::move(real_db), faults);
//   faults->Inject({.call = Call::kFetchRow, .key = "42", .status = Status::kTimeout});
//   auto gate = faults->Hold(Call::kFetchRow, "7");        // next FetchRow of key 7 blocks ...
//   std::thread worker([&] { conn->FetchRow("t", "7"); });
//   REQUIRE(gate->WaitArrived(5s));                         // ... here, after the database read
//   ... write the row, invalidate, ...
//   gate->Release();                                        // now it returns the old value
//
// Threads: FaultInjector and Gate are thread-safe (one mutex each); a test thread programs them
// while worker threads run calls. The wrapped Connection keeps the one-owner-thread rule of the
// connection it wraps. The "key" a fault matches is the primary key for FetchRow / Upsert /
// DeleteRow / KeyForm and the table name for Describe / ScanKeys; Ping has no key.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/database.h"

namespace rowcached::adapters {

enum class Call : std::uint8_t {
  kDescribe,
  kFetchRow,
  kUpsert,
  kDeleteRow,
  kScanKeys,  // ScanKeys and ScanKeyForms
  kPing,
  kKeyForm,
};
inline constexpr int kCallCount = 7;
std::string_view CallName(Call call);

// A programmed fault: the first matching rule, in the order injected, applies to a call.
struct Fault {
  Call call = Call::kFetchRow;
  std::optional<std::string> key;  // nullopt = every key
  // Delay before the call reaches the database.
  std::chrono::milliseconds delay{0};
  // kOk = only the delay; else the call fails with this status without reaching the database.
  Status status = Status::kOk;
  std::string message = "injected fault";
  // How many matching calls the fault applies to; -1 = every one until Clear().
  int times = 1;
};

// Where a held call waits.
enum class HoldPoint : std::uint8_t {
  kBeforeDatabase,  // before the wrapped connection is called
  kAfterDatabase,   // after it returned, before the result is returned to the caller
};

// Blocks matching calls until released. Thread-safe.
class Gate {
 public:
  // Waits until at least `count` calls have arrived at the gate (in total, since it was made).
  // Returns false on timeout.
  bool WaitArrived(std::chrono::milliseconds timeout, int count = 1);
  // Lets every waiting call and every later call through. Idempotent.
  void Release();
  int arrived() const;

  // Used by the wrapper: records the arrival and blocks until Release().
  void Pass();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  bool released_ = false;
};

class FaultInjector {
 public:
  void Inject(Fault fault);
  // Holds matching calls (every key if nullopt) at `where` until the gate is released. Several
  // gates may match one call; they are passed in the order they were made.
  std::shared_ptr<Gate> Hold(Call call, std::optional<std::string> key = std::nullopt,
                             HoldPoint where = HoldPoint::kAfterDatabase);
  // Drops every fault and releases and drops every gate.
  void Clear();

  // Calls made through wrapped connections (counted on entry, failed ones included).
  int calls(Call call) const;
  int calls(Call call, std::string_view key) const;

  // Used by the wrapper. Counts the call, applies delay and failure; Error ok() = proceed.
  Error Enter(Call call, std::string_view key);
  // Passes the gates for this call at `where` (blocking while held).
  void PassGates(Call call, std::string_view key, HoldPoint where);

 private:
  struct HoldRule {
    Call call;
    std::optional<std::string> key;
    HoldPoint where;
    std::shared_ptr<Gate> gate;
  };
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  std::vector<HoldRule> holds_;
  int calls_[kCallCount] = {};
  std::map<std::pair<Call, std::string>, int, std::less<>> calls_by_key_;
};

// Wraps one connection.
class FaultInjectingConnection final : public Connection {
 public:
  FaultInjectingConnection(std::unique_ptr<Connection> inner,
                           std::shared_ptr<FaultInjector> faults);

  Result<TableSchema> Describe(std::string_view table) override;
  Result<Row> FetchRow(std::string_view table, std::string_view pk,
                       std::span<const std::string> columns) override;
  Result<void> Upsert(std::string_view table, std::string_view pk, const Row& values) override;
  Result<void> DeleteRow(std::string_view table, std::string_view pk) override;
  Result<std::uint64_t> ScanKeys(std::string_view table, const KeyBatchCallback& on_batch) override;
  Result<std::string> KeyForm(std::string_view table, std::string_view pk) override;
  Result<std::uint64_t> ScanKeyForms(std::string_view table,
                                     const KeyBatchCallback& on_batch) override;
  Result<void> Ping() override;
  ConnectionStats stats() const override { return inner_->stats(); }

 protected:
  Result<std::vector<std::vector<Value>>> RunSqlForTesting(std::string_view sql) override {
    return ForwardRunSql(*inner_, sql);
  }

 private:
  template <typename R, typename Op>
  R Intercept(Call call, std::string_view key, Op&& op);

  std::unique_ptr<Connection> inner_;
  std::shared_ptr<FaultInjector> faults_;
};

// Wraps a database: every connection it makes is a FaultInjectingConnection sharing `faults`.
std::unique_ptr<Database> WrapWithFaults(std::unique_ptr<Database> inner,
                                         std::shared_ptr<FaultInjector> faults);

}  // namespace rowcached::adapters

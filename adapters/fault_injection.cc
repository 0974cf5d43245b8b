#include "adapters/fault_injection.h"

#include <thread>

namespace rowcached::adapters {

std::string_view CallName(Call call) {
  switch (call) {
    case Call::kDescribe:
      return "Describe";
    case Call::kFetchRow:
      return "FetchRow";
    case Call::kUpsert:
      return "Upsert";
    case Call::kDeleteRow:
      return "DeleteRow";
    case Call::kScanKeys:
      return "ScanKeys";
    case Call::kPing:
      return "Ping";
    case Call::kKeyForm:
      return "KeyForm";
  }
  return "?";
}

bool Gate::WaitArrived(std::chrono::milliseconds timeout, int count) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return arrived_ >= count; });
}

void Gate::Release() {
  std::lock_guard lock(mu_);
  released_ = true;
  cv_.notify_all();
}

int Gate::arrived() const {
  std::lock_guard lock(mu_);
  return arrived_;
}

void Gate::Pass() {
  std::unique_lock lock(mu_);
  ++arrived_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return released_; });
}

void FaultInjector::Inject(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

std::shared_ptr<Gate> FaultInjector::Hold(Call call, std::optional<std::string> key,
                                          HoldPoint where) {
  auto gate = std::make_shared<Gate>();
  std::lock_guard lock(mu_);
  holds_.push_back({call, std::move(key), where, gate});
  return gate;
}

void FaultInjector::Clear() {
  std::vector<HoldRule> holds;
  {
    std::lock_guard lock(mu_);
    faults_.clear();
    holds.swap(holds_);
  }
  for (HoldRule& h : holds) h.gate->Release();
}

int FaultInjector::calls(Call call) const {
  std::lock_guard lock(mu_);
  return calls_[static_cast<int>(call)];
}

int FaultInjector::calls(Call call, std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = calls_by_key_.find(std::make_pair(call, std::string(key)));
  return it == calls_by_key_.end() ? 0 : it->second;
}

Error FaultInjector::Enter(Call call, std::string_view key) {
  std::chrono::milliseconds delay{0};
  Error outcome;
  {
    std::lock_guard lock(mu_);
    ++calls_[static_cast<int>(call)];
    ++calls_by_key_[std::make_pair(call, std::string(key))];
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (it->call != call || (it->key && *it->key != key)) continue;
      delay = it->delay;
      if (it->status != Status::kOk) outcome = Error(it->status, it->message);
      if (it->times > 0 && --it->times == 0) faults_.erase(it);
      break;
    }
  }
  // The delay is the fault itself (a slow database), not a wait for some condition.
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  return outcome;
}

void FaultInjector::PassGates(Call call, std::string_view key, HoldPoint where) {
  std::vector<std::shared_ptr<Gate>> gates;
  {
    std::lock_guard lock(mu_);
    for (const HoldRule& h : holds_) {
      if (h.call == call && h.where == where && (!h.key || *h.key == key)) gates.push_back(h.gate);
    }
  }
  for (auto& gate : gates) gate->Pass();
}

FaultInjectingConnection::FaultInjectingConnection(std::unique_ptr<Connection> inner,
                                                   std::shared_ptr<FaultInjector> faults)
    : inner_(std::move(inner)), faults_(std::move(faults)) {}

template <typename R, typename Op>
R FaultInjectingConnection::Intercept(Call call, std::string_view key, Op&& op) {
  if (Error injected = faults_->Enter(call, key); !injected.ok()) return injected;
  faults_->PassGates(call, key, HoldPoint::kBeforeDatabase);
  R result = op();
  faults_->PassGates(call, key, HoldPoint::kAfterDatabase);
  return result;
}

Result<TableSchema> FaultInjectingConnection::Describe(std::string_view table) {
  return Intercept<Result<TableSchema>>(Call::kDescribe, table,
                                        [&] { return inner_->Describe(table); });
}

Result<Row> FaultInjectingConnection::FetchRow(std::string_view table, std::string_view pk,
                                               std::span<const std::string> columns) {
  return Intercept<Result<Row>>(Call::kFetchRow, pk,
                                [&] { return inner_->FetchRow(table, pk, columns); });
}

Result<void> FaultInjectingConnection::Upsert(std::string_view table, std::string_view pk,
                                              const Row& values) {
  return Intercept<Result<void>>(Call::kUpsert, pk,
                                 [&] { return inner_->Upsert(table, pk, values); });
}

Result<void> FaultInjectingConnection::DeleteRow(std::string_view table, std::string_view pk) {
  return Intercept<Result<void>>(Call::kDeleteRow, pk,
                                 [&] { return inner_->DeleteRow(table, pk); });
}

Result<std::uint64_t> FaultInjectingConnection::ScanKeys(std::string_view table,
                                                         const KeyBatchCallback& on_batch) {
  return Intercept<Result<std::uint64_t>>(Call::kScanKeys, table,
                                          [&] { return inner_->ScanKeys(table, on_batch); });
}

Result<std::string> FaultInjectingConnection::KeyForm(std::string_view table, std::string_view pk) {
  return Intercept<Result<std::string>>(Call::kKeyForm, pk,
                                        [&] { return inner_->KeyForm(table, pk); });
}

Result<std::uint64_t> FaultInjectingConnection::ScanKeyForms(std::string_view table,
                                                             const KeyBatchCallback& on_batch) {
  return Intercept<Result<std::uint64_t>>(Call::kScanKeys, table,
                                          [&] { return inner_->ScanKeyForms(table, on_batch); });
}

Result<void> FaultInjectingConnection::Ping() {
  return Intercept<Result<void>>(Call::kPing, "", [&] { return inner_->Ping(); });
}

namespace {

class FaultInjectingDatabase final : public Database {
 public:
  FaultInjectingDatabase(std::unique_ptr<Database> inner, std::shared_ptr<FaultInjector> faults)
      : inner_(std::move(inner)), faults_(std::move(faults)) {}
  Dialect dialect() const override { return inner_->dialect(); }
  const std::string& redacted_url() const override { return inner_->redacted_url(); }
  const Options& options() const override { return inner_->options(); }
  std::unique_ptr<Connection> Connect() override {
    return std::make_unique<FaultInjectingConnection>(inner_->Connect(), faults_);
  }

 private:
  std::unique_ptr<Database> inner_;
  std::shared_ptr<FaultInjector> faults_;
};

}  // namespace

std::unique_ptr<Database> WrapWithFaults(std::unique_ptr<Database> inner,
                                         std::shared_ptr<FaultInjector> faults) {
  return std::make_unique<FaultInjectingDatabase>(std::move(inner), std::move(faults));
}

}  // namespace rowcached::adapters

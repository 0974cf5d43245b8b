#include "server/propagate.h"

#include "server/command.h"
#include "server/command_log.h"
#include "server/server_context.h"

namespace rowcached::server {
namespace {

thread_local TransactionLogFrame* t_frame = nullptr;

}  // namespace

TransactionLogFrame::TransactionLogFrame() { t_frame = this; }

TransactionLogFrame::~TransactionLogFrame() {
  t_frame = nullptr;
  if (log_ == nullptr) return;
  // EXEC in the database of the last command: no SELECT needed before it.
  commands_.push_back({commands_.back().first, {"EXEC"}});
  log_->AppendBatch(commands_);
}

void TransactionLogFrame::Collect(CommandLog& log, int db,
                                  const std::vector<std::string_view>& args) {
  if (log_ == nullptr) {
    log_ = &log;
    commands_.push_back({db, {"MULTI"}});
  }
  commands_.push_back({db, std::vector<std::string>(args.begin(), args.end())});
}

void AppendToLog(CommandLog& log, int db, const std::vector<std::string_view>& args) {
  if (t_frame != nullptr) return t_frame->Collect(log, db, args);
  log.Append(db, args);
}

void AppendToLog(CommandLog& log, int db, const std::vector<std::string>& args) {
  AppendToLog(log, db, std::vector<std::string_view>(args.begin(), args.end()));
}

void PropagateCommand(CommandContext& ctx, uint64_t changes_before) {
  if (ThreadChangeCount() == changes_before) return;
  CommandLog* log = ctx.command_log();
  if (log == nullptr) return;
  // The database the command ended in: SELECT inside MULTI changes it for what follows, and a
  // command's own changes are in the database it ran in, which SELECT does not log.
  int db = ctx.client.db.load(std::memory_order_relaxed);
  if (!ctx.propagate_replaced()) return AppendToLog(*log, db, ctx.args);
  for (const auto& command : ctx.propagate_as()) AppendToLog(*log, db, command);
}

void PropagateDeletion(ServerContext& server, int db, std::string_view key) {
  CommandLog* log = server.command_log();
  if (log == nullptr) return;
  if (KeyInterceptor* interceptor = server.key_interceptor();
      interceptor != nullptr && interceptor->Owns(key)) {
    return;
  }
  AppendToLog(*log, db, {"DEL", key});
}

CommandLog* CommandContext::LoadCommandLog() const { return server.command_log(); }

}  // namespace rowcached::server

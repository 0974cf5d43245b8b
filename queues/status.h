// The closed set of outcomes of the queues library. Every operation and every refresh waiter is
// completed with exactly one of these; none of them is reported by an exception.
#pragma once

#include <cstdint>
#include <string_view>

namespace rowcached::queues {

enum class Status : std::uint8_t {
  // Operation: it is this operation's turn on its worker; do the work now.
  // Refresh waiter: the refresh ran; the result is attached.
  kOk,
  // The key's queue already holds Options::max_depth operations. Nothing was queued; the
  // server replies `-TRYAGAIN queue full` (the client may retry; see StatusText).
  kQueueFull,
  // Refresh waiter only: its deadline passed before the refresh completed. The refresh itself
  // may still run (see the deadline rule in queues.h); this waiter will hear nothing more.
  kTimeout,
  // The queues are stopping: either the submission came after Stop() began, or it was queued
  // and Stop(StopMode::kCancel) cancelled it before it ran.
  kShutdown,
};

// Short human-readable text, stable, suitable after a RESP error prefix:
//   kOk -> "ok", kQueueFull -> "queue full", kTimeout -> "timed out in queue",
//   kShutdown -> "shutting down".
// The server maps kQueueFull and kShutdown to `-TRYAGAIN <text>`.
[[nodiscard]] std::string_view StatusText(Status status) noexcept;

}  // namespace rowcached::queues

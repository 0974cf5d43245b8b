#include "queues/status.h"

namespace rowcached::queues {

std::string_view StatusText(Status status) noexcept {
  switch (status) {
    case Status::kOk:
      return "ok";
    case Status::kQueueFull:
      return "queue full";
    case Status::kTimeout:
      return "timed out in queue";
    case Status::kShutdown:
      return "shutting down";
  }
  return "unknown status";  // unreachable for a valid enumerator
}

}  // namespace rowcached::queues

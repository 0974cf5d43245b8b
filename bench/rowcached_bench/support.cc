#include "support.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
// clang-format off
#include <utility>  // before asio (environment.md)
#include <boost/asio.hpp>
// clang-format on
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "resp.h"

namespace rcbench {
namespace asio = boost::asio;
using asio::ip::tcp;

std::atomic<bool> g_interrupted{false};

namespace {
void OnSignal(int) { g_interrupted.store(true); }
}  // namespace

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a server that dies must surface as an error, not kill the bench
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(a.sin_port);
}

// ---- Child ------------------------------------------------------------------------------------

Child::Child(std::string name, std::vector<std::string> argv, std::string log, std::string cwd)
    : name_(std::move(name)), log_(std::move(log)) {
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_ + ": " + std::strerror(errno));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fd, 1);
    dup2(fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    // The bench's Ctrl-C must reach the bench only: it stops its children in order.
    setpgid(0, 0);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fd);
  pid_ = pid;
}

Child::~Child() { Stop(); }

bool Child::Alive() {
  if (pid_ <= 0) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Child::Stop() {
  if (!Alive()) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    usleep(50000);
  }
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Child::LogTail(int lines) const {
  std::ifstream in(log_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (auto& l : tail) out += "  " + l + "\n";
  return out;
}

void WaitPing(Child& child, int port, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string last;
  while (Clock::now() < deadline && !g_interrupted.load()) {
    if (!child.Alive()) {
      throw std::runtime_error(child.name() + " exited during start-up; log:\n" + child.LogTail());
    }
    try {
      SyncClient c("127.0.0.1", port);
      Reply r = c.Call({"PING"});
      if (r.type == '+' && r.str == "PONG") return;
      last = r.Describe();
    } catch (const std::exception& e) {
      last = e.what();
    }
    usleep(50000);
  }
  throw std::runtime_error(child.name() + " did not answer PING on port " + std::to_string(port) +
                           " (" + last + "); log:\n" + child.LogTail());
}

// ---- DelayProxy -------------------------------------------------------------------------------

namespace {

// One direction of a proxied connection. Chunks read from `from` wait `delay` (if any) and are
// written to `to` in order; reading continues meanwhile, so the delay adds latency, not a
// throughput cap per round trip.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to,
       const std::atomic<int>* delay_ms)
      : from_(std::move(from)),
        to_(std::move(to)),
        delay_ms_(delay_ms),
        timer_(from_->get_executor()) {}

  void Start() { Read(); }

 private:
  struct Chunk {
    Clock::time_point due;
    std::string data;
  };

  void Read() {
    auto self = shared_from_this();
    from_->async_read_some(
        asio::buffer(buf_), [self](const boost::system::error_code& ec, size_t n) {
          if (ec) return self->Close();
          int d = self->delay_ms_ ? self->delay_ms_->load() : 0;
          self->chunks_.push_back(
              {Clock::now() + std::chrono::milliseconds(d), std::string(self->buf_, n)});
          if (!self->writing_) self->WriteNext();
          self->Read();
        });
  }

  void WriteNext() {
    if (chunks_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    timer_.expires_at(chunks_.front().due);
    timer_.async_wait([self](const boost::system::error_code&) {
      asio::async_write(*self->to_, asio::buffer(self->chunks_.front().data),
                        [self](const boost::system::error_code& ec, size_t) {
                          if (ec) return self->Close();
                          self->chunks_.pop_front();
                          self->WriteNext();
                        });
    });
  }

  void Close() {
    boost::system::error_code ignored;
    from_->close(ignored);
    to_->close(ignored);
  }

  std::shared_ptr<tcp::socket> from_, to_;
  const std::atomic<int>* delay_ms_;
  asio::steady_timer timer_;
  std::deque<Chunk> chunks_;
  bool writing_ = false;
  char buf_[16384];
};

}  // namespace

struct DelayProxy::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  int target_port = 0;
  const std::atomic<int>* delay_ms = nullptr;

  void Accept() {
    auto client = std::make_shared<tcp::socket>(io);
    acceptor.async_accept(*client, [this, client](const boost::system::error_code& ec) {
      if (ec) return;  // acceptor closed
      auto server = std::make_shared<tcp::socket>(io);
      boost::system::error_code cec;
      server->connect(
          tcp::endpoint(asio::ip::address_v4::loopback(), static_cast<uint16_t>(target_port)), cec);
      if (!cec) {
        client->set_option(tcp::no_delay(true));
        server->set_option(tcp::no_delay(true));
        std::make_shared<Pipe>(client, server, nullptr)->Start();   // requests: undelayed
        std::make_shared<Pipe>(server, client, delay_ms)->Start();  // replies: delayed
      }
      Accept();
    });
  }
};

DelayProxy::DelayProxy(int target_port) : impl_(std::make_unique<Impl>()) {
  impl_->target_port = target_port;
  impl_->delay_ms = &delay_ms_;
  tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  thread_ = std::thread([this] { impl_->io.run(); });
}

DelayProxy::~DelayProxy() {
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
}

// ---- Latencies, Progress ----------------------------------------------------------------------

double Latencies::PercentileMs(double q) {
  if (us.empty()) return 0;
  if (!sorted_) {
    std::sort(us.begin(), us.end());
    sorted_ = true;
  }
  size_t i = static_cast<size_t>(q * static_cast<double>(us.size() - 1) + 0.5);
  return us[std::min(i, us.size() - 1)] / 1000.0;
}

std::string WithCommas(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

Progress::Progress(std::string label, double seconds, const std::atomic<uint64_t>* counter,
                   std::string unit)
    : label_(std::move(label)), seconds_(seconds), counter_(counter), unit_(std::move(unit)) {
  thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() {
  done_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Progress::Loop() {
  const bool tty = isatty(STDERR_FILENO);
  auto start = Clock::now();
  auto last_print = start;
  auto line = [&](bool final) {
    double t = std::chrono::duration<double>(Clock::now() - start).count();
    uint64_t n = counter_ ? counter_->load() : 0;
    char buf[256];
    int width = 30;
    int filled = seconds_ > 0 ? std::min(width, static_cast<int>(width * t / seconds_)) : width;
    if (final) filled = width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(static_cast<size_t>(width), '.');
    std::string count = counter_ ? "  " + WithCommas(n) + " " + unit_ + "  " +
                                       WithCommas(static_cast<uint64_t>(t > 0 ? n / t : 0)) + "/s"
                                 : "";
    std::snprintf(buf, sizeof(buf), "  [%s] %-28s %5.1f/%.0f s%s", bar.c_str(), label_.c_str(), t,
                  seconds_, count.c_str());
    if (tty) {
      std::fprintf(stderr, "\r%s\033[K%s", buf, final ? "\n" : "");
    } else {
      std::fprintf(stderr, "%s\n", buf);
    }
    std::fflush(stderr);
  };
  while (!done_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto now = Clock::now();
    if (tty || now - last_print >= std::chrono::seconds(2)) {
      if (tty)
        line(false);
      else if (!done_.load())
        line(false);
      last_print = now;
    }
  }
  if (tty) line(true);
}

}  // namespace rcbench

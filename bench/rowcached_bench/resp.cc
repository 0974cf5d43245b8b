#include "resp.h"

#include <charconv>
#include <stdexcept>

namespace rcbench {
namespace asio = boost::asio;
using asio::ip::tcp;

std::string Reply::Describe() const {
  switch (type) {
    case '+':
      return str;
    case '-':
      return "(error) " + str;
    case ':':
      return "(integer) " + std::to_string(integer);
    case '$':
      return nil ? "(nil)" : "\"" + str + "\"";
    case '*': {
      if (nil) return "(nil array)";
      std::string s = "[";
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i) s += ", ";
        s += elements[i].Describe();
      }
      return s + "]";
    }
  }
  return "(unknown)";
}

namespace {
void AppendArg(std::string* out, std::string_view a) {
  out->push_back('$');
  out->append(std::to_string(a.size()));
  out->append("\r\n");
  out->append(a);
  out->append("\r\n");
}
}  // namespace

void Encode(std::string* out, std::initializer_list<std::string_view> args) {
  out->push_back('*');
  out->append(std::to_string(args.size()));
  out->append("\r\n");
  for (auto a : args) AppendArg(out, a);
}

void Encode(std::string* out, const std::vector<std::string>& args) {
  out->push_back('*');
  out->append(std::to_string(args.size()));
  out->append("\r\n");
  for (const auto& a : args) AppendArg(out, a);
}

namespace {
// The line starting at pos (without CRLF); false if incomplete.
bool Line(std::string_view in, size_t pos, std::string_view* line, size_t* next) {
  size_t e = in.find("\r\n", pos);
  if (e == std::string_view::npos) return false;
  *line = in.substr(pos, e - pos);
  *next = e + 2;
  return true;
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    throw std::runtime_error("protocol error: bad integer '" + std::string(s) + "'");
  }
  return v;
}
}  // namespace

bool ParseReply(std::string_view in, size_t* pos, Reply* out) {
  if (*pos >= in.size()) return false;
  size_t p = *pos;
  char type = in[p];
  std::string_view line;
  size_t next;
  if (!Line(in, p + 1, &line, &next)) return false;
  Reply r;
  r.type = type;
  switch (type) {
    case '+':
    case '-':
      r.str = std::string(line);
      break;
    case ':':
      r.integer = ToInt(line);
      break;
    case '$': {
      int64_t n = ToInt(line);
      if (n < 0) {
        r.nil = true;
        break;
      }
      if (in.size() < next + static_cast<size_t>(n) + 2) return false;
      r.str = std::string(in.substr(next, static_cast<size_t>(n)));
      next += static_cast<size_t>(n) + 2;
      break;
    }
    case '*': {
      int64_t n = ToInt(line);
      if (n < 0) {
        r.nil = true;
        break;
      }
      r.elements.resize(static_cast<size_t>(n));
      for (auto& e : r.elements) {
        if (!ParseReply(in, &next, &e)) return false;
      }
      break;
    }
    default:
      throw std::runtime_error(std::string("protocol error: unexpected byte '") + type + "'");
  }
  *pos = next;
  *out = std::move(r);
  return true;
}

SyncClient::SyncClient(const std::string& host, int port) : socket_(io_) {
  boost::system::error_code ec;
  socket_.connect(tcp::endpoint(asio::ip::make_address(host), static_cast<uint16_t>(port)), ec);
  if (ec) {
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
  }
  socket_.set_option(tcp::no_delay(true));
}

Reply SyncClient::Call(std::initializer_list<std::string_view> args) {
  Encode(&out_, args);
  Flush();
  return Read();
}

Reply SyncClient::Call(const std::vector<std::string>& args) {
  Encode(&out_, args);
  Flush();
  return Read();
}

void SyncClient::SendRaw(std::string_view bytes) { out_.append(bytes); }

void SyncClient::Flush() {
  if (out_.empty()) return;
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(out_), ec);
  if (ec) throw std::runtime_error("write: " + ec.message());
  out_.clear();
}

Reply SyncClient::Read() {
  Reply r;
  for (;;) {
    if (ParseReply(in_, &pos_, &r)) {
      if (pos_ == in_.size()) {
        in_.clear();
        pos_ = 0;
      }
      return r;
    }
    if (pos_ > 0) {
      in_.erase(0, pos_);
      pos_ = 0;
    }
    char buf[16384];
    boost::system::error_code ec;
    size_t n = socket_.read_some(asio::buffer(buf), ec);
    if (ec) throw std::runtime_error("read: " + ec.message());
    in_.append(buf, n);
  }
}

// ---- AsyncLoad --------------------------------------------------------------------------------

namespace {

struct Inflight {
  uint64_t token;
  Clock::time_point sent;
};

class LoadConn : public std::enable_shared_from_this<LoadConn> {
 public:
  LoadConn(asio::io_context& io, int index, int pipeline, const AsyncLoad::MakeFn& make,
           const AsyncLoad::DoneFn& done, const AsyncLoad::StopFn& stop, uint64_t* replies,
           std::string* error)
      : socket_(io),
        index_(index),
        pipeline_(pipeline),
        make_(make),
        done_(done),
        stop_(stop),
        replies_(replies),
        error_(error) {}

  tcp::socket& socket() { return socket_; }

  void Next() {
    if (!error_->empty() || stop_()) return Close();
    out_.clear();
    Clock::time_point now = Clock::now();
    for (int i = 0; i < pipeline_; ++i) {
      uint64_t token = 0;
      if (!make_(index_, &out_, &token)) break;
      inflight_.push_back({token, now});
    }
    if (inflight_.empty()) return Close();
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_),
                      [self](const boost::system::error_code& ec, size_t) {
                        if (ec) return self->Fail("write: " + ec.message());
                        self->ReadMore();
                      });
  }

 private:
  void ReadMore() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_),
                            [self](const boost::system::error_code& ec, size_t n) {
                              if (ec) return self->Fail("read: " + ec.message());
                              self->OnData(n);
                            });
  }

  void OnData(size_t n) {
    in_.append(buf_, n);
    Reply r;
    try {
      while (!inflight_.empty() && ParseReply(in_, &pos_, &r)) {
        Inflight f = inflight_.front();
        inflight_.pop_front();
        ++*replies_;
        done_(index_, f.token, r, f.sent);
      }
    } catch (const std::exception& e) {
      return Fail(e.what());
    }
    if (pos_ == in_.size()) {
      in_.clear();
      pos_ = 0;
    } else if (pos_ > 65536) {
      in_.erase(0, pos_);
      pos_ = 0;
    }
    if (inflight_.empty()) return Next();
    ReadMore();
  }

  void Fail(const std::string& what) {
    if (error_->empty()) *error_ = what;
    Close();
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  tcp::socket socket_;
  int index_;
  int pipeline_;
  const AsyncLoad::MakeFn& make_;
  const AsyncLoad::DoneFn& done_;
  const AsyncLoad::StopFn& stop_;
  uint64_t* replies_;
  std::string* error_;
  std::deque<Inflight> inflight_;
  std::string out_;
  std::string in_;
  size_t pos_ = 0;
  char buf_[16384];
};

}  // namespace

AsyncLoad::AsyncLoad(std::string host, int port, int connections, int pipeline)
    : host_(std::move(host)), port_(port), connections_(connections), pipeline_(pipeline) {}

uint64_t AsyncLoad::Run(const MakeFn& make, const DoneFn& done, const StopFn& stop) {
  asio::io_context io;
  uint64_t replies = 0;
  std::string error;
  std::vector<std::shared_ptr<LoadConn>> conns;
  tcp::endpoint ep(asio::ip::make_address(host_), static_cast<uint16_t>(port_));
  for (int i = 0; i < connections_; ++i) {
    auto c = std::make_shared<LoadConn>(io, i, pipeline_, make, done, stop, &replies, &error);
    boost::system::error_code ec;
    c->socket().connect(ep, ec);
    if (ec) {
      throw std::runtime_error("connect to " + host_ + ":" + std::to_string(port_) + ": " +
                               ec.message());
    }
    c->socket().set_option(tcp::no_delay(true));
    conns.push_back(std::move(c));
  }
  // Every connection starts its first batch before any reply is read, so with N connections N
  // requests (times the pipeline) are really in flight together.
  for (auto& c : conns) c->Next();
  conns.clear();  // the handlers keep their connection alive
  io.run();
  if (!error.empty()) throw std::runtime_error(error);
  return replies;
}

}  // namespace rcbench

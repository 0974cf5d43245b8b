#include "server/resp_parser.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using rowcached::server::ParserLimits;
using rowcached::server::RespParser;
using Result = RespParser::Result;

namespace {

// Feeds `wire` to a fresh parser the way a connection does: the buffer grows by the bytes that
// arrive and always starts at the current request. Returns every request parsed.
std::vector<std::vector<std::string>> ParseInPieces(const std::string& wire,
                                                    const std::vector<size_t>& cuts) {
  RespParser parser;
  std::string buf;
  std::vector<std::vector<std::string>> out;
  size_t from = 0;
  auto drain = [&] {
    while (true) {
      Result r = parser.Parse(buf);
      if (r == Result::kNeedMore) return;
      REQUIRE(r != Result::kError);
      if (r == Result::kCommand) {
        out.emplace_back(parser.args().begin(), parser.args().end());
      }
      buf.erase(0, parser.consumed());
    }
  };
  for (size_t cut : cuts) {
    buf.append(wire, from, cut - from);
    from = cut;
    drain();
  }
  buf.append(wire, from, std::string::npos);
  drain();
  REQUIRE(buf.empty());
  return out;
}

const std::vector<std::pair<std::string, std::vector<std::vector<std::string>>>> kValidFrames = {
    {"*1\r\n$4\r\nPING\r\n", {{"PING"}}},
    {"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", {{"SET", "k", ""}}},
    {std::string("*2\r\n$3\r\nGET\r\n$5\r\na\r\nb\0\r\n", 24),
     {{"GET", std::string("a\r\nb\0", 5)}}},
    {"PING\r\n", {{"PING"}}},
    {"PING\n", {{"PING"}}},
    {"ECHO \"a b\\x41\\n\" 'c d'\r\n", {{"ECHO", "a bA\n", "c d"}}},
    {"*0\r\n*1\r\n$4\r\nPING\r\n", {{"PING"}}},
    {"\r\nPING\r\n", {{"PING"}}},
    {"*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n*1\r\n$4\r\nPING\r\nPING\r\n",
     {{"ECHO", "0123456789"}, {"PING"}, {"PING"}}},
};

}  // namespace

TEST_CASE("parser accepts every valid frame whole", "[parser]") {
  for (const auto& [wire, expected] : kValidFrames) {
    INFO(wire);
    REQUIRE(ParseInPieces(wire, {}) == expected);
  }
}

TEST_CASE("parser accepts every valid frame split at every byte", "[parser]") {
  for (const auto& [wire, expected] : kValidFrames) {
    for (size_t cut = 1; cut < wire.size(); ++cut) {
      INFO(wire << " cut at " << cut);
      REQUIRE(ParseInPieces(wire, {cut}) == expected);
    }
  }
}

TEST_CASE("parser accepts every valid frame fed one byte at a time", "[parser]") {
  for (const auto& [wire, expected] : kValidFrames) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < wire.size(); ++i) cuts.push_back(i);
    INFO(wire);
    REQUIRE(ParseInPieces(wire, cuts) == expected);
  }
}

TEST_CASE("parser reports consumed bytes so pipelined requests stay separate", "[parser]") {
  RespParser parser;
  std::string buf = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n";
  REQUIRE(parser.Parse(buf) == Result::kCommand);
  REQUIRE(parser.consumed() == 14);
  buf.erase(0, parser.consumed());
  REQUIRE(parser.Parse(buf) == Result::kCommand);
  REQUIRE(parser.args().size() == 2);
  REQUIRE(parser.args()[1] == "x");
}

namespace {
std::string ErrorOf(const std::string& wire, ParserLimits limits = {}) {
  RespParser parser(limits);
  Result r = parser.Parse(wire);
  if (r != Result::kError) return "no error";
  return parser.error();
}
}  // namespace

TEST_CASE("parser rejects malformed frames with Redis' texts", "[parser]") {
  CHECK(ErrorOf("*abc\r\n") == "Protocol error: invalid multibulk length");
  CHECK(ErrorOf("*-\r\n") == "Protocol error: invalid multibulk length");
  CHECK(ErrorOf("*01\r\n") == "Protocol error: invalid multibulk length");
  CHECK(ErrorOf("*99999999999\r\n") == "Protocol error: invalid multibulk length");
  CHECK(ErrorOf("*1\r\n+PING\r\n") == "Protocol error: expected '$', got '+'");
  CHECK(ErrorOf("*1\r\n$x\r\n") == "Protocol error: invalid bulk length");
  CHECK(ErrorOf("*1\r\n$-1\r\n") == "Protocol error: invalid bulk length");
  CHECK(ErrorOf("*1\r\n$\r\n") == "Protocol error: invalid bulk length");
  CHECK(ErrorOf("ECHO \"abc\r\n") == "Protocol error: unbalanced quotes in request");
  CHECK(ErrorOf("ECHO 'abc\r\n") == "Protocol error: unbalanced quotes in request");
  CHECK(ErrorOf("ECHO \"a\"b\r\n") == "Protocol error: unbalanced quotes in request");
}

TEST_CASE("parser rejects huge declared lengths before reading the data", "[parser]") {
  ParserLimits limits;
  limits.max_bulk_len = 1024 * 1024;
  CHECK(ErrorOf("*1\r\n$1048577\r\n", limits) == "Protocol error: invalid bulk length");
  CHECK(ErrorOf("*1\r\n$9223372036854775807\r\n") == "Protocol error: invalid bulk length");
  CHECK(ErrorOf("*1\r\n$99999999999999999999\r\n") == "Protocol error: invalid bulk length");
  // A length within the limit is accepted and waits for its bytes, announcing how many.
  RespParser parser(limits);
  REQUIRE(parser.Parse("*1\r\n$1048576\r\n") == Result::kNeedMore);
  REQUIRE(parser.bytes_expected() == 14 + 1048576 + 2);
}

TEST_CASE("parser bounds header and inline lines at 64 KB", "[parser]") {
  CHECK(ErrorOf(std::string(70 * 1024, 'a')) == "Protocol error: too big inline request");
  CHECK(ErrorOf("*" + std::string(70 * 1024, '1')) == "Protocol error: too big mbulk count string");
  CHECK(ErrorOf("*1\r\n$" + std::string(70 * 1024, '1')) ==
        "Protocol error: too big bulk count string");
  // Just below the limit, an unterminated inline request is still waiting, not an error.
  RespParser parser;
  REQUIRE(parser.Parse(std::string(60 * 1024, 'a')) == Result::kNeedMore);
}

TEST_CASE("parser handles a large multibulk count without reserving for it", "[parser]") {
  RespParser parser;
  REQUIRE(parser.Parse("*2147483647\r\n$1\r\na\r\n") == Result::kNeedMore);
}

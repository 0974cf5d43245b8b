// Replays command/reply pairs captured from a real redis-server (testdata/*.txt, written by
// testdata/capture_redis_replies.py) through the command harness and checks every reply byte.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "command_harness.h"

namespace rowcached::server::testing {

inline std::string FromHex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// A printable form of a command for failure messages: arguments of up to 40 bytes.
inline std::string DescribeCommand(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) {
    if (!s.empty()) s += ' ';
    s += a.size() > 40 ? a.substr(0, 40) + "..." : a;
  }
  return s;
}

// Runs every command of `file` (a name under testdata/) and CHECKs each reply. Returns how many
// commands ran, so a test can REQUIRE that the file was found and read.
inline size_t ReplayGolden(CommandHarness& h, const std::string& file) {
  std::ifstream in(std::string(ROWCACHED_SERVER_TESTDATA) + "/" + file);
  std::string line;
  std::vector<std::string> args;
  size_t ran = 0;
  while (std::getline(in, line)) {
    if (line.rfind("> ", 0) == 0) {
      args.clear();
      size_t pos = 2;
      while (pos <= line.size()) {
        size_t space = line.find(' ', pos);
        if (space == std::string::npos) space = line.size();
        std::string arg = line.substr(pos, space - pos);
        args.push_back(arg.rfind('=', 0) == 0 ? arg.substr(1) : FromHex(arg));
        pos = space + 1;
      }
    } else if (line.rfind("< ", 0) == 0) {
      std::string expected = FromHex(line.substr(2));
      INFO("command #" << ran << ": " << DescribeCommand(args));
      CHECK(h.Run(args) == expected);
      ++ran;
    }
  }
  return ran;
}

}  // namespace rowcached::server::testing

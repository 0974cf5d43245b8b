// rowcached-check-aof: checks and repairs an append-only file, as redis-check-aof does.
//   rowcached-check-aof [--fix] <appendonly.aof.manifest | file.aof>
// Unlike redis-check-aof, --fix asks no question: it truncates at the first invalid byte (a
// backup first is the operator's call, as the start-up error message says).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "server/aof_check.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Checks a rowcached (or Redis 7.0) append-only file: its manifest and every file it lists, "
      "or one file. Reports the first invalid offset of each; with --fix, truncates the last "
      "file there (no confirmation is asked)."};
  bool fix = false;
  std::string path;
  app.add_flag("--fix", fix, "truncate a file with an invalid tail at its last valid command");
  app.add_option("file", path, "the .manifest of an AOF directory, or one AOF file")
      ->required()
      ->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::string report;
  int status = rowcached::server::CheckAppendOnlyFile(path, fix, &report);
  std::fputs(report.c_str(), stdout);
  return status;
}

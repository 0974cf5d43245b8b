#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite:
#   1. release build, every test;
#   2. AddressSanitizer + UBSan build, every test;
#   3. ThreadSanitizer build, the tests labelled "tsan" (queues, middleware, server threading).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== release =="
bash scripts/build.sh release
ctest --test-dir build/release --output-on-failure --no-tests=error -j "$jobs"

echo "== asan+ubsan =="
bash scripts/build.sh asan all_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure --no-tests=error -j "$jobs"

echo "== tsan =="
bash scripts/build.sh tsan tsan_tests
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure --no-tests=error -j "$jobs" -L tsan

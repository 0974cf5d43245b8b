#!/usr/bin/env bash
# Configures and builds one flavour into build/<flavour>.
#   release: optimised, what `scripts/run.sh` starts and benchmarks measure
#   asan:    AddressSanitizer + UndefinedBehaviorSanitizer, the whole test suite
#   tsan:    ThreadSanitizer, the concurrency tests (queues, middleware, server threads)
# Extra arguments are passed to ninja (e.g. a target name).
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
shift || true
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
  # -O1: the sanitizers' own advice, and about half the compile time of -O2 for the whole suite.
  asan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -DNDEBUG"
              "-DROWCACHED_SANITIZE=address,undefined") ;;
  tsan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -DNDEBUG"
              -DROWCACHED_SANITIZE=thread) ;;
  *) echo "usage: scripts/build.sh release|asan|tsan [ninja args]" >&2; exit 2 ;;
esac
# ccache, when installed (development machines), shares objects between checkouts.
if command -v ccache >/dev/null; then
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
fi
cmake -S . -B "build/$flavour" -G Ninja "${args[@]}" >/dev/null
ninja -C "build/$flavour" "$@"

#!/usr/bin/env bash
# bench/rowcached_bench/run.sh: set up, build (release) and run rowcached-bench.
#
#   bash bench/rowcached_bench/run.sh [rowcached-bench arguments]
#   bash bench/rowcached_bench/run.sh --scenario all --duration 60 --json out.json --chart out.png
#
# Installs what is missing (scripts/setup.sh: MariaDB, redis-server, gnuplot-nox, ...), builds
# rowcached and rowcached-bench into build/release, then runs the bench, which starts a private
# MariaDB, redis-server and rowcached on loopback and stops them when it ends (also on Ctrl-C).
# `--help` lists the bench's options.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
bash scripts/build.sh release rowcached rowcached-bench
exec build/release/bench/rowcached_bench/rowcached-bench "$@"

#!/usr/bin/env bash
# Sets up, builds and starts rowcached on its embedded defaults (examples/demo.toml:
# the cache server on 127.0.0.1:6379 plus an embedded SQLite demo database).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release rowcached
exec build/release/app/rowcached --config examples/demo.toml "$@"

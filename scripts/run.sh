#!/usr/bin/env bash
# Sets up, builds and starts rowcached on its embedded defaults (examples/demo.toml:
# the cache server on 127.0.0.1:6379 plus an embedded SQLite demo database).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release rowcached
# The demo database is created and seeded on first run.
mkdir -p data
if [ ! -s data/demo.db ]; then
  sqlite3 data/demo.db < examples/demo.sql
  echo "run: created data/demo.db with $(sqlite3 data/demo.db 'SELECT COUNT(*) FROM products') products"
fi
exec build/release/app/rowcached --config examples/demo.toml "$@"

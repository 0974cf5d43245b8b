#!/usr/bin/env bash
# Writes redis_7.0.15_dump.rdb beside this script: a dump.rdb saved by a private redis-server
# 7.0 holding every type in its compact and its large encoding (listpack, intset, quicklist,
# hashtable, skiplist), integer and LZF strings, and keys in two databases. rdb_test.cc loads it
# and damages it (truncation, random bytes) to exercise the container decoders on real bytes.
# No TTLs: the file must load the same at any date.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d)"
port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
redis-server --port "$port" --dir "$dir" --save '' --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; rm -rf "$dir"' EXIT
cli() { redis-cli -p "$port" "$@" >/dev/null; }
for _ in $(seq 50); do redis-cli -p "$port" PING 2>/dev/null | grep -q PONG && break; sleep 0.1; done
cli SET str hello
cli SET int8 -100
cli SET int32 2000000000
cli SET long "$(printf 'abc%.0s' $(seq 200))"
cli RPUSH list a 1 -5 123456789012 "$(printf 'q%.0s' $(seq 100))"
cli RPUSH biglist $(seq -f 'element-%g' 1 1500)
cli SADD intset 1 2 -3 100000 -9223372036854775808
cli SADD strset a b c
cli ZADD zset 1.5 a -inf low +inf high -2.25 neg 3 int
cli ZADD bigzset $(for i in $(seq 1 200); do echo "$i.5 m$i"; done)
cli HSET hash f v n 42 neg -7
cli HSET bighash $(for i in $(seq 1 600); do echo "field$i $i"; done)
redis-cli -p "$port" -n 1 SET k db1 >/dev/null
redis-cli -p "$port" SAVE >/dev/null
cp "$dir/dump.rdb" "$here/redis_7.0.15_dump.rdb"

#!/usr/bin/env bash
# bench/persistence/run.sh: rowcached's persistence side by side with Debian's redis-server, in
# one run.
#
# Write throughput with the append-only file on: redis-benchmark -t set (-c 50 -P 1 -r 100000
# -d 3) against both servers with `appendonly yes` and `appendfsync always`, then `everysec`,
# automatic rewrites off on both (auto-aof-rewrite-percentage 0), alternating redis, rowcached,
# redis, rowcached ... for ROUNDS rounds; each row is the median of the rounds.
#
# Restart time: LOAD_KEYS keys `SET key:N <VALUE_LEN-byte value>` are loaded with
# `redis-cli --pipe` into a fresh server of each kind, which is then stopped with its data on
# disk: a snapshot (SAVE) for rdb-load, the append-only file (appendonly yes, appendfsync no,
# no rewrite: the file holds the LOAD_KEYS commands) for aof-load. Each server is then
# restarted ROUNDS times on its files; the time is from the process' start to its first PONG
# (redis answers -LOADING meanwhile; rowcached listens once loaded), and DBSIZE is checked.
#
# Last line: "persistence: always R1 everysec R2 rdb-load R3 aof-load R4": throughput ratios
# rowcached/redis, restart-time ratios redis/rowcached: higher is better for all four.
#
# Usage: bash bench/persistence/run.sh [--rounds=N] [--quick] [--help]
# Settings (environment variables):
#   ROUNDS=3             rounds (throughput) and restarts (load times); the median is shown
#   CLIENTS=50           redis-benchmark -c
#   N_ALWAYS=50000       SETs per throughput run under appendfsync always
#   N_EVERYSEC=200000    SETs per throughput run under appendfsync everysec
#   LOAD_KEYS=1000000    keys for the restart times (0 = skip them)
#   VALUE_LEN=16         their value length
#   ROWCACHED_THREADS=0  --server.threads for rowcached (0 = one per core)
#   ROWCACHED_BIN=build/release/app/rowcached   built first with scripts/build.sh if missing
#   BUILD=0              1 = rebuild rowcached even if the binary exists
#   REDIS_SERVER=redis-server
# --quick = ROUNDS=1 N_ALWAYS=5000 N_EVERYSEC=20000 LOAD_KEYS=100000 (a smoke run).
# Both servers write under a temporary directory on the same disk; everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
N_ALWAYS=${N_ALWAYS:-50000}
N_EVERYSEC=${N_EVERYSEC:-200000}
LOAD_KEYS=${LOAD_KEYS:-1000000}
VALUE_LEN=${VALUE_LEN:-16}
ROWCACHED_BIN=${ROWCACHED_BIN:-build/release/app/rowcached}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS=${arg#*=} ;;
    --quick) ROUNDS=1 N_ALWAYS=5000 N_EVERYSEC=20000 LOAD_KEYS=100000 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

BENCH_NAME=persistence
# shellcheck source=../lib/servers.sh
source bench/lib/servers.sh

setup_tools redis-benchmark redis-cli "$REDIS_SERVER" awk
build_rowcached_if_needed

START_S=$SECONDS
LOAD_START=$(loadavg)
echo "persistence: $(nproc) cores, load average $LOAD_START;" \
  "$("$REDIS_SERVER" --version | awk '{print $1, $2, $3}'); data under $WORK ($(df -h "$WORK" | awk 'NR == 2 { print $1 }'))"
warn_if_busy

# aof_args KIND POLICY: the arguments that turn the append-only file on, without rewrites.
aof_args() {
  if [[ $1 == redis ]]; then
    echo "--appendonly yes --appendfsync $2 --auto-aof-rewrite-percentage 0"
  else
    echo "--persistence.appendonly=true --persistence.appendfsync=$2" \
      "--persistence.auto_aof_rewrite_percentage=0"
  fi
}

# ---------------------------------------------------------------------------------------------
# Write throughput.

declare -A OPS RR
for policy in always everysec; do
  n=$N_ALWAYS
  [[ $policy == everysec ]] && n=$N_EVERYSEC
  # shellcheck disable=SC2046
  start_server redis "redis-$policy" $(aof_args redis "$policy")
  R_PID=$SERVER_PID R_PORT=$SERVER_PORT
  # shellcheck disable=SC2046
  start_server rowcached "rowcached-$policy" $(aof_args rowcached "$policy")
  C_PID=$SERVER_PID C_PORT=$SERVER_PORT
  [[ $(redis-cli -p "$C_PORT" config get appendonly | tail -1) == yes ]] ||
    die "rowcached did not turn the append-only file on"
  echo "persistence: SET throughput, appendfsync $policy, -c $CLIENTS -n $n, $ROUNDS round(s)"
  for ((round = 1; round <= ROUNDS; round++)); do
    for server in redis rowcached; do
      port=$R_PORT
      [[ $server == rowcached ]] && port=$C_PORT
      out=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -r 100000 -d 3 \
        -P 1 -t set --csv 2>&1) || die "redis-benchmark against $server failed: $out"
      rps=$(awk -F'"' 'NR > 1 && $4 + 0 > 0 { r = $4 } END { print r }' <<<"$out")
      [[ -n $rps ]] || die "no result from redis-benchmark against $server: $out"
      OPS[$server/$policy]+="$rps "
      printf '  round %d %-9s %10.0f ops/s\n' "$round" "$server" "$rps"
    done
    r=$(awk '{ print $(NF) }' <<<"${OPS[redis/$policy]}")
    c=$(awk '{ print $(NF) }' <<<"${OPS[rowcached/$policy]}")
    RR[$policy]+="$(ratio "$c" "$r") "
  done
  stop_server "$C_PID"
  stop_server "$R_PID"
done

# ---------------------------------------------------------------------------------------------
# Restart times.

declare -A LOAD_MS
if ((LOAD_KEYS > 0)); then
echo "persistence: restart times, $LOAD_KEYS keys 'SET key:N <$VALUE_LEN-byte value>'"
awk -v n="$LOAD_KEYS" -v len="$VALUE_LEN" 'BEGIN {
  fmt = "v%0" (len > 1 ? len - 1 : 1) "d"
  for (i = 0; i < n; i++) {
    k = "key:" i
    v = substr(sprintf(fmt, i), 1, len)
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
  }
}' >"$WORK/load.resp"

# restart_time KIND NAME [ARGS...]: starts on NAME's files, sets RESTART_MS to the milliseconds
# to the first PONG; checks the keys are all there; stops the server.
restart_time() {
  local kind=$1 name=$2 port t0 t1 keys
  shift 2
  port=$(pick_port)
  t0=$(now_ns)
  launch_server "$kind" "$name" "$port" "$@"
  until [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; do
    kill -0 "$LAUNCHED_PID" 2>/dev/null || { tail -n 20 "$WORK/$name.log" >&2; die "$kind exited while loading"; }
  done
  t1=$(now_ns)
  keys=$(redis-cli -p "$port" dbsize)
  [[ $keys == "$LOAD_KEYS" ]] || die "$kind restarted with $keys keys, not $LOAD_KEYS"
  stop_server "$LAUNCHED_PID"
  RESTART_MS=$(((t1 - t0) / 1000000))
}

for kind in redis rowcached; do
  for mode in rdb aof; do
    name=$kind-load-$mode
    args=()
    # shellcheck disable=SC2207
    [[ $mode == aof ]] && args=($(aof_args "$kind" no))
    start_server "$kind" "$name" "${args[@]}"
    out=$(redis-cli -p "$SERVER_PORT" --pipe <"$WORK/load.resp" 2>&1) || die "--pipe into $kind: $out"
    grep -q "errors: 0, replies: $LOAD_KEYS" <<<"$out" || die "--pipe into $kind: $out"
    if [[ $mode == rdb ]]; then
      [[ $(redis-cli -p "$SERVER_PORT" save) == OK ]] || die "SAVE failed on $kind"
    fi
    stop_server "$SERVER_PID"
    for ((round = 1; round <= ROUNDS; round++)); do
      restart_time "$kind" "$name" "${args[@]}"
      LOAD_MS[$kind/$mode]+="$RESTART_MS "
      printf '  %-9s from %-3s %6d ms\n' "$kind" "$mode" "$RESTART_MS"
    done
  done
done

fi

# ---------------------------------------------------------------------------------------------
# Report.

echo
echo "persistence results: median of $ROUNDS round(s); load average at start $LOAD_START," \
  "at end $(loadavg) ($(nproc) cores); took $((SECONDS - START_S)) s"
fmt='%-22s %12s %12s %7s %11s\n'
printf "$fmt" measure redis rowcached ratio "ratio range"
printf "$fmt" ---------------------- ------------ ------------ ------- -----------
declare -A RATIO
for policy in always everysec; do
  r=$(median "${OPS[redis/$policy]}") c=$(median "${OPS[rowcached/$policy]}")
  RATIO[$policy]=$(ratio "$c" "$r")
  printf "$fmt" "SET ops/s, $policy" "$(printf '%.0f' "$r")" "$(printf '%.0f' "$c")" \
    "${RATIO[$policy]}" "$(range "${RR[$policy]}")"
done
for mode in rdb aof; do
  ((LOAD_KEYS > 0)) || { RATIO[$mode]=n/a; continue; }
  r=$(median "${LOAD_MS[redis/$mode]}") c=$(median "${LOAD_MS[rowcached/$mode]}")
  RATIO[$mode]=$(ratio "$r" "$c")
  printf "$fmt" "restart ms, $mode" "$r" "$c" "${RATIO[$mode]}" ""
done
echo
echo "persistence: always ${RATIO[always]} everysec ${RATIO[everysec]} rdb-load ${RATIO[rdb]} aof-load ${RATIO[aof]}"

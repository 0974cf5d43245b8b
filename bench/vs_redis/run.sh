#!/usr/bin/env bash
# bench/vs_redis/run.sh: rowcached side by side with Debian's redis-server, in one run.
#
# Throughput: redis-benchmark (-c 50, -r 100000, -d 3 = redis-benchmark's default value size)
# runs each of the tests get, set, incr, mset, hset, lpush, rpop, sadd, zadd, lrange_100 with
# -P 1, and get, set, incr, mset also with -P 16, against both servers,
# alternating redis, rowcached, redis, rowcached ... for ROUNDS rounds; each table row is the
# median of the rounds. Both servers get the same client settings; one redis-benchmark process
# (single-threaded) drives one server at a time. Beside ops/s the table shows the CPU the server
# process used (utime+stime / wall time, 100% = one core) and the CPU of redis-benchmark itself:
# on a 2-core machine the client needs about one core, so a server using more than ~100% competes
# with its own load generator.
#
# Memory: fresh instances of both servers; MEM_KEYS keys `SET key:N <MEM_VALUE_LEN-byte value>`
# are loaded with `redis-cli --pipe` (RESP generated once by awk); bytes per key are
# (after - before) / MEM_KEYS of INFO memory used_memory and of the process' VmRSS
# (/proc/PID/status). Lower is better; the ratios are rowcached/redis.
#
# Last line: "vs-redis: get R set R get-P16 R set-P16 R hset R lpush R rpop R sadd R zadd R
# lrange_100 R mem R", throughput ratios rowcached/redis (higher is better; without a -P suffix
# they are -P 1) and mem = bytes per key by RSS delta, rowcached/redis (lower is better).
#
# Usage: bash bench/vs_redis/run.sh [--rounds=N] [--threads=N] [--quick] [--no-mem] [--help]
# Settings (environment variables; the flags above set the first two):
#   ROUNDS=3               rounds of alternation; the table shows the median per row
#   CLIENTS=50             redis-benchmark -c
#   N_P1=100000            requests per test with -P 1
#   N_P16=1000000          requests per test with -P 16
#   KEYSPACE=100000        redis-benchmark -r
#   DATASIZE=3             redis-benchmark -d (its default: 3-byte values)
#   TESTS=get,set,incr,mset,hset,lpush,rpop,sadd,zadd,lrange_100     run with -P 1
#   TESTS_P16=get,set,incr,mset                                          also run with -P 16
#   MEM_KEYS=1000000       keys loaded for the memory comparison (0 = skip it; also --no-mem)
#   MEM_VALUE_LEN=16       value length of those keys
#   ROWCACHED_THREADS=0    --server.threads for rowcached (0 = its default: one per core)
#   ROWCACHED_BIN=build/release/app/rowcached   built first with scripts/build.sh if missing
#   BUILD=0                1 = run `scripts/build.sh release rowcached` even if the binary exists
#   REDIS_SERVER=redis-server
#   BENCH_TIMEOUT=120      seconds before one redis-benchmark invocation is abandoned
# --quick = ROUNDS=1 N_P1=20000 N_P16=200000 MEM_KEYS=100000 (a smoke run, not a measurement).
# The default run takes about 5 minutes on a 2-core machine.
#
# Both servers listen on free loopback ports, redis-server without persistence
# (--save '' --appendonly no), rowcached likewise (--persistence.save= appendonly=false); both
# are stopped on exit, Ctrl-C or failure. Needs bash, awk, coreutils and redis-tools/redis-server
# (installed by scripts/setup.sh, which this script calls first).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-1000000}
KEYSPACE=${KEYSPACE:-100000}
DATASIZE=${DATASIZE:-3}
TESTS=${TESTS:-get,set,incr,mset,hset,lpush,rpop,sadd,zadd,lrange_100}
TESTS_P16=${TESTS_P16:-get,set,incr,mset}
MEM_KEYS=${MEM_KEYS:-1000000}
MEM_VALUE_LEN=${MEM_VALUE_LEN:-16}
ROWCACHED_THREADS=${ROWCACHED_THREADS:-0}
ROWCACHED_BIN=${ROWCACHED_BIN:-build/release/app/rowcached}
BUILD=${BUILD:-0}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}

for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS=${arg#*=} ;;
    --threads=*) ROWCACHED_THREADS=${arg#*=} ;;
    --quick) ROUNDS=1 N_P1=20000 N_P16=200000 MEM_KEYS=100000 ;;
    --no-mem) MEM_KEYS=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

BENCH_NAME=vs_redis
# shellcheck source=../lib/servers.sh
source bench/lib/servers.sh

# ---------------------------------------------------------------------------------------------
# Setup and build.

setup_tools redis-benchmark redis-cli "$REDIS_SERVER" awk timeout
build_rowcached_if_needed
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------
# Servers.

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of a process
# User+sys seconds of this shell's waited-for descendants (bash `times`, second line). `times`
# must run in this shell, not in a $(...) subshell, whose counters start at zero.
CHILDREN_CPU=0
children_cpu() {
  times >"$WORK/times"
  CHILDREN_CPU=$(awk 'NR == 2 {
    s = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
    print s }' "$WORK/times")
}

# ---------------------------------------------------------------------------------------------
# Throughput.

IFS=, read -r -a TEST_LIST <<<"$TESTS"
IFS=, read -r -a TEST_LIST_P16 <<<"$TESTS_P16"
PIPES=(1 16)
tests_for() { if (($1 > 1)); then echo "${TEST_LIST_P16[@]}"; else echo "${TEST_LIST[@]}"; fi; }
declare -A OPS CPU CLI  # key "server/pipeline/test" -> space-separated values of the rounds
declare -A RR           # key "pipeline/test" -> rowcached/redis ratio of each round

# bench_one SERVER PORT PID PIPELINE TEST: one redis-benchmark run, records ops/s and CPU.
bench_one() {
  local server=$1 port=$2 pid=$3 pipe=$4 test=$5 n out rps t0 t1 c0 c1 k0 k1 key
  n=$N_P1
  ((pipe > 1)) && n=$N_P16
  children_cpu
  k0=$CHILDREN_CPU t0=$(now_ns) c0=$(cpu_ticks "$pid")
  out=$(timeout "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" \
    -n "$n" -r "$KEYSPACE" -d "$DATASIZE" -P "$pipe" -t "$test" --csv 2>&1) ||
    die "redis-benchmark $test -P $pipe against $server failed: $out"
  t1=$(now_ns) c1=$(cpu_ticks "$pid")
  children_cpu
  k1=$CHILDREN_CPU
  # CSV: header, then "TEST","rps",...; MSET's test name is "MSET (10 keys)". lrange_100 first
  # runs "LPUSH (needed to benchmark LRANGE)": the test asked for is always the last row.
  rps=$(awk -F'"' 'NR > 1 && $4 + 0 > 0 { r = $4 } END { print r }' <<<"$out")
  [[ -n $rps ]] || die "no result from redis-benchmark $test -P $pipe against $server: $out"
  key=$server/$pipe/$test
  OPS[$key]+="$rps "
  CPU[$key]+="$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v ns="$((t1 - t0))" \
    'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) }') "
  CLI[$key]+="$(awk -v a="$k0" -v b="$k1" -v ns="$((t1 - t0))" \
    'BEGIN { printf "%.0f", 100 * (b - a) / (ns / 1e9) }') "
  printf '  %-9s -P %-2s %-5s %12.0f ops/s' "$server" "$pipe" "$test" "$rps"
  if [[ $server == rowcached ]]; then
    LAST_RATIO=$(ratio "$rps" "$LAST_REDIS")
    RR[$pipe/$test]+="$LAST_RATIO "
    printf '   ratio %s' "$LAST_RATIO"
  else
    LAST_REDIS=$rps
  fi
  echo
}

pct() { printf '%.0f' "$(median "$1")"; }
START_S=$SECONDS
LOAD_START=$(loadavg)
echo "vs_redis: $(nproc) cores, load average $LOAD_START;" \
  "$("$REDIS_SERVER" --version | awk '{print $1, $2, $3}')"
warn_if_busy
echo "vs_redis: rowcached $ROWCACHED_BIN ($(date -r "$ROWCACHED_BIN" '+%Y-%m-%d %H:%M'))," \
  "git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

start_server redis redis
R_PID=$SERVER_PID R_PORT=$SERVER_PORT
start_server rowcached rowcached
C_PID=$SERVER_PID C_PORT=$SERVER_PORT
C_THREADS_LOG=$(grep -o 'with [0-9]* I/O threads' "$WORK/rowcached.log" | awk '{print $2}' || true)
C_THREADS_DESC="--server.threads=$ROWCACHED_THREADS"
[[ $ROWCACHED_THREADS == 0 ]] && C_THREADS_DESC+=" (default: one per core)"
[[ -n $C_THREADS_LOG ]] && C_THREADS_DESC+=" -> $C_THREADS_LOG I/O threads"
echo "vs_redis: redis-server on port $R_PORT (pid $R_PID, single-threaded, --save '' --appendonly no)"
echo "vs_redis: rowcached on port $C_PORT (pid $C_PID, $C_THREADS_DESC)"

probe=$(redis-cli -p "$C_PORT" set __vs_redis_probe x 2>&1)
[[ $probe == OK ]] || die "rowcached answers SET with '$probe': string commands are missing"
redis-cli -p "$C_PORT" del __vs_redis_probe >/dev/null

echo "vs_redis: throughput, $ROUNDS round(s): -c $CLIENTS -r $KEYSPACE -d $DATASIZE," \
  "-n $N_P1 (-P 1) / $N_P16 (-P 16), tests $TESTS (-P 1), $TESTS_P16 (-P 16)"
for ((round = 1; round <= ROUNDS; round++)); do
  echo " round $round/$ROUNDS"
  for pipe in "${PIPES[@]}"; do
    for test in $(tests_for "$pipe"); do
      bench_one redis "$R_PORT" "$R_PID" "$pipe" "$test"
      bench_one rowcached "$C_PORT" "$C_PID" "$pipe" "$test"
    done
  done
done
stop_server "$C_PID"
stop_server "$R_PID"

# ---------------------------------------------------------------------------------------------
# Memory.

declare -A MEM  # "server/used" and "server/rss" -> bytes per key

info_field() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }
vmrss() { awk '$1 == "VmRSS:" { print $2 * 1024 }' "/proc/$1/status"; }

# mem_one KIND: fresh server, load $WORK/load.resp, record bytes per key.
mem_one() {
  local kind=$1 pid port used0 rss0 used1 rss1 out keys
  start_server "$kind" "$kind-mem"
  pid=$SERVER_PID port=$SERVER_PORT
  sleep 0.2
  used0=$(info_field "$port" used_memory) rss0=$(vmrss "$pid")
  out=$(redis-cli -p "$port" --pipe <"$WORK/load.resp" 2>&1) || die "--pipe into $kind: $out"
  grep -q "errors: 0, replies: $MEM_KEYS" <<<"$out" || die "--pipe into $kind: $out"
  keys=$(redis-cli -p "$port" dbsize)
  [[ $keys == "$MEM_KEYS" ]] || die "$kind holds $keys keys after loading $MEM_KEYS"
  sleep 0.5  # let the I/O buffers of the load go
  used1=$(info_field "$port" used_memory) rss1=$(vmrss "$pid")
  MEM[$kind/used]=$(awk -v a="$used0" -v b="$used1" -v n="$MEM_KEYS" 'BEGIN { printf "%.1f", (b - a) / n }')
  MEM[$kind/rss]=$(awk -v a="$rss0" -v b="$rss1" -v n="$MEM_KEYS" 'BEGIN { printf "%.1f", (b - a) / n }')
  MEM[$kind/raw]="used_memory $used0 -> $used1, VmRSS $rss0 -> $rss1"
  stop_server "$pid"
}

if ((MEM_KEYS > 0)); then
  echo "vs_redis: memory, $MEM_KEYS keys 'SET key:N <$MEM_VALUE_LEN-byte value>' via redis-cli --pipe"
  awk -v n="$MEM_KEYS" -v len="$MEM_VALUE_LEN" 'BEGIN {
    fmt = "v%0" (len > 1 ? len - 1 : 1) "d"
    for (i = 0; i < n; i++) {
      k = "key:" i
      v = substr(sprintf(fmt, i), 1, len)
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
    }
  }' >"$WORK/load.resp"
  mem_one redis
  mem_one rowcached
  echo "  redis:     ${MEM[redis/raw]}"
  echo "  rowcached: ${MEM[rowcached/raw]}"
fi

# ---------------------------------------------------------------------------------------------
# Report.

echo
echo "vs_redis results: median of $ROUNDS round(s); ratio = rowcached/redis of the medians," \
  "ratio range = lowest-highest ratio of one round's pair;"
echo "cpu% = process CPU time / wall time (100 = one core); bench cpu = redis-benchmark's own CPU" \
  "(against redis/against rowcached)"
echo "load average at start $LOAD_START, at end $(loadavg) ($(nproc) cores); took $((SECONDS - START_S)) s"
echo "rowcached $C_THREADS_DESC; redis-server $("$REDIS_SERVER" --version | awk '{print $3}' | sed 's/v=//')"
fmt='%-10s %-3s %12s %12s %7s %11s %9s %9s %11s\n'
printf "$fmt" test -P "redis ops/s" "rowc ops/s" ratio "ratio range" "redis cpu" "rowc cpu" "bench cpu"
printf "$fmt" ---------- --- ------------ ------------ ------- ----------- --------- --------- -----------
declare -A RATIO
for pipe in "${PIPES[@]}"; do
  for test in $(tests_for "$pipe"); do
    r=$(median "${OPS[redis/$pipe/$test]}")
    c=$(median "${OPS[rowcached/$pipe/$test]}")
    RATIO[$pipe/$test]=$(ratio "$c" "$r")
    printf "$fmt" "$test" "$pipe" "$(printf '%.0f' "$r")" "$(printf '%.0f' "$c")" \
      "${RATIO[$pipe/$test]}" "$(range "${RR[$pipe/$test]}")" \
      "$(pct "${CPU[redis/$pipe/$test]}")%" "$(pct "${CPU[rowcached/$pipe/$test]}")%" \
      "$(pct "${CLI[redis/$pipe/$test]}")/$(pct "${CLI[rowcached/$pipe/$test]}")%"
  done
done
MEM_RATIO=n/a
if ((MEM_KEYS > 0)); then
  echo
  mfmt='%-28s %12s %12s %7s\n'
  printf "$mfmt" "bytes per key ($MEM_KEYS keys)" redis rowcached ratio
  printf "$mfmt" ---------------------------- ------------ ------------ -------
  printf "$mfmt" "used_memory delta" "${MEM[redis/used]}" "${MEM[rowcached/used]}" \
    "$(ratio "${MEM[rowcached/used]}" "${MEM[redis/used]}")"
  MEM_RATIO=$(ratio "${MEM[rowcached/rss]}" "${MEM[redis/rss]}")
  printf "$mfmt" "RSS delta (VmRSS)" "${MEM[redis/rss]}" "${MEM[rowcached/rss]}" "$MEM_RATIO"
fi
echo
summary="vs-redis: get ${RATIO[1/get]:-n/a} set ${RATIO[1/set]:-n/a}"
summary+=" get-P16 ${RATIO[16/get]:-n/a} set-P16 ${RATIO[16/set]:-n/a}"
for test in hset lpush rpop sadd zadd lrange_100; do summary+=" $test ${RATIO[1/$test]:-n/a}"; done
echo "$summary mem $MEM_RATIO"

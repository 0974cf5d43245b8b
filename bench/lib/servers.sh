# bench/lib/servers.sh: what the side-by-side benchmarks share: starting redis-server and
# rowcached on free loopback ports, stopping them on any exit, and the statistics of rounds.
#
# Source it after setting BENCH_NAME (used in messages and the work directory's name),
# REDIS_SERVER and ROWCACHED_BIN. It creates $WORK (removed on exit) and sets traps.

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$BENCH_NAME.XXXXXX")
PIDS=()

stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 5 s
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  PIDS=()
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# setup_tools TOOL...: installs what the benchmarks need (scripts/setup.sh), then makes sure
# each TOOL is there.
setup_tools() {
  local tool
  bash scripts/setup.sh
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs it)"
  done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below Linux' default ephemeral range (32768-60999), where the clients' own connections could
# hold the port just picked.
pick_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    port_free "$p" && { echo "$p"; return; }
  done
}

# launch_server KIND NAME PORT [ARGS...]: starts redis-server or rowcached in the background,
# with its files in $WORK/NAME.dir (kept across restarts) and its log in $WORK/NAME.log, and
# without persistence unless ARGS (appended last, so they win) ask for it. Sets LAUNCHED_PID.
launch_server() {
  local kind=$1 name=$2 port=$3
  shift 3
  mkdir -p "$WORK/$name.dir"
  if [[ $kind == redis ]]; then
    "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$WORK/$name.dir" --daemonize no --logfile "$WORK/$name.log" "$@" >/dev/null 2>&1 &
  else
    (cd "$WORK" && exec "$ROWCACHED_BIN" --server.port="$port" \
      --server.threads="${ROWCACHED_THREADS:-0}" --persistence.save= \
      --persistence.appendonly=false --persistence.dir="$WORK/$name.dir" "$@" \
      >>"$WORK/$name.log" 2>&1) &
  fi
  LAUNCHED_PID=$!
  PIDS+=("$LAUNCHED_PID")
}

# start_server KIND NAME [ARGS...]: launch_server on a free port, waiting until it answers PING.
# Sets SERVER_PID and SERVER_PORT.
start_server() {
  local kind=$1 name=$2 attempt i port pid
  shift 2
  for ((attempt = 0; attempt < 5; attempt++)); do
    port=$(pick_port)
    launch_server "$kind" "$name" "$port" "$@"
    pid=$LAUNCHED_PID
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      if [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; then
        SERVER_PID=$pid SERVER_PORT=$port
        return 0
      fi
      sleep 0.05
    done
    stop_pid "$pid"  # lost a race for the port, or did not start: try another port
  done
  echo "--- $WORK/$name.log" >&2
  tail -n 20 "$WORK/$name.log" >&2 || true
  die "cannot start $kind"
}

stop_server() {  # stop_server PID
  local pid=$1 keep=() p
  stop_pid "$pid"
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

now_ns() { date +%s%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Statistics over space-separated values (one per round).
median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g |
  awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
         else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
  END { print lo "-" hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# warn_if_busy: says so when the load average is above half the cores.
warn_if_busy() {
  local load
  load=$(loadavg)
  if awk -v l="${load%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "$BENCH_NAME: warning: the machine is busy (load ${load%% *} on $(nproc) cores):" \
      "absolute figures will be low and noisy; the ratios, measured alternately, less so"
  fi
}

# build_rowcached_if_needed: builds the release binary when missing (or BUILD=1).
build_rowcached_if_needed() {
  if [[ ! -x $ROWCACHED_BIN || ${BUILD:-0} == 1 ]]; then
    echo "$BENCH_NAME: building rowcached (release)"
    bash scripts/build.sh release rowcached
  fi
  [[ -x $ROWCACHED_BIN ]] || die "no rowcached binary at $ROWCACHED_BIN"
  ROWCACHED_BIN=$(realpath "$ROWCACHED_BIN")
}

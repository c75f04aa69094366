#!/usr/bin/env bash
# The topology of compose/docker-compose.yml (Redis, N sio-server nodes, nginx
# with nginx/sio.conf in front) as plain processes on 127.0.0.1, for machines
# without a Docker engine, and for the tests (test/integration/cluster_*).
#
#   compose/run-local.sh up       start; returns once nginx answers a polling
#                                 handshake through to a node (30 s at most)
#   compose/run-local.sh status   what runs, exit 0 when everything does
#   compose/run-local.sh down     stop what `up` started, remove the state dir
#                                 (exit 1 when a node log holds a sanitizer report)
#   compose/run-local.sh nginx-config DIR ADDR...
#                                 only write the nginx config for the nodes at
#                                 ADDR (host:port) into DIR (DIR/nginx.conf,
#                                 logs in DIR/logs; PORT and IP_HASH apply),
#                                 and print its path; start it with
#                                 nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'
#
# Environment:
#   PORT               nginx's port on 127.0.0.1 (default 8080)
#   NODES              number of sio-server nodes (default 3)
#   APP                the nodes' --app (default bench)
#   IP_HASH=0          generate the upstream without ip_hash (round-robin):
#                      polling clients then break, which shows why it is there
#   SIO_SERVER_BIN     the sio-server binary (default build/sio-server;
#                      relative paths are taken from the repository root)
#   NODE_ARGS          more options for every node (split on spaces)
#   COMPOSE_STATE_DIR  where configs, data, logs and pid files go (default
#                      $TMPDIR/sio-cluster-$PORT); removed by `down`
#   WATCH_PID          when set, a watcher runs `down` once that process is
#                      gone (the tests pass their own pid: nothing outlives a
#                      test run, even one killed with SIGKILL)
#
# Uses Debian's redis-server and nginx binaries with configs of their own in
# the state dir: never the system services, nor anything under /etc/nginx.
# The nodes get --redis redis://127.0.0.1:PORT only when the binary's --help
# lists --redis.
#
# State dir layout (read by the tests):
#   cluster.env        shell assignments: NGINX_PORT, NGINX_PID, REDIS_PORT,
#                      REDIS_PID, NODES, NODE<i>_PORT, NODE<i>_PID, ...
#   nodes.tsv          one line per node: name, port, pid
#   run/NAME.pid       pid of each process (NAME: redis, node1.., nginx,
#                      watcher), and its port in run/NAME.port;
#   run/NAME.start     its start time (field 22 of /proc/PID/stat), so
#                      that `down` never signals a recycled pid
#   logs/              redis.log, node<i>.log, nginx-error.log,
#                      sio-access.log (one JSON object per request, with the
#                      node that answered), nginx-stderr.log, watcher.log
#   nginx/, redis/     configs, pid files, temp and data directories
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/compose/$(basename "${BASH_SOURCE[0]}")"
TEMPLATE="$ROOT/nginx/sio.conf"
PORT=${PORT:-8080}
NODES=${NODES:-3}
APP=${APP:-bench}
IP_HASH=${IP_HASH:-1}
NODE_ARGS=${NODE_ARGS:-}
STATE=${COMPOSE_STATE_DIR:-${TMPDIR:-/tmp}/sio-cluster-$PORT}
MARKER=.sio-cluster-state
UP_TIMEOUT=30   # seconds for the whole `up`
DOWN_TIMEOUT=15 # seconds to wait after SIGTERM before SIGKILL

BIN=${SIO_SERVER_BIN:-build/sio-server}
[[ "$BIN" == /* ]] || BIN="$ROOT/$BIN"

log() { printf 'run-local: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

# ---------- processes ----------

# Start time of a pid (field 22 of /proc/PID/stat), empty when it is gone.
start_time() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    # The command name (field 2) may hold spaces: cut after its ')'.
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    printf '%s\n' "${20}"
}

# Whether the process recorded as NAME (run/NAME.pid and run/NAME.start) is
# still that process and alive (a zombie counts as gone).
alive() {
    local name=$1 pid start state
    pid=$(cat "$STATE/run/$name.pid" 2>/dev/null) || return 1
    start=$(cat "$STATE/run/$name.start" 2>/dev/null) || return 1
    [[ -n "$pid" && "$(start_time "$pid")" == "$start" ]] || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Records the pid of a process just started as NAME.
record() {
    local name=$1 pid=$2 start
    start=$(start_time "$pid")
    [[ -n "$start" ]] || start=gone
    echo "$pid" >"$STATE/run/$name.pid"
    echo "$start" >"$STATE/run/$name.start"
}

# The names of the recorded processes, nginx first and redis last: the
# order in which they are stopped.
recorded() {
    local f names=()
    [[ -f "$STATE/run/nginx.pid" ]] && names+=(nginx)
    for f in "$STATE"/run/node*.pid; do
        [[ -e "$f" ]] || continue
        f=${f##*/}
        names+=("${f%.pid}")
    done
    [[ -f "$STATE/run/redis.pid" ]] && names+=(redis)
    printf '%s\n' "${names[@]}"
}

# Stops every recorded process: SIGTERM, then SIGKILL after DOWN_TIMEOUT.
stop_all() {
    local name names=() left deadline
    mapfile -t names < <(recorded)
    ((${#names[@]})) || return 0
    for name in "${names[@]}"; do
        if alive "$name"; then kill -TERM "$(cat "$STATE/run/$name.pid")" 2>/dev/null || true; fi
    done
    deadline=$((SECONDS + DOWN_TIMEOUT))
    for (( ; ; )); do
        left=()
        for name in "${names[@]}"; do alive "$name" && left+=("$name"); done
        ((${#left[@]})) || return 0
        if ((SECONDS >= deadline)); then
            log "still running after ${DOWN_TIMEOUT}s, killing: ${left[*]}"
            for name in "${left[@]}"; do kill -KILL "$(cat "$STATE/run/$name.pid")" 2>/dev/null || true; done
            sleep 0.2
            return 0
        fi
        sleep 0.1
    done
}

# ---------- ports ----------

port_in_use() {
    if command -v ss >/dev/null; then
        [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# A port that nothing listens on now (the caller retries if it is taken
# before it binds).
free_port() {
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 30000))
        port_in_use "$p" || {
            echo "$p"
            return 0
        }
    done
    die "no free port found"
}

# ---------- nginx config ----------

# render_nginx DIR LOGDIR LISTEN ADDR...: writes DIR/nginx.conf (main context,
# this instance's own pid, logs and temp dirs) and DIR/sio.conf (the template
# with the nodes, the listen address and the log dir filled in).
render_nginx() {
    local dir=$1 logdir=$2 listen=$3
    shift 3
    mkdir -p "$dir/tmp" "$logdir"
    awk -v nodes="$*" -v listen="$listen" -v logdir="$logdir/" -v iphash="$IP_HASH" '
        /^[[:space:]]*# @nodes-begin/ { print; skipping = 1; next }
        /^[[:space:]]*# @nodes-end/ {
            n = split(nodes, addr, " ")
            for (i = 1; i <= n; i++) printf "%sserver %s%s;\n", indent, addr[i], params
            skipping = 0; print; next
        }
        skipping {
            # Keep the indentation and parameters of the first server line.
            if (!seen && match($0, /^[[:space:]]*server[[:space:]]+[^[:space:];]+/)) {
                seen = 1
                indent = $0; sub(/[^[:space:]].*$/, "", indent)
                params = substr($0, RLENGTH + 1); sub(/;.*$/, "", params)
            }
            next
        }
        /^[[:space:]]*ip_hash;/ && iphash == "0" { print "    # ip_hash; (removed by run-local.sh: IP_HASH=0)"; next }
        /^[[:space:]]*listen[[:space:]]+80;/ { sub(/80;/, listen ";") }
        { gsub(/\/var\/log\/nginx\//, logdir); print }
    ' "$TEMPLATE" >"$dir/sio.conf"
    grep -q "server " "$dir/sio.conf" || die "rendering $TEMPLATE failed"
    cat >"$dir/nginx.conf" <<EOF
# Written by compose/run-local.sh: nginx for the local cluster, with its own
# pid, logs and temp dirs. The proxy settings are in sio.conf (nginx/sio.conf).
worker_processes 1;
pid $dir/nginx.pid;
error_log $logdir/nginx-error.log notice;

events {
    # Two connections per client (client side, node side).
    worker_connections 4096;
}

http {
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    access_log $logdir/nginx-access.log;
    default_type application/octet-stream;
    include $dir/sio.conf;
}
EOF
}

# ---------- up ----------

show_logs() {
    local f
    for f in "$STATE"/logs/*; do
        [[ -s "$f" ]] || continue
        printf '\n--- %s (last 40 lines) ---\n' "$f" >&2
        tail -n 40 "$f" >&2
    done
}

fail_up() {
    log "up failed: $*"
    show_logs
    stop_all
    remove_state
    exit 1
}

remove_state() {
    if [[ -f "$STATE/$MARKER" ]]; then
        rm -rf -- "$STATE"
    fi
}

# A polling handshake through nginx: prints the sid when a node answered.
handshake() {
    local body
    body=$(curl -sS --max-time 2 "http://127.0.0.1:$PORT/socket.io/?EIO=4&transport=polling" 2>/dev/null) || return 1
    [[ "$body" == 0\{* ]] || return 1
    body=${body#*\"sid\":\"}
    printf '%s\n' "${body%%\"*}"
}

cmd_up() {
    command -v nginx >/dev/null || die "nginx not found (apt-get install nginx-light)"
    command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
    command -v curl >/dev/null || die "curl not found (apt-get install curl)"
    [[ -x "$BIN" ]] || die "$BIN not found: build it (cmake -S . -B build && cmake --build build --target sio-server) or set SIO_SERVER_BIN"
    [[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "NODES must be a positive number"
    [[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number"

    if [[ -f "$STATE/$MARKER" ]]; then
        if cmd_status >/dev/null 2>&1; then
            log "already up ($STATE)"
            print_summary
            return 0
        fi
        log "stale state in $STATE: cleaning it up first"
        cmd_down >/dev/null
    fi
    if [[ -e "$STATE" ]] && [[ -n "$(ls -A "$STATE" 2>/dev/null)" ]]; then
        die "$STATE exists and is not a state dir of run-local.sh: set COMPOSE_STATE_DIR elsewhere"
    fi
    port_in_use "$PORT" && die "port $PORT is in use (set PORT)"

    mkdir -p "$STATE"/{run,logs,nginx,redis}
    touch "$STATE/$MARKER"
    trap 'fail_up "interrupted"' INT TERM
    local t0=$SECONDS

    # Redis, on a free port (retried when another process takes it first).
    local redis_port="" attempt i
    for attempt in 1 2 3 4 5; do
        redis_port=$(free_port)
        cat >"$STATE/redis/redis.conf" <<EOF
# Written by compose/run-local.sh.
bind 127.0.0.1
port $redis_port
protected-mode yes
daemonize no
supervised no
pidfile $STATE/redis/redis.pid
logfile $STATE/logs/redis.log
dir $STATE/redis
save ""
appendonly no
EOF
        redis-server "$STATE/redis/redis.conf" </dev/null >>"$STATE/logs/redis.log" 2>&1 &
        record redis $!
        local ok=""
        for ((i = 0; i < 50; i++)); do
            if redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
                ok=1
                break
            fi
            alive redis || break
            sleep 0.1
        done
        [[ -n "$ok" ]] && break
        stop_all
        rm -f "$STATE/run/redis.pid" "$STATE/run/redis.start"
        log "redis-server on port $redis_port failed (attempt $attempt)"
        redis_port=""
    done
    [[ -n "$redis_port" ]] || fail_up "redis-server did not start"
    echo "$redis_port" >"$STATE/run/redis.port"

    # The nodes, each on a port of its own choosing (--port 0), read back
    # from its "listening on" log line.
    local args=(--host 127.0.0.1 --port 0 --app "$APP")
    # Read the whole help first: grep -q stops reading at the match and, under
    # pipefail, the server's SIGPIPE on the rest would count as "no --redis".
    local help
    help=$("$BIN" --help 2>&1 || true)
    if [[ $help == *--redis* ]]; then
        args+=(--redis "redis://127.0.0.1:$redis_port")
    else
        log "$(basename "$BIN") has no --redis option: nodes run with the in-memory adapter"
    fi
    # shellcheck disable=SC2206
    local extra=($NODE_ARGS)
    local n
    for ((n = 1; n <= NODES; n++)); do
        "$BIN" "${args[@]}" "${extra[@]}" </dev/null >>"$STATE/logs/node$n.log" 2>&1 &
        record "node$n" $!
    done
    local addrs=() port
    for ((n = 1; n <= NODES; n++)); do
        port=""
        while :; do
            port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9][0-9]*\)\/.*/\1/p' "$STATE/logs/node$n.log" | head -n 1)
            [[ -n "$port" ]] && break
            alive "node$n" || fail_up "node$n exited"
            ((SECONDS - t0 < UP_TIMEOUT)) || fail_up "node$n did not start within ${UP_TIMEOUT}s"
            sleep 0.05
        done
        echo "$port" >"$STATE/run/node$n.port"
        addrs+=("127.0.0.1:$port")
    done

    # nginx, in the foreground of its own background job (daemon off), so
    # that its master's pid is known here.
    render_nginx "$STATE/nginx" "$STATE/logs" "127.0.0.1:$PORT" "${addrs[@]}"
    nginx -t -q -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" -e "$STATE/logs/nginx-error.log" \
        </dev/null >>"$STATE/logs/nginx-stderr.log" 2>&1 || fail_up "nginx -t refused the config"
    nginx -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" -e "$STATE/logs/nginx-error.log" -g 'daemon off;' \
        </dev/null >>"$STATE/logs/nginx-stderr.log" 2>&1 &
    record nginx $!
    echo "$PORT" >"$STATE/run/nginx.port"

    # Ready when a handshake made through nginx is answered by a node.
    local sid=""
    while :; do
        sid=$(handshake) && break
        alive nginx || fail_up "nginx exited"
        ((SECONDS - t0 < UP_TIMEOUT)) || fail_up "no polling handshake through nginx within ${UP_TIMEOUT}s"
        sleep 0.1
    done
    # Close the probe's session at once (a close packet), rather than leave it
    # to the ping timeout. Without ip_hash the POST may reach another node
    # (400): round-robin reaches the right one within NODES tries.
    for ((n = 0; n < NODES; n++)); do
        [[ "$(curl -sS --max-time 2 -H 'Content-Type: text/plain;charset=UTF-8' --data-binary 1 \
            "http://127.0.0.1:$PORT/socket.io/?EIO=4&transport=polling&sid=$sid" 2>/dev/null)" == ok ]] && break
    done
    trap - INT TERM

    [[ -n "${WATCH_PID:-}" ]] && start_watcher "$WATCH_PID"
    write_state
    print_summary
}

# Runs `down` (in place of itself) once process $1 is gone.
start_watcher() {
    local pid=$1 start
    start=$(start_time "$pid")
    [[ -n "$start" ]] || fail_up "WATCH_PID $pid is not running"
    (
        while [[ "$(start_time "$pid")" == "$start" ]] &&
            [[ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" != Z ]]; do
            sleep 1
        done
        COMPOSE_STATE_DIR="$STATE" exec "$SELF" down
    ) </dev/null >>"$STATE/logs/watcher.log" 2>&1 &
    record watcher $!
}

write_state() {
    local n
    {
        echo "STATE_DIR=$STATE"
        echo "NGINX_PORT=$PORT"
        echo "NGINX_PID=$(cat "$STATE/run/nginx.pid")"
        echo "NGINX_ACCESS_LOG=$STATE/logs/sio-access.log"
        echo "NGINX_ERROR_LOG=$STATE/logs/nginx-error.log"
        echo "REDIS_PORT=$(cat "$STATE/run/redis.port")"
        echo "REDIS_PID=$(cat "$STATE/run/redis.pid")"
        echo "APP=$APP"
        echo "IP_HASH=$IP_HASH"
        echo "NODES=$NODES"
        for ((n = 1; n <= NODES; n++)); do
            echo "NODE${n}_PORT=$(cat "$STATE/run/node$n.port")"
            echo "NODE${n}_PID=$(cat "$STATE/run/node$n.pid")"
            echo "NODE${n}_LOG=$STATE/logs/node$n.log"
        done
    } >"$STATE/cluster.env"
    for ((n = 1; n <= NODES; n++)); do
        printf 'node%s\t%s\t%s\n' "$n" "$(cat "$STATE/run/node$n.port")" "$(cat "$STATE/run/node$n.pid")"
    done >"$STATE/nodes.tsv"
}

print_summary() {
    local f name
    echo "nginx  http://127.0.0.1:$(cat "$STATE/run/nginx.port")  pid $(cat "$STATE/run/nginx.pid")"
    for f in "$STATE"/run/node*.port; do
        name=${f##*/}
        name=${name%.port}
        echo "$name  127.0.0.1:$(cat "$f")  pid $(cat "$STATE/run/$name.pid")"
    done
    echo "redis  127.0.0.1:$(cat "$STATE/run/redis.port")  pid $(cat "$STATE/run/redis.pid")"
    echo "state  $STATE"
}

# ---------- status / down ----------

cmd_status() {
    if [[ ! -f "$STATE/$MARKER" ]]; then
        echo "not running (no state in $STATE)"
        return 3
    fi
    local name names=() bad=0 port
    mapfile -t names < <(recorded)
    ((${#names[@]})) || {
        echo "nothing recorded in $STATE"
        return 1
    }
    for name in "${names[@]}"; do
        port=$(cat "$STATE/run/$name.port" 2>/dev/null || echo "?")
        if alive "$name"; then
            printf '%-7s up    127.0.0.1:%s  pid %s\n' "$name" "$port" "$(cat "$STATE/run/$name.pid")"
        else
            printf '%-7s DOWN  127.0.0.1:%s  pid %s\n' "$name" "$port" "$(cat "$STATE/run/$name.pid")"
            bad=1
        fi
    done
    [[ -f "$STATE/cluster.env" ]] || bad=1 # `up` did not finish
    echo "state   $STATE"
    return $bad
}

cmd_down() {
    if [[ ! -e "$STATE" ]]; then
        echo "not running (no state in $STATE)"
        return 0
    fi
    [[ -f "$STATE/$MARKER" ]] || die "$STATE is not a state dir of run-local.sh: not touching it"
    # The watcher first (unless this is the watcher, which became `down`).
    if alive watcher && [[ "$(cat "$STATE/run/watcher.pid")" != "$$" ]]; then
        kill -TERM "$(cat "$STATE/run/watcher.pid")" 2>/dev/null || true
    fi
    stop_all
    # Sanitizer builds (SIO_SERVER_BIN=build-asan/sio-server) report at exit:
    # show such reports before the logs go, and fail.
    local f bad=0
    for f in "$STATE"/logs/node*.log; do
        [[ -f "$f" ]] || continue
        if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$f"; then
            log "sanitizer report in $(basename "$f"):"
            tail -n 60 "$f" >&2
            bad=1
        fi
    done
    remove_state
    echo "down ($STATE removed)"
    return $bad
}

cmd_nginx_config() {
    (($# >= 2)) || die "usage: $0 nginx-config DIR HOST:PORT..."
    local dir=$1
    shift
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    render_nginx "$dir" "$dir/logs" "127.0.0.1:$PORT" "$@"
    echo "$dir/nginx.conf"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
nginx-config)
    shift
    cmd_nginx_config "$@"
    ;;
*)
    echo "usage: $0 up|down|status|nginx-config DIR HOST:PORT..." >&2
    exit 2
    ;;
esac

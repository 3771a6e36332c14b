#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/stack.sh: a whole livechat on loopback for tests and local runs: a real lighttpd (or
# Apache) with the SHIPPED config template (conf/*.in) rendered for the build tree
# (livechat-fcgi from the build dir, htdocs from the source dir; Apache gets copies of both in
# a directory its user can read, see make_webroot), optionally N livechat-wsd
# processes as the /ws/ backends, a fresh database, and a first admin made with livechatctl.
#
#   tests/stack.sh start DIR [--server lighttpd|apache] [--port N] [--wsd N] [--wsd-port N]
#                            [--wsd-session-check SECONDS] [--db NAME] [--set key=value]...
#   tests/stack.sh stop DIR
#
# start prints `LC_BASE_URL=http://127.0.0.1:PORT` and writes DIR/env (KEY=VALUE lines, also
# sourceable by sh):
#   LC_BASE_URL LC_HTTP_PORT LC_SERVER LC_ADMIN_USER LC_ADMIN_PASSWORD LC_STACK_DIR
#   LC_WSD_PORTS (space separated) LIVECHAT_CONFIG LIVECHAT_MONGO_DB LIVECHAT_AMQP_PREFIX
# DIR/livechat.conf is the config every program of the stack reads (also livechatctl -c).
# Defaults: a free port; 0 wsd (wsd ports are free ones from --wsd-port up); database
# lc_stack_<random>; --set adds `key = value` lines to livechat.conf (e.g. login_window=10);
# --wsd-session-check is passed to every wsd as --session-check (its periodic session re-check).
# Input: LIVECHAT_MONGO_URI, LIVECHAT_AMQP_URL (tests/test-env.sh sets them), LC_TOP_SRCDIR and
# LC_TOP_BUILDDIR (default: this script's source tree and the current directory's build tree),
# LC_ADMIN_PASSWORD (default: random). Nothing else of the caller's LIVECHAT_* environment
# reaches the servers: the config file is the one source.
# stop stops everything start recorded in DIR/pids (and their children), by process id only,
# then, with tests/api/teardown from the build tree (built by stop when a plain `make` left it
# out; stop fails loudly when it cannot be built), drops the database when the stack named it
# itself (lc_stack_<random>: neither --db nor --set mongo_db given) and deletes the RabbitMQ
# exchanges and queue of the amqp_prefix when it named that itself, so test runs do not pile
# up databases and exchanges; what the caller named (scripts/run-local's data) is kept.
# A failing start stops what it had started (dropping its database too) and prints the logs.
set -uo pipefail

die() { echo "stack.sh: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# In use: something listens, or any socket (an outgoing connection too) holds it locally.
port_used() { port_open "$1" || [ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ]; }

# A free port, from below the kernel's ephemeral range: a port picked inside it can be taken
# by any outgoing connection between this check and the server's bind (EADDRINUSE).
free_port() {
  local p=${1:-0} tries=0 eph=32768
  read -r eph _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph=32768
  [ "$eph" -gt 12000 ] || eph=61000
  [ "$p" -gt 0 ] || p=$((10000 + RANDOM % (eph - 11000)))
  while port_used "$p" || grep -qx "$p" "$DIR/.ports" 2>/dev/null; do
    p=$((p + 1)); tries=$((tries + 1)); [ $tries -lt 500 ] || die "no free port"
  done
  echo "$p" >> "$DIR/.ports"
  echo "$p"
}

# Kill pid and its descendants (collected before killing, by parent id), TERM then KILL.
kill_tree() {
  local pid=$1 all=() queue=("$1")
  while [ ${#queue[@]} -gt 0 ]; do
    local p=${queue[0]}; queue=("${queue[@]:1}")
    all+=("$p")
    for c in $(pgrep -P "$p" 2>/dev/null); do queue+=("$c"); done
  done
  kill -TERM "${all[@]}" 2>/dev/null
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "${all[@]}" 2>/dev/null
  return 0
}

stop_stack() {
  if [ -f "$DIR/pids" ]; then
    # Reverse order: web server first, then the daemons behind it.
    tac "$DIR/pids" | while read -r name pid; do
      [ -n "$pid" ] && kill_tree "$pid"
    done
    rm -f "$DIR/pids"
  fi
  remove_webroot
  teardown
}

# Remove the database and broker names DIR/.teardown lists (lines: build dir, database, and
# the amqp_prefix or nothing; written by start for the names it made up). The caller's
# LIVECHAT_* environment is ignored: the stack's config file names them, and teardown refuses
# unless those are the recorded names.
teardown() {
  [ -f "$DIR/.teardown" ] || return 0
  local build name prefix
  { read -r build; read -r name; read -r prefix; } < "$DIR/.teardown"
  # A plain `make` does not build check programs: build the helper now rather than leak the
  # database and exchanges; if that fails, say so loudly and fail.
  if [ ! -x "$build/tests/api/teardown" ] &&
     ! make -s -C "$build/tests" api/teardown >"$DIR/teardown-build.log" 2>&1; then
    cat "$DIR/teardown-build.log" >&2
    echo "stack.sh: could not build $build/tests/api/teardown: database $name kept" >&2
    return 1
  fi
  rm -f "$DIR/teardown-build.log"
  env $(env | sed -n 's/^\(LIVECHAT_[A-Z_]*\)=.*/-u \1/p') \
    "$build/tests/api/teardown" "$DIR/livechat.conf" "$name" ${prefix:+"$prefix"} || return 1
  rm -f "$DIR/.teardown"
}

# render TEMPLATE OUT [BINDIR HTDOCS CONFIG]: the same placeholders conf/Makefile.am fills;
# the program, the pages and the config default to the build tree, the source tree and DIR.
render() {
  local bindir=${3:-$BUILD/fcgi} htdocs=${4:-$SRC/htdocs} cfg=${5:-$DIR/livechat.conf}
  local wsd_backends="" wsd_members="" sep=""
  for p in $WSD_PORTS_LIST; do
    wsd_backends+="$sep( \"host\" => \"127.0.0.1\", \"port\" => $p )"; sep=", "
    wsd_members+="BalancerMember \"ws://127.0.0.1:$p\"\\n        "
  done
  # Without wsd, /ws/ still needs a backend: a port nothing listens on (answers 503).
  if [ -z "$WSD_PORTS_LIST" ]; then
    wsd_backends="( \"host\" => \"127.0.0.1\", \"port\" => $NO_WSD_PORT )"
    wsd_members="BalancerMember \"ws://127.0.0.1:$NO_WSD_PORT\""
  fi
  # The body limit of conf/Makefile.am, from the stack's http_max_body.
  local max_body body_kib
  max_body=$(sed -n 's/^http_max_body = //p' "$DIR/livechat.conf")
  body_kib=$(( (${max_body:-65536} + 1023) / 1024 + 1 ))
  awk -v bindir="$bindir" -v htdocs="$htdocs" -v sysconf="$DIR" -v rundir="$DIR/run" \
      -v logdir="$DIR/log" -v port="$PORT" -v backends="$wsd_backends" -v members="$wsd_members" \
      -v cfg="$cfg" -v body_kib="$body_kib" '
    { gsub(/@bindir@/, bindir); gsub(/@htdocsdir@/, htdocs); gsub(/@sysconfdir@/, sysconf);
      gsub(/@rundir@/, rundir); gsub(/@logdir@/, logdir); gsub(/@http_bind@/, "127.0.0.1");
      gsub(/@http_port@/, port); gsub(/@fcgi_procs@/, "2"); gsub(/@livechat_config@/, cfg);
      gsub(/@wsd_backends@/, backends); gsub(/@wsd_members@/, members);
      gsub(/@http_body_kib@/, body_kib); gsub(/@http_body_bytes@/, body_kib * 1024); print }' "$1" > "$2"
  ! grep -n '@[a-z_]*@' "$2" || die "unfilled placeholder in $2"
}

# run_logged LOG CMD...: run CMD with its output in LOG; on failure show LOG and fail.
run_logged() {
  local log=$1; shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
}

# launch NAME LOG CMD...: start CMD in the background (output in LOG), recorded in DIR/pids for
# stop. CMD may start with `env VAR=value ...` (env execs, so the pid is the program's).
launch() {
  local name=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  echo "$name $!" >> "$DIR/pids"
}

start_lighttpd() {
  render "$SRC/conf/lighttpd.conf.in" "$DIR/lighttpd.conf"
  run_logged "$DIR/log/lighttpd-check.log" lighttpd -tt -f "$DIR/lighttpd.conf" || return 1
  launch lighttpd "$DIR/log/lighttpd.out" lighttpd -D -f "$DIR/lighttpd.conf"
}

# Apache's workers run as its User (www-data when started by root), and mod_fcgid runs
# livechat-fcgi as that user: a checkout in a directory others cannot enter (a clone under a
# `mktemp -d`, mode 0700) is out of their reach. So the stack gives Apache what an install
# would: its own copies of htdocs, livechat-fcgi and the config, with its runtime files, in a
# fresh directory under /tmp that only the stack writes (recorded in DIR/.webroot; stop
# removes it). The shipped vhost is what runs, with mod_fcgid as in production.
make_webroot() {
  local user=$1 group=$2 web
  web=$(mktemp -d /tmp/lc-apache.XXXXXX) || return 1
  echo "$web" > "$DIR/.webroot"
  chmod 755 "$web"
  mkdir -p "$web/bin" "$web/fcgid"
  cp -R "$SRC/htdocs" "$web/htdocs" && cp "$BUILD/fcgi/livechat-fcgi" "$web/bin/" || return 1
  # u+w: a read-only source (make distcheck) must not leave a copy stop cannot remove.
  chmod -R u+w,a+rX "$web/htdocs" "$web/bin"
  # The config may carry credentials: readable by Apache's group only.
  install -m 640 "$DIR/livechat.conf" "$web/livechat.conf" || return 1
  if [ "$(id -u)" -eq 0 ]; then
    chgrp "$group" "$web/livechat.conf" && chown "$user" "$web/fcgid" || return 1
    runuser -u "$user" -- test -r "$web/livechat.conf" -a -x "$web/bin/livechat-fcgi" \
      -a -r "$web/htdocs/index.html" || { echo "stack.sh: $user cannot read $web" >&2; return 1; }
  fi
  WEBROOT=$web
}

remove_webroot() {
  [ -f "$DIR/.webroot" ] || return 0
  local web; web=$(cat "$DIR/.webroot")
  case "$web" in /tmp/lc-apache.*) rm -rf "$web" ;; esac
  rm -f "$DIR/.webroot"
}

start_apache() {
  local mods=/usr/lib/apache2/modules user=www-data group=www-data
  [ "$(id -u)" -eq 0 ] || { user="#$(id -u)"; group="#$(id -g)"; }
  make_webroot "$user" "$group" || return 1
  render "$SRC/conf/apache-livechat.conf.in" "$DIR/apache-livechat.conf" \
    "$WEBROOT/bin" "$WEBROOT/htdocs" "$WEBROOT/livechat.conf"
  mkdir -p "$DIR/apache"
  cat > "$DIR/apache/httpd.conf" <<CONF
# Generated by tests/stack.sh: a private Apache around the shipped vhost.
ServerRoot "$WEBROOT"
PidFile "$WEBROOT/httpd.pid"
ErrorLog "$DIR/log/apache-error.log"
LogLevel warn
DefaultRuntimeDir "$WEBROOT"
Mutex file:$WEBROOT default
ServerName 127.0.0.1
User $user
Group $group
$(for m in mpm_event authz_core mime dir alias fcgid proxy proxy_http proxy_wstunnel \
           proxy_balancer slotmem_shm lbmethod_byrequests headers rewrite; do
    echo "LoadModule ${m}_module $mods/mod_$m.so"
  done)
TypesConfig /etc/mime.types
FcgidIPCDir "$WEBROOT/fcgid"
FcgidProcessTableFile "$WEBROOT/fcgid/shm"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
Include "$DIR/apache-livechat.conf"
CONF
  run_logged "$DIR/log/apache-check.log" apache2 -t -f "$DIR/apache/httpd.conf" || return 1
  launch apache2 "$DIR/log/apache.out" apache2 -f "$DIR/apache/httpd.conf" -DFOREGROUND
}

start_stack() {
  local server=lighttpd port_req=0 nwsd=0 wsd_port_req=0 db="" sets=() wsd_args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --server) server=$2; shift 2 ;;
      --port) port_req=$2; shift 2 ;;
      --wsd) nwsd=$2; shift 2 ;;
      --wsd-port) wsd_port_req=$2; shift 2 ;;
      --wsd-session-check) wsd_args+=(--session-check "$2"); shift 2 ;;
      --db) db=$2; shift 2 ;;
      --set) sets+=("$2"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  case "$server" in lighttpd|apache) ;; *) die "--server must be lighttpd or apache" ;; esac
  SRC=${LC_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
  BUILD=${LC_TOP_BUILDDIR:-$(pwd)}
  [ -x "$BUILD/fcgi/livechat-fcgi" ] || die "$BUILD/fcgi/livechat-fcgi not built (set LC_TOP_BUILDDIR)"
  [ -x "$BUILD/fcgi/livechatctl" ] || die "$BUILD/fcgi/livechatctl not built"
  [ -n "${LIVECHAT_MONGO_URI:-}" ] || die "LIVECHAT_MONGO_URI is not set (source tests/test-env.sh)"
  [ -n "${LIVECHAT_AMQP_URL:-}" ] || die "LIVECHAT_AMQP_URL is not set (source tests/test-env.sh)"
  [ -f "$DIR/pids" ] && die "$DIR already runs a stack: stop it first"
  mkdir -p "$DIR/run" "$DIR/log"
  rm -f "$DIR/.ports"
  local tag; tag=$(printf '%s%04x' "$(date +%s)" $((RANDOM)))
  [ -n "$db" ] || db="lc_stack_$tag"
  PORT=$(free_port "$port_req")
  NO_WSD_PORT=$(free_port 0)
  WSD_PORTS_LIST=""
  local next=$wsd_port_req
  for _ in $(seq 1 "$nwsd"); do
    local p; p=$(free_port "$next"); WSD_PORTS_LIST+="${WSD_PORTS_LIST:+ }$p"; next=$((p + 1))
  done

  # A --set key replaces the stack's own line for that key (the config refuses duplicates).
  local -A conf=( [mongo_uri]="$LIVECHAT_MONGO_URI" [mongo_db]="$db" [amqp_url]="$LIVECHAT_AMQP_URL"
                  [amqp_prefix]="lc_stack_$tag" [log_level]="${LC_STACK_LOG_LEVEL:-info}"
                  [log_target]=stderr [cookie_secure]=never )
  local s
  for s in "${sets[@]+"${sets[@]}"}"; do conf[${s%%=*}]=${s#*=}; done
  {
    echo "# Generated by tests/stack.sh"
    for s in "${!conf[@]}"; do echo "$s = ${conf[$s]}"; done
  } > "$DIR/livechat.conf"
  db=${conf[mongo_db]}
  # Ours to remove at stop only when this stack made up the names.
  local own_prefix=""
  [ "${conf[amqp_prefix]}" = "lc_stack_$tag" ] && own_prefix=${conf[amqp_prefix]}
  [ "$db" = "lc_stack_$tag" ] && printf '%s\n%s\n%s\n' "$BUILD" "$db" "$own_prefix" > "$DIR/.teardown"

  # The config file is the one source: drop the caller's overrides for every program below.
  local v
  for v in $(env | sed -n 's/^\(LIVECHAT_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
  export LIVECHAT_CONFIG="$DIR/livechat.conf"

  local admin_pw=${LC_ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}
  local ctl=("$BUILD/fcgi/livechatctl" -c "$DIR/livechat.conf")
  # A database kept from an earlier run (a local run) already has its admin: give it this password.
  local admin_cmd=(create-admin admin "Stack Admin") users
  # Captured first: `list-users | grep -q` could kill list-users with SIGPIPE (pipefail: "no").
  users=$("${ctl[@]}" list-users 2>/dev/null) || users=""
  awk '$2 == "admin" { found = 1 } END { exit !found }' <<<"$users" && admin_cmd=(reset-password admin)
  printf '%s\n' "$admin_pw" | run_logged "$DIR/log/livechatctl.log" "${ctl[@]}" "${admin_cmd[@]}" ||
    return 1

  local i=0
  if [ "$nwsd" -gt 0 ]; then
    [ -x "$BUILD/wsd/livechat-wsd" ] || { echo "stack.sh: $BUILD/wsd/livechat-wsd not built" >&2; return 1; }
    for p in $WSD_PORTS_LIST; do
      i=$((i + 1))
      launch "wsd-$i" "$DIR/log/wsd-$i.log" env LIVECHAT_WSD_PORT="$p" \
        LIVECHAT_WSD_NODE_ID="stack-$tag-$i" "$BUILD/wsd/livechat-wsd" -c "$DIR/livechat.conf" \
        "${wsd_args[@]+"${wsd_args[@]}"}"
    done
  fi

  "start_$server" || return 1

  for _ in $(seq 1 100); do
    port_open "$PORT" && break
    sleep 0.1
  done
  port_open "$PORT" || { echo "stack.sh: $server did not open port $PORT" >&2; return 1; }
  for p in $WSD_PORTS_LIST; do
    for _ in $(seq 1 100); do port_open "$p" && break; sleep 0.1; done
    port_open "$p" || { echo "stack.sh: wsd did not open port $p" >&2; return 1; }
  done
  # The API answers (any JSON status) once a FastCGI process is up.
  local code=000
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/health" || true)
    case "$code" in 200|503) break ;; esac
    sleep 0.1
  done
  case "$code" in 200|503) ;; *) echo "stack.sh: /api/health answered $code" >&2; return 1 ;; esac

  cat > "$DIR/env" <<ENV
LC_BASE_URL=http://127.0.0.1:$PORT
LC_HTTP_PORT=$PORT
LC_SERVER=$server
LC_ADMIN_USER=admin
LC_ADMIN_PASSWORD=$admin_pw
LC_STACK_DIR=$DIR
LC_WSD_PORTS="$WSD_PORTS_LIST"
LIVECHAT_CONFIG=$DIR/livechat.conf
LIVECHAT_MONGO_DB=$db
LIVECHAT_AMQP_PREFIX=${conf[amqp_prefix]}
ENV
  echo "LC_BASE_URL=http://127.0.0.1:$PORT"
}

cmd=${1:-}
DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || { sed -n '2,/^set -uo/{/^set/!p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
shift 2
case "$cmd" in
  start)
    if ! start_stack "$@"; then
      echo "stack.sh: start failed; logs:" >&2
      for f in "$DIR"/log/*; do [ -s "$f" ] && { echo "---- $f" >&2; tail -n 30 "$f" >&2; }; done
      stop_stack
      exit 1
    fi ;;
  stop) stop_stack ;;
  *) die "usage: stack.sh start|stop DIR [options]" ;;
esac

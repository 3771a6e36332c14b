# SPDX-License-Identifier: MIT
# tests/package/stock.sh: sourced by the tests of tests/package/. Runs Debian's stock lighttpd
# and Apache with livechat's snippets, never touching the machine's own web server: the script
# runs in a private mount namespace in which /etc/lighttpd and /etc/apache2 are copies
# (stock_enter), the copies listen on free loopback ports with their pid files and logs in WORK,
# and everything started is recorded in WORK/pids and stopped by process id (stock_stop_all).
# The snippets are enabled with the real lighty-enable-mod / a2enmod / a2ensite.

# stock_enter "$0" "$@": re-run the calling script in a private mount namespace (once).
stock_enter() {
  if [ -z "${LC_STOCK_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "$1: must run as root (mount namespace, dpkg, setuid)" >&2; exit 1; }
    LC_STOCK_NS=1 exec unshare --mount --propagation private bash "$@"
  fi
}

# stock_copy_etc WORK: bind copies of /etc/lighttpd and /etc/apache2 over the originals.
stock_copy_etc() {
  local d
  for d in lighttpd apache2; do
    cp -a "/etc/$d" "$1/etc-$d"
    mount --bind "$1/etc-$d" "/etc/$d"
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free port below the ephemeral range, not handed out before in this run.
free_port() {
  local p=$((10000 + RANDOM % 20000))
  while port_open "$p" || [ -n "$(ss -Htan "sport = :$p" 2>/dev/null)" ] ||
        grep -qx "$p" "$WORK/.ports" 2>/dev/null; do p=$((p + 1)); done
  echo "$p" >> "$WORK/.ports"
  echo "$p"
}

wait_port() {
  local i
  for i in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
  echo "nothing answers on port $1 ($2)" >&2
  return 1
}

# launch NAME CMD...: start CMD in the background, output in WORK/NAME.log, pid recorded.
launch() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  echo "$name $!" >> "$WORK/pids"
}

stock_stop_all() {
  [ -f "$WORK/pids" ] || return 0
  local name pid
  tac "$WORK/pids" | while read -r name pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    while read -r name pid; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$WORK/pids"
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  while read -r name pid; do kill -KILL "$pid" 2>/dev/null || true; done < "$WORK/pids"
  rm -f "$WORK/pids"
}

# stock_lighttpd PORT: Debian's lighttpd.conf (copy) on 127.0.0.1:PORT, logs and pid in WORK,
# with `lighty-enable-mod livechat` (which enables fastcgi, proxy and setenv too); checked, started.
stock_lighttpd() {
  local c=/etc/lighttpd/lighttpd.conf
  # lighttpd opens its error log after dropping to www-data.
  install -d -o www-data -g www-data "$WORK/lighttpd"
  sed -i -e "s|^server.port .*|server.port = $1\nserver.bind = \"127.0.0.1\"|" \
    -e "s|^server.pid-file .*|server.pid-file = \"$WORK/lighttpd.pid\"|" \
    -e "s|^server.errorlog .*|server.errorlog = \"$WORK/lighttpd/error.log\"|" \
    -e '/use-ipv6.pl/d' "$c"
  lighty-enable-mod livechat > "$WORK/lighty-enable-mod.log" 2>&1 ||
    { cat "$WORK/lighty-enable-mod.log" >&2; return 1; }
  lighttpd -tt -f "$c" > "$WORK/lighttpd-check.log" 2>&1 ||
    { cat "$WORK/lighttpd-check.log" >&2; return 1; }
  launch lighttpd lighttpd -D -f "$c"
  wait_port "$1" "stock lighttpd"
}

# stock_apache PORT SITE_PORT: Debian's apache2.conf (copy), ports.conf on 127.0.0.1:PORT,
# runtime files in WORK, with `a2enmod proxy_fcgi proxy_wstunnel headers rewrite` and `a2ensite livechat`.
stock_apache() {
  sed -i -e "s|^Listen 80\$|Listen 127.0.0.1:$1|" -e '/Listen 443/d' /etc/apache2/ports.conf
  mkdir -p "$WORK/apache"
  { a2enmod -q proxy_fcgi proxy_wstunnel headers rewrite && a2ensite -q livechat; } > "$WORK/a2en.log" 2>&1 ||
    { cat "$WORK/a2en.log" >&2; return 1; }
  # envvars names the run, lock and log directories; ours replace them.
  local env=(env APACHE_CONFDIR=/etc/apache2 APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data
             APACHE_PID_FILE="$WORK/apache/apache2.pid" APACHE_RUN_DIR="$WORK/apache"
             APACHE_LOCK_DIR="$WORK/apache" APACHE_LOG_DIR="$WORK/apache" LANG=C)
  "${env[@]}" apache2 -d /etc/apache2 -t > "$WORK/apache-check.log" 2>&1 ||
    { cat "$WORK/apache-check.log" >&2; return 1; }
  launch apache2 "${env[@]}" apache2 -d /etc/apache2 -DFOREGROUND
  wait_port "$2" "stock apache2 (livechat site)"
}

# Print the logs of WORK (on failure).
stock_logs() {
  local f
  for f in "$WORK"/*.log "$WORK"/apache/*.log "$WORK"/lighttpd/*.log; do
    [ -s "$f" ] && { echo "---- $f"; tail -n 30 "$f"; }
  done
  return 0
}

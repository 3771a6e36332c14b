#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/package/snippets.test.sh: the snippets for Debian's own web servers, from the build
# tree, in Debian's STOCK lighttpd.conf and apache2.conf (copies, in a private mount namespace,
# on loopback ports: stock.sh): conf/lighttpd-livechat.conf.in as conf-available/50-livechat.conf
# enabled with lighty-enable-mod (no "Duplicate config variable"), and
# conf/apache-livechat-site.conf.in as sites-available/livechat.conf enabled with
# a2enmod/a2ensite. Behind them: livechat-fcgi from spawn-fcgi on a unix socket (as the
# livechat-fcgi.socket unit does; the pool runs as www-data here, as user livechat in
# install.test.sh) and livechat-wsd, on a fresh database and amqp_prefix. One whole chat goes
# through each server (chat.mjs); each sends the security headers and answers a body over
# http_max_body rounded up to whole KiB plus 1 KiB with its own 413 (hardening.mjs). Then the
# TLS examples (conf/tls/) pass the servers' own config checks (lighttpd -tt, apache2 -t) with a
# self-signed certificate, enabled the documented way beside the snippets.
set -euo pipefail
. "$LC_TOP_SRCDIR/tests/package/stock.sh"
stock_enter "$0" "$@"
SRC=$LC_TOP_SRCDIR BUILD=$LC_TOP_BUILDDIR

WORK=$(mktemp -d /tmp/lc-snippets.XXXXXX)
chmod 755 "$WORK"
tag=lc_snip_$(date +%s)$((RANDOM))
conf=$WORK/web/livechat.conf
# http_max_body, and the web servers' limit derived from it as conf/Makefile.am's
# LC_HTTP_BODY_KIB is: rounded up to whole KiB, plus 1 KiB.
max_body=65536
body_kib=$(( (max_body + 1023) / 1024 + 1 ))
# The programs read only their config file: the caller's LIVECHAT_* overrides are dropped.
clean_env=(env $(env | sed -n 's/^\(LIVECHAT_[A-Z_]*\)=.*/-u \1/p'))

cleanup() {
  local status=$?
  stock_stop_all
  [ $status -eq 0 ] || stock_logs
  [ -f "$conf" ] && "${clean_env[@]}" "$BUILD/tests/api/teardown" "$conf" "$tag" "$tag" || true
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
stock_copy_etc "$WORK"

site_l=$(free_port); site_a=$(free_port); port_l=$(free_port); port_a=$(free_port); wsd=$(free_port)

# What an install gives www-data: the pages, the program and the config (0640, its group).
mkdir -p "$WORK/web/bin" "$WORK/run"
cp -R "$SRC/htdocs" "$WORK/web/htdocs"
cp "$BUILD/fcgi/livechat-fcgi" "$WORK/web/bin/"
chmod -R u+w,a+rX "$WORK/web"
cat > "$conf" <<CONF
mongo_uri = $LIVECHAT_MONGO_URI
mongo_db = $tag
amqp_url = $LIVECHAT_AMQP_URL
amqp_prefix = $tag
wsd_port = $wsd
log_level = info
cookie_secure = never
http_max_body = $max_body
CONF
chgrp www-data "$conf"
chmod 640 "$conf"

# render TEMPLATE SITE_PORT: the placeholders conf/Makefile.am fills, for this tree.
render() {
  sed -e "s|@site_bind@|127.0.0.1|g" -e "s|@site_port@|$2|g" -e "s|@htdocsdir@|$WORK/web/htdocs|g" \
      -e "s|@fcgi_socket@|$WORK/run/fcgi.sock|g" -e "s|@wsd_port@|$wsd|g" \
      -e "s|@http_body_kib@|$body_kib|g" -e "s|@http_body_bytes@|$((body_kib * 1024))|g" "$SRC/conf/$1.in"
}
render lighttpd-livechat.conf "$site_l" > /etc/lighttpd/conf-available/50-livechat.conf
render apache-livechat-site.conf "$site_a" > /etc/apache2/sites-available/livechat.conf
! grep -n '@[a-z_]*@' /etc/lighttpd/conf-available/50-livechat.conf /etc/apache2/sites-available/livechat.conf

admin_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$admin_pw" | "${clean_env[@]}" "$BUILD/fcgi/livechatctl" -c "$conf" create-admin admin Admin \
  > "$WORK/livechatctl.log" 2>&1 || { cat "$WORK/livechatctl.log"; exit 1; }

launch fcgi "${clean_env[@]}" spawn-fcgi -n -s "$WORK/run/fcgi.sock" -M 0660 -U www-data -G www-data \
  -u www-data -g www-data -- "$WORK/web/bin/livechat-fcgi" -c "$conf"
launch wsd "${clean_env[@]}" "$BUILD/wsd/livechat-wsd" -c "$conf"
wait_port "$wsd" livechat-wsd
stock_lighttpd "$port_l"
wait_port "$site_l" "livechat on the stock lighttpd"
# lighty-enable-mod followed the snippet's "depends" line.
for m in 10-fastcgi 10-proxy 05-setenv 50-livechat; do
  [ -e "/etc/lighttpd/conf-enabled/$m.conf" ] || { echo "lighty-enable-mod did not enable $m"; exit 1; }
done
stock_apache "$port_a" "$site_a"

LC_PKG_BASES="http://127.0.0.1:$site_l http://127.0.0.1:$site_a" LC_PKG_ADMIN_PASSWORD=$admin_pw \
  LC_PKG_PREFIX=$tag "$SHELL" "$SRC/tests/run-node-test.sh" "$SRC/tests/package/chat.mjs"
LC_PKG_BASES="http://127.0.0.1:$site_l http://127.0.0.1:$site_a" LC_PKG_MAX_BODY=$max_body \
  LC_PKG_BODY_KIB=$body_kib "$SHELL" "$SRC/tests/run-node-test.sh" "$SRC/tests/package/hardening.mjs"

# The TLS examples, as docs/install.md enables them, with a certificate made here.
stock_stop_all
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=chat.example.com \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" > "$WORK/openssl.log" 2>&1
tls() {
  sed -e "s|/etc/letsencrypt/live/chat.example.com/fullchain.pem|$WORK/cert.pem|" \
      -e "s|/etc/letsencrypt/live/chat.example.com/privkey.pem|$WORK/key.pem|" "$SRC/conf/tls/$1"
}
tls lighttpd-livechat-tls.conf > /etc/lighttpd/conf-available/51-livechat-tls.conf
cat "$WORK/cert.pem" "$WORK/key.pem" > /etc/lighttpd/server.pem   # 10-ssl.conf's default pair
lighty-enable-mod livechat-tls > "$WORK/lighty-enable-tls.log" 2>&1 || { cat "$WORK/lighty-enable-tls.log"; exit 1; }
[ -e /etc/lighttpd/conf-enabled/10-ssl.conf ] || { echo "livechat-tls did not enable ssl"; exit 1; }
lighttpd -tt -f /etc/lighttpd/lighttpd.conf || { echo "the lighttpd TLS example fails lighttpd -tt"; exit 1; }
tls apache-livechat-tls.conf > /etc/apache2/sites-available/livechat-tls.conf
{ a2enmod -q ssl headers && a2ensite -q livechat-tls; } > "$WORK/a2en-tls.log" 2>&1 || { cat "$WORK/a2en-tls.log"; exit 1; }
env APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data APACHE_PID_FILE="$WORK/apache/apache2.pid" \
  APACHE_RUN_DIR="$WORK/apache" APACHE_LOCK_DIR="$WORK/apache" APACHE_LOG_DIR="$WORK/apache" \
  apache2 -d /etc/apache2 -t 2>&1 | grep -q "Syntax OK" || { echo "the Apache TLS example fails apache2 -t"; exit 1; }
echo "snippets.test: a chat through each stock server, security headers and body limits; TLS examples pass the config checks"

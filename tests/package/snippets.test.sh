#!/usr/bin/env bash
# tests/package/snippets.test.sh: the snippets for Debian's own web servers, from the build
# tree, in Debian's STOCK lighttpd.conf and apache2.conf (copies, in a private mount namespace,
# on loopback ports: stock.sh): conf/lighttpd-livechat.conf.in as conf-available/50-livechat.conf
# enabled with lighty-enable-mod (no "Duplicate config variable"), and
# conf/apache-livechat-site.conf.in as sites-available/livechat.conf enabled with
# a2enmod/a2ensite. Behind them: livechat-fcgi from spawn-fcgi on a unix socket (as the
# livechat-fcgi.socket unit does; the pool runs as www-data here, as user livechat in
# install.test.sh) and livechat-wsd, on a fresh database and amqp_prefix. One whole chat goes
# through each server (chat.mjs).
set -euo pipefail
. "$LC_TOP_SRCDIR/tests/package/stock.sh"
stock_enter "$0" "$@"
SRC=$LC_TOP_SRCDIR BUILD=$LC_TOP_BUILDDIR

WORK=$(mktemp -d /tmp/lc-snippets.XXXXXX)
chmod 755 "$WORK"
tag=lc_snip_$(date +%s)$((RANDOM))
conf=$WORK/web/livechat.conf
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
CONF
chgrp www-data "$conf"
chmod 640 "$conf"

# render TEMPLATE SITE_PORT: the placeholders conf/Makefile.am fills, for this tree.
render() {
  sed -e "s|@site_bind@|127.0.0.1|g" -e "s|@site_port@|$2|g" -e "s|@htdocsdir@|$WORK/web/htdocs|g" \
      -e "s|@fcgi_socket@|$WORK/run/fcgi.sock|g" -e "s|@wsd_port@|$wsd|g" "$SRC/conf/$1.in"
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
for m in 10-fastcgi 10-proxy 50-livechat; do
  [ -e "/etc/lighttpd/conf-enabled/$m.conf" ] || { echo "lighty-enable-mod did not enable $m"; exit 1; }
done
stock_apache "$port_a" "$site_a"

LC_PKG_BASES="http://127.0.0.1:$site_l http://127.0.0.1:$site_a" LC_PKG_ADMIN_PASSWORD=$admin_pw \
  LC_PKG_PREFIX=$tag "$SHELL" "$SRC/tests/run-node-test.sh" "$SRC/tests/package/chat.mjs"

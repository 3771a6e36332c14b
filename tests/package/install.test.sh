#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/package/install.test.sh: the Debian package, as an administrator gets it. Builds it with
# dpkg-buildpackage from `make distdir` (so debian/ must be in the release tarball), installs it
# on this machine with apt-get, checks what the install made (system user livechat, conffiles,
# livechat.conf 0640 root:livechat, /run/livechat from tmpfiles.d), configures it the way
# docs/install.md says (livechat.conf, lighty-enable-mod livechat, a2enmod + a2ensite livechat),
# starts the INSTALLED programs directly (no systemd on these machines: spawn-fcgi stands in
# for livechat-fcgi.socket, setpriv for User=livechat) behind Debian's stock lighttpd and
# Apache (stock.sh: copies of /etc/lighttpd and /etc/apache2 in a private mount namespace, so
# the machine's own web server configs are never touched; dpkg writes the package's snippets
# into those copies), drives one chat through each (chat.mjs), checks their security headers and
# body limits as packaged (hardening.mjs: the default http_max_body, LC_HTTP_BODY_KIB), upgrades to a newer version
# with the edited config kept, then purges the package and checks nothing is left but what
# purge leaves by design (the system user and group).
# Run by scripts/test after `make check` (make check TESTS=package/install.test.sh): it
# changes the machine's package database, so it runs alone, once, and not in make distcheck.
set -euo pipefail
. "$LC_TOP_SRCDIR/tests/package/stock.sh"
# One run at a time on this machine (dpkg has one database).
if [ -z "${LC_STOCK_NS:-}" ]; then
  exec 9>/tmp/livechat-package-test.lock
  flock 9
fi
stock_enter "$0" "$@"
SRC=$LC_TOP_SRCDIR BUILD=$LC_TOP_BUILDDIR
export DEBIAN_FRONTEND=noninteractive

fail() { echo "install.test: $*" >&2; exit 1; }
if dpkg-query -W -f='${Status}' livechat 2>/dev/null | grep -qv "not-installed"; then
  fail "a livechat package is installed on this machine already; this test installs and purges its own: dpkg --purge livechat first"
fi

WORK=$(mktemp -d /tmp/lc-package.XXXXXX)
chmod 755 "$WORK"
tag=lc_pkg_$(date +%s)$((RANDOM))
conf=/etc/livechat/livechat.conf
mongo=$LIVECHAT_MONGO_URI amqp=$LIVECHAT_AMQP_URL
# The installed programs read only their config file.
clean_env=(env $(env | sed -n 's/^\(LIVECHAT_[A-Z_]*\)=.*/-u \1/p'))

cleanup() {
  local status=$?
  stock_stop_all
  [ $status -eq 0 ] || stock_logs
  if [ -f "$WORK/teardown.conf" ]; then
    "${clean_env[@]}" "$BUILD/tests/api/teardown" "$WORK/teardown.conf" "$tag" "$tag" || true
  fi
  # Never leave the package behind, whatever failed.
  if dpkg-query -W -f='${Status}' livechat 2>/dev/null | grep -q "installed"; then
    dpkg --purge livechat > "$WORK/purge-cleanup.log" 2>&1 || cat "$WORK/purge-cleanup.log"
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
stock_copy_etc "$WORK"
printf 'mongo_uri = %s\nmongo_db = %s\namqp_url = %s\namqp_prefix = %s\n' \
  "$mongo" "$tag" "$amqp" "$tag" > "$WORK/teardown.conf"

# 1. Build: the release tree, then dpkg-buildpackage as a packager runs it.
t0=$(date +%s)
# Without the calling make's flags: its command-line TESTS=package/install.test.sh would reach
# every directory's distdir (examples/websocket-demo ships $(TESTS)) and name a file not there.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILD" distdir > "$WORK/distdir.log" 2>&1 ||
  { cat "$WORK/distdir.log"; exit 1; }
rm -rf "$WORK/src"
mv "$BUILD/livechat-"*/ "$WORK/src"
(cd "$WORK/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
  > "$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; fail "dpkg-buildpackage failed"; }
deb=$(ls "$WORK"/livechat_*.deb)
echo "package built in $(( $(date +%s) - t0 )) s: $(basename "$deb")"

# 2. Install, as the administrator would (dependencies from apt).
apt-get install -y -q "$deb" > "$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "apt-get install failed"; }
getent passwd livechat | awk -F: '$3 < 1000 { ok = 1 } END { exit !ok }' || fail "no system user livechat"
[ "$(stat -c '%a %U %G' "$conf")" = "640 root livechat" ] || fail "$conf is $(stat -c '%a %U %G' "$conf"), not 640 root livechat"
[ "$(stat -c '%U' /run/livechat)" = livechat ] || fail "/run/livechat not made for livechat (tmpfiles.d)"
[ "$(stat -c '%a %U' /var/lib/livechat)" = "750 livechat" ] || fail "/var/lib/livechat not 0750 livechat"
conffiles=$(dpkg-query -W -f='${Conffiles}' livechat)
for f in "$conf" /etc/lighttpd/conf-available/50-livechat.conf /etc/apache2/sites-available/livechat.conf \
         /etc/logrotate.d/livechat; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile"
done
for f in /usr/share/man/man5/livechat.conf.5.gz /usr/share/man/man8/livechat-wsd.8.gz \
         /usr/share/man/man8/livechat-fcgi.8.gz /usr/share/man/man8/livechatctl.8.gz \
         /lib/systemd/system/livechat-wsd.service /lib/systemd/system/livechat-fcgi.socket \
         /usr/share/livechat/htdocs/index.html; do
  [ -f "$f" ] || fail "$f not installed"
done

# 3. Configure (docs/install.md): livechat.conf, the snippets on free loopback ports.
site_l=$(free_port); site_a=$(free_port); port_l=$(free_port); port_a=$(free_port); wsd=$(free_port)
sed -i -e "s|^mongo_uri = .*|mongo_uri = $mongo|" -e "s|^mongo_db = .*|mongo_db = $tag|" \
  -e "s|^amqp_url = .*|amqp_url = $amqp|" -e "s|^amqp_prefix = .*|amqp_prefix = $tag|" \
  -e "s|^wsd_port = .*|wsd_port = $wsd|" -e "s|^cookie_secure = .*|cookie_secure = never|" "$conf"
sed -i -e "s|\"0.0.0.0:8080\"|\"127.0.0.1:$site_l\"|" -e "s|\"port\" => 8090|\"port\" => $wsd|" \
  /etc/lighttpd/conf-available/50-livechat.conf
sed -i -e "s|^Listen 0.0.0.0:8080|Listen 127.0.0.1:$site_a|" -e "s|\*:8080>|*:$site_a>|" \
  -e "s|127.0.0.1:8090|127.0.0.1:$wsd|" /etc/apache2/sites-available/livechat.conf

# 4. Upgrade to a newer version (the same files, version raised): edited conffiles are kept,
# and so are livechat.conf's owner and mode.
dpkg-deb -R "$deb" "$WORK/v2"
sed -i 's/^Version: .*/&+upgrade1/' "$WORK/v2/DEBIAN/control"
dpkg-deb -b "$WORK/v2" "$WORK/livechat-upgrade.deb" > /dev/null
dpkg -i --force-confold "$WORK/livechat-upgrade.deb" > "$WORK/upgrade.log" 2>&1 || { cat "$WORK/upgrade.log"; fail "upgrade failed"; }
dpkg-query -W -f='${Version}' livechat | grep -q 'upgrade1$' || fail "not upgraded"
grep -qx "mongo_db = $tag" "$conf" || fail "the upgrade replaced the edited $conf"
grep -q "127.0.0.1:$site_l" /etc/lighttpd/conf-available/50-livechat.conf || fail "the upgrade replaced the edited lighttpd snippet"
[ "$(stat -c '%a %U %G' "$conf")" = "640 root livechat" ] || fail "after the upgrade $conf is $(stat -c '%a %U %G' "$conf")"

# 5. Start the installed programs as their units would: the FastCGI pool and wsd as livechat.
admin_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$admin_pw" | "${clean_env[@]}" /usr/bin/livechatctl create-admin admin Admin \
  > "$WORK/livechatctl.log" 2>&1 || { cat "$WORK/livechatctl.log"; fail "livechatctl create-admin failed"; }
launch fcgi "${clean_env[@]}" spawn-fcgi -n -s /run/livechat/fcgi.sock -M 0660 -U livechat -G www-data \
  -u livechat -g livechat -- /usr/bin/livechat-fcgi
launch wsd "${clean_env[@]}" setpriv --reuid=livechat --regid=livechat --init-groups -- /usr/bin/livechat-wsd
wait_port "$wsd" "installed livechat-wsd"
for name in fcgi wsd; do
  pid=$(awk -v n=$name '$1 == n { print $2 }' "$WORK/pids")
  [ "$(ps -o user= -p "$pid")" = livechat ] || fail "$name runs as $(ps -o user= -p "$pid"), not livechat"
done
stock_lighttpd "$port_l"
wait_port "$site_l" "livechat on the stock lighttpd"
stock_apache "$port_a" "$site_a"

# 6. One chat through each server; the headers and body limits the package ships (the default
# http_max_body, 65536, and conf/Makefile.am's default LC_HTTP_BODY_KIB, 65).
LC_PKG_BASES="http://127.0.0.1:$site_l http://127.0.0.1:$site_a" LC_PKG_ADMIN_PASSWORD=$admin_pw \
  LC_PKG_PREFIX=$tag "$SHELL" "$SRC/tests/run-node-test.sh" "$SRC/tests/package/chat.mjs"
grep -qx 'http_max_body = 65536' "$conf" || fail "$conf: http_max_body is not the default 65536"
LC_PKG_BASES="http://127.0.0.1:$site_l http://127.0.0.1:$site_a" LC_PKG_MAX_BODY=65536 \
  LC_PKG_BODY_KIB=65 "$SHELL" "$SRC/tests/run-node-test.sh" "$SRC/tests/package/hardening.mjs"

# 7. Purge. The snippets stay enabled: purge must remove the links that would dangle.
stock_stop_all
apt-get purge -y -q livechat > "$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "purge failed"; }
# dpkg forgets a purged package (or keeps it as not-installed).
case $(dpkg-query -W -f='${Status}' livechat 2>/dev/null || true) in
  ""|*not-installed) ;;
  *) fail "livechat still known to dpkg: $(dpkg-query -W -f='${Status}' livechat)" ;;
esac
left=""
for p in /etc/livechat /var/lib/livechat /var/log/livechat /etc/logrotate.d/livechat /run/livechat /usr/bin/livechat-wsd /usr/bin/livechat-fcgi \
         /usr/bin/livechatctl /usr/share/livechat /usr/share/doc/livechat /usr/lib/tmpfiles.d/livechat.conf \
         /usr/lib/sysusers.d/livechat.conf /lib/systemd/system/livechat-wsd.service \
         /lib/systemd/system/livechat-wsd@.service /lib/systemd/system/livechat-fcgi.service \
         /lib/systemd/system/livechat-fcgi.socket /usr/share/man/man5/livechat.conf.5.gz \
         /etc/lighttpd/conf-available/50-livechat.conf /etc/lighttpd/conf-enabled/50-livechat.conf \
         /etc/apache2/sites-available/livechat.conf /etc/apache2/sites-enabled/livechat.conf; do
  { [ -e "$p" ] || [ -L "$p" ]; } && left="$left $p"
done
left="$left $(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled -name '*livechat*' 2>/dev/null | tr '\n' ' ')"
[ -z "$(dpkg-statoverride --list /etc/livechat/livechat.conf)" ] || left="$left statoverride:/etc/livechat/livechat.conf"
[ -z "${left// /}" ] || fail "left after purge:$left"
# What purge leaves on purpose (Debian keeps system users): say it.
getent passwd livechat > /dev/null && echo "after purge: system user and group livechat kept (Debian practice)"
# The stock servers still pass their config check without the package.
lighttpd -tt -f /etc/lighttpd/lighttpd.conf > /dev/null || fail "lighttpd config broken after purge"
echo "install.test: built, installed, upgraded, chatted through lighttpd and Apache (headers, body limits), purged in $(( $(date +%s) - t0 )) s"

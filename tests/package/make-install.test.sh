#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/package/make-install.test.sh: `make install` from source never overwrites a config the
# administrator edited. Installs into a DESTDIR twice with livechat.conf edited in between:
# the edit is kept, the new version lands beside it as livechat.conf.new and make says so;
# unedited configs get no .new. livechat.conf is 0640 (group livechat where that group exists).
# The man pages, units, snippets and tmpfiles.d entry are installed; nothing under /run.
# `make uninstall` keeps the edited file and removes the rest.
set -euo pipefail
BUILD=$LC_TOP_BUILDDIR
WORK=$(mktemp -d /tmp/lc-install.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "make-install.test: $*" >&2; exit 1; }
D=$WORK/dest
prefix=$(sed -n 's/^prefix = //p' "$BUILD/Makefile")
sysconf=$(sed -n 's/^sysconfdir = //p' "$BUILD/Makefile" | sed "s|\${prefix}|$prefix|")
etc=$D$sysconf

make -s -C "$BUILD" install DESTDIR="$D" > "$WORK/first.log" 2>&1 || { cat "$WORK/first.log"; fail "make install failed"; }
want_group=root
getent group livechat > /dev/null && want_group=livechat
[ "$(id -u)" -eq 0 ] || want_group=$(id -gn)
[ "$(stat -c '%a %G' "$etc/livechat/livechat.conf")" = "640 $want_group" ] ||
  fail "livechat.conf is $(stat -c '%a %G' "$etc/livechat/livechat.conf"), want 640 $want_group"
for f in "$etc/lighttpd/conf-available/50-livechat.conf" "$etc/apache2/sites-available/livechat.conf" \
         "$D$prefix/share/man/man5/livechat.conf.5" "$D$prefix/share/man/man8/livechat-wsd.8" \
         "$D$prefix/share/man/man8/livechat-fcgi.8" "$D$prefix/share/man/man8/livechatctl.8" \
         "$D$prefix/lib/systemd/system/livechat-fcgi.socket" "$D$prefix/lib/tmpfiles.d/livechat.conf"; do
  [ -f "$f" ] || fail "$f not installed"
done
grep -q '^\.B mongo_uri' "$D$prefix/share/man/man5/livechat.conf.5" || fail "livechat.conf(5) lists no keys"
[ -z "$(find "$D" -path '*/run/*')" ] || fail "make install created something under run/"

echo "mongo_db = edited_by_admin" >> "$etc/livechat/livechat.conf"
make -s -C "$BUILD" install DESTDIR="$D" > "$WORK/second.log" 2>&1 || { cat "$WORK/second.log"; fail "second make install failed"; }
grep -qx "mongo_db = edited_by_admin" "$etc/livechat/livechat.conf" || fail "the edited livechat.conf was overwritten"
cmp -s "$LC_TOP_SRCDIR/conf/livechat.conf" "$etc/livechat/livechat.conf.new" || fail "no livechat.conf.new beside it"
grep -q "livechat.conf exists and was kept; the new version is .*livechat.conf.new" "$WORK/second.log" ||
  { cat "$WORK/second.log"; fail "make install did not say where the new version went"; }
[ "$(stat -c '%a' "$etc/livechat/livechat.conf.new")" = 640 ] || fail "livechat.conf.new is not 0640"
news=$(find "$D" -name '*.new' | grep -v '/livechat/livechat.conf.new$' || true)
[ -z "$news" ] || fail "unedited configs got a .new: $news"

make -s -C "$BUILD" uninstall DESTDIR="$D" > "$WORK/uninstall.log" 2>&1 || { cat "$WORK/uninstall.log"; fail "make uninstall failed"; }
left=$(find "$D" -type f)
[ "$left" = "$etc/livechat/livechat.conf" ] || fail "after uninstall, want only the edited livechat.conf, have: $left"
echo "make-install.test: edited config kept, new one beside it"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/package/units.test.sh: the systemd units as make renders them (build/conf) pass
# `systemd-analyze verify`, every service scores 4.0 or better (lower is better) in
# `systemd-analyze security --offline=yes`, and each has what an administrator relies on:
# ExecReload=, RuntimeDirectory=, User=livechat, and LimitNOFILE= for 100k websockets on wsd.
# The units name the installed programs: here they point at the build tree's.
set -euo pipefail
BUILD=$LC_TOP_BUILDDIR
WORK=$(mktemp -d /tmp/lc-units.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "units.test: $*" >&2; exit 1; }

mkdir -p "$WORK/bin"
ln -s "$BUILD/fcgi/livechat-fcgi" "$BUILD/wsd/livechat-wsd" "$WORK/bin/"
units="livechat-fcgi.socket livechat-fcgi.service livechat-wsd.service livechat-wsd@.service"
for u in $units; do
  [ -f "$BUILD/conf/$u" ] || make -s -C "$BUILD/conf" "$u"
  sed -e "s|^ExecStart=[^ ]*/livechat-|ExecStart=$WORK/bin/livechat-|" "$BUILD/conf/$u" > "$WORK/$u"
done
# An instance of the template, as `systemctl start livechat-wsd@8091` makes it.
cp "$WORK/livechat-wsd@.service" "$WORK/livechat-wsd@8091.service"

(cd "$WORK" && systemd-analyze verify --man=no ./livechat-fcgi.socket ./livechat-fcgi.service \
   ./livechat-wsd.service ./livechat-wsd@8091.service) > "$WORK/verify.log" 2>&1 ||
  { cat "$WORK/verify.log"; fail "systemd-analyze verify failed"; }
# verify also reports problems it does not fail on: none allowed.
[ ! -s "$WORK/verify.log" ] || { cat "$WORK/verify.log"; fail "systemd-analyze verify complained"; }

for u in livechat-fcgi.service livechat-wsd.service livechat-wsd@8091.service; do
  score=$(cd "$WORK" && systemd-analyze security --offline=yes "./$u" 2>&1 |
          sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  [ -n "$score" ] || fail "no exposure level for $u"
  echo "$u: exposure $score"
  awk -v s="$score" 'BEGIN { exit !(s <= 4.0) }' || fail "$u exposure $score is above 4.0"
done

for u in livechat-fcgi.service livechat-wsd.service livechat-wsd@.service; do
  for key in ExecReload= RuntimeDirectory=livechat User=livechat LimitNOFILE= StandardError= ; do
    case $key in StandardError=) [ "$u" = livechat-fcgi.service ] || continue ;; esac
    grep -q "^$key" "$WORK/$u" || fail "$u has no $key"
  done
done
for u in livechat-wsd.service livechat-wsd@.service; do
  n=$(sed -n 's/^LimitNOFILE=//p' "$WORK/$u")
  [ "$n" -ge 100000 ] || fail "$u LimitNOFILE=$n is below 100k connections"
done
grep -q '^ListenStream=/run/livechat/fcgi.sock' "$WORK/livechat-fcgi.socket" || fail "socket path"
echo "units.test: verified, exposure within 4.0"

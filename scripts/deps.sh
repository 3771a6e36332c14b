#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what livechat needs on a fresh Debian 12 machine and is missing: build tools, the
# libraries, the servers the tests run (RabbitMQ, lighttpd, Apache, FerretDB), Chromium and the
# npm packages of the integration and browser tests. Safe to run again: it skips what is there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

APT_PKGS="build-essential autoconf automake libtool pkg-config debhelper dpkg-dev
  libmongoc-dev libbson-dev librabbitmq-dev libfcgi-dev libjson-c-dev libssl-dev
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libcunit1-dev clang libclang-rt-14-dev
  rabbitmq-server lighttpd lighttpd-mod-openssl apache2 libapache2-mod-fcgid spawn-fcgi
  chromium curl ca-certificates wrk hyperfine golang-go nodejs npm"

missing=""
for p in $APT_PKGS; do
  # golang-go, nodejs and npm are satisfied by toolchains installed another way.
  case $p in
    golang-go) command -v go >/dev/null 2>&1 && continue ;;
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Do not let the packages' own service scripts start servers: the project starts what it needs.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -q --no-install-recommends $missing
  rm -f /usr/sbin/policy-rc.d
fi

"$here/scripts/install-ferretdb.sh"

if [ -f "$here/package.json" ] && [ ! -d "$here/node_modules/playwright-core" -o "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  echo "deps: installing npm packages for the tests"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "deps: all present"

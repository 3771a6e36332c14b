#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/build.sh [OUTDIR]: builds the benchmark's helpers into OUTDIR (default: the current
# directory): wsconn (the websocket connection load client, libc only), dropdb (drops the
# benchmark's database; libmongoc through pkg-config) and busbind (bindings through lc_bus:
# linked with the build tree's shared/liblivechat.a, LC_TOP_BUILDDIR, default <source>/build).
# Not part of the autotools build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-.}
mkdir -p "$out"
cc=${CC:-cc}
$cc -std=c11 -O2 -Wall -Wextra -o "$out/wsconn" "$here/wsconn.c"
# shellcheck disable=SC2046
$cc -std=gnu11 -O2 -Wall -Wextra -o "$out/dropdb" "$here/dropdb.c" \
    $(pkg-config --cflags --libs libmongoc-1.0)
top=$(cd "$here/.." && pwd)
build=${LC_TOP_BUILDDIR:-$top/build}
[ -f "$build/shared/liblivechat.a" ] || { echo "build.sh: $build/shared/liblivechat.a missing: build livechat first" >&2; exit 1; }
# shellcheck disable=SC2046
$cc -std=gnu11 -O2 -Wall -Wextra -I"$top/shared" -I"$build" -o "$out/busbind" "$here/busbind.c" \
    "$build/shared/liblivechat.a" $(pkg-config --cflags --libs librabbitmq json-c libssl libcrypto libmongoc-1.0) -pthread

#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/build.sh [OUTDIR]: builds the benchmark's helpers into OUTDIR (default: the current
# directory): wsconn (the websocket connection load client, libc only) and dropdb (drops the
# benchmark's database; libmongoc through pkg-config). Not part of the autotools build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-.}
mkdir -p "$out"
cc=${CC:-cc}
$cc -std=c11 -O2 -Wall -Wextra -o "$out/wsconn" "$here/wsconn.c"
# shellcheck disable=SC2046
$cc -std=gnu11 -O2 -Wall -Wextra -o "$out/dropdb" "$here/dropdb.c" \
    $(pkg-config --cflags --libs libmongoc-1.0)

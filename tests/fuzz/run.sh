#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh [SECONDS] [BUILD_DIR]: build the libFuzzer targets in their own tree
# (BUILD_DIR, default build-fuzz beside the source: CC=clang --enable-fuzzing, ASan + UBSan)
# and run them for SECONDS in all (default 120), split evenly between the targets, each over
# its seed corpus (tests/fuzz/corpus/<target>) plus what earlier runs in that tree found. Fails when a target crashes, leaks, times out or breaks
# an invariant; the input that did it is left in BUILD_DIR/tests/fuzz/ (crash-*, leak-*, ...).
# scripts/test runs it after make check.
set -euo pipefail
total=${1:-120}
targets="rest config ws_frame gateway_msg"
secs=$(( total / 4 ))
[ "$secs" -ge 1 ] || secs=1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${2:-$top/build-fuzz}
command -v clang >/dev/null || { echo "fuzz: clang is missing (scripts/deps.sh installs it)" >&2; exit 1; }

mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || ! grep -q -- '--enable-fuzzing' config.status 2>/dev/null; then
  "$top/configure" CC=clang --enable-fuzzing >configure.log 2>&1 ||
    { tail -n 40 configure.log >&2; exit 1; }
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" -C shared >/dev/null
make -j"$jobs" -C fcgi libfcgiapi.a >/dev/null
make -j"$jobs" -C wsd >/dev/null   # fuzz_ws_frame and fuzz_gateway_msg link its modules
make -j"$jobs" -C tests $(for t in $targets; do echo "fuzz/fuzz_$t"; done) >/dev/null

cd tests/fuzz
status=0
for t in $targets; do
  mkdir -p "corpus-$t"
  echo "fuzz: fuzz_$t for ${secs}s"
  if ! ./"fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -dict="$here/$t.dict" "corpus-$t" "$here/corpus/$t" >"fuzz_$t.log" 2>&1; then
    echo "fuzz: fuzz_$t FAILED; the input is in $PWD:" >&2
    tail -n 60 "fuzz_$t.log" >&2
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "fuzz_$t.log" | sed "s/^/fuzz: fuzz_$t /"
done
exit $status

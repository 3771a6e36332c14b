#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/browser/no-markup-sinks.sh: the dashboard and the widget build every element with
# createElement + textContent; none of the APIs that parse a string as markup or code may appear
# in htdocs/ (a message must never be interpreted, see htdocs/js/dom.js).
set -u
dir="${LC_TOP_SRCDIR:?LC_TOP_SRCDIR not set}/htdocs"
[ -d "$dir" ] || { echo "FAIL: $dir missing"; exit 1; }
found=$(grep -rnE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setTimeout\(["'\'']' "$dir" --include='*.js' --include='*.html')
if [ -n "$found" ]; then
  echo "FAIL: markup or code sinks in htdocs/:"
  echo "$found"
  exit 1
fi
count=$(find "$dir" -name '*.js' | wc -l)
[ "$count" -ge 2 ] || { echo "FAIL: only $count scripts found in $dir"; exit 1; }
echo "ok: $count scripts in htdocs/ use no markup sink"

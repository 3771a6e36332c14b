#!/bin/sh
# SPDX-License-Identifier: MIT
# config-keys.sh TEMPLATE: print livechat.conf(5) with @KEYS@ replaced by the key table the
# programs print (`livechat-wsd --help-config` on stdin), one .TP entry per key, so the man page
# always lists exactly the keys the code knows.
set -eu
awk -v template="$1" '
  function esc(s) { gsub(/\\/, "\\e", s); gsub(/^\./, "\\\\\\&.", s); gsub(/-/, "\\-", s); return s }
  NR == 1 || NF < 4 || $1 == "Each" { next }
  {
    key = $1; type = $2; def = $3; allowed = $4; help = ""
    for (i = 5; i <= NF; i++) help = help (i > 5 ? " " : "") $i
    if (def == "\"\"") def = "(empty)"
    entries = entries ".TP\n.B " esc(key) "\n" esc(help) ".\n.br\nType " type ", default \\fB" esc(def) "\\fP, allowed: " esc(allowed) ".\n"
  }
  END {
    while ((getline line < template) > 0) {
      if (line == "@KEYS@") printf "%s", entries; else print line
    }
  }'

#!/bin/sh
# SPDX-License-Identifier: MIT
# wsd/layers.sh SRCDIR OBJDIR: the layers of wsd/README hold. Each wsd/*.c file is a module of
# the layer of the row of README's "Layers" table it heads (its name at column 13), or else of the last row whose text
# names it (hist.c, described under transport and base, is base); a module may use modules of its own layer and of the layers below, never one above.
# "Uses" is what its object file takes from another module's object (nm: an undefined symbol
# the other defines) and the wsd headers it includes. Fails naming every module that reaches
# up, and every .c file the table does not name. Run by `make check` in wsd/ (Makefile.am).
set -u
src=${1:?srcdir} obj=${2:?objdir}
layers="transport endpoints rooms I/O base"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Nothing is let through: the writer's steps of a gateway message come through the ops main.c
# registers (wsd_writer_ops_t).
allowed=""

# module -> layer rank (0: transport, the top), from README's table
awk -v layers="$layers" '
	BEGIN { n = split(layers, L, " "); for (i = 1; i <= n; i++) rank[L[i]] = i - 1 }
	/^Layers \(/ { on = 1; next }
	on && /^Shared with/ { on = 0 }
	!on { next }
	$1 in rank { cur = rank[$1] }
	{
		# the row'"'"'s own module (the word at column 13, after the layer name), then those
		# its description names (main.c named in an I/O row stays transport)
		first = substr($0, 13)
		sub(/ .*/, "", first)
		if (first ~ /^[a-z_]+\.c$/) { sub(/\.c$/, "", first); own[first] = cur }
		line = $0
		while (match(line, /[a-z_]+\.c([^a-z_]|$)/)) {
			m = substr(line, RSTART, RLENGTH)
			sub(/\.c.*/, "", m)
			at[m] = cur
			line = substr(line, RSTART + RLENGTH)
		}
	}
	END { for (m in at) print m, ((m in own) ? own[m] : at[m]) }' "$src/README" | sort >"$tmp/rank"

fail=0
for f in "$src"/*.c; do
	m=$(basename "$f" .c)
	grep -q "^$m " "$tmp/rank" || { echo "layers: $m.c is in no layer of wsd/README"; fail=1; }
done

# what each module defines and takes (objects as automake names them in wsd/)
for o in "$obj"/libwsd_a-*.o "$obj"/livechat_wsd-main.o; do
	m=$(basename "$o" .o)
	m=${m#libwsd_a-}
	m=${m#livechat_wsd-}
	nm "$o" | awk -v m="$m" '$2 ~ /^[TDBR]$/ { print "D", $3, m } $1 == "U" { print "U", $2, m }'
done >"$tmp/syms"
# a module's wsd headers: X.h and X_priv.h are module X's (wsd.h: loop's)
for f in "$src"/*.c; do
	m=$(basename "$f" .c)
	sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f" |
		while read -r h; do echo "I $h.h $m $(echo "$h" | sed 's/_priv$//; s/^wsd$/loop/')"; done
done >"$tmp/incs"

awk -v allowed="$allowed" '
	FILENAME == ARGV[1] { rank[$1] = $2; next }
	FILENAME == ARGV[2] && $1 == "D" { def[$2] = $3; next }
	FILENAME == ARGV[2] { use[$3, $2] = 1; next }
	{ inc[NR] = $0 }
	END {
		n = split(allowed, A, /[ \n]+/)
		for (i = 1; i <= n; i++) ok[A[i]] = 1
		for (k in use) {
			split(k, p, SUBSEP); m = p[1]; s = p[2]; d = def[s]
			if (d == "" || d == m || !(m in rank) || !(d in rank)) continue
			if (rank[d] < rank[m] && !((m ":" s) in ok))
				printf "layers: %s.c calls %s (%s.c, a layer above)\n", m, s, d
		}
		for (i in inc) {
			split(inc[i], p, " "); m = p[3]; d = p[4]
			if (!(m in rank) || !(d in rank)) continue
			if (rank[d] < rank[m] && !((m ":" p[2]) in ok))
				printf "layers: %s.c includes %s (%s.c, a layer above)\n", m, p[2], d
		}
	}' "$tmp/rank" "$tmp/syms" "$tmp/incs" | sort >"$tmp/up"

if [ -s "$tmp/up" ]; then
	cat "$tmp/up"
	fail=1
fi
[ $fail -eq 0 ] && echo "layers: every wsd module looks down ($(ls "$src"/*.c | wc -l) modules)"
exit $fail

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds FerretDB 1.24.2 (a MongoDB wire-protocol server; MongoDB itself cannot be installed on
# these machines) with Go and installs it as $FERRETDB_BIN (default /usr/local/bin/ferretdb).
# `go install ...@v1.24.2` alone yields a binary that panics at start, because the module as
# published lacks build/version/version.txt; so we fetch the module with go install, then build
# the same source again with version.txt written, as FerretDB's own panic message suggests.
set -euo pipefail
FERRETDB_VERSION=v1.24.2
FERRETDB_BIN=${FERRETDB_BIN:-/usr/local/bin/ferretdb}

# Read the whole output before matching: `grep -q` on a pipe would end it early (SIGPIPE).
if [ -x "$FERRETDB_BIN" ]; then
  have=$("$FERRETDB_BIN" --version 2>/dev/null || true)
  case "$have" in *"version: ${FERRETDB_VERSION}"*) exit 0 ;; esac
fi
command -v go >/dev/null 2>&1 || { echo "install-ferretdb: Go is required (apt-get install golang-go)" >&2; exit 1; }
echo "install-ferretdb: building FerretDB ${FERRETDB_VERSION}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The fetched module lands in the module cache; its unusable binary stays in the temp dir.
GOBIN="$work/gobin" go install "github.com/FerretDB/FerretDB/cmd/ferretdb@${FERRETDB_VERSION}"
modroot=$(go env GOMODCACHE)/github.com/\!ferret\!d\!b/\!ferret\!d\!b@${FERRETDB_VERSION}
cp -r "$modroot" "$work/src"
chmod -R u+w "$work/src"
echo "${FERRETDB_VERSION}" > "$work/src/build/version/version.txt"
(cd "$work/src" && go build -o "$work/ferretdb" ./cmd/ferretdb)
install -m 0755 "$work/ferretdb" "$FERRETDB_BIN"
have=$("$FERRETDB_BIN" --version)
echo "install-ferretdb: installed $FERRETDB_BIN (${have%%$'\n'*})"

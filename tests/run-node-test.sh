#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one Node.js integration test file with node's built-in test runner. The npm packages
# (ws, amqplib, playwright-core) come from the source tree's node_modules; in a `make distcheck`
# tree, which has none, they are installed from package-lock.json into the build tree first.
set -e
mods="$LC_TOP_SRCDIR/node_modules"
if [ ! -d "$mods/ws" ]; then
  mods="$LC_TOP_BUILDDIR/node_modules"
  if [ ! -d "$mods/ws" ]; then
    cp "$LC_TOP_SRCDIR/package.json" "$LC_TOP_SRCDIR/package-lock.json" "$LC_TOP_BUILDDIR/"
    (cd "$LC_TOP_BUILDDIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
NODE_PATH="$mods" exec node --test --test-reporter=spec "$1"

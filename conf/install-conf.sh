#!/bin/sh
# SPDX-License-Identifier: MIT
# install-conf.sh install|uninstall SRC DEST MODE: install a config file the administrator
# edits without ever overwriting it (make install runs this for every config file).
#   install: DEST absent -> SRC is installed as DEST; DEST the same as SRC -> nothing;
#            DEST different (edited, or an older version) -> DEST is kept and SRC goes beside
#            it as DEST.new, and a line says so. Group livechat where that group exists
#            (the file may hold credentials: MODE 0640 keeps it from other users).
#   uninstall: removes DEST only when it is still SRC unchanged, and DEST.new.
set -eu
action=$1 src=$2 dest=$3 mode=${4:-0644}

case $action in
  install)
    target=$dest
    if [ -e "$dest" ]; then
      cmp -s "$src" "$dest" && exit 0
      target=$dest.new
      echo "livechat: $dest exists and was kept; the new version is $target (merge by hand)"
    fi
    # Written under a temporary name first: a failed install never leaves half a file.
    install -m "$mode" "$src" "$target.tmp"
    if [ "$(id -u)" -eq 0 ] && getent group livechat >/dev/null 2>&1; then
      chgrp livechat "$target.tmp"
    fi
    mv -f "$target.tmp" "$target"
    ;;
  uninstall)
    if [ -e "$dest" ] && cmp -s "$src" "$dest"; then rm -f "$dest"; fi
    rm -f "$dest.new"
    ;;
  *) echo "usage: install-conf.sh install|uninstall SRC DEST [MODE]" >&2; exit 2 ;;
esac

#!/bin/sh
# As the official image's: a first argument that is a flag (or a script file) is run by node.
set -e
if [ "${1#-}" != "$1" ] || { [ -f "$1" ] && ! command -v "$1" >/dev/null 2>&1; }; then
  set -- node "$@"
fi
exec "$@"

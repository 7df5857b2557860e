#!/bin/bash
# The official image's rules: a first argument that is a flag or a .conf file goes to redis-server; as
# root, /data is given to redis and the server runs as redis. Debian's binary, built without the
# official image's patch, defaults to protected mode: turn it off unless the arguments say otherwise.
set -euo pipefail
if [ "${1:0:1}" = '-' ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = 'redis-server' ]; then
  shift
  conf=()
  if [ $# -gt 0 ] && [ "${1:0:1}" != '-' ]; then conf=("$1"); shift; fi
  case " $* " in *' --protected-mode '*) ;; *) set -- --protected-mode no "$@" ;; esac
  set -- redis-server "${conf[@]}" "$@"
  if [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec runuser -u redis -- "$@"
  fi
fi
exec "$@"

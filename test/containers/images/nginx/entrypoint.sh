#!/bin/sh
# The official image's entrypoint runs /docker-entrypoint.d hooks (none here: our config is mounted
# ready-made) and then the command; NGINX_ENTRYPOINT_QUIET_LOGS only quietens those hooks.
set -e
exec "$@"

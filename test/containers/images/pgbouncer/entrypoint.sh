#!/bin/bash
# pgbouncer.ini from the environment, as edoburu/pgbouncer does, unless one is mounted. Without DB_NAME
# every database (`*`) is proxied to DB_HOST. With DB_PASSWORD (and no AUTH_FILE) the userlist is
# written here; with AUTH_FILE it is read from there (our compose file: a plain-text secret, which
# lets PgBouncer log in to Postgres with SCRAM).
set -euo pipefail
INI=/etc/pgbouncer/pgbouncer.ini
if [ ! -f "$INI" ]; then
  if [ -n "${DB_PASSWORD_FILE:-}" ]; then DB_PASSWORD="$(<"$DB_PASSWORD_FILE")"; fi
  AUTH_FILE="${AUTH_FILE:-/etc/pgbouncer/userlist.txt}"
  if [ -n "${DB_USER:-}" ] && [ -n "${DB_PASSWORD:-}" ] && [ ! -e "$AUTH_FILE" ]; then
    printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" >"$AUTH_FILE"
  fi
  target="host=${DB_HOST:?DB_HOST is required} port=${DB_PORT:-5432}${DB_USER:+ user=$DB_USER}"
  {
    echo '[databases]'
    if [ -n "${DB_NAME:-}" ]; then echo "$DB_NAME = $target dbname=$DB_NAME"; else echo "* = $target"; fi
    echo '[pgbouncer]'
    echo "listen_addr = ${LISTEN_ADDR:-0.0.0.0}"
    echo "listen_port = ${LISTEN_PORT:-5432}"
    echo 'unix_socket_dir = /var/run/pgbouncer'
    echo "auth_type = ${AUTH_TYPE:-md5}"
    echo "auth_file = $AUTH_FILE"
    echo "pool_mode = ${POOL_MODE:-session}"
    echo "max_client_conn = ${MAX_CLIENT_CONN:-100}"
    echo "default_pool_size = ${DEFAULT_POOL_SIZE:-20}"
    [ -n "${MIN_POOL_SIZE:-}" ] && echo "min_pool_size = $MIN_POOL_SIZE"
    [ -n "${RESERVE_POOL_SIZE:-}" ] && echo "reserve_pool_size = $RESERVE_POOL_SIZE"
    [ -n "${SERVER_RESET_QUERY:-}" ] && echo "server_reset_query = $SERVER_RESET_QUERY"
    [ -n "${MAX_PREPARED_STATEMENTS:-}" ] && echo "max_prepared_statements = $MAX_PREPARED_STATEMENTS"
    echo "admin_users = ${ADMIN_USERS:-postgres}"
    echo "server_tls_sslmode = ${SERVER_TLS_SSLMODE:-prefer}"
    echo "ignore_startup_parameters = ${IGNORE_STARTUP_PARAMETERS:-extra_float_digits}"
  } >"$INI"
fi
exec "$@"

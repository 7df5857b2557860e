#!/bin/sh
# The backup container's start: writes the schedule for Debian's cron and runs cron in the foreground.
# Each run is scripts/backup.sh as the postgres user: pg_dump over the network (PGHOST, PGPORT, PGUSER,
# PGDATABASE, the password from the secret file PGPASSWORD_FILE) into /backups, the newest BACKUP_KEEP
# kept. Its lines (file, size, seconds; or why it failed) reach the container's log through a FIFO:
# a job as postgres cannot write to PID 1's stdout, and cron itself logs only to syslog.
#
# cron runs as root, with only CAP_SETUID and CAP_SETGID (to become postgres for each job), on a
# read-only root file system; /run (cron's pid file) and /etc/cron.d (the schedule) are tmpfs.
set -eu

BACKUP_CRON=${BACKUP_CRON:-0 3 * * *}
BACKUP_KEEP=${BACKUP_KEEP:-7}
fail() {
  echo "backup: $*" >&2
  exit 1
}
case "$BACKUP_KEEP" in
  '' | *[!0-9]* | 0) fail "BACKUP_KEEP must be a whole number of at least 1, got \"$BACKUP_KEEP\"" ;;
esac
# cron would report a line it cannot parse only to syslog, which a container has not got: the shape is
# checked here (five fields, or an @ keyword), the fields by cron.
printf '%s\n' "$BACKUP_CRON" |
  grep -Eqx '@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9A-Za-z*/,-]+[[:space:]]+){4}[0-9A-Za-z*/,-]+' ||
  fail "BACKUP_CRON must be a cron schedule (five fields, e.g. \"0 3 * * *\", or @daily), got \"$BACKUP_CRON\""
[ -n "${PGHOST:-}" ] && [ -n "${PGUSER:-}" ] && [ -n "${PGDATABASE:-}" ] ||
  fail 'PGHOST, PGUSER and PGDATABASE must be set'
[ -z "${PGPASSWORD_FILE:-}" ] || [ -r "$PGPASSWORD_FILE" ] || fail "PGPASSWORD_FILE $PGPASSWORD_FILE cannot be read"

log=/var/lib/protobank-backup/log
# A FIFO of the image's, postgres:root 660 (root without CAP_DAC_OVERRIDE opens it as its group);
# opened read-write, so the copy never sees end-of-file between jobs.
cat 0<>"$log" &

{
  echo 'SHELL=/bin/sh'
  echo "PATH=$PATH"
  echo "BACKUP_DIR=${BACKUP_DIR:-/backups}"
  echo "BACKUP_KEEP=$BACKUP_KEEP"
  for name in PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD_FILE PGSSLMODE; do
    eval "value=\${$name:-}"
    [ -z "$value" ] || echo "$name=$value"
  done
  echo "$BACKUP_CRON postgres /usr/local/bin/protobank-backup >$log 2>&1"
} >/etc/cron.d/protobank-backup
chmod 644 /etc/cron.d/protobank-backup

echo "backup: scheduled \"$BACKUP_CRON\", into ${BACKUP_DIR:-/backups}, keeping the newest $BACKUP_KEEP; database $PGDATABASE as $PGUSER at $PGHOST:${PGPORT:-5432}; $(pg_dump --version)"
exec cron -f

#!/bin/sh
# One logical backup of the Protobank database: pg_dump's custom format (compressed, one snapshot, so
# every table is as of the same instant), named protobank-<UTC time>.dump (sorts by time) in BACKUP_DIR.
# Written under a hidden temporary name and linked into place only when pg_dump succeeded, so a file
# named like a backup is always a whole one. With BACKUP_KEEP=N, then deletes all but the newest N, once
# the new one is recorded (below): a backup of the wrong database deletes nothing.
#
# Connection: libpq's variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD; PGPASSWORD_FILE is
# read here, for Docker secrets). `npm run backup` (scripts/backup.js) sets them from DATABASE_URL the
# way the apps read it; the backup container (docker/backup/) sets them from its environment.
# Prints one line per backup and per deletion; exits non-zero, with the reason, on failure. A backup in
# place is recorded in the database's ops.backups (file, size, seconds), whose newest row the apps report
# as backup_last_success_timestamp_seconds (alert BackupTooOld); a backup that cannot be recorded says so
# and exits non-zero, its file kept.
set -eu
umask 077 # a backup holds personal data: readable by its owner only

dir=${BACKUP_DIR:?BACKUP_DIR is not set}
keep=${BACKUP_KEEP:-}
case "$keep" in
  '' | *[!0-9]* | 0) [ -z "$keep" ] || { echo "backup failed: BACKUP_KEEP must be a whole number of at least 1, got \"$keep\"" >&2; exit 2; } ;;
esac
if [ -n "${PGPASSWORD_FILE:-}" ]; then
  PGPASSWORD=$(cat "$PGPASSWORD_FILE") || { echo "backup failed: cannot read PGPASSWORD_FILE $PGPASSWORD_FILE" >&2; exit 1; }
  export PGPASSWORD
fi

mkdir -p "$dir"
name="protobank-$(date -u +%Y%m%dT%H%M%SZ).dump"
temp="$dir/.$name.$$.partial"
started=$(date +%s)
trap 'rm -f "$temp"' EXIT
trap 'exit 1' INT TERM
if ! pg_dump --format=custom --compress=6 --no-password --file="$temp"; then
  echo "backup failed after $(($(date +%s) - started)) s: pg_dump exited non-zero (its message is above); no file written" >&2
  exit 1
fi
# A hard link never replaces an existing file (two backups in the same second: the second fails).
if ! ln "$temp" "$dir/$name"; then
  echo "backup failed: $dir/$name exists already" >&2
  exit 1
fi
rm -f "$temp"
size=$(wc -c <"$dir/$name" | tr -d ' ')
seconds=$(($(date +%s) - started))
echo "backup written: $dir/$name ($size bytes, $seconds s)"
# psql interpolates :'file' (quoted) only in a script it reads, not in -c.
recorded=0
psql --no-password --no-psqlrc --quiet -v ON_ERROR_STOP=1 -v file="$name" -v bytes="$size" -v seconds="$seconds" \
  >/dev/null <<'SQL' || recorded=3
INSERT INTO ops.backups (file, bytes, seconds) VALUES (:'file', :bytes, :seconds);
SQL
[ "$recorded" -eq 0 ] ||
  echo "backup not recorded in ops.backups (psql's message is above): the file is whole, but BackupTooOld will count from the last recorded one" >&2

if [ -n "$keep" ] && [ "$recorded" -ne 0 ]; then
  # Not recorded: maybe not even the database meant (a typo in its address). Nothing is deleted.
  echo "no backup deleted (BACKUP_KEEP=$keep): this one was not recorded" >&2
elif [ -n "$keep" ]; then
  # Names sort by time; the newest $keep stay.
  ls -1 "$dir" | grep -E '^protobank-[0-9]{8}T[0-9]{6}Z\.dump$' | sort -r | tail -n +$((keep + 1)) |
    while read -r old; do
      rm -f "$dir/$old" && echo "backup deleted (BACKUP_KEEP=$keep): $dir/$old"
    done
fi
exit "$recorded"

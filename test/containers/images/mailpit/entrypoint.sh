#!/bin/sh
# Mailpit takes no arguments our compose file uses; run the command as given.
set -e
exec "$@"

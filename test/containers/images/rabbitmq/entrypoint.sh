#!/bin/bash
# As root: give the data directory to rabbitmq and run the server as rabbitmq (Debian's wrapper in
# /usr/sbin does the switch). The node name stays Debian's default, rabbit@<short hostname>, which is
# the official image's too.
set -euo pipefail
if [ "$1" = 'rabbitmq-server' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p /var/lib/rabbitmq
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
fi
exec "$@"

#!/bin/sh
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" -U certledger --auth=trust -E UTF8 --no-locale >/dev/null
  echo "CREATE DATABASE certledger;" | postgres --single -D "$PGDATA" postgres >/dev/null
fi
exec postgres -D "$PGDATA" -p "$PGPORT" -k /tmp -c listen_addresses=127.0.0.1

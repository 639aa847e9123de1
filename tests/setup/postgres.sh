#!/usr/bin/env bash
# Starts the PostgreSQL server the tests use: Debian's package, a cluster of its own under
# /tmp/energy-pg, listening on 127.0.0.1:25432 only (below the ephemeral port range, so no client socket holds it), user energy / password energy (test-only).
# Idempotent: does nothing when the server already answers.
set -euo pipefail
port="${ENERGY_PG_PORT:-25432}"
data=/tmp/energy-pg/data
log=/tmp/energy-pg/server.log

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(bin_dir)" ]; then
  echo "installing postgresql (Debian package)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql > /dev/null
fi
bin="$(bin_dir)"

if "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; then
  echo "postgresql already answering on 127.0.0.1:$port"
  exit 0
fi

mkdir -p /tmp/energy-pg
chown postgres:postgres /tmp/energy-pg
if [ ! -s "$data/PG_VERSION" ]; then
  echo "initdb $data"
  pwfile=$(mktemp)
  echo energy > "$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- "$bin/initdb" -D "$data" -U energy --pwfile="$pwfile" -A scram-sha-256 --no-sync > /dev/null
  rm -f "$pwfile"
fi
echo "starting postgresql on 127.0.0.1:$port"
runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=/tmp/energy-pg -c max_connections=300" start > /dev/null
"$bin/pg_isready" -h 127.0.0.1 -p "$port"

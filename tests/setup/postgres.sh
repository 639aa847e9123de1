#!/usr/bin/env bash
# Starts the PostgreSQL server the tests use: Debian's package, a cluster of its own under
# /tmp/energy-pg, listening on 127.0.0.1:25432 only (below the ephemeral port range, so no client
# socket holds it), user energy / password energy (test-only).
# Idempotent: does nothing when the server already answers. A cluster left behind by a server that
# did not stop (a machine restored from a copy, a killed container) is started again after its stale
# lock files are removed; a cluster that still will not start is thrown away and made anew, since
# it holds nothing but test data.
set -euo pipefail
port="${ENERGY_PG_PORT:-25432}"
root=/tmp/energy-pg
data=$root/data
log=$root/server.log

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(bin_dir)" ]; then
  echo "installing postgresql (Debian package)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql > /dev/null
fi
bin="$(bin_dir)"

answering() { "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; }

if answering; then
  echo "postgresql already answering on 127.0.0.1:$port"
  exit 0
fi

# A lock file names the process that held it; when that process is not a running postgres server (it
# died, is a zombie, or its number now belongs to something else), the lock is stale and the server would refuse to start.
remove_stale_lock() {
  local lock="$1" pid
  [ -f "$lock" ] || return 0
  pid=$(head -n 1 "$lock" | tr -dc '0-9')
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "postgres" ] \
     && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; then
    return 0
  fi
  echo "removing stale lock $lock (process ${pid:-?} is not a running postgres server)"
  rm -f "$lock"
}

init_cluster() {
  echo "initdb $data"
  local pwfile
  pwfile=$(mktemp)
  echo energy > "$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- "$bin/initdb" -D "$data" -U energy --pwfile="$pwfile" -A scram-sha-256 --no-sync > /dev/null
  rm -f "$pwfile"
}

start_server() {
  echo "starting postgresql on 127.0.0.1:$port"
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$log" -w -t 120 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$root -c max_connections=300" start > /dev/null
}

mkdir -p "$root"
chown -R postgres:postgres "$root"
remove_stale_lock "$data/postmaster.pid"
for lock in "$root"/.s.PGSQL.*.lock; do remove_stale_lock "$lock"; done
[ -s "$data/PG_VERSION" ] || init_cluster

if ! start_server; then
  echo "postgresql did not start; the end of its log:"
  tail -n 20 "$log" 2>/dev/null || true
  echo "making a new test cluster"
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m immediate stop > /dev/null 2>&1 || true
  rm -rf "$data" "$root"/.s.PGSQL.*
  init_cluster
  start_server
fi
answering || { echo "postgresql is not answering on 127.0.0.1:$port"; tail -n 20 "$log"; exit 1; }
echo "postgresql answering on 127.0.0.1:$port"

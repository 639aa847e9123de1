#!/usr/bin/env bash
# The main job: starts an Energy node on this machine (SQLite in .data/, no set-up), runs the city
# scenario against it (chargers and vehicles through the device gateway) with live progress, prints the ledger totals and the audit of every block
# chain, then keeps the node serving until Ctrl-C (or stops at once with --once).
# Needs only the .NET SDK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
once=no
[ "${1:-}" = "--once" ] && once=yes
port="${ENERGY_HTTP_PORT:-5080}"
url="http://127.0.0.1:$port"

echo "== building"
dotnet build cluster/Energy.Node -c Release -nologo -v quiet
dotnet build metering-agents/Energy.Agents.Cli -c Release -nologo -v quiet

mkdir -p .data
echo "== starting a node at $url (journal: .data/node-1/energy.db, log: .data/node-1.log)"
dotnet cluster/Energy.Node/bin/Release/net10.0/energy-node.dll --urls "$url" \
  --Energy:DataDirectory=.data/node-1 > .data/node-1.log 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true; wait $node_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if curl -sf "$url/health" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$node_pid" 2>/dev/null; then echo "the node stopped; see .data/node-1.log"; exit 1; fi
  sleep 0.5
done
curl -sf "$url/health" > /dev/null || { echo "the node did not come up; see .data/node-1.log"; exit 1; }

echo "== the city: vehicles charge and pay per signed meter reading"
dotnet metering-agents/Energy.Agents.Cli/bin/Release/net10.0/energy-agents.dll city --node "$url" "${@:2}"

echo
echo "API: $url/api   OpenAPI: $url/openapi/v1.json"
if [ "$once" = yes ]; then exit 0; fi
echo "The node keeps serving; Ctrl-C stops it."
wait $node_pid

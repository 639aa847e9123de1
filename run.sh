#!/usr/bin/env bash
# The main job: starts an Energy node on this machine (SQLite in .data/, no set-up), runs the city
# scenario against it (chargers, gantries, vehicles and homes through the device gateway) with live progress, prints the ledger totals and the
# audit of every block chain, then keeps the city going and the node serving, with the live dashboard, until Ctrl-C (or stops at once with --once).
# Needs only the .NET SDK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
once=no
if [ "${1:-}" = "--once" ]; then once=yes; shift; fi
port="${ENERGY_HTTP_PORT:-5080}"
tls_port="${ENERGY_TLS_PORT:-5443}"
url="http://127.0.0.1:$port"

echo "== building"
dotnet build cluster/Energy.Node -c Release -nologo -v quiet
dotnet build metering-agents/Energy.Agents.Cli -c Release -nologo -v quiet
# The dashboard's browser libraries come from npm; without Node.js the network runs, the page says what is missing.
if command -v npm > /dev/null 2>&1 && [ ! -d dashboard/web/node_modules ]; then
  npm ci --prefix dashboard/web --no-audit --no-fund > /dev/null 2>&1 || echo "npm ci in dashboard/web failed: the dashboard page will lack its libraries"
fi

mkdir -p .data
# A data folder of an earlier format (parties without their kind, operators without admissions, vouchers
# without a purpose) is kept aside, not read.
if [ -e .data/node-1/energy.db ] && [ "$(cat .data/node-1/data-format 2>/dev/null)" != "3" ]; then
  aside=".data-format-old-$(date +%Y%m%d%H%M%S)"
  echo "== .data was written by an earlier format: moved to $aside"
  mv .data "$aside"
  mkdir -p .data
fi
echo "== starting a node at $url (journal: .data/node-1/energy.db, log: .data/node-1.log)"
# The zones' markets clear every few seconds here, so that the city's homes trade in several intervals each round.
market_interval_ms="${ENERGY_MARKET_INTERVAL_MS:-4000}"
market_gate_ms=1000
dotnet cluster/Energy.Node/bin/Release/net10.0/energy-node.dll --urls "$url" \
  --Energy:DataDirectory=.data/node-1 --Energy:Tls:Port="$tls_port" \
  --Energy:Market:IntervalMs="$market_interval_ms" --Energy:Market:GateClosureMs="$market_gate_ms" > .data/node-1.log 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true; wait $node_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if curl -sf "$url/health/ready" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$node_pid" 2>/dev/null; then echo "the node stopped; see .data/node-1.log"; exit 1; fi
  sleep 0.5
done
curl -sf "$url/health/ready" > /dev/null || { echo "the node did not come up; see .data/node-1.log"; exit 1; }

echo "== the city: vehicles drive the ring road, pay tolls, charge and pay per signed meter reading; homes trade with a neighbour and in their zones' markets"
market=(--market-interval-ms "$market_interval_ms" --market-gate-closure-ms "$market_gate_ms")
dotnet metering-agents/Energy.Agents.Cli/bin/Release/net10.0/energy-agents.dll city --node "$url" "${market[@]}" "$@"

echo
echo "API: $url/api   OpenAPI: $url/openapi/v1.json"
echo "OCPP 1.6J: ws://127.0.0.1:$port/ocpp/{id}, wss://127.0.0.1:$tls_port/ocpp/{id} (self-signed: .data/node-1/tls-certificate.pem); each charger with the password its operator set"
echo "Dashboard: $url/dashboard   (sign in with .data/grid-dashboard.key: the grid operator's id, then its dashboard's viewer key)"
if [ "$once" = yes ]; then exit 0; fi
echo "The city goes on, round after round, so that the dashboard stays live; Ctrl-C stops it and the node."
dotnet metering-agents/Energy.Agents.Cli/bin/Release/net10.0/energy-agents.dll city --node "$url" --rounds 0 "${market[@]}" "$@" > .data/city.log 2>&1 &
city_pid=$!
trap 'kill $city_pid $node_pid 2>/dev/null || true; wait $node_pid 2>/dev/null || true' EXIT
wait $node_pid

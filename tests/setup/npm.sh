#!/usr/bin/env bash
# Installs the JavaScript test clients, dclint (which checks docker-compose.yml) and the dashboard's browser libraries from the npm registry (exact versions from package-lock.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "installing nodejs and npm (Debian packages)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq nodejs npm > /dev/null
fi
echo "npm ci in tests/ocpp-client, tests/browser, tests/compose and dashboard/web (node $(node --version))"
(cd ocpp-client && npm ci --no-audit --no-fund --loglevel=error)
(cd browser && npm ci --no-audit --no-fund --loglevel=error)
(cd compose && npm ci --no-audit --no-fund --loglevel=error)
(cd ../dashboard/web && npm ci --no-audit --no-fund --loglevel=error)

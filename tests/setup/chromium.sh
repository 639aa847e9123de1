#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests (driven by playwright-core; no browser download).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
  exit 0
fi
echo "installing chromium (Debian package)"
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium > /dev/null
/usr/bin/chromium --version

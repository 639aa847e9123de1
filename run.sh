#!/usr/bin/env bash
# The main job: runs Energy on this machine. Needs only the .NET SDK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec dotnet run --project metering-agents/Energy.Agents.Cli -c Release -- demo "$@"

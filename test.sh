#!/usr/bin/env bash
# Runs every test of Energy on a machine that has only the .NET SDK: installs what the tests need,
# builds, runs all test projects, and ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
root="$(pwd)"
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

for setup in "$root"/tests/setup/*.sh; do
  [ -e "$setup" ] || continue
  echo "== setup: $(basename "$setup")"
  bash "$setup"
done

echo "== restore and build"
dotnet build Energy.sln -c Release -nologo -v quiet

echo "== test"
status=0
# One test project at a time: this machine has two cores, and the suites start clusters and processes.
for project in tests/*/*.Tests.csproj; do
  echo "== $project"
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" || status=$?
done

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
if [ "$failed" -ne 0 ]; then
  # The names of the failed tests and the first line of each error, last, where a reader of the tail sees them.
  echo "== failed tests"
  for trx in "$results"/*.trx; do
    [ -e "$trx" ] || continue
    # A failed result's name is on its UnitTestResult element; its message follows in <Message>.
    awk '
      /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1; next }
      want && /<Message>/ { line = $0; sub(/.*<Message>/, "", line); sub(/<\/Message>.*/, "", line); print "FAILED " name ": " substr(line, 1, 300); want = 0 }
    ' "$trx"
  done
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The runner failed without a failed test (a crash, a build error): count it as a failure.
  failed=1
fi
echo "$passed passed, $failed failed"
exit "$status"

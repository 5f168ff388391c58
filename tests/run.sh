#!/usr/bin/env bash
# The README's test command (`npm test`): installs and starts whatever the
# tests need (as root, idempotent), runs every test (unit, integration
# against the real services, end-to-end under Deno and Bun) and ends with an
# honest "N passed, N failed" line taken from the test runner's own summary.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/bun ]; then
  npm ci || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! bash deploy/provision.sh; then
  echo "provisioning failed"
  echo "0 passed, 1 failed"
  exit 1
fi

export NO_COLOR=1
out="$(mktemp)"
# a hung test must not hang CI: the whole run is bounded (generously)
timeout --signal=KILL "${SWITCHYARD_TEST_TIMEOUT:-5400}" node_modules/.bin/deno test -A --doc "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
summary="$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$out" | tail -n 1)"
rm -f "$out"
if [ -z "$summary" ]; then
  # the runner stopped before its summary (a type error, a crash): that is a failure
  echo "0 passed, 1 failed"
  exit 1
fi
passed="$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")"
failed="$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")"
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]

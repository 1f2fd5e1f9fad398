#!/usr/bin/env bash
# Every test: the policy reader and compiler, the executor (CPython's subprocess contract), the service,
# the attacks and resource limits, and the CLI end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The example configurations hold (example) secrets: `confine serve` accepts them only when private.
chmod 600 examples/service.json examples/functions.json
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test-output.txt | grep -vE '^(◇|↳)|started\.$'
# The shipped policies must stay SAFE or better.
.build/debug/confine audit --fail-on medium policies/ >/dev/null
echo "policy audit: every shipped policy is SAFE or better"
# The service, fuzzed from its OpenAPI document (schemathesis): no 5xx, answers as documented,
# a clean SIGTERM and no process left behind.
scripts/fuzz.sh .build/debug/confine

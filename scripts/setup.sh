#!/usr/bin/env bash
# First run on a fresh machine: install what is missing, build, and run `ls -l` confined.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The example configurations hold (example) secrets: `confine serve` accepts them only when private.
chmod 600 examples/service.json examples/functions.json
swift build -c release --static-swift-stdlib --product confine
swift build -c release --static-swift-stdlib --product confine-server
swift build -c release --product confine-launch
echo "+ .build/release/confine run -- ls -l"
.build/release/confine run -- ls -l

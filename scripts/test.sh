#!/usr/bin/env bash
# Every test: the policy reader and compiler, the executor (CPython's subprocess contract), the service,
# the attacks and resource limits, and the CLI end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The example configurations hold (example) secrets: `confine serve` accepts them only when private.
chmod 600 examples/service.json examples/functions.json
swift build --build-tests
# A throwaway PostgreSQL on loopback (installed from Debian's packages when missing) for the store
# suite's PostgreSQL cases and the fleet test; stopped and removed on the way out, whatever happens.
pgdir=$(mktemp -d /var/tmp/confine-pg-XXXXXX)
cleanup() {
    scripts/postgres.sh stop "$pgdir" >/dev/null 2>&1 || true
    if [ "${restore_cgroups:-}" = 1 ]; then scripts/cgroup-layout.sh v1; fi
}
trap cleanup EXIT
CONFINE_TEST_POSTGRES=$(scripts/postgres.sh start "$pgdir")
export CONFINE_TEST_POSTGRES
swift test --skip-build 2>&1 | tee .build/test-output.txt | grep -vE '^(◇|↳)|started\.$'
grep -q 'aTaskIsClaimedOnceAndItsResultWrittenOnce(_:) with 2 test cases passed' .build/test-output.txt \
    || { echo "the store suite did not run against PostgreSQL"; exit 1; }
# The fleet: three confine-server nodes on that PostgreSQL (the official SDK through each, a replay
# refused across nodes, 200 async invocations through a SIGKILLed node, the database going away).
python3 Tests/Fixtures/fleet_test.py .build/debug "$pgdir"
# The shipped policies must stay SAFE or better.
.build/debug/confine audit --fail-on medium policies/ >/dev/null
echo "policy audit: every shipped policy is SAFE or better"
# The README's examples, exit statuses, record fields and synopses, run against the binaries.
scripts/readme-check.py .build/debug
# The service, fuzzed from its OpenAPI document (schemathesis): no 5xx, answers as documented,
# a clean SIGTERM and no process left behind.
scripts/fuzz.sh .build/debug/confine
# cgroup v2: the resource tests again with the pids and cpu controllers moved to this machine's
# v2 hierarchy (the layout of current distributions), then moved back.
if [ "$(id -u)" = 0 ] && [ "$(scripts/cgroup-layout.sh show | grep -c ' v1$')" -ge 2 ]; then
    # (the way back is set first: a move that fails half-way is undone too)
    restore_cgroups=1
    scripts/cgroup-layout.sh v2 || { echo "cgroup v2: pids and cpu cannot be moved to cgroup v2 here"; exit 1; }
    CONFINE_CGROUP_LAYOUT=v2 swift test --skip-build --filter 'IsolationTests|ContainmentTests' > .build/test-v2.txt 2>&1 \
        || { tail -30 .build/test-v2.txt; echo "the resource tests failed with pids and cpu on cgroup v2"; exit 1; }
    tail -1 .build/test-v2.txt
    scripts/cgroup-layout.sh v1
    restore_cgroups=0
    echo "cgroup v2: the isolation and containment tests pass with pids and cpu on cgroup v2"
fi
# An installation under a prefix finds its policies, and runs a command, from a folder of its own.
if [ -x .build/release/confine ] && [ -x .build/release/confine-server ] && [ -x .build/release/confine-launch ]; then
    prefix=$(mktemp -d /var/tmp/confine-prefix-XXXXXX) && chmod 755 "$prefix"
    scripts/install.sh "$prefix" > /dev/null
    listed=$(cd / && "$prefix/bin/confine" policy list | awk '{print $1}' | sort | tr '\n' ' ')
    [ "$listed" = "base default network python strict " ] || { echo "install: policy list says '$listed'"; exit 1; }
    (cd "$prefix" && "$prefix/bin/confine" run -q -- true) || { echo "install: confine run failed"; exit 1; }
    scripts/install.sh --uninstall "$prefix" > /dev/null
    [ ! -e "$prefix/bin/confine" ] || { echo "install: --uninstall left $prefix/bin/confine"; exit 1; }
    rm -rf "$prefix"
    echo "install: scripts/install.sh PREFIX lists the shipped policies and runs a command from PREFIX/bin"
fi
# The man pages build (swift-argument-parser's generate-manual plugin) and cover every subcommand.
mkdir -p .build/man
swift package --allow-writing-to-package-directory generate-manual --output-directory .build/man > .build/man/log.txt 2>&1 \
    || { tail -5 .build/man/log.txt; echo "man: generate-manual failed"; exit 1; }
for sub in run check audit policy list show diff import export learn invoke doctor serve log; do
    grep -qx "\.It Em $sub" .build/man/confine.1 || { echo "man: confine.1 does not cover '$sub'"; exit 1; }
done
echo "man: .build/man/confine.1 and confine-server.1 generated"

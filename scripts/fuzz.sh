#!/usr/bin/env bash
# Fuzzes `confine serve` against openapi.yaml with Schemathesis, every request ACS3-signed
# (Tests/Fixtures/schemathesis_hooks.py), then stops the server with SIGTERM and checks that it
# exited 0 and left no process behind.
#
#   scripts/fuzz.sh [path/to/confine]          (default .build/debug/confine)
#
# Environment: CONFINE_FUZZ_EXAMPLES (examples per operation and phase, default 200),
# CONFINE_FUZZ_SEED (a seed, to replay a run), CONFINE_FUZZ_VENV (where Schemathesis is installed,
# default .build/fuzz-venv), CONFINE_FUZZ_REPORT_DIR (JUnit report, default .build/fuzz-report),
# CONFINE_FUZZ_POLICIES (the policy directory, default policies/: for a binary older than the tree),
# CONFINE_FUZZ_KEEP=1 (keep the temporary directory: config, server log, audit log).
# Checks: all of Schemathesis' (server errors, status codes, content types, headers, response schemas,
# positive/negative data, auth enforcement, undeclared methods, links), the response-time limit at
# 30s rather than 10s: functions time out after 5-20s, and a loaded 2-core machine stretches that.
# Exit status: 0 when every check passed, the server stopped cleanly and nothing was left running.
set -euo pipefail

# Run as a child subreaper (the flag survives exec): whatever the server leaves running when it
# exits is re-parented to this shell, where `pgrep -P $$` finds it.
if [ -z "${CONFINE_FUZZ_SUBREAPER:-}" ]; then
  export CONFINE_FUZZ_SUBREAPER=1
  exec python3 -c 'import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

SCHEMATHESIS_VERSION=4.32.5
root="$(cd "$(dirname "$0")/.." && pwd)"
binary="${1:-$root/.build/debug/confine}"
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
[ -x "$binary" ] || { echo "fuzz: $binary is not an executable (build first, or pass the confine binary)" >&2; exit 2; }
examples="${CONFINE_FUZZ_EXAMPLES:-200}"
venv="${CONFINE_FUZZ_VENV:-$root/.build/fuzz-venv}"
reports="${CONFINE_FUZZ_REPORT_DIR:-$root/.build/fuzz-report}"
policies="${CONFINE_FUZZ_POLICIES:-$root/policies}"

# --- Schemathesis, pinned, in its own virtual environment
schemathesis=("$venv/bin/schemathesis")
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  if python3 -m venv --clear "$venv" >/dev/null 2>&1 && [ -x "$venv/bin/pip" ]; then
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  else
    # No venv module (Debian without python3-venv): a plain target directory.
    rm -rf "$venv" && mkdir -p "$venv/lib"
    python3 -m pip install -q --disable-pip-version-check --target "$venv/lib" "schemathesis==$SCHEMATHESIS_VERSION" 2>/dev/null \
      || python3 -m pip install -q --disable-pip-version-check --break-system-packages --target "$venv/lib" "schemathesis==$SCHEMATHESIS_VERSION"
    mkdir -p "$venv/bin"
    printf '#!/bin/sh\nPYTHONPATH="%s" exec python3 -m schemathesis.cli "$@"\n' "$venv/lib" > "$venv/bin/schemathesis"
    chmod +x "$venv/bin/schemathesis"
  fi
fi
"${schemathesis[@]}" --version

# --- a service file for the run: one key with every function and the default/strict policies
tmp="$(mktemp -d "${TMPDIR:-/tmp}/confine-fuzz.XXXXXX")"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server" 2>/dev/null || true; fi
  if [ "${CONFINE_FUZZ_KEEP:-}" = 1 ]; then echo "fuzz: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export CONFINE_TEST_KEY_ID="fuzz-key"
CONFINE_TEST_KEY_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export CONFINE_TEST_KEY_SECRET
touch "$tmp/service.json"; chmod 600 "$tmp/service.json"
cat > "$tmp/service.json" <<EOF
{
  "version": 1,
  "comment": "written by scripts/fuzz.sh",
  "functions": "$root/examples/functions.json",
  "auditLog": "$tmp/audit.sqlite",
  "policyPaths": ["$policies"],
  "keys": {
    "$CONFINE_TEST_KEY_ID": { "secret": "$CONFINE_TEST_KEY_SECRET", "functions": ["*"], "policies": ["default", "strict"],
                              "rateLimit": 100000, "burst": 100000 }
  },
  "limits": { "concurrency": 4, "queue": 256, "grace": "5s" }
}
EOF

# --- the server
CONFINE_POLICY_PATH="$policies" "$binary" serve --config "$tmp/service.json" --host 127.0.0.1 --port "$port" \
  --log-level warning > "$tmp/server.log" 2>&1 &
server=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "fuzz: the server exited at start-up:" >&2; cat "$tmp/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$url/healthz" >/dev/null || { echo "fuzz: no answer from $url/healthz" >&2; cat "$tmp/server.log" >&2; exit 1; }
echo "fuzz: $binary serving on $url"

hooks="$root/Tests/Fixtures/schemathesis_hooks.py"
# The task the spec's example for GET .../async-tasks/{id} names, so that route is tested past a 404.
python3 "$hooks" POST "$url/2023-03-30/functions/upper/invocations" -H 'x-fc-invocation-type: Async' \
  -H 'x-fc-async-task-id: fuzz-example-task' -d 'hello' | head -1 | grep -q '^202 ' \
  || { echo "fuzz: could not enqueue the example task" >&2; exit 1; }

# --- the run
status=0
mkdir -p "$reports"
seed=()
[ -n "${CONFINE_FUZZ_SEED:-}" ] && seed=(--seed "$CONFINE_FUZZ_SEED")
(
  cd "$tmp"   # Schemathesis keeps its own files in the working directory
  SCHEMATHESIS_HOOKS="$hooks" "${schemathesis[@]}" run "$root/openapi.yaml" --url "$url" \
    --checks all --max-examples "$examples" "${seed[@]}" \
    --generation-database none --request-timeout 60 --max-response-time 30 --no-color \
    --report junit --report-junit-path "$reports/junit.xml"
) || status=$?
[ "$status" -eq 0 ] || echo "fuzz: schemathesis failed (exit $status)" >&2

# --- stop: SIGTERM, a clean exit, nothing left behind
if ! kill -0 "$server" 2>/dev/null; then
  echo "fuzz: the server died during the run:" >&2; tail -50 "$tmp/server.log" >&2; server=""; exit 1
fi
kill -TERM "$server"
exited=""
for _ in $(seq 1 150); do   # the grace period is 5s; allow 30s
  kill -0 "$server" 2>/dev/null || { exited=1; break; }
  sleep 0.2
done
if [ -z "$exited" ]; then
  echo "fuzz: the server did not stop within 30s of SIGTERM" >&2; status=1
else
  code=0; wait "$server" || code=$?
  server=""
  if [ "$code" -ne 0 ]; then echo "fuzz: the server exited $code after SIGTERM" >&2; tail -30 "$tmp/server.log" >&2; status=1; fi
fi
sleep 0.5
pgrep -P $$ > "$tmp/left" || true
if [ -s "$tmp/left" ]; then
  echo "fuzz: processes left behind by the server:" >&2
  ps -o pid,ppid,pgid,etime,args -p "$(paste -sd, "$tmp/left")" >&2 || true
  xargs -r kill -KILL < "$tmp/left" 2>/dev/null || true
  status=1
fi
if grep -E '\b(critical|Fatal error)\b' "$tmp/server.log" >&2; then status=1; fi
if [ "$status" -eq 0 ]; then echo "fuzz: passed; the server stopped cleanly and left nothing running"; fi
exit "$status"

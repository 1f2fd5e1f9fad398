#!/usr/bin/env bash
# Installs what Confine needs on Debian/Ubuntu: libseccomp (headers and library), python3 for
# the Python handlers and tests, libcurl's headers (FoundationNetworking links it when the CLI
# is built with --static-swift-stdlib), SQLite's headers (the service's audit log, through GRDB),
# the peers the benchmarks compare against (bwrap, wrk), setcap (libcap2-bin) for a test, and jq
# (a README example pipes a record through it).
set -euo pipefail
packages=(libseccomp-dev python3 bubblewrap libcurl4-openssl-dev libsqlite3-dev wrk libcap2-bin jq)
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install a Swift 6 toolchain first" >&2; exit 1; }
# The object-storage example's Python dependencies, installed into its code folder's python/
# as Function Compute expects (used by the tests).
root="$(cd "$(dirname "$0")/.." && pwd)"
deps="$root/examples/oss-put/python"
if [ ! -d "$deps/oss2" ] || [ ! -d "$deps/OpenSSL" ]; then
  echo "installing the oss-put example's Python dependencies into examples/oss-put/python"
  python3 -m pip install -q --disable-pip-version-check --target "$deps" -r "$root/examples/oss-put/requirements.txt" 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages --target "$deps" -r "$root/examples/oss-put/requirements.txt"
fi

# The official Function Compute 3.0 SDK, which the service tests point at `confine serve` to show
# that an unchanged FC client works (installed apart from the system's packages).
sdk="$root/.build-python"
if [ ! -d "$sdk/alibabacloud_fc20230330" ]; then
  echo "installing the Function Compute SDK (test client) into .build-python"
  python3 -m pip install -q --disable-pip-version-check --target "$sdk" alibabacloud_fc20230330==4.8.3 \
    alibabacloud_tea_openapi==0.4.6 darabonba-core==1.0.9 alibabacloud-credentials==1.0.12
fi

# A SARIF 2.1.0 validator (models of the OASIS schema) for `confine audit --format sarif`'s test.
# (a folder of its own: it brings pydantic, which the FC SDK's folder does not need)
sarif="$root/.build-sarif"
if [ ! -d "$sarif/sarif_pydantic" ]; then
  echo "installing sarif-pydantic (SARIF 2.1.0 validator) into .build-sarif"
  python3 -m pip install -q --disable-pip-version-check --target "$sarif" sarif-pydantic==0.6.2
fi

#!/usr/bin/env bash
# Installs Confine under a prefix (default /usr/local): the release binaries built by
# scripts/setup.sh into PREFIX/bin, the policies into PREFIX/share/confine/policies (found there
# by a binary in PREFIX/bin), and nothing else. Run as the user who may write PREFIX.
#   scripts/install.sh [PREFIX]          install (builds the release binaries if missing)
#   scripts/install.sh --uninstall [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
uninstall=false
if [ "${1:-}" = "--uninstall" ]; then uninstall=true; shift; fi
prefix="${1:-/usr/local}"
case "$prefix" in /*) ;; *) echo "install.sh: PREFIX must be an absolute path, not '$prefix'" >&2; exit 2 ;; esac
binaries=(confine confine-server confine-launch)
if $uninstall; then
    for b in "${binaries[@]}"; do rm -f "$prefix/bin/$b"; done
    rm -rf "$prefix/share/confine"
    echo "removed Confine from $prefix"
    exit 0
fi
for b in "${binaries[@]}"; do
    if [ ! -x ".build/release/$b" ]; then
        case "$b" in
            confine-launch) swift build -c release --product confine-launch ;;
            *) swift build -c release --static-swift-stdlib --product "$b" ;;
        esac
    fi
done
install -d -m 0755 "$prefix/bin" "$prefix/share/confine/policies"
for b in "${binaries[@]}"; do install -m 0755 ".build/release/$b" "$prefix/bin/$b"; done
install -m 0644 policies/*.json "$prefix/share/confine/policies/"
echo "installed into $prefix: bin/{${binaries[*]// /,}}, share/confine/policies ($(ls policies/*.json | wc -l) policies)"
echo "+ $prefix/bin/confine policy list"
"$prefix/bin/confine" policy list

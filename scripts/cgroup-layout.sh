#!/usr/bin/env bash
# Moves the cpu and pids controllers of this machine between their cgroup v1 hierarchies
# (/sys/fs/cgroup/cpu, /sys/fs/cgroup/pids) and the cgroup v2 hierarchy, so that the tests also
# see a host where they are v2 only, as on current distributions (scripts/test.sh runs the
# resource tests on both layouts). A v1 hierarchy can move only while it holds no cgroup but
# Confine's (emptied here: no command may be running) and no open file. memory stays where it is
# (on the test machines, the v1 memory hierarchy holds other cgroups).
#   scripts/cgroup-layout.sh v2 | v1 | show      (root)
set -euo pipefail
unified=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
controllers=(pids cpu)
say() { echo "cgroup-layout: $*" >&2; }
# Confine's leaves, deepest first, then the folder itself; fails if a process is still in one.
empty_confine() {
    [ -d "$1" ] || return 0
    find "$1" -mindepth 1 -depth -type d -exec rmdir {} +
    rmdir "$1"
}
[ -n "$unified" ] || { say "no cgroup v2 hierarchy is mounted"; exit 1; }
case "${1:-show}" in
v2)
    for c in "${controllers[@]}"; do
        d=/sys/fs/cgroup/$c
        if mountpoint -q "$d"; then
            others=$(find "$d" -mindepth 1 -maxdepth 1 -type d ! -name confine | head -1)
            [ -z "$others" ] || { say "$d holds $others: $c cannot move"; exit 1; }
            empty_confine "$d/confine"
            # The hierarchy goes away only if no cgroup, a removed one still being freed
            # included, is left at the moment of the unmount: wait until only its root counts.
            for _ in $(seq 100); do
                [ "$(awk -v c="$c" '$1 == c { print $3 }' /proc/cgroups)" = 1 ] && break
                sleep 0.1
            done
            umount "$d"
        fi
        # then its controller shows up in the v2 hierarchy (an unmount that came too early
        # leaves the hierarchy bound: mounted again and unmounted once more)
        for attempt in $(seq 50); do
            grep -qw "$c" "$unified/cgroup.controllers" && break
            if [ "$attempt" = 20 ] && ! mountpoint -q "$d"; then
                mount -t cgroup -o "$c" cgroup "$d" && sleep 0.5 && umount "$d"
            fi
            sleep 0.1
        done
        grep -qw "$c" "$unified/cgroup.controllers" || { say "$c is not offered by $unified after the move"; exit 1; }
        grep -qw "$c" "$unified/cgroup.subtree_control" || echo "+$c" > "$unified/cgroup.subtree_control"
    done
    say "${controllers[*]} on cgroup v2 ($unified)" ;;
v1)
    empty_confine "$unified/confine"
    for c in "${controllers[@]}"; do
        if grep -qw "$c" "$unified/cgroup.subtree_control"; then echo "-$c" > "$unified/cgroup.subtree_control"; fi
        d=/sys/fs/cgroup/$c
        mkdir -p "$d"
        mountpoint -q "$d" && continue
        # the controller can be bound to a v1 hierarchy again once the v2 cgroups that used it,
        # removed ones still being freed included, are gone (EBUSY until then)
        for _ in $(seq 100); do
            [ "$(awk -v c="$c" '$1 == c { print $3 }' /proc/cgroups)" = 1 ] && break
            sleep 0.1
        done
        for attempt in $(seq 40); do
            mount -t cgroup -o "$c" cgroup "$d" 2>/dev/null && break
            [ "$attempt" = 40 ] && { say "cannot mount the v1 $c hierarchy at $d again"; exit 1; }
            sleep 0.25
        done
    done
    say "${controllers[*]} on cgroup v1 (under /sys/fs/cgroup)" ;;
show)
    for c in memory cpu pids; do
        if mountpoint -q "/sys/fs/cgroup/$c" && [ -e "/sys/fs/cgroup/$c/cgroup.procs" ]; then echo "$c v1"
        elif grep -qw "$c" "$unified/cgroup.controllers"; then echo "$c v2"
        else echo "$c none"; fi
    done ;;
*) say "usage: scripts/cgroup-layout.sh v2|v1|show"; exit 2 ;;
esac

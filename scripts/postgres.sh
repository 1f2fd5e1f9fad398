#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of the service's PostgreSQL store: a fresh cluster
# in a folder of the caller's, listening only on 127.0.0.1 on a free port, with a role and a
# database `confine` (password `confine-test`) reached with a password over TCP. Installs
# PostgreSQL from Debian's packages when it is missing.
#
#   scripts/postgres.sh start DIR     makes the cluster in DIR and starts it; prints its URL
#                                     (postgres://confine:confine-test@127.0.0.1:PORT/confine),
#                                     also written to DIR/url (the port to DIR/port)
#   scripts/postgres.sh kill DIR      stops it abruptly (pg_ctl stop -m immediate), keeping the
#                                     data: the tests' "database went away"
#   scripts/postgres.sh restart DIR   starts it again on the same port; prints the URL again
#   scripts/postgres.sh stop DIR      stops it and removes DIR (no error when already gone)
#
# stdout carries the URL only; progress and errors go to stderr. PostgreSQL refuses to run as
# root: as root, the server runs as the `postgres` user (or a system user `confine-pg` made here),
# and DIR is handed to that user; as another user, it runs as that user.
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cmd="${1:-}"
dir="${2:-}"
case "$cmd" in start|stop|kill|restart) ;; *) die "usage: $0 start|stop|kill|restart DIR" ;; esac
[ -n "$dir" ] || die "usage: $0 $cmd DIR"
[ "$dir" != / ] || die "refusing / as DIR"
# (absolute: the server and pg_ctl run from / and the configuration names the socket folder)
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
dir="${dir%/}"
data="$dir/data"
log="$dir/postgres.log"
# Written first by `start`: `stop` removes only a folder that holds it (or an empty one).
marker="$dir/.confine-postgres"

# stop on a folder that is already gone: nothing to do, before any install or user look-up.
if [ "$cmd" = stop ] && [ ! -d "$dir" ]; then exit 0; fi

# The server's binaries (Debian keeps them out of PATH, under /usr/lib/postgresql/VERSION/bin):
# the newest version installed, or Debian's supported one installed now.
find_bin() {
    local b
    for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$b/initdb" ] && [ -x "$b/postgres" ] && [ -x "$b/pg_ctl" ] && [ -x "$b/pg_isready" ] && [ -x "$b/psql" ]; then
            echo "$b"; return 0
        fi
    done
    return 1
}
if ! bin=$(find_bin); then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "installing PostgreSQL (Debian's postgresql package)"
    # The package makes a cluster of its own (main, port 5432) and starts it through invoke-rc.d;
    # a policy-rc.d that says no keeps it from running (containers usually have one already).
    policy=/usr/sbin/policy-rc.d
    added_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy"
        added_policy=1
        trap '$sudo rm -f "$policy"' EXIT
    fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
        || die "apt-get install postgresql failed"
    if [ -n "$added_policy" ]; then $sudo rm -f "$policy"; trap - EXIT; fi
    bin=$(find_bin) || die "PostgreSQL's binaries are still missing from /usr/lib/postgresql/*/bin after the install"
fi

# Who runs the server, and how this script runs a command as that user (from /, which every user
# may enter: initdb and postgres complain about a working folder they cannot read).
if [ "$(id -u)" -eq 0 ]; then
    if id -u postgres >/dev/null 2>&1; then
        dbuser=postgres
    else
        id -u confine-pg >/dev/null 2>&1 \
            || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin confine-pg \
            || die "cannot create the system user confine-pg"
        dbuser=confine-pg
    fi
    as_db() { (cd / && runuser -u "$dbuser" -- "$@"); }
else
    dbuser=$(id -un)
    as_db() { (cd / && "$@"); }
fi

url_for() { echo "postgres://confine:confine-test@127.0.0.1:$1/confine"; }

# A port nobody listens on, outside the kernel's range of ephemeral ports (the tests' own outgoing
# connections take their local ports from there, and one could hold the port when `restart` needs
# it again). Bound without SO_REUSEADDR, so a port still in TIME_WAIT is passed over too.
pick_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 - <<'EOF'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
candidates = list(range(10000, low)) if low > 11000 else []
random.shuffle(candidates)
for port in candidates[:500] + [0]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
EOF
    else
        echo $((10000 + RANDOM % 20000))
    fi
}

running() { as_db "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; }

# Starts the server (its port is in DIR/data/confine.conf) and waits until it accepts TCP
# connections. Returns 2 when the port was taken (the caller may try another), 1 otherwise.
start_server() {
    local port="$1" lines
    lines=$( (wc -l < "$log") 2>/dev/null || echo 0)
    if ! as_db "$bin/pg_ctl" start -D "$data" -l "$log" -w -t 30 -s >&2; then
        if tail -n +"$((lines + 1))" "$log" 2>/dev/null | grep -q "Address already in use"; then return 2; fi
        return 1
    fi
    # ready for pg_ctl (postmaster.pid says so); now over TCP, as the tests will connect
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || return 1
}

server_log_tail() {
    if [ -f "$log" ]; then
        say "the server's log ($log) ends with:"
        tail -n 20 "$log" >&2
    fi
}

# Stops the server in the given mode, waiting until it is gone. Falls back to signalling the
# postmaster itself (SIGQUIT, the immediate shutdown; then SIGKILL) if pg_ctl cannot do it.
stop_server() {
    local mode="$1" pid
    [ -d "$data" ] || return 0
    running || return 0
    as_db "$bin/pg_ctl" stop -D "$data" -m "$mode" -w -t 30 -s >&2 && return 0
    say "pg_ctl stop -m $mode failed: signalling the postmaster"
    pid=$(head -1 "$data/postmaster.pid" 2>/dev/null || true)
    # (only if that pid is still a postgres process: a stale file may name a reused pid)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
        die "the postmaster (pid $pid) of $data does not exit"
    fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    [ ! -e "$data" ] || die "$dir already holds a cluster (use restart, or stop to remove it)"
    touch "$marker"
    # The folder (mktemp -d makes it 0700, root's) goes to the server's user.
    if [ "$(id -u)" -eq 0 ]; then chown "$dbuser:" "$dir"; fi
    chmod 700 "$dir"
    as_db test -w "$dir" -a -x "$dir" \
        || die "$dbuser cannot enter $dir: a parent folder is closed to it (make DIR under /var/tmp or /tmp)"

    # Local (socket) connections are trusted: only the superuser's, from this machine, for
    # debugging (psql -h DIR/socket -U postgres). TCP takes a password (SCRAM).
    # --no-sync: initdb's final flush to disk; the server itself keeps fsync on.
    say "initdb $data (as $dbuser)"
    as_db "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C --auth-local=trust \
        --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 \
        || { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed"; }

    # The socket path must fit in sun_path (107 bytes with the file's name, .s.PGSQL.PORT):
    # a DIR too deep gets no socket, TCP still works.
    sock="$dir/socket"
    if [ $(( ${#sock} + 16 )) -le 107 ]; then
        mkdir -p "$sock"
        if [ "$(id -u)" -eq 0 ]; then chown "$dbuser:" "$sock"; fi
    else
        say "$dir is too long a path for a unix socket: TCP only"
        sock=""
    fi
    echo "include = 'confine.conf'" >> "$data/postgresql.conf"
    write_conf() {
        cat > "$data/confine.conf" <<EOF
# Written by scripts/postgres.sh.
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = '${sock//\'/\'\'}'
password_encryption = 'scram-sha-256'
fsync = on
synchronous_commit = on
EOF
        if [ "$(id -u)" -eq 0 ]; then chown "$dbuser:" "$data/confine.conf"; fi
    }

    # The role and its database, in single-user mode before the server listens (so no superuser
    # connection is needed). An error there does not change the exit status: it is looked for.
    port=$(pick_port)
    [ -n "$port" ] || die "no free TCP port on 127.0.0.1"
    write_conf "$port"
    out=$(printf '%s\n' "CREATE ROLE confine LOGIN PASSWORD 'confine-test';" "CREATE DATABASE confine OWNER confine;" \
        | as_db "$bin/postgres" --single -D "$data" postgres 2>&1) \
        || { echo "$out" >&2; die "creating the role and database confine failed"; }
    if echo "$out" | grep -qE '(ERROR|FATAL):'; then echo "$out" >&2; die "creating the role and database confine failed"; fi

    # A port, and another if a concurrent start took it between the choice and the bind.
    for attempt in 1 2 3 4 5; do
        if [ "$attempt" -gt 1 ]; then
            port=$(pick_port)
            [ -n "$port" ] || die "no free TCP port on 127.0.0.1"
            write_conf "$port"
        fi
        say "starting on 127.0.0.1:$port"
        rc=0; start_server "$port" || rc=$?
        [ "$rc" = 0 ] && break
        if [ "$rc" = 2 ] && [ "$attempt" -lt 5 ]; then say "port $port was taken meanwhile: another one"; continue; fi
        stop_server immediate || true
        server_log_tail
        die "the server in $data did not start"
    done
    echo "$port" > "$dir/port"
    url=$(url_for "$port")

    # The URL must work as given: password authentication over TCP, into the right database.
    who=$(PGCONNECT_TIMEOUT=10 "$bin/psql" "$url" -XAtq -v ON_ERROR_STOP=1 -c 'select current_user || current_database()' 2>&1) \
        || { echo "$who" >&2; stop_server immediate || true; server_log_tail; die "cannot connect as confine to $url"; }
    [ "$who" = confineconfine ] || { stop_server immediate || true; die "connected to $url as '$who'"; }

    echo "$url" > "$dir/url"
    echo "$url" ;;

kill)
    [ -d "$data" ] || die "$dir holds no cluster"
    if running; then
        stop_server immediate
        say "stopped (immediate) the server in $data"
    else
        say "the server in $data was not running"
    fi ;;

restart)
    [ -d "$data" ] && [ -f "$dir/port" ] || die "$dir holds no cluster made by '$0 start'"
    port=$(cat "$dir/port")
    url=$(url_for "$port")
    if running; then
        say "the server in $data is already running"
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || { server_log_tail; die "the server in $data does not accept connections"; }
    else
        # The port was free when the server stopped; a few more tries in case a connection still
        # held it for a moment.
        say "restarting on 127.0.0.1:$port"
        for attempt in $(seq 10); do
            rc=0; start_server "$port" || rc=$?
            [ "$rc" = 0 ] && break
            if [ "$rc" = 2 ] && [ "$attempt" -lt 10 ]; then say "port $port is still taken: trying again"; sleep 1; continue; fi
            stop_server immediate || true
            server_log_tail
            die "the server in $data did not start again on port $port"
        done
    fi
    echo "$url" ;;

stop)
    if [ -e "$marker" ] || [ -d "$data" ]; then
        stop_server fast || { server_log_tail; die "cannot stop the server in $data"; }
    elif [ -n "$(ls -A "$dir")" ]; then
        die "$dir was not made by '$0 start': not removing it"
    fi
    rm -rf "$dir"
    say "stopped and removed $dir" ;;
esac

# shellcheck shell=bash
# pg.sh - a throwaway PostgreSQL server for tests (source it)
#
# DESCRIPTION: pg_start makes a temp dir, runs the newest initdb under
#	/usr/lib/postgresql/*/bin as an unprivileged user (the postgres
#	system user when run as root, else the caller), and starts the
#	server on 127.0.0.1 at a free TCP port with its unix socket in the
#	temp dir and fsync, synchronous_commit and full_page_writes off. It
#	waits (30 s at most) for pg_isready, creates the role "outguard"
#	and the database "outguard" it owns (trust auth on loopback), and
#	exports PG_SPEC ("pgsql:host=127.0.0.1 port=N dbname=outguard
#	user=outguard"), PG_PORT, PG_DIR and PG_BIN. pg_stop stops the
#	server (pg_ctl stop -m fast) and removes the dir; pg_kill stops it
#	the hard way (-m immediate: no checkpoint, connections cut), and
#	pg_ctl_start starts it again on the same port and data; pg_restart
#	stops it with -m fast (connections cut too, no commit lost) and
#	starts it again; all for outage tests. With synchronous_commit
#	off, the commits of the last moment before pg_kill may be lost, as
#	in a crash. The server's log is PG_DIR/log.
# DIAGNOSTICS: pg_start returns 77 (the caller's SKIP) when there are
#	no PostgreSQL binaries or no unprivileged user to run them, 1 when
#	the server does not come up (the log is printed to stderr); the
#	other functions return non-zero on failure.

# kept from the environment, so that a child shell can pg_restart
PG_BIN=${PG_BIN:-}
PG_DIR=${PG_DIR:-}
PG_PORT=${PG_PORT:-}
PG_SPEC=${PG_SPEC:-}

# pg_find_bin - the newest /usr/lib/postgresql/*/bin with initdb
pg_find_bin() {
	local d best='' bestv=0 v
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] || continue
		v=${d#/usr/lib/postgresql/}
		v=${v%%/*}
		v=${v%%.*}
		case $v in '' | *[!0-9]*) continue ;; esac
		if [ "$v" -gt "$bestv" ]; then
			bestv=$v
			best=$d
		fi
	done
	[ -n "$best" ] || return 1
	PG_BIN=$best
}

# pg_as_user - run a command as the server's user
pg_as_user() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_port_free - 0 if nothing listens on 127.0.0.1:$1
pg_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pg_ctl_start - start the server on PG_PORT; 0 when it accepts connections
pg_ctl_start() {
	local i
	pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -s \
	    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT \
	    -c unix_socket_directories=$PG_DIR -c fsync=off \
	    -c synchronous_commit=off -c full_page_writes=off" \
	    start >/dev/null 2>&1 || return 1
	for i in $(seq 1 300); do
		if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
			return 0
		fi
		[ "$i" -lt 300 ] && sleep 0.1
	done
	return 1
}

pg_start() {
	local try
	if ! pg_find_bin; then
		echo "pg.sh: no PostgreSQL server binaries" >&2
		return 77
	fi
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "pg.sh: running as root and there is no postgres user" >&2
		return 77
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/og-pg.XXXXXX") || return 1
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PG_DIR" || return 1
	fi
	chmod 0755 "$PG_DIR"
	if ! pg_as_user "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust \
	    -U postgres -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	# A free port: pick one, and try another if the start fails on it.
	for try in 1 2 3 4 5 6 7 8; do
		PG_PORT=$((20000 + (RANDOM * 32768 + RANDOM + $$ + try) % 40000))
		pg_port_free "$PG_PORT" || continue
		if pg_ctl_start; then
			break
		fi
		pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -s -m immediate \
		    stop >/dev/null 2>&1
		PG_PORT=
	done
	if [ -z "$PG_PORT" ]; then
		echo "pg.sh: the server did not start:" >&2
		cat "$PG_DIR/log" >&2
		return 1
	fi
	if ! "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres \
	    -d postgres -v ON_ERROR_STOP=1 \
	    -c "CREATE ROLE outguard LOGIN" \
	    -c "CREATE DATABASE outguard OWNER outguard" >&2; then
		echo "pg.sh: creating the role and database failed" >&2
		return 1
	fi
	PG_SPEC="pgsql:host=127.0.0.1 port=$PG_PORT dbname=outguard user=outguard"
	export PG_BIN PG_DIR PG_PORT PG_SPEC
}

# pg_start_tap DIR - pg_start for a TAP script: without a server it
# prints the skip plan and exits 0, when the start fails one failed test
# and exits 1 (the server's messages kept in DIR/pg_start.err)
pg_start_tap() {
	local rc
	pg_start 2>"$1/pg_start.err"
	rc=$?
	if [ "$rc" = 77 ]; then
		echo "1..0 # SKIP $(head -n 1 "$1/pg_start.err")"
		exit 0
	elif [ "$rc" != 0 ]; then
		echo "1..1"
		echo "not ok 1 - PostgreSQL server starts"
		sed 's/^/# /' "$1/pg_start.err"
		exit 1
	fi
}

# pg_psql - psql as the superuser on database outguard, arguments passed on
pg_psql() {
	"$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U postgres \
	    -d outguard -v ON_ERROR_STOP=1 "$@"
}

# pg_kill - the server stops at once, as on a crash: no checkpoint,
# clients see their connections drop (pg_ctl stop -m immediate)
pg_kill() {
	[ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 1
	pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -s -m immediate -w \
	    -t 30 stop >/dev/null 2>&1
}

# pg_restart - stop the server (-m fast: connections are cut, commits
# kept) and start it again on the same port
pg_restart() {
	[ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 1
	pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -s -m fast -w -t 30 \
	    stop >/dev/null 2>&1 || return 1
	pg_ctl_start
}

pg_stop() {
	if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
		if [ -n "$PG_BIN" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
			pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -s -m fast \
			    -w -t 30 stop >/dev/null 2>&1
		fi
		rm -rf "$PG_DIR"
	fi
	PG_DIR=
}

#!/bin/bash
# t_store_pgsql.sh - the store against a real PostgreSQL server
#
# DESCRIPTION: starts a throwaway server with pg.sh, then runs the whole
#	store unit suite (tests/unit/t_store) against it through
#	OG_TEST_STORE_SPEC, its TAP passed through and renumbered (cmocka's
#	"not ok # SKIP" for the SQLite-only cases becomes "ok # SKIP"),
#	with OG_TEST_PG_RESTART, OG_TEST_PG_STOP and OG_TEST_PG_START set
#	so that its test_reconnect restarts and stops the server under a
#	live handle. Then checks of its own, through outguard-queue-report:
#	a spec with a password (conninfo or URI) is refused with exit 78 and
#	the password never shown; two processes opening an empty database at
#	once both succeed and the schema is migrated once. TAP; SKIP when
#	there is no PostgreSQL server or no built test binary.
# Exercises: lib/store_pgsql.c, lib/store.c, tests/unit/t_store.c.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
t_store="$top_builddir/tests/unit/t_store"
report="$top_builddir/policy/outguard-queue-report"

if [ ! -x "$t_store" ]; then
	echo "1..0 # SKIP $t_store is not built"
	exit 0
fi
# shellcheck source=tests/pgsql/pg.sh
. "$top_srcdir/tests/pgsql/pg.sh"

tmp=$(mktemp -d)
cleanup() {
	pg_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

pg_start_tap "$tmp"

# shellcheck source=tests/tapstatus.sh
. "$top_srcdir/tests/tapstatus.sh"

# ---- the unit suite against PostgreSQL
lib=". '$top_srcdir/tests/pgsql/pg.sh'"
export OG_TEST_STORE_SPEC="$PG_SPEC"
export OG_TEST_PG_RESTART="bash -c \"$lib && pg_restart\""
export OG_TEST_PG_STOP="bash -c \"$lib && pg_kill\""
export OG_TEST_PG_START="bash -c \"$lib && pg_ctl_start\""
export CMOCKA_MESSAGE_OUTPUT=TAP
"$t_store" >"$tmp/unit.out" 2>"$tmp/unit.err"
unit_rc=$?
unset OG_TEST_STORE_SPEC OG_TEST_PG_RESTART OG_TEST_PG_STOP OG_TEST_PG_START
seen=0
while IFS= read -r line; do
	case $line in
	"ok "* | "not ok "*)
		seen=$((seen + 1))
		n=$((n + 1))
		# "ok 3 - name", "not ok 4 - name", "not ok 5 # SKIP name"
		rest=${line#not }
		rest=${rest#ok }
		rest=${rest#* }
		case $line in
		"not ok "*"# SKIP "*)
			echo "ok $n - t_store: ${rest#\# SKIP } # SKIP SQLite only"
			;;
		"ok "*) echo "ok $n - t_store: ${rest#- }" ;;
		*)
			echo "not ok $n - t_store: ${rest#- }"
			fail=1
			;;
		esac
		;;
	"#"*) echo "$line" ;;
	1..*) ;;
	*) echo "# $line" ;;
	esac
done <"$tmp/unit.out"
ok "t_store ran its cases against PostgreSQL (exit $unit_rc, $seen cases)" \
    "$([ "$unit_rc" = 0 ] && [ "$seen" -gt 20 ] && echo 0 || echo 1)"
if [ "$unit_rc" != 0 ]; then
	tail -n 40 "$tmp/unit.err" | sed 's/^/# /'
fi
# test_reconnect leaves the server up
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
ok "the server is up again after the outage cases" $?

# ---- the CLI: a password in the spec, and two processes migrating
if [ ! -x "$report" ]; then
	skip "password in the spec refused" "$report is not built"
	skip "two processes migrate an empty database at once" "no CLI"
else
	conf() { # NAME STORE
		cat >"$tmp/$1.conf" <<CONF
store = $2
provider_domains = file:$top_srcdir/contrib/providers
reply_rules = $top_srcdir/contrib/replies.rules
myhostname = mta.example.net
run_user = nobody
CONF
	}
	conf probe "$PG_SPEC"
	"$report" -c "$tmp/probe.conf" blocks >"$tmp/probe.out" 2>&1
fi
if [ -x "$report" ]; then
	for spec in "$PG_SPEC password=secret" \
	    "pgsql:postgresql://outguard:secret@127.0.0.1:$PG_PORT/outguard"; do
		conf pw "$spec"
		"$report" -c "$tmp/pw.conf" blocks >"$tmp/pw.out" 2>&1
		rc=$?
		grep -q "password in the store spec is refused" "$tmp/pw.out" &&
		    ! grep -q secret "$tmp/pw.out" && [ "$rc" = 78 ]
		ok "password refused, not shown, exit 78 (${spec%%://*}...)" $?
		[ "$rc" = 78 ] || sed 's/^/# /' "$tmp/pw.out"
	done

	"$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U outguard \
	    -d outguard -v ON_ERROR_STOP=1 \
	    -c "DROP SCHEMA public CASCADE" -c "CREATE SCHEMA public" \
	    >/dev/null 2>&1
	ok "the database is emptied" $?
	conf pg "$PG_SPEC"
	"$report" -c "$tmp/pg.conf" blocks >"$tmp/a.out" 2>&1 &
	a=$!
	"$report" -c "$tmp/pg.conf" blocks >"$tmp/b.out" 2>&1 &
	b=$!
	wait "$a"
	ra=$?
	wait "$b"
	rb=$?
	ok "two processes opening an empty database at once both succeed" \
	    "$([ "$ra" = 0 ] && [ "$rb" = 0 ] && echo 0 || echo 1)"
	if [ "$ra" != 0 ] || [ "$rb" != 0 ]; then
		sed 's/^/# a: /' "$tmp/a.out"
		sed 's/^/# b: /' "$tmp/b.out"
	fi
	v=$(pg_psql -c "SELECT value FROM meta WHERE key = 'schema_version'" \
	    -c "SELECT count(*) FROM meta" | tr '\n' ' ')
	[ "$v" = "4 2 " ]
	ok "the schema was migrated once, to version 4 (got: $v)" $?
	m=$(grep -h -c "migrated from schema version 0" "$tmp/a.out" \
	    "$tmp/b.out" | paste -sd+ | bc)
	[ "$m" = 1 ]
	ok "exactly one of them ran the migration (got $m)" $?
fi

echo "1..$n"
exit $fail

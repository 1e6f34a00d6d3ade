#!/bin/bash
# qr_store.sh - "outguard-queue-report store check" and "store migrate"
#	on the SQLite back end
#
# DESCRIPTION: on a store that does not exist yet, check reports
#	schema version 0 and the pending migrations without creating the
#	file (exit 65); migrate makes it and says from which version to
#	which (exit 0), and again says it is up to date; check then reports
#	no migration pending and the row counts, which follow a hold made
#	through the CLI; a spool file left by the daemon is read without
#	being changed (its pending rows); a store whose directory does not
#	exist is unreachable (exit 69, the directory named); a file that
#	is not a database is unreachable too; a bad subcommand is a usage
#	error (exit 64). The PostgreSQL side and the outage runs are
#	tests/pgsql/t_spool.sh's. TAP.
# Exercises: policy/qr_store.c, lib/store.c (og_store_inspect),
#	lib/store_sqlite.c (sq_inspect), lib/spool.c (read-only open).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
report="$top_builddir/policy/outguard-queue-report"

if [ ! -x "$report" ]; then
	echo "1..0 # SKIP $report is not built"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/og-qr-store.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
fail=0
ok() { # description, then the test's status
	n=$((n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		fail=1
		sed 's/^/#   /' "$tmp/out"
	fi
}
# run CONF ARGS... - the report's output in $tmp/out, its status in rc
run() {
	local conf=$1
	shift
	"$report" -c "$conf" "$@" >"$tmp/out" 2>&1
	rc=$?
}

echo "1..10"
printf 'store = sqlite:%s/og.db\nstore_spool = %s/og.spool\n' "$tmp" "$tmp" \
    >"$tmp/c.conf"

run "$tmp/c.conf" store check
[ "$rc" = 65 ] && grep -q '^schema version: 0 (this program: [1-9]' "$tmp/out" &&
    grep -q '^migrations pending: [1-9]' "$tmp/out" && [ ! -e "$tmp/og.db" ]
ok "check on a store not made yet: version 0, pending, exit 65, no file made" $?

run "$tmp/c.conf" store migrate
[ "$rc" = 0 ] && grep -q '^schema version before: 0$' "$tmp/out" &&
    grep -q '^schema version after: [1-9]' "$tmp/out" && [ -s "$tmp/og.db" ]
ok "migrate: from 0 to the current version, exit 0" $?
version=$(sed -n 's/^schema version after: //p' "$tmp/out")

run "$tmp/c.conf" store migrate
[ "$rc" = 0 ] && grep -q "^schema version before: $version$" "$tmp/out" &&
    grep -q "^schema version after: $version (up to date)$" "$tmp/out"
ok "migrate again: nothing to do, exit 0" $?

run "$tmp/c.conf" store check
[ "$rc" = 0 ] && grep -q '^migrations pending: none$' "$tmp/out" &&
    grep -q '^rows: messages 0, holds 0, audit 0, blocks 0, incidents 0$' "$tmp/out" &&
    grep -q 'og.spool: no file' "$tmp/out"
ok "check on the migrated store: none pending, empty tables, no spool" $?

run "$tmp/c.conf" hold sasl:alice --reason "test"
run "$tmp/c.conf" store check
[ "$rc" = 0 ] && grep -q '^rows: messages 0, holds 1, audit 1, blocks 0, incidents 0$' "$tmp/out"
ok "the row counts follow a hold made through the CLI" $?

# a file where the spool should be that is not one: named, not touched
printf 'junk that is not a spool\n' >"$tmp/og.spool"
chmod 0600 "$tmp/og.spool"
cp "$tmp/og.spool" "$tmp/og.spool.before"
run "$tmp/c.conf" store check
grep -q 'og.spool: not readable here: .*not an outguard spool file' "$tmp/out" &&
    cmp -s "$tmp/og.spool" "$tmp/og.spool.before"
ok "a spool file that is not one is reported and left unchanged" $?

printf 'store = sqlite:%s/nodir/og.db\n' "$tmp" >"$tmp/d.conf"
run "$tmp/d.conf" store check
[ "$rc" = 69 ] && grep -q "$tmp/nodir: No such file or directory" "$tmp/out"
ok "a store whose directory does not exist: exit 69, the directory named" $?

printf 'not a database, not at all: %0200d\n' 0 >"$tmp/bad.db"
printf 'store = sqlite:%s/bad.db\n' "$tmp" >"$tmp/b.conf"
run "$tmp/b.conf" store check
[ "$rc" = 69 ]
ok "a file that is not a database: exit 69" $?

run "$tmp/c.conf" store bogus
[ "$rc" = 64 ] && grep -q 'usage: outguard-queue-report store check' "$tmp/out"
ok "a bad subcommand: usage, exit 64" $?

run "$tmp/c.conf" store
[ "$rc" = 64 ]
ok "no subcommand: exit 64" $?
exit $fail

#!/bin/bash
# policy.sh - golden tests for "outguard-policyd -t": the holds in
# tests/golden/policy/holds.txt are made with "outguard-queue-report hold"
# in a fresh store, then each NAME.in (a stream of policy requests) is
# answered and compared with NAME.out. The clock is fixed (OG_FAKE_NOW).
# OG_GOLDEN_UPDATE=1 regenerates the expected files. TAP output.
# Exercises: policy/policyd.c (answers, -t, -s, dry_run) and policy/server.c (the listeners).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
policyd="$top_builddir/policy/outguard-policyd"
report="$top_builddir/policy/outguard-queue-report"
dir="$top_srcdir/tests/golden/policy"
export OG_FAKE_NOW=1795000000

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/outguard.conf" <<CONF
store = sqlite:$tmp/outguard.db
provider_domains = file:$top_srcdir/contrib/providers
reply_rules = $top_srcdir/contrib/replies.rules
myhostname = mta.example.net
CONF

n=0
fail=0
check() { # name, command output file
	n=$((n + 1))
	if [ "${OG_GOLDEN_UPDATE:-0}" = 1 ]; then
		cp "$2" "$dir/$1.out"
	fi
	if diff -u "$dir/$1.out" "$2" >"$tmp/diff" 2>&1; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# /' "$tmp/diff"
		fail=1
	fi
}

# The holds, through the CLI (no Postfix queue here: --no-queue)
grep -v '^#' "$dir/holds.txt" | while read -r identity scope reason; do
	"$report" -c "$tmp/outguard.conf" hold "$identity" --scope "$scope" \
	    --reason "$reason" --no-queue
done 2>&1 | grep -v ': migration to schema version' >"$tmp/hold.out"
check holds "$tmp/hold.out"

for in in "$dir"/*.in; do
	name=$(basename "$in" .in)
	{
		"$policyd" -c "$tmp/outguard.conf" -t <"$in" 2>/dev/null
		echo "exit $?"
	} >"$tmp/out"
	check "$name" "$tmp/out"
done

# dry_run: the same holds, every answer DUNNO, the would-be HOLD logged
cp "$tmp/outguard.conf" "$tmp/dry.conf"
echo "dry_run = yes" >>"$tmp/dry.conf"
"$policyd" -c "$tmp/dry.conf" -t <"$dir/decisions.in" >"$tmp/dry.out" \
    2>"$tmp/dry.err"
n=$((n + 1))
if ! grep -q 'action=HOLD' "$tmp/dry.out" &&
    [ "$(grep -c 'action=DUNNO' "$tmp/dry.out")" = 10 ] &&
    [ "$(grep -c 'action=would-HOLD' "$tmp/dry.err")" = 6 ]; then
	echo "ok $n - dry_run answers DUNNO and logs each would-HOLD"
else
	echo "not ok $n - dry_run answers DUNNO and logs each would-HOLD"
	sed 's/^/# /' "$tmp/dry.out" "$tmp/dry.err" | head -n 20
	fail=1
fi

# -s (spawn(8): one connection on stdin/stdout) answers as -t does; as
# root it drops to run_user, which must be able to write the store
cp "$tmp/outguard.conf" "$tmp/spawn.conf"
echo "run_user = nobody" >>"$tmp/spawn.conf"
chmod 0777 "$tmp"
chmod 0666 "$tmp"/outguard.db*
# (through a pipe: spawn passes a socket, epoll cannot watch a file)
cat "$dir/decisions.in" |
    "$policyd" -c "$tmp/spawn.conf" -s >"$tmp/s.out" 2>/dev/null
n=$((n + 1))
if diff <(grep -v '^exit ' "$dir/decisions.out") "$tmp/s.out" >/dev/null; then
	echo "ok $n - -s gives the same answers as -t"
else
	echo "not ok $n - -s gives the same answers as -t"
	fail=1
fi
# and -s, unlike -t, records who sent the END-OF-MESSAGE queue id
rows=$(python3 -c '
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "select count(*) from messages where queue_id = ?",
    ("4jXsQM1r0Yz1bYGt",)).fetchone()[0])' "$tmp/outguard.db")
n=$((n + 1))
if [ "$rows" = 1 ]; then
	echo "ok $n - -s recorded the END-OF-MESSAGE row"
else
	echo "not ok $n - -s recorded $rows rows for the END-OF-MESSAGE"
	fail=1
fi
# the message rows -t must not have written: only -s's one
sqlite_rows_before_t=$rows

# -t records nothing: the store has no message rows
rows=$(python3 - "$tmp/outguard.db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from messages").fetchone()[0])
PY
)
n=$((n + 1))
if [ "$rows" = "$sqlite_rows_before_t" ]; then
	echo "ok $n - -t recorded no message rows"
else
	echo "not ok $n - -t recorded $rows message rows"
	fail=1
fi
echo "1..$n"
exit $fail

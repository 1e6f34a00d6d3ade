#!/bin/bash
# conf.sh - golden tests for "outguard-queue-report -n": each
# tests/golden/conf/NAME.conf is checked and its exit code, standard
# output and standard error compared with NAME.out. TAP output.
# Regenerate an expected file (after checking the change!) with
# OG_GOLDEN_UPDATE=1. The configured sysconfdir reads @SYSCONFDIR@.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
prog="$top_builddir/policy/outguard-queue-report"
dir="$top_srcdir/tests/golden/conf"

n=0
fail=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for conf in "$dir"/*.conf; do
	name=$(basename "$conf" .conf)
	n=$((n + 1))
	# Run from the directory so that messages name "NAME.conf:LINE".
	(
		cd "$dir" || exit 1
		"$prog" -n -c "$name.conf" >"$tmp.stdout" 2>"$tmp.stderr"
		echo "exit $?"
		echo "--- stdout"
		cat "$tmp.stdout"
		echo "--- stderr"
		cat "$tmp.stderr"
	) | sed "s#${OG_SYSCONFDIR:-/etc/outguard}#@SYSCONFDIR@#g" >"$tmp"
	rm -f "$tmp.stdout" "$tmp.stderr"
	if [ "${OG_GOLDEN_UPDATE:-0}" = 1 ]; then
		cp "$tmp" "$dir/$name.out"
	fi
	if diff -u "$dir/$name.out" "$tmp" >"$tmp.diff" 2>&1; then
		echo "ok $n - -n $name.conf"
	else
		echo "not ok $n - -n $name.conf"
		sed 's/^/# /' "$tmp.diff"
		fail=1
	fi
	rm -f "$tmp.diff"
done
echo "1..$n"
exit $fail

#!/bin/bash
# classify.sh - golden tests for "outguard-queue-report classify": each
# tests/golden/classify/NAME.txt (one reply per line) is classified with
# the shipped rules, as JSON and with --text, and the exit code,
# standard output and standard error compared with NAME.json.out and
# NAME.text.out. A line over 64 KiB is generated here (never committed)
# as long-line.txt and must give exit 65, a FILE:LINE message and a null
# row, while the lines around it are classified. TAP output.
# Regenerate an expected file (after checking the change!) with
# OG_GOLDEN_UPDATE=1.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
prog="$top_builddir/policy/outguard-queue-report"
rules="$top_srcdir/contrib/replies.rules"
dir="$top_srcdir/tests/golden/classify"

n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# An empty configuration, so that no installed one is read.
: >"$tmp/empty.conf"

# run DIR NAME.txt FLAGS... - exit code, stdout and stderr as one text
run() {
	local in_dir=$1 file=$2
	shift 2
	(
		cd "$in_dir" || exit 1
		"$prog" -c "$tmp/empty.conf" classify --rules "$rules" "$@" \
		    "$file" >"$tmp/stdout" 2>"$tmp/stderr"
		echo "exit $?"
		echo "--- stdout"
		cat "$tmp/stdout"
		echo "--- stderr"
		cat "$tmp/stderr"
	)
}

# check NAME KIND OUTPUT-FILE - compare with $dir/NAME.KIND.out
check() {
	local name=$1 kind=$2 got=$3
	n=$((n + 1))
	if [ "${OG_GOLDEN_UPDATE:-0}" = 1 ]; then
		cp "$got" "$dir/$name.$kind.out"
	fi
	if diff -u "$dir/$name.$kind.out" "$got" >"$tmp/diff" 2>&1; then
		echo "ok $n - classify $kind $name.txt"
	else
		echo "not ok $n - classify $kind $name.txt"
		sed 's/^/# /' "$tmp/diff"
		fail=1
	fi
}

if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog not built"
	exit 0
fi

for input in "$dir"/*.txt; do
	name=$(basename "$input" .txt)
	run "$dir" "$name.txt" >"$tmp/got"
	check "$name" json "$tmp/got"
	run "$dir" "$name.txt" --text >"$tmp/got"
	check "$name" text "$tmp/got"
done

# The long line: 70,000 bytes between two replies.
{
	echo "550 5.7.606 Access denied, banned sending IP [203.0.113.5]."
	awk 'BEGIN { s = "550 5.7.1 "; while (length(s) < 70000) s = s "x"; print s }'
	echo "421 RP-001 (COL004-MC1F35) Unfortunately, some messages from 203.0.113.5 weren't sent."
} >"$tmp/long-line.txt"
for kind in json text; do
	if [ "$kind" = text ]; then
		run "$tmp" long-line.txt --text >"$tmp/got"
	else
		run "$tmp" long-line.txt >"$tmp/got"
	fi
	n=$((n + 1))
	if head -n 1 "$tmp/got" | grep -qx 'exit 65' &&
	    grep -q '^outguard-queue-report: .*long-line.txt:2: line longer than 65536 bytes, not classified$' "$tmp/got"; then
		echo "ok $n - classify $kind: a line over 64 KiB is exit 65 and FILE:LINE"
	else
		echo "not ok $n - classify $kind: a line over 64 KiB is exit 65 and FILE:LINE"
		sed 's/^/# /' "$tmp/got" | cut -c1-200
		fail=1
	fi
	check long-line "$kind" "$tmp/got"
done
echo "1..$n"
exit $fail

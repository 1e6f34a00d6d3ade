#!/bin/bash
# conf-documented.sh - every setting of the schema is documented in
# outguard.conf(5), like Postfix's check-postconf-undocumented. The
# names come from the built program ("-n" on an empty file prints all).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
prog="$top_builddir/policy/outguard-queue-report"
man="$top_srcdir/man/outguard.conf.5"
empty=$(mktemp)
trap 'rm -f "$empty"' EXIT

keys=$("$prog" -n -c "$empty" | sed -n 's/^\([a-z0-9_]*\) =.*/\1/p')
if [ -z "$keys" ]; then
	echo "1..1"
	echo "not ok 1 - $prog -n printed no settings"
	exit 1
fi
n=0
fail=0
for k in $keys; do
	n=$((n + 1))
	if grep -qx "\\.B $k" "$man"; then
		echo "ok $n - $k is documented in outguard.conf(5)"
	else
		echo "not ok $n - $k is missing from outguard.conf(5)"
		fail=1
	fi
done
# and the reverse: the page documents no setting that does not exist
for k in $(sed -n '/^\.SH SETTINGS/,/^\.SH /s/^\.B \([a-z0-9_]*\)$/\1/p' "$man"); do
	n=$((n + 1))
	if printf '%s\n' $keys | grep -qx "$k"; then
		echo "ok $n - documented $k exists"
	else
		echo "not ok $n - outguard.conf(5) documents $k, which is no setting"
		fail=1
	fi
done
echo "1..$n"
exit $fail

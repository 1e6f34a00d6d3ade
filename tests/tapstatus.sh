#!/bin/bash
# shellcheck disable=SC2034 # fail: read by the sourcing script
# tapstatus.sh - TAP lines from exit statuses (sourced by the golden and
# PostgreSQL test scripts; the sandbox tests use tests/postfix/tap.sh)
#
# ok DESC STATUS: "ok N - DESC" when STATUS is 0, else "not ok" and
# fail=1. skip DESC REASON: "ok N - DESC # SKIP REASON". The script
# ends with: echo "1..$n"; exit $fail

n=0
fail=0
ok() {
	n=$((n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		fail=1
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

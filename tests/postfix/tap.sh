#!/bin/bash
# tap.sh - TAP helpers shared by the sandbox tests (sourced)
#
# ok DESC, not_ok DESC [LINES...], check DESC CMD (eval'd), json_has FILE
# PYTHON-EXPR (some JSON line r satisfies it), show_log (tail of the
# sandbox's maillog as TAP comments). N and FAILED count the results.

N=0
FAILED=0

ok() {
	N=$((N + 1))
	echo "ok $N - $1"
}

not_ok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	shift
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

# check DESC CMD - one test: ok when CMD (eval'd) succeeds
check() {
	local desc=$1
	if eval "$2"; then
		ok "$desc"
	else
		not_ok "$desc" "failed: $2"
		return 1
	fi
}

show_log() {
	echo "# --- last lines of $SB/maillog"
	tail -n "${1:-15}" "$SB/maillog" | sed 's/^/#   /'
}

# json_has FILE PYTHON-EXPR - true if some JSON line `r` in FILE satisfies
# the expression
json_has() {
	python3 -c '
import json, sys
expr = "(" + sys.argv[2] + ")"
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        try:
            if line and eval(expr, {}, {"r": json.loads(line)}):
                sys.exit(0)
        except (KeyError, IndexError, TypeError):
            pass
sys.exit(1)' "$1" "$2"
}

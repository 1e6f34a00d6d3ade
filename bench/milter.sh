#!/bin/bash
# milter.sh - messages/s and latency of outguard-milter against a
# do-nothing libmilter milter, measured in the same run
# Usage: bench/milter.sh [BUILDDIR] [SECONDS]
# Builds nothing: BUILDDIR (default ./_build) must hold
# milter/outguard-milter, bench/bench_milter and bench/null_milter. For
# real figures use an optimised build without sanitizers, e.g.
#   mkdir /tmp/rel && cd /tmp/rel && /path/to/outguard/configure -q CFLAGS=-O2
#   make -j2 milter/outguard-milter bench/bench_milter bench/null_milter
#   /path/to/outguard/bench/milter.sh /tmp/rel
# In a temporary directory it writes an outguard.conf (identity_action
# and unsubscribe_action tag, a sender_login_maps file that gives
# alice@example.com to the login alice, local_domains example.com, the
# repository's contrib/unsub-keywords), starts outguard-milter (-d) and
# two do-nothing milters on unix sockets: null_milter, which registers
# only end-of-message and so is sent nothing else (the ceiling the
# targets refer to), and null_milter -a, which negotiates the same steps
# as outguard-milter and so receives the same bytes (what the protocol
# alone costs). For each number of messages per connection in
# BENCH_PERCONN (default "10 1": ten, and one as with Postfix, whose
# smtpd opens a milter connection per SMTP session, which usually
# carries one message), 4096 and 102400 bytes and each concurrency
# of BENCH_CONCURRENCY (default "1 8 32") it runs bench_milter for
# SECONDS (default 10) against each milter in turn: bulk messages
# (List-Unsubscribe, List-Unsubscribe-Post, Precedence: bulk, an https
# unsubscribe link in the body) from alice@example.com, authenticated as
# alice, so that both checks run to the end and pass. Each answer must
# be continue or accept (never tempfail or reject), outguard-milter must
# tag every message, and its log must show no failed check. It prints
# the machine and how busy it was, each command and result line, the
# milter's CPU per run and per message, a table, and the ratios at
# concurrency 8 for both sizes and each BENCH_PERCONN: outguard msgs/s
# / nullall msgs/s (target >= 0.80) and outguard p99 / nullall p99
# (target <= 1.5), and the same against null for comparison. nullall
# is the fair ceiling: it receives the same bytes. As root the milter
# runs as nobody.
# Exit: 0 when every answer was right and both targets hold at
# concurrency 8 for both sizes and every BENCH_PERCONN; 1 when not; 2
# on set-up errors.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-./_build}
secs=${2:-10}
concs=${BENCH_CONCURRENCY:-1 8 32}
perconns=${BENCH_PERCONN:-10 1}
sizes="4096 102400"
milter="$builddir/milter/outguard-milter"
null="$builddir/bench/null_milter"
bench="$builddir/bench/bench_milter"

die() {
	echo "milter.sh: $*" >&2
	exit 2
}
for prog in "$milter" "$null" "$bench"; do
	[ -x "$prog" ] || die "$prog not built (make milter/outguard-milter bench/bench_milter bench/null_milter)"
done
case $secs in
'' | *[!0-9]*) die "SECONDS must be a number" ;;
esac
if [ "$secs" -lt 1 ] || [ "$secs" -gt 3600 ]; then
	die "SECONDS must be 1..3600"
fi
for c in $concs; do
	case $c in
	'' | *[!0-9]*) die "BENCH_CONCURRENCY: expected numbers, got $c" ;;
	esac
done
for pc in $perconns; do
	case $pc in
	'' | *[!0-9]*) die "BENCH_PERCONN: expected numbers, got $pc" ;;
	esac
done

# shellcheck source=bench/milter-lib.sh
. "$srcdir/bench/milter-lib.sh"
bench_tmp milter
conf="$tmp/outguard.conf"
printf 'alice@example.com\talice\n' >"$tmp/logins"
cat >"$conf" <<EOF
# written by bench/milter.sh
milter_socket = unix:$tmp/outguard.sock
milter_pid_file = $tmp/milter.pid
run_user = $run_user
myhostname = mta.example.com
sender_login_maps = file:$tmp/logins
local_domains = example.com
unsub_keywords = $srcdir/contrib/unsub-keywords
identity_action = tag
unsubscribe_action = tag
EOF
chmod 0644 "$conf" "$tmp/logins"

machine_report "$builddir"

start "$tmp/null.log" "$tmp/null.sock" "$null" -p "unix:$tmp/null.sock"
null_pid=${pids##* }
start "$tmp/nullall.log" "$tmp/nullall.sock" "$null" -a -p "unix:$tmp/nullall.sock"
nullall_pid=${pids##* }
start "$tmp/milter.log" "$tmp/outguard.sock" "$milter" -d -c "$conf"
milter_pid=${pids##* }

ncpu=$(nproc)
hz=$(getconf CLK_TCK)
machine_busy_before


errors=0
table=""
for pc in $perconns; do
	for size in $sizes; do
		for c in $concs; do
			for m in null nullall outguard; do
				case $m in
				null) sock=$tmp/null.sock pid=$null_pid ;;
				nullall) sock=$tmp/nullall.sock pid=$nullall_pid ;;
				*) sock=$tmp/outguard.sock pid=$milter_pid ;;
				esac
				cmd=("$bench" -s "unix:$sock" -l "$m" -c "$c" -t "$secs"
					-m "$pc" -z "$size" -b -a alice -f alice@example.com)
				echo
				echo "command: ${cmd[*]}"
				t0=$(cpu_ticks "$pid")
				m0=$(machine_ticks)
				res=$(timeout $((secs + 60)) "${cmd[@]}" 2>"$tmp/bench.err") || true
				m1=$(machine_ticks)
				t1=$(cpu_ticks "$pid")
				head -n 5 "$tmp/bench.err"
				echo "$res"
				if [ -z "$res" ]; then
					echo "no result: bench_milter failed"
					errors=$((errors + 1))
					continue
				fi
				cpu=$(awk -v d="$((t1 - t0))" -v hz="$hz" -v s="$(field secs)" \
				    'BEGIN { printf "%.2f", d / hz / s }')
				busy=$(echo "$m0 $m1" | awk -v n="$ncpu" \
				    '{ printf "%.2f", n * ($3 - $1) / ($4 - $2) }')
				# the milter's own CPU per message: unlike msgs/s and
				# p99, it hardly moves when other processes share the
				# cores
				us=$(awk -v c="$cpu" -v r="$(field msgs_per_s)" \
				    'BEGIN { printf "%.0f", (r > 0 ? c * 1e6 / r : 0) }')
				echo "cpu: milter $cpu cores, $us us per message; machine $busy of $ncpu cores busy"
				n=$(field msgs)
				ok=$(($(count continue) + $(count accept)))
				if [ "$(field errors)" != 0 ] || [ "$n" -eq 0 ] ||
					[ "$ok" -ne "$n" ]; then
					echo "error: protocol errors, or answers other than continue/accept"
					errors=$((errors + 1))
				fi
				if [ "$m" = outguard ] && [ "$(count addheader)" -ne "$n" ]; then
					echo "error: outguard-milter did not tag every message"
					errors=$((errors + 1))
				fi
				eval "rate_${m}_${size}_${c}_$pc=$(field msgs_per_s)"
				eval "p99_${m}_${size}_${c}_$pc=$(field p99_ms)"
				table="$table$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' \
				    "$m" "$pc" "$size" "$c" "$(field msgs_per_s)" \
				    "$(field p50_ms)" "$(field p99_ms)" "$cpu" "$us" "$busy")
"
			done
		done
	done
done

# the milter's own verdicts: both checks ran and passed on every message
fails=$(grep -c -E 'check=(identity|unsubscribe) result=(fail|error|unchecked)' "$tmp/milter.log" || true)
passes=$(grep -c -E 'check=unsubscribe result=pass' "$tmp/milter.log" || true)
echo
echo "outguard-milter log: $passes unsubscribe passes, $fails failed or unchecked checks"
if [ "$fails" -ne 0 ] || [ "$passes" -eq 0 ]; then
	grep -m 3 -E 'result=(fail|error|unchecked)' "$tmp/milter.log" || true
	errors=$((errors + 1))
fi
if grep -q -E 'warning|error' "$tmp/milter.log"; then
	grep -m 5 -E 'warning|error' "$tmp/milter.log"
fi

echo
echo "| milter | msgs/conn | size | concurrency | msgs/s | p50 ms | p99 ms | milter cpu (cores) | milter cpu/msg (us) | machine busy (cores) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s' "$table"

echo
# ratio - outguard against ceiling $1 at concurrency 8, for size $2 and
# messages per connection $3: "msgs/s-ratio p99-ratio"
ratio() {
	local o n op np
	eval "o=\${rate_outguard_${2}_8_$3:-0} n=\${rate_${1}_${2}_8_$3:-0}"
	eval "op=\${p99_outguard_${2}_8_$3:-0} np=\${p99_${1}_${2}_8_$3:-0}"
	awk -v o="$o" -v n="$n" -v op="$op" -v np="$np" 'BEGIN {
	    printf "%.2f %.2f\n", (n > 0 ? o / n : 0), (np > 0 ? op / np : 99) }'
}
missed=0
case " $concs " in
*" 8 "*)
	for pc in $perconns; do
		for size in $sizes; do
			# shellcheck disable=SC2046 # two numbers each
			set -- $(ratio nullall "$size" "$pc") $(ratio null "$size" "$pc")
			line=$(awk -v r="$1" -v p="$2" -v nr="$3" -v np="$4" \
			    -v s="$size" -v pc="$pc" 'BEGIN {
			    printf "%s msgs/conn, size %s, concurrency 8: " \
			        "msgs/s ratio to nullall %.2f (target >= 0.80: %s), " \
			        "p99 ratio %.2f (target <= 1.5: %s); " \
			        "to null: %.2f and %.2f\n", pc, s, r,
			        (r >= 0.80 ? "met" : "MISSED"), p,
			        (p <= 1.5 ? "met" : "MISSED"), nr, np }')
			echo "$line"
			case $line in
			*MISSED*) missed=$((missed + 1)) ;;
			esac
		done
	done
	;;
*)
	echo "no run at concurrency 8: targets not checked"
	missed=1
	;;
esac
if [ "$errors" -gt 0 ]; then
	echo "FAILED: $errors errors"
	exit 1
fi
if [ "$missed" -gt 0 ]; then
	echo "FAILED: $missed target(s) missed"
	exit 1
fi
echo "OK"

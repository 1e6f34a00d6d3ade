#!/bin/bash
# dkim.sh - DKIM signing speed: outguard-milter against Debian's OpenDKIM,
# with the same RSA-2048 key, the same message and the same load client
# Usage: bench/dkim.sh [BUILDDIR] [SECONDS]
# Builds nothing: BUILDDIR (default ./_build) must hold
# milter/outguard-milter, bench/bench_milter and bench/null_milter; use an
# optimised build without sanitizers, e.g.
#   mkdir /tmp/rel && cd /tmp/rel && /path/to/outguard/configure -q CFLAGS=-O2
#   make -j2 milter/outguard-milter bench/bench_milter bench/null_milter
#   /path/to/outguard/bench/dkim.sh /tmp/rel
# Needs Debian's opendkim (package opendkim); as root it is installed
# with apt-get when missing (this bench is not part of make check), and
# /usr/bin/python3 (Debian's, with python3-dnspython and python3-dkim).
# In a temporary directory it makes one RSA-2048 and one Ed25519 key
# and starts, each as nobody when run as root:
#   - a small DNS answerer (python3-dnspython, UDP, 127.0.0.1) with
#     example.com's SPF ("ip4:127.0.0.1 -all") and DMARC (p=reject)
#     records, TTL 3600, so outguard-milter's preflight really asks DNS
#     (once: it caches per domain for the TTL);
#   - opendkim -f, mode s, relaxed/relaxed, From oversigned, the RSA key
#     through a KeyTable and SigningTable, once on a unix socket and
#     once on TCP 127.0.0.1 (the TCP one shows Nagle's algorithm meeting
#     delayed ACKs, if the milter does not avoid it);
#   - outguard-milter with every check on (identity, unsubscribe and
#     preflight, each action tag; egress_ips 127.0.0.1, dns_resolver the
#     answerer) and the RSA key, on a unix socket and on TCP;
#   - outguard-milter with the same checks and the Ed25519 key alone
#     (outguard-ed), and the Ed25519 signer alone: the same key with
#     identity_action, unsubscribe_action and preflight_action off
#     (outguard-ed-only);
#   - outguard-milter with the same checks and no key (for reference:
#     what the signing adds);
#   - bench/null_milter -a, the do-nothing milter that negotiates the
#     same protocol steps as outguard-milter.
# That each milter really signs: before the runs, opendkim -t puts a
# message through OpenDKIM's own callbacks with the same configuration
# and key, and python3-dkim verifies the signature it prints against the
# answerer's TXT record (outguard-milter's signatures are verified the
# same way by tests/postfix/t_dkim.sh). During the runs OpenDKIM must
# add a header (in mode s only its signature) to every message
# (bench_milter's insheader/addheader counts), and outguard-milter must
# log one "check=dkim result=signed" and one "check=preflight
# result=pass" line per message.
# For each concurrency of BENCH_CONCURRENCY (default "1 8 32") it runs
# bench_milter for SECONDS (default 10) against each milter of
# BENCH_MILTERS (default all: opendkim-unix opendkim-tcp outguard-rsa
# outguard-rsa-tcp outguard-ed outguard-ed-only outguard-nosign null-a):
# 4096-byte
# bulk messages from alice@example.com, authenticated as alice. Then
# openssl speed -seconds 3 rsa2048 ed25519 (one core). It prints the
# machine and its load, each command and result line, a table, and the
# targets at concurrency 8: outguard RSA (unix) msgs/s >= 2 x OpenDKIM's
# (unix) with a lower p99; the Ed25519 signer alone (outguard-ed-only)
# >= 0.80 x null_milter -a, with Ed25519 and every check on
# (outguard-ed) printed beside it.
# Exit: 0 when every answer was right, every milter signed, and the
# targets hold; 1 when not; 2 on set-up errors.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-./_build}
secs=${2:-10}
concs=${BENCH_CONCURRENCY:-1 8 32}
all_milters="opendkim-unix opendkim-tcp outguard-rsa outguard-rsa-tcp outguard-ed outguard-ed-only outguard-nosign null-a"
milters=${BENCH_MILTERS:-$all_milters}
size=4096
milter="$builddir/milter/outguard-milter"
null="$builddir/bench/null_milter"
bench="$builddir/bench/bench_milter"
py=/usr/bin/python3

die() {
	echo "dkim.sh: $*" >&2
	exit 2
}
for prog in "$milter" "$null" "$bench"; do
	[ -x "$prog" ] || die "$prog not built (make milter/outguard-milter bench/bench_milter bench/null_milter)"
done
case $secs in
'' | *[!0-9]*) die "SECONDS must be a number" ;;
esac
[ "$secs" -ge 1 ] && [ "$secs" -le 3600 ] || die "SECONDS must be 1..3600"
for c in $concs; do
	case $c in
	'' | *[!0-9]*) die "BENCH_CONCURRENCY: expected numbers, got $c" ;;
	esac
done
if ! command -v opendkim >/dev/null 2>&1 &&
	! PATH=/usr/sbin:$PATH command -v opendkim >/dev/null 2>&1; then
	[ "$(id -u)" -eq 0 ] || die "opendkim is not installed (apt-get install opendkim)"
	echo "dkim.sh: installing Debian's opendkim to compare against (apt-get install opendkim)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends opendkim >/dev/null ||
		die "apt-get install opendkim failed"
fi
opendkim=$(PATH=/usr/sbin:$PATH command -v opendkim)
"$py" -c 'import dns.message, dkim' 2>/dev/null ||
	die "$py lacks python3-dnspython or python3-dkim"
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"

# shellcheck source=bench/milter-lib.sh
. "$srcdir/bench/milter-lib.sh"
bench_tmp dkim

# free_ports N - N free 127.0.0.1 TCP+UDP ports
free_ports() {
	"$py" - "$1" <<'PY'
import socket, sys
got = []
while len(got) < int(sys.argv[1]):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    if port not in got:
        got.append(port)
print(" ".join(map(str, got)))
PY
}
read -r dns_port odk_port og_port <<<"$(free_ports 3)"

# ---- keys: the same RSA-2048 key for both, and an Ed25519 key
mkdir -p "$tmp/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out "$tmp/keys/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/keys/ed.pem" 2>/dev/null
chmod 0700 "$tmp/keys"
chmod 0600 "$tmp/keys/"*.pem
chown -R "$run_user" "$tmp/keys"
rsa_p=$(openssl pkey -in "$tmp/keys/rsa.pem" -pubout -outform DER | base64 -w0)
ed_p=$(openssl pkey -in "$tmp/keys/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)

# ---- the DNS answerer
cat >"$tmp/answerer.py" <<'PY'
# example.com's SPF and DMARC, DKIM keys; NXDOMAIN for the rest (UDP)
import socket, sys
import dns.flags, dns.message, dns.rcode, dns.rrset
port, rsa_p, ed_p = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def chunks(s):
    return " ".join('"%s"' % s[i:i + 250] for i in range(0, len(s), 250))
zone = {
    "example.com.": '"v=spf1 ip4:127.0.0.1 -all"',
    "_dmarc.example.com.": '"v=DMARC1; p=reject"',
    "rsa1._domainkey.example.com.": chunks("v=DKIM1; k=rsa; p=" + rsa_p),
    "ed1._domainkey.example.com.": chunks("v=DKIM1; k=ed25519; p=" + ed_p),
}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
while True:
    data, peer = s.recvfrom(4096)
    try:
        q = dns.message.from_wire(data)
    except Exception:
        continue
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA | dns.flags.RA
    name = q.question[0].name.to_text().lower()
    if name in zone and q.question[0].rdtype == 16:
        r.answer.append(dns.rrset.from_text(name, 3600, "IN", "TXT", zone[name]))
    elif name not in zone:
        r.set_rcode(dns.rcode.NXDOMAIN)
    s.sendto(r.to_wire(), peer)
PY
echo "command: $py $tmp/answerer.py $dns_port RSA-P ED-P (the DNS answerer)"
"$py" "$tmp/answerer.py" "$dns_port" "$rsa_p" "$ed_p" 2>"$tmp/dns.log" &
pids="$pids $!"
# dnsq NAME - the TXT answer of the answerer, joined
dnsq() {
	"$py" - "$dns_port" "$1" <<'PY'
import sys, dns.message, dns.query
q = dns.message.make_query(sys.argv[2], "TXT")
r = dns.query.udp(q, "127.0.0.1", port=int(sys.argv[1]), timeout=1)
for rr in r.answer:
    for t in rr:
        print(b"".join(t.strings).decode())
PY
}
for _ in 1 2 3 4 5 6 7 8 9 10; do
	dnsq example.com >/dev/null 2>&1 && break
	sleep 0.3
done
spf=$(dnsq example.com 2>/dev/null) || { cat "$tmp/dns.log" >&2; die "the DNS answerer does not answer"; }
echo "DNS answerer: example.com TXT $spf"

# ---- OpenDKIM
printf 'rsa example.com:rsa1:%s\n' "$tmp/keys/rsa.pem" >"$tmp/KeyTable"
printf '*@example.com rsa\n' >"$tmp/SigningTable"
printf '127.0.0.1\n192.0.2.0/24\n' >"$tmp/InternalHosts"
odk_conf() { # SOCKET
	cat <<EOF
# written by bench/dkim.sh
Syslog no
Mode s
Canonicalization relaxed/relaxed
KeyTable file:$tmp/KeyTable
SigningTable refile:$tmp/SigningTable
InternalHosts $tmp/InternalHosts
OversignHeaders From
SignatureAlgorithm rsa-sha256
RequireSafeKeys no
UserID $run_user
Socket $1
EOF
}
# OpenDKIM makes its socket after becoming UserID: a directory of its own
mkdir -p "$tmp/odk" && chown "$run_user" "$tmp/odk"
odk_conf "local:$tmp/odk/odk.sock" >"$tmp/opendkim-unix.conf"
odk_conf "inet:$odk_port@127.0.0.1" >"$tmp/opendkim-tcp.conf"
chmod 0644 "$tmp"/*.conf "$tmp/KeyTable" "$tmp/SigningTable" "$tmp/InternalHosts"

# ---- outguard-milter
printf 'alice@example.com\talice\n' >"$tmp/logins"
og_conf() { # SOCKET PIDFILE KEY-SELECTOR KEY-FILE [alone]
	cat <<EOF
# written by bench/dkim.sh
milter_socket = $1
milter_pid_file = $2
run_user = $run_user
myhostname = mta.example.com
sender_login_maps = file:$tmp/logins
local_domains = example.com
unsub_keywords = $srcdir/contrib/unsub-keywords
EOF
	if [ "${5:-}" = alone ]; then
		# the signer alone: the other checks off
		printf 'identity_action = off\nunsubscribe_action = off\n'
		printf 'preflight_action = off\n'
	else
		printf 'identity_action = tag\nunsubscribe_action = tag\n'
		printf 'preflight_action = tag\negress_ips = 127.0.0.1\n'
		printf 'dns_resolver = 127.0.0.1@%s\n' "$dns_port"
	fi
	if [ -n "$3" ]; then
		printf 'dkim_domain = example.com\ndkim_selector = %s\n' "$3"
		printf 'dkim_key_file = %s\n' "$4"
	fi
}
og_conf "unix:$tmp/og.sock" "$tmp/og.pid" rsa1 "$tmp/keys/rsa.pem" >"$tmp/og-rsa.conf"
og_conf "inet:$og_port@127.0.0.1" "$tmp/ogt.pid" rsa1 "$tmp/keys/rsa.pem" >"$tmp/og-rsa-tcp.conf"
og_conf "unix:$tmp/oged.sock" "$tmp/oged.pid" ed1 "$tmp/keys/ed.pem" >"$tmp/og-ed.conf"
og_conf "unix:$tmp/ogedo.sock" "$tmp/ogedo.pid" ed1 "$tmp/keys/ed.pem" alone >"$tmp/og-ed-only.conf"
og_conf "unix:$tmp/ogns.sock" "$tmp/ogns.pid" "" "" >"$tmp/og-nosign.conf"
chmod 0644 "$tmp"/*.conf "$tmp/logins"

machine_report "$builddir"
echo "opendkim: $("$opendkim" -V 2>&1 | head -n 1)"

# ---- proof that OpenDKIM signs with this configuration: opendkim -t
# runs a message through the filter's own callbacks and prints the
# headers it would add; python3-dkim verifies the result
{
	printf 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n'
	printf 'Subject: test\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n'
	printf 'Message-ID: <t1@example.com>\r\n\r\nHello Bob.\r\n'
} >"$tmp/msg.eml"
"$opendkim" -x "$tmp/opendkim-unix.conf" -t "$tmp/msg.eml" -vvv \
	>"$tmp/odk-t.out" 2>&1 || true
odk_ok=$("$py" - "$tmp/odk-t.out" "$tmp/msg.eml" "$dns_port" <<'PY' 2>&1
import re, sys, dkim, dns.message, dns.query
out = open(sys.argv[1]).read()
m = re.search(r"### INSHEADER: idx=\d+ hname='DKIM-Signature' hvalue='(.*?)'\n?(?:opendkim|rc=|$)", out, re.S)
if not m:
    print("no DKIM-Signature in opendkim -t output")
    sys.exit(1)
sig = b"DKIM-Signature: " + m.group(1).encode().replace(b"\n", b"\r\n") + b"\r\n"
def txt(name, timeout=5):
    q = dns.message.make_query(name.decode(), "TXT")
    r = dns.query.udp(q, "127.0.0.1", port=int(sys.argv[3]), timeout=timeout)
    return b"".join(b"".join(t.strings) for rr in r.answer for t in rr)
ok = dkim.verify(sig + open(sys.argv[2], "rb").read(), dnsfunc=txt)
print("python3-dkim: %s" % ("pass" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
) || true
echo "opendkim -t with this configuration, its signature verified: $odk_ok"
case $odk_ok in
*pass) ;;
*) die "OpenDKIM does not sign with this configuration: $(head -c 400 "$tmp/odk-t.out")" ;;
esac

start "$tmp/odk-unix.log" "$tmp/odk/odk.sock" "$opendkim" -f -x "$tmp/opendkim-unix.conf"
odk_unix_pid=${pids##* }
start "$tmp/odk-tcp.log" "inet:$odk_port" "$opendkim" -f -x "$tmp/opendkim-tcp.conf"
odk_tcp_pid=${pids##* }
start "$tmp/og-rsa.log" "$tmp/og.sock" "$milter" -d -c "$tmp/og-rsa.conf"
og_rsa_pid=${pids##* }
start "$tmp/og-rsa-tcp.log" "inet:$og_port" "$milter" -d -c "$tmp/og-rsa-tcp.conf"
og_tcp_pid=${pids##* }
start "$tmp/og-ed.log" "$tmp/oged.sock" "$milter" -d -c "$tmp/og-ed.conf"
og_ed_pid=${pids##* }
start "$tmp/og-ed-only.log" "$tmp/ogedo.sock" "$milter" -d -c "$tmp/og-ed-only.conf"
og_edo_pid=${pids##* }
start "$tmp/og-nosign.log" "$tmp/ogns.sock" "$milter" -d -c "$tmp/og-nosign.conf"
og_ns_pid=${pids##* }
start "$tmp/null.log" "$tmp/nullall.sock" "$null" -a -p "unix:$tmp/nullall.sock"
null_pid=${pids##* }

loglines() { # LOG ERE
	grep -c -E "$2" "$1" 2>/dev/null || true
}

ncpu=$(nproc)
hz=$(getconf CLK_TCK)
machine_busy_before

errors=0
table=""
for c in $concs; do
	for m in $milters; do
		log=
		case $m in
		opendkim-unix) sock=unix:$tmp/odk/odk.sock pid=$odk_unix_pid ;;
		opendkim-tcp) sock=inet:$odk_port@127.0.0.1 pid=$odk_tcp_pid ;;
		outguard-rsa) sock=unix:$tmp/og.sock pid=$og_rsa_pid log=$tmp/og-rsa.log ;;
		outguard-rsa-tcp) sock=inet:$og_port@127.0.0.1 pid=$og_tcp_pid log=$tmp/og-rsa-tcp.log ;;
		outguard-ed) sock=unix:$tmp/oged.sock pid=$og_ed_pid log=$tmp/og-ed.log ;;
		outguard-ed-only) sock=unix:$tmp/ogedo.sock pid=$og_edo_pid log=$tmp/og-ed-only.log ;;
		outguard-nosign) sock=unix:$tmp/ogns.sock pid=$og_ns_pid log=$tmp/og-nosign.log ;;
		null-a) sock=unix:$tmp/nullall.sock pid=$null_pid ;;
		esac
		cmd=("$bench" -s "$sock" -l "$m" -c "$c" -t "$secs" -z "$size" -b
			-a alice -f alice@example.com)
		echo
		echo "command: ${cmd[*]}"
		s0=0 p0=0
		if [ -n "$log" ]; then
			s0=$(loglines "$log" 'check=dkim result=signed')
			p0=$(loglines "$log" 'check=preflight result=pass')
		fi
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
		echo "cpu: milter $cpu cores; machine $busy of $ncpu cores busy"
		n=$(field msgs)
		ok=$(($(count continue) + $(count accept)))
		if [ "$(field errors)" != 0 ] || [ "$n" -eq 0 ] || [ "$ok" -ne "$n" ]; then
			echo "error: protocol errors, or answers other than continue/accept"
			errors=$((errors + 1))
		fi
		hdrs=$(($(count insheader) + $(count addheader)))
		signed=-
		case $m in
		opendkim-*)
			# in mode s OpenDKIM adds one header: its signature
			signed=$hdrs
			;;
		outguard-*)
			signed=$(($(loglines "$log" 'check=dkim result=signed') - s0))
			[ "$m" = outguard-nosign ] && signed=-
			pf=$(($(loglines "$log" 'check=preflight result=pass') - p0))
			[ "$m" = outguard-ed-only ] && pf=$n # no preflight there
			if [ "$pf" -ne "$n" ]; then
				echo "error: $pf preflight passes logged for $n messages"
				errors=$((errors + 1))
			fi
			;;
		esac
		if [ "$signed" != - ] && { [ "$signed" -ne "$n" ] || [ "$hdrs" -lt "$n" ]; }; then
			echo "error: $signed of $n messages signed"
			errors=$((errors + 1))
		fi
		eval "rate_${m//-/_}_$c=$(field msgs_per_s)"
		eval "p99_${m//-/_}_$c=$(field p99_ms)"
		table="$table$(printf '| %s | %s | %s | %s | %s | %s | %s | %s |' \
			"$m" "$c" "$(field msgs_per_s)" "$(field p50_ms)" \
			"$(field p99_ms)" "$signed" "$cpu" "$busy")
"
	done
done

for l in "$tmp/og-rsa.log" "$tmp/og-ed.log"; do
	echo
	echo "$(basename "$l"): $(grep -m 1 'check=dkim result=signed' "$l" | sed 's/^[^ ]* [^ ]* //')"
	echo "$(basename "$l"): $(grep -m 1 'check=preflight' "$l" | sed 's/^[^ ]* [^ ]* //')"
	grep -m 3 -E 'warning|error|result=(fail|temperror|unsigned)' "$l" || true
done

echo
echo "| milter | concurrency | msgs/s | p50 ms | p99 ms | signed | milter cpu (cores) | machine busy (cores) |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s' "$table"

echo
echo "command: openssl speed -seconds 3 rsa2048 ed25519"
openssl speed -seconds 3 rsa2048 ed25519 2>/dev/null |
	grep -E 'sign/s|^rsa 2048|Ed25519' || true

echo
missed=0
case " $concs " in
*" 8 "*)
	# shellcheck disable=SC2154 # set by the evals above
	line=$(awk -v o="${rate_outguard_rsa_8:-0}" -v d="${rate_opendkim_unix_8:-0}" \
		-v op="${p99_outguard_rsa_8:-0}" -v dp="${p99_opendkim_unix_8:-0}" \
		-v e="${rate_outguard_ed_only_8:-0}" -v z="${rate_null_a_8:-0}" \
		-v a="${rate_outguard_ed_8:-0}" 'BEGIN {
	    r = d > 0 ? o / d : 0; q = z > 0 ? e / z : 0; w = z > 0 ? a / z : 0
	    printf "concurrency 8: outguard RSA / OpenDKIM msgs/s %.2f (target >= 2: %s), " \
	        "p99 %s vs %s ms (target lower: %s); outguard Ed25519 signer alone / " \
	        "null_milter -a msgs/s %.2f (target >= 0.80: %s); Ed25519 with every " \
	        "check on / null_milter -a %.2f\n", r, (r >= 2 ? "met" : "MISSED"),
	        op, dp, (op + 0 < dp + 0 ? "met" : "MISSED"), q,
	        (q >= 0.80 ? "met" : "MISSED"), w }')
	echo "$line"
	case $line in
	*MISSED*) missed=1 ;;
	esac
	;;
*)
	echo "no run at concurrency 8: targets not checked"
	missed=1
	;;
esac
echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
if [ "$errors" -gt 0 ]; then
	echo "FAILED: $errors errors"
	exit 1
fi
if [ "$missed" -gt 0 ]; then
	echo "FAILED: target(s) missed"
	exit 1
fi
echo "OK"

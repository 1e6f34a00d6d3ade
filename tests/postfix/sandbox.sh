#!/bin/bash
# sandbox.sh - a throwaway Postfix, fake Outlook.com MX, sink and DNS for tests
#
# DESCRIPTION: sourced by tests/postfix/t_*.sh and demo.sh (bash, works
#	under `set -u`).  sb_start builds everything in one temp directory
#	$SB (mktemp -d under ${TMPDIR:-/tmp}), on 127.0.0.1 only, with TCP/UDP
#	ports picked at run time, so several sandboxes can run at once and
#	the system's Postfix (/etc/postfix, /var/spool/postfix) and NSD are
#	never read for state or written:
#	  - Postfix 3.7: config $SB/etc, queue $SB/queue, data $SB/data, log
#	    $SB/maillog, myhostname mta.outguard.test, no local delivery.
#	    Port $SB_SMTP_PORT: plain smtpd, relay for 127.0.0.0/8, XCLIENT
#	    allowed from 127.0.0.0/8.  Port $SB_SUBMISSION_PORT: SASL AUTH
#	    (PLAIN, LOGIN; Cyrus sasldb, no TLS) required for everything.
#	    sendmail(1)/pickup works with `sendmail -C $SB/etc`.
#	    transport_maps sends $SB_MX_DOMAINS to the fake MX, all else
#	    (bounces too) to the sink.
#	  - fakemx.py twice: the fake Outlook.com MX ($SB_MX_PORT; answers
#	    $SB_S3150_REPLY at MAIL unless told otherwise, accepts with
#	    Exchange Online's "250 2.6.0 ... Queued mail for delivery") and the sink
#	    ($SB_SINK_PORT; accepts and stores every message).
#	  - NSD on 127.0.0.1:$SB_DNS_PORT (UDP and TCP), authoritative for
#	    outguard.test and whatever sb_dns_zone adds.
#	MAIL_CONFIG=$SB/etc is exported while the sandbox runs, so programs
#	under test that run plain `postqueue -j` or `postsuper` reach the
#	sandbox.  Every wait has a time limit; nothing sleeps a fixed time.
#
# USAGE:
#	. "$top_srcdir/tests/postfix/sandbox.sh"
#	reason=$(sb_missing) && { echo "1..0 # SKIP $reason"; exit 0; }
#	sb_start || exit 1              # installs `trap sb_stop EXIT`
#	sb_add_user alice s3cret
#	qid=$(sb_submit alice@outguard.test bob@example.net alice s3cret)
#	sb_wait_log "$qid: to=<bob@example.net>.*status=sent"
#   To change Postfix settings before it starts: sb_setup; sb_postconf ...;
#   sb_start.  SB_KEEP=1 keeps $SB after sb_stop (its path goes to stderr);
#   SB_NO_TRAP=1 leaves the EXIT trap to the caller, who must call sb_stop.
#
# DIAGNOSTICS: functions return non-zero and print "sandbox: ..." on stderr.
#
# GOTCHAS (seen on Debian 12, Postfix 3.7.11, NSD 4.6.1, Cyrus SASL 2.1.28):
#   - As root, `postqueue -c DIR`, `postsuper -c DIR` and `sendmail -C DIR`
#     work without alternate_config_directories: Postfix only checks that
#     list for a non-root caller of a set-gid program (mail_conf_suck()),
#     so the system needs no /etc/postfix/main.cf at all (a "No
#     configuration" install has none) and the rig never creates one.
#   - postfix-script warns about every group- or other-writable file of
#     the queue and config directories, and CI may run with umask 0002 or
#     0000: the rig sets umask 022 for itself (and `make check` does too).
#   - mktemp -d makes $SB mode 0700; Postfix daemons (user postfix) must
#     traverse it to reach the queue, so $SB is made 0755 and every parent
#     directory must be searchable by postfix (checked, with a clear error).
#   - `postfix start` runs post-install create-missing itself: it creates
#     data_directory and the queue sub-directories with the right owners
#     and the set-gid maildrop; `master -w` returns once the listeners are
#     bound, so no wait is needed after it.
#   - Debian's master.cf.proto chroots most services; a chroot would need
#     copies of /etc files under the queue, so every service here has
#     chroot "n".
#   - sasldb2 is a Berkeley DB written by root 0600; smtpd (user postfix)
#     must read it, hence group postfix, mode 0640.  saslpasswd2 -u REALM
#     stores USER@REALM; with smtpd_sasl_local_domain = outguard.test a
#     client may log in as "alice" or "alice@outguard.test".
#   - NSD defaults its zone list, xfrd state and cookie files to
#     /var/lib/nsd and its pid file to /run/nsd; all are pointed into $SB.
#     NSD cannot add a zone on SIGHUP, so sb_dns_reload restarts it.

set -u

# Postfix, NSD and saslpasswd2 live in sbin, which a non-login PATH can lack.
PATH=/usr/sbin:/sbin:$PATH
export PATH

SB_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SB=${SB:-}
SB_MX_DOMAINS=${SB_MX_DOMAINS:-hotmail.com outlook.com live.com msn.com}
SB_HOSTNAME=mta.outguard.test
SB_DOMAIN=outguard.test
SB_S3150_REPLY="550 5.7.1 Unfortunately, messages from [127.0.0.1] weren't\
 sent. Please contact your Internet service provider since part of their\
 network is on our block list (S3150). You can also refer your provider to\
 http://mail.live.com/mail/troubleshooting.aspx#errors.\
 [Name=Protocol Filter Agent][AGT=PFA][MxId=11BB66ACAE2C61C1]\
 [DM6PR10MB4121.namprd10.prod.outlook.com 2025-11-25T08:06:40.951Z\
 08DE2B2A1F2D0C55]"
SB_START_TIMEOUT=${SB_START_TIMEOUT:-20}

sb__err() {
	echo "sandbox: $*" >&2
}

# sb__need - fail unless a sandbox exists: with $SB empty, "$SB/etc" would
# name the system's /etc (sendmail -C /etc, saslpasswd2 -f /etc/sasldb2).
sb__need() {
	if [ -z "$SB" ] || [ ! -d "$SB/etc" ]; then
		sb__err "no sandbox: call sb_setup or sb_start first"
		return 1
	fi
}

# sb_missing - print why the rig cannot run here and succeed; fail if it can
sb_missing() {
	local cmd
	if [ "$(id -u)" != 0 ]; then
		echo "needs root (runs a throwaway Postfix)"
		return 0
	fi
	for cmd in postfix postconf postqueue sendmail saslpasswd2 nsd dig \
	    swaks python3; do
		if ! command -v "$cmd" >/dev/null 2>&1; then
			echo "$cmd not installed"
			return 0
		fi
	done
	if ! id postfix >/dev/null 2>&1; then
		echo "no postfix user"
		return 0
	fi
	return 1
}

# sb_free_port [N] - print N (default 1) free 127.0.0.1 TCP+UDP ports
#
# Ports come from below the kernel's ephemeral range, so an outgoing
# connection (Postfix's smtp client, say) cannot take one between the probe
# and the bind; both TCP and UDP are probed because NSD needs both.  Each
# port is claimed with a symlink $SB_PORT_LOCKS/PORT -> $SB (atomic), so
# sandboxes started at the same moment (make -j check) never pick the same
# port; a claim whose sandbox directory is gone is stale and taken over.
# sb_stop drops the sandbox's claims.
SB_PORT_LOCKS=${TMPDIR:-/tmp}/outguard-sb-ports
sb_free_port() {
	python3 - "${1:-1}" "$SB_PORT_LOCKS" "${SB:-/nonexistent}" <<'EOF'
import os, random, socket, sys
want, locks, owner = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.makedirs(locks, exist_ok=True)
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        high = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    high = 32768
low = 10000 if high > 12000 else 1024


def claim(port):
    path = os.path.join(locks, str(port))
    for _ in range(3):
        try:
            os.symlink(owner, path)
            return True
        except FileNotFoundError:   # another sb_stop removed the directory
            os.makedirs(locks, exist_ok=True)
        except FileExistsError:
            try:
                holder = os.readlink(path)
            except OSError:
                continue
            if os.path.isdir(holder):
                return False
            try:
                os.unlink(path)     # stale: its sandbox is gone
            except FileNotFoundError:
                pass
    return False


def free(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


found = []
for _ in range(2000):
    if len(found) == want:
        break
    port = random.randrange(low, high)
    if port in found or not free(port):
        continue
    if claim(port):
        found.append(port)
if len(found) != want:
    sys.exit("sb_free_port: no free port found")
print(" ".join(map(str, found)))
EOF
}

sb__release_ports() {
	local f
	for f in "$SB_PORT_LOCKS"/*; do
		[ -L "$f" ] && [ "$(readlink "$f")" = "$SB" ] && rm -f "$f"
	done
	rmdir "$SB_PORT_LOCKS" 2>/dev/null
	return 0
}

# sb_wait_for CMD [TIMEOUT] - eval CMD every 0.1 s until it succeeds
sb_wait_for() {
	local cmd=$1 limit=${2:-30} deadline
	deadline=$((SECONDS + limit))
	while ! eval "$cmd" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			sb__err "timed out after ${limit}s waiting for: $cmd"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# sb_wait_log ERE [TIMEOUT] - wait until a line of $SB/maillog matches ERE
sb_wait_log() {
	sb_wait_for "grep -Eq -- $(printf '%q' "$1") $(printf '%q' "$SB/maillog")" \
	    "${2:-30}"
}

# sb__pid_alive PIDFILE - print the pid in PIDFILE if that process lives
sb__pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(head -n 1 "$1" | tr -cd '0-9')
	[ -n "$pid" ] && sb__running "$pid" || return 1
	echo "$pid"
}

# sb__kill_wait PID [TIMEOUT] - SIGTERM, wait, then SIGKILL one process
sb__kill_wait() {
	local pid=$1 limit=${2:-10} deadline
	if sb__running "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		deadline=$((SECONDS + limit))
		while sb__running "$pid"; do
			if [ "$SECONDS" -ge "$deadline" ]; then
				sb__err "pid $pid ignored SIGTERM for ${limit}s"
				kill -KILL "$pid" 2>/dev/null
				break
			fi
			sleep 0.05
		done
	fi
	# Reap it if it is our child (fakemx, nsd); harmless otherwise.
	wait "$pid" 2>/dev/null
	return 0
}

# sb__running PID - true if PID exists and is not a zombie
sb__running() {
	local stat state
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	state=${stat%% *}
	[ "$state" != Z ] && [ "$state" != X ]
}

# sb__pids_with ppid|pgrp ID - pids whose parent or process group is ID
#
# Reads /proc rather than running pgrep: Debian's minimal images lack procps.
sb__pids_with() {
	local field=$1 want=$2 f stat state ppid pgrp rest
	for f in /proc/[0-9]*/stat; do
		{ read -r stat <"$f"; } 2>/dev/null || continue
		stat=${stat##*) }
		read -r state ppid pgrp rest <<<"$stat"
		case $field in
		ppid) [ "$ppid" = "$want" ] || continue ;;
		*) [ "$pgrp" = "$want" ] || continue ;;
		esac
		[ "$state" = Z ] && continue
		f=${f#/proc/}
		echo "${f%/stat}"
	done
}

# ---------------------------------------------------------------------
# Set-up

# sb_setup - create $SB and write every configuration file; start nothing
sb_setup() {
	local ports
	if [ -n "$SB" ] && [ -d "$SB/etc" ]; then
		return 0
	fi
	umask 022
	SB=$(mktemp -d "${TMPDIR:-/tmp}/outguard-sb.XXXXXX") || return 1
	export SB
	case $SB in
	*[[:space:]]* | *[\'\"\$]*)
		sb__err "TMPDIR must not contain blanks, quotes or \$: $SB"
		rmdir "$SB"
		SB=
		return 1
		;;
	esac
	if [ -z "${SB_NO_TRAP:-}" ]; then
		trap sb_stop EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
	fi
	chmod 0755 "$SB"
	if command -v setpriv >/dev/null 2>&1 &&
	    ! setpriv --reuid=postfix --regid=postfix --clear-groups \
	    test -x "$SB" 2>/dev/null; then
		sb__err "user postfix cannot reach $SB; make every directory" \
		    "above it searchable or set TMPDIR elsewhere"
		return 1
	fi
	mkdir -p "$SB/etc/sasl" "$SB/queue" "$SB/run" "$SB/nsd" "$SB/mx/store" \
	    "$SB/sink/store" "$SB/swaks" || return 1
	ports=$(sb_free_port 5) || return 1
	read -r SB_SMTP_PORT SB_SUBMISSION_PORT SB_MX_PORT SB_SINK_PORT \
	    SB_DNS_PORT <<<"$ports"
	export SB_SMTP_PORT SB_SUBMISSION_PORT SB_MX_PORT SB_SINK_PORT \
	    SB_DNS_PORT
	export SB_DNS_ADDR=127.0.0.1
	: >"$SB/maillog"
	sb__write_postfix || return 1
	sb__cool_down
	sb__write_nsd_conf || return 1
	sb_dns_zone "$SB_DOMAIN" \
	    "@ IN MX 10 $SB_HOSTNAME." \
	    "mta IN A 127.0.0.1" \
	    '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"' \
	    '_dmarc IN TXT "v=DMARC1; p=none"' || return 1
	printf 'reply MAIL %s\n' "$SB_S3150_REPLY" >"$SB/mx/mode"
	echo accept >"$SB/sink/mode"
	return 0
}

sb__write_postfix() {
	local etc=$SB/etc d
	cat >"$etc/main.cf" <<EOF
# Throwaway Postfix for outguard's tests; written by tests/postfix/sandbox.sh
compatibility_level = 3.6
queue_directory = $SB/queue
data_directory = $SB/data
myhostname = $SB_HOSTNAME
mydomain = $SB_DOMAIN
myorigin = \$myhostname
mydestination =
relayhost =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
smtputf8_enable = yes
delay_warning_time = 0
transport_maps = texthash:$etc/transport
maillog_file = $SB/maillog
maillog_file_prefixes = $SB
# Retries come quickly; sb_flush forces one at once.
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
smtp_connect_timeout = 5s
smtp_tls_security_level = none
smtpd_tls_security_level = none
cyrus_sasl_config_path = $etc/sasl
smtpd_sasl_local_domain = $SB_DOMAIN
smtpd_sasl_security_options = noanonymous
EOF
	{
		for d in $SB_MX_DOMAINS; do
			printf '%s\tsmtp:[127.0.0.1]:%s\n' "$d" "$SB_MX_PORT"
		done
		printf '*\tsmtp:[127.0.0.1]:%s\n' "$SB_SINK_PORT"
	} >"$etc/transport"
	cat >"$etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $etc/sasldb2
EOF
	# Debian's master.cf.proto, minus the pipe(8) examples, with every
	# chroot column "n" (see GOTCHAS) and our two listeners.
	cat >"$etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SB_SMTP_PORT inet n - n - - smtpd
  -o smtpd_authorized_xclient_hosts=127.0.0.0/8
127.0.0.1:$SB_SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_security_options=noanonymous
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o milter_macro_daemon_name=ORIGINATING
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/\$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# sb__cool_down - backdate the Postfix configuration files
#
# Postfix re-reads main.cf (and master.cf) every 0.3 s while its mtime is
# less than 2 s old ("pausing to let ... cool down", dict_load_file_xt()),
# which made every command take 1.5-3 s right after the rig wrote them.
sb__cool_down() {
	touch -d "@$(($(date +%s) - 10))" "$SB/etc/main.cf" \
	    "$SB/etc/master.cf" "$SB/etc/transport"
}

# sb_postconf NAME=VALUE... | sb_postconf -OPTION ARGS... - edit the
# sandbox's Postfix configuration (postconf -c $SB/etc -e, or the given
# postconf options, e.g. -P 'submission/inet/x=y' or -M); reloads Postfix
# when it runs.
sb_postconf() {
	sb_setup || return 1
	case ${1:-} in
	-*) postconf -c "$SB/etc" "$@" || return 1 ;;
	*) postconf -c "$SB/etc" -e "$@" || return 1 ;;
	esac
	sb__cool_down
	if sb__pid_alive "$SB/queue/pid/master.pid" >/dev/null; then
		sb_reload
	fi
}

# sb_reload - postfix reload, and wait until the master has logged it
sb_reload() {
	local n
	sb__need || return 1
	n=$(grep -c 'master.*: reload' "$SB/maillog")
	postfix -c "$SB/etc" reload >>"$SB/run/postfix.out" 2>&1 || return 1
	sb_wait_for "[ \$(grep -c 'master.*: reload' '$SB/maillog') -gt $n ]" \
	    "$SB_START_TIMEOUT"
}

# ---------------------------------------------------------------------
# Start and stop

# sb_start - set up (unless done) and start fake MX, sink, NSD and Postfix
sb_start() {
	sb_setup || return 1
	MAIL_CONFIG=$SB/etc
	export MAIL_CONFIG
	# Launch the three helpers together, then wait for each.
	sb__launch_fakemx mx "outlook-mx.$SB_DOMAIN" "$SB_MX_PORT"
	sb__launch_fakemx sink "sink.$SB_DOMAIN" "$SB_SINK_PORT"
	sb__launch_nsd
	sb__wait_fakemx mx && sb__wait_fakemx sink && sb__wait_nsd &&
	    sb__start_postfix
}

sb__launch_fakemx() {
	local which=$1 name=$2 port=$3 dir=$SB/$1
	local ms=
	[ "$which" = mx ] && ms=--microsoft
	python3 "$SB_LIBDIR/fakemx.py" --port "$port" --name "$name" $ms \
	    --mode-file "$dir/mode" --record "$dir/records.jsonl" \
	    --store "$dir/store" --pid-file "$dir/fakemx.pid" \
	    </dev/null >>"$dir/fakemx.log" 2>&1 &
	echo $! >"$SB/run/$which.pid"
}

sb__wait_fakemx() {
	local dir=$SB/$1 pid
	pid=$(cat "$SB/run/$1.pid")
	# The pid file appears once it listens.
	if ! sb_wait_for "[ -s '$dir/fakemx.pid' ] || ! sb__running $pid" \
	    "$SB_START_TIMEOUT" || [ ! -s "$dir/fakemx.pid" ]; then
		sb__err "fake MX '$1' did not start:"
		cat "$dir/fakemx.log" >&2
		return 1
	fi
}

sb__launch_nsd() {
	nsd -d -c "$SB/nsd/nsd.conf" </dev/null >>"$SB/nsd/nsd.out" 2>&1 &
	echo $! >"$SB/run/nsd.pid"
}

sb__wait_nsd() {
	local zone pid kid
	pid=$(cat "$SB/run/nsd.pid")
	for zone in $(sb__dns_zones); do
		if ! sb_wait_for "! sb__running $pid || [ -n \"\$(dig +short \
		    +norec +time=1 +tries=1 -p $SB_DNS_PORT @127.0.0.1 SOA \
		    $zone)\" ]" "$SB_START_TIMEOUT" || ! sb__running "$pid"
		then
			sb__err "NSD does not answer for $zone:"
			cat "$SB/nsd/nsd.out" "$SB/nsd/nsd.log" >&2 2>/dev/null
			return 1
		fi
	done
	# NSD forks xfrd and its server (two levels deep); remember them so
	# sb_stop can make sure they are gone: they share our process group,
	# so they cannot be killed as a group.
	: >"$SB/run/nsd.children"
	for kid in $(sb__pids_with ppid "$pid"); do
		echo "$kid"
		sb__pids_with ppid "$kid"
	done >"$SB/run/nsd.children"
}

sb__start_postfix() {
	if ! postfix -c "$SB/etc" start >>"$SB/run/postfix.out" 2>&1; then
		sb__err "postfix start failed:"
		cat "$SB/run/postfix.out" "$SB/maillog" >&2
		return 1
	fi
	if ! sb__pid_alive "$SB/queue/pid/master.pid" >"$SB/run/master.pid"
	then
		sb__err "postfix master is not running"
		cat "$SB/maillog" >&2
		return 1
	fi
	return 0
}

# sb_stop - stop what sb_start started (by pid only) and remove $SB
sb_stop() {
	local pid f
	[ -n "$SB" ] && [ -d "$SB" ] || return 0
	# Only a master whose working directory is our queue is ours.
	if pid=$(sb__pid_alive "$SB/queue/pid/master.pid") &&
	    [ "$(readlink "/proc/$pid/cwd")" = "$(readlink -f "$SB/queue")" ]
	then
		# `postfix stop` sends the master SIGTERM; the master stops
		# its children, which are in its process group (it is a
		# session leader).  Make sure of both, by pid and group.
		postfix -c "$SB/etc" stop >>"$SB/run/postfix.out" 2>&1
		sb__kill_wait "$pid" 10
		if ! sb_wait_for "[ -z \"\$(sb__pids_with pgrp $pid)\" ]" 5
		then
			kill -KILL -- "-$pid" 2>/dev/null
		fi
	fi
	for f in mx sink; do
		if pid=$(sb__pid_alive "$SB/run/$f.pid"); then
			sb__kill_wait "$pid" 5
		fi
	done
	sb__stop_nsd
	sb__release_ports
	if [ "${MAIL_CONFIG:-}" = "$SB/etc" ]; then
		unset MAIL_CONFIG
	fi
	if [ "${SB_KEEP:-0}" = 1 ]; then
		sb__err "kept $SB"
	else
		rm -rf "$SB"
	fi
	SB=
	return 0
}

sb__stop_nsd() {
	local pid child
	if pid=$(sb__pid_alive "$SB/run/nsd.pid"); then
		sb__kill_wait "$pid" 10
	fi
	[ -s "$SB/run/nsd.children" ] || return 0
	for child in $(cat "$SB/run/nsd.children"); do
		if [ "$(cat "/proc/$child/comm" 2>/dev/null)" = nsd ]; then
			sb__kill_wait "$child" 5
		fi
	done
	: >"$SB/run/nsd.children"
}

# ---------------------------------------------------------------------
# DNS

sb__write_nsd_conf() {
	local zone
	{
		cat <<EOF
# written by tests/postfix/sandbox.sh
server:
	ip-address: 127.0.0.1@$SB_DNS_PORT
	port: $SB_DNS_PORT
	do-ip4: yes
	do-ip6: no
	server-count: 1
	reuseport: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$SB/nsd"
	zonelistfile: "$SB/nsd/zone.list"
	xfrdfile: "$SB/nsd/xfrd.state"
	xfrdir: "$SB/nsd"
	cookie-secret-file: "$SB/nsd/cookiesecrets.txt"
	pidfile: "$SB/nsd/nsd.pid"
	logfile: "$SB/nsd/nsd.log"
	verbosity: 1
	hide-version: yes
remote-control:
	control-enable: no
EOF
		for zone in $(sb__dns_zones); do
			printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.zone"\n' \
			    "$zone" "$zone"
		done
	} >"$SB/nsd/nsd.conf"
}

sb__dns_zones() {
	local f
	for f in "$SB"/nsd/*.zone; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.zone}"
	done
}

# sb_dns_zone ZONE RECORD... - (re)write ZONE with SOA, NS and the given
# zone-file lines (relative to the zone, e.g. '@ IN TXT "v=spf1 -all"',
# 'mail IN A 127.0.0.1'); reloads NSD when it runs.  TXT strings over 255
# octets must be split into several quoted strings by the caller.
sb_dns_zone() {
	local zone=${1%.} rec
	sb__need || return 1
	shift
	case $zone in
	'' | */* | .*) sb__err "bad zone name '$zone'"; return 1 ;;
	esac
	{
		printf '$ORIGIN %s.\n$TTL 60\n' "$zone"
		printf '@ IN SOA ns.%s. hostmaster.%s. %s 60 60 600 60\n' \
		    "$zone" "$zone" "$(date +%s)"
		printf '@ IN NS localhost.\n'
		for rec in "$@"; do
			printf '%s\n' "$rec"
		done
	} >"$SB/nsd/$zone.zone"
	sb__write_nsd_conf || return 1
	if sb__pid_alive "$SB/run/nsd.pid" >/dev/null; then
		sb_dns_reload
	fi
}

# sb_dns_reload - restart NSD on the same port; wait until all zones answer
sb_dns_reload() {
	sb__need || return 1
	if ! nsd-checkconf "$SB/nsd/nsd.conf" >&2; then
		return 1
	fi
	sb__stop_nsd
	sb__launch_nsd
	sb__wait_nsd
}

# sb_dig ARGS... - dig at the sandbox's DNS server
sb_dig() {
	sb__need || return 1
	dig +norec +time=2 +tries=2 -p "$SB_DNS_PORT" @127.0.0.1 "$@"
}

# ---------------------------------------------------------------------
# Mail in

# sb_add_user USER[@REALM] PASS - create a SASL user (realm outguard.test)
sb_add_user() {
	local user=$1 pass=$2 realm=$SB_DOMAIN
	sb__need || return 1
	case $user in
	*@*) realm=${user#*@}; user=${user%%@*} ;;
	esac
	printf '%s' "$pass" | saslpasswd2 -f "$SB/etc/sasldb2" -u "$realm" \
	    -c -p "$user" || return 1
	chgrp postfix "$SB/etc/sasldb2" && chmod 0640 "$SB/etc/sasldb2"
}

# sb_swaks PORT [SWAKS-ARGS...] - run swaks against 127.0.0.1:PORT; print
# the queue id Postfix answered with, keep the transcript (its path is in
# the symlink $SB/swaks/last) and return swaks' status (0 = accepted,
# 23/24/25 = refused after MAIL/RCPT/DATA; see swaks(1)).
sb_swaks() {
	local port=$1 out rc
	sb__need || return 1
	shift
	out=$(mktemp "$SB/swaks/$(date +%H%M%S).XXXXXX") || return 1
	swaks --server 127.0.0.1 --port "$port" --helo client.outguard.test \
	    --timeout 15 "$@" >"$out" 2>&1 </dev/null
	rc=$?
	ln -sfn "$out" "$SB/swaks/last"
	sed -n 's/^<-  250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$out" |
	    tail -n 1
	if [ "$rc" != 0 ] && [ -n "${SB_VERBOSE:-}" ]; then
		sed 's/^/# /' "$out" >&2
	fi
	return "$rc"
}

# sb_submit FROM TO USER PASS [SWAKS-ARGS...] - authenticated submission
# (AUTH PLAIN) on $SB_SUBMISSION_PORT; prints the queue id (sb_swaks)
sb_submit() {
	local from=$1 to=$2 user=$3 pass=$4
	shift 4
	sb_swaks "$SB_SUBMISSION_PORT" --from "$from" --to "$to" \
	    --auth PLAIN --auth-user "$user" --auth-password "$pass" "$@"
}

# sb_relay FROM TO [LOGIN] [SWAKS-ARGS...] - unauthenticated SMTP from
# 127.0.0.1 on $SB_SMTP_PORT (mynetworks); with a non-empty LOGIN the
# client first sends XCLIENT LOGIN=LOGIN, which Postfix takes as that SASL
# identity (logged as sasl_method=XCLIENT, sasl_username=LOGIN).  Prints
# the queue id (sb_swaks).
sb_relay() {
	local from=$1 to=$2 login=${3:-}
	shift 2
	case $login in
	-*) login= ;;
	*) [ $# -gt 0 ] && shift ;;
	esac
	if [ -n "$login" ]; then
		set -- --xclient "LOGIN=$login" "$@"
	fi
	sb_swaks "$SB_SMTP_PORT" --from "$from" --to "$to" "$@"
}

# sb_sendmail FROM TO... - local submission: the message on stdin goes
# through sendmail(1), postdrop and pickup, like PHP's mail()
sb_sendmail() {
	local from=$1
	sb__need || return 1
	shift
	sendmail -C "$SB/etc" -i -f "$from" -- "$@"
}

# ---------------------------------------------------------------------
# Fake MX and sink

sb__check_mode() {
	case $1 in
	accept) return 0 ;;
	"reply "*) ;;
	*) sb__err "bad mode '$1'"; return 1 ;;
	esac
	local word stage code rest
	read -r word stage code rest <<<"$1"
	case $stage in
	CONNECT | HELO | MAIL | RCPT | DATA | DOT) ;;
	*) sb__err "bad stage '$stage'"; return 1 ;;
	esac
	case $code in
	[2-5][0-9][0-9]) ;;
	*) sb__err "bad reply code '$code'"; return 1 ;;
	esac
	: "$word" "$rest"
}

sb__set_mode() {
	local dir=$SB/$1 mode
	sb__need || return 1
	shift
	mode="$*"
	sb__check_mode "$mode" || return 1
	printf '%s\n' "$mode" >"$dir/mode.tmp" && mv "$dir/mode.tmp" "$dir/mode"
}

# sb_set_mx_mode accept | reply STAGE CODE TEXT - fake MX's next behaviour
sb_set_mx_mode() {
	sb__set_mode mx "$@"
}

# sb_set_sink_mode accept | reply STAGE CODE TEXT - the sink's behaviour
sb_set_sink_mode() {
	sb__set_mode sink "$@"
}

# sb_sink_count - number of messages the sink has stored
sb_sink_count() {
	sb_sink_messages | wc -l
}

# sb_sink_messages - paths of the sink's stored messages, oldest first
sb_sink_messages() {
	sb__need || return 1
	find "$SB/sink/store" -name '*.eml' -type f | sort
}

# sb_sink_grep ERE - paths of the sink's messages with a line matching ERE;
# fails when there is none
sb_sink_grep() {
	local f found=1
	for f in $(sb_sink_messages); do
		if grep -Eq -- "$1" "$f"; then
			echo "$f"
			found=0
		fi
	done
	return $found
}

# sb_sink_records - the sink's JSON lines (one per transaction)
sb_sink_records() {
	sb__need || return 1
	cat "$SB/sink/records.jsonl" 2>/dev/null
	return 0
}

# sb_mx_records - the fake MX's JSON lines (one per transaction or refusal)
sb_mx_records() {
	sb__need || return 1
	cat "$SB/mx/records.jsonl" 2>/dev/null
	return 0
}

# sb_mx_messages - paths of messages the fake MX accepted (mode accept)
sb_mx_messages() {
	sb__need || return 1
	find "$SB/mx/store" -name '*.eml' -type f | sort
}

# ---------------------------------------------------------------------
# Queue and log

# sb_queue_json - postqueue -j of the sandbox (one JSON object a line)
sb_queue_json() {
	sb__need || return 1
	postqueue -c "$SB/etc" -j
}

# sb_flush - postqueue -f: try every queued message now
sb_flush() {
	sb__need || return 1
	postqueue -c "$SB/etc" -f
}

# sb_log - the sandbox's Postfix log
sb_log() {
	sb__need || return 1
	cat "$SB/maillog"
}

# ---------------------------------------------------------------------
# Several sandboxes in one test (t_fleet.sh: two MTAs, one store)
#
# A sandbox is the values of SB_INSTANCE_VARS; sb_use saves the current
# instance's values under its name and makes another instance current,
# so every function above works on whichever instance is current. All
# of it runs in the test's own shell: the background processes of each
# instance (fake MX, sink, NSD, daemons) stay its children.

SB_INSTANCE_VARS="SB SB_HOSTNAME SB_SMTP_PORT SB_SUBMISSION_PORT SB_MX_PORT
 SB_SINK_PORT SB_DNS_PORT MAIL_CONFIG"
SB_INSTANCE=
SB_INSTANCES=
SB__DEFAULT_HOSTNAME=$SB_HOSTNAME
declare -A SB__SAVED=()

# sb_use NAME - make instance NAME current (letters, digits, _); a new
# name starts with no sandbox (SB empty) and SB_HOSTNAME at its default:
# set SB_HOSTNAME, then sb_setup or sb_start as for a single sandbox
sb_use() {
	local name=${1:-} v key
	case $name in
	'' | *[!A-Za-z0-9_]*) sb__err "bad instance name '$name'"; return 1 ;;
	esac
	if [ -n "$SB_INSTANCE" ]; then
		for v in $SB_INSTANCE_VARS; do
			key="$SB_INSTANCE.$v"
			if [ -n "${!v+x}" ]; then
				SB__SAVED[$key]=${!v}
			else
				unset "SB__SAVED[$key]"
			fi
		done
	fi
	case " $SB_INSTANCES " in
	*" $name "*) ;;
	*)
		SB_INSTANCES="${SB_INSTANCES:+$SB_INSTANCES }$name"
		SB__SAVED[$name.SB]=
		SB__SAVED[$name.SB_HOSTNAME]=$SB__DEFAULT_HOSTNAME
		;;
	esac
	for v in $SB_INSTANCE_VARS; do
		key="$name.$v"
		if [ -n "${SB__SAVED[$key]+x}" ]; then
			export "$v=${SB__SAVED[$key]}"
		else
			unset "$v"
		fi
	done
	SB_INSTANCE=$name
}

# sb_each CMD - eval CMD once with each instance current, in the order
# they were first used; the current instance is current again after it.
# Fails if CMD failed for any of them.
sb_each() {
	local cmd=$1 was=$SB_INSTANCE name rc=0
	for name in $SB_INSTANCES; do
		sb_use "$name" || return 1
		eval "$cmd" || rc=1
	done
	[ -n "$was" ] && sb_use "$was"
	return $rc
}

#!/bin/bash
# conns.sh - outguard-policyd serves 500 concurrent connections, and a
# client that stalls mid-request or sends garbage stalls no one else.
# Starts the real daemon on a unix socket in a temp dir, holds sasl:held0,
# then opens 500 connections at once (python3): one sends half a request
# and waits, one sends a malformed request (its connection must be closed
# without an answer), and the other 498 each send two requests and must
# get the right answers (HOLD for held0's, DUNNO otherwise) while the
# stalled one is still open. TAP output.
# Exercises: policy/server.c (the epoll loop, 500 connections, stalled and malformed clients) and policy/policyd.c (SIGHUP reload, watcher restart, SIGTERM).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
bin="$top_builddir/policy"
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 missing"
	exit 0
fi
tmp=$(mktemp -d)
chmod 0777 "$tmp"	# the daemon drops to nobody when run as root
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cat >"$tmp/outguard.conf" <<CONF
store = sqlite:$tmp/outguard.db
policyd_listen = unix:$tmp/policy.sock
policyd_pid_file = $tmp/policyd.pid
status_filter_listen =
reply_rules = $top_srcdir/contrib/replies.rules
run_user = nobody
CONF
ulimit -n 4096 2>/dev/null
"$bin/outguard-queue-report" -c "$tmp/outguard.conf" hold sasl:held0 \
    --reason test --no-queue >/dev/null 2>&1
"$bin/outguard-policyd" -d -c "$tmp/outguard.conf" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do
	[ -S "$tmp/policy.sock" ] && grep -q starting: "$tmp/log" && break
	sleep 0.1
done
python3 - "$tmp/policy.sock" <<'PY'
import socket, sys, time
path = sys.argv[1]
N = 500
def req(login, n):
    return ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
            "protocol_name=ESMTP\nclient_address=192.0.2.%d\n"
            "sasl_username=%s\nsender=%s@example.net\n"
            "recipient=r%d@example.com\ninstance=i%d\n\n"
            % (n % 250, login, login, n, n)).encode()
conns = []
for i in range(N):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    conns.append(s)
results = []
def check(desc, ok):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), desc))
stalled, bad = conns[0], conns[1]
stalled.sendall(b"request=smtpd_access_policy\nprotocol_state=RC")
bad.sendall(b"request=smtpd_access_policy\nthis is no attribute\n\n")
t0 = time.time()
wrong = 0
for rnd in range(2):
    for i, s in enumerate(conns[2:], start=2):
        s.sendall(req("held0" if i % 50 == 0 else "user%d" % i, i))
    for i, s in enumerate(conns[2:], start=2):
        buf = b""
        while not buf.endswith(b"\n\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        want = b"action=HOLD" if i % 50 == 0 else b"action=DUNNO"
        if not buf.startswith(want):
            wrong += 1
dt = time.time() - t0
check("%d connections open at once, two requests each: all answered right "
      "(%d wrong) in %.2f s" % (N, wrong, dt), wrong == 0)
check("the stalled client stalled no one (all answered within 10 s)", dt < 10)
try:
    bad.settimeout(5)
    closed = bad.recv(4096) == b""
except OSError:
    closed = True
check("a malformed request is closed without an answer", closed)
stalled.sendall(b"PT\nsasl_username=user7\n\n")
stalled.settimeout(5)
check("the stalled client is answered once it finishes its request",
      stalled.recv(4096).startswith(b"action=DUNNO"))
sys.exit(0 if all(results) else 1)
PY
rc=$?

# SIGHUP: a broken configuration is refused and the old one kept; a good
# one (dry_run = yes) takes effect: held0 is then answered DUNNO
ask_held0() {
	python3 - "$tmp/policy.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
          b"sasl_username=held0\nrecipient=a@example.com\n\n")
print(s.recv(4096).decode().split("\n")[0])
PY
}
cp "$tmp/outguard.conf" "$tmp/good.conf"
echo "bogus_setting = 1" >>"$tmp/outguard.conf"
kill -HUP "$pid"
sleep 1
a=$(ask_held0)
if [ "${a%% *}" = "action=HOLD" ] && grep -q 'keeping the old one' "$tmp/log"; then
	echo "ok 5 - SIGHUP with a broken configuration keeps the old one"
else
	echo "not ok 5 - SIGHUP with a broken configuration keeps the old one ($a)"
	rc=1
fi
cp "$tmp/good.conf" "$tmp/outguard.conf"
printf 'dry_run = yes\nqueue_scan_interval = 17s\n' >>"$tmp/outguard.conf"
kill -HUP "$pid"
sleep 1
a=$(ask_held0)
if [ "$a" = "action=DUNNO" ] && grep -q 'action=would-HOLD' "$tmp/log"; then
	echo "ok 6 - SIGHUP rereads the configuration (dry_run now on)"
else
	echo "not ok 6 - SIGHUP rereads the configuration (dry_run now on): $a"
	rc=1
fi
# the queue watcher restarts on the new settings, not the start-up ones
if grep -q 'watcher: scanning the queue every 60s' "$tmp/log" &&
    grep -q 'watcher: scanning the queue every 17s.*dry_run=yes' "$tmp/log"; then
	echo "ok 7 - SIGHUP restarts the queue watcher on the new settings"
else
	echo "not ok 7 - SIGHUP restarts the queue watcher on the new settings"
	grep 'watcher:' "$tmp/log" | sed 's/^/# /'
	rc=1
fi
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$pid" 2>/dev/null && grep -q 'signal 15: stopping' "$tmp/log"; then
	echo "ok 8 - SIGTERM stops the daemon cleanly"
else
	echo "not ok 8 - SIGTERM stops the daemon cleanly"
	rc=1
fi
pid=
echo "1..8"
exit $rc

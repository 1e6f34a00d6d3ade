#!/bin/bash
# run.sh - outguard-milter under miltertest: starts the built milter on a
# unix socket in a temp directory with a temp configuration (no store),
# runs each tests/milter/*.lua against it (identity rules with Postfix's
# and Sendmail's macro sets, robustness, the actions through SIGHUP
# reloads, a connection pinned to its snapshot), then checks -n, a bad
# reload, and a clean SIGTERM. The Lua scripts print "ok - ..." lines;
# this script numbers them. Then a second milter on TCP: its accepted
# connections have TCP_NODELAY (read from the milter's own descriptor
# with pidfd_getfd(2), so it needs root or ptrace rights; SKIP without).
# TAP output; SKIP without miltertest.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
milter="$top_builddir/milter/outguard-milter"
dir="$top_srcdir/tests/milter"
miltertest=$(command -v miltertest || true)
if [ -z "$miltertest" ]; then
	echo "1..0 # SKIP miltertest not installed (opendkim-tools)"
	exit 0
fi

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
chmod 0755 "$tmp" # run_user must read the tables after a reload

n=0
fail=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	fail=1
	echo "not ok $n - $1"
	[ -s "$tmp/milter.log" ] && tail -n 5 "$tmp/milter.log" | sed 's/^/# /'
}
check() { # desc, command
	if eval "$2"; then ok "$1"; else not_ok "$1"; fi
}

cat >"$tmp/logins" <<'MAP'
alice@example.com	alice
bob@example.com	bob
@shop.example.com	alice
MAP
base() { # extra settings on stdin
	cat <<CONF
milter_socket = unix:$tmp/milter.sock
milter_pid_file = $tmp/milter.pid
run_user = nobody
myhostname = mta.example.com
unsub_keywords = $top_srcdir/contrib/unsub-keywords
sender_login_maps = file:$tmp/logins
local_domains = example.com
internal_hosts = inline:{ 127.0.0.0/8, 10.0.0.0/8, ::1 }
identity_action = reject
unsubscribe_action = tag
CONF
	cat
}
base </dev/null >"$tmp/milter.conf"
echo "identity_action = quarantine" | base >"$tmp/quarantine.conf"
sed -i '/^identity_action = reject$/d' "$tmp/quarantine.conf"

# -n: the settings, and the configuration errors with exit 78
"$milter" -n -c "$tmp/milter.conf" >"$tmp/n.out" 2>&1
rc=$?
check "-n prints the settings" \
    '[ $rc = 0 ] && grep -q "^identity_action = reject$" "$tmp/n.out" &&
     grep -q "^milter_socket = unix:$tmp/milter.sock$" "$tmp/n.out"'
printf 'identity_action = bounce\n' >"$tmp/bad.conf"
"$milter" -n -c "$tmp/bad.conf" >"$tmp/bad.out" 2>&1
rc=$?
check "-n: a bad action is exit 78 with file:line" \
    '[ $rc = 78 ] && grep -q "bad.conf:1: identity_action" "$tmp/bad.out"'
printf 'unsub_keywords = /nonexistent/kw\n' >"$tmp/bad.conf"
"$milter" -n -c "$tmp/bad.conf" >"$tmp/bad.out" 2>&1
rc=$?
check "-n: a missing keyword list is exit 78" \
    '[ $rc = 78 ] && grep -q "unsub_keywords" "$tmp/bad.out"'

"$milter" -d -c "$tmp/milter.conf" 2>>"$tmp/milter.log" &
pid=$!
for _ in $(seq 100); do
	[ -S "$tmp/milter.sock" ] && break
	sleep 0.05
done
check "the milter listens on its unix socket" '[ -S "$tmp/milter.sock" ]'
check "socket mode 0660" '[ "$(stat -c %a "$tmp/milter.sock")" = 660 ]'
if getent group postfix >/dev/null; then
	check "socket group postfix" \
	    '[ "$(stat -c %G "$tmp/milter.sock")" = postfix ]'
fi
check "pid file written" '[ "$(cat "$tmp/milter.pid" 2>/dev/null)" = "$pid" ]'
if [ "$(id -u)" = 0 ]; then
	check "privileges dropped to run_user" \
	    '[ "$(ps -o user= -p "$pid")" = nobody ]'
fi

mt() { # script [variant]
	"$miltertest" -D "sock=unix:$tmp/milter.sock" -D "srcdir=$dir" \
	    -D "tmp=$tmp" -D "pidfile=$tmp/milter.pid" -D "expect=${2:-}" \
	    -s "$dir/$1" >"$tmp/mt.out" 2>&1
	local rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$tmp/mt.out"
	[ $rc = 0 ] || not_ok "$1 ${2:-}: miltertest exited $rc"
}

reloads=0
reload() { # config file
	cp "$1" "$tmp/milter.conf"
	reloads=$((reloads + 1))
	kill -HUP "$pid"
	for _ in $(seq 100); do
		[ "$(grep -c 'reload: configuration' "$tmp/milter.log")" -ge \
		    "$reloads" ] && return 0
		sleep 0.05
	done
	return 1
}

mt identity.lua
mt robust.lua
for v in quarantine tempfail tag dry iddry text off alloff; do
	case $v in
	dry) extra="dry_run = yes" ;;
	iddry) extra="identity_dry_run = yes" ;;
	text) extra="identity_reject_text = 5.7.0 Not yours 100%" ;;
	alloff) extra=$'identity_action = off\nunsubscribe_action = off' ;;
	*) extra="identity_action = $v" ;;
	esac
	{ base </dev/null | grep -v "^identity_action = reject$" |
	    grep -v '^identity_action'; echo "identity_action = reject"; } \
	    >"$tmp/v.conf"
	[ "${extra%% *}" = identity_action ] &&
	    sed -i '/^identity_action/d' "$tmp/v.conf"
	case $extra in
	*unsubscribe_action*) sed -i '/^unsubscribe_action/d' "$tmp/v.conf" ;;
	esac
	echo "$extra" >>"$tmp/v.conf"
	check "SIGHUP reload with ${extra//$'\n'/, }" 'reload "$tmp/v.conf"'
	check "still running after SIGHUP ($v)" 'kill -0 "$pid"'
	mt actions.lua "$v"
done

# a snapshot stays pinned to the connection that started with it
base </dev/null >"$tmp/reject.conf"
check "reload back to reject" 'reload "$tmp/reject.conf"'
reloads=$((reloads + 1)) # the one actions.lua triggers
mt actions.lua pinned

# a broken configuration on SIGHUP keeps the old one
printf 'identity_action = bounce\n' >"$tmp/milter.conf"
kill -HUP "$pid"
for _ in $(seq 100); do
	grep -q 'keeping the old one' "$tmp/milter.log" && break
	sleep 0.05
done
check "bad reload: logged, old configuration kept" \
    'grep -q "keeping the old one" "$tmp/milter.log" && kill -0 "$pid"'
mt actions.lua quarantine

kill -TERM "$pid"
rc=124
for _ in $(seq 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		rc=$?
		break
	fi
	sleep 0.05
done
pid=
check "SIGTERM: clean exit 0" '[ $rc = 0 ] && grep -q "stopping on signal 15" "$tmp/milter.log"'
# TCP: the accepted connection of a milter on inet: has TCP_NODELAY
# (without it each end-of-message with a header stalls about 40 ms on
# the MTA's delayed ACK)
py=/usr/bin/python3
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|^milter_socket = .*|milter_socket = inet:$port@127.0.0.1|" \
    -e "s|^milter_pid_file = .*|milter_pid_file = $tmp/tcp.pid|" \
    "$tmp/reject.conf" >"$tmp/tcp.conf"
"$milter" -d -c "$tmp/tcp.conf" 2>>"$tmp/tcp.log" &
pid=$!
check "TCP: the milter logs TCP_NODELAY on its inet: socket" \
    'for _ in $(seq 100); do grep -q "inet:$port@127.0.0.1: TCP_NODELAY on" "$tmp/tcp.log" && break; sleep 0.05; done
     grep -q "TCP_NODELAY on" "$tmp/tcp.log"'
nodelay=$("$py" - "$pid" "$port" <<'PY' 2>&1
import ctypes, os, socket, sys, time
pid, port = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
c = socket.create_connection(("127.0.0.1", port), timeout=5)
me = c.getsockname()
try:
    pidfd = os.pidfd_open(pid)
except OSError as e:
    print("skip: pidfd_open: %s" % e)
    sys.exit(0)
for _ in range(100):  # until libmilter has accepted it
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                continue
        except OSError:
            continue
        fd = libc.syscall(438, pidfd, int(name), 0)  # pidfd_getfd
        if fd < 0:
            print("skip: pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
            sys.exit(0)
        s = socket.socket(fileno=fd)
        try:
            if s.type == socket.SOCK_STREAM and s.getpeername() == me:
                print("nodelay=%d" % s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                sys.exit(0)
        except OSError:
            pass
        finally:
            s.close()
    time.sleep(0.05)
print("no accepted socket found")
PY
)
case $nodelay in
skip:*) ok "TCP: TCP_NODELAY on the accepted connection # SKIP $nodelay" ;;
*) check "TCP: TCP_NODELAY on the accepted connection ($nodelay)" \
    '[ "$nodelay" = nodelay=1 ]' ;;
esac
kill -TERM "$pid" && wait "$pid" 2>/dev/null
pid=
cat "$tmp/tcp.log" >>"$tmp/milter.log"

if grep -qE 'AddressSanitizer|runtime error' "$tmp/milter.log"; then
	not_ok "sanitizer report in the milter's log"
	grep -E -A20 'AddressSanitizer|runtime error' "$tmp/milter.log" |
	    head -n 40 | sed 's/^/# /'
else
	ok "no sanitizer report in the milter's log"
fi

echo "1..$n"
exit $fail

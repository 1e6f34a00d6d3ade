#!/bin/bash
# t_milter.sh - outguard-milter against a real Postfix (issue 8)
#
# DESCRIPTION: the sandbox Postfix runs outguard-milter as smtpd_milters
#	and non_smtpd_milters. An authenticated user sending as someone
#	else's address is refused and the milter's log says why; a foreign
#	From under the user's own envelope is refused too; a local
#	sendmail(1) submission with a foreign From is caught; a clean
#	message reaches the sink untouched but for the X-Outguard-Result
#	tag; a bulk message whose List-Unsubscribe lacks the RFC 8058
#	List-Unsubscribe-Post is delivered tagged unsubscribe=fail (and the
#	log says so), while a complete one is tagged unsubscribe=pass; with
#	identity_action = quarantine (SIGHUP) the forged message is held
#	instead. TAP output.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
# shellcheck source=tests/postfix/tap.sh
. "$top_srcdir/tests/postfix/tap.sh"

milter="$top_builddir/milter/outguard-milter"
if reason=$(sb_missing); then
	echo "1..0 # SKIP $reason"
	exit 0
fi
if ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP no user nobody"
	exit 0
fi

mpid=
stop_milter() {
	if [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null; then
		kill "$mpid"
		wait "$mpid" 2>/dev/null
	fi
	mpid=
}

echo "1..16"
SB_NO_TRAP=1 sb_setup || exit 1
trap 'stop_milter; sb_stop' EXIT
M="$SB/milter"
mkdir -p "$M" && chmod 0755 "$M"
printf '%s\n' "alice@outguard.test alice, alice@outguard.test" \
    "bob@outguard.test bob, bob@outguard.test" >"$M/logins"
conf() { # identity_action
	cat <<CONF
milter_socket = unix:$M/milter.sock
milter_pid_file = $M/milter.pid
run_user = nobody
myhostname = $SB_HOSTNAME
unsub_keywords = $top_srcdir/contrib/unsub-keywords
sender_login_maps = file:$M/logins
local_domains = $SB_DOMAIN
identity_action = $1
unsubscribe_action = tag
CONF
}
conf reject >"$M/outguard.conf"
sb_postconf "smtpd_milters = unix:$M/milter.sock" \
    "non_smtpd_milters = unix:$M/milter.sock" \
    "milter_default_action = tempfail" \
    "milter_connect_macros = j {daemon_name} {daemon_addr} v _ {client_addr}" || exit 1
sb_add_user alice secret-a || exit 1
"$milter" -d -v -c "$M/outguard.conf" 2>"$M/milter.log" &
mpid=$!
sb_wait_for "test -S $(printf %q "$M/milter.sock")" 10 ||
    { cat "$M/milter.log"; exit 1; }
sb_start || exit 1
ALICE=alice@outguard.test

mlog() { # ERE: the milter's log has a line matching it (5 s)
	sb_wait_for "grep -qE -- $(printf %q "$1") $(printf %q "$M/milter.log")" 5
}

# 1-3: alice sends as bob
out=$(sb_submit bob@outguard.test bob@example.net alice secret-a 2>&1)
check "alice as bob: refused" '[ -z "$out" ]'
check "alice as bob: 550 5.7.1 at end of data" \
    'grep -q "^<\*\* *550 5.7.1 Sender address not allowed" "$SB/swaks/last"'
check "alice as bob: the milter's log says why" \
    'mlog "check=identity result=fail reason=envelope-not-owned origin=auth login=alice.* envelope=<bob@outguard.test>.* action=reject"'

# 4-5: alice's envelope, a forged From
# shellcheck disable=SC2034 # read by check's eval
out=$(sb_submit "$ALICE" bob@example.net alice secret-a \
    --header "From: CEO <ceo@bank.example>" 2>&1)
check "foreign From: refused" '[ -z "$out" ]'
check "foreign From: logged" \
    'mlog "reason=header-from-not-owned .*login=alice.* from=<ceo@bank.example> action=reject"'

# 6-7: a local submission (PHP's mail()) with a foreign From
printf 'From: PayPal <service@paypal.example>\nSubject: verify\n\nx\n' |
    sb_sendmail www-data@outguard.test victim@example.net
check "local submission, foreign From: caught" \
    'mlog "check=identity result=fail reason=header-from-not-local-domain"'
line=$(grep -E "reason=header-from-not-local-domain" "$M/milter.log" | head -n 1)
echo "# local submission seen as: ${line#*origin=}"
check "local submission: refused by cleanup, bounced to the sender" \
    'sb_wait_log "to=<victim@example.net>.*status=bounced" 10 &&
     grep -q "milter-reject: END-OF-MESSAGE from localhost\[127.0.0.1\]" "$SB/maillog"'

# 8-9: a clean message: delivered, tagged
qid=$(sb_submit "$ALICE" bob@example.net alice secret-a \
    --header "Subject: clean")
check "clean message accepted" '[ -n "$qid" ]'
sb_wait_log "$qid: to=<bob@example.net>.*status=sent" >/dev/null 2>&1
check "clean message delivered with the tag only" \
    'f=$(sb_sink_grep "^Subject: clean") &&
     grep -q "^X-Outguard-Result: $SB_HOSTNAME; identity=pass; unsubscribe=not-bulk" $f'

# 10-12: bulk mail without List-Unsubscribe-Post: delivered, tagged
qid=$(sb_submit "$ALICE" bob@example.net alice secret-a \
    --header "Subject: newsletter one" --header "Precedence: bulk" \
    --header "List-Unsubscribe: <https://lists.outguard.test/u/1>" \
    --body "News. To unsubscribe: https://lists.outguard.test/u/1")
check "bulk, no List-Unsubscribe-Post: accepted" '[ -n "$qid" ]'
sb_wait_log "$qid: to=<bob@example.net>.*status=sent" >/dev/null 2>&1
check "bulk, no List-Unsubscribe-Post: tagged unsubscribe=fail at the sink" \
    'f=$(sb_sink_grep "^Subject: newsletter one") &&
     grep -Eq "^X-Outguard-Result: $SB_HOSTNAME; identity=pass; unsubscribe=fail.*post" $f &&
     grep -q "^List-Unsubscribe: <https://lists.outguard.test/u/1>" $f'
check "bulk, no List-Unsubscribe-Post: the log says why" \
    'mlog "$qid: check=unsubscribe result=fail reason=[a-z-]*post.* action=tag"'
# 13-14: the same with the RFC 8058 header: passes, tagged pass
qid=$(sb_submit "$ALICE" bob@example.net alice secret-a \
    --header "Subject: newsletter two" --header "Precedence: bulk" \
    --header "List-Unsubscribe: <https://lists.outguard.test/u/2>" \
    --header "List-Unsubscribe-Post: List-Unsubscribe=One-Click" \
    --body "News. Unsubscribe here: https://lists.outguard.test/u/2")
sb_wait_log "$qid: to=<bob@example.net>.*status=sent" >/dev/null 2>&1
check "bulk with one-click unsubscribe: delivered" \
    'sb_sink_grep "^Subject: newsletter two" >/dev/null'
check "bulk with one-click unsubscribe: tagged unsubscribe=pass" \
    'f=$(sb_sink_grep "^Subject: newsletter two") &&
     grep -q "^X-Outguard-Result: $SB_HOSTNAME; identity=pass; unsubscribe=pass" $f'

# 15-16: quarantine instead of reject, through SIGHUP
conf quarantine >"$M/outguard.conf"
kill -HUP "$mpid"
mlog "reload: configuration" || true
qid=$(sb_submit "$ALICE" bob@example.net alice secret-a \
    --header "From: ceo@bank.example" --header "Subject: held")
check "quarantine: accepted" '[ -n "$qid" ]'
held() {
	sb_queue_json >"$M/queue.json" &&
	    json_has "$M/queue.json" "r['queue_id'] == '$qid' and r['queue_name'] == 'hold'"
}
check "quarantine: in the hold queue" 'sb_wait_for held 10'

[ "$FAILED" = 0 ] || { show_log 20; sed 's/^/# /' "$M/milter.log" | tail -n 20; }
exit $((FAILED > 0))

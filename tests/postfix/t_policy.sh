#!/bin/bash
# t_policy.sh - outguard-policyd against a real Postfix (issue 5)
#
# DESCRIPTION: the sandbox Postfix asks outguard-policyd at RCPT and at
#	END-OF-MESSAGE. A hold on sasl:alice puts alice's next submission in
#	the hold queue while bob's reaches the sink; the hold survives a
#	daemon restart; release moves alice's held mail on to the sink and
#	the audit has both rows; a hold on provider:microsoft-consumer holds
#	mail to hotmail.com and not to other domains; killing the daemon
#	while mail is sent loses nothing (default_action=DUNNO). TAP output.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
# shellcheck source=tests/postfix/tap.sh
. "$top_srcdir/tests/postfix/tap.sh"
# shellcheck source=tests/postfix/outguard.sh
. "$top_srcdir/tests/postfix/outguard.sh"

if reason=$(sb_missing); then
	echo "1..0 # SKIP $reason"
	exit 0
fi
if ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP no user nobody"
	exit 0
fi

echo "1..17"
SB_NO_TRAP=1 sb_setup || exit 1
trap 'og_policyd_kill; sb_stop' EXIT
og_setup || exit 1
sb_add_user alice secret-a && sb_add_user bob secret-b || exit 1
sb_start || exit 1
og_policyd_start || { cat "$SB/og/policyd.log"; exit 1; }
ALICE=alice@outguard.test
BOB=bob@outguard.test

# in_queue QUEUE QID - the message is in that Postfix queue
in_queue() {
	sb_queue_json | grep -q "\"queue_name\": *\"$1\".*\"queue_id\": *\"$2\"" ||
	    sb_queue_json | grep -q "\"queue_id\": *\"$2\".*\"queue_name\": *\"$1\""
}
# wait_gen N - the daemon has picked up hold generation N (every hold
# and every release makes a new generation)
wait_gen() {
	sb_wait_for "grep -q 'holds: generation $1,' '$SB/og/policyd.log'" 10
}

# 1-3: a hold on alice
out=$(og_report hold "sasl:$ALICE" --reason "leaked password, ticket 17" 2>&1)
check "hold sasl:alice is stored" "grep -q '^held sasl:$ALICE' <<<\"\$out\""
check "the daemon picks the hold up within seconds" "wait_gen 1"
qa1=$(sb_submit "$ALICE" carol@example.net "$ALICE" secret-a \
    --header "Subject: alice-1" --body "token-alice-1")
check "alice's submission lands in the hold queue" \
    "sb_wait_for \"in_queue hold '$qa1'\" 20"

# 4-5: bob is not held, and who sent it is recorded
qb1=$(sb_submit "$BOB" carol@example.net "$BOB" secret-b \
    --header "Subject: bob-1" --body "token-bob-1")
check "bob's mail reaches the sink" "sb_wait_for \"sb_sink_grep token-bob-1\" 20"
check "the store records who sent bob's queue id" \
    "sb_wait_for \"og_sql \\\"select sasl_username, rcpt_summary from messages where queue_id='$qb1'\\\" | grep -q '^$BOB|example.net=1'\" 10"

# 6-7: the decision is logged, with the identity
check "the HOLD decision is logged with the identity" \
    "grep -q 'action=HOLD state=RCPT identity=sasl:$ALICE' '$SB/og/policyd.log'"
check "Postfix logs the hold with outguard's reason" \
    "sb_wait_log 'submission/smtpd.*: hold: RCPT from .*<carol@example.net>: Recipient address outguard: sasl:$ALICE on hold since' 10"

# 8: the hold survives a restart
og_policyd_stop
og_policyd_start
qa2=$(sb_submit "$ALICE" dave@example.net "$ALICE" secret-a \
    --header "Subject: alice-2" --body "token-alice-2")
check "after a restart alice is still held" \
    "sb_wait_for \"in_queue hold '$qa2'\" 20"

# 9-11: release
# shellcheck disable=SC2034 # used in the eval of check
out=$(og_report release "sasl:$ALICE" --reason "password changed" 2>&1)
check "release lists both held messages" \
    "grep -q 'released $qa1' <<<\"\$out\" && grep -q 'released $qa2' <<<\"\$out\""
sb_flush
check "alice's released mail reaches the sink" \
    "sb_wait_for 'sb_sink_grep token-alice-1 && sb_sink_grep token-alice-2' 30"
check "the audit has the hold and the release" \
    "[ \"\$(og_sql \"select action from audit where subject='sasl:$ALICE' order by id\" | tr '\n' ' ')\" = 'hold release ' ]"

# 12-13: a provider scope
og_report hold provider:microsoft-consumer --reason "S3150 block" >/dev/null
wait_gen 3
qh=$(sb_submit "$BOB" someone@hotmail.com "$BOB" secret-b \
    --header "Subject: bob-ms" --body "token-bob-ms")
sb_submit "$BOB" erin@example.org "$BOB" secret-b \
    --header "Subject: bob-other" --body "token-bob-other" >/dev/null
check "mail to hotmail.com is held under the provider scope" \
    "sb_wait_for \"in_queue hold '$qh'\" 20"
check "mail to another domain is delivered" \
    "sb_wait_for 'sb_sink_grep token-bob-other' 20"

# 14: holds lists it with its held message
check "holds shows the provider scope holding one message" \
    "og_report holds | grep -Eq '^provider:microsoft-consumer +all +[0-9hms]+ +1 '"
og_report release provider:microsoft-consumer --reason "test over" --no-queue >/dev/null
wait_gen 4

# 15-17: kill the daemon while mail is being sent
sb_postconf "smtpd_policy_service_try_limit = 1" >/dev/null
sent=0
for i in 1 2 3 4 5 6; do
	sb_submit "$BOB" "frank$i@example.net" "$BOB" secret-b \
	    --header "Subject: kill-$i" --body "token-kill-$i" >/dev/null &&
	    sent=$((sent + 1))
	[ "$i" = 3 ] && og_policyd_kill
done
check "all six messages were accepted, three of them with the daemon dead" \
    "[ $sent = 6 ]"
check "Postfix fell back to default_action=DUNNO" \
    "sb_wait_log 'warning: problem talking to server.*policy.sock' 10"
all_kill_tokens() {
	local i
	for i in 1 2 3 4 5 6; do
		sb_sink_grep "token-kill-$i" >/dev/null || return 1
	done
}
check "nothing lost: all six reached the sink" \
    "sb_wait_for all_kill_tokens 30"

[ "$FAILED" -gt 0 ] && { show_log 25; tail -n 20 "$SB/og/policyd.log" | sed 's/^/# policyd: /'; }
exit $((FAILED > 0))

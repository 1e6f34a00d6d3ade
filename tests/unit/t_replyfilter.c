/*
 * t_replyfilter.c - unit tests for policy/replyfilter.c with the shipped
 *	rules: map names, a block ends the session and the statuses that
 *	follow get Microsoft's words back (and the status filter keeps
 *	them), greetings of a held or just-blocking provider are refused,
 *	successes and other providers' and recipients' replies are never
 *	touched, multi-line replies, a 4.X.Y block, hostile lines.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"
#include "replyfilter.h"
#include "socketmap.h"
#include "strbuf.h"

#define S3150                                                                  \
	"550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't "        \
	"sent. Please contact your Internet service provider since part of "   \
	"their network is on our block list (S3150). You can also refer "      \
	"your provider to "                                                    \
	"http://mail.live.com/mail/troubleshooting.aspx#errors. "              \
	"[AM0PR01MB1234.eurprd01.prod.outlook.com "                            \
	"2025-11-25T08:06:40.951Z 08DE2C1A2B3C4D5E]"
#define S775                                                                   \
	"451 4.7.650 The mail server [203.0.113.5] has been temporarily "      \
	"rate limited due to IP reputation. For e-mail delivery "              \
	"information, see https://aka.ms/postmaster (S775)"
#define DATAERR                                                                \
	"4.3.0 local data error while talking to "                             \
	"hotmail-com.olc.protection.outlook.com[52.101.42.8]"
#define MS "microsoft-consumer"

static struct og_classifier *cl;
static struct og_reply r;
static const char *const keep[] = { MS, "microsoft-365", NULL };

static int
setup(void **state)
{
	struct og_strbuf e;

	(void)state;
	og_strbuf_init(&e, 0);
	cl = og_classifier_load(OG_RULES_FILE, &e);
	og_strbuf_release(&e);
	og_reply_init(&r);
	return cl == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	og_reply_release(&r);
	(void)og_classifier_free(cl);
	return 0;
}

static enum og_rpf_action
line(struct og_rpf_conn *c, const char *prov, int held, const char *s,
    int64_t now)
{
	return og_rpf_line(c, cl, &r, keep, prov, held, s, strlen(s), now);
}

static void
test_names(void **state)
{
	char out[OG_RPF_NAME_MAX];
	char lng[200];

	(void)state;
	assert_non_null(og_rpf_provider("reply", 5, out, sizeof(out)));
	assert_string_equal(out, "");
	assert_non_null(
	    og_rpf_provider("reply-" MS, 6 + strlen(MS), out, sizeof(out)));
	assert_string_equal(out, MS);
	assert_null(og_rpf_provider("status", 6, out, sizeof(out)));
	assert_null(og_rpf_provider("reply-", 6, out, sizeof(out)));
	assert_null(og_rpf_provider("replyx", 6, out, sizeof(out)));
	assert_null(og_rpf_provider("reply-a b", 9, out, sizeof(out)));
	assert_null(og_rpf_provider("reply-a/b", 9, out, sizeof(out)));
	memset(lng, 'a', sizeof(lng));
	memcpy(lng, "reply-", 6);
	assert_null(og_rpf_provider(lng, sizeof(lng), out, sizeof(out)));
}

/* a block ends the session; the statuses of that delivery get the
 * provider's reply back, and the status filter keeps them as 4.7.1 */
static void
test_block_then_status(void **state)
{
	struct og_rpf_conn c;
	struct og_strbuf s;
	struct og_sf_result res;

	(void)state;
	memset(&c, 0, sizeof(c));
	og_strbuf_init(&s, 0);
	assert_int_equal(
	    line(&c, "", 0, "220 mx ESMTP ready", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, "", 0, "250-mx Hello", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, "", 0, "250 PIPELINING", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, "", 0, S3150, 100), OG_RPF_END_SESSION);
	assert_string_equal(c.provider, MS);
	assert_int_equal(og_rpf_status(&c, DATAERR, strlen(DATAERR), &s), 1);
	assert_memory_equal(s.data,
	    "5.7.1 host hotmail-com.olc.protection.outlook.com[52.101.42.8] "
	    "said: 550 5.7.1 Unfortunately",
	    strlen("5.7.1 host hotmail-com.olc.protection.outlook.com[52.101."
	           "42.8] said: 550 5.7.1 Unfortunately"));
	og_status_filter(cl, &r, keep, s.data, s.len, &res);
	assert_int_equal(res.action, OG_SF_KEEP);
	assert_true(res.block);
	assert_string_equal(r.v[OG_RF_PROVIDER_CODE], "S3150");
	/* the next recipient of the same delivery: the same */
	assert_int_equal(og_rpf_status(&c, DATAERR, strlen(DATAERR), &s), 1);
	/* anything else ends it */
	assert_int_equal(og_rpf_status(&c, "2.0.0 Ok", 8, &s), 0);
	assert_int_equal(og_rpf_status(&c, DATAERR, strlen(DATAERR), &s), 0);
	og_strbuf_release(&s);
}

/* the reply map without a provider never refuses a greeting; with one,
 * a block seen here refuses its greetings for OG_RPF_MEMORY seconds,
 * and a hold refuses them for as long as it lasts */
static void
test_greetings(void **state)
{
	struct og_rpf_conn c;
	struct og_strbuf s;

	(void)state;
	memset(&c, 0, sizeof(c));
	og_strbuf_init(&s, 0);
	assert_int_equal(line(&c, MS, 0, "220 mx ESMTP", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 0, S3150, 100), OG_RPF_END_SESSION);
	assert_int_equal(line(&c, "", 0, "220 mx ESMTP", 101), OG_RPF_PASS);
	assert_int_equal(
	    line(&c, MS, 0, "220 mx ESMTP", 101), OG_RPF_REFUSE_GREETING);
	assert_int_equal(og_rpf_status(&c, DATAERR, strlen(DATAERR), &s), 2);
	assert_int_equal(
	    line(&c, "microsoft-365", 0, "220 mx ESMTP", 101), OG_RPF_PASS);
	assert_int_equal(
	    line(&c, MS, 0, "220 mx ESMTP", 100 + OG_RPF_MEMORY + 1),
	    OG_RPF_PASS);
	assert_int_equal(
	    line(&c, MS, 1, "220 mx ESMTP", 100000), OG_RPF_REFUSE_GREETING);
	og_strbuf_release(&s);
}

/* successes are never touched, even while held or right after a block:
 * a filtered 250 after DATA would mean the message is sent twice */
static void
test_successes_untouched(void **state)
{
	struct og_rpf_conn c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(line(&c, MS, 1, S3150, 100), OG_RPF_END_SESSION);
	assert_int_equal(line(&c, MS, 1,
	                     "250 2.6.0 <x@y> [InternalId=1, Hostname=a] "
	                     "Queued mail for delivery",
	                     100),
	    OG_RPF_PASS);
	assert_int_equal(
	    line(&c, MS, 1, "250 2.0.0 Resetting", 100), OG_RPF_PASS);
	assert_int_equal(
	    line(&c, MS, 1, "354 Start mail input", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 1, "221 2.0.0 Bye", 100), OG_RPF_PASS);
}

/* recipients' faults, other providers' blocks, providers not kept */
static void
test_not_ours(void **state)
{
	static const char *const only365[] = { "microsoft-365", NULL };
	struct og_rpf_conn c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(line(&c, MS, 0,
	                     "550 5.5.0 Requested action not taken: mailbox "
	                     "unavailable (S2017) [x.outlook.com]",
	                     100),
	    OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 0,
	                     "550-5.7.1 [203.0.113.5] Our system has "
	                     "detected that this message is likely "
	                     "unsolicited mail. gsmtp",
	                     100),
	    OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 0,
	                     "452 4.2.2 The email account that "
	                     "you tried to reach is over quota",
	                     100),
	    OG_RPF_PASS);
	assert_int_equal(
	    og_rpf_line(&c, cl, &r, only365, MS, 0, S3150, strlen(S3150), 100),
	    OG_RPF_PASS);
	/* nothing was seen: no greeting refused */
	assert_int_equal(line(&c, MS, 0, "220 mx", 101), OG_RPF_PASS);
}

/* a reply in continuation lines is judged whole, on its last line */
static void
test_multiline(void **state)
{
	struct og_rpf_conn c;
	struct og_strbuf s;

	(void)state;
	memset(&c, 0, sizeof(c));
	og_strbuf_init(&s, 0);
	assert_int_equal(line(&c, "", 0,
	                     "550-5.7.1 Unfortunately, messages from "
	                     "[203.0.113.5] weren't sent.",
	                     100),
	    OG_RPF_PASS);
	assert_int_equal(line(&c, "", 0,
	                     "550 5.7.1 Part of their network is on our "
	                     "block list (S3150).",
	                     100),
	    OG_RPF_END_SESSION);
	assert_non_null(strstr(c.block, "(S3150)"));
	assert_non_null(strstr(c.block, "203.0.113.5"));
	assert_int_equal(og_rpf_status(&c, DATAERR, strlen(DATAERR), &s), 1);
	assert_non_null(strstr(s.data, "weren't sent. 550 5.7.1 Part"));
	/* a multi-line greeting is refused at its first line */
	assert_int_equal(
	    line(&c, MS, 1, "220-mx first line", 101), OG_RPF_REFUSE_GREETING);
	og_strbuf_release(&s);
}

/* a rate limit is reported by the status filter, not acted on here; a
 * block without an enhanced code gets one made from its reply code */
static void
test_rate_limit_and_bare_code(void **state)
{
	struct og_rpf_conn c;
	struct og_strbuf s;
	struct og_sf_result res;

	(void)state;
	memset(&c, 0, sizeof(c));
	og_strbuf_init(&s, 0);
	assert_int_equal(line(&c, "", 0, S775, 100), OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 0, "220 mx", 101), OG_RPF_PASS);
	assert_int_equal(line(&c, "", 0,
	                     "554 Unfortunately, messages from "
	                     "[203.0.113.5] weren't sent. (S3150)",
	                     100),
	    OG_RPF_END_SESSION);
	assert_int_equal(og_rpf_status(&c, DATAERR, strlen(DATAERR), &s), 1);
	assert_memory_equal(s.data, "5.0.0 host ", 11);
	og_status_filter(cl, &r, keep, s.data, s.len, &res);
	assert_int_equal(res.action, OG_SF_KEEP);
	og_strbuf_release(&s);
}

/* hostile lines: bounded, no crash, nothing decided */
static void
test_hostile(void **state)
{
	struct og_rpf_conn c;
	char *big;
	size_t i, n = 200000;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(line(&c, MS, 1, "", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 1, "22", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 1, "220x", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 1, "999 x", 100), OG_RPF_PASS);
	assert_int_equal(line(&c, MS, 1, "abc 550 5.7.1", 100), OG_RPF_PASS);
	big = malloc(n);
	assert_non_null(big);
	memcpy(big, "550-", 4);
	for (i = 4; i < n; i++)
		big[i] = (char)('a' + i % 26);
	for (i = 0; i < 5; i++) /* long continuation lines: cut */
		(void)og_rpf_line(&c, cl, &r, keep, MS, 0, big, n, 100);
	assert_true(c.acclen < sizeof(c.acc));
	assert_int_equal(c.acc[c.acclen], '\0');
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_block_then_status),
		cmocka_unit_test(test_greetings),
		cmocka_unit_test(test_successes_untouched),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_rate_limit_and_bare_code),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

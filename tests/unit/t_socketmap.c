/*
 * t_socketmap.c - unit tests for policy/socketmap.c: netstrings and the
 *	status filter's decision with the shipped rules
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"
#include "socketmap.h"
#include "strbuf.h"
#include "util.h"

static void
test_netstring(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *data;
		size_t used;
	} cases[] = {
		{ "3:abc,", 1, "abc", 6 },
		{ "0:,", 1, "", 3 },
		{ "3:abc,4:more,", 1, "abc", 6 },
		{ "3:ab", 0, NULL, 0 },
		{ "3:abc", 0, NULL, 0 },
		{ "12", 0, NULL, 0 },
		{ "", 0, NULL, 0 },
		{ "3:abcd", -1, NULL, 0 },
		{ ":abc,", -1, NULL, 0 },
		{ "x:abc,", -1, NULL, 0 },
		{ "03:abc,", -1, NULL, 0 },
		{ "1234567:", -1, NULL, 0 },
		{ "999999:", -1, NULL, 0 }, /* over OG_SM_REQUEST_MAX */
		{ "-1:a,", -1, NULL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		const char *data = NULL, *err = NULL;
		size_t dlen = 0, used = 0;
		int rc = og_sm_next(cases[i].in, strlen(cases[i].in), &data,
		    &dlen, &used, &err);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d, want %d", i,
			    cases[i].in, rc, cases[i].rc);
		if (rc == 1) {
			assert_int_equal(dlen, strlen(cases[i].data));
			assert_memory_equal(data, cases[i].data, dlen);
			assert_int_equal(used, cases[i].used);
		}
		if (rc < 0)
			assert_non_null(err);
	}
}

static void
test_reply(void **state)
{
	struct og_strbuf sb;

	(void)state;
	og_strbuf_init(&sb, 0);
	assert_int_equal(og_sm_reply(&sb, "NOTFOUND", "", 0), 0);
	assert_string_equal(og_strbuf_str(&sb), "9:NOTFOUND ,");
	og_strbuf_reset(&sb);
	assert_int_equal(og_sm_reply(&sb, "OK", "4.7.1 x", 7), 0);
	assert_string_equal(og_strbuf_str(&sb), "10:OK 4.7.1 x,");
	og_strbuf_release(&sb);
}

#define S3150                                                                  \
	"550 5.7.1 Unfortunately, messages from [203.0.113.5] "                \
	"weren't sent. Please contact your Internet service provider "         \
	"since part of their network is on our block list (S3150)."

static void
test_filter(void **state)
{
	static const struct {
		const char *key;
		int keep;
		int block;
		const char *answer; /* the reply's text, or NULL: NOTFOUND */
	} cases[] = {
		{ "5.7.1 host 127.0.0.1[127.0.0.1] said: " S3150
		  " (in reply to MAIL FROM command)",
		    1, 1,
		    "OK 4.7.1 host 127.0.0.1[127.0.0.1] said: " S3150
		    " (in reply to MAIL FROM command)" },
		{ "5.7.606 host x[192.0.2.1] said: 550 5.7.606 Access denied, "
		  "banned sending IP [203.0.113.5]. To request removal from "
		  "this list please visit https://sender.office.com/",
		    1, 1, NULL },
		/* already temporary: nothing to change, still a block */
		{ "4.7.1 host x[192.0.2.1] said: 451 4.7.1 " S3150, 0, 1,
		    NULL },
		/* recipients are never kept */
		{ "5.1.1 host x[192.0.2.1] said: 550 5.1.1 <a@hotmail.com>: "
		  "Recipient address rejected: User unknown",
		    0, 0, NULL },
		/* another provider's block: not in keep_blocked_mail */
		{ "5.7.1 host mx.gmx.net[212.227.15.9] said: 554 IP address "
		  "is block listed (in reply to end of DATA command)",
		    0, 1, NULL },
		/* successes */
		{ "2.0.0 250 2.0.0 Ok: queued as 4abc", 0, 0, NULL },
		/* garbage keys */
		{ "", 0, 0, NULL },
		{ "5.7.1", 0, 0, NULL },
		{ "9.9.9 text", 0, 0, NULL },
		{ "5.7 text", 0, 0, NULL },
	};
	const char *const keep[] = { "microsoft-consumer", "microsoft-365",
		NULL };
	struct og_strbuf err, out;
	struct og_classifier *cl;
	struct og_reply r;
	size_t i;

	(void)state;
	og_strbuf_init(&err, 0);
	og_strbuf_init(&out, 0);
	cl = og_classifier_load(OG_RULES_FILE, &err);
	if (cl == NULL)
		fail_msg("%s", og_strbuf_str(&err));
	og_reply_init(&r);
	for (i = 0; i < OG_NELEM(cases); i++) {
		struct og_sf_result res;

		og_status_filter(
		    cl, &r, keep, cases[i].key, strlen(cases[i].key), &res);
		if ((res.action == OG_SF_KEEP) != cases[i].keep ||
		    res.block != cases[i].block)
			fail_msg("case %zu: keep %d block %d, want %d %d", i,
			    res.action == OG_SF_KEEP, res.block, cases[i].keep,
			    cases[i].block);
		og_strbuf_reset(&out);
		assert_int_equal(og_sf_answer(&res, &out), 0);
		if (cases[i].answer != NULL) {
			const char *colon = strchr(og_strbuf_str(&out), ':');

			assert_non_null(colon);
			assert_memory_equal(colon + 1, cases[i].answer,
			    strlen(cases[i].answer));
		} else if (!cases[i].keep)
			assert_string_equal(
			    og_strbuf_str(&out), "9:NOTFOUND ,");
	}
	og_reply_release(&r);
	og_classifier_free(cl);
	og_strbuf_release(&err);
	og_strbuf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netstring),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * t_request.c - unit tests for policy/request.c: well-formed requests,
 *	every bound, malformed input
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"
#include "strbuf.h"
#include "util.h"

static const char good[] = "request=smtpd_access_policy\n"
                           "protocol_state=RCPT\n"
                           "protocol_name=ESMTP\n"
                           "client_address=192.0.2.7\n"
                           "client_name=client.example.net\n"
                           "helo_name=client.example.net\n"
                           "sender=alice@example.net\n"
                           "recipient=bob@hotmail.com\n"
                           "recipient_count=0\n"
                           "queue_id=\n"
                           "instance=1a2b.5f3c1e2d.8a1b2.0\n"
                           "size=0\n"
                           "sasl_method=PLAIN\n"
                           "sasl_username=alice\n"
                           "sasl_sender=\n"
                           "ccert_subject=\n"
                           "future_attribute=anything goes=here\n";

static int
parse(const char *text, struct og_request *rq, const char **err, char **buf)
{
	*buf = og_strdup(text);
	return og_request_parse(rq, *buf, strlen(*buf), err);
}

static void
test_good(void **state)
{
	struct og_request rq;
	const char *err = NULL;
	char *buf;

	(void)state;
	assert_int_equal(parse(good, &rq, &err, &buf), 0);
	assert_string_equal(og_request_get(&rq, OG_RA_SASL_USERNAME), "alice");
	assert_string_equal(
	    og_request_get(&rq, OG_RA_RECIPIENT), "bob@hotmail.com");
	assert_string_equal(og_request_get(&rq, OG_RA_QUEUE_ID), "");
	assert_non_null(rq.a[OG_RA_QUEUE_ID]); /* present, empty */
	assert_null(rq.a[OG_RA_REVERSE_CLIENT_NAME]); /* absent */
	assert_string_equal(og_request_get(&rq, OG_RA_REVERSE_CLIENT_NAME), "");
	assert_int_equal(rq.nattrs, 17);
	og_free(buf);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{ "protocol_state=RCPT\n", "not an smtpd_access_policy" },
		{ "request=other\n", "not an smtpd_access_policy" },
		{ "request=smtpd_access_policy\nnoequals\n", "without '='" },
		{ "request=smtpd_access_policy\n=value\n", "bad attribute" },
		{ "request=smtpd_access_policy\nBad-Name=x\n",
		    "bad attribute" },
		{ "request=smtpd_access_policy\nsender=a\nsender=b\n",
		    "given twice" },
		{ "request=smtpd_access_policy\n\nsender=a\n", "empty line" },
	};
	struct og_request rq;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		const char *err = NULL;
		char *buf;

		assert_int_equal(parse(cases[i].text, &rq, &err, &buf), -1);
		assert_non_null(err);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: error \"%s\", want \"%s\"", i, err,
			    cases[i].err);
		og_free(buf);
	}
}

static void
test_bounds(void **state)
{
	struct og_strbuf sb;
	struct og_request rq;
	const char *err = NULL;
	size_t i;

	(void)state;
	og_strbuf_init(&sb, 0);
	/* a value at the limit passes, one byte more fails */
	(void)og_strbuf_adds(&sb, "request=smtpd_access_policy\nsender=");
	for (i = 0; i < OG_REQUEST_VALUE_MAX; i++)
		(void)og_strbuf_addc(&sb, 'a');
	assert_int_equal(og_request_parse(&rq, sb.data, sb.len, &err), 0);
	og_strbuf_reset(&sb);
	(void)og_strbuf_adds(&sb, "request=smtpd_access_policy\nsender=");
	for (i = 0; i <= OG_REQUEST_VALUE_MAX; i++)
		(void)og_strbuf_addc(&sb, 'a');
	assert_int_equal(og_request_parse(&rq, sb.data, sb.len, &err), -1);
	assert_string_equal(err, "attribute value too long");
	/* attribute count */
	og_strbuf_reset(&sb);
	(void)og_strbuf_adds(&sb, "request=smtpd_access_policy\n");
	for (i = 0; i < OG_REQUEST_ATTRS_MAX; i++)
		(void)og_strbuf_addf(&sb, "x%zu=1\n", i);
	assert_int_equal(og_request_parse(&rq, sb.data, sb.len, &err), -1);
	assert_string_equal(err, "too many attributes");
	/* name length */
	og_strbuf_reset(&sb);
	(void)og_strbuf_adds(&sb, "request=smtpd_access_policy\n");
	for (i = 0; i <= OG_REQUEST_NAME_MAX; i++)
		(void)og_strbuf_addc(&sb, 'n');
	(void)og_strbuf_adds(&sb, "=1\n");
	assert_int_equal(og_request_parse(&rq, sb.data, sb.len, &err), -1);
	/* NUL byte */
	og_strbuf_reset(&sb);
	(void)og_strbuf_addn(
	    &sb, "request=smtpd_access_policy\nsender=a\0b\n", 38);
	assert_int_equal(og_request_parse(&rq, sb.data, sb.len, &err), -1);
	assert_string_equal(err, "NUL byte in request");
	og_strbuf_release(&sb);
}

static void
test_end(void **state)
{
	(void)state;
	assert_int_equal(og_request_end("a=b\n", 4), 0);
	assert_int_equal(og_request_end("a=b\n\n", 5), 5);
	assert_int_equal(og_request_end("a=b\n\nc=d\n\n", 10), 5);
	assert_int_equal(og_request_end("\n", 1), 1);
	assert_int_equal(og_request_end("", 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

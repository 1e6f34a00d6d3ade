/*
 * t_qr_fmt.c - unit tests for policy/qr_fmt.c, what the report commands
 *	share: --since parsing, ages, safe and cut text (hostile bytes,
 *	UTF-8 boundaries), rcpt_summary tokens, networks
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qr_fmt.h"
#include "strbuf.h"
#include "util.h"

#define NOW 1795000000LL /* 2026-11-18T11:06:40Z */

static void
test_since(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(qr_parse_since("24h", NOW, &t), 0);
	assert_int_equal(t, NOW - 86400);
	assert_int_equal(qr_parse_since("7d", NOW, &t), 0);
	assert_int_equal(t, NOW - 7 * 86400);
	assert_int_equal(qr_parse_since("2026-11-18", NOW, &t), 0);
	assert_int_equal(t, 1794960000LL);
	assert_int_equal(qr_parse_since("2026-11-18T11:06:40Z", NOW, &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(qr_parse_since("@1794000000", NOW, &t), 0);
	assert_int_equal(t, 1794000000LL);
	/* hostile or malformed: refused, never half-parsed */
	assert_int_not_equal(qr_parse_since("", NOW, &t), 0);
	assert_int_not_equal(qr_parse_since("24x", NOW, &t), 0);
	assert_int_not_equal(qr_parse_since("2026-13-40", NOW, &t), 0);
	assert_int_not_equal(
	    qr_parse_since("2026-11-17T25:00:00Z", NOW, &t), 0);
	assert_int_not_equal(qr_parse_since("@", NOW, &t), 0);
	assert_int_not_equal(
	    qr_parse_since("99999999999999999999d", NOW, &t), 0);
}

static void
test_ago_iso(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(
	    qr_ago(NOW, NOW - 3 * 3600 - 12 * 60, buf, sizeof(buf)), "3h12m");
	assert_string_equal(qr_ago(NOW, 0, buf, sizeof(buf)), "-");
	assert_string_equal(
	    qr_iso(NOW, buf, sizeof(buf)), "2026-11-18T11:06:40Z");
	assert_string_equal(qr_iso(0, buf, sizeof(buf)), "-");
}

static void
test_text(void **state)
{
	struct og_strbuf b;

	(void)state;
	og_strbuf_init(&b, 0);
	/* control bytes, DEL and bytes that are not UTF-8 become '?' */
	qr_text_add(&b, "a\x1b[31mb\x7f\xff", 0, 0);
	assert_string_equal(og_strbuf_str(&b), "a?[31mb??");
	og_strbuf_reset(&b);
	qr_text_add(&b, "one\ntwo", 0, 1);
	assert_string_equal(og_strbuf_str(&b), "one\ntwo");
	og_strbuf_reset(&b);
	qr_text_add(&b, "one\ntwo", 0, 0);
	assert_null(strchr(og_strbuf_str(&b), '\n'));
	/* a cut never splits a character and fits the columns */
	og_strbuf_reset(&b);
	qr_text_add(&b, "d\xc3\xa9sinscrire-\xc3\xa9t\xc3\xa9", 8, 0);
	assert_true(qr_text_cols(og_strbuf_str(&b)) <= 8);
	assert_non_null(strstr(og_strbuf_str(&b), "..."));
	assert_int_equal(qr_text_cols("d\xc3\xa9j\xc3\xa0"), 4);
	og_strbuf_release(&b);
}

static void
test_summary_tokens(void **state)
{
	const char *p = "hotmail.com=3 bad=token EXAMPLE.net=1 =4 *=2";
	unsigned long long n;
	char dom[64];

	(void)state;
	assert_int_equal(qr_summary_next(&p, dom, sizeof(dom), &n), 1);
	assert_string_equal(dom, "hotmail.com");
	assert_int_equal(n, 3);
	assert_int_equal(qr_summary_next(&p, dom, sizeof(dom), &n), 1);
	assert_string_equal(dom, "example.net"); /* lowercase */
	assert_int_equal(n, 1);
	assert_int_equal(qr_summary_next(&p, dom, sizeof(dom), &n), 1);
	assert_string_equal(dom, "*");
	assert_int_equal(n, 2);
	assert_int_equal(qr_summary_next(&p, dom, sizeof(dom), &n), 0);
}

static void
test_nets(void **state)
{
	char out[64];

	(void)state;
	assert_true(qr_in_net("192.0.2.77", "192.0.2.0/24"));
	assert_false(qr_in_net("192.0.3.1", "192.0.2.0/24"));
	assert_true(qr_in_net("192.0.2.77", "192.0.2.77"));
	assert_true(qr_in_net("2001:db8::1", "2001:db8::/33"));
	assert_false(qr_in_net("192.0.2.1", "192.0.2.0/33"));
	assert_false(qr_in_net(NULL, "192.0.2.0/24"));
	assert_int_equal(qr_ip_norm("2001:DB8:0::1", out, sizeof(out)), 0);
	assert_string_equal(out, "2001:db8::1");
	assert_int_equal(qr_ip_norm("192.0.2.300", out, sizeof(out)), -1);
	assert_true(qr_provider_valid("microsoft-consumer"));
	assert_false(qr_provider_valid("Microsoft"));
	assert_false(qr_provider_valid(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_ago_iso),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_summary_tokens),
		cmocka_unit_test(test_nets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * t_log.c - unit tests for log.c: escaping of decision-line values (no
 *	log injection), decision line layout, rate limiting
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "log.h"
#include "strbuf.h"

static void
test_escape(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ "alice", 5, "alice" },
		{ "", 0, "\"\"" },
		{ "a b", 3, "\"a b\"" },
		{ "a\nb", 3, "\"a\\nb\"" },
		{ "x\r\n2 key=forged", 15, "\"x\\r\\n2 key=forged\"" },
		{ "q\"q", 3, "\"q\\\"q\"" },
		{ "back\\slash", 10, "\"back\\\\slash\"" },
		{ "nul\0x", 5, "\"nul\\x00x\"" },
		{ "\x1b[31m", 5, "\"\\x1b[31m\"" },
		{ "caf\xc3\xa9", 5, "\"caf\\xc3\\xa9\"" },
		{ "<a@b.example>", 13, "<a@b.example>" },
		{ "tab\there", 8, "\"tab\\there\"" },
	};
	struct og_strbuf sb;
	size_t i;

	(void)state;
	og_strbuf_init(&sb, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		og_strbuf_reset(&sb);
		og_kv_escape(&sb, cases[i].in, cases[i].len);
		assert_string_equal(og_strbuf_str(&sb), cases[i].want);
		/* whatever the input, the result is one line */
		assert_null(strchr(og_strbuf_str(&sb), '\n'));
		assert_null(strchr(og_strbuf_str(&sb), '\r'));
	}
	og_strbuf_release(&sb);
}

static void
test_decision_line(void **state)
{
	struct og_strbuf sb;

	(void)state;
	og_strbuf_init(&sb, 0);
	og_kv_begin(&sb, "3F2A1C0D");
	og_kv_add(&sb, "check", "identity");
	og_kv_add(&sb, "login", "ali ce");
	og_kv_add(&sb, "from", NULL);
	og_kv_addf(&sb, "n", "%d", 7);
	assert_string_equal(og_strbuf_str(&sb),
	    "3F2A1C0D: check=identity login=\"ali ce\" from=- n=7");
	og_kv_begin(&sb, NULL);
	og_kv_add(&sb, "action", "HOLD");
	assert_string_equal(og_strbuf_str(&sb), "NOQUEUE: action=HOLD");
	og_kv_begin(&sb, "ID\n: forged");
	assert_string_equal(og_strbuf_str(&sb), "\"ID\\n: forged\":");
	og_strbuf_release(&sb);
}

static void
test_ratelimit(void **state)
{
	struct og_ratelimit rl = OG_RATELIMIT_INIT(60, 3);
	unsigned long sup;
	int i, passed = 0;

	(void)state;
	for (i = 0; i < 10; i++)
		passed += og_ratelimit_ok(&rl, 1000 + i, &sup);
	assert_int_equal(passed, 3);
	assert_int_equal(rl.suppressed, 7);
	/* a new interval reports what was suppressed, then lets through */
	assert_int_equal(og_ratelimit_ok(&rl, 1060, &sup), 1);
	assert_int_equal(sup, 7);
	assert_int_equal(og_ratelimit_ok(&rl, 1061, &sup), 1);
	assert_int_equal(sup, 0);
}

static void
test_facility(void **state)
{
	(void)state;
	assert_int_equal(og_log_facility("mail"), LOG_MAIL);
	assert_int_equal(og_log_facility("LOCAL3"), LOG_LOCAL3);
	assert_int_equal(og_log_facility("kern"), -1);
	assert_int_equal(og_log_facility(""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_decision_line),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_facility),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

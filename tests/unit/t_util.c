/*
 * t_util.c - unit tests for util.c: number, duration and boolean parsing,
 *	ASCII helpers
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void
test_parse_uint(void **state)
{
	static const struct {
		const char *in;
		unsigned long long min, max, want;
		int ok;
	} cases[] = {
		{ "0", 0, 10, 0, 1 },
		{ "10", 0, 10, 10, 1 },
		{ "11", 0, 10, 0, 0 },
		{ "5", 6, 10, 0, 0 },
		{ "", 0, 10, 0, 0 },
		{ "-1", 0, 10, 0, 0 },
		{ "+1", 0, 10, 0, 0 },
		{ " 1", 0, 10, 0, 0 },
		{ "1 ", 0, 10, 0, 0 },
		{ "0x10", 0, 100, 0, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, UINT64_MAX, 1 },
		{ "18446744073709551616", 0, UINT64_MAX, 0, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		unsigned long long v = 12345;
		int r =
		    og_parse_uint(cases[i].in, cases[i].min, cases[i].max, &v);

		if (cases[i].ok) {
			assert_int_equal(r, 0);
			assert_true(v == cases[i].want);
		} else {
			assert_int_equal(r, -1);
			assert_true(v == 12345); /* untouched on error */
		}
	}
}

static void
test_parse_duration(void **state)
{
	static const struct {
		const char *in;
		unsigned long long want;
		int ok;
	} cases[] = {
		{ "90", 90, 1 }, { "90s", 90, 1 }, { "15m", 900, 1 },
		{ "2h", 7200, 1 }, { "7d", 604800, 1 }, { "1w", 604800, 1 },
		{ "1H", 3600, 1 }, { "", 0, 0 }, { "h", 0, 0 }, { "1y", 0, 0 },
		{ "1.5h", 0, 0 }, { "-1h", 0, 0 },
		{ "99999999999999999999w", 0, 0 },
		{ "40000000000000w", 0, 0 }, /* overflows when multiplied */
	};
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		unsigned long long v = 0;
		int r = og_parse_duration(cases[i].in, &v);

		assert_int_equal(r, cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_true(v == cases[i].want);
	}
}

static void
test_parse_bool(void **state)
{
	static const struct {
		const char *in;
		int want, ok;
	} cases[] = {
		{ "yes", 1, 1 },
		{ "YES", 1, 1 },
		{ "true", 1, 1 },
		{ "on", 1, 1 },
		{ "1", 1, 1 },
		{ "no", 0, 1 },
		{ "False", 0, 1 },
		{ "off", 0, 1 },
		{ "0", 0, 1 },
		{ "maybe", 0, 0 },
		{ "", 0, 0 },
		{ "yes ", 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		int v = -1, r = og_parse_bool(cases[i].in, &v);

		assert_int_equal(r, cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_int_equal(v, cases[i].want);
	}
}

static void
test_strings(void **state)
{
	char buf[8], low[] = "MiXeD.Example.COM";

	(void)state;
	assert_int_equal(og_strlcpy(buf, "abcdefghij", sizeof(buf)), 10);
	assert_string_equal(buf, "abcdefg");
	assert_int_equal(og_strlcpy(buf, "ab", sizeof(buf)), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(og_strcasecmp_ascii("Hotmail.COM", "hotmail.com"), 0);
	assert_true(og_strcasecmp_ascii("a", "b") < 0);
	assert_int_equal(og_strncasecmp_ascii("ABCx", "abcy", 3), 0);
	assert_true(og_strncasecmp_ascii("ABCx", "abcy", 4) != 0);
	assert_string_equal(og_lowercase(low), "mixed.example.com");
	{
		char *d = og_strndup("ab\0cd", 5);

		assert_string_equal(d, "ab");
		og_free(d);
	}
	assert_null(og_free(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * t_strbuf.c - unit tests for strbuf.c: growth, the cap, binary data
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "strbuf.h"

static void
test_grow_and_cap(void **state)
{
	struct og_strbuf sb;
	size_t i;

	(void)state;
	og_strbuf_init(&sb, 100);
	assert_string_equal(og_strbuf_str(&sb), "");
	for (i = 0; i < 100; i++)
		assert_int_equal(og_strbuf_addc(&sb, 'a' + (int)(i % 26)), 0);
	assert_int_equal(sb.len, 100);
	errno = 0;
	assert_int_equal(og_strbuf_addc(&sb, 'x'), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(sb.len, 100); /* unchanged at the cap */
	assert_int_equal(sb.data[100], 0); /* still terminated */
	og_strbuf_reset(&sb);
	assert_int_equal(og_strbuf_addf(&sb, "%d-%s", 42, "x"), 0);
	assert_string_equal(og_strbuf_str(&sb), "42-x");
	/* one formatted append that would cross the cap fails whole */
	assert_int_equal(og_strbuf_addf(&sb, "%200s", "y"), -1);
	assert_string_equal(og_strbuf_str(&sb), "42-x");
	og_strbuf_release(&sb);
	assert_null(sb.data);
}

static void
test_binary(void **state)
{
	struct og_strbuf sb;
	char *s;

	(void)state;
	og_strbuf_init(&sb, 0);
	assert_int_equal(og_strbuf_addn(&sb, "a\0b", 3), 0);
	assert_int_equal(sb.len, 3);
	assert_memory_equal(sb.data, "a\0b", 4);
	og_strbuf_truncate(&sb, 1);
	assert_int_equal(sb.len, 1);
	og_strbuf_truncate(&sb, 10); /* longer: no-op */
	assert_int_equal(sb.len, 1);
	s = og_strbuf_steal(&sb);
	assert_string_equal(s, "a");
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	og_free(s);
	s = og_strbuf_steal(&sb); /* empty steal gives "" */
	assert_string_equal(s, "");
	og_free(s);
}

static void
test_large(void **state)
{
	struct og_strbuf sb;
	char block[1000];
	size_t i;

	(void)state;
	memset(block, 'z', sizeof(block));
	og_strbuf_init(&sb, 1000 * 1000);
	for (i = 0; i < 1000; i++)
		assert_int_equal(og_strbuf_addn(&sb, block, sizeof(block)), 0);
	assert_int_equal(sb.len, 1000 * 1000);
	assert_int_equal(og_strbuf_addn(&sb, "", 0), 0); /* empty fits */
	assert_int_equal(og_strbuf_addn(&sb, "q", 1), -1);
	assert_true(sb.size <= 1000 * 1000 + 1);
	og_strbuf_release(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_and_cap),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

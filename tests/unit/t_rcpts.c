/*
 * t_rcpts.c - unit tests for policy/rcpts.c: recipient domains per
 *	message instance, the bounds and the expiry
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rcpts.h"
#include "strbuf.h"
#include "util.h"

static void
test_summary(void **state)
{
	struct og_rcpts *r = og_rcpts_new();
	struct og_strbuf sb;
	char addr[64];
	int i;

	(void)state;
	og_strbuf_init(&sb, 0);
	og_rcpts_add(r, "inst1", "a@hotmail.com", 100);
	og_rcpts_add(r, "inst1", "b@Hotmail.COM", 100);
	og_rcpts_add(r, "inst1", "c@example.net", 100);
	og_rcpts_add(r, "inst2", "d@example.net", 100);
	og_rcpts_add(r, "inst2", "no-at-sign", 100); /* ignored */
	og_rcpts_add(r, "", "e@example.net", 100); /* no instance */
	assert_int_equal(og_rcpts_count(r), 2);
	assert_int_equal(og_rcpts_take(r, "inst1", &sb), OG_FOUND);
	assert_string_equal(og_strbuf_str(&sb), "hotmail.com=2 example.net=1");
	assert_int_equal(og_rcpts_take(r, "inst1", &sb), OG_NOTFOUND);
	/* more domains than kept: the rest is counted as "*" */
	og_strbuf_reset(&sb);
	for (i = 0; i < OG_RCPTS_DOMAINS + 3; i++) {
		(void)snprintf(addr, sizeof(addr), "x@d%d.example", i);
		og_rcpts_add(r, "inst3", addr, 100);
	}
	assert_int_equal(og_rcpts_take(r, "inst3", &sb), OG_FOUND);
	assert_non_null(strstr(og_strbuf_str(&sb), " *=3"));
	/* expiry */
	og_rcpts_expire(r, 100 + OG_RCPTS_TTL + 1);
	assert_int_equal(og_rcpts_count(r), 0);
	og_strbuf_release(&sb);
	og_rcpts_free(r);
}

static void
test_churn(void **state)
{
	struct og_rcpts *r = og_rcpts_new();
	struct og_strbuf sb;
	char inst[32];
	int i;

	(void)state;
	og_strbuf_init(&sb, 0);
	/* many more messages than slots pass through: tombstones recycle */
	for (i = 0; i < 4 * OG_RCPTS_MAX; i++) {
		(void)snprintf(inst, sizeof(inst), "i%d", i);
		og_rcpts_add(r, inst, "a@example.net", 100);
		og_strbuf_reset(&sb);
		assert_int_equal(og_rcpts_take(r, inst, &sb), OG_FOUND);
	}
	assert_int_equal(og_rcpts_count(r), 0);
	/* a full table refuses new instances rather than grow */
	for (i = 0; i < OG_RCPTS_MAX + 10; i++) {
		(void)snprintf(inst, sizeof(inst), "f%d", i);
		og_rcpts_add(r, inst, "a@example.net", 100);
	}
	assert_int_equal(og_rcpts_count(r), OG_RCPTS_MAX);
	og_strbuf_release(&sb);
	og_rcpts_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

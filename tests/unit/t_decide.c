/*
 * t_decide.c - unit tests for policy/decide.c: which hold covers which
 *	request, table-driven (the hold set itself: t_holdset.c)
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "decide.h"
#include "holdset.h"
#include "request.h"
#include "store.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

static struct og_hold holds[] = {
	{ 1, "sasl:alice", "all", "test", "cli", 100, 0, 0 },
	{ 2, "sender:spam@example.org", "all", "test", "cli", 100, 0, 7 },
	{ 3, "client:198.51.100.0/24", "all", "test", "cli", 100, 0, 0 },
	{ 4, "client:2001:db8::5", "all", "test", "cli", 100, 0, 0 },
	{ 5, "provider:microsoft-consumer", "all", "test", "cli", 100, 0, 0 },
	{ 6, "sasl:carol", "provider:google", "test", "cli", 100, 0, 0 },
	{ 7, "sender:<>", "provider:yahoo", "test", "cli", 100, 0, 0 },
	{ 8, "sasl:Dave", "all", "case", "cli", 100, 0, 0 },
	{ 9, "bogus-identity", "all", "test", "cli", 100, 0, 0 },
};

static void
test_decide(void **state)
{
	static const struct {
		const char *login, *sender, *client, *rcpt;
		int hold;
		const char *identity;
		int64_t id;
	} cases[] = {
		{ "alice", "a@example.net", "192.0.2.1", "x@example.com", 1,
		    "sasl:alice", 1 },
		{ "bob", "a@example.net", "192.0.2.1", "x@example.com", 0, NULL,
		    0 },
		{ "", "spam@example.org", "192.0.2.1", "x@example.com", 1,
		    "sender:spam@example.org", 2 },
		{ "", "SPAM@Example.ORG", "192.0.2.1", "x@example.com", 1,
		    "sender:spam@example.org", 2 },
		{ "", "a@example.net", "198.51.100.77", "x@example.com", 1,
		    "client:198.51.100.0/24", 3 },
		{ "", "a@example.net", "198.51.101.77", "x@example.com", 0,
		    NULL, 0 },
		{ "", "a@example.net", "2001:db8::5", "x@example.com", 1,
		    "client:2001:db8::5", 4 },
		{ "bob", "a@example.net", "192.0.2.1", "x@hotmail.com", 1,
		    "provider:microsoft-consumer", 5 },
		{ "bob", "a@example.net", "192.0.2.1", "x@HOTMAIL.COM.", 1,
		    "provider:microsoft-consumer", 5 },
		{ "bob", "a@example.net", "192.0.2.1", "x@sub.hotmail.com", 0,
		    NULL, 0 },
		{ "carol", "c@example.net", "192.0.2.1", "x@gmail.com", 1,
		    "sasl:carol", 6 },
		{ "carol", "c@example.net", "192.0.2.1", "x@example.com", 0,
		    NULL, 0 },
		{ "", "", "192.0.2.1", "x@yahoo.com", 1, "sender:<>", 7 },
		{ "", "", "192.0.2.1", "x@example.com", 0, NULL, 0 },
		{ "dave", "d@example.net", "192.0.2.1", "x@example.com", 1,
		    "sasl:dave", 8 }, /* the hold said sasl:Dave */
		/* the login wins over the provider scope: it is more specific */
		{ "alice", "a@example.net", "192.0.2.1", "x@hotmail.com", 1,
		    "sasl:alice", 1 },
	};
	struct og_strbuf err;
	struct og_holdset *hs;
	struct og_table *prov;
	size_t i;

	(void)state;
	og_strbuf_init(&err, 0);
	{
		char path[] = "/tmp/og-t_decide.XXXXXX";
		int fd = mkstemp(path);
		FILE *fp;

		assert_true(fd >= 0);
		fp = fdopen(fd, "w");
		assert_non_null(fp);
		(void)fputs("hotmail.com microsoft-consumer\n"
		            "gmail.com google\nyahoo.com yahoo\n",
		    fp);
		(void)fclose(fp);
		(void)og_strbuf_addf(&err, "file:%s", path);
		prov = og_table_open(og_strbuf_str(&err), 0, NULL);
		(void)unlink(path);
		og_strbuf_reset(&err);
	}
	assert_non_null(prov);
	hs = og_holdset_new(holds, OG_NELEM(holds));
	assert_int_equal(og_holdset_count(hs), 8); /* the bogus one skipped */
	for (i = 0; i < OG_NELEM(cases); i++) {
		char buf[1024];
		struct og_request rq;
		struct og_decision d;
		const char *e;

		(void)snprintf(buf, sizeof(buf),
		    "request=smtpd_access_policy\nprotocol_state=RCPT\n"
		    "sasl_username=%s\nsender=%s\nclient_address=%s\n"
		    "recipient=%s",
		    cases[i].login, cases[i].sender, cases[i].client,
		    cases[i].rcpt);
		assert_int_equal(
		    og_request_parse(&rq, buf, strlen(buf), &e), 0);
		assert_int_equal(og_decide(hs, NULL, &rq, &d), 0);
		/* with no provider table, no provider scope applies */
		if (d.hold && strncmp(d.identity, "provider:", 9) == 0)
			fail_msg("case %zu: provider hold without a table", i);
		assert_int_equal(og_decide(hs, prov, &rq, &d), 0);
		if (d.hold != cases[i].hold)
			fail_msg("case %zu: hold %d, want %d", i, d.hold,
			    cases[i].hold);
		if (cases[i].hold) {
			assert_string_equal(d.identity, cases[i].identity);
			assert_int_equal(d.by->id, cases[i].id);
		}
	}
	og_holdset_free(hs);
	og_table_free(prov);
	og_strbuf_release(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

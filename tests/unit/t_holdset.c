/*
 * t_holdset.c - unit tests for policy/holdset.c: identity lookups
 *	without regard to case, scopes, CIDR holds (IPv4 and IPv6, prefix
 *	edges), bad identities skipped, a large set
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "holdset.h"
#include "store.h"
#include "util.h"

static struct og_hold holds[] = {
	{ 1, "sasl:Alice", "all", "r", "cli", 1, 0, 0 },
	{ 2, "sasl:bob", "provider:google", "r", "cli", 1, 0, 0 },
	{ 3, "client:198.51.100.0/24", "all", "r", "cli", 1, 0, 0 },
	{ 4, "client:203.0.113.7", "all", "r", "cli", 1, 0, 0 },
	{ 5, "client:2001:db8:1::/48", "provider:yahoo", "r", "cli", 1, 0, 0 },
	{ 6, "client:192.0.2.128/25", "all", "r", "cli", 1, 0, 0 },
	{ 7, "not-an-identity", "all", "r", "cli", 1, 0, 0 },
	{ 8, "sender:<>", "all", "r", "cli", 1, 0, 0 },
};

static void
test_lookups(void **state)
{
	static const struct {
		const char *identity; /* "client:" ones go by address */
		const char *provider;
		int64_t want; /* hold id, 0: none */
	} cases[] = {
		{ "sasl:alice", NULL, 1 }, { "SASL:ALICE", "google", 1 },
		{ "sasl:bob", NULL, 0 }, /* scope google only */
		{ "sasl:bob", "google", 2 },
		{ "sasl:bob", "microsoft-consumer", 0 },
		{ "client:198.51.100.1", NULL, 3 },
		{ "client:198.51.100.255", NULL, 3 },
		{ "client:198.51.101.0", NULL, 0 },
		{ "client:203.0.113.7", NULL, 4 },
		{ "client:203.0.113.8", NULL, 0 },
		{ "client:2001:db8:1:ffff::5", "yahoo", 5 },
		{ "client:2001:db8:1:ffff::5", NULL, 0 },
		{ "client:2001:db8:2::5", "yahoo", 0 },
		{ "client:192.0.2.127", NULL, 0 }, /* just below the /25 */
		{ "client:192.0.2.128", NULL, 6 },
		{ "client:192.0.2.255", NULL, 6 },
		{ "client:not-an-ip", NULL, 0 }, { "sender:<>", NULL, 8 },
		{ "not-an-identity", NULL, 0 }, /* skipped at build */
	};
	struct og_holdset *hs = og_holdset_new(holds, OG_NELEM(holds));
	size_t i;

	(void)state;
	assert_int_equal(og_holdset_count(hs), OG_NELEM(holds) - 1);
	for (i = 0; i < OG_NELEM(cases); i++) {
		const struct og_hold *h;

		if (strncmp(cases[i].identity, "client:", 7) == 0)
			h = og_holdset_find_client(
			    hs, cases[i].identity + 7, cases[i].provider);
		else
			h = og_holdset_find(
			    hs, cases[i].identity, cases[i].provider);
		if ((h ? h->id : 0) != cases[i].want)
			fail_msg("case %zu (%s): hold %lld, want %lld", i,
			    cases[i].identity, (long long)(h ? h->id : 0),
			    (long long)cases[i].want);
	}
	og_holdset_free(hs);
}

static void
test_empty_and_big(void **state)
{
	struct og_hold *many;
	struct og_holdset *hs;
	char id[64];
	size_t i, n = 10000;

	(void)state;
	hs = og_holdset_new(NULL, 0);
	assert_null(og_holdset_find(hs, "sasl:alice", NULL));
	assert_null(og_holdset_find_client(hs, "192.0.2.1", NULL));
	og_holdset_free(hs);
	assert_null(og_holdset_free(NULL));
	many = og_calloc(n, sizeof(*many));
	for (i = 0; i < n; i++) {
		(void)snprintf(id, sizeof(id), "sasl:user%zu", i);
		many[i].id = (int64_t)i + 1;
		many[i].identity = og_strdup(id);
		many[i].scope = og_strdup("all");
	}
	hs = og_holdset_new(many, n);
	assert_int_equal(og_holdset_count(hs), n);
	for (i = 0; i < n; i += 97) {
		(void)snprintf(id, sizeof(id), "sasl:user%zu", i);
		assert_non_null(og_holdset_find(hs, id, NULL));
	}
	assert_null(og_holdset_find(hs, "sasl:user10000", NULL));
	og_holdset_free(hs);
	for (i = 0; i < n; i++) {
		og_free(many[i].identity);
		og_free(many[i].scope);
	}
	og_free(many);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_empty_and_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

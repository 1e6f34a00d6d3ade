/*
 * t_identity.c - unit tests for milter/identity.c
 * DESCRIPTION: one table row per identity rule (authenticated login,
 *	From alignment and ownership, internal and local senders, the null
 *	sender, outguard's own notifications, inbound mail), then hostile
 *	From values (1 MB, thousands of addresses, groups, encoded words,
 *	control bytes) and lookup errors. The tables are mkstemp() files
 *	under $TMPDIR (or /tmp), removed at the end.
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "identity.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

static const char login_map[] = "# sender_login_maps\n"
                                "alice@example.com\talice\n"
                                "bob@example.com\tbob, Alice\n"
                                "@shop.example.org\tshopbot carol\n"
                                "ceo@example.com\tceo\n";

static const char *const local_domains[] = { "example.com", "example.net" };

struct fixture {
	char *map_path, *cidr_path;
	struct og_table *maps, *internal, *cidr;
	struct og_identity_policy pol;
};

static struct fixture fx;

static char *
tmp_write(const char *data)
{
	struct og_strbuf path;
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(data);
	char *p;
	int fd;

	og_strbuf_init(&path, 4096);
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	assert_int_equal(og_strbuf_addf(&path, "%s/t_identity.XXXXXX", dir), 0);
	p = og_strbuf_steal(&path);
	if ((fd = mkstemp(p)) < 0)
		fail_msg("mkstemp %s: %s", p, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	(void)close(fd);
	return p;
}

static struct og_table *
open_table(const char *type, const char *path)
{
	struct og_strbuf name, err;
	struct og_table *t;

	og_strbuf_init(&name, 0);
	og_strbuf_init(&err, 0);
	if (path != NULL)
		(void)og_strbuf_addf(&name, "%s:%s", type, path);
	else
		(void)og_strbuf_adds(&name, type);
	t = og_table_open(og_strbuf_str(&name), 0, &err);
	if (t == NULL)
		fail_msg("%s: %s", og_strbuf_str(&name), og_strbuf_str(&err));
	og_strbuf_release(&name);
	og_strbuf_release(&err);
	return t;
}

static int
setup(void **state)
{
	(void)state;
	fx.map_path = tmp_write(login_map);
	fx.cidr_path = tmp_write("10.0.0.0/8 internal\n");
	fx.maps = open_table("file", fx.map_path);
	fx.internal =
	    open_table("inline:{ 127.0.0.0/8, 10.0.0.0/8, ::1 }", NULL);
	fx.cidr = open_table("cidr", fx.cidr_path);
	fx.pol.login_maps = fx.maps;
	fx.pol.internal_hosts = fx.internal;
	fx.pol.local_domains = local_domains;
	fx.pol.nlocal = OG_NELEM(local_domains);
	fx.pol.notify_sender = "outguard@mta.example.com";
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	og_table_free(fx.maps);
	og_table_free(fx.internal);
	og_table_free(fx.cidr);
	(void)unlink(fx.map_path);
	(void)unlink(fx.cidr_path);
	og_free(fx.map_path);
	og_free(fx.cidr_path);
	return 0;
}

#define EXT "203.0.113.5" /* an external client */
#define INT "10.1.2.3" /* an internal_hosts client */
#define NONE NULL /* no client address: a local submission */

struct row {
	const char *name;
	const char *login, *client, *envelope, *from;
	size_t nfrom;
	enum og_identity_res res;
	const char *reason;
	enum og_identity_origin origin;
};

#define PASS OG_IDENTITY_PASS, ""
#define FAIL OG_IDENTITY_FAIL
#define AUTH OG_ORIGIN_AUTH

static const struct row rows[] = {
	/* authenticated: the login owns the envelope, From aligns */
	{ "own address", "alice", EXT, "<alice@example.com>",
	    "Alice <alice@example.com>", 1, PASS, AUTH },
	{ "login case-insensitive", "ALICE", EXT, "<alice@example.com>",
	    "alice@example.com", 1, PASS, AUTH },
	{ "address case-insensitive", "alice", EXT, "<Alice@EXAMPLE.com>",
	    "alice@example.com", 1, PASS, AUTH },
	{ "second login in the list", "alice", EXT, "<bob@example.com>",
	    "bob@example.com", 1, PASS, AUTH },
	{ "first login in the list", "bob", EXT, "<bob@example.com>",
	    "bob@example.com", 1, PASS, AUTH },
	{ "bare envelope (Sendmail macro form)", "alice", EXT,
	    "alice@example.com", "alice@example.com", 1, PASS, AUTH },
	{ "@domain entry", "carol", EXT, "<news@shop.example.org>",
	    "news@shop.example.org", 1, PASS, AUTH },
	{ "@domain entry, space separated", "shopbot", EXT,
	    "<x@shop.example.org>", "x@shop.example.org", 1, PASS, AUTH },
	{ "someone else's address", "alice", EXT, "<ceo@example.com>",
	    "ceo@example.com", 1, FAIL, "envelope-not-owned", AUTH },
	{ "unlisted address", "alice", EXT, "<nobody@example.com>",
	    "alice@example.com", 1, FAIL, "envelope-not-owned", AUTH },
	{ "@domain does not cover subdomains", "carol", EXT,
	    "<x@sub.shop.example.org>", "x@shop.example.org", 1, FAIL,
	    "envelope-not-owned", AUTH },
	{ "@domain entry of another login", "alice", EXT,
	    "<x@shop.example.org>", "x@shop.example.org", 1, FAIL,
	    "envelope-not-owned", AUTH },
	{ "login is a prefix only", "ali", EXT, "<alice@example.com>",
	    "alice@example.com", 1, FAIL, "envelope-not-owned", AUTH },
	{ "From aligned, same domain", "alice", EXT, "<alice@example.com>",
	    "The CEO <ceo@example.com>", 1, PASS, AUTH },
	{ "From aligned, subdomain (relaxed)", "alice", EXT,
	    "<alice@example.com>", "news@mail.example.com", 1, PASS, AUTH },
	{ "From in another domain", "alice", EXT, "<alice@example.com>",
	    "ceo@bank.example", 1, FAIL, "header-from-not-owned", AUTH },
	{ "From in a sibling under a public suffix", "alice", EXT,
	    "<alice@example.com>", "x@example.co.uk", 1, FAIL,
	    "header-from-not-owned", AUTH },
	{ "From not aligned but owned", "alice", EXT, "<bob@example.com>",
	    "bob@example.com", 1, PASS, AUTH },
	{ "From owned through @domain", "carol", EXT, "<x@shop.example.org>",
	    "y@shop.example.org", 1, PASS, AUTH },
	/* the null sender: no envelope check; From must be owned */
	{ "null sender, own From", "alice", EXT, "<>", "alice@example.com", 1,
	    PASS, AUTH },
	{ "null sender, empty path", "alice", EXT, "", "alice@example.com", 1,
	    PASS, AUTH },
	{ "null sender, foreign From", "alice", EXT, "<>", "ceo@example.com", 1,
	    FAIL, "header-from-not-owned", AUTH },
	/* the From header itself */
	{ "no From", "alice", EXT, "<alice@example.com>", NULL, 0, FAIL,
	    "from-count", AUTH },
	{ "two From headers", "alice", EXT, "<alice@example.com>",
	    "alice@example.com", 2, FAIL, "from-count", AUTH },
	{ "two addresses", "alice", EXT, "<alice@example.com>",
	    "alice@example.com, ceo@bank.example", 1, FAIL, "from-addresses",
	    AUTH },
	{ "empty group", "alice", EXT, "<alice@example.com>",
	    "undisclosed-recipients:;", 1, FAIL, "from-addresses", AUTH },
	{ "group of one", "alice", EXT, "<alice@example.com>",
	    "g: alice@example.com;", 1, FAIL, "from-addresses", AUTH },
	{ "empty From", "alice", EXT, "<alice@example.com>", "", 1, FAIL,
	    "from-addresses", AUTH },
	{ "no domain", "alice", EXT, "<alice@example.com>", "alice", 1, FAIL,
	    "from-syntax", AUTH },
	{ "garbage", "alice", EXT, "<alice@example.com>", "<<<@@@>>>", 1, FAIL,
	    "from-syntax", AUTH },
	{ "unclosed angle", "alice", EXT, "<alice@example.com>",
	    "Alice <alice@example.com", 1, FAIL, "from-syntax", AUTH },
	{ "encoded-word display name", "alice", EXT, "<alice@example.com>",
	    "=?utf-8?q?Al=C3=AFce?= <alice@example.com>", 1, PASS, AUTH },
	{ "encoded-word as the address", "alice", EXT, "<alice@example.com>",
	    "=?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?=", 1, FAIL, "from-syntax",
	    AUTH },
	{ "display name spoofing an address", "alice", EXT,
	    "<alice@example.com>", "\"ceo@example.com\" <x@bank.example>", 1,
	    FAIL, "header-from-not-owned", AUTH },
	{ "comment and folding", "alice", EXT, "<alice@example.com>",
	    "(Alice)\r\n alice@example.com (work)", 1, PASS, AUTH },
	{ "control byte", "alice", EXT, "<alice@example.com>",
	    "alice\x01@example.com", 1, FAIL, "from-syntax", AUTH },
	{ "bad envelope", "alice", EXT, "<alice@example.com", "a@example.com",
	    1, FAIL, "envelope-syntax", AUTH },
	/* unauthenticated internal clients and local submissions */
	{ "internal, local domain", NULL, INT, "<app@example.com>",
	    "App <app@example.com>", 1, PASS, OG_ORIGIN_INTERNAL },
	{ "internal, empty login is none", "", INT, "<app@example.net>",
	    "app@example.net", 1, PASS, OG_ORIGIN_INTERNAL },
	{ "internal, IPv6 loopback", NULL, "::1", "<app@example.com>",
	    "app@example.com", 1, PASS, OG_ORIGIN_INTERNAL },
	{ "internal, foreign envelope", NULL, INT, "<app@bank.example>",
	    "app@example.com", 1, FAIL, "envelope-not-local-domain",
	    OG_ORIGIN_INTERNAL },
	{ "internal, foreign From", NULL, INT, "<app@example.com>",
	    "ceo@bank.example", 1, FAIL, "header-from-not-local-domain",
	    OG_ORIGIN_INTERNAL },
	{ "internal, local subdomain is not local", NULL, INT,
	    "<app@www.example.com>", "app@example.com", 1, FAIL,
	    "envelope-not-local-domain", OG_ORIGIN_INTERNAL },
	{ "local, local domain", NULL, NONE, "<www-data@example.net>",
	    "www-data@example.net", 1, PASS, OG_ORIGIN_LOCAL },
	{ "local, foreign From", NULL, NONE, "<www-data@example.net>",
	    "PayPal <service@paypal.example>", 1, FAIL,
	    "header-from-not-local-domain", OG_ORIGIN_LOCAL },
	{ "local, foreign envelope", NULL, "", "<x@paypal.example>",
	    "x@example.net", 1, FAIL, "envelope-not-local-domain",
	    OG_ORIGIN_LOCAL },
	{ "local, envelope without domain", NULL, NONE, "<www-data>",
	    "www-data@example.net", 1, FAIL, "envelope-not-local-domain",
	    OG_ORIGIN_LOCAL },
	{ "local, null sender, local From", NULL, NONE, "<>",
	    "MAILER-DAEMON@example.com", 1, PASS, OG_ORIGIN_LOCAL },
	{ "local, null sender, foreign From", NULL, NONE, "<>",
	    "x@bank.example", 1, FAIL, "header-from-not-local-domain",
	    OG_ORIGIN_LOCAL },
	{ "local, two From", NULL, NONE, "<a@example.com>", "a@example.com", 3,
	    FAIL, "from-count", OG_ORIGIN_LOCAL },
	/* outguard's own notifications; inbound mail */
	{ "notification", NULL, NONE, "<outguard@mta.example.com>",
	    "x@bank.example", 2, OG_IDENTITY_EXEMPT, "outguard-notification",
	    OG_ORIGIN_LOCAL },
	{ "notification, case", NULL, INT, "OUTGUARD@MTA.Example.COM", NULL, 0,
	    OG_IDENTITY_EXEMPT, "outguard-notification", OG_ORIGIN_INTERNAL },
	{ "notification sender, authenticated", "alice", EXT,
	    "<outguard@mta.example.com>", "alice@example.com", 1, FAIL,
	    "envelope-not-owned", AUTH },
	{ "notification sender, external", NULL, EXT,
	    "<outguard@mta.example.com>", NULL, 0, OG_IDENTITY_SKIP, "inbound",
	    OG_ORIGIN_EXTERNAL },
	{ "inbound", NULL, EXT, "<ceo@bank.example>", "ceo@bank.example", 1,
	    OG_IDENTITY_SKIP, "inbound", OG_ORIGIN_EXTERNAL },
};

static void
run_row(const struct og_identity_policy *pol, const struct row *r)
{
	struct og_identity_msg m;
	struct og_identity_verdict v;

	memset(&m, 0, sizeof(m));
	m.login = r->login;
	m.client_addr = r->client;
	m.envelope = r->envelope;
	m.from[0] = r->from;
	m.nfrom = r->nfrom;
	og_identity_check(pol, &m, &v);
	if (v.res != r->res || strcmp(v.reason, r->reason) != 0 ||
	    v.origin != r->origin)
		fail_msg("%s: got %s/%s/%s, want %s/%s/%s", r->name,
		    og_identity_res_name(v.res), v.reason,
		    og_identity_origin_name(v.origin),
		    og_identity_res_name(r->res), r->reason,
		    og_identity_origin_name(r->origin));
}

static void
t_rules(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(rows); i++)
		run_row(&fx.pol, &rows[i]);
}

/* without sender_login_maps a login owns only the address it spells */
static const struct row nomap_rows[] = {
	{ "envelope unchecked, From aligned", "alice@example.com", EXT,
	    "<other@example.com>", "x@example.com", 1, PASS, AUTH },
	{ "From spelled by the login", "alice@example.com", EXT,
	    "<x@bank.example>", "ALICE@example.com", 1, PASS, AUTH },
	{ "From neither aligned nor the login", "alice@example.com", EXT,
	    "<x@bank.example>", "ceo@example.com", 1, FAIL,
	    "header-from-not-owned", AUTH },
	{ "null sender, From is the login", "alice@example.com", EXT, "<>",
	    "alice@example.com", 1, PASS, AUTH },
	{ "null sender, login without @", "alice", EXT, "<>",
	    "alice@example.com", 1, FAIL, "header-from-not-owned", AUTH },
};

static void
t_no_login_maps(void **state)
{
	struct og_identity_policy pol = fx.pol;
	size_t i;

	(void)state;
	pol.login_maps = NULL;
	for (i = 0; i < OG_NELEM(nomap_rows); i++)
		run_row(&pol, &nomap_rows[i]);
}

static void
t_unconfigured(void **state)
{
	struct og_identity_policy pol = fx.pol;
	static const struct row local = { "no local_domains", NULL, NONE,
		"<x@bank.example>", "x@bank.example", 1, OG_IDENTITY_SKIP,
		"no-local-domains", OG_ORIGIN_LOCAL };
	static const struct row noint = { "no internal_hosts", NULL,
		"127.0.0.1", "<x@example.com>", "x@example.com", 1,
		OG_IDENTITY_SKIP, "inbound", OG_ORIGIN_EXTERNAL };
	static const struct row nonote = { "no notify_sender", NULL, NONE,
		"<outguard@mta.example.com>", "x@example.com", 1, FAIL,
		"envelope-not-local-domain", OG_ORIGIN_LOCAL };

	(void)state;
	pol.nlocal = 0;
	run_row(&pol, &local);
	pol = fx.pol;
	pol.internal_hosts = NULL;
	run_row(&pol, &noint);
	pol = fx.pol;
	pol.notify_sender = NULL;
	run_row(&pol, &nonote);
}

/* a cidr: table cannot look up a non-IP: an error, never "not found" */
static void
t_lookup_error(void **state)
{
	struct og_identity_policy pol = fx.pol;
	static const struct row bad = { "client not an IP", NULL, "unknown",
		"<a@example.com>", "a@example.com", 1, OG_IDENTITY_ERROR,
		"lookup-error", AUTH };
	static const struct row good = { "cidr internal", NULL, "10.9.9.9",
		"<a@example.com>", "a@example.com", 1, PASS,
		OG_ORIGIN_INTERNAL };

	(void)state;
	pol.internal_hosts = fx.cidr;
	run_row(&pol, &bad);
	run_row(&pol, &good);
}

static void
t_owns(void **state)
{
	(void)state;
	assert_int_equal(
	    og_identity_owns(fx.maps, "alice", "alice@example.com"), OG_FOUND);
	assert_int_equal(
	    og_identity_owns(fx.maps, "alice", "bob@example.com"), OG_FOUND);
	assert_int_equal(
	    og_identity_owns(fx.maps, "bo", "bob@example.com"), OG_NOTFOUND);
	assert_int_equal(
	    og_identity_owns(fx.maps, "bob,", "bob@example.com"), OG_NOTFOUND);
	assert_int_equal(
	    og_identity_owns(fx.maps, "", "bob@example.com"), OG_NOTFOUND);
	assert_int_equal(
	    og_identity_owns(fx.maps, NULL, "bob@example.com"), OG_NOTFOUND);
	assert_int_equal(og_identity_owns(fx.maps, "alice", ""), OG_NOTFOUND);
	assert_int_equal(
	    og_identity_owns(fx.maps, "carol", "z@shop.example.org"), OG_FOUND);
	assert_int_equal(
	    og_identity_owns(NULL, "a@b.example", "A@B.example"), OG_FOUND);
	assert_int_equal(
	    og_identity_owns(NULL, "a", "a@b.example"), OG_NOTFOUND);
}

/* hostile From values: bounded, a fail with a reason, never a crash */
static void
t_hostile(void **state)
{
	struct og_identity_msg m;
	struct og_identity_verdict v;
	struct og_strbuf big;
	size_t i;

	(void)state;
	og_strbuf_init(&big, 2 * 1024 * 1024);
	memset(&m, 0, sizeof(m));
	m.login = "alice";
	m.client_addr = EXT;
	m.envelope = "<alice@example.com>";
	m.nfrom = 1;

	/* 1 MB of one address's local part */
	for (i = 0; i < 1024 * 1024; i++)
		assert_int_equal(og_strbuf_addc(&big, 'a'), 0);
	assert_int_equal(og_strbuf_adds(&big, "@example.com"), 0);
	m.from[0] = og_strbuf_str(&big);
	og_identity_check(&fx.pol, &m, &v);
	assert_int_equal(v.res, OG_IDENTITY_FAIL);
	assert_string_equal(v.reason, "from-syntax");

	/* 10,000 addresses in a header just under the parser's cap */
	og_strbuf_reset(&big);
	for (i = 0; i < 10000 && big.len < OG_ADDR_HEADER_MAX - 16; i++)
		assert_int_equal(og_strbuf_adds(&big, "a@example.com,"), 0);
	m.from[0] = og_strbuf_str(&big);
	og_identity_check(&fx.pol, &m, &v);
	assert_int_equal(v.res, OG_IDENTITY_FAIL);
	assert_true(strcmp(v.reason, "from-addresses") == 0 ||
	    strcmp(v.reason, "from-syntax") == 0);

	/* a long but valid local part: the log copy is truncated */
	og_strbuf_reset(&big);
	for (i = 0; i < 200; i++)
		assert_int_equal(og_strbuf_addc(&big, 'x'), 0);
	assert_int_equal(og_strbuf_adds(&big, "@bank.example"), 0);
	m.from[0] = og_strbuf_str(&big);
	og_identity_check(&fx.pol, &m, &v);
	assert_int_equal(v.res, OG_IDENTITY_FAIL);
	assert_string_equal(v.reason, "header-from-not-owned");
	assert_true(strlen(v.from) < sizeof(v.from));
	assert_true(strlen(v.from) == 213);

	/* nested comments and quotes */
	og_strbuf_reset(&big);
	for (i = 0; i < 5000; i++)
		assert_int_equal(og_strbuf_addc(&big, '('), 0);
	m.from[0] = og_strbuf_str(&big);
	og_identity_check(&fx.pol, &m, &v);
	assert_int_equal(v.res, OG_IDENTITY_FAIL);
	assert_string_equal(v.reason, "from-syntax");

	/* a huge From count from a header flood */
	m.from[0] = "alice@example.com";
	m.nfrom = (size_t)-1;
	og_identity_check(&fx.pol, &m, &v);
	assert_string_equal(v.reason, "from-count");
	m.nfrom = 1;
	m.envelope = NULL; /* no MAIL FROM at all: the null sender */
	og_identity_check(&fx.pol, &m, &v);
	assert_int_equal(v.res, OG_IDENTITY_PASS);
	og_strbuf_release(&big);
}

static void
t_names(void **state)
{
	(void)state;
	assert_string_equal(og_identity_res_name(OG_IDENTITY_FAIL), "fail");
	assert_string_equal(og_identity_res_name(OG_IDENTITY_EXEMPT), "exempt");
	assert_string_equal(
	    og_identity_res_name((enum og_identity_res)99), "?");
	assert_string_equal(og_identity_origin_name(OG_ORIGIN_LOCAL), "local");
	assert_string_equal(
	    og_identity_origin_name((enum og_identity_origin)99), "?");
}

static void
t_parse_from(void **state)
{
	struct og_addr a;
	const char *why = NULL;

	(void)state;
	assert_int_equal(
	    og_identity_parse_from("\"Q, R\" <q@r.example>", 20, &a, &why), 0);
	assert_string_equal(a.local, "q");
	assert_string_equal(a.domain, "r.example");
	og_addr_clear(&a);
	assert_int_equal(og_identity_parse_from(NULL, 0, &a, &why), -1);
	assert_string_equal(why, "from-syntax");
	/* a NUL byte inside the span */
	assert_int_equal(
	    og_identity_parse_from("a@b.example\0c", 13, &a, &why), -1);
	assert_string_equal(why, "from-syntax");
	assert_int_equal(
	    og_identity_parse_from("\"\"@b.example", 12, &a, &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rules),
		cmocka_unit_test(t_no_login_maps),
		cmocka_unit_test(t_unconfigured),
		cmocka_unit_test(t_lookup_error),
		cmocka_unit_test(t_owns),
		cmocka_unit_test(t_hostile),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_parse_from),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * t_addr.c - unit tests for addr.c: RFC 5321 paths, RFC 5322 address
 *	lists, formatting, domain normalisation, validity, organisational
 *	domains (libpsl) and DMARC alignment
 * DESCRIPTION: table-driven; each row names itself so that a failure
 *	says which input broke. The PSL rows assume a list at least as new
 *	as libpsl 0.21's built-in one (blogspot.com is a private suffix).
 *	Display names keep RFC 2047 encoded words as they are: decoding
 *	them is not this module's job.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "strbuf.h"
#include "util.h"

/* labels of 63 and 61 bytes for the length limits */
#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L61 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* check_str - compare two NULL-able strings, naming the row on failure */
static void
check_str(const char *row, const char *what, const char *got, const char *want)
{
	if (got == NULL && want == NULL)
		return;
	if (got == NULL || want == NULL || strcmp(got, want) != 0)
		fail_msg("%s: %s is \"%s\", want \"%s\"", row, what,
		    got ? got : "(null)", want ? want : "(null)");
}

/*
 * RFC 5321 paths. A NULL local means the parse must fail; len 0 means
 * strlen(in), so rows with NUL bytes give their length.
 */
struct path_case {
	const char *in;
	size_t len;
	const char *local;
	const char *domain;
};

static const struct path_case path_cases[] = {
	{ "<a@b.example>", 0, "a", "b.example" },
	{ "a@b", 0, "a", "b" },
	{ "<>", 0, "", NULL },
	{ "", 0, "", NULL },
	{ "  <a@b>\t", 0, "a", "b" },
	{ "<@relay1,@relay2:a@b>", 0, "a", "b" },
	{ "<@relay1:a@b>", 0, "a", "b" },
	{ "<@[10.0.0.1],@relay2.example:a@b>", 0, "a", "b" },
	{ "<\"a b\"@x>", 0, "a b", "x" },
	{ "<\"a\\\"b\\\\c\"@x>", 0, "a\"b\\c", "x" },
	{ "<\"a@b\"@x>", 0, "a@b", "x" },
	{ "<a@b.example.>", 0, "a", "b.example" },
	{ "<Ab.C@EXAMPLE.COM>", 0, "Ab.C", "example.com" },
	{ "<a@[1.2.3.4]>", 0, "a", "[1.2.3.4]" },
	{ "<a@[IPv6:2001:DB8::1]>", 0, "a", "[ipv6:2001:db8::1]" },
	{ "<a@[x-tag:anything]>", 0, "a", "[x-tag:anything]" },
	{ "<postmaster>", 0, "postmaster", NULL },
	{ "<a..b.@docomo.ne.jp>", 0, "a..b.", "docomo.ne.jp" },
	{ "<first.last+tag=x@sub.example.org>", 0, "first.last+tag=x",
	    "sub.example.org" },
	{ "<u\303\251@b\303\274cher.example>", 0, "u\303\251",
	    "b\303\274cher.example" },
	{ "<a@xn--bcher-kva.example>", 0, "a", "xn--bcher-kva.example" },
	{ "<a@under_score.example>", 0, "a", "under_score.example" },
	/* errors */
	{ "<a@b", 0, NULL, NULL },
	{ "a@b>", 0, NULL, NULL },
	{ "<", 0, NULL, NULL },
	{ ">", 0, NULL, NULL },
	{ "<<a@b>>", 0, NULL, NULL },
	{ "a@@b", 0, NULL, NULL },
	{ "a@b@c", 0, NULL, NULL },
	{ "a\0@b", 4, NULL, NULL },
	{ "<a@b>\0", 6, NULL, NULL },
	{ "\0", 1, NULL, NULL },
	{ "<a@>", 0, NULL, NULL },
	{ "<@b>", 0, NULL, NULL },
	{ "<a b@c>", 0, NULL, NULL },
	{ "< a@b >", 0, NULL, NULL },
	{ "<a@b c>", 0, NULL, NULL },
	{ "<a@b..c>", 0, NULL, NULL },
	{ "<a@.b>", 0, NULL, NULL },
	{ "<a@.>", 0, NULL, NULL },
	{ "<a@b.example..>", 0, NULL, NULL },
	{ "<a@[1.2.3]>", 0, NULL, NULL },
	{ "<a@[1.2.3.4>", 0, NULL, NULL },
	{ "<a@[1.2.3.4]x>", 0, NULL, NULL },
	{ "<a@[IPv6:zz]>", 0, NULL, NULL },
	{ "<a@[:x]>", 0, NULL, NULL },
	{ "<a@[]>", 0, NULL, NULL },
	{ "<\"a@b>", 0, NULL, NULL },
	{ "<\"a\rb\"@x>", 0, NULL, NULL },
	{ "<\"\"@x>", 0, NULL, NULL },
	{ "<@relay a@b>", 0, NULL, NULL },
	{ "<@:a@b>", 0, NULL, NULL },
	{ "<@relay,a@b>", 0, NULL, NULL },
	{ "<@r:>", 0, NULL, NULL },
	{ "<a@b> SIZE=10", 0, NULL, NULL },
	{ "<a\r\n@b>", 0, NULL, NULL },
	{ "<a(c)@b>", 0, NULL, NULL },
	{ "<a@b\x7f>", 0, NULL, NULL },
	{ "<a@" L63 "a.example>", 0, NULL, NULL },
};

static void
test_path_table(void **state)
{
	struct og_addr a, b;
	const struct path_case *c;
	const char *err;
	char *f;
	size_t i, len;
	int r;

	(void)state;
	for (i = 0; i < OG_NELEM(path_cases); i++) {
		c = &path_cases[i];
		len = c->len ? c->len : strlen(c->in);
		memset(&a, 0xa5, sizeof(a));
		err = NULL;
		r = og_addr_parse_path(c->in, len, &a, &err);
		if (c->local == NULL) {
			if (r != -1)
				fail_msg("%s: parsed, want an error", c->in);
			assert_non_null(err);
			continue;
		}
		if (r != 0)
			fail_msg("%s: %s", c->in, err);
		check_str(c->in, "local", a.local, c->local);
		check_str(c->in, "domain", a.domain, c->domain);
		assert_null(a.display);
		assert_null(a.group);
		/* What og_addr_format writes, the parser reads back alike. */
		f = og_addr_format(&a);
		assert_non_null(f);
		if (og_addr_parse_path(f, strlen(f), &b, &err) != 0)
			fail_msg("%s: formatted %s: %s", c->in, f, err);
		check_str(f, "round-trip local", b.local, a.local);
		check_str(f, "round-trip domain", b.domain, a.domain);
		og_addr_clear(&b);
		og_free(f);
		og_addr_clear(&a);
		assert_null(a.local);
		assert_null(a.domain);
	}
}

/* test_path_untouched - *out is written only on success */
static void
test_path_untouched(void **state)
{
	struct og_addr a;
	const char *err = NULL;
	char sentinel;

	(void)state;
	a.local = a.domain = a.display = a.group = &sentinel;
	assert_int_equal(og_addr_parse_path("<a@b", 4, &a, &err), -1);
	assert_ptr_equal(a.local, &sentinel);
	assert_ptr_equal(a.domain, &sentinel);
	assert_string_equal(err, "missing closing bracket");
	assert_int_equal(og_addr_parse_path("<a@b>", 5, &a, NULL), 0);
	og_addr_clear(&a);
	assert_int_equal(og_addr_parse_path(NULL, 0, &a, &err), -1);
	og_addr_clear(NULL);
}

/* test_path_limits - local part and path length caps, at and past */
static void
test_path_limits(void **state)
{
	char buf[OG_ADDR_MAX + 64];
	struct og_addr a;
	const char *err;
	size_t n;

	(void)state;
	/* "<" + local + "@x>" */
	buf[0] = '<';
	memset(buf + 1, 'l', OG_ADDR_LOCAL_MAX);
	memcpy(buf + 1 + OG_ADDR_LOCAL_MAX, "@x>", 3);
	n = OG_ADDR_LOCAL_MAX + 4;
	assert_int_equal(og_addr_parse_path(buf, n, &a, &err), 0);
	assert_int_equal(strlen(a.local), OG_ADDR_LOCAL_MAX);
	og_addr_clear(&a);
	memset(buf + 1, 'l', OG_ADDR_LOCAL_MAX + 1);
	memcpy(buf + 2 + OG_ADDR_LOCAL_MAX, "@x>", 3);
	assert_int_equal(og_addr_parse_path(buf, n + 1, &a, &err), -1);
	assert_string_equal(err, "local part too long");
	/* the same through a quoted local part */
	buf[1] = '"';
	buf[OG_ADDR_LOCAL_MAX + 2] = '"';
	memcpy(buf + 3 + OG_ADDR_LOCAL_MAX, "@x>", 3);
	assert_int_equal(og_addr_parse_path(buf, n + 2, &a, &err), 0);
	og_addr_clear(&a);
	memset(buf + 1, ' ', OG_ADDR_MAX + 10);
	assert_int_equal(
	    og_addr_parse_path(buf, OG_ADDR_MAX + 1, &a, &err), -1);
	assert_string_equal(err, "path too long");
}

/*
 * RFC 5322 address lists that parse: count mailboxes in groups groups,
 * the first four as in want.
 */
struct want_addr {
	const char *local;
	const char *domain;
	const char *display;
	const char *group;
};

struct list_case {
	const char *in;
	size_t count;
	size_t groups;
	struct want_addr want[4];
};

static const struct list_case list_cases[] = {
	{ "a@b", 1, 0, { { "a", "b", NULL, NULL } } },
	{ "Name <a@b>", 1, 0, { { "a", "b", "Name", NULL } } },
	{ "<a@b>", 1, 0, { { "a", "b", NULL, NULL } } },
	{ "\"Doe, John\" <j@x>", 1, 0, { { "j", "x", "Doe, John", NULL } } },
	{ "\"J\\\"D\" <a@b>", 1, 0, { { "a", "b", "J\"D", NULL } } },
	{ "(c) a@b (d)", 1, 0, { { "a", "b", NULL, NULL } } },
	{ "(outer (nested \\) x) y) a(in)@(dom)b (z)", 1, 0,
	    { { "a", "b", NULL, NULL } } },
	{ "John(x)Doe <a@b>", 1, 0, { { "a", "b", "John Doe", NULL } } },
	{ "undisclosed-recipients:;", 0, 1, { { NULL, NULL, NULL, NULL } } },
	{ "undisclosed-recipients: ;", 0, 1, { { NULL, NULL, NULL, NULL } } },
	{ "team: a@b, c@d;", 2, 1,
	    { { "a", "b", NULL, "team" }, { "c", "d", NULL, "team" } } },
	{ "My Team: A <a@b>;, c@d", 2, 1,
	    { { "a", "b", "A", "My Team" }, { "c", "d", NULL, NULL } } },
	{ "g1: a@b;, g2:;, c@d", 2, 2,
	    { { "a", "b", NULL, "g1" }, { "c", "d", NULL, NULL } } },
	{ "team: a@b", 1, 1, { { "a", "b", NULL, "team" } } },
	{ "team: ,a@b,,;", 1, 1, { { "a", "b", NULL, "team" } } },
	{ "a@b, Name <c@d>, \"Q\" <e@f>, g@h", 4, 0,
	    {
	        { "a", "b", NULL, NULL },
	        { "c", "d", "Name", NULL },
	        { "e", "f", "Q", NULL },
	        { "g", "h", NULL, NULL },
	    } },
	{ ", a@b,, c@d ,", 2, 0,
	    { { "a", "b", NULL, NULL }, { "c", "d", NULL, NULL } } },
	{ "=?UTF-8?B?SsO2cmc=?= <j@x>", 1, 0,
	    { { "j", "x", "=?UTF-8?B?SsO2cmc=?=", NULL } } },
	{ "=?iso-8859-1?q?J=F6rg?= Doe <j@x>", 1, 0,
	    { { "j", "x", "=?iso-8859-1?q?J=F6rg?= Doe", NULL } } },
	{ "J\303\266rg <j@x>", 1, 0, { { "j", "x", "J\303\266rg", NULL } } },
	{ "<@r1,@r2:a@b>", 1, 0, { { "a", "b", NULL, NULL } } },
	{ "Name <,@r1,,@[1.2.3.4]:a@b>", 1, 0, { { "a", "b", "Name", NULL } } },
	{ "Name\r\n <a@b>,\r\n\tc@d", 2, 0,
	    { { "a", "b", "Name", NULL }, { "c", "d", NULL, NULL } } },
	{ "\"folded\r\n quoted\" <a@b>", 1, 0,
	    { { "a", "b", "folded quoted", NULL } } },
	{ "a@b\r\n", 1, 0, { { "a", "b", NULL, NULL } } },
	{ "John Q. Public <jqp@x>", 1, 0,
	    { { "jqp", "x", "John Q. Public", NULL } } },
	{ "a@B.EXAMPLE.", 1, 0, { { "a", "b.example", NULL, NULL } } },
	{ "a@[1.2.3.4]", 1, 0, { { "a", "[1.2.3.4]", NULL, NULL } } },
	{ "\"a b\"@x", 1, 0, { { "a b", "x", NULL, NULL } } },
	{ "a . b @ x . y", 1, 0, { { "a.b", "x.y", NULL, NULL } } },
	{ "a..b@docomo.ne.jp", 1, 0,
	    { { "a..b", "docomo.ne.jp", NULL, NULL } } },
	{ "postmaster", 1, 0, { { "postmaster", NULL, NULL, NULL } } },
	{ "\"\" <a@b>", 1, 0, { { "a", "b", NULL, NULL } } },
	{ "", 0, 0, { { NULL, NULL, NULL, NULL } } },
	{ " (only a comment) ", 0, 0, { { NULL, NULL, NULL, NULL } } },
};

/* list_bad_cases - headers that must not parse */
static const char *const list_bad_cases[] = {
	"Name <a@b",
	"Name <a@b, c@d>",
	"Name a@b>",
	"<a@b>>",
	"<<a@b>>",
	"<>",
	"a@b c@d",
	"a@b <c@d>",
	"John Doe",
	"a@@b",
	"a@",
	"@b",
	"a@b..c",
	"a@b!c",
	"a@[1.2.3]",
	"a@[1.2.3.4",
	"(unterminated a@b",
	"((nested) a@b",
	"a@b )",
	"\"unterminated <a@b>",
	"g1: g2: a@b;;",
	": a@b;",
	"team: a@b; c@d",
	"a@b;",
	";",
	"a@b\r\nBcc: evil@x",
	"a@b\rc@d",
	"a@b\x01",
	"\"a\x01\" <a@b>",
	"Name <@r1 a@b>",
	"Name <@r1@r2:a@b>",
	"Name <:a@b>",
	"a\\b@c",
	"a@b]",
};

static void
check_list(const struct list_case *c, const struct og_addr_list *l)
{
	const struct want_addr *w;
	size_t i;

	if (l->count != c->count || l->groups != c->groups)
		fail_msg("%s: %zu addresses in %zu groups, want %zu in %zu",
		    c->in, l->count, l->groups, c->count, c->groups);
	for (i = 0; i < l->count && i < OG_NELEM(c->want); i++) {
		w = &c->want[i];
		check_str(c->in, "local", l->addrs[i].local, w->local);
		check_str(c->in, "domain", l->addrs[i].domain, w->domain);
		check_str(c->in, "display", l->addrs[i].display, w->display);
		check_str(c->in, "group", l->addrs[i].group, w->group);
	}
}

static void
test_list_table(void **state)
{
	const struct list_case *c;
	struct og_addr_list l;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(list_cases); i++) {
		c = &list_cases[i];
		err = NULL;
		if (og_addr_parse_list(c->in, strlen(c->in), &l, &err) != 0)
			fail_msg("%s: %s", c->in, err);
		check_list(c, &l);
		og_addr_list_clear(&l);
		assert_null(l.addrs);
		assert_int_equal(l.count, 0);
	}
	og_addr_list_clear(NULL);
}

/* test_list_bad - errors leave *out alone and say why */
static void
test_list_bad(void **state)
{
	struct og_addr_list l;
	const char *c;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(list_bad_cases); i++) {
		err = NULL;
		memset(&l, 0, sizeof(l));
		c = list_bad_cases[i];
		if (og_addr_parse_list(c, strlen(c), &l, &err) != -1)
			fail_msg("%s: parsed, want an error", c);
		assert_non_null(err);
		assert_null(l.addrs);
		assert_int_equal(l.count, 0);
	}
}

/* test_list_nul - embedded NUL bytes are errors, wherever they are */
static void
test_list_nul(void **state)
{
	static const struct {
		const char *in;
		size_t len;
	} rows[] = {
		{ "a\0@b", 4 },
		{ "a@b\0", 4 },
		{ "\"a\0b\" <a@b>", 11 },
		{ "(\0) a@b", 7 },
		{ "\0", 1 },
	};
	struct og_addr_list l;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(rows); i++) {
		err = NULL;
		assert_int_equal(
		    og_addr_parse_list(rows[i].in, rows[i].len, &l, &err), -1);
		assert_string_equal(err, "NUL byte in header");
	}
}

/* test_list_limits - count, header and local part caps, at and past */
static void
test_list_limits(void **state)
{
	struct og_addr_list l;
	struct og_strbuf sb;
	const char *err;
	size_t i;

	(void)state;
	og_strbuf_init(&sb, 0);
	for (i = 0; i < OG_ADDR_LIST_MAX; i++)
		assert_int_equal(og_strbuf_adds(&sb, "a@b, "), 0);
	assert_int_equal(og_addr_parse_list(sb.data, sb.len, &l, &err), 0);
	assert_int_equal(l.count, OG_ADDR_LIST_MAX);
	og_addr_list_clear(&l);
	assert_int_equal(og_strbuf_adds(&sb, "g: a@b;"), 0);
	assert_int_equal(og_addr_parse_list(sb.data, sb.len, &l, &err), -1);
	assert_string_equal(err, "too many addresses");

	/* a header at the cap parses (all white space), one more fails */
	og_strbuf_reset(&sb);
	for (i = 0; i < OG_ADDR_HEADER_MAX; i++)
		assert_int_equal(og_strbuf_addc(&sb, ' '), 0);
	assert_int_equal(og_addr_parse_list(sb.data, sb.len, &l, &err), 0);
	assert_int_equal(l.count, 0);
	assert_int_equal(og_strbuf_addc(&sb, ' '), 0);
	assert_int_equal(og_addr_parse_list(sb.data, sb.len, &l, &err), -1);
	assert_string_equal(err, "header too long");

	/* local part: OG_ADDR_LOCAL_MAX bytes pass, one more fails */
	og_strbuf_reset(&sb);
	for (i = 0; i < OG_ADDR_LOCAL_MAX; i++)
		assert_int_equal(og_strbuf_addc(&sb, 'l'), 0);
	assert_int_equal(og_strbuf_adds(&sb, "@x"), 0);
	assert_int_equal(og_addr_parse_list(sb.data, sb.len, &l, &err), 0);
	og_addr_list_clear(&l);
	og_strbuf_reset(&sb);
	assert_int_equal(og_strbuf_adds(&sb, "Name <\""), 0);
	for (i = 0; i < OG_ADDR_LOCAL_MAX + 1; i++)
		assert_int_equal(og_strbuf_addc(&sb, 'l'), 0);
	assert_int_equal(og_strbuf_adds(&sb, "\"@x>"), 0);
	assert_int_equal(og_addr_parse_list(sb.data, sb.len, &l, &err), -1);
	assert_string_equal(err, "local part too long");

	/* deep comment nesting costs nothing but time */
	og_strbuf_reset(&sb);
	for (i = 0; i < 10000; i++)
		assert_int_equal(og_strbuf_addc(&sb, '('), 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(og_strbuf_addc(&sb, ')'), 0);
	assert_int_equal(og_strbuf_adds(&sb, "a@b"), 0);
	assert_int_equal(og_addr_parse_list(sb.data, sb.len, &l, &err), 0);
	assert_int_equal(l.count, 1);
	og_addr_list_clear(&l);
	og_strbuf_release(&sb);
}

struct format_case {
	const char *local;
	const char *domain;
	const char *want;
};

static const struct format_case format_cases[] = {
	{ "a", "b", "a@b" },
	{ "", NULL, "" },
	{ "postmaster", NULL, "postmaster" },
	{ "first.last+x", "example.com", "first.last+x@example.com" },
	{ "a b", "x", "\"a b\"@x" },
	{ "a\"b", "x", "\"a\\\"b\"@x" },
	{ "a\\b", "x", "\"a\\\\b\"@x" },
	{ "a..b", "x", "\"a..b\"@x" },
	{ ".a", "x", "\".a\"@x" },
	{ "a.", "x", "\"a.\"@x" },
	{ "a@b", "x", "\"a@b\"@x" },
	{ "", "x", "\"\"@x" },
	{ "u\303\251", "x", "u\303\251@x" },
	{ "a", "[1.2.3.4]", "a@[1.2.3.4]" },
};

static void
test_format_table(void **state)
{
	struct og_addr a;
	size_t i;
	char *f;

	(void)state;
	for (i = 0; i < OG_NELEM(format_cases); i++) {
		a.local = (char *)format_cases[i].local;
		a.domain = (char *)format_cases[i].domain;
		a.display = a.group = NULL;
		f = og_addr_format(&a);
		check_str(
		    format_cases[i].want, "format", f, format_cases[i].want);
		og_free(f);
	}
	assert_null(og_addr_format(NULL));
	a.local = NULL;
	assert_null(og_addr_format(&a));
}

struct normalize_case {
	const char *in;
	size_t len;
	const char *want;
};

static const struct normalize_case normalize_cases[] = {
	{ "example.com", 0, "example.com" },
	{ "EXAMPLE.Com", 0, "example.com" },
	{ "example.com.", 0, "example.com" },
	{ "example.com..", 0, "example.com." },
	{ "\303\234X.example", 0, "\303\234x.example" },
	{ "[1.2.3.4]", 0, "[1.2.3.4]" },
	{ "a", 0, "a" },
	{ ".", 0, NULL },
	{ "", 0, NULL },
	{ "a b", 0, NULL },
	{ "a\tb", 0, NULL },
	{ "a\001b", 0, NULL },
	{ "a\x7f", 0, NULL },
	{ "a\r\n", 0, NULL },
	{ "a\0b", 3, NULL },
	{ "EXAMPLE.COMxxx", 11, "example.com" },
};

static void
test_normalize_table(void **state)
{
	char long_name[OG_ADDR_DOMAIN_MAX + 2];
	size_t i, len;
	char *d;

	(void)state;
	for (i = 0; i < OG_NELEM(normalize_cases); i++) {
		len = normalize_cases[i].len;
		if (len == 0)
			len = strlen(normalize_cases[i].in);
		d = og_domain_normalize(normalize_cases[i].in, len);
		check_str(normalize_cases[i].in, "normalised", d,
		    normalize_cases[i].want);
		og_free(d);
	}
	assert_null(og_domain_normalize(NULL, 0));
	/* OG_ADDR_DOMAIN_MAX is the longest, plus one dot to strip */
	memset(long_name, 'a', sizeof(long_name));
	d = og_domain_normalize(long_name, OG_ADDR_DOMAIN_MAX);
	assert_non_null(d);
	og_free(d);
	assert_null(og_domain_normalize(long_name, OG_ADDR_DOMAIN_MAX + 1));
	long_name[OG_ADDR_DOMAIN_MAX] = '.';
	d = og_domain_normalize(long_name, OG_ADDR_DOMAIN_MAX + 1);
	assert_non_null(d);
	og_free(d);
}

struct valid_case {
	const char *in;
	int want;
};

static const struct valid_case valid_cases[] = {
	{ "example.com", 1 },
	{ "localhost", 1 },
	{ "a", 1 },
	{ "a-b.example", 1 },
	{ "_dmarc.example.com", 1 },
	{ "xn--bcher-kva.example", 1 },
	{ "b\303\274cher.example", 1 },
	{ "Example.COM", 1 },
	{ L63 ".com", 1 },
	{ L63 "a.com", 0 },
	/* 4 x 63 + 3 dots is 255 bytes; 3 x 63 + 3 + 61 = 253 is the most */
	{ L63 "." L63 "." L63 "." L63, 0 },
	{ L63 "." L63 "." L63 "." L61, 1 },
	{ L63 "." L63 "." L63 "." L61 "a", 0 },
	{ "", 0 },
	{ ".", 0 },
	{ "a..b", 0 },
	{ ".a", 0 },
	{ "a.", 0 },
	{ "a b", 0 },
	{ "a/b", 0 },
	{ "a@b", 0 },
	{ "[1.2.3.4]", 0 },
};

static void
test_valid_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(valid_cases); i++)
		if (og_domain_valid(valid_cases[i].in) != valid_cases[i].want)
			fail_msg("%s: og_domain_valid is %d, want %d",
			    valid_cases[i].in, !valid_cases[i].want,
			    valid_cases[i].want);
	assert_int_equal(og_domain_valid(NULL), 0);
}

struct org_case {
	const char *in;
	const char *want;
};

static const struct org_case org_cases[] = {
	{ "mail.example.co.uk", "example.co.uk" },
	{ "a.b.example.com", "example.com" },
	{ "example.com", "example.com" },
	{ "co.uk", "co.uk" },
	{ "com", "com" },
	{ "localhost", "localhost" },
	{ "MAIL.Example.CO.UK", "example.co.uk" },
	{ "example.com.", "example.com" },
	/* private section: blogspot.com is a suffix of its own */
	{ "blogspot.com", "blogspot.com" },
	{ "x.blogspot.com", "x.blogspot.com" },
	{ "a.x.blogspot.com", "x.blogspot.com" },
	{ "[1.2.3.4]", "[1.2.3.4]" },
	{ "", "" },
};

static void
test_orgdomain_table(void **state)
{
	size_t i;
	char *o;

	(void)state;
	for (i = 0; i < OG_NELEM(org_cases); i++) {
		o = og_domain_orgdomain(org_cases[i].in);
		check_str(org_cases[i].in, "organisational domain", o,
		    org_cases[i].want);
		og_free(o);
	}
	assert_null(og_domain_orgdomain(NULL));
}

struct aligned_case {
	const char *a;
	const char *b;
	int strict;
	int want;
};

static const struct aligned_case aligned_cases[] = {
	{ "example.com", "example.com", 1, 1 },
	{ "example.com", "example.com", 0, 1 },
	{ "EXAMPLE.com.", "example.com", 1, 1 },
	{ "mail.example.com", "example.com", 1, 0 },
	{ "mail.example.com", "example.com", 0, 1 },
	{ "a.example.com", "b.example.com", 0, 1 },
	{ "a.example.co.uk", "b.example.co.uk", 0, 1 },
	{ "example.co.uk", "other.co.uk", 0, 0 },
	{ "co.uk", "example.co.uk", 0, 0 },
	{ "example.com", "example.net", 0, 0 },
	{ "example.com", "notexample.com", 0, 0 },
	{ "a.blogspot.com", "b.blogspot.com", 0, 0 },
	{ "x.a.blogspot.com", "a.blogspot.com", 0, 1 },
	{ "", "", 0, 0 },
	{ "", "", 1, 0 },
};

static void
test_aligned_table(void **state)
{
	const struct aligned_case *c;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(aligned_cases); i++) {
		c = &aligned_cases[i];
		if (og_domain_aligned(c->a, c->b, c->strict) != c->want)
			fail_msg("%s vs %s (%s): want %d", c->a, c->b,
			    c->strict ? "strict" : "relaxed", c->want);
	}
	assert_int_equal(og_domain_aligned(NULL, "example.com", 0), 0);
	assert_int_equal(og_domain_aligned("example.com", NULL, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_table),
		cmocka_unit_test(test_path_untouched),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_list_table),
		cmocka_unit_test(test_list_bad),
		cmocka_unit_test(test_list_nul),
		cmocka_unit_test(test_list_limits),
		cmocka_unit_test(test_format_table),
		cmocka_unit_test(test_normalize_table),
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_orgdomain_table),
		cmocka_unit_test(test_aligned_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

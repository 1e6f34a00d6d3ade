/*
 * t_table.c - unit tests for lib/table.c
 * DESCRIPTION: table-driven cmocka cases for file:, pcre:, cidr: and
 *	inline: tables: lookups, the Postfix address search order, load
 *	errors (each must name PATH:LINE), key limits, and lookups from
 *	several threads at once. Each test writes its tables to mkstemp()
 *	files under $TMPDIR (or /tmp) and removes them.
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "strbuf.h"
#include "table.h"
#include "util.h"

#define NOVALUE NULL /* expected value for OG_NOTFOUND and OG_ERROR */

struct lookup_case {
	const char *key;
	int rc;
	const char *value;
};

/* tmp_write - a mkstemp() file holding len bytes; the path is og_free'd */
static char *
tmp_write(const char *data, size_t len)
{
	struct og_strbuf path;
	const char *dir = getenv("TMPDIR");
	char *p;
	int fd;

	og_strbuf_init(&path, 4096);
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	assert_int_equal(og_strbuf_addf(&path, "%s/t_table.XXXXXX", dir), 0);
	p = og_strbuf_steal(&path);
	fd = mkstemp(p);
	if (fd < 0)
		fail_msg("mkstemp %s: %s", p, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n <= 0)
			fail_msg("write %s: %s", p, strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
	return p;
}

/* open_tmp - write content, open "type:path"; *pathp for removal */
static struct og_table *
open_tmp(const char *type, const char *content, size_t len, int flags,
    char **pathp, struct og_strbuf *err)
{
	struct og_strbuf name;
	struct og_table *t;

	*pathp = tmp_write(content, len);
	og_strbuf_init(&name, 8192);
	assert_int_equal(og_strbuf_addf(&name, "%s:%s", type, *pathp), 0);
	t = og_table_open(og_strbuf_str(&name), flags, err);
	og_strbuf_release(&name);
	return t;
}

static void
drop_tmp(char *path)
{
	(void)unlink(path);
	og_free(path);
}

static void
check_case(const char *what, size_t i, const struct lookup_case *c, int rc,
    const char *value)
{
	if (rc != c->rc)
		fail_msg("%s case %zu \"%.80s\": rc %d, want %d", what, i,
		    c->key, rc, c->rc);
	if (c->rc == OG_FOUND && strcmp(value, c->value) != 0)
		fail_msg("%s case %zu \"%.80s\": value \"%s\", want \"%s\"",
		    what, i, c->key, value, c->value);
}

static void
run_cases(const struct og_table *t, const struct lookup_case *cases, size_t n,
    int addr)
{
	const char *value;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		value = NULL;
		rc = addr ? og_table_lookup_addr(t, cases[i].key, &value)
		          : og_table_lookup(t, cases[i].key, &value);
		check_case(addr ? "addr" : "lookup", i, &cases[i], rc, value);
	}
}

/* A table of one type built from a string, checked against cases. */
static void
table_cases(const char *type, const char *content, int flags,
    const struct lookup_case *cases, size_t n, int addr)
{
	struct og_strbuf err;
	struct og_table *t;
	char *path;

	og_strbuf_init(&err, 4096);
	t = open_tmp(type, content, strlen(content), flags, &path, &err);
	if (t == NULL) {
		fail_msg("open %s: %s", type, og_strbuf_str(&err));
		return;
	}
	assert_string_equal(og_table_type(t), type);
	run_cases(t, cases, n, addr);
	t = og_table_free(t);
	assert_null(t);
	og_strbuf_release(&err);
	drop_tmp(path);
}

static void
test_names(void **state)
{
	static const struct {
		const char *name;
		const char *err; /* NULL: opens */
	} cases[] = {
		{ "foo:/x", "unknown table type \"foo\"" },
		{ "hash:/etc/postfix/x", "unknown table type \"hash\"" },
		{ "nocolon", "not of the form type:name" },
		{ "", "not of the form type:name" },
		{ "file:", "missing path" },
		{ "file:/nonexistent/og-t-table",
		    "/nonexistent/og-t-table: cannot open: " },
		{ "pcre:/nonexistent/og-t-table", "cannot open" },
		{ "cidr:/", "/: not a regular file" },
		{ "inline:a, b", "expected inline:{" },
		{ "inline:{ a, b", "expected inline:{" },
		{ "inline:{ a{b} }", "nested" },
		{ "inline:{ 10.0.0.1/8 }", "non-null host address bits" },
		{ "inline:{ ::/129 }", "bad prefix length" },
		{ "inline:{}", NULL },
		{ "inline: { a, b }  ", NULL },
		{ "inline:{ 127.0.0.0/8, ::1 }", NULL },
	};
	static const struct {
		const char *name;
		int valid;
	} types[] = {
		{ "file:/x", 1 },
		{ "pcre:/x", 1 },
		{ "cidr:/x", 1 },
		{ "inline:{a}", 1 },
		{ "file:", 1 },
		{ "foo:/x", 0 },
		{ "files:/x", 0 },
		{ "fil:/x", 0 },
		{ "/etc/x", 0 },
		{ "", 0 },
		{ ":x", 0 },
		{ "FILE:/x", 0 },
	};
	struct og_strbuf err;
	struct og_table *t;
	size_t i;

	(void)state;
	og_strbuf_init(&err, 4096);
	for (i = 0; i < OG_NELEM(cases); i++) {
		og_strbuf_reset(&err);
		t = og_table_open(cases[i].name, 0, &err);
		if (cases[i].err == NULL) {
			if (t == NULL) {
				fail_msg("\"%s\": %s", cases[i].name,
				    og_strbuf_str(&err));
				return;
			}
			assert_string_equal(og_table_name(t), cases[i].name);
			assert_string_equal(og_table_type(t), "inline");
			(void)og_table_free(t);
			continue;
		}
		if (t != NULL)
			fail_msg("\"%s\" opened", cases[i].name);
		if (strstr(og_strbuf_str(&err), cases[i].err) == NULL)
			fail_msg("\"%s\": error \"%s\", want \"%s\"",
			    cases[i].name, og_strbuf_str(&err), cases[i].err);
	}
	for (i = 0; i < OG_NELEM(types); i++)
		if (og_table_valid_type(types[i].name) != types[i].valid)
			fail_msg("valid_type \"%s\"", types[i].name);
	assert_int_equal(og_table_valid_type(NULL), 0);
	assert_null(og_table_free(NULL));
	og_strbuf_release(&err);
}

static void
test_file(void **state)
{
	static const char content[] =
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "   # an indented comment\n"
	    "plain value\n"
	    "MiXeD@Example.COM   Value With  Spaces   \t\n"
	    "crlf crlf-value\r\n"
	    "\r\n"
	    "multi first\n"
	    "# a comment inside a logical line\n"
	    "  second\n"
	    "\tthird\n"
	    "tabbed\tx\ty\n"
	    "dup first\n"
	    "DUP second\n"
	    "last no-newline";
	static const struct lookup_case cases[] = {
		{ "plain", OG_FOUND, "value" },
		{ "PLAIN", OG_FOUND, "value" },
		{ "mixed@example.com", OG_FOUND, "Value With  Spaces" },
		{ "MIXED@EXAMPLE.COM", OG_FOUND, "Value With  Spaces" },
		{ "crlf", OG_FOUND, "crlf-value" },
		{ "multi", OG_FOUND, "first  second\tthird" },
		{ "tabbed", OG_FOUND, "x\ty" },
		{ "dup", OG_FOUND, "first" },
		{ "last", OG_FOUND, "no-newline" },
		{ "#", OG_NOTFOUND, NOVALUE },
		{ "a", OG_NOTFOUND, NOVALUE },
		{ "", OG_NOTFOUND, NOVALUE },
		{ "plain ", OG_NOTFOUND, NOVALUE },
		{ "second", OG_NOTFOUND, NOVALUE },
		{ "value", OG_NOTFOUND, NOVALUE },
	};

	(void)state;
	table_cases("file", content, 0, cases, OG_NELEM(cases), 0);
}

static const char addr_table[] = "user@example.com      full\n"
                                 "other@                userat\n"
                                 "example.com           domain\n"
                                 ".sub.example.org      dotparent\n"
                                 "example.org           parent\n"
                                 "@example.net          atdomain\n"
                                 "carol@example.net     carol\n"
                                 "sub.example.net       subdomain\n"
                                 "@sub.example.net      atsub\n";

static void
test_addr_order(void **state)
{
	static const struct lookup_case noparent[] = {
		{ "user@example.com", OG_FOUND, "full" },
		{ "USER@Example.COM", OG_FOUND, "full" },
		{ "other@anywhere.test", OG_FOUND, "userat" },
		/* user@ comes before the domain */
		{ "other@example.com", OG_FOUND, "userat" },
		{ "bob@example.com", OG_FOUND, "domain" },
		{ "bob@a.example.com", OG_NOTFOUND, NOVALUE },
		{ "bob@x.sub.example.org", OG_FOUND, "dotparent" },
		{ "bob@x.y.sub.example.org", OG_FOUND, "dotparent" },
		{ "bob@sub.example.org", OG_NOTFOUND, NOVALUE },
		{ "bob@example.org", OG_FOUND, "parent" },
		{ "bob@example.net", OG_FOUND, "atdomain" },
		{ "carol@example.net", OG_FOUND, "carol" },
		/* the domain comes before @domain */
		{ "z@sub.example.net", OG_FOUND, "subdomain" },
		{ "z@a.sub.example.net", OG_NOTFOUND, NOVALUE },
		{ "@example.net", OG_FOUND, "atdomain" },
		{ "x@y@example.com", OG_FOUND, "domain" },
		{ "example.com", OG_FOUND, "domain" },
		{ "EXAMPLE.com", OG_FOUND, "domain" },
		{ "a.b.example.com", OG_NOTFOUND, NOVALUE },
		{ "a.sub.example.org", OG_FOUND, "dotparent" },
		{ "example.net", OG_NOTFOUND, NOVALUE },
		{ "nobody@nowhere.test", OG_NOTFOUND, NOVALUE },
		{ "user@", OG_NOTFOUND, NOVALUE },
		{ "other@", OG_FOUND, "userat" },
		{ "", OG_NOTFOUND, NOVALUE },
		{ "@", OG_NOTFOUND, NOVALUE },
		{ ".", OG_NOTFOUND, NOVALUE },
		{ "com", OG_NOTFOUND, NOVALUE },
	};
	static const struct lookup_case parent[] = {
		{ "user@example.com", OG_FOUND, "full" },
		{ "other@a.example.com", OG_FOUND, "userat" },
		{ "bob@a.example.com", OG_FOUND, "domain" },
		{ "bob@a.b.c.example.com", OG_FOUND, "domain" },
		{ "bob@x.sub.example.org", OG_FOUND, "parent" },
		{ "bob@example.org", OG_FOUND, "parent" },
		/* parents come before @domain */
		{ "z@a.sub.example.net", OG_FOUND, "subdomain" },
		{ "z@example.net", OG_FOUND, "atdomain" },
		{ "a.b.example.com", OG_FOUND, "domain" },
		{ "A.B.EXAMPLE.COM", OG_FOUND, "domain" },
		/* no trailing-dot folding here: addr.c normalises domains */
		{ "example.com.", OG_NOTFOUND, NOVALUE },
		{ "bob@notexample.com", OG_NOTFOUND, NOVALUE },
		{ "nobody@nowhere.test", OG_NOTFOUND, NOVALUE },
		{ "com", OG_NOTFOUND, NOVALUE },
	};

	(void)state;
	table_cases("file", addr_table, 0, noparent, OG_NELEM(noparent), 1);
	table_cases(
	    "file", addr_table, OG_TABLE_PARENT, parent, OG_NELEM(parent), 1);
}

/* Whole-address lookups for the other types, and cidr refusing them. */
static void
test_addr_other_types(void **state)
{
	static const struct lookup_case pcre[] = {
		{ "user@example.com", OG_FOUND, "whole=user@example.com" },
		{ "example.com", OG_NOTFOUND, NOVALUE },
	};
	static const struct lookup_case cidr[] = {
		{ "user@example.com", OG_ERROR, NOVALUE },
		{ "10.0.0.1", OG_ERROR, NOVALUE },
	};
	struct og_strbuf err;
	struct og_table *t;
	const char *value;

	(void)state;
	table_cases(
	    "pcre", "/^(.+@.+)$/ whole=$1\n", 0, pcre, OG_NELEM(pcre), 1);
	table_cases("cidr", "0.0.0.0/0 any\n", 0, cidr, OG_NELEM(cidr), 1);
	og_strbuf_init(&err, 1024);
	t = og_table_open("inline:{ User@Example.com, example.org }", 0, &err);
	assert_non_null(t);
	assert_int_equal(
	    og_table_lookup_addr(t, "user@EXAMPLE.com", &value), OG_FOUND);
	assert_string_equal(value, "yes");
	/* inline sees the whole address once: no domain step */
	assert_int_equal(
	    og_table_lookup_addr(t, "u@example.org", &value), OG_NOTFOUND);
	(void)og_table_free(t);
	og_strbuf_release(&err);
}

static void
test_pcre(void **state)
{
	static const char content[] =
	    "# pcre_table(5) subset\n"
	    "/^(.*)@example\\.com$/      user=$1\n"
	    "/^SHOUT@/i                  case-sensitive\n"
	    "/^a(b)?c@x\\.test$/          [$1]\n"
	    "/^(x)(y)@brace\\.test$/      ${2}$(1)$1-$2}\n"
	    "/^dollar@/                  cost $$5\n"
	    "|^pipe\\|bar@|               pipe-delimiter\n"
	    "/^slash\\/x@/               escaped-slash\n"
	    "/^multi$/\n"
	    "    continued result\n"
	    "/^x   y $/x                 extended\n"
	    "/^first$/                   one\n"
	    "/^first$/                   two\n"
	    "/^line1$/m                  multiline\n"
	    "/^a.b$/s                    dotall\n"
	    "!/@/                        no-at\n"
	    "!!/never@/                  double-negation\n";
	static const struct lookup_case cases[] = {
		{ "joe@example.com", OG_FOUND, "user=joe" },
		{ "JOE@EXAMPLE.COM", OG_FOUND, "user=JOE" },
		{ "@example.com", OG_FOUND, "user=" },
		{ "SHOUT@host", OG_FOUND, "case-sensitive" },
		{ "shout@host", OG_NOTFOUND, NOVALUE },
		{ "ac@x.test", OG_FOUND, "[]" },
		{ "abc@x.test", OG_FOUND, "[b]" },
		{ "xy@brace.test", OG_FOUND, "yxx-y}" },
		{ "dollar@host", OG_FOUND, "cost $5" },
		{ "pipe|bar@host", OG_FOUND, "pipe-delimiter" },
		{ "slash/x@host", OG_FOUND, "escaped-slash" },
		{ "multi", OG_FOUND, "continued result" },
		{ "xy", OG_FOUND, "extended" },
		{ "first", OG_FOUND, "one" },
		{ "line1\nline2", OG_FOUND, "multiline" },
		{ "a\nb", OG_FOUND, "dotall" },
		{ "plain", OG_FOUND, "no-at" },
		{ "", OG_FOUND, "no-at" },
		{ "never@host", OG_FOUND, "double-negation" },
		{ "nomatch@host", OG_NOTFOUND, NOVALUE },
	};

	(void)state;
	table_cases("pcre", content, 0, cases, OG_NELEM(cases), 0);
}

/* Results are capped; runaway backtracking is an error, not a miss. */
static void
test_pcre_limits(void **state)
{
	static const char content[] = "/^x(.*)$/ $1$1$1$1$1\n"
	                              "/^(a+)+$/ backtracked\n";
	struct og_strbuf err;
	struct og_table *t;
	const char *value;
	char key[OG_TABLE_KEY_MAX + 1], *path;
	size_t n;

	(void)state;
	og_strbuf_init(&err, 1024);
	t = open_tmp("pcre", content, strlen(content), 0, &path, &err);
	assert_non_null(t);
	n = OG_TABLE_RESULT_MAX / 5 + 1; /* "x" and n - 1 bytes for $1 */
	memset(key, 'y', sizeof(key));
	key[0] = 'x';
	key[n] = '\0';
	assert_int_equal(og_table_lookup(t, key, &value), OG_FOUND);
	assert_int_equal(strlen(value), 5 * (n - 1));
	key[n] = 'y';
	key[n + 1] = '\0';
	assert_int_equal(og_table_lookup(t, key, &value), OG_ERROR);
	/* exponential backtracking: "aaaa...ab" must not look like a miss */
	memset(key, 'a', 64);
	key[64] = 'b';
	key[65] = '\0';
	assert_int_equal(og_table_lookup(t, key, &value), OG_ERROR);
	key[64] = '\0';
	assert_int_equal(og_table_lookup(t, key, &value), OG_FOUND);
	assert_string_equal(value, "backtracked");
	(void)og_table_free(t);
	og_strbuf_release(&err);
	drop_tmp(path);
}

static void
test_cidr(void **state)
{
	static const char content[] = "# first match wins\n"
	                              "192.168.1.0/24        net24\n"
	                              "192.168.1.77          host77\n"
	                              "10.1.2.3/32           host32\n"
	                              "10.0.0.0/8            ten\n"
	                              "[172.16.0.1]          bracketed4\n"
	                              "[2001:db8::]/32       v6net\n"
	                              "2001:db8:1::1/128     v6host\n"
	                              "::1                   v6lo\n"
	                              "fe80::/10             linklocal\n"
	                              "100.64.0.0/10         cgnat\n"
	                              "0.0.0.0/0             any4\n"
	                              "::/0                  any6\n";
	static const struct lookup_case cases[] = {
		{ "192.168.1.5", OG_FOUND, "net24" },
		{ "192.168.1.77", OG_FOUND, "net24" },
		{ "[192.168.1.5]", OG_FOUND, "net24" },
		{ "192.168.2.1", OG_FOUND, "any4" },
		{ "10.1.2.3", OG_FOUND, "host32" },
		{ "10.1.2.4", OG_FOUND, "ten" },
		{ "10.255.255.255", OG_FOUND, "ten" },
		{ "172.16.0.1", OG_FOUND, "bracketed4" },
		{ "100.127.255.255", OG_FOUND, "cgnat" },
		{ "100.128.0.0", OG_FOUND, "any4" },
		{ "11.0.0.1", OG_FOUND, "any4" },
		{ "2001:db8::5", OG_FOUND, "v6net" },
		{ "2001:DB8:1::1", OG_FOUND, "v6net" },
		{ "2001:db9::1", OG_FOUND, "any6" },
		{ "::1", OG_FOUND, "v6lo" },
		{ "[::1]", OG_FOUND, "v6lo" },
		{ "0:0::1", OG_FOUND, "v6lo" },
		{ "fe80::1", OG_FOUND, "linklocal" },
		{ "febf:ffff::1", OG_FOUND, "linklocal" },
		{ "fec0::1", OG_FOUND, "any6" },
		/* no IPv4-mapped matching: families stay apart */
		{ "::ffff:10.1.2.3", OG_FOUND, "any6" },
		{ "example.com", OG_ERROR, NOVALUE },
		{ "", OG_ERROR, NOVALUE },
		{ "[]", OG_ERROR, NOVALUE },
		{ "1.2.3", OG_ERROR, NOVALUE },
		{ "999.1.1.1", OG_ERROR, NOVALUE },
		{ "10.0.0.0/8", OG_ERROR, NOVALUE },
		{ "::1%lo", OG_ERROR, NOVALUE },
		{ "[::1", OG_ERROR, NOVALUE },
		{ " 10.0.0.1", OG_ERROR, NOVALUE },
		{ "user@10.0.0.1", OG_ERROR, NOVALUE },
	};
	static const struct lookup_case narrow[] = {
		{ "10.0.0.1", OG_FOUND, "ten" },
		{ "11.0.0.1", OG_NOTFOUND, NOVALUE },
		{ "::1", OG_FOUND, "lo" },
		{ "::2", OG_NOTFOUND, NOVALUE },
		{ "1.2.3.4", OG_FOUND, "host" },
		{ "1.2.3.5", OG_NOTFOUND, NOVALUE },
		{ "2001:db8::1", OG_FOUND, "v6host" },
		{ "2001:db8::", OG_NOTFOUND, NOVALUE },
		{ "nonsense", OG_ERROR, NOVALUE },
	};

	(void)state;
	table_cases("cidr", content, 0, cases, OG_NELEM(cases), 0);
	table_cases("cidr",
	    "10.0.0.0/8 ten\n::1/128 lo\n1.2.3.4/32 host\n"
	    "2001:db8::1/128 v6host\n",
	    0, narrow, OG_NELEM(narrow), 0);
}

static void
test_inline(void **state)
{
	static const struct {
		const char *name;
		const char *key;
		int rc;
	} cases[] = {
		{ "inline:{ a.example, B.Example }", "a.example", OG_FOUND },
		{ "inline:{ a.example, B.Example }", "b.EXAMPLE", OG_FOUND },
		{ "inline:{ a.example, B.Example }", "c.example", OG_NOTFOUND },
		{ "inline:{ a.example, B.Example }", "a", OG_NOTFOUND },
		{ "inline:{a,,b  c\td}", "c", OG_FOUND },
		{ "inline:{a,,b  c\td}", "d", OG_FOUND },
		{ "inline:{a,,b  c\td}", "", OG_NOTFOUND },
		{ "inline:{}", "x", OG_NOTFOUND },
		{ "inline:{ }", "", OG_NOTFOUND },
		{ "inline:{127.0.0.0/8, ::1}", "127.0.0.1", OG_FOUND },
		{ "inline:{127.0.0.0/8, ::1}", "127.255.0.9", OG_FOUND },
		{ "inline:{127.0.0.0/8, ::1}", "[127.0.0.1]", OG_FOUND },
		{ "inline:{127.0.0.0/8, ::1}", "::1", OG_FOUND },
		{ "inline:{127.0.0.0/8, ::1}", "[::1]", OG_FOUND },
		{ "inline:{127.0.0.0/8, ::1}", "0::0:1", OG_FOUND },
		{ "inline:{127.0.0.0/8, ::1}", "128.0.0.1", OG_NOTFOUND },
		{ "inline:{127.0.0.0/8, ::1}", "::2", OG_NOTFOUND },
		{ "inline:{127.0.0.0/8, ::1}", "localhost", OG_NOTFOUND },
		{ "inline:{ 192.0.2.7, [2001:db8::]/32 }", "192.0.2.7",
		    OG_FOUND },
		{ "inline:{ 192.0.2.7, [2001:db8::]/32 }", "192.0.2.8",
		    OG_NOTFOUND },
		{ "inline:{ 192.0.2.7, [2001:db8::]/32 }", "2001:db8:5::1",
		    OG_FOUND },
		{ "inline:{ 0.0.0.0/0 }", "203.0.113.9", OG_FOUND },
		{ "inline:{ 0.0.0.0/0 }", "::1", OG_NOTFOUND },
		{ "inline:{ mail.example, 10.0.0.0/8 }", "MAIL.example",
		    OG_FOUND },
		/* a string that merely looks like a network is a string */
		{ "inline:{ foo/8 }", "foo/8", OG_FOUND },
	};
	struct og_strbuf err;
	struct og_table *t;
	const char *value;
	size_t i;
	int rc;

	(void)state;
	og_strbuf_init(&err, 1024);
	for (i = 0; i < OG_NELEM(cases); i++) {
		t = og_table_open(cases[i].name, 0, &err);
		if (t == NULL) {
			fail_msg(
			    "\"%s\": %s", cases[i].name, og_strbuf_str(&err));
			return;
		}
		value = NULL;
		rc = og_table_lookup(t, cases[i].key, &value);
		if (rc != cases[i].rc)
			fail_msg("case %zu %s \"%s\": rc %d, want %d", i,
			    cases[i].name, cases[i].key, rc, cases[i].rc);
		if (rc == OG_FOUND)
			assert_string_equal(value, "yes");
		(void)og_table_free(t);
	}
	og_strbuf_release(&err);
}

struct error_case {
	const char *type;
	const char *content;
	size_t len; /* 0: strlen(content) */
	unsigned line;
	const char *reason;
};

static void
check_error(size_t i, const struct error_case *c)
{
	struct og_strbuf err, want;
	struct og_table *t;
	char *path;
	size_t len = c->len ? c->len : strlen(c->content);

	og_strbuf_init(&err, 4096);
	og_strbuf_init(&want, 4096);
	t = open_tmp(c->type, c->content, len, 0, &path, &err);
	if (t != NULL)
		fail_msg("error case %zu (%s): table opened", i, c->type);
	assert_int_equal(og_strbuf_addf(&want, "%s:%u: ", path, c->line), 0);
	if (strncmp(og_strbuf_str(&err), og_strbuf_str(&want), want.len) != 0 ||
	    strstr(og_strbuf_str(&err), c->reason) == NULL)
		fail_msg("error case %zu (%s): \"%.200s\", want \"%s%s\"", i,
		    c->type, og_strbuf_str(&err), og_strbuf_str(&want),
		    c->reason);
	og_strbuf_release(&err);
	og_strbuf_release(&want);
	drop_tmp(path);
}

static void
test_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "file", "a b\nnovalue\n", 0, 2, "expected format" },
		{ "file", "a b\nnovalue   \r\n", 0, 2, "expected format" },
		{ "file", " indented first\n", 0, 1, "continuation line" },
		{ "file", "# c\n\n\tindented\n", 0, 3, "continuation line" },
		{ "file", "a b\nc\0d e\n", 10, 2, "NUL byte" },
		{ "file", "a b\n\n# x\nlogical\n  two\nbad\n", 0, 6,
		    "expected format" },
		{ "pcre", "/ok/ fine\n/(unclosed/ x\n", 0, 2,
		    "bad regexp: missing closing parenthesis" },
		{ "pcre", "/ok/ fine\n\n/ok/\n   (? x\n/[z/ x\n", 0, 5,
		    "bad regexp" },
		{ "pcre", "/a/q x\n", 0, 1, "unknown regexp flag \"q\"" },
		{ "pcre", "/abc x\n", 0, 1, "no closing regexp delimiter" },
		{ "pcre", "/abc/\n", 0, 1, "no result" },
		{ "pcre", "/abc/i   \n", 0, 1, "no result" },
		{ "pcre", "if /x/\n/y/ z\nendif\n", 0, 1, "if/endif" },
		{ "pcre", "/y/ z\nENDIF\n", 0, 2, "if/endif" },
		{ "pcre", "/(a)/ $2\n", 0, 1, "out of range" },
		{ "pcre", "/a/ $1\n", 0, 1, "out of range" },
		{ "pcre", "!/(a)/ $1\n", 0, 1, "negated" },
		{ "pcre", "/a/ $x\n", 0, 1, "bad \"$\"" },
		{ "pcre", "/a/ trailing $\n", 0, 1, "bad \"$\"" },
		{ "pcre", "/(a)/ ${1\n", 0, 1, "missing \"}\"" },
		{ "pcre", "/(a)/ $0\n", 0, 1, "$0" },
		{ "pcre", "/(a)/ $100\n", 0, 1, "too large" },
		{ "pcre", "abc def\n", 0, 1, "expected /regexp/" },
		{ "pcre", "\\abc\\ def\n", 0, 1, "expected /regexp/" },
		{ "cidr", "10.0.0.0/8 ok\nnot-an-ip x\n", 0, 2,
		    "bad network address \"not-an-ip\"" },
		{ "cidr", "10.0.0.1/8 x\n", 0, 1,
		    "non-null host address bits in \"10.0.0.1/8\", perhaps "
		    "you should use \"10.0.0.0/8\" instead" },
		{ "cidr", "2001:db8::1/32 x\n", 0, 1,
		    "perhaps you should use \"2001:db8::/32\"" },
		{ "cidr", "0.0.0.1/0 x\n", 0, 1, "\"0.0.0.0/0\"" },
		{ "cidr", "10.0.0.0/33 x\n", 0, 1, "bad prefix length" },
		{ "cidr", "::1/129 x\n", 0, 1, "bad prefix length" },
		{ "cidr", "10.0.0.0/ x\n", 0, 1, "bad prefix length" },
		{ "cidr", "10.0.0.0/-1 x\n", 0, 1, "bad prefix length" },
		{ "cidr", "10.0.0.0/8/8 x\n", 0, 1, "bad network address" },
		{ "cidr", "10.0.0.0/8\n", 0, 1, "expected format" },
		{ "cidr", "!10.0.0.0/8 x\n", 0, 1, "negation" },
		{ "cidr", "if 10.0.0.0/8\nendif\n", 0, 1, "if/endif" },
		{ "cidr", "1.2.3.4 a\n\n# c\nfoo\n  bar\nbaz x\n", 0, 4,
		    "bad network address \"foo\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++)
		check_error(i, &cases[i]);
}

/* Limits: over-long lines (physical and logical) and keys. */
static void
test_long_lines(void **state)
{
	struct og_strbuf sb;
	struct error_case c;
	size_t i;

	(void)state;
	og_strbuf_init(&sb, 4 * OG_TABLE_LINE_MAX);
	/* a physical line one byte too long, on line 2 */
	(void)og_strbuf_adds(&sb, "# c\nk ");
	for (i = 2; i < OG_TABLE_LINE_MAX + 1; i++)
		(void)og_strbuf_addc(&sb, 'v');
	(void)og_strbuf_adds(&sb, "\n");
	c = (struct error_case){ "file", og_strbuf_str(&sb), 0, 2,
		"line longer than" };
	check_error(0, &c);
	c.type = "pcre";
	check_error(1, &c);
	c.type = "cidr";
	check_error(2, &c);
	/* exactly OG_TABLE_LINE_MAX is fine for file: */
	og_strbuf_truncate(&sb, sb.len - 2);
	(void)og_strbuf_adds(&sb, "\n");
	{
		struct og_strbuf err;
		struct og_table *t;
		const char *value;
		char *path;

		og_strbuf_init(&err, 1024);
		t = open_tmp(
		    "file", og_strbuf_str(&sb), sb.len, 0, &path, &err);
		if (t == NULL) {
			fail_msg("%s", og_strbuf_str(&err));
			return;
		}
		assert_int_equal(og_table_lookup(t, "k", &value), OG_FOUND);
		assert_int_equal(strlen(value), OG_TABLE_LINE_MAX - 2);
		(void)og_table_free(t);
		og_strbuf_release(&err);
		drop_tmp(path);
	}
	/* a logical line too long through continuations: line 3 */
	og_strbuf_reset(&sb);
	(void)og_strbuf_adds(&sb, "a b\nk v\n");
	for (i = 0; i < 3; i++) {
		size_t j;

		(void)og_strbuf_addc(&sb, ' ');
		for (j = 0; j < OG_TABLE_LINE_MAX / 2; j++)
			(void)og_strbuf_addc(&sb, 'w');
		(void)og_strbuf_addc(&sb, '\n');
	}
	c = (struct error_case){ "file", og_strbuf_str(&sb), 0, 4,
		"line longer than" };
	check_error(3, &c);
	/* a file: key over OG_TABLE_KEY_MAX */
	og_strbuf_reset(&sb);
	(void)og_strbuf_adds(&sb, "a b\n\n");
	for (i = 0; i < OG_TABLE_KEY_MAX + 1; i++)
		(void)og_strbuf_addc(&sb, 'k');
	(void)og_strbuf_adds(&sb, " v\n");
	c = (struct error_case){ "file", og_strbuf_str(&sb), 0, 3,
		"key longer than" };
	check_error(4, &c);
	og_strbuf_release(&sb);
}

/* Keys at OG_TABLE_KEY_MAX work; one byte more is OG_ERROR everywhere. */
static void
test_key_max(void **state)
{
	static const char *const names[] = { "file", "pcre", "cidr" };
	char key[OG_TABLE_KEY_MAX + 2];
	struct og_strbuf content, err;
	struct og_table *t;
	const char *value;
	char *path;
	size_t i;

	(void)state;
	memset(key, 'k', sizeof(key));
	key[OG_TABLE_KEY_MAX] = '\0';
	og_strbuf_init(&content, 4 * OG_TABLE_KEY_MAX);
	og_strbuf_init(&err, 1024);
	for (i = 0; i < OG_NELEM(names); i++) {
		og_strbuf_reset(&content);
		if (i == 0)
			(void)og_strbuf_addf(&content, "%s max\n", key);
		else if (i == 1)
			(void)og_strbuf_adds(&content, "/^k+$/ max\n");
		else
			(void)og_strbuf_adds(&content, "::/0 max\n");
		t = open_tmp(names[i], og_strbuf_str(&content), content.len, 0,
		    &path, &err);
		if (t == NULL) {
			fail_msg("%s: %s", names[i], og_strbuf_str(&err));
			return;
		}
		key[OG_TABLE_KEY_MAX] = '\0';
		assert_int_equal(og_table_lookup(t, key, &value),
		    i == 2 ? OG_ERROR : OG_FOUND);
		if (i != 2)
			assert_string_equal(value, "max");
		key[OG_TABLE_KEY_MAX] = 'k';
		key[OG_TABLE_KEY_MAX + 1] = '\0';
		assert_int_equal(og_table_lookup(t, key, &value), OG_ERROR);
		assert_int_equal(
		    og_table_lookup_addr(t, key, &value), OG_ERROR);
		assert_int_equal(og_table_lookup(t, NULL, &value), OG_ERROR);
		(void)og_table_free(t);
		drop_tmp(path);
	}
	t = og_table_open("inline:{ a }", 0, &err);
	assert_non_null(t);
	assert_int_equal(og_table_lookup(t, key, &value), OG_ERROR);
	assert_int_equal(og_table_lookup_addr(t, key, &value), OG_ERROR);
	(void)og_table_free(t);
	og_strbuf_release(&content);
	og_strbuf_release(&err);
}

/* OG_TABLE_MAX_ENTRIES loads (quickly); one more entry does not. */
static void
test_many_entries(void **state)
{
	struct og_strbuf sb, err;
	struct og_table *t;
	const char *value;
	char *path;
	size_t i;

	(void)state;
	og_strbuf_init(&sb, 32 * (size_t)OG_TABLE_MAX_ENTRIES);
	og_strbuf_init(&err, 1024);
	for (i = 0; i < OG_TABLE_MAX_ENTRIES; i++)
		(void)og_strbuf_addf(&sb, "K%zx v%zu\n", i, i);
	t = open_tmp("file", og_strbuf_str(&sb), sb.len, 0, &path, &err);
	if (t == NULL) {
		fail_msg("%s", og_strbuf_str(&err));
		return;
	}
	assert_int_equal(og_table_lookup(t, "k0", &value), OG_FOUND);
	assert_string_equal(value, "v0");
	assert_int_equal(og_table_lookup(t, "kf423f", &value), OG_FOUND);
	assert_string_equal(value, "v999999");
	assert_int_equal(og_table_lookup(t, "kf4240", &value), OG_NOTFOUND);
	(void)og_table_free(t);
	drop_tmp(path);
	(void)og_strbuf_adds(&sb, "one more\n");
	t = open_tmp("file", og_strbuf_str(&sb), sb.len, 0, &path, &err);
	assert_null(t);
	assert_non_null(strstr(og_strbuf_str(&err), ":1000001: too many"));
	drop_tmp(path);
	og_strbuf_release(&sb);
	og_strbuf_release(&err);
}

/* Symlinks are followed; world-writable files and NULL err are not ok. */
static void
test_file_checks(void **state)
{
	struct og_strbuf err, name;
	struct og_table *t;
	const char *value;
	char *path;

	(void)state;
	og_strbuf_init(&err, 1024);
	og_strbuf_init(&name, 8192);
	path = tmp_write("k v\n", 4);
	assert_int_equal(og_strbuf_addf(&name, "%s.link", path), 0);
	assert_int_equal(symlink(path, og_strbuf_str(&name)), 0);
	og_strbuf_reset(&err);
	(void)og_strbuf_adds(&err, "stale");
	og_strbuf_reset(&name);
	assert_int_equal(og_strbuf_addf(&name, "file:%s.link", path), 0);
	t = og_table_open(og_strbuf_str(&name), 0, &err);
	if (t == NULL) {
		fail_msg("symlink: %s", og_strbuf_str(&err));
		return;
	}
	assert_int_equal(og_table_lookup(t, "K", &value), OG_FOUND);
	assert_string_equal(value, "v");
	(void)og_table_free(t);
	assert_int_equal(unlink(og_strbuf_str(&name) + 5), 0);
	assert_int_equal(chmod(path, 0666), 0);
	og_strbuf_reset(&name);
	assert_int_equal(og_strbuf_addf(&name, "file:%s", path), 0);
	assert_null(og_table_open(og_strbuf_str(&name), 0, &err));
	assert_non_null(strstr(og_strbuf_str(&err), "world-writable"));
	/* the error resets err: no stale text in front */
	assert_int_equal(strncmp(og_strbuf_str(&err), path, strlen(path)), 0);
	/* with no err buffer the reason is logged instead */
	assert_null(og_table_open(og_strbuf_str(&name), 0, NULL));
	assert_null(og_table_open("foo:/x", 0, NULL));
	drop_tmp(path);
	og_strbuf_release(&name);
	og_strbuf_release(&err);
}

#define NTHREADS 4
#define NROUNDS 2000

struct thread_arg {
	const struct og_table *t;
	int id;
	int bad;
};

static void *
lookup_thread(void *p)
{
	struct thread_arg *a = p;
	char key[64], want[64];
	const char *value;
	int i;

	for (i = 0; i < NROUNDS; i++) {
		(void)snprintf(
		    key, sizeof(key), "t%d-%d@example.com", a->id, i);
		(void)snprintf(want, sizeof(want), "user=t%d-%d", a->id, i);
		if (og_table_lookup(a->t, key, &value) != OG_FOUND ||
		    strcmp(value, want) != 0)
			a->bad++;
	}
	return NULL;
}

/* Shared tables, per-thread results: no lookup sees another's $1. */
static void
test_threads(void **state)
{
	static const char content[] = "/^(.*)@example\\.com$/ user=$1\n";
	struct thread_arg args[NTHREADS];
	pthread_t tids[NTHREADS];
	struct og_strbuf err;
	struct og_table *t;
	char *path;
	int i;

	(void)state;
	og_strbuf_init(&err, 1024);
	t = open_tmp("pcre", content, strlen(content), 0, &path, &err);
	assert_non_null(t);
	for (i = 0; i < NTHREADS; i++) {
		args[i] = (struct thread_arg){ t, i, 0 };
		assert_int_equal(
		    pthread_create(&tids[i], NULL, lookup_thread, &args[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(tids[i], NULL), 0);
		assert_int_equal(args[i].bad, 0);
	}
	(void)og_table_free(t);
	og_strbuf_release(&err);
	drop_tmp(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_addr_order),
		cmocka_unit_test(test_addr_other_types),
		cmocka_unit_test(test_pcre),
		cmocka_unit_test(test_pcre_limits),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_key_max),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_file_checks),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * t_unsub.c - unit tests for milter/unsub.c: bulk detection, the RFC
 *	2369 List-Unsubscribe parser, RFC 8058 List-Unsubscribe-Post, the
 *	body link scan over MIME (QP, base64, charsets, nesting, broken
 *	boundaries, truncation), the keyword loader and its languages;
 *	every body is scanned both with and without GMime's tree (the
 *	single-part path) and the two results compared
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
#include <glib.h>

#include "strbuf.h"
#include "util.h"
#include "unsub.h"

#define MB (1024 * 1024)

static const char kwlist[] = "# test keywords\n"
                             "unsubscribe\n"
                             "opt out   # trailing comment\n"
                             "opt-out\n"
                             "désinscrire\n"
                             "Abbestellen\n";

static struct og_unsub_keywords *kw;

static int
setup(void **state)
{
	(void)state;
	kw = og_unsub_keywords_parse(kwlist, strlen(kwlist), "test", NULL);
	return kw == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	og_unsub_keywords_free(kw);
	return 0;
}

/* msg_with - a message whose only part has this type and encoding */
static char *
msg_with(const char *ctype, const char *cte, const char *body)
{
	struct og_strbuf b;

	og_strbuf_init(&b, 4 * MB);
	(void)og_strbuf_addf(&b,
	    "From: news@example.com\r\nTo: a@example.net\r\n"
	    "Subject: news\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: %s\r\n%s%s%s\r\n%s",
	    ctype, cte[0] != '\0' ? "Content-Transfer-Encoding: " : "", cte,
	    cte[0] != '\0' ? "\r\n" : "", body);
	return og_strbuf_steal(&b);
}

static int last_flat; /* did the last both() skip GMime's tree? */

/*
 * both - og_unsub_body_link() both ways in, with and without GMime's
 * tree: the result and the reason must be the same
 */
static enum og_unsub_res
both(const char *msg, size_t len, size_t max, char *reason)
{
	char treason[OG_UNSUB_REASON_MAX], dreason[OG_UNSUB_REASON_MAX];
	enum og_unsub_res r, tr;

	r = og_unsub_body_link_path(
	    kw, msg, len, max, OG_UNSUB_PATH_ANY, &last_flat, reason);
	tr = og_unsub_body_link_path(
	    kw, msg, len, max, OG_UNSUB_PATH_TREE, NULL, treason);
	assert_int_equal(r, og_unsub_body_link(kw, msg, len, max, dreason));
	if (r != tr || strcmp(reason, treason) != 0)
		fail_msg("flat %d: %s (%s), tree: %s (%s)", last_flat,
		    og_unsub_res_name(r), reason, og_unsub_res_name(tr),
		    treason);
	return r;
}

static enum og_unsub_res
body(const char *msg, char *reason)
{
	return both(msg, strlen(msg), MB, reason);
}

/*
 * Single-part bodies are read without GMime's tree: every encoding and
 * charset case must give what the tree gives (both() compares), and the
 * path taken must be the one expected. res -1: only the comparison.
 */
#define HDRS "From: news@example.com\r\nTo: a@example.net\r\nSubject: n\r\n"
static const struct {
	const char *msg;
	int res, flat;
} flat_cases[] = {
	/* 8bit UTF-8, the common case */
	{ HDRS "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n\r\n"
	       "News.\r\nTo unsubscribe, visit https://x.example/u?a=1\r\n",
	    OG_UNSUB_PASS, 1 },
	/* the keyword only in the link, split by a QP soft line break */
	{ HDRS "Content-Type: text/plain; charset=us-ascii\r\n"
	       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	       "Bye: https://x.example/unsu=\r\nbscribe?id=3D7\r\n",
	    OG_UNSUB_PASS, 1 },
	/* the same without the soft break undone would not match */
	{ HDRS "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	       "Bye: https://x.example/unsu=\r\nbscribe?id=3D7\r\n",
	    OG_UNSUB_FAIL, 1 },
	/* QP HTML in UTF-8 */
	{ HDRS "Content-Type: text/html; charset=UTF-8\r\n"
	       "Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
	       "<p>Hi</p><a href=3D\"https://x.example/l\">d=C3=A9sinscri=\r\n"
	       "re</a>=\r\n",
	    OG_UNSUB_PASS, 1 },
	/* base64, and base64 with line breaks, junk and no padding */
	{ HDRS "Content-Type: text/plain\r\n"
	       "Content-Transfer-Encoding: base64\r\n\r\n"
	       "VG8gb3B0IG91dDogaHR0cHM6Ly94LmV4YW1wbGUvdQ0K\r\n",
	    OG_UNSUB_PASS, 1 },
	{ HDRS "Content-Type: text/html; charset=utf-8\r\n"
	       "Content-Transfer-Encoding:  BASE64 \r\n\r\n"
	       "PGEgaHJlZj0iaHR0cHM6Ly94LmV4YW1wbGUvbCI+\r\n"
	       "VW5zdWJzY3JpYmU8L2E+!!\r\nQQ",
	    OG_UNSUB_PASS, 1 },
	/* 8bit ISO-8859-1 and windows-1252, folded and quoted charsets */
	{ HDRS "Content-Type: text/plain; charset=iso-8859-1\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n\r\n"
	       "Pour vous d\xe9sinscrire: https://x.example/u\r\n",
	    OG_UNSUB_PASS, 1 },
	{ HDRS "Content-Type: text/plain;\r\n\tcharset=\"windows-1252\"\r\n"
	       "\r\n\x93Quote\x94 d\xe9sinscrire https://x.example/u\r\n",
	    OG_UNSUB_PASS, 1 },
	{ HDRS "Content-Type: text/plain; charset*=''iso-8859-1\r\n\r\n"
	       "d\xe9sinscrire https://x.example/u\r\n",
	    -1, 1 },
	/* charset spellings and values the quick Content-Type reader
	 * leaves to GMime's parser (comments, repeats, RFC 2047) */
	{ HDRS "Content-Type: text/plain; charset=utf8\r\n\r\n"
	       "d\xc3\xa9sinscrire \xff https://x.example/u\r\n",
	    -1, 1 },
	{ HDRS "Content-Type: TEXT/Html; CharSet=\"ISO-8859-1\"\r\n\r\n"
	       "<a href=https://x.example/l>d\xe9sinscrire</a>\r\n",
	    OG_UNSUB_PASS, 1 },
	{ HDRS "Content-Type: text/plain (c); charset=latin1\r\n\r\n"
	       "d\xe9sinscrire https://x.example/u\r\n",
	    OG_UNSUB_PASS, 1 },
	{ HDRS "Content-Type: text/plain; charset=utf-8; charset=latin1\r\n"
	       "\r\nd\xe9sinscrire https://x.example/u\r\n",
	    -1, 1 },
	{ HDRS "Content-Type: text/plain; charset=\"=?us-ascii?q?latin1?=\"\r\n"
	       "\r\nd\xe9sinscrire https://x.example/u\r\n",
	    -1, 1 },
	{ HDRS "Content-Type: text/plain; charset=\"\"\r\n\r\n"
	       "d\xe9sinscrire https://x.example/u\r\n",
	    -1, 1 },
	{ HDRS "Content-Type: text/plain ; charset = us-ascii ;\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    -1, 1 },
	/* no charset: not UTF-8, so ISO-8859-1 */
	{ HDRS "Content-Type: text/plain\r\n\r\n"
	       "d\xe9sinscrire https://x.example/u\r\n",
	    OG_UNSUB_PASS, 1 },
	/* no Content-Type at all, LF line ends */
	{ "From: a@example.com\nSubject: x\n\nunsubscribe "
	  "https://x.example/u\n",
	    OG_UNSUB_PASS, 1 },
	/* charsets GMime cannot convert, or converts to garbage */
	{ HDRS "Content-Type: text/plain; charset=x-no-such\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    OG_UNSUB_PASS, 1 },
	{ HDRS "Content-Type: text/plain; charset=shift_jis\r\n\r\n"
	       "unsubscribe https://x.example/u \x82\xa0\r\n\x82",
	    -1, 1 },
	{ HDRS "Content-Type: text/plain; charset=utf-16\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    -1, 1 },
	{ HDRS "Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n"
	       "\x1b$B$3$s\x1b(B unsubscribe https://x.example/u\r\n\x1b$B",
	    -1, 1 },
	/* unknown transfer encoding: taken as is */
	{ HDRS "Content-Type: text/plain\r\n"
	       "Content-Transfer-Encoding: x-gzip64\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    OG_UNSUB_PASS, 1 },
	/* dispositions: an attachment is skipped, inline is read */
	{ HDRS "Content-Type: text/plain\r\n"
	       "Content-Disposition: attachment; filename=a.txt\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    OG_UNSUB_FAIL, 1 },
	{ HDRS "Content-Disposition: inline\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    OG_UNSUB_PASS, 1 },
	/* empty bodies */
	{ HDRS "\r\n", OG_UNSUB_FAIL, 1 },
	{ HDRS "Content-Transfer-Encoding: base64\r\n\r\n=", OG_UNSUB_FAIL, 1 },
	/* left to the tree: other types, uuencode, repeats, odd headers */
	{ HDRS "Content-Type: application/octet-stream\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    OG_UNSUB_FAIL, 0 },
	{ HDRS "Content-Type: message/rfc822\r\n\r\n" HDRS "\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    OG_UNSUB_FAIL, 0 },
	{ HDRS "Content-Type: text/plain\r\n"
	       "Content-Transfer-Encoding: x-uuencode\r\n\r\n"
	       "begin 644 u\r\n"
	       "@=6YS=6)S8W)I8F4@:'1T<',Z+R]X+F5X86UP;&4O=0``\r\n`\r\nend\r\n",
	    -1, 0 },
	{ HDRS "Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    -1, 0 },
	{ HDRS "Not a header line\r\n\r\nunsubscribe https://x.example/u\r\n",
	    -1, 0 },
	{ HDRS "Content-Type : text/plain\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    -1, 0 },
	{ HDRS "Content-Type: text/plain\r\n \r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    -1, 0 },
	{ HDRS "Content-Type: text/plain\r\nSubject: a\rb\r\n\r\n"
	       "unsubscribe https://x.example/u\r\n",
	    -1, 0 },
	{ HDRS "Content-Type: text/plain", OG_UNSUB_FAIL, 0 },
};

static void
test_flat_vs_tree(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	const char *m;
	size_t i, len, cut;
	int res;

	(void)state;
	for (i = 0; i < OG_NELEM(flat_cases); i++) {
		m = flat_cases[i].msg;
		len = strlen(m);
		res = (int)both(m, len, MB, reason);
		if (flat_cases[i].res >= 0 && res != flat_cases[i].res)
			fail_msg("case %zu: %s (%s)", i,
			    og_unsub_res_name((enum og_unsub_res)res), reason);
		if (last_flat != flat_cases[i].flat)
			fail_msg("case %zu: flat %d", i, last_flat);
		/* and cut anywhere: in the headers, the body, a sequence */
		for (cut = 0; cut < len; cut++)
			(void)both(m, len, cut, reason);
	}
}
#undef HDRS

static void
test_keywords_parse(void **state)
{
	static const struct {
		const char *buf, *err;
	} bad[] = {
		{ "ok\n\xff\xfe\n", "t:2: invalid UTF-8" },
		{ "# only a comment\n\n   \n", "t: no keywords" },
		{ "", "t: no keywords" },
		{ "a\nb\n\xc3(\n", "t:3: invalid UTF-8" },
	};
	static const char bom[] = "\xef\xbb\xbfone\r\n\ttwo words\t\r\n";
	struct og_unsub_keywords *k;
	struct og_strbuf err;
	char longline[300];
	size_t i;

	(void)state;
	assert_int_equal(og_unsub_keywords_count(kw), 5);
	assert_int_equal(og_unsub_keywords_count(NULL), 0);
	og_strbuf_init(&err, 0);
	for (i = 0; i < OG_NELEM(bad); i++) {
		og_strbuf_reset(&err);
		assert_null(og_unsub_keywords_parse(
		    bad[i].buf, strlen(bad[i].buf), "t", &err));
		assert_string_equal(og_strbuf_str(&err), bad[i].err);
	}
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	og_strbuf_reset(&err);
	assert_null(
	    og_unsub_keywords_parse(longline, strlen(longline), "t", &err));
	assert_string_equal(
	    og_strbuf_str(&err), "t:1: keyword longer than 128 bytes");
	og_strbuf_reset(&err);
	assert_null(og_unsub_keywords_parse("a\nb\0c\n", 6, "t", &err));
	assert_string_equal(og_strbuf_str(&err), "t:2: NUL byte");
	/* a BOM, CRLF and tabs are fine */
	k = og_unsub_keywords_parse(bom, sizeof(bom) - 1, "t", NULL);
	assert_non_null(k);
	assert_int_equal(og_unsub_keywords_count(k), 2);
	assert_true(og_unsub_keywords_match(k, "ONE", 3));
	assert_true(og_unsub_keywords_match(k, "x Two \n Words", 13));
	og_unsub_keywords_free(k);
	og_unsub_keywords_free(NULL);
	og_strbuf_reset(&err);
	assert_null(og_unsub_keywords_load("/nonexistent/unsub-kw", &err));
	assert_non_null(strstr(og_strbuf_str(&err), "/nonexistent/unsub-kw: "));
	og_strbuf_release(&err);
}

static void
test_keywords_too_many(void **state)
{
	struct og_strbuf b, err;
	unsigned i;

	(void)state;
	og_strbuf_init(&b, 0);
	og_strbuf_init(&err, 0);
	for (i = 0; i <= OG_UNSUB_KEYWORDS_MAX; i++)
		(void)og_strbuf_addf(&b, "word%u\n", i);
	assert_null(og_unsub_keywords_parse(b.data, b.len, "t", &err));
	assert_string_equal(
	    og_strbuf_str(&err), "t:1025: more than 1024 keywords");
	og_strbuf_release(&b);
	og_strbuf_release(&err);
}

/* the shipped list, in every language it claims */
static void
test_keywords_languages(void **state)
{
	static const char *const hits[] = {
		"Click here to UNSUBSCRIBE",
		"Opt Out",
		"opt-out now",
		"Darse de baja",
		"CANCELAR SUSCRIPCIÓN",
		"Désinscrire",
		"cliquez pour vous DÉSABONNER",
		"se de\xcc\x81sinscrire" /* NFD */,
		"Newsletter ABBESTELLEN",
		"hier abmelden",
		"Austragen",
		"Cancelar inscrição",
		"descadastrar",
		"Disiscriviti",
		"annulla iscrizione",
		"Afmelden",
		"uitschrijven",
		"opt\xc2\xa0out" /* no-break space */,
	};
	static const char *const misses[] = { "Read more", "Subscribe now",
		"https://example.com/news", "Anmelden", "inscrição" };
	struct og_unsub_keywords *k;
	struct og_strbuf err, path;
	const char *srcdir = getenv("srcdir");
	size_t i;

	(void)state;
	if (srcdir == NULL)
		skip();
	og_strbuf_init(&err, 0);
	og_strbuf_init(&path, 0);
	(void)og_strbuf_addf(&path, "%s/contrib/unsub-keywords", srcdir);
	k = og_unsub_keywords_load(og_strbuf_str(&path), &err);
	if (k == NULL)
		fail_msg("%s", og_strbuf_str(&err));
	assert_true(og_unsub_keywords_count(k) >= 30);
	for (i = 0; i < OG_NELEM(hits); i++)
		if (!og_unsub_keywords_match(k, hits[i], strlen(hits[i])))
			fail_msg("no match: %s", hits[i]);
	for (i = 0; i < OG_NELEM(misses); i++)
		if (og_unsub_keywords_match(k, misses[i], strlen(misses[i])))
			fail_msg("false match: %s", misses[i]);
	og_unsub_keywords_free(k);
	og_strbuf_release(&err);
	og_strbuf_release(&path);
}

static void
test_is_bulk(void **state)
{
	static const struct {
		const char *name, *value;
		int bulk;
	} t[] = {
		{ "Precedence", "bulk", 1 },
		{ "precedence", " List \r\n", 1 },
		{ "PRECEDENCE", "junk", 1 },
		{ "Precedence", "first-class", 0 },
		{ "Precedence", "bulky", 0 },
		{ "List-Id", "<news.example.com>", 1 },
		{ "list-unsubscribe", "<https://x.example/u>", 1 },
		{ "Subject", "bulk", 0 },
		{ "X-List-Id", "x", 0 },
	};
	struct og_unsub_header h;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(t); i++) {
		h.name = t[i].name;
		h.value = t[i].value;
		if (og_unsub_is_bulk(&h, 1) != t[i].bulk)
			fail_msg("%s: %s", t[i].name, t[i].value);
	}
	assert_int_equal(og_unsub_is_bulk(NULL, 0), 0);
}

static void
test_list_unsubscribe(void **state)
{
	static const struct {
		const char *value, *reason; /* NULL reason: ok */
	} t[] = {
		{ "<https://example.com/u?id=1>", NULL },
		{ "<mailto:u@example.com>, <https://example.com/u>", NULL },
		{ " <mailto:u@example.com?subject=unsubscribe> (mail us),\r\n"
		  "\t<HTTPS://example.com/u> ",
		    NULL },
		{ "(comment (nested \\) quoted)) <https://example.com/u>",
		    NULL },
		{ "<https://example.com/very/\r\n long/path>", NULL },
		{ "<mailto:u@example.com>", "no-https-uri" },
		{ "<http://example.com/u>", "no-https-uri" },
		{ "<https://>", "no-https-uri" },
		{ "<https:///path>", "no-https-uri" },
		{ "<ftp://example.com/>, <mailto:x@y>", "no-https-uri" },
		{ "https://example.com/u", "list-unsubscribe-syntax" },
		{ "", "list-unsubscribe-syntax" },
		{ "   ", "list-unsubscribe-syntax" },
		{ "<https://example.com/u", "list-unsubscribe-syntax" },
		{ "<https://example.com/u>,", "list-unsubscribe-syntax" },
		{ "<https://example.com/u> <mailto:a@b>",
		    "list-unsubscribe-syntax" },
		{ "<https://example.com/u>; x", "list-unsubscribe-syntax" },
		{ "<>", "list-unsubscribe-syntax" },
		{ "<https:>", "list-unsubscribe-syntax" },
		{ "<1https://x.example/>", "list-unsubscribe-syntax" },
		{ "<https://ex\"ample.com/>", "list-unsubscribe-syntax" },
		{ "<https://ex<ample.com/>", "list-unsubscribe-syntax" },
		{ "<https://exämple.com/>", "list-unsubscribe-syntax" },
		{ "(unclosed <https://example.com/u>",
		    "list-unsubscribe-syntax" },
		{ "<https://example.com/u> (x\\", "list-unsubscribe-syntax" },
		{ "((((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))"
		  "))))))))) <https://example.com/u>",
		    "list-unsubscribe-syntax" }, /* 34 deep */
	};
	char reason[OG_UNSUB_REASON_MAX];
	size_t i;
	int ok;

	(void)state;
	for (i = 0; i < OG_NELEM(t); i++) {
		reason[0] = '\0';
		ok = og_unsub_list_unsubscribe(
		    t[i].value, strlen(t[i].value), reason);
		if (ok != (t[i].reason == NULL) ||
		    (!ok && strcmp(reason, t[i].reason) != 0))
			fail_msg("%s: %d %s", t[i].value, ok, reason);
	}
	/* an embedded NUL is not hidden by the length */
	assert_int_equal(
	    og_unsub_list_unsubscribe("<https://a.example/>\0<x>", 24, reason),
	    0);
	assert_int_equal(og_unsub_list_unsubscribe(NULL, 0, NULL), 0);
}

static void
test_huge_header(void **state)
{
	struct og_unsub_header h[2];
	char reason[OG_UNSUB_REASON_MAX];
	char *v, *msg;
	size_t n = MB;

	(void)state;
	v = og_malloc(n + 1);
	v[0] = '<';
	memcpy(v + 1, "https://example.com/", 20);
	memset(v + 21, 'a', n - 22);
	v[n - 1] = '>';
	v[n] = '\0';
	assert_int_equal(og_unsub_list_unsubscribe(v, n, reason), 0);
	assert_string_equal(reason, "list-unsubscribe-syntax");
	h[0].name = "List-Unsubscribe";
	h[0].value = v;
	h[1].name = "List-Unsubscribe-Post";
	h[1].value = "List-Unsubscribe=One-Click";
	assert_int_equal(
	    og_unsub_check(kw, h, 2, 0, "", 0, MB, reason), OG_UNSUB_FAIL);
	assert_string_equal(reason, "list-unsubscribe-syntax");
	/* the same megabyte as a header of the message GMime parses */
	msg = msg_with("text/html", "",
	    "<a href=\"https://example.com/u\">unsubscribe</a>");
	{
		struct og_strbuf b;

		og_strbuf_init(&b, 4 * MB);
		(void)og_strbuf_addf(&b, "X-Big: %s\r\n%s", v, msg);
		assert_int_equal(
		    both(b.data, b.len, 4 * MB, reason), OG_UNSUB_PASS);
		og_strbuf_release(&b);
	}
	og_free(msg);
	og_free(v);
}

/* og_unsub_check - every reason, in rule order */
static void
test_check_reasons(void **state)
{
	static const char lu[] = "<https://example.com/u>";
	static const char post[] = "List-Unsubscribe=One-Click";
	static const struct {
		struct og_unsub_header h[4];
		size_t n;
		int by_caller;
		enum og_unsub_res res;
		const char *reason;
	} t[] = {
		{ { { "Subject", "hi" } }, 1, 0, OG_UNSUB_NOT_BULK,
		    "not-bulk" },
		{ { { "Precedence", "bulk" } }, 1, 0, OG_UNSUB_FAIL,
		    "no-list-unsubscribe" },
		{ { { "Subject", "hi" } }, 1, 1, OG_UNSUB_FAIL,
		    "no-list-unsubscribe" },
		{ { { "List-Unsubscribe", lu }, { "List-Unsubscribe", lu },
		      { "List-Unsubscribe-Post", post } },
		    3, 0, OG_UNSUB_FAIL, "several-list-unsubscribe" },
		{ { { "List-Unsubscribe", "https://x" },
		      { "List-Unsubscribe-Post", post } },
		    2, 0, OG_UNSUB_FAIL, "list-unsubscribe-syntax" },
		{ { { "List-Unsubscribe", "<mailto:u@example.com>" },
		      { "List-Unsubscribe-Post", post } },
		    2, 0, OG_UNSUB_FAIL, "no-https-uri" },
		{ { { "List-Unsubscribe", lu } }, 1, 0, OG_UNSUB_FAIL,
		    "no-list-unsubscribe-post" },
		{ { { "List-Unsubscribe", lu },
		      { "List-Unsubscribe-Post", post },
		      { "list-unsubscribe-post", post } },
		    3, 0, OG_UNSUB_FAIL, "several-list-unsubscribe-post" },
		{ { { "List-Unsubscribe", lu },
		      { "List-Unsubscribe-Post",
		          "List-Unsubscribe=one-click" } },
		    2, 0, OG_UNSUB_FAIL, "list-unsubscribe-post-value" },
		{ { { "List-Unsubscribe", lu },
		      { "List-Unsubscribe-Post", post + 1 } },
		    2, 0, OG_UNSUB_FAIL, "list-unsubscribe-post-value" },
		{ { { "List-Unsubscribe", lu },
		      { "List-Unsubscribe-Post",
		          "List-Unsubscribe=One-Click; x=y" } },
		    2, 0, OG_UNSUB_FAIL, "list-unsubscribe-post-value" },
		{ { { "List-Unsubscribe", lu },
		      { "List-Unsubscribe-Post",
		          " \r\n\tList-Unsubscribe=One-Click \r\n" } },
		    2, 0, OG_UNSUB_FAIL, "no-body-link" },
		{ { { "List-Id", "<x.example.com>" },
		      { "List-Unsubscribe", lu },
		      { "List-Unsubscribe-Post", post } },
		    3, 0, OG_UNSUB_FAIL, "no-body-link" },
	};
	char reason[OG_UNSUB_REASON_MAX];
	char *plain;
	size_t i;
	enum og_unsub_res r;

	(void)state;
	plain =
	    msg_with("text/plain", "", "Hello, see https://example.com/\r\n");
	for (i = 0; i < OG_NELEM(t); i++) {
		r = og_unsub_check(kw, t[i].h, t[i].n, t[i].by_caller, plain,
		    strlen(plain), MB, reason);
		if (r != t[i].res || strcmp(reason, t[i].reason) != 0)
			fail_msg(
			    "case %zu: %s %s", i, og_unsub_res_name(r), reason);
	}
	og_free(plain);

	/* the passing message, then its body cut short */
	plain = msg_with("text/plain", "",
	    "Hello\r\n\r\nTo unsubscribe: https://example.com/u/1\r\n");
	r = og_unsub_check(
	    kw, t[OG_NELEM(t) - 1].h, 3, 0, plain, strlen(plain), MB, reason);
	assert_int_equal(r, OG_UNSUB_PASS);
	assert_string_equal(reason, "");
	r = og_unsub_check(kw, t[OG_NELEM(t) - 1].h, 3, 0, plain, strlen(plain),
	    strlen(plain) - 20, reason);
	assert_int_equal(r, OG_UNSUB_UNCHECKED);
	assert_string_equal(reason, "body-unchecked");
	/* no keyword list: the body stays unchecked */
	r = og_unsub_check(
	    NULL, t[OG_NELEM(t) - 1].h, 3, 0, plain, strlen(plain), MB, reason);
	assert_int_equal(r, OG_UNSUB_UNCHECKED);
	og_free(plain);

	assert_string_equal(og_unsub_res_name(OG_UNSUB_NOT_BULK), "not-bulk");
	assert_string_equal(og_unsub_res_name(OG_UNSUB_PASS), "pass");
	assert_string_equal(og_unsub_res_name(OG_UNSUB_FAIL), "fail");
	assert_string_equal(og_unsub_res_name(OG_UNSUB_UNCHECKED), "unchecked");
}

static void
test_alternative_qp(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	char *m;

	(void)state;
	m = msg_with("multipart/alternative; boundary=\"b1\"", "",
	    "--b1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "News of the week.\r\n"
	    "--b1\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "<html><body><p>News</p><a class=3D\"x\" "
	    "href=3D\"https://example=\r\n"
	    ".com/p/=C3=A9\">Cliquez pour vous d=C3=A9sinscri=\r\n"
	    "re</a></body></html>\r\n"
	    "--b1--\r\n");
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	og_free(m);
}

static void
test_base64_text(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	char *m, *b64;
	static const char text[] =
	    "Weekly digest\n\nTo stop these mails, unsubscribe here:\n"
	    "  https://example.com/m/8f3a2\n";
	static const char nolink[] = "Weekly digest\n\nhttps://example.com/\n";

	(void)state;
	b64 = g_base64_encode((const guchar *)text, strlen(text));
	m = msg_with("text/plain; charset=us-ascii", "base64", b64);
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	og_free(m);
	g_free(b64);
	/* the paragraph break cuts the context: no match */
	b64 = g_base64_encode((const guchar *)nolink, strlen(nolink));
	m = msg_with("text/plain", "base64", b64);
	assert_int_equal(body(m, reason), OG_UNSUB_FAIL);
	assert_string_equal(reason, "no-body-link");
	og_free(m);
	g_free(b64);
}

/* anchor text, URL, entity, percent-encoding, hidden places */
static void
test_html_links(void **state)
{
	static const struct {
		const char *html;
		enum og_unsub_res res;
	} t[] = {
		{ "<a href=\"https://x.example/unsubscribe?u=1\">here</a>",
		    OG_UNSUB_PASS },
		{ "<A HREF='https://x.example/l/9'>Unsubscribe</A>",
		    OG_UNSUB_PASS },
		{ "<a href=https://x.example/l/9>Opt&nbsp;Out</a>",
		    OG_UNSUB_PASS },
		{ "<a href=\"https://x.example/l/9\">d&eacute;sinscrire</a>",
		    OG_UNSUB_PASS },
		{ "<a href=\"https://x.example/l/9\">d&#233;sinscrire</a>",
		    OG_UNSUB_PASS },
		{ "<a href=\"https://x.example/l/9\">d&#xE9;sinscrire</a>",
		    OG_UNSUB_PASS },
		{ "<a href=\"https://x.example/d%C3%A9sinscrire\">x</a>",
		    OG_UNSUB_PASS },
		{ "<a href=\"https://x.example/l\"><b>Unsub</b>scribe</a>",
		    OG_UNSUB_PASS },
		{ "<a title=\"a > b\" href=\"https://x/l\">opt-out</a>",
		    OG_UNSUB_PASS },
		{ "<map><area href=\"https://x.example/l\" alt=\"Abbestellen\">"
		  "</map>",
		    OG_UNSUB_PASS },
		{ "<a href=\"mailto:u@x.example\">unsubscribe</a>",
		    OG_UNSUB_PASS },
		{ "<a href=\"https://x.example/read\">Read more</a>",
		    OG_UNSUB_FAIL },
		{ "<a href=\"javascript:unsubscribe()\">x</a>", OG_UNSUB_FAIL },
		{ "<a name=\"unsubscribe\">unsubscribe</a>", OG_UNSUB_FAIL },
		{ "<!-- <a href=\"https://x/unsubscribe\">u</a> -->",
		    OG_UNSUB_FAIL },
		{ "<script>var s='<a href=\"https://x/unsubscribe\">'</script>",
		    OG_UNSUB_FAIL },
		{ "<style>a[href*=unsubscribe]{}</style>unsubscribe",
		    OG_UNSUB_FAIL },
		{ "<a href=\"https://x/l\">read</a> unsubscribe",
		    OG_UNSUB_FAIL },
		{ "<a href=\"https://x/l\">Opt</a><a "
		  "href=\"https://x\">out</a>",
		    OG_UNSUB_FAIL },
		{ "<a href=\"https://x/l\">unsubscribe", OG_UNSUB_PASS },
		{ "<a href=\"https://x/unsubscribe", OG_UNSUB_FAIL },
		{ "<<<a<a<a href", OG_UNSUB_FAIL },
		{ "&#0;&#xffffffff;&bogus;&amp&", OG_UNSUB_FAIL },
	};
	char reason[OG_UNSUB_REASON_MAX];
	enum og_unsub_res r;
	char *m;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(t); i++) {
		m = msg_with("text/html; charset=utf-8", "", t[i].html);
		r = body(m, reason);
		if (r != t[i].res)
			fail_msg("%s: %s", t[i].html, og_unsub_res_name(r));
		og_free(m);
	}
}

static void
test_charset_latin1(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	char *m;

	(void)state;
	m = msg_with("text/html; charset=iso-8859-1", "8bit",
	    "<a href=\"https://x.example/l\">Se d\xe9sinscrire</a>");
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	og_free(m);
	/* undeclared and not UTF-8: taken as Latin-1 */
	m = msg_with("text/html", "8bit",
	    "<a href=\"https://x.example/l\">D\xc9SINSCRIRE</a>");
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	og_free(m);
	/* an unknown charset is not an error */
	m = msg_with("text/html; charset=x-no-such-charset", "8bit",
	    "<a href=\"https://x.example/l\">unsubscribe</a>");
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	og_free(m);
}

/* attachments and attached messages do not count */
static void
test_skipped_parts(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	char *m;

	(void)state;
	m = msg_with("multipart/mixed; boundary=b", "",
	    "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--b\r\nContent-Type: text/html\r\n"
	    "Content-Disposition: attachment; filename=x.html\r\n\r\n"
	    "<a href=\"https://x/unsubscribe\">unsubscribe</a>\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: fwd\r\nContent-Type: text/plain\r\n\r\n"
	    "unsubscribe: https://x/u\r\n"
	    "--b\r\nContent-Type: image/png\r\n\r\n"
	    "unsubscribe https://x/u\r\n"
	    "--b--\r\n");
	assert_int_equal(body(m, reason), OG_UNSUB_FAIL);
	og_free(m);
}

/* n multiparts nested, the link in the innermost text part */
static char *
nested(unsigned n)
{
	struct og_strbuf b;
	unsigned i;

	og_strbuf_init(&b, 4 * MB);
	(void)og_strbuf_adds(
	    &b, "From: a@example.com\r\nMIME-Version: 1.0\r\n");
	for (i = 0; i < n; i++)
		(void)og_strbuf_addf(&b,
		    "Content-Type: multipart/mixed; boundary=\"n%u\"\r\n\r\n"
		    "--n%u\r\n",
		    i, i);
	(void)og_strbuf_adds(
	    &b, "Content-Type: text/plain\r\n\r\nunsubscribe: https://x/u\r\n");
	for (i = n; i-- > 0;)
		(void)og_strbuf_addf(&b, "--n%u--\r\n", i);
	return og_strbuf_steal(&b);
}

static void
test_nested(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	char *m;

	(void)state;
	m = nested(10);
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	og_free(m);
	/* past the depth cap: not seen, so not a fail either */
	m = nested(100);
	assert_int_equal(body(m, reason), OG_UNSUB_UNCHECKED);
	assert_string_equal(reason, "body-unchecked");
	og_free(m);
	/* a megabyte of nesting: bounded, no crash */
	m = nested(20000);
	assert_int_equal(
	    both(m, strlen(m), 4 * MB, reason), OG_UNSUB_UNCHECKED);
	og_free(m);
}

static void
test_broken_boundaries(void **state)
{
	static const char *const bodies[] = {
		/* no closing boundary */
		"--b\r\nContent-Type: text/plain\r\n\r\n"
		"unsubscribe: https://x/u\r\n",
		/* the boundary never appears: a preamble only */
		"Content-Type: text/plain\r\n\r\nunsubscribe https://x/u\r\n",
		/* a boundary prefix, garbage, and a second close */
		"--bb\r\n--b\r\n\r\nunsubscribe "
		"https://x/u\r\n--b--\r\n--b--\r\n",
		/* an empty part */
		"--b\r\n--b--\r\n",
	};
	static const enum og_unsub_res res[] = { OG_UNSUB_PASS, OG_UNSUB_FAIL,
		OG_UNSUB_PASS, OG_UNSUB_FAIL };
	char reason[OG_UNSUB_REASON_MAX];
	char *m;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(bodies); i++) {
		m = msg_with("multipart/mixed; boundary=b", "", bodies[i]);
		if (body(m, reason) != res[i])
			fail_msg("case %zu: %s", i, reason);
		og_free(m);
	}
	/* no boundary parameter at all; no body; not a message */
	m = msg_with("multipart/mixed", "", "unsubscribe https://x/u\r\n");
	(void)body(m, reason);
	og_free(m);
	assert_int_equal(body("Subject: x\r\n", reason), OG_UNSUB_FAIL);
	assert_int_equal(body("", reason), OG_UNSUB_FAIL);
	assert_int_equal(
	    body("\x01\xff\r\n\r\n<a href=x>", reason), OG_UNSUB_FAIL);
}

static void
test_truncation(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	struct og_strbuf b;
	char *m;
	size_t cut;

	(void)state;
	og_strbuf_init(&b, 4 * MB);
	(void)og_strbuf_adds(&b, "<p>");
	while (b.len < 200000)
		(void)og_strbuf_adds(&b, "Lorem ipsum dolor sit amet. ");
	(void)og_strbuf_adds(&b, "<a href=\"https://x/l\">unsubscribe</a>");
	m = msg_with("text/html", "", og_strbuf_str(&b));
	og_strbuf_release(&b);
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	assert_int_equal(both(m, strlen(m), 65536, reason), OG_UNSUB_UNCHECKED);
	assert_string_equal(reason, "body-unchecked");
	/* cut right inside the anchor text: the link is lost, not failed */
	cut = (size_t)(strstr(m, "unsubscribe</a>") - m) + 5;
	assert_int_equal(both(m, strlen(m), cut, reason), OG_UNSUB_UNCHECKED);
	assert_int_equal(both(m, strlen(m), 0, reason), OG_UNSUB_UNCHECKED);
	og_free(m);
	/* a link before the cut passes although the rest is unseen */
	og_strbuf_init(&b, 4 * MB);
	(void)og_strbuf_adds(&b, "<a href=\"https://x/l\">opt out</a><p>");
	while (b.len < 200000)
		(void)og_strbuf_adds(&b, "Lorem ipsum dolor sit amet. ");
	m = msg_with("text/html", "", og_strbuf_str(&b));
	og_strbuf_release(&b);
	assert_int_equal(both(m, strlen(m), 4096, reason), OG_UNSUB_PASS);
	og_free(m);
}

static void
test_link_cap(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	struct og_strbuf b;
	char *m;
	unsigned i;

	(void)state;
	og_strbuf_init(&b, 4 * MB);
	for (i = 0; i < OG_UNSUB_LINKS_MAX + 10; i++)
		(void)og_strbuf_addf(
		    &b, "<a href=\"https://x/%u\">%u</a>", i, i);
	(void)og_strbuf_adds(&b, "<a href=\"https://x/l\">unsubscribe</a>");
	m = msg_with("text/html", "", og_strbuf_str(&b));
	og_strbuf_release(&b);
	assert_int_equal(body(m, reason), OG_UNSUB_UNCHECKED);
	og_free(m);
}

/* 80000 one-line parts: GMime never sees most of them */
static void
test_parts_cap(void **state)
{
	char reason[OG_UNSUB_REASON_MAX];
	struct og_strbuf b;
	char *m;

	(void)state;
	og_strbuf_init(&b, 4 * MB);
	while (b.len < MB)
		(void)og_strbuf_adds(&b, "--b\r\n\r\nx\r\n");
	(void)og_strbuf_adds(
	    &b, "--b\r\n\r\nunsubscribe https://x/u\r\n--b--\r\n");
	m = msg_with("multipart/mixed; boundary=b", "", og_strbuf_str(&b));
	og_strbuf_release(&b);
	assert_int_equal(
	    both(m, strlen(m), 4 * MB, reason), OG_UNSUB_UNCHECKED);
	og_free(m);
	/* a few "--" lines, such as a signature, change nothing */
	m = msg_with("text/plain", "",
	    "--\r\n-- \r\nUnsubscribe: https://x/u\r\n-- \r\nBob\r\n");
	assert_int_equal(body(m, reason), OG_UNSUB_PASS);
	og_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords_parse),
		cmocka_unit_test(test_keywords_too_many),
		cmocka_unit_test(test_keywords_languages),
		cmocka_unit_test(test_is_bulk),
		cmocka_unit_test(test_list_unsubscribe),
		cmocka_unit_test(test_huge_header),
		cmocka_unit_test(test_check_reasons),
		cmocka_unit_test(test_alternative_qp),
		cmocka_unit_test(test_base64_text),
		cmocka_unit_test(test_html_links),
		cmocka_unit_test(test_charset_latin1),
		cmocka_unit_test(test_skipped_parts),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_broken_boundaries),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_link_cap),
		cmocka_unit_test(test_parts_cap),
		cmocka_unit_test(test_flat_vs_tree),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * unsub.c - does bulk mail carry a working unsubscribe (RFC 2369, 8058)
 * DESCRIPTION: see unsub.h for the rules. GMime parses the MIME
 *	structure and undoes the transfer encodings and charsets, but it
 *	knows neither RFC 2369 lists nor HTML anchors, so both parsers
 *	here are hand-written: single forward passes over capped input
 *	with no recursion and no backtracking, so that a hostile message
 *	costs time linear in max_body. The MIME walk recurses, but never
 *	deeper than OG_UNSUB_DEPTH_MAX (GMime 3.2 itself stops building
 *	the tree at depth 1024, observed with 20000 nested multiparts).
 *	Matching is on NFC-normalised, case-folded UTF-8 with whitespace
 *	runs (and no-break spaces) collapsed, for keywords and text alike.
 *	In text/plain there are no anchors, so a bare URL's "anchor text"
 *	is what precedes it on its line and the line before, at most
 *	TEXT_CONTEXT bytes back and never across a blank line or an
 *	earlier URL: "Unsubscribe: https://..." is the usual form.
 *	Attachments and attached messages (message/rfc822) are skipped:
 *	their links are not the sender's. GMime spends about 1 KB per part,
 *	so the copy it parses is also cut before the 1025th line starting
 *	with "--" (a body of tiny parts would otherwise cost 100x its size);
 *	a cut, like max_body, makes "no link seen" unchecked, not fail.
 *	Building and freeing GMime's tree cost most of a small message's
 *	check, so a single-part message whose header block is plain (each
 *	Content-* field at most once, no odd lines) and whose type is
 *	text/plain, text/html or absent is read without it: the header
 *	values go through GMime's own unfolding, RFC 2047 decoding and
 *	Content-* parsers (the usual Content-Type values through a strict
 *	reader that leaves anything unusual to GMime's), the body through
 *	GMime's decoder state machine and charset filter, so the bytes
 *	scanned are the bytes the tree would give. Everything else takes
 *	the tree. The unit tests and the fuzzer run both ways and compare.
 * DIAGNOSTICS: only the keyword loader reports errors, "FILE:LINE: why".
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>

#include "strbuf.h"
#include "util.h"
#include "unsub.h"

#define URL_MAX 2048 /* bytes of one link target kept for matching */
#define TEXT_MAX 512 /* bytes of anchor text kept for matching */
#define TEXT_CONTEXT 160 /* text/plain: bytes before a URL taken as text */
#define COMMENT_DEPTH_MAX 32 /* nested (comments) in List-Unsubscribe */
#define DELIMS_MAX 1024 /* lines starting "--": bounds GMime's parts */
#define ONE_CLICK "List-Unsubscribe=One-Click"

struct og_unsub_keywords {
	char **word; /* normalised like the text they are matched in */
	size_t n;
};

/* One body scan: what was found, and whether anything was left out. */
struct scan {
	const struct og_unsub_keywords *kw;
	unsigned nlinks, nparts;
	int found; /* an unsubscribe link */
	int capped; /* a limit stopped the scan: not all was seen */
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_init_once(void)
{
	g_mime_init();
}

void
og_unsub_init(void)
{
	(void)pthread_once(&gmime_once, gmime_init_once);
}

static void
set_reason(char *reason, const char *why)
{
	if (reason != NULL)
		(void)og_strlcpy(reason, why, OG_UNSUB_REASON_MAX);
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

/*
 * normalise - the matching form of n bytes of text: invalid UTF-8
 * replaced, whitespace runs and U+00A0 collapsed to one space and
 * trimmed, NFC, case-folded. The result is the caller's to g_free().
 */
static char *
normalise(const char *s, size_t n)
{
	char *flat, *valid, *nfc, *folded;
	size_t i, o = 0;
	int space = 1;

	flat = og_malloc(n + 1);
	for (i = 0; i < n; i++) {
		if (is_ws((unsigned char)s[i]) ||
		    ((unsigned char)s[i] == 0xc2 && i + 1 < n &&
		        (unsigned char)s[i + 1] == 0xa0)) {
			if ((unsigned char)s[i] == 0xc2)
				i++;
			if (!space)
				flat[o++] = ' ';
			space = 1;
			continue;
		}
		flat[o++] = s[i] == '\0' ? ' ' : s[i];
		space = 0;
	}
	while (o > 0 && flat[o - 1] == ' ')
		o--;
	/*
	 * ASCII is valid UTF-8, its own NFC, and folds to its lower case:
	 * the same result without GLib's Unicode tables.
	 */
	for (i = 0; i < o && (unsigned char)flat[i] < 0x80; i++)
		continue;
	if (i == o) {
		for (i = 0; i < o; i++)
			flat[i] = g_ascii_tolower(flat[i]);
		folded = g_strndup(flat, o);
		og_free(flat);
		return folded;
	}
	valid = g_utf8_make_valid(flat, (gssize)o);
	og_free(flat);
	nfc = g_utf8_normalize(valid, -1, G_NORMALIZE_DEFAULT_COMPOSE);
	g_free(valid);
	if (nfc == NULL)
		return g_strdup("");
	folded = g_utf8_casefold(nfc, -1);
	g_free(nfc);
	return folded;
}

/* ---- the keyword list ---- */

static struct og_unsub_keywords *
parse_fail(struct og_unsub_keywords *kw, struct og_strbuf *err,
    const char *name, size_t line, const char *why)
{
	if (err != NULL) {
		if (line > 0)
			(void)og_strbuf_addf(
			    err, "%s:%zu: %s", name, line, why);
		else
			(void)og_strbuf_addf(err, "%s: %s", name, why);
	}
	og_unsub_keywords_free(kw);
	return NULL;
}

/* og_unsub_keywords_parse - one keyword a line, # comments, UTF-8 */
struct og_unsub_keywords *
og_unsub_keywords_parse(
    const char *buf, size_t len, const char *name, struct og_strbuf *err)
{
	struct og_unsub_keywords *kw;
	const char *p = buf, *end = buf + len, *eol, *s, *e;
	size_t line = 0;

	og_unsub_init();
	kw = og_calloc(1, sizeof(*kw));
	if (len > OG_UNSUB_KEYFILE_MAX)
		return parse_fail(kw, err, name, 0, "file too large");
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (; p < end; p = eol + (eol < end)) {
		line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((e = memchr(p, '#', (size_t)(eol - p))) == NULL)
			e = eol;
		for (s = p; s < e && is_ws((unsigned char)*s); s++)
			continue;
		while (e > s && is_ws((unsigned char)e[-1]))
			e--;
		if (s == e)
			continue;
		if (memchr(s, '\0', (size_t)(e - s)) != NULL)
			return parse_fail(kw, err, name, line, "NUL byte");
		if (!g_utf8_validate(s, e - s, NULL))
			return parse_fail(kw, err, name, line, "invalid UTF-8");
		if ((size_t)(e - s) > OG_UNSUB_KEYWORD_MAX)
			return parse_fail(kw, err, name, line,
			    "keyword longer than 128 bytes");
		if (kw->n >= OG_UNSUB_KEYWORDS_MAX)
			return parse_fail(
			    kw, err, name, line, "more than 1024 keywords");
		kw->word =
		    og_reallocarray(kw->word, kw->n + 1, sizeof(*kw->word));
		kw->word[kw->n++] = normalise(s, (size_t)(e - s));
	}
	if (kw->n == 0)
		return parse_fail(kw, err, name, 0, "no keywords");
	return kw;
}

/* og_unsub_keywords_load - read a whole keyword file, then parse it */
struct og_unsub_keywords *
og_unsub_keywords_load(const char *path, struct og_strbuf *err)
{
	struct og_unsub_keywords *kw;
	struct og_strbuf buf;
	char chunk[8192];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (err != NULL)
			(void)og_strbuf_addf(
			    err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	og_strbuf_init(&buf, OG_UNSUB_KEYFILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (og_strbuf_addn(&buf, chunk, n) < 0) {
			(void)fclose(fp);
			og_strbuf_release(&buf);
			return parse_fail(NULL, err, path, 0, "file too large");
		}
	if (ferror(fp)) {
		if (err != NULL)
			(void)og_strbuf_addf(err, "%s: read error", path);
		(void)fclose(fp);
		og_strbuf_release(&buf);
		return NULL;
	}
	(void)fclose(fp);
	kw = og_unsub_keywords_parse(og_strbuf_str(&buf), buf.len, path, err);
	og_strbuf_release(&buf);
	return kw;
}

void
og_unsub_keywords_free(struct og_unsub_keywords *kw)
{
	size_t i;

	if (kw == NULL)
		return;
	for (i = 0; i < kw->n; i++)
		g_free(kw->word[i]);
	og_free(kw->word);
	og_free(kw);
}

size_t
og_unsub_keywords_count(const struct og_unsub_keywords *kw)
{
	return kw == NULL ? 0 : kw->n;
}

static int
match_normalised(const struct og_unsub_keywords *kw, const char *norm)
{
	size_t i;

	for (i = 0; i < kw->n; i++)
		if (strstr(norm, kw->word[i]) != NULL)
			return 1;
	return 0;
}

int
og_unsub_keywords_match(
    const struct og_unsub_keywords *kw, const char *text, size_t len)
{
	char *norm;
	int found;

	if (kw == NULL || text == NULL || len == 0)
		return 0;
	if (len > OG_UNSUB_VALUE_MAX)
		len = OG_UNSUB_VALUE_MAX;
	norm = normalise(text, len);
	found = match_normalised(kw, norm);
	g_free(norm);
	return found;
}

/* ---- headers ---- */

/* span_trim - the value without surrounding whitespace (folding too) */
static const char *
span_trim(const char *v, size_t *lenp)
{
	size_t n = *lenp;

	while (n > 0 && is_ws((unsigned char)*v)) {
		v++;
		n--;
	}
	while (n > 0 && is_ws((unsigned char)v[n - 1]))
		n--;
	*lenp = n;
	return v;
}

static int
name_is(const struct og_unsub_header *h, const char *name)
{
	return h->name != NULL && h->value != NULL &&
	    og_strcasecmp_ascii(h->name, name) == 0;
}

static size_t
count_headers(const struct og_unsub_header *h, size_t n, const char *name,
    const struct og_unsub_header **first)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if (name_is(&h[i], name) && count++ == 0)
			*first = &h[i];
	return count;
}

int
og_unsub_is_bulk(const struct og_unsub_header *h, size_t n)
{
	const char *v;
	size_t i, len;

	for (i = 0; i < n; i++) {
		if (name_is(&h[i], "List-Id") ||
		    name_is(&h[i], "List-Unsubscribe"))
			return 1;
		if (!name_is(&h[i], "Precedence"))
			continue;
		len = strnlen(h[i].value, 64);
		v = span_trim(h[i].value, &len);
		if ((len == 4 &&
		        (og_strncasecmp_ascii(v, "bulk", 4) == 0 ||
		            og_strncasecmp_ascii(v, "list", 4) == 0 ||
		            og_strncasecmp_ascii(v, "junk", 4) == 0)))
			return 1;
	}
	return 0;
}

/*
 * skip_cfws - past whitespace and (possibly nested) comments with
 * quoted-pairs; -1 for an unclosed or too deeply nested comment
 */
static int
skip_cfws(const char **pp, const char *end)
{
	const char *p = *pp;
	int depth = 0;

	for (; p < end; p++) {
		if (depth == 0 && is_ws((unsigned char)*p))
			continue;
		if (*p == '(') {
			if (++depth > COMMENT_DEPTH_MAX)
				return -1;
		} else if (depth > 0 && *p == ')')
			depth--;
		else if (depth > 0 && *p == '\\') {
			if (++p == end)
				return -1;
		} else if (depth == 0)
			break;
	}
	*pp = p;
	return depth == 0 ? 0 : -1;
}

/*
 * parse_uri - one "<uri>" at *pp: RFC 2369 lets the URI be folded, so
 * whitespace inside the brackets is dropped. 1 for an https URI with a
 * host, 0 for another scheme, -1 for bad syntax.
 */
static int
parse_uri(const char **pp, const char *end)
{
	static const char https[] = "https://";
	const char *p = *pp + 1;
	size_t n = 0, scheme = 0, host = 0;
	int https_ok = 1;

	for (; p < end && *p != '>'; p++) {
		unsigned char c = (unsigned char)*p;

		if (is_ws(c))
			continue;
		if (c < 0x21 || c > 0x7e || c == '<' || c == '"')
			return -1;
		if (scheme == 0 && c == ':' && n > 0)
			scheme = n;
		else if (scheme == 0 &&
		    !(g_ascii_isalpha(c) ||
		        (n > 0 &&
		            (g_ascii_isdigit(c) || c == '+' || c == '-' ||
		                c == '.'))))
			return -1;
		if (n < sizeof(https) - 1) {
			if (g_ascii_tolower(c) != https[n])
				https_ok = 0;
		} else if (n == sizeof(https) - 1)
			host = c != '/' && c != '?' && c != '#';
		n++;
	}
	if (p == end || scheme == 0 || n == scheme + 1)
		return -1;
	*pp = p + 1;
	return https_ok && host;
}

int
og_unsub_list_unsubscribe(
    const char *value, size_t len, char reason[OG_UNSUB_REASON_MAX])
{
	const char *p = value, *end;
	int r, https = 0;

	if (value == NULL || len > OG_UNSUB_VALUE_MAX ||
	    memchr(value, '\0', len) != NULL)
		goto syntax;
	end = value + len;
	for (;;) {
		if (skip_cfws(&p, end) < 0 || p == end || *p != '<')
			goto syntax;
		if ((r = parse_uri(&p, end)) < 0)
			goto syntax;
		https |= r;
		if (skip_cfws(&p, end) < 0)
			goto syntax;
		if (p == end)
			break;
		if (*p++ != ',')
			goto syntax;
	}
	if (!https) {
		set_reason(reason, "no-https-uri");
		return 0;
	}
	return 1;
syntax:
	set_reason(reason, "list-unsubscribe-syntax");
	return 0;
}

/* check_headers - the two RFC 8058 headers: 1 ok, else 0 with a reason */
static int
check_headers(const struct og_unsub_header *h, size_t nh, char *reason)
{
	const struct og_unsub_header *lu = NULL, *post = NULL;
	const char *v;
	size_t n, len;

	if ((n = count_headers(h, nh, "List-Unsubscribe", &lu)) == 0) {
		set_reason(reason, "no-list-unsubscribe");
		return 0;
	} else if (n > 1) {
		set_reason(reason, "several-list-unsubscribe");
		return 0;
	}
	len = strnlen(lu->value, OG_UNSUB_VALUE_MAX + 1);
	if (!og_unsub_list_unsubscribe(lu->value, len, reason))
		return 0;
	if ((n = count_headers(h, nh, "List-Unsubscribe-Post", &post)) == 0) {
		set_reason(reason, "no-list-unsubscribe-post");
		return 0;
	} else if (n > 1) {
		set_reason(reason, "several-list-unsubscribe-post");
		return 0;
	}
	len = strnlen(post->value, OG_UNSUB_VALUE_MAX + 1);
	v = span_trim(post->value, &len);
	if (len != sizeof(ONE_CLICK) - 1 || memcmp(v, ONE_CLICK, len) != 0) {
		set_reason(reason, "list-unsubscribe-post-value");
		return 0;
	}
	return 1;
}

/* ---- links ---- */

/*
 * link_found - match one link target and its text; the URL is matched
 * percent-decoded so that "d%C3%A9sinscrire" counts. Returns 1 when the
 * scan should stop: a match, or the link cap.
 */
static int
link_found(struct scan *sc, const char *url, size_t ulen, const char *text,
    size_t tlen)
{
	char dec[URL_MAX + 1];
	size_t i, o = 0;

	if (++sc->nlinks > OG_UNSUB_LINKS_MAX) {
		sc->capped = 1;
		return 1;
	}
	for (i = 0; i < ulen && o < URL_MAX; i++) {
		if (url[i] == '%' && i + 2 < ulen &&
		    g_ascii_isxdigit(url[i + 1]) &&
		    g_ascii_isxdigit(url[i + 2])) {
			dec[o++] =
			    (char)(g_ascii_xdigit_value(url[i + 1]) * 16 +
			        g_ascii_xdigit_value(url[i + 2]));
			i += 2;
		} else
			dec[o++] = url[i];
	}
	if (og_unsub_keywords_match(sc->kw, dec, o) ||
	    og_unsub_keywords_match(sc->kw, text, tlen))
		sc->found = 1;
	return sc->found;
}

/* link_scheme_ok - body links that a reader can follow */
static int
link_scheme_ok(const char *u, size_t n)
{
	while (n > 0 && is_ws((unsigned char)*u)) {
		u++;
		n--;
	}
	return (n > 7 && og_strncasecmp_ascii(u, "http://", 7) == 0) ||
	    (n > 8 && og_strncasecmp_ascii(u, "https://", 8) == 0) ||
	    (n > 7 && og_strncasecmp_ascii(u, "mailto:", 7) == 0);
}

/*
 * url_start - where "http://" or "https://" starts when its "://" is at
 * p (never before lo), or NULL: the scan looks for "://" with memchr()
 * (glibc's memmem() is byte-wise for short needles) and checks the
 * scheme backwards, instead of testing every 'h'
 */
static const char *
url_start(const char *lo, const char *p)
{
	if (p - lo >= 5 && og_strncasecmp_ascii(p - 5, "https", 5) == 0)
		return p - 5;
	if (p - lo >= 4 && og_strncasecmp_ascii(p - 4, "http", 4) == 0)
		return p - 4;
	return NULL;
}

/*
 * scan_plain - bare http(s) URLs in text, with the text before them.
 * A URL needs 8 bytes from its start ("https://", or "http://" and
 * one more).
 */
static void
scan_plain(struct scan *sc, const char *s, size_t n)
{
	const char *p, *u;
	size_t i = 0, j, k, c, ctx, last = 0;

	while (i + 7 < n) {
		if ((p = memchr(s + i, ':', n - i)) == NULL)
			break;
		if (n - (size_t)(p - s) < 3 || p[1] != '/' || p[2] != '/' ||
		    (u = url_start(s + i, p)) == NULL) {
			i = (size_t)(p - s) + 1;
			continue;
		}
		if ((size_t)(u - s) + 8 > n)
			break;
		i = (size_t)(u - s);
		for (j = i; j < n && !is_ws((unsigned char)s[j]) &&
		     (unsigned char)s[j] >= 0x20 && s[j] != '<' &&
		     s[j] != '>' && s[j] != '"';
		     j++)
			continue;
		k = j;
		while (k > i && strchr(".,;:!?)]'", s[k - 1]) != NULL)
			k--;
		ctx = i - last > TEXT_CONTEXT ? i - TEXT_CONTEXT : last;
		/* the text is the current paragraph's tail, not more */
		for (c = i; c > ctx; c--)
			if (s[c - 1] == '\n' && c >= ctx + 2 &&
			    (s[c - 2] == '\n' ||
			        (s[c - 2] == '\r' && c >= ctx + 3 &&
			            s[c - 3] == '\n'))) {
				ctx = c;
				break;
			}
		if (link_found(sc, s + i, k - i > URL_MAX ? URL_MAX : k - i,
		        s + ctx, i - ctx))
			break;
		i = last = j;
	}
}

/* ---- HTML ---- */

struct anchor {
	char url[URL_MAX + 1], text[TEXT_MAX + 1];
	size_t ulen, tlen;
	int open; /* inside <a href=...> */
};

static void
text_add(struct anchor *a, const char *s, size_t n)
{
	if (n > TEXT_MAX - a->tlen)
		n = TEXT_MAX - a->tlen;
	memcpy(a->text + a->tlen, s, n);
	a->tlen += n;
}

/* the named entities that spell the keyword languages, plus syntax */
static const struct {
	const char *name;
	unsigned cp;
} entities[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xa0 }, { "shy", 0xad }, { "agrave", 0xe0 },
	{ "aacute", 0xe1 }, { "acirc", 0xe2 }, { "atilde", 0xe3 },
	{ "auml", 0xe4 }, { "ccedil", 0xe7 }, { "egrave", 0xe8 },
	{ "eacute", 0xe9 }, { "ecirc", 0xea }, { "euml", 0xeb },
	{ "igrave", 0xec }, { "iacute", 0xed }, { "icirc", 0xee },
	{ "iuml", 0xef }, { "ntilde", 0xf1 }, { "ograve", 0xf2 },
	{ "oacute", 0xf3 }, { "ocirc", 0xf4 }, { "otilde", 0xf5 },
	{ "ouml", 0xf6 }, { "ugrave", 0xf9 }, { "uacute", 0xfa },
	{ "ucirc", 0xfb }, { "uuml", 0xfc }, { "szlig", 0xdf },
	{ "Eacute", 0xc9 } };

/*
 * entity - decode the entity at s[0] == '&' into out (UTF-8); returns
 * the bytes consumed, and leaves a lone '&' as it is
 */
static size_t
entity(const char *s, size_t n, char out[8], size_t *olen)
{
	unsigned long cp = 0;
	size_t i = 1, k;

	*olen = 1;
	out[0] = '&';
	if (i < n && s[i] == '#') {
		int hex = ++i < n && (s[i] == 'x' || s[i] == 'X');

		for (i += hex; i < n && i < 12 &&
		     (hex ? g_ascii_isxdigit(s[i]) : g_ascii_isdigit(s[i]));
		     i++)
			cp = cp * (hex ? 16 : 10) +
			    (unsigned long)g_ascii_xdigit_value(s[i]);
		if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return 1;
	} else {
		for (k = 0; k < OG_NELEM(entities); k++) {
			size_t l = strlen(entities[k].name);

			if (l < n - 1 &&
			    memcmp(s + 1, entities[k].name, l) == 0 &&
			    s[l + 1] == ';') {
				cp = entities[k].cp;
				i = l + 1;
				break;
			}
		}
		if (cp == 0)
			return 1;
	}
	if (i < n && s[i] == ';')
		i++;
	*olen = (size_t)g_unichar_to_utf8((gunichar)cp, out);
	return i;
}

/* attr_value - decode an attribute value's entities into buf */
static size_t
attr_value(const char *v, size_t n, char *buf, size_t cap)
{
	char e[8];
	size_t i = 0, o = 0, el, used;

	while (i < n && o < cap) {
		if (v[i] != '&') {
			buf[o++] = v[i++];
			continue;
		}
		used = entity(v + i, n - i, e, &el);
		if (el > cap - o)
			break;
		memcpy(buf + o, e, el);
		o += el;
		i += used;
	}
	return o;
}

/* is_break - a tag that separates words; <b>Unsub</b>scribe does not */
static int
is_break(const char *name)
{
	static const char *const tags[] = { "br", "p", "div", "td", "th", "tr",
		"li", "table", "h1", "h2", "h3", "h4", "h5", "h6", "img" };
	size_t i;

	for (i = 0; i < OG_NELEM(tags); i++)
		if (strcmp(name, tags[i]) == 0)
			return 1;
	return 0;
}

/*
 * find_ci - the first case-insensitive needle at or after from, else n.
 * Every needle starts with a byte that has no case ('-' or '<'), so
 * memchr() finds the candidates.
 */
static size_t
find_ci(const char *s, size_t n, size_t from, const char *needle)
{
	const char *p;
	size_t l = strlen(needle);

	while (from + l <= n) {
		if ((p = memchr(s + from, needle[0], n - from - l + 1)) == NULL)
			break;
		from = (size_t)(p - s);
		if (og_strncasecmp_ascii(s + from, needle, l) == 0)
			return from;
		from++;
	}
	return n;
}

static void
anchor_close(struct scan *sc, struct anchor *a)
{
	if (a->open && link_scheme_ok(a->url, a->ulen))
		(void)link_found(sc, a->url, a->ulen, a->text, a->tlen);
	a->open = 0;
}

/*
 * html_tag - one tag starting at s[i] == '<': handles <a href>, </a>,
 * <area href alt>, and skips comments, script and style. Returns the
 * index after it; a tag never closed swallows the rest, which keeps
 * the scan a single pass.
 */
static size_t
html_tag(struct scan *sc, struct anchor *a, const char *s, size_t n, size_t i)
{
	char name[16], url[URL_MAX + 1], alt[TEXT_MAX + 1];
	size_t j, k, nl = 0, vs, ve, ulen = 0, altlen = 0;
	int closing, href = 0;

	if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
		j = find_ci(s, n, i + 4, "-->");
		return j == n ? n : j + 3;
	}
	j = i + 1;
	if ((closing = j < n && s[j] == '/'))
		j++;
	for (; j < n && g_ascii_isalnum(s[j]); j++)
		if (nl < sizeof(name) - 1)
			name[nl++] = g_ascii_tolower(s[j]);
	name[nl] = '\0';
	if (nl == 0 && !closing)
		return i + 1; /* a bare '<' in text */
	while (j < n && s[j] != '>') {
		/* one attribute: name [= value] */
		for (k = j; j < n && s[j] != '>' && s[j] != '=' &&
		     !is_ws((unsigned char)s[j]);
		     j++)
			continue;
		nl = j - k;
		vs = ve = j;
		while (j < n && is_ws((unsigned char)s[j]))
			j++;
		if (j < n && s[j] == '=') {
			for (j++; j < n && is_ws((unsigned char)s[j]); j++)
				continue;
			if (j < n && (s[j] == '"' || s[j] == '\'')) {
				char q = s[j++];

				for (vs = j; j < n && s[j] != q; j++)
					continue;
				ve = j;
				j += j < n;
			} else {
				for (vs = j; j < n && s[j] != '>' &&
				     !is_ws((unsigned char)s[j]);
				     j++)
					continue;
				ve = j;
			}
		}
		if (closing || name[0] == '\0')
			continue;
		if (nl == 4 && og_strncasecmp_ascii(s + k, "href", 4) == 0) {
			ulen = attr_value(s + vs, ve - vs, url, URL_MAX);
			href = 1;
		} else if (nl == 3 &&
		    og_strncasecmp_ascii(s + k, "alt", 3) == 0)
			altlen = attr_value(s + vs, ve - vs, alt, TEXT_MAX);
	}
	if (j == n)
		return n; /* an unfinished tag is text no reader sees */
	j++;
	if (strcmp(name, "a") == 0 ||
	    (strcmp(name, "area") == 0 && !closing && href)) {
		anchor_close(sc, a);
		if (!closing && href) {
			memcpy(a->url, url, ulen);
			a->ulen = ulen;
			a->tlen = 0;
			a->open = 1;
		}
		if (name[1] == 'r') { /* <area>: its alt text, no end tag */
			text_add(a, alt, altlen);
			anchor_close(sc, a);
		}
	} else if (!closing &&
	    (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)) {
		j = find_ci(s, n, j, name[1] == 'c' ? "</script" : "</style");
	} else if (a->open && is_break(name))
		text_add(a, " ", 1);
	return j;
}

/* scan_html - <a href> targets and their text, in one forward pass */
static void
scan_html(struct scan *sc, const char *s, size_t n)
{
	struct anchor *a;
	char e[8];
	size_t i = 0, j, el;

	a = og_calloc(1, sizeof(*a));
	while (i < n && !sc->found && !sc->capped) {
		if (s[i] == '<')
			i = html_tag(sc, a, s, n, i);
		else if (s[i] == '&') {
			i += entity(s + i, n - i, e, &el);
			if (a->open)
				text_add(a, e, el);
		} else {
			/* a run of text up to the next tag or entity */
			for (j = i + 1; j < n && s[j] != '<' && s[j] != '&';
			     j++)
				continue;
			if (a->open)
				text_add(a, s + i, j - i);
			i = j;
		}
	}
	if (!sc->found && !sc->capped)
		anchor_close(sc, a);
	og_free(a);
}

/* ---- MIME ---- */

/* text - one part's UTF-8 text for the scanners, borrowed or owned */
struct text {
	const char *s;
	size_t n;
	char *own; /* g_free()d */
	GMimeFilter *filter; /* owns s when set */
};

static void
text_release(struct text *t)
{
	g_free(t->own);
	if (t->filter != NULL)
		g_object_unref(t->filter);
	memset(t, 0, sizeof(*t));
}

/* charset_filter - GMime's converter to UTF-8 when cs needs one */
static GMimeFilter *
charset_filter(const char *cs)
{
	if (cs == NULL || g_ascii_strcasecmp(cs, "utf-8") == 0 ||
	    g_ascii_strcasecmp(cs, "us-ascii") == 0)
		return NULL;
	return g_mime_filter_charset_new(cs, "UTF-8");
}

/*
 * text_undeclared - no charset was declared: text that is not valid
 * UTF-8 is taken as ISO-8859-1
 */
static void
text_undeclared(struct text *t)
{
	char *latin;
	gsize n;

	if (g_utf8_validate(t->s, (gssize)t->n, NULL) ||
	    (latin = g_convert(t->s, (gssize)t->n, "UTF-8", "ISO-8859-1", NULL,
	         &n, NULL)) == NULL)
		return;
	text_release(t);
	t->s = t->own = latin;
	t->n = n;
}

/*
 * part_text - a text part's content from GMime's tree, transfer-decoded
 * and converted to UTF-8 (GMime's charset filter) into a memory stream
 * whose array the text then takes over.
 */
static int
part_text(GMimePart *part, struct text *t)
{
	GMimeDataWrapper *content;
	GMimeStream *mem, *filtered;
	GMimeFilter *conv;
	GByteArray *ba;
	const char *cs;

	memset(t, 0, sizeof(*t));
	if ((content = g_mime_part_get_content(part)) == NULL)
		return -1;
	cs = g_mime_object_get_content_type_parameter(
	    GMIME_OBJECT(part), "charset");
	mem = g_mime_stream_mem_new();
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	filtered = g_mime_stream_filter_new(mem);
	if ((conv = charset_filter(cs)) != NULL) {
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), conv);
		g_object_unref(conv);
	}
	(void)g_mime_data_wrapper_write_to_stream(content, filtered);
	(void)g_mime_stream_flush(filtered);
	g_object_unref(filtered);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_object_unref(mem);
	t->n = ba->len;
	t->own = (char *)g_byte_array_free(ba, FALSE);
	t->s = t->own != NULL ? t->own : "";
	if (cs == NULL)
		text_undeclared(t);
	return 0;
}

/*
 * flat_text - what part_text() makes of a single-part body, without the
 * tree: GMime's own decoder state (g_mime_encoding_step(), which its
 * basic filter runs) and its charset filter, so that the bytes are the
 * same. A body in UTF-8 or ASCII without base64 or QP is not copied.
 */
static void
flat_text(const char *body, size_t n, GMimeContentEncoding enc, const char *cs,
    struct text *t)
{
	GMimeEncoding st;
	GMimeFilter *conv;
	char *out;
	size_t outlen, pre;

	memset(t, 0, sizeof(*t));
	t->s = body;
	t->n = n;
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		g_mime_encoding_init_decode(&st, enc);
		t->own = g_malloc(g_mime_encoding_outlen(&st, n) + 1);
		t->n = g_mime_encoding_step(&st, body, n, t->own);
		t->s = t->own;
	}
	if ((conv = charset_filter(cs)) != NULL) {
		/* the filter only reads its input: the cast is safe */
		g_mime_filter_complete(conv, (char *)(uintptr_t)t->s, t->n, 0,
		    &out, &outlen, &pre);
		/* out may be the input itself: keep t->own until release */
		t->filter = conv;
		t->s = out;
		t->n = outlen;
	}
	if (cs == NULL)
		text_undeclared(t);
}

static void
scan_text(struct scan *sc, int html, const struct text *t)
{
	if (html)
		scan_html(sc, t->s, t->n);
	else
		scan_plain(sc, t->s, t->n);
}

/* walk - depth-first over the MIME tree, at most OG_UNSUB_DEPTH_MAX deep */
static void
walk(struct scan *sc, GMimeObject *obj, int depth)
{
	GMimeContentType *ct;
	struct text t;
	int i, count;

	if (obj == NULL || sc->found || sc->capped)
		return;
	if (depth > OG_UNSUB_DEPTH_MAX) {
		sc->capped = 1;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		count = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < count && !sc->found && !sc->capped; i++)
			walk(sc,
			    g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    depth + 1);
		return;
	}
	if (!GMIME_IS_PART(obj) || g_mime_part_is_attachment(GMIME_PART(obj)))
		return;
	ct = g_mime_object_get_content_type(obj);
	if (ct == NULL ||
	    (!g_mime_content_type_is_type(ct, "text", "plain") &&
	        !g_mime_content_type_is_type(ct, "text", "html")))
		return;
	if (++sc->nparts > OG_UNSUB_PARTS_MAX) {
		sc->capped = 1;
		return;
	}
	if (part_text(GMIME_PART(obj), &t) < 0)
		return;
	scan_text(sc, g_mime_content_type_is_type(ct, "text", "html"), &t);
	text_release(&t);
}

/*
 * parts_cut - where to cut the message so that GMime builds at most
 * DELIMS_MAX parts: GMime allocates about 1 KB per part, so 80000
 * one-line parts in 1 MB would cost 100 MB. Every part starts at a
 * line beginning with "--", so counting those lines bounds the parts.
 */
static size_t
parts_cut(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *nl;
	unsigned n = 0;

	for (; p < end; p = nl + 1) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-' &&
		    ++n > DELIMS_MAX)
			return (size_t)(p - msg);
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
	}
	return len;
}

/* ---- single-part messages without the tree ---- */

/* a single-part message's header fields that decide how it is read */
struct flat {
	const char *ct, *cte, *cd; /* raw values after the ':', or NULL */
	size_t ctlen, ctelen, cdlen;
	const char *body;
	size_t bodylen;
};

/* field_name - the bytes of a header field name (RFC 5322 ftext) */
static int
field_name(int c)
{
	return c > 0x20 && c < 0x7f && c != ':';
}

/*
 * flat_field - one header field at p: a printable ASCII name, ':', and
 * a value whose lines end in LF or CRLF, with no other control bytes
 * but tabs and no blank folded line. Sets the spans and returns the
 * next line; NULL for anything else, or for a header block that never
 * ends, which the caller leaves to GMime.
 */
static const char *
flat_field(
    const char *p, const char *end, size_t *nlen, const char **v, size_t *vlen)
{
	const char *q = p, *e, *w;
	unsigned char c;

	while (q < end && field_name((unsigned char)*q))
		q++;
	if (q == p || q == end || *q != ':')
		return NULL;
	*nlen = (size_t)(q - p);
	*v = ++q;
	for (;;) {
		for (; q < end && *q != '\n'; q++) {
			c = (unsigned char)*q;
			if ((c < 0x20 && c != '\t' &&
			        (c != '\r' || q + 1 == end || q[1] != '\n')) ||
			    c == 0x7f)
				return NULL;
		}
		if (q == end)
			return NULL;
		e = q++;
		if (q == end || (*q != ' ' && *q != '\t'))
			break;
		for (w = q; w < end && (*w == ' ' || *w == '\t'); w++)
			continue;
		if (w == end || *w == '\r' || *w == '\n')
			return NULL;
	}
	if (e > *v && e[-1] == '\r')
		e--;
	*vlen = (size_t)(e - *v);
	return q;
}

/* flat_keep - note one of the three fields; -1 when it repeats */
static int
flat_keep(const char **f, size_t *flen, const char *v, size_t vlen)
{
	if (*f != NULL)
		return -1;
	*f = v;
	*flen = vlen;
	return 0;
}

/*
 * flat_headers - the header block's end and its Content-Type,
 * Content-Transfer-Encoding and Content-Disposition, each at most once;
 * -1 when the block is anything but plain (GMime then decides).
 */
static int
flat_headers(const char *msg, size_t len, struct flat *f)
{
	const char *p = msg, *end = msg + len, *next, *v;
	size_t nlen, vlen;
	int r = 0;

	memset(f, 0, sizeof(*f));
	while (p < end && r == 0) {
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			f->body = p + (*p == '\r' ? 2 : 1);
			f->bodylen = (size_t)(end - f->body);
			return 0;
		}
		if ((next = flat_field(p, end, &nlen, &v, &vlen)) == NULL)
			return -1;
		if (nlen == 12 &&
		    og_strncasecmp_ascii(p, "Content-Type", 12) == 0)
			r = flat_keep(&f->ct, &f->ctlen, v, vlen);
		else if (nlen == 25 &&
		    og_strncasecmp_ascii(p, "Content-Transfer-Encoding", 25) ==
		        0)
			r = flat_keep(&f->cte, &f->ctelen, v, vlen);
		else if (nlen == 19 &&
		    og_strncasecmp_ascii(p, "Content-Disposition", 19) == 0)
			r = flat_keep(&f->cd, &f->cdlen, v, vlen);
		p = next;
	}
	return -1;
}

/*
 * flat_value - a header value as GMime's parser hands it to the
 * Content-* parsers (g_mime_header_get_value()): unfolded, RFC 2047
 * decoded. The caller g_free()s it.
 */
static char *
flat_value(const char *v, size_t n)
{
	char *raw, *unfolded, *value;

	raw = g_strndup(v, n);
	unfolded = g_mime_utils_header_unfold(raw);
	g_free(raw);
	value = g_mime_utils_header_decode_text(NULL, unfolded);
	g_free(unfolded);
	return value;
}

/* ctoken - RFC 2045 token bytes, without RFC 2231's '*' */
static int
ctoken(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=*", c) == NULL;
}

static const char *
ctoken_end(const char *p, const char *end)
{
	while (p < end && ctoken((unsigned char)*p))
		p++;
	return p;
}

static const char *
lws_end(const char *p, const char *end)
{
	while (p < end && is_ws((unsigned char)*p))
		p++;
	return p;
}

#define SIMPLE_PARAMS 8 /* more parameters: GMime parses the value */

/*
 * simple_ctype - the usual Content-Type values ("text/plain;
 * charset=utf-8; format=flowed") without GMime's parser, which with its
 * objects cost a third of a 4 KB message's check: ASCII tokens, each
 * parameter once as token=token or token="token", no comments, no RFC
 * 2047 or 2231. 1 with *kind (0 not text/plain or text/html, 1 plain,
 * 2 html) and the charset in cs ("" for none); 0 for anything else,
 * which GMime then parses.
 */
static int
simple_ctype(const char *v, size_t n, int *kind, char cs[64])
{
	const char *p, *end = v + n, *t, *st, *a[SIMPLE_PARAMS], *val;
	size_t tl, sl, al[SIMPLE_PARAMS], vl, np = 0, i;
	int quoted;

	t = lws_end(v, end);
	tl = (size_t)((p = ctoken_end(t, end)) - t);
	if (tl == 0 || p == end || *p != '/')
		return 0;
	st = ++p;
	if ((sl = (size_t)((p = ctoken_end(st, end)) - st)) == 0)
		return 0;
	cs[0] = '\0';
	while ((p = lws_end(p, end)) < end) {
		if (*p != ';' || np == SIMPLE_PARAMS)
			return 0;
		a[np] = p = lws_end(p + 1, end);
		al[np] = (size_t)((p = ctoken_end(p, end)) - a[np]);
		if (al[np] == 0 || p == end || *p != '=')
			return 0;
		quoted = ++p < end && *p == '"';
		val = p += quoted;
		vl = (size_t)((p = ctoken_end(p, end)) - val);
		if (vl == 0 || (quoted && (p == end || *p++ != '"')))
			return 0;
		for (i = 0; i < np; i++)
			if (al[i] == al[np] &&
			    og_strncasecmp_ascii(a[i], a[np], al[i]) == 0)
				return 0;
		if (al[np] == 7 &&
		    og_strncasecmp_ascii(a[np], "charset", 7) == 0) {
			if (vl >= 64)
				return 0;
			memcpy(cs, val, vl);
			cs[vl] = '\0';
		}
		np++;
	}
	*kind = 0;
	if (tl == 4 && og_strncasecmp_ascii(t, "text", 4) == 0) {
		if (sl == 5 && og_strncasecmp_ascii(st, "plain", 5) == 0)
			*kind = 1;
		else if (sl == 4 && og_strncasecmp_ascii(st, "html", 4) == 0)
			*kind = 2;
	}
	return 1;
}

/*
 * flat_part - scan a single-part message as walk() scans its one part;
 * -1 (nothing done) for multipart, message, uuencode and the like,
 * which take the tree
 */
static int
flat_part(struct scan *sc, const struct flat *f)
{
	GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_DEFAULT;
	GMimeContentType *ct = NULL;
	GMimeContentDisposition *cd;
	struct text t;
	const char *cs = NULL;
	char *v, csbuf[64];
	int attached = 0, html = 0, kind;

	if (f->cte != NULL) {
		v = flat_value(f->cte, f->ctelen);
		enc = g_mime_content_encoding_from_string(v);
		g_free(v);
		if (enc == GMIME_CONTENT_ENCODING_UUENCODE)
			return -1;
	}
	if (f->ct != NULL && simple_ctype(f->ct, f->ctlen, &kind, csbuf)) {
		if (kind == 0)
			return -1;
		html = kind == 2;
		cs = csbuf[0] != '\0' ? csbuf : NULL;
	} else if (f->ct != NULL) {
		v = flat_value(f->ct, f->ctlen);
		ct = g_mime_content_type_parse(NULL, v);
		g_free(v);
		html = g_mime_content_type_is_type(ct, "text", "html");
		if (!html &&
		    !g_mime_content_type_is_type(ct, "text", "plain")) {
			g_object_unref(ct);
			return -1;
		}
		cs = g_mime_content_type_get_parameter(ct, "charset");
	}
	if (f->cd != NULL) {
		v = flat_value(f->cd, f->cdlen);
		cd = g_mime_content_disposition_parse(NULL, v);
		g_free(v);
		attached = g_mime_content_disposition_is_attachment(cd);
		g_object_unref(cd);
	}
	if (!attached && ++sc->nparts <= OG_UNSUB_PARTS_MAX) {
		flat_text(f->body, f->bodylen, enc, cs, &t);
		scan_text(sc, html, &t);
		text_release(&t);
	}
	if (ct != NULL)
		g_object_unref(ct);
	return 0;
}

/* tree_walk - GMime's tree of the whole message, then walk() */
static void
tree_walk(struct scan *sc, const char *msg, size_t len)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *m;

	/* The memory stream copies the (truncated) message. */
	stream = g_mime_stream_mem_new_with_buffer(msg, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (m != NULL) {
		walk(sc, g_mime_message_get_mime_part(m), 0);
		g_object_unref(m);
	}
}

enum og_unsub_res
og_unsub_body_link_path(const struct og_unsub_keywords *kw, const char *msg,
    size_t len, size_t max_body, enum og_unsub_path path, int *flatp,
    char reason[OG_UNSUB_REASON_MAX])
{
	struct scan sc;
	struct flat f;
	size_t cut;
	int capped = 0, flat = 0;

	memset(&sc, 0, sizeof(sc));
	sc.kw = kw;
	if (flatp != NULL)
		*flatp = 0;
	if (kw == NULL || msg == NULL) {
		set_reason(reason, "body-unchecked");
		return OG_UNSUB_UNCHECKED;
	}
	og_unsub_init();
	if (len > max_body) {
		len = max_body;
		capped = 1;
	}
	if ((cut = parts_cut(msg, len)) < len) {
		len = cut;
		capped = 1;
	}
	/* the scan stops at sc.capped; the cut so far must not stop it */
	if (path == OG_UNSUB_PATH_ANY && flat_headers(msg, len, &f) == 0 &&
	    flat_part(&sc, &f) == 0)
		flat = 1;
	else
		tree_walk(&sc, msg, len);
	sc.capped |= capped;
	if (flatp != NULL)
		*flatp = flat;
	if (sc.found) {
		set_reason(reason, "");
		return OG_UNSUB_PASS;
	}
	if (sc.capped) {
		set_reason(reason, "body-unchecked");
		return OG_UNSUB_UNCHECKED;
	}
	set_reason(reason, "no-body-link");
	return OG_UNSUB_FAIL;
}

enum og_unsub_res
og_unsub_body_link(const struct og_unsub_keywords *kw, const char *msg,
    size_t len, size_t max_body, char reason[OG_UNSUB_REASON_MAX])
{
	return og_unsub_body_link_path(
	    kw, msg, len, max_body, OG_UNSUB_PATH_ANY, NULL, reason);
}

enum og_unsub_res
og_unsub_check(const struct og_unsub_keywords *kw,
    const struct og_unsub_header *h, size_t nh, int bulk_by_caller,
    const char *msg, size_t len, size_t max_body,
    char reason[OG_UNSUB_REASON_MAX])
{
	set_reason(reason, "");
	if (!bulk_by_caller && !og_unsub_is_bulk(h, nh)) {
		set_reason(reason, "not-bulk");
		return OG_UNSUB_NOT_BULK;
	}
	if (!check_headers(h, nh, reason))
		return OG_UNSUB_FAIL;
	return og_unsub_body_link(kw, msg, len, max_body, reason);
}

const char *
og_unsub_res_name(enum og_unsub_res r)
{
	switch (r) {
	case OG_UNSUB_NOT_BULK:
		return "not-bulk";
	case OG_UNSUB_PASS:
		return "pass";
	case OG_UNSUB_FAIL:
		return "fail";
	case OG_UNSUB_UNCHECKED:
		return "unchecked";
	}
	return "unknown";
}

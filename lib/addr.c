/*
 * addr.c - mail addresses and domains
 * DESCRIPTION: see addr.h. Both parsers work on a (pointer, length) span
 *	with an offset cursor and never read past the length; an embedded
 *	NUL byte is an error, not a terminator. The RFC 5321 path parser is
 *	byte-oriented and strict about brackets but lenient about dots in
 *	the local part (Postfix accepts "a..b@docomo.ne.jp" by default).
 *	The RFC 5322 list parser is a small lexer (atoms, quoted strings,
 *	domain literals, specials; CFWS skipped) plus a one-level recursive
 *	descent (a group cannot contain a group). Every count and buffer is
 *	capped by the limits in addr.h, so hostile input costs at most
 *	linear time and bounded memory.
 *	The public suffix list is loaded once per process (pthread_once)
 *	and never freed: libpsl contexts are read-only after loading.
 * DIAGNOSTICS: parse errors are static strings through *err; the
 *	result structs are written only on success.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include <libpsl.h>

#include "addr.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"

/* Token types above any byte value; specials are their own byte. */
#define T_END 256
#define T_ATOM 257
#define T_QSTR 258
#define T_DLIT 259

struct lexer {
	const char *s;
	size_t len;
	size_t off;
};

struct token {
	int type;
	const char *p; /* atom text, quoted or literal content */
	size_t len;
	int ws; /* CFWS came before this token */
};

struct parser {
	struct lexer lx;
	struct og_addr *addrs;
	size_t count;
	size_t size;
	size_t groups;
	const char *err;
};

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_ctx;

/* is_atext - RFC 5322 atext, plus 8-bit bytes (RFC 6531/6532) */
static int
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* is_ldh - a byte that may appear in a DNS label (with _ and UTF-8) */
static int
is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c >= 0x80;
}

/* is_dtext - RFC 5321 dcontent / RFC 5322 dtext without obsolete forms */
static int
is_dtext(unsigned char c)
{
	return (c >= 33 && c <= 90) || (c >= 94 && c <= 126);
}

static int
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int
set_err(const char **err, const char *msg)
{
	if (err != NULL)
		*err = msg;
	return -1;
}

/*
 * fold_len - length of the line break at off when it is part of folding
 * white space (CRLF or LF, then a space or tab, or the end of input, for
 * callers that hand us the raw header line). 0 for a bare CR or LF, which
 * could otherwise smuggle a second header line past us.
 */
static size_t
fold_len(const char *s, size_t len, size_t off)
{
	size_t o = off;

	if (s[o] == '\r') {
		if (++o == len || s[o] != '\n')
			return 0;
	}
	o++;
	if (o < len && s[o] != ' ' && s[o] != '\t')
		return 0;
	return o - off;
}

/* literal_ok - content of an address literal: IPv4, IPv6:..., or tag:... */
static int
literal_ok(const char *p, size_t len)
{
	char buf[OG_ADDR_DOMAIN_MAX + 1];
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon;
	size_t i, taglen;

	if (len == 0 || len > OG_ADDR_DOMAIN_MAX - 2)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_dtext((unsigned char)p[i]))
			return 0;
	if ((colon = memchr(p, ':', len)) == NULL) {
		memcpy(buf, p, len);
		buf[len] = '\0';
		return inet_pton(AF_INET, buf, &a4) == 1;
	}
	taglen = (size_t)(colon - p);
	if (taglen == 0 || taglen + 1 == len)
		return 0;
	for (i = 0; i < taglen; i++)
		if (!is_ldh((unsigned char)p[i]) || p[i] == '_' ||
		    (unsigned char)p[i] >= 0x80)
			return 0;
	if (taglen == 4 && og_strncasecmp_ascii(p, "ipv6", 4) == 0) {
		memcpy(buf, colon + 1, len - taglen - 1);
		buf[len - taglen - 1] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1;
	}
	return 1; /* General-address-literal: the tag is not ours */
}

/* make_literal - "[content]", lowercased like any other domain */
static char *
make_literal(const char *p, size_t len)
{
	char *d = og_malloc(len + 3);

	d[0] = '[';
	memcpy(d + 1, p, len);
	d[len + 1] = ']';
	d[len + 2] = '\0';
	return og_lowercase(d);
}

/* norm_domain - normalise and validate a DNS domain span */
static int
norm_domain(const char *p, size_t len, char **out, const char **err)
{
	char *d;

	if (len > OG_ADDR_DOMAIN_MAX + 1)
		return set_err(err, "domain too long");
	if ((d = og_domain_normalize(p, len)) == NULL)
		return set_err(err, "bad domain");
	if (!og_domain_valid(d)) {
		og_free(d);
		return set_err(err, "bad domain");
	}
	*out = d;
	return 0;
}

/* path_domain - the domain of a path or source route: name or literal */
static int
path_domain(const char *p, size_t len, char **out, const char **err)
{
	size_t i;

	if (len == 0)
		return set_err(err, "missing domain");
	if (p[0] == '[') {
		if (len < 2 || p[len - 1] != ']')
			return set_err(err, "unterminated address literal");
		if (!literal_ok(p + 1, len - 2))
			return set_err(err, "bad address literal");
		*out = make_literal(p + 1, len - 2);
		return 0;
	}
	for (i = 0; i < len; i++)
		if (!is_ldh((unsigned char)p[i]) && p[i] != '.')
			return set_err(err, "bad character in domain");
	return norm_domain(p, len, out, err);
}

/*
 * path_local - RFC 5321 Local-part: a Quoted-string (unquoted into sb)
 * or a Dot-string whose dots are not checked (see the file comment).
 */
static int
path_local(
    const char **pp, const char *end, struct og_strbuf *sb, const char **err)
{
	const char *p = *pp;
	unsigned char c;

	if (p < end && *p == '"') {
		for (p++;; p++) {
			if (p == end)
				return set_err(
				    err, "unterminated quoted string");
			c = (unsigned char)*p;
			if (c == '"')
				break;
			if (c == '\\') {
				if (++p == end)
					return set_err(
					    err, "unterminated quoted string");
				c = (unsigned char)*p;
				if (c < 32 || c == 127)
					return set_err(err, "bad quoted pair");
			} else if (c < 32 || c == 127)
				return set_err(
				    err, "bad character in quoted string");
			if (og_strbuf_addc(sb, c) < 0)
				return set_err(err, "local part too long");
		}
		p++;
	} else {
		while (p < end && (is_atext((unsigned char)*p) || *p == '.')) {
			if (og_strbuf_addc(sb, *p) < 0)
				return set_err(err, "local part too long");
			p++;
		}
	}
	if (sb->len == 0)
		return set_err(err, "empty local part");
	*pp = p;
	return 0;
}

/* path_route - skip an A-d-l ("@a,@b:"), checking each domain */
static int
path_route(const char **pp, const char *end, const char **err)
{
	const char *p = *pp, *q;
	char *d;

	for (;;) {
		if (p == end || *p != '@')
			return set_err(err, "bad source route");
		p++;
		for (q = p; q < end && *q != ',' && *q != ':'; q++)
			;
		if (q == end)
			return set_err(err, "bad source route");
		if (path_domain(p, (size_t)(q - p), &d, err) < 0)
			return -1;
		og_free(d);
		p = q + 1;
		if (*q == ':')
			break;
	}
	*pp = p;
	return 0;
}

int
og_addr_parse_path(
    const char *s, size_t len, struct og_addr *out, const char **err)
{
	struct og_addr a = { NULL, NULL, NULL, NULL };
	struct og_strbuf sb;
	const char *p, *end;

	if (s == NULL)
		return set_err(err, "no address");
	if (memchr(s, '\0', len) != NULL)
		return set_err(err, "NUL byte in address");
	if (len > OG_ADDR_MAX)
		return set_err(err, "path too long");
	p = s;
	end = s + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p < end && *p == '<') {
		if (end - p < 2 || end[-1] != '>') {
			if (memchr(p, '>', (size_t)(end - p)) != NULL)
				return set_err(err, "text after path");
			return set_err(err, "missing closing bracket");
		}
		p++;
		end--;
	} else if (p < end && end[-1] == '>')
		return set_err(err, "missing opening bracket");
	if (p == end) {
		out->local = og_strdup("");
		out->domain = NULL;
		out->display = NULL;
		out->group = NULL;
		return 0;
	}
	if (*p == '@' && path_route(&p, end, err) < 0)
		return -1;
	og_strbuf_init(&sb, OG_ADDR_LOCAL_MAX);
	if (path_local(&p, end, &sb, err) < 0) {
		og_strbuf_release(&sb);
		return -1;
	}
	if (p < end) {
		if (*p != '@') {
			og_strbuf_release(&sb);
			return set_err(err, "bad character in local part");
		}
		p++;
		if (path_domain(p, (size_t)(end - p), &a.domain, err) < 0) {
			og_strbuf_release(&sb);
			return -1;
		}
	}
	a.local = og_strbuf_steal(&sb);
	*out = a;
	return 0;
}

/*
 * Lexer for RFC 5322 structured header values.
 */

/*
 * scan_delim - a quoted string (close is '"') or a nested comment (close
 * is ')') from its opening byte at lx->off to just past its end. Quoted
 * pairs and folding are allowed inside, other control characters not.
 */
static int
scan_delim(struct lexer *lx, char close, const char **err)
{
	size_t depth = 1, n;
	unsigned char c;

	lx->off++;
	while (lx->off < lx->len) {
		c = (unsigned char)lx->s[lx->off];
		if (c == '\\') {
			if (++lx->off == lx->len)
				break;
			c = (unsigned char)lx->s[lx->off];
			if (c == '\r' || c == '\n' || is_ctl(c))
				return set_err(err, "bad quoted pair");
			lx->off++;
		} else if (c == '\r' || c == '\n') {
			if ((n = fold_len(lx->s, lx->len, lx->off)) == 0)
				return set_err(err, "bare CR or LF");
			lx->off += n;
		} else if (is_ctl(c))
			return set_err(err, "control character");
		else {
			lx->off++;
			if (c == (unsigned char)close && --depth == 0)
				return 0;
			if (c == '(' && close == ')')
				depth++;
		}
	}
	if (close == '"')
		return set_err(err, "unterminated quoted string");
	return set_err(err, "unterminated comment");
}

/* skip_cfws - comments and folding white space; *ws says if any */
static int
skip_cfws(struct lexer *lx, int *ws, const char **err)
{
	size_t n;
	char c;

	*ws = 0;
	while (lx->off < lx->len) {
		c = lx->s[lx->off];
		if (c == ' ' || c == '\t')
			lx->off++;
		else if (c == '\r' || c == '\n') {
			if ((n = fold_len(lx->s, lx->len, lx->off)) == 0)
				return set_err(err, "bare CR or LF");
			lx->off += n;
		} else if (c == '(') {
			if (scan_delim(lx, ')', err) < 0)
				return -1;
		} else
			break;
		*ws = 1;
	}
	return 0;
}

/*
 * next_token - the next token after CFWS. Domain literals take dtext
 * only: the obsolete quoted pairs and folding inside them are refused.
 */
static int
next_token(struct lexer *lx, struct token *t, const char **err)
{
	const char *s = lx->s;
	unsigned char c;

	if (skip_cfws(lx, &t->ws, err) < 0)
		return -1;
	t->p = s + lx->off;
	t->len = 0;
	if (lx->off == lx->len) {
		t->type = T_END;
		return 0;
	}
	c = (unsigned char)s[lx->off];
	if (c == '"') {
		t->type = T_QSTR;
		t->p = s + lx->off + 1;
		if (scan_delim(lx, '"', err) < 0)
			return -1;
		t->len = (size_t)(s + lx->off - 1 - t->p);
		return 0;
	}
	if (c == '[') {
		t->type = T_DLIT;
		t->p = s + ++lx->off;
		while (lx->off < lx->len && is_dtext((unsigned char)s[lx->off]))
			lx->off++;
		if (lx->off == lx->len || s[lx->off] != ']')
			return set_err(err, "bad domain literal");
		t->len = (size_t)(s + lx->off - t->p);
		lx->off++;
		return 0;
	}
	if (is_atext(c)) {
		t->type = T_ATOM;
		while (lx->off < lx->len && is_atext((unsigned char)s[lx->off]))
			lx->off++;
		t->len = (size_t)(s + lx->off - t->p);
		return 0;
	}
	if (c != '\0' && strchr("<>@,:;.", c) != NULL) {
		t->type = c;
		t->len = 1;
		lx->off++;
		return 0;
	}
	return set_err(err, "unexpected character");
}

/* add_word - append an atom, or a quoted string with quoting undone */
static int
add_word(struct og_strbuf *sb, const struct token *t)
{
	size_t i;

	if (t->type != T_QSTR)
		return og_strbuf_addn(sb, t->p, t->len);
	for (i = 0; i < t->len; i++) {
		if (t->p[i] == '\r' || t->p[i] == '\n')
			continue; /* unfold: CRLF goes, the WSP stays */
		if (t->p[i] == '\\')
			i++; /* the lexer saw the pair complete */
		if (og_strbuf_addc(sb, t->p[i]) < 0)
			return -1;
	}
	return 0;
}

/*
 * Parser for RFC 5322 address lists.
 */

static int
perr(struct parser *ps, const char *msg)
{
	ps->err = msg;
	return -1;
}

/* add_addr - append *a to the list (taking ownership) with the group */
static int
add_addr(struct parser *ps, struct og_addr *a, const char *group)
{
	if (ps->count >= OG_ADDR_LIST_MAX) {
		og_addr_clear(a);
		return perr(ps, "too many addresses");
	}
	if (ps->count == ps->size) {
		ps->size = ps->size ? ps->size * 2 : 4;
		if (ps->size > OG_ADDR_LIST_MAX)
			ps->size = OG_ADDR_LIST_MAX;
		ps->addrs =
		    og_reallocarray(ps->addrs, ps->size, sizeof(*ps->addrs));
	}
	a->group = group != NULL ? og_strdup(group) : NULL;
	ps->addrs[ps->count++] = *a;
	return 0;
}

/*
 * list_local - obs-local-part, leniently: words and dots in any order
 * as long as two words are never adjacent ("a..b" is real-world mail).
 */
static int
list_local(struct parser *ps, char **out)
{
	struct og_strbuf sb;
	struct token t;
	size_t save;
	int prev_word = 0;

	og_strbuf_init(&sb, OG_ADDR_LOCAL_MAX);
	for (;;) {
		save = ps->lx.off;
		if (next_token(&ps->lx, &t, &ps->err) < 0)
			goto fail;
		if (t.type == T_ATOM || t.type == T_QSTR) {
			if (prev_word) {
				perr(ps, "bad local part");
				goto fail;
			}
			if (add_word(&sb, &t) < 0) {
				perr(ps, "local part too long");
				goto fail;
			}
			prev_word = 1;
		} else if (t.type == '.') {
			if (og_strbuf_addc(&sb, '.') < 0) {
				perr(ps, "local part too long");
				goto fail;
			}
			prev_word = 0;
		} else {
			ps->lx.off = save;
			break;
		}
	}
	if (sb.len == 0) {
		perr(ps, "empty local part");
		goto fail;
	}
	*out = og_strbuf_steal(&sb);
	return 0;
fail:
	og_strbuf_release(&sb);
	return -1;
}

/* list_domain - dot-atom, obs-domain (one trailing dot) or domain-literal */
static int
list_domain(struct parser *ps, char **out)
{
	struct og_strbuf sb;
	struct token t;
	size_t save;
	int r;

	if (next_token(&ps->lx, &t, &ps->err) < 0)
		return -1;
	if (t.type == T_DLIT) {
		if (!literal_ok(t.p, t.len))
			return perr(ps, "bad address literal");
		*out = make_literal(t.p, t.len);
		return 0;
	}
	if (t.type != T_ATOM)
		return perr(ps, "missing domain");
	og_strbuf_init(&sb, OG_ADDR_DOMAIN_MAX + 1);
	r = og_strbuf_addn(&sb, t.p, t.len);
	while (r == 0) {
		save = ps->lx.off;
		if (next_token(&ps->lx, &t, &ps->err) < 0) {
			og_strbuf_release(&sb);
			return -1;
		}
		if (t.type != '.') {
			ps->lx.off = save;
			break;
		}
		r = og_strbuf_addc(&sb, '.');
		save = ps->lx.off;
		if (next_token(&ps->lx, &t, &ps->err) < 0) {
			og_strbuf_release(&sb);
			return -1;
		}
		if (t.type != T_ATOM) {
			ps->lx.off = save;
			break;
		}
		if (r == 0)
			r = og_strbuf_addn(&sb, t.p, t.len);
	}
	if (r < 0)
		r = perr(ps, "domain too long");
	else
		r = norm_domain(sb.data, sb.len, out, &ps->err);
	og_strbuf_release(&sb);
	return r;
}

/* list_addr_spec - local-part [ "@" domain ] into a */
static int
list_addr_spec(struct parser *ps, struct og_addr *a)
{
	struct token t;
	size_t save;

	if (list_local(ps, &a->local) < 0)
		return -1;
	save = ps->lx.off;
	if (next_token(&ps->lx, &t, &ps->err) < 0)
		return -1;
	if (t.type != '@') {
		ps->lx.off = save;
		return 0;
	}
	return list_domain(ps, &a->domain);
}

/* list_route - obs-route after "<": ("," / "@" domain) list, then ":" */
static int
list_route(struct parser *ps)
{
	struct token t;
	char *d;
	int ndom = 0, sep = 1;

	for (;;) {
		if (next_token(&ps->lx, &t, &ps->err) < 0)
			return -1;
		if (t.type == ',')
			sep = 1;
		else if (t.type == '@' && sep) {
			if (list_domain(ps, &d) < 0)
				return -1;
			og_free(d);
			ndom++;
			sep = 0;
		} else if (t.type == ':' && ndom > 0)
			return 0;
		else
			return perr(ps, "bad route");
	}
}

/* list_angle - the rest of an angle-addr after "<"; display is taken */
static int
list_angle(struct parser *ps, char *display, const char *group)
{
	struct og_addr a = { NULL, NULL, display, NULL };
	struct token t;
	size_t save = ps->lx.off;

	if (next_token(&ps->lx, &t, &ps->err) < 0)
		goto fail;
	if (t.type == '>') {
		perr(ps, "empty address");
		goto fail;
	}
	if (t.type == '@' || t.type == ',') {
		ps->lx.off = save;
		if (list_route(ps) < 0)
			goto fail;
	} else
		ps->lx.off = save;
	if (list_addr_spec(ps, &a) < 0)
		goto fail;
	if (next_token(&ps->lx, &t, &ps->err) < 0)
		goto fail;
	if (t.type != '>') {
		perr(ps, "missing closing bracket");
		goto fail;
	}
	return add_addr(ps, &a, group);
fail:
	og_addr_clear(&a);
	return -1;
}

/*
 * list_phrase - re-read the n phrase tokens from off as a display name:
 * quoting undone, one space wherever CFWS separated two tokens, comments
 * dropped. RFC 2047 encoded words are kept as they are: decoding needs
 * a charset converter and the result would be for display only.
 * Returns NULL for an empty phrase.
 */
static char *
list_phrase(struct parser *ps, size_t off, size_t n)
{
	struct og_strbuf sb;
	struct token t;
	size_t i;

	ps->lx.off = off;
	og_strbuf_init(&sb, OG_ADDR_HEADER_MAX);
	for (i = 0; i < n; i++) {
		/* Cannot fail: the same tokens were read once already. */
		if (next_token(&ps->lx, &t, &ps->err) < 0)
			og_panic("list_phrase: lexer changed its mind");
		if (t.ws && sb.len > 0 && t.type != '.')
			(void)og_strbuf_addc(&sb, ' ');
		(void)add_word(&sb, &t);
	}
	if (sb.len == 0) {
		og_strbuf_release(&sb);
		return NULL;
	}
	return og_strbuf_steal(&sb);
}

static int list_group(struct parser *, char *);

/*
 * list_address - one mailbox or group. The phrase is scanned first;
 * the token after it decides: "<" angle-addr, ":" group, otherwise the
 * words were an addr-spec and are read again as one.
 */
static int
list_address(struct parser *ps, const char *group)
{
	struct og_addr a = { NULL, NULL, NULL, NULL };
	struct token t;
	size_t start = ps->lx.off, n = 0;
	char *phrase;

	for (;;) {
		if (next_token(&ps->lx, &t, &ps->err) < 0)
			return -1;
		if (t.type != T_ATOM && t.type != T_QSTR && t.type != '.')
			break;
		n++;
	}
	switch (t.type) {
	case '<':
		phrase = list_phrase(ps, start, n);
		if (next_token(&ps->lx, &t, &ps->err) < 0 || t.type != '<')
			og_panic("list_address: lost the angle bracket");
		return list_angle(ps, phrase, group);
	case ':':
		if (group != NULL)
			return perr(ps, "nested group");
		if ((phrase = list_phrase(ps, start, n)) == NULL)
			return perr(ps, "empty group name");
		if (next_token(&ps->lx, &t, &ps->err) < 0 || t.type != ':')
			og_panic("list_address: lost the colon");
		return list_group(ps, phrase);
	case '@':
	case ',':
	case ';':
	case T_END:
		if (n == 0 && t.type != '@')
			return perr(ps, "unexpected character");
		ps->lx.off = start;
		if (list_addr_spec(ps, &a) < 0) {
			og_addr_clear(&a);
			return -1;
		}
		return add_addr(ps, &a, group);
	case '>':
		return perr(ps, "missing opening bracket");
	default:
		return perr(ps, "unexpected character");
	}
}

/*
 * list_group - the group-list after "name:" up to ";". Empty members
 * (obs-mbox-list) are skipped; a missing ";" at the end of the header
 * is tolerated, as Postfix does. The group name is taken.
 */
static int
list_group(struct parser *ps, char *name)
{
	struct token t;
	size_t save;
	int r = 0;

	ps->groups++;
	for (;;) {
		save = ps->lx.off;
		if ((r = next_token(&ps->lx, &t, &ps->err)) < 0)
			break;
		if (t.type == ';' || t.type == T_END)
			break;
		if (t.type == ',')
			continue;
		ps->lx.off = save;
		if ((r = list_address(ps, name)) < 0)
			break;
		if ((r = next_token(&ps->lx, &t, &ps->err)) < 0)
			break;
		if (t.type == ';' || t.type == T_END)
			break;
		if (t.type != ',') {
			r = perr(ps, "expected comma");
			break;
		}
	}
	og_free(name);
	return r;
}

int
og_addr_parse_list(
    const char *s, size_t len, struct og_addr_list *out, const char **err)
{
	struct parser ps;
	struct token t;
	size_t save, i;

	if (s == NULL)
		return set_err(err, "no header");
	if (len > OG_ADDR_HEADER_MAX)
		return set_err(err, "header too long");
	if (memchr(s, '\0', len) != NULL)
		return set_err(err, "NUL byte in header");
	memset(&ps, 0, sizeof(ps));
	ps.lx.s = s;
	ps.lx.len = len;
	for (;;) {
		save = ps.lx.off;
		if (next_token(&ps.lx, &t, &ps.err) < 0)
			goto fail;
		if (t.type == T_END)
			break;
		if (t.type == ',')
			continue; /* obs-addr-list: empty members */
		ps.lx.off = save;
		if (list_address(&ps, NULL) < 0)
			goto fail;
		if (next_token(&ps.lx, &t, &ps.err) < 0)
			goto fail;
		if (t.type == T_END)
			break;
		if (t.type != ',') {
			perr(&ps, "expected comma");
			goto fail;
		}
	}
	out->addrs = ps.addrs;
	out->count = ps.count;
	out->groups = ps.groups;
	return 0;
fail:
	for (i = 0; i < ps.count; i++)
		og_addr_clear(&ps.addrs[i]);
	og_free(ps.addrs);
	return set_err(err, ps.err != NULL ? ps.err : "bad address list");
}

void
og_addr_clear(struct og_addr *a)
{
	if (a == NULL)
		return;
	a->local = og_free(a->local);
	a->domain = og_free(a->domain);
	a->display = og_free(a->display);
	a->group = og_free(a->group);
}

void
og_addr_list_clear(struct og_addr_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		og_addr_clear(&l->addrs[i]);
	l->addrs = og_free(l->addrs);
	l->count = 0;
	l->groups = 0;
}

/* dot_atom - can s be written without quotes (RFC 5322 dot-atom-text)? */
static int
dot_atom(const char *s)
{
	int prev_dot = 1;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
		} else if (is_atext((unsigned char)*s))
			prev_dot = 0;
		else
			return 0;
	}
	return !prev_dot;
}

char *
og_addr_format(const struct og_addr *a)
{
	struct og_strbuf sb;
	const char *p;
	int r = 0;

	if (a == NULL || a->local == NULL)
		return NULL;
	if (a->local[0] == '\0' && a->domain == NULL)
		return og_strdup(""); /* the null sender */
	og_strbuf_init(&sb, 0);
	if (dot_atom(a->local))
		r = og_strbuf_adds(&sb, a->local);
	else {
		r = og_strbuf_addc(&sb, '"');
		for (p = a->local; r == 0 && *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				r = og_strbuf_addc(&sb, '\\');
			if (r == 0)
				r = og_strbuf_addc(&sb, *p);
		}
		if (r == 0)
			r = og_strbuf_addc(&sb, '"');
	}
	if (r == 0 && a->domain != NULL) {
		r = og_strbuf_addc(&sb, '@');
		if (r == 0)
			r = og_strbuf_adds(&sb, a->domain);
	}
	if (r < 0) {
		og_strbuf_release(&sb);
		return NULL;
	}
	return og_strbuf_steal(&sb);
}

char *
og_domain_normalize(const char *s, size_t len)
{
	size_t i;

	if (s == NULL)
		return NULL;
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > OG_ADDR_DOMAIN_MAX)
		return NULL;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] == 0x7f)
			return NULL;
	return og_lowercase(og_strndup(s, len));
}

int
og_domain_valid(const char *s)
{
	size_t len, label = 0;

	if (s == NULL || (len = strlen(s)) == 0 || len > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (!is_ldh((unsigned char)*s) || ++label > 63)
			return 0;
	}
	return label > 0;
}

/*
 * psl_init - load the newest public suffix list: the system's DAFSA or
 * text file when it is newer than the built-in copy, else the built-in.
 * XXX: without any list, organisational domains are the domains
 * themselves, which makes relaxed alignment as strict as strict.
 */
static void
psl_init(void)
{
	psl_ctx_t *ctx;

	if ((ctx = psl_latest(NULL)) != NULL) {
		psl_ctx = ctx;
		return;
	}
	if ((psl_ctx = psl_builtin()) == NULL)
		og_warnx("no public suffix list: relaxed alignment is strict");
}

char *
og_domain_orgdomain(const char *domain)
{
	const char *reg;
	char *lc, *res;
	size_t len;

	if (domain == NULL)
		return NULL;
	len = strlen(domain);
	if (len > 1 && domain[len - 1] == '.')
		len--;
	lc = og_lowercase(og_strndup(domain, len));
	if (lc[0] == '\0' || lc[0] == '[')
		return lc;
	if (pthread_once(&psl_once, psl_init) != 0)
		og_panic("og_domain_orgdomain: pthread_once failed");
	if (psl_ctx == NULL ||
	    (reg = psl_registrable_domain(psl_ctx, lc)) == NULL)
		return lc;
	res = og_strdup(reg);
	og_free(lc);
	return res;
}

int
og_domain_aligned(const char *a, const char *b, int strict)
{
	char *na, *nb, *oa, *ob;
	int r = 0;

	if (a == NULL || b == NULL)
		return 0;
	na = og_domain_normalize(a, strlen(a));
	nb = og_domain_normalize(b, strlen(b));
	if (na != NULL && nb != NULL) {
		if (strict)
			r = strcmp(na, nb) == 0;
		else {
			oa = og_domain_orgdomain(na);
			ob = og_domain_orgdomain(nb);
			r = strcmp(oa, ob) == 0;
			og_free(oa);
			og_free(ob);
		}
	}
	og_free(na);
	og_free(nb);
	return r;
}

/*
 * classify.c - load and run the reply rules (outguard-replies(5))
 * DESCRIPTION: the rules file is parsed into rules of conditions
 *	("if FIELD ~ /re/flags", "if FIELD !~ /re/", "if FIELD = a|b",
 *	"if FIELD != a|b") and assignments ("set FIELD = value").
 *	Patterns are compiled once with PCRE2 (JIT when available); named
 *	groups must be field names and fill those fields.
 *	Speed comes from three cheap steps before any regex runs: a rule
 *	whose fields are all set already is skipped (bit masks); equality
 *	conditions run before patterns; and each pattern carries a literal
 *	it cannot match without (derived from the pattern at load), looked
 *	for with memmem() in a lowercased copy of the input.
 * DIAGNOSTICS: load errors as "FILE:LINE: reason", every one collected.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <arpa/inet.h>

#include "classify.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"

#define RULES_FILE_MAX (4 * 1024 * 1024)
#define RULES_MAX 10000
#define CONDS_MAX 16 /* per rule */
#define SETS_MAX 16  /* per rule */
#define CAPS_MAX 32  /* named groups per pattern */
#define VALUES_MAX 64
#define NEEDLE_MIN 3
#define ERRORS_MAX 50
#define FIELD_TEXT OG_RF_NFIELDS /* the input itself, for conditions */

enum op { OP_MATCH, OP_NOMATCH, OP_EQ, OP_NE };

struct cond {
	int field; /* enum og_reply_field or FIELD_TEXT */
	enum op op;
	pcre2_code *re;
	char *needle; /* lowercased literal the text must contain, or NULL */
	size_t needle_len;
	struct {
		unsigned group;
		int field;
	} caps[CAPS_MAX];
	size_t ncaps;
	char **values; /* OP_EQ, OP_NE */
	size_t nvalues;
};

struct set {
	int field;
	char *value;
};

struct rule {
	char *name;
	unsigned line;
	struct cond conds[CONDS_MAX];
	size_t nconds;
	struct set sets[SETS_MAX];
	size_t nsets;
	unsigned fills; /* bit mask of the fields this rule can set */
};

struct og_classifier {
	struct rule *rules;
	size_t nrules;
	unsigned max_ovec; /* largest capture count + 1 */
};

static const char *const field_names[OG_RF_NFIELDS + 1] = {
	"provider", "class", "smtp_code", "enhanced_code", "provider_code",
	"remedy", "ip", "mx_host", "mx_ip", "server_tag", "server_time",
	"spf", "dkim", "dmarc", "text",
};

/* The vocabularies that code downstream acts on are closed. */
static const char *const classes[] = { "ip_block", "rate_limit", "auth",
	"content", "recipient", "other_provider", "other", NULL };
static const char *const remedies[] = { "outlook_form", "delist_portal",
	"delist_mail", "wait", "fix_auth", "fix_content", "none", NULL };

const char *
og_reply_field_name(enum og_reply_field f)
{
	return (unsigned)f < OG_RF_NFIELDS ? field_names[f] : "?";
}

static int
field_index(const char *s, size_t len, int allow_text)
{
	int i;

	for (i = 0; i <= OG_RF_NFIELDS; i++)
		if (strlen(field_names[i]) == len &&
		    memcmp(field_names[i], s, len) == 0)
			return (i == FIELD_TEXT && !allow_text) ? -1 : i;
	return -1;
}

/* ---- loading ---- */

struct parser {
	const char *name;
	struct og_strbuf *err;
	unsigned nerr;
	unsigned line;
};

static void OG_PRINTF(2, 3) perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	if (++ps->nerr > ERRORS_MAX)
		return;
	(void)og_strbuf_addf(ps->err, "%s:%u: ", ps->name, ps->line);
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(ps->err, fmt, ap);
	va_end(ap);
	(void)og_strbuf_addc(ps->err, '\n');
}

static void
skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

static size_t
word_len(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && (isalnum((unsigned char)*q) || *q == '_' ||
			      *q == '-' || *q == '.'))
		q++;
	return (size_t)(q - p);
}

/*
 * derive_needle - the longest run of plain characters at the top level of
 * a pattern with no top-level alternation: every match must contain it.
 * Conservative: anything it does not understand ends the run.
 */
static char *
derive_needle(const char *re, size_t len, int extended)
{
	char best[128], cur[128];
	size_t blen = 0, clen = 0, i;
	int depth = 0;

	if (extended)
		return NULL;
	for (i = 0; i < len; i++) {
		char c = re[i], lit = 0;

		if (c == '\\') {
			if (i + 1 >= len)
				return NULL;
			c = re[++i];
			if (isalnum((unsigned char)c))
				goto end_run; /* \b \d \s \x.. \Q: not literal */
			lit = c;
		} else if (c == '(') {
			depth++;
			/* (?<name> etc: skip to the group body */
			goto end_run;
		} else if (c == ')') {
			if (depth > 0)
				depth--;
			goto end_run;
		} else if (c == '|') {
			if (depth == 0)
				return NULL;
			goto end_run;
		} else if (c == '[') {
			/* skip the class, ']' first in a class is literal */
			i++;
			if (i < len && re[i] == '^')
				i++;
			if (i < len && re[i] == ']')
				i++;
			while (i < len && re[i] != ']') {
				if (re[i] == '\\')
					i++;
				i++;
			}
			goto end_run;
		} else if (strchr(".^$?*+{}", c) != NULL) {
			/* a quantifier makes the previous char optional */
			if ((c == '?' || c == '*' || c == '{') && clen > 0)
				clen--;
			goto end_run;
		} else
			lit = c;
		if (depth > 0)
			continue;
		/* a quantifier after this char makes it optional */
		if (i + 1 < len && strchr("?*{", re[i + 1]) != NULL)
			goto end_run;
		if (clen < sizeof(cur))
			cur[clen++] = (char)tolower((unsigned char)lit);
		continue;
	end_run:
		if (clen > blen) {
			memcpy(best, cur, clen);
			blen = clen;
		}
		clen = 0;
	}
	if (clen > blen) {
		memcpy(best, cur, clen);
		blen = clen;
	}
	if (depth != 0 || blen < NEEDLE_MIN)
		return NULL;
	return og_strndup(best, blen);
}

static int
compile_pattern(struct parser *ps, struct cond *c, const char *re,
    size_t len, const char *flags, size_t flen)
{
	uint32_t opts = PCRE2_CASELESS | PCRE2_DUPNAMES;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	PCRE2_SPTR table;
	uint32_t count, esize, i;
	int ecode, extended = 0;
	size_t k;

	for (k = 0; k < flen; k++) {
		switch (flags[k]) {
		case 'c':
			opts &= ~(uint32_t)PCRE2_CASELESS;
			break;
		case 'x':
			opts |= PCRE2_EXTENDED;
			extended = 1;
			break;
		default:
			perr(ps, "unknown pattern flag '%c' (expected c or x)",
			    isprint((unsigned char)flags[k]) ? flags[k] : '?');
			return -1;
		}
	}
	c->re = pcre2_compile((PCRE2_SPTR)re, len, opts, &ecode, &off, NULL);
	if (c->re == NULL) {
		(void)pcre2_get_error_message(ecode, msg, sizeof(msg));
		perr(ps, "bad pattern at offset %zu: %s", (size_t)off,
		    (const char *)msg);
		return -1;
	}
	(void)pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE);
	(void)pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &count);
	(void)pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	(void)pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &table);
	for (i = 0; i < count; i++) {
		const unsigned char *e = table + (size_t)i * esize;
		const char *name = (const char *)e + 2;
		int f = field_index(name, strlen(name), 0);

		if (f < 0) {
			perr(ps, "named group (?<%s>) is not a field name",
			    name);
			return -1;
		}
		if (c->ncaps == CAPS_MAX) {
			perr(ps, "more than %d named groups", CAPS_MAX);
			return -1;
		}
		c->caps[c->ncaps].group = (unsigned)(e[0] << 8 | e[1]);
		c->caps[c->ncaps].field = f;
		c->ncaps++;
	}
	if (c->op == OP_MATCH)
		c->needle = derive_needle(re, len, extended);
	if (c->needle != NULL)
		c->needle_len = strlen(c->needle);
	return 0;
}

/* valid_value - a "set" value or an "=" value fits its field */
static int
valid_value(struct parser *ps, int field, const char *v, size_t len)
{
	const char *const *vocab = NULL;
	size_t i;

	if (len == 0 || len > OG_REPLY_VALUE_MAX) {
		perr(ps, "value must be 1 to %d bytes", OG_REPLY_VALUE_MAX);
		return -1;
	}
	for (i = 0; i < len; i++)
		if (!isprint((unsigned char)v[i])) {
			perr(ps, "value has a control or non-ASCII byte");
			return -1;
		}
	if (field == OG_RF_CLASS)
		vocab = classes;
	else if (field == OG_RF_REMEDY)
		vocab = remedies;
	if (vocab != NULL) {
		for (i = 0; vocab[i] != NULL; i++)
			if (strlen(vocab[i]) == len &&
			    memcmp(vocab[i], v, len) == 0)
				return 0;
		perr(ps, "unknown %s \"%.*s\"", field_names[field], (int)len,
		    v);
		return -1;
	}
	if (field == OG_RF_PROVIDER) {
		for (i = 0; i < len; i++)
			if (!islower((unsigned char)v[i]) &&
			    !isdigit((unsigned char)v[i]) && v[i] != '-') {
				perr(ps, "a provider name is [a-z0-9-]");
				return -1;
			}
	}
	return 0;
}

static int
parse_values(struct parser *ps, struct cond *c, const char *p,
    const char *end)
{
	while (p < end) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		const char *ve = bar ? bar : end;
		const char *vs = p;

		while (vs < ve && isspace((unsigned char)*vs))
			vs++;
		while (ve > vs && isspace((unsigned char)ve[-1]))
			ve--;
		if (valid_value(ps, c->field, vs, (size_t)(ve - vs)) < 0)
			return -1;
		if (c->nvalues == VALUES_MAX) {
			perr(ps, "more than %d values", VALUES_MAX);
			return -1;
		}
		c->values = og_reallocarray(c->values, c->nvalues + 1,
		    sizeof(char *));
		c->values[c->nvalues++] = og_strndup(vs, (size_t)(ve - vs));
		p = bar ? bar + 1 : end;
	}
	if (c->nvalues == 0) {
		perr(ps, "expected a value after the operator");
		return -1;
	}
	return 0;
}

/* parse_if - "if FIELD OP ARG" */
static int
parse_if(struct parser *ps, struct rule *r, const char *p, const char *end)
{
	struct cond *c;
	size_t n = word_len(p, end);
	const char *re, *re_end;
	int f = field_index(p, n, 1);

	if (f < 0) {
		perr(ps, "unknown field \"%.*s\"", (int)(n > 40 ? 40 : n), p);
		return -1;
	}
	if (r->nconds == CONDS_MAX) {
		perr(ps, "more than %d conditions in one rule", CONDS_MAX);
		return -1;
	}
	c = &r->conds[r->nconds++];
	c->field = f;
	p += n;
	skip_ws(&p, end);
	if (end - p >= 2 && p[0] == '!' && p[1] == '~')
		c->op = OP_NOMATCH, p += 2;
	else if (end - p >= 1 && p[0] == '~')
		c->op = OP_MATCH, p += 1;
	else if (end - p >= 2 && p[0] == '!' && p[1] == '=')
		c->op = OP_NE, p += 2;
	else if (end - p >= 1 && p[0] == '=')
		c->op = OP_EQ, p += 1;
	else {
		perr(ps, "expected ~, !~, = or != after the field name");
		return -1;
	}
	skip_ws(&p, end);
	if (c->op == OP_EQ || c->op == OP_NE) {
		if (f == FIELD_TEXT) {
			perr(ps, "compare text with ~ or !~, not = or !=");
			return -1;
		}
		return parse_values(ps, c, p, end);
	}
	if (p >= end || *p != '/') {
		perr(ps, "expected /pattern/ after %s",
		    c->op == OP_MATCH ? "~" : "!~");
		return -1;
	}
	re = ++p;
	while (p < end && *p != '/') {
		if (*p == '\\' && p + 1 < end)
			p++;
		p++;
	}
	if (p >= end) {
		perr(ps, "pattern has no closing /");
		return -1;
	}
	re_end = p++;
	n = 0;
	while (p + n < end && !isspace((unsigned char)p[n]))
		n++;
	if (p + n < end) {
		const char *rest = p + n;

		skip_ws(&rest, end);
		if (rest < end) {
			perr(ps, "unexpected text after the pattern");
			return -1;
		}
	}
	return compile_pattern(ps, c, re, (size_t)(re_end - re), p, n);
}

/* parse_set - "set FIELD = value" */
static int
parse_set(struct parser *ps, struct rule *r, const char *p, const char *end)
{
	size_t n = word_len(p, end);
	int f = field_index(p, n, 0);
	const char *v;

	if (f < 0) {
		perr(ps, "unknown field \"%.*s\"", (int)(n > 40 ? 40 : n), p);
		return -1;
	}
	p += n;
	skip_ws(&p, end);
	if (p >= end || *p != '=') {
		perr(ps, "expected \"set FIELD = value\"");
		return -1;
	}
	p++;
	skip_ws(&p, end);
	v = p;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	if (valid_value(ps, f, v, (size_t)(end - v)) < 0)
		return -1;
	if (r->nsets == SETS_MAX) {
		perr(ps, "more than %d assignments in one rule", SETS_MAX);
		return -1;
	}
	r->sets[r->nsets].field = f;
	r->sets[r->nsets].value = og_strndup(v, (size_t)(end - v));
	r->nsets++;
	return 0;
}

static void
rule_clear(struct rule *r)
{
	size_t i, j;

	og_free(r->name);
	for (i = 0; i < r->nconds; i++) {
		pcre2_code_free(r->conds[i].re);
		og_free(r->conds[i].needle);
		for (j = 0; j < r->conds[i].nvalues; j++)
			og_free(r->conds[i].values[j]);
		og_free(r->conds[i].values);
	}
	for (i = 0; i < r->nsets; i++)
		og_free(r->sets[i].value);
	memset(r, 0, sizeof(*r));
}

/* finish_rule - checks and the derived data of a complete rule */
static void
finish_rule(struct parser *ps, struct og_classifier *cl)
{
	struct rule *r = &cl->rules[cl->nrules - 1];
	size_t i, j;

	for (i = 0; i < r->nsets; i++)
		r->fills |= 1u << r->sets[i].field;
	for (i = 0; i < r->nconds; i++) {
		uint32_t cap = 0;

		for (j = 0; j < r->conds[i].ncaps; j++)
			r->fills |= 1u << r->conds[i].caps[j].field;
		if (r->conds[i].re != NULL) {
			(void)pcre2_pattern_info(r->conds[i].re,
			    PCRE2_INFO_CAPTURECOUNT, &cap);
			if (cap + 1 > cl->max_ovec)
				cl->max_ovec = cap + 1;
		}
	}
	if (r->fills == 0) {
		unsigned saved = ps->line;

		ps->line = r->line;
		perr(ps, "rule %s sets no field", r->name);
		ps->line = saved;
	}
}

/* one_line - a trimmed, non-empty, non-comment line */
static void
one_line(struct parser *ps, struct og_classifier *cl, const char *p,
    const char *end, int *in_rule)
{
	size_t n = word_len(p, end);
	struct rule *r;

	if (n == 4 && memcmp(p, "rule", 4) == 0) {
		size_t i, nl;

		if (*in_rule)
			finish_rule(ps, cl);
		p += 4;
		skip_ws(&p, end);
		nl = word_len(p, end);
		if (nl == 0 || p + nl != end) {
			perr(ps, "expected \"rule NAME\" (NAME of "
				 "[A-Za-z0-9_.-])");
			*in_rule = 0;
			return;
		}
		for (i = 0; i < cl->nrules; i++)
			if (strlen(cl->rules[i].name) == nl &&
			    memcmp(cl->rules[i].name, p, nl) == 0) {
				perr(ps, "rule %.*s already defined at line %u",
				    (int)nl, p, cl->rules[i].line);
				break;
			}
		if (cl->nrules == RULES_MAX) {
			perr(ps, "more than %d rules", RULES_MAX);
			*in_rule = 0;
			return;
		}
		cl->rules = og_reallocarray(cl->rules, cl->nrules + 1,
		    sizeof(*cl->rules));
		r = &cl->rules[cl->nrules++];
		memset(r, 0, sizeof(*r));
		r->name = og_strndup(p, nl);
		r->line = ps->line;
		*in_rule = 1;
		return;
	}
	if (!*in_rule) {
		perr(ps, "expected \"rule NAME\" before conditions");
		return;
	}
	r = &cl->rules[cl->nrules - 1];
	if (n == 2 && memcmp(p, "if", 2) == 0 && p + 2 < end &&
	    isspace((unsigned char)p[2])) {
		p += 2;
		skip_ws(&p, end);
		(void)parse_if(ps, r, p, end);
	} else if (n == 3 && memcmp(p, "set", 3) == 0 && p + 3 < end &&
	    isspace((unsigned char)p[3])) {
		p += 3;
		skip_ws(&p, end);
		(void)parse_set(ps, r, p, end);
	} else
		perr(ps, "expected \"if\", \"set\" or \"rule\"");
}

struct og_classifier *
og_classifier_parse(const char *name, const char *text, size_t len,
    struct og_strbuf *err)
{
	struct og_classifier *cl = og_calloc(1, sizeof(*cl));
	struct parser ps = { name, err, 0, 0 };
	const char *p = text, *end = text + len;
	int in_rule = 0;

	cl->max_ovec = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p;

		ps.line++;
		skip_ws(&s, le);
		while (le > s && isspace((unsigned char)le[-1]))
			le--;
		if (memchr(s, '\0', (size_t)(le - s)) != NULL)
			perr(&ps, "NUL byte in line");
		else if (s < le && *s != '#')
			one_line(&ps, cl, s, le, &in_rule);
		p = nl ? nl + 1 : end;
	}
	if (in_rule)
		finish_rule(&ps, cl);
	if (cl->nrules == 0 && ps.nerr == 0) {
		ps.line = 0;
		perr(&ps, "no rules");
	}
	if (ps.nerr > ERRORS_MAX)
		(void)og_strbuf_addf(err, "%s: %u more errors not shown\n",
		    name, ps.nerr - ERRORS_MAX);
	if (ps.nerr > 0)
		return og_classifier_free(cl);
	return cl;
}

struct og_classifier *
og_classifier_load(const char *path, struct og_strbuf *err)
{
	struct og_classifier *cl = NULL;
	struct og_strbuf text;
	char chunk[8192];
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "re")) == NULL) {
		(void)og_strbuf_addf(err, "%s: cannot open: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	og_strbuf_init(&text, RULES_FILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (og_strbuf_addn(&text, chunk, n) < 0) {
			(void)og_strbuf_addf(err,
			    "%s: larger than %d bytes\n", path,
			    RULES_FILE_MAX);
			goto out;
		}
	if (ferror(fp)) {
		(void)og_strbuf_addf(err, "%s: read error: %s\n", path,
		    strerror(errno));
		goto out;
	}
	cl = og_classifier_parse(path, og_strbuf_str(&text), text.len, err);
out:
	(void)fclose(fp);
	og_strbuf_release(&text);
	return cl;
}

struct og_classifier *
og_classifier_free(struct og_classifier *cl)
{
	size_t i;

	if (cl == NULL)
		return NULL;
	for (i = 0; i < cl->nrules; i++)
		rule_clear(&cl->rules[i]);
	og_free(cl->rules);
	return og_free(cl);
}

size_t
og_classifier_rules(const struct og_classifier *cl)
{
	return cl->nrules;
}

/* ---- classifying ---- */

void
og_reply_init(struct og_reply *r)
{
	memset(r->v, 0, sizeof(r->v));
	r->used = 0;
	r->lower = NULL;
	r->norm = NULL;
	r->lower_size = 0;
	r->match = NULL;
	r->owner = NULL;
}

void
og_reply_release(struct og_reply *r)
{
	r->lower = og_free(r->lower);
	r->norm = og_free(r->norm);
	pcre2_match_data_free(r->match);
	r->match = NULL;
	r->owner = NULL;
}

/*
 * well_formed - a value a field can hold. An IP that is no address
 * ("[x.x.x.x]", "999.1.1.1": redacted replies) is no value, so that a
 * later rule may still find the real one.
 */
static int
well_formed(int f, const char *v, size_t len)
{
	char buf[64];
	unsigned char addr[16];
	size_t i;

	switch (f) {
	case OG_RF_IP:
	case OG_RF_MX_IP:
		if (len >= 2 && v[0] == '[' && v[len - 1] == ']')
			v++, len -= 2;
		if (len >= 5 && og_strncasecmp_ascii(v, "ipv6:", 5) == 0)
			v += 5, len -= 5;
		if (len == 0 || len >= sizeof(buf))
			return 0;
		memcpy(buf, v, len);
		buf[len] = '\0';
		return inet_pton(AF_INET, buf, addr) == 1 ||
		    inet_pton(AF_INET6, buf, addr) == 1;
	case OG_RF_SMTP_CODE:
		return len == 3 && v[0] >= '2' && v[0] <= '5' &&
		    isdigit((unsigned char)v[1]) &&
		    isdigit((unsigned char)v[2]);
	case OG_RF_ENHANCED_CODE:
		if (len < 5 || len > 9 || v[0] < '2' || v[0] > '5' ||
		    v[1] != '.')
			return 0;
		for (i = 2; i < len; i++)
			if (!isdigit((unsigned char)v[i]) && v[i] != '.')
				return 0;
		return 1;
	default:
		return 1;
	}
}

/* put - copy a value into the reply's store, trimmed and capped */
static void
put(struct og_reply *r, int f, const char *v, size_t len)
{
	char *dst;

	while (len > 0 && isspace((unsigned char)*v))
		v++, len--;
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len == 0 || r->v[f] != NULL || !well_formed(f, v, len))
		return;
	if ((f == OG_RF_IP || f == OG_RF_MX_IP) && v[0] == '[')
		v++, len -= 2;
	if ((f == OG_RF_IP || f == OG_RF_MX_IP) && len > 5 &&
	    og_strncasecmp_ascii(v, "ipv6:", 5) == 0)
		v += 5, len -= 5;
	if (len > OG_REPLY_VALUE_MAX)
		len = OG_REPLY_VALUE_MAX;
	if (r->used + len + 1 > sizeof(r->store))
		return; /* cannot happen: one value per field fits */
	dst = r->store + r->used;
	memcpy(dst, v, len);
	dst[len] = '\0';
	if (f == OG_RF_SPF || f == OG_RF_DKIM || f == OG_RF_DMARC)
		og_lowercase(dst); /* verdicts as RFC 8601 writes them */
	r->used += len + 1;
	r->v[f] = dst;
}

struct pending {
	int field;
	size_t off, len;
	const char *base;
};

static int
eval_values(const struct cond *c, const char *v)
{
	size_t i;
	int hit = 0;

	if (v != NULL)
		for (i = 0; i < c->nvalues && !hit; i++)
			hit = strcmp(v, c->values[i]) == 0;
	return c->op == OP_EQ ? hit : !hit;
}

/* eval_re - run one pattern; on a match, note its named groups */
static int
eval_re(const struct cond *c, struct og_reply *r, const char *subj,
    size_t slen, struct pending *pend, size_t *npend)
{
	pcre2_match_data *md = r->match;
	PCRE2_SIZE *ov;
	size_t i;
	int rc;

	if (subj == NULL)
		return c->op == OP_NOMATCH;
	rc = pcre2_match(c->re, (PCRE2_SPTR)subj, slen, 0, 0, md, NULL);
	if (rc < 0)
		return c->op == OP_NOMATCH;
	if (c->op == OP_NOMATCH)
		return 0;
	ov = pcre2_get_ovector_pointer(md);
	for (i = 0; i < c->ncaps && *npend < CAPS_MAX * 2; i++) {
		unsigned g = c->caps[i].group;

		if ((int)g >= rc || ov[2 * g] == PCRE2_UNSET)
			continue;
		pend[*npend].field = c->caps[i].field;
		pend[*npend].base = subj;
		pend[*npend].off = ov[2 * g];
		pend[*npend].len = ov[2 * g + 1] - ov[2 * g];
		(*npend)++;
	}
	return 1;
}

static int
eval_rule(const struct rule *ru, struct og_reply *r, const char *text,
    size_t len)
{
	struct pending pend[CAPS_MAX * 2];
	size_t npend = 0, i, pass;

	/* equality first, patterns second: the cheap tests reject most */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ru->nconds; i++) {
			const struct cond *c = &ru->conds[i];
			const char *subj;

			if ((c->re == NULL) != (pass == 0))
				continue;
			if (c->re == NULL) {
				if (!eval_values(c, r->v[c->field]))
					return 0;
				continue;
			}
			if (c->field == FIELD_TEXT) {
				if (c->needle != NULL &&
				    memmem(r->lower, len, c->needle,
					c->needle_len) == NULL)
					return 0;
				subj = text;
			} else
				subj = r->v[c->field];
			if (!eval_re(c, r, subj,
				subj == text ? len : (subj ? strlen(subj) : 0),
				pend, &npend))
				return 0;
		}
	}
	for (i = 0; i < npend; i++)
		put(r, pend[i].field, pend[i].base + pend[i].off, pend[i].len);
	for (i = 0; i < ru->nsets; i++)
		put(r, ru->sets[i].field, ru->sets[i].value,
		    strlen(ru->sets[i].value));
	return 1;
}

/*
 * unqmail - qmail logs write a reply's spaces as underscores
 * ("Remote_host_said:_550_5.7.1_..."): a word with at least four
 * underscores and no space gets its underscores back as spaces.
 * Returns the text to classify: text itself, or r->norm.
 */
static const char *
unqmail(struct og_reply *r, const char *text, size_t len)
{
	size_t i, start = 0, unders = 0;
	int changed = 0;

	if (memchr(text, '_', len) == NULL)
		return text;
	memcpy(r->norm, text, len);
	for (i = 0; i <= len; i++) {
		if (i == len || text[i] == ' ' || text[i] == '\t') {
			if (unders >= 4) {
				size_t k;

				for (k = start; k < i; k++)
					if (r->norm[k] == '_')
						r->norm[k] = ' ';
				changed = 1;
			}
			start = i + 1;
			unders = 0;
		} else if (text[i] == '_')
			unders++;
	}
	return changed ? r->norm : text;
}

void
og_classify(const struct og_classifier *cl, struct og_reply *r,
    const char *text, size_t len)
{
	unsigned have = 0, all = (1u << OG_RF_NFIELDS) - 1;
	size_t i;

	if (r->owner != cl) {
		pcre2_match_data_free(r->match);
		r->match = pcre2_match_data_create(cl->max_ovec, NULL);
		if (r->match == NULL)
			og_fatal(EX_OSERR, "pcre2_match_data_create");
		r->owner = cl;
	}
	memset(r->v, 0, sizeof(r->v));
	r->used = 0;
	if (len > OG_CLASSIFY_INPUT_MAX)
		len = OG_CLASSIFY_INPUT_MAX;
	if (r->lower_size < len + 1) {
		r->lower = og_realloc(r->lower, len + 1);
		r->norm = og_realloc(r->norm, len + 1);
		r->lower_size = len + 1;
	}
	text = unqmail(r, text, len);
	for (i = 0; i < len; i++)
		r->lower[i] = (char)tolower((unsigned char)text[i]);
	r->lower[len] = '\0';
	for (i = 0; i < cl->nrules && have != all; i++) {
		const struct rule *ru = &cl->rules[i];

		if ((ru->fills & ~have) == 0)
			continue; /* nothing left for this rule to set */
		if (eval_rule(ru, r, text, len)) {
			size_t f;

			for (f = 0; f < OG_RF_NFIELDS; f++)
				if (r->v[f] != NULL)
					have |= 1u << f;
		}
	}
}

int
og_reply_is(const struct og_reply *r, enum og_reply_field f, const char *v)
{
	return r->v[f] != NULL && strcmp(r->v[f], v) == 0;
}

/*
 * classify.c - load and run the reply rules (outguard-replies(5))
 * DESCRIPTION: the rules file is parsed into rules of conditions
 *	("if FIELD ~ /re/flags", "if FIELD !~ /re/", "if FIELD = a|b",
 *	"if FIELD != a|b") and assignments ("set FIELD = value").
 *	Patterns are compiled once with PCRE2 (JIT when available); named
 *	groups must be field names and fill those fields. Every match runs
 *	with one shared, read-only match context whose limits stop a
 *	pathological pattern: a match that hits them counts as no match.
 *	Speed comes from cheap steps before any regex runs: a rule whose
 *	fields are all set already is skipped (bit masks); equality
 *	conditions run before patterns; and each pattern on the text
 *	carries a set of literals of which every match contains one
 *	(derived from the pattern at load, see analyze()). One Aho-Corasick
 *	pass over the text per reply finds which of those sets are present;
 *	a pattern whose set is absent is known not to match without
 *	running it.
 * DIAGNOSTICS: load errors as "FILE:LINE: reason", every one collected.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
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
#define SETS_MAX 16 /* per rule */
#define CAPS_MAX 32 /* named groups per pattern */
#define VALUES_MAX 64
#define ERRORS_MAX 50
#define FIELD_TEXT OG_RF_NFIELDS /* the input itself, for conditions */

/*
 * Match limits: generous for any sane pattern on a 64 KiB reply (the
 * shipped rules stay far below), small enough that a catastrophic one
 * gives up in milliseconds instead of hanging the policy service.
 */
#define MATCH_LIMIT 1000000
#define DEPTH_LIMIT 10000
#define HEAP_LIMIT_KB 8192

/* Literal prefilter limits (analyze(), prefilter_build()) */
#define LIT_EXACT_MAX 16 /* strings in an exact set */
#define LIT_REQ_MAX 64 /* strings in a required set */
#define LIT_LEN_MAX 64 /* bytes in one literal */
#define LIT_DEPTH_MAX 64 /* group nesting the analysis follows */
#define PREFILTER_MAX 8192 /* patterns with a prefilter */
#define PREFILTER_STATES_MAX 65535
#define PREFILTER_LIT_LEN 32 /* a literal's prefix is as good a filter */
#define PREFILTER_NONE UINT16_MAX

enum op { OP_MATCH, OP_NOMATCH, OP_EQ, OP_NE };

struct cond {
	int field; /* enum og_reply_field or FIELD_TEXT */
	enum op op;
	pcre2_code *re;
	char **lits; /* every match contains one (lowercase); until built */
	size_t nlits;
	int pf; /* prefilter bit, or -1: none */
	struct {
		unsigned group;
		int field;
	} caps[CAPS_MAX];
	size_t ncaps;
	char **values; /* OP_EQ, OP_NE */
	size_t nvalues;
	char *src; /* the pattern as written, for og_classifier_rule() */
	int caseless; /* the pattern's case rule */
};

struct set {
	int field;
	char *value;
};

struct rule {
	char *name;
	unsigned line;
	struct cond *conds;
	size_t nconds;
	struct set sets[SETS_MAX];
	size_t nsets;
	unsigned fills; /* bit mask of the fields this rule can set */
};

/*
 * The prefilter: one Aho-Corasick automaton over every pattern's
 * literals, as a full DFA on byte classes (bytes in no literal share
 * class 0, upper and lower case share a class), on the first
 * PREFILTER_LIT_LEN bytes of each literal (a match contains those too),
 * which keeps the table small. A state's row in delta starts at
 * state << shift; states are numbered so that those that
 * report something come last (from first_out on), and the hot loop
 * needs one compare per byte. out_bit[out_start[o] .. out_start[o + 1]]
 * are the prefilter bits output state first_out + o reports, its whole
 * failure chain included.
 */
struct prefilter {
	unsigned char cls[256];
	unsigned ncls, shift;
	unsigned nstates, first_out;
	uint16_t *delta;
	uint32_t *out_start;
	uint16_t *out_bit;
	unsigned nbits;
};

struct og_classifier {
	struct rule *rules;
	size_t nrules, rules_size;
	unsigned max_ovec; /* largest capture count + 1 */
	pcre2_match_context *mctx;
	struct prefilter pf;
};

static const char *const field_names[OG_RF_NFIELDS + 1] = {
	"provider",
	"class",
	"smtp_code",
	"enhanced_code",
	"provider_code",
	"remedy",
	"ip",
	"mx_host",
	"mx_ip",
	"server_tag",
	"server_time",
	"spf",
	"dkim",
	"dmarc",
	"text",
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

	while (q < end &&
	    (isalnum((unsigned char)*q) || *q == '_' || *q == '-' || *q == '.'))
		q++;
	return (size_t)(q - p);
}

/*
 * ---- literal analysis ----
 * analyze() reads a pattern that PCRE2 has compiled already and works
 * out a set of literal strings (ASCII-lowercased) of which every match
 * must contain at least one. Each node of the pattern gets an "exact"
 * set when it matches exactly one of a few known strings ("a", "(?:rp|
 * sc)-", "s?" = {"s", ""}), and a "required" set otherwise; sequences
 * glue exact sets (cross product) and keep the best required set
 * (longest shortest string), alternations unite their branches' sets.
 * Anything the analysis does not fully understand (inline options,
 * \Q, back references, \x escapes, callouts, odd braces) gives up on
 * the whole pattern, which then has no prefilter: the analysis may be
 * weak, never wrong.
 */
struct lits {
	char **s;
	size_t n;
};

struct node {
	struct lits exact; /* valid when is_exact */
	int is_exact;
	struct lits req; /* n == 0: nothing known */
};

struct an {
	const char *p, *end;
	unsigned depth;
	int fail;
};

static void
lits_clear(struct lits *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		og_free(l->s[i]);
	l->s = og_free(l->s);
	l->n = 0;
}

/* lits_add - add a string once; -1 (set unchanged) past max or length */
static int
lits_add(struct lits *l, const char *s, size_t len, size_t max)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strlen(l->s[i]) == len && memcmp(l->s[i], s, len) == 0)
			return 0;
	if (l->n >= max || len > LIT_LEN_MAX)
		return -1;
	l->s = og_reallocarray(l->s, l->n + 1, sizeof(char *));
	l->s[l->n++] = og_strndup(s, len);
	return 0;
}

/* lits_merge - add all of b to a; -1 when it does not fit */
static int
lits_merge(struct lits *a, const struct lits *b, size_t max)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (lits_add(a, b->s[i], strlen(b->s[i]), max) < 0)
			return -1;
	return 0;
}

/* lits_score - the shortest string's length: 0 means no information */
static size_t
lits_score(const struct lits *l)
{
	size_t i, min = SIZE_MAX;

	for (i = 0; i < l->n; i++)
		if (strlen(l->s[i]) < min)
			min = strlen(l->s[i]);
	return l->n == 0 ? 0 : min;
}

/* consider - keep the better of best and cand (cand is consumed) */
static void
consider(struct lits *best, struct lits *cand)
{
	size_t sc = lits_score(cand), sb = lits_score(best);

	if (sc > sb || (sc == sb && sc > 0 && cand->n < best->n)) {
		lits_clear(best);
		*best = *cand;
		cand->s = NULL;
		cand->n = 0;
	} else
		lits_clear(cand);
}

static void
node_clear(struct node *n)
{
	lits_clear(&n->exact);
	lits_clear(&n->req);
	n->is_exact = 0;
}

/* node_exact - n matches exactly one of the strings of l (consumed) */
static void
node_exact(struct node *n, struct lits *l)
{
	struct lits copy = { NULL, 0 };

	node_clear(n);
	(void)lits_merge(&copy, l, LIT_EXACT_MAX);
	n->exact = *l;
	n->is_exact = 1;
	l->s = NULL;
	l->n = 0;
	consider(&n->req, &copy);
}

static void
node_str(struct node *n, const char *s, size_t len)
{
	struct lits l = { NULL, 0 };

	(void)lits_add(&l, s, len, 1);
	node_exact(n, &l);
}

/* cross - {a + b : a in x, b in y}, or -1 when too many or too long */
static int
cross(struct lits *out, const struct lits *x, const struct lits *y)
{
	char buf[2 * LIT_LEN_MAX];
	size_t i, j;

	out->s = NULL;
	out->n = 0;
	if (x->n * y->n > LIT_EXACT_MAX)
		return -1;
	for (i = 0; i < x->n; i++)
		for (j = 0; j < y->n; j++) {
			size_t a = strlen(x->s[i]), b = strlen(y->s[j]);

			if (a + b > LIT_LEN_MAX) {
				lits_clear(out);
				return -1;
			}
			memcpy(buf, x->s[i], a);
			memcpy(buf + a, y->s[j], b);
			(void)lits_add(out, buf, a + b, LIT_EXACT_MAX);
		}
	return 0;
}

static void analyze_alt(struct an *, struct node *);

/* skip_class - past "[...]", POSIX "[:name:]" inside included */
static void
skip_class(struct an *a)
{
	const char *p = a->p + 1;

	if (p < a->end && *p == '^')
		p++;
	if (p < a->end && *p == ']')
		p++;
	while (p < a->end && *p != ']') {
		if (*p == '\\') {
			if (p + 1 >= a->end || p[1] == 'Q' || p[1] == 'E') {
				a->fail = 1;
				return;
			}
			p += 2;
		} else if (*p == '[' && p + 1 < a->end &&
		    (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *q = p + 2;

			while (q + 1 < a->end && !(q[0] == p[1] && q[1] == ']'))
				q++;
			if (q + 1 >= a->end) {
				a->fail = 1;
				return;
			}
			p = q + 2;
		} else
			p++;
	}
	if (p >= a->end) {
		a->fail = 1;
		p--;
	}
	a->p = p + 1;
}

/* analyze_escape - "\X" at a->p */
static void
analyze_escape(struct an *a, struct node *n)
{
	static const char lit_from[] = "tnrfea", lit_to[] = "\t\n\r\f\033\007";
	unsigned char e;
	const char *q;

	if (a->p + 1 >= a->end) {
		a->fail = 1;
		return;
	}
	e = (unsigned char)a->p[1];
	a->p += 2;
	if (!isalnum(e)) {
		char c = (char)e;

		node_str(n, &c, 1);
	} else if ((q = strchr(lit_from, e)) != NULL && e != '\0')
		node_str(n, &lit_to[q - lit_from], 1);
	else if (strchr("dDsSwWhHvVRX", e) != NULL)
		node_clear(n); /* one char of a class: nothing known */
	else if (e == 'N' && (a->p >= a->end || *a->p != '{'))
		node_clear(n);
	else if (strchr("bBAzZGK", e) != NULL)
		node_str(n, "", 0); /* zero-width */
	else
		a->fail = 1; /* \x \o \c \p \g \k \Q \1 ...: give up */
}

/* group_kind - after "(": 0 a group, 1 an assertion or comment */
static int
group_kind(struct an *a)
{
	const char *p = a->p;

	if (p < a->end && *p == '*') {
		a->fail = 1;
		return 0;
	}
	if (p >= a->end || *p != '?')
		return 0;
	p++;
	if (p < a->end && (*p == ':' || *p == '>' || *p == '|')) {
		a->p = p + 1;
		return 0;
	}
	/* (?i) (?-i) (?i:...): options other than x do not move literals */
	while (p < a->end && strchr("imnsUJ^-", *p) != NULL && *p != '\0')
		p++;
	if (p > a->p + 1 && p < a->end && (*p == ':' || *p == ')')) {
		a->p = *p == ':' ? p + 1 : p;
		return *p == ')';
	}
	p = a->p + 1;
	if (p < a->end && (*p == '=' || *p == '!')) {
		a->p = p + 1;
		return 1;
	}
	if (p + 1 < a->end && *p == '<' && (p[1] == '=' || p[1] == '!')) {
		a->p = p + 2;
		return 1;
	}
	if (p < a->end && *p == '#') {
		while (p < a->end && *p != ')')
			p++;
		a->p = p;
		return 1;
	}
	if (p + 1 < a->end && *p == 'P' && p[1] == '<')
		p++;
	if (p < a->end && (*p == '<' || *p == '\'')) {
		char close = *p == '<' ? '>' : '\'';

		p++;
		while (p < a->end && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
		if (p < a->end && *p == close) {
			a->p = p + 1;
			return 0;
		}
	}
	a->fail = 1; /* options, recursion, conditions, callouts */
	return 0;
}

static void
analyze_group(struct an *a, struct node *n)
{
	int assertion;

	a->p++;
	if (++a->depth > LIT_DEPTH_MAX) {
		a->fail = 1;
		return;
	}
	assertion = group_kind(a);
	if (a->fail)
		return;
	analyze_alt(a, n);
	if (a->fail || a->p >= a->end || *a->p != ')') {
		a->fail = 1;
		return;
	}
	a->p++;
	a->depth--;
	if (assertion)
		node_str(n, "", 0); /* zero-width */
}

/* quantifier - parse one at a->p into min/max (-1: none); 0 if none */
static int
quantifier(struct an *a, long *min, long *max)
{
	const char *p = a->p;
	char *e;

	if (p >= a->end)
		return 0;
	if (*p == '?' || *p == '*' || *p == '+') {
		*min = *p == '+';
		*max = *p == '?' ? 1 : -1;
		p++;
	} else if (*p == '{') {
		/* strictly {n}, {n,} or {n,m}; anything else: give up */
		if (p + 1 >= a->end || !isdigit((unsigned char)p[1])) {
			a->fail = 1;
			return 0;
		}
		errno = 0;
		*min = strtol(p + 1, &e, 10);
		*max = *min;
		if (e < a->end && *e == ',') {
			e++;
			*max = -1;
			if (e < a->end && isdigit((unsigned char)*e))
				*max = strtol(e, &e, 10);
		}
		if (errno != 0 || e >= a->end || *e != '}') {
			a->fail = 1;
			return 0;
		}
		p = e + 1;
	} else
		return 0;
	if (p < a->end && (*p == '?' || *p == '+'))
		p++; /* lazy or possessive */
	a->p = p;
	return 1;
}

/* apply_quant - node n repeated min..max times */
static void
apply_quant(struct node *n, long min, long max)
{
	if (min == 1 && max == 1)
		return;
	if (max == 0) {
		node_str(n, "", 0);
	} else if (min == 0 && max == 1 && n->is_exact &&
	    lits_add(&n->exact, "", 0, LIT_EXACT_MAX) == 0) {
		lits_clear(&n->req); /* may match nothing */
	} else if (min == 0) {
		node_clear(n);
	} else {
		lits_clear(&n->exact); /* at least once: its set holds */
		n->is_exact = 0;
	}
}

static void
analyze_atom(struct an *a, struct node *n)
{
	char c = *a->p;

	switch (c) {
	case '(':
		analyze_group(a, n);
		break;
	case '[':
		skip_class(a);
		node_clear(n);
		break;
	case '.':
		a->p++;
		node_clear(n);
		break;
	case '^':
	case '$':
		a->p++;
		node_str(n, "", 0);
		break;
	case '\\':
		analyze_escape(a, n);
		break;
	case '*':
	case '+':
	case '?':
	case '{':
		a->fail = 1;
		break;
	default:
		c = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		a->p++;
		node_str(n, &c, 1);
		break;
	}
}

/* analyze_seq - atoms up to "|", ")" or the end */
static void
analyze_seq(struct an *a, struct node *out)
{
	struct lits tail = { NULL, 0 }, best = { NULL, 0 }, prod, copy;
	int all_exact = 1;

	(void)lits_add(&tail, "", 0, 1);
	while (!a->fail && a->p < a->end && *a->p != '|' && *a->p != ')') {
		struct node n = { { NULL, 0 }, 0, { NULL, 0 } };
		long min, max;

		analyze_atom(a, &n);
		if (!a->fail && quantifier(a, &min, &max))
			apply_quant(&n, min, max);
		if (n.is_exact && cross(&prod, &tail, &n.exact) == 0) {
			lits_clear(&tail);
			tail = prod;
		} else if (n.is_exact) {
			consider(&best, &tail);
			tail = n.exact;
			n.exact.s = NULL;
			n.exact.n = 0;
			all_exact = 0;
		} else {
			consider(&best, &tail);
			(void)lits_add(&tail, "", 0, 1);
			consider(&best, &n.req);
			all_exact = 0;
		}
		node_clear(&n);
	}
	copy.s = NULL;
	copy.n = 0;
	(void)lits_merge(&copy, &tail, LIT_EXACT_MAX);
	consider(&best, &copy);
	node_clear(out);
	out->req = best;
	if (all_exact) {
		out->exact = tail;
		out->is_exact = 1;
	} else
		lits_clear(&tail);
}

/* analyze_alt - branches separated by "|" */
static void
analyze_alt(struct an *a, struct node *out)
{
	int first = 1, req_ok = 1;

	node_clear(out);
	for (;;) {
		struct node b = { { NULL, 0 }, 0, { NULL, 0 } };

		analyze_seq(a, &b);
		if (first) {
			*out = b;
			first = 0;
		} else {
			if (out->is_exact &&
			    (!b.is_exact ||
			        lits_merge(&out->exact, &b.exact,
			            LIT_EXACT_MAX) < 0)) {
				lits_clear(&out->exact);
				out->is_exact = 0;
			}
			if (req_ok &&
			    (lits_score(&b.req) == 0 ||
			        lits_merge(&out->req, &b.req, LIT_REQ_MAX) < 0))
				req_ok = 0;
			node_clear(&b);
		}
		if (lits_score(&out->req) == 0)
			req_ok = 0;
		if (a->fail || a->p >= a->end || *a->p != '|')
			break;
		a->p++;
	}
	if (!req_ok)
		lits_clear(&out->req);
}

/*
 * analyze - the literal set of a pattern, into c->lits; none when the
 * pattern is extended (/x) or not understood.
 */
static void
analyze(struct cond *c, const char *re, size_t len, int extended)
{
	struct an a = { re, re + len, 0, 0 };
	struct node n = { { NULL, 0 }, 0, { NULL, 0 } };

	if (extended)
		return;
	analyze_alt(&a, &n);
	if (!a.fail && a.p == a.end && lits_score(&n.req) > 0) {
		c->lits = n.req.s;
		c->nlits = n.req.n;
		n.req.s = NULL;
		n.req.n = 0;
	}
	node_clear(&n);
}

/* ---- the prefilter automaton ---- */

static unsigned char
lower_ascii(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

struct pf_build {
	int32_t *go; /* trie: nstates * ncls, -1 none */
	unsigned nstates, size;
	struct {
		uint16_t bit;
		int32_t next;
	} * outs; /* own outputs as lists: out_head[s] -> outs[] */
	int32_t *out_head;
	size_t nouts, outs_size;
};

static int32_t
pf_new_state(struct pf_build *b, unsigned ncls)
{
	unsigned i;

	if (b->nstates == b->size) {
		b->size = b->size ? b->size * 2 : 64;
		b->go = og_reallocarray(
		    b->go, (size_t)b->size * ncls, sizeof(*b->go));
		b->out_head =
		    og_reallocarray(b->out_head, b->size, sizeof(*b->out_head));
	}
	for (i = 0; i < ncls; i++)
		b->go[(size_t)b->nstates * ncls + i] = -1;
	b->out_head[b->nstates] = -1;
	return (int32_t)b->nstates++;
}

/* pf_insert - a literal's prefix, for prefilter bit "bit", into the trie */
static void
pf_insert(struct pf_build *b, const struct prefilter *pf, const char *lit,
    uint16_t bit)
{
	int32_t st = 0, h;
	size_t i;

	for (i = 0; i < PREFILTER_LIT_LEN && lit[i] != '\0'; i++) {
		size_t k =
		    (size_t)st * pf->ncls + pf->cls[(unsigned char)lit[i]];

		if (b->go[k] < 0) {
			int32_t t = pf_new_state(b, pf->ncls);

			b->go[k] = t; /* b->go may have moved: k still holds */
		}
		st = b->go[k];
	}
	if (b->outs != NULL)
		for (h = b->out_head[st]; h >= 0; h = b->outs[h].next)
			if (b->outs[h].bit == bit)
				return;
	if (b->outs == NULL || b->nouts == b->outs_size) {
		b->outs_size = b->outs_size ? 2 * b->outs_size : 256;
		b->outs =
		    og_reallocarray(b->outs, b->outs_size, sizeof(*b->outs));
	}
	b->outs[b->nouts].bit = bit;
	b->outs[b->nouts].next = b->out_head[st];
	b->out_head[st] = (int32_t)b->nouts++;
}

/* pf_assign - give prefilter bits to patterns while the budget lasts */
static void
pf_assign(struct og_classifier *cl)
{
	struct prefilter *pf = &cl->pf;
	size_t i, j, k, chars = 0;
	unsigned char seen[256] = { 0 };

	pf->ncls = 1; /* class 0: bytes in no literal */
	for (i = 0; i < cl->nrules; i++)
		for (j = 0; j < cl->rules[i].nconds; j++) {
			struct cond *c = &cl->rules[i].conds[j];
			size_t need = 0;

			c->pf = -1;
			if (c->nlits == 0 || pf->nbits >= PREFILTER_MAX)
				continue;
			for (k = 0; k < c->nlits; k++)
				need += strnlen(c->lits[k], PREFILTER_LIT_LEN);
			if (chars + need >= PREFILTER_STATES_MAX - 1)
				continue;
			chars += need;
			c->pf = (int)pf->nbits++;
			for (k = 0; k < c->nlits; k++) {
				const unsigned char *s =
				    (const unsigned char *)c->lits[k];

				for (; *s != '\0'; s++)
					seen[*s] = 1;
			}
		}
	memset(pf->cls, 0, sizeof(pf->cls));
	for (i = 0; i < 256; i++)
		if (seen[i])
			pf->cls[i] = (unsigned char)pf->ncls++;
	for (i = 0; i < 256; i++)
		pf->cls[i] = pf->cls[lower_ascii((unsigned char)i)];
}

/* pf_links - failure links, the DFA on the trie's numbering, chains */
static int32_t *
pf_links(
    const struct prefilter *pf, const struct pf_build *b, uint16_t *out_next)
{
	size_t n = pf->ncls, qh = 0, qt = 0, s, c;
	uint32_t *queue = og_reallocarray(NULL, b->nstates, sizeof(*queue));
	uint16_t *fail = og_calloc(b->nstates, sizeof(*fail));
	int32_t *delta = og_reallocarray(NULL, b->nstates * n, sizeof(*delta));

	out_next[0] = PREFILTER_NONE;
	for (c = 0; c < n; c++) {
		int32_t t = b->go[c];

		delta[c] = t < 0 ? 0 : t;
		if (t > 0)
			queue[qt++] = (uint32_t)t;
	}
	while (qh < qt) {
		s = queue[qh++];
		out_next[s] =
		    b->out_head[fail[s]] >= 0 ? fail[s] : out_next[fail[s]];
		for (c = 0; c < n; c++) {
			int32_t t = b->go[s * n + c];

			if (t < 0) {
				delta[s * n + c] = delta[fail[s] * n + c];
				continue;
			}
			delta[s * n + c] = t;
			fail[t] = (uint16_t)delta[fail[s] * n + c];
			queue[qt++] = (uint32_t)t;
		}
	}
	og_free(queue);
	og_free(fail);
	return delta;
}

/* pf_finish - renumber (output states last), shift rows, flatten */
static void
pf_finish(struct prefilter *pf, struct pf_build *b)
{
	uint16_t *out_next =
	    og_reallocarray(NULL, b->nstates, sizeof(uint16_t));
	uint32_t *map = og_reallocarray(NULL, b->nstates, sizeof(uint32_t));
	uint32_t *inv = og_reallocarray(NULL, b->nstates, sizeof(uint32_t));
	int32_t *delta = pf_links(pf, b, out_next), h;
	size_t n = pf->ncls, s, c, k = 0, nout = 0, size = 0, stride;

	while ((1u << pf->shift) < pf->ncls)
		pf->shift++;
	stride = (size_t)1 << pf->shift;
	pf->nstates = b->nstates;
	for (s = 0; s < b->nstates; s++)
		if (b->out_head[s] < 0 && out_next[s] == PREFILTER_NONE)
			map[s] = (uint32_t)k++;
	pf->first_out = (unsigned)k;
	for (s = 0; s < b->nstates; s++)
		if (b->out_head[s] >= 0 || out_next[s] != PREFILTER_NONE)
			map[s] = (uint32_t)k++;
	pf->delta = og_calloc(b->nstates * stride, sizeof(*pf->delta));
	for (s = 0; s < b->nstates; s++)
		for (c = 0; c < n; c++)
			pf->delta[(size_t)map[s] * stride + c] =
			    (uint16_t)map[delta[s * n + c]];
	pf->out_start = og_reallocarray(
	    NULL, b->nstates - pf->first_out + 1, sizeof(uint32_t));
	for (s = 0; s < b->nstates; s++)
		inv[map[s]] = (uint32_t)s;
	pf->out_bit = NULL;
	for (k = pf->first_out; k < b->nstates; k++) {
		pf->out_start[k - pf->first_out] = (uint32_t)nout;
		for (s = inv[k]; s != PREFILTER_NONE; s = out_next[s])
			for (h = b->out_head[s]; h >= 0; h = b->outs[h].next) {
				if (nout == size) {
					size = size ? 2 * size : 256;
					pf->out_bit =
					    og_reallocarray(pf->out_bit, size,
					        sizeof(uint16_t));
				}
				pf->out_bit[nout++] = b->outs[h].bit;
			}
	}
	pf->out_start[b->nstates - pf->first_out] = (uint32_t)nout;
	og_free(delta);
	og_free(out_next);
	og_free(map);
	og_free(inv);
}

/* prefilter_build - after loading: the automaton for every literal */
static void
prefilter_build(struct og_classifier *cl)
{
	struct pf_build b = { NULL, 0, 0, NULL, NULL, 0, 0 };
	size_t i, j, k;

	pf_assign(cl);
	(void)pf_new_state(&b, cl->pf.ncls);
	for (i = 0; i < cl->nrules; i++)
		for (j = 0; j < cl->rules[i].nconds; j++) {
			struct cond *c = &cl->rules[i].conds[j];

			for (k = 0; k < c->nlits; k++) {
				if (c->pf >= 0)
					pf_insert(&b, &cl->pf, c->lits[k],
					    (uint16_t)c->pf);
				og_free(c->lits[k]);
			}
			c->lits = og_free(c->lits);
			c->nlits = 0;
		}
	pf_finish(&cl->pf, &b);
	og_free(b.go);
	og_free(b.out_head);
	og_free(b.outs);
}

static void
prefilter_free(struct prefilter *pf)
{
	og_free(pf->delta);
	og_free(pf->out_start);
	og_free(pf->out_bit);
}

/* prefilter_run - set the bit of every pattern whose literal is in text */
static void
prefilter_run(
    const struct prefilter *pf, const char *text, size_t len, uint64_t *hits)
{
	const uint16_t *delta = pf->delta;
	const unsigned char *cls = pf->cls;
	const unsigned shift = pf->shift, thr = pf->first_out;
	size_t i;
	unsigned s = 0;

	memset(hits, 0, ((pf->nbits + 63) / 64) * sizeof(*hits));
	for (i = 0; i < len; i++) {
		s = delta[(s << shift) + cls[(unsigned char)text[i]]];
		if (s >= thr) {
			uint32_t o = s - thr, k;

			for (k = pf->out_start[o]; k < pf->out_start[o + 1];
			     k++)
				hits[pf->out_bit[k] / 64] |= (uint64_t)1
				    << (pf->out_bit[k] % 64);
		}
	}
}

static int
compile_pattern(struct parser *ps, struct cond *c, const char *re, size_t len,
    const char *flags, size_t flen)
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
	c->src = og_strndup(re, len);
	c->caseless = (opts & PCRE2_CASELESS) != 0;
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
	if (c->field == FIELD_TEXT)
		analyze(c, re, len, extended);
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
		perr(
		    ps, "unknown %s \"%.*s\"", field_names[field], (int)len, v);
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
parse_values(struct parser *ps, struct cond *c, const char *p, const char *end)
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
		c->values =
		    og_reallocarray(c->values, c->nvalues + 1, sizeof(char *));
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
	r->conds = og_reallocarray(r->conds, r->nconds + 1, sizeof(*c));
	c = &r->conds[r->nconds++];
	memset(c, 0, sizeof(*c));
	c->pf = -1;
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
		og_free(r->conds[i].src);
		for (j = 0; j < r->conds[i].nlits; j++)
			og_free(r->conds[i].lits[j]);
		og_free(r->conds[i].lits);
		for (j = 0; j < r->conds[i].nvalues; j++)
			og_free(r->conds[i].values[j]);
		og_free(r->conds[i].values);
	}
	og_free(r->conds);
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
			(void)pcre2_pattern_info(
			    r->conds[i].re, PCRE2_INFO_CAPTURECOUNT, &cap);
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
			perr(ps,
			    "expected \"rule NAME\" (NAME of "
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
		if (cl->nrules == cl->rules_size) {
			cl->rules_size =
			    cl->rules_size ? cl->rules_size * 2 : 64;
			cl->rules = og_reallocarray(
			    cl->rules, cl->rules_size, sizeof(*cl->rules));
		}
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
og_classifier_parse(
    const char *name, const char *text, size_t len, struct og_strbuf *err)
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
	if ((cl->mctx = pcre2_match_context_create(NULL)) == NULL)
		og_fatal(EX_OSERR, "pcre2_match_context_create");
	(void)pcre2_set_match_limit(cl->mctx, MATCH_LIMIT);
	(void)pcre2_set_depth_limit(cl->mctx, DEPTH_LIMIT);
	(void)pcre2_set_heap_limit(cl->mctx, HEAP_LIMIT_KB);
	prefilter_build(cl);
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
		(void)og_strbuf_addf(
		    err, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	og_strbuf_init(&text, RULES_FILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (og_strbuf_addn(&text, chunk, n) < 0) {
			(void)og_strbuf_addf(err, "%s: larger than %d bytes\n",
			    path, RULES_FILE_MAX);
			goto out;
		}
	if (ferror(fp)) {
		(void)og_strbuf_addf(
		    err, "%s: read error: %s\n", path, strerror(errno));
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
	pcre2_match_context_free(cl->mctx);
	prefilter_free(&cl->pf);
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

/*
 * eval_re - run one pattern; on a match, note its named groups. A match
 * that gives up (a limit of the match context) counts as no match, as
 * the prefilter's "cannot match" does: both ways, ~ and !~ agree.
 */
static int
eval_re(const struct og_classifier *cl, const struct cond *c,
    struct og_reply *r, const char *subj, size_t slen, struct pending *pend,
    size_t *npend)
{
	pcre2_match_data *md = r->match;
	PCRE2_SIZE *ov;
	size_t i;
	int rc;

	if (subj == NULL)
		return c->op == OP_NOMATCH;
	rc = pcre2_match(c->re, (PCRE2_SPTR)subj, slen, 0, 0, md, cl->mctx);
	if (rc < 0)
		return c->op == OP_NOMATCH;
	if (c->op == OP_NOMATCH)
		return 0;
	ov = pcre2_get_ovector_pointer(md);
	for (i = 0; i < c->ncaps && *npend < CAPS_MAX * 2; i++) {
		unsigned g = c->caps[i].group;

		if (rc > 0 && (int)g >= rc)
			continue; /* rc 0: the ovector was too small */
		if (g >= pcre2_get_ovector_count(md) ||
		    ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
			continue;
		pend[*npend].field = c->caps[i].field;
		pend[*npend].base = subj;
		pend[*npend].off = ov[2 * g];
		pend[*npend].len = ov[2 * g + 1] - ov[2 * g];
		(*npend)++;
	}
	return 1;
}

/* absent - the prefilter proves that pattern c cannot match the text */
static int
absent(const struct cond *c, const uint64_t *hits)
{
	return c->field == FIELD_TEXT && c->pf >= 0 &&
	    (hits[c->pf / 64] & ((uint64_t)1 << (c->pf % 64))) == 0;
}

/*
 * eval_rule - all conditions of one rule, cheapest first: equality,
 * then the prefilter bits of every pattern, then the patterns.
 */
static int
eval_rule(const struct og_classifier *cl, const struct rule *ru,
    struct og_reply *r, const char *text, size_t len, const uint64_t *hits)
{
	struct pending pend[CAPS_MAX * 2];
	size_t npend = 0, i;

	for (i = 0; i < ru->nconds; i++) {
		const struct cond *c = &ru->conds[i];

		if (c->re == NULL && !eval_values(c, r->v[c->field]))
			return 0;
		if (c->re != NULL && absent(c, hits) && c->op == OP_MATCH)
			return 0;
	}
	for (i = 0; i < ru->nconds; i++) {
		const struct cond *c = &ru->conds[i];
		const char *subj;

		if (c->re == NULL || absent(c, hits))
			continue; /* done above; an absent !~ holds */
		subj = c->field == FIELD_TEXT ? text : r->v[c->field];
		if (!eval_re(cl, c, r, subj,
		        subj == text ? len : (subj ? strlen(subj) : 0), pend,
		        &npend))
			return 0;
	}
	for (i = 0; i < npend; i++)
		put(r, pend[i].field, pend[i].base + pend[i].off, pend[i].len);
	for (i = 0; i < ru->nsets; i++)
		put(r, ru->sets[i].field, ru->sets[i].value,
		    strlen(ru->sets[i].value));
	return 1;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/*
 * unqmail - qmail logs write a reply's spaces as underscores
 * ("Remote_host_said:_550_5.7.1_..."): in the copy at out, a word with
 * at least four underscores and no white space gets its underscores
 * back as spaces.
 */
static void
unqmail(char *out, const char *text, size_t len)
{
	size_t i, start = 0, unders = 0, k;

	memcpy(out, text, len);
	if (memchr(text, '_', len) == NULL)
		return;
	for (i = 0; i <= len; i++) {
		if (i == len || is_space((unsigned char)text[i])) {
			if (unders >= 4)
				for (k = start; k < i; k++)
					if (out[k] == '_')
						out[k] = ' ';
			start = i + 1;
			unders = 0;
		} else if (text[i] == '_')
			unders++;
	}
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * unjson - ESP events are JSON, and JSON encoders escape characters a
 * reply is full of: PHP writes "https:\/\/aka.ms\/postmaster", .NET and
 * Go write "weren\u0027t" and "\u003cbob@example.org\u003e". "\/" and
 * "\u00XX" for printable ASCII other than the quote and the backslash
 * are read as the character they stand for; everything else stays.
 */
static size_t
unjson(char *s, size_t len)
{
	size_t i, n;

	if (memchr(s, '\\', len) == NULL)
		return len;
	for (i = n = 0; i < len; i++) {
		int hi, lo, c;

		if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\\') {
			s[n++] = s[i++]; /* an escaped backslash stays */
			s[n++] = s[i];
		} else if (s[i] == '\\' && i + 1 < len && s[i + 1] == '/') {
			s[n++] = '/';
			i++;
		} else if (s[i] == '\\' && i + 5 < len && s[i + 1] == 'u' &&
		    s[i + 2] == '0' && s[i + 3] == '0' &&
		    (hi = hexval((unsigned char)s[i + 4])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 5])) >= 0 &&
		    (c = hi * 16 + lo) >= 0x20 && c < 0x7f && c != '"' &&
		    c != '\\') {
			s[n++] = (char)c;
			i += 5;
		} else
			s[n++] = s[i];
	}
	return n;
}

/* squeeze - runs of white space become one space, none at the ends */
static size_t
squeeze(char *s, size_t len)
{
	size_t i = 0, n;

	/* the common case: single spaces between words, nothing to do */
	while (i < len &&
	    ((unsigned char)s[i] > ' ' ||
	        (s[i] == ' ' && i > 0 && i + 1 < len &&
	            (unsigned char)s[i + 1] > ' ')))
		i++;
	if (i == len)
		return len;
	for (n = i; i < len; i++) {
		if ((unsigned char)s[i] > ' ' || !is_space((unsigned char)s[i]))
			s[n++] = s[i];
		else if (n > 0 && s[n - 1] != ' ')
			s[n++] = ' ';
	}
	if (n > 0 && s[n - 1] == ' ')
		n--;
	return n;
}

/* code_at - a reply code "[245]DD" at s[i], not inside a word/number */
static int
code_at(const char *s, size_t len, size_t i)
{
	return i + 4 <= len && s[i] >= '2' && s[i] <= '5' &&
	    isdigit((unsigned char)s[i + 1]) &&
	    isdigit((unsigned char)s[i + 2]) &&
	    (i == 0 || (!isalnum((unsigned char)s[i - 1]) && s[i - 1] != '.'));
}

/* enhanced_len - length of an enhanced code "5.7.1" at s[i], or 0 */
static size_t
enhanced_len(const char *s, size_t len, size_t i)
{
	size_t j = i, part, digits;

	if (j >= len || s[j] < '2' || s[j] > '5')
		return 0;
	j++;
	for (part = 0; part < 2; part++) {
		if (j >= len || s[j] != '.')
			return 0;
		j++;
		for (digits = 0;
		     j < len && isdigit((unsigned char)s[j]) && digits < 3;
		     digits++)
			j++;
		if (digits == 0)
			return 0;
	}
	if (j < len && (isdigit((unsigned char)s[j]) || s[j] == '.'))
		return 0;
	return j - i;
}

/*
 * unfold - a multi-line reply joined on one line repeats its code on
 * every line ("421-4.7.28 Our system has detected an unusual rate of
 * 421-4.7.28 unsolicited mail ... 421 4.7.28 review ..."). When the
 * first reply code is such a "DDD-" line, later " DDD-E.E.E " and
 * " DDD E.E.E " (" DDD-" without an enhanced code) go, so that the
 * text reads as one sentence.
 */
static size_t
unfold(char *s, size_t len)
{
	const char *dash = s;
	size_t i, j, n, elen, mark;

	for (;;) {
		dash = memchr(dash, '-', len - (size_t)(dash - s));
		if (dash == NULL)
			return len;
		i = (size_t)(dash - s);
		if (i >= 3 && code_at(s, len, i - 3))
			break;
		dash++;
	}
	i -= 3;
	elen = enhanced_len(s, len, i + 4);
	mark = i;
	for (j = n = i + 4 + elen; j < len; j++) {
		size_t tok = 0;

		if (s[j - 1] == ' ' && j + 4 <= len &&
		    memcmp(s + j, s + mark, 3) == 0) {
			if (elen == 0 && s[j + 3] == '-')
				tok = 4;
			else if (elen > 0 &&
			    (s[j + 3] == '-' || s[j + 3] == ' ') &&
			    j + 4 + elen <= len &&
			    memcmp(s + j + 4, s + mark + 4, elen) == 0 &&
			    (j + 4 + elen == len || s[j + 4 + elen] == ' '))
				tok = 4 + elen + (j + 4 + elen < len);
		}
		if (tok > 0) {
			j += tok - 1;
			continue;
		}
		s[n++] = s[j];
	}
	if (n > 0 && s[n - 1] == ' ')
		n--;
	return n;
}

/*
 * normalize - the text the rules see, in r->norm: qmail's underscores
 * and JSON's escapes undone, white space squeezed, multi-line replies
 * unfolded.
 */
static size_t
normalize(struct og_reply *r, const char *text, size_t len)
{
	unqmail(r->norm, text, len);
	len = unjson(r->norm, len);
	len = squeeze(r->norm, len);
	len = unfold(r->norm, len);
	r->norm[len] = '\0';
	return len;
}

void
og_classify(const struct og_classifier *cl, struct og_reply *r,
    const char *text, size_t len)
{
	uint64_t hits[PREFILTER_MAX / 64];
	unsigned have = 0, all = (1u << OG_RF_NFIELDS) - 1;
	size_t i;

	/* a new classifier may sit where a freed one was: check the size */
	if (r->owner != cl || r->match == NULL ||
	    pcre2_get_ovector_count(r->match) < cl->max_ovec) {
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
	/* r->lower is not used any more: r->lower_size sizes r->norm */
	if (r->lower_size < len + 1) {
		r->norm = og_realloc(r->norm, len + 1);
		r->lower_size = len + 1;
	}
	len = normalize(r, text, len);
	text = r->norm;
	prefilter_run(&cl->pf, text, len, hits);
	for (i = 0; i < cl->nrules && have != all; i++) {
		const struct rule *ru = &cl->rules[i];

		if ((ru->fills & ~have) == 0)
			continue; /* nothing left for this rule to set */
		if (eval_rule(cl, ru, r, text, len, hits)) {
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

int
og_classifier_rule(
    const struct og_classifier *cl, size_t i, struct og_rule_view *out)
{
	const struct rule *r;
	size_t k;

	if (i >= cl->nrules)
		return OG_NOTFOUND;
	r = &cl->rules[i];
	memset(out, 0, sizeof(*out));
	out->name = r->name;
	out->line = r->line;
	out->nconds =
	    r->nconds < OG_RULE_VIEW_MAX ? r->nconds : OG_RULE_VIEW_MAX;
	for (k = 0; k < out->nconds; k++) {
		const struct cond *c = &r->conds[k];

		out->conds[k].field = c->field == FIELD_TEXT ? -1 : c->field;
		out->conds[k].negated = c->op == OP_NOMATCH || c->op == OP_NE;
		out->conds[k].pattern = c->re != NULL ? c->src : NULL;
		out->conds[k].caseless = c->caseless;
		out->conds[k].values = (const char *const *)c->values;
		out->conds[k].nvalues = c->nvalues;
	}
	out->nsets = r->nsets < OG_RULE_VIEW_MAX ? r->nsets : OG_RULE_VIEW_MAX;
	for (k = 0; k < out->nsets; k++) {
		out->sets[k].field = r->sets[k].field;
		out->sets[k].value = r->sets[k].value;
	}
	return OG_FOUND;
}

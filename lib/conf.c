/*
 * conf.c - parse outguard.conf through the schema table
 * DESCRIPTION: the file is read whole (at most OG_CONF_FILE_MAX bytes),
 *	split into logical lines (a line that begins with white space
 *	continues the previous one, as in Postfix main.cf), and each
 *	"name = value" is checked against the schema. Every error is
 *	collected, so that an admin sees all of them in one -n run.
 *	Values are converted once, at load; the result is immutable.
 * DIAGNOSTICS: "FILE:LINE: name: reason" per error in the err buffer.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#define CONF_ERR_MAX 100 /* stop collecting errors past this many */
#define CONF_LIST_MAX 10000

struct conf_value {
	char *raw; /* value text, "" when unset */
	unsigned line; /* 0: the default */
	unsigned long long num; /* UINT, DURATION, BOOL */
	struct og_table *table; /* TABLE */
	char **words; /* LIST */
	size_t nwords;
};

struct og_conf {
	char *path;
	size_t n;
	struct conf_value *v; /* parallel to the schema */
};

struct conf_error {
	unsigned line;
	unsigned seq;
	char *msg;
};

struct parse {
	const char *path;
	struct og_strbuf *err;
	unsigned nerr;
	struct conf_error errs[CONF_ERR_MAX]; /* reported sorted by line */
};

const char *
og_conf_default_path(void)
{
	return OG_SYSCONFDIR "/outguard.conf";
}

static void OG_PRINTF(4, 5) perr(
    struct parse *ps, unsigned line, const char *name, const char *fmt, ...)
{
	struct og_strbuf m;
	va_list ap;

	if (ps->nerr >= CONF_ERR_MAX) {
		ps->nerr++;
		return;
	}
	og_strbuf_init(&m, 0);
	if (line > 0)
		(void)og_strbuf_addf(&m, "%s:%u: ", ps->path, line);
	else
		(void)og_strbuf_addf(&m, "%s: ", ps->path);
	if (name != NULL)
		(void)og_strbuf_addf(
		    &m, "%s%s: ", name, line > 0 ? "" : " (default)");
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(&m, fmt, ap);
	va_end(ap);
	(void)og_strbuf_addc(&m, '\n');
	ps->errs[ps->nerr].line = line;
	ps->errs[ps->nerr].seq = ps->nerr;
	ps->errs[ps->nerr].msg = og_strbuf_steal(&m);
	ps->nerr++;
}

static int
error_cmp(const void *a, const void *b)
{
	const struct conf_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* flush_errors - append the collected errors to err in line order */
static void
flush_errors(struct parse *ps)
{
	unsigned i, n = ps->nerr < CONF_ERR_MAX ? ps->nerr : CONF_ERR_MAX;

	qsort(ps->errs, n, sizeof(ps->errs[0]), error_cmp);
	for (i = 0; i < n; i++) {
		(void)og_strbuf_adds(ps->err, ps->errs[i].msg);
		og_free(ps->errs[i].msg);
	}
	if (ps->nerr > CONF_ERR_MAX)
		(void)og_strbuf_addf(ps->err, "%s: %u more errors not shown\n",
		    ps->path, ps->nerr - CONF_ERR_MAX);
}

static int
spec_index(const char *name, size_t len)
{
	const struct og_conf_spec *s = og_conf_schema();
	int i;

	for (i = 0; s[i].name != NULL; i++)
		if (strlen(s[i].name) == len &&
		    memcmp(s[i].name, name, len) == 0)
			return i;
	return -1;
}

/* quoted - a value quoted and escaped for an error message */
static const char *
quoted(struct og_strbuf *tmp, const char *v)
{
	og_strbuf_reset(tmp);
	og_str_quote(tmp, v, strlen(v) > 200 ? 200 : strlen(v));
	return og_strbuf_str(tmp);
}

/* choice_ok - is word one of the "a|b|c" choices? */
static int
choice_ok(const char *choices, const char *word, size_t wlen)
{
	const char *p = choices, *bar;

	while (p != NULL && *p) {
		size_t n;

		bar = strchr(p, '|');
		n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == wlen && memcmp(p, word, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

static void
split_words(struct conf_value *cv, const char *s)
{
	size_t cap = 0;

	while (*s) {
		size_t n;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		n = strcspn(s, ", \t\r\n");
		if (cv->nwords == cap) {
			cap = cap ? cap * 2 : 8;
			cv->words =
			    og_reallocarray(cv->words, cap + 1, sizeof(char *));
		}
		cv->words[cv->nwords++] = og_strndup(s, n);
		cv->words[cv->nwords] = NULL;
		s += n;
		if (cv->nwords > CONF_LIST_MAX)
			break;
	}
}

static int
convert_table(struct parse *ps, const struct og_conf_spec *sp,
    struct conf_value *cv, struct og_strbuf *tmp)
{
	struct og_strbuf terr;
	const char *colon = strchr(cv->raw, ':');

	if (colon == NULL || !og_table_valid_type(cv->raw)) {
		perr(ps, cv->line, sp->name,
		    "unknown table type in %s (expected %s)",
		    quoted(tmp, cv->raw), sp->choices);
		return -1;
	}
	if (sp->choices != NULL &&
	    !choice_ok(sp->choices, cv->raw, (size_t)(colon - cv->raw))) {
		perr(ps, cv->line, sp->name,
		    "table type %.*s is not allowed here (expected %s)",
		    (int)(colon - cv->raw), cv->raw, sp->choices);
		return -1;
	}
	og_strbuf_init(&terr, 4096);
	cv->table = og_table_open(cv->raw, 0, &terr);
	if (cv->table == NULL)
		perr(ps, cv->line, sp->name, "%s", og_strbuf_str(&terr));
	og_strbuf_release(&terr);
	return cv->table ? 0 : -1;
}

/* convert - check one value against its schema row and convert it */
static int
convert(struct parse *ps, const struct og_conf_spec *sp, struct conf_value *cv)
{
	struct og_strbuf tmp, verr;
	unsigned long long n;
	int b, r = 0;
	size_t i;

	og_strbuf_init(&tmp, 4096);
	og_strbuf_init(&verr, 4096);
	if (*cv->raw == '\0' && sp->type != OG_CONF_BOOL &&
	    sp->type != OG_CONF_UINT && sp->type != OG_CONF_DURATION &&
	    sp->type != OG_CONF_ENUM)
		goto out; /* empty text, table or list: unset */
	switch (sp->type) {
	case OG_CONF_STR:
		break;
	case OG_CONF_UINT:
		if (og_parse_uint(cv->raw, sp->min, sp->max, &n) < 0) {
			perr(ps, cv->line, sp->name,
			    "expected a whole number from %llu to %llu, got %s",
			    sp->min, sp->max, quoted(&tmp, cv->raw));
			r = -1;
		} else
			cv->num = n;
		break;
	case OG_CONF_DURATION:
		if (og_parse_duration(cv->raw, &n) < 0 || n < sp->min ||
		    n > sp->max) {
			perr(ps, cv->line, sp->name,
			    "expected a duration from %llus to %llus "
			    "(units s, m, h, d, w), got %s",
			    sp->min, sp->max, quoted(&tmp, cv->raw));
			r = -1;
		} else
			cv->num = n;
		break;
	case OG_CONF_BOOL:
		if (og_parse_bool(cv->raw, &b) < 0) {
			perr(ps, cv->line, sp->name,
			    "expected yes or no, got %s",
			    quoted(&tmp, cv->raw));
			r = -1;
		} else
			cv->num = (unsigned long long)b;
		break;
	case OG_CONF_ENUM:
		if (!choice_ok(sp->choices, cv->raw, strlen(cv->raw))) {
			perr(ps, cv->line, sp->name,
			    "expected one of %s, got %s", sp->choices,
			    quoted(&tmp, cv->raw));
			r = -1;
		}
		break;
	case OG_CONF_TABLE:
		r = convert_table(ps, sp, cv, &tmp);
		break;
	case OG_CONF_LIST:
		split_words(cv, cv->raw);
		if ((sp->max > 0 && cv->nwords > sp->max) ||
		    cv->nwords > CONF_LIST_MAX) {
			perr(ps, cv->line, sp->name,
			    "too many entries (at most %llu)",
			    sp->max > 0 ? sp->max : CONF_LIST_MAX);
			r = -1;
			goto out;
		}
		for (i = 0; sp->validate != NULL && i < cv->nwords; i++) {
			og_strbuf_reset(&verr);
			if (sp->validate(cv->words[i], &verr) < 0) {
				perr(ps, cv->line, sp->name, "%s: %s",
				    quoted(&tmp, cv->words[i]),
				    og_strbuf_str(&verr));
				r = -1;
			}
		}
		goto out;
	}
	if (r == 0 && sp->validate != NULL) {
		/*
		 * The store spec is not repeated: a (refused) password in
		 * it must not reach a log or a terminal. Its validator names
		 * what is wrong.
		 */
		if (sp->validate(cv->raw, &verr) < 0) {
			if (strcmp(sp->name, "store") == 0)
				perr(ps, cv->line, sp->name, "%s",
				    og_strbuf_str(&verr));
			else
				perr(ps, cv->line, sp->name, "%s: %s",
				    quoted(&tmp, cv->raw),
				    og_strbuf_str(&verr));
			r = -1;
		}
	}
out:
	og_strbuf_release(&tmp);
	og_strbuf_release(&verr);
	return r;
}

/* trim - a span without leading and trailing white space */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* setting - one logical line "name = value" starting at line lineno */
static void
setting(struct parse *ps, struct og_conf *cf, const char *s, size_t len,
    unsigned lineno)
{
	struct og_strbuf tmp;
	const char *eq, *val;
	size_t nlen, vlen;
	int idx;

	og_strbuf_init(&tmp, 4096);
	eq = memchr(s, '=', len);
	nlen = eq ? (size_t)(eq - s) : len;
	trim(&s, &nlen);
	if (eq == NULL || nlen == 0) {
		perr(ps, lineno, NULL, "expected \"name = value\", got %s",
		    (og_str_quote(&tmp, s, len > 80 ? 80 : len),
		        og_strbuf_str(&tmp)));
		goto out;
	}
	if ((idx = spec_index(s, nlen)) < 0) {
		perr(ps, lineno, NULL, "unknown setting %s",
		    (og_str_quote(&tmp, s, nlen > 80 ? 80 : nlen),
		        og_strbuf_str(&tmp)));
		goto out;
	}
	if (cf->v[idx].line != 0) {
		perr(ps, lineno, og_conf_schema()[idx].name,
		    "set again (first set at line %u)", cf->v[idx].line);
		goto out;
	}
	val = eq + 1;
	vlen = len - (size_t)(val - s);
	trim(&val, &vlen);
	if (memchr(val, '\0', vlen) != NULL) {
		perr(ps, lineno, og_conf_schema()[idx].name,
		    "value contains a NUL byte");
		goto out;
	}
	cf->v[idx].raw = og_strndup(val, vlen);
	cf->v[idx].line = lineno;
out:
	og_strbuf_release(&tmp);
}

/* parse_text - split text into logical lines and hand each to setting() */
static void
parse_text(struct parse *ps, struct og_conf *cf, const char *text, size_t len)
{
	struct og_strbuf logical;
	const char *p = text, *end = text + len;
	unsigned lineno = 0, start = 0;

	og_strbuf_init(&logical, OG_CONF_LINE_MAX);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q = p;
		size_t qn = n;

		lineno++;
		trim(&q, &qn);
		if (qn == 0 || *q == '#') {
			/* blank and comment lines are ignored */
		} else if (isspace((unsigned char)*p)) {
			if (start == 0)
				perr(ps, lineno, NULL,
				    "continuation line without a setting "
				    "before it");
			else if (og_strbuf_addc(&logical, ' ') < 0 ||
			    og_strbuf_addn(&logical, q, qn) < 0)
				perr(ps, start, NULL,
				    "logical line longer than %d bytes",
				    OG_CONF_LINE_MAX);
		} else {
			if (start != 0)
				setting(
				    ps, cf, logical.data, logical.len, start);
			og_strbuf_reset(&logical);
			start = lineno;
			if (og_strbuf_addn(&logical, q, qn) < 0) {
				perr(ps, lineno, NULL,
				    "line longer than %d bytes",
				    OG_CONF_LINE_MAX);
				start = 0;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (start != 0)
		setting(ps, cf, logical.data, logical.len, start);
	og_strbuf_release(&logical);
}

/* read_file - the whole file into buf; -1 with a message in ps */
static int
read_file(struct parse *ps, FILE *fp, struct og_strbuf *buf)
{
	char chunk[8192];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (og_strbuf_addn(buf, chunk, n) < 0) {
			perr(ps, 0, NULL, "file larger than %d bytes",
			    OG_CONF_FILE_MAX);
			return -1;
		}
	}
	if (ferror(fp)) {
		perr(ps, 0, NULL, "read error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct og_conf *
og_conf_load(const char *path, struct og_strbuf *err)
{
	const struct og_conf_spec *sp = og_conf_schema();
	struct parse *ps = og_calloc(1, sizeof(*ps));
	struct og_conf *cf;
	struct og_strbuf text;
	FILE *fp;
	size_t i;
	int missing_ok = (path == NULL);

	if (path == NULL)
		path = og_conf_default_path();
	ps->path = path;
	ps->err = err;
	cf = og_calloc(1, sizeof(*cf));
	cf->path = og_strdup(path);
	for (cf->n = 0; sp[cf->n].name != NULL; cf->n++)
		;
	cf->v = og_calloc(cf->n, sizeof(*cf->v));
	og_strbuf_init(&text, OG_CONF_FILE_MAX);
	if ((fp = fopen(path, "re")) == NULL) {
		if (!(missing_ok && errno == ENOENT))
			perr(ps, 0, NULL, "cannot open: %s", strerror(errno));
	} else {
		if (read_file(ps, fp, &text) == 0)
			parse_text(ps, cf, og_strbuf_str(&text), text.len);
		(void)fclose(fp);
	}
	og_strbuf_release(&text);
	for (i = 0; i < cf->n; i++) {
		if (cf->v[i].raw == NULL)
			cf->v[i].raw = og_strdup(sp[i].def ? sp[i].def : "");
		(void)convert(ps, &sp[i], &cf->v[i]);
	}
	flush_errors(ps);
	i = ps->nerr;
	og_free(ps);
	if (i > 0)
		return og_conf_free(cf);
	return cf;
}

struct og_conf *
og_conf_free(struct og_conf *cf)
{
	size_t i, j;

	if (cf == NULL)
		return NULL;
	for (i = 0; i < cf->n; i++) {
		og_free(cf->v[i].raw);
		og_table_free(cf->v[i].table);
		for (j = 0; j < cf->v[i].nwords; j++)
			og_free(cf->v[i].words[j]);
		og_free(cf->v[i].words);
	}
	og_free(cf->v);
	og_free(cf->path);
	return og_free(cf);
}

const char *
og_conf_path(const struct og_conf *cf)
{
	return cf->path;
}

/* value - the slot of name, checking its type */
static const struct conf_value *
value(const struct og_conf *cf, const char *name, int type1, int type2)
{
	int idx = spec_index(name, strlen(name));

	if (idx < 0)
		og_panic("og_conf: no setting named %s", name);
	if ((int)og_conf_schema()[idx].type != type1 &&
	    (int)og_conf_schema()[idx].type != type2)
		og_panic("og_conf: %s read with the wrong type", name);
	return &cf->v[idx];
}

const char *
og_conf_str(const struct og_conf *cf, const char *name)
{
	const struct conf_value *v = value(cf, name, OG_CONF_STR, OG_CONF_ENUM);

	return *v->raw ? v->raw : NULL;
}

unsigned long long
og_conf_uint(const struct og_conf *cf, const char *name)
{
	return value(cf, name, OG_CONF_UINT, OG_CONF_DURATION)->num;
}

int
og_conf_bool(const struct og_conf *cf, const char *name)
{
	return value(cf, name, OG_CONF_BOOL, OG_CONF_BOOL)->num != 0;
}

const struct og_table *
og_conf_table(const struct og_conf *cf, const char *name)
{
	return value(cf, name, OG_CONF_TABLE, OG_CONF_TABLE)->table;
}

const char *const *
og_conf_list(const struct og_conf *cf, const char *name, size_t *n)
{
	const struct conf_value *v =
	    value(cf, name, OG_CONF_LIST, OG_CONF_LIST);

	*n = v->nwords;
	return v->nwords ? (const char *const *)v->words : NULL;
}

unsigned
og_conf_line(const struct og_conf *cf, const char *name)
{
	int idx = spec_index(name, strlen(name));

	if (idx < 0)
		og_panic("og_conf: no setting named %s", name);
	return cf->v[idx].line;
}

void
og_conf_print(const struct og_conf *cf, FILE *fp, int only_set)
{
	const struct og_conf_spec *sp = og_conf_schema();
	size_t i;

	for (i = 0; i < cf->n; i++) {
		if (only_set && cf->v[i].line == 0)
			continue;
		(void)fprintf(fp, "%s =%s%s\n", sp[i].name,
		    *cf->v[i].raw ? " " : "", cf->v[i].raw);
	}
}

const char *
og_conf_hostname(const struct og_conf *cf, char *buf, size_t size)
{
	const char *h = og_conf_str(cf, "myhostname");

	if (h != NULL)
		og_strlcpy(buf, h, size);
	else if (gethostname(buf, size) < 0)
		og_strlcpy(buf, "localhost", size);
	buf[size - 1] = '\0';
	return buf;
}

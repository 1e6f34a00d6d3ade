/*
 * qr_fmt.c - what outguard-queue-report's report subcommands share
 * DESCRIPTION: see qr_fmt.h. Tables keep their cells already made safe
 *	(qr_text_add()) and measured in columns, one per UTF-8 character:
 *	the text is mail addresses, codes and replies, where wide and
 *	combining characters are rare enough not to warrant a wcwidth()
 *	table. Ages and times are UTC and come from og_now(), so the
 *	golden tests' OG_FAKE_NOW fixes every line.
 * DIAGNOSTICS: see qr_fmt.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "qr.h"
#include "qr_fmt.h"
#include "store.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

/* ---- options ---- */

void
qr_opts_init(struct qr_opts *o, int64_t default_since)
{
	memset(o, 0, sizeof(*o));
	o->now = og_now();
	o->since = default_since > 0 && o->now > default_since
	    ? o->now - default_since
	    : 0;
}

int
qr_parse_since(const char *s, int64_t now, int64_t *out)
{
	unsigned long long v;
	struct tm tm;
	const char *end;

	if (*s == '@' && og_parse_uint(s + 1, 0, INT64_MAX, &v) == 0) {
		*out = (int64_t)v;
		return 0;
	}
	if (og_parse_duration(s, &v) == 0) {
		*out = (int64_t)v < now ? now - (int64_t)v : 0;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end != NULL && *end == '\0' && timegm(&tm) >= 0) {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	og_warnx("--since %.64s: expected a duration back from now (24h, "
	         "7d), YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or @UNIXTIME",
	    s);
	return -1;
}

int
qr_identity_norm(const char *in, char *out, size_t size)
{
	if (strchr(in, ':') != NULL && strlen(in) < size) {
		og_strlcpy(out, in, size);
		og_lowercase(out);
		if (strncmp(out, "sasl:", 5) == 0) /* logins keep their case */
			og_strlcpy(out + 5, in + 5, size - 5);
		if (og_store_identity_valid(out))
			return 0;
	}
	og_warnx("\"%.100s\" is no valid identity: use sasl:LOGIN, "
	         "sender:ADDRESS, client:IP[/LEN], uid:N or provider:NAME",
	    in);
	return -1;
}

int
qr_provider_valid(const char *p)
{
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n >= 1 && n <= 64 && p[n] == '\0';
}

int
qr_opt_common(struct qr_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case QR_OPT_JSON:
		o->json = 1;
		return 1;
	case QR_OPT_SINCE:
		if (qr_parse_since(arg, o->now, &o->since) < 0)
			return -1;
		o->since_arg = arg;
		return 1;
	case QR_OPT_PROVIDER:
		if (!qr_provider_valid(arg)) {
			og_warnx("--provider %.64s: expected a provider name "
			         "as in provider_domains ([a-z0-9-])",
			    arg);
			return -1;
		}
		o->provider = arg;
		return 1;
	default:
		return 0;
	}
}

int
qr_ip_norm(const char *ip, char *out, size_t size)
{
	unsigned char bin[16];
	int af = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(af, ip, bin) != 1 ||
	    inet_ntop(af, bin, out, (socklen_t)size) == NULL)
		return -1;
	return 0;
}

int
qr_in_net(const char *ip, const char *net)
{
	unsigned char a[16], b[16];
	char buf[64];
	const char *slash = strchr(net, '/');
	unsigned long long len;
	size_t n = slash ? (size_t)(slash - net) : strlen(net);
	int fam, bits;

	if (ip == NULL || n >= sizeof(buf))
		return 0;
	memcpy(buf, net, n);
	buf[n] = '\0';
	fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, buf, b) != 1 || inet_pton(fam, ip, a) != 1)
		return 0;
	bits = fam == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (og_parse_uint(
		        slash + 1, 0, (unsigned long long)bits, &len) < 0)
			return 0;
		bits = (int)len;
	}
	if (memcmp(a, b, (size_t)bits / 8) != 0)
		return 0;
	return bits % 8 == 0 ||
	    ((a[bits / 8] ^ b[bits / 8]) & (0xff << (8 - bits % 8))) == 0;
}

/* ---- text ---- */

const char *
qr_ago(int64_t now, int64_t t, char *buf, size_t size)
{
	if (t == 0) {
		og_strlcpy(buf, "-", size);
		return buf;
	}
	return og_age(now - t, buf, size);
}

const char *
qr_iso(int64_t t, char *buf, size_t size)
{
	if (t == 0) {
		og_strlcpy(buf, "-", size);
		return buf;
	}
	return og_time_iso(t, buf, size);
}

size_t
qr_text_cols(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), cols = 0, len;

	while (n > 0) {
		len = og_utf8_len(p, n);
		if (len == 0)
			len = 1; /* shown as one '?' */
		p += len;
		n -= len;
		cols++;
	}
	return cols;
}

void
qr_text_add(
    struct og_strbuf *sb, const char *s, size_t max_cols, int newlines_ok)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), len, cols = 0;
	int cut = max_cols > 0 && qr_text_cols((const char *)p) > max_cols;
	size_t keep = cut ? (max_cols > 3 ? max_cols - 3 : max_cols) : 0;

	while (n > 0 && (!cut || cols < keep)) {
		len = og_utf8_len(p, n);
		if (len == 0 ||
		    (len == 1 && (*p < 0x20 || *p == 0x7f) &&
		        !(newlines_ok && *p == '\n'))) {
			/* a tab is a space; other control bytes a '?' */
			(void)og_strbuf_addc(sb, *p == '\t' ? ' ' : '?');
			len = 1;
		} else
			(void)og_strbuf_addn(sb, p, len);
		p += len;
		n -= len;
		cols++;
	}
	if (cut && max_cols > 3)
		(void)og_strbuf_adds(sb, "...");
}

void
qr_puts_safe(FILE *fp, const char *s, int newlines_ok)
{
	struct og_strbuf sb;

	og_strbuf_init(&sb, 0);
	qr_text_add(&sb, s, 0, newlines_ok);
	(void)fputs(og_strbuf_str(&sb), fp);
	og_strbuf_release(&sb);
}

void
qr_wrap(FILE *fp, const char *first, const char *rest, const char *text,
    size_t width)
{
	struct og_strbuf safe, line;
	const char *p, *end;
	size_t cols, wcols, room;
	char *w;
	int fresh = 1;

	og_strbuf_init(&safe, 0);
	og_strbuf_init(&line, 0);
	qr_text_add(&safe, text, 0, 0);
	(void)og_strbuf_adds(&line, first);
	cols = qr_text_cols(first);
	for (p = og_strbuf_str(&safe); *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, " ");
		w = og_strndup(p, (size_t)(end - p));
		wcols = qr_text_cols(w);
		if (!fresh && cols + 1 + wcols > width) {
			(void)fprintf(fp, "%s\n", og_strbuf_str(&line));
			og_strbuf_reset(&line);
			(void)og_strbuf_adds(&line, rest);
			cols = qr_text_cols(rest);
			fresh = 1;
		}
		if (!fresh) {
			(void)og_strbuf_addc(&line, ' ');
			cols++;
		}
		/* a word longer than a line is cut, with "..." */
		room = width > cols + 4 ? width - cols : 4;
		qr_text_add(&line, w, wcols > room ? room : 0, 0);
		cols += wcols > room ? room : wcols;
		fresh = 0;
		og_free(w);
	}
	(void)fprintf(fp, "%s\n", og_strbuf_str(&line));
	og_strbuf_release(&safe);
	og_strbuf_release(&line);
}

/* ---- tables ---- */

struct qr_table {
	size_t ncols, indent;
	const char *names[QR_TABLE_COLS];
	unsigned flags[QR_TABLE_COLS];
	char **cells; /* nrows * ncols, already safe */
	size_t nrows, cap;
};

struct qr_table *
qr_table_new(size_t ncols, const char *const *names, const unsigned *flags,
    size_t indent)
{
	struct qr_table *t;
	size_t i;

	if (ncols == 0 || ncols > QR_TABLE_COLS)
		og_panic("qr_table_new: %zu columns", ncols);
	t = og_calloc(1, sizeof(*t));
	t->ncols = ncols;
	t->indent = indent;
	for (i = 0; i < ncols; i++) {
		t->names[i] = names[i];
		t->flags[i] = flags != NULL ? flags[i] : 0;
	}
	return t;
}

void
qr_table_row(struct qr_table *t, ...)
{
	struct og_strbuf sb;
	va_list ap;
	size_t i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = og_reallocarray(
		    t->cells, t->cap * t->ncols, sizeof(*t->cells));
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		const char *v = va_arg(ap, const char *);

		og_strbuf_init(&sb, QR_CELL_MAX);
		qr_text_add(&sb, v != NULL ? v : "-", QR_CELL_MAX / 4, 0);
		t->cells[t->nrows * t->ncols + i] = og_strbuf_steal(&sb);
		if (t->cells[t->nrows * t->ncols + i] == NULL)
			t->cells[t->nrows * t->ncols + i] = og_strdup("");
	}
	va_end(ap);
	t->nrows++;
}

size_t
qr_table_rows(const struct qr_table *t)
{
	return t->nrows;
}

/*
 * columns - how many columns go on the row's line: all but a detail
 * column, and but a folding one that would get too little room
 */
static size_t
columns(const struct qr_table *t, const size_t *w, size_t width)
{
	size_t last = t->ncols - 1, start = t->indent, i;

	if (t->ncols == 1)
		return 1;
	if (t->flags[last] & QR_COL_DETAIL)
		return last;
	if (!(t->flags[last] & QR_COL_FOLD))
		return t->ncols;
	for (i = 0; i < last; i++)
		start += w[i] + 2;
	return start + QR_FOLD_MIN <= width || start + w[last] <= width
	    ? t->ncols
	    : last;
}

/* fit - widths that fit width: the widest shrinkable column first */
static void
fit(const struct qr_table *t, size_t *w, size_t width, size_t nc)
{
	size_t total = t->indent, i, widest;

	for (i = 0; i < nc; i++)
		total += w[i] + (i > 0 ? 2 : 0);
	while (total > width) {
		widest = nc;
		for (i = 0; i < nc; i++) {
			size_t floor = qr_text_cols(t->names[i]);

			if (floor < QR_COL_MIN)
				floor = QR_COL_MIN;
			if ((t->flags[i] & (QR_COL_SHRINK | QR_COL_FOLD)) &&
			    w[i] > floor && (widest == nc || w[i] > w[widest]))
				widest = i;
		}
		if (widest == nc)
			break; /* nothing left to give: the line is longer */
		w[widest]--;
		total--;
	}
}

/* put_cell - one cell in w columns, cut if need be; pad unless last */
static void
put_cell(struct og_strbuf *line, const char *cell, size_t w, unsigned flags,
    int last)
{
	size_t cols = qr_text_cols(cell), pad;

	if (cols > w) {
		qr_text_add(line, cell, w, 0);
		return;
	}
	pad = w - cols;
	if (flags & QR_COL_RIGHT)
		for (; pad > 0; pad--)
			(void)og_strbuf_addc(line, ' ');
	(void)og_strbuf_adds(line, cell);
	if (!last)
		for (; pad > 0; pad--)
			(void)og_strbuf_addc(line, ' ');
}

static void
put_line(const struct qr_table *t, FILE *fp, const size_t *w,
    const char *const *cells, size_t width, size_t nc, int header)
{
	struct og_strbuf line;
	size_t i;

	og_strbuf_init(&line, 0);
	for (i = 0; i < t->indent; i++)
		(void)og_strbuf_addc(&line, ' ');
	for (i = 0; i < nc; i++) {
		if (i > 0)
			(void)og_strbuf_adds(&line, "  ");
		put_cell(&line, cells[i], w[i], t->flags[i], i + 1 == nc);
	}
	while (line.len > 0 && line.data[line.len - 1] == ' ')
		og_strbuf_truncate(&line, line.len - 1);
	(void)fprintf(fp, "%s\n", og_strbuf_str(&line));
	if (nc < t->ncols && !header && *cells[nc] != '\0') {
		og_strbuf_reset(&line);
		for (i = 0; i < t->indent + 4; i++)
			(void)og_strbuf_addc(&line, ' ');
		qr_wrap(fp, og_strbuf_str(&line), og_strbuf_str(&line),
		    cells[nc], width);
	}
	og_strbuf_release(&line);
}

void
qr_table_print(const struct qr_table *t, FILE *fp, size_t width)
{
	size_t w[QR_TABLE_COLS], i, r, c, nc;

	for (i = 0; i < t->ncols; i++)
		w[i] = qr_text_cols(t->names[i]);
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++)
			if ((c = qr_text_cols(t->cells[r * t->ncols + i])) >
			    w[i])
				w[i] = c;
	nc = columns(t, w, width);
	fit(t, w, width, nc);
	put_line(t, fp, w, t->names, width, nc, 1);
	for (r = 0; r < t->nrows; r++)
		put_line(t, fp, w, (const char *const *)&t->cells[r * t->ncols],
		    width, nc, 0);
}

struct qr_table *
qr_table_free(struct qr_table *t)
{
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->nrows * t->ncols; i++)
		og_free(t->cells[i]);
	og_free(t->cells);
	return og_free(t);
}

/* ---- JSON ---- */

json_t *
qr_json_str(const char *v)
{
	struct og_strbuf sb;
	const unsigned char *p;
	size_t n, len;
	json_t *j;

	if (v == NULL)
		return json_null();
	if ((j = json_string(v)) != NULL)
		return j;
	/* not UTF-8: each byte of a broken sequence becomes '?' */
	og_strbuf_init(&sb, 0);
	p = (const unsigned char *)v;
	n = strlen(v);
	while (n > 0) {
		if ((len = og_utf8_len(p, n)) == 0) {
			(void)og_strbuf_addc(&sb, '?');
			len = 1;
		} else
			(void)og_strbuf_addn(&sb, p, len);
		p += len;
		n -= len;
	}
	j = json_string(og_strbuf_str(&sb));
	og_strbuf_release(&sb);
	return j != NULL ? j : json_null();
}

json_t *
qr_json_time(int64_t t)
{
	return t != 0 ? json_integer((json_int_t)t) : json_null();
}

void
qr_json_set(json_t *obj, const char *key, json_t *value)
{
	(void)json_object_set_new(obj, key, value);
}

json_t *
qr_json_array(const char *text)
{
	json_t *v = json_loads(text != NULL ? text : "[]", 0, NULL);

	if (v == NULL || !json_is_array(v)) {
		json_decref(v);
		v = json_array();
	}
	return v;
}

const char *
qr_jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_int_t
qr_jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

double
qr_jreal(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0.0;
}

int
qr_json_print(json_t *o, FILE *fp)
{
	char *s = json_dumps(
	    o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	int rc = 0;

	if (s == NULL || fprintf(fp, "%s\n", s) < 0)
		rc = -1;
	free(s);
	json_decref(o);
	return rc;
}

/* ---- the store and its message rows ---- */

struct og_store *
qr_store_open(const struct qr *qr)
{
	struct og_strbuf err;
	struct og_store *st;
	const char *spec = og_conf_str(qr->conf, "store");

	og_strbuf_init(&err, 0);
	if ((st = og_store_open(spec, &err)) == NULL)
		og_warnx("store %s: %s", spec, og_strbuf_str(&err));
	og_strbuf_release(&err);
	return st;
}

void
qr_identity(const char *sasl, const char *client, const char *sender, char *out,
    size_t size)
{
	if (sasl != NULL && *sasl)
		(void)snprintf(out, size, "sasl:%s", sasl);
	else if (client != NULL && *client)
		(void)snprintf(out, size, "client:%s", client);
	else {
		(void)snprintf(out, size, "sender:%s",
		    sender != NULL && *sender ? sender : "<>");
		og_lowercase(out);
	}
}

int
qr_summary_next(const char **p, char *dom, size_t size, unsigned long long *n)
{
	const char *s = *p, *tok;
	char num[24];
	size_t len, i, nlen;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		tok = s;
		len = strcspn(s, " ");
		s += len;
		/* the last '=': a domain has none, the count follows it */
		for (i = len; i > 0 && tok[i - 1] != '='; i--)
			;
		nlen = len - i;
		if (i <= 1 || i - 1 >= size || nlen == 0 || nlen >= sizeof(num))
			continue;
		memcpy(num, tok + i, nlen);
		num[nlen] = '\0';
		if (og_parse_uint(num, 0, 1000000000, n) < 0)
			continue;
		memcpy(dom, tok, i - 1);
		dom[i - 1] = '\0';
		og_lowercase(dom);
		*p = s;
		return 1;
	}
	*p = s;
	return 0;
}

const char *
qr_provider_of(const struct og_conf *conf, const char *domain)
{
	const struct og_table *t = og_conf_table(conf, "provider_domains");
	const char *v;

	if (t == NULL || domain == NULL || *domain == '\0')
		return NULL;
	return og_table_lookup(t, domain, &v) == OG_FOUND ? v : NULL;
}

/* ---- counting by name ---- */

/*
 * A tally: string -> count, oldest time and a slot for the caller.
 * Open addressing, the size a power of two, at most half full.
 */
static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

struct qr_tally *
qr_tally_get(struct qr_tallies *ts, const char *key)
{
	size_t i;

	if (2 * (ts->n + 1) > ts->size) {
		struct qr_tally *old = ts->t;
		size_t osize = ts->size, k;

		ts->size = ts->size ? ts->size * 2 : 8;
		ts->t = og_calloc(ts->size, sizeof(*ts->t));
		for (k = 0; k < osize; k++) {
			if (old[k].key == NULL)
				continue;
			for (i = hash(old[k].key) & (ts->size - 1);
			     ts->t[i].key != NULL; i = (i + 1) & (ts->size - 1))
				;
			ts->t[i] = old[k];
		}
		og_free(old);
	}
	for (i = hash(key) & (ts->size - 1); ts->t[i].key != NULL;
	     i = (i + 1) & (ts->size - 1))
		if (strcmp(ts->t[i].key, key) == 0)
			return &ts->t[i];
	ts->t[i].key = og_strdup(key);
	ts->t[i].slot = SIZE_MAX;
	ts->n++;
	return &ts->t[i];
}

void
qr_tally_add(struct qr_tallies *ts, const char *key, long long n, int64_t t)
{
	struct qr_tally *e = qr_tally_get(ts, key);

	e->n += n;
	if (t > 0 && (e->oldest == 0 || t < e->oldest))
		e->oldest = t;
}

static int
by_count(const void *a, const void *b)
{
	const struct qr_tally *x = *(const struct qr_tally *const *)a;
	const struct qr_tally *y = *(const struct qr_tally *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

struct qr_tally **
qr_tally_sorted(const struct qr_tallies *ts)
{
	struct qr_tally **v = og_calloc(ts->n + 1, sizeof(*v));
	size_t i, k = 0;

	for (i = 0; i < ts->size; i++)
		if (ts->t[i].key != NULL)
			v[k++] = &ts->t[i];
	qsort(v, k, sizeof(*v), by_count);
	return v;
}

void
qr_tally_free(struct qr_tallies *ts)
{
	size_t i;

	for (i = 0; i < ts->size; i++)
		og_free(ts->t[i].key);
	og_free(ts->t);
	memset(ts, 0, sizeof(*ts));
}

int
qr_streq0(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

int
qr_finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		og_warn("standard output");
		return EX_IOERR;
	}
	return rc;
}

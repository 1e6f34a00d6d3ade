/*
 * dkimkeys.c - DKIM key sets: OpenDKIM KeyTable and SigningTable, the
 *	simple form, and which keys sign a From address
 * DESCRIPTION: the table half of dkimsign.h (og_dkim_keys_parse,
 *	_find, _count, _free), with no cryptography: dkimsign.c loads the
 *	key material. KeyTable lines are "NAME DOMAIN:SELECTOR:KEY" (KEY
 *	an absolute path, or the key inline as base64 DER or one-line
 *	PEM); SigningTable lines "PATTERN NAME..." with refile: patterns
 *	('*' any run of bytes; a pattern without '@' is matched against
 *	the From domain, "@domain" means "*@domain"); the first matching
 *	line wins. Everything is bounded (OG_DKIM_TABLE_MAX bytes a file,
 *	LINE_MAX_BYTES a line, OG_DKIM_KEYS_MAX keys, RULES_MAX lines,
 *	OG_DKIM_PER_MSG_MAX keys a line) and the bytes are hostile: a NUL
 *	byte, an overlong line or field is an error, never a crash.
 *	Domains are lowercased; a key name used twice or unknown is an
 *	error.
 * DIAGNOSTICS: "FILE:LINE: text" lines in err (or "SETTING: text"),
 *	at most OG_DKIM_ERRS_MAX; NULL is returned on any. Inline key
 *	text never appears in a message.
 */
#include "config.h"

#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "addr.h"
#include "conf.h"
#include "dkimkeys.h"
#include "dkimsign.h"
#include "strbuf.h"
#include "util.h"

#define LINE_MAX_BYTES (16 * 1024) /* one table line */
#define PATTERN_MAX 512 /* one SigningTable pattern */
#define FIELD_MAX 255 /* a key name, domain or selector */
#define RULES_MAX 100000 /* SigningTable lines */
#define FROM_MAX 1024 /* a From address matched */

void
og_dkim_perr(struct og_dkim_ps *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->nerr++ >= OG_DKIM_ERRS_MAX) {
		if (ps->nerr == OG_DKIM_ERRS_MAX + 1)
			(void)og_strbuf_addf(
			    ps->err, "%s: more errors not shown\n", ps->file);
		return;
	}
	if (ps->line > 0)
		(void)og_strbuf_addf(ps->err, "%s:%u: ", ps->file, ps->line);
	else
		(void)og_strbuf_addf(ps->err, "%s: ", ps->file);
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(ps->err, fmt, ap);
	va_end(ap);
	(void)og_strbuf_addc(ps->err, '\n');
}

/* ---- tables ---- */

/*
 * next_word - the next word of [*p, end) separated by white space (and
 * by commas when commas is set); 0 at the end
 */
static size_t
next_word(const char **p, const char *end, int commas, const char **w)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t' || (commas && *s == ',')))
		s++;
	*w = s;
	while (s < end && *s != ' ' && *s != '\t' && !(commas && *s == ','))
		s++;
	*p = s;
	return (size_t)(s - *w);
}

static int
selector_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/*
 * inline_key - does the span look like a key rather than a relative
 * path: one-line PEM, or at least 64 bytes of nothing but base64
 */
static int
inline_key(const char *s, size_t n)
{
	size_t i;

	if (n >= 10 && memcmp(s, "-----BEGIN", 10) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(OG_DKIM_B64, s[i]) == NULL)
			return 0;
	return n >= 64;
}

/* keytable_line - "NAME DOMAIN:SELECTOR:KEY" */
static void
keytable_line(struct og_dkim_ps *ps, const char *p, const char *end)
{
	const char *w, *v, *c1, *c2, *vend;
	size_t nw, nv;
	char *dom;
	struct og_dkim_keyent *key;

	nw = next_word(&p, end, 0, &w);
	nv = next_word(&p, end, 0, &v);
	if (nv == 0) {
		og_dkim_perr(ps, "expected NAME DOMAIN:SELECTOR:KEY");
		return;
	}
	if (next_word(&p, end, 0, &vend) != 0) {
		og_dkim_perr(ps, "text after DOMAIN:SELECTOR:KEY");
		return;
	}
	vend = v + nv;
	if ((c1 = memchr(v, ':', nv)) == NULL ||
	    (c2 = memchr(c1 + 1, ':', (size_t)(vend - c1 - 1))) == NULL ||
	    c2 + 1 == vend) {
		og_dkim_perr(
		    ps, "expected DOMAIN:SELECTOR:KEY after the key name");
		return;
	}
	if (nw > FIELD_MAX) {
		og_dkim_perr(ps, "key name too long");
		return;
	}
	if (c1 - v == 1 && v[0] == '%') {
		og_dkim_perr(
		    ps, "a %% domain is not supported: name the domain");
		return;
	}
	if ((dom = og_domain_normalize(v, (size_t)(c1 - v))) == NULL ||
	    !og_domain_valid(dom)) {
		og_dkim_perr(ps, "bad signing domain");
		og_free(dom);
		return;
	}
	if (!selector_ok(c1 + 1, (size_t)(c2 - c1 - 1))) {
		og_dkim_perr(ps, "bad selector (1-63 of [A-Za-z0-9._-])");
		og_free(dom);
		return;
	}
	if (ps->k->nkeys >= OG_DKIM_KEYS_MAX) {
		og_dkim_perr(ps, "more than %d keys", OG_DKIM_KEYS_MAX);
		og_free(dom);
		return;
	}
	c2++;
	if (c2[0] != '/' && !inline_key(c2, (size_t)(vend - c2))) {
		og_dkim_perr(ps, "the key file must be an absolute path");
		og_free(dom);
		return;
	}
	if (ps->k->nkeys % 64 == 0)
		ps->k->keys = og_reallocarray(
		    ps->k->keys, ps->k->nkeys + 64, sizeof(*ps->k->keys));
	key = &ps->k->keys[ps->k->nkeys++];
	memset(key, 0, sizeof(*key));
	key->line = ps->line;
	key->name = og_strndup(w, nw);
	key->domain = dom;
	key->selector = og_strndup(c1 + 1, (size_t)(c2 - c1 - 2));
	if (c2[0] == '/')
		key->file = og_strndup(c2, (size_t)(vend - c2));
	else
		key->text = og_strndup(c2, (size_t)(vend - c2));
}

static int
byname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct og_dkim_byname *)a)->name,
	    ((const struct og_dkim_byname *)b)->name);
}

/* key_index - sort the names (a duplicate is an error) */
static void
key_index(struct og_dkim_ps *ps)
{
	struct og_dkim_keys *k = ps->k;
	size_t i;

	k->byname = og_reallocarray(NULL, k->nkeys + 1, sizeof(*k->byname));
	for (i = 0; i < k->nkeys; i++) {
		k->byname[i].name = k->keys[i].name;
		k->byname[i].idx = i;
	}
	qsort(k->byname, k->nkeys, sizeof(*k->byname), byname_cmp);
	ps->line = 0;
	for (i = 1; i < k->nkeys; i++)
		if (strcmp(k->byname[i - 1].name, k->byname[i].name) == 0) {
			ps->line = k->keys[k->byname[i].idx].line;
			og_dkim_perr(
			    ps, "key name %s defined twice", k->byname[i].name);
		}
	ps->line = 0;
}

/* key_lookup - the index of key name (n bytes), or -1 */
static long
key_lookup(const struct og_dkim_keys *k, const char *name, size_t n)
{
	size_t lo = 0, hi = k->nkeys, mid;
	const char *s;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		s = k->byname[mid].name;
		c = strncmp(name, s, n);
		if (c == 0 && s[n] != '\0')
			c = -1;
		if (c == 0)
			return (long)k->byname[mid].idx;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static void
rule_add(struct og_dkim_keys *k, const char *pat, size_t n)
{
	struct og_dkim_rule *r;
	size_t i;

	if (k->nrules % 64 == 0)
		k->rules = og_reallocarray(
		    k->rules, k->nrules + 64, sizeof(*k->rules));
	r = &k->rules[k->nrules++];
	memset(r, 0, sizeof(*r));
	if (n > 0 && pat[0] == '@') { /* "@domain" is "*@domain" */
		r->pattern = og_malloc(n + 2);
		r->pattern[0] = '*';
		memcpy(r->pattern + 1, pat, n);
		r->pattern[n + 1] = '\0';
	} else
		r->pattern = og_strndup(pat, n);
	for (i = 0; r->pattern[i] != '\0'; i++)
		r->pattern[i] = (char)tolower((unsigned char)r->pattern[i]);
}

/* signingtable_line - "PATTERN NAME..." */
static void
signingtable_line(struct og_dkim_ps *ps, const char *p, const char *end)
{
	const char *pat, *w;
	size_t np, nw, keys[OG_DKIM_PER_MSG_MAX], n = 0;
	long idx;

	np = next_word(&p, end, 0, &pat);
	if (np > PATTERN_MAX) {
		og_dkim_perr(ps, "pattern longer than %d bytes", PATTERN_MAX);
		return;
	}
	while ((nw = next_word(&p, end, 1, &w)) > 0) {
		if (n == OG_DKIM_PER_MSG_MAX) {
			og_dkim_perr(ps, "more than %d keys on one line",
			    OG_DKIM_PER_MSG_MAX);
			return;
		}
		if (nw > FIELD_MAX || (idx = key_lookup(ps->k, w, nw)) < 0) {
			og_dkim_perr(ps, "key %.*s is not in the KeyTable",
			    (int)(nw > 64 ? 64 : nw), w);
			return;
		}
		keys[n++] = (size_t)idx;
	}
	if (n == 0) {
		og_dkim_perr(ps, "expected PATTERN KEYNAME...");
		return;
	}
	if (ps->k->nrules >= RULES_MAX) {
		og_dkim_perr(ps, "more than %d lines", RULES_MAX);
		return;
	}
	rule_add(ps->k, pat, np);
	memcpy(ps->k->rules[ps->k->nrules - 1].key, keys, n * sizeof(keys[0]));
	ps->k->rules[ps->k->nrules - 1].nkey = n;
}

/*
 * table_parse - call fn for every line of buf that is not blank or a
 * comment, with the comment and surrounding white space cut off
 */
static void
table_parse(struct og_dkim_ps *ps, const char *buf, size_t len,
    void (*fn)(struct og_dkim_ps *, const char *, const char *))
{
	const char *p = buf, *end = buf + len, *eol, *e, *hash;

	ps->line = 0;
	if (len > OG_DKIM_TABLE_MAX) {
		og_dkim_perr(ps, "larger than %d bytes", OG_DKIM_TABLE_MAX);
		return;
	}
	while (p < end && ps->nerr <= OG_DKIM_ERRS_MAX) {
		ps->line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		e = eol;
		if ((size_t)(e - p) > LINE_MAX_BYTES)
			og_dkim_perr(
			    ps, "line longer than %d bytes", LINE_MAX_BYTES);
		else if (memchr(p, '\0', (size_t)(e - p)) != NULL)
			og_dkim_perr(ps, "NUL byte");
		else {
			if ((hash = memchr(p, '#', (size_t)(e - p))) != NULL)
				e = hash;
			while (e > p && isspace((unsigned char)e[-1]))
				e--;
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (p < e)
				fn(ps, p, e);
		}
		p = eol + 1;
	}
	ps->line = 0;
}

static struct og_dkim_keys *
tables_parse(const char *kname, const char *kt, size_t klen, const char *sname,
    const char *st, size_t slen, struct og_strbuf *err)
{
	struct og_dkim_keys *k = og_calloc(1, sizeof(*k));
	struct og_dkim_ps ps = { k, kname, 0, 0, err };

	table_parse(&ps, kt, klen, keytable_line);
	key_index(&ps);
	if (ps.nerr == 0) {
		ps.file = sname;
		table_parse(&ps, st, slen, signingtable_line);
	}
	if (ps.nerr > 0) {
		og_dkim_keys_free(k);
		return NULL;
	}
	return k;
}

struct og_dkim_keys *
og_dkim_keys_parse(const char *kt, size_t klen, const char *st, size_t slen,
    struct og_strbuf *err)
{
	return tables_parse(
	    "KeyTable", kt, klen, "SigningTable", st, slen, err);
}

/* ---- matching ---- */

/* glob - does s match pattern p ('*' any run of bytes)? */
static int
glob(const char *p, const char *s)
{
	const char *star = NULL, *mark = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = ++p;
			mark = s;
		} else if (*p == *s) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star;
			s = ++mark;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

size_t
og_dkim_keys_find(const struct og_dkim_keys *k, const char *from,
    struct og_dkim_keyref *out, size_t max)
{
	char addr[FROM_MAX];
	const char *dom;
	const struct og_dkim_rule *r;
	const struct og_dkim_keyent *key;
	size_t i, j, n = 0;

	if (k == NULL || from == NULL ||
	    og_strlcpy(addr, from, sizeof(addr)) >= sizeof(addr))
		return 0;
	(void)og_lowercase(addr);
	if ((dom = strrchr(addr, '@')) == NULL || *++dom == '\0')
		return 0;
	for (i = 0; i < k->nrules; i++) {
		r = &k->rules[i];
		if (!glob(r->pattern,
		        strchr(r->pattern, '@') != NULL ? addr : dom))
			continue;
		for (j = 0; j < r->nkey && n < max; j++) {
			key = &k->keys[r->key[j]];
			out[n].name = key->name;
			out[n].domain = key->domain;
			out[n].selector = key->selector;
			out[n].file = key->file;
			out[n].alg = key->alg;
			out[n].idx = r->key[j];
			n++;
		}
		return n;
	}
	return 0;
}

size_t
og_dkim_keys_count(const struct og_dkim_keys *k)
{
	return k == NULL ? 0 : k->nkeys;
}

/* ---- loading ---- */

/* read_table - a table file, bounded, into *buf (og_free it) */
static int
read_table(const char *setting, const char *path, char **buf, size_t *len,
    struct og_strbuf *err)
{
	struct stat st;
	ssize_t r = 0;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > OG_DKIM_TABLE_MAX) {
		(void)og_strbuf_addf(err,
		    "%s: %s: not a regular file of at most %d bytes\n", setting,
		    path, OG_DKIM_TABLE_MAX);
		(void)close(fd);
		return -1;
	}
	*buf = og_malloc((size_t)st.st_size + 1);
	while (*len < (size_t)st.st_size &&
	    (r = read(fd, *buf + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)r;
	if (r < 0)
		goto fail;
	(void)close(fd);
	return 0;
fail:
	(void)og_strbuf_addf(
	    err, "%s: %s: %s\n", setting, path, strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	*buf = og_free(*buf);
	return -1;
}

struct og_dkim_keys *
og_dkim_keys_tables(const char *kt, const char *st, struct og_strbuf *err)
{
	struct og_dkim_keys *k = NULL;
	char *kbuf = NULL, *sbuf = NULL;
	size_t klen, slen;

	if (kt[0] == '\0' || st[0] == '\0')
		(void)og_strbuf_addf(err, "%s: needs %s too\n",
		    kt[0] == '\0' ? "dkim_signing_table" : "dkim_key_table",
		    kt[0] == '\0' ? "dkim_key_table" : "dkim_signing_table");
	else if (read_table("dkim_key_table", kt, &kbuf, &klen, err) == 0 &&
	    read_table("dkim_signing_table", st, &sbuf, &slen, err) == 0)
		k = tables_parse(kt, kbuf, klen, st, sbuf, slen, err);
	og_free(kbuf);
	og_free(sbuf);
	return k;
}

/* simple_load - dkim_domain, dkim_selector, dkim_key_file */
struct og_dkim_keys *
og_dkim_keys_simple(const struct og_conf *cf, struct og_strbuf *err)
{
	const char *const *dom, *const *sel, *const *file;
	size_t nd, ns, nf, i, j;
	struct og_dkim_keys *k;
	struct og_dkim_rule *r;
	char *d;
	int sub;

	dom = og_conf_list(cf, "dkim_domain", &nd);
	sel = og_conf_list(cf, "dkim_selector", &ns);
	file = og_conf_list(cf, "dkim_key_file", &nf);
	if (nd == 0 || ns == 0 || nf == 0 || nd > 2 || ns > 2 || ns != nf ||
	    (nd != 1 && nd != ns)) {
		(void)og_strbuf_addf(err,
		    "dkim_domain: %zu domain(s), %zu selector(s), %zu key "
		    "file(s): set one or two selectors, as many key files, "
		    "and one domain or one per selector\n",
		    nd, ns, nf);
		return NULL;
	}
	k = og_calloc(1, sizeof(*k));
	k->keys = og_calloc(ns, sizeof(*k->keys));
	k->rules = og_calloc(4, sizeof(*k->rules));
	for (i = 0; i < ns; i++, k->nkeys++) {
		k->keys[i].name = og_strdup("");
		k->keys[i].domain = og_domain_normalize(
		    dom[nd == 1 ? 0 : i], strlen(dom[nd == 1 ? 0 : i]));
		if (k->keys[i].domain == NULL)
			k->keys[i].domain = og_strdup(dom[nd == 1 ? 0 : i]);
		k->keys[i].selector = og_strdup(sel[i]);
		k->keys[i].file = og_strdup(file[i]);
	}
	/* the domain itself and its subdomains, each with its keys */
	for (i = 0; i < ns; i++)
		for (sub = 0; sub < 2; sub++) {
			d = k->keys[i].domain;
			for (j = 0; j < i; j++)
				if (strcmp(k->keys[j].domain, d) == 0)
					break;
			if (j < i)
				continue;
			r = &k->rules[k->nrules++];
			r->pattern = og_malloc(strlen(d) + 3);
			(void)snprintf(r->pattern, strlen(d) + 3, "%s%s",
			    sub ? "*." : "", d);
			for (j = i; j < ns; j++)
				if (strcmp(k->keys[j].domain, d) == 0)
					r->key[r->nkey++] = j;
		}
	return k;
}

void
og_dkim_keys_free(struct og_dkim_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nkeys; i++) {
		og_free(k->keys[i].name);
		og_free(k->keys[i].domain);
		og_free(k->keys[i].selector);
		og_free(k->keys[i].file);
		if (k->keys[i].text != NULL)
			OPENSSL_cleanse(
			    k->keys[i].text, strlen(k->keys[i].text));
		og_free(k->keys[i].text);
		EVP_PKEY_free(k->keys[i].pkey);
		og_free(k->keys[i].unusable);
		OPENSSL_cleanse(k->keys[i].ed_sk, sizeof(k->keys[i].ed_sk));
	}
	for (i = 0; i < k->nrules; i++)
		og_free(k->rules[i].pattern);
	for (i = 0; i < k->nhdrs; i++)
		og_free(k->hdrs[i]);
	EVP_MD_free(k->sha256);
	og_free(k->hdrs);
	og_free(k->keys);
	og_free(k->rules);
	og_free(k->byname);
	og_free(k);
}

/*
 * table.c - lookup tables named "type:path": file:, pcre:, cidr:, inline:
 * DESCRIPTION: a table is read whole at open time into memory the table
 *	owns (one string arena plus arrays) and is never written again, so
 *	lookups from many threads need no lock. file: and inline: keys live
 *	in an open-addressing hash, so loading a million-line table stays
 *	O(n); pcre: and cidr: rules are scanned in file order and the first
 *	match wins, as in Postfix. The line syntax is Postfix's: "#" comment
 *	lines and blank lines are ignored, and a line that starts with
 *	whitespace continues the logical line before it.
 * DIAGNOSTICS: og_table_open() returns NULL with "PATH:LINE: reason" in
 *	err. Duplicate file: keys are warned about and the first one wins,
 *	like postmap(1). Lookups never log: a key that cannot be looked up
 *	is OG_ERROR, and the caller decides what to say.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "log.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#define ARENA_CHUNK (64 * 1024)
#define WHY_MAX 1024 /* cap on one error reason */
#define DUP_WARN_MAX 10 /* duplicate warnings per load */
#define PCRE_MATCH_LIMIT 1000000 /* backtracking steps per rule */
#define PCRE_HEAP_LIMIT 20480 /* KiB of backtracking memory */
#define PCRE_MAX_REF 99 /* highest $n we accept */
#define SHOW(n) ((int)((n) > 64 ? 64 : (n))) /* "%.*s" of input in errors */

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	char data[];
};

struct ent {
	const char *key;
	const char *value;
	uint32_t hash;
};

struct net {
	unsigned char addr[16];
	unsigned char family; /* 4 or 6 */
	unsigned char prefix;
	const char *value;
};

struct rule {
	pcre2_code *code;
	const char *result;
	int negate;
	int expand; /* the result has a "$" */
};

struct og_table;

struct og_table_ops {
	const char *type;
	int (*parse)(struct og_table *, char *, struct og_strbuf *);
	int (*lookup)(
	    const struct og_table *, const char *, size_t, const char **);
};

struct og_table {
	const struct og_table_ops *ops;
	char *name;
	const char *path; /* points into name */
	int flags;
	size_t count; /* entries of any kind, for the cap */
	struct chunk *chunks;
	struct ent *ents; /* file:, inline: */
	size_t nents, ents_size;
	uint32_t *slots; /* index + 1 into ents, 0 is empty */
	size_t nslots;
	unsigned long dups;
	struct net *nets; /* cidr:, inline: */
	size_t nnets, nets_size;
	struct rule *rules; /* pcre: */
	size_t nrules, rules_size;
	uint32_t maxcap;
	pcre2_match_context *mctx;
};

struct reader {
	FILE *fp;
	unsigned long lineno; /* physical lines read */
	unsigned long first; /* where the logical line began */
	struct og_strbuf line;
};

/*
 * pcre: results with $n substitutions are built here, one buffer per
 * thread, so that lookups share nothing mutable (see table.h).
 */
static _Thread_local char pcre_result[OG_TABLE_RESULT_MAX + 1];

static void set_err(struct og_strbuf *err, const char *fmt, ...)
    OG_PRINTF(2, 3);

static void
set_err(struct og_strbuf *err, const char *fmt, ...)
{
	struct og_strbuf tmp;
	va_list ap;

	og_strbuf_init(&tmp, WHY_MAX + 1024);
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(&tmp, fmt, ap);
	va_end(ap);
	if (err != NULL) {
		og_strbuf_reset(err);
		(void)og_strbuf_adds(err, og_strbuf_str(&tmp));
	} else
		og_warnx("%s", og_strbuf_str(&tmp));
	og_strbuf_release(&tmp);
}

/*
 * set_why - set the reason for a parse error. WHY() does that and is
 * -1, visibly so to static analysers, which do not follow varargs.
 */
static void set_why(struct og_strbuf *sb, const char *fmt, ...) OG_PRINTF(2, 3);
#define WHY(...) (set_why(__VA_ARGS__), -1)

static void
set_why(struct og_strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	og_strbuf_reset(sb);
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

/* arena_strndup - copy n bytes into table-owned memory */
static char *
arena_strndup(struct og_table *t, const char *s, size_t n)
{
	struct chunk *c = t->chunks;
	char *p;

	if (c == NULL || c->size - c->used < n + 1) {
		size_t size = n + 1 > ARENA_CHUNK / 4 ? n + 1 : ARENA_CHUNK;

		c = og_malloc(sizeof(*c) + size);
		c->used = 0;
		c->size = size;
		if (size != ARENA_CHUNK && t->chunks != NULL) {
			/* A big string: keep the partly used chunk in front. */
			c->next = t->chunks->next;
			t->chunks->next = c;
		} else {
			c->next = t->chunks;
			t->chunks = c;
		}
	}
	p = c->data + c->used;
	memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

/* grow - make room for one more element in a doubling array */
static void *
grow(void *p, size_t n, size_t *size, size_t elem)
{
	if (n < *size)
		return p;
	*size = *size ? *size * 2 : 64;
	return og_reallocarray(p, *size, elem);
}

static int
count_entry(struct og_table *t, struct og_strbuf *sb)
{
	if (t->count >= OG_TABLE_MAX_ENTRIES)
		return WHY(
		    sb, "too many entries (limit %d)", OG_TABLE_MAX_ENTRIES);
	t->count++;
	return 0;
}

/* FNV-1a: the keys come from the administrator, not from the network. */
static uint32_t
hash_key(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

/* hash_find - the entry whose key is the n bytes at s, or NULL */
static const struct ent *
hash_find(const struct og_table *t, const char *s, size_t n)
{
	uint32_t h = hash_key(s, n);
	size_t mask = t->nslots - 1, i;

	if (t->nslots == 0)
		return NULL;
	for (i = h & mask; t->slots[i] != 0; i = (i + 1) & mask) {
		const struct ent *e = &t->ents[t->slots[i] - 1];

		if (e->hash == h && strncmp(e->key, s, n) == 0 &&
		    e->key[n] == '\0')
			return e;
	}
	return NULL;
}

static void
hash_place(struct og_table *t, size_t idx)
{
	size_t mask = t->nslots - 1, i;

	for (i = t->ents[idx].hash & mask; t->slots[i] != 0; i = (i + 1) & mask)
		;
	t->slots[i] = (uint32_t)(idx + 1);
}

/*
 * hash_add - add a key (already lowercased) unless present; returns 1
 * if added, 0 for a duplicate (the first wins, as with postmap(1)).
 */
static int
hash_add(struct og_table *t, const char *key, size_t n, const char *value)
{
	size_t i;

	if (hash_find(t, key, n) != NULL)
		return 0;
	if ((t->nents + 1) * 2 > t->nslots) {
		t->nslots = t->nslots ? t->nslots * 2 : 64;
		t->slots = og_free(t->slots);
		t->slots = og_calloc(t->nslots, sizeof(*t->slots));
		for (i = 0; i < t->nents; i++)
			hash_place(t, i);
	}
	t->ents = grow(t->ents, t->nents, &t->ents_size, sizeof(*t->ents));
	t->ents[t->nents].key = arena_strndup(t, key, n);
	t->ents[t->nents].value = value;
	t->ents[t->nents].hash = hash_key(key, n);
	hash_place(t, t->nents);
	t->nents++;
	return 1;
}

/* key_lower - copy key into buf (OG_TABLE_KEY_MAX + 1) in lowercase */
static void
key_lower(char *buf, const char *key, size_t n)
{
	memcpy(buf, key, n);
	buf[n] = '\0';
	og_lowercase(buf);
}

/*
 * parse_ip - an IPv4 or IPv6 literal, possibly in [brackets]; 0 or -1.
 */
static int
parse_ip(const char *s, size_t n, struct net *net)
{
	char buf[64];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(net->addr, 0, sizeof(net->addr));
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = 4;
		net->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = 6;
		net->prefix = 128;
	} else
		return -1;
	return 0;
}

/*
 * parse_net - "addr", "addr/len", "[addr]" or "[addr]/len". Returns 0,
 * -1 when s is not an address at all, -2 when it is one but the prefix
 * is bad or host bits are set (Postfix warns; we refuse the line).
 */
static int
parse_net(const char *s, size_t n, struct net *net, struct og_strbuf *sb)
{
	unsigned long long len;
	size_t alen = n, i, bits;
	char num[8], shown[INET6_ADDRSTRLEN];

	while (alen > 0 && s[alen - 1] != '/')
		alen--;
	if (alen == 0)
		alen = n;
	else
		alen--; /* drop the slash */
	if (parse_ip(s, alen, net) < 0) {
		set_why(sb, "bad network address \"%.*s\"", SHOW(n), s);
		return -1;
	}
	if (alen < n) {
		size_t nl = n - alen - 1;

		if (nl == 0 || nl >= sizeof(num)) {
			set_why(
			    sb, "bad prefix length in \"%.*s\"", SHOW(n), s);
			return -2;
		}
		memcpy(num, s + alen + 1, nl);
		num[nl] = '\0';
		if (og_parse_uint(num, 0, net->prefix, &len) < 0) {
			set_why(
			    sb, "bad prefix length in \"%.*s\"", SHOW(n), s);
			return -2;
		}
		net->prefix = (unsigned char)len;
	}
	bits = net->family == 4 ? 32 : 128;
	for (i = net->prefix; i < bits; i++)
		if (net->addr[i / 8] & (0x80 >> (i % 8)))
			break;
	if (i < bits) {
		for (i = net->prefix; i < bits; i++)
			net->addr[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		(void)inet_ntop(net->family == 4 ? AF_INET : AF_INET6,
		    net->addr, shown, sizeof(shown));
		set_why(sb,
		    "non-null host address bits in \"%.*s\", perhaps you "
		    "should use \"%s/%u\" instead",
		    SHOW(n), s, shown, (unsigned)net->prefix);
		return -2;
	}
	return 0;
}

static int
net_match(const struct net *net, const struct net *ip)
{
	size_t whole = net->prefix / 8, rest = net->prefix % 8;
	unsigned char mask;

	if (net->family != ip->family ||
	    memcmp(net->addr, ip->addr, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (ip->addr[whole] & mask) == net->addr[whole];
}

static const struct net *
nets_find(const struct og_table *t, const struct net *ip)
{
	size_t i;

	for (i = 0; i < t->nnets; i++)
		if (net_match(&t->nets[i], ip))
			return &t->nets[i];
	return NULL;
}

static void
nets_add(struct og_table *t, const struct net *net)
{
	t->nets = grow(t->nets, t->nnets, &t->nets_size, sizeof(*t->nets));
	t->nets[t->nnets++] = *net;
}

/*
 * split_kv - "key whitespace value": NUL-terminates the key, sets *value
 * to the rest; the line has no leading or trailing whitespace.
 */
static int
split_kv(char *line, char **value, size_t *klen, struct og_strbuf *sb)
{
	char *p = line;

	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	*klen = (size_t)(p - line);
	while (isspace((unsigned char)*p))
		*p++ = '\0';
	if (*p == '\0')
		return WHY(sb, "expected format: key whitespace value");
	*value = p;
	return 0;
}

/* first_word - 1 if line begins with the word w (if, endif) */
static int
first_word(const char *line, const char *w)
{
	size_t n = strlen(w);

	return og_strncasecmp_ascii(line, w, n) == 0 &&
	    !isalnum((unsigned char)line[n]);
}

static int
file_parse(struct og_table *t, char *line, struct og_strbuf *sb)
{
	char *value = NULL;
	size_t klen;

	if (split_kv(line, &value, &klen, sb) < 0)
		return -1;
	if (klen > OG_TABLE_KEY_MAX)
		return WHY(sb, "key longer than %d bytes", OG_TABLE_KEY_MAX);
	if (count_entry(t, sb) < 0)
		return -1;
	og_lowercase(line);
	if (hash_add(t, line, klen, arena_strndup(t, value, strlen(value))))
		return 0;
	t->count--;
	if (++t->dups <= DUP_WARN_MAX)
		og_warnx("%s: duplicate entry \"%.64s\": keeping the first",
		    t->path, line);
	return 0;
}

static int
file_lookup(
    const struct og_table *t, const char *key, size_t n, const char **value)
{
	char buf[OG_TABLE_KEY_MAX + 1];
	const struct ent *e;

	key_lower(buf, key, n);
	if ((e = hash_find(t, buf, n)) == NULL)
		return OG_NOTFOUND;
	*value = e->value;
	return OG_FOUND;
}

static int
cidr_parse(struct og_table *t, char *line, struct og_strbuf *sb)
{
	struct net net;
	char *value = NULL;
	size_t klen;

	if (first_word(line, "if") || first_word(line, "endif"))
		return WHY(sb, "if/endif is not supported");
	if (*line == '!')
		return WHY(sb, "negation (\"!\") is not supported");
	if (split_kv(line, &value, &klen, sb) < 0 ||
	    parse_net(line, klen, &net, sb) < 0 || count_entry(t, sb) < 0)
		return -1;
	net.value = arena_strndup(t, value, strlen(value));
	nets_add(t, &net);
	return 0;
}

static int
cidr_lookup(
    const struct og_table *t, const char *key, size_t n, const char **value)
{
	const struct net *net;
	struct net ip;

	if (parse_ip(key, n, &ip) < 0)
		return OG_ERROR;
	if ((net = nets_find(t, &ip)) == NULL)
		return OG_NOTFOUND;
	*value = net->value;
	return OG_FOUND;
}

/*
 * pcre_refs - check the $n, ${n}, $(n) and $$ in a result; sets *maxref
 * and returns 1 if the result needs expanding, 0 if not, -1 on error.
 */
static int
pcre_refs(const char *p, unsigned *maxref, struct og_strbuf *sb)
{
	int expand = 0;
	unsigned n;
	char close;

	*maxref = 0;
	for (; *p != '\0'; p++) {
		if (*p != '$')
			continue;
		expand = 1;
		if (*++p == '$')
			continue;
		close = *p == '{' ? '}' : *p == '(' ? ')' : '\0';
		if (close != '\0')
			p++;
		if (!isdigit((unsigned char)*p))
			return WHY(sb, "bad \"$\" in result: use $n or $$");
		for (n = 0; isdigit((unsigned char)*p); p++)
			if ((n = n * 10 + (unsigned)(*p - '0')) > PCRE_MAX_REF)
				return WHY(sb, "replacement index too large");
		if (close != '\0' && *p != close)
			return WHY(sb, "missing \"%c\" in result", close);
		if (close == '\0')
			p--;
		if (n == 0)
			return WHY(sb, "replacement index $0 is not allowed");
		if (n > *maxref)
			*maxref = n;
	}
	return expand;
}

/* Postfix's pcre_table(5) flags; each toggles one option. */
static const struct {
	char flag;
	uint32_t option;
} pcre_flags[] = {
	{ 'i', PCRE2_CASELESS },
	{ 'm', PCRE2_MULTILINE },
	{ 's', PCRE2_DOTALL },
	{ 'x', PCRE2_EXTENDED },
	{ 'A', PCRE2_ANCHORED },
	{ 'E', PCRE2_DOLLAR_ENDONLY },
	{ 'U', PCRE2_UNGREEDY },
};

/* pcre_pattern - "!/re/flags": the regexp span and compile options */
static int
pcre_pattern(char **pp, char **re, size_t *relen, uint32_t *opts, int *negate,
    struct og_strbuf *sb)
{
	char *p = *pp, delim;
	size_t i;

	*negate = 0;
	for (; *p == '!' || isspace((unsigned char)*p); p++)
		if (*p == '!')
			*negate = !*negate;
	delim = *p;
	if (delim == '\0' || isalnum((unsigned char)delim) || delim == '\\')
		return WHY(sb, "expected /regexp/ or !/regexp/");
	for (*re = ++p; *p != '\0' && *p != delim; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	if (*p == '\0')
		return WHY(sb, "no closing regexp delimiter \"%c\"", delim);
	*relen = (size_t)(p - *re);
	*opts = PCRE2_CASELESS;
	for (p++; *p != '\0' && !isspace((unsigned char)*p); p++) {
		for (i = 0; i < OG_NELEM(pcre_flags); i++)
			if (pcre_flags[i].flag == *p)
				break;
		if (i == OG_NELEM(pcre_flags))
			return WHY(sb, "unknown regexp flag \"%c\"", *p);
		*opts ^= pcre_flags[i].option;
	}
	while (isspace((unsigned char)*p))
		p++;
	*pp = p;
	return 0;
}

static int
pcre_parse(struct og_table *t, char *line, struct og_strbuf *sb)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	struct rule *r;
	pcre2_code *code;
	char *p = line, *re;
	size_t relen;
	uint32_t opts, ncap;
	unsigned maxref;
	int negate, expand, ec;

	if (first_word(line, "if") || first_word(line, "endif"))
		return WHY(sb, "if/endif is not supported");
	if (pcre_pattern(&p, &re, &relen, &opts, &negate, sb) < 0)
		return -1;
	if (*p == '\0')
		return WHY(sb, "no result after the regexp");
	if ((expand = pcre_refs(p, &maxref, sb)) < 0)
		return -1;
	if (negate && maxref > 0)
		return WHY(sb, "$%u in the result of a negated regexp", maxref);
	code = pcre2_compile((PCRE2_SPTR)re, relen, opts, &ec, &off, NULL);
	if (code == NULL) {
		(void)pcre2_get_error_message(ec, msg, sizeof(msg));
		return WHY(sb, "bad regexp: %s at offset %zu", (char *)msg,
		    (size_t)off);
	}
	if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap) != 0 ||
	    maxref > ncap) {
		pcre2_code_free(code);
		return WHY(
		    sb, "out of range replacement index \"$%u\"", maxref);
	}
	if (count_entry(t, sb) < 0) {
		pcre2_code_free(code);
		return -1;
	}
	/* JIT is an optimisation only: its failure is not an error. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	if (ncap > t->maxcap)
		t->maxcap = ncap;
	t->rules = grow(t->rules, t->nrules, &t->rules_size, sizeof(*r));
	r = &t->rules[t->nrules++];
	r->code = code;
	r->result = arena_strndup(t, p, strlen(p));
	r->negate = negate;
	r->expand = expand;
	return 0;
}

/* pcre_expand - the result with $n filled in, in the thread's buffer */
static int
pcre_expand(const char *p, const char *key, int rc, pcre2_match_data *md,
    const char **value)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	size_t len = 0, add;
	const char *from;
	unsigned n;
	int braced;

	/* pcre_refs() has checked the syntax when the table was loaded. */
	for (; *p != '\0'; p++) {
		from = p;
		add = 1;
		if (*p == '$' && *++p != '$') {
			braced = *p == '{' || *p == '(';
			p += braced;
			for (n = 0; isdigit((unsigned char)*p); p++)
				n = n * 10 + (unsigned)(*p - '0');
			if (!braced)
				p--;
			add = 0;
			if ((int)n < rc && ov[2 * n] != PCRE2_UNSET &&
			    ov[2 * n + 1] >= ov[2 * n]) {
				from = key + ov[2 * n];
				add = ov[2 * n + 1] - ov[2 * n];
			}
		} else if (*p == '$')
			from = p;
		if (add > OG_TABLE_RESULT_MAX - len)
			return OG_ERROR;
		memcpy(pcre_result + len, from, add);
		len += add;
	}
	pcre_result[len] = '\0';
	*value = pcre_result;
	return OG_FOUND;
}

static int
pcre_lookup(
    const struct og_table *t, const char *key, size_t n, const char **value)
{
	pcre2_match_data *md;
	const struct rule *r;
	size_t i;
	int rc, ret = OG_NOTFOUND;

	if ((md = pcre2_match_data_create(t->maxcap + 1, NULL)) == NULL)
		return OG_ERROR;
	for (i = 0; i < t->nrules; i++) {
		r = &t->rules[i];
		rc =
		    pcre2_match(r->code, (PCRE2_SPTR)key, n, 0, 0, md, t->mctx);
		if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
			ret = OG_ERROR; /* match limit, JIT stack, ... */
			break;
		}
		if ((rc >= 0) == r->negate)
			continue;
		if (r->expand)
			ret = pcre_expand(r->result, key, rc, md, value);
		else {
			*value = r->result;
			ret = OG_FOUND;
		}
		break;
	}
	pcre2_match_data_free(md);
	return ret;
}

static int
inline_lookup(
    const struct og_table *t, const char *key, size_t n, const char **value)
{
	struct net ip;

	if (t->nnets > 0 && parse_ip(key, n, &ip) == 0 &&
	    nets_find(t, &ip) != NULL) {
		*value = "yes";
		return OG_FOUND;
	}
	return file_lookup(t, key, n, value);
}

static const struct og_table_ops table_ops[] = {
	{ "file", file_parse, file_lookup },
	{ "pcre", pcre_parse, pcre_lookup },
	{ "cidr", cidr_parse, cidr_lookup },
	{ "inline", NULL, inline_lookup },
};

/* inline_load - "{ a, b c }": elements split at commas and whitespace */
static int
inline_load(struct og_table *t, const char *spec, struct og_strbuf *err)
{
	char buf[OG_TABLE_KEY_MAX + 1];
	struct og_strbuf sb;
	struct net net;
	const char *p = spec, *end = spec + strlen(spec), *e;
	size_t n;
	int rc = -1, isnet;

	og_strbuf_init(&sb, WHY_MAX);
	while (isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (end - p < 2 || *p != '{' || end[-1] != '}') {
		set_err(err, "%s: expected inline:{ key, key, ... }", t->name);
		goto out;
	}
	for (p++, end--; p < end; p = e) {
		while (p < end && (*p == ',' || isspace((unsigned char)*p)))
			p++;
		for (e = p; e < end && *e != ',' && !isspace((unsigned char)*e);
		     e++)
			if (*e == '{' || *e == '}') {
				set_err(
				    err, "inline: nested { } not supported");
				goto out;
			}
		if ((n = (size_t)(e - p)) == 0)
			continue;
		if (n > OG_TABLE_KEY_MAX) {
			set_err(err, "inline: key longer than %d bytes",
			    OG_TABLE_KEY_MAX);
			goto out;
		}
		if (count_entry(t, &sb) < 0 ||
		    (isnet = parse_net(p, n, &net, &sb)) == -2) {
			set_err(err, "inline: %s", og_strbuf_str(&sb));
			goto out;
		}
		/* An address or network also matches as one (see table.h). */
		if (isnet == 0)
			nets_add(t, &net);
		key_lower(buf, p, n);
		(void)hash_add(t, buf, n, "yes");
	}
	rc = 0;
out:
	og_strbuf_release(&sb);
	return rc;
}

/*
 * reader_next - one logical line into r->line, trimmed, as Postfix's
 * readllines(): a line starting with whitespace continues the one
 * before, and comment or blank lines in between do not end it. Returns
 * 1, 0 at the end, or -1 with the reason in sb (r->lineno is the line).
 */
static int
reader_next(struct reader *r, struct og_strbuf *sb)
{
	const char *p, *end;
	size_t start;
	int c = EOF, next;

	og_strbuf_reset(&r->line);
	for (;;) {
		start = r->line.len;
		r->lineno++;
		while ((c = getc_unlocked(r->fp)) != EOF && c != '\n') {
			if (c == '\0')
				return WHY(sb, "NUL byte in line");
			if (og_strbuf_addc(&r->line, c) < 0)
				return WHY(sb, "line longer than %d bytes",
				    OG_TABLE_LINE_MAX);
		}
		if (c == EOF && ferror(r->fp))
			return WHY(sb, "read error: %s", strerror(errno));
		p = og_strbuf_str(&r->line) + start;
		end = og_strbuf_str(&r->line) + r->line.len;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p == end || *p == '#')
			og_strbuf_truncate(&r->line, start);
		else if (start == 0) {
			r->first = r->lineno;
			if (p != r->line.data)
				return WHY(sb,
				    "continuation line without a "
				    "line before it");
		}
		if (c == EOF)
			break;
		if (r->line.len > 0) {
			if ((next = getc_unlocked(r->fp)) != EOF)
				(void)ungetc(next, r->fp);
			if (next != '#' && !isspace(next))
				break;
		}
	}
	while (r->line.len > 0 &&
	    isspace((unsigned char)r->line.data[r->line.len - 1]))
		og_strbuf_truncate(&r->line, r->line.len - 1);
	return r->line.len > 0;
}

static int
file_load(struct og_table *t, struct og_strbuf *err)
{
	struct og_strbuf sb;
	struct reader r;
	struct stat st;
	unsigned long line;
	const char *bad = NULL;
	int rc;

	if ((r.fp = fopen(t->path, "re")) == NULL) {
		set_err(err, "%s: cannot open: %s", t->path, strerror(errno));
		return -1;
	}
	/*
	 * Symlinks are allowed (admins link config), but a FIFO or a
	 * directory is a mistake, and a world-writable table is a hole.
	 */
	if (fstat(fileno(r.fp), &st) < 0)
		bad = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		bad = "not a regular file";
	else if (st.st_mode & S_IWOTH)
		bad = "world-writable, refusing to use it";
	if (bad != NULL) {
		set_err(err, "%s: %s", t->path, bad);
		(void)fclose(r.fp);
		return -1;
	}
	r.lineno = r.first = 0;
	og_strbuf_init(&r.line, OG_TABLE_LINE_MAX);
	og_strbuf_init(&sb, WHY_MAX);
	flockfile(r.fp);
	/* A parse error names the logical line, a read error its line. */
	line = 0;
	while ((rc = reader_next(&r, &sb)) > 0) {
		if ((rc = t->ops->parse(t, r.line.data, &sb)) < 0) {
			line = r.first;
			break;
		}
	}
	if (line == 0)
		line = r.lineno;
	funlockfile(r.fp);
	if (rc < 0)
		set_err(err, "%s:%lu: %s", t->path, line, og_strbuf_str(&sb));
	else if (t->dups > DUP_WARN_MAX)
		og_warnx("%s: %lu duplicate entries in all", t->path, t->dups);
	og_strbuf_release(&sb);
	og_strbuf_release(&r.line);
	(void)fclose(r.fp);
	return rc;
}

static const struct og_table_ops *
find_ops(const char *name)
{
	const char *colon = strchr(name, ':');
	size_t i, n;

	if (colon == NULL)
		return NULL;
	n = (size_t)(colon - name);
	for (i = 0; i < OG_NELEM(table_ops); i++)
		if (strlen(table_ops[i].type) == n &&
		    strncmp(name, table_ops[i].type, n) == 0)
			return &table_ops[i];
	return NULL;
}

int
og_table_valid_type(const char *name)
{
	return name != NULL && find_ops(name) != NULL;
}

struct og_table *
og_table_open(const char *name, int flags, struct og_strbuf *err)
{
	const struct og_table_ops *ops;
	struct og_table *t;
	int rc;

	if (name == NULL || strchr(name, ':') == NULL) {
		set_err(err, "table \"%.256s\" is not of the form type:name",
		    name ? name : "");
		return NULL;
	}
	if ((ops = find_ops(name)) == NULL) {
		set_err(err, "unknown table type \"%.*s\" in \"%.256s\"",
		    SHOW(strchr(name, ':') - name), name, name);
		return NULL;
	}
	t = og_calloc(1, sizeof(*t));
	t->ops = ops;
	t->name = og_strdup(name);
	t->path = t->name + strlen(ops->type) + 1;
	t->flags = flags;
	if (*t->path == '\0') {
		set_err(err, "%s: missing path", name);
		return og_table_free(t);
	}
	if (ops->parse == NULL)
		rc = inline_load(t, t->path, err);
	else if ((rc = file_load(t, err)) == 0 && ops->parse == pcre_parse) {
		if ((t->mctx = pcre2_match_context_create(NULL)) == NULL)
			og_fatalx(EX_OSERR, "pcre2_match_context_create");
		(void)pcre2_set_match_limit(t->mctx, PCRE_MATCH_LIMIT);
		(void)pcre2_set_heap_limit(t->mctx, PCRE_HEAP_LIMIT);
	}
	if (rc < 0)
		return og_table_free(t);
	return t;
}

struct og_table *
og_table_free(struct og_table *t)
{
	struct chunk *c, *next;
	size_t i;

	if (t == NULL)
		return NULL;
	for (c = t->chunks; c != NULL; c = next) {
		next = c->next;
		og_free(c);
	}
	for (i = 0; i < t->nrules; i++)
		pcre2_code_free(t->rules[i].code);
	pcre2_match_context_free(t->mctx);
	og_free(t->rules);
	og_free(t->nets);
	og_free(t->ents);
	og_free(t->slots);
	og_free(t->name);
	og_free(t);
	return NULL;
}

const char *
og_table_type(const struct og_table *t)
{
	return t->ops->type;
}

const char *
og_table_name(const struct og_table *t)
{
	return t->name;
}

int
og_table_lookup(const struct og_table *t, const char *key, const char **value)
{
	size_t n;

	if (t == NULL || key == NULL ||
	    (n = strnlen(key, OG_TABLE_KEY_MAX + 1)) > OG_TABLE_KEY_MAX)
		return OG_ERROR;
	return t->ops->lookup(t, key, n, value);
}

/*
 * domain_walk - the domain, then, as Postfix's check_domain_access(),
 * each parent: "example.com" with OG_TABLE_PARENT, else ".example.com".
 */
static int
domain_walk(const struct og_table *t, const char *d, const char **value)
{
	const char *next;

	if (*d == '\0')
		return OG_NOTFOUND;
	if (file_lookup(t, d, strlen(d), value) == OG_FOUND)
		return OG_FOUND;
	for (; (next = strchr(d + 1, '.')) != NULL; d = next) {
		if ((t->flags & OG_TABLE_PARENT) && *++next == '\0')
			break;
		if (file_lookup(t, next, strlen(next), value) == OG_FOUND)
			return OG_FOUND;
	}
	return OG_NOTFOUND;
}

int
og_table_lookup_addr(
    const struct og_table *t, const char *addr, const char **value)
{
	char buf[OG_TABLE_KEY_MAX + 1];
	const char *at;
	size_t n;

	if (t == NULL || addr == NULL ||
	    (n = strnlen(addr, OG_TABLE_KEY_MAX + 1)) > OG_TABLE_KEY_MAX ||
	    t->ops->lookup == cidr_lookup)
		return OG_ERROR;
	if (t->ops->lookup != file_lookup)
		return t->ops->lookup(t, addr, n, value);
	key_lower(buf, addr, n);
	if ((at = strrchr(buf, '@')) == NULL)
		return domain_walk(t, buf, value);
	if (file_lookup(t, buf, n, value) == OG_FOUND)
		return OG_FOUND;
	if (at[1] == '\0')
		return OG_NOTFOUND;
	if (at > buf &&
	    file_lookup(t, buf, (size_t)(at - buf) + 1, value) == OG_FOUND)
		return OG_FOUND;
	if (domain_walk(t, at + 1, value) == OG_FOUND)
		return OG_FOUND;
	if (at > buf && file_lookup(t, at, strlen(at), value) == OG_FOUND)
		return OG_FOUND;
	return OG_NOTFOUND;
}

/*
 * auth.c - SPF, DKIM and DMARC of a sending domain, checked live in DNS
 * DESCRIPTION: SPF is libspf2's, evaluated for the envelope sender
 *	postmaster@DOMAIN from each egress IP, with a DNS layer of our own
 *	(an SPF_dns_server_t whose lookups go through lib/dns.c) that also
 *	enforces what libspf2 1.2 does not: the RFC 7208 4.6.4 limit of 10
 *	DNS-querying terms across include: and redirect= (libspf2 counts
 *	per record) and of 2 void lookups. DKIM compares the published p=
 *	with the public half of the configured private key (OpenSSL);
 *	DMARC discovers the record at the domain, then at its
 *	organisational domain (RFC 7489 6.6.3).
 *	The DKIM and DMARC records are tag-lists (RFC 6376 3.2) parsed here
 *	by hand: libopendkim is the milter's signing library and has no
 *	public key-record parser, libopendmarc is not a dependency (and its
 *	own parser overflowed a fixed array, OpenDMARC #441), and a bounded
 *	tag-list parse is fifty lines. The parsers take (ptr, len), never
 *	read past it, keep at most 64 tags and copy nothing unbounded.
 *	Reasons shown to people are one line, cut at OG_AUTH_REASON_MAX,
 *	bytes outside printable ASCII replaced by '?' (they may quote DNS).
 *	XXX: libspf2's message handlers are process globals; og_auth_check()
 *	points them at og_debug() once.
 * DIAGNOSTICS: see auth.h. A DNS failure is a temperror item.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spf2/spf.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"

#define TAGS_MAX 64
#define SPF_TERMS_MAX 10 /* RFC 7208 4.6.4 */
#define SPF_VOIDS_MAX 2
#define SPF_PENDING_MAX 10 /* MX/PTR names whose addresses are not terms */
#define SPF_FAILED_MAX 16 /* names whose lookup failed, remembered */
#define KEY_FILE_MAX (64 * 1024)

const char *
og_auth_res_name(enum og_auth_res r)
{
	static const char *const names[] = { "pass", "fail", "softfail",
		"neutral", "none", "temperror", "permerror" };

	if ((unsigned)r >= OG_NELEM(names))
		return "permerror";
	return names[r];
}

static void item_set(struct og_auth_item *, enum og_auth_res, const char *, ...)
    OG_PRINTF(3, 4);

/* item_set - result and a one-line, printable reason */
static void
item_set(struct og_auth_item *it, enum og_auth_res res, const char *fmt, ...)
{
	va_list ap;
	char *p;

	it->res = res;
	it->ok = res == OG_AUTH_PASS;
	va_start(ap, fmt);
	(void)vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
	for (p = it->reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/* ---- tag-lists (RFC 6376 3.2) ---- */

struct tag {
	const char *name, *val;
	size_t nlen, vlen;
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
name_eq(const char *a, size_t alen, const char *b, size_t blen, int icase)
{
	if (alen != blen)
		return 0;
	return (icase ? og_strncasecmp_ascii(a, b, alen)
	              : strncmp(a, b, alen)) == 0;
}

static int
tag_is(const struct tag *t, const char *name, int icase)
{
	return name_eq(t->name, t->nlen, name, strlen(name), icase);
}

static int
val_is(const struct tag *t, const char *word)
{
	size_t n = strlen(word);

	return t->vlen == n && og_strncasecmp_ascii(t->val, word, n) == 0;
}

/*
 * taglist - split rec into at most TAGS_MAX tags: a name is ALPHA
 * *(ALNUM / "_"), a value printable ASCII except ';' with inner white
 * space, both trimmed; empty tag-specs (";;", a final ";") are skipped.
 * A name that appears twice (compared as icase says) is an error.
 */
static int
taglist(const char *rec, size_t len, int icase, struct tag *t, size_t *n,
    const char **err)
{
	const char *p = rec, *end = rec + len, *last;
	struct tag tg;
	size_t i;

	*n = 0;
	while (p < end) {
		while (p < end && is_wsp(*p))
			p++;
		if (p < end && *p == ';') {
			p++;
			continue;
		}
		if (p == end)
			break;
		if (!isalpha((unsigned char)*p)) {
			*err = "a tag name must start with a letter";
			return -1;
		}
		for (tg.name = p;
		     p < end && (isalnum((unsigned char)*p) || *p == '_'); p++)
			;
		tg.nlen = (size_t)(p - tg.name);
		while (p < end && is_wsp(*p))
			p++;
		if (p == end || *p != '=') {
			*err = "a tag without \"=\"";
			return -1;
		}
		for (p++; p < end && is_wsp(*p); p++)
			;
		for (tg.val = last = p; p < end && *p != ';'; p++) {
			if (is_wsp(*p))
				continue;
			if ((unsigned char)*p < 0x21 ||
			    (unsigned char)*p > 0x7e) {
				*err = "a control or non-ASCII byte in a value";
				return -1;
			}
			last = p + 1;
		}
		tg.vlen = (size_t)(last - tg.val);
		for (i = 0; i < *n; i++)
			if (name_eq(t[i].name, t[i].nlen, tg.name, tg.nlen,
			        icase)) {
				*err = "a tag appears twice";
				return -1;
			}
		if (*n == TAGS_MAX) {
			*err = "more than 64 tags";
			return -1;
		}
		t[(*n)++] = tg;
	}
	return 0;
}

/* ---- DMARC records ---- */

int
og_dmarc_is_record(const char *rec, size_t len)
{
	const char *p = rec, *end = rec + len;

	while (p < end && is_wsp(*p))
		p++;
	if (p == end || (*p != 'v' && *p != 'V'))
		return 0;
	for (p++; p < end && is_wsp(*p); p++)
		;
	if (p == end || *p != '=')
		return 0;
	for (p++; p < end && is_wsp(*p); p++)
		;
	if ((size_t)(end - p) < 6 || memcmp(p, "DMARC1", 6) != 0)
		return 0;
	for (p += 6; p < end && is_wsp(*p); p++)
		;
	return p == end || *p == ';';
}

/* policy_word - none/quarantine/reject into buf, -1 if something else */
static int
policy_word(const struct tag *t, char *buf, size_t size)
{
	static const char *const words[] = { "none", "quarantine", "reject" };
	size_t i;

	for (i = 0; i < OG_NELEM(words); i++)
		if (val_is(t, words[i])) {
			(void)og_strlcpy(buf, words[i], size);
			return 0;
		}
	return -1;
}

/* uri_list_ok - 1 if the comma list holds one plausible URI (scheme:...) */
static int
uri_list_ok(const char *v, size_t len)
{
	size_t i = 0, j;

	while (i < len) {
		while (i < len && (v[i] == ',' || is_wsp(v[i])))
			i++;
		if (i < len && isalpha((unsigned char)v[i])) {
			for (j = i + 1; j < len &&
			     (isalnum((unsigned char)v[j]) || v[j] == '+' ||
			         v[j] == '-' || v[j] == '.');
			     j++)
				;
			if (j + 1 < len && v[j] == ':' && v[j + 1] != ',' &&
			    !is_wsp(v[j + 1]) && v[j + 1] != '!')
				return 1;
		}
		while (i < len && v[i] != ',')
			i++;
	}
	return 0;
}

static void
note_bad(struct og_dmarc *d, const struct tag *t)
{
	if (d->note[0] == '\0')
		(void)snprintf(d->note, sizeof(d->note),
		    "%.*s=%.*s ignored (bad value)", (int)t->nlen, t->name,
		    (int)(t->vlen > 40 ? 40 : t->vlen), t->val);
}

/* dmarc_tag - one tag after v=; *bad_p / *bad_sp say p= or sp= was bad */
static void
dmarc_tag(struct og_dmarc *d, const struct tag *t, int *seen_p, int *bad_p,
    int *bad_sp, int *rua_ok)
{
	unsigned long long v;
	char num[8];

	if (tag_is(t, "p", 1)) {
		*seen_p = 1;
		*bad_p = policy_word(t, d->p, sizeof(d->p)) < 0;
	} else if (tag_is(t, "sp", 1))
		*bad_sp = policy_word(t, d->sp, sizeof(d->sp)) < 0;
	else if (tag_is(t, "adkim", 1) || tag_is(t, "aspf", 1)) {
		int *strict = t->name[1] == 'd' || t->name[1] == 'D'
		    ? &d->adkim_strict
		    : &d->aspf_strict;

		if (val_is(t, "s") || val_is(t, "r"))
			*strict = val_is(t, "s");
		else
			note_bad(d, t);
	} else if (tag_is(t, "pct", 1)) {
		if (t->vlen == 0 || t->vlen >= sizeof(num))
			note_bad(d, t);
		else {
			memcpy(num, t->val, t->vlen);
			num[t->vlen] = '\0';
			if (og_parse_uint(num, 0, 100, &v) < 0)
				note_bad(d, t);
			else
				d->pct = (unsigned)v;
		}
	} else if (tag_is(t, "rua", 1)) {
		(void)snprintf(d->rua, sizeof(d->rua), "%.*s",
		    (int)(t->vlen < sizeof(d->rua) ? t->vlen
		                                   : sizeof(d->rua) - 1),
		    t->val);
		*rua_ok = uri_list_ok(t->val, t->vlen);
	}
	/* ruf, fo, rf, ri and unknown tags: nothing we check depends on them */
}

int
og_dmarc_parse(
    const char *rec, size_t len, struct og_dmarc *out, const char **err)
{
	struct tag t[TAGS_MAX];
	struct og_dmarc d;
	int seen_p = 0, bad_p = 0, bad_sp = 0, rua_ok = 0;
	size_t n, i;

	if (len > OG_DMARC_RECORD_MAX) {
		*err = "longer than 4096 bytes";
		return -1;
	}
	if (taglist(rec, len, 1, t, &n, err) < 0)
		return -1;
	if (n == 0 || !tag_is(&t[0], "v", 1) || t[0].vlen != 6 ||
	    memcmp(t[0].val, "DMARC1", 6) != 0) {
		*err = "does not start with v=DMARC1";
		return -1;
	}
	memset(&d, 0, sizeof(d));
	d.pct = 100;
	for (i = 1; i < n; i++)
		dmarc_tag(&d, &t[i], &seen_p, &bad_p, &bad_sp, &rua_ok);
	if (!seen_p || bad_p || bad_sp) {
		/* RFC 7489 6.6.3: with a valid rua=, act as if p=none */
		if (!rua_ok) {
			*err = !seen_p ? "p= missing"
			    : bad_p    ? "p= is not none, quarantine or reject"
			            : "sp= is not none, quarantine or reject";
			return -1;
		}
		(void)og_strlcpy(d.p, "none", sizeof(d.p));
		d.sp[0] = '\0';
		d.p_implied = 1;
	}
	*out = d;
	return 0;
}

/* ---- DKIM key records ---- */

/* service_ok - s= allows email: "*" or "email" among its ':' items */
static int
service_ok(const struct tag *t)
{
	size_t i = 0, j;

	while (i <= t->vlen) {
		for (j = i; j < t->vlen && t->val[j] != ':'; j++)
			;
		while (i < j && is_wsp(t->val[i]))
			i++;
		if ((j - i >= 1 && t->val[i] == '*') ||
		    (j - i >= 5 &&
		        og_strncasecmp_ascii(t->val + i, "email", 5) == 0 &&
		        (j - i == 5 || is_wsp(t->val[i + 5]))))
			return 1;
		i = j + 1;
	}
	return 0;
}

int
og_dkim_key_parse(
    const char *rec, size_t len, struct og_dkim_key *out, const char **err)
{
	struct tag t[TAGS_MAX];
	struct og_dkim_key k;
	int have_p = 0;
	size_t n, i;

	if (len > OG_DNS_TXT_MAX) {
		*err = "longer than 4096 bytes";
		return -1;
	}
	if (taglist(rec, len, 0, t, &n, err) < 0)
		return -1;
	memset(&k, 0, sizeof(k));
	(void)og_strlcpy(k.k, "rsa", sizeof(k.k));
	for (i = 0; i < n; i++) {
		if (tag_is(&t[i], "v", 0)) {
			if (i != 0 || t[i].vlen != 5 ||
			    memcmp(t[i].val, "DKIM1", 5) != 0) {
				*err = i != 0 ? "v= is not the first tag"
				              : "v= is not DKIM1";
				return -1;
			}
		} else if (tag_is(&t[i], "k", 0)) {
			if (val_is(&t[i], "rsa"))
				(void)og_strlcpy(k.k, "rsa", sizeof(k.k));
			else if (val_is(&t[i], "ed25519"))
				(void)og_strlcpy(k.k, "ed25519", sizeof(k.k));
			else {
				*err = "k= names a key type other than rsa or "
				       "ed25519";
				return -1;
			}
		} else if (tag_is(&t[i], "p", 0)) {
			have_p = 1;
			k.p_off = (size_t)(t[i].val - rec);
			k.p_len = t[i].vlen;
			k.revoked = t[i].vlen == 0;
		} else if (tag_is(&t[i], "s", 0) && !service_ok(&t[i])) {
			*err = "s= does not include email";
			return -1;
		}
	}
	if (!have_p) {
		*err = "p= missing";
		return -1;
	}
	*out = k;
	return 0;
}

/* b64_decode - base64 with white space skipped, strictly padded */
static int
b64_decode(
    const char *s, size_t len, unsigned char *out, size_t size, size_t *outlen)
{
	unsigned char *clean;
	size_t i, n = 0, pad = 0;
	int r = -1;

	clean = og_malloc(len + 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_wsp(c))
			continue;
		if (c == '=')
			pad++;
		else if (pad > 0 || !(isalnum(c) || c == '+' || c == '/'))
			goto done;
		clean[n++] = c;
	}
	if (n == 0 || n % 4 != 0 || pad > 2 || n / 4 * 3 > size)
		goto done;
	if ((r = EVP_DecodeBlock(out, clean, (int)n)) >= 0) {
		*outlen = (size_t)r - pad;
		r = 0;
	}
done:
	og_free(clean);
	return r < 0 ? -1 : 0;
}

static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1; /* an encrypted key is unusable here: never prompt */
}

/* load_key - the PEM private key in path, or NULL with why */
static EVP_PKEY *
load_key(const char *path, char *why, size_t whylen)
{
	struct stat st;
	EVP_PKEY *pk = NULL;
	BIO *bio;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)) <
	    0) {
		(void)snprintf(why, whylen, "key file unreadable: %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > KEY_FILE_MAX) {
		(void)snprintf(why, whylen, "key file unreadable: %s: %s", path,
		    !S_ISREG(st.st_mode) ? "not a regular file"
		                         : "larger than 64 KiB");
		(void)close(fd);
		return NULL;
	}
	buf = og_malloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size &&
	    ((r = read(fd, buf + n, (size_t)st.st_size - n)) > 0 ||
	        (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	(void)close(fd);
	if ((bio = BIO_new_mem_buf(buf, (int)n)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	OPENSSL_cleanse(buf, n);
	og_free(buf);
	if (pk == NULL) {
		ERR_clear_error();
		(void)snprintf(why, whylen,
		    "key file %s: not a PEM private key (or encrypted)", path);
	}
	return pk;
}

/* der_equal - the DER i2d() gives for pk equals pub */
static int
der_equal(EVP_PKEY *pk, int spki, const unsigned char *pub, size_t len)
{
	unsigned char *der = NULL;
	int n, eq;

	n = spki ? i2d_PUBKEY(pk, &der) : i2d_PublicKey(pk, &der);
	eq = n > 0 && (size_t)n == len && memcmp(der, pub, len) == 0;
	OPENSSL_free(der);
	return eq;
}

int
og_dkim_key_match(const char *key_file, const char *k, const char *b64,
    size_t len, char *why, size_t whylen)
{
	unsigned char pub[OG_DNS_TXT_MAX], raw[64];
	size_t publen = 0, rawlen = sizeof(raw);
	EVP_PKEY *pk;
	int id, match = 0;

	if ((pk = load_key(key_file, why, whylen)) == NULL)
		return -1;
	id = EVP_PKEY_base_id(pk);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		(void)snprintf(why, whylen,
		    "key file %s holds neither an RSA nor an Ed25519 key",
		    key_file);
		EVP_PKEY_free(pk);
		return -1;
	}
	if (strcmp(k, id == EVP_PKEY_RSA ? "rsa" : "ed25519") != 0)
		(void)snprintf(why, whylen, "k=%s but %s holds an %s key", k,
		    key_file, id == EVP_PKEY_RSA ? "RSA" : "Ed25519");
	else if (b64_decode(b64, len, pub, sizeof(pub), &publen) < 0)
		(void)snprintf(why, whylen, "p= is not valid base64");
	else if (id == EVP_PKEY_RSA)
		match = der_equal(pk, 1, pub, publen) ||
		    der_equal(pk, 0, pub, publen);
	else
		match = EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) == 1 &&
		    rawlen == publen && memcmp(raw, pub, publen) == 0;
	if (!match && why[0] == '\0')
		(void)snprintf(why, whylen, "p= does not match %s", key_file);
	EVP_PKEY_free(pk);
	return match;
}

/* ---- SPF: libspf2 with its DNS through lib/dns.c ---- */

enum spf_over { OVER_NONE, OVER_TERMS, OVER_VOIDS };

/* per evaluation: what our DNS layer counted */
struct spf_state {
	struct og_dns *dns;
	int ntxt, terms, voids;
	enum spf_over over;
	char *pending[SPF_PENDING_MAX]; /* the last MX/PTR answer's names */
	size_t npending;
	/*
	 * names whose lookup failed, kept across the egress IPs of one
	 * check: a dead resolver costs one timeout per name, not per IP
	 */
	struct {
		char *name, *why;
		int type;
	} failed[SPF_FAILED_MAX];
	size_t nfailed;
	char why[OG_DNS_WHY_MAX + 128]; /* the first DNS failure */
	unsigned ttl; /* the shortest TTL of the answers */
};

/* ttl_min - *t becomes the shorter of *t and v (0: unknown) */
static void
ttl_min(unsigned *t, unsigned v)
{
	if (v > 0 && (*t == 0 || v < *t))
		*t = v;
}

static void
pending_clear(struct spf_state *st)
{
	while (st->npending > 0) {
		st->npending--;
		st->pending[st->npending] = og_free(st->pending[st->npending]);
	}
}

/* pending_take - 1 (and forget it) if name came from the last MX/PTR */
static int
pending_take(struct spf_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->npending; i++)
		if (og_strcasecmp_ascii(st->pending[i], name) == 0) {
			og_free(st->pending[i]);
			st->pending[i] = st->pending[--st->npending];
			return 1;
		}
	return 0;
}

/*
 * is_term - does this query stand for a DNS-querying term (include,
 * redirect, a, mx, ptr, exists)? The first TXT query is the domain's
 * own record, A/AAAA queries for the names of the last MX or PTR
 * answer are the mx/ptr term's own lookups (RFC 7208 4.6.4 limits them
 * apart), exp= never reaches the layer (spf_get_exp).
 * XXX: the PTR lookup of a %{p} macro counts as a term.
 */
static int
is_term(struct spf_state *st, int type, const char *name)
{
	switch (type) {
	case OG_DNS_TXT:
		return st->ntxt++ > 0;
	case OG_DNS_A:
	case OG_DNS_AAAA:
		return !pending_take(st, name);
	default:
		return 1;
	}
}

/* failed_before - 1 with a->why set if name/type failed in this check */
static int
failed_before(
    struct spf_state *st, const char *name, int type, struct og_dns_answer *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < st->nfailed; i++)
		if (st->failed[i].type == type &&
		    og_strcasecmp_ascii(st->failed[i].name, name) == 0) {
			(void)og_strlcpy(
			    a->why, st->failed[i].why, sizeof(a->why));
			return 1;
		}
	return 0;
}

static void
failed_add(struct spf_state *st, const char *name, int type, const char *why)
{
	size_t i;

	for (i = 0; i < st->nfailed; i++)
		if (st->failed[i].type == type &&
		    og_strcasecmp_ascii(st->failed[i].name, name) == 0)
			return;
	if (st->nfailed == SPF_FAILED_MAX)
		return;
	st->failed[st->nfailed].name = og_strdup(name);
	st->failed[st->nfailed].why = og_strdup(why);
	st->failed[st->nfailed++].type = type;
}

static SPF_dns_rr_t *
spf_rr_fill(SPF_dns_server_t *srv, const char *domain, ns_type type, int ogtype,
    const struct og_dns_answer *a)
{
	struct spf_state *st = srv->hook;
	SPF_dns_rr_t *rr;
	size_t i, len;

	rr = SPF_dns_rr_new_init(srv, domain, type, 0, NETDB_SUCCESS);
	if (rr == NULL)
		return NULL;
	if (ogtype == OG_DNS_MX || ogtype == OG_DNS_PTR)
		pending_clear(st);
	for (i = 0; i < a->n; i++) {
		len = ogtype == OG_DNS_A    ? sizeof(struct in_addr)
		    : ogtype == OG_DNS_AAAA ? sizeof(struct in6_addr)
		                            : strlen(a->rr[i]) + 1;
		if (SPF_dns_rr_buf_realloc(rr, (int)i, len) != SPF_E_SUCCESS)
			og_fatalx(EX_OSERR, "libspf2: out of memory");
		if (ogtype == OG_DNS_A)
			(void)inet_pton(AF_INET, a->rr[i], &rr->rr[i]->a);
		else if (ogtype == OG_DNS_AAAA)
			(void)inet_pton(AF_INET6, a->rr[i], &rr->rr[i]->aaaa);
		else
			memcpy(rr->rr[i]->txt, a->rr[i], len);
		if ((ogtype == OG_DNS_MX || ogtype == OG_DNS_PTR) &&
		    st->npending < SPF_PENDING_MAX)
			st->pending[st->npending++] = og_strdup(a->rr[i]);
	}
	rr->num_rr = (int)a->n;
	return rr;
}

static SPF_dns_rr_t *
spf_lookup(
    SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
	struct spf_state *st = srv->hook;
	struct og_dns_answer a;
	SPF_dns_rr_t *rr;
	int ogtype, rc, term;

	(void)should_cache; /* lib/dns.c caches */
	switch ((int)type) {
	case ns_t_a:
		ogtype = OG_DNS_A;
		break;
	case ns_t_aaaa:
		ogtype = OG_DNS_AAAA;
		break;
	case ns_t_mx:
		ogtype = OG_DNS_MX;
		break;
	case ns_t_ptr:
		ogtype = OG_DNS_PTR;
		break;
	case ns_t_txt:
		ogtype = OG_DNS_TXT;
		break;
	default: /* type SPF (99) is obsolete (RFC 7208 3.1): not asked */
		return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
	}
	if (st->over != OVER_NONE) /* stop the evaluation: see spf_eval() */
		return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
	if ((term = is_term(st, ogtype, domain)) &&
	    ++st->terms > SPF_TERMS_MAX) {
		st->over = OVER_TERMS;
		return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
	}
	rc = failed_before(st, domain, ogtype, &a)
	    ? OG_ERROR
	    : og_dns_query(st->dns, domain, ogtype, &a);
	if (rc != OG_ERROR)
		ttl_min(&st->ttl, a.ttl);
	if (rc == OG_ERROR) {
		if (st->why[0] == '\0')
			(void)snprintf(st->why, sizeof(st->why),
			    "DNS lookup of %.80s failed: %s", domain, a.why);
		failed_add(st, domain, ogtype, a.why);
		return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
	}
	if (rc == OG_NOTFOUND) {
		if (term && ogtype != OG_DNS_TXT &&
		    ++st->voids > SPF_VOIDS_MAX) {
			st->over = OVER_VOIDS;
			return SPF_dns_rr_new_init(
			    srv, domain, type, 0, TRY_AGAIN);
		}
		return SPF_dns_rr_new_init(srv, domain, type, 0,
		    a.nxdomain ? HOST_NOT_FOUND : NO_DATA);
	}
	rr = spf_rr_fill(srv, domain, type, ogtype, &a);
	og_dns_answer_clear(&a);
	return rr;
}

/* spf_get_exp - explanations are not fetched: they cost lookups */
static SPF_errcode_t
spf_get_exp(SPF_server_t *srv, const char *domain, char **buf, size_t *len)
{
	static const char text[] = "(explanation not fetched)";
	char *p;

	(void)srv;
	(void)domain;
	if (*len < sizeof(text)) {
		if ((p = realloc(*buf, sizeof(text))) == NULL)
			return SPF_E_NO_MEMORY;
		*buf = p;
		*len = sizeof(text);
	}
	memcpy(*buf, text, sizeof(text));
	return SPF_E_SUCCESS;
}

static void
spf_log(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	og_debug("libspf2: %s", msg);
}

static void
spf_log_init(void)
{
	SPF_warning_handler = spf_log;
	SPF_info_handler = spf_log;
	SPF_debug_handler = spf_log;
}

/* spf_first_error - the first error libspf2 recorded other than "not SPF" */
static const char *
spf_first_error(SPF_response_t *resp)
{
	SPF_error_t *e;
	int i;

	for (i = 0; i < SPF_response_messages(resp); i++) {
		e = SPF_response_message(resp, i);
		if (e != NULL && SPF_error_errorp(e) &&
		    SPF_error_code(e) != SPF_E_NOT_SPF)
			return SPF_error_message(e);
	}
	return NULL;
}

/* spf_result - the item for what libspf2 and our layer found */
static void
spf_result(struct og_auth_item *it, struct spf_state *st, SPF_response_t *resp,
    SPF_errcode_t err, int got_record, const char *domain, const char *ip)
{
	const char *e = spf_first_error(resp);

	if (st->over == OVER_TERMS)
		item_set(it, OG_AUTH_PERMERROR,
		    "more than 10 DNS-querying terms (RFC 7208 4.6.4)");
	else if (st->over == OVER_VOIDS)
		item_set(it, OG_AUTH_PERMERROR,
		    "more than 2 void lookups (RFC 7208 4.6.4)");
	else if (!got_record && err == SPF_E_DNS_ERROR)
		item_set(it, OG_AUTH_TEMPERROR, "%s", st->why);
	else if (!got_record && err == SPF_E_MULTIPLE_RECORDS)
		item_set(it, OG_AUTH_PERMERROR, "several v=spf1 records at %s",
		    domain);
	else if (!got_record && e != NULL)
		item_set(it, OG_AUTH_PERMERROR, "the SPF record of %s: %s",
		    domain, e);
	else if (!got_record)
		item_set(it, OG_AUTH_NONE, "no SPF record at %s", domain);
	else
		switch (SPF_response_result(resp)) {
		case SPF_RESULT_PASS:
			item_set(it, OG_AUTH_PASS,
			    "the SPF record of %s permits %s", domain, ip);
			break;
		case SPF_RESULT_FAIL:
			item_set(it, OG_AUTH_FAIL,
			    "the SPF record of %s does not permit %s", domain,
			    ip);
			break;
		case SPF_RESULT_SOFTFAIL:
			item_set(it, OG_AUTH_SOFTFAIL,
			    "the SPF record of %s does not permit %s (~all)",
			    domain, ip);
			break;
		case SPF_RESULT_NEUTRAL:
			item_set(it, OG_AUTH_NEUTRAL,
			    "the SPF record of %s says nothing about %s",
			    domain, ip);
			break;
		case SPF_RESULT_NONE:
			item_set(
			    it, OG_AUTH_NONE, "no SPF record at %s", domain);
			break;
		case SPF_RESULT_TEMPERROR:
			item_set(it, OG_AUTH_TEMPERROR, "%s",
			    st->why[0]
			        ? st->why
			        : SPF_strerror(SPF_response_errcode(resp)));
			break;
		default:
			item_set(it, OG_AUTH_PERMERROR, "%s",
			    e ? e : SPF_strerror(SPF_response_errcode(resp)));
			break;
		}
}

/*
 * spf_eval - SPF of domain for one IP. Not SPF_request_query_mailfrom():
 * it passes every loopback client without looking (SPF_REASON_LOCALHOST),
 * and an egress IP (a test's) may be 127.0.0.1. The steps below are that
 * function's, minus the shortcut: the record, then its interpretation.
 */
static void
spf_eval(SPF_server_t *srv, struct spf_state *st, const char *domain,
    const char *ip, struct og_auth_item *it)
{
	SPF_request_t *req;
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;
	char from[300];

	st->ntxt = st->terms = st->voids = 0;
	st->over = OVER_NONE;
	st->why[0] = '\0';
	pending_clear(st);
	if ((req = SPF_request_new(srv)) == NULL)
		og_fatalx(EX_OSERR, "libspf2: out of memory");
	(void)snprintf(from, sizeof(from), "postmaster@%s", domain);
	if ((strchr(ip, ':')
	            ? SPF_request_set_ipv6_str(req, ip)
	            : SPF_request_set_ipv4_str(req, ip)) != SPF_E_SUCCESS ||
	    SPF_request_set_env_from(req, from) != 0) {
		item_set(it, OG_AUTH_PERMERROR, "cannot evaluate %s for %s",
		    domain, ip);
		SPF_request_free(req);
		return;
	}
	req->cur_dom = req->env_from_dp;
	if ((resp = SPF_response_new(req)) == NULL)
		og_fatalx(EX_OSERR, "libspf2: out of memory");
	err = SPF_server_get_record(srv, req, resp, &rec);
	if (err == SPF_E_SUCCESS && rec != NULL) {
		resp->spf_record_exp = rec;
		err = SPF_record_interpret(rec, req, resp, 0);
		SPF_record_free(rec);
		spf_result(it, st, resp, err, 1, domain, ip);
	} else {
		if (rec != NULL)
			SPF_record_free(rec);
		spf_result(it, st, resp, err, 0, domain, ip);
	}
	pending_clear(st);
	SPF_response_free(resp);
	SPF_request_free(req);
}

/* first_address - the first address of "IP" or "IP/LEN", inet_ntop form */
static int
first_address(const char *spec, char *buf, size_t size)
{
	const char *slash = strchr(spec, '/');
	size_t n = slash ? (size_t)(slash - spec) : strlen(spec), i;
	unsigned long long bits = 128;
	unsigned char a[16];
	char ip[64];
	int af;

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, spec, n);
	ip[n] = '\0';
	af = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, ip, a) != 1)
		return -1;
	n = af == AF_INET ? 4 : 16;
	if (slash != NULL && og_parse_uint(slash + 1, 0, n * 8, &bits) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			a[i] &= (unsigned char)(0xff << (8 - bits));
			bits = 0;
		}
	}
	return inet_ntop(af, a, buf, (socklen_t)size) ? 0 : -1;
}

static void
spf_all(struct og_dns *dns, const struct og_auth_conf *conf,
    struct og_auth_report *r)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	SPF_dns_server_t layer;
	struct spf_state st;
	SPF_server_t *srv;
	char ip[64];
	size_t i, j;

	if (conf->negress == 0) {
		item_set(
		    &r->spf[0].item, OG_AUTH_NONE, "no egress_ips configured");
		r->nspf = 1;
		return;
	}
	(void)pthread_once(&once, spf_log_init);
	memset(&st, 0, sizeof(st));
	st.dns = dns;
	memset(&layer, 0, sizeof(layer));
	layer.destroy = NULL; /* ours: SPF_server_free() leaves it */
	layer.lookup = spf_lookup;
	layer.get_exp = spf_get_exp;
	layer.name = "outguard";
	layer.hook = &st;
	if ((srv = SPF_server_new_dns(&layer, 0)) == NULL)
		og_fatalx(EX_OSERR, "libspf2: out of memory");
	(void)SPF_server_set_max_dns_mech(srv, SPF_TERMS_MAX);
	(void)SPF_server_set_max_dns_mx(srv, 10);
	(void)SPF_server_set_max_dns_ptr(srv, 10);
	for (i = 0; i < conf->negress; i++) {
		int bad =
		    first_address(conf->egress_ips[i], ip, sizeof(ip)) < 0;

		if (bad)
			(void)snprintf(
			    ip, sizeof(ip), "%.63s", conf->egress_ips[i]);
		for (j = 0; j < r->nspf && strcmp(r->spf[j].ip, ip) != 0; j++)
			;
		if (j < r->nspf)
			continue; /* the same first address again */
		if (r->nspf == OG_AUTH_IPS_MAX) {
			og_warnx("check-auth: only the first %d egress_ips "
			         "are checked",
			    OG_AUTH_IPS_MAX);
			break;
		}
		(void)og_strlcpy(r->spf[r->nspf].ip, ip, sizeof(r->spf[0].ip));
		if (bad)
			item_set(&r->spf[r->nspf].item, OG_AUTH_PERMERROR,
			    "egress_ips entry is not an IP or network");
		else
			spf_eval(
			    srv, &st, r->domain, ip, &r->spf[r->nspf].item);
		r->nspf++;
	}
	SPF_server_free(srv);
	ttl_min(&r->ttl, st.ttl);
	while (st.nfailed > 0) {
		st.nfailed--;
		og_free(st.failed[st.nfailed].name);
		og_free(st.failed[st.nfailed].why);
	}
}

/* ---- DKIM ---- */

static void
dkim_one(struct og_dns *dns, const char *domain, const char *sel,
    const char *key_file, struct og_auth_item *it)
{
	struct og_dns_answer a;
	struct og_dkim_key k, found;
	const char *err = NULL, *rec = NULL;
	char name[OG_DNS_NAME_MAX], why[OG_AUTH_REASON_MAX];
	size_t i, nkeys = 0;
	int rc;

	(void)snprintf(name, sizeof(name), "%s._domainkey.%s", sel, domain);
	rc = og_dns_query(dns, name, OG_DNS_TXT, &a);
	if (rc == OG_ERROR) {
		item_set(it, OG_AUTH_TEMPERROR, "DNS lookup of %s failed: %s",
		    name, a.why);
		return;
	}
	if (rc == OG_NOTFOUND) {
		item_set(it, OG_AUTH_PERMERROR, "no TXT record at %s", name);
		return;
	}
	for (i = 0; i < a.n; i++)
		if (og_dkim_key_parse(a.rr[i], strlen(a.rr[i]), &k, &err) ==
		    0) {
			found = k;
			rec = a.rr[i];
			nkeys++;
		}
	if (nkeys == 0)
		item_set(it, OG_AUTH_PERMERROR,
		    "the TXT record at %s is not "
		    "a DKIM key: %s",
		    name, err);
	else if (nkeys > 1)
		item_set(it, OG_AUTH_PERMERROR,
		    "%zu key records at %s "
		    "(RFC 6376 3.6.2.2: results undefined)",
		    nkeys, name);
	else if (found.revoked)
		item_set(it, OG_AUTH_FAIL, "p= empty at %s: key revoked", name);
	else if (key_file == NULL)
		item_set(
		    it, OG_AUTH_FAIL, "no dkim_key_file for selector %s", sel);
	else {
		why[0] = '\0';
		rc = og_dkim_key_match(key_file, found.k, rec + found.p_off,
		    found.p_len, why, sizeof(why));
		if (rc == 1)
			item_set(it, OG_AUTH_PASS, "%s matches %s (k=%s)", name,
			    key_file, found.k);
		else
			item_set(it, OG_AUTH_FAIL, "%s", why);
	}
	og_dns_answer_clear(&a);
}

static void
dkim_all(struct og_dns *dns, const struct og_auth_conf *conf,
    struct og_auth_report *r)
{
	size_t i, npass = 0, ntemp = 0;

	for (i = 0; i < conf->nkeys && i < OG_AUTH_KEYS_MAX; i++) {
		const char *d = conf->keys[i].domain,
		           *sel = conf->keys[i].selector;

		if (d == NULL || sel == NULL ||
		    !og_domain_aligned(d, r->domain, 0))
			continue;
		(void)og_strlcpy(
		    r->dkim[r->ndkim].domain, d, sizeof(r->dkim[0].domain));
		(void)og_strlcpy(r->dkim[r->ndkim].selector, sel,
		    sizeof(r->dkim[0].selector));
		dkim_one(dns, r->dkim[r->ndkim].domain, sel,
		    conf->keys[i].key_file, &r->dkim[r->ndkim].item);
		npass += r->dkim[r->ndkim].item.ok;
		ntemp += r->dkim[r->ndkim].item.res == OG_AUTH_TEMPERROR;
		r->ndkim++;
	}
	if (r->ndkim == 0)
		item_set(&r->dkim_any, OG_AUTH_FAIL,
		    "no DKIM key configured for %s", r->domain);
	else if (npass > 0)
		item_set(&r->dkim_any, OG_AUTH_PASS,
		    "%zu of %zu keys match their DNS records", npass, r->ndkim);
	else if (ntemp > 0)
		item_set(&r->dkim_any, OG_AUTH_TEMPERROR,
		    "no key verified: DNS failed for %zu of %zu", ntemp,
		    r->ndkim);
	else
		item_set(&r->dkim_any, OG_AUTH_FAIL,
		    r->ndkim == 1 ? "the key does not match its DNS record"
		                  : "no key matches its DNS record");
}

/* ---- DMARC ---- */

/*
 * dmarc_at - the DMARC records at _dmarc.name: OG_FOUND with the one
 * record in rec, OG_NOTFOUND (none), or OG_ERROR with the item set
 * (DNS failure, several records)
 */
static int
dmarc_at(struct og_dns *dns, const char *name, struct og_auth_report *r,
    char *rec, size_t size)
{
	struct og_dns_answer a;
	char q[OG_DNS_NAME_MAX];
	size_t i, n = 0;
	int rc;

	(void)snprintf(q, sizeof(q), "_dmarc.%s", name);
	rc = og_dns_query(dns, q, OG_DNS_TXT, &a);
	if (rc != OG_ERROR)
		ttl_min(&r->ttl, a.ttl);
	if (rc == OG_ERROR) {
		item_set(&r->dmarc, OG_AUTH_TEMPERROR,
		    "DNS lookup of %s failed: %s", q, a.why);
		return OG_ERROR;
	}
	for (i = 0; i < a.n; i++)
		if (og_dmarc_is_record(a.rr[i], strlen(a.rr[i])) && n++ == 0)
			(void)og_strlcpy(rec, a.rr[i], size);
	og_dns_answer_clear(&a);
	if (n > 1) {
		item_set(&r->dmarc, OG_AUTH_NONE,
		    "%zu DMARC records at %s: DMARC does not apply "
		    "(RFC 7489 6.6.3)",
		    n, q);
		return OG_ERROR;
	}
	return n == 1 ? OG_FOUND : OG_NOTFOUND;
}

/* dmarc_check - the dmarc item; *dm filled and 1 returned if valid */
static int
dmarc_check(struct og_dns *dns, struct og_auth_report *r, struct og_dmarc *dm)
{
	char rec[OG_DMARC_RECORD_MAX + 1];
	const char *at = r->domain, *err;
	int rc;

	rc = dmarc_at(dns, r->domain, r, rec, sizeof(rec));
	if (rc == OG_NOTFOUND && strcmp(r->domain, r->org_domain) != 0) {
		at = r->org_domain;
		rc = dmarc_at(dns, at, r, rec, sizeof(rec));
	}
	if (rc == OG_ERROR)
		return 0;
	if (rc == OG_NOTFOUND) {
		if (at == r->domain)
			item_set(&r->dmarc, OG_AUTH_NONE,
			    "no DMARC record at _dmarc.%s", at);
		else
			item_set(&r->dmarc, OG_AUTH_NONE,
			    "no DMARC record at _dmarc.%s nor _dmarc.%s",
			    r->domain, at);
		return 0;
	}
	(void)og_strlcpy(r->dmarc_record, rec, sizeof(r->dmarc_record));
	if (og_dmarc_parse(rec, strlen(rec), dm, &err) < 0) {
		item_set(&r->dmarc, OG_AUTH_PERMERROR,
		    "the record at _dmarc.%s is invalid: %s", at, err);
		return 0;
	}
	/* the organisational domain's sp= applies to its subdomains */
	(void)og_strlcpy(r->dmarc_policy,
	    at != r->domain && dm->sp[0] ? dm->sp : dm->p,
	    sizeof(r->dmarc_policy));
	item_set(&r->dmarc, OG_AUTH_PASS, "p=%s%s at _dmarc.%s%s%s",
	    r->dmarc_policy, dm->p_implied ? " (implied)" : "", at,
	    dm->note[0] ? "; " : "", dm->note);
	return 1;
}

/* ---- alignment, the whole check ---- */

void
og_auth_align(struct og_auth_report *r, int aspf_strict, int adkim_strict)
{
	const char *dkim_d = NULL, *dkim_unaligned = NULL;
	int spf_pass = r->nspf > 0, spf_al;
	size_t i;

	for (i = 0; i < r->nspf; i++)
		if (r->spf[i].item.res != OG_AUTH_PASS)
			spf_pass = 0;
	/* the envelope domain is the checked domain (postmaster@DOMAIN) */
	spf_al =
	    spf_pass && og_domain_aligned(r->domain, r->domain, aspf_strict);
	for (i = 0; i < r->ndkim && dkim_d == NULL; i++) {
		if (r->dkim[i].item.res != OG_AUTH_PASS)
			continue;
		if (og_domain_aligned(
		        r->dkim[i].domain, r->domain, adkim_strict))
			dkim_d = r->dkim[i].domain;
		else
			dkim_unaligned = r->dkim[i].domain;
	}
	if (spf_al && dkim_d != NULL)
		item_set(&r->aligned, OG_AUTH_PASS,
		    "SPF (aspf=%c) and DKIM d=%s (adkim=%c) aligned",
		    aspf_strict ? 's' : 'r', dkim_d, adkim_strict ? 's' : 'r');
	else if (spf_al)
		item_set(&r->aligned, OG_AUTH_PASS,
		    "SPF aligned (aspf=%c); no aligned DKIM key passes",
		    aspf_strict ? 's' : 'r');
	else if (dkim_d != NULL)
		item_set(&r->aligned, OG_AUTH_PASS,
		    "DKIM d=%s aligned (adkim=%c); SPF does not pass for "
		    "every egress IP",
		    dkim_d, adkim_strict ? 's' : 'r');
	else if (dkim_unaligned != NULL)
		item_set(&r->aligned, OG_AUTH_FAIL,
		    "DKIM d=%s passes but is not aligned with %s under "
		    "adkim=s; SPF does not pass for every egress IP",
		    dkim_unaligned, r->domain);
	else
		item_set(&r->aligned, OG_AUTH_FAIL,
		    "neither SPF (for every egress IP) nor DKIM passes");
}

/* report_init - reset out for domain: -1 when it is not a domain name */
static int
report_init(struct og_auth_report *out, const char *domain)
{
	char *norm, *org;

	memset(out, 0, sizeof(*out));
	if (domain == NULL)
		return -1;
	norm = og_domain_normalize(domain, strlen(domain));
	if (norm == NULL || !og_domain_valid(norm)) {
		og_warnx("check-auth: \"%.64s\" is not a domain name", domain);
		og_free(norm);
		return -1;
	}
	org = og_domain_orgdomain(norm);
	(void)og_strlcpy(out->domain, norm, sizeof(out->domain));
	(void)og_strlcpy(out->org_domain, org, sizeof(out->org_domain));
	og_free(norm);
	og_free(org);
	return 0;
}

int
og_auth_spf(struct og_dns *dns, const struct og_auth_conf *conf,
    const char *domain, struct og_auth_report *out)
{
	memset(out, 0, sizeof(*out)); /* reset even on failure */
	if (dns == NULL || conf == NULL || report_init(out, domain) < 0)
		return -1;
	spf_all(dns, conf, out);
	return 0;
}

int
og_auth_dmarc(struct og_dns *dns, const char *domain,
    struct og_auth_report *out, struct og_dmarc *dm)
{
	memset(dm, 0, sizeof(*dm));
	memset(out, 0, sizeof(*out)); /* reset even on failure */
	if (dns == NULL || report_init(out, domain) < 0)
		return -1;
	return dmarc_check(dns, out, dm);
}

int
og_auth_check(struct og_dns *dns, const struct og_auth_conf *conf,
    const char *domain, struct og_auth_report *out)
{
	struct og_dmarc dm;
	size_t i;
	int have;

	memset(out, 0, sizeof(*out)); /* reset even on failure */
	if (dns == NULL || conf == NULL || report_init(out, domain) < 0)
		return -1;
	spf_all(dns, conf, out);
	dkim_all(dns, conf, out);
	memset(&dm, 0, sizeof(dm));
	have = dmarc_check(dns, out, &dm);
	og_auth_align(out, have && dm.aspf_strict, have && dm.adkim_strict);
	out->ok = out->dkim_any.ok && out->dmarc.ok && out->aligned.ok;
	for (i = 0; i < out->nspf; i++)
		out->ok = out->ok && out->spf[i].item.ok;
	return 0;
}

void
og_auth_conf_from(const struct og_conf *cf, struct og_auth_conf *c)
{
	const char *const *dom, *const *sel, *const *key;
	size_t nd = 0, ns = 0, nk = 0, i;

	memset(c, 0, sizeof(*c));
	c->egress_ips = og_conf_list(cf, "egress_ips", &c->negress);
	if (c->egress_ips == NULL)
		c->negress = 0;
	dom = og_conf_list(cf, "dkim_domain", &nd);
	sel = og_conf_list(cf, "dkim_selector", &ns);
	key = og_conf_list(cf, "dkim_key_file", &nk);
	if (sel == NULL)
		ns = 0;
	for (i = 0; i < ns && i < OG_AUTH_KEYS_MAX; i++) {
		c->keys[i].selector = sel[i];
		/* one dkim_domain serves every selector */
		c->keys[i].domain = dom == NULL || nd == 0 ? NULL
		    : i < nd                               ? dom[i]
		                                           : dom[0];
		c->keys[i].key_file = key != NULL && i < nk ? key[i] : NULL;
	}
	c->nkeys = i;
}

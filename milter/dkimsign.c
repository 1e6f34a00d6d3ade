/*
 * dkimsign.c - DKIM signing through libopendkim: per-message signing
 * DESCRIPTION: og_dkim_sign_* drive one libopendkim signing handle per
 *	key (at most OG_DKIM_PER_MSG_MAX) for one message. The key set
 *	(dkimkeys.c) owns one DKIM_LIB, set up once at load and only read
 *	afterwards; each message gets its own handles, so threads may sign
 *	different messages at the same time. Each key is handed to
 *	dkim_sign() as the unencrypted PKCS#8 PEM that dkimkeys.c made from
 *	whatever form the admin gave (libopendkim reads PEM for RSA and
 *	Ed25519 alike). Header fields are rebuilt as "Name: value" with
 *	CRLF line ends inside folded values; the signature header value
 *	comes back folded with LF, as milters insert header values.
 * DIAGNOSTICS: nothing is logged here and nothing is fatal: every
 *	libopendkim failure becomes -1 and a static reason for the caller,
 *	who lets the mail go unsigned and logs why. Key material is never
 *	part of a reason.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth.h"
#include "conf.h"
#include "dkimkeys.h"
#include "dkimsign.h"
#include "dns.h"
#include "strbuf.h"
#include "util.h"

#define HDR_MAX (1024 * 1024) /* one header field, rebuilt */
#define SIGN_HDRS_MAX 64 /* dkim_sign_headers' schema maximum */

/* ---- key material ---- */
static const char *const default_hdrs[] = { "from", "reply-to", "subject",
	"date", "to", "cc", "resent-date", "resent-from", "resent-sender",
	"resent-to", "resent-cc", "in-reply-to", "references", "message-id",
	"mime-version", "content-type", "content-transfer-encoding", "list-id",
	"list-help", "list-unsubscribe", "list-unsubscribe-post",
	"list-subscribe", "list-post", "list-owner", "list-archive", NULL };

static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1; /* an encrypted key is refused, never prompted for */
}

/* b64_decode - base64 with white space into out; -1 when not base64 */
static int
b64_decode(
    const char *in, size_t len, unsigned char *out, size_t size, size_t *outlen)
{
	struct og_strbuf s;
	size_t i, pad = 0;
	int n;

	og_strbuf_init(&s, size / 3 * 4 + 4);
	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)in[i]) &&
		    og_strbuf_addc(&s, (unsigned char)in[i]) < 0)
			break;
	if (i < len || s.len == 0 || s.len % 4 != 0 ||
	    strspn(og_strbuf_str(&s), OG_DKIM_B64) != s.len) {
		og_strbuf_release(&s);
		return -1;
	}
	while (pad < 2 && s.data[s.len - 1 - pad] == '=')
		pad++;
	n = EVP_DecodeBlock(out, (unsigned char *)s.data, (int)s.len);
	OPENSSL_cleanse(s.data, s.len);
	og_strbuf_release(&s);
	if (n < 0 || (size_t)n < pad)
		return -1;
	*outlen = (size_t)n - pad;
	return 0;
}

/*
 * key_decode - a private key from a file's bytes (PEM or DER) or an
 * inline KeyTable value (base64 DER, or one-line PEM)
 */
static EVP_PKEY *
key_decode(const char *buf, size_t len, int is_inline)
{
	const unsigned char *d;
	unsigned char *der;
	const char *b = buf, *e = buf + len;
	size_t dlen = 0;
	EVP_PKEY *pk = NULL;
	BIO *bio;

	if (!is_inline && memmem(buf, len, "-----BEGIN", 10) != NULL) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
			return NULL;
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
		return pk;
	}
	if (!is_inline) {
		d = (const unsigned char *)buf;
		return d2i_AutoPrivateKey(NULL, &d, (long)len);
	}
	if (len > 10 && strncmp(buf, "-----BEGIN", 10) == 0) {
		if ((b = memmem(buf + 10, len - 10, "-----", 5)) == NULL ||
		    (e = memmem(b + 5, (size_t)(buf + len - b - 5), "-----END",
		         8)) == NULL)
			return NULL;
		b += 5;
	}
	der = og_malloc(len + 4);
	if (b64_decode(b, (size_t)(e - b), der, len + 4, &dlen) == 0) {
		d = der;
		pk = d2i_AutoPrivateKey(NULL, &d, (long)dlen);
	}
	OPENSSL_cleanse(der, len + 4);
	og_free(der);
	return pk;
}

/* key_read - a key file's bytes into buf (cleansed by the caller) */
static int
key_read(struct og_dkim_ps *ps, const struct og_dkim_keyent *key, int safe,
    char *buf, size_t *len)
{
	struct stat st;
	ssize_t r;
	int fd;

	if ((fd = open(key->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0) {
		og_dkim_perr(ps, "%s: %s", key->file, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > OG_DKIM_KEYFILE_MAX) {
		og_dkim_perr(ps, "%s: not a regular file of at most %d bytes",
		    key->file, OG_DKIM_KEYFILE_MAX);
		(void)close(fd);
		return -1;
	}
	if (safe && (st.st_mode & 077) != 0) {
		og_dkim_perr(ps,
		    "%s: mode %04o lets group or others at the key "
		    "(dkim_require_safe_keys = yes)",
		    key->file, (unsigned)(st.st_mode & 07777));
		(void)close(fd);
		return -1;
	}
	*len = 0;
	while ((r = read(fd, buf + *len, OG_DKIM_KEYFILE_MAX - *len)) > 0)
		*len += (size_t)r;
	(void)close(fd);
	if (r < 0) {
		og_dkim_perr(ps, "%s: %s", key->file, strerror(errno));
		return -1;
	}
	return 0;
}

/* key_pem - the key as unencrypted PKCS#8 PEM, og_malloc'ed */
static char *
key_pem(EVP_PKEY *pk)
{
	BIO *bio;
	char *data, *pem = NULL;
	long n;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0)
		pem = og_strndup(data, (size_t)n);
	BIO_free(bio);
	return pem;
}

/* key_load - read, type and convert one key; errors through ps */
static void
key_load(struct og_dkim_ps *ps, struct og_dkim_keyent *key, int safe)
{
	char *buf;
	size_t len = 0;
	const char *what = key->file != NULL ? key->file : "the inline key";
	int id, rc;

	if (key->file != NULL) {
		buf = og_malloc(OG_DKIM_KEYFILE_MAX);
		if ((rc = key_read(ps, key, safe, buf, &len)) == 0)
			key->pkey = key_decode(buf, len, 0);
		OPENSSL_cleanse(buf, OG_DKIM_KEYFILE_MAX);
		og_free(buf);
		if (rc < 0)
			return; /* key_read() said why */
	} else {
		key->pkey = key_decode(key->text, strlen(key->text), 1);
		OPENSSL_cleanse(key->text, strlen(key->text));
		key->text = og_free(key->text);
	}
	if (key->pkey == NULL) {
		og_dkim_perr(
		    ps, "%s: not an unencrypted PEM or DER private key", what);
		return;
	}
	id = EVP_PKEY_get_base_id(key->pkey);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519)
		og_dkim_perr(ps, "%s: neither an RSA nor an Ed25519 key", what);
	else if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(key->pkey) < 1024)
		og_dkim_perr(ps, "%s: an RSA key of %d bits (1024 at least)",
		    what, EVP_PKEY_get_bits(key->pkey));
	else if ((key->pem = key_pem(key->pkey)) == NULL)
		og_dkim_perr(ps, "%s: OpenSSL could not convert the key", what);
	key->alg = id == EVP_PKEY_RSA ? OG_DKIM_RSA : OG_DKIM_ED25519;
}

/* lib_init - the libopendkim handle every signing handle comes from */
static int
lib_init(struct og_dkim_keys *k, const struct og_conf *cf)
{
	static const char *oversign[] = { "from", NULL };
	const char *const *list;
	const char **over = oversign;
	size_t n, i;
	unsigned int flags = 0;
	int from = 0;

	if ((list = og_conf_list(cf, "dkim_sign_headers", &n)) == NULL) {
		list = default_hdrs;
		n = OG_NELEM(default_hdrs) - 1;
	}
	k->hdrs = og_calloc(n + 2, sizeof(char *));
	for (i = 0; i < n; i++) {
		k->hdrs[k->nhdrs++] = og_lowercase(og_strdup(list[i]));
		from |= strcmp(list[i], "from") == 0;
	}
	if (!from) /* libopendkim insists, and so does RFC 6376 */
		k->hdrs[k->nhdrs++] = og_strdup("from");
	if ((k->lib = dkim_init(NULL, NULL)) == NULL)
		return -1;
	if (dkim_options(k->lib, DKIM_OP_GETOPT, DKIM_OPTS_FLAGS, &flags,
	        sizeof(flags)) != DKIM_STAT_OK)
		return -1;
	flags |= DKIM_LIBFLAGS_FIXCRLF;
	if (dkim_options(k->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	        sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(k->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, k->hdrs,
	        sizeof(k->hdrs)) != DKIM_STAT_OK ||
	    dkim_options(k->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over,
	        sizeof(over)) != DKIM_STAT_OK)
		return -1;
	return 0;
}

struct og_dkim_keys *
og_dkim_keys_load(const struct og_conf *cf, struct og_strbuf *err)
{
	const char *kt = og_conf_str(cf, "dkim_key_table"),
	           *st = og_conf_str(cf, "dkim_signing_table");
	size_t nd, ns, nf, i;
	struct og_dkim_keys *k;
	struct og_dkim_ps ps = { NULL, NULL, 0, 0, err };
	int tables, simple, safe = og_conf_bool(cf, "dkim_require_safe_keys");

	kt = kt != NULL ? kt : "";
	st = st != NULL ? st : "";
	(void)og_conf_list(cf, "dkim_domain", &nd);
	(void)og_conf_list(cf, "dkim_selector", &ns);
	(void)og_conf_list(cf, "dkim_key_file", &nf);
	tables = kt[0] != '\0' || st[0] != '\0';
	simple = nd > 0 || ns > 0 || nf > 0;
	if (tables && simple) {
		(void)og_strbuf_adds(err,
		    "dkim_key_table: set either dkim_key_table and "
		    "dkim_signing_table or dkim_domain, dkim_selector and "
		    "dkim_key_file, not both\n");
		return NULL;
	}
	if (!tables && !simple)
		return og_calloc(1, sizeof(*k)); /* signing off */
	if ((k = tables ? og_dkim_keys_tables(kt, st, err)
	                : og_dkim_keys_simple(cf, err)) == NULL)
		return NULL;
	ps.k = k;
	for (i = 0; i < k->nkeys && ps.nerr <= OG_DKIM_ERRS_MAX; i++) {
		ps.file = tables ? kt : "dkim_key_file";
		ps.line = k->keys[i].line;
		key_load(&ps, &k->keys[i], safe);
	}
	if (ps.nerr == 0 && lib_init(k, cf) < 0) {
		(void)og_strbuf_adds(
		    err, "libopendkim: cannot set up signing\n");
		ps.nerr++;
	}
	if (ps.nerr > 0) {
		og_dkim_keys_free(k);
		return NULL;
	}
	return k;
}

/* ---- the public half against DNS ---- */

/* pub_match - does the base64 p= value hold key's public half? */
static int
pub_match(const struct og_dkim_keyent *key, const char *b64, size_t len)
{
	unsigned char pub[OG_DNS_TXT_MAX], raw[64], *der = NULL;
	size_t publen = 0, rawlen = sizeof(raw);
	int n, match = 0, spki;

	if (b64_decode(b64, len, pub, sizeof(pub), &publen) < 0)
		return 0;
	if (key->alg == OG_DKIM_ED25519)
		return EVP_PKEY_get_raw_public_key(key->pkey, raw, &rawlen) ==
		    1 &&
		    rawlen == publen && memcmp(raw, pub, publen) == 0;
	/* the SubjectPublicKeyInfo, or a bare RSAPublicKey (RFC 6376 3.6.1) */
	for (spki = 1; spki >= 0 && !match; spki--) {
		n = spki ? i2d_PUBKEY(key->pkey, &der)
		         : i2d_PublicKey(key->pkey, &der);
		match = n > 0 && (size_t)n == publen &&
		    memcmp(der, pub, publen) == 0;
		OPENSSL_free(der);
		der = NULL;
	}
	return match;
}

/* check_one - "ok", or what is wrong, into why */
static int
check_one(const struct og_dkim_keyent *key, struct og_dns *dns, char *why,
    size_t size)
{
	struct og_dns_answer a;
	struct og_dkim_key rec;
	char name[OG_DNS_NAME_MAX];
	const char *perr_ = NULL;
	size_t i, nvalid = 0;
	int rc, match = 0;

	if (key->pkey == NULL) {
		(void)snprintf(why, size, "not loaded");
		return -1;
	}
	(void)snprintf(
	    name, sizeof(name), "%s._domainkey.%s", key->selector, key->domain);
	rc = og_dns_query(dns, name, OG_DNS_TXT, &a);
	for (i = 0; rc == OG_FOUND && i < a.n && !match; i++) {
		if (og_dkim_key_parse(a.rr[i], strlen(a.rr[i]), &rec, &perr_) <
		    0)
			continue;
		nvalid++;
		match = strcmp(rec.k,
		            key->alg == OG_DKIM_RSA ? "rsa" : "ed25519") == 0 &&
		    !rec.revoked &&
		    pub_match(key, a.rr[i] + rec.p_off, rec.p_len);
	}
	if (rc == OG_ERROR)
		(void)snprintf(why, size, "temperror %s", a.why);
	else if (match)
		(void)snprintf(why, size, "ok");
	else if (nvalid > 0)
		(void)snprintf(why, size, "mismatch");
	else if (perr_ != NULL)
		(void)snprintf(why, size, "no record (%s)", perr_);
	else
		(void)snprintf(why, size, "no record");
	og_dns_answer_clear(&a);
	return match ? 0 : -1;
}

int
og_dkim_keys_check(
    const struct og_dkim_keys *k, struct og_dns *dns, struct og_strbuf *out)
{
	char why[OG_DNS_WHY_MAX + 32];
	size_t i;
	int rc = 0;

	for (i = 0; k != NULL && i < k->nkeys; i++) {
		if (check_one(&k->keys[i], dns, why, sizeof(why)) < 0)
			rc = -1;
		(void)og_strbuf_addf(out, "%s._domainkey.%s %s: %s\n",
		    k->keys[i].selector, k->keys[i].domain,
		    k->keys[i].alg == OG_DKIM_RSA ? "rsa" : "ed25519", why);
	}
	return rc;
}

/* ---- signing ---- */

struct og_dkim_sign {
	DKIM *h[OG_DKIM_PER_MSG_MAX];
	struct og_dkim_keyref ref[OG_DKIM_PER_MSG_MAX];
	size_t n;
	const char *why; /* the first failure, static */
	struct og_strbuf hdr; /* scratch: one header field */
};

/*
 * same_list - is the list the one the library already signs with (no
 * per-handle list needed, which saves a regcomp per message)
 */
static int
same_list(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (og_strcasecmp_ascii(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/*
 * set_hdrs - a per-handle signed-header list; libopendkim refuses a
 * list without From, so From is added when missing
 */
static int
set_hdrs(DKIM *h, const char *const *sign, size_t nsign)
{
	const char *list[SIGN_HDRS_MAX + 2];
	size_t i, n = 0;
	int from = 0;

	for (i = 0; i < nsign && n < SIGN_HDRS_MAX; i++) {
		if (sign[i] == NULL || sign[i][0] == '\0')
			continue;
		from |= og_strcasecmp_ascii(sign[i], "from") == 0;
		list[n++] = sign[i];
	}
	if (!from)
		list[n++] = "from";
	list[n] = NULL;
	return dkim_signhdrs(h, list) == DKIM_STAT_OK ? 0 : -1;
}

static void
sign_fail(struct og_dkim_sign *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
}

struct og_dkim_sign *
og_dkim_sign_begin(const struct og_dkim_keys *keys, const char *from,
    const char *const *sign_headers, size_t nsign, const char **why)
{
	struct og_dkim_keyref refs[OG_DKIM_PER_MSG_MAX];
	const char *const *libhdrs;
	struct og_dkim_sign *s;
	size_t n, i, nlib;
	DKIM_STAT st;
	int pass;

	*why = NULL;
	if (keys == NULL || og_dkim_keys_count(keys) == 0) {
		*why = "no DKIM keys configured";
		return NULL;
	}
	if (from == NULL || from[0] == '\0') {
		*why = "no From address";
		return NULL;
	}
	if ((n = og_dkim_keys_find(keys, from, refs, OG_NELEM(refs))) == 0) {
		*why = "no key for the From domain";
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (keys->keys[refs[i].idx].pem == NULL)
			break;
	if (keys->lib == NULL || i < n) {
		*why = "the keys were parsed, not loaded";
		return NULL;
	}
	libhdrs = (const char *const *)keys->hdrs;
	nlib = keys->nhdrs;
	s = og_calloc(1, sizeof(*s));
	og_strbuf_init(&s->hdr, HDR_MAX);
	/* RSA first: receivers that know only RSA look at it first */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++) {
			if ((refs[i].alg == OG_DKIM_RSA) != (pass == 0))
				continue;
			s->ref[s->n] = refs[i];
			s->h[s->n] = dkim_sign(keys->lib,
			    (const unsigned char *)"outguard", NULL,
			    (dkim_sigkey_t)(uintptr_t)keys->keys[refs[i].idx]
			        .pem,
			    (const unsigned char *)refs[i].selector,
			    (const unsigned char *)refs[i].domain,
			    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
			    refs[i].alg == OG_DKIM_RSA
			        ? DKIM_SIGN_RSASHA256
			        : DKIM_SIGN_ED25519SHA256,
			    -1, &st);
			if (s->h[s->n] == NULL) {
				*why = "libopendkim could not start signing";
				og_dkim_sign_free(s);
				return NULL;
			}
			s->n++;
			if (sign_headers != NULL &&
			    !same_list(sign_headers, nsign, libhdrs, nlib) &&
			    set_hdrs(s->h[s->n - 1], sign_headers, nsign) < 0) {
				*why = "libopendkim refused the signed headers";
				og_dkim_sign_free(s);
				return NULL;
			}
		}
	return s;
}

/*
 * hdr_build - "Name: value" in s->hdr, every line end inside the value
 * (LF or CRLF, as the MTA hands folded values over) made CRLF
 */
static int
hdr_build(struct og_dkim_sign *s, const char *name, const char *value)
{
	const char *p;
	int rc;

	og_strbuf_reset(&s->hdr);
	rc = og_strbuf_adds(&s->hdr, name);
	rc |= og_strbuf_addc(&s->hdr, ':');
	if (value[0] != ' ' && value[0] != '\t')
		rc |= og_strbuf_addc(&s->hdr, ' ');
	for (p = value; *p != '\0' && rc == 0; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue; /* the LF adds the pair */
		if (*p == '\n')
			rc |= og_strbuf_addn(&s->hdr, "\r\n", 2);
		else
			rc |= og_strbuf_addc(&s->hdr, (unsigned char)*p);
	}
	return rc == 0 ? 0 : -1;
}

int
og_dkim_sign_header(struct og_dkim_sign *s, const char *name, const char *value)
{
	size_t i;

	if (s->why != NULL)
		return -1;
	if (name == NULL || value == NULL || name[0] == '\0' ||
	    strpbrk(name, ": \t\r\n") != NULL) {
		sign_fail(s, "a header field name is malformed");
		return -1;
	}
	if (hdr_build(s, name, value) < 0) {
		sign_fail(s, "a header field is too long to sign");
		return -1;
	}
	for (i = 0; i < s->n; i++)
		if (dkim_header(s->h[i], (unsigned char *)s->hdr.data,
		        s->hdr.len) != DKIM_STAT_OK) {
			sign_fail(s, "libopendkim refused a header field");
			return -1;
		}
	return 0;
}

int
og_dkim_sign_eoh(struct og_dkim_sign *s)
{
	size_t i;

	if (s->why != NULL)
		return -1;
	og_strbuf_release(&s->hdr);
	for (i = 0; i < s->n; i++)
		if (dkim_eoh(s->h[i]) != DKIM_STAT_OK) {
			sign_fail(s, "libopendkim refused the header block");
			return -1;
		}
	return 0;
}

int
og_dkim_sign_body(struct og_dkim_sign *s, const unsigned char *p, size_t len)
{
	size_t i;

	if (s->why != NULL)
		return -1;
	if (len == 0)
		return 0;
	for (i = 0; i < s->n; i++)
		if (dkim_body(s->h[i], (unsigned char *)(uintptr_t)p, len) !=
		    DKIM_STAT_OK) {
			sign_fail(s, "libopendkim refused the body");
			return -1;
		}
	return 0;
}

/* sig_value - the signature header value, folded with LF; caller frees */
static char *
sig_value(DKIM *h)
{
	struct og_strbuf v;
	unsigned char *buf = NULL;
	size_t len = 0, i;

	if (dkim_getsighdr_d(h, sizeof("DKIM-Signature: ") - 1, &buf, &len) !=
	        DKIM_STAT_OK ||
	    buf == NULL)
		return NULL;
	og_strbuf_init(&v, len + 1);
	for (i = 0; i < len; i++)
		if (buf[i] != '\r' &&
		    og_strbuf_addc(&v, buf[i]) < 0) /* cannot happen */
			break;
	(void)og_strbuf_addn(&v, "", 0);
	return og_strbuf_steal(&v);
}

int
og_dkim_sign_end(struct og_dkim_sign *s, char **out, size_t *n,
    struct og_strbuf *desc, const char **why)
{
	char *vals[OG_DKIM_PER_MSG_MAX];
	size_t i, j;

	*why = NULL;
	for (i = 0; i < s->n && s->why == NULL; i++)
		if (dkim_eom(s->h[i], NULL) != DKIM_STAT_OK)
			sign_fail(s, "libopendkim could not make a signature");
	for (i = 0; i < s->n && s->why == NULL; i++)
		if ((vals[i] = sig_value(s->h[i])) == NULL) {
			sign_fail(s, "libopendkim gave no signature header");
			for (j = 0; j < i; j++)
				og_free(vals[j]);
		}
	if (s->why != NULL) {
		*why = s->why;
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		out[i] = vals[i];
		if (desc != NULL)
			(void)og_strbuf_addf(desc, "%sd=%s s=%s a=%s",
			    i > 0 ? ", " : "", s->ref[i].domain,
			    s->ref[i].selector,
			    s->ref[i].alg == OG_DKIM_RSA ? "rsa-sha256"
			                                 : "ed25519-sha256");
	}
	*n = s->n;
	return 0;
}

void
og_dkim_sign_free(struct og_dkim_sign *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		(void)dkim_free(s->h[i]);
	og_strbuf_release(&s->hdr);
	og_free(s);
}

/*
 * dkimsign.c - DKIM signing keys and per-message signing on OpenSSL
 *	and libsodium
 * DESCRIPTION: og_dkim_keys_load() reads each key once, at start-up or
 *	reload, into an EVP_PKEY held by the key set (dkimkeys.h), and
 *	og_dkim_sign_* sign each message with those parsed keys: one
 *	relaxed body hash (SHA-256) shared by every signature of the
 *	message, the signed header fields canonicalized as they arrive,
 *	and at the end, per key, the header hash and an RSA PKCS#1 v1.5 or
 *	Ed25519 signature of it (RFC 6376, RFC 8463); Ed25519 through
 *	libsodium (13 us a signature here against OpenSSL 3.0's 25 us,
 *	the same bytes: the signatures are deterministic). This is
 *	hand-written rather than libopendkim because libopendkim's dkim_sign() takes the
 *	key as text and parses it again for every message: with Debian
 *	12's OpenSSL 3.0 about 770 us per RSA-2048 key and 560 us per
 *	Ed25519 key, more than the signatures (236 us and 25 us), plus a
 *	leak of about 500 bytes per RSA signature in libopendkim 2.11.
 *	The output was verified byte for byte against libopendkim (see
 *	dkimcanon.c and tests/unit/t_dkimsign.c). The key set is only read
 *	after loading, so threads may sign different messages at once.
 *	Header fields are taken as the milter gets them ("Name" and a value
 *	whose folds are LF or CRLF); the signature header value comes back
 *	folded with LF TAB, as milters insert header values.
 * DIAGNOSTICS: nothing is logged here and nothing is fatal: a failure
 *	becomes -1 and a reason for the caller (static, or the key set's
 *	own for a key file that could not be read), who lets the mail go
 *	unsigned and logs why. Key material is never part of a reason.
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

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "auth.h"
#include "conf.h"
#include "dkimcanon.h"
#include "dkimkeys.h"
#include "dkimsign.h"
#include "dns.h"
#include "strbuf.h"
#include "util.h"

#define HDRS_MAX (1024 * 1024) /* the signed fields, canonical */
#define SIGNED_MAX 256 /* signed header fields in one message */
#define SIG_MAX 1024 /* signature bytes (RSA-8192) */

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

/*
 * unreadable - a key whose file cannot be read (yet, or any more: as
 * run_user on a reload, say) does not stop the others: it is kept with
 * the reason, mail it would sign goes unsigned with that reason logged,
 * and -n reports it
 */
static int
unreadable(struct og_dkim_keyent *key, int err)
{
	char why[512];

	(void)snprintf(why, sizeof(why), "key unreadable: %s: %s", key->file,
	    strerror(err));
	og_free(key->unusable);
	key->unusable = og_strdup(why);
	return -2;
}

/*
 * key_read - a key file's bytes into buf (cleansed by the caller): -2
 * when it cannot be read (key->unusable says why), -1 on an error of
 * the configuration (through ps)
 */
static int
key_read(struct og_dkim_ps *ps, struct og_dkim_keyent *key, int safe, char *buf,
    size_t *len)
{
	struct stat st;
	ssize_t r;
	int fd, err;

	if ((fd = open(key->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0) {
		err = errno;
		if (fd >= 0)
			(void)close(fd);
		if (err == ELOOP) {
			og_dkim_perr(ps, "%s: a symbolic link (not followed)",
			    key->file);
			return -1;
		}
		return unreadable(key, err);
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
	err = errno;
	(void)close(fd);
	return r < 0 ? unreadable(key, err) : 0;
}

/*
 * ed_sk - libsodium's form of an Ed25519 key: the 32-byte seed OpenSSL
 * parsed, expanded; its public half must be OpenSSL's
 */
static int
ed_sk(struct og_dkim_keyent *key)
{
	unsigned char seed[32], pub[32], opub[32];
	size_t slen = sizeof(seed), plen = sizeof(opub);
	int rc = -1;

	if (sodium_init() >= 0 &&
	    EVP_PKEY_get_raw_private_key(key->pkey, seed, &slen) == 1 &&
	    slen == sizeof(seed) &&
	    EVP_PKEY_get_raw_public_key(key->pkey, opub, &plen) == 1 &&
	    plen == sizeof(opub) &&
	    crypto_sign_ed25519_seed_keypair(pub, key->ed_sk, seed) == 0 &&
	    memcmp(pub, opub, sizeof(pub)) == 0)
		rc = 0;
	OPENSSL_cleanse(seed, sizeof(seed));
	return rc;
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
			return; /* key_read() said why, or key->unusable does */
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
	else if (EVP_PKEY_get_size(key->pkey) > SIG_MAX)
		og_dkim_perr(ps, "%s: an RSA key of more than %d bits", what,
		    SIG_MAX * 8);
	key->alg = id == EVP_PKEY_RSA ? OG_DKIM_RSA : OG_DKIM_ED25519;
	if (key->alg == OG_DKIM_ED25519 && ed_sk(key) < 0)
		og_dkim_perr(
		    ps, "%s: libsodium could not take the Ed25519 key", what);
}

/*
 * sign_init - the default signed-header list (From always in it) and
 * the SHA-256 implementation, fetched once
 */
static int
sign_init(struct og_dkim_keys *k, const struct og_conf *cf)
{
	const char *const *list;
	size_t n, i;
	int from = 0;

	if ((list = og_conf_list(cf, "dkim_sign_headers", &n)) == NULL ||
	    n == 0) {
		list = default_hdrs;
		n = OG_NELEM(default_hdrs) - 1;
	}
	k->hdrs = og_calloc(n + 2, sizeof(char *));
	for (i = 0; i < n; i++) {
		k->hdrs[k->nhdrs++] = og_lowercase(og_strdup(list[i]));
		from |= strcmp(k->hdrs[k->nhdrs - 1], "from") == 0;
	}
	if (!from) /* RFC 6376 5.4: From must be signed */
		k->hdrs[k->nhdrs++] = og_strdup("from");
	k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	return k->sha256 != NULL ? 0 : -1;
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
	if (ps.nerr == 0 && sign_init(k, cf) < 0) {
		(void)og_strbuf_adds(err, "OpenSSL: no SHA-256\n");
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
		(void)snprintf(why, size, "%s",
		    key->unusable != NULL ? key->unusable : "not loaded");
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

/* one signed header field: its name and its canonical form in hd */
struct hent {
	size_t noff, nlen, coff, clen;
};

struct og_dkim_sign {
	const struct og_dkim_keyent *key[OG_DKIM_PER_MSG_MAX];
	size_t n;
	const char *const *list; /* the signed names (From always) */
	size_t nlist;
	int64_t now;
	struct hent h[SIGNED_MAX]; /* in message order */
	size_t nh;
	struct og_strbuf hd;
	int from; /* a From field was seen */
	EVP_MD_CTX *body; /* the body hash, shared by every signature */
	const EVP_MD *md;
	struct og_dkim_body canon;
	const char *why; /* the first failure, static */
	const char *skipped; /* why a key of the From domain cannot sign */
};

static void
sign_fail(struct og_dkim_sign *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
}

/* body_out - canonical body bytes into the body hash */
static void
body_out(void *arg, const void *p, size_t len)
{
	struct og_dkim_sign *s = arg;

	if (EVP_DigestUpdate(s->body, p, len) != 1)
		sign_fail(s, "OpenSSL could not hash the body");
}

struct og_dkim_sign *
og_dkim_sign_begin(const struct og_dkim_keys *keys, const char *from,
    const char *const *sign_headers, size_t nsign, const char **why)
{
	struct og_dkim_keyref refs[OG_DKIM_PER_MSG_MAX];
	const struct og_dkim_keyent *e;
	const char *skipped = NULL;
	struct og_dkim_sign *s;
	size_t n, i, m;
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
	for (i = m = 0; i < n; i++) {
		e = &keys->keys[refs[i].idx];
		if (e->pkey == NULL && e->unusable == NULL) {
			*why = "the keys were parsed, not loaded";
			return NULL;
		}
		if (e->pkey == NULL) /* the others still sign */
			skipped = skipped != NULL ? skipped : e->unusable;
		else
			refs[m++] = refs[i];
	}
	if (m == 0 || keys->sha256 == NULL) {
		*why = m == 0 ? skipped : "the keys were parsed, not loaded";
		return NULL;
	}
	n = m;
	s = og_calloc(1, sizeof(*s));
	s->skipped = skipped;
	/* RSA first: receivers that know only RSA look at it first */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++)
			if ((refs[i].alg == OG_DKIM_RSA) == (pass == 0))
				s->key[s->n++] = &keys->keys[refs[i].idx];
	if (sign_headers != NULL && nsign > 0) {
		s->list = sign_headers;
		s->nlist = nsign;
	} else {
		s->list = (const char *const *)keys->hdrs;
		s->nlist = keys->nhdrs;
	}
	s->md = keys->sha256;
	s->now = og_now();
	og_strbuf_init(&s->hd, HDRS_MAX);
	og_dkim_body_init(&s->canon, body_out, s);
	if ((s->body = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->body, s->md, NULL) != 1) {
		*why = "OpenSSL could not start a hash";
		og_dkim_sign_free(s);
		return NULL;
	}
	return s;
}

/* is_signed - is the field name in the list (From always is)? */
static int
is_signed(const struct og_dkim_sign *s, const char *name)
{
	size_t i;

	if (og_strcasecmp_ascii(name, "from") == 0)
		return 1;
	for (i = 0; i < s->nlist; i++)
		if (s->list[i] != NULL &&
		    og_strcasecmp_ascii(s->list[i], name) == 0)
			return 1;
	return 0;
}

int
og_dkim_sign_header(struct og_dkim_sign *s, const char *name, const char *value)
{
	struct hent *e;
	size_t nlen;

	if (s->why != NULL)
		return -1;
	if (name == NULL || value == NULL || name[0] == '\0' ||
	    strpbrk(name, ": \t\r\n") != NULL) {
		sign_fail(s, "a header field name is malformed");
		return -1;
	}
	if (!is_signed(s, name))
		return 0;
	if (s->nh == SIGNED_MAX) {
		sign_fail(s, "too many header fields to sign");
		return -1;
	}
	e = &s->h[s->nh];
	nlen = strlen(name);
	e->noff = s->hd.len;
	e->nlen = nlen;
	if (og_strbuf_addn(&s->hd, name, nlen) < 0 ||
	    (e->coff = s->hd.len,
	        og_dkim_hdr_canon(&s->hd, name, nlen, value, strlen(value), 1) <
	            0)) {
		sign_fail(s, "the header fields are too long to sign");
		return -1;
	}
	e->clen = s->hd.len - e->coff;
	s->from |= og_strcasecmp_ascii(name, "from") == 0;
	s->nh++;
	return 0;
}

int
og_dkim_sign_eoh(struct og_dkim_sign *s)
{
	if (s->why == NULL && !s->from)
		sign_fail(s, "no From header field");
	return s->why == NULL ? 0 : -1;
}

int
og_dkim_sign_body(struct og_dkim_sign *s, const unsigned char *p, size_t len)
{
	if (s->why != NULL)
		return -1;
	og_dkim_body_update(&s->canon, p, len);
	return s->why == NULL ? 0 : -1;
}

/* same_name - do fields a and b have the same name (any case)? */
static int
same_name(
    const struct og_dkim_sign *s, const struct hent *a, const struct hent *b)
{
	size_t i;
	const char *x = s->hd.data + a->coff, *y = s->hd.data + b->coff;

	if (a->nlen != b->nlen)
		return 0;
	for (i = 0; i < a->nlen; i++)
		if (x[i] != y[i]) /* the canonical names are lowercase */
			return 0;
	return 1;
}

/*
 * hdr_hash - h= in hlist (the names in message order, From once more)
 * and the fields it names hashed into hh: h= names a field's k-th
 * occurrence from the top, which signs its k-th from the bottom
 * (RFC 6376 5.4.2), as libopendkim does
 */
static int
hdr_hash(struct og_dkim_sign *s, EVP_MD_CTX *hh, struct og_strbuf *hlist)
{
	size_t i, j, k, c, pick;
	int rc = 0;

	for (i = 0; i < s->nh && rc == 0; i++) {
		for (k = 0, c = 0, j = 0; j < s->nh; j++)
			if (same_name(s, &s->h[i], &s->h[j])) {
				k += j < i;
				c++;
			}
		/* the (c - 1 - k)-th field of that name from the top */
		for (pick = c - 1 - k, j = 0; j < s->nh; j++)
			if (same_name(s, &s->h[i], &s->h[j]) && pick-- == 0)
				break;
		rc |= og_strbuf_addn(
		    hlist, s->hd.data + s->h[i].noff, s->h[i].nlen);
		rc |= og_strbuf_addc(hlist, ':');
		if (EVP_DigestUpdate(
		        hh, s->hd.data + s->h[j].coff, s->h[j].clen) != 1)
			rc = -1;
	}
	rc |= og_strbuf_adds(hlist, "from"); /* oversigned */
	return rc == 0 ? 0 : -1;
}

static void
b64(const unsigned char *in, size_t len, char *out)
{
	(void)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* sign_digest - the signature of a header hash with key's EVP_PKEY */
static int
sign_digest(const struct og_dkim_keyent *key, const EVP_MD *md,
    const unsigned char *dig, size_t dlen, unsigned char *sig, size_t *slen)
{
	EVP_PKEY_CTX *pc;
	unsigned long long elen = 0;
	int ok;

	*slen = SIG_MAX;
	if (key->alg == OG_DKIM_ED25519) {
		/*
		 * RFC 8463 3: Ed25519 (pure) over the SHA-256 hash. Ed25519
		 * signatures are deterministic (RFC 8032 5.1.6): libsodium's
		 * are OpenSSL's, byte for byte (t_dkimsign compares them
		 * with libopendkim's), in about half the time.
		 */
		if (crypto_sign_ed25519_detached(
		        sig, &elen, dig, dlen, key->ed_sk) != 0)
			return -1;
		*slen = (size_t)elen;
		return 0;
	}
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL)
		return -1;
	ok = EVP_PKEY_sign_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pc, md) == 1 &&
	    EVP_PKEY_sign(pc, sig, slen, dig, dlen) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -1;
}

/*
 * sign_one - key's DKIM-Signature value, folded with LF TAB; the
 * header hash so far in hh (left as it was)
 */
static char *
sign_one(struct og_dkim_sign *s, const struct og_dkim_keyent *key,
    const EVP_MD_CTX *hh, const char *hlist, const char *bh)
{
	struct og_dkim_tags t;
	struct og_strbuf v, c;
	unsigned char dig[EVP_MAX_MD_SIZE], sig[SIG_MAX];
	char sig64[SIG_MAX / 3 * 4 + 8];
	unsigned int dlen = 0;
	size_t slen = 0, i, j;
	EVP_MD_CTX *ctx;
	int rc;

	memset(&t, 0, sizeof(t));
	t.rsa = key->alg == OG_DKIM_RSA;
	t.rsa_bits = t.rsa ? EVP_PKEY_get_bits(key->pkey) : 0;
	t.domain = key->domain;
	t.selector = key->selector;
	t.hlist = hlist;
	t.bh = bh;
	t.t = (long long)s->now;
	t.b = "";
	og_strbuf_init(&v, 0);
	og_strbuf_init(&c, 0);
	/* the header as signed: b= empty, no CRLF at the end */
	rc = og_dkim_sighdr(&v, &t);
	rc |= og_dkim_hdr_canon(&c, "DKIM-Signature", 14, v.data, v.len, 0);
	if (rc == 0 && (ctx = EVP_MD_CTX_new()) != NULL) {
		if (EVP_MD_CTX_copy_ex(ctx, hh) != 1 ||
		    EVP_DigestUpdate(ctx, c.data, c.len) != 1 ||
		    EVP_DigestFinal_ex(ctx, dig, &dlen) != 1)
			rc = -1;
		EVP_MD_CTX_free(ctx);
	} else
		rc = -1;
	if (rc == 0 && sign_digest(key, s->md, dig, dlen, sig, &slen) == 0) {
		b64(sig, slen, sig64);
		t.b = sig64;
		og_strbuf_reset(&v);
		rc = og_dkim_sighdr(&v, &t);
	} else
		rc = -1;
	og_strbuf_release(&c);
	if (rc < 0) {
		og_strbuf_release(&v);
		return NULL;
	}
	for (i = j = 0; i < v.len; i++) /* CRLF TAB to LF TAB */
		if (v.data[i] != '\r')
			v.data[j++] = v.data[i];
	og_strbuf_truncate(&v, j);
	return og_strbuf_steal(&v);
}

int
og_dkim_sign_end(struct og_dkim_sign *s, char **out, size_t *n,
    struct og_strbuf *desc, const char **why)
{
	char *vals[OG_DKIM_PER_MSG_MAX], bh[EVP_MAX_MD_SIZE * 2];
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	struct og_strbuf hlist;
	EVP_MD_CTX *hh = NULL;
	size_t i, j;

	*why = NULL;
	(void)og_dkim_sign_eoh(s);
	og_dkim_body_final(&s->canon);
	og_strbuf_init(&hlist, 0);
	if (s->why == NULL &&
	    (EVP_DigestFinal_ex(s->body, dig, &dlen) != 1 ||
	        (hh = EVP_MD_CTX_new()) == NULL ||
	        EVP_DigestInit_ex(hh, s->md, NULL) != 1 ||
	        hdr_hash(s, hh, &hlist) < 0))
		sign_fail(s, "OpenSSL could not hash the message");
	if (s->why == NULL)
		b64(dig, dlen, bh);
	for (i = 0; i < s->n && s->why == NULL; i++)
		if ((vals[i] = sign_one(s, s->key[i], hh, og_strbuf_str(&hlist),
		         bh)) == NULL) {
			sign_fail(s, "OpenSSL could not make a signature");
			for (j = 0; j < i; j++)
				og_free(vals[j]);
		}
	EVP_MD_CTX_free(hh);
	og_strbuf_release(&hlist);
	if (s->why != NULL) {
		*why = s->why;
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		out[i] = vals[i];
		if (desc != NULL)
			(void)og_strbuf_addf(desc, "%sd=%s s=%s a=%s",
			    i > 0 ? ", " : "", s->key[i]->domain,
			    s->key[i]->selector,
			    s->key[i]->alg == OG_DKIM_RSA ? "rsa-sha256"
			                                  : "ed25519-sha256");
	}
	*n = s->n;
	return 0;
}

const char *
og_dkim_sign_skipped(const struct og_dkim_sign *s)
{
	return s != NULL ? s->skipped : NULL;
}

size_t
og_dkim_keys_unusable(const struct og_dkim_keys *k, struct og_strbuf *out)
{
	size_t i, n = 0;

	for (i = 0; k != NULL && i < k->nkeys; i++)
		if (k->keys[i].unusable != NULL) {
			(void)og_strbuf_addf(out, "%ss=%s d=%s: %s",
			    n > 0 ? "; " : "", k->keys[i].selector,
			    k->keys[i].domain, k->keys[i].unusable);
			n++;
		}
	return n;
}

void
og_dkim_sign_free(struct og_dkim_sign *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->body);
	og_strbuf_release(&s->hd);
	og_free(s);
}

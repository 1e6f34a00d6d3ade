/*
 * t_auth.c - unit tests for auth.c without a DNS server: the DMARC and
 *	DKIM record parsers, DMARC alignment, the DKIM key comparison with
 *	keys made here (OpenSSL), the settings, the result names
 * DESCRIPTION: table-driven; each row names itself (its input) so that
 *	a failure says which one broke. The live checks (SPF through
 *	libspf2, the lookups) are tests/golden/qr_checkauth.sh's, against NSD.
 *	Alignment rows assume libpsl knows example.com (any list does).
 */
#include "config.h"

#include <sys/stat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth.h"
#include "conf.h"
#include "dns.h"
#include "strbuf.h"
#include "util.h"

/* ---- DMARC records ---- */

struct dmarc_case {
	const char *in;
	const char *p; /* NULL: the parse must fail */
	const char *sp;
	int adkim_strict, aspf_strict;
	unsigned pct;
	int implied;
	const char *err_or_note; /* a substring of *err, or of note */
};

static const struct dmarc_case dmarc_cases[] = {
	{ "v=DMARC1; p=reject", "reject", "", 0, 0, 100, 0, "" },
	{ "v=DMARC1;p=none;", "none", "", 0, 0, 100, 0, "" },
	{ "  v = DMARC1 ; p = Quarantine ; sp=REJECT; adkim=s; aspf=s; "
	  "pct=50",
	    "quarantine", "reject", 1, 1, 50, 0, "" },
	{ "v=DMARC1;; p=none;; ", "none", "", 0, 0, 100, 0, "" },
	{ "v=DMARC1; p=none; adkim=r; aspf=R", "none", "", 0, 0, 100, 0, "" },
	{ "v=DMARC1; p=reject; rua=mailto:a@b.example,mailto:c@d.example!10m",
	    "reject", "", 0, 0, 100, 0, "" },
	{ "v=DMARC1; p=none; foo=bar; ruf=mailto:x@y.example; fo=1; ri=3600",
	    "none", "", 0, 0, 100, 0, "" },
	{ "v=DMARC1; p=none; pct=0", "none", "", 0, 0, 0, 0, "" },
	/* bad values of other tags keep their defaults */
	{ "v=DMARC1; p=none; adkim=x", "none", "", 0, 0, 100, 0,
	    "adkim=x ignored" },
	{ "v=DMARC1; p=none; pct=101", "none", "", 0, 0, 100, 0,
	    "pct=101 ignored" },
	{ "v=DMARC1; p=none; pct=", "none", "", 0, 0, 100, 0, "pct= ignored" },
	{ "v=DMARC1; p=none; pct=12345678901", "none", "", 0, 0, 100, 0,
	    "ignored" },
	/* RFC 7489 6.6.3: a bad or missing p= with a valid rua= is p=none */
	{ "v=DMARC1; rua=mailto:x@y.example", "none", "", 0, 0, 100, 1, "" },
	{ "v=DMARC1; p=bogus; rua=mailto:x@y.example", "none", "", 0, 0, 100, 1,
	    "" },
	{ "v=DMARC1; p=reject; sp=bogus; rua=mailto:x@y.example", "none", "", 0,
	    0, 100, 1, "" },
	/* invalid records */
	{ "v=DMARC1", NULL, NULL, 0, 0, 0, 0, "p= missing" },
	{ "v=DMARC1; rua=nothing", NULL, NULL, 0, 0, 0, 0, "p= missing" },
	{ "v=DMARC1; rua=:x", NULL, NULL, 0, 0, 0, 0, "p= missing" },
	{ "v=DMARC1; p=bogus", NULL, NULL, 0, 0, 0, 0, "p= is not" },
	{ "v=DMARC1; p=", NULL, NULL, 0, 0, 0, 0, "p= is not" },
	{ "v=DMARC1; p=none; sp=bogus", NULL, NULL, 0, 0, 0, 0, "sp= is not" },
	{ "p=reject; v=DMARC1", NULL, NULL, 0, 0, 0, 0, "v=DMARC1" },
	{ "v=DMARC2; p=none", NULL, NULL, 0, 0, 0, 0, "v=DMARC1" },
	{ "v=dmarc1; p=none", NULL, NULL, 0, 0, 0, 0, "v=DMARC1" },
	{ "v=DMARC1 p=none", NULL, NULL, 0, 0, 0, 0, "v=DMARC1" },
	{ "", NULL, NULL, 0, 0, 0, 0, "v=DMARC1" },
	{ ";;;", NULL, NULL, 0, 0, 0, 0, "v=DMARC1" },
	{ "v=DMARC1; p=none; p=reject", NULL, NULL, 0, 0, 0, 0, "twice" },
	{ "v=DMARC1; P=none; p=reject", NULL, NULL, 0, 0, 0, 0, "twice" },
	{ "v=DMARC1; v=DMARC1; p=none", NULL, NULL, 0, 0, 0, 0, "twice" },
	{ "v=DMARC1; p reject", NULL, NULL, 0, 0, 0, 0, "without \"=\"" },
	{ "v=DMARC1; p", NULL, NULL, 0, 0, 0, 0, "without \"=\"" },
	{ "v=DMARC1; 1p=none", NULL, NULL, 0, 0, 0, 0, "start with a letter" },
	{ "v=DMARC1; =none", NULL, NULL, 0, 0, 0, 0, "start with a letter" },
	{ "v=DMARC1; p-x=none", NULL, NULL, 0, 0, 0, 0, "without \"=\"" },
	{ "v=DMARC1; p=no\x01ne", NULL, NULL, 0, 0, 0, 0, "control" },
	{ "v=DMARC1; p=none; x=\xc3\xa9", NULL, NULL, 0, 0, 0, 0, "control" },
};

static void
test_dmarc_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(dmarc_cases); i++) {
		const struct dmarc_case *c = &dmarc_cases[i];
		struct og_dmarc d;
		const char *err = NULL;
		int rc;

		memset(&d, 0x5a, sizeof(d));
		rc = og_dmarc_parse(c->in, strlen(c->in), &d, &err);
		if (c->p == NULL) {
			if (rc != -1 || err == NULL ||
			    strstr(err, c->err_or_note) == NULL)
				fail_msg("\"%s\": rc %d err \"%s\", want -1 "
				         "\"%s\"",
				    c->in, rc, err ? err : "(null)",
				    c->err_or_note);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": rc %d (%s)", c->in, rc,
			    err ? err : "(null)");
		if (strcmp(d.p, c->p) != 0 || strcmp(d.sp, c->sp) != 0 ||
		    d.adkim_strict != c->adkim_strict ||
		    d.aspf_strict != c->aspf_strict || d.pct != c->pct ||
		    d.p_implied != c->implied ||
		    strstr(d.note, c->err_or_note) == NULL ||
		    (c->err_or_note[0] == '\0' && d.note[0] != '\0'))
			fail_msg("\"%s\": p=%s sp=%s adkim_s=%d aspf_s=%d "
			         "pct=%u implied=%d note=\"%s\"",
			    c->in, d.p, d.sp, d.adkim_strict, d.aspf_strict,
			    d.pct, d.p_implied, d.note);
	}
}

/* the length is the caller's: a NUL inside the span is a bad byte */
static void
test_dmarc_nul_and_span(void **state)
{
	static const char rec[] = "v=DMARC1; p=none\0; p=reject";
	struct og_dmarc d;
	const char *err = NULL;

	(void)state;
	assert_int_equal(og_dmarc_parse(rec, sizeof(rec) - 1, &d, &err), -1);
	assert_non_null(strstr(err, "control"));
	/* only the first 16 bytes: valid, and nothing past them read */
	assert_int_equal(og_dmarc_parse(rec, 16, &d, &err), 0);
	assert_string_equal(d.p, "none");
}

static void
test_dmarc_huge(void **state)
{
	struct og_strbuf sb;
	struct og_dmarc d;
	const char *err = NULL;
	char *big;
	int i;

	(void)state;
	/* exactly at the cap: valid; one byte over: refused */
	big = og_malloc(OG_DMARC_RECORD_MAX + 2);
	memset(big, ' ', OG_DMARC_RECORD_MAX + 1);
	memcpy(big, "v=DMARC1; p=reject;", 19);
	big[OG_DMARC_RECORD_MAX + 1] = '\0';
	assert_int_equal(og_dmarc_parse(big, OG_DMARC_RECORD_MAX, &d, &err), 0);
	assert_int_equal(
	    og_dmarc_parse(big, OG_DMARC_RECORD_MAX + 1, &d, &err), -1);
	assert_non_null(strstr(err, "longer"));
	og_free(big);

	/* 64 tags are fine, the 65th is not */
	og_strbuf_init(&sb, 0);
	(void)og_strbuf_adds(&sb, "v=DMARC1; p=none");
	for (i = 2; i < 64; i++)
		(void)og_strbuf_addf(&sb, "; t%d=x", i);
	assert_int_equal(og_dmarc_parse(sb.data, sb.len, &d, &err), 0);
	(void)og_strbuf_adds(&sb, "; t64=x");
	assert_int_equal(og_dmarc_parse(sb.data, sb.len, &d, &err), -1);
	assert_non_null(strstr(err, "64 tags"));

	/* a long rua= is kept, cut to the field */
	og_strbuf_reset(&sb);
	(void)og_strbuf_adds(&sb, "v=DMARC1; p=none; rua=mailto:");
	for (i = 0; i < 1000; i++)
		(void)og_strbuf_addc(&sb, 'a');
	assert_int_equal(og_dmarc_parse(sb.data, sb.len, &d, &err), 0);
	assert_int_equal(strlen(d.rua), sizeof(d.rua) - 1);
	og_strbuf_release(&sb);
}

struct is_case {
	const char *in;
	int want;
};

static const struct is_case is_cases[] = {
	{ "v=DMARC1; p=none", 1 },
	{ "v=DMARC1", 1 },
	{ " V = DMARC1 ;p=none", 1 },
	{ "v=DMARC1;", 1 },
	{ "v=DMARC10; p=none", 0 },
	{ "v=DMARC1 p=none", 0 },
	{ "v=spf1 -all", 0 },
	{ "p=none; v=DMARC1", 0 },
	{ "v=dmarc1", 0 },
	{ "", 0 },
	{ "v", 0 },
	{ "v=", 0 },
};

static void
test_dmarc_is_record(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(is_cases); i++)
		if (og_dmarc_is_record(is_cases[i].in,
		        strlen(is_cases[i].in)) != is_cases[i].want)
			fail_msg("\"%s\": want %d", is_cases[i].in,
			    is_cases[i].want);
}

/* ---- DKIM key records ---- */

struct dkim_case {
	const char *in;
	const char *k; /* NULL: the parse must fail */
	const char *p; /* the p= span */
	int revoked;
	const char *err;
};

static const struct dkim_case dkim_cases[] = {
	{ "v=DKIM1; k=rsa; p=AAAA", "rsa", "AAAA", 0, NULL },
	{ "p=AAAA", "rsa", "AAAA", 0, NULL },
	{ "v=DKIM1; k=ed25519; p=abc=", "ed25519", "abc=", 0, NULL },
	{ "v=DKIM1; k=ED25519; p=abc", "ed25519", "abc", 0, NULL },
	{ "v=DKIM1; h=sha256; t=s; n=note; p=AB CD ", "rsa", "AB CD", 0, NULL },
	{ "v=DKIM1; p=", "rsa", "", 1, NULL },
	{ "v=DKIM1; p= ;", "rsa", "", 1, NULL },
	{ "s=email; p=x", "rsa", "x", 0, NULL },
	{ "s=*; p=x", "rsa", "x", 0, NULL },
	{ "s=other:email; p=x", "rsa", "x", 0, NULL },
	{ "s=other; p=x", NULL, NULL, 0, "email" },
	{ "p=x; v=DKIM1", NULL, NULL, 0, "first" },
	{ "v=DKIM2; p=x", NULL, NULL, 0, "DKIM1" },
	{ "k=dsa; p=x", NULL, NULL, 0, "key type" },
	{ "v=DKIM1; k=rsa", NULL, NULL, 0, "p= missing" },
	{ "", NULL, NULL, 0, "p= missing" },
	{ "p=x; p=y", NULL, NULL, 0, "twice" },
	{ "p=x; k", NULL, NULL, 0, "without" },
	{ "p=x\x7f", NULL, NULL, 0, "control" },
};

static void
test_dkim_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(dkim_cases); i++) {
		const struct dkim_case *c = &dkim_cases[i];
		struct og_dkim_key k;
		const char *err = NULL;
		int rc;

		rc = og_dkim_key_parse(c->in, strlen(c->in), &k, &err);
		if (c->k == NULL) {
			if (rc != -1 || err == NULL ||
			    strstr(err, c->err) == NULL)
				fail_msg("\"%s\": rc %d err \"%s\", want "
				         "\"%s\"",
				    c->in, rc, err ? err : "(null)", c->err);
			continue;
		}
		if (rc != 0 || strcmp(k.k, c->k) != 0 ||
		    k.revoked != c->revoked || k.p_len != strlen(c->p) ||
		    memcmp(c->in + k.p_off, c->p, k.p_len) != 0)
			fail_msg(
			    "\"%s\": rc %d k=%s revoked %d p=\"%.*s\" (%s)",
			    c->in, rc, k.k, k.revoked, (int)k.p_len,
			    c->in + k.p_off, err ? err : "");
	}
}

/* ---- DKIM keys against p= ---- */

struct keys {
	char dir[64];
	char rsa[96], rsa_other[96], ed[96], junk[96], enc[96], link[96];
	char rsa_spki[1024], rsa_pkcs1[1024], rsa_other_spki[1024];
	char ed_raw[64], ed_spki[128];
};

static void
b64(const unsigned char *der, int len, char *out, size_t size)
{
	assert_true((size_t)(4 * ((len + 2) / 3) + 1) <= size);
	(void)EVP_EncodeBlock((unsigned char *)out, der, len);
}

static EVP_PKEY *
keygen(const char *alg, int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pk = NULL;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	if (bits > 0)
		assert_int_equal(
		    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &pk), 1);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static void
write_key(EVP_PKEY *pk, const char *path, const char *pass)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(
	    PEM_write_PrivateKey(fp, pk, pass ? EVP_aes_128_cbc() : NULL,
	        (const unsigned char *)pass, pass ? (int)strlen(pass) : 0, NULL,
	        NULL),
	    1);
	assert_int_equal(fclose(fp), 0);
}

static void
spki_b64(EVP_PKEY *pk, int spki, char *out, size_t size)
{
	unsigned char *der = NULL;
	int n = spki ? i2d_PUBKEY(pk, &der) : i2d_PublicKey(pk, &der);

	assert_true(n > 0);
	b64(der, n, out, size);
	OPENSSL_free(der);
}

static int
keys_setup(void **state)
{
	struct keys *k = og_calloc(1, sizeof(*k));
	const char *tmp = getenv("TMPDIR");
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	EVP_PKEY *rsa, *other, *ed;
	FILE *fp;

	(void)snprintf(k->dir, sizeof(k->dir), "%.40s/t_auth.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(k->dir) == NULL)
		return -1;
#define KPATH(f, name) (void)snprintf(k->f, sizeof(k->f), "%s/" name, k->dir)
	KPATH(rsa, "rsa.pem");
	KPATH(rsa_other, "rsa_other.pem");
	KPATH(ed, "ed.pem");
	KPATH(junk, "junk.pem");
	KPATH(enc, "enc.pem");
	KPATH(link, "link.pem");
#undef KPATH
	rsa = keygen("RSA", 1024);
	other = keygen("RSA", 1024);
	ed = keygen("ED25519", 0);
	write_key(rsa, k->rsa, NULL);
	write_key(other, k->rsa_other, NULL);
	write_key(ed, k->ed, NULL);
	write_key(rsa, k->enc, "secret");
	if ((fp = fopen(k->junk, "w")) == NULL)
		return -1;
	(void)fputs("not a key\n", fp);
	(void)fclose(fp);
	if (symlink(k->rsa, k->link) < 0)
		return -1;
	spki_b64(rsa, 1, k->rsa_spki, sizeof(k->rsa_spki));
	spki_b64(rsa, 0, k->rsa_pkcs1, sizeof(k->rsa_pkcs1));
	spki_b64(other, 1, k->rsa_other_spki, sizeof(k->rsa_other_spki));
	spki_b64(ed, 1, k->ed_spki, sizeof(k->ed_spki));
	assert_int_equal(EVP_PKEY_get_raw_public_key(ed, raw, &rawlen), 1);
	b64(raw, (int)rawlen, k->ed_raw, sizeof(k->ed_raw));
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ed);
	*state = k;
	return 0;
}

static int
keys_teardown(void **state)
{
	struct keys *k = *state;
	const char *files[] = { k->rsa, k->rsa_other, k->ed, k->junk, k->enc,
		k->link };
	size_t i;

	for (i = 0; i < OG_NELEM(files); i++)
		(void)unlink(files[i]);
	(void)rmdir(k->dir);
	og_free(k);
	return 0;
}

/* match - og_dkim_key_match with a fresh why; checks rc and why */
static void
match(const char *file, const char *k, const char *b64v, int want,
    const char *why_has)
{
	char why[OG_AUTH_REASON_MAX] = "";
	int rc =
	    og_dkim_key_match(file, k, b64v, strlen(b64v), why, sizeof(why));

	if (rc != want || (why_has != NULL && strstr(why, why_has) == NULL))
		fail_msg("%s k=%s p=%.20s...: rc %d why \"%s\", want %d "
		         "\"%s\"",
		    file, k, b64v, rc, why, want, why_has ? why_has : "");
}

static void
test_key_match(void **state)
{
	struct keys *k = *state;
	char spaced[1100];
	size_t i, j = 0;

	match(k->rsa, "rsa", k->rsa_spki, 1, NULL);
	match(k->rsa, "rsa", k->rsa_pkcs1, 1, NULL); /* bare RSAPublicKey */
	match(k->ed, "ed25519", k->ed_raw, 1, NULL);
	/* p= may be folded: white space anywhere */
	for (i = 0; k->rsa_spki[i] != '\0'; i++) {
		if (i % 50 == 0)
			spaced[j++] = i % 100 ? ' ' : '\t';
		spaced[j++] = k->rsa_spki[i];
	}
	spaced[j] = '\0';
	match(k->rsa, "rsa", spaced, 1, NULL);

	match(k->rsa, "rsa", k->rsa_other_spki, 0, "p= does not match");
	match(k->rsa_other, "rsa", k->rsa_spki, 0, "p= does not match");
	/* RFC 8463: the raw key, not an SPKI */
	match(k->ed, "ed25519", k->ed_spki, 0, "p= does not match");
	match(k->ed, "rsa", k->ed_raw, 0, "k=rsa but");
	match(k->rsa, "ed25519", k->rsa_spki, 0, "holds an RSA key");
	match(k->rsa, "rsa", "!!!!", 0, "not valid base64");
	match(k->rsa, "rsa", "QUJD=A==", 0, "not valid base64");
	match(k->rsa, "rsa", "QUJ", 0, "not valid base64");

	match("/nonexistent/key.pem", "rsa", k->rsa_spki, -1,
	    "key file unreadable: /nonexistent/key.pem: No such file");
	match(k->junk, "rsa", k->rsa_spki, -1, "not a PEM private key");
	match(k->enc, "rsa", k->rsa_spki, -1, "not a PEM private key");
	match(k->dir, "rsa", k->rsa_spki, -1, "not a regular file");
	match(k->link, "rsa", k->rsa_spki, -1, "key file unreadable");
}

/* ---- alignment ---- */

static void
set(struct og_auth_item *it, enum og_auth_res res)
{
	it->res = res;
	it->ok = res == OG_AUTH_PASS;
}

struct align_case {
	const char *name;
	const char *domain;
	enum og_auth_res spf1, spf2; /* spf2 OG_AUTH_NONE + nspf 1: one IP */
	int nspf;
	const char *dkim_d; /* NULL: no key */
	enum og_auth_res dkim;
	int aspf_s, adkim_s;
	enum og_auth_res want;
	const char *reason;
};

static const struct align_case align_cases[] = {
	{ "spf only", "example.com", OG_AUTH_PASS, OG_AUTH_PASS, 2, NULL,
	    OG_AUTH_NONE, 0, 0, OG_AUTH_PASS, "SPF aligned (aspf=r)" },
	{ "spf strict", "mail.example.com", OG_AUTH_PASS, OG_AUTH_NONE, 1, NULL,
	    OG_AUTH_NONE, 1, 0, OG_AUTH_PASS, "SPF aligned (aspf=s)" },
	{ "one IP fails", "example.com", OG_AUTH_PASS, OG_AUTH_FAIL, 2, NULL,
	    OG_AUTH_NONE, 0, 0, OG_AUTH_FAIL, "neither" },
	{ "no egress IP", "example.com", OG_AUTH_NONE, OG_AUTH_NONE, 0, NULL,
	    OG_AUTH_NONE, 0, 0, OG_AUTH_FAIL, "neither" },
	{ "dkim saves", "example.com", OG_AUTH_SOFTFAIL, OG_AUTH_NONE, 1,
	    "example.com", OG_AUTH_PASS, 0, 1, OG_AUTH_PASS,
	    "DKIM d=example.com aligned (adkim=s)" },
	{ "dkim relaxed", "mail.example.com", OG_AUTH_FAIL, OG_AUTH_NONE, 1,
	    "example.com", OG_AUTH_PASS, 0, 0, OG_AUTH_PASS,
	    "DKIM d=example.com aligned (adkim=r)" },
	{ "dkim strict", "mail.example.com", OG_AUTH_FAIL, OG_AUTH_NONE, 1,
	    "example.com", OG_AUTH_PASS, 0, 1, OG_AUTH_FAIL,
	    "not aligned with mail.example.com" },
	{ "dkim fails", "example.com", OG_AUTH_TEMPERROR, OG_AUTH_NONE, 1,
	    "example.com", OG_AUTH_FAIL, 0, 0, OG_AUTH_FAIL, "neither" },
	{ "both", "example.com", OG_AUTH_PASS, OG_AUTH_NONE, 1, "example.com",
	    OG_AUTH_PASS, 1, 1, OG_AUTH_PASS,
	    "SPF (aspf=s) and DKIM d=example.com (adkim=s) aligned" },
};

static void
test_align_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(align_cases); i++) {
		const struct align_case *c = &align_cases[i];
		struct og_auth_report r;

		memset(&r, 0, sizeof(r));
		(void)og_strlcpy(r.domain, c->domain, sizeof(r.domain));
		r.nspf = (size_t)c->nspf;
		set(&r.spf[0].item, c->spf1);
		set(&r.spf[1].item, c->spf2);
		if (c->dkim_d != NULL) {
			r.ndkim = 1;
			(void)og_strlcpy(r.dkim[0].domain, c->dkim_d,
			    sizeof(r.dkim[0].domain));
			set(&r.dkim[0].item, c->dkim);
		}
		og_auth_align(&r, c->aspf_s, c->adkim_s);
		if (r.aligned.res != c->want ||
		    r.aligned.ok != (c->want == OG_AUTH_PASS) ||
		    strstr(r.aligned.reason, c->reason) == NULL)
			fail_msg("%s: %s \"%s\", want %s \"%s\"", c->name,
			    og_auth_res_name(r.aligned.res), r.aligned.reason,
			    og_auth_res_name(c->want), c->reason);
	}
}

/* ---- settings, names, arguments ---- */

static void
test_conf_from(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct og_auth_conf ac;
	struct og_strbuf err;
	struct og_conf *cf;
	char path[96];
	FILE *fp;
	int fd;

	(void)state;
	(void)snprintf(path, sizeof(path), "%.60s/t_auth_conf.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	(void)fputs("egress_ips = 192.0.2.1, 2001:db8::/64\n"
	            "dkim_domain = example.com\n"
	            "dkim_selector = rsa1, ed1\n"
	            "dkim_key_file = /k/rsa.pem, /k/ed.pem\n",
	    fp);
	assert_int_equal(fclose(fp), 0);
	og_strbuf_init(&err, 0);
	cf = og_conf_load(path, &err);
	if (cf == NULL)
		fail_msg("%s", og_strbuf_str(&err));
	og_auth_conf_from(cf, &ac);
	assert_int_equal(ac.negress, 2);
	assert_string_equal(ac.egress_ips[1], "2001:db8::/64");
	assert_int_equal(ac.nkeys, 2);
	/* one dkim_domain serves both selectors */
	assert_string_equal(ac.keys[1].domain, "example.com");
	assert_string_equal(ac.keys[1].selector, "ed1");
	assert_string_equal(ac.keys[1].key_file, "/k/ed.pem");
	og_conf_free(cf);

	/* nothing configured: no keys, no IPs */
	assert_non_null(fp = fopen(path, "w"));
	(void)fputs("# empty\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(cf = og_conf_load(path, &err));
	og_auth_conf_from(cf, &ac);
	assert_int_equal(ac.negress, 0);
	assert_int_equal(ac.nkeys, 0);
	og_conf_free(cf);
	og_strbuf_release(&err);
	(void)unlink(path);
}

static void
test_names_and_args(void **state)
{
	static const char *const want[] = { "pass", "fail", "softfail",
		"neutral", "none", "temperror", "permerror" };
	struct og_auth_report r;
	struct og_auth_conf ac;
	int i;

	(void)state;
	for (i = OG_AUTH_PASS; i <= OG_AUTH_PERMERROR; i++)
		assert_string_equal(og_auth_res_name(i), want[i]);
	assert_string_equal(
	    og_auth_res_name((enum og_auth_res)99), "permerror");
	memset(&ac, 0, sizeof(ac));
	r.ok = 1;
	assert_int_equal(og_auth_check(NULL, &ac, "example.com", &r), -1);
	assert_int_equal(r.ok, 0); /* reset even on failure */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmarc_table),
		cmocka_unit_test(test_dmarc_nul_and_span),
		cmocka_unit_test(test_dmarc_huge),
		cmocka_unit_test(test_dmarc_is_record),
		cmocka_unit_test(test_dkim_table),
		cmocka_unit_test_setup_teardown(
		    test_key_match, keys_setup, keys_teardown),
		cmocka_unit_test(test_align_table),
		cmocka_unit_test(test_conf_from),
		cmocka_unit_test(test_names_and_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

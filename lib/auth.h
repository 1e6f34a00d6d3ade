/*
 * auth.h - is a sending domain's mail authenticated, checked live in DNS
 * DESCRIPTION: for one From domain and the configured egress IPs: SPF
 *	(libspf2, RFC 7208 limits) per egress IP, the DKIM selector's TXT
 *	record present and matching the configured key, the DMARC record
 *	of the domain or its organisational domain (RFC 7489) and its
 *	policy, and whether mail would be DMARC-aligned. Used by
 *	"outguard-queue-report check-auth" and by the evidence pack, which
 *	states only what this module verified.
 *	All DNS goes through lib/dns.h (one resolver, dns_resolver, a
 *	timeout per lookup): a DNS failure is a temperror item, never a
 *	hang.
 * DIAGNOSTICS: og_auth_check() returns 0 when the checks ran (whatever
 *	they found), -1 on bad arguments or resource trouble (logged).
 */
#ifndef OG_AUTH_H
#define OG_AUTH_H

#include <stddef.h>

struct og_dns;

#define OG_AUTH_IPS_MAX 16 /* egress IPs checked per domain */
#define OG_AUTH_KEYS_MAX 2 /* an RSA and an Ed25519 selector */
#define OG_AUTH_REASON_MAX 256

/* result words, as RFC 7208 / RFC 7489 / RFC 6376 name them */
enum og_auth_res {
	OG_AUTH_PASS,
	OG_AUTH_FAIL,
	OG_AUTH_SOFTFAIL,
	OG_AUTH_NEUTRAL,
	OG_AUTH_NONE,
	OG_AUTH_TEMPERROR,
	OG_AUTH_PERMERROR,
};
/* og_auth_res_name - "pass", "fail", "softfail", ... */
const char *og_auth_res_name(enum og_auth_res);

struct og_auth_item {
	enum og_auth_res res;
	int ok; /* this item would not stop DMARC from passing */
	char reason[OG_AUTH_REASON_MAX]; /* why, for people: one line */
};

struct og_auth_conf {
	const char *const *egress_ips; /* IPs (a network: its first address) */
	size_t negress;
	/* the configured keys: domain, selector, PEM private key file */
	struct {
		const char *domain, *selector, *key_file;
	} keys[OG_AUTH_KEYS_MAX];
	size_t nkeys;
};

struct og_auth_report {
	char domain[256]; /* the From domain checked, lowercase */
	char org_domain[256]; /* its organisational domain */
	/* SPF of the domain for each egress IP */
	struct {
		char ip[64];
		struct og_auth_item item;
	} spf[OG_AUTH_IPS_MAX];
	size_t nspf;
	/* each configured key whose domain aligns with this domain */
	struct {
		char domain[256], selector[64];
		struct og_auth_item item; /* pass: TXT present, key matches */
	} dkim[OG_AUTH_KEYS_MAX];
	size_t ndkim; /* 0: no key for this domain (an item of its own) */
	struct og_auth_item dkim_any; /* pass when some key passes */
	struct og_auth_item dmarc; /* pass: a valid record exists */
	char dmarc_record[512]; /* the TXT record as published, or "" */
	char dmarc_policy[16]; /* "none", "quarantine", "reject", or "" */
	/* would our mail pass DMARC: SPF or DKIM pass and aligned */
	struct og_auth_item aligned;
	int ok; /* every item ok: the pack may claim SPF, DKIM and DMARC */
	unsigned ttl; /* the shortest DNS TTL of the answers used (0: none) */
};

/*
 * og_auth_check - run every check for domain; *out is filled (and
 * reset first). conf->egress_ips empty is an SPF item "no egress_ips
 * configured", not an error.
 */
int og_auth_check(struct og_dns *, const struct og_auth_conf *,
    const char *domain, struct og_auth_report *out);

/*
 * og_auth_spf - only the SPF items: domain (an envelope domain) for
 * each egress IP, into out->spf (out reset, out->domain set, out->ttl
 * the shortest TTL used); -1 on bad arguments
 */
int og_auth_spf(struct og_dns *, const struct og_auth_conf *,
    const char *domain, struct og_auth_report *out);
/*
 * og_auth_dmarc - only the DMARC item of domain (a From domain): its
 * record or its organisational domain's, into out (reset; out->dmarc,
 * dmarc_record, dmarc_policy, ttl) and *dm; 1 when a valid record
 * applies, 0 when none does (out->dmarc says why: none, temperror,
 * permerror), -1 on bad arguments
 */
struct og_dmarc;
int og_auth_dmarc(struct og_dns *, const char *domain,
    struct og_auth_report *out, struct og_dmarc *dm);

/*
 * og_auth_conf_from - fill an og_auth_conf from the loaded
 * configuration (egress_ips, dkim_domain, dkim_selector, dkim_key_file);
 * the strings are borrowed from conf
 */
struct og_conf;
void og_auth_conf_from(const struct og_conf *, struct og_auth_conf *);

/*
 * og_auth_align - fill out->aligned from the SPF and DKIM items already
 * in out (a pure function; og_auth_check() calls it): pass when SPF
 * passes for every egress IP and the envelope domain (out->domain)
 * aligns with the From domain (out->domain) under aspf, or when some
 * DKIM key passes and its d= aligns under adkim (1: strict, 0: relaxed)
 */
void og_auth_align(
    struct og_auth_report *out, int aspf_strict, int adkim_strict);

/* ---- DMARC records (RFC 7489 6.3, 6.4) ---- */

#define OG_DMARC_RECORD_MAX 4096 /* bytes; longer is invalid */

struct og_dmarc {
	char p[16]; /* "none", "quarantine" or "reject", lowercase */
	char sp[16]; /* the same for subdomains, "" when absent */
	int p_implied; /* p= missing or bad, but a valid rua=: p=none */
	int adkim_strict, aspf_strict; /* adkim=s, aspf=s (default r) */
	unsigned pct; /* 0..100, default 100 */
	char rua[256]; /* as published, "" when absent, cut at 255 bytes */
	char note[96]; /* the first bad value ignored (default kept), or "" */
};

/*
 * og_dmarc_is_record - 1 if the TXT record rec starts with v=DMARC1
 * (policy discovery keeps only those, RFC 7489 6.6.3), else 0
 */
int og_dmarc_is_record(const char *rec, size_t len);
/*
 * og_dmarc_parse - parse one DMARC record (bounded: at most
 * OG_DMARC_RECORD_MAX bytes, 64 tags): 0 with *out filled, or -1 with
 * *err a static description. v=DMARC1 must come first; a tag-list
 * syntax error or a repeated tag makes the record invalid (RFC 6376
 * 3.2); unknown tags are ignored; p= and sp= follow RFC 7489 6.6.3 (a
 * bad one is p=none when rua= holds a valid URI, else invalid); other
 * bad values keep their defaults (out->note says which).
 */
int og_dmarc_parse(
    const char *rec, size_t len, struct og_dmarc *out, const char **err);

/* ---- DKIM key records (RFC 6376 3.6.1, RFC 8463) ---- */

struct og_dkim_key {
	char k[16]; /* "rsa" (the default) or "ed25519" */
	size_t p_off, p_len; /* p= in the record, whitespace included */
	int revoked; /* p= empty */
};

/*
 * og_dkim_key_parse - parse a key record (tag-list, RFC 6376 3.2): 0
 * with *out filled, -1 with *err (v= not first or not DKIM1, k=
 * unknown, p= missing, s= without email, repeated tags, bad syntax)
 */
int og_dkim_key_parse(
    const char *rec, size_t len, struct og_dkim_key *out, const char **err);
/*
 * og_dkim_key_match - does the PEM private key in key_file match the
 * base64 public key b64 (whitespace allowed) published for key type k:
 * the SubjectPublicKeyInfo (or bare RSAPublicKey) DER of an RSA key,
 * the raw 32 bytes of an Ed25519 key (RFC 8463)? 1 match, 0 no match
 * (why says so), -1 the key file cannot be used (why says why).
 */
int og_dkim_key_match(const char *key_file, const char *k, const char *b64,
    size_t len, char *why, size_t whylen);

#endif

/*
 * dkimsign.h - DKIM signing keys and per-message signing (OpenSSL)
 * DESCRIPTION: og_dkim_keys holds every signing key of a configuration
 *	snapshot, read once at start-up and at each reload:
 *	- OpenDKIM's KeyTable (dkim_key_table): "NAME DOMAIN:SELECTOR:KEY",
 *	  KEY a PEM file path (or the key's PEM or base64 DER inline, as
 *	  OpenDKIM allows), comments after "#", blank lines ignored;
 *	- OpenDKIM's SigningTable (dkim_signing_table): "PATTERN NAME..."
 *	  where PATTERN is a From address, "*@domain", "@domain", "domain"
 *	  or "*"; the first matching line wins (refile: semantics, "*"
 *	  matching any run of characters), and one line may name several
 *	  keys (an RSA and an Ed25519 key sign together, RFC 8463);
 *	- or the simple form: dkim_domain, dkim_selector, dkim_key_file
 *	  (each up to two entries, a domain entry alone serving both keys);
 *	  the simple form signs mail whose From domain is dkim_domain or a
 *	  subdomain of it.
 *	The key type (RSA or Ed25519) comes from the key itself (OpenSSL),
 *	never from the file name. With dkim_require_safe_keys a key file
 *	that group or others may read or write is refused (the error names
 *	the file and its mode).
 *	Each key is parsed once, at load, into an EVP_PKEY. og_dkim_sign_*
 *	sign one message with every key its From selects (dkimcanon.c:
 *	relaxed canonicalization, the header laid out as libopendkim
 *	does): headers as they arrive, the body in chunks, and at the end
 *	the DKIM-Signature header values (c=relaxed/relaxed; the signed
 *	headers are dkim_sign_headers or RFC 6376 5.4.1's recommended set
 *	plus List-Unsubscribe and List-Unsubscribe-Post; From is signed
 *	once more than it occurs, so no From can be added after signing).
 * DIAGNOSTICS: loading reports every problem as "FILE:LINE: text" (or
 *	"SETTING: text") in err and fails; signing never aborts the mail:
 *	a failure (an OpenSSL error, more than 256 signed header fields,
 *	no From field) makes og_dkim_sign_end() return -1 with a reason,
 *	and the caller lets the message go unsigned and logs it.
 *	Bounded: KeyTable and SigningTable files of at most
 *	OG_DKIM_TABLE_MAX bytes and OG_DKIM_KEYS_MAX keys.
 */
#ifndef OG_DKIMSIGN_H
#define OG_DKIMSIGN_H

#include <stddef.h>

struct og_conf;
struct og_dns;
struct og_strbuf;
struct og_dkim_keys;
struct og_dkim_sign;

#define OG_DKIM_TABLE_MAX (4 * 1024 * 1024)
#define OG_DKIM_KEYS_MAX 10000
#define OG_DKIM_PER_MSG_MAX 4 /* signatures on one message */

enum og_dkim_alg { OG_DKIM_RSA, OG_DKIM_ED25519 };

/* what og_dkim_keys_find() answers: borrowed from the key set */
struct og_dkim_keyref {
	const char *name; /* the KeyTable name ("" for the simple form) */
	const char *domain; /* d= */
	const char *selector; /* s= */
	const char *file; /* the key's file, or NULL when inline */
	enum og_dkim_alg alg;
	size_t idx; /* the key's place in the set (for dkimsign.c) */
};

/*
 * og_dkim_keys_load - the keys the configuration names (none: an empty
 * set, signing off); NULL with err filled on any problem
 */
struct og_dkim_keys *og_dkim_keys_load(
    const struct og_conf *, struct og_strbuf *err);
/* og_dkim_keys_parse - tables from memory (tests, fuzzing): no key files
 * are read; KEY is kept as text. NULL with err filled on a problem. */
struct og_dkim_keys *og_dkim_keys_parse(const char *keytable, size_t klen,
    const char *signingtable, size_t slen, struct og_strbuf *err);
void og_dkim_keys_free(struct og_dkim_keys *);
size_t og_dkim_keys_count(const struct og_dkim_keys *);
/*
 * og_dkim_keys_find - the keys that sign mail From address (a bare
 * addr-spec, any case): up to max refs in out, the count returned (0:
 * no key for that From)
 */
size_t og_dkim_keys_find(const struct og_dkim_keys *, const char *from,
    struct og_dkim_keyref *out, size_t max);
/*
 * og_dkim_keys_check - for -n: each key's public half against its
 * selector's TXT record through dns; one line per key on out ("ok",
 * "mismatch", "no record", "temperror ..."); 0 when all match
 */
int og_dkim_keys_check(
    const struct og_dkim_keys *, struct og_dns *, struct og_strbuf *out);

/*
 * og_dkim_sign_begin - a signing context for one message From from
 * (the From header's address): NULL and *why set ("no key for the From
 * domain", ...) when it cannot sign. sign_headers NULL: the default set.
 */
struct og_dkim_sign *og_dkim_sign_begin(const struct og_dkim_keys *,
    const char *from, const char *const *sign_headers, size_t nsign,
    const char **why);
/* og_dkim_sign_header - one header field as the milter got it */
int og_dkim_sign_header(
    struct og_dkim_sign *, const char *name, const char *value);
int og_dkim_sign_eoh(struct og_dkim_sign *);
int og_dkim_sign_body(struct og_dkim_sign *, const unsigned char *, size_t);
/*
 * og_dkim_sign_end - finish: *n header values (without "DKIM-Signature:
 * ") in out, each a malloc'ed string the caller frees; the RSA
 * signature first. A description of each signature ("d=example.com
 * s=sel a=rsa-sha256") in desc when not NULL. -1 and *why on failure.
 */
int og_dkim_sign_end(struct og_dkim_sign *, char **out, size_t *n,
    struct og_strbuf *desc, const char **why);
void og_dkim_sign_free(struct og_dkim_sign *);
/*
 * og_dkim_sign_skipped - why a key for the message's From domain was
 * left out (its file could not be read) while the others sign; NULL
 * when none was. Valid while the key set is.
 */
const char *og_dkim_sign_skipped(const struct og_dkim_sign *);
/*
 * og_dkim_keys_unusable - the keys that are configured but cannot sign
 * ("s=SEL d=DOMAIN: key unreadable: FILE: error", "; " between them)
 * appended to out; their count returned
 */
size_t og_dkim_keys_unusable(const struct og_dkim_keys *, struct og_strbuf *);

#endif

/*
 * dkimkeys.h - the insides of a DKIM key set, for dkimkeys.c and
 *	dkimsign.c only (everyone else uses dkimsign.h)
 * DESCRIPTION: dkimkeys.c parses the KeyTable and SigningTable (or the
 *	simple form) into these structures and matches From addresses;
 *	dkimsign.c fills in the key material (each key parsed once into
 *	an EVP_PKEY) and signs. Once loaded, nothing here changes, so
 *	threads may share it.
 * DIAGNOSTICS: og_dkim_perr() appends "FILE:LINE: text\n" (or "FILE:
 *	text\n" when line is 0) to the parse's err, at most
 *	OG_DKIM_ERRS_MAX lines; the caller fails when nerr > 0.
 */
#ifndef OG_DKIMKEYS_H
#define OG_DKIMKEYS_H

#include <stddef.h>

#include "dkimsign.h"
#include "util.h"

#define OG_DKIM_ERRS_MAX 20 /* error lines reported */
#define OG_DKIM_KEYFILE_MAX (64 * 1024) /* one private key file */
#define OG_DKIM_B64                                                            \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

struct evp_pkey_st;
struct evp_md_st;

struct og_dkim_keyent {
	char *name, *domain, *selector;
	char *file; /* NULL: inline */
	char *text; /* the inline KEY until loaded */
	unsigned line; /* in the KeyTable, for errors; 0 for settings */
	struct evp_pkey_st *pkey; /* the parsed key, NULL until loaded */
	/* why a key that is configured cannot sign: its file could not be
	 * read ("key unreadable: FILE: error"); NULL when it can */
	char *unusable;
	enum og_dkim_alg alg;
	/* Ed25519: libsodium's secret key (seed, then public half) */
	unsigned char ed_sk[64];
};

struct og_dkim_rule {
	char *pattern; /* lowercase; no '@': matched against the domain */
	size_t key[OG_DKIM_PER_MSG_MAX], nkey;
};

struct og_dkim_byname {
	const char *name;
	size_t idx;
};

struct og_dkim_keys {
	struct og_dkim_keyent *keys;
	size_t nkeys;
	struct og_dkim_rule *rules; /* first match wins */
	size_t nrules;
	struct og_dkim_byname *byname; /* the keys sorted by name */
	struct evp_md_st *sha256; /* fetched once; NULL until loaded */
	char **hdrs; /* default signed header list, NULL-terminated */
	size_t nhdrs;
};

/* one parse or load, for error reporting */
struct og_dkim_ps {
	struct og_dkim_keys *k;
	const char *file; /* the file or setting errors name */
	unsigned line;
	unsigned nerr;
	struct og_strbuf *err;
};

void og_dkim_perr(struct og_dkim_ps *, const char *, ...) OG_PRINTF(2, 3);
/* og_dkim_keys_tables - read and parse both tables (no key material) */
struct og_dkim_keys *og_dkim_keys_tables(
    const char *keytable, const char *signingtable, struct og_strbuf *err);
/* og_dkim_keys_simple - the set dkim_domain/_selector/_key_file name */
struct og_dkim_keys *og_dkim_keys_simple(
    const struct og_conf *, struct og_strbuf *err);

#endif

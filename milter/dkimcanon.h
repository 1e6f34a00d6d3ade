/*
 * dkimcanon.h - DKIM relaxed/relaxed canonicalization and the
 *	DKIM-Signature header text, for dkimsign.c (and its tests)
 * DESCRIPTION: og_dkim_body_* canonicalize a message body in chunks of
 *	any size (RFC 6376 3.4.4, relaxed) and hand the result to a sink
 *	(dkimsign.c: SHA-256); og_dkim_hdr_canon() canonicalizes one header
 *	field (RFC 6376 3.4.2, relaxed); og_dkim_sighdr() lays out the
 *	DKIM-Signature tags and folds them exactly as libopendkim 2.11's
 *	dkim_getsighdr_d() does, so our header is byte-identical to the
 *	one OpenDKIM would add. Pure functions of their input: no locale,
 *	no allocation besides the caller's strbufs.
 * DIAGNOSTICS: og_dkim_hdr_canon() and og_dkim_sighdr() return -1 when
 *	the strbuf's cap is reached; the body functions cannot fail.
 */
#ifndef OG_DKIMCANON_H
#define OG_DKIMCANON_H

#include <stddef.h>

struct og_strbuf;

#define OG_DKIM_MARGIN 75 /* libopendkim's fold margin (DKIM_HDRMARGIN) */

/* the relaxed body canonicalizer's state between chunks */
struct og_dkim_body {
	void (*out)(void *arg, const void *p, size_t len); /* the sink */
	void *arg;
	size_t blanks; /* empty lines seen and not yet written */
	int wsp; /* a WSP run is pending */
	int cr; /* a CR is pending (a line end if LF follows) */
	int text; /* the current line has content */
};

/* og_dkim_body_init - canonical bytes will go to out(arg, ...) */
void og_dkim_body_init(struct og_dkim_body *,
    void (*out)(void *, const void *, size_t), void *arg);
void og_dkim_body_update(
    struct og_dkim_body *, const unsigned char *p, size_t len);
/* og_dkim_body_final - the end of the body: the last line's CRLF */
void og_dkim_body_final(struct og_dkim_body *);

/*
 * og_dkim_hdr_canon - "name:value" relaxed, appended to sb, with CRLF
 * when crlf is set (the DKIM-Signature header itself goes without)
 */
int og_dkim_hdr_canon(struct og_strbuf *sb, const char *name, size_t nlen,
    const char *value, size_t vlen, int crlf);

/* the tag values of one signature */
struct og_dkim_tags {
	int rsa; /* a=rsa-sha256, else ed25519-sha256 */
	int rsa_bits; /* the RSA key's size: libopendkim folds by it */
	const char *domain, *selector, *hlist, *bh;
	long long t;
	const char *b; /* "" while signing */
};

/*
 * og_dkim_sighdr - the DKIM-Signature value (without "DKIM-Signature: ")
 * appended to out, folded with CRLF TAB at OG_DKIM_MARGIN columns
 */
int og_dkim_sighdr(struct og_strbuf *out, const struct og_dkim_tags *);

#endif

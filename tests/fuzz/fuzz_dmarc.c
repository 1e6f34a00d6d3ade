/*
 * fuzz_dmarc.c - fuzz target for the DMARC and DKIM key record parsers
 * DESCRIPTION: both are tag-lists (RFC 6376 3.2) read from DNS, so both
 *	get every input. Beyond "no crash, no read past size", the results
 *	must be consistent: a valid DMARC record has one of the three
 *	policies, pct <= 100 and NUL-terminated fields; a DKIM key's p=
 *	span lies inside the input.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
policy_ok(const char *p, int empty_ok)
{
	return (empty_ok && p[0] == '\0') || strcmp(p, "none") == 0 ||
	    strcmp(p, "quarantine") == 0 || strcmp(p, "reject") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rec = (const char *)data, *err = NULL;
	struct og_dkim_key k;
	struct og_dmarc d;

	(void)og_dmarc_is_record(rec, size);
	if (og_dmarc_parse(rec, size, &d, &err) == 0) {
		if (!policy_ok(d.p, 0) || !policy_ok(d.sp, 1) || d.pct > 100 ||
		    memchr(d.rua, '\0', sizeof(d.rua)) == NULL ||
		    memchr(d.note, '\0', sizeof(d.note)) == NULL ||
		    size > OG_DMARC_RECORD_MAX)
			__builtin_trap();
	} else if (err == NULL)
		__builtin_trap();
	err = NULL;
	if (og_dkim_key_parse(rec, size, &k, &err) == 0) {
		if (k.p_off > size || k.p_len > size - k.p_off ||
		    k.revoked != (k.p_len == 0))
			__builtin_trap();
	} else if (err == NULL)
		__builtin_trap();
	return 0;
}

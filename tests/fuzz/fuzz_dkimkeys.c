/*
 * fuzz_dkimkeys.c - fuzz target for the KeyTable and SigningTable
 *	parser (dkimkeys.c, through og_dkim_keys_parse)
 * DESCRIPTION: the input is split at its first NUL byte: the KeyTable
 *	before, the SigningTable after (an input without a NUL is a
 *	KeyTable with an empty SigningTable). Beyond "no crash, no read
 *	past size": a failed parse says why; a parsed set answers a few
 *	From addresses with at most max refs, each naming a non-empty
 *	lowercase domain and a non-empty selector, within the key count.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dkimsign.h"
#include "strbuf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const froms[] = { "user@example.com", "Boss@Example.COM",
	"x@sub.example.net", "@", "a@", "no-at-sign", "a@b@example.org", "" };

static int
lower(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul;
	struct og_dkim_keyref refs[OG_DKIM_PER_MSG_MAX];
	struct og_dkim_keys *k;
	struct og_strbuf err;
	size_t klen, i, j, n, max;

	nul = memchr(in, '\0', size);
	klen = nul != NULL ? (size_t)(nul - in) : size;
	og_strbuf_init(&err, 0);
	k = og_dkim_keys_parse(in, klen, nul != NULL ? nul + 1 : "",
	    nul != NULL ? size - klen - 1 : 0, &err);
	if (k == NULL) {
		if (err.len == 0)
			__builtin_trap();
		og_strbuf_release(&err);
		return 0;
	}
	if (err.len != 0 || og_dkim_keys_count(k) > OG_DKIM_KEYS_MAX)
		__builtin_trap();
	for (i = 0; i < OG_NELEM(froms); i++)
		for (max = 1; max <= OG_DKIM_PER_MSG_MAX; max += 3) {
			n = og_dkim_keys_find(k, froms[i], refs, max);
			if (n > max)
				__builtin_trap();
			for (j = 0; j < n; j++)
				if (refs[j].domain == NULL ||
				    refs[j].domain[0] == '\0' ||
				    !lower(refs[j].domain) ||
				    refs[j].selector == NULL ||
				    refs[j].selector[0] == '\0' ||
				    refs[j].name == NULL ||
				    refs[j].idx >= og_dkim_keys_count(k))
					__builtin_trap();
		}
	og_dkim_keys_free(k);
	og_strbuf_release(&err);
	return 0;
}

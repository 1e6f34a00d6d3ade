/*
 * fuzz_bodylinks.c - fuzz target for the body unsubscribe-link scan
 * DESCRIPTION: the input is a whole message (headers and body) for
 *	og_unsub_body_link(): GMime's MIME walk, the transfer and charset
 *	decoding, the hand-written HTML anchor and bare-URL scanners. The
 *	keyword list is built once in memory. It runs twice: with the
 *	whole input, and cut at a quarter, so that truncation is fuzzed
 *	too. A result outside the enum traps.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"
#include "unsub.h"

#define FUZZ_MAX_BODY (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char keywords[] = "unsubscribe\nopt out\nopt-out\n"
                               "désinscrire\nabmelden\ndarse de baja\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct og_unsub_keywords *kw;
	char reason[OG_UNSUB_REASON_MAX];
	enum og_unsub_res r;

	if (kw == NULL &&
	    (kw = og_unsub_keywords_parse(
	         keywords, sizeof(keywords) - 1, "fuzz", NULL)) == NULL)
		__builtin_trap();
	r = og_unsub_body_link(
	    kw, (const char *)data, size, FUZZ_MAX_BODY, reason);
	if (r != OG_UNSUB_PASS && r != OG_UNSUB_FAIL && r != OG_UNSUB_UNCHECKED)
		__builtin_trap();
	r = og_unsub_body_link(kw, (const char *)data, size, size / 4, reason);
	if (r == OG_UNSUB_FAIL && size / 4 < size)
		__builtin_trap(); /* a cut body is never a fail */
	return 0;
}

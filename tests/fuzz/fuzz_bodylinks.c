/*
 * fuzz_bodylinks.c - fuzz target for the body unsubscribe-link scan
 * DESCRIPTION: the input is a whole message (headers and body) for
 *	og_unsub_body_link(): GMime's MIME walk, the single-part path that
 *	skips GMime's tree, the transfer and charset decoding, the
 *	hand-written HTML anchor and bare-URL scanners. The keyword list
 *	is built once in memory. It runs twice: with the whole input, and
 *	cut at a quarter, so that truncation is fuzzed too; each time the
 *	result and reason must be the same with GMime's tree forced, so
 *	the fuzzer also checks that skipping the tree changes nothing.
 *	A result outside the enum, or a difference, traps.
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

/* both - the scan with and without the tree must agree */
static enum og_unsub_res
both(const struct og_unsub_keywords *kw, const uint8_t *data, size_t size,
    size_t max)
{
	char reason[OG_UNSUB_REASON_MAX], treason[OG_UNSUB_REASON_MAX];
	enum og_unsub_res r;

	r = og_unsub_body_link(kw, (const char *)data, size, max, reason);
	if (r !=
	        og_unsub_body_link_path(kw, (const char *)data, size, max,
	            OG_UNSUB_PATH_TREE, NULL, treason) ||
	    strcmp(reason, treason) != 0)
		__builtin_trap();
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct og_unsub_keywords *kw;
	enum og_unsub_res r;

	if (kw == NULL &&
	    (kw = og_unsub_keywords_parse(
	         keywords, sizeof(keywords) - 1, "fuzz", NULL)) == NULL)
		__builtin_trap();
	r = both(kw, data, size, FUZZ_MAX_BODY);
	if (r != OG_UNSUB_PASS && r != OG_UNSUB_FAIL && r != OG_UNSUB_UNCHECKED)
		__builtin_trap();
	r = both(kw, data, size, size / 4);
	if (r == OG_UNSUB_FAIL && size / 4 < size)
		__builtin_trap(); /* a cut body is never a fail */
	return 0;
}

/*
 * fuzz_listunsub.c - fuzz target for the unsubscribe header checks
 * DESCRIPTION: the whole input is one List-Unsubscribe value for the
 *	RFC 2369 parser; then its lines, split at the first ':', are a
 *	header set for og_unsub_check() (bulk detection, header counts,
 *	List-Unsubscribe-Post), and the input is also a keyword file for
 *	og_unsub_keywords_parse(). A result outside the enum, or a reason
 *	that is not NUL-terminated, traps.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"
#include "unsub.h"

#define FUZZ_HEADERS 32

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_reason(const char *reason)
{
	if (memchr(reason, '\0', OG_UNSUB_REASON_MAX) == NULL)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_unsub_header h[FUZZ_HEADERS];
	struct og_unsub_keywords *kw;
	char reason[OG_UNSUB_REASON_MAX];
	const char *p = (const char *)data, *end = p + size, *eol, *colon;
	enum og_unsub_res r;
	size_t n = 0, i;

	memset(reason, 'x', sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	if (og_unsub_list_unsubscribe(p, size, reason) == 0)
		check_reason(reason);

	for (; p < end && n < FUZZ_HEADERS; p = eol + (eol < end)) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL)
			continue;
		h[n].name = og_strndup(p, (size_t)(colon - p));
		h[n].value = og_strndup(colon + 1, (size_t)(eol - colon - 1));
		n++;
	}
	r = og_unsub_check(NULL, h, n, size & 1, "", 0, 0, reason);
	if (r > OG_UNSUB_UNCHECKED)
		__builtin_trap();
	check_reason(reason);
	(void)og_unsub_is_bulk(h, n);
	for (i = 0; i < n; i++) {
		og_free((void *)h[i].name);
		og_free((void *)h[i].value);
	}

	kw = og_unsub_keywords_parse((const char *)data, size, "fuzz", NULL);
	if (kw != NULL && og_unsub_keywords_count(kw) == 0)
		__builtin_trap();
	og_unsub_keywords_free(kw);
	return 0;
}

/*
 * fuzz_request.c - fuzz target for the policy request parser: the input
 *	is a stream as a client would send it, cut into requests by
 *	og_request_end() and parsed one by one, as the server does
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "request.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = og_malloc(size + 1), *p = buf;
	size_t left = size, end, i;

	memcpy(buf, data, size);
	buf[size] = '\0';
	while (left > 0 && (end = og_request_end(p, left)) > 0) {
		struct og_request rq;
		const char *err = NULL;

		if (og_request_parse(&rq, p, end - 1, &err) == 0) {
			for (i = 0; i < OG_RA_NATTRS; i++)
				(void)strlen(og_request_get(&rq, i));
		} else if (err == NULL)
			__builtin_trap(); /* an error must say why */
		p += end;
		left -= end;
	}
	og_free(buf);
	return 0;
}

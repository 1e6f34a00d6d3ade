/*
 * fuzz_dkimcanon.c - fuzz target for milter/dkimcanon.c's relaxed
 *	canonicalization of a body and of header fields
 * DESCRIPTION: the input is a body. Beyond "no crash, no read past
 *	size": fed whole and fed in chunks whose sizes come from the input
 *	itself, the canonical bytes must be the same; they are never
 *	longer than the input plus the final CRLF (relaxed only removes
 *	and shortens, and makes bare line ends CRLF: at most one byte more
 *	per input byte); they hold no WSP before a CRLF and no run of two
 *	WSP (a bare CR is content, RFC 6376); a non-empty result ends with one CRLF. The input's first line
 *	is also canonicalized as a header field "name: value": the result
 *	is bounded by the strbuf and never holds a CR or LF but its own
 *	final CRLF.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkimcanon.h"
#include "strbuf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
sink(void *arg, const void *p, size_t len)
{
	if (og_strbuf_addn(arg, p, len) < 0)
		abort();
}

static void
canon(const uint8_t *d, size_t size, size_t step, struct og_strbuf *out)
{
	struct og_dkim_body b;
	size_t i, n;

	og_dkim_body_init(&b, sink, out);
	for (i = 0; i < size; i += n) {
		/* chunk sizes 1..16 taken from the data: every cut is tried */
		n = step == 0 ? size : 1 + (d[i] + step) % 16;
		if (n > size - i)
			n = size - i;
		og_dkim_body_update(&b, d + i, n);
	}
	og_dkim_body_final(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_strbuf whole, chunked, hdr;
	const char *colon, *eol;
	size_t i;

	og_strbuf_init(&whole, 2 * size + 16);
	og_strbuf_init(&chunked, 2 * size + 16);
	canon(data, size, 0, &whole);
	canon(data, size, 7, &chunked);
	if (whole.len != chunked.len ||
	    (whole.len > 0 && memcmp(whole.data, chunked.data, whole.len) != 0))
		abort();
	if (whole.len > 2 * size + 2)
		abort();
	if (whole.len > 0 &&
	    (whole.len < 2 || whole.data[whole.len - 2] != '\r' ||
	        whole.data[whole.len - 1] != '\n'))
		abort();
	for (i = 0; i + 1 < whole.len; i++) {
		char c = whole.data[i], d = whole.data[i + 1];

		if ((c == ' ' || c == '\t') &&
		    (d == ' ' || d == '\t' ||
		        (d == '\r' && i + 2 < whole.len &&
		            whole.data[i + 2] == '\n')))
			abort();
	}
	og_strbuf_release(&whole);
	og_strbuf_release(&chunked);

	/* the first line as a header field, when it has a colon */
	eol = memchr(data, '\n', size);
	colon = memchr(
	    data, ':', eol != NULL ? (size_t)(eol - (const char *)data) : size);
	if (colon != NULL) {
		size_t nlen = (size_t)(colon - (const char *)data);
		size_t vend =
		    eol != NULL ? (size_t)(eol - (const char *)data) : size;

		og_strbuf_init(&hdr, 65536);
		if (og_dkim_hdr_canon(&hdr, (const char *)data, nlen, colon + 1,
		        vend - nlen - 1, 1) == 0) {
			if (hdr.len < 2 || hdr.data[hdr.len - 2] != '\r' ||
			    hdr.data[hdr.len - 1] != '\n')
				abort();
			for (i = 0; i + 2 < hdr.len; i++)
				if (hdr.data[i] == '\n')
					abort();
		}
		og_strbuf_release(&hdr);
	}
	return 0;
}

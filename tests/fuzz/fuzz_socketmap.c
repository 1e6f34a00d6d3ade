/*
 * fuzz_socketmap.c - fuzz target for the socketmap request stream and
 *	the status filter behind it: netstrings are cut from the input as
 *	the server does, each key classified with the shipped rules, and
 *	the reply must be a well-formed netstring
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "socketmap.h"
#include "strbuf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct og_classifier *cl;
static struct og_reply r;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keep[] = { "microsoft-consumer",
		"microsoft-365", NULL };
	const char *p = (const char *)data, *d, *err, *colon;
	struct og_strbuf out;
	size_t left = size, dlen, used;

	if (cl == NULL) {
		struct og_strbuf e;

		og_strbuf_init(&e, 0);
		if ((cl = og_classifier_load(OG_RULES_FILE, &e)) == NULL)
			abort();
		og_strbuf_release(&e);
		og_reply_init(&r);
	}
	og_strbuf_init(&out, 0);
	while (og_sm_next(p, left, &d, &dlen, &used, &err) == 1) {
		struct og_sf_result res;
		const char *sp = memchr(d, ' ', dlen);

		if (sp != NULL) {
			og_status_filter(cl, &r, keep, sp + 1,
			    dlen - (size_t)(sp + 1 - d), &res);
			og_strbuf_reset(&out);
			if (og_sf_answer(&res, &out) < 0)
				abort();
			/* the answer is one netstring again */
			if (og_sm_next(out.data, out.len, &d, &dlen, &used,
			        &err) != 1 ||
			    used != out.len)
				abort();
			colon = strchr(out.data, ':');
			if (colon == NULL)
				abort();
		}
		p += used;
		left -= used;
	}
	og_strbuf_release(&out);
	return 0;
}

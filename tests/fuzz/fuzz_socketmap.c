/*
 * fuzz_socketmap.c - fuzz target for the socketmap request stream and
 *	the status and reply filters behind it: netstrings are cut from the
 *	input as the server does; a "reply..." name goes through the reply
 *	filter's per-connection state (policy/replyfilter.c), anything else
 *	through the status filter (after the reply filter's rewrite when
 *	one is pending), each key classified with the shipped rules; the
 *	status answer must be a well-formed netstring
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "replyfilter.h"
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
	struct og_strbuf out, synth;
	struct og_rpf_conn *rc = og_calloc(1, sizeof(*rc));
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
	og_strbuf_init(&synth, 0);
	while (og_sm_next(p, left, &d, &dlen, &used, &err) == 1) {
		struct og_sf_result res;
		const char *sp = memchr(d, ' ', dlen), *key;
		size_t klen;
		char prov[OG_RPF_NAME_MAX];

		if (sp != NULL &&
		    og_rpf_provider(d, (size_t)(sp - d), prov, sizeof(prov)) !=
		        NULL) {
			(void)og_rpf_line(rc, cl, &r, keep, prov,
			    (int)(dlen & 1), sp + 1,
			    dlen - (size_t)(sp + 1 - d), (int64_t)size);
			if (rc->acclen >= sizeof(rc->acc) ||
			    rc->blocklen >= sizeof(rc->block))
				abort();
		} else if (sp != NULL) {
			key = sp + 1;
			klen = dlen - (size_t)(sp + 1 - d);
			if (og_rpf_status(rc, key, klen, &synth) == 1) {
				key = synth.data;
				klen = synth.len;
			}
			og_status_filter(cl, &r, keep, key, klen, &res);
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
	og_strbuf_release(&synth);
	(void)og_free(rc);
	return 0;
}

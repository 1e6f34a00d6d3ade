/*
 * fuzz_rules.c - fuzz target for the reply rules parser (lib/classify.c)
 * DESCRIPTION: the input is a rules file, given to og_classifier_parse().
 *	When it loads, a few fixed replies and the input itself are
 *	classified with it, and with a copy of it whose patterns all start
 *	with "\Q\E": that changes no match, but the literal analysis does
 *	not follow \Q, so the copy runs without prefilter. A difference
 *	between the two is a prefilter that lost a match, and aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "strbuf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define TEXT_MAX 4096 /* of the input, classified as a reply too */

static const char *const replies[] = {
	"550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. "
	"Please contact your Internet service provider since part of their "
	"network is on our block list (S3150). [AM0PR01MB1234.eurprd01.prod."
	"outlook.com 2025-11-25T08:06:40.951Z 08DE2C1A2B3C4D5E]",
	"host gmail-smtp-in.l.google.com[142.250.27.26] said: 421-4.7.28 "
	"[203.0.113.5 15] Our system has detected an unusual rate of "
	"421-4.7.28 unsolicited mail originating from your IP address. - "
	"gsmtp (in reply to end of DATA command)",
	"421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred",
	"Remote_host_said:_550_5.1.1_user_unknown",
	"250 2.0.0 Ok: queued as ABC",
	"",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
};

/* unprefiltered - the rules with "\Q\E" after each pattern's "/" */
static void
unprefiltered(struct og_strbuf *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end, *s = p, *op;

		while (s < le && (*s == ' ' || *s == '\t'))
			s++;
		op = memchr(s, '~', (size_t)(le - s));
		if (le - s > 3 && memcmp(s, "if", 2) == 0 &&
		    (s[2] == ' ' || s[2] == '\t') && op != NULL) {
			const char *q = op + 1;

			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q < le && *q == '/') {
				(void)og_strbuf_addn(
				    out, p, (size_t)(q + 1 - p));
				(void)og_strbuf_adds(out, "\\Q\\E");
				p = q + 1;
			}
		}
		(void)og_strbuf_addn(out, p, (size_t)(le - p));
		p = le;
	}
}

static void
compare(const struct og_classifier *a, const struct og_classifier *b,
    const char *text, size_t len)
{
	struct og_reply ra, rb;
	int f;

	og_reply_init(&ra);
	og_reply_init(&rb);
	og_classify(a, &ra, text, len);
	og_classify(b, &rb, text, len);
	for (f = 0; f < OG_RF_NFIELDS; f++)
		if ((ra.v[f] == NULL) != (rb.v[f] == NULL) ||
		    (ra.v[f] != NULL && strcmp(ra.v[f], rb.v[f]) != 0))
			abort(); /* the prefilter changed a result */
	og_reply_release(&ra);
	og_reply_release(&rb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_classifier *cl, *plain;
	struct og_strbuf err, copy;
	size_t i;

	og_strbuf_init(&err, 0);
	cl = og_classifier_parse("fuzz.rules", (const char *)data, size, &err);
	og_strbuf_release(&err);
	if (cl == NULL)
		return 0;
	og_strbuf_init(&copy, 0);
	unprefiltered(&copy, (const char *)data, size);
	og_strbuf_init(&err, 0);
	plain = og_classifier_parse(
	    "fuzz.rules", og_strbuf_str(&copy), copy.len, &err);
	og_strbuf_release(&err);
	if (plain != NULL &&
	    og_classifier_rules(plain) == og_classifier_rules(cl)) {
		for (i = 0; i < OG_NELEM(replies); i++)
			compare(cl, plain, replies[i], strlen(replies[i]));
		compare(cl, plain, (const char *)data,
		    size < TEXT_MAX ? size : TEXT_MAX);
	}
	og_strbuf_release(&copy);
	og_classifier_free(plain);
	og_classifier_free(cl);
	return 0;
}

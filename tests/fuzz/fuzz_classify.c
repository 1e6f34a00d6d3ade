/*
 * fuzz_classify.c - fuzz target for og_classify() with the shipped rules
 * DESCRIPTION: loads OG_RULES_FILE once, and a copy of it whose patterns
 *	start with "\Q\E" (the same matches, no literal prefilter); the
 *	input is one reply, classified with both into replies that live
 *	across inputs (reuse). Any difference between the two aborts, as
 *	does a field that breaks its contract (a class or remedy outside
 *	the vocabularies, a value over OG_REPLY_VALUE_MAX).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "strbuf.h"
#include "util.h"

#ifndef OG_RULES_FILE
#error OG_RULES_FILE must name contrib/replies.rules
#endif

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct og_classifier *rules, *plain;
static struct og_reply r1, r2;

static const char *const classes[] = { "ip_block", "rate_limit", "auth",
	"content", "recipient", "other_provider", "other", NULL };
static const char *const remedies[] = { "outlook_form", "delist_portal",
	"delist_mail", "wait", "fix_auth", "fix_content", "none", NULL };

static void
cleanup(void)
{
	og_reply_release(&r1);
	og_reply_release(&r2);
	rules = og_classifier_free(rules);
	plain = og_classifier_free(plain);
}

/* load - the shipped rules, and the copy without prefilter */
static void
load(void)
{
	struct og_strbuf text, copy, err;
	const char *p, *end;
	char chunk[8192];
	size_t n;
	FILE *fp;

	og_strbuf_init(&text, 0);
	og_strbuf_init(&copy, 0);
	og_strbuf_init(&err, 0);
	if ((fp = fopen(OG_RULES_FILE, "r")) == NULL)
		abort();
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		(void)og_strbuf_addn(&text, chunk, n);
	(void)fclose(fp);
	for (p = og_strbuf_str(&text), end = p + text.len; p < end; p++) {
		(void)og_strbuf_addc(&copy, *p);
		/* "if text ~ /" and "!~ /": the rules file puts one space */
		if (*p == '/' && p - og_strbuf_str(&text) >= 2 &&
		    p[-1] == ' ' && p[-2] == '~')
			(void)og_strbuf_adds(&copy, "\\Q\\E");
	}
	rules = og_classifier_parse(
	    OG_RULES_FILE, og_strbuf_str(&text), text.len, &err);
	plain =
	    og_classifier_parse("plain", og_strbuf_str(&copy), copy.len, &err);
	if (rules == NULL || plain == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		abort();
	}
	og_strbuf_release(&text);
	og_strbuf_release(&copy);
	og_strbuf_release(&err);
	og_reply_init(&r1);
	og_reply_init(&r2);
	(void)atexit(cleanup);
}

static int
in(const char *v, const char *const *vocab)
{
	for (; *vocab != NULL; vocab++)
		if (strcmp(v, *vocab) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int f;

	if (rules == NULL)
		load();
	og_classify(rules, &r1, (const char *)data, size);
	og_classify(plain, &r2, (const char *)data, size);
	for (f = 0; f < OG_RF_NFIELDS; f++) {
		if ((r1.v[f] == NULL) != (r2.v[f] == NULL) ||
		    (r1.v[f] != NULL && strcmp(r1.v[f], r2.v[f]) != 0))
			abort(); /* the prefilter changed a result */
		if (r1.v[f] != NULL && strlen(r1.v[f]) > OG_REPLY_VALUE_MAX)
			abort();
	}
	if (r1.v[OG_RF_PROVIDER] == NULL)
		abort(); /* the fallback always names one */
	if (r1.v[OG_RF_CLASS] != NULL && !in(r1.v[OG_RF_CLASS], classes))
		abort();
	if (r1.v[OG_RF_REMEDY] != NULL && !in(r1.v[OG_RF_REMEDY], remedies))
		abort();
	if ((r1.v[OG_RF_CLASS] == NULL) != (r1.v[OG_RF_REMEDY] == NULL))
		abort(); /* the shipped rules set both or neither */
	if (og_reply_is(&r1, OG_RF_CLASS, "recipient") &&
	    !og_reply_is(&r1, OG_RF_REMEDY, "none"))
		abort();
	return 0;
}

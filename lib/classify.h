/*
 * classify.h - classify a remote server's reply by a rules file
 * DESCRIPTION: all provider knowledge lives in the rules file
 *	(outguard-replies(5), contrib/replies.rules): this module only
 *	loads, validates and runs it. A rule is a list of conditions and
 *	assignments; rules run in file order and each field takes its value
 *	from the first rule that matches and sets it (by "set" or by a
 *	named group of one of its patterns). Fields nobody set stay NULL.
 *	A loaded struct og_classifier is immutable and may be shared by
 *	threads; each thread classifies into its own struct og_reply.
 * DIAGNOSTICS: og_classifier_load() returns NULL with "FILE:LINE:
 *	reason" lines in err. og_classify() cannot fail: input past
 *	OG_CLASSIFY_INPUT_MAX bytes is cut there.
 */
#ifndef OG_CLASSIFY_H
#define OG_CLASSIFY_H

#include <stddef.h>

struct og_strbuf;
struct og_classifier;

enum og_reply_field {
	OG_RF_PROVIDER,
	OG_RF_CLASS,
	OG_RF_SMTP_CODE,
	OG_RF_ENHANCED_CODE,
	OG_RF_PROVIDER_CODE,
	OG_RF_REMEDY,
	OG_RF_IP,
	OG_RF_MX_HOST,
	OG_RF_MX_IP,
	OG_RF_SERVER_TAG,
	OG_RF_SERVER_TIME,
	OG_RF_SPF,
	OG_RF_DKIM,
	OG_RF_DMARC,
	OG_RF_NFIELDS
};

#define OG_CLASSIFY_INPUT_MAX (64 * 1024) /* one reply, as the CLI reads */
#define OG_REPLY_VALUE_MAX 512 /* one field value */

struct og_reply {
	const char *v[OG_RF_NFIELDS]; /* NULL: unknown */
	/* private */
	char store[OG_RF_NFIELDS * (OG_REPLY_VALUE_MAX + 1)];
	size_t used;
	char *lower; /* ASCII-lowercased input, for prefilters */
	char *norm; /* the input with qmail's underscores undone */
	size_t lower_size;
	void *match; /* pcre2_match_data, sized for the classifier */
	const struct og_classifier *owner;
};

/* og_reply_field_name - "provider", "class", ... as in the JSON output */
const char *og_reply_field_name(enum og_reply_field);

struct og_classifier *og_classifier_load(
    const char *path, struct og_strbuf *err);
/* og_classifier_parse - the same from text in memory; name for messages */
struct og_classifier *og_classifier_parse(
    const char *name, const char *text, size_t len, struct og_strbuf *err);
struct og_classifier *og_classifier_free(struct og_classifier *);
size_t og_classifier_rules(const struct og_classifier *);

void og_reply_init(struct og_reply *);
void og_reply_release(struct og_reply *);
/* og_classify - fill r from text; r may be reused for the next text */
void og_classify(const struct og_classifier *, struct og_reply *,
    const char *text, size_t len);

/* Convenience tests on a classified reply. */
int og_reply_is(const struct og_reply *, enum og_reply_field, const char *);

/*
 * og_classifier_rule - a read-only view of rule i (file order), for
 * tools that translate the rules (the static status filter table):
 * OG_FOUND, or OG_NOTFOUND past the last rule. Strings are borrowed.
 * A condition's field is -1 for the input text; pattern is NULL for
 * "=" and "!=" conditions, whose values are then set.
 */
#define OG_RULE_VIEW_MAX 16
struct og_rule_view {
	const char *name;
	unsigned line;
	struct {
		int field;
		int negated; /* !~ or != */
		const char *pattern; /* as written between the slashes */
		int caseless;
		const char *const *values;
		size_t nvalues;
	} conds[OG_RULE_VIEW_MAX];
	size_t nconds;
	struct {
		int field;
		const char *value;
	} sets[OG_RULE_VIEW_MAX];
	size_t nsets;
};
int og_classifier_rule(
    const struct og_classifier *, size_t i, struct og_rule_view *out);

#endif

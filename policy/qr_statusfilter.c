/*
 * qr_statusfilter.c - "outguard-queue-report status-filter": write a
 *	static Postfix pcre: table equivalent to the status filter
 * DESCRIPTION: for admins who want no process in the delivery path
 *	(smtp_delivery_status_filter = pcre:/etc/postfix/outguard-status.pcre).
 *	The table is derived from the rules, not written by hand: each rule
 *	that sets a class becomes one line, in file order (Postfix's pcre
 *	tables, like the rules, take the first match). A rule's conditions
 *	become lookaheads over the reply text: a text pattern as it is, a
 *	field pattern or value wherever it stands in the text, a provider
 *	condition as the rules that recognise that provider. Lines for a
 *	permanent ip_block of a provider in keep_blocked_mail answer
 *	"4.X.Y text" (the mail stays queued); the others answer the status
 *	unchanged, so that later lines cannot claim what an earlier rule
 *	decided. Rules whose conditions cannot be written as text patterns
 *	(conditions on class or remedy) are left out, with a comment.
 *	The daemon's filter is more exact (it knows the MX and the whole
 *	classification) and also wakes the watcher; the table only keeps
 *	the mail.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "classify.h"
#include "conf.h"
#include "log.h"
#include "qr.h"
#include "strbuf.h"
#include "util.h"

#define TABLE_MAX (4 * 1024 * 1024)

/*
 * add_pattern - a rule's pattern for the table: named groups become
 * plain groups (their names would clash in one table line), and a field
 * pattern's ^...$ anchors go (the field is now somewhere in the text)
 */
static void
add_pattern(struct og_strbuf *sb, const char *p, int anchors)
{
	size_t len = strlen(p), i = 0;

	if (anchors && len > 0 && p[0] == '^')
		i = 1;
	if (anchors && len > i && p[len - 1] == '$' &&
	    (len < 2 || p[len - 2] != '\\'))
		len--;
	for (; i < len; i++) {
		if (p[i] == '(' && i + 2 < len && p[i + 1] == '?' &&
		    (p[i + 2] == '<' || p[i + 2] == 'P') &&
		    !(p[i + 2] == '<' && i + 3 < len &&
		        (p[i + 3] == '=' || p[i + 3] == '!'))) {
			size_t j = i + 3;

			if (p[i + 2] == 'P')
				j++;
			while (j < len && p[j] != '>')
				j++;
			(void)og_strbuf_adds(sb, "(?:");
			i = j;
			continue;
		}
		(void)og_strbuf_addc(sb, p[i]);
	}
}

static void
add_quoted(struct og_strbuf *sb, const char *v)
{
	for (; *v; v++) {
		if (strchr("\\^$.|?*+()[]{}/", *v) != NULL)
			(void)og_strbuf_addc(sb, '\\');
		(void)og_strbuf_addc(sb, *v);
	}
}

struct xlate {
	const struct og_classifier *cl;
	const char *const *keep;
	size_t nkeep;
};

static int translate_provider(const struct xlate *, const char *provider,
    struct og_strbuf *out, int depth);

/*
 * cond_regex - one condition as a zero-width assertion at the start of
 * the text; -1 when it cannot be written so
 */
static int
cond_regex(const struct xlate *x, const struct og_rule_view *rv, size_t k,
    struct og_strbuf *out, int depth)
{
	int f = rv->conds[k].field;
	size_t i;

	if (f == OG_RF_CLASS || f == OG_RF_REMEDY)
		return -1;
	(void)og_strbuf_adds(out, rv->conds[k].negated ? "(?!" : "(?=");
	if (f == OG_RF_PROVIDER) {
		if (rv->conds[k].pattern != NULL)
			return -1;
		(void)og_strbuf_adds(out, "(?:");
		for (i = 0; i < rv->conds[k].nvalues; i++) {
			if (i > 0)
				(void)og_strbuf_addc(out, '|');
			if (translate_provider(
			        x, rv->conds[k].values[i], out, depth + 1) < 0)
				return -1;
		}
		(void)og_strbuf_adds(out, "))");
		return 0;
	}
	(void)og_strbuf_adds(out, ".*?");
	if (f >= 0) /* a field's value stands somewhere in the text */
		(void)og_strbuf_adds(out, "(?<![\\w.-])");
	(void)og_strbuf_adds(out,
	    rv->conds[k].pattern == NULL || rv->conds[k].caseless ? "(?i:"
	                                                          : "(?-i:");
	if (rv->conds[k].pattern != NULL)
		add_pattern(out, rv->conds[k].pattern, f >= 0);
	else
		for (i = 0; i < rv->conds[k].nvalues; i++) {
			if (i > 0)
				(void)og_strbuf_addc(out, '|');
			add_quoted(out, rv->conds[k].values[i]);
		}
	(void)og_strbuf_addc(out, ')');
	if (f >= 0)
		(void)og_strbuf_adds(out, "(?![\\w.-])");
	(void)og_strbuf_addc(out, ')');
	return 0;
}

/* rule_regex - all of a rule's conditions; -1 when one cannot be */
static int
rule_regex(const struct xlate *x, const struct og_rule_view *rv,
    struct og_strbuf *out, int depth)
{
	size_t k;

	for (k = 0; k < rv->nconds; k++)
		if (cond_regex(x, rv, k, out, depth) < 0)
			return -1;
	return 0;
}

static const char *
set_value(const struct og_rule_view *rv, int field)
{
	size_t k;

	for (k = 0; k < rv->nsets; k++)
		if (rv->sets[k].field == field)
			return rv->sets[k].value;
	return NULL;
}

/*
 * translate_provider - "the rules say the provider is P": the rules that
 * set provider = P, each its conditions, as one alternation
 */
static int
translate_provider(const struct xlate *x, const char *provider,
    struct og_strbuf *out, int depth)
{
	struct og_rule_view rv;
	size_t i;
	int any = 0;

	if (depth > 3)
		return -1;
	(void)og_strbuf_adds(out, "(?:");
	for (i = 0; og_classifier_rule(x->cl, i, &rv) == OG_FOUND; i++) {
		const char *p = set_value(&rv, OG_RF_PROVIDER);
		struct og_strbuf alt;

		if (p == NULL || strcmp(p, provider) != 0)
			continue;
		og_strbuf_init(&alt, TABLE_MAX);
		if (rule_regex(x, &rv, &alt, depth) == 0) {
			if (any++)
				(void)og_strbuf_addc(out, '|');
			(void)og_strbuf_adds(out, og_strbuf_str(&alt));
		}
		og_strbuf_release(&alt);
	}
	if (!any)
		(void)og_strbuf_adds(out, "(?!)"); /* nothing recognises it */
	(void)og_strbuf_addc(out, ')');
	return 0;
}

/* provider_cond - the index of the rule's "provider =" condition, or -1 */
static int
provider_cond(const struct og_rule_view *rv)
{
	size_t k;

	for (k = 0; k < rv->nconds; k++)
		if (rv->conds[k].field == OG_RF_PROVIDER &&
		    rv->conds[k].pattern == NULL && !rv->conds[k].negated)
			return (int)k;
	return -1;
}

/* emit - the lines of one class-setting rule */
static int
emit(const struct xlate *x, const struct og_rule_view *rv, FILE *fp)
{
	const char *cls = set_value(rv, OG_RF_CLASS);
	struct og_strbuf look, keepers;
	size_t i;
	int pc = provider_cond(rv), keepable = 0;

	og_strbuf_init(&look, TABLE_MAX);
	og_strbuf_init(&keepers, TABLE_MAX);
	if (rule_regex(x, rv, &look, 0) < 0) {
		(void)fprintf(fp,
		    "# rule %s (line %u): conditions not "
		    "expressible as a pattern, left out\n",
		    rv->name, rv->line);
		goto out;
	}
	if (strcmp(cls, "ip_block") == 0) {
		/* the keep-listed providers this rule can be about */
		(void)og_strbuf_adds(&keepers, "(?=(?:");
		for (i = 0; i < x->nkeep; i++) {
			size_t v;
			int allowed = pc < 0;

			for (v = 0; pc >= 0 && v < rv->conds[pc].nvalues; v++)
				allowed |= strcmp(rv->conds[pc].values[v],
				               x->keep[i]) == 0;
			if (!allowed)
				continue;
			if (keepable++)
				(void)og_strbuf_addc(&keepers, '|');
			(void)translate_provider(x, x->keep[i], &keepers, 0);
		}
		(void)og_strbuf_adds(&keepers, "))");
	}
	(void)fprintf(
	    fp, "# rule %s (line %u): class %s\n", rv->name, rv->line, cls);
	if (keepable)
		(void)fprintf(fp,
		    "/^5\\.(\\d{1,3}\\.\\d{1,3}) (%s%s.*)$/ 4.$1 $2\n",
		    og_strbuf_str(&look), og_strbuf_str(&keepers));
	/* whatever else this rule matches keeps its status */
	(void)fprintf(fp, "/^(5\\.\\d{1,3}\\.\\d{1,3} %s.*)$/ $1\n",
	    og_strbuf_str(&look));
out:
	og_strbuf_release(&look);
	og_strbuf_release(&keepers);
	return 0;
}

int
qr_status_filter(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules = og_conf_str(qr->conf, "reply_rules"), *outp = NULL;
	struct og_rule_view rv;
	struct og_strbuf err;
	struct xlate x;
	FILE *fp = stdout;
	size_t i;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "r:o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			rules = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		default:
			(void)fprintf(stderr,
			    "usage: outguard-queue-report status-filter "
			    "[--rules FILE] [-o FILE]\n");
			return EX_USAGE;
		}
	}
	og_strbuf_init(&err, 0);
	memset(&x, 0, sizeof(x));
	if ((x.cl = og_classifier_load(rules, &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		og_strbuf_release(&err);
		return EX_CONFIG;
	}
	og_strbuf_release(&err);
	x.keep = og_conf_list(qr->conf, "keep_blocked_mail", &x.nkeep);
	if (outp != NULL && (fp = fopen(outp, "we")) == NULL) {
		og_warn("%s", outp);
		og_classifier_free((struct og_classifier *)x.cl);
		return EX_CANTCREAT;
	}
	(void)fprintf(fp,
	    "# outguard status filter as a static Postfix pcre: table,\n"
	    "# written by outguard-queue-report status-filter from %s.\n"
	    "# main.cf: smtp_delivery_status_filter = pcre:THIS-FILE\n"
	    "# A permanent block of a provider in keep_blocked_mail becomes\n"
	    "# a temporary failure: the mail stays queued, not bounced.\n",
	    rules);
	for (i = 0; og_classifier_rule(x.cl, i, &rv) == OG_FOUND; i++)
		if (set_value(&rv, OG_RF_CLASS) != NULL)
			(void)emit(&x, &rv, fp);
	og_classifier_free((struct og_classifier *)x.cl);
	if (fp == stdout) {
		if (fflush(fp) != 0) {
			og_warn("(stdout)");
			return EX_IOERR;
		}
	} else if (fclose(fp) != 0) {
		og_warn("%s", outp);
		return EX_IOERR;
	}
	return EX_OK;
}

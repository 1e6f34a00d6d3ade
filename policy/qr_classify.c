/*
 * qr_classify.c - "outguard-queue-report classify": read replies, one per
 *	line, and print how the rules classify each
 * DESCRIPTION: input lines may be up to OG_CLASSIFY_INPUT_MAX bytes; a
 *	longer line is reported on stderr with FILE:LINE, skipped to its
 *	end, printed with every field null, and makes the exit code 65.
 *	JSON output: one object per input line, in order, keys in a fixed
 *	order (outguard-queue-report(1)). --text prints a table.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "classify.h"
#include "conf.h"
#include "log.h"
#include "qr.h"
#include "strbuf.h"
#include "util.h"

struct out {
	int text;
	int header_done;
};

/* json_str - a JSON string for v, non-UTF-8 bytes replaced by '?' */
static json_t *
json_str(const char *v)
{
	json_t *j;
	char *copy, *p;

	if (v == NULL)
		return json_null();
	if ((j = json_string(v)) != NULL)
		return j;
	copy = og_strdup(v);
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	og_free(copy);
	return j ? j : json_null();
}

static void
print_json(const struct og_reply *r, unsigned long line)
{
	json_t *o = json_object();
	char *s;
	int f;

	(void)json_object_set_new(
	    o, "input_line", json_integer((json_int_t)line));
	for (f = 0; f < OG_RF_NFIELDS; f++) {
		const char *v = r ? r->v[f] : NULL;
		json_t *jv;

		if (f == OG_RF_SMTP_CODE && v != NULL)
			jv = json_integer(strtol(v, NULL, 10));
		else
			jv = json_str(v);
		(void)json_object_set_new(o, og_reply_field_name(f), jv);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s != NULL) {
		(void)puts(s);
		free(s);
	}
	json_decref(o);
}

static const char *
dash(const char *v)
{
	return v ? v : "-";
}

static void
print_text(struct out *o, const struct og_reply *r, unsigned long line)
{
	if (!o->header_done) {
		(void)printf("%-5s %-18s %-14s %-9s %-13s %-12s %s\n", "LINE",
		    "PROVIDER", "CLASS", "CODE", "PROVIDER-CODE", "REMEDY",
		    "IP");
		o->header_done = 1;
	}
	if (r == NULL) {
		(void)printf("%-5lu (line too long)\n", line);
		return;
	}
	(void)printf("%-5lu %-18s %-14s %-3s %-5s %-13s %-12s %s\n", line,
	    dash(r->v[OG_RF_PROVIDER]), dash(r->v[OG_RF_CLASS]),
	    dash(r->v[OG_RF_SMTP_CODE]), dash(r->v[OG_RF_ENHANCED_CODE]),
	    dash(r->v[OG_RF_PROVIDER_CODE]), dash(r->v[OG_RF_REMEDY]),
	    dash(r->v[OG_RF_IP]));
}

/*
 * read_line - one line into buf (without the newline). Returns 1 for a
 * line, 0 at the end, -1 for a line over the cap (consumed to its end).
 */
static int
read_line(FILE *fp, struct og_strbuf *buf)
{
	int c, over = 0;

	og_strbuf_reset(buf);
	while ((c = getc(fp)) != EOF && c != '\n')
		if (!over && og_strbuf_addc(buf, c) < 0)
			over = 1;
	if (c == EOF && buf->len == 0 && !over)
		return 0;
	if (buf->len > 0 && buf->data[buf->len - 1] == '\r')
		og_strbuf_truncate(buf, buf->len - 1);
	return over ? -1 : 1;
}

static int
classify_stream(const struct og_classifier *cl, struct og_reply *r,
    struct out *o, FILE *fp, const char *name)
{
	struct og_strbuf buf;
	unsigned long line = 0;
	int rc, status = EX_OK;

	og_strbuf_init(&buf, OG_CLASSIFY_INPUT_MAX);
	while ((rc = read_line(fp, &buf)) != 0) {
		line++;
		if (rc < 0) {
			og_warnx("%s:%lu: line longer than %d bytes, not "
			         "classified",
			    name, line, OG_CLASSIFY_INPUT_MAX);
			status = EX_DATAERR;
		} else
			og_classify(cl, r, buf.data ? buf.data : "", buf.len);
		if (o->text)
			print_text(o, rc < 0 ? NULL : r, line);
		else
			print_json(rc < 0 ? NULL : r, line);
	}
	if (ferror(fp)) {
		og_warn("%s: read error", name);
		status = EX_IOERR;
	}
	og_strbuf_release(&buf);
	return status;
}

int
qr_classify(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "text", no_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules = og_conf_str(qr->conf, "reply_rules");
	struct og_classifier *cl;
	struct og_strbuf err;
	struct og_reply r;
	struct out o = { 0, 0 };
	int ch, i, status = EX_OK;

	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "r:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			rules = optarg;
			break;
		case 't':
			o.text = 1;
			break;
		case 'j':
			o.text = 0;
			break;
		default:
			(void)fprintf(stderr,
			    "usage: outguard-queue-report classify "
			    "[--rules FILE] [--text|--json] [FILE...]\n");
			return EX_USAGE;
		}
	}
	og_strbuf_init(&err, 0);
	if ((cl = og_classifier_load(rules, &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		og_strbuf_release(&err);
		return EX_CONFIG;
	}
	og_strbuf_release(&err);
	og_reply_init(&r);
	if (optind >= argc)
		status = classify_stream(cl, &r, &o, stdin, "(stdin)");
	for (i = optind; i < argc; i++) {
		FILE *fp =
		    strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "re");
		int s;

		if (fp == NULL) {
			og_warn("%s", argv[i]);
			status = EX_NOINPUT;
			continue;
		}
		s = classify_stream(cl, &r, &o, fp, argv[i]);
		if (s != EX_OK)
			status = s;
		if (fp != stdin)
			(void)fclose(fp);
	}
	og_reply_release(&r);
	og_classifier_free(cl);
	if (fflush(stdout) != 0)
		status = EX_IOERR;
	return status;
}

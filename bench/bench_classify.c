/*
 * bench_classify.c - lines per second of the reply classifier
 * DESCRIPTION: "bench_classify RULES FILE [ROUNDS]" loads the rules,
 *	reads FILE into memory (one reply per line, lines over
 *	OG_CLASSIFY_INPUT_MAX are cut as og_classify() cuts them), and
 *	classifies every line ROUNDS times (default 1) on one thread with
 *	one struct og_reply, as the policy service does. Reading the file
 *	is not timed. Prints the line count, the seconds, lines/s and how
 *	many lines fell in each class, so that two runs on the same input
 *	can be compared for speed and for sameness of results.
 * DIAGNOSTICS: exit 0; 64 on usage errors, 66 when FILE cannot be read,
 *	78 when the rules do not load.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "classify.h"
#include "strbuf.h"
#include "util.h"

#define BENCH_FILE_MAX ((size_t)2 * 1024 * 1024 * 1024 - 1)

static const char *const class_names[] = { "ip_block", "rate_limit", "auth",
	"content", "recipient", "other_provider", "other", NULL };

static double
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* read_all - the whole file into buf; -1 with errno on failure */
static int
read_all(const char *path, struct og_strbuf *buf)
{
	char chunk[65536];
	FILE *fp;
	size_t n;
	int rc = 0;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (og_strbuf_addn(buf, chunk, n) < 0) {
			rc = -1;
			break;
		}
	if (ferror(fp))
		rc = -1;
	(void)fclose(fp);
	return rc;
}

/* count - tally one classified line by class (last slot: null class) */
static void
count(const struct og_reply *r, unsigned long *tally)
{
	size_t i;

	for (i = 0; class_names[i] != NULL; i++)
		if (og_reply_is(r, OG_RF_CLASS, class_names[i])) {
			tally[i]++;
			return;
		}
	tally[i]++;
}

int
main(int argc, char **argv)
{
	unsigned long tally[OG_NELEM(class_names)] = { 0 };
	unsigned long long rounds = 1, k;
	unsigned long lines = 0;
	struct og_classifier *cl;
	struct og_strbuf err, buf;
	struct og_reply r;
	const char *p, *end;
	double t0, secs;
	size_t i;

	if (argc < 3 || argc > 4 ||
	    (argc == 4 && og_parse_uint(argv[3], 1, 1000, &rounds) < 0)) {
		(void)fprintf(
		    stderr, "usage: bench_classify RULES FILE [ROUNDS]\n");
		return EX_USAGE;
	}
	og_strbuf_init(&err, 0);
	if ((cl = og_classifier_load(argv[1], &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		og_strbuf_release(&err);
		return EX_CONFIG;
	}
	og_strbuf_release(&err);
	og_strbuf_init(&buf, BENCH_FILE_MAX);
	if (read_all(argv[2], &buf) < 0) {
		(void)fprintf(stderr, "bench_classify: %s: %s\n", argv[2],
		    strerror(errno));
		og_classifier_free(cl);
		return EX_NOINPUT;
	}
	og_reply_init(&r);
	t0 = now();
	for (k = 0; k < rounds; k++) {
		p = og_strbuf_str(&buf);
		end = p + buf.len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;

			og_classify(cl, &r, p, (size_t)(le - p));
			if (k == 0)
				count(&r, tally);
			lines++;
			p = nl ? nl + 1 : end;
		}
	}
	secs = now() - t0;
	(void)printf(
	    "rules: %s (%zu rules)\n", argv[1], og_classifier_rules(cl));
	(void)printf("lines: %lu in %.3f s: %.0f lines/s\n", lines, secs,
	    secs > 0 ? (double)lines / secs : 0.0);
	(void)printf("classes:");
	for (i = 0; class_names[i] != NULL; i++)
		(void)printf(" %s=%lu", class_names[i], tally[i]);
	(void)printf(" null=%lu\n", tally[i]);
	og_reply_release(&r);
	og_strbuf_release(&buf);
	og_classifier_free(cl);
	return EX_OK;
}

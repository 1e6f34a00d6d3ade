/*
 * bench_scan.c - the queue watcher's scan cost: parse a "postqueue -j"
 *	output of N deferred messages (generated, as Postfix writes them)
 *	and classify every recipient's delay_reason with the shipped rules
 * DESCRIPTION: usage: bench_scan RULES [N]. Prints the generation,
 *	parse+classify time and the counts. The input mixes Microsoft
 *	blocks, greylisting, timeouts and other providers' deferrals.
 *	A benchmark, not a test: nothing is asserted on time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "postqueue.h"
#include "strbuf.h"
#include "util.h"

struct counts {
	const struct og_classifier *cl;
	struct og_reply r;
	unsigned long msgs, rcpts, blocks;
};

static int
each(const struct og_pq_msg *m, void *arg)
{
	struct counts *c = arg;
	size_t i;

	c->msgs++;
	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].delay_reason == NULL)
			continue;
		c->rcpts++;
		og_classify(c->cl, &c->r, m->rcpts[i].delay_reason,
		    strlen(m->rcpts[i].delay_reason));
		c->blocks += og_reply_is(&c->r, OG_RF_CLASS, "ip_block");
	}
	return 0;
}

static double
secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int
main(int argc, char **argv)
{
	static const char *const reasons[] = {
		"host hotmail-com.olc.protection.outlook.com[52.101.40.29] "
		"said: 550 5.7.1 Unfortunately, messages from [203.0.113.5] "
		"weren't sent. Please contact your Internet service provider "
		"since part of their network is on our block list (S3150). "
		"[Name=Protocol Filter Agent][AGT=PFA][MxId=11BB66ACAE2C61C1] "
		"[DM6PR10MB4121.namprd10.prod.outlook.com "
		"2025-11-25T08:06:40.951Z 08DE2B2A1F2D0C55] (in reply to MAIL "
		"FROM command)",
		"host mx.example.net[192.0.2.1] said: 450 4.2.0 "
		"<a@example.net>:"
		" Recipient address rejected: Greylisted, see "
		"http://postgrey.schweikert.ch/help/example.net.html (in reply "
		"to RCPT TO command)",
		"connect to mx.example.org[198.51.100.7]:25: Connection timed "
		"out",
		"host gmail-smtp-in.l.google.com[142.250.1.26] said: "
		"421-4.7.28 [203.0.113.5 15] Our system has detected an "
		"unusual "
		"rate of unsolicited mail originating from your IP address. "
		"421 4.7.28 gsmtp (in reply to end of DATA command)",
		"host mta5.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 "
		"[TSS04] Messages from 203.0.113.5 temporarily deferred due to "
		"unexpected volume or user complaints - 4.16.55.1; see "
		"https://postmaster.yahooinc.com/error-codes (in reply to MAIL "
		"FROM command)",
		"lost connection with mx.example.com[192.0.2.9] while "
		"receiving "
		"the initial server greeting",
	};
	struct og_strbuf in, err;
	struct og_pq_stats st;
	struct counts c;
	struct timespec t0, t1, t2;
	unsigned long long n = 100000;
	size_t i;

	if (argc < 2 ||
	    (argc > 2 && og_parse_uint(argv[2], 1, 10000000, &n) < 0)) {
		(void)fprintf(stderr, "usage: bench_scan RULES [N]\n");
		return 64;
	}
	og_strbuf_init(&err, 0);
	memset(&c, 0, sizeof(c));
	if ((c.cl = og_classifier_load(argv[1], &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		return 78;
	}
	og_reply_init(&c.r);
	og_strbuf_init(&in, (size_t)1 << 30);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		/* mostly other deferrals; one message in six is a block */
		const char *why = reasons[(i * 7) % OG_NELEM(reasons)];

		(void)og_strbuf_addf(&in,
		    "{\"queue_name\": \"deferred\", \"queue_id\": "
		    "\"4jX%05zuQ%03zu\", "
		    "\"arrival_time\": %zu, \"message_size\": 2048, "
		    "\"forced_expire\": false, \"sender\": "
		    "\"user%zu@example.net\", "
		    "\"recipients\": [{\"address\": \"r%zu@hotmail.com\", "
		    "\"delay_reason\": \"%s\"}]}\n",
		    i % 100000, i % 1000, 1795000000 + i, i % 5000, i, why);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	(void)og_pq_parse(in.data, in.len, each, &c, &st);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	(void)printf("messages %lu, recipients classified %lu, blocks %lu, "
	             "bad lines %lu\n",
	    c.msgs, c.rcpts, c.blocks, st.bad_lines);
	(void)printf("input %.1f MB generated in %.3f s\n",
	    (double)in.len / 1e6, secs(&t0, &t1));
	(void)printf("parse + classify: %.3f s (%.0f messages/s)\n",
	    secs(&t1, &t2), (double)c.msgs / secs(&t1, &t2));
	og_reply_release(&c.r);
	og_classifier_free((struct og_classifier *)c.cl);
	og_strbuf_release(&in);
	og_strbuf_release(&err);
	return 0;
}

/*
 * t_worker.c - unit tests for policy/worker.c, outguard-policyd's store
 *	thread, against a real SQLite store: queued rows are written, one
 *	over-long field is cut and costs no other row of its batch, block
 *	sightings are written, a hold made through another handle comes
 *	back as a new hold set, stop flushes what is queued, and
 *	successful deliveries count towards the released incidents of the
 *	provider's family only (og_store_incident_delivered()); rows left
 *	in the outage spool by an earlier run are replayed at start and the
 *	spool emptied (the outage itself: tests/pgsql/t_spool.sh)
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "holdset.h"
#include "spool.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"
#include "worker.h"

static char dir[64];
static char spec[128];

static int
setup(void **state)
{
	(void)state;
	og_strlcpy(dir, "/tmp/og-t_worker.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(spec, sizeof(spec), "sqlite:%s/outguard.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char path[160];
	const char *const sfx[] = { "", "-wal", "-shm" };
	size_t i;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/spool", dir);
	(void)unlink(path);
	for (i = 0; i < OG_NELEM(sfx); i++) {
		(void)snprintf(
		    path, sizeof(path), "%s/outguard.db%s", dir, sfx[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
	return 0;
}

static struct og_store *
open_store(void)
{
	struct og_strbuf err;
	struct og_store *st;

	og_strbuf_init(&err, 0);
	st = og_store_open(spec, &err);
	if (st == NULL)
		fail_msg("%s", og_strbuf_str(&err));
	og_strbuf_release(&err);
	return st;
}

static int
count_cb(const struct og_msgrec *m, void *arg)
{
	(*(size_t *)arg)++;
	if (m->client_name != NULL && strlen(m->client_name) >= 4096)
		fail_msg("a field longer than the store takes was written");
	return 0;
}

static void
test_records_and_flush(void **state)
{
	struct og_worker *w = og_worker_start(open_store(), 86400);
	struct og_store *st;
	struct og_msgrec m;
	char qid[32], *huge;
	size_t i, n = 0;

	(void)state;
	huge = og_malloc(4097);
	memset(huge, 'x', 4096); /* a policy value may be 4096 bytes */
	huge[4096] = '\0';
	for (i = 0; i < 2500; i++) {
		memset(&m, 0, sizeof(m));
		(void)snprintf(qid, sizeof(qid), "4jXsQ%06zu", i);
		m.host = "mx1.example.net";
		m.queue_id = qid;
		m.time = 1795000000;
		m.sasl_username = "alice";
		m.client_address = "192.0.2.1";
		m.client_name = i == 7 ? huge : "client.example.net";
		m.sender = i == 8 ? NULL : "alice@example.net";
		m.recipient_count = i == 9 ? -1 : 1;
		m.size = 100;
		m.rcpt_summary = "hotmail.com=1";
		assert_int_equal(og_worker_record(w, &m), 0);
	}
	og_free(huge);
	og_worker_stop(w); /* flushes everything queued, then closes */
	st = open_store();
	assert_int_equal(
	    og_store_messages_scan(st, NULL, 0, INT64_MAX, count_cb, &n), 0);
	assert_int_equal(n, 2500); /* the cut row and its batch are there */
	og_store_close(st);
}

static void
test_blocks(void **state)
{
	struct og_worker *w = og_worker_start(open_store(), 86400);
	struct og_block_owned *rows;
	struct og_block_filter f;
	struct og_store *st;
	struct og_block b;
	size_t n;
	int i;

	(void)state;
	memset(&b, 0, sizeof(b));
	b.host = "mx1.example.net";
	b.provider = "microsoft-consumer";
	b.class_ = "ip_block";
	b.provider_code = "S3150";
	b.enhanced_code = "5.7.1";
	b.reply = "550 5.7.1 ... on our block list (S3150)";
	b.egress_ip = "203.0.113.5";
	b.source = "status-filter";
	b.first_seen = 1795000000;
	for (i = 0; i < 3; i++)
		assert_int_equal(og_worker_block(w, &b), 0);
	og_worker_stop(w);
	st = open_store();
	memset(&f, 0, sizeof(f));
	f.provider = "microsoft-consumer";
	assert_int_equal(og_store_blocks(st, &f, &rows, &n), 0);
	assert_int_equal(n, 1); /* three sightings, one aggregated row */
	assert_int_equal(rows[0].count, 3);
	assert_string_equal(rows[0].egress_ip, "203.0.113.5");
	og_store_blocks_free(rows, n);
	og_store_close(st);
}

/* incident - open an incident of provider, released when asked */
static int64_t
incident(struct og_store *st, const char *provider, int release)
{
	struct og_incident inc;
	int64_t id;

	memset(&inc, 0, sizeof(inc));
	assert_int_equal(og_store_incident_open(st, "mx1.example.net", provider,
	                     "203.0.113.5", 1795000000, &inc),
	    OG_NOTFOUND);
	id = inc.id;
	if (release) {
		og_free(inc.state);
		inc.state = og_strdup("released");
		inc.released = 1795000600;
		assert_int_equal(
		    og_store_incident_update(st, &inc, "test", 1795000600), 0);
	}
	og_store_incident_clear(&inc);
	return id;
}

static long
delivered(struct og_store *st, int64_t id)
{
	struct og_incident inc;
	long n;

	memset(&inc, 0, sizeof(inc));
	assert_int_equal(og_store_incident_get(st, id, &inc), OG_FOUND);
	n = inc.deliveries_after_release;
	og_store_incident_clear(&inc);
	return n;
}

static void
test_deliveries_counted(void **state)
{
	struct og_store *st = open_store();
	struct og_worker *w;
	struct og_incident inc;
	int64_t ms, open, yahoo;
	int i;

	(void)state;
	ms = incident(st, "microsoft-consumer", 1);
	open = incident(st, "google", 0);
	yahoo = incident(st, "yahoo", 1);
	w = og_worker_start(open_store(), 86400);
	/* microsoft-365 shares microsoft-consumer's servers: same family */
	for (i = 0; i < 5; i++)
		assert_int_equal(og_worker_delivered(w, "microsoft-365"), 0);
	assert_int_equal(og_worker_delivered(w, "microsoft-consumer"), 0);
	assert_int_equal(og_worker_delivered(w, "google"), 0);
	assert_int_equal(og_worker_delivered(w, "-"), -1);
	og_worker_stop(w);
	assert_int_equal(delivered(st, ms), 6);
	assert_int_equal(delivered(st, open), 0); /* not released */
	assert_int_equal(delivered(st, yahoo), 0); /* another family */
	/* a writer with an older count never lowers it */
	memset(&inc, 0, sizeof(inc));
	assert_int_equal(og_store_incident_get(st, ms, &inc), OG_FOUND);
	inc.deliveries_after_release = 2;
	assert_int_equal(
	    og_store_incident_update(st, &inc, "test", 1795000700), 0);
	og_store_incident_clear(&inc);
	assert_int_equal(delivered(st, ms), 6);
	assert_int_equal(
	    og_store_incident_delivered(st, "", 1, NULL), OG_ERROR);
	assert_int_equal(
	    og_store_incident_delivered(st, "microsoft", 0, NULL), OG_ERROR);
	og_store_close(st);
}

static void
test_holds_published(void **state)
{
	struct og_worker *w = og_worker_start(open_store(), 86400);
	struct og_holdset *hs = NULL;
	struct og_store *cli = open_store(); /* another process's handle */
	struct og_hold h;
	int64_t id;
	int i;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.identity = "sasl:mallory";
	h.scope = "all";
	h.reason = "test";
	h.created_by = "cli:test";
	/* the first generation is published at start; take it */
	for (i = 0; i < 40 && hs == NULL; i++) {
		hs = og_worker_take_holds(w);
		if (hs == NULL)
			(void)usleep(50000);
	}
	assert_non_null(hs);
	assert_null(og_holdset_find(hs, "sasl:mallory", NULL));
	hs = og_holdset_free(hs);
	assert_null(og_worker_take_holds(w)); /* nothing new: nothing */
	assert_int_equal(og_store_hold(cli, &h, og_now(), &id), OG_FOUND);
	/* picked up within about a second (the worker looks each second) */
	for (i = 0; i < 60 && hs == NULL; i++) {
		hs = og_worker_take_holds(w);
		if (hs == NULL)
			(void)usleep(50000);
	}
	assert_non_null(hs);
	assert_non_null(og_holdset_find(hs, "sasl:mallory", NULL));
	og_holdset_free(hs);
	og_store_close(cli);
	og_worker_stop(w);
}

/* rows an earlier run left in the spool reach the store at start */
static void
test_spool_replayed(void **state)
{
	struct og_strbuf err;
	struct og_spool *sp;
	struct og_worker *w;
	struct og_store *st;
	struct og_msgrec m;
	char path[160], qid[32];
	size_t n = 0;
	int i;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/spool", dir);
	og_strbuf_init(&err, 0);
	sp = og_spool_open(path, 1 << 20, 0, &err);
	assert_non_null(sp);
	for (i = 0; i < 5; i++) {
		memset(&m, 0, sizeof(m));
		(void)snprintf(qid, sizeof(qid), "SPOOL%02d", i);
		m.host = "spool.example.net";
		m.queue_id = qid;
		m.time = 1795000000;
		m.sender = "bob@example.net";
		assert_int_equal(og_spool_add_message(sp, &m), 0);
	}
	og_spool_close(sp);
	st = open_store();
	w = og_worker_start_spool(st, 86400,
	    og_spool_open(path, 1 << 20, 0, &err), "spool.example.net");
	st = open_store();
	for (i = 0; i < 200 && n < 5; i++) {
		n = 0;
		assert_int_equal(og_store_messages_scan(st, "spool.example.net",
		                     0, INT64_MAX, count_cb, &n),
		    0);
		if (n < 5)
			(void)usleep(50000);
	}
	assert_int_equal(n, 5);
	assert_int_equal(og_worker_store_down(w), 0);
	og_worker_stop(w); /* closes the spool */
	sp = og_spool_open(path, 1 << 20, OG_SPOOL_RDONLY, &err);
	assert_non_null(sp);
	assert_int_equal(og_spool_pending(sp), 0);
	og_spool_close(sp);
	og_store_close(st);
	og_strbuf_release(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_and_flush),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_holds_published),
		cmocka_unit_test(test_deliveries_counted),
		cmocka_unit_test(test_spool_replayed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

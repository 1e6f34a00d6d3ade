/*
 * worker.c - outguard-policyd's store thread
 * DESCRIPTION: see worker.h. One mutex guards the row queue and the
 *	stop flag; a condition variable wakes the thread when a batch is
 *	ready or at stop. The newest hold set is handed over through one
 *	atomic pointer: the thread exchanges a new set in, the event loop
 *	exchanges it out, and whoever gets a set it does not want frees it.
 *	Store outage: a write that fails is not retried in place; its rows
 *	go to the spool (lib/spool.c), and once a probe of the store (the
 *	hold generation, with backoff from 1 s to PROBE_MAX) fails too,
 *	the store is "down": every new row is spooled, the event loop sees
 *	og_worker_store_down(), and the outage is logged when it starts,
 *	once a minute while it lasts, and when it ends. While the spool
 *	holds rows, new rows are spooled behind them so that the store gets
 *	them in order; the replay runs a bounded number of records per tick
 *	so that the thread keeps draining the queue. The spool is shared with
 *	the other processes of outguard-policyd (spool.h): its counts are
 *	read again once per round, and the replay is left to whichever
 *	process holds its replay lock.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "holdset.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "util.h"
#include "worker.h"

#define BATCH_MAX 1000
#define FLUSH_MS 100
/* the hold generation read this often: a hold made on another host (or
 * by the CLI) is in force here within a second */
#define GEN_MS 250
#define PRUNE_EVERY 300 /* seconds */
#define PRUNE_BATCH 5000
#define BLOCKS_MAX 2000 /* queued block sightings */
#define FAMILIES_MAX 16 /* provider families counted between flushes */
#define FAMILY_MAX 64
#define PROBE_MAX 30 /* seconds between store probes during an outage */
#define REPORT_EVERY 60 /* seconds between outage log lines */
#define REPLAY_TICK 5000 /* spooled records replayed per tick */

/* successful deliveries to one provider family since the last flush */
struct delivered {
	char family[FAMILY_MAX];
	long n;
};

struct og_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct og_store *st;
	struct og_msgrec_owned *queue; /* ring of OG_WORKER_QUEUE_MAX */
	size_t head, count;
	struct og_block_owned *blocks; /* up to BLOCKS_MAX, FIFO */
	size_t nblocks;
	struct delivered deliv[FAMILIES_MAX];
	size_t ndeliv;
	int stop;
	_Atomic(struct og_holdset *) pending;
	_Atomic int64_t retention;
	_Atomic unsigned long dropped;
	uint64_t gen;
	int have_gen;
	struct og_ratelimit rl_store, rl_gen; /* the thread's own */
	/* outage state: the thread's own, but down which the loop reads */
	struct og_spool *spool; /* NULL: none, rows are dropped */
	char *host; /* for the spool's drop audit row */
	_Atomic int down; /* the store failed its last probe */
	int outage; /* from the first failure to the replay's end */
	time_t since, next_probe, next_report;
	int backoff;
	unsigned long spooled, replayed, refused, lost;
	unsigned long long drop_base; /* spool drops before the outage */
	char reason[512];
};

/*
 * cap - a copy cut to what the store takes: policy values may be 4096
 * bytes, and one over-long field must not cost a whole batch its rows
 */
static char *
cap(const char *s, size_t max)
{
	return s ? og_strndup(s, max - 1) : NULL;
}

struct og_holdset *
og_load_holdset(struct og_store *st, int64_t now)
{
	struct og_holdset *hs;
	struct og_hold *holds;
	size_t n;

	if (og_store_holds(st, now, &holds, &n) < 0)
		return NULL;
	hs = og_holdset_new(holds, n);
	og_store_holds_free(holds, n);
	return hs;
}

int
og_worker_record(struct og_worker *w, const struct og_msgrec *r)
{
	struct og_msgrec_owned *o;

	pthread_mutex_lock(&w->lock);
	if (w->count == OG_WORKER_QUEUE_MAX) {
		pthread_mutex_unlock(&w->lock);
		atomic_fetch_add(&w->dropped, 1);
		return -1;
	}
	o = &w->queue[(w->head + w->count) % OG_WORKER_QUEUE_MAX];
	o->host = cap(r->host, OG_STORE_FIELD_MAX);
	o->queue_id = cap(r->queue_id, OG_STORE_FIELD_MAX);
	o->time = r->time;
	o->sasl_username = cap(r->sasl_username, OG_STORE_FIELD_MAX);
	o->sasl_method = cap(r->sasl_method, OG_STORE_FIELD_MAX);
	o->client_address = cap(r->client_address, OG_STORE_FIELD_MAX);
	o->client_name = cap(r->client_name, OG_STORE_FIELD_MAX);
	o->sender = cap(r->sender ? r->sender : "", OG_STORE_FIELD_MAX);
	o->recipient_count = r->recipient_count < 0 ? 0 : r->recipient_count;
	o->size = r->size < 0 ? 0 : r->size;
	o->rcpt_summary = cap(r->rcpt_summary, OG_STORE_TEXT_MAX);
	w->count++;
	if (w->count >= BATCH_MAX)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int
og_worker_block(struct og_worker *w, const struct og_block *b)
{
	struct og_block_owned *o;

	pthread_mutex_lock(&w->lock);
	if (w->nblocks == BLOCKS_MAX) {
		pthread_mutex_unlock(&w->lock);
		atomic_fetch_add(&w->dropped, 1);
		return -1;
	}
	o = &w->blocks[w->nblocks++];
	memset(o, 0, sizeof(*o));
	o->host = cap(b->host, OG_STORE_FIELD_MAX);
	o->queue_id = cap(b->queue_id, OG_STORE_FIELD_MAX);
	o->recipient = cap(b->recipient, OG_STORE_FIELD_MAX);
	o->provider = cap(b->provider, OG_STORE_FIELD_MAX);
	o->class_ = cap(b->class_, OG_STORE_FIELD_MAX);
	o->smtp_code = cap(b->smtp_code, OG_STORE_FIELD_MAX);
	o->enhanced_code = cap(b->enhanced_code, OG_STORE_FIELD_MAX);
	o->provider_code = cap(b->provider_code, OG_STORE_FIELD_MAX);
	o->remedy = cap(b->remedy, OG_STORE_FIELD_MAX);
	o->reply = cap(b->reply, OG_STORE_TEXT_MAX);
	o->mx_host = cap(b->mx_host, OG_STORE_FIELD_MAX);
	o->mx_ip = cap(b->mx_ip, OG_STORE_FIELD_MAX);
	o->egress_ip = cap(b->egress_ip, OG_STORE_FIELD_MAX);
	o->server_tag = cap(b->server_tag, OG_STORE_FIELD_MAX);
	o->server_time = cap(b->server_time, OG_STORE_FIELD_MAX);
	o->identity = cap(b->identity, OG_STORE_FIELD_MAX);
	o->source = cap(b->source, OG_STORE_FIELD_MAX);
	o->first_seen = b->first_seen;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int
og_worker_delivered(struct og_worker *w, const char *provider)
{
	char family[FAMILY_MAX];
	size_t len = strcspn(provider, "-"), i;

	if (len == 0 || len >= sizeof(family))
		return -1;
	memcpy(family, provider, len);
	family[len] = '\0';
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->ndeliv; i++)
		if (strcmp(w->deliv[i].family, family) == 0)
			break;
	if (i == w->ndeliv) {
		if (w->ndeliv == FAMILIES_MAX) {
			pthread_mutex_unlock(&w->lock);
			return -1;
		}
		memcpy(w->deliv[i].family, family, len + 1);
		w->deliv[i].n = 0;
		w->ndeliv++;
	}
	w->deliv[i].n++;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* spooling - rows go to the spool, not the store, now */
static int
spooling(struct og_worker *w)
{
	return w->spool != NULL &&
	    (atomic_load(&w->down) || og_spool_pending(w->spool) > 0);
}

static void
duration(char *buf, size_t len, time_t secs)
{
	if (secs >= 3600)
		(void)snprintf(buf, len, "%lldh%02lldm%02llds",
		    (long long)secs / 3600, (long long)secs / 60 % 60,
		    (long long)secs % 60);
	else
		(void)snprintf(buf, len, "%lldm%02llds", (long long)secs / 60,
		    (long long)secs % 60);
}

/* set_reason - why the store failed, on one line (libpq's have several) */
static void
set_reason(struct og_worker *w, const char *why)
{
	size_t i, j = 0;

	for (i = 0; why[i] != '\0' && j + 1 < sizeof(w->reason); i++) {
		unsigned char c = (unsigned char)why[i];

		if (c < 0x20 || c == 0x7f) {
			if (j > 0 && w->reason[j - 1] != ' ')
				w->reason[j++] = ' ';
		} else
			w->reason[j++] = (char)c;
	}
	while (j > 0 && w->reason[j - 1] == ' ')
		j--;
	w->reason[j] = '\0';
}

/*
 * store_failed - a write failed: probe the store; if it does not
 * answer either, the outage starts (logged once) or goes on
 */
static void
store_failed(struct og_worker *w, const char *why)
{
	char iso[32];
	time_t now = time(NULL);
	uint64_t gen;

	if (atomic_load(&w->down))
		return;
	set_reason(w, why);
	og_store_set_quiet(w->st, 1);
	if (og_store_generation(w->st, &gen) == 0) {
		og_store_set_quiet(w->st, 0);
		return; /* the store answers: a refused write, not an outage */
	}
	atomic_store(&w->down, 1);
	w->backoff = 1;
	w->next_probe = now + w->backoff;
	if (w->outage == 1)
		return; /* lost again during the replay: the same outage */
	w->outage = 1;
	w->since = now;
	w->next_report = now + REPORT_EVERY;
	w->spooled = w->replayed = w->refused = w->lost = 0;
	w->drop_base = w->spool != NULL ? og_spool_dropped(w->spool) : 0;
	og_time_iso(now, iso, sizeof(iso));
	og_warnx("store: unavailable since %s: %s; %s%s", iso, w->reason,
	    w->spool != NULL ? "spooling to " : "no spool: rows are dropped",
	    w->spool != NULL ? og_spool_path(w->spool) : "");
}

/* spooled - account for one row handed to the spool (rc of the add) */
static void
spooled(struct og_worker *w, int rc)
{
	if (rc == 0)
		w->spooled++;
}

/* lost - a row neither written nor spooled */
static void
lost(struct og_worker *w, unsigned long n)
{
	atomic_fetch_add(&w->dropped, n);
	w->lost += n;
}

/*
 * flush_delivered - the counted deliveries, one statement per family
 * (only released incidents take them: a cheap no-op otherwise)
 */
static void
flush_delivered(struct og_worker *w)
{
	struct delivered d[FAMILIES_MAX];
	size_t n, i;
	long updated;

	pthread_mutex_lock(&w->lock);
	n = w->ndeliv;
	memcpy(d, w->deliv, n * sizeof(d[0]));
	w->ndeliv = 0;
	pthread_mutex_unlock(&w->lock);
	/*
	 * Counts are increments, not ordered rows: they go straight to
	 * the store unless it is down (the spool may hold other processes'
	 * rows), as they count only while the incident is released.
	 */
	for (i = 0; i < n; i++) {
		if (w->spool != NULL && atomic_load(&w->down))
			spooled(w,
			    og_spool_add_delivered(
			        w->spool, d[i].family, d[i].n));
		else if (og_store_incident_delivered(
		             w->st, d[i].family, d[i].n, &updated) < 0) {
			store_failed(w, og_store_error(w->st));
			if (w->spool != NULL)
				spooled(w,
				    og_spool_add_delivered(
				        w->spool, d[i].family, d[i].n));
			else
				og_warnx_rl(&w->rl_store,
				    "store: %ld deliveries to %s not "
				    "counted: %s",
				    d[i].n, d[i].family, og_store_error(w->st));
		} else if (updated > 0)
			og_debug("store: %ld deliveries to %s counted for %ld "
			         "released incidents",
			    d[i].n, d[i].family, updated);
	}
}

/* flush_blocks - write the queued block sightings, one row each */
static void
flush_blocks(struct og_worker *w)
{
	struct og_block_owned *bs;
	size_t n, i;

	pthread_mutex_lock(&w->lock);
	if (w->nblocks == 0) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	bs = w->blocks;
	n = w->nblocks;
	w->blocks = og_calloc(BLOCKS_MAX, sizeof(*w->blocks));
	w->nblocks = 0;
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < n; i++) {
		struct og_block_owned *o = &bs[i];
		struct og_block b;
		int64_t id;

		memset(&b, 0, sizeof(b));
		b.host = o->host;
		b.queue_id = o->queue_id;
		b.recipient = o->recipient;
		b.provider = o->provider;
		b.class_ = o->class_;
		b.smtp_code = o->smtp_code;
		b.enhanced_code = o->enhanced_code;
		b.provider_code = o->provider_code;
		b.remedy = o->remedy;
		b.reply = o->reply;
		b.mx_host = o->mx_host;
		b.mx_ip = o->mx_ip;
		b.egress_ip = o->egress_ip;
		b.server_tag = o->server_tag;
		b.server_time = o->server_time;
		b.identity = o->identity;
		b.source = o->source;
		if (spooling(w)) {
			spooled(
			    w, og_spool_add_block(w->spool, &b, o->first_seen));
			continue;
		}
		if (og_store_block_record(w->st, &b, o->first_seen, &id) == 0)
			continue;
		store_failed(w, og_store_error(w->st));
		if (w->spool != NULL) {
			spooled(
			    w, og_spool_add_block(w->spool, &b, o->first_seen));
			continue;
		}
		lost(w, 1);
		og_warnx_rl(&w->rl_store,
		    "store: block evidence not written: %s",
		    og_store_error(w->st));
	}
	og_store_blocks_free(bs, n);
}

/* flush - write up to BATCH_MAX queued rows; called without the lock */
static void
flush(struct og_worker *w)
{
	struct og_msgrec batch[BATCH_MAX];
	struct og_msgrec_owned owned[BATCH_MAX];
	size_t n, i, k;

	pthread_mutex_lock(&w->lock);
	n = w->count < BATCH_MAX ? w->count : BATCH_MAX;
	for (i = 0; i < n; i++)
		owned[i] = w->queue[(w->head + i) % OG_WORKER_QUEUE_MAX];
	w->head = (w->head + n) % OG_WORKER_QUEUE_MAX;
	w->count -= n;
	pthread_mutex_unlock(&w->lock);
	if (n == 0)
		return;
	for (i = 0, k = 0; i < n; i++) {
		struct og_msgrec *b = &batch[k];

		b->host = owned[i].host;
		b->queue_id = owned[i].queue_id;
		b->time = owned[i].time;
		b->sasl_username = owned[i].sasl_username;
		b->sasl_method = owned[i].sasl_method;
		b->client_address = owned[i].client_address;
		b->client_name = owned[i].client_name;
		b->sender = owned[i].sender;
		b->recipient_count = owned[i].recipient_count;
		b->size = owned[i].size;
		b->rcpt_summary = owned[i].rcpt_summary;
		if (og_store_msgrec_valid(b))
			k++;
		else {
			atomic_fetch_add(&w->dropped, 1);
			og_warnx_rl(&w->rl_store,
			    "%s: who-sent-what row "
			    "refused by the store",
			    owned[i].queue_id ? owned[i].queue_id : "?");
		}
	}
	if (k > 0 && !spooling(w) &&
	    og_store_add_messages(w->st, batch, k) == 0)
		k = 0;
	else if (k > 0 && !spooling(w))
		store_failed(w, og_store_error(w->st));
	if (k > 0 && w->spool != NULL)
		w->spooled += og_spool_add_messages(w->spool, batch, k);
	else if (k > 0) {
		lost(w, k);
		og_warnx_rl(&w->rl_store,
		    "store: %zu message rows not "
		    "written: %s",
		    k, og_store_error(w->st));
	}
	for (i = 0; i < n; i++)
		og_store_msgrec_clear(&owned[i]);
}

static void
refresh_holds(struct og_worker *w)
{
	struct og_holdset *hs, *old;
	uint64_t gen;
	size_t n;

	if (og_store_generation(w->st, &gen) < 0) {
		if (w->spool == NULL)
			og_warnx_rl(&w->rl_gen,
			    "store: cannot read the hold generation: %s",
			    og_store_error(w->st));
		store_failed(w, og_store_error(w->st));
		return;
	}
	if (w->have_gen && gen == w->gen)
		return;
	if ((hs = og_load_holdset(w->st, og_now())) == NULL)
		return;
	n = og_holdset_count(hs);
	w->gen = gen;
	w->have_gen = 1;
	old = atomic_exchange(&w->pending, hs);
	og_holdset_free(old);
	/* logged once published: the next answer uses this set */
	og_info("holds: generation %llu, %zu holds in force",
	    (unsigned long long)gen, n);
}

static void
prune(struct og_worker *w)
{
	int64_t before = og_now() - atomic_load(&w->retention);
	long deleted = 0, total = 0;

	do {
		if (og_store_prune_messages(
		        w->st, before, PRUNE_BATCH, &deleted) < 0)
			return;
		total += deleted;
	} while (deleted == PRUNE_BATCH && !w->stop);
	if (total > 0)
		og_info("store: pruned %ld message rows older than %llds",
		    total, (long long)atomic_load(&w->retention));
}

/*
 * outage_tick - during an outage: probe the store with backoff, replay
 * the spool once it answers, log the outage once a minute and its end
 */
static void
outage_tick(struct og_worker *w)
{
	struct og_spool_stats ss = { 0, 0, 0 };
	char dur[32];
	time_t now = time(NULL);
	uint64_t gen;
	int rc;

	if (atomic_load(&w->down)) {
		if (now < w->next_probe)
			goto report;
		if (og_store_generation(w->st, &gen) < 0) {
			set_reason(w, og_store_error(w->st));
			w->backoff = w->backoff * 2 > PROBE_MAX
			    ? PROBE_MAX
			    : w->backoff * 2;
			w->next_probe = now + w->backoff;
			goto report;
		}
		atomic_store(&w->down, 0);
		og_info("store: answering again after %lds; replaying %lu "
		        "spooled rows",
		    (long)(now - w->since),
		    w->spool != NULL ? og_spool_pending(w->spool) : 0UL);
	}
	if (w->spool != NULL && og_spool_pending(w->spool) > 0) {
		if (!w->outage) { /* an earlier run's rows, or refused */
			w->outage = 2;
			w->since = now;
			w->next_report = now + REPORT_EVERY;
			w->replayed = w->refused = w->lost = 0;
			og_info("spool %s: replaying %lu rows",
			    og_spool_path(w->spool),
			    og_spool_pending(w->spool));
		}
		w->drop_base = og_spool_dropped(w->spool) > w->drop_base
		    ? og_spool_dropped(w->spool)
		    : w->drop_base;
		rc =
		    og_spool_replay(w->spool, w->st, w->host, REPLAY_TICK, &ss);
		w->replayed += ss.replayed;
		w->refused += ss.refused + ss.bad;
		if (rc < 0) {
			store_failed(w, og_store_error(w->st));
			goto report;
		}
		if (rc == 0)
			goto report;
	}
	if (!w->outage)
		return;
	og_store_set_quiet(w->st, 0);
	duration(dur, sizeof(dur), now - w->since);
	if (w->outage == 2)
		og_info("spool %s: replayed %lu rows, dropped %llu",
		    og_spool_path(w->spool), w->replayed,
		    w->drop_base + w->lost);
	else
		og_info(
		    "store: back after %s; replayed %lu rows, dropped %llu%s",
		    dur, w->replayed, w->drop_base + w->lost,
		    w->refused > 0 ? " (some refused or unreadable: see above)"
		                   : "");
	w->outage = 0;
	w->drop_base = 0;
	w->lost = 0;
	return;
report:
	if (now < w->next_report)
		return;
	w->next_report = now + REPORT_EVERY;
	duration(dur, sizeof(dur), now - w->since);
	og_warnx("store: %s for %s: %s; %lu rows spooled (%llu bytes "
	         "waiting), %llu dropped",
	    atomic_load(&w->down) ? "unavailable" : "replaying", dur, w->reason,
	    w->spooled, w->spool != NULL ? og_spool_bytes(w->spool) : 0ULL,
	    (w->spool != NULL ? og_spool_dropped(w->spool) : 0ULL) + w->lost);
}

static void *
run(void *arg)
{
	struct og_worker *w = arg;
	struct timespec last_gen = { 0, 0 }, mono;
	time_t last_prune = time(NULL), now;
	int stop;

	for (;;) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FLUSH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->lock);
		while (!w->stop && w->count < BATCH_MAX && w->nblocks == 0)
			if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) ==
			    ETIMEDOUT)
				break;
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		/* other processes append and replay too */
		if (w->spool != NULL)
			(void)og_spool_refresh(w->spool);
		flush_blocks(w);
		flush(w);
		flush_delivered(w);
		if (w->spool != NULL)
			(void)og_spool_sync(w->spool);
		if (w->outage ||
		    (w->spool != NULL && og_spool_pending(w->spool) > 0))
			outage_tick(w);
		now = time(NULL);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		if ((mono.tv_sec - last_gen.tv_sec) * 1000 +
		            (mono.tv_nsec - last_gen.tv_nsec) / 1000000 >=
		        GEN_MS &&
		    !atomic_load(&w->down)) {
			refresh_holds(w);
			last_gen = mono;
		}
		if (now - last_prune >= PRUNE_EVERY && !atomic_load(&w->down)) {
			prune(w);
			last_prune = now;
		}
		if (stop) {
			size_t left;

			do {
				flush(w);
				pthread_mutex_lock(&w->lock);
				left = w->count;
				pthread_mutex_unlock(&w->lock);
			} while (left > 0);
			return NULL;
		}
	}
}

struct og_worker *
og_worker_start(struct og_store *st, int64_t retention)
{
	return og_worker_start_spool(st, retention, NULL, NULL);
}

struct og_worker *
og_worker_start_spool(struct og_store *st, int64_t retention,
    struct og_spool *spool, const char *host)
{
	struct og_worker *w = og_calloc(1, sizeof(*w));
	int e;

	w->st = st;
	w->spool = spool;
	w->host = og_strdup(host != NULL ? host : "localhost");
	atomic_init(&w->down, 0);
	w->queue = og_calloc(OG_WORKER_QUEUE_MAX, sizeof(*w->queue));
	w->blocks = og_calloc(BLOCKS_MAX, sizeof(*w->blocks));
	atomic_init(&w->pending, NULL);
	atomic_init(&w->retention, retention);
	atomic_init(&w->dropped, 0);
	w->rl_store = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 1);
	w->rl_gen = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 1);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((e = pthread_create(&w->thread, NULL, run, w)) != 0) {
		errno = e;
		og_fatal(EX_OSERR, "pthread_create");
	}
	return w;
}

void
og_worker_stop(struct og_worker *w)
{
	unsigned long dropped;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	if ((dropped = atomic_load(&w->dropped)) > 0)
		og_warnx("store: %lu message rows were not recorded "
		         "(queue full or store errors)",
		    dropped);
	if (w->spool != NULL && og_spool_pending(w->spool) > 0)
		og_warnx("spool %s: %lu rows wait for the store (%llu "
		         "dropped): the next start replays them",
		    og_spool_path(w->spool), og_spool_pending(w->spool),
		    og_spool_dropped(w->spool));
	w->spool = og_spool_close(w->spool);
	og_free(w->host);
	og_holdset_free(atomic_exchange(&w->pending, NULL));
	og_store_close(w->st);
	og_store_blocks_free(w->blocks, w->nblocks);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	og_free(w->queue);
	og_free(w);
}

struct og_holdset *
og_worker_take_holds(struct og_worker *w)
{
	/* a load first: the common case, nothing new, writes nothing */
	if (atomic_load(&w->pending) == NULL)
		return NULL;
	return atomic_exchange(&w->pending, NULL);
}

void
og_worker_set_retention(struct og_worker *w, int64_t r)
{
	atomic_store(&w->retention, r);
}

int
og_worker_store_down(const struct og_worker *w)
{
	return atomic_load(&((struct og_worker *)w)->down);
}

unsigned long
og_worker_dropped(const struct og_worker *w)
{
	return atomic_load(&((struct og_worker *)w)->dropped);
}

/*
 * worker.h - outguard-policyd's store thread
 * DESCRIPTION: the event loop never waits for the store. It hands
 *	message rows to this thread (og_worker_record(), a bounded queue,
 *	written in batches of one transaction), and picks up new hold sets
 *	this thread builds whenever the store's hold generation changes
 *	(checked every second, so a hold made by the CLI or another daemon
 *	applies within about one second). The thread also prunes message
 *	rows older than message_retention, a few thousand at a time.
 *	When the store cannot be reached, rows wait in a spool file
 *	(og_worker_start_spool(), lib/spool.h) and are written in order when
 *	it answers again; og_worker_store_down() tells the event loop.
 * DIAGNOSTICS: an outage is logged when it starts, once a minute while
 *	it lasts and when it ends; the policy answers go on from the last
 *	hold set. Rows that fit neither the queue nor the spool are counted
 *	and reported, never silently dropped.
 */
#ifndef OG_WORKER_H
#define OG_WORKER_H

#include <stdint.h>

struct og_block;
struct og_holdset;
struct og_msgrec;
struct og_spool;
struct og_store;
struct og_worker;

#define OG_WORKER_QUEUE_MAX 100000

/* og_worker_start - takes over st (closes it at stop) */
struct og_worker *og_worker_start(struct og_store *st, int64_t retention);
/*
 * og_worker_start_spool - the same with an outage spool (NULL: none),
 * which it takes over too; host names the drop count's audit row
 */
struct og_worker *og_worker_start_spool(struct og_store *st, int64_t retention,
    struct og_spool *spool, const char *host);
/* og_worker_stop - flush the queue, stop the thread, close the store */
void og_worker_stop(struct og_worker *);
/* og_worker_record - queue a copy of rec; -1 when the queue is full */
int og_worker_record(struct og_worker *, const struct og_msgrec *rec);
/* og_worker_block - queue a copy of a block sighting; -1 when full */
int og_worker_block(struct og_worker *, const struct og_block *b);
/*
 * og_worker_delivered - count a successful delivery to provider: the
 * thread adds the counts to the provider family's released incidents
 * (the proof that delisting worked); -1 when it cannot be counted
 */
int og_worker_delivered(struct og_worker *, const char *provider);
/* og_worker_take_holds - a newer hold set, or NULL; the caller owns it */
struct og_holdset *og_worker_take_holds(struct og_worker *);
void og_worker_set_retention(struct og_worker *, int64_t);
/*
 * og_worker_store_down - 1 while the store fails its probes, else 0:
 * an atomic load, cheap enough for every policy request
 */
int og_worker_store_down(const struct og_worker *);
/* og_worker_dropped - rows dropped because the queue was full */
unsigned long og_worker_dropped(const struct og_worker *);

/* og_load_holdset - read the holds in force now into a new set */
struct og_holdset *og_load_holdset(struct og_store *, int64_t now);

#endif

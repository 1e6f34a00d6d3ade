/*
 * spool.h - the store outage spool: rows that wait for the store
 * DESCRIPTION: while the store cannot be reached, the processes of
 *	outguard-policyd (the daemon's store thread, the spawn(8) policy
 *	and status filter processes) append the rows they could not write
 *	(who sent what, block evidence, delivery counts) to one local file,
 *	bounded in bytes, and one of them at a time replays them in order
 *	when the store answers again. The file is a fixed-size header line
 *	"outguard-spool 2 end=N offset=N records=N dropped=N" (where the
 *	records end, where the replay resumes, how many records wait, how
 *	many rows were dropped) followed by records, each a header line
 *	"TLEN CRC32" (type M, B or D, payload length, CRC-32 of type and
 *	payload) then the payload and a newline: a record cut short by a
 *	crash, or any bytes that are not a whole record with the right
 *	checksum, are detected, logged and skipped, never replayed. The
 *	replay offset advances only after the store has committed the
 *	records before it, so a replay interrupted half-way (store lost
 *	again, process killed) writes no row twice except the one batch
 *	whose commit raced the crash (XXX). Rows that do not fit under the
 *	bound are counted; the count is kept in the header and written to
 *	the store after the replay, as an audit row (actor "policyd:HOST",
 *	action "spool-drop", subject "host:HOST").
 *	Concurrency: each operation takes the file's append lock for its
 *	own duration (waiting up to 5 seconds, else the row is dropped and
 *	counted); a replay tick takes the replay lock, or leaves the work
 *	to the process that holds it; a spawn process leaves it to the
 *	daemon while one has the spool open (OG_SPOOL_DAEMON), so that the
 *	daemon's log tells the whole outage. A file in the first format
 *	("outguard-spool 1", one process at a time under flock()) is
 *	converted at open.
 *	Ownership: the handle owns the file descriptor; og_spool_close()
 *	syncs and closes it. A handle is used by one thread at a time.
 * DIAGNOSTICS: og_spool_open() describes its failure in err; appends
 *	return -1 when the row was dropped (counted, whatever the reason);
 *	og_spool_replay() logs skipped records and returns -1 when the
 *	store failed (the rest waits).
 */
#ifndef OG_SPOOL_H
#define OG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct og_block;
struct og_msgrec;
struct og_spool;
struct og_store;
struct og_strbuf;

#define OG_SPOOL_RECORD_MAX 65536 /* payload bytes of one record */
#define OG_SPOOL_MIN 4096 /* smallest bound, bytes */
#define OG_SPOOL_MAX 1073741824ULL /* largest bound, bytes (1 GiB) */

#define OG_SPOOL_DEFAULT "/var/lib/outguard/outguard.spool"
#define OG_SPOOL_RDONLY 0x1 /* inspect only: no lock, no change */
/* the daemon's: while one holds the spool, only daemons replay it */
#define OG_SPOOL_DAEMON 0x2

/* what og_spool_replay() did (added to, never reset) */
struct og_spool_stats {
	unsigned long replayed; /* rows the store took */
	unsigned long refused; /* rows the store refused (bad values) */
	unsigned long bad; /* records skipped as torn or corrupt */
};

/*
 * og_spool_open - open or create (mode 0600, no symlink, a regular
 * file) the spool at path with a bound of max bytes; a torn or bad
 * tail is logged and cut off (not with OG_SPOOL_RDONLY, where a file
 * that does not exist is an error with errno ENOENT). NULL with the
 * reason in err (reset first).
 */
struct og_spool *og_spool_open(
    const char *path, uint64_t max, int flags, struct og_strbuf *err);
/*
 * og_spool_default - store_spool's path into out (reset first): conf
 * unless empty, else "outguard.spool" next to a "sqlite:" store's file,
 * else OG_SPOOL_DEFAULT
 */
void og_spool_default(
    struct og_strbuf *out, const char *conf, const char *store_spec);
/* og_spool_close - sync and close; NULL is a no-op; returns NULL */
struct og_spool *og_spool_close(struct og_spool *);

/* appends: 0 spooled, -1 dropped and counted (bound, write error) */
int og_spool_add_message(struct og_spool *, const struct og_msgrec *);
/* og_spool_add_messages - n rows under one lock; how many were spooled */
size_t og_spool_add_messages(
    struct og_spool *, const struct og_msgrec *, size_t n);
int og_spool_add_block(
    struct og_spool *, const struct og_block *, int64_t first_seen);
int og_spool_add_delivered(struct og_spool *, const char *family, long n);
/* og_spool_sync - header and data to disk: 0, or -1 (logged) */
int og_spool_sync(struct og_spool *);
/*
 * og_spool_refresh - read the header again (other processes append and
 * replay): the counts below are as of the last refresh or operation;
 * 0, or -1 (logged)
 */
int og_spool_refresh(struct og_spool *);

/* og_spool_pending - whole records waiting for the store */
unsigned long og_spool_pending(const struct og_spool *);
/* og_spool_dropped - rows dropped since the last completed replay */
unsigned long long og_spool_dropped(const struct og_spool *);
/* og_spool_bytes - the file's size now */
unsigned long long og_spool_bytes(const struct og_spool *);
const char *og_spool_path(const struct og_spool *);

/*
 * og_spool_replay - write up to limit (0: all) waiting records to st in
 * order, message rows in batches of one transaction each; once none is
 * left, record the dropped count (if any) as an audit row naming host
 * and empty the file. 1 when the spool is empty now, 0 when limit
 * records were written and more wait (or another process holds the
 * replay lock), -1 when the store failed (the records not committed
 * wait for the next call).
 */
int og_spool_replay(struct og_spool *, struct og_store *st, const char *host,
    unsigned long limit, struct og_spool_stats *stats);

#endif

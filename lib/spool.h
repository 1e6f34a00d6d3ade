/*
 * spool.h - the store outage spool: rows that wait for the store
 * DESCRIPTION: while the store cannot be reached, outguard-policyd's
 *	store thread appends the rows it could not write (who sent what,
 *	block evidence, delivery counts) to one local file, bounded in
 *	bytes, and replays them in order when the store answers again. The
 *	file is a fixed-size header line (replay offset, dropped count)
 *	followed by records, each a header line "TLEN CRC32" (type M, B or
 *	D, payload length, CRC-32 of type and payload) then the payload and
 *	a newline: a record cut short by a crash, or any bytes that are not
 *	a whole record with the right checksum, are detected, logged and
 *	skipped, never replayed. The replay offset advances only after the
 *	store has committed the records before it, so a replay interrupted
 *	half-way (store lost again, daemon killed) writes no row twice
 *	except the one batch whose commit raced the crash (XXX). Rows that
 *	do not fit under the bound are counted; the count is kept in the
 *	header and written to the store after the replay, as an audit row
 *	(actor "policyd:HOST", action "spool-drop", subject "host:HOST").
 *	One process uses a spool at a time (flock).
 *	Ownership: the handle owns the file descriptor; og_spool_close()
 *	syncs and closes it.
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
int og_spool_add_block(
    struct og_spool *, const struct og_block *, int64_t first_seen);
int og_spool_add_delivered(struct og_spool *, const char *family, long n);
/* og_spool_sync - header and data to disk: 0, or -1 (logged) */
int og_spool_sync(struct og_spool *);

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
 * records were written and more wait, -1 when the store failed (the
 * records not committed wait for the next call).
 */
int og_spool_replay(struct og_spool *, struct og_store *st, const char *host,
    unsigned long limit, struct og_spool_stats *stats);

#endif

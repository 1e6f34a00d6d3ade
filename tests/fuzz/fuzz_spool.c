/*
 * fuzz_spool.c - fuzz target for the store outage spool's reader
 * DESCRIPTION: the input is a whole spool file (either format). It is
 *	opened read-only (counted, never changed), then for writing (a
 *	first-format file converted, a torn tail taken in or cut off), one
 *	row appended, and replayed into a real SQLite store in a temporary
 *	directory made once per process. Whatever the bytes: no crash, no
 *	more rows replayed than whole records can fit in the input, and a
 *	replay that says "empty" leaves nothing pending.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char dir[64], path[128];
static struct og_store *st;

static void
cleanup(void)
{
	char p[160];

	st = og_store_close(st);
	(void)unlink(path);
	(void)snprintf(p, sizeof(p), "%s.convert", path);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s/s.db", dir);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s/s.db-wal", dir);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s/s.db-shm", dir);
	(void)unlink(p);
	(void)rmdir(dir);
}

static void
once(void)
{
	struct og_strbuf err;
	char spec[160];

	if (st != NULL)
		return;
	(void)snprintf(dir, sizeof(dir), "/tmp/fuzz_spool.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	(void)snprintf(path, sizeof(path), "%s/spool", dir);
	(void)snprintf(spec, sizeof(spec), "sqlite:%s/s.db", dir);
	og_strbuf_init(&err, 0);
	if ((st = og_store_open(spec, &err)) == NULL)
		abort();
	og_strbuf_release(&err);
	(void)atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_msgrec m;
	struct og_strbuf err;
	struct og_spool *sp;
	int fd, rc;

	once();
	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	(void)close(fd);
	og_strbuf_init(&err, 0);
	sp = og_spool_open(path, 1 << 20, OG_SPOOL_RDONLY, &err);
	/* a record is at least "M1 xxxxxxxx\n" + 1 byte + "\n" */
	if (sp != NULL && og_spool_pending(sp) > size / 14 + 1)
		__builtin_trap();
	og_spool_close(sp);
	if ((sp = og_spool_open(path, 1 << 20, 0, &err)) == NULL) {
		og_strbuf_release(&err);
		return 0;
	}
	og_strbuf_release(&err);
	memset(&m, 0, sizeof(m));
	m.host = "mta1";
	m.queue_id = "FUZZ1";
	m.time = 1000;
	m.sender = "";
	m.client_address = "192.0.2.1";
	m.recipient_count = 1;
	m.rcpt_summary = "example.com=1";
	(void)og_spool_add_message(sp, &m);
	rc = og_spool_replay(sp, st, "mta1", 0, &ss);
	if (ss.replayed > size / 14 + 2)
		__builtin_trap();
	if (rc == 1 && og_spool_pending(sp) != 0)
		__builtin_trap();
	og_spool_close(sp);
	return 0;
}

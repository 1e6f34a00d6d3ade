/*
 * t_spool.c - unit tests of lib/spool.c (the store outage spool)
 * DESCRIPTION: appends and replays against a real SQLite store in a
 *	temporary directory: order, the size bound and its drop count (and
 *	the audit row it becomes), a torn last record, garbage bytes (a
 *	seeded fuzz loop: flipped, cut and inserted bytes must never crash
 *	the reader or reach the store), an interrupted replay resumed
 *	without duplicates, reopening an existing spool, a foreign file;
 *	the first format converted; two handles and three processes
 *	appending while another replays, the replay lock, the daemon's
 *	precedence in the replay, a stuck lock holder, the file moved away
 *	under an open handle.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

#define HDR_LEN 128 /* spool.c's header, format 2 */

struct fixture {
	char dir[64];
	char path[128];
	char spec[160];
	struct og_store *st;
};

static int
setup(void **state)
{
	struct fixture *fx = og_calloc(1, sizeof(*fx));
	struct og_strbuf err;

	(void)snprintf(fx->dir, sizeof(fx->dir), "/tmp/t_spool.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	(void)snprintf(fx->path, sizeof(fx->path), "%s/spool", fx->dir);
	(void)snprintf(fx->spec, sizeof(fx->spec), "sqlite:%s/s.db", fx->dir);
	og_strbuf_init(&err, 0);
	fx->st = og_store_open(fx->spec, &err);
	assert_non_null(fx->st);
	og_strbuf_release(&err);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char p[200];

	og_store_close(fx->st);
	(void)unlink(fx->path);
	(void)snprintf(p, sizeof(p), "%s/s.db", fx->dir);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s/s.db-wal", fx->dir);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s/s.db-shm", fx->dir);
	(void)unlink(p);
	(void)rmdir(fx->dir);
	og_free(fx);
	return 0;
}

static struct og_spool *
sp_open(struct fixture *fx, uint64_t max)
{
	struct og_strbuf err;
	struct og_spool *sp;

	og_strbuf_init(&err, 0);
	sp = og_spool_open(fx->path, max, 0, &err);
	if (sp == NULL)
		fail_msg("%s", og_strbuf_str(&err));
	og_strbuf_release(&err);
	return sp;
}

static int
add_msg(struct og_spool *sp, int i)
{
	struct og_msgrec m;
	char qid[32], rs[64];

	(void)snprintf(qid, sizeof(qid), "Q%05d", i);
	(void)snprintf(rs, sizeof(rs), "example.com=%d", i % 7 + 1);
	memset(&m, 0, sizeof(m));
	m.host = "mta1";
	m.queue_id = qid;
	m.time = 1000;
	m.sasl_username = i % 2 ? "alice" : NULL;
	m.sasl_method = i % 2 ? "PLAIN" : NULL;
	m.client_address = "192.0.2.7";
	m.client_name = "client.example";
	m.sender = i % 3 ? "a b@example.org" : "";
	m.recipient_count = i % 7 + 1;
	m.size = 100 + i;
	m.rcpt_summary = rs;
	return og_spool_add_message(sp, &m);
}

struct scan {
	int n;
	int ids[4096];
	int bad;
};

static int
scan_cb(const struct og_msgrec *m, void *arg)
{
	struct scan *s = arg;
	unsigned long long v;

	if (strcmp(m->host, "mta1") != 0 || m->queue_id[0] != 'Q' ||
	    og_parse_uint(m->queue_id + 1, 0, 99999, &v) < 0 ||
	    m->size != 100 + (long long)v ||
	    strcmp(m->client_name, "client.example") != 0)
		s->bad++;
	else if (s->n < 4096)
		s->ids[s->n] = (int)v;
	s->n++;
	return 0;
}

static void
scan_store(struct fixture *fx, struct scan *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(
	    og_store_messages_scan(fx->st, NULL, 0, INT64_MAX, scan_cb, s), 0);
	assert_int_equal(s->bad, 0);
}

/* the store holds n message rows, each spooled id once */
static void
store_has_once(struct fixture *fx, int n)
{
	struct scan s;
	char *seen = og_calloc(4096, 1);
	int i;

	scan_store(fx, &s);
	assert_int_equal(s.n, n);
	for (i = 0; i < s.n && i < 4096; i++) {
		assert_in_range(s.ids[i], 0, 4095);
		assert_int_equal(seen[s.ids[i]]++, 0);
	}
	og_free(seen);
}

static long
count_audit(struct fixture *fx, const char *action, char *detail, size_t dl)
{
	struct og_audit *a;
	size_t n, i;
	long c = 0;

	assert_int_equal(og_store_audit_list(fx->st, 0, &a, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(a[i].action, action) == 0) {
			c++;
			if (detail != NULL)
				(void)snprintf(detail, dl, "%s",
				    a[i].detail ? a[i].detail : "");
		}
	og_store_audit_free(a, n);
	return c;
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

/* rows, a block and a delivery count come back in order, then it is empty */
static void
test_order(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 20);
	struct og_block b;
	struct og_block_owned *bo;
	struct scan s;
	off_t empty = file_size(fx->path);
	size_t n;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(add_msg(sp, i), 0);
	memset(&b, 0, sizeof(b));
	b.host = "mta1";
	b.queue_id = "Q00001";
	b.recipient = "x@outlook.com";
	b.provider = "microsoft-consumer";
	b.smtp_code = "550";
	b.enhanced_code = "5.7.1";
	b.reply = "550 5.7.1 Unfortunately, messages from [192.0.2.1] "
	          "weren't sent.";
	b.egress_ip = "192.0.2.1";
	b.source = "status-filter";
	assert_int_equal(og_spool_add_block(sp, &b, 900), 0);
	assert_int_equal(og_spool_add_delivered(sp, "microsoft", 3), 0);
	for (i = 3; i < 6; i++)
		assert_int_equal(add_msg(sp, i), 0);
	assert_int_equal(og_spool_pending(sp), 8);
	assert_true(file_size(fx->path) > empty);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 8);
	assert_int_equal(ss.bad + ss.refused, 0);
	assert_int_equal(og_spool_pending(sp), 0);
	assert_int_equal(file_size(fx->path), empty);
	scan_store(fx, &s);
	assert_int_equal(s.n, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(s.ids[i], i);
	assert_int_equal(og_store_blocks(fx->st, NULL, &bo, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(bo[0].reply, b.reply);
	assert_int_equal(bo[0].first_seen, 900);
	og_store_blocks_free(bo, n);
	/* nothing was dropped: no audit row for it */
	assert_int_equal(count_audit(fx, "spool-drop", NULL, 0), 0);
	/* a second replay of an empty spool writes nothing */
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 8);
	og_spool_close(sp);
}

/* past the bound rows are counted, and the count reaches the store */
static void
test_bound(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 4096);
	struct scan s;
	char detail[256], want[256];
	int i, sent = 100, ok = 0;

	for (i = 0; i < sent; i++)
		ok += add_msg(sp, i) == 0;
	assert_true(ok > 0 && ok < sent);
	assert_true(file_size(fx->path) <= 4096);
	assert_int_equal(og_spool_dropped(sp), (unsigned long long)(sent - ok));
	/* the count survives a restart */
	og_spool_close(sp);
	sp = sp_open(fx, 4096);
	assert_int_equal(og_spool_dropped(sp), (unsigned long long)(sent - ok));
	assert_int_equal(og_spool_pending(sp), (unsigned long)ok);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	scan_store(fx, &s);
	assert_int_equal(s.n, ok);
	assert_int_equal(s.n + (int)og_spool_dropped(sp) + (sent - ok), sent);
	assert_int_equal(
	    count_audit(fx, "spool-drop", detail, sizeof(detail)), 1);
	(void)snprintf(want, sizeof(want),
	    "spool: %d rows dropped during the outage from mta1", sent - ok);
	assert_string_equal(detail, want);
	assert_int_equal(og_spool_dropped(sp), 0);
	og_spool_close(sp);
}

/* a record cut short by a crash is cut off at open, never replayed */
static void
test_torn(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 20);
	struct scan s;
	off_t whole, full;

	assert_int_equal(add_msg(sp, 1), 0);
	assert_int_equal(add_msg(sp, 2), 0);
	og_spool_close(sp);
	whole = file_size(fx->path);
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(add_msg(sp, 3), 0);
	og_spool_close(sp);
	full = file_size(fx->path);
	/* the crash: the third record half written */
	assert_int_equal(truncate(fx->path, whole + (full - whole) / 2), 0);
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(og_spool_pending(sp), 2);
	assert_int_equal(file_size(fx->path), whole);
	/* appends go on from a clean boundary */
	assert_int_equal(add_msg(sp, 4), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 3);
	scan_store(fx, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 2);
	assert_int_equal(s.ids[2], 4);
	og_spool_close(sp);
}

/* garbage between records is skipped; the records around it are not */
static void
test_garbage_middle(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 20);
	static const char junk[] = "M12 deadbeef\nnot a record\n\n\x01\xff"
	                           "B99999 00000000\nM5 0000\n";
	struct scan s;
	int fd;

	assert_int_equal(add_msg(sp, 1), 0);
	og_spool_close(sp);
	fd = open(fx->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk) - 1), sizeof(junk) - 1);
	assert_int_equal(close(fd), 0);
	/* a torn tail is cut at open... */
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(og_spool_pending(sp), 1);
	assert_int_equal(add_msg(sp, 2), 0);
	og_spool_close(sp);
	/* ...garbage in the middle (a crash, then appends) is skipped */
	fd = open(fx->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk) - 1), sizeof(junk) - 1);
	assert_int_equal(close(fd), 0);
	/* and a whole record after it, taken from another spool */
	{
		char other[160], rec[512];
		struct og_strbuf err;
		ssize_t n;
		int ofd;

		(void)snprintf(other, sizeof(other), "%s.b", fx->path);
		og_strbuf_init(&err, 0);
		sp = og_spool_open(other, 1 << 20, 0, &err);
		assert_non_null(sp);
		assert_int_equal(add_msg(sp, 3), 0);
		og_spool_close(sp);
		ofd = open(other, O_RDONLY);
		assert_true(ofd >= 0);
		n = pread(ofd, rec, sizeof(rec), HDR_LEN);
		assert_true(n > 0);
		assert_int_equal(close(ofd), 0);
		(void)unlink(other);
		fd = open(fx->path, O_WRONLY | O_APPEND);
		assert_int_equal(write(fd, rec, (size_t)n), n);
		assert_int_equal(close(fd), 0);
		/* read-only: counted, not changed */
		sp = og_spool_open(fx->path, 1 << 20, OG_SPOOL_RDONLY, &err);
		assert_non_null(sp);
		assert_int_equal(og_spool_pending(sp), 3);
		og_spool_close(sp);
		og_strbuf_release(&err);
	}
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 3);
	scan_store(fx, &s);
	assert_int_equal(s.n, 3);
	og_spool_close(sp);
}

static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * a seeded fuzz loop: damage a spool of 8 records at random (flipped
 * bytes, a cut, inserted bytes); opening and replaying it must not
 * crash, and only rows that were spooled may reach the store, once
 */
static void
test_fuzz(void **state)
{
	struct fixture *fx = *state;
	uint32_t seed = 0x9e3779b9U;
	unsigned char *buf;
	int round;

	buf = og_malloc(1 << 16);
	for (round = 0; round < 300; round++) {
		struct og_spool_stats ss = { 0, 0, 0 };
		struct og_strbuf err;
		struct og_spool *sp;
		struct scan s;
		ssize_t n;
		int fd, i, k, seen[8];

		(void)unlink(fx->path);
		sp = sp_open(fx, 1 << 20);
		for (i = 0; i < 8; i++)
			assert_int_equal(add_msg(sp, 10000 + round * 8 + i), 0);
		og_spool_close(sp);
		fd = open(fx->path, O_RDWR);
		assert_true(fd >= 0);
		n = read(fd, buf, 1 << 16);
		assert_true(n > HDR_LEN);
		switch (rnd(&seed) % 3) {
		case 0: /* flip a few bytes after the header */
			for (k = 0; k < 1 + (int)(rnd(&seed) % 8); k++)
				buf[HDR_LEN +
				    rnd(&seed) % (uint32_t)(n - HDR_LEN)] ^=
				    (unsigned char)(1 + rnd(&seed) % 255);
			break;
		case 1: /* cut anywhere after the header */
			n = HDR_LEN +
			    (ssize_t)(rnd(&seed) % (uint32_t)(n - HDR_LEN));
			break;
		default: /* random bytes inserted after the header */
			k = 1 + (int)(rnd(&seed) % 64);
			i = HDR_LEN +
			    (int)(rnd(&seed) % (uint32_t)(n - HDR_LEN));
			memmove(buf + i + k, buf + i, (size_t)(n - i));
			n += k;
			while (k-- > 0)
				buf[i + k] = (unsigned char)rnd(&seed);
			break;
		}
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, buf, (size_t)n, 0), n);
		assert_int_equal(close(fd), 0);
		og_strbuf_init(&err, 0);
		sp = og_spool_open(fx->path, 1 << 20, 0, &err);
		og_strbuf_release(&err);
		assert_non_null(sp); /* the header was left alone */
		assert_true(og_spool_pending(sp) <= 8);
		(void)og_spool_replay(sp, fx->st, "mta1", 0, &ss);
		assert_true(ss.replayed <= 8);
		og_spool_close(sp);
		scan_store(fx, &s);
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < s.n && i < 4096; i++) {
			if (s.ids[i] < 10000 || s.ids[i] >= 10000 + 2400)
				fail_msg("row %d was never spooled", s.ids[i]);
			if (s.ids[i] >= 10000 + round * 8) {
				k = s.ids[i] - 10000 - round * 8;
				assert_int_equal(seen[k]++, 0);
			}
		}
	}
	og_free(buf);
}

/* a replay cut short (limit, then a "crash") resumes without duplicates */
static void
test_interrupted(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 24);
	int i;

	for (i = 0; i < 1000; i++)
		assert_int_equal(add_msg(sp, i), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 450, &ss), 0);
	assert_int_equal(ss.replayed, 450);
	assert_int_equal(og_spool_pending(sp), 550);
	og_spool_close(sp); /* no final truncation: as if killed here */
	sp = sp_open(fx, 1 << 24);
	assert_int_equal(og_spool_pending(sp), 550);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 1000);
	store_has_once(fx, 1000);
	og_spool_close(sp);
}

/*
 * a crash after the replay, between the header saying "all consumed"
 * and the truncation (or with the truncation done, the header not yet
 * rewritten): nothing is replayed twice, and the spool opens
 */
static void
test_crash_after_replay(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 20);
	char hdr[HDR_LEN + 1];
	unsigned long long end;
	struct scan s;
	int fd;

	assert_int_equal(add_msg(sp, 1), 0);
	assert_int_equal(add_msg(sp, 2), 0);
	og_spool_close(sp);
	/* truncated, the header still saying "all consumed" at the old end */
	end = (unsigned long long)file_size(fx->path);
	(void)snprintf(hdr, sizeof(hdr),
	    "outguard-spool 2 end=%020llu offset=%020llu records=%020llu "
	    "dropped=%020llu\n",
	    end, end, 0ULL, 0ULL);
	assert_int_equal(truncate(fx->path, HDR_LEN), 0);
	fd = open(fx->path, O_WRONLY);
	assert_int_equal(pwrite(fd, hdr, HDR_LEN, 0), HDR_LEN);
	assert_int_equal(close(fd), 0);
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(og_spool_pending(sp), 0);
	assert_int_equal(og_spool_bytes(sp), HDR_LEN);
	assert_int_equal(add_msg(sp, 3), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 1);
	scan_store(fx, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], 3);
	og_spool_close(sp);
}

/*
 * a spool in the first format (header "outguard-spool 1", 74 bytes) is
 * converted at open with the records that wait, unless a process of
 * the earlier version holds it (flock)
 */
static void
test_convert(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_strbuf err;
	struct og_spool *sp = sp_open(fx, 1 << 20);
	char *buf, hdr[80], v1[200];
	struct scan s;
	ssize_t n;
	int fd, i;

	for (i = 0; i < 5; i++)
		assert_int_equal(add_msg(sp, i), 0);
	og_spool_close(sp);
	/* the records after a first-format header: two already replayed */
	buf = og_malloc(1 << 16);
	fd = open(fx->path, O_RDONLY);
	n = pread(fd, buf, 1 << 16, HDR_LEN);
	assert_true(n > 0);
	assert_int_equal(close(fd), 0);
	{
		const char *p = buf;
		size_t skip = 0;

		for (i = 0; i < 2; i++) { /* two records: header + body */
			p = (const char *)memchr(
			        p, '\n', (size_t)(buf + n - p)) +
			    1;
			p = (const char *)memchr(
			        p, '\n', (size_t)(buf + n - p)) +
			    1;
		}
		skip = (size_t)(p - buf);
		(void)snprintf(hdr, sizeof(hdr),
		    "outguard-spool 1 offset=%020llu dropped=%020llu\n",
		    (unsigned long long)(74 + skip), 3ULL);
	}
	(void)snprintf(v1, sizeof(v1), "%s", fx->path);
	fd = open(v1, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, hdr, 74), 74);
	assert_int_equal(write(fd, buf, (size_t)n), n);
	/* an earlier version's daemon holds it: refused, left alone */
	assert_int_equal(flock(fd, LOCK_EX), 0);
	og_strbuf_init(&err, 0);
	assert_null(og_spool_open(fx->path, 1 << 20, 0, &err));
	assert_non_null(strstr(og_strbuf_str(&err), "earlier version"));
	assert_int_equal(close(fd), 0);
	assert_int_equal(file_size(fx->path), 74 + n);
	/* read-only: counted in place */
	sp = og_spool_open(fx->path, 1 << 20, OG_SPOOL_RDONLY, &err);
	assert_non_null(sp);
	assert_int_equal(og_spool_pending(sp), 3);
	og_spool_close(sp);
	og_strbuf_release(&err);
	/* converted: the three that wait, the drop count kept */
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(og_spool_pending(sp), 3);
	assert_int_equal(og_spool_dropped(sp), 3);
	fd = open(fx->path, O_RDONLY);
	assert_int_equal(pread(fd, hdr, 17, 0), 17);
	assert_int_equal(close(fd), 0);
	assert_memory_equal(hdr, "outguard-spool 2 ", 17);
	assert_int_equal(add_msg(sp, 7), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	scan_store(fx, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.ids[0], 2);
	assert_int_equal(s.ids[1], 3);
	assert_int_equal(s.ids[2], 4);
	assert_int_equal(s.ids[3], 7);
	assert_int_equal(count_audit(fx, "spool-drop", NULL, 0), 1);
	og_spool_close(sp);
	og_free(buf);
}

/*
 * two handles (as two processes have) append in turn; each sees the
 * other's rows after a refresh; one replays while the other appends,
 * and every row reaches the store once
 */
static void
test_two_handles(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *a = sp_open(fx, 1 << 22), *b = sp_open(fx, 1 << 22);
	int i;

	for (i = 0; i < 100; i++) {
		assert_int_equal(add_msg(a, i), 0);
		assert_int_equal(add_msg(b, 100 + i), 0);
	}
	assert_int_equal(og_spool_refresh(a), 0);
	assert_int_equal(og_spool_pending(a), 200);
	assert_int_equal(og_spool_pending(b), 200);
	assert_int_equal(og_spool_replay(a, fx->st, "mta1", 150, &ss), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(add_msg(b, 200 + i), 0);
	assert_int_equal(og_spool_refresh(b), 0);
	assert_int_equal(og_spool_pending(b), 150);
	/* a's replay reaches the end b wrote, then empties the file */
	assert_int_equal(og_spool_replay(a, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 300);
	assert_int_equal(file_size(fx->path), HDR_LEN);
	/* b appends at the start of the emptied file, not at its old end */
	assert_int_equal(add_msg(b, 300), 0);
	assert_int_equal(og_spool_pending(b), 1);
	assert_int_equal(og_spool_replay(b, fx->st, "mta1", 0, &ss), 1);
	store_has_once(fx, 301);
	og_spool_close(a);
	og_spool_close(b);
}

/*
 * hold_byte - one of the spool's lock bytes (0 append, 1 replay) held
 * through a descriptor of its own, as another process would: the
 * descriptor (close it to let go)
 */
static int
hold_byte(struct fixture *fx, off_t byte)
{
	struct flock fl;
	int fd;

	fd = open(fx->path, O_RDWR);
	assert_true(fd >= 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	return fd;
}

/* while another process holds the replay lock, a replay leaves it be */
static void
test_replay_lock(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 20);
	struct scan s;
	int fd;

	assert_int_equal(add_msg(sp, 1), 0);
	fd = hold_byte(fx, 1);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 0);
	assert_int_equal(ss.replayed, 0);
	assert_int_equal(og_spool_pending(sp), 1);
	/* appends do not wait for it */
	assert_int_equal(add_msg(sp, 2), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	scan_store(fx, &s);
	assert_int_equal(s.n, 2);
	og_spool_close(sp);
}

/* while a daemon has the spool open, a spawn process leaves it the replay */
static void
test_daemon_first(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_strbuf err;
	struct og_spool *d, *sp = sp_open(fx, 1 << 20);
	struct scan s;

	og_strbuf_init(&err, 0);
	d = og_spool_open(fx->path, 1 << 20, OG_SPOOL_DAEMON, &err);
	assert_non_null(d);
	assert_int_equal(add_msg(sp, 1), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 0);
	assert_int_equal(ss.replayed, 0);
	assert_int_equal(og_spool_refresh(d), 0);
	assert_int_equal(og_spool_pending(d), 1);
	assert_int_equal(og_spool_replay(d, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 1);
	/* no daemon: the spawn process replays */
	og_spool_close(d);
	assert_int_equal(add_msg(sp, 2), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 2);
	scan_store(fx, &s);
	assert_int_equal(s.n, 2);
	og_spool_close(sp);
	og_strbuf_release(&err);
}

/*
 * the append lock held by a stuck process: after the 5 s wait the row
 * is dropped and counted (in the header once the lock is free), and a
 * replay tick does nothing and says "more waits"
 */
static void
test_lock_timeout(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 20);
	int fd;

	assert_int_equal(add_msg(sp, 1), 0);
	fd = hold_byte(fx, 0);
	assert_int_equal(add_msg(sp, 2), -1);
	assert_int_equal(og_spool_dropped(sp), 1);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 0);
	assert_int_equal(ss.replayed, 0);
	assert_int_equal(close(fd), 0);
	og_spool_close(sp); /* the count goes into the header */
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(og_spool_dropped(sp), 1);
	assert_int_equal(og_spool_pending(sp), 1);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(ss.replayed, 1);
	assert_int_equal(count_audit(fx, "spool-drop", NULL, 0), 1);
	og_spool_close(sp);
}

/*
 * processes: three children append 400 rows each while the parent
 * replays in small ticks; every row reaches the store exactly once
 */
static void
test_processes(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 24);
	pid_t pid[3];
	int i, k, st, left = 3;

	for (k = 0; k < 3; k++) {
		if ((pid[k] = fork()) == 0) {
			struct og_spool *c;
			struct og_strbuf err;
			int bad = 0;

			og_strbuf_init(&err, 0);
			if ((c = og_spool_open(fx->path, 1 << 24, 0, &err)) ==
			    NULL)
				_exit(2);
			for (i = 0; i < 400; i++)
				bad += add_msg(c, k * 400 + i) != 0;
			og_spool_close(c);
			_exit(bad > 0 ? 1 : 0);
		}
		assert_true(pid[k] > 0);
	}
	while (left > 0) {
		(void)og_spool_refresh(sp);
		assert_int_not_equal(
		    og_spool_replay(sp, fx->st, "mta1", 50, &ss), -1);
		for (k = 0; k < 3; k++)
			if (pid[k] > 0 &&
			    waitpid(pid[k], &st, WNOHANG) == pid[k]) {
				assert_true(WIFEXITED(st));
				assert_int_equal(WEXITSTATUS(st), 0);
				pid[k] = 0;
				left--;
			}
	}
	assert_int_equal(og_spool_refresh(sp), 0);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	assert_int_equal(og_spool_pending(sp), 0);
	assert_int_equal(og_spool_dropped(sp), 0);
	store_has_once(fx, 1200);
	og_spool_close(sp);
}

/*
 * the file moved away while a handle is open: the next append goes to
 * a new file at the path; the moved file keeps its rows
 */
static void
test_moved_away(void **state)
{
	struct fixture *fx = *state;
	struct og_spool_stats ss = { 0, 0, 0 };
	struct og_spool *sp = sp_open(fx, 1 << 20), *old;
	struct og_strbuf err;
	char moved[200];
	struct scan s;

	assert_int_equal(add_msg(sp, 1), 0);
	(void)snprintf(moved, sizeof(moved), "%s.moved", fx->path);
	assert_int_equal(rename(fx->path, moved), 0);
	assert_int_equal(add_msg(sp, 2), 0);
	assert_int_equal(og_spool_pending(sp), 1);
	assert_int_equal(og_spool_replay(sp, fx->st, "mta1", 0, &ss), 1);
	scan_store(fx, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], 2);
	og_spool_close(sp);
	og_strbuf_init(&err, 0);
	old = og_spool_open(moved, 1 << 20, OG_SPOOL_RDONLY, &err);
	assert_non_null(old);
	assert_int_equal(og_spool_pending(old), 1);
	og_spool_close(old);
	og_strbuf_release(&err);
	(void)unlink(moved);
}

/* a file that is not a spool is refused with a clear reason */
static void
test_foreign(void **state)
{
	struct fixture *fx = *state;
	struct og_strbuf err;
	int fd;

	fd = open(fx->path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	assert_int_equal(close(fd), 0);
	og_strbuf_init(&err, 0);
	assert_null(og_spool_open(fx->path, 1 << 20, 0, &err));
	assert_non_null(strstr(og_strbuf_str(&err), "not an outguard spool"));
	assert_int_equal(chmod(fx->path, 0666), 0);
	(void)unlink(fx->path);
	fd = open(fx->path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(fx->path, 0666), 0);
	assert_null(og_spool_open(fx->path, 1 << 20, 0, &err));
	assert_non_null(strstr(og_strbuf_str(&err), "world writable"));
	(void)unlink(fx->path);
	assert_null(og_spool_open(fx->path, 1 << 20, OG_SPOOL_RDONLY, &err));
	assert_non_null(strstr(og_strbuf_str(&err), "No such file"));
	og_strbuf_release(&err);
}

/* store_spool's default place */
static void
test_default(void **state)
{
	struct og_strbuf b;

	(void)state;
	og_strbuf_init(&b, 0);
	og_spool_default(&b, "/x/y", "sqlite:/var/db/o.db");
	assert_string_equal(og_strbuf_str(&b), "/x/y");
	og_spool_default(&b, "", "sqlite:/var/db/o.db");
	assert_string_equal(og_strbuf_str(&b), "/var/db/outguard.spool");
	og_spool_default(&b, NULL, "pgsql:host=db");
	assert_string_equal(og_strbuf_str(&b), OG_SPOOL_DEFAULT);
	og_strbuf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_garbage_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_after_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_convert, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_two_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_replay_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_daemon_first, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lock_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_moved_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
		cmocka_unit_test(test_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * spool.c - the store outage spool (see spool.h for the file format)
 * DESCRIPTION: many writers, one replayer at a time. Every process
 *	that records rows (the daemon's store thread, the spawn(8)
 *	policy and status filter processes) opens the one file and takes
 *	its append lock (byte 0, an open file description lock: F_OFD_SETLK,
 *	else a POSIX lock) for each operation only: read the header, write
 *	the record at the end the header names, write the header. The
 *	replay lock (byte 1) is taken for one replay tick; the replayer
 *	reads the records before the end it read under the append lock
 *	(appends only ever go after it) and advances the header's offset
 *	under the append lock after each commit. Only the replayer empties
 *	the file (in place, under both locks, when nothing is left after
 *	the offset). After taking the append lock a process checks that
 *	the path still names its file (moved away, or converted from the
 *	first format) and reopens it if not.
 *	Records are written with pwrite() at the header's end (not
 *	O_APPEND: Linux pwrite() would append the header update too). A
 *	payload is a series of fields "LEN:BYTES " or "- " (NULL); numbers
 *	are decimal fields. The file is read back as hostile input: every
 *	length is bounded before it is used, and only a record whose
 *	header parses strictly and whose CRC-32 matches is replayed; after
 *	a bad one the reader looks for the next whole record after a
 *	newline. Whole records after the header's end (a writer killed
 *	between the record and the header) are taken in; other bytes there
 *	are cut off.
 *	The CRC-32 (IEEE, bitwise) is written out here: ten lines, and it
 *	spares libog a zlib dependency for one checksum.
 * DIAGNOSTICS: see spool.h; torn and bad records are logged with their
 *	offsets, rate-limited.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

#define HDR_FMT                                                                \
	"outguard-spool 2 end=%020llu offset=%020llu records=%020llu "         \
	"dropped=%020llu\n"
#define HDR_LEN 128 /* bytes of HDR_FMT formatted */
#define HDR1_FMT "outguard-spool 1 offset=%020llu dropped=%020llu\n"
#define HDR1_LEN 74 /* the first format's header (converted at open) */
#define REC_HDR_MAX 24 /* "T" + up to 5 digits + " " + 8 hex + "\n" */
#define REC_MIN 14 /* "T1 " + 8 hex + "\n" + 1 byte + "\n" */
#define FIELD_MAX 8192 /* OG_STORE_TEXT_MAX: no stored string is longer */
#define MSG_FIELDS 11
#define BLOCK_FIELDS 18
#define DELIV_FIELDS 2
#define FIELDS_MAX 18
#define BATCH 200 /* message rows per replay transaction */
#define LK_APPEND 0 /* the lock bytes */
#define LK_REPLAY 1
#define LK_DAEMON 2 /* shared, for a daemon's life: spawn processes defer */
#define LOCK_WAIT_MS 5000 /* for the append lock, then the row is dropped */
#define REOPEN_MAX 8 /* path replaced under us this often: give up */

struct og_spool {
	int fd;
	int rdonly;
	int daemon; /* OG_SPOOL_DAEMON */
	char *path;
	dev_t dev; /* the file fd is open on */
	ino_t ino;
	unsigned long gen; /* bumped when the file was reopened */
	uint64_t max; /* bound of the file's size */
	/* the header as last read or written under the append lock */
	uint64_t end; /* end of the last whole record: where appends go */
	uint64_t offset; /* replay resumes here */
	unsigned long long records; /* whole records after the offset */
	unsigned long long dropped;
	unsigned long long lost; /* dropped, not yet in the header */
	int dirty; /* data not synced */
	struct og_strbuf rec; /* scratch for one record */
	struct og_ratelimit rl;
};

/* one record read back: fields point into buf (NUL-terminated) */
struct rec {
	char type;
	char *buf;
	uint32_t len;
	const char *f[FIELDS_MAX];
	size_t nf;
};
static uint32_t
crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	size_t i;
	int k;

	crc = ~crc;
	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
	}
	return ~crc;
}

static uint32_t
rec_crc(char type, const void *p, size_t n)
{
	unsigned char t = (unsigned char)type;

	return crc32_update(crc32_update(0, &t, 1), p, n);
}

/* write_all - pwrite n bytes at off, or -1 */
static int
write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, c, n, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* read_at - up to n bytes at off; bytes read, or -1 */
static ssize_t
read_at(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* write_header - the cached header into the file (append lock held) */
static int
write_header(struct og_spool *sp)
{
	char h[HDR_LEN + 1];

	(void)snprintf(h, sizeof(h), HDR_FMT, (unsigned long long)sp->end,
	    (unsigned long long)sp->offset, sp->records, sp->dropped);
	if (write_all(sp->fd, h, HDR_LEN, 0) < 0) {
		og_warnx_rl(
		    &sp->rl, "spool %s: write: %s", sp->path, strerror(errno));
		return -1;
	}
	sp->dirty = 1;
	return 0;
}

struct hdr {
	int version; /* 1 or 2 */
	unsigned long long end, offset, records, dropped;
};

/*
 * parse_header - the file's first line into h: 0, or -1 (reason in
 * err) when it is not a spool header in either format's exact form
 */
static int
parse_header(const struct og_spool *sp, struct hdr *h, struct og_strbuf *err)
{
	char b[HDR_LEN + 1], want[HDR_LEN + 1];
	ssize_t n;

	memset(h, 0, sizeof(*h));
	if ((n = read_at(sp->fd, b, HDR_LEN, 0)) < 0) {
		(void)og_strbuf_addf(
		    err, "spool %s: read: %s", sp->path, strerror(errno));
		return -1;
	}
	b[n] = '\0';
	/* parse, then print back: only the exact canonical form passes */
	if (n == HDR_LEN &&
	    sscanf(b,
	        "outguard-spool 2 end=%20llu offset=%20llu records=%20llu "
	        "dropped=%20llu",
	        &h->end, &h->offset, &h->records, &h->dropped) == 4 &&
	    snprintf(want, sizeof(want), HDR_FMT, h->end, h->offset, h->records,
	        h->dropped) == HDR_LEN &&
	    memcmp(b, want, HDR_LEN) == 0) {
		h->version = 2;
		if (h->offset < HDR_LEN || h->end < h->offset) {
			(void)og_strbuf_addf(err,
			    "spool %s: header: offset %llu, end %llu: not "
			    "possible: move it away",
			    sp->path, h->offset, h->end);
			return -1;
		}
		return 0;
	}
	if (n >= HDR1_LEN &&
	    sscanf(b, "outguard-spool 1 offset=%20llu dropped=%20llu",
	        &h->offset, &h->dropped) == 2 &&
	    snprintf(want, sizeof(want), HDR1_FMT, h->offset, h->dropped) ==
	        HDR1_LEN &&
	    memcmp(b, want, HDR1_LEN) == 0) {
		h->version = 1;
		if (h->offset < HDR1_LEN) {
			(void)og_strbuf_addf(err,
			    "spool %s: replay offset %llu inside the header: "
			    "move it away",
			    sp->path, h->offset);
			return -1;
		}
		return 0;
	}
	(void)og_strbuf_addf(err,
	    "spool %s: not an outguard spool file (%s header): move it away",
	    sp->path, n < HDR1_LEN ? "short" : "bad");
	return -1;
}
static int
read_rec(const struct og_spool *sp, uint64_t off, uint64_t size, struct rec *r,
    uint64_t *next)
{
	char h[REC_HDR_MAX + 1], *p, *nl;
	unsigned long long len;
	unsigned long crc;
	ssize_t n;
	size_t hl;

	if (off >= size)
		return 0;
	if ((n = read_at(sp->fd, h, REC_HDR_MAX, off)) <= 0)
		return -1;
	h[n] = '\0';
	if ((nl = memchr(h, '\n', (size_t)n)) == NULL)
		return -1;
	*nl = '\0';
	hl = (size_t)(nl - h) + 1;
	if (strchr("MBD", h[0]) == NULL || h[0] == '\0' || h[1] < '1' ||
	    h[1] > '9')
		return -1;
	if ((p = strchr(h, ' ')) == NULL || strlen(p + 1) != 8 ||
	    strspn(p + 1, "0123456789abcdef") != 8)
		return -1;
	*p = '\0';
	if (strspn(h + 1, "0123456789") != strlen(h + 1) ||
	    og_parse_uint(h + 1, 1, OG_SPOOL_RECORD_MAX, &len) < 0)
		return -1;
	crc = strtoul(p + 1, NULL, 16);
	if (off + hl + len + 1 > size)
		return -1;
	r->type = h[0];
	r->len = (uint32_t)len;
	r->buf = og_malloc(len + 1);
	if (read_at(sp->fd, r->buf, len + 1, off + hl) != (ssize_t)len + 1 ||
	    r->buf[len] != '\n' || rec_crc(r->type, r->buf, len) != crc) {
		r->buf = og_free(r->buf);
		return -1;
	}
	r->buf[len] = '\0';
	*next = off + hl + len + 1;
	return 1;
}

/*
 * resync - after a bad record at off: the next offset where a whole
 * record starts (just after a newline), or size if none does
 */
static uint64_t
resync(const struct og_spool *sp, uint64_t off, uint64_t size)
{
	char buf[4096];
	uint64_t pos = off + 1, next;
	struct rec r;
	ssize_t n, i;

	while (pos < size) {
		if ((n = read_at(sp->fd, buf, sizeof(buf), pos)) <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n')
				continue;
			if (read_rec(sp, pos + (uint64_t)i + 1, size, &r,
			        &next) == 1) {
				og_free(r.buf);
				return pos + (uint64_t)i + 1;
			}
		}
		pos += (uint64_t)n;
	}
	return size;
}

/* split - the payload's fields in place: 0, or -1 if malformed */
static int
split(struct rec *r, size_t want)
{
	char *p = r->buf, *e = r->buf + r->len;
	unsigned long long n;
	char num[8];
	size_t dl;

	r->nf = 0;
	while (p < e) {
		if (r->nf == want)
			return -1;
		if (*p == '-') {
			if (p + 1 >= e || p[1] != ' ')
				return -1;
			r->f[r->nf++] = NULL;
			p += 2;
			continue;
		}
		dl = strspn(p, "0123456789");
		if (dl == 0 || dl >= sizeof(num) || p[dl] != ':' ||
		    (dl > 1 && *p == '0'))
			return -1;
		memcpy(num, p, dl);
		num[dl] = '\0';
		if (og_parse_uint(num, 0, FIELD_MAX, &n) < 0)
			return -1;
		p += dl + 1;
		if ((size_t)(e - p) < n + 1 || p[n] != ' ' ||
		    memchr(p, '\0', n) != NULL)
			return -1;
		p[n] = '\0';
		r->f[r->nf++] = p;
		p += n + 1;
	}
	return r->nf == want ? 0 : -1;
}

/* num - a decimal field (optionally negative) into *v: 0 or -1 */
static int
num(const char *s, long long *v)
{
	unsigned long long u;
	int neg = 0;

	if (s == NULL)
		return -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (og_parse_uint(s, 0, INT64_MAX, &u) < 0)
		return -1;
	*v = neg ? -(long long)u : (long long)u;
	return 0;
}

/* scan - count the whole records from the offset; the end of the last */

/*
 * scan - the whole records from off up to size: how many, where the
 * last one ends (off if none), and how many bytes between them are not
 * records
 */
static void
scan(const struct og_spool *sp, uint64_t off, uint64_t size,
    unsigned long long *whole, uint64_t *end, uint64_t *bad)
{
	uint64_t next;
	struct rec r;
	int rc;

	*whole = 0;
	*bad = 0;
	*end = off;
	while ((rc = read_rec(sp, off, size, &r, &next)) != 0) {
		if (rc < 0) {
			next = resync(sp, off, size);
			if (next < size)
				*bad += next - off;
			off = next;
			continue;
		}
		og_free(r.buf);
		(*whole)++;
		off = *end = next;
	}
}

#ifdef F_OFD_SETLK
#define LK_SET F_OFD_SETLK /* owned by the open file */
#define LK_GET F_OFD_GETLK
#else
#define LK_SET F_SETLK /* owned by the process */
#define LK_GET F_GETLK
#endif

/*
 * lock_byte - one lock byte: cmd LK_SET (type F_WRLCK, F_RDLCK or
 * F_UNLCK, without waiting) or LK_GET (*type becomes F_UNLCK when no
 * other holder's lock conflicts); fcntl()'s result
 */
static int
lock_byte(int fd, int cmd, off_t byte, short *type)
{
	struct flock fl;
	int rc;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = *type;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	rc = fcntl(fd, cmd, &fl);
	*type = fl.l_type;
	return rc;
}

/* lock - set or drop a lock byte, without waiting */
static int
lock(int fd, off_t byte, short type)
{
	return lock_byte(fd, LK_SET, byte, &type);
}

/* lock_wait - the lock byte within ms milliseconds: 0, or -1 (errno) */
static int
lock_wait(int fd, off_t byte, long ms)
{
	struct timespec t0, now, nap = { 0, 1000000L };
	long waited;

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (lock(fd, byte, F_WRLCK) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -1;
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (long)(now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000L;
		if (waited >= ms) {
			errno = EAGAIN;
			return -1;
		}
		(void)nanosleep(&nap, NULL);
		if (nap.tv_nsec < 32000000L)
			nap.tv_nsec *= 2;
	}
}

/* claim - a daemon's presence lock on its (new) descriptor */
static void
claim(struct og_spool *sp)
{
	if (sp->daemon && lock(sp->fd, LK_DAEMON, F_RDLCK) < 0)
		og_warnx_rl(&sp->rl, "spool %s: daemon lock: %s", sp->path,
		    strerror(errno));
}

/* daemon_there - does a daemon (not this handle) hold the spool? */
static int
daemon_there(const struct og_spool *sp)
{
	short type = F_WRLCK;

	return lock_byte(sp->fd, LK_GET, LK_DAEMON, &type) == 0 &&
	    type != F_UNLCK;
}

static void
leave(struct og_spool *sp)
{
	(void)lock(sp->fd, LK_APPEND, F_UNLCK);
}

/*
 * open_file - the spool's file (created mode 0600 unless read-only; no
 * symlink; a regular file; not writable by group or others): the
 * descriptor, or -1 with the reason in err
 */
static int
open_file(struct og_spool *sp, struct og_strbuf *err)
{
	struct stat sb;
	int fd;

	fd = open(sp->path,
	    (sp->rdonly ? O_RDONLY : O_RDWR | O_CREAT) | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		(void)og_strbuf_addf(
		    err, "spool %s: open: %s", sp->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		(void)og_strbuf_addf(
		    err, "spool %s: not a regular file", sp->path);
		(void)close(fd);
		return -1;
	}
	if (!sp->rdonly && (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		(void)og_strbuf_addf(err,
		    "spool %s: group or world writable: refused", sp->path);
		(void)close(fd);
		return -1;
	}
	sp->dev = sb.st_dev;
	sp->ino = sb.st_ino;
	return fd;
}

/*
 * tail - make the cached header agree with a file of size bytes: the
 * whole records a killed writer left after the header's end are taken
 * in and other bytes there cut off; an end past the file's size (the
 * data lost in a crash, or the file cut) is recounted from the offset.
 * With fix 0 (read-only) only the cached header changes. 1 when the
 * header changed, else 0.
 */
static int
tail(struct og_spool *sp, uint64_t size, int fix)
{
	unsigned long long whole;
	uint64_t end, bad;

	if (size == sp->end)
		return 0;
	if (sp->end > size) {
		if (sp->offset > size) /* emptied, header not yet rewritten */
			sp->offset = size;
		scan(sp, sp->offset, size, &whole, &end, &bad);
		if (sp->offset < size)
			og_warnx("spool %s: the header names %llu bytes, the "
			         "file has %llu: %llu whole records after "
			         "offset %llu",
			    sp->path, (unsigned long long)sp->end,
			    (unsigned long long)size, whole,
			    (unsigned long long)sp->offset);
		sp->records = whole;
	} else {
		scan(sp, sp->end, size, &whole, &end, &bad);
		if (whole > 0)
			og_warnx("spool %s: %llu whole records after the "
			         "header's end (a writer stopped between "
			         "record and header) %s",
			    sp->path, whole, fix ? "taken in" : "counted");
		sp->records += whole;
	}
	if (bad > 0)
		og_warnx("spool %s: %llu bytes that are not whole records "
		         "will be skipped",
		    sp->path, (unsigned long long)bad);
	sp->end = end;
	if (end < size) {
		og_warnx("spool %s: %llu bytes of a torn or bad record at "
		         "offset %llu %s",
		    sp->path, (unsigned long long)(size - end),
		    (unsigned long long)end,
		    fix ? "cut off" : "(not replayed)");
		if (fix && ftruncate(sp->fd, (off_t)end) < 0)
			og_warnx("spool %s: truncate: %s", sp->path,
			    strerror(errno));
	}
	return 1;
}

/*
 * recount - a record count the header cannot be right about (more than
 * its bytes can hold, or none for some bytes) is counted again
 */
static void
recount(struct og_spool *sp, uint64_t size)
{
	unsigned long long whole;
	uint64_t end, bad;

	if (sp->records <= (sp->end - sp->offset) / REC_MIN &&
	    (sp->records > 0 || sp->end == sp->offset))
		return;
	scan(sp, sp->offset, sp->end < size ? sp->end : size, &whole, &end,
	    &bad);
	og_warnx("spool %s: the header counts %llu records, %llu found",
	    sp->path, sp->records, whole);
	sp->records = whole;
}

/*
 * convert - a spool in the first format (one process held it for its
 * life with flock()) becomes a new file in this format with the
 * records that wait, renamed over it; done under the append lock of
 * the old file, and only when no process of an earlier version holds
 * it. On success the append lock of the new file is held.
 */
static int
convert(struct og_spool *sp, const struct hdr *h, uint64_t size,
    struct og_strbuf *err)
{
	struct og_strbuf tmp;
	char hb[HDR_LEN + 1], *buf;
	uint64_t off, next, pos = HDR_LEN, len;
	unsigned long long n = 0;
	struct stat sb;
	struct rec r;
	int fd, k;

	if (flock(sp->fd, LOCK_EX | LOCK_NB) < 0) {
		(void)og_strbuf_addf(err,
		    "spool %s: in the first format and held by a process of "
		    "an earlier version of outguard: stop it first",
		    sp->path);
		return -1;
	}
	og_strbuf_init(&tmp, 0);
	(void)og_strbuf_addf(&tmp, "%s.convert", sp->path);
	(void)unlink(og_strbuf_str(&tmp));
	fd = open(og_strbuf_str(&tmp),
	    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || lock(fd, LK_APPEND, F_WRLCK) < 0)
		goto fail;
	off = h->offset > size ? size : h->offset;
	while ((k = read_rec(sp, off, size, &r, &next)) != 0) {
		if (k < 0) {
			off = resync(sp, off, size);
			continue;
		}
		og_free(r.buf);
		len = next - off; /* bounded by read_rec() */
		buf = og_malloc(len);
		if (read_at(sp->fd, buf, len, off) != (ssize_t)len ||
		    write_all(fd, buf, len, pos) < 0) {
			og_free(buf);
			goto fail;
		}
		og_free(buf);
		pos += len;
		n++;
		off = next;
	}
	(void)snprintf(hb, sizeof(hb), HDR_FMT, (unsigned long long)pos,
	    (unsigned long long)HDR_LEN, n, h->dropped);
	if (write_all(fd, hb, HDR_LEN, 0) < 0 || fdatasync(fd) < 0 ||
	    fstat(fd, &sb) < 0 || rename(og_strbuf_str(&tmp), sp->path) < 0)
		goto fail;
	og_strbuf_release(&tmp);
	(void)close(sp->fd); /* its locks and the flock() go with it */
	sp->fd = fd;
	sp->dev = sb.st_dev;
	sp->ino = sb.st_ino;
	sp->gen++;
	claim(sp);
	sp->end = pos;
	sp->offset = HDR_LEN;
	sp->records = n;
	sp->dropped = h->dropped;
	og_warnx("spool %s: converted from the first format: %llu records "
	         "wait for the store",
	    sp->path, n);
	return 0;
fail:
	(void)og_strbuf_addf(err,
	    "spool %s: converting from the first format: %s", sp->path,
	    strerror(errno));
	if (fd >= 0) {
		(void)close(fd);
		(void)unlink(og_strbuf_str(&tmp));
	}
	og_strbuf_release(&tmp);
	(void)flock(sp->fd, LOCK_UN);
	return -1;
}

/*
 * enter - take the append lock (waiting up to LOCK_WAIT_MS) on the file
 * the path names now, and read its header into the handle: 0, or -1
 * with the reason in err and no lock held
 */
static int
enter(struct og_spool *sp, struct og_strbuf *err)
{
	struct stat fsb, psb;
	struct hdr h;
	uint64_t size;
	int tries, fd;

	for (tries = 0;; tries++) {
		if (lock_wait(sp->fd, LK_APPEND, LOCK_WAIT_MS) < 0) {
			(void)og_strbuf_addf(err, "spool %s: lock: %s",
			    sp->path,
			    errno == EAGAIN ? "held by another process for "
			                      "5 seconds"
			                    : strerror(errno));
			return -1;
		}
		if (fstat(sp->fd, &fsb) < 0) {
			(void)og_strbuf_addf(err, "spool %s: fstat: %s",
			    sp->path, strerror(errno));
			goto fail;
		}
		if (lstat(sp->path, &psb) == 0 && psb.st_dev == fsb.st_dev &&
		    psb.st_ino == fsb.st_ino)
			break;
		/* moved away, removed or converted: the path's file now */
		leave(sp);
		if (tries == REOPEN_MAX) {
			(void)og_strbuf_addf(err,
			    "spool %s: the file keeps being replaced",
			    sp->path);
			return -1;
		}
		if ((fd = open_file(sp, err)) < 0)
			return -1;
		(void)close(sp->fd);
		sp->fd = fd;
		sp->gen++;
		claim(sp);
		og_info("spool %s: the file was replaced: reopened", sp->path);
	}
	size = (uint64_t)fsb.st_size;
	if (size == 0) { /* just created */
		sp->end = sp->offset = HDR_LEN;
		sp->records = sp->dropped = 0;
		if (write_header(sp) < 0) {
			(void)og_strbuf_addf(err, "spool %s: write header: %s",
			    sp->path, strerror(errno));
			goto fail;
		}
		return 0;
	}
	if (parse_header(sp, &h, err) < 0)
		goto fail;
	if (h.version == 1) {
		if (convert(sp, &h, size, err) < 0)
			goto fail;
		return 0;
	}
	sp->end = h.end;
	sp->offset = h.offset;
	sp->records = h.records;
	sp->dropped = h.dropped;
	recount(sp, size);
	(void)tail(sp, size, 1);
	if (sp->records != h.records || sp->end != h.end ||
	    sp->offset != h.offset)
		(void)write_header(sp);
	return 0;
fail:
	leave(sp);
	return -1;
}

/* begin - enter() for an operation, logging why not; lost rows folded */
static int
begin(struct og_spool *sp)
{
	struct og_strbuf err;
	int rc;

	if (sp->rdonly)
		return -1;
	og_strbuf_init(&err, 0);
	if ((rc = enter(sp, &err)) < 0)
		og_warnx_rl(&sp->rl, "%s", og_strbuf_str(&err));
	og_strbuf_release(&err);
	if (rc == 0 && sp->lost > 0) {
		sp->dropped += sp->lost;
		sp->lost = 0;
		(void)write_header(sp);
	}
	return rc;
}

/* read_only - the header and tail of a file opened with OG_SPOOL_RDONLY */
static int
read_only(struct og_spool *sp, struct og_strbuf *err)
{
	unsigned long long whole;
	struct stat sb;
	struct hdr h;
	uint64_t end, bad;

	if (fstat(sp->fd, &sb) < 0) {
		(void)og_strbuf_addf(
		    err, "spool %s: fstat: %s", sp->path, strerror(errno));
		return -1;
	}
	sp->end = sp->offset = HDR_LEN;
	sp->records = sp->dropped = 0;
	if (sb.st_size == 0)
		return 0;
	if (parse_header(sp, &h, err) < 0)
		return -1;
	sp->offset = h.offset;
	sp->dropped = h.dropped;
	if (h.version == 1) {
		if (sp->offset > (uint64_t)sb.st_size)
			sp->offset = (uint64_t)sb.st_size;
		scan(sp, sp->offset, (uint64_t)sb.st_size, &whole, &end, &bad);
		sp->end = end;
		sp->records = whole;
		return 0;
	}
	sp->end = h.end;
	sp->records = h.records;
	recount(sp, (uint64_t)sb.st_size);
	(void)tail(sp, (uint64_t)sb.st_size, 0);
	return 0;
}

struct og_spool *
og_spool_open(const char *path, uint64_t max, int flags, struct og_strbuf *err)
{
	struct og_spool *sp;

	og_strbuf_reset(err);
	sp = og_calloc(1, sizeof(*sp));
	sp->rdonly = (flags & OG_SPOOL_RDONLY) != 0;
	sp->daemon = !sp->rdonly && (flags & OG_SPOOL_DAEMON) != 0;
	sp->path = og_strdup(path);
	sp->max = max < OG_SPOOL_MIN ? OG_SPOOL_MIN
	    : max > OG_SPOOL_MAX     ? OG_SPOOL_MAX
	                             : max;
	sp->rl = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 3);
	og_strbuf_init(&sp->rec, OG_SPOOL_RECORD_MAX + REC_HDR_MAX + 1);
	if ((sp->fd = open_file(sp, err)) < 0)
		goto fail;
	if (sp->rdonly) {
		if (read_only(sp, err) < 0)
			goto fail;
		return sp;
	}
	claim(sp);
	if (enter(sp, err) < 0)
		goto fail;
	leave(sp);
	return sp;
fail:
	og_spool_close(sp);
	return NULL;
}
void
og_spool_default(
    struct og_strbuf *out, const char *conf, const char *store_spec)
{
	const char *slash;

	og_strbuf_reset(out);
	if (conf != NULL && *conf != '\0')
		(void)og_strbuf_adds(out, conf);
	else if (store_spec != NULL &&
	    strncmp(store_spec, "sqlite:/", 8) == 0 &&
	    (slash = strrchr(store_spec, '/')) != NULL) {
		(void)og_strbuf_addn(out, store_spec + 7,
		    (size_t)(slash - (store_spec + 7)) + 1);
		(void)og_strbuf_adds(out, "outguard.spool");
	} else
		(void)og_strbuf_adds(out, OG_SPOOL_DEFAULT);
}

int
og_spool_sync(struct og_spool *sp)
{
	if (sp->rdonly)
		return 0;
	if (sp->lost > 0 && begin(sp) == 0)
		leave(sp); /* the rows dropped meanwhile into the header */
	if (!sp->dirty)
		return 0;
	if (fdatasync(sp->fd) < 0) {
		og_warn("spool %s: fdatasync", sp->path);
		return -1;
	}
	sp->dirty = 0;
	return 0;
}

int
og_spool_refresh(struct og_spool *sp)
{
	struct og_strbuf err;
	int rc;

	if (!sp->rdonly) {
		if (begin(sp) < 0)
			return -1;
		leave(sp);
		return 0;
	}
	og_strbuf_init(&err, 0);
	if ((rc = read_only(sp, &err)) < 0)
		og_warnx_rl(&sp->rl, "%s", og_strbuf_str(&err));
	og_strbuf_release(&err);
	return rc;
}

struct og_spool *
og_spool_close(struct og_spool *sp)
{
	if (sp == NULL)
		return NULL;
	if (sp->fd >= 0) {
		(void)og_spool_sync(sp);
		(void)close(sp->fd);
	}
	og_strbuf_release(&sp->rec);
	og_free(sp->path);
	return og_free(sp);
}
static void
field(struct og_strbuf *b, const char *s)
{
	if (s == NULL) {
		(void)og_strbuf_adds(b, "- ");
		return;
	}
	(void)og_strbuf_addf(b, "%zu:", strlen(s));
	(void)og_strbuf_adds(b, s);
	(void)og_strbuf_addc(b, ' ');
}

static void
field_num(struct og_strbuf *b, long long v)
{
	char n[24];

	(void)snprintf(n, sizeof(n), "%lld", v);
	field(b, n);
}

/*
 * append - frame the payload in sp->rec as one record and write it at
 * the end, or count it as dropped
 */

/*
 * append - frame the payload as one record and write it at the end
 * (append lock held), or count it as dropped
 */
static int
append(struct og_spool *sp, char type, const struct og_strbuf *payload)
{
	char h[REC_HDR_MAX + 1];
	struct og_strbuf *b = &sp->rec;
	int hl;

	if (payload->len == 0 || payload->len > OG_SPOOL_RECORD_MAX)
		goto drop;
	hl = snprintf(h, sizeof(h), "%c%zu %08" PRIx32 "\n", type, payload->len,
	    rec_crc(type, payload->data, payload->len));
	og_strbuf_reset(b);
	if (og_strbuf_addn(b, h, (size_t)hl) < 0 ||
	    og_strbuf_addn(b, payload->data, payload->len) < 0 ||
	    og_strbuf_addc(b, '\n') < 0)
		goto drop;
	if (sp->end + b->len > sp->max)
		goto drop;
	if (write_all(sp->fd, b->data, b->len, sp->end) < 0) {
		og_warnx_rl(
		    &sp->rl, "spool %s: write: %s", sp->path, strerror(errno));
		/* a partial record after the header's end is cut off by
		 * the next process that takes the lock (tail()) */
		goto drop;
	}
	sp->end += b->len;
	sp->records++;
	sp->dirty = 1;
	return 0;
drop:
	sp->dropped++;
	return -1;
}

/* append_one - one record under the lock; 0, or -1 dropped (counted) */
static int
append_one(struct og_spool *sp, char type, const struct og_strbuf *payload)
{
	int rc;

	if (sp->rdonly)
		return -1;
	if (begin(sp) < 0) {
		sp->lost++;
		return -1;
	}
	rc = append(sp, type, payload);
	(void)write_header(sp);
	leave(sp);
	return rc;
}

static void
msg_payload(struct og_strbuf *b, const struct og_msgrec *m)
{
	og_strbuf_reset(b);
	field(b, m->host);
	field(b, m->queue_id);
	field_num(b, m->time);
	field(b, m->sasl_username);
	field(b, m->sasl_method);
	field(b, m->client_address);
	field(b, m->client_name);
	field(b, m->sender);
	field_num(b, m->recipient_count);
	field_num(b, m->size);
	field(b, m->rcpt_summary);
}

int
og_spool_add_message(struct og_spool *sp, const struct og_msgrec *m)
{
	return og_spool_add_messages(sp, m, 1) == 1 ? 0 : -1;
}

size_t
og_spool_add_messages(struct og_spool *sp, const struct og_msgrec *m, size_t n)
{
	struct og_strbuf b;
	size_t i, ok = 0;

	if (n == 0)
		return 0;
	if (sp->rdonly || begin(sp) < 0) {
		sp->lost += n;
		return 0;
	}
	og_strbuf_init(&b, OG_SPOOL_RECORD_MAX + 1);
	for (i = 0; i < n; i++) {
		msg_payload(&b, &m[i]);
		if (append(sp, 'M', &b) == 0)
			ok++;
	}
	og_strbuf_release(&b);
	(void)write_header(sp);
	leave(sp);
	return ok;
}

int
og_spool_add_block(
    struct og_spool *sp, const struct og_block *o, int64_t first_seen)
{
	struct og_strbuf b;
	int rc;

	og_strbuf_init(&b, OG_SPOOL_RECORD_MAX + 1);
	field(&b, o->host);
	field(&b, o->queue_id);
	field(&b, o->recipient);
	field(&b, o->provider);
	field(&b, o->class_);
	field(&b, o->smtp_code);
	field(&b, o->enhanced_code);
	field(&b, o->provider_code);
	field(&b, o->remedy);
	field(&b, o->reply);
	field(&b, o->mx_host);
	field(&b, o->mx_ip);
	field(&b, o->egress_ip);
	field(&b, o->server_tag);
	field(&b, o->server_time);
	field(&b, o->identity);
	field(&b, o->source);
	field_num(&b, first_seen);
	rc = append_one(sp, 'B', &b);
	og_strbuf_release(&b);
	return rc;
}

int
og_spool_add_delivered(struct og_spool *sp, const char *family, long n)
{
	struct og_strbuf b;
	int rc;

	og_strbuf_init(&b, OG_SPOOL_RECORD_MAX + 1);
	field(&b, family);
	field_num(&b, n);
	rc = append_one(sp, 'D', &b);
	og_strbuf_release(&b);
	return rc;
}

unsigned long
og_spool_pending(const struct og_spool *sp)
{
	if (sp->records == 0 && sp->end > sp->offset)
		return 1;
	return sp->records > ULONG_MAX ? ULONG_MAX : (unsigned long)sp->records;
}

unsigned long long
og_spool_dropped(const struct og_spool *sp)
{
	return sp->dropped + sp->lost;
}

unsigned long long
og_spool_bytes(const struct og_spool *sp)
{
	return sp->end;
}

const char *
og_spool_path(const struct og_spool *sp)
{
	return sp->path;
}

/* ---- replay ---- */

struct replay {
	struct og_spool *sp;
	struct og_store *st;
	struct og_spool_stats *stats;
	struct og_msgrec batch[BATCH];
	char *bufs[BATCH];
	size_t n;
	uint64_t batch_end; /* offset after the batch's last record */
	unsigned long batch_recs; /* records the batch covers (bad too) */
	unsigned long gen; /* the file's: another one means stop */
};

/* store_up - after a failed write: is the store there (row refused)? */
static int
store_up(struct og_store *st)
{
	uint64_t gen;

	return og_store_generation(st, &gen) == 0;
}

/*
 * enter_replay - the append lock, on the file the replay started on;
 * 0, or -1 (not locked) when the lock is not there or the file was
 * replaced meanwhile (its offsets are not ours)
 */
static int
enter_replay(struct replay *rp)
{
	if (begin(rp->sp) < 0)
		return -1;
	if (rp->sp->gen != rp->gen) {
		leave(rp->sp);
		og_warnx("spool %s: replaced during the replay: the replay "
		         "starts over on the new file",
		    rp->sp->path);
		return -1;
	}
	return 0;
}

/*
 * committed - the records before off are in the store: the offset
 * advances in the header (under the append lock, as writers change the
 * rest of it) and reaches the disk
 */
static int
committed(struct replay *rp, uint64_t off, unsigned long recs)
{
	struct og_spool *sp = rp->sp;
	int rc;

	if (enter_replay(rp) < 0)
		return -1;
	sp->offset = off;
	sp->records -= recs < sp->records ? recs : sp->records;
	if (sp->offset == sp->end)
		sp->records = 0;
	rc = write_header(sp);
	leave(sp);
	if (rc < 0)
		return -1;
	return og_spool_sync(sp);
}
static void
batch_clear(struct replay *rp)
{
	size_t i;

	for (i = 0; i < rp->n; i++)
		rp->bufs[i] = og_free(rp->bufs[i]);
	rp->n = 0;
	rp->batch_recs = 0;
}

/* flush_batch - the batch in one transaction, else row by row */
static int
flush_batch(struct replay *rp)
{
	unsigned long ok = rp->n;
	size_t i;

	if (rp->n > 0 && og_store_add_messages(rp->st, rp->batch, rp->n) < 0) {
		if (!store_up(rp->st))
			return -1;
		/* the store is there: a row it refuses must not block all */
		for (i = 0; i < rp->n; i++) {
			if (og_store_add_messages(rp->st, &rp->batch[i], 1) ==
			    0)
				continue;
			if (!store_up(rp->st))
				return -1;
			ok--;
			rp->stats->refused++;
			og_warnx_rl(&rp->sp->rl,
			    "spool %s: row %s/%s refused by the store: %s",
			    rp->sp->path, rp->batch[i].host,
			    rp->batch[i].queue_id, og_store_error(rp->st));
		}
	}
	if (rp->batch_recs == 0)
		return 0;
	rp->stats->replayed += ok;
	if (committed(rp, rp->batch_end, rp->batch_recs) < 0)
		return -1;
	batch_clear(rp);
	return 0;
}

/* to_msgrec - a split M record into m (pointing into r); 0 or -1 */
static int
to_msgrec(const struct rec *r, struct og_msgrec *m)
{
	long long t, rc, size;

	if (num(r->f[2], &t) < 0 || num(r->f[8], &rc) < 0 ||
	    num(r->f[9], &size) < 0)
		return -1;
	memset(m, 0, sizeof(*m));
	m->host = r->f[0];
	m->queue_id = r->f[1];
	m->time = t;
	m->sasl_username = r->f[3];
	m->sasl_method = r->f[4];
	m->client_address = r->f[5];
	m->client_name = r->f[6];
	m->sender = r->f[7];
	m->recipient_count = (long)rc;
	m->size = size;
	m->rcpt_summary = r->f[10];
	return og_store_msgrec_valid(m) ? 0 : -1;
}

/* write_one - a B or D record: 0 written or refused, -1 store down */
static int
write_one(struct replay *rp, const struct rec *r)
{
	struct og_block b;
	long long first, n;
	int rc;

	if (r->type == 'D') {
		if (num(r->f[1], &n) < 0 || n < 0 || n > LONG_MAX ||
		    r->f[0] == NULL)
			goto bad;
		rc =
		    og_store_incident_delivered(rp->st, r->f[0], (long)n, NULL);
	} else {
		if (num(r->f[17], &first) < 0)
			goto bad;
		memset(&b, 0, sizeof(b));
		b.host = r->f[0];
		b.queue_id = r->f[1];
		b.recipient = r->f[2];
		b.provider = r->f[3];
		b.class_ = r->f[4];
		b.smtp_code = r->f[5];
		b.enhanced_code = r->f[6];
		b.provider_code = r->f[7];
		b.remedy = r->f[8];
		b.reply = r->f[9];
		b.mx_host = r->f[10];
		b.mx_ip = r->f[11];
		b.egress_ip = r->f[12];
		b.server_tag = r->f[13];
		b.server_time = r->f[14];
		b.identity = r->f[15];
		b.source = r->f[16];
		if (b.host == NULL || b.reply == NULL || b.source == NULL)
			goto bad;
		rc = og_store_block_record(rp->st, &b, first, NULL);
	}
	if (rc == 0) {
		rp->stats->replayed++;
		return 0;
	}
	if (!store_up(rp->st))
		return -1;
	rp->stats->refused++;
	og_warnx_rl(&rp->sp->rl, "spool %s: %s row refused by the store: %s",
	    rp->sp->path, r->type == 'D' ? "delivery count" : "block",
	    og_store_error(rp->st));
	return 0;
bad:
	rp->stats->bad++;
	og_warnx_rl(&rp->sp->rl, "spool %s: malformed %c record skipped",
	    rp->sp->path, r->type);
	return 0;
}

/*
 * finish - all replayed: the drop count into the store's audit, then
 * the file emptied if no writer added a record meanwhile. 1 emptied, 0
 * records came in (the next tick replays them), -1 failed.
 */
static int
finish(struct replay *rp, const char *host)
{
	struct og_spool *sp = rp->sp;
	char subject[300], detail[400];
	unsigned long long d;
	int rc = 1;

	if (enter_replay(rp) < 0)
		return -1;
	d = sp->dropped;
	if (sp->end > sp->offset)
		rc = 0;
	leave(sp);
	if (rc == 0)
		return 0;
	if (d > 0) {
		(void)snprintf(subject, sizeof(subject), "host:%s", host);
		(void)snprintf(detail, sizeof(detail),
		    "spool: %llu rows dropped during the outage from %s", d,
		    host);
		if (og_store_audit(rp->st, og_now(), "policyd", "spool-drop",
		        subject, "store outage", detail) < 0)
			return -1;
		og_warnx("spool %s: %llu rows dropped during the outage "
		         "recorded in the store's audit",
		    sp->path, d);
	}
	/*
	 * A crash after the audit row and before the header counts the
	 * drops twice (XXX). The truncation goes first: a header naming
	 * bytes the file no longer has reads as "nothing waits" (tail()).
	 */
	if (enter_replay(rp) < 0)
		return -1;
	sp->dropped -= d < sp->dropped ? d : sp->dropped;
	if (sp->end == sp->offset) {
		if (ftruncate(sp->fd, HDR_LEN) < 0) {
			og_warn("spool %s: truncate", sp->path);
			rc = -1;
		} else {
			sp->end = sp->offset = HDR_LEN;
			sp->records = 0;
		}
	} else
		rc = 0;
	if (write_header(sp) < 0)
		rc = -1;
	leave(sp);
	if (og_spool_sync(sp) < 0)
		rc = -1;
	return rc;
}

int
og_spool_replay(struct og_spool *sp, struct og_store *st, const char *host,
    unsigned long limit, struct og_spool_stats *stats)
{
	struct replay *rp;
	uint64_t off, end, next;
	unsigned long done = 0, gen = sp->gen;
	struct rec r;
	int rc = 1, k;

	if (sp->rdonly)
		return -1;
	if (!sp->daemon && daemon_there(sp)) {
		og_debug("spool %s: the daemon replays it", sp->path);
		return 0;
	}
	if (lock(sp->fd, LK_REPLAY, F_WRLCK) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			og_debug(
			    "spool %s: another process replays it", sp->path);
		else
			og_warnx_rl(&sp->rl, "spool %s: replay lock: %s",
			    sp->path, strerror(errno));
		return 0;
	}
	if (begin(sp) < 0) {
		rc = 0; /* logged: the next tick tries again */
		goto unlock;
	}
	if (sp->gen != gen) { /* reopened: the lock above is gone */
		leave(sp);
		return 0;
	}
	off = sp->offset;
	end = sp->end; /* appends go after it: what is before stays */
	leave(sp);
	rp = og_calloc(1, sizeof(*rp));
	rp->sp = sp;
	rp->st = st;
	rp->stats = stats;
	rp->gen = gen;
	rp->batch_end = off;
	while ((k = read_rec(sp, off, end, &r, &next)) != 0) {
		if (limit > 0 && done >= limit) {
			if (k > 0)
				og_free(r.buf);
			rc = 0;
			break;
		}
		if (k < 0) {
			next = resync(sp, off, end);
			og_warnx_rl(&sp->rl,
			    "spool %s: %llu bytes at offset %llu are not a "
			    "whole record: skipped",
			    sp->path, (unsigned long long)(next - off),
			    (unsigned long long)off);
			stats->bad++;
			rp->batch_recs++;
			off = rp->batch_end = next;
			continue;
		}
		done++;
		if (r.type == 'M') {
			if (split(&r, MSG_FIELDS) < 0 ||
			    to_msgrec(&r, &rp->batch[rp->n]) < 0) {
				og_free(r.buf);
				stats->bad++;
				og_warnx_rl(&sp->rl,
				    "spool %s: malformed M record at offset "
				    "%llu skipped",
				    sp->path, (unsigned long long)off);
			} else
				rp->bufs[rp->n++] = r.buf;
			rp->batch_recs++;
			off = rp->batch_end = next;
			if (rp->n == BATCH && flush_batch(rp) < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		/* B or D: what came before goes first, in order */
		if (flush_batch(rp) < 0) {
			og_free(r.buf);
			rc = -1;
			break;
		}
		if (split(&r, r.type == 'B' ? BLOCK_FIELDS : DELIV_FIELDS) <
		    0) {
			stats->bad++;
			og_warnx_rl(&sp->rl,
			    "spool %s: malformed %c record at offset %llu "
			    "skipped",
			    sp->path, r.type, (unsigned long long)off);
		} else if (write_one(rp, &r) < 0) {
			og_free(r.buf);
			rc = -1;
			break;
		}
		og_free(r.buf);
		off = rp->batch_end = next;
		if (committed(rp, off, 1) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc >= 0 && flush_batch(rp) < 0)
		rc = -1;
	if (rc == 1)
		rc = finish(rp, host);
	batch_clear(rp);
	og_free(rp);
	if (sp->gen != gen)
		return rc; /* the replay lock went with the old file */
unlock:
	(void)lock(sp->fd, LK_REPLAY, F_UNLCK);
	return rc;
}

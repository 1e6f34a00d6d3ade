/*
 * spool.c - the store outage spool (see spool.h for the file format)
 * DESCRIPTION: one writer (the store thread; flock keeps a second
 *	process out). Records are appended with pwrite() at the end the
 *	handle tracks (not O_APPEND: Linux pwrite() would append the header
 *	update too), and the header is rewritten in place. A payload is a
 *	series of fields "LEN:BYTES " or "- " (NULL); numbers are decimal
 *	fields. The file is read back as hostile input: every length is
 *	bounded before it is used, and only a record whose header parses
 *	strictly and whose CRC-32 matches is replayed; after a bad one the
 *	reader looks for the next whole record after a newline.
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
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

#define HDR_FMT "outguard-spool 1 offset=%020llu dropped=%020llu\n"
#define HDR_LEN 74 /* bytes of HDR_FMT formatted */
#define REC_HDR_MAX 24 /* "T" + up to 5 digits + " " + 8 hex + "\n" */
#define FIELD_MAX 8192 /* OG_STORE_TEXT_MAX: no stored string is longer */
#define MSG_FIELDS 11
#define BLOCK_FIELDS 18
#define DELIV_FIELDS 2
#define FIELDS_MAX 18
#define BATCH 200 /* message rows per replay transaction */

struct og_spool {
	int fd;
	int rdonly;
	char *path;
	uint64_t max; /* bound of the file's size */
	uint64_t end; /* end of the last whole record: where appends go */
	uint64_t offset; /* replay resumes here */
	unsigned long long dropped;
	unsigned long pending;
	int dirty; /* header or data not synced */
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

static int
write_header(struct og_spool *sp)
{
	char h[HDR_LEN + 1];

	(void)snprintf(
	    h, sizeof(h), HDR_FMT, (unsigned long long)sp->offset, sp->dropped);
	if (write_all(sp->fd, h, HDR_LEN, 0) < 0) {
		og_warn("spool %s: write", sp->path);
		return -1;
	}
	sp->dirty = 1;
	return 0;
}

/* read_header - offset and dropped from the file's first line */
static int
read_header(struct og_spool *sp, uint64_t size, struct og_strbuf *err)
{
	char h[HDR_LEN + 1], want[HDR_LEN + 1];
	unsigned long long off, dropped;

	if (read_at(sp->fd, h, HDR_LEN, 0) != HDR_LEN) {
		(void)og_strbuf_addf(err,
		    "spool %s: not an outguard spool file (short "
		    "header): move it away",
		    sp->path);
		return -1;
	}
	h[HDR_LEN] = '\0';
	/* parse, then print back: only the exact canonical form passes */
	if (sscanf(h, "outguard-spool 1 offset=%20llu dropped=%20llu", &off,
	        &dropped) != 2 ||
	    snprintf(want, sizeof(want), HDR_FMT, off, dropped) != HDR_LEN ||
	    memcmp(h, want, HDR_LEN) != 0) {
		(void)og_strbuf_addf(err,
		    "spool %s: not an outguard spool file (bad header): "
		    "move it away",
		    sp->path);
		return -1;
	}
	if (off < HDR_LEN) {
		(void)og_strbuf_addf(err,
		    "spool %s: replay offset %llu inside the header: move it "
		    "away",
		    sp->path, off);
		return -1;
	}
	if (off > size) {
		/* emptied after a replay, stopped before the header said so */
		og_warnx("spool %s: replay offset %llu past the end (%llu "
		         "bytes): nothing waits",
		    sp->path, off, (unsigned long long)size);
		off = size;
	}
	sp->offset = off;
	sp->dropped = dropped;
	return 0;
}

/*
 * read_rec - the record at off: 1 (r filled, *next after it; r->buf is
 * the caller's to og_free), 0 at the end of the file, -1 when the
 * bytes at off are not a whole, correct record
 */
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
static void
scan(struct og_spool *sp, uint64_t size, unsigned long *whole, uint64_t *end,
    uint64_t *bad)
{
	uint64_t off = sp->offset, next;
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

struct og_spool *
og_spool_open(const char *path, uint64_t max, int flags, struct og_strbuf *err)
{
	struct og_spool *sp;
	struct stat sb;
	uint64_t end, bad;
	int oflags;

	og_strbuf_reset(err);
	sp = og_calloc(1, sizeof(*sp));
	sp->rdonly = (flags & OG_SPOOL_RDONLY) != 0;
	sp->path = og_strdup(path);
	sp->max = max < OG_SPOOL_MIN ? OG_SPOOL_MIN
	    : max > OG_SPOOL_MAX     ? OG_SPOOL_MAX
	                             : max;
	sp->rl = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 3);
	og_strbuf_init(&sp->rec, OG_SPOOL_RECORD_MAX + REC_HDR_MAX + 1);
	oflags =
	    (sp->rdonly ? O_RDONLY : O_RDWR | O_CREAT) | O_NOFOLLOW | O_CLOEXEC;
	if ((sp->fd = open(path, oflags, 0600)) < 0) {
		(void)og_strbuf_addf(
		    err, "spool %s: open: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(sp->fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		(void)og_strbuf_addf(err, "spool %s: not a regular file", path);
		goto fail;
	}
	if (!sp->rdonly && (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		(void)og_strbuf_addf(
		    err, "spool %s: group or world writable: refused", path);
		goto fail;
	}
	if (!sp->rdonly && flock(sp->fd, LOCK_EX | LOCK_NB) < 0) {
		(void)og_strbuf_addf(err,
		    "spool %s: in use by another process (%s)", path,
		    strerror(errno));
		goto fail;
	}
	if (sb.st_size == 0 && !sp->rdonly) {
		sp->offset = HDR_LEN;
		if (write_header(sp) < 0) {
			(void)og_strbuf_addf(err, "spool %s: write header: %s",
			    path, strerror(errno));
			goto fail;
		}
		sb.st_size = HDR_LEN;
	} else if (read_header(sp, (uint64_t)sb.st_size, err) < 0)
		goto fail;
	scan(sp, (uint64_t)sb.st_size, &sp->pending, &end, &bad);
	sp->end = end;
	if (bad > 0)
		og_warnx("spool %s: %llu bytes that are not whole records "
		         "will be skipped",
		    path, (unsigned long long)bad);
	if (end < (uint64_t)sb.st_size) {
		og_warnx("spool %s: %llu bytes of a torn or bad record at "
		         "offset %llu %s",
		    path, (unsigned long long)sb.st_size - end,
		    (unsigned long long)end,
		    sp->rdonly ? "(not replayed)" : "cut off");
		if (!sp->rdonly && ftruncate(sp->fd, (off_t)end) < 0) {
			(void)og_strbuf_addf(err, "spool %s: truncate: %s",
			    path, strerror(errno));
			goto fail;
		}
	}
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
	if (sp->rdonly || !sp->dirty)
		return 0;
	if (write_header(sp) < 0)
		return -1;
	if (fdatasync(sp->fd) < 0) {
		og_warn("spool %s: fdatasync", sp->path);
		return -1;
	}
	sp->dirty = 0;
	return 0;
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

/* field - "LEN:BYTES " or "- " into the payload */
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
static int
append(struct og_spool *sp, char type, const struct og_strbuf *payload)
{
	char h[REC_HDR_MAX + 1];
	struct og_strbuf *b = &sp->rec;
	int hl;

	if (sp->rdonly)
		return -1;
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
		/* a partial record must not stay where the next one goes
		 * (the next write lands there anyway; the CRC tells) */
		if (ftruncate(sp->fd, (off_t)sp->end) < 0)
			og_warnx_rl(&sp->rl, "spool %s: truncate: %s", sp->path,
			    strerror(errno));
		goto drop;
	}
	sp->end += b->len;
	sp->pending++;
	sp->dirty = 1;
	return 0;
drop:
	sp->dropped++;
	sp->dirty = 1;
	return -1;
}

int
og_spool_add_message(struct og_spool *sp, const struct og_msgrec *m)
{
	struct og_strbuf b;
	int rc;

	og_strbuf_init(&b, OG_SPOOL_RECORD_MAX + 1);
	field(&b, m->host);
	field(&b, m->queue_id);
	field_num(&b, m->time);
	field(&b, m->sasl_username);
	field(&b, m->sasl_method);
	field(&b, m->client_address);
	field(&b, m->client_name);
	field(&b, m->sender);
	field_num(&b, m->recipient_count);
	field_num(&b, m->size);
	field(&b, m->rcpt_summary);
	rc = append(sp, 'M', &b);
	og_strbuf_release(&b);
	return rc;
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
	rc = append(sp, 'B', &b);
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
	rc = append(sp, 'D', &b);
	og_strbuf_release(&b);
	return rc;
}

unsigned long
og_spool_pending(const struct og_spool *sp)
{
	return sp->pending;
}

unsigned long long
og_spool_dropped(const struct og_spool *sp)
{
	return sp->dropped;
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
};

/* store_up - after a failed write: is the store there (row refused)? */
static int
store_up(struct og_store *st)
{
	uint64_t gen;

	return og_store_generation(st, &gen) == 0;
}

/* committed - the records before off are in the store */
static int
committed(struct replay *rp, uint64_t off, unsigned long recs)
{
	rp->sp->offset = off;
	rp->sp->pending -= recs < rp->sp->pending ? recs : rp->sp->pending;
	if (write_header(rp->sp) < 0)
		return -1;
	return og_spool_sync(rp->sp);
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

/* finish - all replayed: the drop count into the store, the file emptied */
static int
finish(struct og_spool *sp, struct og_store *st, const char *host)
{
	char subject[300], detail[400];

	if (sp->dropped > 0) {
		(void)snprintf(subject, sizeof(subject), "host:%s", host);
		(void)snprintf(detail, sizeof(detail),
		    "spool: %llu rows dropped during the outage from %s",
		    sp->dropped, host);
		if (og_store_audit(st, og_now(), "policyd", "spool-drop",
		        subject, "store outage", detail) < 0)
			return -1;
		og_warnx("spool %s: %llu rows dropped during the outage "
		         "recorded in the store's audit",
		    sp->path, sp->dropped);
	}
	/*
	 * First "all consumed, none dropped" on disk, then the truncation:
	 * a crash in between replays nothing twice (read_header() takes an
	 * offset past the end as "nothing waits").
	 */
	sp->dropped = 0;
	sp->offset = sp->end;
	sp->pending = 0;
	if (write_header(sp) < 0 || og_spool_sync(sp) < 0)
		return -1;
	sp->offset = HDR_LEN;
	sp->end = HDR_LEN;
	if (ftruncate(sp->fd, HDR_LEN) < 0) {
		og_warn("spool %s: truncate", sp->path);
		return -1;
	}
	if (write_header(sp) < 0)
		return -1;
	return og_spool_sync(sp);
}

int
og_spool_replay(struct og_spool *sp, struct og_store *st, const char *host,
    unsigned long limit, struct og_spool_stats *stats)
{
	struct replay *rp;
	uint64_t off = sp->offset, next;
	unsigned long done = 0;
	struct rec r;
	int rc = 1, k;

	if (sp->rdonly)
		return -1;
	rp = og_calloc(1, sizeof(*rp));
	rp->sp = sp;
	rp->st = st;
	rp->stats = stats;
	while ((k = read_rec(sp, off, sp->end, &r, &next)) != 0) {
		if (limit > 0 && done >= limit) {
			if (k > 0)
				og_free(r.buf);
			rc = 0;
			break;
		}
		if (k < 0) {
			next = resync(sp, off, sp->end);
			og_warnx_rl(&sp->rl,
			    "spool %s: %llu bytes at offset %llu are not a "
			    "whole record: skipped",
			    sp->path, (unsigned long long)(next - off),
			    (unsigned long long)off);
			stats->bad++;
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
		off = next;
		if (committed(rp, off, 1) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc >= 0 && flush_batch(rp) < 0)
		rc = -1;
	if (rc == 1 && finish(sp, st, host) < 0)
		rc = -1;
	batch_clear(rp);
	og_free(rp);
	return rc;
}

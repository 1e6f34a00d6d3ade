/*
 * bench_milter.c - milter-protocol load client: drives a milter directly
 *	over its socket, as an MTA does
 * DESCRIPTION: "bench_milter -s SOCKET [-c CONC] [-t SECONDS | -n MSGS]
 *	[-m PERCONN] [-z SIZE] [-b] [-a LOGIN] [-f FROM] [-r RCPT]
 *	[-l LABEL] [-v]" runs CONC threads, each with one connection to SOCKET
 *	(unix:PATH, a path, or inet:PORT@HOST). A connection negotiates
 *	protocol version 6 with every action and every "no reply" and
 *	"leave out" flag offered, as Postfix 3.x does, sends the connect
 *	(and helo) steps, then PERCONN (default 10) messages, then quit,
 *	and reconnects. Postfix's smtpd opens one milter connection per
 *	SMTP session, and a submission session usually carries one
 *	message: -m 1 measures that, with libmilter starting a thread per
 *	connection (the connection set-up counts in messages/s, not in a
 *	message's latency, as in Postfix, which connects at the session's
 *	start). A message is sent in Postfix's order: macros and
 *	MAIL FROM ({auth_type}, {auth_authen} with -a LOGIN, queue id i,
 *	{mail_addr}), RCPT TO, DATA, one header command each, end of
 *	headers, the body in chunks of at most 65535 bytes, end of message.
 *	A step the milter negotiated away is not sent (nor its macros); a
 *	step it wants no reply to is not waited for. A final reply other
 *	than continue before end-of-message ends the message (then abort);
 *	skip ends the body. The message is realistic and SIZE bytes
 *	(default 4096) in all: Received, From, To, Subject, Date, Message-ID
 *	and MIME headers, text lines and a footer with one https
 *	unsubscribe link; with -b it is bulk mail (List-Unsubscribe,
 *	List-Unsubscribe-Post, Precedence: bulk). Latency is measured per
 *	message with CLOCK_MONOTONIC from its first command to the final
 *	reply to end-of-message; percentiles are exact (sorted samples).
 *	Every wait is a poll() of at most 10 s and every reply is capped at
 *	1 MiB, so a stuck or babbling milter is an error, never a hang.
 *	Output: one line "milter=... size=... conc=... perconn=... msgs=N
 *	secs=S msgs_per_s=X p50_ms=A p99_ms=B errors=E results=accept:N,...
 *	changes=addheader:N,..." on stdout; errors are explained on stderr,
 *	and with -v the negotiated version, actions and protocol flags.
 * DIAGNOSTICS: exit 0 when no protocol error happened; 1 when any did
 *	(the connection is dropped and reopened, at most RETRY_MAX times in
 *	a row); 64 on usage errors.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"
#include "util.h"

/* The wire protocol (libmilter's mfdef.h), written out: no -lmilter. */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'

#define SMFIP_NOCONNECT 0x1UL
#define SMFIP_NOHELO 0x2UL
#define SMFIP_NOMAIL 0x4UL
#define SMFIP_NORCPT 0x8UL
#define SMFIP_NOBODY 0x10UL
#define SMFIP_NOHDRS 0x20UL
#define SMFIP_NOEOH 0x40UL
#define SMFIP_NR_HDR 0x80UL
#define SMFIP_NOUNKNOWN 0x100UL
#define SMFIP_NODATA 0x200UL
#define SMFIP_SKIP 0x400UL
#define SMFIP_NR_CONN 0x1000UL
#define SMFIP_NR_HELO 0x2000UL
#define SMFIP_NR_MAIL 0x4000UL
#define SMFIP_NR_RCPT 0x8000UL
#define SMFIP_NR_DATA 0x10000UL
#define SMFIP_NR_UNKN 0x20000UL
#define SMFIP_NR_EOH 0x40000UL
#define SMFIP_NR_BODY 0x80000UL
/* all of the above; not SMFIP_RCPT_REJ nor SMFIP_HDR_LEADSPC */
#define PROTO_OFFER 0xff7ffUL
#define ACTIONS_OFFER 0x1ffUL
#define MILTER_VERSION 6

#define TIMEOUT_MS 10000
#define REPLY_MAX (1024 * 1024)
#define CHUNK_MAX 65535
#define WBUF_CAP (256 * 1024)
#define RBUF_SIZE 65536
#define CONC_MAX 1024
#define SIZE_MAX_MSG (64 * 1024 * 1024)
#define PERCONN_MAX 1000000
#define RETRY_MAX 10
#define HDRS_MAX 16
#define ADDR_MAX 256

/* final results of a message, and the change requests counted */
enum result {
	RES_CONTINUE,
	RES_ACCEPT,
	RES_REJECT,
	RES_TEMPFAIL,
	RES_DISCARD,
	RES_REPLYCODE,
	RES_SKIP, /* only to a body chunk */
	RES_N
};
static const char *const res_names[RES_N] = { "continue", "accept", "reject",
	"tempfail", "discard", "replycode", "skip" };
enum change {
	CH_ADDHDR,
	CH_INSHDR,
	CH_CHGHDR,
	CH_QUAR,
	CH_BODY,
	CH_OTHER,
	CH_N
};
static const char *const ch_names[CH_N] = { "addheader", "insheader",
	"chgheader", "quarantine", "replbody", "other" };

struct hdr {
	const char *name;
	const char *value;
};

/* the options and the message, read-only once the threads run */
static struct {
	const char *sock;
	const char *label;
	const char *login;
	const char *from;
	const char *rcpt;
	unsigned long long conc, secs, msgs, perconn, size;
	int bulk, verbose;
	struct hdr hdrs[HDRS_MAX];
	size_t nhdrs;
	struct og_strbuf body;
} opt;

static atomic_ullong msgs_claimed;
static atomic_int stop_now, told;
static int64_t deadline_us;

struct conn {
	int fd;
	unsigned long proto; /* as negotiated */
	struct og_strbuf w; /* commands not written yet */
	unsigned char rbuf[RBUF_SIZE];
	size_t rpos, rlen;
	unsigned char *rep; /* the data of the last reply */
	size_t replen, repsize;
};

struct worker {
	pthread_t tid;
	unsigned id;
	struct conn c;
	uint32_t *lat; /* microseconds, one per message */
	size_t nlat, latcap;
	unsigned long long res[RES_N], ch[CH_N], errors, seq;
};

static void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: bench_milter -s SOCKET [-c CONC] [-t SECONDS | -n MSGS] "
	    "[-m PERCONN]\n"
	    "\t[-z SIZE] [-b] [-a LOGIN] [-f FROM] [-r RCPT] [-l LABEL] "
	    "[-v]\n");
}

static int64_t
now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
bench_warn(const struct worker *w, const char *what)
{
	(void)fprintf(stderr, "bench_milter: thread %u: %s\n", w->id, what);
}

/*
 * The message.
 */

static const char *const lines[] = {
	"Thank you for reading this month's update. Here is what changed since",
	"the last issue, and what we are working on for the next few weeks.",
	"The new release fixes the slow search that several of you reported,",
	"and the settings page now remembers the last tab you had open.",
	"We also moved the support desk to a new address; the old one keeps",
	"working until the end of the year, so there is no need to hurry.",
	"As always, replies to this message reach a person, not a robot.",
	"",
};

/* msg_build - the headers and body of a SIZE-byte message */
static void
msg_build(void)
{
	static char date[64], recv[512];
	static const char unsub[] = "<https://lists.example.com/unsubscribe?"
	                            "u=8f3a2c91&l=news>";
	static const char footer[] =
	    "--\r\nYou receive this because you subscribed at example.com.\r\n"
	    "To unsubscribe, visit "
	    "https://lists.example.com/unsubscribe?u=8f3a2c91&l=news\r\n";
	size_t hbytes = 2, i, n = 0, want;
	time_t t = time(NULL);
	struct tm tm;

	(void)gmtime_r(&t, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	(void)snprintf(recv, sizeof(recv),
	    "from client.example.com (client.example.com [192.0.2.10])\r\n"
	    "\tby mta.example.com (Postfix) with ESMTPSA id 4XbQ1k0Zz9z1\r\n"
	    "\tfor <%s>; %s",
	    opt.rcpt, date);
	opt.hdrs[n++] = (struct hdr){ "Received", recv };
	opt.hdrs[n++] = (struct hdr){ "From", opt.from };
	opt.hdrs[n++] = (struct hdr){ "To", opt.rcpt };
	opt.hdrs[n++] = (struct hdr){ "Subject",
		opt.bulk ? "News from Example: the November issue"
		         : "Re: the figures for the week" };
	opt.hdrs[n++] = (struct hdr){ "Date", date };
	opt.hdrs[n++] = (struct hdr){ "Message-ID", "" }; /* per message */
	opt.hdrs[n++] = (struct hdr){ "MIME-Version", "1.0" };
	opt.hdrs[n++] = (struct hdr){ "Content-Type",
		"text/plain; charset=utf-8; format=flowed" };
	opt.hdrs[n++] = (struct hdr){ "Content-Transfer-Encoding", "8bit" };
	if (opt.bulk) {
		opt.hdrs[n++] = (struct hdr){ "List-Unsubscribe", unsub };
		opt.hdrs[n++] = (struct hdr){ "List-Unsubscribe-Post",
			"List-Unsubscribe=One-Click" };
		opt.hdrs[n++] = (struct hdr){ "Precedence", "bulk" };
	}
	opt.nhdrs = n;
	for (i = 0; i < n; i++)
		hbytes += strlen(opt.hdrs[i].name) + 2 +
		    strlen(opt.hdrs[i].value) + 2;
	hbytes += 40; /* the Message-ID */
	want = opt.size > hbytes + sizeof(footer) - 1
	    ? opt.size - hbytes - (sizeof(footer) - 1)
	    : 0;
	og_strbuf_init(&opt.body, want + sizeof(footer) + 128);
	for (i = 0; opt.body.len < want; i++) {
		const char *l = lines[i % (sizeof(lines) / sizeof(lines[0]))];
		size_t len = strlen(l);

		if (opt.body.len + len + 2 > want) {
			/* pad the last line to the exact size */
			len = want - opt.body.len >= 2 ? want - opt.body.len - 2
			                               : 0;
			(void)og_strbuf_addn(&opt.body, l, len);
			(void)og_strbuf_adds(&opt.body,
			    want - opt.body.len >= 2 ? "\r\n" : "\n");
			break;
		}
		(void)og_strbuf_addn(&opt.body, l, len);
		(void)og_strbuf_adds(&opt.body, "\r\n");
	}
	(void)og_strbuf_adds(&opt.body, footer);
}

/*
 * The connection: buffered commands, bounded replies.
 */

static int
io_wait(int fd, short events)
{
	struct pollfd p = { fd, events, 0 };
	int r;

	do {
		r = poll(&p, 1, TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* conn_flush - write every buffered command */
static int
conn_flush(struct conn *c)
{
	size_t off = 0;
	ssize_t n;

	while (off < c->w.len) {
		n = send(c->fd, c->w.data + off, c->w.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    io_wait(c->fd, POLLOUT) == 0)
			continue;
		return -1;
	}
	og_strbuf_reset(&c->w);
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * cmd - buffer one command: cmd, then the parts (p, len pairs, NULL
 * ends). A part of length (size_t)-1 is a string sent with its NUL.
 */
static int
cmd(struct conn *c, int code, ...)
{
	unsigned char head[5];
	size_t start, len;
	const void *p;
	va_list ap;
	int r = 0;

	if (c->w.len + 5 + CHUNK_MAX + 1024 > WBUF_CAP && conn_flush(c) < 0)
		return -1;
	start = c->w.len;
	head[4] = (unsigned char)code;
	r |= og_strbuf_addn(&c->w, head, 5);
	va_start(ap, code);
	while ((p = va_arg(ap, const void *)) != NULL) {
		len = va_arg(ap, size_t);
		if (len == (size_t)-1)
			len = strlen(p) + 1;
		r |= og_strbuf_addn(&c->w, p, len);
	}
	va_end(ap);
	if (r != 0) {
		errno = E2BIG;
		return -1;
	}
	put32((unsigned char *)c->w.data + start,
	    (uint32_t)(c->w.len - start - 4));
	return 0;
}

/* fill - at least need bytes in the read buffer */
static int
fill(struct conn *c, size_t need)
{
	ssize_t n;

	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	while (c->rlen < need) {
		n = recv(
		    c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
		    io_wait(c->fd, POLLIN) == 0)
			continue;
		return -1;
	}
	return 0;
}

/* reply - read one reply: its code, its data in c->rep (c->replen) */
static int
reply(struct conn *c, int *code)
{
	size_t len, take;

	if (c->rlen - c->rpos < 4 && fill(c, 4) < 0)
		return -1;
	len = get32(c->rbuf + c->rpos);
	if (len < 1 || len > REPLY_MAX) {
		errno = EPROTO;
		return -1;
	}
	c->rpos += 4;
	if (c->rlen - c->rpos < 1 && fill(c, 1) < 0)
		return -1;
	*code = c->rbuf[c->rpos++];
	len--;
	if (len + 1 > c->repsize) {
		c->rep = og_realloc(c->rep, len + 1);
		c->repsize = len + 1;
	}
	c->replen = 0;
	while (c->replen < len) {
		if (c->rlen == c->rpos && fill(c, 1) < 0)
			return -1;
		take = c->rlen - c->rpos;
		if (take > len - c->replen)
			take = len - c->replen;
		memcpy(c->rep + c->replen, c->rbuf + c->rpos, take);
		c->rpos += take;
		c->replen += take;
	}
	c->rep[len] = '\0';
	return 0;
}

/*
 * await - flush, then read replies up to the final one. Change
 * requests are valid only at end-of-message (eom set); progress
 * anywhere. Returns the result, or -1 (protocol error, reported).
 */
static int
await(struct worker *w, int eom)
{
	struct conn *c = &w->c;
	int code;
	char why[128];

	if (conn_flush(c) < 0) {
		(void)snprintf(why, sizeof(why), "write: %s", strerror(errno));
		bench_warn(w, why);
		return -1;
	}
	for (;;) {
		if (reply(c, &code) < 0) {
			(void)snprintf(
			    why, sizeof(why), "read: %s", strerror(errno));
			bench_warn(w, why);
			return -1;
		}
		switch (code) {
		case 'c':
			return RES_CONTINUE;
		case 'a':
			return RES_ACCEPT;
		case 'r':
			return RES_REJECT;
		case 't':
			return RES_TEMPFAIL;
		case 'd':
			return RES_DISCARD;
		case 'y':
			return RES_REPLYCODE;
		case 's':
			return RES_SKIP;
		case 'p':
			continue;
		}
		if (!eom)
			break;
		switch (code) {
		case 'h':
			w->ch[CH_ADDHDR]++;
			continue;
		case 'i':
			w->ch[CH_INSHDR]++;
			continue;
		case 'm':
			w->ch[CH_CHGHDR]++;
			continue;
		case 'q':
			w->ch[CH_QUAR]++;
			continue;
		case 'b':
			w->ch[CH_BODY]++;
			continue;
		case '+':
		case '-':
		case '2':
		case 'e':
			w->ch[CH_OTHER]++;
			continue;
		}
		break;
	}
	(void)snprintf(why, sizeof(why), "unexpected reply '%c' (0x%02x)%s",
	    code >= 0x20 && code < 0x7f ? code : '?', (unsigned)code,
	    eom ? "" : " before end-of-message");
	bench_warn(w, why);
	return -1;
}

/* step - the result of a step: continue without a wait when no reply */
static int
step(struct worker *w, unsigned long nr, int eom)
{
	return (w->c.proto & nr) != 0 ? RES_CONTINUE : await(w, eom);
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	og_strbuf_reset(&c->w);
	c->rpos = c->rlen = 0;
}

/* sock_connect - a non-blocking socket to SOCKET, or -1 */
static int
sock_connect(const char *spec)
{
	struct sockaddr_un sun;
	struct addrinfo hints, *ai = NULL;
	struct timeval tv = { TIMEOUT_MS / 1000, 0 };
	char host[256];
	const char *at;
	int fd = -1;

	if (strncmp(spec, "inet:", 5) == 0) {
		at = strchr(spec + 5, '@');
		if (at == NULL || (size_t)(at - spec - 5) >= sizeof(host))
			return -1;
		memcpy(host, spec + 5, (size_t)(at - spec - 5));
		host[at - spec - 5] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(at + 1, host, &hints, &ai) != 0)
			return -1;
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd >= 0 &&
		    (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) <
		            0 ||
		        connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)) {
			(void)close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
	} else {
		if (strncmp(spec, "unix:", 5) == 0)
			spec += 5;
		else if (strncmp(spec, "local:", 6) == 0)
			spec += 6;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (og_strlcpy(sun.sun_path, spec, sizeof(sun.sun_path)) >=
		    sizeof(sun.sun_path))
			return -1;
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 &&
		    (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) <
		            0 ||
		        connect(fd, (struct sockaddr *)&sun, sizeof(sun)) <
		            0)) {
			(void)close(fd);
			fd = -1;
		}
	}
	if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		(void)close(fd);
		fd = -1;
	}
	return fd;
}

/* conn_open - connect, negotiate, the connect and helo steps */
static int
conn_open(struct worker *w)
{
	struct conn *c = &w->c;
	unsigned char neg[12], port[2] = { 0x9c, 0x40 + (w->id & 0x3f) };
	uint32_t ver, act, proto;
	int code, r;
	char why[160];

	if ((c->fd = sock_connect(opt.sock)) < 0) {
		(void)snprintf(why, sizeof(why), "connect %s: %s", opt.sock,
		    strerror(errno));
		bench_warn(w, why);
		return -1;
	}
	put32(neg, MILTER_VERSION);
	put32(neg + 4, ACTIONS_OFFER);
	put32(neg + 8, PROTO_OFFER);
	if (cmd(c, SMFIC_OPTNEG, neg, sizeof(neg), NULL) < 0 ||
	    conn_flush(c) < 0 || reply(c, &code) < 0) {
		(void)snprintf(
		    why, sizeof(why), "negotiation: %s", strerror(errno));
		bench_warn(w, why);
		return -1;
	}
	if (code != SMFIC_OPTNEG || c->replen < 12) {
		bench_warn(w, "negotiation: bad reply");
		return -1;
	}
	ver = get32(c->rep);
	act = get32(c->rep + 4);
	proto = get32(c->rep + 8);
	if (ver < 2 || ver > MILTER_VERSION || (act & ~ACTIONS_OFFER) != 0 ||
	    (proto & ~PROTO_OFFER) != 0) {
		(void)snprintf(why, sizeof(why),
		    "negotiation: version %u actions 0x%x protocol 0x%x not "
		    "offered",
		    (unsigned)ver, (unsigned)act, (unsigned)proto);
		bench_warn(w, why);
		return -1;
	}
	c->proto = proto;
	if (opt.verbose && atomic_exchange(&told, 1) == 0)
		(void)fprintf(stderr,
		    "bench_milter: negotiated version %u actions 0x%x "
		    "protocol 0x%x\n",
		    (unsigned)ver, (unsigned)act, (unsigned)proto);
	if (!(proto & SMFIP_NOCONNECT)) {
		if (cmd(c, SMFIC_MACRO, "C", (size_t)1, "j", (size_t)-1,
		        "mta.example.com", (size_t)-1, "{daemon_name}",
		        (size_t)-1, "submission", (size_t)-1, "v", (size_t)-1,
		        "Postfix 3.7.11", (size_t)-1, "_", (size_t)-1,
		        "client.example.com [192.0.2.10]", (size_t)-1,
		        "{client_addr}", (size_t)-1, "192.0.2.10", (size_t)-1,
		        NULL) < 0 ||
		    cmd(c, SMFIC_CONNECT, "client.example.com", (size_t)-1, "4",
		        (size_t)1, port, sizeof(port), "192.0.2.10", (size_t)-1,
		        NULL) < 0)
			return -1;
		if ((r = step(w, SMFIP_NR_CONN, 0)) != RES_CONTINUE)
			return -1;
	}
	if (!(proto & SMFIP_NOHELO)) {
		if (cmd(c, SMFIC_HELO, "client.example.com", (size_t)-1, NULL) <
		    0)
			return -1;
		if ((r = step(w, SMFIP_NR_HELO, 0)) != RES_CONTINUE)
			return -1;
	}
	return 0;
}

/* send_body - the body chunks; RES_CONTINUE, a final result or -1 */
static int
send_body(struct worker *w)
{
	size_t off, n;
	int r;

	for (off = 0; off < opt.body.len; off += n) {
		n = opt.body.len - off > CHUNK_MAX ? CHUNK_MAX
		                                   : opt.body.len - off;
		if (cmd(&w->c, SMFIC_BODY, opt.body.data + off, n, NULL) < 0)
			return -1;
		r = step(w, SMFIP_NR_BODY, 0);
		if (r == RES_SKIP)
			return RES_CONTINUE;
		if (r != RES_CONTINUE)
			return r;
	}
	return RES_CONTINUE;
}

/*
 * message - one message through every step the milter wants; the
 * final result or -1. A final result before end-of-message ends it and
 * the milter is told to reset (abort), as an MTA does.
 */
static int
message(struct worker *w)
{
	struct conn *c = &w->c;
	unsigned long p = c->proto;
	char qid[32], msgid[64], from[ADDR_MAX + 2], rcpt[ADDR_MAX + 2];
	char size[32];
	size_t i;
	int r = RES_CONTINUE;

	w->seq++;
	(void)snprintf(qid, sizeof(qid), "%02X%08llX", w->id & 0xff,
	    w->seq & 0xffffffffULL);
	(void)snprintf(
	    msgid, sizeof(msgid), "<%s.%u@mta.example.com>", qid, w->id);
	(void)snprintf(from, sizeof(from), "<%s>", opt.from);
	(void)snprintf(rcpt, sizeof(rcpt), "<%s>", opt.rcpt);
	(void)snprintf(size, sizeof(size), "SIZE=%llu", opt.size);
	if (!(p & SMFIP_NOMAIL)) {
		if (opt.login != NULL)
			r = cmd(c, SMFIC_MACRO, "M", (size_t)1, "i", (size_t)-1,
			    qid, (size_t)-1, "{mail_addr}", (size_t)-1,
			    opt.from, (size_t)-1, "{auth_type}", (size_t)-1,
			    "PLAIN", (size_t)-1, "{auth_authen}", (size_t)-1,
			    opt.login, (size_t)-1, NULL);
		else
			r = cmd(c, SMFIC_MACRO, "M", (size_t)1, "i", (size_t)-1,
			    qid, (size_t)-1, "{mail_addr}", (size_t)-1,
			    opt.from, (size_t)-1, NULL);
		if (r < 0 ||
		    cmd(c, SMFIC_MAIL, from, (size_t)-1, size, (size_t)-1,
		        NULL) < 0)
			return -1;
		r = step(w, SMFIP_NR_MAIL, 0);
	}
	if (r == RES_CONTINUE && !(p & SMFIP_NORCPT)) {
		if (cmd(c, SMFIC_MACRO, "R", (size_t)1, "{rcpt_addr}",
		        (size_t)-1, opt.rcpt, (size_t)-1, NULL) < 0 ||
		    cmd(c, SMFIC_RCPT, rcpt, (size_t)-1, NULL) < 0)
			return -1;
		r = step(w, SMFIP_NR_RCPT, 0);
	}
	if (r == RES_CONTINUE && !(p & SMFIP_NODATA)) {
		if (cmd(c, SMFIC_DATA, NULL) < 0)
			return -1;
		r = step(w, SMFIP_NR_DATA, 0);
	}
	for (i = 0; r == RES_CONTINUE && !(p & SMFIP_NOHDRS) && i < opt.nhdrs;
	     i++) {
		const char *v =
		    opt.hdrs[i].value[0] != '\0' ? opt.hdrs[i].value : msgid;

		if (cmd(c, SMFIC_HEADER, opt.hdrs[i].name, (size_t)-1, v,
		        (size_t)-1, NULL) < 0)
			return -1;
		r = step(w, SMFIP_NR_HDR, 0);
	}
	if (r == RES_CONTINUE && !(p & SMFIP_NOEOH)) {
		if (cmd(c, SMFIC_EOH, NULL) < 0)
			return -1;
		r = step(w, SMFIP_NR_EOH, 0);
	}
	if (r == RES_CONTINUE && !(p & SMFIP_NOBODY))
		r = send_body(w);
	if (r == RES_CONTINUE) {
		if (cmd(c, SMFIC_MACRO, "E", (size_t)1, "i", (size_t)-1, qid,
		        (size_t)-1, NULL) < 0 ||
		    cmd(c, SMFIC_BODYEOB, NULL) < 0)
			return -1;
		return await(w, 1);
	}
	if (r >= 0 && cmd(c, SMFIC_ABORT, NULL) < 0)
		return -1;
	return r;
}

static void
record(struct worker *w, int64_t us)
{
	if (w->nlat == w->latcap) {
		w->latcap = w->latcap ? w->latcap * 2 : 4096;
		w->lat = og_reallocarray(w->lat, w->latcap, sizeof(*w->lat));
	}
	w->lat[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* more - claim the next message, or 0 when the run is over */
static int
more(void)
{
	if (atomic_load(&stop_now))
		return 0;
	if (opt.msgs > 0)
		return atomic_fetch_add(&msgs_claimed, 1) < opt.msgs;
	return now_us() < deadline_us;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long long k;
	int fails = 0, r, last = 0;
	int64_t t0;

	while (!last && more()) {
		if (conn_open(w) < 0) {
			w->errors++;
			conn_close(&w->c);
			if (++fails > RETRY_MAX)
				break;
			continue;
		}
		for (k = 0, r = 0; k < opt.perconn; k++) {
			if (k > 0 && !more()) {
				last = 1;
				break;
			}
			t0 = now_us();
			if ((r = message(w)) < 0)
				break;
			record(w, now_us() - t0);
			w->res[r]++;
		}
		if (r < 0) {
			w->errors++;
			conn_close(&w->c);
			if (++fails > RETRY_MAX)
				break;
			continue;
		}
		fails = 0;
		if (cmd(&w->c, SMFIC_QUIT, NULL) == 0)
			(void)conn_flush(&w->c);
		conn_close(&w->c);
	}
	if (fails > RETRY_MAX) {
		bench_warn(w, "too many errors in a row: stopping");
		atomic_store(&stop_now, 1);
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* pct - the q-quantile (nearest rank) of sorted samples, in ms */
static double
pct(const uint32_t *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(q * (double)n + 0.999999);
	k = k < 1 ? 1 : (k > n ? n : k);
	return v[k - 1] / 1000.0;
}

static int
getnum(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out, const char *what)
{
	if (og_parse_uint(s, min, max, out) < 0) {
		(void)fprintf(
		    stderr, "bench_milter: %s: %llu..%llu\n", what, min, max);
		return -1;
	}
	return 0;
}

static int
options(int argc, char **argv)
{
	int ch;

	opt.conc = 1;
	opt.secs = 10;
	opt.perconn = 10;
	opt.size = 4096;
	opt.from = "alice@example.com";
	opt.rcpt = "bob@example.net";
	while ((ch = getopt(argc, argv, "a:bc:f:l:m:n:r:s:t:vz:")) != -1) {
		switch (ch) {
		case 'a':
			opt.login = optarg;
			break;
		case 'b':
			opt.bulk = 1;
			break;
		case 'c':
			if (getnum(optarg, 1, CONC_MAX, &opt.conc, "-c") < 0)
				return -1;
			break;
		case 'f':
			opt.from = optarg;
			break;
		case 'l':
			opt.label = optarg;
			break;
		case 'm':
			if (getnum(optarg, 1, PERCONN_MAX, &opt.perconn, "-m") <
			    0)
				return -1;
			break;
		case 'n':
			if (getnum(optarg, 1, 1000000000ULL, &opt.msgs, "-n") <
			    0)
				return -1;
			break;
		case 'r':
			opt.rcpt = optarg;
			break;
		case 's':
			opt.sock = optarg;
			break;
		case 't':
			if (getnum(optarg, 1, 86400, &opt.secs, "-t") < 0)
				return -1;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'z':
			if (getnum(optarg, 1, SIZE_MAX_MSG, &opt.size, "-z") <
			    0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || opt.sock == NULL || strlen(opt.from) > ADDR_MAX ||
	    strlen(opt.rcpt) > ADDR_MAX ||
	    (opt.login != NULL && strlen(opt.login) > ADDR_MAX))
		return -1;
	if (opt.label == NULL)
		opt.label = opt.sock;
	return 0;
}

int
main(int argc, char **argv)
{
	struct worker *ws;
	unsigned long long res[RES_N] = { 0 }, ch[CH_N] = { 0 }, errors = 0;
	uint32_t *all;
	size_t n = 0, i, k;
	int64_t t0, t1;
	double secs;

	if (options(argc, argv) < 0) {
		usage();
		return EX_USAGE;
	}
	msg_build();
	ws = og_calloc(opt.conc, sizeof(*ws));
	t0 = now_us();
	deadline_us = t0 + (int64_t)opt.secs * 1000000;
	for (i = 0; i < opt.conc; i++) {
		ws[i].id = (unsigned)i;
		ws[i].c.fd = -1;
		og_strbuf_init(&ws[i].c.w, WBUF_CAP);
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
			og_fatal(EX_OSERR, "pthread_create");
	}
	for (i = 0; i < opt.conc; i++)
		(void)pthread_join(ws[i].tid, NULL);
	t1 = now_us();
	for (i = 0; i < opt.conc; i++)
		n += ws[i].nlat;
	all = og_calloc(n + 1, sizeof(*all));
	for (i = 0, n = 0; i < opt.conc; i++) {
		memcpy(all + n, ws[i].lat, ws[i].nlat * sizeof(*all));
		n += ws[i].nlat;
		for (k = 0; k < RES_N; k++)
			res[k] += ws[i].res[k];
		for (k = 0; k < CH_N; k++)
			ch[k] += ws[i].ch[k];
		errors += ws[i].errors;
		og_free(ws[i].lat);
		og_free(ws[i].c.rep);
		og_strbuf_release(&ws[i].c.w);
	}
	qsort(all, n, sizeof(*all), cmp_u32);
	secs = (double)(t1 - t0) / 1e6;
	(void)printf("milter=%s size=%llu conc=%llu perconn=%llu msgs=%zu "
	             "secs=%.2f msgs_per_s=%.1f p50_ms=%.3f p99_ms=%.3f "
	             "errors=%llu results=",
	    opt.label, opt.size, opt.conc, opt.perconn, n, secs,
	    secs > 0 ? n / secs : 0, pct(all, n, 0.50), pct(all, n, 0.99),
	    errors);
	for (k = 0; k < RES_SKIP; k++)
		(void)printf("%s%s:%llu", k ? "," : "", res_names[k], res[k]);
	(void)printf(" changes=");
	for (k = 0; k < CH_N; k++)
		(void)printf("%s%s:%llu", k ? "," : "", ch_names[k], ch[k]);
	(void)printf("\n");
	og_free(all);
	og_free(ws);
	og_strbuf_release(&opt.body);
	return errors > 0 ? 1 : 0;
}

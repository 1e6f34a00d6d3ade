/*
 * bench_policy.c - load generator for outguard-policyd (Postfix policy
 *	delegation protocol)
 * DESCRIPTION: "bench_policy -s SOCKET [-c CONC] [-d SECONDS | -n REQS]
 *	[-H HELDFILE] [-p HOLDPCT] [-l LOGINS] [-T THREADS] [-r RATE]
 *	[-t TIMEOUT_MS] [-S SEED]" opens CONC connections to SOCKET (a
 *	path, unix:PATH or inet:HOST:PORT) and on each sends requests one
 *	after the other, waiting for each answer, as a Postfix smtpd does
 *	with its cached policy connection. Each request carries the full
 *	attribute set of Postfix 3.x (31 attributes). Traffic is a sequence
 *	of messages: one RCPT request per recipient (1-3), then one
 *	END-OF-MESSAGE with the queue id and recipient_count. 95% of the
 *	messages come from one of LOGINS (default 5,000) authenticated
 *	logins, 5% are unauthenticated relays from internal hosts;
 *	recipients are spread over the big providers (hotmail.com and its
 *	siblings included) and a thousand other domains. HOLDPCT percent
 *	(default 3) of the messages come from a login listed in HELDFILE
 *	(one login per line, "sasl:" optional); every request of such a
 *	message must be answered "action=HOLD outguard: sasl:LOGIN on hold
 *	...", every other one "action=DUNNO". Any other answer, an extra
 *	byte, a closed connection or an answer later than TIMEOUT_MS
 *	(default 5000) is an error: it is counted and the connection is
 *	reopened (at most RECONNECT_MAX times each).
 *	THREADS (default 1) epoll loops share the connections, so that on a
 *	small machine the generator takes one core and leaves the rest to
 *	the daemon. Without -r each connection sends its next request as
 *	soon as the answer is in (closed loop: the daemon's peak rate).
 *	With -r the connections together start RATE requests per second,
 *	each on its own schedule (a timerfd wakes them); a request that can
 *	only start more than 1 ms after it was due is counted as late, so
 *	that a rate the daemon cannot sustain shows.
 *	Latency is measured per request with CLOCK_MONOTONIC, from the
 *	first byte written to the last byte of the answer read, into a
 *	log-linear histogram (1/64 relative precision; percentiles are
 *	bucket upper bounds, so they never flatter). The traffic is
 *	deterministic for one SEED, concurrency and thread count.
 *	Output: human-readable lines, then one "RESULT key=value ..." line
 *	for scripts (bench/policy.sh).
 * DIAGNOSTICS: exit 0 when every answer was as expected; 1 when any
 *	error was counted; 64 on usage errors; 66 when HELDFILE cannot be
 *	read; 69 when the first connection fails.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"
#include "util.h"

#define CONC_MAX 10000
#define THREADS_MAX 64
#define HELD_MAX 1000000
#define HELD_LEN_MAX 200
#define RCPTS_MAX 3
#define RECONNECT_MAX 10
#define ANSWER_MAX 4096
#define REQUEST_CAP 8192
#define EVENTS 256
#define TICK_MS 50
#define LATE_NS 1000000ULL
#define SLACK_NS 200000ULL /* -r: start up to this early, fewer wakeups */

/* Log-linear latency histogram in nanoseconds. */
#define HIST_SUB_BITS 6
#define HIST_SUB (1U << HIST_SUB_BITS)
#define HIST_ROWS 40
#define HIST_N (2 * HIST_SUB + HIST_ROWS * HIST_SUB)

struct hist {
	uint64_t b[HIST_N];
	uint64_t n, max, sum;
};

enum err_kind {
	E_WRONG, /* DUNNO where HOLD was due, or the reverse */
	E_BAD, /* not a well-formed DUNNO/HOLD answer, or extra bytes */
	E_CLOSED,
	E_TIMEOUT,
	E_CONNECT,
	E_IO,
	E_NKINDS
};

static const char *const err_names[E_NKINDS] = { "wrong answer", "bad answer",
	"closed", "timeout", "connect", "i/o" };

struct stats {
	uint64_t requests, rcpt, eom, eom_sent, dunno, hold, hold_due, messages,
	    late;
	uint64_t err[E_NKINDS];
	struct hist lat;
};

/* One message in progress on a connection. */
struct msg {
	int held, relay, tls;
	unsigned nrcpt, next; /* next == nrcpt: END-OF-MESSAGE is due */
	unsigned long size;
	unsigned client_port;
	char login[HELD_LEN_MAX + 1];
	char sender[HELD_LEN_MAX + 64];
	char client[64], client_name[128], helo[128];
	char qid[16], instance[48];
	char rcpt[RCPTS_MAX][96];
	char expect[HELD_LEN_MAX + 64]; /* HOLD answer prefix */
};

enum conn_state { C_SENDING, C_WAITING, C_PAUSED, C_DONE };

struct conn {
	int fd;
	unsigned id, reconnects;
	enum conn_state state;
	uint64_t rng, sent_ns, msgno;
	uint64_t due_ns; /* with -r: when the next request is due */
	struct og_strbuf out, in;
	size_t out_off;
	int want_out; /* EPOLLOUT registered */
	struct msg m;
};

struct bench {
	const char *spec;
	unsigned conc, nthreads, logins;
	unsigned hold_bp; /* basis points of held messages */
	uint64_t max_requests; /* 0: run for seconds */
	uint64_t rate; /* -r: requests/s asked for; 0: as fast as answered */
	uint64_t interval_ns; /* with -r, per connection; 0: no pacing */
	uint64_t deadline_ns, timeout_ns, seed;
	char **held;
	size_t nheld;
	atomic_uint_fast64_t issued;
	atomic_int stop;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct worker {
	pthread_t thread;
	struct bench *b;
	int ep;
	struct conn *conns;
	size_t nconns, active;
	int tfd; /* timerfd that wakes paused connections (-r) */
	uint64_t armed_ns; /* when tfd fires; 0: disarmed */
	struct stats st;
};

/* Recipient domains and their weights (per mille). */
static const struct {
	const char *domain;
	unsigned weight;
} domains[] = {
	{ "gmail.com", 270 }, { "hotmail.com", 100 }, { "outlook.com", 70 },
	{ "live.com", 20 }, { "msn.com", 10 }, { "hotmail.co.uk", 10 },
	{ "hotmail.fr", 10 }, { "outlook.de", 10 }, { "yahoo.com", 80 },
	{ "yahoo.co.uk", 10 }, { "icloud.com", 40 }, { "gmx.de", 30 },
	{ "web.de", 30 }, { "orange.fr", 20 }, { "aol.com", 10 },
	{ "proton.me", 10 }, { NULL, 270 }, /* one of 1,000 company domains */
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* rnd - xorshift64*: fast, and deterministic per connection */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static unsigned
rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)((rnd(s) >> 32) % n);
}

/* mix - a fixed hash of n, for attributes that stay with one login */
static uint32_t
mix(uint32_t n)
{
	n ^= n >> 16;
	n *= 0x7feb352dU;
	n ^= n >> 15;
	n *= 0x846ca68bU;
	n ^= n >> 16;
	return n;
}

static size_t
hist_index(uint64_t v)
{
	unsigned msb, shift;
	size_t idx;

	if (v < 2 * HIST_SUB)
		return (size_t)v;
	msb = 63U - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	idx = 2 * HIST_SUB + (size_t)(shift - 1) * HIST_SUB +
	    (size_t)((v >> shift) - HIST_SUB);
	return idx < HIST_N ? idx : HIST_N - 1;
}

/* hist_upper - the largest value that falls in bucket idx */
static uint64_t
hist_upper(size_t idx)
{
	uint64_t shift, m;

	if (idx < 2 * HIST_SUB)
		return idx;
	shift = (idx - 2 * HIST_SUB) / HIST_SUB + 1;
	m = (idx - 2 * HIST_SUB) % HIST_SUB + HIST_SUB;
	return ((m + 1) << shift) - 1;
}

static void
hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

static void
hist_merge(struct hist *to, const struct hist *from)
{
	size_t i;

	for (i = 0; i < HIST_N; i++)
		to->b[i] += from->b[i];
	to->n += from->n;
	to->sum += from->sum;
	if (from->max > to->max)
		to->max = from->max;
}

/* hist_pct - the q-th quantile (0 < q <= 1), at most the maximum */
static uint64_t
hist_pct(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)((double)h->n * q + 0.999999), seen = 0;
	size_t i;

	if (h->n == 0)
		return 0;
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->b[i];
		if (seen >= want)
			return hist_upper(i) < h->max ? hist_upper(i) : h->max;
	}
	return h->max;
}

/* Message generation. */

static const char *
pick_domain(uint64_t *r, char *buf, size_t size)
{
	unsigned x = rnd_below(r, 1000), acc = 0;
	size_t i;

	for (i = 0; i < OG_NELEM(domains); i++) {
		acc += domains[i].weight;
		if (x < acc && domains[i].domain != NULL)
			return domains[i].domain;
		if (x < acc)
			break;
	}
	(void)snprintf(buf, size, "corp%03u.example", rnd_below(r, 1000));
	return buf;
}

/* client_of - a stable address and name per login number */
static void
client_of(struct msg *m, uint32_t login)
{
	uint32_t h = mix(login + 1);
	unsigned a = 11 + (h & 0xff) % 212;

	if (a == 127)
		a = 128;
	if (h % 10 == 0)
		(void)snprintf(m->client, sizeof(m->client),
		    "2001:db8:%x:%x::%x", (h >> 8) & 0xffff, login & 0xffff,
		    (h >> 24) + 1);
	else
		(void)snprintf(m->client, sizeof(m->client), "%u.%u.%u.%u", a,
		    (h >> 8) & 0xff, (h >> 16) & 0xff, 1 + (h >> 24) % 254);
	if (h % 7 == 0)
		og_strlcpy(m->client_name, "unknown", sizeof(m->client_name));
	else
		(void)snprintf(m->client_name, sizeof(m->client_name),
		    "dyn-%08x.pool%u.isp%02u.example.net", h, (h >> 4) % 64,
		    (h >> 12) % 40);
	if (h % 3 == 0)
		(void)snprintf(m->helo, sizeof(m->helo), "[%s]", m->client);
	else
		(void)snprintf(
		    m->helo, sizeof(m->helo), "laptop-%05x", h & 0xfffff);
}

static void
new_message(struct bench *b, struct conn *c)
{
	struct msg *m = &c->m;
	uint64_t *r = &c->rng;
	char dbuf[32];
	unsigned i, x;

	memset(m, 0, sizeof(*m));
	c->msgno++;
	m->held = b->nheld > 0 && rnd_below(r, 10000) < b->hold_bp;
	m->relay = !m->held && rnd_below(r, 100) < 5;
	m->tls = !m->relay || rnd_below(r, 2) == 0;
	if (m->held) {
		const char *login = b->held[rnd_below(r, (unsigned)b->nheld)];

		og_strlcpy(m->login, login, sizeof(m->login));
		if (strchr(login, '@') != NULL)
			og_strlcpy(m->sender, login, sizeof(m->sender));
		else
			(void)snprintf(m->sender, sizeof(m->sender),
			    "%s@held.example", login);
		client_of(m, mix((uint32_t)c->msgno) % 100000);
		(void)snprintf(m->expect, sizeof(m->expect),
		    "action=HOLD outguard: sasl:%s on hold since ", m->login);
	} else if (m->relay) {
		x = rnd_below(r, 20);
		(void)snprintf(
		    m->sender, sizeof(m->sender), "noreply@app%02u.example", x);
		(void)snprintf(
		    m->client, sizeof(m->client), "10.1.%u.%u", x / 8, 10 + x);
		(void)snprintf(m->client_name, sizeof(m->client_name),
		    "app%02u.internal.example", x);
		og_strlcpy(m->helo, m->client_name, sizeof(m->helo));
	} else {
		x = rnd_below(r, b->logins);
		(void)snprintf(m->login, sizeof(m->login),
		    "u%05u@cust%02u.example", x, x % 97);
		if (rnd_below(r, 20) == 0)
			(void)snprintf(m->sender, sizeof(m->sender),
			    "info@cust%02u.example", x % 97);
		else
			og_strlcpy(m->sender, m->login, sizeof(m->sender));
		client_of(m, x);
	}
	x = rnd_below(r, 10);
	m->nrcpt = x < 7 ? 1 : x < 9 ? 2 : 3;
	for (i = 0; i < m->nrcpt; i++)
		(void)snprintf(m->rcpt[i], sizeof(m->rcpt[i]), "r%06u@%s",
		    rnd_below(r, 200000), pick_domain(r, dbuf, sizeof(dbuf)));
	m->size = 1500 + rnd_below(r, 200000);
	m->client_port = 1024 + rnd_below(r, 64000);
	(void)snprintf(m->qid, sizeof(m->qid), "%02X%03X%07X",
	    (unsigned)(b->seed & 0xff), c->id & 0xfff,
	    (unsigned)(c->msgno & 0xfffffff));
	(void)snprintf(m->instance, sizeof(m->instance), "%x.%x.%x.0",
	    0x1000 + c->id, (unsigned)(mix(c->id) & 0xfffffff),
	    (unsigned)c->msgno);
}

/* build_request - the next request of c's message, as Postfix 3.x sends */
static int
build_request(struct conn *c)
{
	const struct msg *m = &c->m;
	struct og_strbuf *o = &c->out;
	int eom = m->next == m->nrcpt;
	const char *rcpt =
	    eom ? (m->nrcpt == 1 ? m->rcpt[0] : "") : m->rcpt[m->next];
	int rc;

	og_strbuf_reset(o);
	c->out_off = 0;
	rc = og_strbuf_addf(o,
	    "request=smtpd_access_policy\n"
	    "protocol_state=%s\n"
	    "protocol_name=ESMTP\n"
	    "helo_name=%s\n"
	    "queue_id=%s\n"
	    "sender=%s\n"
	    "recipient=%s\n"
	    "recipient_count=%u\n"
	    "client_address=%s\n"
	    "client_name=%s\n"
	    "reverse_client_name=%s\n"
	    "instance=%s\n",
	    eom ? "END-OF-MESSAGE" : "RCPT", m->helo,
	    /* smtpd_delay_open_until_valid_rcpt: no queue id yet */
	    (!eom && m->next == 0) ? "" : m->qid, m->sender, rcpt,
	    eom ? m->nrcpt : 0, m->client, m->client_name, m->client_name,
	    m->instance);
	rc |= og_strbuf_addf(o,
	    "sasl_method=%s\n"
	    "sasl_username=%s\n"
	    "sasl_sender=\n"
	    "size=%lu\n"
	    "ccert_subject=\n"
	    "ccert_issuer=\n"
	    "ccert_fingerprint=\n"
	    "ccert_pubkey_fingerprint=\n"
	    "encryption_protocol=%s\n"
	    "encryption_cipher=%s\n"
	    "encryption_keysize=%s\n"
	    "etrn_domain=\n"
	    "stress=\n"
	    "server_address=%s\n"
	    "server_port=%s\n"
	    "policy_context=\n"
	    "compatibility_level=3.6\n"
	    "mail_version=3.7.11\n"
	    "client_port=%u\n"
	    "\n",
	    m->relay ? "" : "PLAIN", m->login, m->size, m->tls ? "TLSv1.3" : "",
	    m->tls ? "TLS_AES_256_GCM_SHA384" : "", m->tls ? "256" : "",
	    m->relay ? "10.1.0.1" : "192.0.2.25", m->relay ? "25" : "587",
	    m->client_port);
	return rc;
}

/* Connections. */

static int
parse_spec(struct bench *b)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&b->addr;
	const char *s = b->spec, *colon;
	struct addrinfo hints, *res;
	char host[256];
	size_t hlen;

	memset(&b->addr, 0, sizeof(b->addr));
	if (strncmp(s, "inet:", 5) != 0) {
		if (strncmp(s, "unix:", 5) == 0)
			s += 5;
		if (strlen(s) == 0 || strlen(s) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		og_strlcpy(sun->sun_path, s, sizeof(sun->sun_path));
		b->addrlen = sizeof(*sun);
		return 0;
	}
	s += 5;
	if ((colon = strrchr(s, ':')) == NULL ||
	    (hlen = (size_t)(colon - s)) == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* dial - a connected, non-blocking socket, or -1 */
static int
dial(const struct bench *b)
{
	int fd, one = 1;

	fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&b->addr, b->addrlen) < 0) {
		(void)close(fd);
		return -1;
	}
	if (b->addr.ss_family != AF_UNIX)
		(void)setsockopt(
		    fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

static void
conn_drop(struct worker *w, struct conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
		(void)close(c->fd);
		c->fd = -1;
	}
}

static void
conn_done(struct worker *w, struct conn *c)
{
	conn_drop(w, c);
	if (c->state != C_DONE) {
		c->state = C_DONE;
		w->active--;
	}
}

/* conn_open - (re)connect c and register it; -1 when that failed */
static int
conn_open(struct worker *w, struct conn *c)
{
	struct epoll_event ev;

	if ((c->fd = dial(w->b)) < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	c->want_out = 0;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_drop(w, c);
		return -1;
	}
	return 0;
}

static void
want_out(struct worker *w, struct conn *c, int on)
{
	struct epoll_event ev;

	if (c->want_out == on)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	(void)epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = on;
}

/* may_send - 1 if one more request may start now (and claim it) */
static int
may_send(struct bench *b, uint64_t now)
{
	if (atomic_load(&b->stop))
		return 0;
	if (b->max_requests > 0)
		return atomic_fetch_add(&b->issued, 1) < b->max_requests;
	return now < b->deadline_ns;
}

/* pump - write what is pending of c's request; -1 on an error */
static int
pump(struct worker *w, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(w, c, 1);
			return 0;
		}
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	want_out(w, c, 0);
	c->state = C_WAITING;
	return 0;
}

static void fail(struct worker *, struct conn *, enum err_kind);

/* next - start c's next request, or finish c when the run is over */
static void
next(struct worker *w, struct conn *c, uint64_t now)
{
	if (!may_send(w->b, now)) {
		conn_done(w, c);
		return;
	}
	if (c->m.next == 0) {
		new_message(w->b, c);
		w->st.messages++;
	}
	if (build_request(c) < 0) {
		fail(w, c, E_IO);
		return;
	}
	if (c->m.next == c->m.nrcpt)
		w->st.eom_sent++;
	og_strbuf_reset(&c->in);
	c->state = C_SENDING;
	c->sent_ns = mono_ns();
	if (pump(w, c) < 0)
		fail(w, c, E_IO);
}

/*
 * fail - count an error, abandon the message in progress and reconnect
 * (a closed connection is what Postfix sees too: it opens a new one)
 */
static void
fail(struct worker *w, struct conn *c, enum err_kind k)
{
	w->st.err[k]++;
	conn_drop(w, c);
	c->m.next = 0;
	if (c->reconnects++ >= RECONNECT_MAX || atomic_load(&w->b->stop) ||
	    (w->b->max_requests == 0 && mono_ns() >= w->b->deadline_ns)) {
		conn_done(w, c);
		return;
	}
	if (conn_open(w, c) < 0) {
		w->st.err[E_CONNECT]++;
		conn_done(w, c);
		return;
	}
	next(w, c, mono_ns());
}

/* arm - make the timer fire at t at the latest */
static void
arm(struct worker *w, uint64_t t)
{
	struct itimerspec its;

	if (w->armed_ns != 0 && w->armed_ns <= t)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(t / 1000000000ULL);
	its.it_value.tv_nsec = (long)(t % 1000000000ULL);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm */
	(void)timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	w->armed_ns = t;
}

/*
 * schedule - start c's next request now, or with -r pause c until it
 * is due (or SLACK_NS before: one timer wakeup then starts several
 * connections). A request due more than LATE_NS ago counts as late:
 * then the generator or the daemon cannot keep up with the rate.
 */
static void
schedule(struct worker *w, struct conn *c, uint64_t now)
{
	const struct bench *b = w->b;

	if (b->interval_ns == 0) {
		next(w, c, now);
		return;
	}
	if (c->due_ns <= now + SLACK_NS) {
		if (now > c->due_ns && now - c->due_ns > LATE_NS)
			w->st.late++;
		c->due_ns += b->interval_ns;
		next(w, c, now);
		return;
	}
	if (b->max_requests == 0 && c->due_ns >= b->deadline_ns) {
		conn_done(w, c);
		return;
	}
	c->state = C_PAUSED;
	arm(w, c->due_ns);
}

/* on_timer - start the paused connections that are due */
static void
on_timer(struct worker *w)
{
	uint64_t expirations, now = mono_ns();
	size_t i;

	if (read(w->tfd, &expirations, sizeof(expirations)) < 0)
		expirations = 0; /* EAGAIN: nothing to clear */
	w->armed_ns = 0;
	for (i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->state == C_PAUSED)
			schedule(w, c, now);
	}
}

/* check_answer - tally one complete answer; E_NKINDS when it is right */
static enum err_kind
check_answer(struct worker *w, struct conn *c)
{
	const char *a = c->in.data;
	size_t len = c->in.len;

	if (len < 2 || a[len - 1] != '\n' || a[len - 2] != '\n' ||
	    memchr(a, '\n', len - 2) != NULL)
		return E_BAD;
	if (strcmp(a, "action=DUNNO\n\n") == 0) {
		w->st.dunno++;
		return c->m.held ? E_WRONG : E_NKINDS;
	}
	if (strncmp(a, "action=HOLD ", 12) != 0)
		return E_BAD;
	w->st.hold++;
	if (!c->m.held)
		return E_WRONG;
	/* the answer must name the held login, not some other hold */
	if (strncmp(a, c->m.expect, strlen(c->m.expect)) != 0)
		return E_BAD;
	return E_NKINDS;
}

static void
on_readable(struct worker *w, struct conn *c)
{
	char buf[ANSWER_MAX];
	enum err_kind k;
	uint64_t now;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == 0) {
			fail(w, c, E_CLOSED);
			return;
		}
		if (n < 0) {
			fail(w, c, E_IO);
			return;
		}
		if (c->state != C_WAITING ||
		    og_strbuf_addn(&c->in, buf, (size_t)n) < 0) {
			fail(w, c, E_BAD); /* bytes nobody asked for */
			return;
		}
		if (c->in.len >= 2 && c->in.data[c->in.len - 1] == '\n' &&
		    c->in.data[c->in.len - 2] == '\n')
			break;
		if (memmem(c->in.data, c->in.len, "\n\n", 2) != NULL) {
			fail(w, c, E_BAD); /* bytes after the answer */
			return;
		}
	}
	now = mono_ns();
	hist_add(&w->st.lat, now - c->sent_ns);
	w->st.requests++;
	if (c->m.next == c->m.nrcpt)
		w->st.eom++;
	else
		w->st.rcpt++;
	if (c->m.held)
		w->st.hold_due++;
	if ((k = check_answer(w, c)) != E_NKINDS) {
		fail(w, c, k);
		return;
	}
	c->m.next = c->m.next == c->m.nrcpt ? 0 : c->m.next + 1;
	schedule(w, c, now);
}

/* sweep - time out answers that are late */
static void
sweep(struct worker *w, uint64_t now)
{
	size_t i;

	for (i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if ((c->state == C_SENDING || c->state == C_WAITING) &&
		    now - c->sent_ns > w->b->timeout_ns)
			fail(w, c, E_TIMEOUT);
	}
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[EVENTS];
	uint64_t t0 = mono_ns(), last_sweep = t0;
	size_t i;
	int n, k;

	/* with -r, the first requests are spread over one interval */
	for (i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		c->due_ns = t0 + w->b->interval_ns * c->id / w->b->conc;
		if (c->state != C_DONE)
			schedule(w, c, t0);
	}
	while (w->active > 0) {
		uint64_t now;

		n = epoll_wait(w->ep, evs, EVENTS, TICK_MS);
		if (n < 0 && errno != EINTR) {
			(void)fprintf(stderr, "bench_policy: epoll_wait: %s\n",
			    strerror(errno));
			atomic_store(&w->b->stop, 1);
			break;
		}
		for (k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (evs[k].data.ptr == &w->tfd) {
				on_timer(w);
				continue;
			}
			if (c->state == C_DONE || c->fd < 0)
				continue;
			if (evs[k].events & EPOLLOUT && c->state == C_SENDING) {
				if (pump(w, c) < 0) {
					fail(w, c, E_IO);
					continue;
				}
			}
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(w, c);
		}
		now = mono_ns();
		if (now - last_sweep >= TICK_MS * 1000000ULL) {
			sweep(w, now);
			last_sweep = now;
		}
	}
	for (i = 0; i < w->nconns; i++)
		conn_done(w, &w->conns[i]);
	return NULL;
}

/* Set-up and report. */

static int
load_held(struct bench *b, const char *path)
{
	char line[HELD_LEN_MAX + 64];
	size_t cap = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *s = line;
		size_t len = strcspn(s, "\r\n");

		if (s[len] == '\0' && !feof(fp)) {
			(void)fprintf(stderr,
			    "bench_policy: %s: line too "
			    "long\n",
			    path);
			(void)fclose(fp);
			errno = EINVAL;
			return -1;
		}
		s[len] = '\0';
		if (strncmp(s, "sasl:", 5) == 0)
			s += 5;
		if (*s == '\0' || *s == '#' || strlen(s) > HELD_LEN_MAX)
			continue;
		if (b->nheld == HELD_MAX) {
			(void)fprintf(stderr,
			    "bench_policy: %s: only the "
			    "first %d logins are used\n",
			    path, HELD_MAX);
			break;
		}
		if (b->nheld == cap) {
			cap = cap ? cap * 2 : 1024;
			b->held =
			    og_reallocarray(b->held, cap, sizeof(*b->held));
		}
		b->held[b->nheld++] = og_lowercase(og_strdup(s));
	}
	(void)fclose(fp);
	return 0;
}

static void
stats_merge(struct stats *to, const struct stats *from)
{
	size_t k;

	to->requests += from->requests;
	to->rcpt += from->rcpt;
	to->eom += from->eom;
	to->eom_sent += from->eom_sent;
	to->dunno += from->dunno;
	to->hold += from->hold;
	to->hold_due += from->hold_due;
	to->messages += from->messages;
	to->late += from->late;
	for (k = 0; k < E_NKINDS; k++)
		to->err[k] += from->err[k];
	hist_merge(&to->lat, &from->lat);
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static uint64_t
report(const struct bench *b, const struct stats *s, double secs)
{
	const struct hist *h = &s->lat;
	uint64_t errors = 0;
	struct rusage ru;
	size_t k;

	for (k = 0; k < E_NKINDS; k++)
		errors += s->err[k];
	(void)getrusage(RUSAGE_SELF, &ru);
	(void)printf("target        %s, concurrency %u, %u thread%s, "
	             "seed %llu\n",
	    b->spec, b->conc, b->nthreads, b->nthreads == 1 ? "" : "s",
	    (unsigned long long)b->seed);
	(void)printf("requests      %llu in %.2f s: %.0f requests/s\n",
	    (unsigned long long)s->requests, secs,
	    secs > 0 ? (double)s->requests / secs : 0.0);
	(void)printf("mix           %llu messages, %llu RCPT, %llu "
	             "END-OF-MESSAGE answered (%llu sent)\n",
	    (unsigned long long)s->messages, (unsigned long long)s->rcpt,
	    (unsigned long long)s->eom, (unsigned long long)s->eom_sent);
	(void)printf("answers       DUNNO %llu, HOLD %llu (HOLD due %llu, "
	             "%.2f%%)\n",
	    (unsigned long long)s->dunno, (unsigned long long)s->hold,
	    (unsigned long long)s->hold_due,
	    s->requests ? 100.0 * (double)s->hold_due / (double)s->requests
	                : 0.0);
	(void)printf("latency       p50 %.1f us, p90 %.1f us, p99 %.1f us, "
	             "p99.9 %.1f us, max %.1f us, mean %.1f us\n",
	    us(hist_pct(h, 0.50)), us(hist_pct(h, 0.90)), us(hist_pct(h, 0.99)),
	    us(hist_pct(h, 0.999)), us(h->max), h->n ? us(h->sum / h->n) : 0.0);
	(void)printf("errors        %llu", (unsigned long long)errors);
	for (k = 0; k < E_NKINDS; k++)
		(void)printf("%s%s %llu", k ? ", " : " (", err_names[k],
		    (unsigned long long)s->err[k]);
	(void)printf(")\n");
	if (b->rate > 0)
		(void)printf("pacing        %llu requests/s asked for, %llu "
		             "requests started over 1 ms late\n",
		    (unsigned long long)b->rate, (unsigned long long)s->late);
	(void)printf("generator cpu user %.2f s, system %.2f s\n",
	    tv_s(&ru.ru_utime), tv_s(&ru.ru_stime));
	(void)printf("RESULT concurrency=%u requests=%llu seconds=%.3f "
	             "rps=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	             "max_us=%.1f dunno=%llu hold=%llu hold_due=%llu "
	             "eom=%llu eom_sent=%llu errors=%llu target_rps=%llu "
	             "late=%llu cpu_s=%.2f\n",
	    b->conc, (unsigned long long)s->requests, secs,
	    secs > 0 ? (double)s->requests / secs : 0.0, us(hist_pct(h, 0.50)),
	    us(hist_pct(h, 0.90)), us(hist_pct(h, 0.99)), us(h->max),
	    (unsigned long long)s->dunno, (unsigned long long)s->hold,
	    (unsigned long long)s->hold_due, (unsigned long long)s->eom,
	    (unsigned long long)s->eom_sent, (unsigned long long)errors,
	    (unsigned long long)b->rate, (unsigned long long)s->late,
	    tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime));
	return errors;
}

static void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: bench_policy -s SOCKET [-c CONCURRENCY] [-d SECONDS | "
	    "-n REQUESTS]\n"
	    "           [-H HELDFILE] [-p HOLD_PERCENT] [-l LOGINS] "
	    "[-T THREADS]\n"
	    "           [-r RATE] [-t TIMEOUT_MS] [-S SEED]\n"
	    "  SOCKET is PATH, unix:PATH or inet:HOST:PORT; defaults: -c 1 "
	    "-d 10 -p 3\n"
	    "  -l 5000 -T 1 -t 5000 -S 1, no -r (as fast as answered)\n");
}

/* options - parse argv into b; 0, or -1 after printing the usage */
static int
options(struct bench *b, int argc, char **argv, const char **heldfile)
{
	unsigned long long v, secs = 10, pct100 = 300;
	int ch;

	while ((ch = getopt(argc, argv, "s:c:d:n:H:p:l:T:t:S:r:")) != -1) {
		int bad = 0;

		switch (ch) {
		case 's':
			b->spec = optarg;
			break;
		case 'c':
			bad = og_parse_uint(optarg, 1, CONC_MAX, &v) < 0;
			b->conc = (unsigned)v;
			break;
		case 'd':
			bad = og_parse_uint(optarg, 1, 86400, &secs) < 0;
			break;
		case 'n':
			bad =
			    og_parse_uint(optarg, 1, 1000000000000ULL, &v) < 0;
			b->max_requests = v;
			break;
		case 'H':
			*heldfile = optarg;
			break;
		case 'p':
			bad = og_parse_uint(optarg, 0, 100, &v) < 0;
			pct100 = v * 100;
			break;
		case 'l':
			bad = og_parse_uint(optarg, 1, 10000000, &v) < 0;
			b->logins = (unsigned)v;
			break;
		case 'T':
			bad = og_parse_uint(optarg, 1, THREADS_MAX, &v) < 0;
			b->nthreads = (unsigned)v;
			break;
		case 't':
			bad = og_parse_uint(optarg, 1, 600000, &v) < 0;
			b->timeout_ns = v * 1000000ULL;
			break;
		case 'S':
			bad = og_parse_uint(optarg, 0, UINT64_MAX, &v) < 0;
			b->seed = v;
			break;
		case 'r':
			bad = og_parse_uint(optarg, 1, 10000000, &v) < 0;
			b->rate = v;
			break;
		default:
			bad = 1;
		}
		if (bad) {
			usage();
			return -1;
		}
	}
	if (optind != argc || b->spec == NULL || parse_spec(b) < 0) {
		usage();
		return -1;
	}
	if (b->nthreads > b->conc)
		b->nthreads = b->conc;
	b->hold_bp = (unsigned)pct100;
	if (b->rate > 0)
		b->interval_ns = (uint64_t)b->conc * 1000000000ULL / b->rate;
	b->deadline_ns = secs * 1000000000ULL; /* relative until the start */
	return 0;
}

/* setup - the workers and their connections; -1 if the first dial fails */
static int
setup(struct bench *b, struct worker *ws)
{
	struct epoll_event ev;
	unsigned i;

	for (i = 0; i < b->nthreads; i++)
		ws[i].ep = ws[i].tfd = -1;
	for (i = 0; i < b->nthreads; i++) {
		ws[i].b = b;
		ws[i].conns =
		    og_calloc(b->conc / b->nthreads + 1, sizeof(*ws[i].conns));
		if ((ws[i].ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    (ws[i].tfd = timerfd_create(
		         CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
			return -1;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &ws[i].tfd;
		if (epoll_ctl(ws[i].ep, EPOLL_CTL_ADD, ws[i].tfd, &ev) < 0)
			return -1;
	}
	for (i = 0; i < b->conc; i++) {
		struct worker *w = &ws[i % b->nthreads];
		struct conn *c = &w->conns[w->nconns++];

		c->fd = -1;
		c->id = i;
		c->rng = mix(i + 1) * 0x9E3779B97F4A7C15ULL + b->seed + 1;
		og_strbuf_init(&c->out, REQUEST_CAP);
		og_strbuf_init(&c->in, ANSWER_MAX);
		c->state = C_SENDING;
		w->active++;
		if (conn_open(w, c) < 0) {
			(void)fprintf(stderr, "bench_policy: connect %s: %s\n",
			    b->spec, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* teardown - close and free what setup() and load_held() made */
static void
teardown(struct bench *b, struct worker *ws)
{
	unsigned i;
	size_t j;

	for (i = 0; i < b->nthreads; i++) {
		for (j = 0; j < ws[i].nconns; j++) {
			struct conn *c = &ws[i].conns[j];

			if (c->fd >= 0)
				(void)close(c->fd);
			og_strbuf_release(&c->out);
			og_strbuf_release(&c->in);
		}
		og_free(ws[i].conns);
		if (ws[i].ep >= 0)
			(void)close(ws[i].ep);
		if (ws[i].tfd >= 0)
			(void)close(ws[i].tfd);
	}
	for (j = 0; j < b->nheld; j++)
		og_free(b->held[j]);
	og_free(b->held);
	og_free(ws);
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct worker *ws;
	struct stats total;
	const char *heldfile = NULL;
	uint64_t t0, errors;
	unsigned i, started;
	int rc;

	memset(&b, 0, sizeof(b));
	b.conc = 1;
	b.nthreads = 1;
	b.logins = 5000;
	b.timeout_ns = 5000 * 1000000ULL;
	b.seed = 1;
	atomic_init(&b.issued, 0);
	atomic_init(&b.stop, 0);
	if (options(&b, argc, argv, &heldfile) < 0)
		return EX_USAGE;
	if (heldfile != NULL && load_held(&b, heldfile) < 0) {
		(void)fprintf(stderr, "bench_policy: %s: %s\n", heldfile,
		    strerror(errno));
		return EX_NOINPUT;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	ws = og_calloc(b.nthreads, sizeof(*ws));
	if (setup(&b, ws) < 0) {
		teardown(&b, ws);
		return EX_UNAVAILABLE;
	}
	t0 = mono_ns();
	b.deadline_ns += t0;
	for (started = 0; started < b.nthreads; started++)
		if (pthread_create(
		        &ws[started].thread, NULL, run, &ws[started]) != 0) {
			(void)fprintf(stderr,
			    "bench_policy: pthread_create "
			    "failed\n");
			atomic_store(&b.stop, 1);
			break;
		}
	memset(&total, 0, sizeof(total));
	for (i = 0; i < started; i++) {
		(void)pthread_join(ws[i].thread, NULL);
		stats_merge(&total, &ws[i].st);
	}
	errors = report(&b, &total, (double)(mono_ns() - t0) / 1e9);
	rc = errors > 0 || started < b.nthreads ? 1 : EX_OK;
	teardown(&b, ws);
	return rc;
}

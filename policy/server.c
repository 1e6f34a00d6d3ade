/*
 * server.c - outguard-policyd's event loop
 * DESCRIPTION: one epoll set holds the listening sockets, a signalfd
 *	for SIGHUP/SIGTERM/SIGINT, and every client; reads and writes never
 *	block. Each client has a bounded input buffer (one request at most
 *	OG_REQUEST_MAX bytes) and an output buffer; a client that sends a
 *	partial request and then nothing for REQUEST_TIMEOUT seconds, or is
 *	idle past IDLE_TIMEOUT (longer than Postfix's own 300 s
 *	smtpd_policy_service_max_idle), is closed.
 * DIAGNOSTICS: malformed requests are logged (rate-limited) and the
 *	connection closed without an answer.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "policyd.h"
#include "replyfilter.h"
#include "request.h"
#include "server.h"
#include "socketmap.h"
#include "strbuf.h"
#include "util.h"

#define CONNS_MAX 4096
#define IDLE_TIMEOUT 1000
#define REQUEST_TIMEOUT 60
#define READ_CHUNK 16384
#define EVENTS 256

struct conn {
	int fd, ofd; /* ofd differs from fd for stdin/stdout */
	struct og_strbuf in, out;
	size_t out_off;
	time_t last;
	int closing;
	int want_out; /* EPOLLOUT is registered */
	enum og_proto proto;
	struct og_rpf_conn *rpf; /* socketmap: the reply filter's state */
	struct conn *prev, *next;
};

/* epoll tags: listeners and the signalfd are told apart by pointer */
struct tag {
	int kind; /* 0 listener, 1 signal */
	int fd;
	enum og_proto proto;
};

struct loop {
	struct policyd *pd;
	int ep;
	struct conn *conns;
	size_t nconns;
	int stop;
	int stdio; /* serving one stdin/stdout connection */
	struct og_ratelimit rl_bad, rl_full;
};

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
listen_unix(const char *path, struct og_strbuf *err)
{
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) || *path != '/') {
		(void)og_strbuf_addf(err,
		    "unix:%s: not an absolute path of "
		    "at most %zu bytes",
		    path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	og_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	/* remove a stale socket, never anything else */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			(void)og_strbuf_addf(
			    err, "%s exists and is not a socket", path);
			return -1;
		}
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		(void)og_strbuf_addf(err, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * 0666, like Postfix's own private sockets: the directory (e.g.
	 * /var/spool/postfix/private, mode 0700) is what restricts access
	 */
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		(void)og_strbuf_addf(err, "bind %s: %s", path, strerror(errno));
		(void)umask(old);
		(void)close(fd);
		return -1;
	}
	(void)umask(old);
	return fd;
}

static int
listen_inet(const char *hostport, struct og_strbuf *err)
{
	struct addrinfo hints, *res, *ai;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	int fd = -1, on = 1, e;
	size_t hlen;

	if (colon == NULL || (hlen = (size_t)(colon - hostport)) == 0 ||
	    hlen >= sizeof(host)) {
		(void)og_strbuf_addf(
		    err, "inet:%s: expected HOST:PORT", hostport);
		return -1;
	}
	memcpy(host, hostport, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		(void)og_strbuf_addf(
		    err, "inet:%s: %s", hostport, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		(void)og_strbuf_addf(
		    err, "bind %s: %s", hostport, strerror(errno));
		(void)close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		og_strbuf_reset(err);
	return fd;
}

int
og_server_listen(const char *spec, struct og_strbuf *err)
{
	int fd;

	if (spec != NULL && strncmp(spec, "unix:", 5) == 0)
		fd = listen_unix(spec + 5, err);
	else if (spec != NULL && strncmp(spec, "inet:", 5) == 0)
		fd = listen_inet(spec + 5, err);
	else {
		(void)og_strbuf_addf(err,
		    "listen \"%s\": expected unix:PATH "
		    "or inet:HOST:PORT",
		    spec ? spec : "");
		return -1;
	}
	if (fd < 0)
		return -1;
	if (listen(fd, 1024) < 0 || set_nonblock(fd) < 0) {
		(void)og_strbuf_addf(
		    err, "listen %s: %s", spec, strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

void
og_server_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static struct conn *
conn_new(struct loop *lp, int fd, int ofd, enum og_proto proto)
{
	struct conn *c = og_calloc(1, sizeof(*c));
	struct epoll_event ev;

	c->fd = fd;
	c->ofd = ofd;
	c->proto = proto;
	og_strbuf_init(&c->in,
	    (proto == OG_PROTO_SOCKETMAP ? OG_SM_REQUEST_MAX + 64
	                                 : OG_REQUEST_MAX) +
	        READ_CHUNK);
	og_strbuf_init(&c->out, 64 * 1024);
	c->last = time(NULL);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		og_warn("epoll_ctl add");
		og_strbuf_release(&c->in);
		og_strbuf_release(&c->out);
		og_free(c);
		return NULL;
	}
	c->next = lp->conns;
	if (lp->conns)
		lp->conns->prev = c;
	lp->conns = c;
	lp->nconns++;
	return c;
}

static void
conn_close(struct loop *lp, struct conn *c)
{
	(void)epoll_ctl(lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	lp->nconns--;
	if (c->fd > 2)
		(void)close(c->fd);
	if (c->ofd != c->fd && c->ofd > 2)
		(void)close(c->ofd);
	og_strbuf_release(&c->in);
	og_strbuf_release(&c->out);
	og_free(c->rpf);
	og_free(c);
	if (lp->stdio)
		lp->stop = 1; /* spawn(8): one connection, then exit */
}

/* flush - write what is pending; 0, or -1 when the client is gone */
static int
flush(struct loop *lp, struct conn *c)
{
	struct epoll_event ev;

	while (c->out_off < c->out.len) {
		ssize_t n = write(
		    c->ofd, c->out.data + c->out_off, c->out.len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		og_strbuf_reset(&c->out);
		c->out_off = 0;
	}
	/*
	 * Ask for EPOLLOUT only while output waits, and touch the epoll
	 * entry only when that changes: one system call per answer less.
	 * (stdout cannot share the stdin entry: spawn mode writes blocking.)
	 */
	if (c->ofd == c->fd && (c->out.len > 0) != c->want_out) {
		c->want_out = c->out.len > 0;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
		ev.data.ptr = c;
		(void)epoll_ctl(lp->ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	return 0;
}

/* serve_socketmap - answer every complete lookup; -1 to close */
static int
serve_socketmap(struct loop *lp, struct conn *c)
{
	const char *data, *err;
	size_t dlen, used;
	int r;

	while ((r = og_sm_next(
	            c->in.data, c->in.len, &data, &dlen, &used, &err)) == 1) {
		if (c->rpf == NULL)
			c->rpf = og_calloc(1, sizeof(*c->rpf));
		if (og_policyd_lookup(lp->pd, c->rpf, data, dlen, &c->out) < 0)
			return -1;
		memmove(c->in.data, c->in.data + used, c->in.len - used);
		og_strbuf_truncate(&c->in, c->in.len - used);
	}
	if (r < 0) {
		lp->pd->malformed++;
		og_warnx_rl(&lp->rl_bad,
		    "malformed socketmap request (%s): "
		    "closing the connection",
		    err);
		return -1;
	}
	return 0;
}

/* serve - answer every complete request in c's input; -1 to close */
static int
serve(struct loop *lp, struct conn *c)
{
	struct og_request rq;
	const char *err;
	size_t end;

	while ((end = og_request_end(c->in.data, c->in.len)) > 0) {
		/* requests end with "\n\n": parse the part before the last */
		if (og_request_parse(&rq, c->in.data, end - 1, &err) < 0) {
			lp->pd->malformed++;
			og_warnx_rl(&lp->rl_bad,
			    "malformed policy request (%s): closing the "
			    "connection without an answer",
			    err);
			return -1;
		}
		if (og_policyd_answer(lp->pd, &rq, &c->out) < 0)
			return -1;
		memmove(c->in.data, c->in.data + end, c->in.len - end);
		og_strbuf_truncate(&c->in, c->in.len - end);
	}
	if (c->in.len > OG_REQUEST_MAX) {
		lp->pd->malformed++;
		og_warnx_rl(&lp->rl_bad,
		    "policy request larger than %d "
		    "bytes: closing the connection",
		    OG_REQUEST_MAX);
		return -1;
	}
	return 0;
}

static void
on_readable(struct loop *lp, struct conn *c)
{
	char buf[READ_CHUNK];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(lp, c);
			return;
		}
		c->last = time(NULL);
		if (og_strbuf_addn(&c->in, buf, (size_t)n) < 0 ||
		    (c->proto == OG_PROTO_SOCKETMAP ? serve_socketmap(lp, c)
		                                    : serve(lp, c)) < 0) {
			conn_close(lp, c);
			return;
		}
		/* stdin may block: one read per readiness event there */
		if (lp->stdio || (size_t)n < sizeof(buf))
			break;
	}
	if (flush(lp, c) < 0)
		conn_close(lp, c);
}

static void
on_accept(struct loop *lp, int lfd, enum og_proto proto)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				og_warn("accept");
			return;
		}
		if (lp->nconns >= CONNS_MAX) {
			og_warnx_rl(&lp->rl_full,
			    "%d connections open: refusing more", CONNS_MAX);
			(void)close(fd);
			continue;
		}
		(void)conn_new(lp, fd, fd, proto);
	}
}

static void
on_signal(struct loop *lp, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			og_policyd_reload(lp->pd);
		else {
			og_info("signal %u: stopping", si.ssi_signo);
			lp->stop = 1;
		}
	}
}

/* sweep - close clients that stalled mid-request or idled too long */
static void
sweep(struct loop *lp, time_t now)
{
	struct conn *c, *next;

	for (c = lp->conns; c != NULL; c = next) {
		next = c->next;
		if ((c->in.len > 0 && now - c->last > REQUEST_TIMEOUT) ||
		    now - c->last > IDLE_TIMEOUT) {
			og_debug("closing a client idle for %llds",
			    (long long)(now - c->last));
			conn_close(lp, c);
		}
	}
}

int
og_server_run(struct policyd *pd, const struct og_listener *listeners, size_t n,
    int fd_in, int fd_out, enum og_proto stdio_proto)
{
	struct epoll_event ev, evs[EVENTS];
	struct tag *tags = og_calloc(n + 1, sizeof(*tags));
	struct loop lp;
	time_t last_tick = 0;
	sigset_t set;
	size_t i;
	int sfd;

	memset(&lp, 0, sizeof(lp));
	lp.pd = pd;
	lp.rl_bad = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 10);
	lp.rl_full = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 1);
	if ((lp.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		og_fatal(EX_OSERR, "epoll_create1");
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		og_fatal(EX_OSERR, "signalfd");
	tags[n].kind = 1;
	tags[n].fd = sfd;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &tags[n];
	(void)epoll_ctl(lp.ep, EPOLL_CTL_ADD, sfd, &ev);
	for (i = 0; i < n; i++) {
		tags[i].kind = 0;
		tags[i].fd = listeners[i].fd;
		tags[i].proto = listeners[i].proto;
		ev.data.ptr = &tags[i];
		if (epoll_ctl(lp.ep, EPOLL_CTL_ADD, listeners[i].fd, &ev) < 0)
			og_fatal(EX_OSERR, "epoll_ctl");
	}
	if (fd_in >= 0) {
		/*
		 * spawn(8) hands us one socket as stdin and stdout: it stays
		 * blocking (answers are small), epoll says when to read
		 */
		lp.stdio = 1;
		if (conn_new(&lp, fd_in, fd_out, stdio_proto) == NULL)
			og_fatalx(EX_OSERR,
			    "cannot serve standard input (it "
			    "must be a socket or a pipe, as "
			    "spawn(8) gives it)");
	}
	while (!lp.stop) {
		int nev = epoll_wait(lp.ep, evs, EVENTS, 1000), k;
		time_t now = time(NULL);

		if (nev < 0 && errno != EINTR)
			og_fatal(EX_OSERR, "epoll_wait");
		for (k = 0; k < nev && !lp.stop; k++) {
			void *p = evs[k].data.ptr;

			if (p >= (void *)tags && p <= (void *)&tags[n]) {
				struct tag *t = p;

				if (t->kind == 1)
					on_signal(&lp, t->fd);
				else
					on_accept(&lp, t->fd, t->proto);
				continue;
			}
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(&lp, p);
			else if (evs[k].events & EPOLLOUT) {
				if (flush(&lp, p) < 0)
					conn_close(&lp, p);
			}
		}
		if (now != last_tick) {
			og_policyd_tick(pd);
			sweep(&lp, now);
			last_tick = now;
		}
	}
	while (lp.conns != NULL) {
		lp.stdio = 0;
		(void)flush(&lp, lp.conns);
		conn_close(&lp, lp.conns);
	}
	(void)close(sfd);
	(void)close(lp.ep);
	og_free(tags);
	return EX_OK;
}

/*
 * privsep.c - a root helper that runs postsuper for outguard-policyd
 * DESCRIPTION: see privsep.h for the contract and the protocol. The
 *	helper is a fork() of the daemon taken before the privilege drop and
 *	before any thread exists, so after fork() it may call ordinary
 *	library functions. It leaves only through _exit(): exit() would run
 *	the daemon's atexit handlers (and LeakSanitizer) on memory that is
 *	the daemon's. Its memory is bounded by the protocol's caps: one
 *	request is at most OG_PRIVSEP_IDS_MAX ids of PS_ID_SLOT bytes,
 *	read into a buffer sized from the header's N once N is checked.
 *	Every wait on either side has a deadline (poll()), except the
 *	helper's wait for the next request, which is its idle state.
 *	Messages go with MSG_NOSIGNAL, so neither side depends on its
 *	SIGPIPE disposition.
 *	XXX SOCK_SEQPACKET sends a message whole or not at all, and fails
 *	with EMSGSIZE when it is larger than the socket's send buffer; the
 *	largest message (OG_PRIVSEP_BATCH ids, 21,000 bytes) is far below
 *	Linux's default (net.core.wmem_default, 208 KiB).
 * DIAGNOSTICS: see privsep.h. The helper logs through og_warnx() (its
 *	syslog connection is reopened on first use, under the program's
 *	name, since the inherited one is closed with the other descriptors).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"
#include "postqueue.h"
#include "privsep.h"
#include "strbuf.h"
#include "util.h"

#define PS_MAGIC "OGPS1"
#define PS_ID_LEN 20 /* og_queue_id_valid()'s longest id */
#define PS_ID_SLOT (PS_ID_LEN + 1) /* an id and its NUL, or its "\n" */
#define PS_IDS_MSG_MAX (OG_PRIVSEP_BATCH * PS_ID_SLOT)
#define PS_FIELD_MAX 24 /* bytes of one header or reply field, NUL included */
#define PS_FD_SCAN_MAX 65536 /* close() loop bound without close_range */
#define PS_POLL_MS 10 /* while waiting for the helper's exit */
#define PS_CHUNK 16000 /* output bytes per data message of a read op */

/* One request, as the helper holds it. */
struct request {
	unsigned long long seq;
	char op[3];
	size_t n;
	char *ids; /* n slots of PS_ID_SLOT bytes, each a NUL-terminated id */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
op_valid(const char *op)
{
	return op != NULL &&
	    (strcmp(op, "-h") == 0 || strcmp(op, "-H") == 0 ||
	        strcmp(op, "-r") == 0 || strcmp(op, "-j") == 0 ||
	        strcmp(op, "-p") == 0);
}

/*
 * wait_fd - 1 when fd has one of events (or an error or hang-up, which
 * the next call reports), 0 at the deadline (< 0: none), -1 with errno
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int ms, r;

	for (;;) {
		ms = -1;
		if (deadline >= 0) {
			if ((left = deadline - now_ms()) <= 0)
				return 0;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, ms)) > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* send_msg - send one message by the deadline; 0, or -1 with errno */
static int
send_msg(int fd, const void *buf, size_t len, int64_t deadline)
{
	ssize_t w;
	int r;

	for (;;) {
		if ((r = wait_fd(fd, POLLOUT, deadline)) <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		w = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w >= 0) {
			if ((size_t)w == len)
				return 0;
			errno = EMSGSIZE; /* cannot happen with SEQPACKET */
			return -1;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
	}
}

/*
 * recv_msg - receive one message of at most cap bytes into buf (which
 * has room for cap + 1: a NUL is added) by the deadline (< 0: none).
 * 1 with *len > 0; 0 at EOF (an empty message counts as EOF); -1 with
 * errno: ETIMEDOUT, EMSGSIZE (longer than cap: the rest is lost), EPROTO
 * (descriptors or other control data came along; the kernel closed them).
 */
static int
recv_msg(int fd, char *buf, size_t cap, int64_t deadline, size_t *len)
{
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int r;

	for (;;) {
		if ((r = wait_fd(fd, POLLIN, deadline)) <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = buf;
		iov.iov_len = cap;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				continue;
			return -1;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			errno = EMSGSIZE;
			return -1;
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			errno = EPROTO;
			return -1;
		}
		if (n == 0)
			return 0;
		buf[n] = '\0';
		*len = (size_t)n;
		return 1;
	}
}

/*
 * field - copy the field at *p (up to a space or the end) into out, of
 * size PS_FIELD_MAX, and step over it; -1 when empty or too long
 */
static int
field(const char **p, char *out)
{
	size_t n = strcspn(*p, " ");

	if (n == 0 || n >= PS_FIELD_MAX)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return 0;
}

/* space - step over exactly one space; -1 when there is none */
static int
space(const char **p)
{
	if (**p != ' ')
		return -1;
	(*p)++;
	return 0;
}

/* add_clean - append s as printable ASCII, line ends as "; ", to the cap */
static void
add_clean(struct og_strbuf *sb, const char *s, size_t len)
{
	size_t i;
	int any = 0, eol = 0;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\n' || c == '\r') {
			eol = any;
			continue;
		}
		if (eol && og_strbuf_adds(sb, "; ") < 0)
			return;
		eol = 0;
		if (og_strbuf_addc(sb, c >= 0x20 && c < 0x7f ? c : '?') < 0)
			return;
		any = 1;
	}
}

/* ---- the helper ---- */

/* close_from - close every descriptor >= lo except keep */
static void
close_from(int lo, int keep)
{
	long fd, fdmax;

#if defined(SYS_close_range)
	/* keep is above lo: the helper's socket was moved above 2 */
	if (syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0) == 0 &&
	    (keep == lo ||
	        syscall(SYS_close_range, (unsigned)lo, (unsigned)keep - 1, 0) ==
	            0))
		return;
#endif
	fdmax = sysconf(_SC_OPEN_MAX);
	if (fdmax < 0 || fdmax > PS_FD_SCAN_MAX)
		fdmax = PS_FD_SCAN_MAX; /* XXX more stay open */
	for (fd = lo; fd < fdmax; fd++)
		if (fd != keep)
			(void)close((int)fd);
}

/* child_env - clear the environment but OG_POSTFIX_BIN (tests) */
static void
child_env(void)
{
	const char *v;
	char *bin = NULL;

	if ((v = getenv("OG_POSTFIX_BIN")) != NULL)
		bin = og_strdup(v);
	if (clearenv() != 0)
		_exit(EX_OSERR);
	if (bin != NULL && setenv("OG_POSTFIX_BIN", bin, 1) != 0)
		_exit(EX_OSERR);
	og_free(bin);
}

/*
 * child_setup - signals, parent-death signal, descriptors, directory and
 * environment; other is the daemon's end. Returns the helper's socket,
 * moved above 2 so that no stray write to standard error can land in
 * the protocol. Descriptors 0, 1 and 2 stay as the daemon has them
 * (/dev/null once daemonized; the terminal with -d, so that warnings
 * show), or /dev/null when closed. Signals are still blocked from
 * og_privsep_start() and are unblocked last, so no handler of the
 * daemon ever runs here.
 */
static int
child_setup(int fd, int other, pid_t parent)
{
	struct sigaction sa;
	sigset_t empty;
	int i, sock;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 1; i < NSIG; i++)
		(void)sigaction(i, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGPIPE, &sa, NULL);
#if defined(__linux__)
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		_exit(EX_OSERR);
#endif
	if (getppid() != parent)
		_exit(0); /* the daemon died before prctl() */
	closelog(); /* before its descriptor is closed under it */
	/*
	 * The daemon's end may sit on 0, 1 or 2 (when those were closed),
	 * where the loop below would keep it, and the helper would then
	 * never see EOF.
	 */
	(void)close(other);
	if ((sock = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		_exit(EX_OSERR);
	(void)close(fd);
	for (i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i)
			_exit(EX_OSERR);
	close_from(3, sock);
	if (chdir("/") != 0)
		_exit(EX_OSERR);
	child_env();
	(void)sigemptyset(&empty);
	(void)sigprocmask(SIG_SETMASK, &empty, NULL);
	return sock;
}

/* parse_header - "OGPS1 SEQ OP N" into rq; -1 when malformed */
static int
parse_header(const char *msg, size_t len, struct request *rq)
{
	char magic[PS_FIELD_MAX], seq[PS_FIELD_MAX], op[PS_FIELD_MAX];
	char n[PS_FIELD_MAX];
	const char *p = msg;
	unsigned long long v;

	if (memchr(msg, '\0', len) != NULL || field(&p, magic) < 0 ||
	    space(&p) < 0 || field(&p, seq) < 0 || space(&p) < 0 ||
	    field(&p, op) < 0 || space(&p) < 0 || field(&p, n) < 0 ||
	    *p != '\0')
		return -1;
	if (strcmp(magic, PS_MAGIC) != 0 || !op_valid(op) ||
	    og_parse_uint(seq, 1, UINT64_MAX, &rq->seq) < 0 ||
	    og_parse_uint(n, 0, OG_PRIVSEP_IDS_MAX, &v) < 0)
		return -1;
	/* -j reads the whole queue, -p one message, the others need ids */
	if ((strcmp(op, "-j") == 0 && v != 0) ||
	    (strcmp(op, "-p") == 0 && v != 1) ||
	    (strcmp(op, "-j") != 0 && strcmp(op, "-p") != 0 && v == 0))
		return -1;
	og_strlcpy(rq->op, op, sizeof(rq->op));
	rq->n = (size_t)v;
	return 0;
}

/* parse_ids - exactly k lines "ID\n" into k slots; -1 when malformed */
static int
parse_ids(const char *msg, size_t len, char *slots, size_t k)
{
	const char *p = msg, *end = msg + len, *nl;
	char *slot;
	size_t i, l;

	for (i = 0; i < k; i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		if ((l = (size_t)(nl - p)) > PS_ID_LEN)
			return -1;
		slot = slots + i * PS_ID_SLOT;
		memcpy(slot, p, l);
		slot[l] = '\0';
		if (!og_queue_id_valid(slot)) /* also catches NUL and "" */
			return -1;
		p = nl + 1;
	}
	return p == end ? 0 : -1;
}

/* recv_why - what a failed recv_msg() means for the helper */
static const char *
recv_why(int e)
{
	switch (e) {
	case ETIMEDOUT:
		return "request not complete in time";
	case EMSGSIZE:
		return "message over its cap";
	case EPROTO:
		return "control data received";
	default:
		return "cannot read";
	}
}

/*
 * read_request - the next whole request into rq (buf has room for
 * PS_IDS_MSG_MAX + 1); 1, or 0 at EOF, or -1 with *why on a violation
 */
static int
read_request(int fd, char *buf, struct request *rq, const char **why)
{
	size_t len, got, k;
	int64_t deadline;
	int r;

	if ((r = recv_msg(fd, buf, OG_PRIVSEP_HEADER_MAX, -1, &len)) <= 0) {
		if (r < 0)
			*why = recv_why(errno);
		return r;
	}
	if (parse_header(buf, len, rq) < 0) {
		*why = "bad request header";
		return -1;
	}
	rq->ids = og_reallocarray(NULL, rq->n, PS_ID_SLOT);
	deadline = now_ms() + OG_PRIVSEP_TIMEOUT_MS;
	for (got = 0; got < rq->n; got += k) {
		k = rq->n - got;
		if (k > OG_PRIVSEP_BATCH)
			k = OG_PRIVSEP_BATCH;
		r = recv_msg(fd, buf, PS_IDS_MSG_MAX, deadline, &len);
		if (r <= 0) {
			if (r < 0)
				*why = recv_why(errno);
			return r;
		}
		if (parse_ids(buf, len, rq->ids + got * PS_ID_SLOT, k) < 0) {
			*why = "bad queue id message";
			return -1;
		}
	}
	return 1;
}

/* daemon_gone - 1 when the daemon has closed its end */
static int
daemon_gone(int fd)
{
	struct pollfd pfd;

	pfd.fd = fd;
	pfd.events = 0;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR));
}

/*
 * child_run - run postsuper on rq's ids, OG_PRIVSEP_BATCH at a time,
 * going on after a failed run, and build the reply
 */
static void
child_run(
    int fd, const struct request *rq, const char *dir, struct og_strbuf *reply)
{
	const char *batch[OG_PRIVSEP_BATCH];
	struct og_strbuf err, first;
	size_t off, k, i, runs = 0, failed = 0;
	const char *why;

	og_strbuf_init(&err, OG_EXEC_STDERR_MAX);
	og_strbuf_init(&first, OG_PRIVSEP_REPLY_MAX);
	for (off = 0; off < rq->n; off += k) {
		if (daemon_gone(fd))
			_exit(0); /* nobody waits for the rest */
		k = rq->n - off;
		if (k > OG_PRIVSEP_BATCH)
			k = OG_PRIVSEP_BATCH;
		for (i = 0; i < k; i++)
			batch[i] = rq->ids + (off + i) * PS_ID_SLOT;
		og_strbuf_reset(&err);
		runs++;
		if (og_postsuper(dir, rq->op, batch, k, &err) == 0 ||
		    failed++ > 0)
			continue;
		why = strerror(errno);
		(void)og_strbuf_addf(&first, "ids %zu-%zu: ", off + 1, off + k);
		if (err.len > 0)
			add_clean(&first, err.data, err.len);
		else
			add_clean(&first, why, strlen(why));
	}
	og_strbuf_reset(reply);
	(void)og_strbuf_addf(reply, "%llu %d", rq->seq, failed > 0);
	if (failed > 0) {
		(void)og_strbuf_addf(reply,
		    " postsuper %s failed in %zu of %zu runs; ", rq->op, failed,
		    runs);
		add_clean(reply, first.data, first.len);
	}
	og_strbuf_release(&err);
	og_strbuf_release(&first);
}

/*
 * child_read - the read operations: -j runs postqueue -j, -p postcat
 * -e -h -q ID; the output goes back in "D"-prefixed data messages of at
 * most PS_CHUNK bytes, before the reply
 */
static void
child_read(
    int fd, const struct request *rq, const char *dir, struct og_strbuf *reply)
{
	const char *argv[10];
	struct og_strbuf out, err, msg;
	struct og_exec_result res;
	char *cmd;
	size_t off;
	int i = 0, ok = 0;

	cmd =
	    og_postfix_cmd(strcmp(rq->op, "-j") == 0 ? "postqueue" : "postcat");
	og_strbuf_init(
	    &out, strcmp(rq->op, "-j") == 0 ? OG_PQ_OUTPUT_MAX : 1024 * 1024);
	og_strbuf_init(&err, OG_EXEC_STDERR_MAX);
	og_strbuf_init(&msg, PS_CHUNK + 1);
	argv[i++] = cmd;
	if (dir != NULL) {
		argv[i++] = "-c";
		argv[i++] = dir;
	}
	if (strcmp(rq->op, "-j") == 0)
		argv[i++] = "-j";
	else {
		argv[i++] = "-e";
		argv[i++] = "-h";
		argv[i++] = "-q";
		argv[i++] = rq->ids;
	}
	argv[i] = NULL;
	if (cmd != NULL &&
	    og_exec(argv, NULL, NULL, 0, &out, &err, 60000, &res) == 0 &&
	    res.status == 0)
		ok = 1;
	for (off = 0; ok && off < out.len; off += PS_CHUNK) {
		size_t k = out.len - off > PS_CHUNK ? PS_CHUNK : out.len - off;

		og_strbuf_reset(&msg);
		(void)og_strbuf_addc(&msg, 'D');
		(void)og_strbuf_addn(&msg, out.data + off, k);
		if (send_msg(fd, msg.data, msg.len,
		        now_ms() + OG_PRIVSEP_TIMEOUT_MS) < 0)
			_exit(errno == EPIPE || errno == ECONNRESET
			        ? 0
			        : EX_PROTOCOL);
	}
	og_strbuf_reset(reply);
	(void)og_strbuf_addf(reply, "%llu %d", rq->seq, !ok);
	if (!ok) {
		(void)og_strbuf_addf(reply, " %s failed: ",
		    strcmp(rq->op, "-j") == 0 ? "postqueue -j" : "postcat");
		add_clean(reply, err.len ? err.data : "cannot run",
		    err.len ? err.len : 10);
	}
	og_strbuf_release(&out);
	og_strbuf_release(&err);
	og_strbuf_release(&msg);
	og_free(cmd);
}

/* child_main - the helper's life; leaves only through _exit() */
OG_NORETURN static void
child_main(int fd, int other, const char *dir, pid_t parent)
{
	struct og_strbuf reply;
	struct request rq;
	const char *why;
	char *buf;
	int r;

	fd = child_setup(fd, other, parent);
	buf = og_malloc(PS_IDS_MSG_MAX + 1);
	og_strbuf_init(&reply, OG_PRIVSEP_REPLY_MAX);
	memset(&rq, 0, sizeof(rq));
	for (;;) {
		if ((r = read_request(fd, buf, &rq, &why)) == 0)
			_exit(0);
		if (r < 0) {
			og_warnx("privsep helper: %s, exiting", why);
			_exit(EX_PROTOCOL);
		}
		if (strcmp(rq.op, "-j") == 0 || strcmp(rq.op, "-p") == 0)
			child_read(fd, &rq, dir, &reply);
		else
			child_run(fd, &rq, dir, &reply);
		rq.ids = og_free(rq.ids);
		if (send_msg(fd, reply.data, reply.len,
		        now_ms() + OG_PRIVSEP_TIMEOUT_MS) < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				_exit(0);
			og_warn("privsep helper: cannot reply, exiting");
			_exit(EX_PROTOCOL);
		}
	}
}

/* ---- the daemon's side ---- */

/*
 * resolve_dir - the configuration directory the helper will pass to
 * postsuper: dir, else MAIL_CONFIG when set and absolute, else NULL
 */
static int
resolve_dir(const char *dir, char **out)
{
	const char *mc;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0') {
#if defined(__GLIBC__)
		mc = secure_getenv("MAIL_CONFIG");
#else
		mc = getuid() == geteuid() && getgid() == getegid()
		    ? getenv("MAIL_CONFIG")
		    : NULL;
#endif
		dir = mc != NULL && mc[0] == '/' ? mc : NULL;
	} else if (dir[0] != '/') {
		og_warnx("privsep: postfix_config_dir must be absolute");
		errno = EINVAL;
		return -1;
	}
	if (dir != NULL && strlen(dir) >= PATH_MAX) {
		og_warnx("privsep: postfix_config_dir too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	if (dir != NULL)
		*out = og_strdup(dir);
	return 0;
}

int
og_privsep_start(const char *postfix_config_dir, pid_t *pid_out)
{
	sigset_t all, old;
	pid_t parent, pid;
	char *dir;
	int sv[2], e;

	if (pid_out == NULL) {
		errno = EINVAL;
		og_warnx("privsep: no place for the helper's pid");
		return -1;
	}
	if (resolve_dir(postfix_config_dir, &dir) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		og_warn("privsep: socketpair");
		og_free(dir);
		return -1;
	}
	parent = getpid();
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == 0)
		child_main(sv[1], sv[0], dir, parent);
	e = errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	(void)close(sv[1]);
	og_free(dir);
	if (pid < 0) {
		(void)close(sv[0]);
		errno = e;
		og_warn("privsep: fork");
		return -1;
	}
	*pid_out = pid;
	og_debug("privsep helper started, pid %ld", (long)pid);
	return sv[0];
}

static void seterr(struct og_strbuf *, const char *, ...) OG_PRINTF(2, 3);

/* seterr - append a reason to err (optional), like og_strbuf_addf() */
static void
seterr(struct og_strbuf *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(err, fmt, ap);
	va_end(ap);
}

/* broken - the framing is lost: close the channel for good */
static void
broken(int fd, const char *why)
{
	(void)shutdown(fd, SHUT_RDWR);
	og_warnx("privsep: %s; channel to the helper closed", why);
}

/* send_request - the header and the id messages; *started once sent */
static int
send_request(int fd, unsigned long long seq, const char *op,
    const char *const *ids, size_t n, int64_t deadline, int *started)
{
	struct og_strbuf sb;
	size_t off, k, i;
	int rc = -1;

	og_strbuf_init(&sb, PS_IDS_MSG_MAX);
	if (og_strbuf_addf(&sb, PS_MAGIC " %llu %s %zu", seq, op, n) < 0 ||
	    sb.len > OG_PRIVSEP_HEADER_MAX)
		og_panic("privsep: request header over its cap");
	if (send_msg(fd, sb.data, sb.len, deadline) < 0)
		goto out;
	*started = 1;
	for (off = 0; off < n; off += k) {
		k = n - off;
		if (k > OG_PRIVSEP_BATCH)
			k = OG_PRIVSEP_BATCH;
		og_strbuf_reset(&sb);
		for (i = 0; i < k; i++)
			if (og_strbuf_adds(&sb, ids[off + i]) < 0 ||
			    og_strbuf_addc(&sb, '\n') < 0)
				og_panic("privsep: id message over its cap");
		if (send_msg(fd, sb.data, sb.len, deadline) < 0)
			goto out;
	}
	rc = 0;
out:
	og_strbuf_release(&sb);
	return rc;
}

/* parse_reply - "SEQ STATUS[ TEXT]"; -1 when malformed */
static int
parse_reply(const char *msg, size_t len, unsigned long long *seq, int *status,
    const char **text)
{
	char s[PS_FIELD_MAX], st[PS_FIELD_MAX];
	const char *p = msg;

	if (memchr(msg, '\0', len) != NULL || field(&p, s) < 0 ||
	    space(&p) < 0 || field(&p, st) < 0 ||
	    og_parse_uint(s, 1, UINT64_MAX, seq) < 0)
		return -1;
	if (strcmp(st, "0") != 0 && strcmp(st, "1") != 0)
		return -1;
	*status = st[0] - '0';
	if (*p == ' ')
		p++;
	else if (*p != '\0')
		return -1;
	*text = p;
	return 0;
}

/*
 * wait_reply - the reply to request seq; 0 when it succeeded, 1 when
 * postsuper failed (its text appended to err), -1 with errno
 */
static int
wait_reply(int fd, unsigned long long seq, int64_t deadline,
    struct og_strbuf *err, struct og_strbuf *data)
{
	char buf[PS_CHUNK + 2];
	int over = 0;
	unsigned long long got;
	const char *text;
	size_t len;
	int r, status, e;

	for (;;) {
		if ((r = recv_msg(fd, buf, PS_CHUNK + 1, deadline, &len)) ==
		    0) {
			seterr(err, "privsep helper has exited");
			errno = EPIPE;
			return -1;
		}
		if (r < 0) {
			e = errno == ECONNRESET ? EPIPE : errno;
			if (e == EMSGSIZE || e == EPROTO) {
				broken(fd, "malformed reply");
				e = EPROTO;
			}
			if (e == ETIMEDOUT)
				seterr(err, "privsep helper: no reply in %d s",
				    OG_PRIVSEP_TIMEOUT_MS / 1000);
			else
				seterr(err, "privsep helper: %s", strerror(e));
			errno = e;
			return -1;
		}
		if (len > 0 && buf[0] == 'D') { /* output of a read op */
			if (data == NULL)
				continue; /* a late request's: drop it */
			if (!over && og_strbuf_addn(data, buf + 1, len - 1) < 0)
				over = 1;
			continue;
		}
		if (len > OG_PRIVSEP_REPLY_MAX ||
		    parse_reply(buf, len, &got, &status, &text) < 0) {
			broken(fd, "malformed reply");
			seterr(err, "privsep helper: malformed reply");
			errno = EPROTO;
			return -1;
		}
		if (got != seq) {
			og_warnx("privsep: dropped a late reply (request %llu)",
			    got);
			if (data != NULL)
				og_strbuf_reset(data); /* its data, not ours */
			over = 0;
			continue;
		}
		if (over && status == 0) {
			seterr(err, "privsep: output over its cap");
			errno = E2BIG;
			return -1;
		}
		if (status != 0 && err != NULL)
			add_clean(err, text, strlen(text));
		return status;
	}
}

/* one_request - one request of 0 to OG_PRIVSEP_IDS_MAX ids, as above */
static int
one_request(int fd, const char *op, const char *const *ids, size_t n,
    struct og_strbuf *err, struct og_strbuf *data)
{
	struct timespec ts;
	unsigned long long seq;
	int64_t deadline;
	int started = 0, e;

	/*
	 * A request's SEQ only has to differ from the requests before it on
	 * this descriptor, whose late replies may still come; calls do not
	 * overlap, so the monotonic clock in nanoseconds does, without state.
	 */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	seq = (unsigned long long)ts.tv_sec * 1000000000ULL +
	    (unsigned long long)ts.tv_nsec + 1;
	deadline = now_ms() + OG_PRIVSEP_TIMEOUT_MS;
	if (send_request(fd, seq, op, ids, n, deadline, &started) < 0) {
		e = errno;
		if (e == ECONNRESET)
			e = EPIPE;
		if (e == EPIPE)
			seterr(err, "privsep helper has exited");
		else
			seterr(err, "privsep: cannot send the request: %s",
			    strerror(e));
		if (started && e != EPIPE)
			broken(fd, "request cut off");
		errno = e;
		return -1;
	}
	return wait_reply(fd, seq, deadline, err, data);
}

int
og_privsep_postsuper(int fd, const char *op, const char *const *ids, size_t n,
    struct og_strbuf *err)
{
	size_t i, off, k, failed = 0;
	int r;

	if (fd < 0 || !op_valid(op) || strcmp(op, "-j") == 0 ||
	    strcmp(op, "-p") == 0 || (ids == NULL && n > 0)) {
		seterr(err, "privsep: bad operation or arguments");
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!og_queue_id_valid(ids[i])) {
			seterr(err, "invalid queue id #%zu, nothing done", i);
			errno = EINVAL;
			return -1;
		}
	for (off = 0; off < n; off += k) {
		k = n - off;
		if (k > OG_PRIVSEP_IDS_MAX)
			k = OG_PRIVSEP_IDS_MAX;
		/* Only the first failure goes into err. */
		r = one_request(
		    fd, op, ids + off, k, failed > 0 ? NULL : err, NULL);
		if (r < 0)
			return -1;
		failed += (size_t)r;
	}
	if (failed > 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
og_privsep_read(
    int fd, const char *id, struct og_strbuf *out, struct og_strbuf *err)
{
	const char *ids[1];
	int r;

	if (fd < 0 || out == NULL || (id != NULL && !og_queue_id_valid(id))) {
		seterr(err, "privsep: bad read arguments");
		errno = EINVAL;
		return -1;
	}
	ids[0] = id;
	r = one_request(fd, id ? "-p" : "-j", ids, id ? 1 : 0, err, out);
	if (r > 0) {
		errno = EIO;
		return -1;
	}
	return r;
}

/* reaped - wait up to ms for pid to exit; 1 once it is reaped or gone */
static int
reaped(pid_t pid, int ms)
{
	int64_t until = now_ms() + ms;
	pid_t r;
	int st;

	for (;;) {
		if ((r = waitpid(pid, &st, WNOHANG)) == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
				og_warnx("privsep helper %ld exited with %d",
				    (long)pid, WEXITSTATUS(st));
			else if (WIFSIGNALED(st))
				og_warnx(
				    "privsep helper %ld killed by signal %d",
				    (long)pid, WTERMSIG(st));
			return 1;
		}
		if (r < 0 && errno != EINTR)
			return 1; /* ECHILD: already reaped, or SIGCHLD ignored */
		if (now_ms() >= until)
			return 0;
		(void)poll(NULL, 0, PS_POLL_MS);
	}
}

void
og_privsep_stop(int fd, pid_t pid)
{
	if (fd >= 0)
		(void)close(fd);
	if (pid <= 0)
		return;
	if (reaped(pid, OG_PRIVSEP_STOP_GRACE_MS))
		return;
	if (kill(pid, SIGTERM) < 0)
		og_warn("privsep: cannot stop helper %ld", (long)pid);
	if (reaped(pid, OG_PRIVSEP_STOP_GRACE_MS))
		return;
	(void)kill(pid, SIGKILL);
	if (reaped(pid, OG_PRIVSEP_STOP_GRACE_MS))
		return;
	og_warnx("privsep helper %ld did not exit; left to its parent-death "
	         "signal",
	    (long)pid);
}

/*
 * exec.c - run a program with a fixed argv, bounded input and output
 * DESCRIPTION: see exec.h. fork() and execve(), never a shell. Between
 *	fork() and execve() the child calls async-signal-safe functions
 *	only (the caller may have threads), so everything it needs (the
 *	environment, the signal actions, the descriptor limit) is prepared
 *	before fork(). All signals are blocked in the calling thread around
 *	fork() so that no handler of the caller runs in the child before the
 *	child has reset the dispositions. Every descriptor is opened
 *	close-on-exec, so that a concurrent fork()+exec() in another thread
 *	leaks none of ours. execve() failure reaches the parent through a
 *	close-on-exec pipe (errno as an int), so a missing program is an
 *	error, not exit status 127.
 *	Standard input is a socketpair rather than a pipe: send() with
 *	MSG_NOSIGNAL cannot raise SIGPIPE in the caller, whose SIGPIPE
 *	disposition we must not touch. The leader is not reaped until the
 *	end (waitid() with WNOWAIT), so its pid keeps naming its process
 *	group and kill(-pid) can never reach a stranger's group.
 *	XXX The caller must not set SIGCHLD to SIG_IGN: the kernel would
 *	reap the child behind our back (status -1, and the group guarantee
 *	above is lost).
 * DIAGNOSTICS: -1 with errno and one og_warnx() line; see exec.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"
#include "strbuf.h"

#define EXEC_CHUNK 65536 /* bytes per read() or send() */
#define EXEC_FD_SCAN_MAX 65536 /* close() loop bound without close_range */
#define EXEC_EXIT_POLL_MS 10 /* while waiting for an exit without fds */

/* Everything the child needs, prepared before fork(). */
struct child_plan {
	const char *path;
	char *const *argv;
	char *const *envp;
	int fd[3]; /* become 0, 1, 2 */
	int errfd; /* execve() failure report, close-on-exec */
	long fdmax; /* close() loop bound */
	struct sigaction dfl; /* SIG_DFL, empty mask */
	sigset_t empty;
};

/* One run, as the parent sees it. */
struct run {
	const char *prog;
	pid_t pid;
	int in_fd, out_fd, err_fd, exec_fd; /* parent ends, -1 when closed */
	const char *in_data;
	size_t in_len, in_off;
	struct og_strbuf *out, *errout;
	size_t err_kept;
	int exec_errno; /* from the child, 0 if execve() worked */
	int exited; /* the child has exited (not yet reaped) */
	int timed_out, truncated;
	int64_t deadline; /* CLOCK_MONOTONIC, ms */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		(void)close(*fd);
		*fd = -1;
	}
}

/* child_report - tell the parent why, then exit; async-signal-safe */
OG_NORETURN static void
child_report(int errfd)
{
	int e = errno;
	ssize_t n;

	do
		n = write(errfd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* child_close_from - close every fd >= lo except keep; async-signal-safe */
static void
child_close_from(int lo, int keep, long fdmax)
{
	long fd;

#if defined(SYS_close_range)
	int ok = 1;

	if (keep > lo &&
	    syscall(SYS_close_range, (unsigned)lo, (unsigned)keep - 1, 0) != 0)
		ok = 0;
	if (ok && syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0) == 0)
		return;
#endif
	for (fd = lo; fd < fdmax; fd++)
		if (fd != keep)
			(void)close((int)fd);
}

/* child_exec - in the child: set up and execve(); never returns */
OG_NORETURN static void
child_exec(const struct child_plan *p)
{
	int tmp[3];
	int i;

	for (i = 1; i < NSIG; i++)
		(void)sigaction(i, &p->dfl, NULL);
	(void)setpgid(0, 0);
	/*
	 * Move the three ends above 2 first: when the caller runs with 0, 1
	 * or 2 closed, a pipe end may itself sit on 0, 1 or 2, and dup2()
	 * in order would clobber it.
	 */
	for (i = 0; i < 3; i++)
		if ((tmp[i] = fcntl(p->fd[i], F_DUPFD_CLOEXEC, 3)) < 0)
			child_report(p->errfd);
	for (i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			child_report(p->errfd);
	child_close_from(3, p->errfd, p->fdmax);
	(void)sigprocmask(SIG_SETMASK, &p->empty, NULL);
	(void)execve(p->path, p->argv, p->envp);
	child_report(p->errfd);
}

static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/*
 * spawn - create the channels and fork; on success the child runs and
 * r holds the parent ends. On failure nothing is left open or running.
 */
static int
spawn(struct run *r, struct child_plan *p)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int ex[2] = { -1, -1 };
	sigset_t all, old;
	int e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(ex, O_CLOEXEC) < 0 || set_nonblock(in[0]) < 0 ||
	    set_nonblock(out[0]) < 0 || set_nonblock(err[0]) < 0 ||
	    set_nonblock(ex[0]) < 0)
		goto fail;
	p->fd[0] = in[1];
	p->fd[1] = out[1];
	p->fd[2] = err[1];
	p->errfd = ex[1];
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((r->pid = fork()) == 0)
		child_exec(p);
	e = errno;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r->pid < 0) {
		errno = e;
		goto fail;
	}
	/* Either side may win the race to setpgid(); both ask the same. */
	(void)setpgid(r->pid, r->pid);
	(void)close(in[1]);
	(void)close(out[1]);
	(void)close(err[1]);
	(void)close(ex[1]);
	r->in_fd = in[0];
	r->out_fd = out[0];
	r->err_fd = err[0];
	r->exec_fd = ex[0];
	return 0;
fail:
	e = errno;
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&ex[0]);
	close_fd(&ex[1]);
	errno = e;
	return -1;
}

/* child_exited - 1 once the child has exited; it stays a zombie */
static int
child_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		if (errno != EINTR)
			return 1; /* ECHILD: nothing left to wait for */
	return si.si_pid == pid;
}

static void
feed_stdin(struct run *r)
{
	size_t n = r->in_len - r->in_off;
	ssize_t w;

	if (n > EXEC_CHUNK)
		n = EXEC_CHUNK;
	w = send(
	    r->in_fd, r->in_data + r->in_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		close_fd(&r->in_fd); /* EPIPE: the child reads no more */
		return;
	}
	r->in_off += (size_t)w;
	if (r->in_off == r->in_len)
		close_fd(&r->in_fd);
}

/* drain - read what fd has; 0, or -1 when the output cap was crossed */
static int
drain(struct run *r, int *fd, int is_err)
{
	char buf[EXEC_CHUNK];
	size_t room, keep;
	ssize_t n;

	if ((n = read(*fd, buf, sizeof(buf))) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			close_fd(fd);
		return 0;
	}
	if (n == 0) {
		close_fd(fd);
		return 0;
	}
	if (is_err) {
		if (r->errout == NULL || r->err_kept >= OG_EXEC_STDERR_MAX)
			return 0;
		keep = (size_t)n;
		if (keep > OG_EXEC_STDERR_MAX - r->err_kept)
			keep = OG_EXEC_STDERR_MAX - r->err_kept;
		room = r->errout->cap - r->errout->len;
		if (keep > room)
			keep = room;
		if (og_strbuf_addn(r->errout, buf, keep) == 0)
			r->err_kept += keep;
		return 0;
	}
	if (r->out == NULL)
		return 0;
	if (og_strbuf_addn(r->out, buf, (size_t)n) == 0)
		return 0;
	/* Keep exactly the first cap bytes, then stop the child. */
	room = r->out->cap - r->out->len;
	(void)og_strbuf_addn(r->out, buf, room);
	r->truncated = 1;
	return -1;
}

static void
read_exec_errno(struct run *r)
{
	int e;
	ssize_t n;

	n = read(r->exec_fd, &e, sizeof(e));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == (ssize_t)sizeof(e))
		r->exec_errno = e != 0 ? e : EIO;
	close_fd(&r->exec_fd);
}

/*
 * pump - move data until the child has exited and closed its output,
 * or until the timeout or the cap; sets r->timed_out, r->truncated
 */
static void
pump(struct run *r)
{
	struct pollfd pfd[4];
	int64_t left;
	nfds_t n;
	int i, wait_ms;

	for (;;) {
		if (!r->exited)
			r->exited = child_exited(r->pid);
		if (r->exited && r->out_fd < 0 && r->err_fd < 0 &&
		    r->exec_fd < 0)
			return;
		if ((left = r->deadline - now_ms()) <= 0) {
			r->timed_out = 1;
			return;
		}
		n = 0;
		if (r->in_fd >= 0)
			pfd[n++] = (struct pollfd){ r->in_fd, POLLOUT, 0 };
		if (r->out_fd >= 0)
			pfd[n++] = (struct pollfd){ r->out_fd, POLLIN, 0 };
		if (r->err_fd >= 0)
			pfd[n++] = (struct pollfd){ r->err_fd, POLLIN, 0 };
		if (r->exec_fd >= 0)
			pfd[n++] = (struct pollfd){ r->exec_fd, POLLIN, 0 };
		/*
		 * Output and the exec report end in EOF, which poll() sees;
		 * an exit is not pollable here, so with nothing left to
		 * read, look again every few ms.
		 */
		wait_ms = left > INT32_MAX ? INT32_MAX : (int)left;
		if (n == 0 && wait_ms > EXEC_EXIT_POLL_MS)
			wait_ms = EXEC_EXIT_POLL_MS;
		if (poll(pfd, n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			r->timed_out = 1; /* cannot happen; stop safely */
			return;
		}
		for (i = 0; i < (int)n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == r->in_fd)
				feed_stdin(r);
			else if (pfd[i].fd == r->out_fd) {
				if (drain(r, &r->out_fd, 0) < 0)
					return;
			} else if (pfd[i].fd == r->err_fd)
				(void)drain(r, &r->err_fd, 1);
			else if (pfd[i].fd == r->exec_fd)
				read_exec_errno(r);
		}
	}
}

/*
 * stop - SIGTERM the child's group, SIGKILL it after the grace period
 * or as soon as the leader is gone (stragglers); the leader is still
 * unreaped here, so -pid names our group and no other.
 */
static void
stop(struct run *r)
{
	int64_t until;

	if (kill(-r->pid, SIGTERM) < 0)
		(void)kill(r->pid, SIGTERM);
	until = now_ms() + OG_EXEC_KILL_GRACE_MS;
	while (!child_exited(r->pid) && now_ms() < until)
		(void)poll(NULL, 0, EXEC_EXIT_POLL_MS);
	if (kill(-r->pid, SIGKILL) < 0)
		(void)kill(r->pid, SIGKILL);
}

/* reap - collect the child; its status as exit code or 128 + signal */
static int
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

static int
check_args(const char *const argv[], const char *mail_config, size_t stdin_len,
    int timeout_ms)
{
	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		og_warnx("exec: program path must be absolute");
		errno = EINVAL;
		return -1;
	}
	if (mail_config != NULL && mail_config[0] != '/') {
		og_warnx("exec %s: MAIL_CONFIG must be absolute", argv[0]);
		errno = EINVAL;
		return -1;
	}
	if (timeout_ms <= 0) {
		og_warnx("exec %s: timeout must be positive", argv[0]);
		errno = EINVAL;
		return -1;
	}
	if (stdin_len > OG_EXEC_STDIN_MAX) {
		og_warnx("exec %s: %zu bytes of input, over %d", argv[0],
		    stdin_len, OG_EXEC_STDIN_MAX);
		errno = E2BIG;
		return -1;
	}
	return 0;
}

/* finish - report the outcome of a run that was started */
static int
finish(struct run *r, struct og_exec_result *res)
{
	int status;

	close_fd(&r->in_fd);
	close_fd(&r->out_fd);
	close_fd(&r->err_fd);
	close_fd(&r->exec_fd);
	if (r->timed_out || r->truncated)
		stop(r);
	status = reap(r->pid);
	if (res != NULL) {
		res->status = status;
		res->timed_out = r->timed_out;
		res->truncated = r->truncated;
	}
	if (r->exec_errno != 0) {
		errno = r->exec_errno;
		og_warn("exec %s", r->prog);
		return -1;
	}
	if (r->timed_out) {
		og_warnx(
		    "exec %s: timed out, stopped (status %d)", r->prog, status);
		errno = ETIMEDOUT;
		return -1;
	}
	if (r->truncated) {
		og_warnx("exec %s: output over %zu bytes, stopped", r->prog,
		    r->out->cap);
		errno = E2BIG;
		return -1;
	}
	return 0;
}

int
og_exec(const char *const argv[], const char *mail_config,
    const char *stdin_data, size_t stdin_len, struct og_strbuf *out,
    struct og_strbuf *errout, int timeout_ms, struct og_exec_result *res)
{
	static const char env_path[] = "PATH=" OG_EXEC_PATH;
	struct og_strbuf env_mc;
	struct child_plan plan;
	struct run r;
	char *envp[3];
	int rc;

	if (res != NULL) {
		res->status = -1;
		res->timed_out = 0;
		res->truncated = 0;
	}
	if (check_args(argv, mail_config, stdin_len, timeout_ms) < 0)
		return -1;
	og_strbuf_init(&env_mc, 0);
	/* execve() takes char *const[] but changes nothing it is given. */
	envp[0] = (char *)(uintptr_t)env_path;
	envp[1] = NULL;
	envp[2] = NULL;
	if (mail_config != NULL) {
		if (og_strbuf_addf(&env_mc, "MAIL_CONFIG=%s", mail_config) <
		    0) {
			og_warnx("exec %s: MAIL_CONFIG too long", argv[0]);
			errno = E2BIG;
			return -1;
		}
		envp[1] = env_mc.data;
	}

	memset(&plan, 0, sizeof(plan));
	plan.path = argv[0];
	plan.argv = (char *const *)(uintptr_t)argv;
	plan.envp = envp;
	plan.fdmax = sysconf(_SC_OPEN_MAX);
	if (plan.fdmax < 0 || plan.fdmax > EXEC_FD_SCAN_MAX)
		plan.fdmax = EXEC_FD_SCAN_MAX; /* XXX more stay open */
	plan.dfl.sa_handler = SIG_DFL;
	(void)sigemptyset(&plan.dfl.sa_mask);
	(void)sigemptyset(&plan.empty);

	memset(&r, 0, sizeof(r));
	r.prog = argv[0];
	r.in_data = stdin_data;
	r.in_len = stdin_data != NULL ? stdin_len : 0;
	r.out = out;
	r.errout = errout;
	r.deadline = now_ms() + timeout_ms;
	if (spawn(&r, &plan) < 0) {
		og_warn("exec %s: cannot start", argv[0]);
		og_strbuf_release(&env_mc);
		return -1;
	}
	og_strbuf_release(&env_mc);
	if (r.in_len == 0)
		close_fd(&r.in_fd); /* no input: the child reads EOF */
	pump(&r);
	rc = finish(&r, res);
	return rc;
}

char *
og_postfix_cmd(const char *name)
{
	struct og_strbuf sb;
	const char *dir, *p;

	if (name == NULL || name[0] == '\0' || name[0] == '-' ||
	    strlen(name) > 32) {
		errno = EINVAL;
		return NULL;
	}
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		        *p == '_' || *p == '-')) {
			errno = EINVAL;
			return NULL;
		}
#if defined(__GLIBC__)
	dir = secure_getenv("OG_POSTFIX_BIN");
#else
	dir = getuid() == geteuid() && getgid() == getegid()
	    ? getenv("OG_POSTFIX_BIN")
	    : NULL;
#endif
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/sbin";
	else if (dir[0] != '/') {
		og_warnx("OG_POSTFIX_BIN must be an absolute path");
		errno = EINVAL;
		return NULL;
	}
	og_strbuf_init(&sb, 4096);
	if (og_strbuf_addf(&sb, "%s/%s", dir, name) < 0) {
		og_strbuf_release(&sb);
		errno = EINVAL;
		return NULL;
	}
	return og_strbuf_steal(&sb);
}

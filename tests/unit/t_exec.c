/*
 * t_exec.c - unit tests for lib/exec.c
 * DESCRIPTION: runs small system programs (/bin/true, /bin/sh -c,
 *	/bin/cat, /usr/bin/env, /bin/sleep, ...) through og_exec(): exit
 *	codes and signals, stdout and stderr capture and caps, standard
 *	input (also unread and also with our fd 0 closed), the timeout (and
 *	a child that ignores SIGTERM), argument checks, the minimal
 *	environment, closed descriptors, reset signal state, runs from
 *	several threads at once. After every
 *	case no child may be left (waitpid() says ECHILD). og_postfix_cmd()
 *	and its OG_POSTFIX_BIN override.
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec.h"
#include "strbuf.h"
#include "util.h"

#define T_TIMEOUT 10000 /* ms, for runs that should not time out */

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* assert_no_children - og_exec() must have reaped everything it started */
static void
assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* run - og_exec() without input or MAIL_CONFIG; stdout into out */
static int
run(const char *const argv[], struct og_strbuf *out, struct og_exec_result *res)
{
	return og_exec(argv, NULL, NULL, 0, out, NULL, T_TIMEOUT, res);
}

static void
test_exit_status(void **state)
{
	static const struct {
		const char *argv[4];
		int status;
	} cases[] = {
		{ { "/bin/true", NULL }, 0 },
		{ { "/bin/false", NULL }, 1 },
		{ { "/bin/sh", "-c", "exit 3", NULL }, 3 },
		{ { "/bin/sh", "-c", "exit 255", NULL }, 255 },
		{ { "/bin/sh", "-c", "kill -TERM $$", NULL }, 128 + SIGTERM },
		{ { "/bin/sh", "-c", "kill -KILL $$", NULL }, 128 + SIGKILL },
	};
	struct og_exec_result res;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		memset(&res, 0x55, sizeof(res));
		assert_int_equal(run(cases[i].argv, NULL, &res), 0);
		assert_int_equal(res.status, cases[i].status);
		assert_int_equal(res.timed_out, 0);
		assert_int_equal(res.truncated, 0);
		assert_no_children();
	}
}

static void
test_stdout(void **state)
{
	static const char *const echo[] = { "/bin/echo", "hello", "world",
		NULL };
	/* argv is passed as is: no shell splits or expands it */
	static const char *const lit[] = { "/bin/echo", "$HOME `id` ; *",
		NULL };
	struct og_exec_result res;
	struct og_strbuf out;

	(void)state;
	og_strbuf_init(&out, 1024);
	assert_int_equal(run(echo, &out, &res), 0);
	assert_string_equal(og_strbuf_str(&out), "hello world\n");
	og_strbuf_reset(&out);
	assert_int_equal(run(lit, &out, &res), 0);
	assert_string_equal(og_strbuf_str(&out), "$HOME `id` ; *\n");
	assert_int_equal(res.status, 0);
	og_strbuf_release(&out);
	/* NULL out: the output is read and dropped */
	assert_int_equal(run(echo, NULL, &res), 0);
	assert_int_equal(res.status, 0);
	assert_no_children();
}

static void
test_stdin(void **state)
{
	static const char *const cat[] = { "/bin/cat", NULL };
	static const char *const tru[] = { "/bin/true", NULL };
	struct og_exec_result res;
	struct og_strbuf out;
	size_t big = 3 * 1024 * 1024 + 17, i;
	char *data;

	(void)state;
	og_strbuf_init(&out, 8 * 1024 * 1024);
	assert_int_equal(
	    og_exec(cat, NULL, "abc\ndef", 7, &out, NULL, T_TIMEOUT, &res), 0);
	assert_string_equal(og_strbuf_str(&out), "abc\ndef");
	/* no input: the child reads EOF at once */
	og_strbuf_reset(&out);
	assert_int_equal(run(cat, &out, &res), 0);
	assert_int_equal(out.len, 0);
	/* more than any pipe buffer both ways: no deadlock */
	data = og_malloc(big);
	for (i = 0; i < big; i++)
		data[i] = (char)('a' + i % 23);
	og_strbuf_reset(&out);
	assert_int_equal(
	    og_exec(cat, NULL, data, big, &out, NULL, T_TIMEOUT, &res), 0);
	assert_int_equal(res.status, 0);
	assert_int_equal(out.len, big);
	assert_memory_equal(out.data, data, big);
	/* a child that reads nothing: EPIPE, not SIGPIPE in the caller */
	assert_int_equal(
	    og_exec(tru, NULL, data, big, NULL, NULL, T_TIMEOUT, &res), 0);
	assert_int_equal(res.status, 0);
	og_free(data);
	og_strbuf_release(&out);
	/* input over the bound is refused before anything runs */
	errno = 0;
	assert_int_equal(og_exec(cat, NULL, "x", (size_t)OG_EXEC_STDIN_MAX + 1,
	                     NULL, NULL, T_TIMEOUT, &res),
	    -1);
	assert_int_equal(errno, E2BIG);
	assert_no_children();
}

static void
test_stdio_closed(void **state)
{
	static const char *const cat[] = { "/bin/cat", NULL };
	struct og_exec_result res;
	struct og_strbuf out;
	int save;

	(void)state;
	/* with our fd 0 closed, a new pipe end lands on 0 */
	save = dup(0);
	assert_true(save >= 0);
	assert_int_equal(close(0), 0);
	og_strbuf_init(&out, 1024);
	assert_int_equal(
	    og_exec(cat, NULL, "in", 2, &out, NULL, T_TIMEOUT, &res), 0);
	assert_int_equal(dup2(save, 0), 0);
	(void)close(save);
	assert_int_equal(res.status, 0);
	assert_string_equal(og_strbuf_str(&out), "in");
	og_strbuf_release(&out);
	assert_no_children();
}

static void
test_cap(void **state)
{
	static const char *const head[] = { "/usr/bin/head", "-c", "1000000",
		"/dev/zero", NULL };
	static const char *const exact[] = { "/usr/bin/head", "-c", "1000",
		"/dev/zero", NULL };
	struct og_exec_result res;
	struct og_strbuf out;

	(void)state;
	og_strbuf_init(&out, 1000);
	errno = 0;
	assert_int_equal(run(head, &out, &res), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(res.truncated, 1);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(out.len, 1000); /* the first cap bytes */
	assert_no_children();
	/* exactly the cap is fine */
	og_strbuf_reset(&out);
	assert_int_equal(run(exact, &out, &res), 0);
	assert_int_equal(res.truncated, 0);
	assert_int_equal(out.len, 1000);
	og_strbuf_release(&out);
	assert_no_children();
}

static void
test_timeout(void **state)
{
	static const char *const slp[] = { "/bin/sleep", "5", NULL };
	/* ignores SIGTERM, and so does its child: SIGKILL after 1 s */
	static const char *const stubborn[] = { "/bin/sh", "-c",
		"trap '' TERM; /bin/sleep 5; /bin/sleep 5", NULL };
	struct og_exec_result res;
	int64_t t0, dt;

	(void)state;
	t0 = now_ms();
	errno = 0;
	assert_int_equal(
	    og_exec(slp, NULL, NULL, 0, NULL, NULL, 200, &res), -1);
	dt = now_ms() - t0;
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(res.timed_out, 1);
	assert_int_equal(res.status, 128 + SIGTERM);
	assert_true(dt >= 200);
	assert_true(dt < 2000);
	assert_no_children();

	t0 = now_ms();
	assert_int_equal(
	    og_exec(stubborn, NULL, NULL, 0, NULL, NULL, 200, &res), -1);
	dt = now_ms() - t0;
	assert_int_equal(res.timed_out, 1);
	assert_int_equal(res.status, 128 + SIGKILL);
	assert_true(dt >= 1200);
	assert_true(dt < 3000);
	assert_no_children();
}

static void
test_bad_args(void **state)
{
	static const char *const rel[] = { "true", NULL };
	static const char *const rel2[] = { "bin/true", NULL };
	static const char *const empty[] = { "", NULL };
	static const char *const none[] = { NULL };
	static const char *const tru[] = { "/bin/true", NULL };
	static const char *const missing[] = { "/nonexistent/og-prog", NULL };
	static const char *const notexec[] = { "/etc/passwd", NULL };
	struct og_exec_result res;

	(void)state;
	errno = 0;
	assert_int_equal(run(rel, NULL, &res), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(res.status, -1);
	errno = 0;
	assert_int_equal(run(rel2, NULL, &res), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(run(empty, NULL, &res), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(run(none, NULL, &res), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(run(NULL, NULL, &res), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_exec(tru, NULL, NULL, 0, NULL, NULL, 0, &res), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(
	    og_exec(tru, "etc/postfix", NULL, 0, NULL, NULL, 1000, &res), -1);
	assert_int_equal(errno, EINVAL);
	/* execve() failures come back as errno, not as exit status 127 */
	errno = 0;
	assert_int_equal(run(missing, NULL, &res), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(res.status, 127);
	assert_no_children();
	errno = 0;
	assert_int_equal(run(notexec, NULL, &res), -1);
	assert_int_equal(errno, EACCES);
	assert_no_children();
	/* res is optional */
	assert_int_equal(run(tru, NULL, NULL), 0);
	assert_no_children();
}

static void
test_environment(void **state)
{
	static const char *const env[] = { "/usr/bin/env", NULL };
	struct og_exec_result res;
	struct og_strbuf out;

	(void)state;
	assert_int_equal(setenv("OG_T_SECRET", "leak", 1), 0);
	assert_int_equal(setenv("MAIL_CONFIG", "/etc/elsewhere", 1), 0);
	og_strbuf_init(&out, 4096);
	assert_int_equal(run(env, &out, &res), 0);
	assert_string_equal(
	    og_strbuf_str(&out), "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
	og_strbuf_reset(&out);
	assert_int_equal(
	    og_exec(env, "/srv/pf/etc", NULL, 0, &out, NULL, T_TIMEOUT, &res),
	    0);
	assert_string_equal(og_strbuf_str(&out),
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nMAIL_CONFIG=/srv/pf/etc\n");
	og_strbuf_release(&out);
	(void)unsetenv("OG_T_SECRET");
	(void)unsetenv("MAIL_CONFIG");
	assert_no_children();
}

static void
test_stderr(void **state)
{
	static const char *const err[] = { "/bin/sh", "-c",
		"echo out; echo oops >&2; exit 2", NULL };
	static const char *const flood[] = { "/bin/sh", "-c",
		"/usr/bin/head -c 100000 /dev/zero >&2; echo done", NULL };
	struct og_exec_result res;
	struct og_strbuf out, eout, small;

	(void)state;
	og_strbuf_init(&out, 1024);
	og_strbuf_init(&eout, 1024 * 1024);
	assert_int_equal(
	    og_exec(err, NULL, NULL, 0, &out, &eout, T_TIMEOUT, &res), 0);
	assert_int_equal(res.status, 2);
	assert_string_equal(og_strbuf_str(&out), "out\n");
	assert_string_equal(og_strbuf_str(&eout), "oops\n");
	/* stderr past OG_EXEC_STDERR_MAX is read and dropped, no error */
	og_strbuf_reset(&out);
	og_strbuf_reset(&eout);
	assert_int_equal(
	    og_exec(flood, NULL, NULL, 0, &out, &eout, T_TIMEOUT, &res), 0);
	assert_int_equal(res.status, 0);
	assert_int_equal(eout.len, OG_EXEC_STDERR_MAX);
	assert_string_equal(og_strbuf_str(&out), "done\n");
	/* and past the caller's smaller cap too */
	og_strbuf_init(&small, 100);
	og_strbuf_reset(&out);
	assert_int_equal(
	    og_exec(flood, NULL, NULL, 0, &out, &small, T_TIMEOUT, &res), 0);
	assert_int_equal(small.len, 100);
	assert_string_equal(og_strbuf_str(&out), "done\n");
	og_strbuf_release(&small);
	og_strbuf_release(&out);
	og_strbuf_release(&eout);
	assert_no_children();
}

static void
test_fds_closed(void **state)
{
	static const char *const ls[] = { "/bin/ls", "/proc/self/fd", NULL };
	struct og_exec_result res;
	struct og_strbuf out;
	const char *p;
	int fd;

	(void)state;
	/* an inheritable descriptor of ours must not reach the child */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 100), 100);
	og_strbuf_init(&out, 4096);
	assert_int_equal(run(ls, &out, &res), 0);
	(void)close(100);
	(void)close(fd);
	assert_int_equal(res.status, 0);
	/* 0, 1, 2 and ls's own directory descriptor */
	assert_true(strncmp(og_strbuf_str(&out), "0\n1\n2\n", 6) == 0);
	for (p = og_strbuf_str(&out); *p != '\0'; p += strcspn(p, "\n") + 1)
		assert_true(strncmp(p, "0\n", 2) == 0 ||
		    strncmp(p, "1\n", 2) == 0 || strncmp(p, "2\n", 2) == 0 ||
		    strncmp(p, "3\n", 2) == 0);
	og_strbuf_release(&out);
	assert_no_children();
}

/*
 * check_sigmask - the mask on the line starting with name is empty but
 * for signals 32 and 33: glibc reserves them (sigaction() refuses them),
 * so a child keeps whatever disposition the test's own parent gave them
 */
static void
check_sigmask(const char *status, const char *name)
{
	const char *line = strstr(status, name);
	unsigned long long mask;
	char *end;

	assert_non_null(line);
	mask = strtoull(line + strlen(name), &end, 16);
	mask &= ~((1ULL << 31) | (1ULL << 32));
	if (mask != 0)
		fail_msg("%s %llx: a signal is still ignored or blocked", name,
		    mask);
}

static void
test_signals_reset(void **state)
{
	static const char *const grep[] = { "/usr/bin/grep", "-E",
		"^Sig(Ign|Blk):", "/proc/self/status", NULL };
	struct og_exec_result res;
	struct og_strbuf out;
	struct sigaction ign, old;
	sigset_t set, oldset;

	(void)state;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &oldset), 0);
	og_strbuf_init(&out, 4096);
	assert_int_equal(run(grep, &out, &res), 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, &oldset, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	assert_int_equal(res.status, 0);
	check_sigmask(og_strbuf_str(&out), "SigBlk:");
	check_sigmask(og_strbuf_str(&out), "SigIgn:");
	og_strbuf_release(&out);
	assert_no_children();
}

#define T_THREADS 4
#define T_RUNS 15

static void *
thread_runs(void *arg)
{
	const char *argv[] = { "/bin/echo", arg, NULL };
	struct og_exec_result res;
	struct og_strbuf out;
	char want[32];
	int i, bad = 0;

	(void)snprintf(want, sizeof(want), "%s\n", (const char *)arg);
	og_strbuf_init(&out, 1024);
	for (i = 0; i < T_RUNS; i++) {
		og_strbuf_reset(&out);
		if (og_exec(argv, NULL, "x", 1, &out, NULL, T_TIMEOUT, &res) !=
		        0 ||
		    res.status != 0 || strcmp(og_strbuf_str(&out), want) != 0)
			bad++;
	}
	og_strbuf_release(&out);
	return bad ? arg : NULL;
}

static void
test_threads(void **state)
{
	static const char *const names[T_THREADS] = { "t0", "t1", "t2", "t3" };
	pthread_t t[T_THREADS];
	void *rv;
	size_t i;

	(void)state;
	for (i = 0; i < T_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_runs,
		                     (void *)(uintptr_t)names[i]),
		    0);
	for (i = 0; i < T_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
	}
	assert_no_children();
}

static void
test_postfix_cmd(void **state)
{
	static const char *const bad[] = { "", "-h", "../postqueue", "a/b",
		"Postqueue", "post queue",
		"abcdefghijklmnopqrstuvwxyz0123456" };
	char *p;
	size_t i;

	(void)state;
	(void)unsetenv("OG_POSTFIX_BIN");
	p = og_postfix_cmd("postqueue");
	assert_string_equal(p, "/usr/sbin/postqueue");
	og_free(p);
	p = og_postfix_cmd("postsuper");
	assert_string_equal(p, "/usr/sbin/postsuper");
	og_free(p);
	for (i = 0; i < OG_NELEM(bad); i++) {
		errno = 0;
		assert_null(og_postfix_cmd(bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	assert_null(og_postfix_cmd(NULL));
	assert_int_equal(setenv("OG_POSTFIX_BIN", "/tmp/fakepf", 1), 0);
	p = og_postfix_cmd("postcat");
	assert_string_equal(p, "/tmp/fakepf/postcat");
	og_free(p);
	assert_int_equal(setenv("OG_POSTFIX_BIN", "tmp/fakepf", 1), 0);
	errno = 0;
	assert_null(og_postfix_cmd("postcat"));
	assert_int_equal(errno, EINVAL);
	(void)unsetenv("OG_POSTFIX_BIN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_stdout),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_stdio_closed),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_stderr),
		cmocka_unit_test(test_fds_closed),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_postfix_cmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

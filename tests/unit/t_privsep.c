/*
 * t_privsep.c - unit tests for policy/privsep.c
 * DESCRIPTION: starts the helper with OG_POSTFIX_BIN pointing at a
 *	temporary directory whose fake postsuper appends its arguments and
 *	its standard input to a log file, and fails (exit 1, two lines on
 *	standard error) when an id is "FAIL00". Checks -h, -H and -r end to
 *	end, the configuration directory (given, from MAIL_CONFIG, none),
 *	refusals in the daemon (bad op, bad ids: nothing sent) and in the
 *	helper (raw requests written by hand: the helper exits with
 *	EX_PROTOCOL and runs nothing), batches of OG_PRIVSEP_BATCH ids,
 *	requests of more than OG_PRIVSEP_IDS_MAX ids, a failing postsuper,
 *	a late reply, the helper's state through /proc (descriptors,
 *	environment, directory, signals), its exit at EOF, by SIGTERM and
 *	when its parent dies, and og_privsep_stop(). Linux only (/proc,
 *	PR_SET_CHILD_SUBREAPER).
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec.h"
#include "privsep.h"
#include "strbuf.h"
#include "util.h"

#define T_WAIT_MS 10000 /* for exits that must come */

struct fake {
	char dir[256];
	char log[300];
	char path[300];
};

static struct fake *fk; /* the group's fixture */

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

/* log_read - the fake's log, "" when it does not exist; og_free() it */
static char *
log_read(void)
{
	struct og_strbuf sb;
	char chunk[4096];
	FILE *fp;
	size_t n;

	og_strbuf_init(&sb, 64 * 1024 * 1024);
	(void)og_strbuf_adds(&sb, "");
	if ((fp = fopen(fk->log, "r")) != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			assert_int_equal(og_strbuf_addn(&sb, chunk, n), 0);
		(void)fclose(fp);
	}
	return og_strbuf_steal(&sb);
}

static void
assert_log(const char *want)
{
	char *got = log_read();

	assert_string_equal(got, want);
	og_free(got);
}

static void
log_reset(void)
{
	(void)unlink(fk->log);
}

/* wait_exit - reap pid within T_WAIT_MS; its raw wait status */
static int
wait_exit(pid_t pid)
{
	int64_t until = now_ms() + T_WAIT_MS;
	pid_t r;
	int st = 0;

	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < until)
		(void)poll(NULL, 0, 10);
	assert_int_equal(r, pid);
	return st;
}

static void
assert_exit_code(pid_t pid, int code)
{
	int st = wait_exit(pid);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

/* start - a helper for config_dir; its fd, pid in *pid */
static int
start(const char *config_dir, pid_t *pid)
{
	int fd;

	*pid = -1;
	fd = og_privsep_start(config_dir, pid);
	assert_true(fd >= 0);
	assert_true(*pid > 0);
	return fd;
}

static int
group_setup(void **state)
{
	static const char script[] =
	    "#!/bin/sh\n"
	    "log=\"${0%/*}/log\"\n"
	    "{\n"
	    "  printf 'argv:'\n"
	    "  for a in \"$@\"; do printf ' %s' \"$a\"; done\n"
	    "  printf '\\n'\n"
	    "} >>\"$log\"\n"
	    "rc=0\n"
	    "while IFS= read -r id; do\n"
	    "  printf '%s\\n' \"$id\"\n"
	    "  [ \"$id\" = FAIL00 ] && rc=1\n"
	    "done >>\"$log\"\n"
	    "if [ $rc = 1 ]; then\n"
	    "  echo 'postsuper: fatal: FAIL00: refused by the fake' >&2\n"
	    "  echo 'second line' >&2\n"
	    "fi\n"
	    "exit $rc\n";
	char path[300];
	const char *tmp = getenv("TMPDIR");

	(void)state;
	fk = og_calloc(1, sizeof(*fk));
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	assert_true((size_t)snprintf(fk->dir, sizeof(fk->dir),
	                "%s/t_privsep.XXXXXX", tmp) < sizeof(fk->dir));
	assert_non_null(mkdtemp(fk->dir));
	(void)snprintf(fk->log, sizeof(fk->log), "%s/log", fk->dir);
	(void)snprintf(path, sizeof(path), "%s/postsuper", fk->dir);
	write_file(path, script, 0755);
	assert_int_equal(setenv("OG_POSTFIX_BIN", fk->dir, 1), 0);
	(void)unsetenv("MAIL_CONFIG");
	return 0;
}

static int
group_teardown(void **state)
{
	const char *argv[] = { "/bin/rm", "-rf", fk->dir, NULL };

	(void)state;
	assert_int_equal(
	    og_exec(argv, NULL, NULL, 0, NULL, NULL, 10000, NULL), 0);
	(void)unsetenv("OG_POSTFIX_BIN");
	fk = og_free(fk);
	return 0;
}

static int
test_setup(void **state)
{
	(void)state;
	log_reset();
	(void)unsetenv("MAIL_CONFIG");
	return 0;
}

static void
test_ops(void **state)
{
	static const char *const ids[] = { "1C141A74403", "4jXsQM1r0Yz1bYGt",
		"ABCDEF" };
	static const struct {
		const char *op;
		const char *want;
	} cases[] = {
		{ "-h",
		    "argv: -c /etc/postfix-out -h -\n"
		    "1C141A74403\n4jXsQM1r0Yz1bYGt\nABCDEF\n" },
		{ "-H",
		    "argv: -c /etc/postfix-out -H -\n"
		    "1C141A74403\n4jXsQM1r0Yz1bYGt\nABCDEF\n" },
		{ "-r",
		    "argv: -c /etc/postfix-out -r -\n"
		    "1C141A74403\n4jXsQM1r0Yz1bYGt\nABCDEF\n" },
	};
	struct og_strbuf err;
	size_t i;
	pid_t pid;
	int fd;

	(void)state;
	og_strbuf_init(&err, 4096);
	fd = start("/etc/postfix-out", &pid);
	for (i = 0; i < OG_NELEM(cases); i++) {
		log_reset();
		assert_int_equal(
		    og_privsep_postsuper(fd, cases[i].op, ids, 3, &err), 0);
		assert_string_equal(og_strbuf_str(&err), "");
		assert_log(cases[i].want);
	}
	/* no ids: nothing runs, nothing is sent */
	log_reset();
	assert_int_equal(og_privsep_postsuper(fd, "-h", NULL, 0, &err), 0);
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 0, NULL), 0);
	assert_log("");
	/* the helper is still there and answers */
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids + 2, 1, NULL), 0);
	assert_log("argv: -c /etc/postfix-out -h -\nABCDEF\n");
	og_privsep_stop(fd, pid);
	errno = 0;
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	og_strbuf_release(&err);
}

static void
test_config_dir(void **state)
{
	static const char *const ids[] = { "ABCDEF" };
	pid_t pid;
	int fd;

	(void)state;
	/* none, and no MAIL_CONFIG: postsuper's own default */
	fd = start(NULL, &pid);
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, NULL), 0);
	assert_log("argv: -h -\nABCDEF\n");
	/* set later: the helper's directory was fixed at start */
	assert_int_equal(setenv("MAIL_CONFIG", "/srv/later", 1), 0);
	log_reset();
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, NULL), 0);
	assert_log("argv: -h -\nABCDEF\n");
	og_privsep_stop(fd, pid);

	/* MAIL_CONFIG at start becomes -c, so the environment is moot */
	assert_int_equal(setenv("MAIL_CONFIG", "/srv/sandbox/etc", 1), 0);
	fd = start("", &pid);
	log_reset();
	assert_int_equal(og_privsep_postsuper(fd, "-H", ids, 1, NULL), 0);
	assert_log("argv: -c /srv/sandbox/etc -H -\nABCDEF\n");
	og_privsep_stop(fd, pid);
	/* a relative MAIL_CONFIG is ignored, as og_postsuper() does */
	assert_int_equal(setenv("MAIL_CONFIG", "srv/etc", 1), 0);
	fd = start(NULL, &pid);
	log_reset();
	assert_int_equal(og_privsep_postsuper(fd, "-H", ids, 1, NULL), 0);
	assert_log("argv: -H -\nABCDEF\n");
	og_privsep_stop(fd, pid);
	(void)unsetenv("MAIL_CONFIG");

	/* a relative directory: refused, no helper */
	errno = 0;
	pid = 4242;
	assert_int_equal(og_privsep_start("etc/postfix", &pid), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pid, 4242);
	errno = 0;
	assert_int_equal(og_privsep_start(NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_refused_in_daemon(void **state)
{
	static const char *const ids[] = { "ABCDEF", "GHIJKL" };
	static const char *const badops[] = { "-d", "-D", "-p", "h", "-hH", "",
		"-h ", "-s" };
	static const char *const badids[] = { "abc", "ABCDE", "",
		"ABCDEFGHIJKLMNOPQRSTU", "ABC-DEF", "../../etc", "-rf /",
		"ABCDEF\n", "ABC DEF", "ABCDEF\nGHIJKL", "ALL", "ÄBCDEF" };
	const char *two[2];
	struct og_strbuf err;
	size_t i;
	pid_t pid;
	int fd;

	(void)state;
	og_strbuf_init(&err, 4096);
	fd = start("/etc/pf", &pid);
	for (i = 0; i < OG_NELEM(badops); i++) {
		og_strbuf_reset(&err);
		errno = 0;
		assert_int_equal(
		    og_privsep_postsuper(fd, badops[i], ids, 2, &err), -1);
		assert_int_equal(errno, EINVAL);
		assert_true(err.len > 0);
	}
	errno = 0;
	assert_int_equal(og_privsep_postsuper(fd, NULL, ids, 2, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_privsep_postsuper(fd, "-h", NULL, 2, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_privsep_postsuper(-1, "-h", ids, 2, NULL), -1);
	assert_int_equal(errno, EINVAL);
	/* one bad id anywhere: nothing at all is sent */
	for (i = 0; i < OG_NELEM(badids); i++) {
		two[0] = "GOOD01";
		two[1] = badids[i];
		og_strbuf_reset(&err);
		errno = 0;
		assert_int_equal(
		    og_privsep_postsuper(fd, "-h", two, 2, &err), -1);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(og_strbuf_str(&err), "#1"));
	}
	two[0] = "GOOD01";
	two[1] = NULL;
	errno = 0;
	assert_int_equal(og_privsep_postsuper(fd, "-h", two, 2, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_log("");
	/* and the helper still works */
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 2, NULL), 0);
	assert_log("argv: -c /etc/pf -h -\nABCDEF\nGHIJKL\n");
	og_privsep_stop(fd, pid);
	og_strbuf_release(&err);
}

/* A raw request, message by message; len 0 means strlen(). */
struct raw_msg {
	const char *data;
	size_t len;
};

static void
send_raw(int fd, const struct raw_msg *m)
{
	size_t len = m->len != 0 ? m->len : strlen(m->data);

	assert_int_equal(send(fd, m->data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* ids_msg - n ids "I00000".. joined by "\n" into sb */
static void
ids_msg(struct og_strbuf *sb, size_t n)
{
	size_t i;

	og_strbuf_reset(sb);
	for (i = 0; i < n; i++)
		assert_int_equal(og_strbuf_addf(sb, "I%05zu\n", i), 0);
}

static void
test_refused_in_helper(void **state)
{
	static const struct {
		struct raw_msg m[3];
	} cases[] = {
		{ { { "OGPS1 7 -d 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -s 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 h 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS2 7 -h 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "ogps1 7 -h 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 0 -h 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 -7 -h 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 18446744073709551616 -h 1", 0 },
		    { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h 0", 0 } } },
		{ { { "OGPS1 7 -h 100001", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h 1x", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h 1 ", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1  7 -h 1", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h 1\n", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h 1\0", 13 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h 1 ABCDEF", 0 } } },
		/* bad ids, or a bad id message */
		{ { { "OGPS1 7 -h 1", 0 }, { "ABC\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "ABCDEF", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "ABCDEF\nGHIJKL\n", 0 } } },
		{ { { "OGPS1 7 -h 2", 0 }, { "ABCDEF\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "ABCDEF\n\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "-rf/xx\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "../../etc\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "ABC DEF\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "ABCDEF\r\n", 0 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "ABC\0EF\n", 7 } } },
		{ { { "OGPS1 7 -h 1", 0 }, { "ABCDEFGHIJKLMNOPQRSTU\n", 0 } } },
		/* a second header where ids are due */
		{ { { "OGPS1 7 -h 1", 0 }, { "OGPS1 8 -h 1", 0 } } },
		/* a good request, then trash */
		{ { { "OGPS1 7 -h 1", 0 }, { "ABCDEF\n", 0 },
		    { "ABCDEF\n", 0 } } },
	};
	struct raw_msg big;
	struct og_strbuf sb;
	char hdr[OG_PRIVSEP_HEADER_MAX + 2];
	size_t i, j;
	pid_t pid;
	int fd;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		log_reset();
		fd = start("/etc/pf", &pid);
		for (j = 0; j < OG_NELEM(cases[i].m); j++)
			if (cases[i].m[j].data != NULL)
				send_raw(fd, &cases[i].m[j]);
		assert_exit_code(pid, EX_PROTOCOL);
		(void)close(fd);
		if (i < OG_NELEM(cases) - 1) /* the last one ran once */
			assert_log("");
		else
			assert_log("argv: -c /etc/pf -h -\nABCDEF\n");
	}

	log_reset();
	og_strbuf_init(&sb, 2 * 1024 * 1024);
	/* a header over its cap */
	memset(hdr, '1', sizeof(hdr));
	memcpy(hdr, "OGPS1 ", 6);
	hdr[sizeof(hdr) - 1] = '\0';
	big.data = hdr;
	big.len = OG_PRIVSEP_HEADER_MAX + 1;
	fd = start("/etc/pf", &pid);
	send_raw(fd, &big);
	assert_exit_code(pid, EX_PROTOCOL);
	(void)close(fd);
	/* 1,001 ids in one message */
	fd = start("/etc/pf", &pid);
	big.data = "OGPS1 7 -h 2000";
	big.len = 0;
	send_raw(fd, &big);
	ids_msg(&sb, OG_PRIVSEP_BATCH + 1);
	big.data = sb.data;
	big.len = sb.len;
	send_raw(fd, &big);
	assert_exit_code(pid, EX_PROTOCOL);
	(void)close(fd);
	/* 999 ids where 1,000 are due */
	fd = start("/etc/pf", &pid);
	big.data = "OGPS1 7 -h 2000";
	big.len = 0;
	send_raw(fd, &big);
	ids_msg(&sb, OG_PRIVSEP_BATCH - 1);
	big.data = sb.data;
	big.len = sb.len;
	send_raw(fd, &big);
	assert_exit_code(pid, EX_PROTOCOL);
	(void)close(fd);
	og_strbuf_release(&sb);
	assert_log("");
}

static void
test_descriptor_passing(void **state)
{
	static const char hdr[] = "OGPS1 7 -h 1";
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	int devnull, fd;
	pid_t pid;

	(void)state;
	fd = start("/etc/pf", &pid);
	assert_true((devnull = open("/dev/null", O_RDONLY)) >= 0);
	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)(uintptr_t)hdr;
	iov.iov_len = sizeof(hdr) - 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &devnull, sizeof(int));
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)iov.iov_len);
	(void)close(devnull);
	assert_exit_code(pid, EX_PROTOCOL);
	(void)close(fd);
	assert_log("");
}

/* want_batches - the log of postsuper -h over n ids "Q%06zu" */
static char *
want_batches(size_t n)
{
	struct og_strbuf sb;
	size_t i;

	og_strbuf_init(&sb, 64 * 1024 * 1024);
	for (i = 0; i < n; i++) {
		if (i % OG_PRIVSEP_BATCH == 0)
			assert_int_equal(
			    og_strbuf_adds(&sb, "argv: -c /etc/pf -h -\n"), 0);
		assert_int_equal(og_strbuf_addf(&sb, "Q%06zu\n", i), 0);
	}
	return og_strbuf_steal(&sb);
}

static const char **
make_ids(size_t n, char **store)
{
	const char **ids = og_reallocarray(NULL, n, sizeof(*ids));
	size_t i;

	*store = og_reallocarray(NULL, n, 24);
	for (i = 0; i < n; i++) {
		(void)snprintf(*store + i * 24, 24, "Q%06zu", i);
		ids[i] = *store + i * 24;
	}
	return ids;
}

static void
test_batches(void **state)
{
	static const size_t sizes[] = { 2500, 1000, 1001,
		OG_PRIVSEP_IDS_MAX + 1500 };
	const char **ids;
	char *store, *want, *got, *p;
	size_t i, runs;
	pid_t pid;
	int fd;

	(void)state;
	fd = start("/etc/pf", &pid);
	for (i = 0; i < OG_NELEM(sizes); i++) {
		log_reset();
		ids = make_ids(sizes[i], &store);
		assert_int_equal(
		    og_privsep_postsuper(fd, "-h", ids, sizes[i], NULL), 0);
		want = want_batches(sizes[i]);
		got = log_read();
		assert_string_equal(got, want);
		for (runs = 0, p = got; (p = strstr(p, "argv:")) != NULL; p++)
			runs++;
		assert_int_equal(
		    runs, (sizes[i] + OG_PRIVSEP_BATCH - 1) / OG_PRIVSEP_BATCH);
		og_free(got);
		og_free(want);
		og_free(ids);
		og_free(store);
	}
	og_privsep_stop(fd, pid);
}

static void
test_failure(void **state)
{
	static const char *const ids[] = { "AAAAAA", "FAIL00", "BBBBBB" };
	const char **many;
	char *store;
	struct og_strbuf err;
	pid_t pid;
	int fd;

	(void)state;
	og_strbuf_init(&err, 4096);
	fd = start("/etc/pf", &pid);
	errno = 0;
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 3, &err), -1);
	assert_int_equal(errno, EIO);
	assert_string_equal(og_strbuf_str(&err),
	    "postsuper -h failed in 1 of 1 runs; ids 1-3: postsuper: fatal: "
	    "FAIL00: refused by the fake; second line");
	assert_log("argv: -c /etc/pf -h -\nAAAAAA\nFAIL00\nBBBBBB\n");

	/* the other runs go on; err holds the first failure only */
	many = make_ids(3000, &store);
	many[1500] = "FAIL00";
	many[2999] = "FAIL00";
	log_reset();
	og_strbuf_reset(&err);
	errno = 0;
	assert_int_equal(og_privsep_postsuper(fd, "-r", many, 3000, &err), -1);
	assert_int_equal(errno, EIO);
	assert_string_equal(og_strbuf_str(&err),
	    "postsuper -r failed in 2 of 3 runs; ids 1001-2000: postsuper: "
	    "fatal: FAIL00: refused by the fake; second line");
	og_free(many);
	og_free(store);

	/* without err, and the helper still serves */
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 3, NULL), -1);
	log_reset();
	og_strbuf_reset(&err);
	assert_int_equal(og_privsep_postsuper(fd, "-H", ids, 1, &err), 0);
	assert_string_equal(og_strbuf_str(&err), "");
	assert_log("argv: -c /etc/pf -H -\nAAAAAA\n");
	og_privsep_stop(fd, pid);

	/* no postsuper at all: the error names why */
	assert_int_equal(setenv("OG_POSTFIX_BIN", "/nonexistent", 1), 0);
	fd = start("/etc/pf", &pid);
	assert_int_equal(setenv("OG_POSTFIX_BIN", fk->dir, 1), 0);
	og_strbuf_reset(&err);
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, &err), -1);
	assert_string_equal(og_strbuf_str(&err),
	    "postsuper -h failed in 1 of 1 runs; ids 1-1: No such file or "
	    "directory");
	og_privsep_stop(fd, pid);
	og_strbuf_release(&err);
}

static void
test_late_reply(void **state)
{
	static const char *const ids[] = { "CCCCCC" };
	static const struct raw_msg old[] = { { "OGPS1 5 -h 1", 0 },
		{ "OLDOLD\n", 0 } };
	struct og_strbuf err;
	pid_t pid;
	int fd;

	(void)state;
	og_strbuf_init(&err, 4096);
	fd = start("/etc/pf", &pid);
	/* a request whose reply nobody read, as after a timeout */
	send_raw(fd, &old[0]);
	send_raw(fd, &old[1]);
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, &err), 0);
	assert_string_equal(og_strbuf_str(&err), "");
	assert_log("argv: -c /etc/pf -h -\nOLDOLD\n"
	           "argv: -c /etc/pf -h -\nCCCCCC\n");
	og_privsep_stop(fd, pid);
	og_strbuf_release(&err);
}

static void
test_eof(void **state)
{
	static const char *const ids[] = { "CCCCCC" };
	struct og_strbuf err;
	pid_t pid;
	int fd;

	(void)state;
	fd = start("/etc/pf", &pid);
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, NULL), 0);
	(void)close(fd);
	assert_exit_code(pid, 0);

	/* the helper gone: an error, not a hang */
	og_strbuf_init(&err, 4096);
	fd = start("/etc/pf", &pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	(void)wait_exit(pid);
	errno = 0;
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, &err), -1);
	assert_int_equal(errno, EPIPE);
	assert_string_equal(og_strbuf_str(&err), "privsep helper has exited");
	og_privsep_stop(fd, -1);
	og_strbuf_release(&err);
}

/* proc_read - /proc/pid/name into buf (NULs kept); its length */
static size_t
proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	(void)close(fd);
	return (size_t)n;
}

/* status_mask - the hex mask of "key:\t..." in /proc/pid/status */
static unsigned long long
status_mask(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	assert_non_null(p);
	return strtoull(p + strlen(key), NULL, 16);
}

static void
noop_handler(int sig)
{
	(void)sig;
}

static void
test_helper_state(void **state)
{
	static const char *const ids[] = { "CCCCCC" };
	char buf[8192], path[320], link[256], ours[256];
	struct sigaction sa, oldterm, oldusr;
	sigset_t usr2, oldmask;
	unsigned long long m;
	struct dirent *de;
	int lsock, pfd[2], fd, n, nsock;
	ssize_t l;
	DIR *d;
	pid_t pid;

	(void)state;
	/* what a daemon has open and set when it starts the helper */
	assert_true((lsock = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(pipe(pfd), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	assert_int_equal(sigaction(SIGTERM, &sa, &oldterm), 0);
	assert_int_equal(sigaction(SIGUSR1, &sa, &oldusr), 0);
	(void)sigemptyset(&usr2);
	(void)sigaddset(&usr2, SIGUSR2);
	assert_int_equal(sigprocmask(SIG_BLOCK, &usr2, &oldmask), 0);
	fd = start("/etc/pf", &pid);
	assert_int_equal(sigaction(SIGTERM, &oldterm, NULL), 0);
	assert_int_equal(sigaction(SIGUSR1, &oldusr, NULL), 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
	/* one round trip: the helper is past its set-up */
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, NULL), 0);

	/* descriptors: 0, 1, 2 and one socket, not ours */
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", lsock);
	assert_true((l = readlink(path, ours, sizeof(ours) - 1)) > 0);
	ours[l] = '\0';
	(void)snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	assert_non_null(d = opendir(path));
	n = nsock = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (strcmp(de->d_name, "0") == 0 ||
		    strcmp(de->d_name, "1") == 0 ||
		    strcmp(de->d_name, "2") == 0)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%ld/fd/%s", (long)pid,
		    de->d_name);
		assert_true((l = readlink(path, link, sizeof(link) - 1)) > 0);
		link[l] = '\0';
		assert_memory_equal(link, "socket:[", 8);
		assert_string_not_equal(link, ours);
		nsock++;
	}
	(void)closedir(d);
	assert_int_equal(n, 4);
	assert_int_equal(nsock, 1);

	/*
	 * The environment is not checked: /proc/PID/environ shows the
	 * block the process was exec'ed with, not environ after clearenv().
	 */
	/* the directory */
	(void)snprintf(path, sizeof(path), "/proc/%ld/cwd", (long)pid);
	assert_int_equal(readlink(path, link, sizeof(link)), 1);
	assert_int_equal(link[0], '/');
	/* signals: HUP, INT, PIPE ignored; nothing blocked or caught */
	(void)proc_read(pid, "status", buf, sizeof(buf));
	m = (1ULL << (SIGHUP - 1)) | (1ULL << (SIGINT - 1)) |
	    (1ULL << (SIGPIPE - 1));
	assert_true((status_mask(buf, "SigIgn:") & m) == m);
	assert_int_equal(status_mask(buf, "SigBlk:"), 0);
	m = (1ULL << (SIGTERM - 1)) | (1ULL << (SIGUSR1 - 1));
	assert_int_equal(status_mask(buf, "SigCgt:") & m, 0);

	/* HUP and INT do nothing, TERM ends it */
	assert_int_equal(kill(pid, SIGHUP), 0);
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, NULL), 0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	n = wait_exit(pid);
	assert_true(WIFSIGNALED(n));
	assert_int_equal(WTERMSIG(n), SIGTERM);
	(void)close(fd);
	(void)close(lsock);
	(void)close(pfd[0]);
	(void)close(pfd[1]);
}

static void
test_low_descriptors(void **state)
{
	static const char *const ids[] = { "CCCCCC" };
	char path[64], link[256];
	int saved0, saved1, fd, hi, e;
	ssize_t l;
	pid_t pid = -1;

	(void)state;
	/*
	 * With 0 and 1 closed the socketpair lands on them: the helper
	 * must move its end above 2 and put /dev/null in its place.
	 */
	assert_true((saved0 = dup(0)) >= 0);
	assert_true((saved1 = dup(1)) >= 0);
	(void)close(0);
	(void)close(1);
	fd = og_privsep_start("/etc/pf", &pid);
	e = errno;
	hi = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	(void)dup2(saved0, 0);
	(void)dup2(saved1, 1);
	(void)close(saved0);
	(void)close(saved1);
	errno = e;
	assert_true(fd >= 0);
	assert_true(fd <= 1);
	assert_true(hi >= 3);
	fd = hi;
	assert_int_equal(og_privsep_postsuper(fd, "-h", ids, 1, NULL), 0);
	assert_log("argv: -c /etc/pf -h -\nCCCCCC\n");
	(void)snprintf(path, sizeof(path), "/proc/%ld/fd/1", (long)pid);
	assert_true((l = readlink(path, link, sizeof(link) - 1)) > 0);
	link[l] = '\0';
	assert_string_equal(link, "/dev/null");
	(void)close(fd);
	assert_exit_code(pid, 0);
}

/* send_fd - pid as data, fd as SCM_RIGHTS */
static int
send_fd(int sock, pid_t pid, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = &pid;
	iov.iov_len = sizeof(pid);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == (ssize_t)sizeof(pid) ? 0 : -1;
}

/* recv_fd - the other side of send_fd(); the fd, or -1 */
static int
recv_fd(int sock, pid_t *pid)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	int fd = -1;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = pid;
	iov.iov_len = sizeof(*pid);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*pid) ||
	    (cm = CMSG_FIRSTHDR(&mh)) == NULL || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void
test_parent_death(void **state)
{
	static const char *const ids[] = { "CCCCCC" };
	int sv[2], st, fd;
	pid_t mid, helper = -1;

	(void)state;
	/*
	 * A middle process starts the helper, hands us the channel (so that
	 * the helper sees no EOF) and exits; as a subreaper we inherit the
	 * orphan and see it die of SIGTERM.
	 */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((mid = fork()) == 0) {
		pid_t h = -1;
		int c;

		(void)close(sv[0]);
		if ((c = og_privsep_start("/etc/pf", &h)) < 0)
			_exit(1);
		if (og_privsep_postsuper(c, "-h", ids, 1, NULL) < 0 ||
		    send_fd(sv[1], h, c) < 0)
			_exit(2);
		_exit(0);
	}
	assert_true(mid > 0);
	(void)close(sv[1]);
	fd = recv_fd(sv[0], &helper);
	(void)close(sv[0]);
	assert_true(fd >= 0);
	assert_exit_code(mid, 0);
	st = wait_exit(helper);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
	(void)close(fd);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

static void
test_stop(void **state)
{
	int64_t t0;
	pid_t pid;
	int fd;

	(void)state;
	og_privsep_stop(-1, -1); /* a no-op */
	fd = start(NULL, &pid);
	t0 = now_ms();
	og_privsep_stop(fd, pid);
	assert_true(now_ms() - t0 < OG_PRIVSEP_STOP_GRACE_MS);
	errno = 0;
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	/* stopped by hand already: still fine */
	fd = start(NULL, &pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	(void)wait_exit(pid);
	og_privsep_stop(fd, pid);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ops, test_setup),
		cmocka_unit_test_setup(test_config_dir, test_setup),
		cmocka_unit_test_setup(test_refused_in_daemon, test_setup),
		cmocka_unit_test_setup(test_refused_in_helper, test_setup),
		cmocka_unit_test_setup(test_descriptor_passing, test_setup),
		cmocka_unit_test_setup(test_batches, test_setup),
		cmocka_unit_test_setup(test_failure, test_setup),
		cmocka_unit_test_setup(test_late_reply, test_setup),
		cmocka_unit_test_setup(test_eof, test_setup),
		cmocka_unit_test_setup(test_helper_state, test_setup),
		cmocka_unit_test_setup(test_low_descriptors, test_setup),
		cmocka_unit_test_setup(test_parent_death, test_setup),
		cmocka_unit_test_setup(test_stop, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * exec.h - run a program with a fixed argv, bounded input and output
 * DESCRIPTION: og_exec() runs argv[0] (an absolute path) with fork() and
 *	execve(), never through a shell, in a minimal environment (PATH,
 *	plus MAIL_CONFIG when the caller passes one), with every descriptor
 *	above 2 closed and every signal disposition and the signal mask
 *	reset. It feeds optional standard input, captures standard output
 *	up to the caller's cap and standard error up to OG_EXEC_STDERR_MAX,
 *	and stops the child (SIGTERM, SIGKILL a second later) at the
 *	timeout or at the output cap. The child is always reaped. No global
 *	state: calls from different threads do not share anything. The
 *	caller must not set SIGCHLD to SIG_IGN (the kernel would reap the
 *	child itself); SIGPIPE may be ignored, the child gets SIG_DFL.
 *	og_postfix_cmd() names the Postfix programs.
 * DIAGNOSTICS: og_exec() returns 0 when the program ran to its end,
 *	whatever its exit status (see struct og_exec_result), and -1 with
 *	errno and a logged warning when it could not be started (EINVAL,
 *	E2BIG for too much input, or execve()'s errno such as ENOENT), timed
 *	out (ETIMEDOUT) or wrote more than the cap (E2BIG).
 */
#ifndef OG_EXEC_H
#define OG_EXEC_H

#include <stddef.h>

#include "util.h"

struct og_strbuf;

#define OG_EXEC_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define OG_EXEC_STDIN_MAX (64 * 1024 * 1024) /* bytes of standard input */
#define OG_EXEC_STDERR_MAX 4096 /* bytes of standard error kept */
#define OG_EXEC_KILL_GRACE_MS 1000 /* SIGTERM to SIGKILL */

struct og_exec_result {
	int status; /* exit code, 128 + signal, or -1 when not reaped */
	int timed_out; /* stopped at the timeout */
	int truncated; /* stopped at the output cap */
};

/*
 * og_exec - run argv (NULL-terminated, argv[0] absolute) and wait for it
 *	mail_config: MAIL_CONFIG for the child, an absolute path, or NULL
 *	stdin_data, stdin_len: standard input (NULL: /dev/null); at most
 *	    OG_EXEC_STDIN_MAX bytes; the child may exit without reading it
 *	out: receives standard output, up to its own cap (NULL: discarded)
 *	errout: receives standard error, up to OG_EXEC_STDERR_MAX bytes and
 *	    its own cap; more is read and dropped (NULL: discarded)
 *	timeout_ms: the whole run, > 0
 *	res: always filled, also on failure (NULL: not wanted)
 * The child runs in its own process group, which the timeout and the
 * cap signal as a whole. out and errout are appended to, not reset.
 */
int og_exec(const char *const argv[], const char *mail_config,
    const char *stdin_data, size_t stdin_len, struct og_strbuf *out,
    struct og_strbuf *errout, int timeout_ms, struct og_exec_result *res);

/*
 * og_postfix_cmd - the path of a Postfix command ("postqueue",
 *	"postsuper", "postcat", ...): "/usr/sbin/NAME", or "DIR/NAME" when
 *	the environment has OG_POSTFIX_BIN=DIR (an absolute path; for tests;
 *	ignored in set-uid/set-gid processes). The result is the caller's
 *	to og_free(). NULL with errno EINVAL unless name is 1 to 32
 *	characters of [a-z0-9_-] not starting with '-', or when
 *	OG_POSTFIX_BIN is set but not absolute.
 */
char *og_postfix_cmd(const char *name);

#endif

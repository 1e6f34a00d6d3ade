/*
 * privsep.h - a root helper that runs postsuper for outguard-policyd
 * DESCRIPTION: outguard-policyd drops root for run_user, but putting
 *	mail on hold and releasing it (postsuper -h, -H, -r) needs root.
 *	og_privsep_start(), called while still root, forks a helper that
 *	keeps root and does one thing: read a request from a socketpair,
 *	check it, run og_postsuper() on it and answer. Everything else in
 *	the daemon runs as run_user and reaches the helper only through
 *	og_privsep_postsuper().
 *
 *	The helper trusts nothing it reads. It closes every descriptor but
 *	0, 1, 2 (opened on /dev/null when closed) and its socket, so the
 *	daemon's listening sockets are not held by root; it resets every
 *	signal disposition and the signal mask, ignores SIGHUP, SIGINT and
 *	SIGPIPE (the daemon handles those), dies by SIGTERM when the thread
 *	that started it exits (PR_SET_PDEATHSIG, Linux), runs in "/" and
 *	keeps only OG_POSTFIX_BIN of the environment (og_postfix_cmd()
 *	reads it; tests only). The Postfix configuration directory is fixed
 *	at start: postfix_config_dir, or else our MAIL_CONFIG if it is set
 *	and absolute, or else none (postsuper's compiled-in default); it is
 *	passed to postsuper as "-c DIR", so the helper's environment plays
 *	no part, and a request cannot choose the directory.
 *
 * PROTOCOL (version 1): AF_UNIX SOCK_SEQPACKET, so one send() is one
 *	message, boundaries are kept, and a closed peer reads as EOF. All
 *	text is ASCII without NUL; numbers are decimal.
 *	Request, daemon to helper:
 *	  1. a header "OGPS1 SEQ OP N", single spaces, at most
 *	     OG_PRIVSEP_HEADER_MAX bytes: SEQ 1..2^64-1 names the request
 *	     in the reply, OP is "-h", "-H" or "-r", N is 1 to
 *	     OG_PRIVSEP_IDS_MAX;
 *	  2. ceil(N / OG_PRIVSEP_BATCH) id messages, each holding the next
 *	     min(OG_PRIVSEP_BATCH, ids left) queue ids, each followed by
 *	     "\n", nothing else. Every id must pass og_queue_id_valid()
 *	     ([0-9A-Za-z]{6,20}); the daemon checks them before sending,
 *	     the helper again.
 *	Reply, helper to daemon, after all N ids have run: one message
 *	  "SEQ STATUS" or "SEQ STATUS TEXT", at most OG_PRIVSEP_REPLY_MAX
 *	  bytes: STATUS 0 when every postsuper run exited with 0, else 1
 *	  with TEXT, printable ASCII, saying which runs failed and the
 *	  first failure's standard error (lines joined by "; ").
 *	The helper reads a whole request (at most about 2.1 MB) before it
 *	runs anything, then runs postsuper once per OG_PRIVSEP_BATCH ids
 *	and goes on after a failed run (best effort: a hold must reach as
 *	much mail as it can). Before each run it checks that the daemon
 *	is still there, and stops when it has gone. It exits with 0 at
 *	EOF, with EX_PROTOCOL (76) on anything else: a message over its
 *	cap, descriptors or other control data, a bad magic, SEQ, OP, N
 *	or id, too many or too few ids in a message, a request not
 *	complete OG_PRIVSEP_TIMEOUT_MS after its header, or a reply it
 *	cannot send within that time; and with EX_OSERR (71) when its own
 *	set-up fails.
 *
 * DIAGNOSTICS: og_privsep_start() returns -1 with errno and a logged
 *	warning. og_privsep_postsuper() returns -1 with errno and a short
 *	reason appended to err: EINVAL for a bad fd, op or id (nothing is
 *	sent), EIO when postsuper failed (the helper logged the details
 *	too), ETIMEDOUT when no reply came in time, EPIPE when the helper
 *	is gone, EPROTO for a malformed reply. Only trouble with the channel
 *	itself is logged here.
 *	XXX After the privilege drop the daemon may not signal its root
 *	helper (EPERM): closing the descriptor is how to stop it, and
 *	PR_SET_PDEATHSIG covers the daemon dying. The helper cannot be
 *	started again without root, so a call that fails keeps the channel
 *	usable whenever it can (a late reply is recognised by its SEQ and
 *	dropped); only a request cut off half-way, or a malformed reply,
 *	closes it.
 */
#ifndef OG_PRIVSEP_H
#define OG_PRIVSEP_H

#include <sys/types.h>

#include <stddef.h>

struct og_strbuf;

#define OG_PRIVSEP_IDS_MAX 100000 /* ids per request */
#define OG_PRIVSEP_BATCH 1000 /* ids per id message and per postsuper run */
#define OG_PRIVSEP_HEADER_MAX 64 /* bytes of a request header */
#define OG_PRIVSEP_REPLY_MAX 512 /* bytes of a reply */
#define OG_PRIVSEP_TIMEOUT_MS 120000 /* per request, on either side */
#define OG_PRIVSEP_STOP_GRACE_MS 2000 /* each step of og_privsep_stop() */

/*
 * og_privsep_start - fork the root helper; returns the daemon's end of
 *	the socketpair (close-on-exec) and its pid in *pid_out, or -1.
 *	postfix_config_dir: absolute, or NULL or "" for our MAIL_CONFIG or
 *	Postfix's default (see above); copied. Call it while still root,
 *	from the thread that lives as long as the daemon (the main thread:
 *	the helper gets SIGTERM when that thread exits) and before other
 *	threads exist, since the child runs ordinary code after fork().
 *	The caller must not set SIGCHLD to SIG_IGN, or og_privsep_stop()
 *	cannot see the exit.
 */
int og_privsep_start(const char *postfix_config_dir, pid_t *pid_out);

/*
 * og_privsep_postsuper - run "postsuper OP" on n ids through the helper
 *	op: "-h" (hold), "-H" (release) or "-r" (requeue)
 *	ids: n ids, each passing og_queue_id_valid(), else nothing is sent
 *	n: any count; 0 succeeds at once; more than OG_PRIVSEP_IDS_MAX go
 *	    as several requests, each waited for in turn (best effort, as
 *	    in the helper: the first failure is reported at the end)
 *	err: optional; on -1 a one-line reason is appended (no newline)
 *	Blocks for at most OG_PRIVSEP_TIMEOUT_MS per request. Calls on one
 *	descriptor must not overlap: one thread, or the caller's lock.
 *	0 on success, -1 with errno (see DIAGNOSTICS).
 */
int og_privsep_postsuper(int fd, const char *op, const char *const *ids,
    size_t n, struct og_strbuf *err);

/*
 * og_privsep_stop - close fd (when >= 0) and reap the helper (when
 *	pid > 0): it exits at EOF; after OG_PRIVSEP_STOP_GRACE_MS it gets
 *	SIGTERM, after as long again SIGKILL (both fail with EPERM once the
 *	caller has dropped root), and after one more grace period it is
 *	left, with a warning, to PR_SET_PDEATHSIG. Bounded: at most three
 *	grace periods.
 */
void og_privsep_stop(int fd, pid_t pid);

/*
 * og_privsep_read - as root, read Postfix's queue: with id NULL the
 * output of "postqueue -j", else of "postcat -e -h -q ID", appended to
 * out (which caps it). 0, or -1 with errno and err. Postfix refuses
 * "-c DIR" for a non-default configuration directory to other users.
 */
int og_privsep_read(
    int fd, const char *id, struct og_strbuf *out, struct og_strbuf *err);

#endif

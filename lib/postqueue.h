/*
 * postqueue.h - read Postfix's queue (postqueue -j), act on it (postsuper)
 * DESCRIPTION: og_pq_parse() reads "postqueue -j" output, JSON Lines with
 *	one object per queued message, as untrusted input: each line is
 *	parsed and checked alone, a bad one is counted, logged (a few per
 *	call) and skipped, never fatal. Messages are handed to a callback
 *	one at a time, so a queue of 100,000 messages is never held parsed
 *	in memory. og_pq_run() runs postqueue through og_exec() and parses
 *	its output. og_postsuper() runs postsuper -h/-H/-r on queue ids it
 *	has validated, ids on standard input, never on the command line.
 *	og_queue_id_valid() is the check every queue id passes before it
 *	reaches postsuper.
 * DIAGNOSTICS: 0 on success, -1 with errno and a logged warning; a
 *	callback's non-zero return is passed back.
 */
#ifndef OG_POSTQUEUE_H
#define OG_POSTQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct og_strbuf;

#define OG_PQ_LINE_MAX (1024 * 1024) /* bytes per line, \r\n excluded */
#define OG_PQ_RCPTS_MAX 10000 /* recipients kept per message */
#define OG_PQ_OUTPUT_MAX (512 * 1024 * 1024) /* bytes of postqueue output */
#define OG_PQ_TIMEOUT_MS 60000 /* per postqueue or postsuper run */
#define OG_PQ_WARN_MAX 5 /* bad-line warnings per og_pq_parse() call */

/* Everything borrowed: valid only during the callback. */
struct og_pq_rcpt {
	const char *address; /* as Postfix prints it; may be "" */
	const char *delay_reason; /* NULL when absent */
};

struct og_pq_msg {
	const char *queue_name; /* "active", "deferred", "hold", ...: [a-z]+ */
	const char *queue_id; /* passed og_queue_id_valid() */
	const char *sender; /* "" for the null sender */
	int64_t arrival_time; /* Unix time, >= 0 */
	long long message_size; /* bytes, >= 0 */
	int forced_expire; /* 0 when absent (Postfix < 3.5) */
	const struct og_pq_rcpt *rcpts;
	size_t nrcpts; /* at most OG_PQ_RCPTS_MAX */
	int truncated; /* more recipients than OG_PQ_RCPTS_MAX */
};

/* lines = messages + bad_lines + long_lines, up to a callback's stop */
struct og_pq_stats {
	unsigned long lines; /* non-empty lines looked at */
	unsigned long messages; /* handed to the callback */
	unsigned long bad_lines; /* not an object, bad members or types */
	unsigned long long_lines; /* over OG_PQ_LINE_MAX */
};

/*
 * og_queue_id_valid - 1 if s is [0-9A-Za-z]{6,20} (Postfix short ids,
 *	upper-case hex, and long ids with enable_long_queue_ids), else 0
 */
int og_queue_id_valid(const char *s);

/*
 * og_pq_parse - parse len bytes of postqueue -j output (LF or CRLF line
 *	ends; the last line may lack one; empty lines are skipped) and call
 *	cb for each good message. st (optional) is zeroed first. Returns 0,
 *	or the callback's non-zero value when it stopped the parse, or -1
 *	(EINVAL) for a NULL buf with len > 0 or a NULL cb.
 */
int og_pq_parse(const char *buf, size_t len,
    int (*cb)(const struct og_pq_msg *, void *), void *arg,
    struct og_pq_stats *st);

/*
 * og_pq_run - run "postqueue [-c config_dir] -j" with og_exec(), at most
 *	OG_PQ_OUTPUT_MAX bytes
 *	and OG_PQ_TIMEOUT_MS, and og_pq_parse() its output. A non-zero exit
 *	status is an error (EIO, the first line of its standard error
 *	logged) and nothing is parsed. With config_dir NULL or "", no -c is
 *	given and the child gets our MAIL_CONFIG, if it is set and absolute
 *	(Postfix's own default; the test sandbox relies on it), so the
 *	caller decides by its environment. The same holds for og_postsuper().
 */
int og_pq_run(const char *config_dir,
    int (*cb)(const struct og_pq_msg *, void *), void *arg,
    struct og_pq_stats *st);

/*
 * og_postsuper - run "postsuper [-c config_dir] OP -" with the n ids on
 *	standard input, one a line. op is "-h" (hold), "-H" (release) or
 *	"-r" (requeue). Every id must pass og_queue_id_valid(), else nothing
 *	runs (EINVAL). n == 0 runs nothing and succeeds. err (optional)
 *	receives postsuper's standard error. 0 when it exited with 0;
 *	otherwise -1 with EIO.
 */
int og_postsuper(const char *config_dir, const char *op, const char *const *ids,
    size_t n, struct og_strbuf *err);

#endif

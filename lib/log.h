/*
 * log.h - syslog or stderr logging, decision lines, rate limits
 * DESCRIPTION: og_log_init() opens syslog with the configured facility,
 *	or logs to stderr when foreground is set (-d). Every function keeps
 *	errno. og_warn() appends strerror(errno); og_warnx() does not.
 *	og_fatal() exits with a sysexits.h code and is for main() paths and
 *	the CLI only; og_panic() aborts on a broken invariant.
 *	Decision lines are built with og_kv_*(): "QUEUEID: key=value ...",
 *	values escaped so that no input byte can forge a line or a field.
 */
#ifndef OG_LOG_H
#define OG_LOG_H

#include <stdarg.h>
#include <time.h>

#include "util.h"

struct og_strbuf;

void og_log_init(const char *ident, int facility, int foreground);
/* og_log_facility - syslog facility by name ("mail", "local0", ...) or -1 */
int og_log_facility(const char *);
void og_log_verbose(int); /* -v count; og_debug() needs >= 1 */
int og_log_get_verbose(void);

void og_debug(const char *, ...) OG_PRINTF(1, 2);
void og_info(const char *, ...) OG_PRINTF(1, 2);
void og_notice(const char *, ...) OG_PRINTF(1, 2);
void og_warn(const char *, ...) OG_PRINTF(1, 2);
void og_warnx(const char *, ...) OG_PRINTF(1, 2);
void og_fatal(int, const char *, ...) OG_PRINTF(2, 3) OG_NORETURN;
void og_fatalx(int, const char *, ...) OG_PRINTF(2, 3) OG_NORETURN;
void og_panic(const char *, ...) OG_PRINTF(1, 2) OG_NORETURN;

/*
 * Decision lines. og_kv_begin() starts "QID: " ("NOQUEUE: " for NULL or
 * empty), og_kv_add() appends " key=value" with the value escaped
 * (og_kv_escape()), og_kv_log() emits it at info level.
 */
void og_kv_begin(struct og_strbuf *, const char *qid);
void og_kv_add(struct og_strbuf *, const char *key, const char *value);
void og_kv_addf(struct og_strbuf *, const char *key, const char *, ...)
    OG_PRINTF(3, 4);
void og_kv_log(struct og_strbuf *);
/*
 * og_kv_escape - append value so that it is one token: printable ASCII
 * without space, quote or backslash is copied, anything else makes the
 * value quoted with \" \\ \n \r \t and \xHH escapes. Empty is "".
 */
void og_kv_escape(struct og_strbuf *, const char *, size_t);
/* og_str_quote - append "value" always quoted, escaped as og_kv_escape() */
void og_str_quote(struct og_strbuf *, const char *, size_t);

/*
 * Rate limiting: a caller-owned struct per kind of warning (not locked:
 * one per thread, or guarded by the caller's lock). At most
 * burst messages per interval seconds; the first message after a quiet
 * period reports how many were suppressed.
 */
struct og_ratelimit {
	time_t start;
	unsigned interval;
	unsigned burst;
	unsigned count;
	unsigned long suppressed;
};
#define OG_RATELIMIT_INIT(iv, b)                                               \
	{                                                                      \
		0, (iv), (b), 0, 0                                             \
	}
void og_warnx_rl(struct og_ratelimit *, const char *, ...) OG_PRINTF(2, 3);
/* og_ratelimit_ok - 1 if a message may be logged now (count it), else 0 */
int og_ratelimit_ok(
    struct og_ratelimit *, time_t now, unsigned long *suppressed);

#endif

/*
 * log.c - syslog or stderr logging, decision lines, rate limits
 * DESCRIPTION: see log.h. The module state (ident, foreground, verbose)
 *	is set once at start-up, before threads exist, and only read later.
 *	Lines are formatted into a bounded local buffer and passed to
 *	syslog() as "%s", so no input byte is ever a format directive.
 * DIAGNOSTICS: none; logging never fails the caller.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "strbuf.h"

#define LOG_LINE_MAX 8192 /* syslog truncates long lines anyway */

static const char *log_ident = "outguard";
static int log_foreground = 1; /* stderr until og_log_init() says else */
static int log_verbose;

void
og_log_init(const char *ident, int facility, int foreground)
{
	log_ident = ident;
	log_foreground = foreground;
	tzset();
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

int
og_log_facility(const char *name)
{
	static const struct {
		const char *name;
		int fac;
	} tab[] = {
		{ "mail", LOG_MAIL },
		{ "daemon", LOG_DAEMON },
		{ "user", LOG_USER },
		{ "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < OG_NELEM(tab); i++)
		if (og_strcasecmp_ascii(name, tab[i].name) == 0)
			return tab[i].fac;
	return -1;
}

void
og_log_verbose(int v)
{
	log_verbose = v;
}

int
og_log_get_verbose(void)
{
	return log_verbose;
}

static void
emit(int prio, const char *line)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
		"warning", "notice", "info", "debug" };

	if (log_foreground)
		(void)fprintf(stderr, "%s: %s%s%s\n", log_ident,
		    prio <= LOG_WARNING ? names[prio & 7] : "",
		    prio <= LOG_WARNING ? ": " : "", line);
	else
		syslog(prio, "%s", line);
}

static void OG_PRINTF(3, 0)
    vlog(int prio, int with_errno, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		og_strlcpy(line, "(log format error)", sizeof(line));
	if (with_errno) {
		size_t len = strlen(line);

		(void)snprintf(
		    line + len, sizeof(line) - len, ": %s", strerror(saved));
	}
	emit(prio, line);
	errno = saved;
}

void
og_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
og_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
og_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, 0, fmt, ap);
	va_end(ap);
}

void
og_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, 1, fmt, ap);
	va_end(ap);
}

void
og_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
og_fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 1, fmt, ap);
	va_end(ap);
	exit(code);
}

void
og_fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(code);
}

void
og_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	abort();
}

/* ---- decision lines ---- */

void
og_kv_begin(struct og_strbuf *sb, const char *qid)
{
	og_strbuf_reset(sb);
	if (qid == NULL || *qid == '\0')
		(void)og_strbuf_adds(sb, "NOQUEUE:");
	else {
		og_kv_escape(sb, qid, strlen(qid));
		(void)og_strbuf_addc(sb, ':');
	}
}

static int
plain_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void
og_str_quote(struct og_strbuf *sb, const char *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	(void)og_strbuf_addc(sb, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || c == '\\') {
			(void)og_strbuf_addc(sb, '\\');
			(void)og_strbuf_addc(sb, c);
		} else if (c == '\n')
			(void)og_strbuf_adds(sb, "\\n");
		else if (c == '\r')
			(void)og_strbuf_adds(sb, "\\r");
		else if (c == '\t')
			(void)og_strbuf_adds(sb, "\\t");
		else if (c < 0x20 || c >= 0x7f) {
			char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

			(void)og_strbuf_addn(sb, esc, sizeof(esc));
		} else
			(void)og_strbuf_addc(sb, c);
	}
	(void)og_strbuf_addc(sb, '"');
}

void
og_kv_escape(struct og_strbuf *sb, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!plain_byte((unsigned char)v[i]))
			break;
	if (len > 0 && i == len)
		(void)og_strbuf_addn(sb, v, len);
	else
		og_str_quote(sb, v, len);
}

void
og_kv_add(struct og_strbuf *sb, const char *key, const char *value)
{
	(void)og_strbuf_addc(sb, ' ');
	(void)og_strbuf_adds(sb, key);
	(void)og_strbuf_addc(sb, '=');
	if (value == NULL)
		(void)og_strbuf_adds(sb, "-");
	else
		og_kv_escape(sb, value, strlen(value));
}

void
og_kv_addf(struct og_strbuf *sb, const char *key, const char *fmt, ...)
{
	struct og_strbuf v;
	va_list ap;

	og_strbuf_init(&v, LOG_LINE_MAX);
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(&v, fmt, ap);
	va_end(ap);
	og_kv_add(sb, key, og_strbuf_str(&v));
	og_strbuf_release(&v);
}

void
og_kv_log(struct og_strbuf *sb)
{
	int saved = errno;

	emit(LOG_INFO, og_strbuf_str(sb));
	errno = saved;
}

/* ---- rate limits ---- */

int
og_ratelimit_ok(struct og_ratelimit *rl, time_t now, unsigned long *suppressed)
{
	*suppressed = 0;
	if (rl->start == 0 || now - rl->start >= (time_t)rl->interval) {
		*suppressed = rl->suppressed;
		rl->start = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count >= rl->burst) {
		rl->suppressed++;
		return 0;
	}
	rl->count++;
	return 1;
}

void
og_warnx_rl(struct og_ratelimit *rl, const char *fmt, ...)
{
	unsigned long suppressed;
	va_list ap;

	if (!og_ratelimit_ok(rl, time(NULL), &suppressed))
		return;
	if (suppressed > 0)
		og_warnx("%lu similar warnings suppressed", suppressed);
	va_start(ap, fmt);
	vlog(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

/*
 * notify.c - deliver incident notifications without stalling the caller
 * DESCRIPTION: see notify.h. One thread, one bounded ring of event
 *	copies under one mutex. The caller only copies and enqueues; the
 *	thread runs the channels one after the other, outside the lock.
 *	Every wait of the thread is bounded: og_exec() has its timeout,
 *	libcurl its transfer timeout, the backoff a condition wait. Once
 *	og_notify_stop() has set the deadline, the command timeout and the
 *	transfer timeout are clamped to what is left of it, a running
 *	transfer is cut by the progress callback, the backoff ends early,
 *	and what is still queued at the deadline is dropped and counted.
 *	The mail is built here rather than by the caller, so that the
 *	caller's strings reach the headers only through header_value()
 *	(control characters become a space: no header injection) and the
 *	body only through quoted-printable (no line over 76 characters,
 *	whatever the JSON looks like).
 * DIAGNOSTICS: see notify.h; every failure is one og_warnx() line that
 *	names the event and the channel.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "exec.h"
#include "log.h"
#include "notify.h"
#include "strbuf.h"
#include "util.h"

#define NOTIFY_QUEUE_LIMIT 65536 /* queue_max at most */
#define NOTIFY_EVENT_MAX 32 /* bytes of event name kept */
#define NOTIFY_ADDR_MAX 320 /* bytes of a mail address */
#define NOTIFY_URL_MAX 2000 /* bytes of the webhook URL */
#define NOTIFY_HOST_MAX 253 /* bytes of the Message-ID domain */
#define NOTIFY_MAIL_MAX (8 * 1024 * 1024) /* bytes of the whole message */
#define NOTIFY_REPLY_MAX (1024 * 1024) /* response bytes read, dropped */
#define NOTIFY_STDERR_LOG 200 /* bytes of a command's stderr logged */
#define NOTIFY_B64_CHUNK 39 /* subject bytes per RFC 2047 word */

/* One queued event; every string is ours. */
struct event {
	char *event; /* [A-Za-z0-9_-], never empty */
	char *subject; /* NULL: the default */
	char *text; /* NULL: none */
	char *json;
	size_t json_len;
};

struct og_notify {
	/* Settings: written by og_notify_start(), read-only afterwards. */
	char **argv; /* notify_command words; NULL: off */
	char *sendmail; /* NULL: mail off */
	char *mail_to, *mail_from;
	char *webhook; /* NULL: off */
	char *webhook_label; /* "https://host:port/..." for the logs */
	char *ca_file;
	char *host;
	unsigned queue_max, cmd_ms, web_ms, conn_ms, backoff_ms, stop_ms;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work; /* an event was queued, or stop was asked */
	pthread_cond_t idle; /* queue empty and thread idle */
	/* Under lock: */
	struct event *q;
	unsigned head, count;
	int busy, stopping;
	int64_t deadline; /* monotonic ms, once stopping */
	struct og_ratelimit rl;
	/* Thread only: */
	unsigned long msgid_seq;

	atomic_ulong failures, dropped, delivered;
};

/* Webhook transfer state shared with the libcurl callbacks. */
struct web_ctx {
	struct og_notify *n;
	size_t got;
	int toobig;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec
abs_time(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	return ts;
}

/* time_left - ms to the stop deadline; INT64_MAX while not stopping */
static int64_t
time_left(struct og_notify *n)
{
	int64_t left = INT64_MAX;

	(void)pthread_mutex_lock(&n->lock);
	if (n->stopping)
		left = n->deadline - now_ms();
	(void)pthread_mutex_unlock(&n->lock);
	return left;
}

/* copy_trunc - at most max bytes of s, not cutting a UTF-8 sequence */
static char *
copy_trunc(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	return og_strndup(s, len);
}

static void
event_free(struct event *ev)
{
	ev->event = og_free(ev->event);
	ev->subject = og_free(ev->subject);
	ev->text = og_free(ev->text);
	ev->json = og_free(ev->json);
}

static void
event_copy(struct event *ev, const struct og_notice *nt, size_t json_len)
{
	const char *p;
	size_t i = 0;

	ev->event = og_malloc(NOTIFY_EVENT_MAX + 1);
	for (p = nt->event; p != NULL && *p != '\0' && i < NOTIFY_EVENT_MAX;
	     p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			ev->event[i++] = *p;
	ev->event[i] = '\0';
	if (i == 0)
		og_strlcpy(ev->event, "incident", NOTIFY_EVENT_MAX + 1);
	ev->subject = nt->subject != NULL && nt->subject[0] != '\0'
	    ? copy_trunc(nt->subject, OG_NOTIFY_SUBJECT_MAX)
	    : NULL;
	ev->text = nt->text != NULL && nt->text[0] != '\0'
	    ? copy_trunc(nt->text, OG_NOTIFY_TEXT_MAX)
	    : NULL;
	ev->json = og_strndup(nt->json, json_len);
	ev->json_len = json_len;
}

/* ---- command and sendmail ---- */

/*
 * run_prog - og_exec() argv with data on stdin; 0 on exit status 0.
 * The timeout is clamped to what is left of the stop deadline.
 */
static int
run_prog(struct og_notify *n, const struct event *ev, const char *channel,
    const char *const argv[], const char *data, size_t len)
{
	struct og_exec_result res;
	struct og_strbuf err, esc;
	int64_t left = time_left(n);
	int ms = (int)n->cmd_ms;
	size_t i;

	if (left <= 0) {
		og_warnx("notify: event=%s channel=%s: shutdown deadline "
		         "passed, not sent",
		    ev->event, channel);
		return -1;
	}
	if (left < ms)
		ms = (int)left;
	og_strbuf_init(&err, OG_EXEC_STDERR_MAX);
	if (og_exec(argv, NULL, data, len, NULL, &err, ms, &res) < 0) {
		/* og_exec() has logged why */
		og_warnx("notify: event=%s channel=%s: %s failed (status %d)",
		    ev->event, channel, argv[0], res.status);
		og_strbuf_release(&err);
		return -1;
	}
	if (res.status == 0) {
		og_info(
		    "notify: event=%s channel=%s status=0", ev->event, channel);
		og_strbuf_release(&err);
		return 0;
	}
	/* The first line of stderr, escaped, says why in most cases. */
	for (i = 0; i < err.len && i < NOTIFY_STDERR_LOG; i++)
		if (err.data[i] == '\n')
			break;
	og_strbuf_init(&esc, 4 * NOTIFY_STDERR_LOG + 8);
	og_kv_escape(&esc, err.len > 0 ? err.data : "", i);
	og_warnx("notify: event=%s channel=%s: %s exit status %d stderr=%s",
	    ev->event, channel, argv[0], res.status, og_strbuf_str(&esc));
	og_strbuf_release(&esc);
	og_strbuf_release(&err);
	return -1;
}

static int
deliver_command(struct og_notify *n, const struct event *ev)
{
	return run_prog(n, ev, "command", (const char *const *)n->argv,
	    ev->json, ev->json_len);
}

/* header_value - append v with every run of control characters as " " */
static void
header_value(struct og_strbuf *sb, const char *v)
{
	int ctl = 0;

	for (; *v != '\0'; v++) {
		if ((unsigned char)*v < 0x20 || *v == 0x7f) {
			ctl = 1;
			continue;
		}
		if (ctl)
			(void)og_strbuf_addc(sb, ' ');
		ctl = 0;
		(void)og_strbuf_addc(sb, *v);
	}
}

static void
add_base64(struct og_strbuf *sb, const unsigned char *p, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4];
	uint32_t v;
	size_t i;

	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[0] = b64[(v >> 18) & 63];
		out[1] = b64[(v >> 12) & 63];
		out[2] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[3] = i + 2 < len ? b64[v & 63] : '=';
		(void)og_strbuf_addn(sb, out, 4);
	}
}

/*
 * add_subject - "Subject: " and the cleaned value: as is when ASCII,
 * else RFC 2047 B-words of whole UTF-8 sequences, one per folded line
 */
static void
add_subject(struct og_strbuf *sb, const struct event *ev)
{
	struct og_strbuf v;
	const unsigned char *p;
	size_t i, len, chunk;
	int ascii = 1;

	og_strbuf_init(&v, 4 * OG_NOTIFY_SUBJECT_MAX);
	if (ev->subject != NULL)
		header_value(&v, ev->subject);
	else
		(void)og_strbuf_addf(&v, "outguard: incident %s", ev->event);
	p = (const unsigned char *)og_strbuf_str(&v);
	len = v.len;
	for (i = 0; i < len; i++)
		if (p[i] >= 0x80)
			ascii = 0;
	(void)og_strbuf_adds(sb, "Subject: ");
	if (ascii) {
		(void)og_strbuf_addn(sb, p, len);
		len = 0;
	}
	for (i = 0; i < len; i += chunk) {
		chunk = len - i;
		if (chunk > NOTIFY_B64_CHUNK) {
			chunk = NOTIFY_B64_CHUNK;
			while (chunk > 1 && (p[i + chunk] & 0xc0) == 0x80)
				chunk--;
		}
		if (i > 0)
			(void)og_strbuf_adds(sb, "\n ");
		(void)og_strbuf_adds(sb, "=?utf-8?B?");
		add_base64(sb, p + i, chunk);
		(void)og_strbuf_adds(sb, "?=");
	}
	(void)og_strbuf_addc(sb, '\n');
	og_strbuf_release(&v);
}

/* add_date - "Date: Mon, 2 Nov 2026 05:00:00 +0000", locale-free */
static void
add_date(struct og_strbuf *sb, int64_t t)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		tt = 0;
		(void)gmtime_r(&tt, &tm);
	}
	(void)og_strbuf_addf(sb, "Date: %s, %d %s %04d %02d:%02d:%02d +0000\n",
	    wday[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * add_qp - s as quoted-printable (RFC 2045): line ends (LF or CRLF)
 * become LF, lines are soft-broken at 76 characters, "=", controls,
 * 8-bit bytes and blanks before a line end are encoded
 */
static void
add_qp(struct og_strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	size_t i, col = 0, tl;
	char tok[3];
	int eol;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\n' ||
		    (c == '\r' && i + 1 < len && s[i + 1] == '\n')) {
			i += c == '\r';
			(void)og_strbuf_addc(sb, '\n');
			col = 0;
			continue;
		}
		eol = i + 1 == len || s[i + 1] == '\n' || s[i + 1] == '\r';
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !eol)) {
			tok[0] = (char)c;
			tl = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		if (col + tl > 75) {
			(void)og_strbuf_adds(sb, "=\n");
			col = 0;
		}
		(void)og_strbuf_addn(sb, tok, tl);
		col += tl;
	}
}

static void
build_mail(struct og_notify *n, const struct event *ev, struct og_strbuf *m)
{
	struct og_strbuf body;
	int64_t t = og_now();

	(void)og_strbuf_adds(m, "From: ");
	header_value(m, n->mail_from);
	(void)og_strbuf_adds(m, "\nTo: ");
	header_value(m, n->mail_to);
	(void)og_strbuf_addc(m, '\n');
	add_subject(m, ev);
	add_date(m, t);
	(void)og_strbuf_addf(m, "Message-ID: <%lld.%ld.%lu@%s>\n", (long long)t,
	    (long)getpid(), ++n->msgid_seq, n->host);
	(void)og_strbuf_adds(m,
	    "Auto-Submitted: auto-generated\n"
	    "X-Outguard-Notification: incident\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n");
	og_strbuf_init(&body, NOTIFY_MAIL_MAX);
	if (ev->text != NULL) {
		(void)og_strbuf_adds(&body, ev->text);
		if (body.data[body.len - 1] != '\n')
			(void)og_strbuf_addc(&body, '\n');
		(void)og_strbuf_addc(&body, '\n');
	}
	(void)og_strbuf_addn(&body, ev->json, ev->json_len);
	if (body.len == 0 || body.data[body.len - 1] != '\n')
		(void)og_strbuf_addc(&body, '\n');
	add_qp(m, og_strbuf_str(&body), body.len);
	og_strbuf_release(&body);
}

static int
deliver_mail(struct og_notify *n, const struct event *ev)
{
	const char *argv[] = { n->sendmail, "-i", "-f", n->mail_from, "--",
		n->mail_to, NULL };
	struct og_strbuf m;
	int rc;

	og_strbuf_init(&m, NOTIFY_MAIL_MAX);
	build_mail(n, ev, &m);
	rc = run_prog(n, ev, "mail", argv, og_strbuf_str(&m), m.len);
	og_strbuf_release(&m);
	return rc;
}

/* ---- webhook ---- */

/* web_discard - drop the response body; stop reading after the cap */
static size_t
web_discard(char *p, size_t size, size_t nmemb, void *arg)
{
	struct web_ctx *w = arg;
	size_t len = size * nmemb;

	(void)p;
	if (len > NOTIFY_REPLY_MAX - w->got) {
		w->toobig = 1;
		return 0;
	}
	w->got += len;
	return len;
}

/* web_progress - cut the transfer once the stop deadline has passed */
static int
web_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct web_ctx *w = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return time_left(w->n) <= 0;
}

/*
 * web_setup - the options common to every attempt; 0, or -1 when one
 * was refused (a libcurl without https must not fall back to anything)
 */
static int
web_setup(struct og_notify *n, const struct event *ev, CURL *c,
    struct curl_slist *hdrs, struct web_ctx *w, char *errbuf)
{
	int ok = 1;

#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	ok = ok && curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == 0;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") == 0;
#else
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS) == 0;
	ok = ok &&
	    curl_easy_setopt(
	        c, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS) == 0;
#endif
	ok = ok && curl_easy_setopt(c, CURLOPT_URL, n->webhook) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == 0;
	if (n->ca_file != NULL)
		ok = ok && curl_easy_setopt(c, CURLOPT_CAINFO, n->ca_file) == 0;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)n->conn_ms) ==
	        0;
	ok = ok && curl_easy_setopt(c, CURLOPT_POSTFIELDS, ev->json) == 0;
	ok = ok &&
	    curl_easy_setopt(
	        c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)ev->json_len) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) == 0;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "outguard-notify") == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, web_discard) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_WRITEDATA, w) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == 0;
	ok = ok &&
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, web_progress) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFODATA, w) == 0;
	ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == 0;
	return ok ? 0 : -1;
}

/* web_attempt - one POST; 0 on a 2xx answer, else -1 (logged) */
static int
web_attempt(struct og_notify *n, const struct event *ev, CURL *c,
    struct web_ctx *w, char *errbuf, unsigned try)
{
	int64_t left = time_left(n);
	long ms = (long)n->web_ms, status = 0;
	CURLcode rc;

	if (left <= 0) {
		og_warnx("notify: event=%s channel=webhook url=%s: shutdown "
		         "deadline passed, not sent",
		    ev->event, n->webhook_label);
		return -1;
	}
	if (left < ms)
		ms = (long)left;
	w->got = 0;
	w->toobig = 0;
	errbuf[0] = '\0';
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	rc = curl_easy_perform(c);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_WRITE_ERROR && w->toobig)
		rc = CURLE_OK; /* the answer came; its body is not wanted */
	if (rc == CURLE_OK && status >= 200 && status <= 299) {
		og_info("notify: event=%s channel=webhook url=%s try=%u "
		        "status=%ld",
		    ev->event, n->webhook_label, try, status);
		return 0;
	}
	if (rc == CURLE_OK)
		og_warnx("notify: event=%s channel=webhook url=%s try=%u/%d: "
		         "HTTP status %ld",
		    ev->event, n->webhook_label, try, OG_NOTIFY_WEBHOOK_TRIES,
		    status);
	else
		og_warnx("notify: event=%s channel=webhook url=%s try=%u/%d: "
		         "curl error %d: %s",
		    ev->event, n->webhook_label, try, OG_NOTIFY_WEBHOOK_TRIES,
		    (int)rc,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	return -1;
}

/* backoff - wait ms, or less at the stop deadline; -1 once it passed */
static int
backoff(struct og_notify *n, int64_t ms)
{
	int64_t until = now_ms() + ms, end;
	struct timespec ts;
	int rc = 0;

	(void)pthread_mutex_lock(&n->lock);
	for (;;) {
		end = until;
		if (n->stopping && n->deadline < end)
			end = n->deadline;
		if (now_ms() >= end)
			break;
		ts = abs_time(end);
		(void)pthread_cond_timedwait(&n->work, &n->lock, &ts);
	}
	if (n->stopping && now_ms() >= n->deadline)
		rc = -1;
	(void)pthread_mutex_unlock(&n->lock);
	return rc;
}

static int
deliver_webhook(struct og_notify *n, const struct event *ev)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	struct web_ctx w;
	int64_t delay = n->backoff_ms;
	unsigned try;
	CURL *c;
	int rc = -1;

	w.n = n;
	if ((c = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(
	         NULL, "Content-Type: application/json")) == NULL ||
	    curl_slist_append(hdrs, "Expect:") == NULL ||
	    web_setup(n, ev, c, hdrs, &w, errbuf) < 0) {
		og_warnx("notify: event=%s channel=webhook url=%s: cannot "
		         "set up libcurl",
		    ev->event, n->webhook_label);
		goto out;
	}
	for (try = 1; try <= OG_NOTIFY_WEBHOOK_TRIES; try++) {
		if ((rc = web_attempt(n, ev, c, &w, errbuf, try)) == 0)
			break;
		if (try == OG_NOTIFY_WEBHOOK_TRIES || backoff(n, delay) < 0)
			break;
		delay *= 2;
	}
	if (rc < 0)
		og_warnx("notify: event=%s channel=webhook url=%s: failed, "
		         "given up",
		    ev->event, n->webhook_label);
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}

/* ---- the thread ---- */

static void
tally(struct og_notify *n, int rc)
{
	if (rc == 0)
		atomic_fetch_add(&n->delivered, 1);
	else
		atomic_fetch_add(&n->failures, 1);
}

static void
deliver(struct og_notify *n, const struct event *ev)
{
	if (n->argv != NULL)
		tally(n, deliver_command(n, ev));
	if (n->sendmail != NULL)
		tally(n, deliver_mail(n, ev));
	if (n->webhook != NULL)
		tally(n, deliver_webhook(n, ev));
}

/* drop_queued - under lock: free and count what is left at the deadline */
static void
drop_queued(struct og_notify *n)
{
	unsigned dropped = n->count;

	while (n->count > 0) {
		event_free(&n->q[n->head]);
		n->head = (n->head + 1) % n->queue_max;
		n->count--;
	}
	atomic_fetch_add(&n->dropped, dropped);
	og_warnx("notify: shutdown deadline passed, %u queued event(s) "
	         "dropped",
	    dropped);
}

static void *
notify_main(void *arg)
{
	struct og_notify *n = arg;
	struct event ev;

	(void)pthread_mutex_lock(&n->lock);
	for (;;) {
		while (n->count == 0 && !n->stopping)
			(void)pthread_cond_wait(&n->work, &n->lock);
		if (n->count == 0)
			break;
		if (n->stopping && now_ms() >= n->deadline) {
			drop_queued(n);
			break;
		}
		ev = n->q[n->head];
		memset(&n->q[n->head], 0, sizeof(n->q[n->head]));
		n->head = (n->head + 1) % n->queue_max;
		n->count--;
		n->busy = 1;
		(void)pthread_mutex_unlock(&n->lock);
		deliver(n, &ev);
		event_free(&ev);
		(void)pthread_mutex_lock(&n->lock);
		n->busy = 0;
		if (n->count == 0)
			(void)pthread_cond_broadcast(&n->idle);
	}
	(void)pthread_cond_broadcast(&n->idle);
	(void)pthread_mutex_unlock(&n->lock);
	return NULL;
}

/* ---- set-up ---- */

/* split_command - the words of s (split on blanks only), NULL if none */
static int
split_command(struct og_notify *n, const char *s)
{
	const char *p = s, *w;
	size_t nw = 0;

	n->argv = og_calloc(OG_NOTIFY_ARGS_MAX + 1, sizeof(char *));
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (nw == OG_NOTIFY_ARGS_MAX) {
			og_warnx("notify_command: more than %d words",
			    OG_NOTIFY_ARGS_MAX);
			return -1;
		}
		for (w = p; *p != '\0' && *p != ' ' && *p != '\t'; p++)
			;
		n->argv[nw++] = og_strndup(w, (size_t)(p - w));
	}
	if (nw == 0) {
		n->argv = og_free(n->argv);
		return 0;
	}
	if (n->argv[0][0] != '/') {
		og_warnx(
		    "notify_command: %s is not an absolute path", n->argv[0]);
		return -1;
	}
	return 0;
}

/* addr_ok - a bare address: no blanks, controls, or list syntax */
static int
addr_ok(const char *what, const char *a)
{
	const char *p;

	if (strlen(a) > NOTIFY_ADDR_MAX) {
		og_warnx("notify: %s is too long", what);
		return 0;
	}
	for (p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f ||
		    strchr("<>,;\"()", *p) != NULL) {
			og_warnx("notify: %s must be one bare address", what);
			return 0;
		}
	return 1;
}

/* webhook_ok - an https URL; its label keeps scheme, host and port */
static int
webhook_ok(struct og_notify *n, const char *url)
{
	struct og_strbuf sb;
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u;
	int ok = 0;

	if (strlen(url) > NOTIFY_URL_MAX || (u = curl_url()) == NULL)
		goto out0;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    og_strcasecmp_ascii(scheme, "https") != 0)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	og_strbuf_init(&sb, 0);
	(void)og_strbuf_addf(&sb, "https://%s%s%s/...", host,
	    port != NULL ? ":" : "", port != NULL ? port : "");
	n->webhook_label = og_strbuf_steal(&sb);
	ok = 1;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
out0:
	if (!ok)
		og_warnx("notify_webhook: expected an https:// URL");
	return ok;
}

/* set_host - the Message-ID domain: [A-Za-z0-9.-] of host or ours */
static void
set_host(struct og_notify *n, const char *h)
{
	char buf[NOTIFY_HOST_MAX + 2];
	size_t i, j = 0;

	if (h == NULL || h[0] == '\0') {
		if (gethostname(buf, sizeof(buf)) < 0)
			buf[0] = '\0';
		buf[sizeof(buf) - 1] = '\0';
		h = buf;
	}
	n->host = og_malloc(NOTIFY_HOST_MAX + 1);
	for (i = 0; h[i] != '\0' && j < NOTIFY_HOST_MAX; i++)
		if ((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-')
			n->host[j++] = h[i];
	n->host[j] = '\0';
	if (j == 0)
		og_strlcpy(n->host, "localhost", NOTIFY_HOST_MAX + 1);
}

static unsigned
or_default(unsigned v, unsigned dfl)
{
	return v != 0 ? v : dfl;
}

static int
set_conf(struct og_notify *n, const struct og_notify_conf *c)
{
#define SET(s) ((s) != NULL && (s)[0] != '\0')
	if (SET(c->command) && split_command(n, c->command) < 0)
		return -1;
	if (SET(c->mail_to)) {
		n->mail_from =
		    og_strdup(SET(c->mail_from) ? c->mail_from : "postmaster");
		n->mail_to = og_strdup(c->mail_to);
		if (!addr_ok("notify_mail_to", n->mail_to) ||
		    !addr_ok("the notification sender", n->mail_from))
			return -1;
		if ((n->sendmail = og_postfix_cmd("sendmail")) == NULL) {
			og_warnx("notify: no sendmail path");
			return -1;
		}
	}
	if (SET(c->webhook)) {
		if (!webhook_ok(n, c->webhook))
			return -1;
		n->webhook = og_strdup(c->webhook);
	}
	if (SET(c->ca_file))
		n->ca_file = og_strdup(c->ca_file);
#undef SET
	set_host(n, c->host);
	n->queue_max = or_default(c->queue_max, OG_NOTIFY_QUEUE_MAX);
	if (n->queue_max > NOTIFY_QUEUE_LIMIT)
		n->queue_max = NOTIFY_QUEUE_LIMIT;
	n->cmd_ms =
	    or_default(c->command_timeout_ms, OG_NOTIFY_COMMAND_TIMEOUT_MS);
	n->web_ms =
	    or_default(c->webhook_timeout_ms, OG_NOTIFY_WEBHOOK_TIMEOUT_MS);
	n->conn_ms =
	    or_default(c->webhook_connect_ms, OG_NOTIFY_WEBHOOK_CONNECT_MS);
	n->backoff_ms = or_default(c->backoff_ms, OG_NOTIFY_BACKOFF_MS);
	n->stop_ms = or_default(c->stop_ms, OG_NOTIFY_STOP_MS);
	if (n->cmd_ms > INT32_MAX || n->web_ms > INT32_MAX) {
		og_warnx("notify: timeout out of range");
		return -1;
	}
	return 0;
}

/* conf_free - the settings; safe on a partly built struct */
static void
conf_free(struct og_notify *n)
{
	size_t i;

	if (n->argv != NULL)
		for (i = 0; n->argv[i] != NULL; i++)
			og_free(n->argv[i]);
	og_free(n->argv);
	og_free(n->sendmail);
	og_free(n->mail_to);
	og_free(n->mail_from);
	og_free(n->webhook);
	og_free(n->webhook_label);
	og_free(n->ca_file);
	og_free(n->host);
	og_free(n->q);
	og_free(n);
}

/* sync_init - the lock and the monotonic condition variables */
static int
sync_init(struct og_notify *n)
{
	pthread_condattr_t ca;
	int e;

	if ((e = pthread_condattr_init(&ca)) != 0)
		return e;
	if ((e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (e = pthread_mutex_init(&n->lock, NULL)) != 0) {
		(void)pthread_condattr_destroy(&ca);
		return e;
	}
	if ((e = pthread_cond_init(&n->work, &ca)) != 0) {
		(void)pthread_mutex_destroy(&n->lock);
	} else if ((e = pthread_cond_init(&n->idle, &ca)) != 0) {
		(void)pthread_cond_destroy(&n->work);
		(void)pthread_mutex_destroy(&n->lock);
	}
	(void)pthread_condattr_destroy(&ca);
	return e;
}

static void
sync_destroy(struct og_notify *n)
{
	(void)pthread_cond_destroy(&n->idle);
	(void)pthread_cond_destroy(&n->work);
	(void)pthread_mutex_destroy(&n->lock);
}

struct og_notify *
og_notify_start(const struct og_notify_conf *c)
{
	static const struct og_ratelimit rl0 = OG_RATELIMIT_INIT(60, 5);
	struct og_notify *n;
	sigset_t all, old;
	int e;

	if (c == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		og_warnx("notify: curl_global_init failed");
		errno = EIO;
		return NULL;
	}
	(void)og_now(); /* its first call is not thread-safe */
	n = og_calloc(1, sizeof(*n));
	n->rl = rl0;
	atomic_init(&n->failures, 0);
	atomic_init(&n->dropped, 0);
	atomic_init(&n->delivered, 0);
	if (set_conf(n, c) < 0) {
		e = EINVAL;
		goto fail;
	}
	n->q = og_calloc(n->queue_max, sizeof(*n->q));
	if ((e = sync_init(n)) != 0)
		goto fail;
	/* The thread takes no signal: the caller's handlers stay its own. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&n->thread, NULL, notify_main, n);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		sync_destroy(n);
		errno = e;
		og_warn("notify: cannot start the thread");
		goto fail;
	}
	return n;
fail:
	conf_free(n);
	curl_global_cleanup();
	errno = e;
	return NULL;
}

int
og_notify_send(struct og_notify *n, const struct og_notice *nt)
{
	struct event ev;
	size_t len;

	if (n == NULL || nt == NULL || nt->json == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((len = strnlen(nt->json, OG_NOTIFY_JSON_MAX + 1)) >
	    OG_NOTIFY_JSON_MAX) {
		atomic_fetch_add(&n->dropped, 1);
		og_warnx("notify: event over %d bytes of JSON, dropped",
		    OG_NOTIFY_JSON_MAX);
		errno = E2BIG;
		return -1;
	}
	event_copy(&ev, nt, len);
	(void)pthread_mutex_lock(&n->lock);
	if (n->stopping || n->count == n->queue_max) {
		errno = n->stopping ? ECANCELED : EAGAIN;
		if (!n->stopping)
			og_warnx_rl(&n->rl,
			    "notify: queue full (%u events), event=%s "
			    "dropped",
			    n->queue_max, ev.event);
		(void)pthread_mutex_unlock(&n->lock);
		atomic_fetch_add(&n->dropped, 1);
		event_free(&ev);
		return -1;
	}
	n->q[(n->head + n->count) % n->queue_max] = ev;
	n->count++;
	(void)pthread_cond_signal(&n->work);
	(void)pthread_mutex_unlock(&n->lock);
	return 0;
}

int
og_notify_flush(struct og_notify *n, int timeout_ms)
{
	int64_t until = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts = abs_time(until);
	int rc = 0;

	if (n == NULL) {
		errno = EINVAL;
		return -1;
	}
	(void)pthread_mutex_lock(&n->lock);
	while (n->count > 0 || n->busy)
		if (pthread_cond_timedwait(&n->idle, &n->lock, &ts) ==
		        ETIMEDOUT &&
		    (n->count > 0 || n->busy)) {
			rc = -1;
			break;
		}
	(void)pthread_mutex_unlock(&n->lock);
	if (rc < 0)
		errno = ETIMEDOUT;
	return rc;
}

void
og_notify_stop(struct og_notify *n)
{
	if (n == NULL)
		return;
	(void)pthread_mutex_lock(&n->lock);
	n->stopping = 1;
	n->deadline = now_ms() + n->stop_ms;
	(void)pthread_cond_broadcast(&n->work);
	(void)pthread_mutex_unlock(&n->lock);
	(void)pthread_join(n->thread, NULL);
	og_info("notify: stopped delivered=%lu failures=%lu dropped=%lu",
	    og_notify_delivered(n), og_notify_failures(n),
	    og_notify_dropped(n));
	sync_destroy(n);
	conf_free(n);
	curl_global_cleanup();
}

unsigned long
og_notify_failures(const struct og_notify *n)
{
	return n != NULL ? atomic_load(&n->failures) : 0;
}

unsigned long
og_notify_dropped(const struct og_notify *n)
{
	return n != NULL ? atomic_load(&n->dropped) : 0;
}

unsigned long
og_notify_delivered(const struct og_notify *n)
{
	return n != NULL ? atomic_load(&n->delivered) : 0;
}

/*
 * notify.h - deliver incident notifications without stalling the caller
 * DESCRIPTION: og_notify_start() starts one notifier thread with a
 *	bounded queue (OG_NOTIFY_QUEUE_MAX events by default).
 *	og_notify_send() copies an event into the queue and returns at
 *	once; the thread delivers it to every configured channel in turn:
 *	- command: notify_command, an absolute path optionally followed by
 *	  arguments. The setting is split on spaces and tabs, nothing else:
 *	  no shell, no quoting, no escapes, no expansion, so an argument
 *	  cannot itself contain a space. It runs through og_exec() with the
 *	  JSON on standard input and a 30 s timeout; a non-zero exit status
 *	  is a failure. At most OG_NOTIFY_ARGS_MAX words.
 *	- mail: og_postfix_cmd("sendmail") -i -f FROM -- TO, with a whole
 *	  message on standard input (Auto-Submitted: auto-generated,
 *	  X-Outguard-Notification: incident, quoted-printable UTF-8 body:
 *	  the caller's text, then the JSON). Control characters (CR and LF
 *	  above all) in header values are replaced by a space, so the
 *	  caller's subject cannot add a header; a non-ASCII subject is
 *	  RFC 2047-encoded. One recipient address.
 *	- webhook: an HTTPS POST of the JSON (Content-Type:
 *	  application/json) through libcurl, https only, no redirects, TLS
 *	  verification on, 10 s per attempt (5 s to connect), up to
 *	  OG_NOTIFY_WEBHOOK_TRIES attempts with a backoff of 1 s, then 2 s
 *	  (doubling), on a transfer error or a status outside 200-299. The
 *	  response body is read and dropped. libcurl reads the usual proxy
 *	  variables (https_proxy, no_proxy) from the environment.
 *	A channel's failure is logged (exit status, HTTP status or curl
 *	error; never the URL's path or query, which may hold a token) and
 *	counted, and never delays the caller. og_notify_stop() delivers
 *	what is queued within a total deadline (60 s), then joins the
 *	thread. The thread runs with every signal blocked.
 *	XXX og_notify_start() calls curl_global_init(), which is not
 *	thread-safe in every libcurl: call it before any other thread uses
 *	libcurl (in practice, at start-up before the workers start), and
 *	og_notify_stop() calls curl_global_cleanup(): call it once the other
 *	threads are done with libcurl.
 *	The conf strings are copied; the caller keeps its own. The notice
 *	strings are copied by og_notify_send(); the caller keeps them too.
 * DIAGNOSTICS: og_notify_start() returns NULL with errno EINVAL and a
 *	logged warning for a bad setting (a relative command, a webhook
 *	that is not https://, an address with control characters or
 *	spaces), or with errno from the thread or libcurl set-up.
 *	og_notify_send() returns 0 when queued and -1 when the event was
 *	dropped (errno EAGAIN: queue full, logged at a limited rate and
 *	counted; E2BIG: JSON over OG_NOTIFY_JSON_MAX; ECANCELED: stopping;
 *	EINVAL: no JSON).
 */
#ifndef OG_NOTIFY_H
#define OG_NOTIFY_H

#include "util.h"

#define OG_NOTIFY_QUEUE_MAX 64 /* events waiting, by default */
#define OG_NOTIFY_JSON_MAX (1024 * 1024) /* bytes of JSON per event */
#define OG_NOTIFY_TEXT_MAX (64 * 1024) /* bytes of text kept */
#define OG_NOTIFY_SUBJECT_MAX 200 /* bytes of subject kept */
#define OG_NOTIFY_ARGS_MAX 32 /* words in notify_command */
#define OG_NOTIFY_COMMAND_TIMEOUT_MS 30000 /* also for sendmail */
#define OG_NOTIFY_WEBHOOK_TIMEOUT_MS 10000 /* per attempt */
#define OG_NOTIFY_WEBHOOK_CONNECT_MS 5000
#define OG_NOTIFY_WEBHOOK_TRIES 3
#define OG_NOTIFY_BACKOFF_MS 1000 /* before the 2nd try; doubles */
#define OG_NOTIFY_STOP_MS 60000 /* og_notify_stop()'s total deadline */

struct og_notify;

/*
 * Channels: a NULL or empty string turns one off; any combination, none
 * included (events are then accepted and dropped silently). The last
 * group exists for tests: 0 means the default named beside it.
 */
struct og_notify_conf {
	const char *command; /* "/path [arg ...]", split on spaces */
	const char *mail_to; /* one address */
	const char *mail_from; /* envelope and From:; NULL: "postmaster" */
	const char *webhook; /* "https://..." */
	const char *ca_file; /* trust these CAs (PEM), not the system's */
	const char *host; /* Message-ID domain; NULL: gethostname() */

	unsigned queue_max; /* OG_NOTIFY_QUEUE_MAX */
	unsigned command_timeout_ms; /* OG_NOTIFY_COMMAND_TIMEOUT_MS */
	unsigned webhook_timeout_ms; /* OG_NOTIFY_WEBHOOK_TIMEOUT_MS */
	unsigned webhook_connect_ms; /* OG_NOTIFY_WEBHOOK_CONNECT_MS */
	unsigned backoff_ms; /* OG_NOTIFY_BACKOFF_MS */
	unsigned stop_ms; /* OG_NOTIFY_STOP_MS */
};

/* One event; every member is borrowed for the call only. */
struct og_notice {
	const char *event; /* "open", "released", "confirmed" (logs) */
	const char *subject; /* mail Subject:; NULL: "outguard: EVENT" */
	const char *text; /* short human text for the mail; may be NULL */
	const char *json; /* the incident, required */
};

/*
 * og_notify_start - check and copy the conf, start the notifier thread;
 *	NULL with errno on failure (logged)
 */
struct og_notify *og_notify_start(const struct og_notify_conf *);

/* og_notify_send - queue a copy of the event; 0, or -1 when dropped */
int og_notify_send(struct og_notify *, const struct og_notice *);

/*
 * og_notify_flush - wait until the queue is empty and the thread idle;
 *	0, or -1 with errno ETIMEDOUT after timeout_ms (for tests)
 */
int og_notify_flush(struct og_notify *, int timeout_ms);

/*
 * og_notify_stop - deliver what is queued within the stop deadline
 *	(what is left then is dropped and counted), join the thread, free
 *	everything; NULL is a no-op. No og_notify_send() may run during or
 *	after the call. A command already running when the deadline passes
 *	is waited for (its own timeout bounds it); a web request is cut
 *	(libcurl asks about once a second, so up to ~1 s late).
 */
void og_notify_stop(struct og_notify *);

/* og_notify_failures - channel deliveries that failed (after retries) */
unsigned long og_notify_failures(const struct og_notify *);
/* og_notify_dropped - events never delivered: queue full, shutdown */
unsigned long og_notify_dropped(const struct og_notify *);
/* og_notify_delivered - channel deliveries that succeeded */
unsigned long og_notify_delivered(const struct og_notify *);

#endif

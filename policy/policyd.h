/*
 * policyd.h - state of outguard-policyd shared by its modules
 * DESCRIPTION: owned and changed by the event-loop thread only; the
 *	store thread talks to it through the worker interface.
 */
#ifndef OG_POLICYD_H
#define OG_POLICYD_H

#include <stddef.h>

#include "log.h"
#include "strbuf.h"

struct og_classifier;
struct og_conf;
struct og_reply;
struct og_holdset;
struct og_worker;
struct og_request;
struct og_rcpts;
struct og_rpf_conn;

struct og_watcher;
struct og_notify;

struct policyd {
	struct og_conf *conf; /* current configuration */
	struct og_conf *watch_conf; /* the watcher's: it ends with it */
	struct og_watcher *watcher; /* NULL: none (-s, -m, -t) */
	struct og_notify *notifier; /* NULL: no channel configured */
	int privsep_fd; /* the root helper, or -1 */
	const char *conf_path;
	struct og_holdset *holds; /* in force now */
	struct og_worker *worker; /* NULL in -t mode: nothing recorded */
	struct og_rcpts *rcpts; /* recipients seen per instance */
	struct og_classifier *rules; /* reply_rules, for the status filter */
	struct og_reply *reply; /* the loop thread's scratch */
	char host[256]; /* myhostname */
	int dry_run;
	int no_store; /* -s, -m started during a store outage */
	unsigned long requests, holds_answered, malformed;
	unsigned long lookups, kept, blocks_seen;
	unsigned long sessions_ended, greetings_refused; /* reply filter */
	struct og_ratelimit rl_names; /* unknown socketmap names */
	struct og_strbuf line; /* scratch for log lines */
};

/*
 * og_policyd_answer - the answer for one parsed request into out
 * ("action=...\n\n"); 0, or -1 to close the connection without one
 */
int og_policyd_answer(
    struct policyd *, const struct og_request *, struct og_strbuf *out);
/*
 * og_policyd_lookup - one socketmap lookup "NAME KEY" of the status
 * filter: the reply into out; 0, or -1 to close the connection
 */
/*
 * og_policyd_lookup - one socketmap lookup ("status KEY", "reply LINE",
 * "reply-NAME LINE"); rc is the connection's reply filter state (NULL:
 * none, the reply maps then pass everything).
 */
int og_policyd_lookup(struct policyd *, struct og_rpf_conn *rc, const char *req,
    size_t len, struct og_strbuf *out);
/* og_policyd_tick - once a second: pick up new holds, expire state */
void og_policyd_tick(struct policyd *);
/* og_policyd_reload - SIGHUP: reread the configuration */
void og_policyd_reload(struct policyd *);

#endif

/*
 * watcher.h - outguard-policyd's queue watcher: blocks to holds
 * DESCRIPTION: a thread that reads Postfix's queue (postqueue -j) when
 *	the status filter records a block (a new block row in the store,
 *	checked every second) and every queue_scan_interval. It classifies
 *	each deferred recipient's delay_reason; a provider blocking the
 *	server's IP opens (or reopens) an incident: the provider scope goes
 *	on hold, the queued mail to that provider goes to the hold queue,
 *	the suspects are ranked from the store's who-sent-what records and,
 *	above suspect_threshold, held for every destination; every step is
 *	recorded as evidence and the incident notified once. A block aimed
 *	at one sender (5.7.511) holds that sender, not the provider.
 *	Released incidents are confirmed once the provider takes mail again.
 */
#ifndef OG_WATCHER_H
#define OG_WATCHER_H

#include <stdint.h>

struct og_classifier;
struct og_conf;
struct og_notify;
struct og_watcher;

struct og_watcher_conf {
	const struct og_conf *conf; /* must outlive the watcher */
	const struct og_classifier *rules;
	const char *host;
	int privsep_fd; /* -1: run postsuper ourselves */
	struct og_notify *notify; /* NULL: no notifications */
};

struct og_watcher *og_watcher_start(const struct og_watcher_conf *);
void og_watcher_stop(struct og_watcher *);
/* og_watcher_scan_once - one scan in the caller's thread (tests, CLI) */
int og_watcher_scan_once(const struct og_watcher_conf *);

#endif

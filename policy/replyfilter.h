/*
 * replyfilter.h - smtp_reply_filter decisions: end the sessions of a
 *	blocked provider so that Postfix suspends the destination
 *
 * SYNOPSIS: in Postfix's master.cf, a transport of its own for the
 *	provider's domains (transport_maps), with
 *	-o smtp_reply_filter=socketmap:unix:private/outguard-status:reply-NAME
 *	on the same spawn(8) service as the delivery status filter.
 *
 * DESCRIPTION: Postfix 3.7's smtp(8) tries every message already in its
 *	active queue even after the destination refused the server's IP
 *	at MAIL FROM: a refused MAIL is a per-message failure, it never
 *	suspends the destination, and the session goes back to the
 *	connection cache for the next message. Two facts of smtp_chat.c
 *	and smtp_trouble.c turn that around. A reply filter lookup that
 *	fails (a socketmap "TEMP" answer) ends the session as "local data
 *	error", 4.3.0, not cached, and counts as a failure of the whole
 *	destination (smtp_bulk_fail() with throttling), so qmgr(8) soon
 *	stops handing it more mail and defers the rest of its queue
 *	without trying it. And a greeting answered that way is refused
 *	before any MAIL command is sent.
 *
 *	So, per socketmap connection (one smtp(8) process, whose lookups
 *	arrive in the order of its SMTP dialogue):
 *	- a reply line that the classifier calls an ip_block from a
 *	  provider in keep_blocked_mail: TEMP (the session ends after the
 *	  one refused message); the block text is kept so that the status
 *	  filter lookup which follows ("4.3.0 local data error ...") is
 *	  answered with the provider's own reply as a 4.X.Y, as if the
 *	  filter were not there: the deferred queue and the evidence show
 *	  Microsoft's words;
 *	- with the map name "reply-NAME" (a transport that carries only
 *	  provider NAME's mail), a greeting (220) while NAME is on hold, or
 *	  for OG_RPF_MEMORY seconds after this process saw NAME block: TEMP,
 *	  nothing is sent to NAME; the status lookups that follow say why;
 *	- everything else: NOTFOUND (the reply as the server sent it).
 *	Success replies are never touched: a filtered "250" after DATA
 *	would make Postfix send the message again later.
 *
 * DIAGNOSTICS: pure decisions; the caller logs each non-pass action.
 *	Lines are bounded (OG_RPF_TEXT_MAX; longer continuations are cut).
 */
#ifndef OG_REPLYFILTER_H
#define OG_REPLYFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct og_classifier;
struct og_reply;

#define OG_RPF_TEXT_MAX 2048 /* a multi-line reply, joined */
#define OG_RPF_NAME_MAX 64 /* a provider name */
#define OG_RPF_MEMORY 60 /* seconds a seen block refuses greetings */

enum og_rpf_action {
	OG_RPF_PASS, /* NOTFOUND: leave the reply alone */
	OG_RPF_END_SESSION, /* TEMP on a block reply */
	OG_RPF_REFUSE_GREETING, /* TEMP on a held provider's greeting */
};

/* what one socketmap connection (one smtp(8) process) saw */
struct og_rpf_conn {
	char acc[OG_RPF_TEXT_MAX]; /* the reply being read, lines joined */
	size_t acclen;
	char block[OG_RPF_TEXT_MAX]; /* the last block reply, for statuses */
	size_t blocklen;
	char provider[OG_RPF_NAME_MAX]; /* whose block that was */
	int64_t until; /* greetings of provider refused until then */
	enum {
		OG_RPF_NONE,
		OG_RPF_AFTER_BLOCK,
		OG_RPF_AFTER_GREETING
	} pending; /* what the next "4.3.0" statuses come from */
};

/*
 * og_rpf_provider - the provider a map name names: "reply-NAME" gives
 * NAME, "reply" gives "" (no greeting refusal); NULL for other names
 * or a NAME that is empty, too long or not [A-Za-z0-9._-].
 */
const char *og_rpf_provider(
    const char *name, size_t len, char *out, size_t size);

/*
 * og_rpf_line - decide on one reply line of c's session; r is scratch
 * for the classifier; keep lists the providers whose blocks are acted
 * on; provider is og_rpf_provider()'s answer for the map name and
 * held says whether "provider:NAME" is on hold now.
 */
enum og_rpf_action og_rpf_line(struct og_rpf_conn *c,
    const struct og_classifier *rules, struct og_reply *r,
    const char *const *keep, const char *provider, int held, const char *line,
    size_t len, int64_t now);

/*
 * og_rpf_status - a status filter key that follows one of c's TEMP
 * answers ("4.3.0 local data error while talking to HOST"): 1 and the
 * status Postfix would have seen without the filter in out ("5.7.1
 * host HOST said: <the block reply>") after a block; 2 after a refused
 * greeting (out untouched: the caller answers it); 0 when the key is
 * not one of those (and the pending state ends).
 */
int og_rpf_status(
    struct og_rpf_conn *c, const char *key, size_t klen, struct og_strbuf *out);

#endif

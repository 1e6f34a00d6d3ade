/*
 * preflight.h - will the receiver see this message as DMARC-authenticated?
 * DESCRIPTION: before a message leaves, predict its DMARC result at the
 *	receiver (RFC 7489) from what this server controls:
 *	- SPF of the envelope domain (the HELO name for the null sender)
 *	  for every egress IP, through libspf2 with RFC 7208's limits
 *	  (lib/auth.c's og_auth_spf());
 *	- the DMARC record governing the From domain (its own or its
 *	  organisational domain's) and its aspf/adkim modes;
 *	- SPF alignment (envelope domain against From domain) and DKIM
 *	  alignment (the d= this milter signs with, if any).
 *	pass: SPF passes for every egress IP and aligns, or our DKIM d=
 *	aligns; fail with a reason token; none: no DMARC record applies
 *	(the receiver has no policy to apply; Outlook.com still wants SPF
 *	or DKIM); temperror: a DNS failure, never an action.
 *	Results are cached per domain (SPF for the configured egress IPs,
 *	DMARC) for the shortest DNS TTL of the answers used, at most
 *	OG_PREFLIGHT_TTL_MAX; DNS failures are never cached.
 * DIAGNOSTICS: never fails on hostile input: a From or envelope domain
 *	that is not a domain name is a fail (reason "bad-domain").
 *	Thread-safe: the cache has a mutex; lib/dns serialises lookups.
 */
#ifndef OG_PREFLIGHT_H
#define OG_PREFLIGHT_H

#include <stddef.h>
#include <stdint.h>

struct og_auth_conf;
struct og_dns;
struct og_preflight_cache;

#define OG_PREFLIGHT_CACHE_MAX 512 /* domains kept */
#define OG_PREFLIGHT_TTL_MAX 3600
#define OG_PREFLIGHT_TTL_DEFAULT 300 /* when DNS gave no TTL */

enum og_preflight_res {
	OG_PF_PASS,
	OG_PF_FAIL,
	OG_PF_NONE, /* no DMARC record applies */
	OG_PF_TEMPERROR,
	OG_PF_SKIP, /* not checked: no egress_ips */
};

struct og_preflight {
	enum og_preflight_res res;
	char reason[48]; /* a token: spf-fail-for-egress-ip, ... */
	char ip[64]; /* the egress IP SPF failed for, or "" */
	char domain[256]; /* the domain the reason is about */
	char detail[1024]; /* for people: one line */
	int cached; /* SPF and DMARC came from the cache */
};

const char *og_preflight_res_name(enum og_preflight_res);
struct og_preflight_cache *og_preflight_cache_new(void);
void og_preflight_cache_free(struct og_preflight_cache *);
/*
 * og_preflight_check - the prediction for a message with envelope
 * domain env (never empty: the caller passes the HELO name for the null
 * sender), From domain from, signed with DKIM d= dkim_d (NULL: not
 * signed); now for the cache. cache may be NULL (no caching).
 */
void og_preflight_check(struct og_preflight_cache *, struct og_dns *,
    const struct og_auth_conf *egress, const char *env, const char *from,
    const char *dkim_d, int64_t now, struct og_preflight *out);

#endif

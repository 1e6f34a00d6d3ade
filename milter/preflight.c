/*
 * preflight.c - predict a message's DMARC result at the receiver
 * DESCRIPTION: see preflight.h. The SPF and DMARC evaluations are
 *	lib/auth.c's; this file caches their outcome per domain and turns
 *	them, with the message's envelope, From and DKIM d=, into one
 *	result with a reason token for the log line and the tag header.
 *	The cache is a small array searched linearly: a few hundred
 *	domains, against a DNS round trip per miss.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "log.h"
#include "preflight.h"
#include "util.h"

/* what is kept of one domain's SPF (for the egress IPs) or DMARC */
struct entry {
	char domain[256];
	int dmarc; /* 1: the DMARC half, 0: the SPF half */
	int64_t expires;
	int64_t used;
	/* SPF: pass for every egress IP, else the first IP that did not */
	int spf_pass;
	char spf_ip[64];
	char spf_res[16];
	char spf_why[OG_AUTH_REASON_MAX]; /* lib/auth.c's reason for it */
	/* DMARC: a valid record applies, its policy and modes */
	int have;
	char policy[16];
	int aspf_strict, adkim_strict;
	char why[OG_AUTH_REASON_MAX]; /* no record: why */
};

struct og_preflight_cache {
	pthread_mutex_t lock;
	struct entry e[OG_PREFLIGHT_CACHE_MAX];
	size_t n;
};

const char *
og_preflight_res_name(enum og_preflight_res r)
{
	switch (r) {
	case OG_PF_PASS:
		return "pass";
	case OG_PF_FAIL:
		return "fail";
	case OG_PF_NONE:
		return "none";
	case OG_PF_TEMPERROR:
		return "temperror";
	case OG_PF_SKIP:
		return "skip";
	}
	return "?";
}

struct og_preflight_cache *
og_preflight_cache_new(void)
{
	struct og_preflight_cache *c = og_calloc(1, sizeof(*c));

	if (pthread_mutex_init(&c->lock, NULL) != 0)
		og_fatalx(70, "preflight: pthread_mutex_init failed");
	return c;
}

void
og_preflight_cache_free(struct og_preflight_cache *c)
{
	if (c == NULL)
		return;
	(void)pthread_mutex_destroy(&c->lock);
	og_free(c);
}

/* lookup - a live copy of the entry for domain into out: 1, else 0 */
static int
lookup(struct og_preflight_cache *c, const char *domain, int dmarc, int64_t now,
    struct entry *out)
{
	size_t i;
	int found = 0;

	if (c == NULL)
		return 0;
	(void)pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n && !found; i++)
		if (c->e[i].dmarc == dmarc && c->e[i].expires > now &&
		    strcmp(c->e[i].domain, domain) == 0) {
			c->e[i].used = now;
			*out = c->e[i];
			found = 1;
		}
	(void)pthread_mutex_unlock(&c->lock);
	return found;
}

/* store - keep e for ttl seconds, in place of an expired or the least
 * recently used entry when the cache is full */
static void
store(struct og_preflight_cache *c, struct entry *e, unsigned ttl, int64_t now)
{
	size_t i, victim = 0;

	if (c == NULL)
		return;
	if (ttl == 0)
		ttl = OG_PREFLIGHT_TTL_DEFAULT;
	if (ttl > OG_PREFLIGHT_TTL_MAX)
		ttl = OG_PREFLIGHT_TTL_MAX;
	e->expires = now + ttl;
	e->used = now;
	(void)pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++)
		if ((c->e[i].dmarc == e->dmarc &&
		        strcmp(c->e[i].domain, e->domain) == 0) ||
		    c->e[i].expires <= now)
			break;
	if (i == c->n && c->n < OG_PREFLIGHT_CACHE_MAX)
		c->n++;
	else if (i == c->n) {
		for (i = 1; i < c->n; i++)
			if (c->e[i].used < c->e[victim].used)
				victim = i;
		i = victim;
	}
	c->e[i] = *e;
	(void)pthread_mutex_unlock(&c->lock);
}

/* spf - the SPF half for env; -1 on a DNS failure (not cached) */
static int
spf(struct og_preflight_cache *c, struct og_dns *dns,
    const struct og_auth_conf *egress, const char *env, int64_t now,
    struct entry *e, int *cached)
{
	struct og_auth_report r;
	size_t i;

	if (lookup(c, env, 0, now, e))
		return 0;
	*cached = 0;
	memset(e, 0, sizeof(*e));
	(void)og_strlcpy(e->domain, env, sizeof(e->domain));
	if (og_auth_spf(dns, egress, env, &r) < 0)
		return -1;
	e->spf_pass = r.nspf > 0;
	for (i = 0; i < r.nspf; i++) {
		if (r.spf[i].item.res == OG_AUTH_TEMPERROR) {
			(void)og_strlcpy(e->spf_why, r.spf[i].item.reason,
			    sizeof(e->spf_why));
			return -1;
		}
		if (r.spf[i].item.res != OG_AUTH_PASS && e->spf_pass) {
			e->spf_pass = 0;
			(void)og_strlcpy(e->spf_why, r.spf[i].item.reason,
			    sizeof(e->spf_why));
			(void)og_strlcpy(
			    e->spf_ip, r.spf[i].ip, sizeof(e->spf_ip));
			(void)og_strlcpy(e->spf_res,
			    og_auth_res_name(r.spf[i].item.res),
			    sizeof(e->spf_res));
		}
	}
	store(c, e, r.ttl, now);
	return 0;
}

/* dmarc - the DMARC half for from; -1 on a DNS failure (not cached) */
static int
dmarc(struct og_preflight_cache *c, struct og_dns *dns, const char *from,
    int64_t now, struct entry *e, int *cached)
{
	struct og_auth_report r;
	struct og_dmarc dm;
	int rc;

	if (lookup(c, from, 1, now, e))
		return 0;
	*cached = 0;
	memset(e, 0, sizeof(*e));
	e->dmarc = 1;
	(void)og_strlcpy(e->domain, from, sizeof(e->domain));
	if ((rc = og_auth_dmarc(dns, from, &r, &dm)) < 0)
		return -1;
	(void)og_strlcpy(e->why, r.dmarc.reason, sizeof(e->why));
	if (rc == 0 && r.dmarc.res == OG_AUTH_TEMPERROR)
		return -1;
	e->have = rc == 1;
	(void)og_strlcpy(e->policy, r.dmarc_policy, sizeof(e->policy));
	e->aspf_strict = dm.aspf_strict;
	e->adkim_strict = dm.adkim_strict;
	store(c, e, r.ttl, now);
	return 0;
}

static void
set(struct og_preflight *o, enum og_preflight_res res, const char *reason,
    const char *domain, const char *ip)
{
	o->res = res;
	(void)og_strlcpy(o->reason, reason, sizeof(o->reason));
	(void)og_strlcpy(o->domain, domain ? domain : "", sizeof(o->domain));
	(void)og_strlcpy(o->ip, ip ? ip : "", sizeof(o->ip));
}

/* norm - a normalised copy of a domain into buf, or -1 */
static int
norm(const char *d, char *buf, size_t size)
{
	char *n;

	if (d == NULL || *d == '\0')
		return -1;
	if ((n = og_domain_normalize(d, strlen(d))) == NULL ||
	    !og_domain_valid(n) || strlen(n) >= size) {
		og_free(n);
		return -1;
	}
	(void)og_strlcpy(buf, n, size);
	og_free(n);
	return 0;
}

void
og_preflight_check(struct og_preflight_cache *c, struct og_dns *dns,
    const struct og_auth_conf *egress, const char *env_in, const char *from_in,
    const char *dkim_d, int64_t now, struct og_preflight *o)
{
	struct entry se, de;
	char env[256], from[256];
	int spf_al, dkim_al, cached = 1;

	memset(o, 0, sizeof(*o));
	if (egress == NULL || egress->negress == 0) {
		set(o, OG_PF_SKIP, "no-egress-ips", NULL, NULL);
		(void)og_strlcpy(
		    o->detail, "egress_ips is not set", sizeof(o->detail));
		return;
	}
	if (norm(env_in, env, sizeof(env)) < 0) {
		set(o, OG_PF_FAIL, "bad-domain", NULL, NULL);
		(void)og_strlcpy(o->detail,
		    "the envelope domain is not a domain name",
		    sizeof(o->detail));
		return;
	}
	if (norm(from_in, from, sizeof(from)) < 0) {
		set(o, OG_PF_FAIL, "bad-domain", NULL, NULL);
		(void)og_strlcpy(o->detail,
		    "the From domain is not a domain name", sizeof(o->detail));
		return;
	}
	if (dmarc(c, dns, from, now, &de, &cached) < 0) {
		set(o, OG_PF_TEMPERROR, "dns-temperror", from, NULL);
		(void)snprintf(o->detail, sizeof(o->detail),
		    "the DMARC record of %s could not be looked up: %s", from,
		    de.why);
		return;
	}
	if (spf(c, dns, egress, env, now, &se, &cached) < 0) {
		set(o, OG_PF_TEMPERROR, "dns-temperror", env, NULL);
		(void)snprintf(o->detail, sizeof(o->detail),
		    "the SPF record of %s could not be evaluated: %s", env,
		    se.spf_why);
		return;
	}
	o->cached = cached;
	spf_al = se.spf_pass && og_domain_aligned(env, from, de.aspf_strict);
	dkim_al = dkim_d != NULL && *dkim_d != '\0' &&
	    og_domain_aligned(dkim_d, from, de.adkim_strict);
	if (!de.have) {
		set(o, OG_PF_NONE, "no-dmarc-record", from, NULL);
		(void)snprintf(o->detail, sizeof(o->detail),
		    "%s; SPF %s, DKIM %s", de.why,
		    spf_al ? "aligned" : "not aligned",
		    dkim_al ? "aligned" : "not aligned");
		return;
	}
	if (spf_al || dkim_al) {
		set(o, OG_PF_PASS,
		    spf_al && dkim_al ? "spf-and-dkim-aligned"
		        : spf_al      ? "spf-aligned"
		                      : "dkim-aligned",
		    from, NULL);
		(void)snprintf(o->detail, sizeof(o->detail),
		    "DMARC p=%s of %s would pass", de.policy, from);
		return;
	}
	/* fail: say first what SPF lacks, then DKIM */
	if (!se.spf_pass)
		set(o, OG_PF_FAIL, "spf-fail-for-egress-ip", env, se.spf_ip);
	else
		set(o, OG_PF_FAIL, "spf-not-aligned", env, NULL);
	(void)snprintf(o->detail, sizeof(o->detail),
	    "DMARC p=%s of %s would fail: SPF of %s %s%s%s%s%s%s, %s%s%s",
	    de.policy, from, env,
	    se.spf_pass ? "passes but is not aligned" : se.spf_res,
	    se.spf_pass ? "" : " for ", se.spf_pass ? "" : se.spf_ip,
	    se.spf_pass ? "" : " (", se.spf_pass ? "" : se.spf_why,
	    se.spf_pass ? "" : ")", dkim_d ? "DKIM d=" : "not DKIM-signed",
	    dkim_d ? dkim_d : "", dkim_d ? " not aligned" : "");
}

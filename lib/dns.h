/*
 * dns.h - one caching, thread-safe DNS resolver per process (libunbound)
 * DESCRIPTION: the system's resolvers (/etc/resolv.conf) by default, or
 *	one server "IP" / "IP@PORT" (dns_resolver; the tests point it at
 *	the sandbox's DNS server). Every lookup has a timeout. libspf2's
 *	DNS layer (lib/auth.c) and the DKIM and DMARC lookups all use it,
 *	so they share one cache. Lookups on one handle are serialised (a
 *	mutex): any thread may use it, one lookup runs at a time.
 * DIAGNOSTICS: lookups return OG_FOUND, OG_NOTFOUND (NXDOMAIN or no
 *	record of the type) or OG_ERROR (timeout, SERVFAIL, bad answer:
 *	a temperror for the caller); og_dns_open() returns NULL with the
 *	reason in err.
 */
#ifndef OG_DNS_H
#define OG_DNS_H

#include <stddef.h>

struct og_strbuf;
struct og_dns;

#define OG_DNS_TIMEOUT_MS 5000 /* per lookup, by default */
#define OG_DNS_TXT_MAX 4096 /* bytes of one TXT record, strings joined */
#define OG_DNS_ANSWERS_MAX 64 /* records of one answer kept */
#define OG_DNS_NAME_MAX 1024 /* bytes of a query name, escapes included */
#define OG_DNS_WHY_MAX 160

/* the record types og_dns_query() knows (their IANA numbers) */
#define OG_DNS_A 1
#define OG_DNS_PTR 12
#define OG_DNS_MX 15
#define OG_DNS_TXT 16
#define OG_DNS_AAAA 28

/* og_dns_open - resolver NULL or "": the system's; timeout_ms 0: default */
struct og_dns *og_dns_open(
    const char *resolver, int timeout_ms, struct og_strbuf *err);
void og_dns_close(struct og_dns *);

/*
 * og_dns_txt - the TXT records of name, each record's strings joined
 * (RFC 7208 3.3), in *out (n entries, og_dns_free_list() them)
 */
int og_dns_txt(struct og_dns *, const char *name, char ***out, size_t *n);
void og_dns_free_list(char **, size_t n);

/*
 * One answer, every record as a C string: A and AAAA in inet_ntop(3)
 * form, MX the exchange and PTR the target as a name without the final
 * dot (bytes other than [A-Za-z0-9_-] as \DDD), TXT the record's
 * strings joined. A TXT record over OG_DNS_TXT_MAX bytes or holding a
 * NUL byte makes the lookup OG_ERROR (no record is ever cut short or
 * changed); records beyond OG_DNS_ANSWERS_MAX are dropped (truncated).
 * Filled on every return; og_dns_answer_clear() it.
 */
struct og_dns_answer {
	char **rr;
	size_t n;
	int nxdomain; /* OG_NOTFOUND because the name does not exist */
	int truncated; /* records were dropped at OG_DNS_ANSWERS_MAX */
	unsigned ttl; /* seconds the answer may be cached (0: unknown) */
	char why[OG_DNS_WHY_MAX]; /* OG_ERROR: "timeout after 5000 ms", ... */
};

/*
 * og_dns_query - the records of type (OG_DNS_A, ...) at name. A name
 * libunbound cannot parse, or longer than OG_DNS_NAME_MAX, is
 * OG_NOTFOUND with nxdomain set.
 */
int og_dns_query(
    struct og_dns *, const char *name, int type, struct og_dns_answer *);
void og_dns_answer_clear(struct og_dns_answer *);
/* og_dns_timeout_ms - the per-lookup timeout in force */
int og_dns_timeout_ms(const struct og_dns *);

#endif

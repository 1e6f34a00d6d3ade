/*
 * dns.c - DNS lookups through libunbound, with a deadline per lookup
 * DESCRIPTION: one ub_ctx per og_dns, configured once in og_dns_open()
 *	(a forwarder "IP" / "IP@PORT", which is libunbound's own syntax,
 *	or /etc/resolv.conf) and resolving in a libunbound thread (never a
 *	forked process). libunbound has no per-query timeout, so a lookup
 *	is ub_resolve_async(), then poll(2) on ub_fd() and ub_process()
 *	until the answer's callback ran or the deadline passed; on timeout
 *	the query is ub_cancel()ed and the lookup is OG_ERROR. A mutex
 *	serialises lookups on one handle: ub_process() runs the callbacks
 *	of every pending query, so two threads waiting on one ub_fd()
 *	could take each other's answers.
 *	Answers are copied out of the rdata (wire format, names already
 *	uncompressed by libunbound) with every length checked against the
 *	rdata length first.
 * DIAGNOSTICS: see dns.h. libunbound's own log is switched off; what
 *	went wrong is in og_dns_answer.why.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#include "dns.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"

struct og_dns {
	struct ub_ctx *ctx;
	pthread_mutex_t lock;
	int timeout_ms;
};

/* what the callback hands back to the waiting lookup */
struct pending {
	int done;
	int err; /* ub_* error code */
	struct ub_result *res;
};

struct og_dns *
og_dns_open(const char *resolver, int timeout_ms, struct og_strbuf *err)
{
	struct og_dns *d;
	int rc;

	d = og_calloc(1, sizeof(*d));
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : OG_DNS_TIMEOUT_MS;
	if ((d->ctx = ub_ctx_create()) == NULL) {
		(void)og_strbuf_adds(
		    err, "libunbound: cannot create a context");
		og_free(d);
		return NULL;
	}
	/* A thread, not a forked process: we may hold a store open. */
	if ((rc = ub_ctx_async(d->ctx, 1)) != 0 ||
	    (rc = ub_ctx_debugout(d->ctx, NULL)) != 0)
		goto fail;
	if (resolver != NULL && *resolver != '\0') {
		const char *at = strchr(resolver, '@');
		unsigned long long port;

		/* libunbound takes any number after '@': check it here */
		if (at != NULL && og_parse_uint(at + 1, 1, 65535, &port) < 0) {
			(void)og_strbuf_addf(err,
			    "dns_resolver %s: the port must be 1 to 65535",
			    resolver);
			goto fail_quiet;
		}
		if ((rc = ub_ctx_set_fwd(d->ctx, resolver)) != 0) {
			(void)og_strbuf_addf(err, "dns_resolver %s: %s",
			    resolver, ub_strerror(rc));
			goto fail_quiet;
		}
		/*
		 * libunbound answers names under test. (RFC 6761) itself,
		 * NXDOMAIN, whatever the server says. The admin who names a
		 * server wants its answers: a test bed's zones are there.
		 * Removing the zone also finalises the context, so a bad
		 * setting shows here rather than at the first lookup.
		 */
		if ((rc = ub_ctx_zone_remove(d->ctx, "test.")) != 0)
			goto fail;
	} else if ((rc = ub_ctx_resolvconf(d->ctx, NULL)) != 0) {
		(void)og_strbuf_addf(
		    err, "/etc/resolv.conf: %s", ub_strerror(rc));
		goto fail_quiet;
	}
	if (pthread_mutex_init(&d->lock, NULL) != 0) {
		(void)og_strbuf_adds(err, "pthread_mutex_init failed");
		goto fail_quiet;
	}
	return d;
fail:
	(void)og_strbuf_addf(err, "libunbound: %s", ub_strerror(rc));
fail_quiet:
	ub_ctx_delete(d->ctx);
	og_free(d);
	return NULL;
}

void
og_dns_close(struct og_dns *d)
{
	if (d == NULL)
		return;
	ub_ctx_delete(d->ctx);
	(void)pthread_mutex_destroy(&d->lock);
	og_free(d);
}

int
og_dns_timeout_ms(const struct og_dns *d)
{
	return d->timeout_ms;
}

static void
answered(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	p->done = 1;
	p->err = err;
	p->res = res;
}

static long long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * resolve - one query with a deadline (the caller holds the lock): 0
 * with p->res set, or -1 with why filled
 */
static int
resolve(struct og_dns *d, const char *name, int type, struct pending *p,
    struct og_dns_answer *a)
{
	long long deadline = now_ms() + d->timeout_ms;
	struct pollfd pfd;
	int id, rc;

	memset(p, 0, sizeof(*p));
	rc = ub_resolve_async(d->ctx, name, type, 1, p, answered, &id);
	if (rc != 0) {
		(void)snprintf(a->why, sizeof(a->why), "%s", ub_strerror(rc));
		return rc == UB_SYNTAX ? 1 : -1;
	}
	pfd.fd = ub_fd(d->ctx);
	pfd.events = POLLIN;
	while (!p->done) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			(void)ub_cancel(d->ctx, id);
			(void)snprintf(a->why, sizeof(a->why),
			    "no answer within %d ms", d->timeout_ms);
			return -1;
		}
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno != EINTR) {
			(void)ub_cancel(d->ctx, id);
			(void)snprintf(a->why, sizeof(a->why), "poll: %s",
			    strerror(errno));
			return -1;
		}
		if (rc > 0 && (rc = ub_process(d->ctx)) != 0) {
			(void)ub_cancel(d->ctx, id);
			(void)snprintf(
			    a->why, sizeof(a->why), "%s", ub_strerror(rc));
			return -1;
		}
	}
	if (p->err != 0) {
		(void)snprintf(
		    a->why, sizeof(a->why), "%s", ub_strerror(p->err));
		ub_resolve_free(p->res);
		p->res = NULL;
		return -1;
	}
	return 0;
}

/* txt_join - the character-strings of one TXT rdata, joined (RFC 7208 3.3) */
static int
txt_join(const unsigned char *rd, size_t len, struct og_strbuf *out)
{
	size_t i = 0, n;

	while (i < len) {
		n = rd[i++];
		if (n > len - i || memchr(rd + i, '\0', n) != NULL)
			return -1;
		if (og_strbuf_addn(out, rd + i, n) < 0)
			return -1;
		i += n;
	}
	return og_strbuf_addn(out, "", 0);
}

/* wire_name - an uncompressed wire-format name as text, no final dot */
static int
wire_name(const unsigned char *rd, size_t len, struct og_strbuf *out)
{
	size_t i = 0, n, k;

	for (;;) {
		if (i >= len)
			return -1;
		n = rd[i++];
		if (n == 0)
			break;
		if (n > 63 || n > len - i)
			return -1; /* a compression pointer or junk */
		if (out->len > 0 && og_strbuf_addc(out, '.') < 0)
			return -1;
		for (k = 0; k < n; k++) {
			unsigned char c = rd[i + k];
			int r;

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_')
				r = og_strbuf_addc(out, c);
			else
				r = og_strbuf_addf(out, "\\%03u", c);
			if (r < 0)
				return -1;
		}
		i += n;
	}
	return og_strbuf_addn(out, "", 0);
}

/* one_rr - record i of res as text into out, -1 if malformed */
static int
one_rr(int type, const unsigned char *rd, size_t len, struct og_strbuf *out)
{
	char buf[INET6_ADDRSTRLEN];

	switch (type) {
	case OG_DNS_A:
	case OG_DNS_AAAA:
		if (len != (type == OG_DNS_A ? 4u : 16u) ||
		    inet_ntop(type == OG_DNS_A ? AF_INET : AF_INET6, rd, buf,
		        sizeof(buf)) == NULL)
			return -1;
		return og_strbuf_adds(out, buf);
	case OG_DNS_MX:
		if (len < 3)
			return -1;
		return wire_name(rd + 2, len - 2, out);
	case OG_DNS_PTR:
		return wire_name(rd, len, out);
	case OG_DNS_TXT:
		return txt_join(rd, len, out);
	default:
		return -1;
	}
}

/* copy_answer - res's records into a; OG_FOUND, OG_NOTFOUND, OG_ERROR */
static int
copy_answer(const char *name, int type, const struct ub_result *res,
    struct og_dns_answer *a)
{
	struct og_strbuf sb;
	size_t i;

	a->ttl = res->ttl > 0 ? (unsigned)res->ttl : 0;
	if (res->rcode == 3 || res->nxdomain) {
		a->nxdomain = 1;
		return OG_NOTFOUND;
	}
	if (res->rcode != 0 || res->bogus) {
		(void)snprintf(a->why, sizeof(a->why), "%s",
		    res->bogus            ? "DNSSEC validation failed"
		        : res->rcode == 2 ? "SERVFAIL"
		        : res->rcode == 5 ? "REFUSED"
		                          : "bad answer");
		return OG_ERROR;
	}
	if (!res->havedata || res->data == NULL)
		return OG_NOTFOUND;
	og_strbuf_init(&sb, type == OG_DNS_TXT ? OG_DNS_TXT_MAX + 1 : 2048);
	for (i = 0; res->data[i] != NULL; i++) {
		if (a->n == OG_DNS_ANSWERS_MAX) {
			a->truncated = 1;
			break;
		}
		og_strbuf_reset(&sb);
		if (res->len[i] < 0 ||
		    one_rr(type, (const unsigned char *)res->data[i],
		        (size_t)res->len[i], &sb) < 0) {
			(void)snprintf(a->why, sizeof(a->why),
			    type == OG_DNS_TXT
			        ? "TXT record at %.80s too long or holds a "
			          "NUL byte"
			        : "malformed record at %.80s",
			    name);
			og_strbuf_release(&sb);
			return OG_ERROR;
		}
		if (a->rr == NULL)
			a->rr = og_calloc(OG_DNS_ANSWERS_MAX, sizeof(char *));
		a->rr[a->n++] = og_strbuf_steal(&sb);
	}
	og_strbuf_release(&sb);
	return a->n > 0 ? OG_FOUND : OG_NOTFOUND;
}

int
og_dns_query(
    struct og_dns *d, const char *name, int type, struct og_dns_answer *a)
{
	struct pending p;
	int rc;

	memset(a, 0, sizeof(*a));
	if (type != OG_DNS_A && type != OG_DNS_AAAA && type != OG_DNS_MX &&
	    type != OG_DNS_PTR && type != OG_DNS_TXT)
		og_panic("og_dns_query: type %d", type);
	if (name == NULL || *name == '\0' || strlen(name) > OG_DNS_NAME_MAX) {
		(void)og_strlcpy(a->why, "not a domain name", sizeof(a->why));
		a->nxdomain = 1;
		return OG_NOTFOUND;
	}
	if (pthread_mutex_lock(&d->lock) != 0)
		og_panic("og_dns_query: pthread_mutex_lock failed");
	rc = resolve(d, name, type, &p, a);
	(void)pthread_mutex_unlock(&d->lock);
	if (rc > 0) {
		a->nxdomain = 1;
		return OG_NOTFOUND;
	}
	if (rc < 0)
		return OG_ERROR;
	rc = copy_answer(name, type, p.res, a);
	ub_resolve_free(p.res);
	if (rc == OG_ERROR)
		og_dns_answer_clear(a);
	return rc;
}

void
og_dns_answer_clear(struct og_dns_answer *a)
{
	og_dns_free_list(a->rr, a->n);
	a->rr = NULL;
	a->n = 0;
}

int
og_dns_txt(struct og_dns *d, const char *name, char ***out, size_t *n)
{
	struct og_dns_answer a;
	int rc;

	rc = og_dns_query(d, name, OG_DNS_TXT, &a);
	*out = a.rr;
	*n = a.n;
	return rc;
}

void
og_dns_free_list(char **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		og_free(list[i]);
	og_free(list);
}

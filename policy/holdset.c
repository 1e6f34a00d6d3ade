/*
 * holdset.c - the holds in force, in memory
 * DESCRIPTION: an open-addressing hash table (FNV-1a over the lowercased
 *	identity) whose slots point at the copied holds; an identity with
 *	holds of several scopes has one slot per hold. Client holds with a
 *	prefix ("client:192.0.2.0/24") go to a list matched bit by bit.
 *	Immutable after og_holdset_new(), so any thread may read it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holdset.h"
#include "log.h"
#include "store.h"
#include "util.h"

struct net {
	int family;
	unsigned char addr[16];
	unsigned prefix;
	const struct og_hold *hold;
};

struct og_holdset {
	struct og_hold *holds; /* copies, identities lowercased */
	size_t n;
	const struct og_hold **slots;
	size_t nslots; /* a power of two, at least 2n */
	struct net *nets;
	size_t nnets;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

static char *
dup_or_null(const char *s)
{
	return s ? og_strdup(s) : NULL;
}

/* parse_net - "client:IP/LEN" into n; 0, or -1 when it is no CIDR */
static int
parse_net(const char *identity, struct net *n)
{
	char buf[64];
	const char *ip = identity + strlen("client:"), *slash;
	unsigned long long len;
	size_t iplen;

	if ((slash = strchr(ip, '/')) == NULL)
		return -1;
	iplen = (size_t)(slash - ip);
	if (iplen >= sizeof(buf))
		return -1;
	memcpy(buf, ip, iplen);
	buf[iplen] = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->family = AF_INET6;
	else
		return -1;
	if (og_parse_uint(slash + 1, 0, n->family == AF_INET ? 32 : 128, &len) <
	    0)
		return -1;
	n->prefix = (unsigned)len;
	return 0;
}

static int
net_match(const struct net *n, int family, const unsigned char *addr)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != family)
		return 0;
	if (memcmp(n->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((n->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

struct og_holdset *
og_holdset_new(const struct og_hold *src, size_t n)
{
	struct og_holdset *hs = og_calloc(1, sizeof(*hs));
	size_t i, kept = 0;

	hs->holds = og_calloc(n ? n : 1, sizeof(*hs->holds));
	hs->nets = og_calloc(n ? n : 1, sizeof(*hs->nets));
	for (hs->nslots = 16; hs->nslots < 2 * n; hs->nslots *= 2)
		;
	hs->slots = og_calloc(hs->nslots, sizeof(*hs->slots));
	for (i = 0; i < n; i++) {
		struct og_hold *h = &hs->holds[kept];
		struct net net;

		if (src[i].identity == NULL ||
		    !og_store_identity_valid(src[i].identity)) {
			og_warnx("holds: skipping hold %lld with a bad "
			         "identity",
			    (long long)src[i].id);
			continue;
		}
		*h = src[i];
		h->identity = og_lowercase(og_strdup(src[i].identity));
		h->scope = dup_or_null(src[i].scope ? src[i].scope : "all");
		h->reason = dup_or_null(src[i].reason);
		h->created_by = dup_or_null(src[i].created_by);
		kept++;
		if (strncmp(h->identity, "client:", 7) == 0 &&
		    parse_net(h->identity, &net) == 0) {
			net.hold = h;
			hs->nets[hs->nnets++] = net;
		} else {
			size_t s = hash(h->identity) & (hs->nslots - 1);

			while (hs->slots[s] != NULL)
				s = (s + 1) & (hs->nslots - 1);
			hs->slots[s] = h;
		}
	}
	hs->n = kept;
	return hs;
}

struct og_holdset *
og_holdset_free(struct og_holdset *hs)
{
	size_t i;

	if (hs == NULL)
		return NULL;
	for (i = 0; i < hs->n; i++) {
		og_free(hs->holds[i].identity);
		og_free(hs->holds[i].scope);
		og_free(hs->holds[i].reason);
		og_free(hs->holds[i].created_by);
	}
	og_free(hs->holds);
	og_free(hs->slots);
	og_free(hs->nets);
	return og_free(hs);
}

size_t
og_holdset_count(const struct og_holdset *hs)
{
	return hs ? hs->n : 0;
}

/* covers - does hold h apply to mail to provider? */
static int
covers(const struct og_hold *h, const char *provider)
{
	if (strcmp(h->scope, "all") == 0)
		return 1;
	return provider != NULL && strncmp(h->scope, "provider:", 9) == 0 &&
	    og_strcasecmp_ascii(h->scope + 9, provider) == 0;
}

const struct og_hold *
og_holdset_find(
    const struct og_holdset *hs, const char *identity, const char *provider)
{
	size_t s;

	if (hs == NULL || hs->n == 0 || identity == NULL)
		return NULL;
	for (s = hash(identity) & (hs->nslots - 1); hs->slots[s] != NULL;
	     s = (s + 1) & (hs->nslots - 1)) {
		const struct og_hold *h = hs->slots[s];

		if (og_strcasecmp_ascii(h->identity, identity) == 0 &&
		    covers(h, provider))
			return h;
	}
	return NULL;
}

const struct og_hold *
og_holdset_find_client(
    const struct og_holdset *hs, const char *ip, const char *provider)
{
	char key[OG_IDENTITY_MAX];
	unsigned char addr[16];
	const struct og_hold *h;
	int family;
	size_t i;

	if (hs == NULL || hs->n == 0 || ip == NULL || *ip == '\0')
		return NULL;
	if (strlen(ip) + 8 > sizeof(key))
		return NULL;
	(void)snprintf(key, sizeof(key), "client:%s", ip);
	if ((h = og_holdset_find(hs, key, provider)) != NULL)
		return h;
	if (inet_pton(AF_INET, ip, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		family = AF_INET6;
	else
		return NULL;
	for (i = 0; i < hs->nnets; i++)
		if (net_match(&hs->nets[i], family, addr) &&
		    covers(hs->nets[i].hold, provider))
			return hs->nets[i].hold;
	return NULL;
}

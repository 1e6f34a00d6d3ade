/*
 * decide.c - the policy decision for one request
 * DESCRIPTION: see decide.h. Order: the SASL login, then the envelope
 *	sender, then the client address, each for a hold of scope "all" or
 *	of the recipient's provider; last the recipient's provider itself
 *	("provider:NAME" holds every message to that provider). The first
 *	hold found decides and is named in the answer and the log.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "holdset.h"
#include "request.h"
#include "table.h"
#include "util.h"

int
og_recipient_provider(const struct og_table *providers, const char *address,
    char *out, size_t outsize)
{
	const char *at, *value;
	char domain[256];
	size_t len;
	int r;

	*out = '\0';
	if (providers == NULL || address == NULL ||
	    (at = strrchr(address, '@')) == NULL)
		return OG_NOTFOUND;
	len = strlen(at + 1);
	if (len == 0 || len >= sizeof(domain))
		return OG_NOTFOUND;
	memcpy(domain, at + 1, len + 1);
	if (domain[len - 1] == '.')
		domain[len - 1] = '\0';
	og_lowercase(domain);
	r = og_table_lookup(providers, domain, &value);
	if (r == OG_FOUND)
		og_strlcpy(out, value, outsize);
	return r;
}

static int
try(const struct og_holdset *hs, const char *identity, const char *provider,
    struct og_decision *out)
{
	const struct og_hold *h;

	if (strncmp(identity, "client:", 7) == 0)
		h = og_holdset_find_client(hs, identity + 7, provider);
	else
		h = og_holdset_find(hs, identity, provider);
	if (h == NULL)
		return 0;
	out->hold = 1;
	out->by = h;
	/* name the hold that matched: the network, not just the address */
	og_strlcpy(out->identity, h->identity, sizeof(out->identity));
	return 1;
}

int
og_decide(const struct og_holdset *hs, const struct og_table *providers,
    const struct og_request *rq, struct og_decision *out)
{
	char id[OG_IDENTITY_MAX];
	const char *login = og_request_get(rq, OG_RA_SASL_USERNAME);
	const char *sender = og_request_get(rq, OG_RA_SENDER);
	const char *client = og_request_get(rq, OG_RA_CLIENT_ADDRESS);
	const char *rcpt = og_request_get(rq, OG_RA_RECIPIENT);
	const char *prov;

	memset(out, 0, sizeof(*out));
	if (*rcpt != '\0' &&
	    og_recipient_provider(providers, rcpt, out->provider,
	        sizeof(out->provider)) == OG_ERROR)
		return -1;
	prov = *out->provider ? out->provider : NULL;
	if (*login != '\0' && strlen(login) < sizeof(id) - 5) {
		(void)snprintf(id, sizeof(id), "sasl:%s", login);
		if (try(hs, id, prov, out))
			return 0;
	}
	if (rq->a[OG_RA_SENDER] != NULL && strlen(sender) < sizeof(id) - 7) {
		(void)snprintf(
		    id, sizeof(id), "sender:%s", *sender ? sender : "<>");
		if (try(hs, id, prov, out))
			return 0;
	}
	if (*client != '\0' && strlen(client) < sizeof(id) - 7) {
		(void)snprintf(id, sizeof(id), "client:%s", client);
		if (try(hs, id, prov, out))
			return 0;
	}
	if (prov != NULL) {
		(void)snprintf(id, sizeof(id), "provider:%s", prov);
		if (try(hs, id, NULL, out))
			return 0;
	}
	return 0;
}

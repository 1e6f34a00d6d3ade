/*
 * decide.h - the policy decision for one request, a pure function
 * DESCRIPTION: which identities the request carries (SASL login,
 *	envelope sender, client address), which provider its recipient
 *	belongs to, and whether a hold in force covers any of them.
 *	No I/O, no clock, no globals: table-driven tests call it directly.
 */
#ifndef OG_DECIDE_H
#define OG_DECIDE_H

#include <stddef.h>

#include "store.h"

struct og_holdset;
struct og_request;
struct og_table;

struct og_decision {
	int hold; /* 1: answer HOLD */
	const struct og_hold *by; /* the hold that decided, or NULL */
	char identity
	    [OG_IDENTITY_MAX]; /* the hold's identity, e.g. sasl:alice */
	char provider[80]; /* the recipient's provider, or "" */
};

/*
 * og_decide - decide for rq with the holds of hs; providers maps a
 * recipient domain to its provider name (may be NULL). Returns 0, or
 * -1 when the providers table failed (the caller answers nothing).
 */
int og_decide(const struct og_holdset *hs, const struct og_table *providers,
    const struct og_request *rq, struct og_decision *out);

/* og_recipient_provider - provider of address's domain: OG_FOUND ... */
int og_recipient_provider(const struct og_table *providers, const char *address,
    char *out, size_t outsize);

#endif

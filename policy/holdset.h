/*
 * holdset.h - the holds in force, in memory, for one decision per request
 * DESCRIPTION: built from og_store_holds() and never changed after;
 *	the daemon swaps in a new set when the store's generation moves.
 *	Lookups are a hash probe per identity, plus a scan of the CIDR
 *	holds (few) for a client address. Identities compare without
 *	regard to ASCII case.
 */
#ifndef OG_HOLDSET_H
#define OG_HOLDSET_H

#include <stddef.h>

struct og_hold;
struct og_holdset;

/* og_holdset_new - copies the holds; bad identities are skipped, logged */
struct og_holdset *og_holdset_new(const struct og_hold *, size_t n);
struct og_holdset *og_holdset_free(struct og_holdset *);
size_t og_holdset_count(const struct og_holdset *);

/*
 * og_holdset_find - the hold on identity that covers mail to provider
 * (provider NULL: mail to no known provider): a hold of scope "all", or
 * of scope "provider:NAME" for that provider. NULL when none.
 */
const struct og_hold *og_holdset_find(
    const struct og_holdset *, const char *identity, const char *provider);
/* og_holdset_find_client - the same for "client:IP", CIDR holds too */
const struct og_hold *og_holdset_find_client(
    const struct og_holdset *, const char *ip, const char *provider);

#endif

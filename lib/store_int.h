/*
 * store_int.h - the back-end interface behind store.c (private to lib/)
 * DESCRIPTION: store.c owns struct og_store, picks a struct store_ops by
 *	the spec's prefix ("sqlite:", later "pgsql:"), validates and bounds
 *	every argument, and logs errors. A back end only talks to its
 *	database: it sees arguments that are already checked (identities
 *	valid, strings within their caps, scope never NULL in a hold), keeps
 *	its state in st->be, and describes a failure with og_store_seterr()
 *	before returning -1. Adding a back end is one ops table and one row
 *	in store.c's list; callers never change.
 * DIAGNOSTICS: back-end functions return what the og_store_* function of
 *	the same name returns, and never log a failure: store.c logs it once.
 */
#ifndef OG_STORE_INT_H
#define OG_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "strbuf.h"
#include "util.h"

#define OG_STORE_BUSY_MS 5000 /* wait this long for another writer */
#define OG_STORE_ERR_MAX 16384 /* cap on one error description */

struct store_ops {
	const char *name; /* the spec prefix, without the colon */
	/* check - arg (the spec after "name:") well formed: 0 or -1 + err */
	int (*check)(const char *arg, struct og_strbuf *err);
	/* open - connect, migrate, prepare; set st->be; on -1 leave it NULL */
	int (*open)(struct og_store *st, const char *arg);
	void (*close)(struct og_store *st);
	int (*add_messages)(
	    struct og_store *, const struct og_msgrec *, size_t);
	int (*find_message)(struct og_store *, const char *host,
	    const char *queue_id, struct og_msgrec_owned *out);
	int (*prune_messages)(
	    struct og_store *, int64_t before, int limit, long *deleted);
	int (*hold)(struct og_store *, const struct og_hold *, int64_t now,
	    int64_t *id);
	int (*release)(struct og_store *, const char *identity,
	    const char *scope, const char *actor, const char *reason,
	    int64_t now);
	int (*holds)(
	    struct og_store *, int64_t now, struct og_hold **out, size_t *n);
	int (*generation)(struct og_store *, uint64_t *gen);
	int (*audit)(struct og_store *, int64_t now, const char *actor,
	    const char *action, const char *subject, const char *reason,
	    const char *detail);
	int (*audit_list)(
	    struct og_store *, int64_t since, struct og_audit **, size_t *n);
};

struct og_store {
	const struct store_ops *ops;
	void *be; /* the back end's connection state */
	/*
	 * "sqlite:/path", the prefix of every error. XXX: a pgsql: spec
	 * can carry "password=...": redact it here before it is logged.
	 */
	char *spec;
	struct og_strbuf err; /* the last error, for og_store_error() */
};

/* og_store_seterr - replace the handle's error with "SPEC: message" */
void og_store_seterr(struct og_store *, const char *, ...) OG_PRINTF(2, 3);

/* hold and release audit details, the same for every back end */
void og_store_hold_detail(
    struct og_strbuf *, const char *scope, int64_t until, int64_t incident);
void og_store_release_detail(
    struct og_strbuf *, const char *scope, int64_t hold_id, int64_t until);

extern const struct store_ops og_store_sqlite_ops;

#endif

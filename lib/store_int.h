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
#include "log.h"
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
	/*
	 * inspect - connect without creating or migrating, fill out's
	 * schema_version and the counts of the tables that version has
	 * (the others -1), disconnect; st->be is NULL again on return
	 */
	int (*inspect)(
	    struct og_store *st, const char *arg, struct og_store_info *out);
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
	/*
	 * messages_scan - 0 when the scan ran (to its end, or until cb
	 * stopped it: *stop is then cb's non-zero value, else 0), -1 on a
	 * store error. host is NULL or non-empty.
	 */
	int (*messages_scan)(struct og_store *, const char *host, int64_t since,
	    int64_t until, int (*cb)(const struct og_msgrec *, void *),
	    void *arg, int *stop);
	/*
	 * Schema version 2: evidence. Optional strings arrive as NULL,
	 * never as "" (store.c maps "" to NULL); egress IPs are in
	 * inet_ntop(3) form; a filter is never NULL and its limit is set.
	 */
	int (*block_record)(struct og_store *, const struct og_block *,
	    int64_t now, int64_t *id);
	int (*blocks)(struct og_store *, const struct og_block_filter *,
	    struct og_block_owned **out, size_t *n);
	int (*block_max_id)(struct og_store *, int64_t *id);
	int (*block_link)(struct og_store *, int64_t incident,
	    const char *provider, const char *egress_ip);
	int (*incident_open)(struct og_store *, const char *host,
	    const char *provider, const char *egress_ip, int64_t now,
	    struct og_incident *out);
	int (*incident_get)(
	    struct og_store *, int64_t id, struct og_incident *out);
	/* incident_update - JSON members are never NULL here */
	int (*incident_update)(struct og_store *, const struct og_incident *,
	    const char *actor, int64_t now);
	/*
	 * incident_delivered - add n to deliveries_after_release of the
	 * released incidents of provider family or family-*; *updated: how
	 * many incidents
	 */
	int (*incident_delivered)(
	    struct og_store *, const char *family, long n, long *updated);
	int (*incidents)(struct og_store *, const char *state,
	    struct og_incident **out, size_t *n);
	/*
	 * Schema version 4: report figures. The filter is checked as for
	 * blocks; by is one of enum og_block_group; key's strings are
	 * NULL or non-empty, its egress IP in inet_ntop(3) form.
	 */
	int (*block_stats)(struct og_store *, const struct og_block_filter *,
	    enum og_block_group by, struct og_block_stat **out, size_t *n);
	int (*block_latest)(struct og_store *, int64_t since,
	    const struct og_block_stat *key, struct og_block_owned *out);
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
	int quiet; /* og_store_set_quiet(): failures not logged */
	int lazy; /* og_store_open_lazy(): an unreachable server is no
	           * failure of the open */
	struct og_ratelimit rl_lost; /* "connection lost": once a minute */
};

/* og_store_seterr - replace the handle's error with "SPEC: message" */
void og_store_seterr(struct og_store *, const char *, ...) OG_PRINTF(2, 3);

/* hold and release audit details, the same for every back end */
void og_store_hold_detail(
    struct og_strbuf *, const char *scope, int64_t until, int64_t incident);
void og_store_release_detail(
    struct og_strbuf *, const char *scope, int64_t hold_id, int64_t until);

/*
 * og_store_incident_detail - the audit detail of an incident's state
 * change ("from=open provider=NAME egress_ip=IP"); from NULL: opened
 */
void og_store_incident_detail(struct og_strbuf *, const char *from,
    const char *provider, const char *egress_ip);

extern const struct store_ops og_store_sqlite_ops;
extern const struct store_ops og_store_pgsql_ops;

/*
 * og_store_pgsql_sql - for tests: run SQL text (no values in it) on a
 * new connection to a "pgsql:" spec; 0 with *value (may be NULL) the
 * first column of the last statement's first row or NULL (og_free it),
 * or -1 with the reason appended to err
 */
int og_store_pgsql_sql(
    const char *spec, const char *sql, char **value, struct og_strbuf *err);

#endif

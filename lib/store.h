/*
 * store.h - outguard's persistent store: who sent what, holds, audit
 * DESCRIPTION: one interface, back ends behind a vtable: "sqlite:PATH"
 *	now (WAL, busy timeout, prepared statements), "pgsql:..." later.
 *	The schema is versioned; og_store_open() runs the migrations.
 *	A handle is for one thread at a time: each thread opens its own.
 *	Every row that describes a message names its MTA host, because
 *	queue ids repeat across hosts. Times are Unix seconds.
 *	Identities are strings "sasl:LOGIN", "sender:ADDRESS",
 *	"client:IP" or "client:IP/LEN", "uid:N", "provider:NAME";
 *	og_store_identity_valid() checks one.
 *	Strings are bounded before they reach the store (OG_STORE_FIELD_MAX,
 *	OG_STORE_TEXT_MAX, OG_IDENTITY_MAX): longer or malformed input is
 *	rejected whole, never truncated, and a rejected batch writes nothing.
 *	Ownership: const char * results are borrowed; char * members of
 *	returned structs belong to the caller and are freed with the
 *	matching og_store_*_clear()/_free().
 * DIAGNOSTICS: functions return 0 (or OG_FOUND/OG_NOTFOUND where
 *	they say so) and -1 on a store error or rejected input, which they
 *	log once with og_warnx() and describe in og_store_error().
 *	Out-parameters are set only on success. A lock still held by
 *	another writer after the busy timeout is an error, never ignored.
 */
#ifndef OG_STORE_H
#define OG_STORE_H

#include <stddef.h>
#include <stdint.h>

struct og_strbuf;
struct og_store;

#define OG_STORE_SCHEMA_VERSION 1
#define OG_IDENTITY_MAX 512 /* bytes of an identity or scope, prefix included */
#define OG_STORE_FIELD_MAX 1024 /* bytes of a name, address, reason, actor */
#define OG_STORE_TEXT_MAX 8192 /* bytes of rcpt_summary and audit detail */
#define OG_STORE_ROWS_MAX 1000000 /* rows one list call returns, at most */

/* one accepted message, recorded at END-OF-MESSAGE */
struct og_msgrec {
	const char *host;
	const char *queue_id;
	int64_t time;
	const char *sasl_username; /* NULL when not authenticated */
	const char *sasl_method;
	const char *client_address;
	const char *client_name;
	const char *sender; /* "" for the null sender */
	long recipient_count;
	long long size;
	/*
	 * "domain=N provider=NAME ..." summary of the recipients seen at
	 * RCPT (bounded, see policyd), or NULL
	 */
	const char *rcpt_summary;
};

/* the same, owned: strings are the caller's to og_store_msgrec_clear() */
struct og_msgrec_owned {
	char *host, *queue_id, *sasl_username, *sasl_method, *client_address,
	    *client_name, *sender, *rcpt_summary;
	int64_t time;
	long recipient_count;
	long long size;
};

struct og_hold {
	int64_t id;
	char *identity; /* "sasl:alice", "provider:microsoft-consumer" */
	char *scope; /* "all", or "provider:NAME": only mail to it */
	char *reason;
	char *created_by; /* "cli:root", "watcher", ... */
	int64_t since;
	int64_t until; /* 0: open-ended */
	int64_t incident; /* 0: none */
};

/*
 * og_store_open - open (creating the file, not its directory) and
 * migrate; NULL with the reason in err (reset first; logged instead
 * when err is NULL)
 */
struct og_store *og_store_open(const char *spec, struct og_strbuf *err);
/* og_store_close - close; NULL is a no-op; returns NULL */
struct og_store *og_store_close(struct og_store *);
/*
 * og_store_spec_valid - "sqlite:/abs/path" (or "pgsql:..." once built):
 * 0, or -1 with the reason appended to err (a conf validator)
 */
int og_store_spec_valid(const char *spec, struct og_strbuf *err);
/*
 * og_store_error - why the last call on this handle failed, "" when it
 * succeeded; borrowed until the next call
 */
const char *og_store_error(const struct og_store *);
/*
 * og_store_identity_valid - 1 if identity is well formed, else 0:
 * "sasl:" 1..255 bytes, none a space, control or DEL;
 * "sender:" an address in lowercase (user@domain), or "sender:<>" for
 * the null sender; "client:" an IPv4 or IPv6 address as inet_pton(3)
 * takes it, optionally "/LEN" (0..32, 0..128, no leading zeros);
 * "uid:" 0..4294967295 without leading zeros; "provider:" [a-z0-9-]{1,64}.
 * The whole string is at most OG_IDENTITY_MAX bytes.
 */
int og_store_identity_valid(const char *identity);
/* og_store_scope_valid - 1 if "all" or a valid "provider:NAME", else 0 */
int og_store_scope_valid(const char *scope);

/*
 * og_store_add_messages - who sent what: a batch in one transaction,
 * all or nothing. host and queue_id are required, sender may be "" but
 * not NULL, numbers are >= 0. Keep batches small (hundreds): the batch
 * holds the write lock while it is written.
 */
int og_store_add_messages(
    struct og_store *, const struct og_msgrec *, size_t n);
/*
 * og_store_msgrec_valid - 1 if og_store_add_messages() would take this
 * record, else 0: screen records from hostile input one by one, so that
 * one bad record does not cost a whole batch
 */
int og_store_msgrec_valid(const struct og_msgrec *);
/*
 * og_store_find_message - the newest row (by time, then by insertion)
 * of host+queue_id: OG_FOUND (out filled unless NULL), OG_NOTFOUND or
 * OG_ERROR
 */
int og_store_find_message(struct og_store *, const char *host,
    const char *queue_id, struct og_msgrec_owned *out);
void og_store_msgrec_clear(struct og_msgrec_owned *);
/*
 * og_store_prune_messages - delete at most limit (>= 1) rows with time
 * < before, oldest first, in one short statement; *deleted (may be
 * NULL) says how many. Call again until it deletes fewer than limit.
 */
int og_store_prune_messages(
    struct og_store *, int64_t before, int limit, long *deleted);

/*
 * og_store_hold - open a hold (and its audit row) unless the same
 * identity+scope is held already: OG_FOUND new (id set), OG_NOTFOUND
 * already held (id of the existing hold set). The hold's since is now
 * (h->id and h->since are ignored); scope NULL means "all"; until is 0
 * or later than now; created_by is required. An open hold of the same
 * identity+scope whose until has passed is closed first (audit action
 * "expire"). id may be NULL.
 */
int og_store_hold(
    struct og_store *, const struct og_hold *, int64_t now, int64_t *id);
/*
 * og_store_release - close the open hold(s) of identity (any scope when
 * scope is NULL), with an audit row each: OG_FOUND, or OG_NOTFOUND if
 * none. Holds whose until has passed but are not closed yet count.
 */
int og_store_release(struct og_store *, const char *identity, const char *scope,
    const char *actor, const char *reason, int64_t now);
/*
 * og_store_holds - the holds in force at now (not released, until 0 or
 * later than now), oldest first; *out is an array of n (NULL when n is
 * 0) for og_store_holds_free()
 */
int og_store_holds(
    struct og_store *, int64_t now, struct og_hold **out, size_t *n);
void og_store_holds_free(struct og_hold *, size_t n);
/*
 * og_store_generation - a number that changes whenever a hold is made
 * or released, by any process: cheap enough to poll every second
 */
int og_store_generation(struct og_store *, uint64_t *gen);

/*
 * og_store_audit - append one audit row; actor and action are
 * required, subject, reason and detail may be NULL
 */
int og_store_audit(struct og_store *, int64_t now, const char *actor,
    const char *action, const char *subject, const char *reason,
    const char *detail);

/* audit rows with time >= since, newest last, for reports and tests */
struct og_audit {
	int64_t id, time;
	char *actor, *action, *subject, *reason, *detail;
};
int og_store_audit_list(
    struct og_store *, int64_t since, struct og_audit **, size_t *n);
void og_store_audit_free(struct og_audit *, size_t n);

#endif

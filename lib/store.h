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

#define OG_STORE_SCHEMA_VERSION 4
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
/*
 * og_store_open_lazy - og_store_open(), but a database server that
 * cannot be reached yet is not a failure: the handle comes back with
 * the error in err, each call fails until the server answers, and the
 * first connection that succeeds checks the schema and migrates. For
 * the daemon, which must start during an outage. A bad spec, an old
 * server or a failed migration still fail (NULL). SQLite: as open.
 */
struct og_store *og_store_open_lazy(const char *spec, struct og_strbuf *err);
/* og_store_close - close; NULL is a no-op; returns NULL */
struct og_store *og_store_close(struct og_store *);
/*
 * og_store_set_quiet - on (non-zero): failing calls do not log, the
 * caller reports them (the policy daemon logs a store outage once a
 * minute, not once per call); og_store_error() still says why
 */
void og_store_set_quiet(struct og_store *, int on);

/* what og_store_inspect() finds; counts are -1 where the table is absent */
struct og_store_info {
	const char *backend; /* "sqlite", "pgsql" (static) */
	int64_t schema_version; /* 0: empty (or no file yet) */
	long long messages, holds, audit, blocks, incidents;
};
/*
 * og_store_inspect - connect to spec without creating or migrating
 * anything, and read the schema version and the row counts of the
 * tables that version has: 0, or -1 with the reason in err (reset
 * first). A schema newer than OG_STORE_SCHEMA_VERSION is reported, not
 * an error: the caller compares.
 */
int og_store_inspect(
    const char *spec, struct og_store_info *out, struct og_strbuf *err);
/*
 * og_store_spec_valid - "sqlite:/abs/path" or "pgsql:CONNINFO-OR-URI" with
 * no password in it:
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

/*
 * og_store_messages_scan - every message row of host (NULL: all hosts;
 * "" is an error) with since <= time < until, oldest first (ties in
 * insertion order), to cb, whose record is valid during the call. cb
 * returning non-zero stops the scan, and the scan returns that value
 * (og_store_error() is then ""); otherwise 0, or -1 on a store error.
 * Rows are read a page at a time with no read transaction open while
 * cb runs, so cb may call this handle; a row written during the scan
 * is seen if it sorts after the rows already passed.
 */
int og_store_messages_scan(struct og_store *, const char *host, int64_t since,
    int64_t until, int (*cb)(const struct og_msgrec *, void *), void *arg);

/* ---- evidence: blocks and incidents (schema version 2) ---- */

/*
 * One block observation. Rows aggregate by (host, queue_id, recipient,
 * provider, enhanced_code, provider_code, egress_ip): a repeat bumps
 * count and last_seen and keeps the newest reply. The status filter
 * records rows without queue id and recipient (Postfix's lookup key has
 * neither); the queue watcher records one per blocked recipient.
 * Input rules: host, reply (may be "") and source are required;
 * every other string may be NULL, and "" is stored as NULL (unknown).
 * provider is [a-z0-9-]{1,64}; identity passes og_store_identity_valid();
 * egress_ip is an IPv4 or IPv6 address, stored in inet_ntop(3) form so
 * that one address is one key; incident is 0 or an existing incident.
 * reply is bounded by OG_STORE_TEXT_MAX, identity by OG_IDENTITY_MAX,
 * the rest by OG_STORE_FIELD_MAX. id, first_seen, last_seen and count
 * are ignored on input.
 */
struct og_block {
	int64_t id;
	const char *host;
	const char *queue_id; /* NULL from the status filter */
	const char *recipient; /* NULL from the status filter */
	const char *provider; /* classifier fields, NULL when unknown */
	const char *class_;
	const char *smtp_code, *enhanced_code, *provider_code, *remedy;
	const char *reply; /* verbatim, as the MX said it */
	const char *mx_host, *mx_ip;
	const char *egress_ip; /* the IP Microsoft named, or ours */
	const char *server_tag, *server_time;
	const char *identity; /* who sent the message, or NULL */
	const char *source; /* "status-filter", "watcher", ... */
	int64_t first_seen, last_seen;
	long count;
	int64_t incident; /* 0: none yet */
};

/* the same, owned (from og_store_blocks()) */
struct og_block_owned {
	int64_t id;
	char *host, *queue_id, *recipient, *provider, *class_, *smtp_code,
	    *enhanced_code, *provider_code, *remedy, *reply, *mx_host, *mx_ip,
	    *egress_ip, *server_tag, *server_time, *identity, *source;
	int64_t first_seen, last_seen;
	long count;
	int64_t incident;
};

/*
 * og_store_block_record - insert b at now, or aggregate it into its
 * row: count + 1, last_seen the later time, reply that of the later
 * time, class, smtp_code, remedy, mx_host, mx_ip, server_tag,
 * server_time, identity and incident kept if known, else filled in.
 * If the row belongs to an incident, the incident's block figures are
 * updated too. *id (may be NULL) is the row's id.
 */
int og_store_block_record(
    struct og_store *, const struct og_block *b, int64_t now, int64_t *id);

struct og_block_filter {
	int64_t since; /* last_seen >= since; 0: any */
	const char *provider; /* NULL: any */
	const char *code; /* matches smtp, enhanced or provider code */
	const char *identity;
	const char *egress_ip; /* an address, compared in inet_ntop form */
	int64_t incident; /* 0: any */
	size_t limit; /* 0: OG_STORE_ROWS_MAX, which is also the most */
};
/*
 * og_store_blocks - the rows matching every set member of f (NULL: all
 * rows; "" strings are "any"), newest last_seen first; *out is an array
 * of n (NULL when n is 0) for og_store_blocks_free()
 */
int og_store_blocks(struct og_store *, const struct og_block_filter *,
    struct og_block_owned **out, size_t *n);
void og_store_blocks_free(struct og_block_owned *, size_t n);
/* og_store_block_max_id - the newest block row id (0: none): a cheap
 * "something new was blocked" signal for the watcher */
int og_store_block_max_id(struct og_store *, int64_t *id);

/*
 * An incident: one provider blocking one egress IP, from its first
 * block to its confirmation. state: "open" (blocking, holds taken),
 * "released" (holds released, waiting for deliveries), "confirmed"
 * (the provider accepts mail again). Text columns hold JSON written by
 * the watcher (suspects, holds taken, notifications), each bounded by
 * OG_STORE_TEXT_MAX and not parsed by the store. At most one incident
 * per provider+egress_ip is open or released at a time (a unique index
 * says so, for every back end). blocks, first_block and last_block are
 * derived from the linked block rows by the store.
 */
struct og_incident {
	int64_t id;
	char *host; /* the host that opened it */
	char *provider;
	char *egress_ip;
	char *state;
	int64_t opened, first_block, last_block;
	long blocks; /* block rows linked */
	char *suspects; /* JSON array */
	char *holds; /* JSON array of the holds taken */
	char *notified; /* JSON object: channel -> time per event */
	int64_t released, confirmed; /* 0: not yet */
	long deliveries_after_release;
};

/*
 * og_store_incident_open - the incident in state open or released for
 * provider+egress_ip, or a new open one: OG_FOUND existing, OG_NOTFOUND
 * created (*out filled either way unless out is NULL;
 * og_store_incident_clear() it). egress_ip NULL or "" is "unknown",
 * a key of its own. Find-or-create is one write transaction, so two
 * processes seeing the same block agree on one incident. A new one gets
 * an audit row: actor host, action "incident-open", subject
 * "incident:ID".
 */
int og_store_incident_open(struct og_store *, const char *host,
    const char *provider, const char *egress_ip, int64_t now,
    struct og_incident *out);
/* og_store_incident_get - OG_FOUND (out filled unless NULL), OG_NOTFOUND */
int og_store_incident_get(
    struct og_store *, int64_t id, struct og_incident *out);
/*
 * og_store_incident_update - write state, suspects, holds, notified
 * (NULL: the empty JSON value), released, confirmed and
 * deliveries_after_release of incident inc->id (an unknown id is an
 * error), with an audit row when the state changed: actor, action
 * "incident-STATE", subject "incident:ID", detail "from=OLD provider=P
 * egress_ip=IP". host, provider, egress_ip and opened never change;
 * blocks, first_block and last_block are the store's (see above).
 * Reopening a confirmed incident fails while its key has another.
 */
int og_store_incident_update(struct og_store *, const struct og_incident *,
    const char *actor, int64_t now);
/*
 * og_store_incident_delivered - n successful deliveries to family (a
 * provider name, or the part before its first '-': one family shares
 * its mail servers, e.g. microsoft-consumer and microsoft-365) count
 * towards deliveries_after_release of every "released" incident of the
 * family, in one statement; *updated (may be NULL): how many incidents.
 * og_store_incident_update() never lowers that count.
 */
int og_store_incident_delivered(
    struct og_store *, const char *family, long n, long *updated);
/*
 * og_store_incidents - the incidents in state (NULL: all), newest
 * opened first; *out is an array of n (NULL when n is 0)
 */
int og_store_incidents(
    struct og_store *, const char *state, struct og_incident **out, size_t *n);
void og_store_incident_clear(struct og_incident *);
void og_store_incidents_free(struct og_incident *, size_t n);
/*
 * og_store_block_link - set incident on the block rows of provider and
 * egress_ip (NULL or "" matches unknown only) that have none, and
 * recount the incident's block figures; an unknown incident is an error
 */
int og_store_block_link(struct og_store *, int64_t incident,
    const char *provider, const char *egress_ip);

/* ---- block figures for reports (schema version 4) ---- */

/* what og_store_block_stats() groups the block rows by */
enum og_block_group {
	/* provider, class, remedy, smtp_code, enhanced_code,
	 * provider_code, egress_ip: "blocks by code" */
	OG_BLOCK_BY_CODE,
	/* provider, identity: who caused blocks where */
	OG_BLOCK_BY_IDENTITY,
	/* provider, mx_host, rcpt_domain (the recipient's domain, in
	 * lowercase): which of the provider's domains refused */
	OG_BLOCK_BY_DESTINATION,
};

/*
 * One group of block rows. The members the group is not keyed by are
 * NULL, and so is a key value that is unknown (NULL in the rows).
 */
struct og_block_stat {
	char *provider, *class_, *remedy, *smtp_code, *enhanced_code,
	    *provider_code, *egress_ip; /* OG_BLOCK_BY_CODE */
	char *identity; /* OG_BLOCK_BY_IDENTITY */
	char *mx_host, *rcpt_domain; /* OG_BLOCK_BY_DESTINATION */
	long rows; /* block rows in the group */
	long long count; /* observations: the sum of the rows' counts */
	int64_t first_seen, last_seen; /* the earliest and latest of them */
};

/*
 * og_store_block_stats - the block rows that match f (as for
 * og_store_blocks(); NULL: all) grouped by "by", in one statement that
 * an index covers for OG_BLOCK_BY_CODE and OG_BLOCK_BY_IDENTITY, so
 * that reports never load the rows themselves. Groups are ordered by
 * their key members (NULL first), at most f->limit of them (0:
 * OG_STORE_ROWS_MAX); *out is an array of n (NULL when n is 0) for
 * og_store_block_stats_free()
 */
int og_store_block_stats(struct og_store *, const struct og_block_filter *f,
    enum og_block_group by, struct og_block_stat **out, size_t *n);
void og_store_block_stats_free(struct og_block_stat *, size_t n);
/*
 * og_store_block_latest - the newest row (by last_seen, then id) with
 * last_seen >= since whose provider, smtp_code, enhanced_code,
 * provider_code and egress_ip equal key's (NULL matches unknown only):
 * the reply to quote for an OG_BLOCK_BY_CODE group. OG_FOUND (out
 * filled unless NULL, for og_store_block_clear()), OG_NOTFOUND or
 * OG_ERROR
 */
int og_store_block_latest(struct og_store *, int64_t since,
    const struct og_block_stat *key, struct og_block_owned *out);
void og_store_block_clear(struct og_block_owned *);

#endif

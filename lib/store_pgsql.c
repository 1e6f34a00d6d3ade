/*
 * store_pgsql.c - the PostgreSQL back end of lib/store ("pgsql:CONNINFO")
 * DESCRIPTION: one libpq connection per handle (a handle is for one
 *	thread at a time). The spec after "pgsql:" is a libpq conninfo
 *	string ("host=db dbname=outguard user=outguard") or a URI
 *	("postgresql://outguard@db/outguard"); a password in it is refused,
 *	so that it never sits in the main config or in a logged spec: use
 *	~/.pgpass, passfile=, PGPASSFILE or PGPASSWORD. connect_timeout is
 *	5 s unless the spec says otherwise; after each connect the session
 *	gets statement_timeout and lock_timeout of OG_STORE_BUSY_MS. At
 *	open, the migrations below bring the schema to
 *	OG_STORE_SCHEMA_VERSION in one transaction under an advisory lock
 *	(pg_advisory_xact_lock), so that daemons starting at once do not
 *	race: the others wait, then find the schema current. The schema is
 *	SQLite's (store_sqlite.c) in PostgreSQL types. Every statement is
 *	prepared once per connection and run with its values as text
 *	parameters, never pasted into SQL. Writes of more than one statement
 *	first take a transaction-scoped advisory lock, which serializes them
 *	the way BEGIN IMMEDIATE does for SQLite: find-or-create (holds,
 *	incidents) then needs no retry loop. Holds and releases bump
 *	meta.holds_generation and send NOTIFY outguard_holds (payload: the
 *	new generation) in their own transaction.
 *	Connection loss: a statement that fails with the connection gone
 *	makes the handle PQreset() it (with a short backoff, at most about
 *	1 s of sleeping in one call and at most one reconnection attempt a
 *	second), prepare its statements again, and run that statement once
 *	more unless it was inside a transaction, which the server has rolled
 *	back: then the call fails and the caller's next call reconnects.
 * DIAGNOSTICS: failures return -1 with "SPEC: what: message" in the
 *	handle (store.c logs it), "SPEC: connection lost: ..." when the
 *	server went away and did not come back. Notices are not printed.
 *	Out of memory inside libpq is fatal, as it is in og_malloc().
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "strbuf.h"
#include "util.h"

/*
 * Advisory lock keys ("og" and a number): one for migrations, one that
 * serializes multi-statement writes. Other applications sharing the
 * database are unlikely to pick these.
 */
#define LOCK_MIGRATE "7954000000000001"
#define LOCK_WRITE "7954000000000002"

#define CONNECT_TIMEOUT "5" /* seconds, unless the spec sets one */
#define RECONNECT_GAP_MS 1000 /* between failed reconnection attempts */
#define RECONNECT_SLEEP_MS 1000 /* sleeping in one call, at most */

/*
 * Migrations: migrations[v] brings the schema from version v to v + 1,
 * step for step the same as store_sqlite.c's. Append, never edit a step
 * that has shipped. Times and ids are BIGINT, ids BIGSERIAL.
 */
static const char *const migrations[] = {
	/* 0 -> 1: messages, holds, audit */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value BIGINT NOT NULL"
	");"
	"INSERT INTO meta (key, value) VALUES ('holds_generation', 0);"
	"CREATE TABLE messages ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  queue_id TEXT NOT NULL,"
	"  time BIGINT NOT NULL,"
	"  sasl_username TEXT,"
	"  sasl_method TEXT,"
	"  client_address TEXT,"
	"  client_name TEXT,"
	"  sender TEXT NOT NULL,"
	"  recipient_count BIGINT NOT NULL,"
	"  size BIGINT NOT NULL,"
	"  rcpt_summary TEXT"
	");"
	"CREATE INDEX messages_host_queue_id ON messages (host, queue_id);"
	"CREATE INDEX messages_time ON messages (time);"
	"CREATE INDEX messages_sasl_time ON messages (sasl_username, time);"
	"CREATE INDEX messages_sender_time ON messages (sender, time);"
	"CREATE INDEX messages_client_time ON messages (client_address, time);"
	"CREATE TABLE holds ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  identity TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  since BIGINT NOT NULL,"
	"  until BIGINT," /* NULL: open-ended */
	"  created_by TEXT NOT NULL,"
	"  incident BIGINT," /* NULL: none */
	"  released BIGINT," /* NULL: open */
	"  released_by TEXT,"
	"  release_reason TEXT"
	");"
	"CREATE UNIQUE INDEX holds_open ON holds (identity, scope)"
	"  WHERE released IS NULL;"
	"CREATE TABLE audit ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  time BIGINT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  subject TEXT,"
	"  reason TEXT,"
	"  detail TEXT"
	");"
	"CREATE INDEX audit_time ON audit (time);",

	/*
	 * 1 -> 2: evidence, as in store_sqlite.c. The ON CONFLICT target
	 * of ST_BLOCK_UPSERT (BLOCK_KEY) must spell blocks_key exactly.
	 */
	"CREATE TABLE incidents ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  provider TEXT NOT NULL,"
	"  egress_ip TEXT," /* NULL: unknown */
	"  state TEXT NOT NULL"
	"    CHECK (state IN ('open', 'released', 'confirmed')),"
	"  opened BIGINT NOT NULL,"
	"  first_block BIGINT," /* NULL: no block linked */
	"  last_block BIGINT,"
	"  blocks BIGINT NOT NULL DEFAULT 0,"
	"  suspects TEXT NOT NULL DEFAULT '[]',"
	"  holds TEXT NOT NULL DEFAULT '[]',"
	"  notified TEXT NOT NULL DEFAULT '{}',"
	"  released BIGINT," /* NULL: not yet */
	"  confirmed BIGINT,"
	"  deliveries_after_release BIGINT NOT NULL DEFAULT 0"
	");"
	"CREATE UNIQUE INDEX incidents_active"
	"  ON incidents (provider, COALESCE(egress_ip, ''))"
	"  WHERE state IN ('open', 'released');"
	"CREATE TABLE blocks ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  queue_id TEXT," /* NULL: from the status filter */
	"  recipient TEXT,"
	"  provider TEXT,"
	"  class TEXT,"
	"  smtp_code TEXT,"
	"  enhanced_code TEXT,"
	"  provider_code TEXT,"
	"  remedy TEXT,"
	"  reply TEXT NOT NULL,"
	"  mx_host TEXT,"
	"  mx_ip TEXT,"
	"  egress_ip TEXT,"
	"  server_tag TEXT,"
	"  server_time TEXT,"
	"  identity TEXT,"
	"  source TEXT NOT NULL,"
	"  first_seen BIGINT NOT NULL,"
	"  last_seen BIGINT NOT NULL,"
	"  count BIGINT NOT NULL,"
	"  incident BIGINT REFERENCES incidents (id)" /* NULL: none */
	");"
	"CREATE UNIQUE INDEX blocks_key ON blocks (host,"
	"  COALESCE(queue_id, ''), COALESCE(recipient, ''),"
	"  COALESCE(provider, ''), COALESCE(enhanced_code, ''),"
	"  COALESCE(provider_code, ''), COALESCE(egress_ip, ''));"
	"CREATE INDEX blocks_last_seen ON blocks (last_seen);"
	"CREATE INDEX blocks_provider_last_seen ON blocks (provider, "
	"last_seen);"
	"CREATE INDEX blocks_incident ON blocks (incident);"
	"CREATE INDEX blocks_identity ON blocks (identity);",

	/* 2 -> 3: the indexes nothing reads (see store_sqlite.c) */
	"DROP INDEX IF EXISTS messages_sasl_time;"
	"DROP INDEX IF EXISTS messages_sender_time;"
	"DROP INDEX IF EXISTS messages_client_time;",

	/* 3 -> 4: outguard-queue-report's figures from one index */
	"CREATE INDEX blocks_report ON blocks (last_seen, provider, class,"
	"  remedy, smtp_code, enhanced_code, provider_code, egress_ip,"
	"  identity, incident, first_seen, count);",
};

_Static_assert(
    sizeof(migrations) / sizeof(migrations[0]) == OG_STORE_SCHEMA_VERSION,
    "one migration step per schema version");

enum stmt_id {
	ST_BEGIN,
	ST_LOCK,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_MSG_FIND,
	ST_MSG_PRUNE,
	ST_HOLD_OPEN,
	ST_HOLD_INSERT,
	ST_HOLD_OPEN_ALL,
	ST_HOLD_CLOSE,
	ST_HOLDS_IN_FORCE,
	ST_GEN_BUMP,
	ST_GEN_GET,
	ST_AUDIT_INSERT,
	ST_AUDIT_LIST,
	ST_MSG_SCAN,
	ST_BLOCK_UPSERT,
	ST_BLOCKS_ALL,
	ST_BLOCKS_BY_PROVIDER,
	ST_BLOCKS_BY_IDENTITY,
	ST_BLOCKS_BY_INCIDENT,
	ST_BLOCK_MAX_ID,
	ST_BLOCK_LINK,
	ST_INCIDENT_REFRESH,
	ST_INCIDENT_ACTIVE,
	ST_INCIDENT_INSERT,
	ST_INCIDENT_GET,
	ST_INCIDENT_UPDATE,
	ST_INCIDENTS,
	ST_INCIDENT_DELIVERED,
	ST_BLOCK_STATS_CODE,
	ST_BLOCK_STATS_IDENTITY,
	ST_BLOCK_STATS_DEST,
	ST_BLOCK_LATEST,
	ST_COUNT
};

#define MSG_COLUMNS                                                            \
	"host, queue_id, time, sasl_username, sasl_method, client_address, "   \
	"client_name, sender, recipient_count, size, rcpt_summary"

#define BLOCK_COLUMNS                                                          \
	"host, queue_id, recipient, provider, class, smtp_code, "              \
	"enhanced_code, provider_code, remedy, reply, mx_host, mx_ip, "        \
	"egress_ip, server_tag, server_time, identity, source, first_seen, "   \
	"last_seen, count, incident"

/* the aggregation key: index blocks_key of migration 1 -> 2, verbatim */
#define BLOCK_KEY                                                              \
	"host, COALESCE(queue_id, ''), COALESCE(recipient, ''), "              \
	"COALESCE(provider, ''), COALESCE(enhanced_code, ''), "                \
	"COALESCE(provider_code, ''), COALESCE(egress_ip, '')"

/*
 * The filters of og_store_blocks() and og_store_block_stats(). A
 * parameter that is only compared with NULL has no type of its own, so
 * every use of one is cast.
 */
#define BLOCK_WHERE                                                            \
	"last_seen >= $1 AND ($2::text IS NULL OR provider = $2::text) "       \
	"AND ($3::text IS NULL OR smtp_code = $3::text "                       \
	"OR enhanced_code = $3::text OR provider_code = $3::text) "            \
	"AND ($4::text IS NULL OR identity = $4::text) "                       \
	"AND ($5::text IS NULL OR egress_ip = $5::text) "                      \
	"AND ($6::bigint = 0 OR incident = $6::bigint) "

#define BLOCK_FILTER BLOCK_WHERE "ORDER BY last_seen DESC, id DESC LIMIT $7"

#define BLOCK_SELECT "SELECT id, " BLOCK_COLUMNS " FROM blocks WHERE "

/*
 * Block figures: one row shape for every grouping (c0..c9, NULL for
 * what a grouping is not keyed by), ordered as SQLite orders them:
 * bytewise (COLLATE "C", whatever the database's collation) and NULL
 * first. The recipient's domain is what follows its last "@"; lower()
 * under "C" folds ASCII only, as SQLite's does.
 */
#define BLOCK_STATS_FIGURES                                                    \
	"count(*) AS n, sum(count) AS total, min(first_seen) AS first, "       \
	"max(last_seen) AS last FROM blocks WHERE "

#define K(c) c " COLLATE \"C\" NULLS FIRST"

#define BLOCK_STATS_ORDER(keys) ") g ORDER BY " keys " LIMIT $7"

#define RCPT_DOMAIN                                                            \
	"CASE WHEN strpos(recipient, '@') > 0 THEN "                           \
	"lower(substring(recipient COLLATE \"C\" FROM '[^@]*$')) END"

#define INC_COLUMNS                                                            \
	"id, host, provider, egress_ip, state, opened, first_block, "          \
	"last_block, blocks, suspects, holds, notified, released, "            \
	"confirmed, deliveries_after_release"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN",
	[ST_LOCK] = "SELECT pg_advisory_xact_lock(" LOCK_WRITE ")",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_MSG_FIND] = "SELECT " MSG_COLUMNS " FROM messages "
	                "WHERE host = $1 AND queue_id = $2 "
	                "ORDER BY time DESC, id DESC LIMIT 1",
	[ST_MSG_PRUNE] = "DELETE FROM messages WHERE id IN "
	                 "(SELECT id FROM messages WHERE time < $1 "
	                 "ORDER BY time LIMIT $2)",
	[ST_HOLD_OPEN] = "SELECT id, until FROM holds "
	                 "WHERE identity = $1 AND scope = $2 "
	                 "AND released IS NULL",
	[ST_HOLD_INSERT] = "INSERT INTO holds (identity, scope, reason, "
	                   "since, until, created_by, incident) "
	                   "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	[ST_HOLD_OPEN_ALL] =
	    "SELECT id, scope, until FROM holds WHERE identity = $1 "
	    "AND ($2::text IS NULL OR scope = $2::text) "
	    "AND released IS NULL ORDER BY id",
	[ST_HOLD_CLOSE] = "UPDATE holds SET released = $2, released_by = $3, "
	                  "release_reason = $4 "
	                  "WHERE id = $1 AND released IS NULL",
	[ST_HOLDS_IN_FORCE] = "SELECT id, identity, scope, reason, created_by, "
	                      "since, until, incident FROM holds "
	                      "WHERE released IS NULL "
	                      "AND (until IS NULL OR until > $1) ORDER BY id",
	/* the NOTIFY is sent at commit, with the transaction's generation */
	[ST_GEN_BUMP] = "WITH g AS (UPDATE meta SET value = value + 1 "
	                "WHERE key = 'holds_generation' RETURNING value) "
	                "SELECT pg_notify('outguard_holds', value::text) "
	                "FROM g",
	[ST_GEN_GET] = "SELECT value FROM meta WHERE key = 'holds_generation'",
	[ST_AUDIT_INSERT] = "INSERT INTO audit (time, actor, action, subject, "
	                    "reason, detail) VALUES ($1, $2, $3, $4, $5, $6)",
	[ST_AUDIT_LIST] = "SELECT id, time, actor, action, subject, reason, "
	                  "detail FROM audit WHERE time >= $1 ORDER BY id",
	/* one page after the cursor ($1, $2), through the time index */
	[ST_MSG_SCAN] = "SELECT id, " MSG_COLUMNS " FROM messages "
	                "WHERE time >= $1 AND (time > $1 OR id > $2) "
	                "AND time < $3 AND ($4::text IS NULL OR "
	                "host = $4::text) ORDER BY time, id LIMIT $5",
	/* the same rules as store_sqlite.c's, and the row's id returned */
	[ST_BLOCK_UPSERT] =
	    "INSERT INTO blocks (" BLOCK_COLUMNS ") "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
	    "$14, $15, $16, $17, $18, $18, 1, $19) "
	    "ON CONFLICT (" BLOCK_KEY ") DO UPDATE SET "
	    "count = blocks.count + 1, "
	    "reply = CASE WHEN excluded.last_seen >= blocks.last_seen "
	    "THEN excluded.reply ELSE blocks.reply END, "
	    "first_seen = LEAST(excluded.first_seen, blocks.first_seen), "
	    "last_seen = GREATEST(excluded.last_seen, blocks.last_seen), "
	    "class = COALESCE(blocks.class, excluded.class), "
	    "smtp_code = COALESCE(blocks.smtp_code, excluded.smtp_code), "
	    "remedy = COALESCE(blocks.remedy, excluded.remedy), "
	    "mx_host = COALESCE(blocks.mx_host, excluded.mx_host), "
	    "mx_ip = COALESCE(blocks.mx_ip, excluded.mx_ip), "
	    "server_tag = COALESCE(blocks.server_tag, excluded.server_tag), "
	    "server_time = COALESCE(blocks.server_time, "
	    "excluded.server_time), "
	    "identity = COALESCE(blocks.identity, excluded.identity), "
	    "incident = COALESCE(blocks.incident, excluded.incident) "
	    "RETURNING id, incident",
	[ST_BLOCKS_ALL] = BLOCK_SELECT BLOCK_FILTER,
	[ST_BLOCKS_BY_PROVIDER] =
	    BLOCK_SELECT "provider = $2::text AND " BLOCK_FILTER,
	[ST_BLOCKS_BY_IDENTITY] =
	    BLOCK_SELECT "identity = $4::text AND " BLOCK_FILTER,
	[ST_BLOCKS_BY_INCIDENT] =
	    BLOCK_SELECT "incident = $6::bigint AND " BLOCK_FILTER,
	[ST_BLOCK_MAX_ID] = "SELECT COALESCE(max(id), 0) FROM blocks",
	[ST_BLOCK_LINK] = "UPDATE blocks SET incident = $1 "
	                  "WHERE incident IS NULL AND provider = $2 "
	                  "AND COALESCE(egress_ip, '') = COALESCE($3, '')",
	[ST_INCIDENT_REFRESH] =
	    "UPDATE incidents SET "
	    "blocks = (SELECT count(*) FROM blocks WHERE incident = $1), "
	    "first_block = (SELECT min(first_seen) FROM blocks "
	    "WHERE incident = $1), "
	    "last_block = (SELECT max(last_seen) FROM blocks "
	    "WHERE incident = $1) WHERE id = $1",
	[ST_INCIDENT_ACTIVE] =
	    "SELECT id FROM incidents WHERE provider = $1 "
	    "AND COALESCE(egress_ip, '') = COALESCE($2, '') "
	    "AND state IN ('open', 'released') ORDER BY id DESC LIMIT 1",
	[ST_INCIDENT_INSERT] = "INSERT INTO incidents (host, provider, "
	                       "egress_ip, state, opened) "
	                       "VALUES ($1, $2, $3, 'open', $4) RETURNING id",
	[ST_INCIDENT_GET] = "SELECT " INC_COLUMNS " FROM incidents "
	                    "WHERE id = $1",
	[ST_INCIDENT_UPDATE] = "UPDATE incidents SET state = $2, "
	                       "suspects = $3, holds = $4, notified = $5, "
	                       "released = $6, confirmed = $7, "
	                       "deliveries_after_release = "
	                       "GREATEST(deliveries_after_release, $8) "
	                       "WHERE id = $1",
	[ST_INCIDENTS] = "SELECT " INC_COLUMNS " FROM incidents "
	                 "WHERE ($1::text IS NULL OR state = $1::text) "
	                 "ORDER BY opened DESC, id DESC",
	[ST_INCIDENT_DELIVERED] =
	    "UPDATE incidents SET deliveries_after_release = "
	    "deliveries_after_release + $2 WHERE state = 'released' AND "
	    "(provider = $1::text OR substr(provider, 1, length($1::text) + 1) "
	    "= $1::text || '-')",
	[ST_BLOCK_STATS_CODE] =
	    "SELECT * FROM (SELECT provider AS c0, class AS c1, remedy AS c2, "
	    "smtp_code AS c3, enhanced_code AS c4, provider_code AS c5, "
	    "egress_ip AS c6, NULL::text AS c7, NULL::text AS c8, "
	    "NULL::text AS c9, " BLOCK_STATS_FIGURES BLOCK_WHERE
	    "GROUP BY 1, 2, 3, 4, 5, 6, 7" BLOCK_STATS_ORDER(
	        K("c0") ", " K("c1") ", " K("c2") ", " K("c3") ", " K(
	            "c4") ", " K("c5") ", " K("c6")),
	[ST_BLOCK_STATS_IDENTITY] =
	    "SELECT * FROM (SELECT provider AS c0, NULL::text AS c1, "
	    "NULL::text AS c2, NULL::text AS c3, NULL::text AS c4, "
	    "NULL::text AS c5, NULL::text AS c6, identity AS c7, "
	    "NULL::text AS c8, NULL::text AS c9, " BLOCK_STATS_FIGURES
	        BLOCK_WHERE
	    "GROUP BY 1, 8" BLOCK_STATS_ORDER(K("c0") ", " K("c7")),
	[ST_BLOCK_STATS_DEST] =
	    "SELECT * FROM (SELECT provider AS c0, NULL::text AS c1, "
	    "NULL::text AS c2, NULL::text AS c3, NULL::text AS c4, "
	    "NULL::text AS c5, NULL::text AS c6, NULL::text AS c7, "
	    "mx_host AS c8, " RCPT_DOMAIN
	    " AS c9, " BLOCK_STATS_FIGURES BLOCK_WHERE
	    "GROUP BY 1, 9, 10" BLOCK_STATS_ORDER(
	        K("c0") ", " K("c8") ", " K("c9")),
	[ST_BLOCK_LATEST] =
	    BLOCK_SELECT "last_seen >= $1 "
	                 "AND provider IS NOT DISTINCT FROM $2::text "
	                 "AND smtp_code IS NOT DISTINCT FROM $3::text "
	                 "AND enhanced_code IS NOT DISTINCT FROM $4::text "
	                 "AND provider_code IS NOT DISTINCT FROM $5::text "
	                 "AND egress_ip IS NOT DISTINCT FROM $6::text "
	                 "ORDER BY last_seen DESC, id DESC LIMIT 1",
};

struct pg {
	PGconn *conn;
	int pending; /* opened lazily, never connected: check and migrate */
	int in_tx; /* between our BEGIN and COMMIT/ROLLBACK */
	struct timespec last_fail; /* of a reconnection; 0: none since */
};

#define CONN(st) (((struct pg *)(st)->be)->conn)

/* Text parameters: numbers are formatted into the struct itself. */
#define PARAMS_MAX 20

#define COPY_CHUNK (64 * 1024) /* COPY data sent at once */

struct params {
	const char *v[PARAMS_MAX];
	char num[PARAMS_MAX][24];
	int n;
};

static void
p_str(struct params *p, const char *s)
{
	if (p->n >= PARAMS_MAX)
		og_panic("store_pgsql: more than %d parameters", PARAMS_MAX);
	p->v[p->n++] = s;
}

static void
p_int(struct params *p, int64_t x)
{
	if (p->n >= PARAMS_MAX)
		og_panic("store_pgsql: more than %d parameters", PARAMS_MAX);
	(void)snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)x);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

/* p_opt - 0 means "none" and is stored as NULL */
static void
p_opt(struct params *p, int64_t x)
{
	if (x == 0)
		p_str(p, NULL);
	else
		p_int(p, x);
}

/* trimmed - libpq's messages end in a newline; n bytes without it */
static int
trimmed(const char *msg)
{
	size_t n = msg != NULL ? strlen(msg) : 0;

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return n > INT_MAX ? INT_MAX : (int)n;
}

/*
 * pgerr - describe a failure: the result's primary message when there is
 * one, else the connection's; "connection lost: " when it is gone
 */
static int
pgerr(struct og_store *st, const char *what, const PGresult *res)
{
	const char *msg = NULL;

	if (res != NULL)
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(CONN(st));
	og_store_seterr(st, "%s%s: %.*s",
	    PQstatus(CONN(st)) == CONNECTION_BAD ? "connection lost: " : "",
	    what, trimmed(msg), msg);
	return -1;
}

static int64_t
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* quiet - notices (NOTICE, WARNING) are the server's business */
static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* exec_text - SQL text of our own, without values (settings, DDL) */
static int
exec_text(struct og_store *st, const char *what, const char *sql)
{
	PGresult *res = PQexec(CONN(st), sql);
	ExecStatusType s = PQresultStatus(res);
	int rc = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		rc = pgerr(st, what, res);
	PQclear(res);
	return rc;
}

/*
 * session - what every new connection needs: the time limits (a busy
 * writer or a stuck server makes a call fail, never hang) and its
 * prepared statements
 */
static int
session(struct og_store *st)
{
	PGresult *res;
	struct og_strbuf name;
	int i, rc = 0;

	(void)PQsetNoticeProcessor(CONN(st), quiet, NULL);
	if (exec_text(st, "session settings",
	        "SET statement_timeout = 5000; SET lock_timeout = 5000") < 0)
		return -1;
	og_strbuf_init(&name, 32);
	for (i = 0; i < ST_COUNT && rc == 0; i++) {
		og_strbuf_reset(&name);
		(void)og_strbuf_addf(&name, "og_%d", i);
		res = PQprepare(
		    CONN(st), og_strbuf_str(&name), stmt_sql[i], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = pgerr(st, stmt_sql[i], res);
		PQclear(res);
	}
	og_strbuf_release(&name);
	return rc;
}

/*
 * reconnect - PQreset() the lost connection and set it up again: at
 * most one attempt per RECONNECT_GAP_MS after a failed one, and within
 * one call a few tries with backoff that sleep RECONNECT_SLEEP_MS at
 * most (a restarting server refuses connections for a moment)
 */
static int first_connection(struct og_store *);

static int
reconnect(struct og_store *st, const char *what)
{
	struct pg *be = st->be;
	struct timespec t0;
	long slept = 0, step = 100;

	if ((be->last_fail.tv_sec != 0 || be->last_fail.tv_nsec != 0) &&
	    ms_since(&be->last_fail) < RECONNECT_GAP_MS) {
		og_store_seterr(st,
		    "connection lost: %s: not reconnecting again within "
		    "a second",
		    what);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		PQreset(be->conn);
		if (PQstatus(be->conn) == CONNECTION_OK) {
			be->in_tx = 0;
			if (be->pending ? first_connection(st) == 0
			                : session(st) == 0) {
				be->last_fail.tv_sec = 0;
				be->last_fail.tv_nsec = 0;
				og_info("%s: reconnected to the database",
				    st->spec);
				return 0;
			}
		}
		if (slept + step > RECONNECT_SLEEP_MS ||
		    ms_since(&t0) + step > RECONNECT_SLEEP_MS)
			break;
		sleep_ms(step);
		slept += step;
		step *= 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &be->last_fail);
	og_store_seterr(st, "connection lost: %s: reconnect: %.*s", what,
	    trimmed(PQerrorMessage(be->conn)), PQerrorMessage(be->conn));
	return -1;
}

static PGresult *run_vals(
    struct og_store *, const char *, int, const char *const *, const char *);

/*
 * run - execute prepared statement i; its result (for the caller to
 * PQclear()) or NULL with the error set. A lost connection is
 * re-established, and the statement run once more if no transaction of
 * ours was open (the server rolled that back: its caller must fail).
 */
static PGresult *
run(struct og_store *st, enum stmt_id i, const struct params *p,
    const char *what)
{
	char name[16], *fixed[PARAMS_MAX];
	const char *vals[PARAMS_MAX];
	PGresult *res;
	int k, n = p != NULL ? p->n : 0;

	(void)snprintf(name, sizeof(name), "og_%d", (int)i);
	/* the server takes UTF-8 only: other bytes are stored as \xHH */
	for (k = 0; k < n; k++) {
		fixed[k] = p->v[k] != NULL ? og_utf8_fix(p->v[k]) : NULL;
		vals[k] = fixed[k] != NULL ? fixed[k] : p->v[k];
	}
	res = run_vals(st, name, n, vals, what);
	for (k = 0; k < n; k++)
		og_free(fixed[k]);
	return res;
}

/* run_vals - run(), on the parameter values as the server takes them */
static PGresult *
run_vals(struct og_store *st, const char *name, int n, const char *const *vals,
    const char *what)
{
	struct pg *be = st->be;
	PGresult *res = NULL;
	ExecStatusType s;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (PQstatus(be->conn) == CONNECTION_BAD) {
			if (be->in_tx) {
				og_store_seterr(st,
				    "connection lost: %s: the transaction "
				    "was rolled back",
				    what);
				return NULL;
			}
			if (reconnect(st, what) < 0)
				return NULL;
		}
		res = PQexecPrepared(
		    be->conn, name, n, n > 0 ? vals : NULL, NULL, NULL, 0);
		s = PQresultStatus(res);
		if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
			return res;
		(void)pgerr(st, what, res);
		PQclear(res);
		if (PQstatus(be->conn) != CONNECTION_BAD || be->in_tx)
			break;
	}
	return NULL;
}

/* run_ok - run a statement whose result is not needed */
static int
run_ok(struct og_store *st, enum stmt_id i, const struct params *p,
    const char *what)
{
	PGresult *res = run(st, i, p, what);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static void rollback(struct og_store *);

/* begin - BEGIN, and with locked the lock that serializes writers */
static int
begin(struct og_store *st, int locked)
{
	struct pg *be = st->be;

	if (run_ok(st, ST_BEGIN, NULL, "begin transaction") < 0)
		return -1;
	be->in_tx = 1;
	if (locked && run_ok(st, ST_LOCK, NULL, "wait for other writers") < 0) {
		rollback(st);
		return -1;
	}
	return 0;
}

/* rollback - end a failed transaction, keeping the error that ended it */
static void
rollback(struct og_store *st)
{
	struct pg *be = st->be;
	char name[16];

	if (be->in_tx && PQstatus(be->conn) == CONNECTION_OK) {
		(void)snprintf(name, sizeof(name), "og_%d", (int)ST_ROLLBACK);
		PQclear(PQexecPrepared(be->conn, name, 0, NULL, NULL, NULL, 0));
	}
	be->in_tx = 0;
}

static int
commit(struct og_store *st)
{
	struct pg *be = st->be;

	if (run_ok(st, ST_COMMIT, NULL, "commit") == 0) {
		be->in_tx = 0;
		return 0;
	}
	rollback(st);
	return -1;
}

/* col_dup - a text column as the caller's string, NULL for NULL */
static char *
col_dup(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return og_strndup(
	    PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

/* col_int - an integer column, NULL as 0 (as sqlite3_column_int64) */
static int64_t
col_int(const PGresult *res, int row, int col)
{
	const char *v;

	if (PQgetisnull(res, row, col))
		return 0;
	v = PQgetvalue(res, row, col);
	return (int64_t)strtoll(v, NULL, 10);
}

/* too_many - a list call would pass OG_STORE_ROWS_MAX */
static int
too_many(struct og_store *st, const char *what)
{
	og_store_seterr(st, "%s: more than %d rows", what, OG_STORE_ROWS_MAX);
	return -1;
}

/* rows_of - the row count of a list result, within OG_STORE_ROWS_MAX */
static int
rows_of(struct og_store *st, const PGresult *res, const char *what, size_t *n)
{
	int rows = PQntuples(res);

	if (rows > OG_STORE_ROWS_MAX)
		return too_many(st, what);
	*n = (size_t)rows;
	return 0;
}

/* Opening: the spec, the connection, migrations. */

/*
 * connect_spec - a connection made from a checked spec: connect_timeout
 * and the application name come first, so that the spec overrides them
 */
static PGconn *
connect_spec(const char *arg)
{
	const char *const keys[] = { "connect_timeout",
		"fallback_application_name", "dbname", NULL };
	const char *const values[] = { CONNECT_TIMEOUT, "outguard", arg, NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);

	if (conn == NULL)
		og_fatalx(EX_OSERR, "pgsql: out of memory");
	return conn;
}

/* pg_check - a conninfo string or URI that libpq takes, no password */
static int
pg_check(const char *arg, struct og_strbuf *err)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	const char *p;
	int rc = 0;

	if (*arg == '\0') {
		(void)og_strbuf_adds(err,
		    "pgsql: expected a libpq connection string "
		    "(host=... dbname=... user=...) or a postgresql:// URI");
		return -1;
	}
	for (p = arg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			(void)og_strbuf_adds(
			    err, "pgsql: control character in the spec");
			return -1;
		}
	if ((opts = PQconninfoParse(arg, &msg)) == NULL) {
		if (msg == NULL)
			og_fatalx(EX_OSERR, "pgsql: out of memory");
		(void)og_strbuf_addf(err, "pgsql: %.*s", trimmed(msg), msg);
		PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL) {
			(void)og_strbuf_adds(err,
			    "pgsql: a password in the store spec is refused: "
			    "use ~/.pgpass, passfile=, PGPASSFILE or "
			    "PGPASSWORD");
			rc = -1;
		}
	PQconninfoFree(opts);
	return rc;
}

/* query_int - a one-off single value: OG_FOUND, OG_NOTFOUND or OG_ERROR */
static int
query_int(struct og_store *st, const char *what, const char *sql, int64_t *v)
{
	PGresult *res = PQexec(CONN(st), sql);
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pgerr(st, what, res);
	else if (PQntuples(res) == 0)
		rc = OG_NOTFOUND;
	else {
		*v = col_int(res, 0, 0);
		rc = OG_FOUND;
	}
	PQclear(res);
	return rc;
}

/* schema_version - 0 for an empty database, else meta's schema_version */
static int
schema_version(struct og_store *st, int64_t *v)
{
	int rc;

	*v = 0;
	rc = query_int(st, "schema version",
	    "SELECT count(*) FROM pg_catalog.pg_tables "
	    "WHERE schemaname = current_schema() AND tablename = 'meta'",
	    v);
	if (rc != OG_FOUND)
		return -1;
	if (*v == 0)
		return 0;
	rc = query_int(st, "schema version",
	    "SELECT value FROM meta WHERE key = 'schema_version'", v);
	if (rc == OG_NOTFOUND)
		og_store_seterr(st,
		    "meta table without a schema_version: "
		    "not an outguard store?");
	if (rc == OG_FOUND && *v < 0) {
		og_store_seterr(st, "bad schema_version %lld", (long long)*v);
		rc = OG_ERROR;
	}
	return rc == OG_FOUND ? 0 : -1;
}

static int
set_schema_version(struct og_store *st, int64_t v)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int rc = 0;

	p_int(&p, v);
	res = PQexecParams(CONN(st),
	    "INSERT INTO meta (key, value) VALUES ('schema_version', $1) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    1, NULL, p.v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pgerr(st, "set schema version", res);
	PQclear(res);
	return rc;
}

/*
 * migrate - every step in one transaction under the migration lock:
 * the version is read once the lock is held, so a second process
 * waits for the first and then finds nothing to do. Migrations may
 * take longer than a statement may, so the time limits are raised for
 * this transaction alone.
 */
static int
migrate(struct og_store *st)
{
	struct og_strbuf what;
	int64_t v = 0, from;

	if (exec_text(st, "begin migration",
	        "BEGIN; SET LOCAL statement_timeout = 600000;"
	        "SET LOCAL lock_timeout = 600000;"
	        "SELECT pg_advisory_xact_lock(" LOCK_MIGRATE ")") < 0)
		goto rollback;
	if (schema_version(st, &v) < 0)
		goto rollback;
	if (v > OG_STORE_SCHEMA_VERSION) {
		og_store_seterr(st,
		    "schema version %lld is newer than this program knows "
		    "(%d): use a newer outguard",
		    (long long)v, OG_STORE_SCHEMA_VERSION);
		goto rollback;
	}
	og_strbuf_init(&what, 64);
	for (from = v; v < OG_STORE_SCHEMA_VERSION; v++) {
		og_strbuf_reset(&what);
		(void)og_strbuf_addf(&what, "migration to schema version %lld",
		    (long long)v + 1);
		if (exec_text(st, og_strbuf_str(&what), migrations[v]) < 0) {
			og_strbuf_release(&what);
			goto rollback;
		}
	}
	og_strbuf_release(&what);
	if ((v != from && set_schema_version(st, v) < 0) ||
	    exec_text(st, "end migration", "COMMIT") < 0)
		goto rollback;
	if (v != from)
		og_info("%s: migrated from schema version %lld to %lld",
		    st->spec, (long long)from, (long long)v);
	return 0;
rollback:
	if (PQtransactionStatus(CONN(st)) != PQTRANS_IDLE)
		PQclear(PQexec(CONN(st), "ROLLBACK"));
	return -1;
}

static void
pg_close(struct og_store *st)
{
	struct pg *be = st->be;

	if (be == NULL)
		return;
	if (be->conn != NULL)
		PQfinish(be->conn);
	st->be = og_free(be);
}

/*
 * first_connection - the server's version, the schema (migrated under
 * the lock), the session: once per handle, at open or, for a lazy
 * one, at the first connection that succeeds
 */
static int
first_connection(struct og_store *st)
{
	struct pg *be = st->be;

	/* ON CONFLICT (ST_BLOCK_UPSERT) came with PostgreSQL 9.5 */
	if (PQserverVersion(be->conn) < 90500) {
		og_store_seterr(st,
		    "PostgreSQL server %d is too old: 9.5 or later needed",
		    PQserverVersion(be->conn));
		return -1;
	}
	(void)PQsetNoticeProcessor(be->conn, quiet, NULL);
	if (migrate(st) < 0 || session(st) < 0)
		return -1;
	be->pending = 0;
	return 0;
}

static int
pg_open(struct og_store *st, const char *arg)
{
	struct pg *be;

	st->be = be = og_calloc(1, sizeof(*be));
	be->conn = connect_spec(arg);
	if (PQstatus(be->conn) != CONNECTION_OK) {
		og_store_seterr(st, "connect: %.*s",
		    trimmed(PQerrorMessage(be->conn)),
		    PQerrorMessage(be->conn));
		if (!st->lazy || be->conn == NULL)
			goto fail;
		/* reconnect() checks and migrates once it gets through */
		be->pending = 1;
		clock_gettime(CLOCK_MONOTONIC, &be->last_fail);
		return 0;
	}
	if (first_connection(st) < 0)
		goto fail;
	return 0;
fail:
	pg_close(st);
	return -1;
}

/*
 * pg_inspect - the schema version and row counts, for "store check":
 * no migration, no prepared statements, one short-lived connection
 */
static int
pg_inspect(struct og_store *st, const char *arg, struct og_store_info *out)
{
	static const struct {
		int64_t since; /* the schema version that made the table */
		const char *sql;
		size_t off;
	} tables[] = {
		{ 1, "SELECT count(*) FROM messages",
		    offsetof(struct og_store_info, messages) },
		{ 1, "SELECT count(*) FROM holds",
		    offsetof(struct og_store_info, holds) },
		{ 1, "SELECT count(*) FROM audit",
		    offsetof(struct og_store_info, audit) },
		{ 2, "SELECT count(*) FROM blocks",
		    offsetof(struct og_store_info, blocks) },
		{ 2, "SELECT count(*) FROM incidents",
		    offsetof(struct og_store_info, incidents) },
	};
	struct pg *be;
	int64_t v, n;
	size_t i;
	int rc = -1;

	st->be = be = og_calloc(1, sizeof(*be));
	be->conn = connect_spec(arg);
	if (PQstatus(be->conn) != CONNECTION_OK) {
		og_store_seterr(st, "connect: %.*s",
		    trimmed(PQerrorMessage(be->conn)),
		    PQerrorMessage(be->conn));
		goto done;
	}
	(void)PQsetNoticeProcessor(be->conn, quiet, NULL);
	if (schema_version(st, &v) < 0)
		goto done;
	out->schema_version = v;
	for (i = 0; i < OG_NELEM(tables); i++) {
		if (v < tables[i].since)
			continue;
		if (query_int(st, "row count", tables[i].sql, &n) != OG_FOUND)
			goto done;
		*(long long *)(void *)((char *)out + tables[i].off) = n;
	}
	rc = 0;
done:
	pg_close(st);
	return rc;
}

/* Messages. */

/*
 * copy_text - one COPY text-format field: NULL as \N; the bytes that
 * are not UTF-8 as \xHH (the server takes UTF-8 only), then backslash,
 * tab, newline and carriage return escaped (COPY's own format)
 */
static void
copy_text(struct og_strbuf *b, const char *s)
{
	char *fixed;
	const char *p;
	int rc = 0;

	if (s == NULL) {
		(void)og_strbuf_addn(b, "\\N", 2);
		return;
	}
	fixed = og_utf8_fix(s);
	for (p = fixed != NULL ? fixed : s; *p != '\0' && rc == 0; p++)
		switch (*p) {
		case '\\':
			rc = og_strbuf_addn(b, "\\\\", 2);
			break;
		case '\t':
			rc = og_strbuf_addn(b, "\\t", 2);
			break;
		case '\n':
			rc = og_strbuf_addn(b, "\\n", 2);
			break;
		case '\r':
			rc = og_strbuf_addn(b, "\\r", 2);
			break;
		default:
			rc = og_strbuf_addc(b, (unsigned char)*p);
		}
	og_free(fixed);
}

/*
 * pg_add_messages - n message rows in one COPY: a statement of its own
 * (all rows or none, no transaction around it), the rows streamed in
 * COPY's text format, about half the server's work per row of
 * prepared INSERTs (bench/RESULTS.md, "policy"). The fields were
 * checked by og_store_add_messages(); the text escaping above leaves
 * no byte that COPY would read as anything but data.
 */
static int
pg_add_messages(struct og_store *st, const struct og_msgrec *m, size_t n)
{
	struct pg *be = st->be;
	struct og_strbuf b;
	PGresult *res;
	size_t i;
	int ok = 1;

	if (PQstatus(be->conn) == CONNECTION_BAD &&
	    reconnect(st, "insert message") < 0)
		return -1;
	res = PQexec(be->conn, "COPY messages (" MSG_COLUMNS ") FROM STDIN");
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		(void)pgerr(st, "insert message", res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	/* a row at most: every byte \\xHH, then its backslash doubled */
	og_strbuf_init(&b,
	    COPY_CHUNK + 5 * (OG_STORE_TEXT_MAX + 8 * OG_STORE_FIELD_MAX) +
	        256);
	for (i = 0; i < n && ok; i++) {
		copy_text(&b, m[i].host);
		(void)og_strbuf_addf(&b, "\t");
		copy_text(&b, m[i].queue_id);
		(void)og_strbuf_addf(&b, "\t%lld\t", (long long)m[i].time);
		copy_text(&b, m[i].sasl_username);
		(void)og_strbuf_addc(&b, '\t');
		copy_text(&b, m[i].sasl_method);
		(void)og_strbuf_addc(&b, '\t');
		copy_text(&b, m[i].client_address);
		(void)og_strbuf_addc(&b, '\t');
		copy_text(&b, m[i].client_name);
		(void)og_strbuf_addc(&b, '\t');
		copy_text(&b, m[i].sender);
		(void)og_strbuf_addf(&b, "\t%ld\t%lld\t",
		    (long)m[i].recipient_count, (long long)m[i].size);
		copy_text(&b, m[i].rcpt_summary);
		(void)og_strbuf_addc(&b, '\n');
		if (b.len >= COPY_CHUNK || i + 1 == n) {
			ok = PQputCopyData(be->conn, b.data, (int)b.len) == 1;
			og_strbuf_reset(&b);
		}
	}
	og_strbuf_release(&b);
	if (PQputCopyEnd(be->conn, ok ? NULL : "outguard: rows not sent") != 1)
		ok = 0;
	while ((res = PQgetResult(be->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && ok) {
			(void)pgerr(st, "insert message", res);
			ok = 0;
		}
		PQclear(res);
	}
	if (!ok && st->err.len == 0)
		og_store_seterr(
		    st, "insert message: %s", PQerrorMessage(be->conn));
	return ok ? 0 : -1;
}

/* msg_row - MSG_COLUMNS from column c on */
static void
msg_row(const PGresult *res, int r, int c, struct og_msgrec_owned *out)
{
	out->host = col_dup(res, r, c);
	out->queue_id = col_dup(res, r, c + 1);
	out->time = col_int(res, r, c + 2);
	out->sasl_username = col_dup(res, r, c + 3);
	out->sasl_method = col_dup(res, r, c + 4);
	out->client_address = col_dup(res, r, c + 5);
	out->client_name = col_dup(res, r, c + 6);
	out->sender = col_dup(res, r, c + 7);
	out->recipient_count = (long)col_int(res, r, c + 8);
	out->size = (long long)col_int(res, r, c + 9);
	out->rcpt_summary = col_dup(res, r, c + 10);
}

static int
pg_find_message(struct og_store *st, const char *host, const char *queue_id,
    struct og_msgrec_owned *out)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int rc = OG_NOTFOUND;

	p_str(&p, host);
	p_str(&p, queue_id);
	if ((res = run(st, ST_MSG_FIND, &p, "find message")) == NULL)
		return OG_ERROR;
	if (PQntuples(res) > 0) {
		msg_row(res, 0, 0, out);
		rc = OG_FOUND;
	}
	PQclear(res);
	return rc;
}

static int
pg_prune_messages(struct og_store *st, int64_t before, int limit, long *deleted)
{
	struct params p = { .n = 0 };
	PGresult *res;

	p_int(&p, before);
	p_int(&p, limit);
	if ((res = run(st, ST_MSG_PRUNE, &p, "prune messages")) == NULL)
		return -1;
	*deleted = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* Holds and audit. */

static int
audit_insert(struct og_store *st, int64_t now, const char *actor,
    const char *action, const char *subject, const char *reason,
    const char *detail)
{
	struct params p = { .n = 0 };

	p_int(&p, now);
	p_str(&p, actor);
	p_str(&p, action);
	p_str(&p, subject);
	p_str(&p, reason);
	p_str(&p, detail);
	return run_ok(st, ST_AUDIT_INSERT, &p, "insert audit");
}

/* close_hold - mark one open hold released and audit it */
static int
close_hold(struct og_store *st, int64_t id, const char *identity,
    const char *scope, int64_t until, const char *actor, const char *action,
    const char *reason, int64_t now)
{
	struct params p = { .n = 0 };
	struct og_strbuf detail;
	int rc;

	p_int(&p, id);
	p_int(&p, now);
	p_str(&p, actor);
	p_str(&p, reason);
	if (run_ok(st, ST_HOLD_CLOSE, &p, "release hold") < 0)
		return -1;
	og_strbuf_init(&detail, OG_STORE_TEXT_MAX);
	og_store_release_detail(&detail, scope, id, until);
	rc = audit_insert(
	    st, now, actor, action, identity, reason, og_strbuf_str(&detail));
	og_strbuf_release(&detail);
	return rc;
}

/* open_hold - the open hold of identity+scope: OG_FOUND/NOTFOUND/ERROR */
static int
open_hold(struct og_store *st, const char *identity, const char *scope,
    int64_t *id, int64_t *until)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int rc = OG_NOTFOUND;

	p_str(&p, identity);
	p_str(&p, scope);
	if ((res = run(st, ST_HOLD_OPEN, &p, "find hold")) == NULL)
		return OG_ERROR;
	if (PQntuples(res) > 0) {
		*id = col_int(res, 0, 0);
		*until = col_int(res, 0, 1);
		rc = OG_FOUND;
	}
	PQclear(res);
	return rc;
}

static int
insert_hold(struct og_store *st, const struct og_hold *h, int64_t *id)
{
	struct params p = { .n = 0 };
	struct og_strbuf detail;
	PGresult *res;
	int rc;

	p_str(&p, h->identity);
	p_str(&p, h->scope);
	p_str(&p, h->reason);
	p_int(&p, h->since);
	p_opt(&p, h->until);
	p_str(&p, h->created_by);
	p_opt(&p, h->incident);
	if ((res = run(st, ST_HOLD_INSERT, &p, "insert hold")) == NULL)
		return -1;
	*id = col_int(res, 0, 0);
	PQclear(res);
	og_strbuf_init(&detail, OG_STORE_TEXT_MAX);
	og_store_hold_detail(&detail, h->scope, h->until, h->incident);
	rc = audit_insert(st, h->since, h->created_by, "hold", h->identity,
	    h->reason, og_strbuf_str(&detail));
	og_strbuf_release(&detail);
	return rc;
}

static int
pg_hold(struct og_store *st, const struct og_hold *h, int64_t now, int64_t *id)
{
	int64_t old = 0, until = 0;
	int rc;

	if (begin(st, 1) < 0)
		return OG_ERROR;
	if ((rc = open_hold(st, h->identity, h->scope, &old, &until)) < 0)
		goto fail;
	if (rc == OG_FOUND && (until == 0 || until > now)) {
		*id = old;
		return commit(st) < 0 ? OG_ERROR : OG_NOTFOUND;
	}
	/* an expired hold still holds the unique slot: close it first */
	if (rc == OG_FOUND &&
	    close_hold(st, old, h->identity, h->scope, until, h->created_by,
	        "expire", "expired", now) < 0)
		goto fail;
	if (insert_hold(st, h, id) < 0 ||
	    run_ok(st, ST_GEN_BUMP, NULL, "bump holds generation") < 0)
		goto fail;
	return commit(st) < 0 ? OG_ERROR : OG_FOUND;
fail:
	rollback(st);
	return OG_ERROR;
}

struct open_row {
	int64_t id, until;
	char *scope;
};

static int
pg_release(struct og_store *st, const char *identity, const char *scope,
    const char *actor, const char *reason, int64_t now)
{
	struct params p = { .n = 0 };
	struct open_row *rows = NULL;
	PGresult *res;
	size_t i, n = 0;
	int rc;

	if (begin(st, 1) < 0)
		return OG_ERROR;
	p_str(&p, identity);
	p_str(&p, scope);
	if ((res = run(st, ST_HOLD_OPEN_ALL, &p, "find holds")) == NULL)
		goto fail;
	n = (size_t)PQntuples(res);
	rows = og_calloc(n > 0 ? n : 1, sizeof(*rows));
	for (i = 0; i < n; i++) {
		rows[i].id = col_int(res, (int)i, 0);
		rows[i].scope = col_dup(res, (int)i, 1);
		rows[i].until = col_int(res, (int)i, 2);
	}
	PQclear(res);
	for (i = 0; i < n; i++)
		if (close_hold(st, rows[i].id, identity,
		        rows[i].scope != NULL ? rows[i].scope : "",
		        rows[i].until, actor, "release", reason, now) < 0)
			goto fail;
	if (n > 0 && run_ok(st, ST_GEN_BUMP, NULL, "bump holds generation") < 0)
		goto fail;
	rc = commit(st) < 0 ? OG_ERROR : n > 0 ? OG_FOUND : OG_NOTFOUND;
	goto out;
fail:
	rollback(st);
	rc = OG_ERROR;
out:
	for (i = 0; i < n; i++)
		og_free(rows[i].scope);
	og_free(rows);
	return rc;
}

static int
pg_holds(struct og_store *st, int64_t now, struct og_hold **out, size_t *np)
{
	struct params p = { .n = 0 };
	struct og_hold *h = NULL;
	PGresult *res;
	size_t i, n;

	p_int(&p, now);
	if ((res = run(st, ST_HOLDS_IN_FORCE, &p, "list holds")) == NULL)
		return -1;
	if (rows_of(st, res, "list holds", &n) < 0) {
		PQclear(res);
		return -1;
	}
	if (n > 0)
		h = og_calloc(n, sizeof(*h));
	for (i = 0; i < n; i++) {
		h[i].id = col_int(res, (int)i, 0);
		h[i].identity = col_dup(res, (int)i, 1);
		h[i].scope = col_dup(res, (int)i, 2);
		h[i].reason = col_dup(res, (int)i, 3);
		h[i].created_by = col_dup(res, (int)i, 4);
		h[i].since = col_int(res, (int)i, 5);
		h[i].until = col_int(res, (int)i, 6);
		h[i].incident = col_int(res, (int)i, 7);
	}
	PQclear(res);
	*out = h;
	*np = n;
	return 0;
}

static int
pg_generation(struct og_store *st, uint64_t *gen)
{
	PGresult *res;
	int rc = 0;

	if ((res = run(st, ST_GEN_GET, NULL, "holds generation")) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		og_store_seterr(st, "holds generation: missing from meta");
		rc = -1;
	} else
		*gen = (uint64_t)col_int(res, 0, 0);
	PQclear(res);
	return rc;
}

static int
pg_audit(struct og_store *st, int64_t now, const char *actor,
    const char *action, const char *subject, const char *reason,
    const char *detail)
{
	return audit_insert(st, now, actor, action, subject, reason, detail);
}

static int
pg_audit_list(
    struct og_store *st, int64_t since, struct og_audit **out, size_t *np)
{
	struct params p = { .n = 0 };
	struct og_audit *a = NULL;
	PGresult *res;
	size_t i, n;

	p_int(&p, since);
	if ((res = run(st, ST_AUDIT_LIST, &p, "list audit")) == NULL)
		return -1;
	if (rows_of(st, res, "list audit", &n) < 0) {
		PQclear(res);
		return -1;
	}
	if (n > 0)
		a = og_calloc(n, sizeof(*a));
	for (i = 0; i < n; i++) {
		a[i].id = col_int(res, (int)i, 0);
		a[i].time = col_int(res, (int)i, 1);
		a[i].actor = col_dup(res, (int)i, 2);
		a[i].action = col_dup(res, (int)i, 3);
		a[i].subject = col_dup(res, (int)i, 4);
		a[i].reason = col_dup(res, (int)i, 5);
		a[i].detail = col_dup(res, (int)i, 6);
	}
	PQclear(res);
	*out = a;
	*np = n;
	return 0;
}

/*
 * Message scans, a page at a time, as in store_sqlite.c: each page is
 * its own statement outside any transaction, and cb may use the handle.
 */
#define SCAN_PAGE 256

/* msg_view - a borrowed og_msgrec of an owned one */
static struct og_msgrec
msg_view(const struct og_msgrec_owned *o)
{
	struct og_msgrec m;

	m.host = o->host;
	m.queue_id = o->queue_id;
	m.time = o->time;
	m.sasl_username = o->sasl_username;
	m.sasl_method = o->sasl_method;
	m.client_address = o->client_address;
	m.client_name = o->client_name;
	m.sender = o->sender;
	m.recipient_count = o->recipient_count;
	m.size = o->size;
	m.rcpt_summary = o->rcpt_summary;
	return m;
}

/* scan_page - up to SCAN_PAGE rows after the cursor into page, *n set */
static int
scan_page(struct og_store *st, const char *host, int64_t t, int64_t id,
    int64_t until, struct og_msgrec_owned *page, int64_t *last_id, size_t *n)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int i, rows;

	p_int(&p, t);
	p_int(&p, id);
	p_int(&p, until);
	p_str(&p, host);
	p_int(&p, SCAN_PAGE);
	*n = 0;
	if ((res = run(st, ST_MSG_SCAN, &p, "scan messages")) == NULL)
		return -1;
	rows = PQntuples(res);
	for (i = 0; i < rows && i < SCAN_PAGE; i++) {
		*last_id = col_int(res, i, 0);
		msg_row(res, i, 1, &page[(*n)++]);
	}
	PQclear(res);
	return 0;
}

static int
pg_messages_scan(struct og_store *st, const char *host, int64_t since,
    int64_t until, int (*cb)(const struct og_msgrec *, void *), void *arg,
    int *stop)
{
	struct og_msgrec_owned *page;
	struct og_msgrec m;
	int64_t t = since, id = INT64_MIN;
	size_t i, n = 0;
	int rc;

	*stop = 0;
	page = og_calloc(SCAN_PAGE, sizeof(*page));
	do {
		rc = scan_page(st, host, t, id, until, page, &id, &n);
		if (n > 0)
			t = page[n - 1].time;
		for (i = 0; rc == 0 && i < n && *stop == 0; i++) {
			m = msg_view(&page[i]);
			*stop = cb(&m, arg);
		}
		for (i = 0; i < n; i++)
			og_store_msgrec_clear(&page[i]);
	} while (rc == 0 && *stop == 0 && n == SCAN_PAGE);
	og_free(page);
	return rc;
}

/*
 * Evidence: block rows and incidents, as in store_sqlite.c. Every write
 * transaction here takes the writer lock, so an incident's figures are
 * recounted from rows no other writer is changing.
 */

/* refresh_incident - recount an incident's block figures */
static int
refresh_incident(struct og_store *st, int64_t incident)
{
	struct params p = { .n = 0 };

	p_int(&p, incident);
	return run_ok(st, ST_INCIDENT_REFRESH, &p, "count incident blocks");
}

static int
pg_block_record(
    struct og_store *st, const struct og_block *b, int64_t now, int64_t *id)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int64_t incident;

	if (begin(st, 1) < 0)
		return -1;
	p_str(&p, b->host);
	p_str(&p, b->queue_id);
	p_str(&p, b->recipient);
	p_str(&p, b->provider);
	p_str(&p, b->class_);
	p_str(&p, b->smtp_code);
	p_str(&p, b->enhanced_code);
	p_str(&p, b->provider_code);
	p_str(&p, b->remedy);
	p_str(&p, b->reply);
	p_str(&p, b->mx_host);
	p_str(&p, b->mx_ip);
	p_str(&p, b->egress_ip);
	p_str(&p, b->server_tag);
	p_str(&p, b->server_time);
	p_str(&p, b->identity);
	p_str(&p, b->source);
	p_int(&p, now);
	p_opt(&p, b->incident);
	if ((res = run(st, ST_BLOCK_UPSERT, &p, "record block")) == NULL)
		goto fail;
	*id = col_int(res, 0, 0);
	incident = col_int(res, 0, 1);
	PQclear(res);
	if (incident != 0 && refresh_incident(st, incident) < 0)
		goto fail;
	return commit(st);
fail:
	rollback(st);
	return -1;
}

/* block_row - a row of BLOCK_SELECT */
static void
block_row(const PGresult *res, int r, struct og_block_owned *o)
{
	o->id = col_int(res, r, 0);
	o->host = col_dup(res, r, 1);
	o->queue_id = col_dup(res, r, 2);
	o->recipient = col_dup(res, r, 3);
	o->provider = col_dup(res, r, 4);
	o->class_ = col_dup(res, r, 5);
	o->smtp_code = col_dup(res, r, 6);
	o->enhanced_code = col_dup(res, r, 7);
	o->provider_code = col_dup(res, r, 8);
	o->remedy = col_dup(res, r, 9);
	o->reply = col_dup(res, r, 10);
	o->mx_host = col_dup(res, r, 11);
	o->mx_ip = col_dup(res, r, 12);
	o->egress_ip = col_dup(res, r, 13);
	o->server_tag = col_dup(res, r, 14);
	o->server_time = col_dup(res, r, 15);
	o->identity = col_dup(res, r, 16);
	o->source = col_dup(res, r, 17);
	o->first_seen = col_int(res, r, 18);
	o->last_seen = col_int(res, r, 19);
	o->count = (long)col_int(res, r, 20);
	o->incident = col_int(res, r, 21);
}

/* filter_params - $1..$7 of BLOCK_WHERE and BLOCK_FILTER */
static void
filter_params(struct params *p, const struct og_block_filter *f)
{
	p_int(p, f->since);
	p_str(p, f->provider);
	p_str(p, f->code);
	p_str(p, f->identity);
	p_str(p, f->egress_ip);
	p_int(p, f->incident);
	p_int(p, (int64_t)f->limit);
}

static int
pg_blocks(struct og_store *st, const struct og_block_filter *f,
    struct og_block_owned **out, size_t *np)
{
	enum stmt_id which = f->incident != 0 ? ST_BLOCKS_BY_INCIDENT
	    : f->identity != NULL             ? ST_BLOCKS_BY_IDENTITY
	    : f->provider != NULL             ? ST_BLOCKS_BY_PROVIDER
	                                      : ST_BLOCKS_ALL;
	struct params p = { .n = 0 };
	struct og_block_owned *b = NULL;
	PGresult *res;
	size_t i, n;

	filter_params(&p, f);
	if ((res = run(st, which, &p, "list blocks")) == NULL)
		return -1;
	if (rows_of(st, res, "list blocks", &n) < 0) {
		PQclear(res);
		return -1;
	}
	if (n > 0)
		b = og_calloc(n, sizeof(*b));
	for (i = 0; i < n; i++)
		block_row(res, (int)i, &b[i]);
	PQclear(res);
	*out = b;
	*np = n;
	return 0;
}

static int
pg_block_max_id(struct og_store *st, int64_t *id)
{
	PGresult *res;

	if ((res = run(st, ST_BLOCK_MAX_ID, NULL, "block max id")) == NULL)
		return -1;
	*id = PQntuples(res) > 0 ? col_int(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

/* incident_row - a row of INC_COLUMNS */
static void
incident_row(const PGresult *res, int r, struct og_incident *o)
{
	o->id = col_int(res, r, 0);
	o->host = col_dup(res, r, 1);
	o->provider = col_dup(res, r, 2);
	o->egress_ip = col_dup(res, r, 3);
	o->state = col_dup(res, r, 4);
	o->opened = col_int(res, r, 5);
	o->first_block = col_int(res, r, 6);
	o->last_block = col_int(res, r, 7);
	o->blocks = (long)col_int(res, r, 8);
	o->suspects = col_dup(res, r, 9);
	o->holds = col_dup(res, r, 10);
	o->notified = col_dup(res, r, 11);
	o->released = col_int(res, r, 12);
	o->confirmed = col_int(res, r, 13);
	o->deliveries_after_release = (long)col_int(res, r, 14);
}

/* pg_incident_get - also the reader inside the other incident calls */
static int
pg_incident_get(struct og_store *st, int64_t id, struct og_incident *out)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int rc = OG_NOTFOUND;

	p_int(&p, id);
	if ((res = run(st, ST_INCIDENT_GET, &p, "get incident")) == NULL)
		return OG_ERROR;
	if (PQntuples(res) > 0) {
		incident_row(res, 0, out);
		rc = OG_FOUND;
	}
	PQclear(res);
	return rc;
}

/* incident_must - like pg_incident_get, but a missing one is an error */
static int
incident_must(struct og_store *st, int64_t id, struct og_incident *out)
{
	int rc = pg_incident_get(st, id, out);

	if (rc == OG_NOTFOUND)
		og_store_seterr(st, "no incident %lld", (long long)id);
	return rc == OG_FOUND ? 0 : -1;
}

/* incident_audit - the audit row of an incident's (new) state */
static int
incident_audit(struct og_store *st, int64_t id, const char *state,
    const char *from, const char *provider, const char *egress_ip,
    const char *actor, int64_t now)
{
	struct og_strbuf action, subject, detail;
	int rc;

	og_strbuf_init(&action, OG_STORE_FIELD_MAX);
	og_strbuf_init(&subject, OG_STORE_FIELD_MAX);
	og_strbuf_init(&detail, OG_STORE_TEXT_MAX);
	(void)og_strbuf_addf(&action, "incident-%s", state);
	(void)og_strbuf_addf(&subject, "incident:%lld", (long long)id);
	og_store_incident_detail(&detail, from, provider, egress_ip);
	rc = audit_insert(st, now, actor, og_strbuf_str(&action),
	    og_strbuf_str(&subject), NULL, og_strbuf_str(&detail));
	og_strbuf_release(&action);
	og_strbuf_release(&subject);
	og_strbuf_release(&detail);
	return rc;
}

static int
pg_block_link(struct og_store *st, int64_t incident, const char *provider,
    const char *egress_ip)
{
	struct params p = { .n = 0 };
	struct og_incident inc;

	memset(&inc, 0, sizeof(inc));
	if (begin(st, 1) < 0)
		return -1;
	/* say "no incident N" rather than a foreign key violation */
	if (incident_must(st, incident, &inc) < 0)
		goto fail;
	p_int(&p, incident);
	p_str(&p, provider);
	p_str(&p, egress_ip);
	if (run_ok(st, ST_BLOCK_LINK, &p, "link blocks") < 0 ||
	    refresh_incident(st, incident) < 0)
		goto fail;
	og_store_incident_clear(&inc);
	return commit(st);
fail:
	og_store_incident_clear(&inc);
	rollback(st);
	return -1;
}

/* incident_active - the open or released incident of the key, if any */
static int
incident_active(struct og_store *st, const char *provider,
    const char *egress_ip, int64_t *id)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int rc = OG_NOTFOUND;

	p_str(&p, provider);
	p_str(&p, egress_ip);
	if ((res = run(st, ST_INCIDENT_ACTIVE, &p, "find incident")) == NULL)
		return OG_ERROR;
	if (PQntuples(res) > 0) {
		*id = col_int(res, 0, 0);
		rc = OG_FOUND;
	}
	PQclear(res);
	return rc;
}

/*
 * pg_incident_open - find or create under the writer lock, so that two
 * processes seeing the same block at once agree on one incident
 */
static int
pg_incident_open(struct og_store *st, const char *host, const char *provider,
    const char *egress_ip, int64_t now, struct og_incident *out)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int64_t id = 0;
	int found;

	if (begin(st, 1) < 0)
		return OG_ERROR;
	if ((found = incident_active(st, provider, egress_ip, &id)) < 0)
		goto fail;
	if (found == OG_NOTFOUND) {
		p_str(&p, host);
		p_str(&p, provider);
		p_str(&p, egress_ip);
		p_int(&p, now);
		if ((res = run(st, ST_INCIDENT_INSERT, &p, "open incident")) ==
		    NULL)
			goto fail;
		id = col_int(res, 0, 0);
		PQclear(res);
		if (incident_audit(st, id, "open", NULL, provider, egress_ip,
		        host, now) < 0)
			goto fail;
	}
	if (incident_must(st, id, out) < 0)
		goto fail;
	if (commit(st) < 0) {
		og_store_incident_clear(out);
		return OG_ERROR;
	}
	return found;
fail:
	rollback(st);
	return OG_ERROR;
}

static int
pg_incident_update(struct og_store *st, const struct og_incident *inc,
    const char *actor, int64_t now)
{
	struct params p = { .n = 0 };
	struct og_incident old;

	memset(&old, 0, sizeof(old));
	if (begin(st, 1) < 0)
		return -1;
	if (incident_must(st, inc->id, &old) < 0)
		goto fail;
	p_int(&p, inc->id);
	p_str(&p, inc->state);
	p_str(&p, inc->suspects);
	p_str(&p, inc->holds);
	p_str(&p, inc->notified);
	p_opt(&p, inc->released);
	p_opt(&p, inc->confirmed);
	p_int(&p, inc->deliveries_after_release);
	if (run_ok(st, ST_INCIDENT_UPDATE, &p, "update incident") < 0)
		goto fail;
	if (strcmp(old.state, inc->state) != 0 &&
	    incident_audit(st, inc->id, inc->state, old.state, old.provider,
	        old.egress_ip, actor, now) < 0)
		goto fail;
	og_store_incident_clear(&old);
	return commit(st);
fail:
	og_store_incident_clear(&old);
	rollback(st);
	return -1;
}

static int
pg_incident_delivered(
    struct og_store *st, const char *family, long n, long *updated)
{
	struct params p = { .n = 0 };
	PGresult *res;

	p_str(&p, family);
	p_int(&p, n);
	if ((res = run(st, ST_INCIDENT_DELIVERED, &p, "count deliveries")) ==
	    NULL)
		return -1;
	*updated = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

static int
pg_incidents(struct og_store *st, const char *state, struct og_incident **out,
    size_t *np)
{
	struct params p = { .n = 0 };
	struct og_incident *inc = NULL;
	PGresult *res;
	size_t i, n;

	p_str(&p, state);
	if ((res = run(st, ST_INCIDENTS, &p, "list incidents")) == NULL)
		return -1;
	if (rows_of(st, res, "list incidents", &n) < 0) {
		PQclear(res);
		return -1;
	}
	if (n > 0)
		inc = og_calloc(n, sizeof(*inc));
	for (i = 0; i < n; i++)
		incident_row(res, (int)i, &inc[i]);
	PQclear(res);
	*out = inc;
	*np = n;
	return 0;
}

/* Report figures (schema version 4). */

static int
pg_block_stats(struct og_store *st, const struct og_block_filter *f,
    enum og_block_group by, struct og_block_stat **out, size_t *np)
{
	enum stmt_id which = by == OG_BLOCK_BY_IDENTITY
	    ? ST_BLOCK_STATS_IDENTITY
	    : by == OG_BLOCK_BY_DESTINATION ? ST_BLOCK_STATS_DEST
	                                    : ST_BLOCK_STATS_CODE;
	struct params p = { .n = 0 };
	struct og_block_stat *b = NULL;
	PGresult *res;
	size_t i, n;
	int r;

	filter_params(&p, f);
	if ((res = run(st, which, &p, "block figures")) == NULL)
		return -1;
	if (rows_of(st, res, "block figures", &n) < 0) {
		PQclear(res);
		return -1;
	}
	if (n > 0)
		b = og_calloc(n, sizeof(*b));
	for (i = 0; i < n; i++) {
		r = (int)i;
		b[i].provider = col_dup(res, r, 0);
		b[i].class_ = col_dup(res, r, 1);
		b[i].remedy = col_dup(res, r, 2);
		b[i].smtp_code = col_dup(res, r, 3);
		b[i].enhanced_code = col_dup(res, r, 4);
		b[i].provider_code = col_dup(res, r, 5);
		b[i].egress_ip = col_dup(res, r, 6);
		b[i].identity = col_dup(res, r, 7);
		b[i].mx_host = col_dup(res, r, 8);
		b[i].rcpt_domain = col_dup(res, r, 9);
		b[i].rows = (long)col_int(res, r, 10);
		b[i].count = (long long)col_int(res, r, 11);
		b[i].first_seen = col_int(res, r, 12);
		b[i].last_seen = col_int(res, r, 13);
	}
	PQclear(res);
	*out = b;
	*np = n;
	return 0;
}

static int
pg_block_latest(struct og_store *st, int64_t since,
    const struct og_block_stat *key, struct og_block_owned *out)
{
	struct params p = { .n = 0 };
	PGresult *res;
	int rc = OG_NOTFOUND;

	p_int(&p, since);
	p_str(&p, key->provider);
	p_str(&p, key->smtp_code);
	p_str(&p, key->enhanced_code);
	p_str(&p, key->provider_code);
	p_str(&p, key->egress_ip);
	if ((res = run(st, ST_BLOCK_LATEST, &p, "latest block")) == NULL)
		return OG_ERROR;
	if (PQntuples(res) > 0) {
		block_row(res, 0, out);
		rc = OG_FOUND;
	}
	PQclear(res);
	return rc;
}

/*
 * og_store_pgsql_sql - for tests: run SQL text of the caller's own (no
 * values in it) on a new connection made as og_store_open() makes one;
 * *value (may be NULL) is the first column of the first row of the last
 * statement, or NULL, for the caller to og_free()
 */
int
og_store_pgsql_sql(
    const char *spec, const char *sql, char **value, struct og_strbuf *err)
{
	PGconn *conn;
	PGresult *res, *last = NULL;
	int rc = 0;

	if (strncmp(spec, "pgsql:", 6) == 0)
		spec += 6;
	if (value != NULL)
		*value = NULL;
	if (pg_check(spec, err) < 0)
		return -1;
	conn = connect_spec(spec);
	(void)PQsetNoticeProcessor(conn, quiet, NULL);
	if (PQstatus(conn) != CONNECTION_OK || PQsendQuery(conn, sql) != 1) {
		(void)og_strbuf_addf(err, "%.*s", trimmed(PQerrorMessage(conn)),
		    PQerrorMessage(conn));
		PQfinish(conn);
		return -1;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK && rc == 0) {
			(void)og_strbuf_addf(err, "%.*s",
			    trimmed(PQresultErrorMessage(res)),
			    PQresultErrorMessage(res));
			rc = -1;
		}
		PQclear(last);
		last = res;
	}
	if (rc == 0 && value != NULL && last != NULL &&
	    PQresultStatus(last) == PGRES_TUPLES_OK && PQntuples(last) > 0 &&
	    PQnfields(last) > 0)
		*value = col_dup(last, 0, 0);
	PQclear(last);
	PQfinish(conn);
	return rc;
}

const struct store_ops og_store_pgsql_ops = {
	.name = "pgsql",
	.check = pg_check,
	.open = pg_open,
	.close = pg_close,
	.inspect = pg_inspect,
	.add_messages = pg_add_messages,
	.find_message = pg_find_message,
	.prune_messages = pg_prune_messages,
	.hold = pg_hold,
	.release = pg_release,
	.holds = pg_holds,
	.generation = pg_generation,
	.audit = pg_audit,
	.audit_list = pg_audit_list,
	.messages_scan = pg_messages_scan,
	.block_record = pg_block_record,
	.blocks = pg_blocks,
	.block_max_id = pg_block_max_id,
	.block_link = pg_block_link,
	.incident_open = pg_incident_open,
	.incident_get = pg_incident_get,
	.incident_update = pg_incident_update,
	.incident_delivered = pg_incident_delivered,
	.incidents = pg_incidents,
	.block_stats = pg_block_stats,
	.block_latest = pg_block_latest,
};

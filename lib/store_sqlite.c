/*
 * store_sqlite.c - the SQLite back end of lib/store ("sqlite:/path")
 * DESCRIPTION: one connection per handle, opened without SQLite's own
 *	mutexes (a handle is for one thread at a time), in WAL mode so that
 *	readers never wait for the writer, with synchronous=NORMAL (a power
 *	loss may lose the last commits, never the file), a busy timeout of
 *	OG_STORE_BUSY_MS and foreign keys on. The file is created if need
 *	be, its directory never. At open, the migrations below bring the
 *	schema to OG_STORE_SCHEMA_VERSION, one transaction per step; a file
 *	with a newer schema is refused. Every statement is prepared once per
 *	handle (SQLITE_PREPARE_PERSISTENT) and reset after each use, so no
 *	read transaction stays open between calls; values are always bound,
 *	never pasted into SQL. Writes of more than one statement start with
 *	BEGIN IMMEDIATE: a writer waits in the busy handler for the lock up
 *	front instead of failing later on a lock upgrade. Needs SQLite 3.24
 *	(UPSERT), checked at open.
 * DIAGNOSTICS: failures return -1 with "SPEC: what: sqlite3_errmsg()" in
 *	the handle (store.c logs it). SQLITE_BUSY after the timeout is such
 *	a failure. Out of memory inside SQLite is fatal, as it is in
 *	og_malloc().
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "strbuf.h"
#include "util.h"

/*
 * Migrations: migrations[v] brings the schema from version v to v + 1.
 * Append, never edit a step that has shipped. Open-ended values are
 * NULL (holds.until, holds.incident, holds.released) so that a later
 * foreign key from holds.incident to incidents(id) holds for old rows.
 */
static const char *const migrations[] = {
	/* 0 -> 1: messages, holds, audit */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value NOT NULL"
	");"
	"INSERT INTO meta (key, value) VALUES ('holds_generation', 0);"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  queue_id TEXT NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  sasl_username TEXT,"
	"  sasl_method TEXT,"
	"  client_address TEXT,"
	"  client_name TEXT,"
	"  sender TEXT NOT NULL,"
	"  recipient_count INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  rcpt_summary TEXT"
	");"
	"CREATE INDEX messages_host_queue_id ON messages (host, queue_id);"
	"CREATE INDEX messages_time ON messages (time);"
	"CREATE INDEX messages_sasl_time ON messages (sasl_username, time);"
	"CREATE INDEX messages_sender_time ON messages (sender, time);"
	"CREATE INDEX messages_client_time ON messages (client_address, time);"
	"CREATE TABLE holds ("
	"  id INTEGER PRIMARY KEY,"
	"  identity TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  until INTEGER," /* NULL: open-ended */
	"  created_by TEXT NOT NULL,"
	"  incident INTEGER," /* NULL: none */
	"  released INTEGER," /* NULL: open */
	"  released_by TEXT,"
	"  release_reason TEXT"
	");"
	"CREATE UNIQUE INDEX holds_open ON holds (identity, scope)"
	"  WHERE released IS NULL;"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  subject TEXT,"
	"  reason TEXT,"
	"  detail TEXT"
	");"
	"CREATE INDEX audit_time ON audit (time);",

	/*
	 * 1 -> 2: evidence. An incident is one provider blocking one egress
	 * IP (NULL: unknown); at most one per key is open or released at a
	 * time, which the partial index enforces for every back end.
	 * Block rows aggregate by blocks_key: NULL and "" are one value
	 * there (store.c stores "" as NULL anyway). The ON CONFLICT target
	 * of ST_BLOCK_UPSERT (BLOCK_KEY) must spell this index exactly.
	 */
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  provider TEXT NOT NULL,"
	"  egress_ip TEXT," /* NULL: unknown */
	"  state TEXT NOT NULL"
	"    CHECK (state IN ('open', 'released', 'confirmed')),"
	"  opened INTEGER NOT NULL,"
	"  first_block INTEGER," /* NULL: no block linked */
	"  last_block INTEGER,"
	"  blocks INTEGER NOT NULL DEFAULT 0,"
	"  suspects TEXT NOT NULL DEFAULT '[]',"
	"  holds TEXT NOT NULL DEFAULT '[]',"
	"  notified TEXT NOT NULL DEFAULT '{}',"
	"  released INTEGER," /* NULL: not yet */
	"  confirmed INTEGER,"
	"  deliveries_after_release INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE UNIQUE INDEX incidents_active"
	"  ON incidents (provider, COALESCE(egress_ip, ''))"
	"  WHERE state IN ('open', 'released');"
	"CREATE TABLE blocks ("
	"  id INTEGER PRIMARY KEY,"
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
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  incident INTEGER REFERENCES incidents (id)" /* NULL: none */
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
	/*
	 * 2 -> 3: no statement reads these three, and keyed on values in
	 * random order they cost about four page writes per recorded
	 * message: the store thread fell behind at 14,000 rows/s (bench/
	 * RESULTS.md, policy). Reports scan messages by time.
	 */
	"DROP INDEX IF EXISTS messages_sasl_time;"
	"DROP INDEX IF EXISTS messages_sender_time;"
	"DROP INDEX IF EXISTS messages_client_time;",
	/*
	 * 3 -> 4: outguard-queue-report's figures (og_store_block_stats())
	 * from this index alone: a summary over 100,000 block rows reads no
	 * reply text. It holds every column the BLOCK_STATS_WHERE filter
	 * and the code and identity groupings name. Block rows are written
	 * a few per blocked message, so the extra index costs little there.
	 */
	"CREATE INDEX blocks_report ON blocks (last_seen, provider, class,"
	"  remedy, smtp_code, enhanced_code, provider_code, egress_ip,"
	"  identity, incident, first_seen, count);",
};

_Static_assert(
    sizeof(migrations) / sizeof(migrations[0]) == OG_STORE_SCHEMA_VERSION,
    "one migration step per schema version");

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_MSG_INSERT,
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
	ST_BLOCK_FIND,
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
 * The optional filters of og_store_blocks(), after the one column that
 * leads the statement's index: SQLite picks an index only for a term
 * that is not behind an "?N IS NULL OR".
 */
#define BLOCK_FILTER                                                           \
	"last_seen >= ?1 AND (?2 IS NULL OR provider = ?2) "                   \
	"AND (?3 IS NULL OR smtp_code = ?3 OR enhanced_code = ?3 "             \
	"OR provider_code = ?3) AND (?4 IS NULL OR identity = ?4) "            \
	"AND (?5 IS NULL OR egress_ip = ?5) AND (?6 = 0 OR incident = ?6) "    \
	"ORDER BY last_seen DESC, id DESC LIMIT ?7"

#define BLOCK_SELECT "SELECT id, " BLOCK_COLUMNS " FROM blocks WHERE "

/*
 * og_store_block_stats(): the filter of og_store_blocks() without its
 * order, and one row shape for every grouping (NULL for what a grouping
 * is not keyed by). The recipient's domain is what follows its last "@"
 * (rtrim() with the set of the other characters cuts after it).
 */
#define BLOCK_STATS_WHERE                                                      \
	"WHERE last_seen >= ?1 AND (?2 IS NULL OR provider = ?2) "             \
	"AND (?3 IS NULL OR smtp_code = ?3 OR enhanced_code = ?3 "             \
	"OR provider_code = ?3) AND (?4 IS NULL OR identity = ?4) "            \
	"AND (?5 IS NULL OR egress_ip = ?5) AND (?6 = 0 OR incident = ?6) "

#define BLOCK_STATS_FIGURES                                                    \
	"count(*), sum(count), min(first_seen), max(last_seen) FROM blocks "

#define BLOCK_CODE_KEY                                                         \
	"provider, class, remedy, smtp_code, enhanced_code, provider_code, "   \
	"egress_ip"

#define RCPT_DOMAIN                                                            \
	"CASE WHEN instr(recipient, '@') > 0 THEN lower(substr(recipient, "    \
	"length(rtrim(recipient, replace(recipient, '@', ''))) + 1)) END"

#define INC_COLUMNS                                                            \
	"id, host, provider, egress_ip, state, opened, first_block, "          \
	"last_block, blocks, suspects, holds, notified, released, "            \
	"confirmed, deliveries_after_release"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_MSG_INSERT] =
	    "INSERT INTO messages (" MSG_COLUMNS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_MSG_FIND] = "SELECT " MSG_COLUMNS " FROM messages "
	                "WHERE host = ?1 AND queue_id = ?2 "
	                "ORDER BY time DESC, id DESC LIMIT 1",
	/* a bounded delete, oldest first, through the time index */
	[ST_MSG_PRUNE] = "DELETE FROM messages WHERE id IN "
	                 "(SELECT id FROM messages WHERE time < ?1 "
	                 "ORDER BY time LIMIT ?2)",
	[ST_HOLD_OPEN] = "SELECT id, until FROM holds "
	                 "WHERE identity = ?1 AND scope = ?2 "
	                 "AND released IS NULL",
	[ST_HOLD_INSERT] = "INSERT INTO holds (identity, scope, reason, "
	                   "since, until, created_by, incident) "
	                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_HOLD_OPEN_ALL] =
	    "SELECT id, scope, until FROM holds "
	    "WHERE identity = ?1 AND (?2 IS NULL OR scope = ?2) "
	    "AND released IS NULL ORDER BY id",
	[ST_HOLD_CLOSE] = "UPDATE holds SET released = ?2, released_by = ?3, "
	                  "release_reason = ?4 "
	                  "WHERE id = ?1 AND released IS NULL",
	[ST_HOLDS_IN_FORCE] = "SELECT id, identity, scope, reason, created_by, "
	                      "since, until, incident FROM holds "
	                      "WHERE released IS NULL "
	                      "AND (until IS NULL OR until > ?1) ORDER BY id",
	[ST_GEN_BUMP] = "UPDATE meta SET value = value + 1 "
	                "WHERE key = 'holds_generation'",
	[ST_GEN_GET] = "SELECT value FROM meta WHERE key = 'holds_generation'",
	[ST_AUDIT_INSERT] = "INSERT INTO audit (time, actor, action, subject, "
	                    "reason, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_AUDIT_LIST] = "SELECT id, time, actor, action, subject, reason, "
	                  "detail FROM audit WHERE time >= ?1 ORDER BY id",
	/* one page after the cursor (?1, ?2), through the time index */
	[ST_MSG_SCAN] = "SELECT id, " MSG_COLUMNS " FROM messages "
	                "WHERE time >= ?1 AND (time > ?1 OR id > ?2) "
	                "AND time < ?3 AND (?4 IS NULL OR host = ?4) "
	                "ORDER BY time, id LIMIT ?5",
	/*
	 * SET expressions see the row as it was: the reply is the one of
	 * the latest time, and times never move backwards when two hosts'
	 * clocks or a late writer disagree. The other columns keep the
	 * first value known.
	 */
	[ST_BLOCK_UPSERT] =
	    "INSERT INTO blocks (" BLOCK_COLUMNS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?18, 1, ?19) "
	    "ON CONFLICT (" BLOCK_KEY ") DO UPDATE SET "
	    "count = blocks.count + 1, "
	    "reply = CASE WHEN excluded.last_seen >= blocks.last_seen "
	    "THEN excluded.reply ELSE blocks.reply END, "
	    "first_seen = CASE WHEN excluded.first_seen < blocks.first_seen "
	    "THEN excluded.first_seen ELSE blocks.first_seen END, "
	    "last_seen = CASE WHEN excluded.last_seen > blocks.last_seen "
	    "THEN excluded.last_seen ELSE blocks.last_seen END, "
	    "class = COALESCE(blocks.class, excluded.class), "
	    "smtp_code = COALESCE(blocks.smtp_code, excluded.smtp_code), "
	    "remedy = COALESCE(blocks.remedy, excluded.remedy), "
	    "mx_host = COALESCE(blocks.mx_host, excluded.mx_host), "
	    "mx_ip = COALESCE(blocks.mx_ip, excluded.mx_ip), "
	    "server_tag = COALESCE(blocks.server_tag, excluded.server_tag), "
	    "server_time = COALESCE(blocks.server_time, "
	    "excluded.server_time), "
	    "identity = COALESCE(blocks.identity, excluded.identity), "
	    "incident = COALESCE(blocks.incident, excluded.incident)",
	[ST_BLOCK_FIND] = "SELECT id, incident FROM blocks WHERE host = ?1 "
	                  "AND COALESCE(queue_id, '') = COALESCE(?2, '') "
	                  "AND COALESCE(recipient, '') = COALESCE(?3, '') "
	                  "AND COALESCE(provider, '') = COALESCE(?4, '') "
	                  "AND COALESCE(enhanced_code, '') = COALESCE(?5, '') "
	                  "AND COALESCE(provider_code, '') = COALESCE(?6, '') "
	                  "AND COALESCE(egress_ip, '') = COALESCE(?7, '')",
	[ST_BLOCKS_ALL] = BLOCK_SELECT BLOCK_FILTER,
	[ST_BLOCKS_BY_PROVIDER] =
	    BLOCK_SELECT "provider = ?2 AND " BLOCK_FILTER,
	[ST_BLOCKS_BY_IDENTITY] =
	    BLOCK_SELECT "identity = ?4 AND " BLOCK_FILTER,
	[ST_BLOCKS_BY_INCIDENT] =
	    BLOCK_SELECT "incident = ?6 AND " BLOCK_FILTER,
	[ST_BLOCK_MAX_ID] = "SELECT COALESCE(max(id), 0) FROM blocks",
	[ST_BLOCK_LINK] = "UPDATE blocks SET incident = ?1 "
	                  "WHERE incident IS NULL AND provider = ?2 "
	                  "AND COALESCE(egress_ip, '') = COALESCE(?3, '')",
	/* an incident's block figures, always derived from its rows */
	[ST_INCIDENT_REFRESH] =
	    "UPDATE incidents SET "
	    "blocks = (SELECT count(*) FROM blocks WHERE incident = ?1), "
	    "first_block = (SELECT min(first_seen) FROM blocks "
	    "WHERE incident = ?1), "
	    "last_block = (SELECT max(last_seen) FROM blocks "
	    "WHERE incident = ?1) WHERE id = ?1",
	[ST_INCIDENT_ACTIVE] =
	    "SELECT id FROM incidents WHERE provider = ?1 "
	    "AND COALESCE(egress_ip, '') = COALESCE(?2, '') "
	    "AND state IN ('open', 'released') ORDER BY id DESC LIMIT 1",
	[ST_INCIDENT_INSERT] = "INSERT INTO incidents (host, provider, "
	                       "egress_ip, state, opened) "
	                       "VALUES (?1, ?2, ?3, 'open', ?4)",
	[ST_INCIDENT_GET] = "SELECT " INC_COLUMNS " FROM incidents "
	                    "WHERE id = ?1",
	[ST_INCIDENT_UPDATE] = "UPDATE incidents SET state = ?2, "
	                       "suspects = ?3, holds = ?4, notified = ?5, "
	                       "released = ?6, confirmed = ?7, "
	                       "deliveries_after_release = "
	                       "max(deliveries_after_release, ?8) "
	                       "WHERE id = ?1",
	[ST_INCIDENTS] = "SELECT " INC_COLUMNS " FROM incidents "
	                 "WHERE (?1 IS NULL OR state = ?1) "
	                 "ORDER BY opened DESC, id DESC",
	[ST_INCIDENT_DELIVERED] =
	    "UPDATE incidents SET deliveries_after_release = "
	    "deliveries_after_release + ?2 WHERE state = 'released' AND "
	    "(provider = ?1 OR substr(provider, 1, length(?1) + 1) = ?1 || "
	    "'-')",
	[ST_BLOCK_STATS_CODE] =
	    "SELECT " BLOCK_CODE_KEY
	    ", NULL, NULL, NULL, " BLOCK_STATS_FIGURES BLOCK_STATS_WHERE
	    "GROUP BY " BLOCK_CODE_KEY " ORDER BY " BLOCK_CODE_KEY " LIMIT ?7",
	[ST_BLOCK_STATS_IDENTITY] =
	    "SELECT provider, NULL, NULL, NULL, NULL, NULL, NULL, identity, "
	    "NULL, NULL, " BLOCK_STATS_FIGURES BLOCK_STATS_WHERE
	    "GROUP BY provider, identity ORDER BY provider, identity "
	    "LIMIT ?7",
	[ST_BLOCK_STATS_DEST] =
	    "SELECT provider, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
	    "mx_host, " RCPT_DOMAIN ", " BLOCK_STATS_FIGURES BLOCK_STATS_WHERE
	    "GROUP BY 1, 9, 10 ORDER BY 1, 9, 10 LIMIT ?7",
	/* IS: NULL matches NULL, and an index on provider still serves */
	[ST_BLOCK_LATEST] =
	    BLOCK_SELECT "last_seen >= ?1 AND provider IS ?2 "
	                 "AND smtp_code IS ?3 AND enhanced_code IS ?4 "
	                 "AND provider_code IS ?5 AND egress_ip IS ?6 "
	                 "ORDER BY last_seen DESC, id DESC LIMIT 1",
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
};

#define DB(st) (((struct sq *)(st)->be)->db)
#define STMT(st, i) (((struct sq *)(st)->be)->stmt[(i)])

/*
 * dberr - describe the connection's last error; returns -1. SQLite's
 * text for a failed open or I/O ("unable to open database file") does
 * not say why, so the system error is added where there is one.
 */
static int
dberr(struct og_store *st, const char *what)
{
	sqlite3 *db = DB(st);
	int code = sqlite3_extended_errcode(db), sys = sqlite3_system_errno(db);
	const char *why = NULL;

	if ((code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_IOERR ||
	    (code & 0xff) == SQLITE_READONLY)
		why = sys != 0 ? strerror(sys) : NULL;
#ifdef SQLITE_CANTOPEN_SYMLINK
	if (code == SQLITE_CANTOPEN_SYMLINK)
		why = "the path is a symbolic link";
#endif
	if (why != NULL)
		og_store_seterr(
		    st, "%s: %s (%s)", what, sqlite3_errmsg(db), why);
	else
		og_store_seterr(st, "%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

/* finish - make a statement reusable and drop its bound values */
static void
finish(sqlite3_stmt *s)
{
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

static int
bind_str(sqlite3_stmt *s, int i, const char *v)
{
	size_t n;

	if (v == NULL)
		return sqlite3_bind_null(s, i);
	/* store.c bounds every string; this only keeps the cast honest */
	if ((n = strlen(v)) > INT_MAX)
		return SQLITE_TOOBIG;
	return sqlite3_bind_text(s, i, v, (int)n, SQLITE_STATIC);
}

/* bind_opt - 0 means "none" and is stored as NULL */
static int
bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
	return v == 0 ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

/* bound - check the OR of bind results; on failure reset and describe */
static int
bound(struct og_store *st, sqlite3_stmt *s, int rc, const char *what)
{
	if (rc == SQLITE_OK)
		return 0;
	(void)dberr(st, what);
	finish(s);
	return -1;
}

/* run - step a bound statement that returns no rows */
static int
run(struct og_store *st, enum stmt_id i, const char *what)
{
	sqlite3_stmt *s = STMT(st, i);
	int rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		(void)dberr(st, what);
	finish(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* col_dup - a text column as the caller's string, NULL for NULL */
static char *
col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	if ((t = sqlite3_column_text(s, i)) == NULL)
		og_fatalx(EX_OSERR, "sqlite: out of memory reading a column");
	return og_strndup((const char *)t, (size_t)sqlite3_column_bytes(s, i));
}

static int
begin(struct og_store *st)
{
	return run(st, ST_BEGIN, "begin transaction");
}

/* rollback - end a failed transaction, keeping the error that ended it */
static void
rollback(struct og_store *st)
{
	sqlite3_stmt *s = STMT(st, ST_ROLLBACK);

	/* SQLite rolls back by itself on some errors (SQLITE_FULL...) */
	if (sqlite3_get_autocommit(DB(st)))
		return;
	(void)sqlite3_step(s);
	finish(s);
}

static int
commit(struct og_store *st)
{
	if (run(st, ST_COMMIT, "commit") == 0)
		return 0;
	rollback(st);
	return -1;
}

/* grow - make room for one more element of an array of *cap */
static void *
grow(void *arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	return og_reallocarray(arr, *cap, size);
}

/* Opening: the directory, the connection, settings, migrations. */

/* check_dir - the file's directory must exist; SQLite's own is vague */
static int
check_dir(struct og_store *st, const char *path)
{
	struct stat sb;
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc = 0;

	dir = og_strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (stat(dir, &sb) < 0) {
		og_store_seterr(st, "directory %s: %s", dir,
		    errno == ENOENT ? "does not exist" : strerror(errno));
		rc = -1;
	} else if (!S_ISDIR(sb.st_mode)) {
		og_store_seterr(st, "%s is not a directory", dir);
		rc = -1;
	} else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		og_store_seterr(st, "%s is a directory", path);
		rc = -1;
	}
	og_free(dir);
	return rc;
}

/* exec - one-off SQL text of our own (pragmas, migrations) */
static int
exec(struct og_store *st, const char *what, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(DB(st), sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	og_store_seterr(
	    st, "%s: %s", what, msg != NULL ? msg : sqlite3_errmsg(DB(st)));
	sqlite3_free(msg);
	return -1;
}

/* query_int - run a one-off single-value query: OG_FOUND/NOTFOUND/ERROR */
static int
query_int(struct og_store *st, const char *what, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(DB(st), sql, -1, &s, NULL) != SQLITE_OK)
		return dberr(st, what);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_INTEGER) {
		og_store_seterr(st, "%s: not an integer", what);
		rc = OG_ERROR;
	} else if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = OG_FOUND;
	} else if (rc == SQLITE_DONE)
		rc = OG_NOTFOUND;
	else
		rc = dberr(st, what);
	(void)sqlite3_finalize(s);
	return rc;
}

/*
 * set_wal - switch to WAL. Unlike other statements, the switch of a
 * new file can fail with SQLITE_BUSY at once, without the busy handler,
 * while another connection opens the same file; so retry it ourselves
 * for as long as the busy timeout would have waited.
 */
static int
set_wal(struct og_store *st)
{
	struct timespec pause = { 0, 0 };
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	long waited_ms = 0, step_ms = 1;
	int rc;

	if (sqlite3_prepare_v2(
	        DB(st), "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
		return dberr(st, "journal_mode");
	while (((rc = sqlite3_step(s)) & 0xff) == SQLITE_BUSY &&
	    waited_ms < OG_STORE_BUSY_MS) {
		(void)sqlite3_reset(s);
		pause.tv_nsec = step_ms * 1000000L;
		(void)nanosleep(&pause, NULL);
		waited_ms += step_ms;
		step_ms = step_ms < 64 ? step_ms * 2 : 64;
	}
	if (rc != SQLITE_ROW)
		(void)dberr(st, "journal_mode");
	else if ((mode = sqlite3_column_text(s, 0)) == NULL ||
	    strcmp((const char *)mode, "wal") != 0) {
		og_store_seterr(st, "cannot use WAL mode (journal_mode is %s)",
		    mode != NULL ? (const char *)mode : "unknown");
		rc = SQLITE_ERROR;
	}
	(void)sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
set_pragmas(struct og_store *st)
{
	if (set_wal(st) < 0)
		return -1;
	/*
	 * A 64 MiB page cache keeps the indexes' hot pages; checkpoints
	 * every 10,000 pages instead of 1,000 keep batches from flushing.
	 */
	return exec(st, "pragmas",
	    "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
	    "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000;");
}

/* schema_version - 0 for a new file, else meta's schema_version */
static int
schema_version(struct og_store *st, int64_t *v)
{
	int rc;

	*v = 0;
	rc = query_int(st, "schema version",
	    "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name = 'meta'",
	    v);
	if (rc != OG_FOUND)
		return rc == OG_NOTFOUND ? dberr(st, "schema version") : -1;
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
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(DB(st),
	        "INSERT OR REPLACE INTO meta (key, value) "
	        "VALUES ('schema_version', ?1)",
	        -1, &s, NULL) != SQLITE_OK)
		return dberr(st, "set schema version");
	if ((rc = sqlite3_bind_int64(s, 1, v)) == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		(void)dberr(st, "set schema version");
	(void)sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * migrate - one transaction per step. The version is read inside the
 * write transaction, so two processes opening a new file at once do not
 * both run a step: the second waits, then sees the new version.
 */
static int
migrate(struct og_store *st)
{
	struct og_strbuf what;
	int64_t v = 0;

	og_strbuf_init(&what, 64);
	for (;;) {
		if (exec(st, "begin migration", "BEGIN IMMEDIATE") < 0)
			break;
		if (schema_version(st, &v) < 0)
			goto rollback;
		if (v > OG_STORE_SCHEMA_VERSION) {
			og_store_seterr(st,
			    "schema version %lld is newer than this "
			    "program knows (%d): use a newer outguard",
			    (long long)v, OG_STORE_SCHEMA_VERSION);
			goto rollback;
		}
		if (v == OG_STORE_SCHEMA_VERSION) {
			og_strbuf_release(&what);
			return exec(st, "end migration", "COMMIT");
		}
		og_strbuf_reset(&what);
		(void)og_strbuf_addf(&what, "migration to schema version %lld",
		    (long long)v + 1);
		if (exec(st, og_strbuf_str(&what), migrations[v]) < 0 ||
		    set_schema_version(st, v + 1) < 0 ||
		    exec(st, og_strbuf_str(&what), "COMMIT") < 0)
			goto rollback;
		og_info("%s: %s done", st->spec, og_strbuf_str(&what));
	}
	og_strbuf_release(&what);
	return -1;
rollback:
	if (!sqlite3_get_autocommit(DB(st)))
		(void)sqlite3_exec(DB(st), "ROLLBACK", NULL, NULL, NULL);
	og_strbuf_release(&what);
	return -1;
}

static int
prepare_all(struct og_store *st)
{
	struct sq *be = st->be;
	int i;

	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(be->db, stmt_sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &be->stmt[i],
		        NULL) != SQLITE_OK)
			return dberr(st, stmt_sql[i]);
	return 0;
}

static void
sq_close(struct og_store *st)
{
	struct sq *be = st->be;
	int i;

	if (be == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		(void)sqlite3_finalize(be->stmt[i]);
	if (sqlite3_close(be->db) != SQLITE_OK)
		og_warnx("%s: close: %s", st->spec, sqlite3_errmsg(be->db));
	st->be = og_free(be);
}

static int
sq_open(struct og_store *st, const char *path)
{
	struct sq *be;
	int flags;

	st->be = be = og_calloc(1, sizeof(*be));
	/* UPSERT (ST_BLOCK_UPSERT) came with SQLite 3.24 */
	if (sqlite3_libversion_number() < 3024000) {
		og_store_seterr(st,
		    "SQLite %s is too old: 3.24 or later needed",
		    sqlite3_libversion());
		goto fail;
	}
	if (check_dir(st, path) < 0)
		goto fail;
	flags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_NOFOLLOW
	flags |= SQLITE_OPEN_NOFOLLOW; /* no symlink as the store */
#endif
	if (sqlite3_open_v2(path, &be->db, flags, NULL) != SQLITE_OK) {
		if (be->db == NULL)
			og_fatalx(EX_OSERR, "sqlite: out of memory");
		(void)dberr(st, "open");
		goto fail;
	}
	(void)sqlite3_extended_result_codes(be->db, 1);
	(void)sqlite3_busy_timeout(be->db, OG_STORE_BUSY_MS);
	if (set_pragmas(st) < 0 || migrate(st) < 0 || prepare_all(st) < 0)
		goto fail;
	return 0;
fail:
	sq_close(st);
	return -1;
}

/*
 * sq_inspect - the schema version and row counts, for "store check":
 * read-only, and a file that does not exist yet is schema version 0
 */
static int
sq_inspect(struct og_store *st, const char *path, struct og_store_info *out)
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
	struct sq *be;
	int64_t v, n;
	size_t i;
	int rc = -1;

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		/* no file yet: migrate would make it, if its directory is there */
		const char *slash = strrchr(path, '/');
		char dir[4096];

		if (slash != NULL && slash != path &&
		    (size_t)(slash - path) < sizeof(dir)) {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = '\0';
			if (access(dir, F_OK) < 0) {
				og_store_seterr(
				    st, "%s: %s", dir, strerror(errno));
				return -1;
			}
		}
		out->schema_version = 0;
		return 0;
	}
	st->be = be = og_calloc(1, sizeof(*be));
	if (sqlite3_open_v2(path, &be->db,
	        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK) {
		if (be->db == NULL)
			og_fatalx(EX_OSERR, "sqlite: out of memory");
		(void)dberr(st, "open");
		goto done;
	}
	(void)sqlite3_busy_timeout(be->db, OG_STORE_BUSY_MS);
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
	sq_close(st);
	return rc;
}

/* sq_check - "sqlite:" takes an absolute path to a file */
static int
sq_check(const char *arg, struct og_strbuf *err)
{
	const char *p;

	if (*arg != '/') {
		(void)og_strbuf_adds(err, "sqlite: expected an absolute path");
		return -1;
	}
	if (arg[strlen(arg) - 1] == '/') {
		(void)og_strbuf_adds(err, "sqlite: path names a directory");
		return -1;
	}
	for (p = arg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			(void)og_strbuf_adds(
			    err, "sqlite: control character in path");
			return -1;
		}
	return 0;
}

/* Messages. */

static int
sq_add_messages(struct og_store *st, const struct og_msgrec *m, size_t n)
{
	sqlite3_stmt *s = STMT(st, ST_MSG_INSERT);
	size_t i;

	if (begin(st) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		int rc = bind_str(s, 1, m[i].host);

		rc |= bind_str(s, 2, m[i].queue_id);
		rc |= sqlite3_bind_int64(s, 3, m[i].time);
		rc |= bind_str(s, 4, m[i].sasl_username);
		rc |= bind_str(s, 5, m[i].sasl_method);
		rc |= bind_str(s, 6, m[i].client_address);
		rc |= bind_str(s, 7, m[i].client_name);
		rc |= bind_str(s, 8, m[i].sender);
		rc |= sqlite3_bind_int64(s, 9, m[i].recipient_count);
		rc |= sqlite3_bind_int64(s, 10, m[i].size);
		rc |= bind_str(s, 11, m[i].rcpt_summary);
		if (bound(st, s, rc, "insert message") < 0 ||
		    run(st, ST_MSG_INSERT, "insert message") < 0) {
			rollback(st);
			return -1;
		}
	}
	return commit(st);
}

/* msg_row - MSG_COLUMNS from column c on */
static void
msg_row(sqlite3_stmt *s, int c, struct og_msgrec_owned *out)
{
	out->host = col_dup(s, c);
	out->queue_id = col_dup(s, c + 1);
	out->time = sqlite3_column_int64(s, c + 2);
	out->sasl_username = col_dup(s, c + 3);
	out->sasl_method = col_dup(s, c + 4);
	out->client_address = col_dup(s, c + 5);
	out->client_name = col_dup(s, c + 6);
	out->sender = col_dup(s, c + 7);
	out->recipient_count = (long)sqlite3_column_int64(s, c + 8);
	out->size = (long long)sqlite3_column_int64(s, c + 9);
	out->rcpt_summary = col_dup(s, c + 10);
}

static int
sq_find_message(struct og_store *st, const char *host, const char *queue_id,
    struct og_msgrec_owned *out)
{
	sqlite3_stmt *s = STMT(st, ST_MSG_FIND);
	int rc;

	rc = bind_str(s, 1, host) | bind_str(s, 2, queue_id);
	if (bound(st, s, rc, "find message") < 0)
		return OG_ERROR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		msg_row(s, 0, out);
		rc = OG_FOUND;
	} else if (rc == SQLITE_DONE)
		rc = OG_NOTFOUND;
	else
		rc = dberr(st, "find message");
	finish(s);
	return rc;
}

static int
sq_prune_messages(struct og_store *st, int64_t before, int limit, long *deleted)
{
	sqlite3_stmt *s = STMT(st, ST_MSG_PRUNE);
	int rc;

	rc = sqlite3_bind_int64(s, 1, before) | sqlite3_bind_int(s, 2, limit);
	if (bound(st, s, rc, "prune messages") < 0 ||
	    run(st, ST_MSG_PRUNE, "prune messages") < 0)
		return -1;
	*deleted = (long)sqlite3_changes(DB(st));
	return 0;
}

/* Holds and audit. */

static int
audit_insert(struct og_store *st, int64_t now, const char *actor,
    const char *action, const char *subject, const char *reason,
    const char *detail)
{
	sqlite3_stmt *s = STMT(st, ST_AUDIT_INSERT);
	int rc;

	rc = sqlite3_bind_int64(s, 1, now);
	rc |= bind_str(s, 2, actor);
	rc |= bind_str(s, 3, action);
	rc |= bind_str(s, 4, subject);
	rc |= bind_str(s, 5, reason);
	rc |= bind_str(s, 6, detail);
	if (bound(st, s, rc, "insert audit") < 0)
		return -1;
	return run(st, ST_AUDIT_INSERT, "insert audit");
}

/* close_hold - mark one open hold released and audit it */
static int
close_hold(struct og_store *st, int64_t id, const char *identity,
    const char *scope, int64_t until, const char *actor, const char *action,
    const char *reason, int64_t now)
{
	sqlite3_stmt *s = STMT(st, ST_HOLD_CLOSE);
	struct og_strbuf detail;
	int rc;

	rc = sqlite3_bind_int64(s, 1, id);
	rc |= sqlite3_bind_int64(s, 2, now);
	rc |= bind_str(s, 3, actor);
	rc |= bind_str(s, 4, reason);
	if (bound(st, s, rc, "release hold") < 0 ||
	    run(st, ST_HOLD_CLOSE, "release hold") < 0)
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
	sqlite3_stmt *s = STMT(st, ST_HOLD_OPEN);
	int rc;

	rc = bind_str(s, 1, identity) | bind_str(s, 2, scope);
	if (bound(st, s, rc, "find hold") < 0)
		return OG_ERROR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*until = sqlite3_column_int64(s, 1); /* NULL reads as 0 */
		rc = OG_FOUND;
	} else if (rc == SQLITE_DONE)
		rc = OG_NOTFOUND;
	else
		rc = dberr(st, "find hold");
	finish(s);
	return rc;
}

static int
insert_hold(struct og_store *st, const struct og_hold *h, int64_t *id)
{
	sqlite3_stmt *s = STMT(st, ST_HOLD_INSERT);
	struct og_strbuf detail;
	int rc;

	rc = bind_str(s, 1, h->identity);
	rc |= bind_str(s, 2, h->scope);
	rc |= bind_str(s, 3, h->reason);
	rc |= sqlite3_bind_int64(s, 4, h->since);
	rc |= bind_opt(s, 5, h->until);
	rc |= bind_str(s, 6, h->created_by);
	rc |= bind_opt(s, 7, h->incident);
	if (bound(st, s, rc, "insert hold") < 0 ||
	    run(st, ST_HOLD_INSERT, "insert hold") < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(DB(st));
	og_strbuf_init(&detail, OG_STORE_TEXT_MAX);
	og_store_hold_detail(&detail, h->scope, h->until, h->incident);
	rc = audit_insert(st, h->since, h->created_by, "hold", h->identity,
	    h->reason, og_strbuf_str(&detail));
	og_strbuf_release(&detail);
	return rc;
}

static int
sq_hold(struct og_store *st, const struct og_hold *h, int64_t now, int64_t *id)
{
	int64_t old = 0, until = 0;
	int rc;

	if (begin(st) < 0)
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
	    run(st, ST_GEN_BUMP, "bump holds generation") < 0)
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
sq_release(struct og_store *st, const char *identity, const char *scope,
    const char *actor, const char *reason, int64_t now)
{
	sqlite3_stmt *s = STMT(st, ST_HOLD_OPEN_ALL);
	struct open_row *rows = NULL;
	size_t i, n = 0, cap = 0;
	int rc;

	if (begin(st) < 0)
		return OG_ERROR;
	rc = bind_str(s, 1, identity) | bind_str(s, 2, scope);
	if (bound(st, s, rc, "find holds") < 0)
		goto fail;
	/* collect first: no updates under a running SELECT */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rows = grow(rows, n, &cap, sizeof(*rows));
		rows[n].id = sqlite3_column_int64(s, 0);
		rows[n].scope = col_dup(s, 1);
		rows[n].until = sqlite3_column_int64(s, 2);
		n++;
	}
	if (rc != SQLITE_DONE)
		(void)dberr(st, "find holds");
	finish(s);
	if (rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < n; i++)
		if (close_hold(st, rows[i].id, identity,
		        rows[i].scope != NULL ? rows[i].scope : "",
		        rows[i].until, actor, "release", reason, now) < 0)
			goto fail;
	if (n > 0 && run(st, ST_GEN_BUMP, "bump holds generation") < 0)
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

/* too_many - a list call would pass OG_STORE_ROWS_MAX */
static int
too_many(struct og_store *st, const char *what)
{
	og_store_seterr(st, "%s: more than %d rows", what, OG_STORE_ROWS_MAX);
	return -1;
}

static int
sq_holds(struct og_store *st, int64_t now, struct og_hold **out, size_t *np)
{
	sqlite3_stmt *s = STMT(st, ST_HOLDS_IN_FORCE);
	struct og_hold *h = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (bound(st, s, sqlite3_bind_int64(s, 1, now), "list holds") < 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n >= OG_STORE_ROWS_MAX) {
			rc = too_many(st, "list holds");
			break;
		}
		h = grow(h, n, &cap, sizeof(*h));
		h[n].id = sqlite3_column_int64(s, 0);
		h[n].identity = col_dup(s, 1);
		h[n].scope = col_dup(s, 2);
		h[n].reason = col_dup(s, 3);
		h[n].created_by = col_dup(s, 4);
		h[n].since = sqlite3_column_int64(s, 5);
		h[n].until = sqlite3_column_int64(s, 6);
		h[n].incident = sqlite3_column_int64(s, 7);
		n++;
	}
	if (rc != SQLITE_DONE && rc != -1)
		(void)dberr(st, "list holds");
	finish(s);
	if (rc != SQLITE_DONE) {
		og_store_holds_free(h, n);
		return -1;
	}
	*out = h;
	*np = n;
	return 0;
}

static int
sq_generation(struct og_store *st, uint64_t *gen)
{
	sqlite3_stmt *s = STMT(st, ST_GEN_GET);
	int rc;

	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*gen = (uint64_t)sqlite3_column_int64(s, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		og_store_seterr(st, "holds generation: missing from meta");
		rc = -1;
	} else
		rc = dberr(st, "holds generation");
	finish(s);
	return rc;
}

static int
sq_audit(struct og_store *st, int64_t now, const char *actor,
    const char *action, const char *subject, const char *reason,
    const char *detail)
{
	return audit_insert(st, now, actor, action, subject, reason, detail);
}

static int
sq_audit_list(
    struct og_store *st, int64_t since, struct og_audit **out, size_t *np)
{
	sqlite3_stmt *s = STMT(st, ST_AUDIT_LIST);
	struct og_audit *a = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (bound(st, s, sqlite3_bind_int64(s, 1, since), "list audit") < 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n >= OG_STORE_ROWS_MAX) {
			rc = too_many(st, "list audit");
			break;
		}
		a = grow(a, n, &cap, sizeof(*a));
		a[n].id = sqlite3_column_int64(s, 0);
		a[n].time = sqlite3_column_int64(s, 1);
		a[n].actor = col_dup(s, 2);
		a[n].action = col_dup(s, 3);
		a[n].subject = col_dup(s, 4);
		a[n].reason = col_dup(s, 5);
		a[n].detail = col_dup(s, 6);
		n++;
	}
	if (rc != SQLITE_DONE && rc != -1)
		(void)dberr(st, "list audit");
	finish(s);
	if (rc != SQLITE_DONE) {
		og_store_audit_free(a, n);
		return -1;
	}
	*out = a;
	*np = n;
	return 0;
}

/*
 * Message scans, a page at a time: the rows of a page are copied out and
 * the statement reset before cb sees them, so no read transaction stays
 * open while cb works (it would hold back WAL checkpoints), and cb may
 * use this handle, even for another scan. The cursor is (time, id): a
 * row written during the scan shows up if it sorts after the cursor.
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
	sqlite3_stmt *s = STMT(st, ST_MSG_SCAN);
	int rc;

	rc = sqlite3_bind_int64(s, 1, t);
	rc |= sqlite3_bind_int64(s, 2, id);
	rc |= sqlite3_bind_int64(s, 3, until);
	rc |= bind_str(s, 4, host);
	rc |= sqlite3_bind_int(s, 5, SCAN_PAGE);
	if (bound(st, s, rc, "scan messages") < 0)
		return -1;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*last_id = sqlite3_column_int64(s, 0);
		msg_row(s, 1, &page[(*n)++]);
	}
	if (rc != SQLITE_DONE)
		(void)dberr(st, "scan messages");
	finish(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_messages_scan(struct og_store *st, const char *host, int64_t since,
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
 * Evidence: block rows and incidents. An incident's blocks, first_block
 * and last_block are derived from its block rows, in the transaction
 * that changes them, never written by og_store_incident_update(): two
 * watchers updating one incident cannot lose each other's counts.
 */

/* refresh_incident - recount an incident's block figures */
static int
refresh_incident(struct og_store *st, int64_t incident)
{
	sqlite3_stmt *s = STMT(st, ST_INCIDENT_REFRESH);

	if (bound(st, s, sqlite3_bind_int64(s, 1, incident),
	        "count incident blocks") < 0)
		return -1;
	return run(st, ST_INCIDENT_REFRESH, "count incident blocks");
}

/* block_find - the id and incident of b's aggregation row */
static int
block_find(struct og_store *st, const struct og_block *b, int64_t *id,
    int64_t *incident)
{
	sqlite3_stmt *s = STMT(st, ST_BLOCK_FIND);
	int rc;

	rc = bind_str(s, 1, b->host);
	rc |= bind_str(s, 2, b->queue_id);
	rc |= bind_str(s, 3, b->recipient);
	rc |= bind_str(s, 4, b->provider);
	rc |= bind_str(s, 5, b->enhanced_code);
	rc |= bind_str(s, 6, b->provider_code);
	rc |= bind_str(s, 7, b->egress_ip);
	if (bound(st, s, rc, "find block") < 0)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*incident = sqlite3_column_int64(s, 1); /* NULL reads as 0 */
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		og_store_seterr(st, "find block: the row just written is gone");
		rc = -1;
	} else
		rc = dberr(st, "find block");
	finish(s);
	return rc;
}

/*
 * sq_block_record - the upsert, then its row's id (RETURNING would need
 * SQLite 3.35), then the figures of the incident the row belongs to
 */
static int
sq_block_record(
    struct og_store *st, const struct og_block *b, int64_t now, int64_t *id)
{
	sqlite3_stmt *s = STMT(st, ST_BLOCK_UPSERT);
	int64_t incident = 0;
	int rc;

	if (begin(st) < 0)
		return -1;
	rc = bind_str(s, 1, b->host);
	rc |= bind_str(s, 2, b->queue_id);
	rc |= bind_str(s, 3, b->recipient);
	rc |= bind_str(s, 4, b->provider);
	rc |= bind_str(s, 5, b->class_);
	rc |= bind_str(s, 6, b->smtp_code);
	rc |= bind_str(s, 7, b->enhanced_code);
	rc |= bind_str(s, 8, b->provider_code);
	rc |= bind_str(s, 9, b->remedy);
	rc |= bind_str(s, 10, b->reply);
	rc |= bind_str(s, 11, b->mx_host);
	rc |= bind_str(s, 12, b->mx_ip);
	rc |= bind_str(s, 13, b->egress_ip);
	rc |= bind_str(s, 14, b->server_tag);
	rc |= bind_str(s, 15, b->server_time);
	rc |= bind_str(s, 16, b->identity);
	rc |= bind_str(s, 17, b->source);
	rc |= sqlite3_bind_int64(s, 18, now);
	rc |= bind_opt(s, 19, b->incident);
	if (bound(st, s, rc, "record block") < 0 ||
	    run(st, ST_BLOCK_UPSERT, "record block") < 0 ||
	    block_find(st, b, id, &incident) < 0 ||
	    (incident != 0 && refresh_incident(st, incident) < 0)) {
		rollback(st);
		return -1;
	}
	return commit(st);
}

/* block_row - a row of BLOCK_SELECT */
static void
block_row(sqlite3_stmt *s, struct og_block_owned *o)
{
	o->id = sqlite3_column_int64(s, 0);
	o->host = col_dup(s, 1);
	o->queue_id = col_dup(s, 2);
	o->recipient = col_dup(s, 3);
	o->provider = col_dup(s, 4);
	o->class_ = col_dup(s, 5);
	o->smtp_code = col_dup(s, 6);
	o->enhanced_code = col_dup(s, 7);
	o->provider_code = col_dup(s, 8);
	o->remedy = col_dup(s, 9);
	o->reply = col_dup(s, 10);
	o->mx_host = col_dup(s, 11);
	o->mx_ip = col_dup(s, 12);
	o->egress_ip = col_dup(s, 13);
	o->server_tag = col_dup(s, 14);
	o->server_time = col_dup(s, 15);
	o->identity = col_dup(s, 16);
	o->source = col_dup(s, 17);
	o->first_seen = sqlite3_column_int64(s, 18);
	o->last_seen = sqlite3_column_int64(s, 19);
	o->count = (long)sqlite3_column_int64(s, 20);
	o->incident = sqlite3_column_int64(s, 21);
}

static int
sq_blocks(struct og_store *st, const struct og_block_filter *f,
    struct og_block_owned **out, size_t *np)
{
	enum stmt_id which = f->incident != 0 ? ST_BLOCKS_BY_INCIDENT
	    : f->identity != NULL             ? ST_BLOCKS_BY_IDENTITY
	    : f->provider != NULL             ? ST_BLOCKS_BY_PROVIDER
	                                      : ST_BLOCKS_ALL;
	sqlite3_stmt *s = STMT(st, which);
	struct og_block_owned *b = NULL;
	size_t n = 0, cap = 0;
	int rc;

	rc = sqlite3_bind_int64(s, 1, f->since);
	rc |= bind_str(s, 2, f->provider);
	rc |= bind_str(s, 3, f->code);
	rc |= bind_str(s, 4, f->identity);
	rc |= bind_str(s, 5, f->egress_ip);
	rc |= sqlite3_bind_int64(s, 6, f->incident);
	rc |= sqlite3_bind_int64(s, 7, (sqlite3_int64)f->limit);
	if (bound(st, s, rc, "list blocks") < 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n >= OG_STORE_ROWS_MAX) {
			rc = too_many(st, "list blocks");
			break;
		}
		b = grow(b, n, &cap, sizeof(*b));
		block_row(s, &b[n++]);
	}
	if (rc != SQLITE_DONE && rc != -1)
		(void)dberr(st, "list blocks");
	finish(s);
	if (rc != SQLITE_DONE) {
		og_store_blocks_free(b, n);
		return -1;
	}
	*out = b;
	*np = n;
	return 0;
}

static int
sq_block_max_id(struct og_store *st, int64_t *id)
{
	sqlite3_stmt *s = STMT(st, ST_BLOCK_MAX_ID);
	int rc;

	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		rc = 0;
	} else
		rc = dberr(st, "block max id");
	finish(s);
	return rc;
}

/* incident_row - a row of INC_COLUMNS */
static void
incident_row(sqlite3_stmt *s, struct og_incident *o)
{
	o->id = sqlite3_column_int64(s, 0);
	o->host = col_dup(s, 1);
	o->provider = col_dup(s, 2);
	o->egress_ip = col_dup(s, 3);
	o->state = col_dup(s, 4);
	o->opened = sqlite3_column_int64(s, 5);
	o->first_block = sqlite3_column_int64(s, 6);
	o->last_block = sqlite3_column_int64(s, 7);
	o->blocks = (long)sqlite3_column_int64(s, 8);
	o->suspects = col_dup(s, 9);
	o->holds = col_dup(s, 10);
	o->notified = col_dup(s, 11);
	o->released = sqlite3_column_int64(s, 12);
	o->confirmed = sqlite3_column_int64(s, 13);
	o->deliveries_after_release = (long)sqlite3_column_int64(s, 14);
}

/* sq_incident_get - also the reader inside the other incident calls */
static int
sq_incident_get(struct og_store *st, int64_t id, struct og_incident *out)
{
	sqlite3_stmt *s = STMT(st, ST_INCIDENT_GET);
	int rc;

	if (bound(st, s, sqlite3_bind_int64(s, 1, id), "get incident") < 0)
		return OG_ERROR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		incident_row(s, out);
		rc = OG_FOUND;
	} else if (rc == SQLITE_DONE)
		rc = OG_NOTFOUND;
	else
		rc = dberr(st, "get incident");
	finish(s);
	return rc;
}

/* incident_must - like sq_incident_get, but a missing one is an error */
static int
incident_must(struct og_store *st, int64_t id, struct og_incident *out)
{
	int rc = sq_incident_get(st, id, out);

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
sq_block_link(struct og_store *st, int64_t incident, const char *provider,
    const char *egress_ip)
{
	sqlite3_stmt *s = STMT(st, ST_BLOCK_LINK);
	struct og_incident inc;
	int rc;

	memset(&inc, 0, sizeof(inc));
	if (begin(st) < 0)
		return -1;
	/* say "no incident N" rather than "FOREIGN KEY constraint failed" */
	if (incident_must(st, incident, &inc) < 0)
		goto fail;
	rc = sqlite3_bind_int64(s, 1, incident);
	rc |= bind_str(s, 2, provider);
	rc |= bind_str(s, 3, egress_ip);
	if (bound(st, s, rc, "link blocks") < 0 ||
	    run(st, ST_BLOCK_LINK, "link blocks") < 0 ||
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
	sqlite3_stmt *s = STMT(st, ST_INCIDENT_ACTIVE);
	int rc;

	rc = bind_str(s, 1, provider) | bind_str(s, 2, egress_ip);
	if (bound(st, s, rc, "find incident") < 0)
		return OG_ERROR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		rc = OG_FOUND;
	} else if (rc == SQLITE_DONE)
		rc = OG_NOTFOUND;
	else
		rc = dberr(st, "find incident");
	finish(s);
	return rc;
}

/*
 * sq_incident_open - find or create under BEGIN IMMEDIATE, so that two
 * processes seeing the same block at once agree on one incident
 */
static int
sq_incident_open(struct og_store *st, const char *host, const char *provider,
    const char *egress_ip, int64_t now, struct og_incident *out)
{
	sqlite3_stmt *s = STMT(st, ST_INCIDENT_INSERT);
	int64_t id = 0;
	int found, rc;

	if (begin(st) < 0)
		return OG_ERROR;
	if ((found = incident_active(st, provider, egress_ip, &id)) < 0)
		goto fail;
	if (found == OG_NOTFOUND) {
		rc = bind_str(s, 1, host);
		rc |= bind_str(s, 2, provider);
		rc |= bind_str(s, 3, egress_ip);
		rc |= sqlite3_bind_int64(s, 4, now);
		if (bound(st, s, rc, "open incident") < 0 ||
		    run(st, ST_INCIDENT_INSERT, "open incident") < 0)
			goto fail;
		id = sqlite3_last_insert_rowid(DB(st));
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
sq_incident_update(struct og_store *st, const struct og_incident *inc,
    const char *actor, int64_t now)
{
	sqlite3_stmt *s = STMT(st, ST_INCIDENT_UPDATE);
	struct og_incident old;
	int rc;

	memset(&old, 0, sizeof(old));
	if (begin(st) < 0)
		return -1;
	if (incident_must(st, inc->id, &old) < 0)
		goto fail;
	rc = sqlite3_bind_int64(s, 1, inc->id);
	rc |= bind_str(s, 2, inc->state);
	rc |= bind_str(s, 3, inc->suspects);
	rc |= bind_str(s, 4, inc->holds);
	rc |= bind_str(s, 5, inc->notified);
	rc |= bind_opt(s, 6, inc->released);
	rc |= bind_opt(s, 7, inc->confirmed);
	rc |= sqlite3_bind_int64(s, 8, inc->deliveries_after_release);
	if (bound(st, s, rc, "update incident") < 0 ||
	    run(st, ST_INCIDENT_UPDATE, "update incident") < 0)
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
sq_incident_delivered(
    struct og_store *st, const char *family, long n, long *updated)
{
	sqlite3_stmt *s = STMT(st, ST_INCIDENT_DELIVERED);
	int rc;

	rc = bind_str(s, 1, family);
	rc |= sqlite3_bind_int64(s, 2, n);
	if (bound(st, s, rc, "count deliveries") < 0 ||
	    run(st, ST_INCIDENT_DELIVERED, "count deliveries") < 0)
		return -1;
	*updated = (long)sqlite3_changes(DB(st));
	return 0;
}

static int
sq_incidents(struct og_store *st, const char *state, struct og_incident **out,
    size_t *np)
{
	sqlite3_stmt *s = STMT(st, ST_INCIDENTS);
	struct og_incident *inc = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (bound(st, s, bind_str(s, 1, state), "list incidents") < 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n >= OG_STORE_ROWS_MAX) {
			rc = too_many(st, "list incidents");
			break;
		}
		inc = grow(inc, n, &cap, sizeof(*inc));
		incident_row(s, &inc[n++]);
	}
	if (rc != SQLITE_DONE && rc != -1)
		(void)dberr(st, "list incidents");
	finish(s);
	if (rc != SQLITE_DONE) {
		og_store_incidents_free(inc, n);
		return -1;
	}
	*out = inc;
	*np = n;
	return 0;
}

/* Report figures (schema version 4). */

/* stat_row - a row of the BLOCK_STATS statements */
static void
stat_row(sqlite3_stmt *s, struct og_block_stat *o)
{
	o->provider = col_dup(s, 0);
	o->class_ = col_dup(s, 1);
	o->remedy = col_dup(s, 2);
	o->smtp_code = col_dup(s, 3);
	o->enhanced_code = col_dup(s, 4);
	o->provider_code = col_dup(s, 5);
	o->egress_ip = col_dup(s, 6);
	o->identity = col_dup(s, 7);
	o->mx_host = col_dup(s, 8);
	o->rcpt_domain = col_dup(s, 9);
	o->rows = (long)sqlite3_column_int64(s, 10);
	o->count = (long long)sqlite3_column_int64(s, 11);
	o->first_seen = sqlite3_column_int64(s, 12);
	o->last_seen = sqlite3_column_int64(s, 13);
}

static int
sq_block_stats(struct og_store *st, const struct og_block_filter *f,
    enum og_block_group by, struct og_block_stat **out, size_t *np)
{
	enum stmt_id which = by == OG_BLOCK_BY_IDENTITY
	    ? ST_BLOCK_STATS_IDENTITY
	    : by == OG_BLOCK_BY_DESTINATION ? ST_BLOCK_STATS_DEST
	                                    : ST_BLOCK_STATS_CODE;
	sqlite3_stmt *s = STMT(st, which);
	struct og_block_stat *b = NULL;
	size_t n = 0, cap = 0;
	int rc;

	rc = sqlite3_bind_int64(s, 1, f->since);
	rc |= bind_str(s, 2, f->provider);
	rc |= bind_str(s, 3, f->code);
	rc |= bind_str(s, 4, f->identity);
	rc |= bind_str(s, 5, f->egress_ip);
	rc |= sqlite3_bind_int64(s, 6, f->incident);
	rc |= sqlite3_bind_int64(s, 7, (sqlite3_int64)f->limit);
	if (bound(st, s, rc, "block figures") < 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n >= OG_STORE_ROWS_MAX) {
			rc = too_many(st, "block figures");
			break;
		}
		b = grow(b, n, &cap, sizeof(*b));
		stat_row(s, &b[n++]);
	}
	if (rc != SQLITE_DONE && rc != -1)
		(void)dberr(st, "block figures");
	finish(s);
	if (rc != SQLITE_DONE) {
		og_store_block_stats_free(b, n);
		return -1;
	}
	*out = b;
	*np = n;
	return 0;
}

static int
sq_block_latest(struct og_store *st, int64_t since,
    const struct og_block_stat *key, struct og_block_owned *out)
{
	sqlite3_stmt *s = STMT(st, ST_BLOCK_LATEST);
	int rc;

	rc = sqlite3_bind_int64(s, 1, since);
	rc |= bind_str(s, 2, key->provider);
	rc |= bind_str(s, 3, key->smtp_code);
	rc |= bind_str(s, 4, key->enhanced_code);
	rc |= bind_str(s, 5, key->provider_code);
	rc |= bind_str(s, 6, key->egress_ip);
	if (bound(st, s, rc, "latest block") < 0)
		return OG_ERROR;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		block_row(s, out);
		rc = OG_FOUND;
	} else if (rc == SQLITE_DONE)
		rc = OG_NOTFOUND;
	else
		rc = dberr(st, "latest block");
	finish(s);
	return rc;
}

const struct store_ops og_store_sqlite_ops = {
	.name = "sqlite",
	.check = sq_check,
	.open = sq_open,
	.close = sq_close,
	.inspect = sq_inspect,
	.add_messages = sq_add_messages,
	.find_message = sq_find_message,
	.prune_messages = sq_prune_messages,
	.hold = sq_hold,
	.release = sq_release,
	.holds = sq_holds,
	.generation = sq_generation,
	.audit = sq_audit,
	.audit_list = sq_audit_list,
	.messages_scan = sq_messages_scan,
	.block_record = sq_block_record,
	.blocks = sq_blocks,
	.block_max_id = sq_block_max_id,
	.block_link = sq_block_link,
	.incident_open = sq_incident_open,
	.incident_get = sq_incident_get,
	.incident_update = sq_incident_update,
	.incident_delivered = sq_incident_delivered,
	.incidents = sq_incidents,
	.block_stats = sq_block_stats,
	.block_latest = sq_block_latest,
};

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
 *	front instead of failing later on a lock upgrade.
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
#include <stdint.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

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
	ST_COUNT
};

#define MSG_COLUMNS                                                            \
	"host, queue_id, time, sasl_username, sasl_method, client_address, "   \
	"client_name, sender, recipient_count, size, rcpt_summary"

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
	return exec(st, "pragmas",
	    "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
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
		out->host = col_dup(s, 0);
		out->queue_id = col_dup(s, 1);
		out->time = sqlite3_column_int64(s, 2);
		out->sasl_username = col_dup(s, 3);
		out->sasl_method = col_dup(s, 4);
		out->client_address = col_dup(s, 5);
		out->client_name = col_dup(s, 6);
		out->sender = col_dup(s, 7);
		out->recipient_count = (long)sqlite3_column_int64(s, 8);
		out->size = (long long)sqlite3_column_int64(s, 9);
		out->rcpt_summary = col_dup(s, 10);
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

const struct store_ops og_store_sqlite_ops = {
	.name = "sqlite",
	.check = sq_check,
	.open = sq_open,
	.close = sq_close,
	.add_messages = sq_add_messages,
	.find_message = sq_find_message,
	.prune_messages = sq_prune_messages,
	.hold = sq_hold,
	.release = sq_release,
	.holds = sq_holds,
	.generation = sq_generation,
	.audit = sq_audit,
	.audit_list = sq_audit_list,
};

/*
 * t_store.c - unit tests for lib/store.c and its SQLite back end
 * DESCRIPTION: cmocka cases against real SQLite files in a temporary
 *	directory under $TMPDIR (or /tmp), removed at the end: migrations
 *	and re-opening, a schema newer than the code, messages (newest row
 *	wins, hosts kept apart, bad input rejected whole), bounded pruning,
 *	holds and releases with their audit rows and the generation counter
 *	(also as seen by a second connection), identity and spec validation,
 *	open errors, two threads writing at once, and a 10,000-hold load
 *	whose times are printed as TAP comments. Files are inspected with
 *	the sqlite3 API directly where the store interface has no reader.
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "strbuf.h"
#include "util.h"

static char *tmpdir; /* made by setup_dir(), removed by teardown_dir() */

/* tmp_name - "TMPDIR/name" (og_free it) */
static char *
tmp_name(const char *name)
{
	struct og_strbuf sb;

	og_strbuf_init(&sb, 8192);
	assert_int_equal(og_strbuf_addf(&sb, "%s/%s", tmpdir, name), 0);
	return og_strbuf_steal(&sb);
}

/* spec_of - "sqlite:PATH" (og_free it) */
static char *
spec_of(const char *path)
{
	struct og_strbuf sb;

	og_strbuf_init(&sb, 8192);
	assert_int_equal(og_strbuf_addf(&sb, "sqlite:%s", path), 0);
	return og_strbuf_steal(&sb);
}

/* open_db - open TMPDIR/name, failing the test if it does not open */
static struct og_store *
open_db(const char *name, char **pathp)
{
	struct og_strbuf err;
	struct og_store *st;
	char *path = tmp_name(name), *spec = spec_of(path);

	og_strbuf_init(&err, 0);
	st = og_store_open(spec, &err);
	if (st == NULL)
		fail_msg("open %s: %s", spec, og_strbuf_str(&err));
	og_strbuf_release(&err);
	og_free(spec);
	if (pathp != NULL)
		*pathp = path;
	else
		og_free(path);
	return st;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (needle == NULL)
		fail_msg("no expected text for \"%s\"", hay ? hay : "(null)");
	else if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"",
		    hay != NULL ? hay : "(null)", needle);
}

/* raw_int - one integer from SQL run on a separate plain connection */
static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* raw_str - one text value, or NULL (og_free it) */
static char *
raw_str(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = og_strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
gen_of(struct og_store *st)
{
	uint64_t g = 0;

	assert_int_equal(og_store_generation(st, &g), 0);
	return g;
}

static struct og_msgrec
msg(const char *host, const char *qid, int64_t t, const char *sasl)
{
	struct og_msgrec m = { host, qid, t, sasl,
		sasl != NULL ? "PLAIN" : NULL, "192.0.2.7", "client.example",
		"user@example.com", 2, 1234,
		"example.net=1 hotmail.com=1 provider=microsoft-consumer" };

	return m;
}

static struct og_hold
hold(const char *identity, const char *scope, int64_t until)
{
	struct og_hold h = { 0, (char *)identity, (char *)scope, "spam run",
		"cli:root", 0, until, 0 };

	return h;
}

static void
test_migrate_and_reopen(void **state)
{
	static const char *const objects[] = { "meta", "messages", "holds",
		"audit", "messages_host_queue_id", "messages_time",
		"messages_sasl_time", "messages_sender_time",
		"messages_client_time", "holds_open", "audit_time" };
	struct og_msgrec m = msg("mx1", "4AbC1", 100, "alice");
	struct og_msgrec_owned o;
	struct og_store *st, *st2;
	struct og_strbuf sql;
	char *path, *mode;
	size_t i;

	(void)state;
	st = open_db("migrate.db", &path);
	assert_int_equal(raw_int(path,
	                     "SELECT value FROM meta "
	                     "WHERE key = 'schema_version'"),
	    OG_STORE_SCHEMA_VERSION);
	mode = raw_str(path, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	og_free(mode);
	og_strbuf_init(&sql, 0);
	for (i = 0; i < OG_NELEM(objects); i++) {
		og_strbuf_reset(&sql);
		(void)og_strbuf_addf(&sql,
		    "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
		    objects[i]);
		if (raw_int(path, og_strbuf_str(&sql)) != 1)
			fail_msg("schema object %s missing", objects[i]);
	}
	og_strbuf_release(&sql);
	assert_int_equal(og_store_add_messages(st, &m, 1), 0);
	st = og_store_close(st);
	assert_null(st);

	/* re-open: no step runs again, the data is still there */
	st = open_db("migrate.db", NULL);
	st2 = open_db("migrate.db", NULL); /* and a second handle at once */
	assert_int_equal(
	    og_store_find_message(st2, "mx1", "4AbC1", &o), OG_FOUND);
	assert_string_equal(o.sasl_username, "alice");
	og_store_msgrec_clear(&o);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM meta"), 2);
	assert_int_equal(raw_int(path,
	                     "SELECT value FROM meta "
	                     "WHERE key = 'schema_version'"),
	    OG_STORE_SCHEMA_VERSION);
	assert_string_equal(og_store_error(st), "");
	og_store_close(st2);
	og_store_close(st);
	og_free(path);
}

static void
test_schema_newer(void **state)
{
	struct og_strbuf err;
	struct og_store *st;
	char *path, *spec;

	(void)state;
	st = open_db("newer.db", &path);
	og_store_close(st);
	raw_exec(path,
	    "UPDATE meta SET value = value + 1 WHERE key = 'schema_version'");
	spec = spec_of(path);
	og_strbuf_init(&err, 0);
	assert_null(og_store_open(spec, &err));
	assert_contains(og_strbuf_str(&err), "is newer than this program");
	assert_contains(og_strbuf_str(&err), path);

	/* a meta table that is not ours */
	raw_exec(path, "DELETE FROM meta WHERE key = 'schema_version'");
	assert_null(og_store_open(spec, &err));
	assert_contains(og_strbuf_str(&err), "not an outguard store");
	og_strbuf_release(&err);
	og_free(spec);
	og_free(path);
}

static void
test_messages(void **state)
{
	const struct og_msgrec recs[] = {
		msg("mx1", "4AbC1", 100, "alice"),
		msg("mx1", "4AbC1", 200, "bob"), /* the queue id came back */
		msg("mx2", "4AbC1", 300, "carol"), /* another host */
		{ "mx1", "5DeF2", 400, NULL, NULL, NULL, NULL, "", 1, 10,
		    NULL },
		msg("mx1", "6GhI3", 500, "first"),
		msg("mx1", "6GhI3", 500, "second"), /* same second */
		msg("mx1", "7JkL4", 900, "newer"),
		msg("mx1", "7JkL4", 800, "older, recorded later"),
	};
	static const struct {
		const char *host, *qid;
		int rc;
		const char *sasl; /* expected sasl_username */
	} cases[] = {
		{ "mx1", "4AbC1", OG_FOUND, "bob" },
		{ "mx2", "4AbC1", OG_FOUND, "carol" },
		{ "mx3", "4AbC1", OG_NOTFOUND, NULL },
		{ "mx1", "5DeF2", OG_FOUND, NULL },
		{ "mx1", "6GhI3", OG_FOUND, "second" },
		{ "mx1", "7JkL4", OG_FOUND, "newer" },
		{ "mx1", "4abc1", OG_NOTFOUND, NULL }, /* ids are exact */
		{ "mx1", "", OG_ERROR, NULL },
		{ NULL, "4AbC1", OG_ERROR, NULL },
	};
	struct og_msgrec_owned o;
	struct og_store *st;
	uint64_t g;
	size_t i;
	int rc;

	(void)state;
	st = open_db("messages.db", NULL);
	g = gen_of(st);
	assert_int_equal(og_store_add_messages(st, recs, OG_NELEM(recs)), 0);
	assert_int_equal(og_store_add_messages(st, NULL, 0), 0);
	for (i = 0; i < OG_NELEM(cases); i++) {
		memset(&o, 0, sizeof(o));
		rc = og_store_find_message(st, cases[i].host, cases[i].qid, &o);
		if (rc != cases[i].rc)
			fail_msg(
			    "case %zu: rc %d, want %d", i, rc, cases[i].rc);
		if (rc != OG_FOUND) {
			assert_null(o.host); /* untouched */
			continue;
		}
		assert_string_equal(o.host, cases[i].host);
		assert_string_equal(o.queue_id, cases[i].qid);
		if (cases[i].sasl == NULL)
			assert_null(o.sasl_username);
		else
			assert_string_equal(o.sasl_username, cases[i].sasl);
		og_store_msgrec_clear(&o);
	}
	/* every column comes back */
	assert_int_equal(
	    og_store_find_message(st, "mx2", "4AbC1", &o), OG_FOUND);
	assert_int_equal(o.time, 300);
	assert_string_equal(o.sasl_method, "PLAIN");
	assert_string_equal(o.client_address, "192.0.2.7");
	assert_string_equal(o.client_name, "client.example");
	assert_string_equal(o.sender, "user@example.com");
	assert_int_equal(o.recipient_count, 2);
	assert_int_equal(o.size, 1234);
	assert_string_equal(o.rcpt_summary,
	    "example.net=1 hotmail.com=1 provider=microsoft-consumer");
	og_store_msgrec_clear(&o);
	assert_int_equal(
	    og_store_find_message(st, "mx1", "5DeF2", &o), OG_FOUND);
	assert_string_equal(o.sender, "");
	assert_null(o.sasl_method);
	assert_null(o.client_address);
	assert_null(o.client_name);
	assert_null(o.rcpt_summary);
	og_store_msgrec_clear(&o);
	assert_null(o.host);
	/* message rows do not move the holds generation */
	assert_true(gen_of(st) == g);
	og_store_close(st);
}

/* a field of a template record made bad in one way */
enum bad_field { B_HOST, B_QID, B_CLIENT, B_SENDER, B_SUMMARY, B_SIZE };

static void
test_messages_bad_input(void **state)
{
	static const struct {
		enum bad_field field;
		size_t len; /* string of len 'x's; (size_t)-1: NULL */
		int rc;
		const char *err;
	} cases[] = {
		{ B_HOST, (size_t)-1, OG_ERROR, "record 2 host missing" },
		{ B_HOST, 0, OG_ERROR, "record 2 host empty" },
		{ B_QID, 0, OG_ERROR, "record 2 queue_id empty" },
		{ B_CLIENT, OG_STORE_FIELD_MAX, 0, NULL },
		{ B_CLIENT, OG_STORE_FIELD_MAX + 1, OG_ERROR,
		    "record 2 client_name too long" },
		{ B_SENDER, (size_t)-1, OG_ERROR, "record 2 sender missing" },
		{ B_SENDER, OG_STORE_FIELD_MAX + 1, OG_ERROR,
		    "record 2 sender too long" },
		{ B_SUMMARY, OG_STORE_TEXT_MAX, 0, NULL },
		{ B_SUMMARY, OG_STORE_TEXT_MAX + 1, OG_ERROR,
		    "record 2 rcpt_summary too long" },
		{ B_SIZE, 0, OG_ERROR, "record 2 size negative" },
	};
	char big[OG_STORE_TEXT_MAX + 2];
	struct og_msgrec recs[3];
	struct og_store *st;
	char *path;
	int64_t rows = 0;
	size_t i;
	int rc;

	(void)state;
	st = open_db("badmsg.db", &path);
	for (i = 0; i < OG_NELEM(cases); i++) {
		const char *v = NULL;

		recs[0] = msg("mx1", "A1", 1, "alice");
		recs[1] = msg("mx1", "A2", 2, "bob");
		recs[2] = msg("mx1", "A3", 3, "carol");
		if (cases[i].len != (size_t)-1) {
			memset(big, 'x', cases[i].len);
			big[cases[i].len] = '\0';
			v = big;
		}
		switch (cases[i].field) {
		case B_HOST:
			recs[2].host = v;
			break;
		case B_QID:
			recs[2].queue_id = v;
			break;
		case B_CLIENT:
			recs[2].client_name = v;
			break;
		case B_SENDER:
			recs[2].sender = v;
			break;
		case B_SUMMARY:
			recs[2].rcpt_summary = v;
			break;
		case B_SIZE:
			recs[2].size = -1;
			break;
		}
		assert_int_equal(
		    og_store_msgrec_valid(&recs[2]), cases[i].rc == 0);
		assert_int_equal(og_store_msgrec_valid(&recs[1]), 1);
		rc = og_store_add_messages(st, recs, 3);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc,
			    cases[i].rc, og_store_error(st));
		if (rc == 0) {
			rows += 3;
			assert_string_equal(og_store_error(st), "");
		} else
			assert_contains(og_store_error(st), cases[i].err);
		/* a rejected batch writes nothing at all */
		assert_int_equal(
		    raw_int(path, "SELECT count(*) FROM messages"), rows);
	}
	og_store_close(st);
	og_free(path);
}

static void
test_prune(void **state)
{
	static const struct {
		int64_t before;
		int limit;
		int rc;
		long deleted;
	} steps[] = {
		{ 51, 20, 0, 20 },
		{ 51, 20, 0, 20 },
		{ 51, 20, 0, 10 }, /* fewer than limit: done */
		{ 51, 20, 0, 0 },
		{ 51, 0, OG_ERROR, -7 }, /* -7: *deleted untouched */
		{ 51, -1, OG_ERROR, -7 },
		{ 1000, 1000, 0, 50 },
	};
	struct og_msgrec recs[100];
	char qids[100][8];
	struct og_store *st;
	char *path;
	size_t i;
	long deleted;
	int rc;

	(void)state;
	st = open_db("prune.db", &path);
	for (i = 0; i < OG_NELEM(recs); i++) {
		qids[i][0] = 'Q';
		qids[i][1] = (char)('0' + i / 10);
		qids[i][2] = (char)('0' + i % 10);
		qids[i][3] = '\0';
		recs[i] = msg("mx1", qids[i], (int64_t)(100 - i), "alice");
	}
	assert_int_equal(og_store_add_messages(st, recs, OG_NELEM(recs)), 0);
	for (i = 0; i < OG_NELEM(steps); i++) {
		deleted = -7;
		rc = og_store_prune_messages(
		    st, steps[i].before, steps[i].limit, &deleted);
		if (rc != steps[i].rc || deleted != steps[i].deleted)
			fail_msg("step %zu: rc %d deleted %ld, want %d %ld", i,
			    rc, deleted, steps[i].rc, steps[i].deleted);
		if (i == 3) {
			/* the oldest went first; the young are all there */
			assert_int_equal(
			    raw_int(path, "SELECT min(time) FROM messages"),
			    51);
			assert_int_equal(
			    raw_int(path, "SELECT count(*) FROM messages"), 50);
		}
	}
	assert_int_equal(og_store_prune_messages(st, 1000, 10, NULL), 0);
	og_store_close(st);
	og_free(path);
}

/* check_audit - rows from since must have these action/subject/detail */
static void
check_audit(struct og_store *st, int64_t since, const char *const (*want)[4],
    size_t nwant)
{
	struct og_audit *a = NULL;
	size_t i, n = 0;

	assert_int_equal(og_store_audit_list(st, since, &a, &n), 0);
	if (n != nwant)
		fail_msg("%zu audit rows, want %zu", n, nwant);
	for (i = 0; i < n; i++) {
		assert_string_equal(a[i].action, want[i][0]);
		assert_string_equal(a[i].subject, want[i][1]);
		assert_string_equal(a[i].detail, want[i][2]);
		assert_string_equal(a[i].actor, want[i][3]);
		if (i > 0)
			assert_true(a[i].id > a[i - 1].id);
	}
	og_store_audit_free(a, n);
}

static void
test_hold_release(void **state)
{
	static const char *const audit[][4] = {
		{ "hold", "sasl:alice", "scope=all until=0 incident=0",
		    "cli:root" },
		{ "hold", "sasl:alice",
		    "scope=provider:microsoft-consumer until=0 incident=0",
		    "cli:root" },
		{ "hold", "provider:microsoft-consumer",
		    "scope=all until=0 incident=7", "watcher" },
		{ "release", "sasl:alice",
		    "scope=provider:microsoft-consumer hold=2 until=0",
		    "cli:admin" },
		{ "release", "sasl:alice", "scope=all hold=1 until=0",
		    "cli:admin" },
		{ "hold", "uid:1000", "scope=all until=0 incident=0",
		    "cli:root" },
		{ "hold", "uid:1000", "scope=provider:gmail until=0 incident=0",
		    "cli:root" },
		{ "release", "uid:1000", "scope=all hold=4 until=0", "cli:x" },
		{ "release", "uid:1000", "scope=provider:gmail hold=5 until=0",
		    "cli:x" },
	};
	struct og_hold h = hold("sasl:alice", NULL, 0), *hs = NULL;
	struct og_store *st;
	int64_t id = -1, id1, id2;
	size_t n = 0;
	char *path, *s;

	(void)state;
	st = open_db("holds.db", &path);
	assert_int_equal(og_store_hold(st, &h, 1000, &id), OG_FOUND);
	id1 = id;
	assert_true(id1 > 0);
	/* the same identity and scope again: the existing hold */
	id = -1;
	assert_int_equal(og_store_hold(st, &h, 1001, &id), OG_NOTFOUND);
	assert_int_equal(id, id1);
	h.scope = "all"; /* NULL meant "all" */
	assert_int_equal(og_store_hold(st, &h, 1001, NULL), OG_NOTFOUND);
	h.scope = "provider:microsoft-consumer";
	assert_int_equal(og_store_hold(st, &h, 1002, &id2), OG_FOUND);
	assert_true(id2 != id1);
	h = hold("provider:microsoft-consumer", NULL, 0);
	h.created_by = "watcher";
	h.reason = "S3150 block";
	h.incident = 7;
	assert_int_equal(og_store_hold(st, &h, 1003, &id), OG_FOUND);

	assert_int_equal(og_store_holds(st, 1004, &hs, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(hs[0].identity, "sasl:alice");
	assert_string_equal(hs[0].scope, "all");
	assert_string_equal(hs[0].reason, "spam run");
	assert_string_equal(hs[0].created_by, "cli:root");
	assert_int_equal(hs[0].since, 1000);
	assert_int_equal(hs[0].until, 0);
	assert_int_equal(hs[0].incident, 0);
	assert_string_equal(hs[1].scope, "provider:microsoft-consumer");
	assert_string_equal(hs[2].identity, "provider:microsoft-consumer");
	assert_string_equal(hs[2].reason, "S3150 block");
	assert_int_equal(hs[2].incident, 7);
	assert_int_equal(hs[2].since, 1003);
	og_store_holds_free(hs, n);

	/* release one scope, then the rest, then nothing */
	assert_int_equal(
	    og_store_release(st, "sasl:alice", "provider:microsoft-consumer",
	        "cli:admin", "cleaned up", 2000),
	    OG_FOUND);
	assert_int_equal(og_store_release(st, "sasl:alice", "provider:other",
	                     "cli:admin", "x", 2000),
	    OG_NOTFOUND);
	assert_int_equal(og_store_release(st, "sasl:alice", NULL, "cli:admin",
	                     "cleaned up", 2001),
	    OG_FOUND);
	assert_int_equal(og_store_release(st, "sasl:alice", NULL, "cli:admin",
	                     "again", 2002),
	    OG_NOTFOUND);
	assert_int_equal(
	    og_store_release(st, "sasl:nobody", NULL, "cli:admin", NULL, 2002),
	    OG_NOTFOUND);
	assert_int_equal(og_store_holds(st, 2003, &hs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(hs[0].identity, "provider:microsoft-consumer");
	og_store_holds_free(hs, n);
	s = raw_str(path,
	    "SELECT released || ' ' || released_by || ' ' || release_reason "
	    "FROM holds WHERE id = 1");
	assert_string_equal(s, "2001 cli:admin cleaned up");
	og_free(s);

	/* one release closing several scopes writes one row per hold */
	h = hold("uid:1000", NULL, 0);
	assert_int_equal(og_store_hold(st, &h, 3000, &id), OG_FOUND);
	h.scope = "provider:gmail";
	assert_int_equal(og_store_hold(st, &h, 3000, &id), OG_FOUND);
	assert_int_equal(
	    og_store_release(st, "uid:1000", NULL, "cli:x", "ok", 3001),
	    OG_FOUND);
	check_audit(st, 0, audit, OG_NELEM(audit));
	check_audit(st, 3000, audit + 5, 4);

	/* released: the same identity and scope can be held again */
	h = hold("sasl:alice", NULL, 0);
	assert_int_equal(og_store_hold(st, &h, 4000, &id), OG_FOUND);
	assert_true(id > id2);
	og_store_close(st);
	og_free(path);
}

static void
test_hold_until(void **state)
{
	static const struct {
		int64_t now;
		size_t n; /* holds in force */
	} at[] = {
		{ 1000, 2 },
		{ 1009, 2 },
		{ 1010, 1 },
		{ 5000, 1 },
		{ 0, 2 },
	};
	static const char *const audit[][4] = {
		{ "hold", "client:192.0.2.0/24",
		    "scope=all until=1010 incident=0", "cli:root" },
		{ "expire", "client:192.0.2.0/24",
		    "scope=all hold=1 until=1010", "cli:root" },
		{ "hold", "client:192.0.2.0/24", "scope=all until=0 incident=0",
		    "cli:root" },
	};
	struct og_hold h = hold("client:192.0.2.0/24", NULL, 1010), *hs;
	struct og_hold forever = hold("sasl:bob", NULL, 0);
	struct og_store *st;
	int64_t id;
	size_t i, n;

	(void)state;
	st = open_db("until.db", NULL);
	assert_int_equal(og_store_hold(st, &h, 1000, &id), OG_FOUND);
	assert_int_equal(og_store_hold(st, &forever, 1000, NULL), OG_FOUND);
	for (i = 0; i < OG_NELEM(at); i++) {
		assert_int_equal(og_store_holds(st, at[i].now, &hs, &n), 0);
		if (n != at[i].n)
			fail_msg("at %lld: %zu holds, want %zu",
			    (long long)at[i].now, n, at[i].n);
		if (n == 2)
			assert_int_equal(hs[0].until, 1010);
		og_store_holds_free(hs, n);
	}
	/* until must lie in the future */
	h.until = 1500;
	assert_int_equal(og_store_hold(st, &h, 1500, &id), OG_ERROR);
	assert_contains(og_store_error(st), "until is not in the future");
	h.until = 10;
	assert_int_equal(og_store_hold(st, &h, 1500, &id), OG_ERROR);
	/* before it runs out, a hold is a duplicate; after, replaced */
	h.until = 0;
	assert_int_equal(og_store_hold(st, &h, 1005, &id), OG_NOTFOUND);
	assert_int_equal(id, 1);
	assert_int_equal(og_store_hold(st, &h, 1010, &id), OG_FOUND);
	assert_int_equal(id, 3);
	assert_int_equal(og_store_holds(st, 99999, &hs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(hs[1].id, 3);
	assert_int_equal(hs[1].until, 0);
	og_store_holds_free(hs, n);
	{
		/* only the client: rows, as sasl:bob's hold is no concern */
		struct og_audit *a;

		assert_int_equal(og_store_audit_list(st, 0, &a, &n), 0);
		assert_int_equal(n, 4);
		for (i = 0; i < 3; i++) {
			const struct og_audit *r = &a[i == 0 ? 0 : i + 1];

			assert_string_equal(r->action, audit[i][0]);
			assert_string_equal(r->subject, audit[i][1]);
			assert_string_equal(r->detail, audit[i][2]);
		}
		og_store_audit_free(a, n);
	}
	/* a hold that ran out but is not closed yet still releases */
	h = hold("sasl:carol", NULL, 2000);
	assert_int_equal(og_store_hold(st, &h, 1000, NULL), OG_FOUND);
	assert_int_equal(
	    og_store_release(st, "sasl:carol", NULL, "cli:root", "late", 3000),
	    OG_FOUND);
	og_store_close(st);
}

static void
test_hold_bad_input(void **state)
{
	static const struct {
		const char *identity, *scope, *reason, *created_by;
		int64_t until, incident, now;
		const char *err;
	} cases[] = {
		{ "alice", NULL, "r", "cli", 0, 0, 10,
		    "identity is not valid" },
		{ NULL, NULL, "r", "cli", 0, 0, 10, "identity is not valid" },
		{ "sasl:alice", "none", "r", "cli", 0, 0, 10,
		    "scope is not \"all\"" },
		{ "sasl:alice", "provider:Hotmail", "r", "cli", 0, 0, 10,
		    "scope is not" },
		{ "sasl:alice", "sasl:bob", "r", "cli", 0, 0, 10,
		    "scope is not" },
		{ "sasl:alice", NULL, "r", NULL, 0, 0, 10,
		    "created_by missing" },
		{ "sasl:alice", NULL, "r", "", 0, 0, 10, "created_by empty" },
		{ "sasl:alice", NULL, "LONG", "cli", 0, 0, 10,
		    "reason too long" },
		{ "sasl:alice", NULL, "r", "cli", 0, -1, 10, "negative" },
		{ "sasl:alice", NULL, "r", "cli", -5, 0, 10, "negative" },
		{ "sasl:alice", NULL, "r", "cli", 0, 0, -1, "negative" },
	};
	char longreason[OG_STORE_FIELD_MAX + 2];
	struct og_store *st;
	struct og_hold h;
	uint64_t g;
	int64_t id;
	char *path;
	size_t i;

	(void)state;
	memset(longreason, 'r', sizeof(longreason) - 1);
	longreason[sizeof(longreason) - 1] = '\0';
	st = open_db("badhold.db", &path);
	g = gen_of(st);
	for (i = 0; i < OG_NELEM(cases); i++) {
		h = hold(cases[i].identity, cases[i].scope, cases[i].until);
		h.reason = strcmp(cases[i].reason, "LONG") == 0
		    ? longreason
		    : (char *)cases[i].reason;
		h.created_by = (char *)cases[i].created_by;
		h.incident = cases[i].incident;
		id = -3;
		if (og_store_hold(st, &h, cases[i].now, &id) != OG_ERROR)
			fail_msg("case %zu accepted", i);
		assert_int_equal(id, -3);
		assert_contains(og_store_error(st), cases[i].err);
	}
	assert_int_equal(
	    og_store_release(st, "bad", NULL, "cli", "r", 1), OG_ERROR);
	assert_int_equal(
	    og_store_release(st, "sasl:a", "x", "cli", "r", 1), OG_ERROR);
	assert_int_equal(
	    og_store_release(st, "sasl:a", NULL, NULL, "r", 1), OG_ERROR);
	assert_int_equal(
	    og_store_release(st, "sasl:a", NULL, "cli", longreason, 1),
	    OG_ERROR);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM holds"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM audit"), 0);
	assert_true(gen_of(st) == g);
	og_store_close(st);
	og_free(path);
}

static void
test_generation(void **state)
{
	struct og_msgrec m = msg("mx1", "G1", 5, "alice");
	struct og_hold h = hold("sasl:alice", NULL, 0);
	struct og_store *a, *b;
	uint64_t g0, g1, g2;
	long deleted;

	(void)state;
	a = open_db("gen.db", NULL);
	b = open_db(
	    "gen.db", NULL); /* another connection, as another process */
	g0 = gen_of(a);
	assert_true(gen_of(b) == g0);

	assert_int_equal(og_store_add_messages(a, &m, 1), 0);
	assert_int_equal(og_store_prune_messages(b, 10, 100, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(
	    og_store_audit(a, 1, "cli", "note", NULL, NULL, NULL), 0);
	assert_true(gen_of(a) == g0);
	assert_true(gen_of(b) == g0);

	assert_int_equal(og_store_hold(a, &h, 10, NULL), OG_FOUND);
	g1 = gen_of(b);
	assert_true(g1 != g0);
	assert_true(gen_of(a) == g1);
	assert_int_equal(og_store_hold(b, &h, 11, NULL), OG_NOTFOUND);
	assert_true(gen_of(a) == g1);

	assert_int_equal(
	    og_store_release(b, "sasl:alice", NULL, "cli", "ok", 12), OG_FOUND);
	g2 = gen_of(a);
	assert_true(g2 != g1 && g2 != g0);
	assert_int_equal(
	    og_store_release(a, "sasl:alice", NULL, "cli", "ok", 13),
	    OG_NOTFOUND);
	assert_true(gen_of(b) == g2);
	og_store_close(b);
	og_store_close(a);
}

static void
test_audit(void **state)
{
	char detail[OG_STORE_TEXT_MAX + 2];
	struct og_store *st;
	struct og_audit *a;
	size_t n;

	(void)state;
	st = open_db("audit.db", NULL);
	assert_int_equal(og_store_audit(st, 100, "cli:root", "config", "store",
	                     "moved", "from=a to=b"),
	    0);
	assert_int_equal(
	    og_store_audit(st, 50, "watcher", "notify", NULL, NULL, NULL), 0);
	assert_int_equal(
	    og_store_audit(st, 200, "cli:root", "note", "x", "", ""), 0);
	assert_int_equal(og_store_audit_list(st, 0, &a, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(a[0].time, 100);
	assert_string_equal(a[0].detail, "from=a to=b");
	assert_int_equal(a[1].time, 50); /* newest written last */
	assert_null(a[1].subject);
	assert_null(a[1].reason);
	assert_null(a[1].detail);
	assert_string_equal(a[2].reason, "");
	og_store_audit_free(a, n);
	assert_int_equal(og_store_audit_list(st, 100, &a, &n), 0);
	assert_int_equal(n, 2);
	og_store_audit_free(a, n);
	assert_int_equal(og_store_audit_list(st, 201, &a, &n), 0);
	assert_int_equal(n, 0);
	assert_null(a);
	og_store_audit_free(a, n);

	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	assert_int_equal(
	    og_store_audit(st, 1, "a", "b", NULL, NULL, detail), OG_ERROR);
	assert_contains(og_store_error(st), "detail too long");
	detail[OG_STORE_TEXT_MAX] = '\0';
	assert_int_equal(
	    og_store_audit(st, 1, "a", "b", NULL, NULL, detail), 0);
	assert_int_equal(
	    og_store_audit(st, 1, NULL, "b", NULL, NULL, NULL), OG_ERROR);
	assert_int_equal(
	    og_store_audit(st, 1, "a", "", NULL, NULL, NULL), OG_ERROR);
	assert_int_equal(
	    og_store_audit(st, -1, "a", "b", NULL, NULL, NULL), OG_ERROR);
	og_store_close(st);
}

static void
test_identity_valid(void **state)
{
	static const struct {
		const char *id;
		int valid;
	} cases[] = {
		{ "sasl:alice", 1 },
		{ "sasl:alice@example.com", 1 },
		{ "sasl:J\xc3\xb6rg", 1 }, /* UTF-8 */
		{ "sasl:", 0 },
		{ "sasl:al ice", 0 },
		{ "sasl:al\tice", 0 },
		{ "sasl:al\x7f", 0 },
		{ "SASL:alice", 0 },
		{ "sender:user@example.com", 1 },
		{ "sender:<>", 1 },
		{ "sender:\"a@b\"@example.com", 1 },
		{ "sender:User@example.com", 0 }, /* lowercase only */
		{ "sender:", 0 },
		{ "sender:user", 0 },
		{ "sender:@example.com", 0 },
		{ "sender:user@", 0 },
		{ "sender:<user@example.com>", 0 },
		{ "sender:us er@example.com", 0 },
		{ "client:192.0.2.1", 1 },
		{ "client:192.0.2.0/24", 1 },
		{ "client:0.0.0.0/0", 1 },
		{ "client:192.0.2.1/32", 1 },
		{ "client:192.0.2.1/33", 0 },
		{ "client:192.0.2.1/", 0 },
		{ "client:192.0.2.1/024", 0 },
		{ "client:192.0.2.1/-1", 0 },
		{ "client:192.0.2", 0 },
		{ "client:192.0.2.256", 0 },
		{ "client:2001:db8::1", 1 },
		{ "client:2001:db8::/32", 1 },
		{ "client:::1/128", 1 },
		{ "client:::ffff:192.0.2.1", 1 },
		{ "client:2001:db8::/129", 0 },
		{ "client:2001:db8:::1", 0 },
		{ "client:example.com", 0 },
		{ "client:", 0 },
		{ "uid:0", 1 },
		{ "uid:1000", 1 },
		{ "uid:4294967295", 1 },
		{ "uid:4294967296", 0 },
		{ "uid:01000", 0 },
		{ "uid:-1", 0 },
		{ "uid:", 0 },
		{ "uid:12a", 0 },
		{ "provider:microsoft-consumer", 1 },
		{ "provider:gmail", 1 },
		{ "provider:Microsoft", 0 },
		{ "provider:micro_soft", 0 },
		{ "provider:", 0 },
		{ "provider:"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaa",
		    1 }, /* 64 */
		{ "provider:"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaa",
		    0 }, /* 65 */
		{ "domain:example.com", 0 },
		{ "", 0 },
		{ NULL, 0 },
	};
	char big[OG_IDENTITY_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++)
		if (og_store_identity_valid(cases[i].id) != cases[i].valid)
			fail_msg("\"%s\": want %d",
			    cases[i].id ? cases[i].id : "(null)",
			    cases[i].valid);
	/* the whole identity is bounded, whatever its kind allows */
	memcpy(big, "sender:", 7);
	memset(big + 7, 'a', sizeof(big) - 7);
	big[OG_IDENTITY_MAX - 12] = '@';
	big[OG_IDENTITY_MAX] = '\0';
	assert_int_equal(og_store_identity_valid(big), 1);
	big[OG_IDENTITY_MAX] = 'a';
	big[OG_IDENTITY_MAX + 1] = '\0';
	assert_int_equal(og_store_identity_valid(big), 0);
	memcpy(big, "sasl:", 5); /* 256 bytes after the prefix */
	big[5 + 256] = '\0';
	assert_int_equal(og_store_identity_valid(big), 0);
	big[5 + 255] = '\0';
	assert_int_equal(og_store_identity_valid(big), 1);

	assert_int_equal(og_store_scope_valid("all"), 1);
	assert_int_equal(og_store_scope_valid("provider:gmail"), 1);
	assert_int_equal(og_store_scope_valid("provider:"), 0);
	assert_int_equal(og_store_scope_valid("sasl:alice"), 0);
	assert_int_equal(og_store_scope_valid("All"), 0);
	assert_int_equal(og_store_scope_valid(NULL), 0);
}

static void
test_spec_valid(void **state)
{
	static const struct {
		const char *spec;
		int rc;
		const char *err;
	} cases[] = {
		{ "sqlite:/var/lib/outguard/outguard.db", 0, NULL },
		{ "sqlite:/x", 0, NULL },
		{ "sqlite:relative.db", -1, "absolute path" },
		{ "sqlite:", -1, "absolute path" },
		{ "sqlite:/var/lib/", -1, "names a directory" },
		{ "sqlite:/var/lib/a\nb", -1, "control character" },
		{ "pgsql:host=db dbname=outguard", -1, "not built yet" },
		{ "mysql:x", -1, "unknown store type \"mysql\"" },
		{ "/var/lib/outguard.db", -1, "not of the form type:name" },
		{ "", -1, "not of the form type:name" },
		{ NULL, -1, "not of the form type:name" },
	};
	struct og_strbuf err;
	size_t i;
	int rc;

	(void)state;
	og_strbuf_init(&err, 0);
	for (i = 0; i < OG_NELEM(cases); i++) {
		og_strbuf_reset(&err);
		rc = og_store_spec_valid(cases[i].spec, &err);
		if (rc != cases[i].rc)
			fail_msg(
			    "case %zu: rc %d (%s)", i, rc, og_strbuf_str(&err));
		if (rc == 0)
			assert_string_equal(og_strbuf_str(&err), "");
		else
			assert_contains(og_strbuf_str(&err), cases[i].err);
	}
	/* a validator appends, as conf.c expects */
	og_strbuf_reset(&err);
	(void)og_strbuf_adds(&err, "store: ");
	assert_int_equal(og_store_spec_valid("sqlite:x", &err), -1);
	assert_string_equal(
	    og_strbuf_str(&err), "store: sqlite: expected an absolute path");
	assert_int_equal(og_store_spec_valid("sqlite:x", NULL), -1);
	og_strbuf_release(&err);
}

static void
test_bad_paths(void **state)
{
	static const struct {
		const char *spec; /* "%T" is replaced by the temp dir */
		const char *err;
	} cases[] = {
		{ "sqlite:%T/no/such/dir/x.db", "does not exist" },
		{ "sqlite:%T/file.txt/x.db", "is not a directory" },
		{ "sqlite:%T/subdir", "is a directory" },
		{ "sqlite:%T/file.txt", "file is not a database" },
		{ "sqlite:%T/link.db", "symbolic link" },
		{ "sqlite:x.db", "absolute path" },
		{ "pgsql:dbname=outguard", "not built yet" },
		{ "nope", "not of the form" },
	};
	struct og_strbuf err, spec;
	char *file, *dir, *link, *target;
	const char *p;
	size_t i;
	FILE *f;

	(void)state;
	file = tmp_name("file.txt");
	dir = tmp_name("subdir");
	link = tmp_name("link.db");
	target = tmp_name("target.db");
	assert_non_null(f = fopen(file, "w"));
	fputs("this is not a database, but it is long enough to look like "
	      "one might be: SQLite checks the header of the first page\n",
	    f);
	fclose(f);
	assert_int_equal(mkdir(dir, 0700), 0);
	og_store_close(open_db("target.db", NULL));
	assert_int_equal(symlink(target, link), 0);
	og_strbuf_init(&err, 0);
	og_strbuf_init(&spec, 0);
	for (i = 0; i < OG_NELEM(cases); i++) {
		og_strbuf_reset(&spec);
		for (p = cases[i].spec; *p != '\0'; p++)
			if (p[0] == '%' && p[1] == 'T') {
				(void)og_strbuf_adds(&spec, tmpdir);
				p++;
			} else
				(void)og_strbuf_addc(&spec, *p);
		(void)og_strbuf_adds(&err, "stale text");
		if (og_store_open(og_strbuf_str(&spec), &err) != NULL)
			fail_msg("%s opened", og_strbuf_str(&spec));
		assert_contains(og_strbuf_str(&err), cases[i].err);
		assert_null(strstr(og_strbuf_str(&err), "stale text"));
	}
	/* with no buffer, the reason is logged and NULL returned all the same */
	assert_null(og_store_open("sqlite:relative.db", NULL));
	og_strbuf_release(&spec);
	og_strbuf_release(&err);
	og_free(file);
	og_free(dir);
	og_free(link);
	og_free(target);
}

/*
 * test_busy - another connection holds the write lock past the busy
 * timeout: reads go on (WAL), a write fails visibly, nothing is lost
 */
static void
test_busy(void **state)
{
	struct og_hold h = hold("sasl:alice", NULL, 0);
	struct og_msgrec m = msg("mx1", "B1", 1, "alice");
	struct og_store *st;
	sqlite3 *db = NULL;
	uint64_t g;
	double t0, waited;
	char *path;

	(void)state;
	st = open_db("busy.db", &path);
	assert_int_equal(og_store_add_messages(st, &m, 1), 0);
	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                     "BEGIN IMMEDIATE; "
	                     "INSERT INTO audit (time, actor, action) "
	                     "VALUES (1, 'x', 'y')",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	t0 = now_sec();
	assert_int_equal(og_store_generation(st, &g), 0);
	assert_int_equal(
	    og_store_find_message(st, "mx1", "B1", NULL), OG_FOUND);
	assert_true(now_sec() - t0 < 1.0); /* readers do not wait */
	t0 = now_sec();
	assert_int_equal(og_store_hold(st, &h, 10, NULL), OG_ERROR);
	waited = now_sec() - t0;
	assert_contains(og_store_error(st), "database is locked");
	printf("# a write waited %.2f s for the lock, then failed\n", waited);
	assert_true(waited > 4.0);
	assert_int_equal(
	    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* the failed call left no transaction behind */
	assert_int_equal(og_store_hold(st, &h, 11, NULL), OG_FOUND);
	assert_true(gen_of(st) != g);
	og_store_close(st);
	og_free(path);
}

#define THREAD_ROUNDS 200

struct writer {
	const char *spec;
	int n;
	int failures;
	char why[256];
};

static void
writer_fail(struct writer *w, const char *what, struct og_store *st)
{
	if (w->failures++ == 0) {
		struct og_strbuf sb;

		og_strbuf_init(&sb, sizeof(w->why) - 1);
		(void)og_strbuf_addf(&sb, "%s: %.200s", what,
		    st != NULL ? og_store_error(st) : "open failed");
		og_strlcpy(w->why, og_strbuf_str(&sb), sizeof(w->why));
		og_strbuf_release(&sb);
	}
}

/* writer - a thread with its own handle: holds, messages, releases */
static void *
writer(void *arg)
{
	struct writer *w = arg;
	struct og_strbuf id, qid;
	struct og_msgrec m[5];
	struct og_store *st;
	struct og_hold h;
	uint64_t g;
	int i, j;

	if ((st = og_store_open(w->spec, NULL)) == NULL) {
		writer_fail(w, "open", NULL);
		return NULL;
	}
	og_strbuf_init(&id, 64);
	og_strbuf_init(&qid, 64);
	for (i = 0; i < THREAD_ROUNDS; i++) {
		og_strbuf_reset(&id);
		(void)og_strbuf_addf(&id, "sasl:t%d-%d", w->n, i);
		h = hold(og_strbuf_str(&id), NULL, 0);
		if (og_store_hold(st, &h, 1000 + i, NULL) != OG_FOUND)
			writer_fail(w, "hold", st);
		og_strbuf_reset(&qid);
		(void)og_strbuf_addf(&qid, "T%dQ%d", w->n, i);
		for (j = 0; j < 5; j++)
			m[j] = msg("mx1", og_strbuf_str(&qid), 1000 + i, "a");
		if (og_store_add_messages(st, m, 5) < 0)
			writer_fail(w, "add messages", st);
		if (og_store_generation(st, &g) < 0)
			writer_fail(w, "generation", st);
		if (i % 10 == 0 &&
		    og_store_release(st, og_strbuf_str(&id), NULL, "t", "r",
		        2000 + i) != OG_FOUND)
			writer_fail(w, "release", st);
		if (i % 50 == 0 &&
		    og_store_prune_messages(st, 1, 100, NULL) < 0)
			writer_fail(w, "prune", st);
	}
	og_strbuf_release(&id);
	og_strbuf_release(&qid);
	og_store_close(st);
	return NULL;
}

static void
test_threads(void **state)
{
	struct writer w[2];
	pthread_t tid[2];
	char *path, *spec;
	size_t i;

	(void)state;
	/* a new file: the two threads also race through the migrations */
	path = tmp_name("threads.db");
	spec = spec_of(path);
	for (i = 0; i < OG_NELEM(w); i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].spec = spec;
		w[i].n = (int)i;
		assert_int_equal(
		    pthread_create(&tid[i], NULL, writer, &w[i]), 0);
	}
	for (i = 0; i < OG_NELEM(w); i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		if (w[i].failures != 0)
			fail_msg("thread %zu: %d failures, first: %s", i,
			    w[i].failures, w[i].why);
	}
	assert_int_equal(
	    raw_int(path, "SELECT count(*) FROM holds"), 2 * THREAD_ROUNDS);
	assert_int_equal(raw_int(path,
	                     "SELECT count(*) FROM holds "
	                     "WHERE released IS NULL"),
	    2 * (THREAD_ROUNDS - THREAD_ROUNDS / 10));
	assert_int_equal(raw_int(path, "SELECT count(*) FROM messages"),
	    2 * 5 * THREAD_ROUNDS);
	assert_int_equal(raw_int(path,
	                     "SELECT value FROM meta "
	                     "WHERE key = 'holds_generation'"),
	    2 * (THREAD_ROUNDS + THREAD_ROUNDS / 10));
	og_free(spec);
	og_free(path);
}

#define LOAD_HOLDS 10000

static void
test_load_10000(void **state)
{
	struct og_strbuf id;
	struct og_store *st;
	struct og_hold h, *hs;
	double t0, t1, t2;
	size_t i, n;

	(void)state;
	st = open_db("load.db", NULL);
	og_strbuf_init(&id, 64);
	t0 = now_sec();
	for (i = 0; i < LOAD_HOLDS; i++) {
		og_strbuf_reset(&id);
		(void)og_strbuf_addf(&id, "sasl:user%05zu", i);
		h = hold(
		    og_strbuf_str(&id), i % 2 ? "provider:gmail" : NULL, 0);
		if (og_store_hold(st, &h, 1000, NULL) != OG_FOUND)
			fail_msg("hold %zu: %s", i, og_store_error(st));
	}
	t1 = now_sec();
	assert_int_equal(og_store_holds(st, 1001, &hs, &n), 0);
	t2 = now_sec();
	assert_int_equal(n, LOAD_HOLDS);
	assert_string_equal(hs[LOAD_HOLDS - 1].identity, "sasl:user09999");
	assert_string_equal(hs[LOAD_HOLDS - 1].scope, "provider:gmail");
	og_store_holds_free(hs, n);
	printf("# %d holds written in %.3f s (one transaction each), "
	       "loaded in %.3f s\n",
	    LOAD_HOLDS, t1 - t0, t2 - t1);
	og_strbuf_release(&id);
	og_store_close(st);
}

static void
test_free_null(void **state)
{
	struct og_msgrec_owned o;

	(void)state;
	assert_null(og_store_close(NULL));
	assert_int_equal(og_store_msgrec_valid(NULL), 0);
	og_store_holds_free(NULL, 0);
	og_store_audit_free(NULL, 0);
	memset(&o, 0, sizeof(o));
	og_store_msgrec_clear(&o);
	og_store_msgrec_clear(NULL);
}

static int
setup_dir(void **state)
{
	struct og_strbuf sb;
	const char *t = getenv("TMPDIR");

	(void)state;
	og_strbuf_init(&sb, 8192);
	if (og_strbuf_addf(&sb, "%s/t_store.XXXXXX",
	        t != NULL && *t != '\0' ? t : "/tmp") < 0)
		return -1;
	tmpdir = og_strbuf_steal(&sb);
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir = og_free(tmpdir);
		return -1;
	}
	return 0;
}

/* teardown_dir - remove the files, the subdir and the temp dir */
static int
teardown_dir(void **state)
{
	struct dirent *de;
	char *sub;
	DIR *d;

	(void)state;
	if (tmpdir == NULL)
		return 0;
	sub = tmp_name("subdir");
	(void)rmdir(sub);
	og_free(sub);
	if ((d = opendir(tmpdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			sub = tmp_name(de->d_name);
			(void)unlink(sub);
			og_free(sub);
		}
		closedir(d);
	}
	(void)rmdir(tmpdir);
	tmpdir = og_free(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_and_reopen),
		cmocka_unit_test(test_schema_newer),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_messages_bad_input),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_hold_release),
		cmocka_unit_test(test_hold_until),
		cmocka_unit_test(test_hold_bad_input),
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_identity_valid),
		cmocka_unit_test(test_spec_valid),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_load_10000),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

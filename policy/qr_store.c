/*
 * qr_store.c - "store migrate" and "store check": the store's schema
 *	and state, for the admin and for monitoring
 * DESCRIPTION: check connects without changing anything
 *	(og_store_inspect()): back end, schema version and whether
 *	migrations are pending, row counts, the outage spool's state
 *	(read-only) and the spool drops recorded in the audit. migrate
 *	opens the store, which runs the pending migrations (under the
 *	back end's lock), and prints the version before and after.
 * DIAGNOSTICS: exit codes from sysexits.h: EX_UNAVAILABLE when the
 *	store cannot be reached or opened, EX_DATAERR when check finds
 *	migrations pending or a schema newer than this program, EX_USAGE.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "qr.h"
#include "spool.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

static int
usage(void)
{
	(void)fputs("usage: outguard-queue-report store check\n"
	            "       outguard-queue-report store migrate\n",
	    stderr);
	return EX_USAGE;
}

/* inspect - the store's info, or EX_UNAVAILABLE with the reason printed */
static int
inspect(const char *spec, struct og_store_info *info)
{
	struct og_strbuf err;

	og_strbuf_init(&err, 0);
	if (og_store_inspect(spec, info, &err) < 0) {
		(void)fprintf(stderr,
		    "outguard-queue-report: store unreachable: %s\n",
		    og_strbuf_str(&err));
		og_strbuf_release(&err);
		return EX_UNAVAILABLE;
	}
	og_strbuf_release(&err);
	return EX_OK;
}

static void
count(const char *name, long long n, int *first)
{
	if (n < 0)
		return;
	(void)printf("%s%s %lld", *first ? "" : ", ", name, n);
	*first = 0;
}

/* spool_state - what waits in the outage spool, read-only */
static void
spool_state(const struct qr *qr, const char *spec)
{
	struct og_strbuf path, err;
	struct og_spool *sp;

	og_strbuf_init(&path, 0);
	og_strbuf_init(&err, 0);
	og_spool_default(&path, og_conf_str(qr->conf, "store_spool"), spec);
	if (access(og_strbuf_str(&path), F_OK) < 0 && errno == ENOENT) {
		(void)printf("spool: %s: no file (nothing waiting)\n",
		    og_strbuf_str(&path));
		og_strbuf_release(&path);
		og_strbuf_release(&err);
		return;
	}
	sp = og_spool_open(og_strbuf_str(&path),
	    og_conf_uint(qr->conf, "store_spool_max"), OG_SPOOL_RDONLY, &err);
	if (sp != NULL) {
		(void)printf("spool: %s: %lu rows waiting, %llu dropped, "
		             "%llu bytes\n",
		    og_strbuf_str(&path), og_spool_pending(sp),
		    og_spool_dropped(sp), og_spool_bytes(sp));
		og_spool_close(sp);
	} else
		(void)printf("spool: %s: not readable here: %s\n",
		    og_strbuf_str(&path), og_strbuf_str(&err));
	og_strbuf_release(&path);
	og_strbuf_release(&err);
}

/* drops - the spool drops recorded in the audit (current schema only) */
static void
drops(const char *spec)
{
	struct og_strbuf err;
	struct og_store *st;
	struct og_audit *a;
	char iso[32];
	size_t n, i;

	og_strbuf_init(&err, 0);
	if ((st = og_store_open(spec, &err)) == NULL) {
		og_strbuf_release(&err);
		return;
	}
	og_strbuf_release(&err);
	if (og_store_audit_list(st, 0, &a, &n) == 0) {
		for (i = 0; i < n; i++) {
			if (strcmp(a[i].action, "spool-drop") != 0)
				continue;
			og_time_iso(a[i].time, iso, sizeof(iso));
			(void)printf("spool drop recorded %s: %s\n", iso,
			    a[i].detail != NULL ? a[i].detail : "");
		}
		og_store_audit_free(a, n);
	}
	og_store_close(st);
}

static int
check(struct qr *qr, const char *spec)
{
	struct og_store_info info;
	int rc, first = 1;

	if ((rc = inspect(spec, &info)) != EX_OK)
		return rc;
	(void)printf("store: %s\nback end: %s\n", spec, info.backend);
	(void)printf("schema version: %lld (this program: %d)\n",
	    (long long)info.schema_version, OG_STORE_SCHEMA_VERSION);
	if (info.schema_version < OG_STORE_SCHEMA_VERSION)
		(void)printf("migrations pending: %lld (run \"store "
		             "migrate\")\n",
		    (long long)(OG_STORE_SCHEMA_VERSION - info.schema_version));
	else if (info.schema_version > OG_STORE_SCHEMA_VERSION)
		(void)printf("migrations pending: none, but the schema is "
		             "newer than this program: upgrade outguard\n");
	else
		(void)printf("migrations pending: none\n");
	if (info.schema_version > 0) {
		(void)printf("rows: ");
		count("messages", info.messages, &first);
		count("holds", info.holds, &first);
		count("audit", info.audit, &first);
		count("blocks", info.blocks, &first);
		count("incidents", info.incidents, &first);
		(void)printf("\n");
	}
	spool_state(qr, spec);
	if (info.schema_version == OG_STORE_SCHEMA_VERSION)
		drops(spec);
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return info.schema_version == OG_STORE_SCHEMA_VERSION ? EX_OK
	                                                      : EX_DATAERR;
}

static int
migrate(const char *spec)
{
	struct og_store_info before, after;
	struct og_strbuf err;
	struct og_store *st;
	int rc;

	if ((rc = inspect(spec, &before)) != EX_OK)
		return rc;
	(void)printf("store: %s\nschema version before: %lld\n", spec,
	    (long long)before.schema_version);
	og_strbuf_init(&err, 0);
	if ((st = og_store_open(spec, &err)) == NULL) {
		(void)fprintf(stderr,
		    "outguard-queue-report: migration failed: %s\n",
		    og_strbuf_str(&err));
		og_strbuf_release(&err);
		return before.schema_version > OG_STORE_SCHEMA_VERSION
		    ? EX_DATAERR
		    : EX_UNAVAILABLE;
	}
	og_strbuf_release(&err);
	og_store_close(st);
	if ((rc = inspect(spec, &after)) != EX_OK)
		return rc;
	(void)printf("schema version after: %lld%s\n",
	    (long long)after.schema_version,
	    after.schema_version == before.schema_version ? " (up to date)"
	                                                  : "");
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

int
qr_store(struct qr *qr, int argc, char **argv)
{
	const char *spec = og_conf_str(qr->conf, "store");

	if (argc != 2)
		return usage();
	if (spec == NULL || *spec == '\0') {
		(void)fputs(
		    "outguard-queue-report: no store configured\n", stderr);
		return EX_CONFIG;
	}
	if (strcmp(argv[1], "check") == 0)
		return check(qr, spec);
	if (strcmp(argv[1], "migrate") == 0)
		return migrate(spec);
	return usage();
}

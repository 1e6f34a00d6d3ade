/*
 * qr_hold.c - "outguard-queue-report hold | release | holds"
 * DESCRIPTION: hold and release write the store (the hold and its audit
 *	row); outguard-policyd picks the change up within a second. With
 *	Postfix's queue at hand (postqueue -j, and root for postsuper),
 *	hold also moves the identity's queued mail to the hold queue and
 *	release moves its held mail back (postsuper -h / -H, queue ids
 *	validated, fixed argv). A held message belongs to an identity by
 *	its envelope sender (postqueue), by the store's record of who sent
 *	it (SASL login, client address), or by its recipients (provider).
 *	holds lists the holds in force with the held messages each covers
 *	(a provider-scoped hold: only those to that provider), as text or
 *	--json.
 */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "exec.h"
#include "log.h"
#include "postcat.h"
#include "postqueue.h"
#include "qr.h"
#include "qr_fmt.h"
#include "store.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

/* one queued message, with who sent it as far as the store knows */
struct qmsg {
	char *queue_id, *queue_name, *sender, *sasl, *client;
	char **domains;
	size_t ndomains;
	int64_t arrival;
	long uid; /* the local user who submitted it, or -1 */
};

struct queue {
	struct qmsg *m;
	size_t n;
	int ok; /* postqueue ran */
};

struct collect {
	struct queue *q;
	struct og_store *st;
	const char *host;
	const char *want_queue; /* "hold", "deferred"..., NULL: any */
	const char *config_dir;
};

static char *
dup_or_null(const char *s)
{
	return s ? og_strdup(s) : NULL;
}

static int
collect_one(const struct og_pq_msg *pm, void *arg)
{
	struct collect *c = arg;
	struct og_msgrec_owned rec;
	struct qmsg *m;
	size_t i;

	if (c->want_queue != NULL && strcmp(pm->queue_name, c->want_queue))
		return 0;
	c->q->m = og_reallocarray(c->q->m, c->q->n + 1, sizeof(*c->q->m));
	m = &c->q->m[c->q->n++];
	memset(m, 0, sizeof(*m));
	m->uid = -1;
	m->queue_id = og_strdup(pm->queue_id);
	m->queue_name = og_strdup(pm->queue_name);
	m->sender = og_lowercase(og_strdup(pm->sender ? pm->sender : ""));
	m->arrival = pm->arrival_time;
	m->domains = og_calloc(pm->nrcpts + 1, sizeof(char *));
	for (i = 0; i < pm->nrcpts; i++) {
		const char *at = strrchr(pm->rcpts[i].address, '@');

		if (at != NULL)
			m->domains[m->ndomains++] =
			    og_lowercase(og_strdup(at + 1));
	}
	memset(&rec, 0, sizeof(rec));
	if (c->st != NULL &&
	    og_store_find_message(c->st, c->host, pm->queue_id, &rec) ==
	        OG_FOUND) {
		m->sasl = dup_or_null(rec.sasl_username);
		m->client = dup_or_null(rec.client_address);
		og_store_msgrec_clear(&rec);
	} else {
		/* not (yet) recorded: the queue file itself says who */
		struct og_postcat pc;

		if (og_postcat(c->config_dir, pm->queue_id, &pc) == OG_FOUND) {
			m->sasl = dup_or_null(pc.sasl_username);
			m->client = dup_or_null(pc.client_address);
			m->uid = pc.local_uid >= 0 ? pc.local_uid : pc.php_uid;
		}
		og_postcat_clear(&pc);
	}
	return 0;
}

static void
queue_free(struct queue *q)
{
	size_t i, j;

	for (i = 0; i < q->n; i++) {
		struct qmsg *m = &q->m[i];

		og_free(m->queue_id);
		og_free(m->queue_name);
		og_free(m->sender);
		og_free(m->sasl);
		og_free(m->client);
		for (j = 0; j < m->ndomains; j++)
			og_free(m->domains[j]);
		og_free(m->domains);
	}
	og_free(q->m);
	memset(q, 0, sizeof(*q));
}

/* load_queue - the messages of one queue (NULL: all), -1 if unreadable */
static int
load_queue(
    struct qr *qr, struct og_store *st, const char *which, struct queue *q)
{
	struct og_pq_stats stats;
	struct collect c;
	char host[256];

	memset(q, 0, sizeof(*q));
	c.q = q;
	c.st = st;
	c.host = og_conf_hostname(qr->conf, host, sizeof(host));
	c.want_queue = which;
	c.config_dir = og_conf_str(qr->conf, "postfix_config_dir");
	if (og_pq_run(og_conf_str(qr->conf, "postfix_config_dir"), collect_one,
	        &c, &stats) < 0) {
		queue_free(q);
		return -1;
	}
	q->ok = 1;
	return 0;
}

/* belongs - is m the mail of identity? */
static int
belongs(const struct qmsg *m, const char *identity,
    const struct og_table *providers)
{
	const char *v = strchr(identity, ':') + 1, *p;
	size_t i;

	if (strncmp(identity, "sasl:", 5) == 0)
		return m->sasl != NULL && og_strcasecmp_ascii(m->sasl, v) == 0;
	if (strncmp(identity, "sender:", 7) == 0)
		return strcmp(v, "<>") == 0
		    ? *m->sender == '\0'
		    : og_strcasecmp_ascii(m->sender, v) == 0;
	if (strncmp(identity, "client:", 7) == 0)
		return qr_in_net(m->client, v);
	if (strncmp(identity, "provider:", 9) == 0) {
		for (i = 0; providers != NULL && i < m->ndomains; i++)
			if (og_table_lookup(providers, m->domains[i], &p) ==
			        OG_FOUND &&
			    strcmp(p, v) == 0)
				return 1;
	}
	if (strncmp(identity, "uid:", 4) == 0)
		return m->uid >= 0 && strtol(v, NULL, 10) == m->uid;
	return 0;
}

/* normalize - lowercase what compares without case; check the form */
static int
normalize(const char *in, char *out, size_t size)
{
	const char *colon = strchr(in, ':');

	if (colon == NULL || strlen(in) >= size) {
		og_warnx("\"%.100s\" is no identity: use sasl:LOGIN, "
		         "sender:ADDRESS, client:IP[/LEN], uid:N or "
		         "provider:NAME",
		    in);
		return -1;
	}
	og_strlcpy(out, in, size);
	og_lowercase(out + 0);
	if (strncmp(out, "sasl:", 5) == 0) /* logins keep their case */
		og_strlcpy(out + 5, in + 5, size - 5);
	if (!og_store_identity_valid(out)) {
		og_warnx("\"%.100s\" is no valid identity: use sasl:LOGIN, "
		         "sender:ADDRESS, client:IP[/LEN], uid:N or "
		         "provider:NAME",
		    in);
		return -1;
	}
	return 0;
}

/* parse_until - "2h" (from now), "2026-11-24T10:00:00Z" or "@UNIX" */
static int
parse_until(const char *s, int64_t now, int64_t *out)
{
	unsigned long long v;
	struct tm tm;
	const char *end;

	if (*s == '@' && og_parse_uint(s + 1, 1, INT64_MAX, &v) == 0) {
		*out = (int64_t)v;
		return 0;
	}
	if (og_parse_duration(s, &v) == 0 && v > 0) {
		*out = now + (int64_t)v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	og_warnx("--until %.64s: expected a duration (2h, 3d), "
	         "YYYY-MM-DDTHH:MM:SSZ or @UNIXTIME",
	    s);
	return -1;
}

static const char *
actor(char *buf, size_t size)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw;

	if (who == NULL || *who == '\0')
		who = (pw = getpwuid(getuid())) ? pw->pw_name : "unknown";
	(void)snprintf(buf, size, "cli:%s", who);
	return buf;
}

static struct og_store *
open_store(struct qr *qr)
{
	struct og_strbuf err;
	struct og_store *st;
	const char *spec = og_conf_str(qr->conf, "store");

	og_strbuf_init(&err, 0);
	if ((st = og_store_open(spec, &err)) == NULL)
		og_warnx("store %s: %s", spec, og_strbuf_str(&err));
	og_strbuf_release(&err);
	return st;
}

/* messages kept held on release, counted by the hold that keeps them */
struct kept {
	char **who;
	size_t *count;
	size_t n;
};

static void
tally(struct kept *k, const char *who)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->who[i], who) == 0) {
			k->count[i]++;
			return;
		}
	k->who = og_reallocarray(k->who, k->n + 1, sizeof(*k->who));
	k->count = og_reallocarray(k->count, k->n + 1, sizeof(*k->count));
	k->who[k->n] = og_strdup(who);
	k->count[k->n++] = 1;
}

/* held_by - the identity of another hold (not except) that covers m */
static const char *
held_by(const struct qmsg *m, const struct og_hold *holds, size_t n,
    const char *except, const struct og_table *providers)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(holds[i].scope, "all") == 0 &&
		    og_strcasecmp_ascii(holds[i].identity, except) != 0 &&
		    belongs(m, holds[i].identity, providers))
			return holds[i].identity;
	return NULL;
}

/*
 * queue_lifetime - Postfix's maximal_queue_lifetime in seconds (postconf),
 * or 0 when it cannot be read
 */
static int64_t
queue_lifetime(struct qr *qr)
{
	const char *dir = og_conf_str(qr->conf, "postfix_config_dir");
	const char *argv[6];
	struct og_strbuf out;
	struct og_exec_result res;
	unsigned long long v = 0;
	char *cmd = og_postfix_cmd("postconf");
	int i = 0;

	if (cmd == NULL)
		return 0;
	argv[i++] = cmd;
	if (dir != NULL) {
		argv[i++] = "-c";
		argv[i++] = dir;
	}
	argv[i++] = "-h";
	argv[i++] = "maximal_queue_lifetime";
	argv[i] = NULL;
	og_strbuf_init(&out, 256);
	if (og_exec(argv, NULL, NULL, 0, &out, NULL, 10000, &res) == 0 &&
	    res.status == 0) {
		while (out.len > 0 &&
		    (out.data[out.len - 1] == '\n' ||
		        out.data[out.len - 1] == ' '))
			og_strbuf_truncate(&out, out.len - 1);
		if (og_parse_duration(og_strbuf_str(&out), &v) < 0)
			v = 0;
		/* Postfix's default unit is days */
		else if (strspn(og_strbuf_str(&out), "0123456789") == out.len)
			v *= 86400;
	}
	og_strbuf_release(&out);
	og_free(cmd);
	return (int64_t)v;
}

/*
 * move - postsuper op on the messages of identity in queue from;
 * prints them; returns how many were moved, -1 on trouble
 */
static long
move(struct qr *qr, struct og_store *st, const char *identity, const char *from,
    const char *op, const char *verb)
{
	struct og_strbuf err;
	struct queue q;
	const char **ids, **old;
	struct og_hold *others = NULL;
	struct kept kept = { NULL, NULL, 0 };
	size_t i, n = 0, nold = 0, nothers = 0;
	int64_t lifetime;
	long r;

	if (load_queue(qr, st, from, &q) < 0) {
		og_warnx("cannot read Postfix's queue (postqueue -j): queued "
		         "mail left as it is");
		return -1;
	}
	ids = og_calloc(q.n + 1, sizeof(*ids));
	old = og_calloc(q.n + 1, sizeof(*old));
	/*
	 * Released mail older than Postfix's queue lifetime would bounce at
	 * its next try: requeue it (-r), which starts its life anew.
	 */
	lifetime = strcmp(op, "-H") == 0 ? queue_lifetime(qr) : 0;
	if (strcmp(op, "-H") == 0 &&
	    og_store_holds(st, og_now(), &others, &nothers) < 0)
		nothers = 0, others = NULL;
	for (i = 0; i < q.n; i++) {
		const char *still;

		if (!belongs(&q.m[i], identity,
		        og_conf_table(qr->conf, "provider_domains")))
			continue;
		/* a message another hold covers stays held */
		if ((still = held_by(&q.m[i], others, nothers, identity,
		         og_conf_table(qr->conf, "provider_domains"))) !=
		    NULL) {
			tally(&kept, still);
			continue;
		}
		if (lifetime > 0 && og_now() - q.m[i].arrival > lifetime - 3600)
			old[nold++] = q.m[i].queue_id;
		else
			ids[n++] = q.m[i].queue_id;
	}
	r = (long)(n + nold);
	og_strbuf_init(&err, 0);
	if ((n > 0 &&
	        og_postsuper(og_conf_str(qr->conf, "postfix_config_dir"), op,
	            ids, n, &err) < 0) ||
	    (nold > 0 &&
	        og_postsuper(og_conf_str(qr->conf, "postfix_config_dir"), "-r",
	            old, nold, &err) < 0)) {
		og_warnx("postsuper %s: %s", op, og_strbuf_str(&err));
		r = -1;
	} else {
		for (i = 0; i < n; i++)
			(void)printf("%s %s\n", verb, ids[i]);
		for (i = 0; i < nold; i++)
			(void)printf("%s %s (requeued: older than the queue "
			             "lifetime)\n",
			    verb, old[i]);
	}
	for (i = 0; i < kept.n; i++) {
		(void)printf("kept %zu message%s held: still on hold for %s\n",
		    kept.count[i], kept.count[i] == 1 ? "" : "s", kept.who[i]);
		og_free(kept.who[i]);
	}
	og_free(kept.who);
	og_free(kept.count);
	og_free(old);
	og_store_holds_free(others, nothers);
	og_strbuf_release(&err);
	og_free(ids);
	queue_free(&q);
	return r;
}

int
qr_hold(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "until", required_argument, NULL, 'u' },
		{ "scope", required_argument, NULL, 's' },
		{ "no-queue", no_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 },
	};
	char identity[OG_IDENTITY_MAX], who[128], since[32];
	const char *reason = NULL, *scope = "all";
	struct og_hold h;
	struct og_store *st;
	int64_t now = og_now(), until = 0, id = 0;
	int ch, r, queue = 1;
	long moved;

	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "r:u:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			reason = optarg;
			break;
		case 'u':
			if (parse_until(optarg, now, &until) < 0)
				return EX_USAGE;
			break;
		case 's':
			scope = optarg;
			break;
		case 'Q':
			queue = 0;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || reason == NULL || *reason == '\0')
		goto usage;
	if (normalize(argv[optind], identity, sizeof(identity)) < 0)
		return EX_USAGE;
	if (strcmp(scope, "all") != 0 &&
	    (strncmp(scope, "provider:", 9) != 0 ||
	        !og_store_identity_valid(scope))) {
		og_warnx("--scope %.64s: expected all or provider:NAME", scope);
		return EX_USAGE;
	}
	if ((st = open_store(qr)) == NULL)
		return EX_UNAVAILABLE;
	memset(&h, 0, sizeof(h));
	h.identity = identity;
	h.scope = (char *)scope;
	h.reason = (char *)reason;
	h.created_by = (char *)actor(who, sizeof(who));
	h.since = now;
	h.until = until;
	if ((r = og_store_hold(st, &h, now, &id)) < 0) {
		og_store_close(st);
		return EX_UNAVAILABLE;
	}
	if (r == OG_FOUND)
		(void)printf("held %s (hold %lld, scope %s%s%s)\n", identity,
		    (long long)id, scope, until ? ", until " : "",
		    until ? og_time_iso(until, since, sizeof(since)) : "");
	else
		(void)printf("%s is already on hold (hold %lld)\n", identity,
		    (long long)id);
	moved = queue && strcmp(scope, "all") == 0
	    ? move(qr, st, identity, "deferred", "-h", "held")
	    : 0;
	og_store_close(st);
	return moved < 0 ? EX_TEMPFAIL : EX_OK;
usage:
	(void)fprintf(stderr,
	    "usage: outguard-queue-report hold IDENTITY --reason TEXT "
	    "[--until TIME] [--scope provider:NAME] [--no-queue]\n");
	return EX_USAGE;
}

/*
 * release_incidents - the provider's open incidents become "released":
 * the daemon's watcher notifies it and confirms it once mail flows
 */
static void
release_incidents(struct og_store *st, const char *provider, const char *reason)
{
	struct og_incident *incs;
	char who[128];
	size_t n, i;

	if (og_store_incidents(st, "open", &incs, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (strcmp(incs[i].provider, provider) != 0)
			continue;
		og_free(incs[i].state);
		incs[i].state = og_strdup("released");
		incs[i].released = og_now();
		if (og_store_incident_update(
		        st, &incs[i], actor(who, sizeof(who)), og_now()) == 0)
			(void)printf("incident %lld released (%s)\n",
			    (long long)incs[i].id, reason);
	}
	og_store_incidents_free(incs, n);
}

int
qr_release(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "scope", required_argument, NULL, 's' },
		{ "no-queue", no_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 },
	};
	char identity[OG_IDENTITY_MAX], who[128];
	const char *reason = NULL, *scope = NULL;
	struct og_store *st;
	int ch, r, queue = 1;
	long moved = 0;

	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "r:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			reason = optarg;
			break;
		case 's':
			scope = optarg;
			break;
		case 'Q':
			queue = 0;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || reason == NULL || *reason == '\0')
		goto usage;
	if (normalize(argv[optind], identity, sizeof(identity)) < 0)
		return EX_USAGE;
	if ((st = open_store(qr)) == NULL)
		return EX_UNAVAILABLE;
	r = og_store_release(
	    st, identity, scope, actor(who, sizeof(who)), reason, og_now());
	if (r < 0) {
		og_store_close(st);
		return EX_UNAVAILABLE;
	}
	if (r == OG_FOUND)
		(void)printf("released %s\n", identity);
	else
		(void)printf("%s was not on hold\n", identity);
	if (strncmp(identity, "provider:", 9) == 0)
		release_incidents(st, identity + 9, reason);
	if (queue)
		moved = move(qr, st, identity, "hold", "-H", "released");
	og_store_close(st);
	if (moved < 0)
		return EX_TEMPFAIL;
	return r == OG_FOUND || moved > 0 ? EX_OK : EX_NOINPUT;
usage:
	(void)fprintf(stderr,
	    "usage: outguard-queue-report release IDENTITY --reason TEXT "
	    "[--scope provider:NAME] [--no-queue]\n");
	return EX_USAGE;
}

/* held_count - the messages in the hold queue that hold h covers */
static size_t
held_count(struct qr *qr, const struct queue *q, const struct og_hold *h)
{
	const struct og_table *providers =
	    og_conf_table(qr->conf, "provider_domains");
	size_t j, count = 0;

	for (j = 0; j < q->n; j++)
		count += (size_t)(belongs(&q->m[j], h->identity, providers) &&
		    (strcmp(h->scope, "all") == 0 ||
		        belongs(&q->m[j], h->scope, providers)));
	return count;
}

static int
holds_json(struct qr *qr, const struct og_hold *holds, size_t n,
    const struct queue *q, int have_queue, int64_t now)
{
	json_t *o = json_object(), *a = json_array(), *e;
	size_t i;

	qr_json_set(o, "generated", json_integer(now));
	qr_json_set(o, "queue_read", json_boolean(have_queue));
	for (i = 0; i < n; i++) {
		e = json_object();
		qr_json_set(e, "id", json_integer(holds[i].id));
		qr_json_set(e, "identity", qr_json_str(holds[i].identity));
		qr_json_set(e, "scope", qr_json_str(holds[i].scope));
		qr_json_set(e, "reason", qr_json_str(holds[i].reason));
		qr_json_set(e, "created_by", qr_json_str(holds[i].created_by));
		qr_json_set(e, "since", qr_json_time(holds[i].since));
		qr_json_set(e, "until", qr_json_time(holds[i].until));
		qr_json_set(e, "incident",
		    holds[i].incident ? json_integer(holds[i].incident)
		                      : json_null());
		qr_json_set(e, "held_messages",
		    have_queue
		        ? json_integer((json_int_t)held_count(qr, q, &holds[i]))
		        : json_null());
		(void)json_array_append_new(a, e);
	}
	qr_json_set(o, "holds", a);
	return qr_json_print(o, stdout) < 0 ? EX_IOERR : EX_OK;
}

/*
 * holds_text - IDENTITY SCOPE AGE HELD REASON, in this order, one line
 * per hold while the reason gets room on it: scripts and the Postfix
 * tests grep "^IDENTITY +SCOPE +AGE +HELD " and count lines (--json is
 * the interface for programs)
 */
static void
holds_text(struct qr *qr, const struct og_hold *holds, size_t n,
    const struct queue *q, int have_queue, int64_t now)
{
	static const char *const names[] = { "IDENTITY", "SCOPE", "AGE", "HELD",
		"REASON" };
	static const unsigned flags[] = { 0, 0, 0, QR_COL_RIGHT, QR_COL_FOLD };
	struct qr_table *t = qr_table_new(5, names, flags, 0);
	char age[32], held[24];
	size_t i;

	for (i = 0; i < n; i++) {
		if (have_queue)
			(void)snprintf(held, sizeof(held), "%zu",
			    held_count(qr, q, &holds[i]));
		else
			og_strlcpy(held, "?", sizeof(held));
		qr_table_row(t, holds[i].identity, holds[i].scope,
		    qr_ago(now, holds[i].since, age, sizeof(age)), held,
		    holds[i].reason != NULL && *holds[i].reason
		        ? holds[i].reason
		        : "-");
	}
	qr_table_print(t, stdout, QR_WIDTH);
	if (n == 0)
		(void)printf("(no holds)\n");
	qr_table_free(t);
}

int
qr_holds(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, QR_OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct og_hold *holds;
	struct og_store *st;
	struct queue q;
	int64_t now = og_now();
	size_t n;
	int have_queue, ch, json = 0, rc = EX_OK;

	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != QR_OPT_JSON) {
			(void)fprintf(stderr,
			    "usage: outguard-queue-report holds [--json]\n");
			return EX_USAGE;
		}
		json = 1;
	}
	if (optind != argc) {
		(void)fprintf(
		    stderr, "usage: outguard-queue-report holds [--json]\n");
		return EX_USAGE;
	}
	if ((st = open_store(qr)) == NULL)
		return EX_UNAVAILABLE;
	if (og_store_holds(st, now, &holds, &n) < 0) {
		og_store_close(st);
		return EX_UNAVAILABLE;
	}
	have_queue = load_queue(qr, st, "hold", &q) == 0;
	if (json)
		rc = holds_json(qr, holds, n, &q, have_queue, now);
	else
		holds_text(qr, holds, n, &q, have_queue, now);
	if (!have_queue)
		(void)fprintf(stderr,
		    "note: Postfix's queue could not be "
		    "read: held-message counts unknown\n");
	else
		queue_free(&q);
	og_store_holds_free(holds, n);
	og_store_close(st);
	return qr_finish(rc);
}

/*
 * watcher.c - outguard-policyd's queue watcher
 * DESCRIPTION: see watcher.h. One scan: read the queue, classify the
 *	delay reasons, group the IP blocks by provider and egress IP, and
 *	for each group bring its incident up to date: evidence rows, the
 *	provider hold, the suspects, the queued mail on hold, the
 *	notification. The thread owns its store handle, its reply scratch
 *	and its state; it shares only read-only things (configuration,
 *	rules) and the notifier, which queues.
 * DIAGNOSTICS: every decision is one log line "incident=N ..."; store or
 *	postsuper trouble is logged and the scan goes on (the next scan
 *	retries what did not happen).
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "conf.h"
#include "log.h"
#include "notify.h"
#include "postcat.h"
#include "postqueue.h"
#include "privsep.h"
#include "store.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"
#include "watcher.h"

#define SUSPECT_MIN 10 /* recipients at the provider, at least */
#define SUSPECTS_MAX 20 /* kept in the incident's JSON */
#define BASELINE_DAYS 7
#define NOTIFY_SENDER "outguard" /* local part of notifications' sender */
#define ACTIVE_SCAN 2 /* seconds between looks during a block */
#define POSTCAT_BUDGET 500 /* queue files read per scan, at most */

/* one blocked recipient found in the queue */
struct blocked {
	char *queue_id, *recipient, *reply, *identity;
	char *sender; /* the envelope sender postqueue names */
	char *v[OG_RF_NFIELDS];
	int sender_aimed;
};

/* one queued message, as much as the watcher needs of it */
struct qmsg {
	char *queue_id, *queue_name, *sender;
	int64_t arrival;
	char **providers; /* the provider of each recipient, or NULL */
	size_t nrcpts;
};

struct scan {
	const struct og_watcher_conf *wc;
	struct og_store *st;
	struct og_reply *r;
	struct qmsg *m;
	size_t n;
	struct blocked *b;
	size_t nb;
	int64_t now;
	unsigned postcats; /* queue files read in this scan */
};

struct og_watcher {
	struct og_watcher_conf wc;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

/* ---- small helpers ---- */

static char *
dup_or_null(const char *s)
{
	return s ? og_strdup(s) : NULL;
}

/* provider_of - the provider of an address's domain, or NULL (borrowed) */
static const char *
provider_of(const struct og_conf *conf, const char *addr)
{
	const struct og_table *t = og_conf_table(conf, "provider_domains");
	const char *at = addr ? strrchr(addr, '@') : NULL, *v;
	char dom[256];

	if (t == NULL || at == NULL || strlen(at + 1) >= sizeof(dom))
		return NULL;
	og_strlcpy(dom, at + 1, sizeof(dom));
	og_lowercase(dom);
	return og_table_lookup(t, dom, &v) == OG_FOUND ? v : NULL;
}

/*
 * identity_of - who sent a message: the SASL login, else the local
 * user (PHP's uid), else the SMTP client, else the envelope sender
 */
static void
identity_of(const char *sasl, long uid, const char *client, const char *sender,
    char *out, size_t size)
{
	if (sasl != NULL && *sasl)
		(void)snprintf(out, size, "sasl:%s", sasl);
	else if (uid >= 0)
		(void)snprintf(out, size, "uid:%ld", uid);
	else if (client != NULL && *client)
		(void)snprintf(out, size, "client:%s", client);
	else
		(void)snprintf(
		    out, size, "sender:%s", sender && *sender ? sender : "<>");
	if (strncmp(out, "sender:", 7) == 0)
		og_lowercase(out);
}

/*
 * read_postcat - postcat -q ID, through the privileged helper when there
 * is one (postcat needs root to read the queue files)
 */
static int
read_postcat(struct scan *sc, const char *qid, struct og_postcat *pc)
{
	struct og_strbuf out;
	int rc = OG_ERROR;

	if (sc->wc->privsep_fd < 0)
		return og_postcat(
		    og_conf_str(sc->wc->conf, "postfix_config_dir"), qid, pc);
	memset(pc, 0, sizeof(*pc));
	pc->php_uid = -1;
	pc->local_uid = -1;
	og_strbuf_init(&out, OG_POSTCAT_OUTPUT_MAX);
	if (og_privsep_read(sc->wc->privsep_fd, qid, &out, NULL) == 0) {
		(void)og_postcat_parse(og_strbuf_str(&out), out.len, pc);
		rc = OG_FOUND;
	}
	og_strbuf_release(&out);
	return rc;
}

/* attribute - the identity of a queued message: the store, then postcat */
static void
attribute(struct scan *sc, const char *qid, const char *sender, char *out,
    size_t size)
{
	struct og_msgrec_owned rec;
	struct og_postcat pc;

	memset(&rec, 0, sizeof(rec));
	if (og_store_find_message(sc->st, sc->wc->host, qid, &rec) ==
	    OG_FOUND) {
		identity_of(rec.sasl_username, -1, rec.client_address,
		    rec.sender, out, size);
		og_store_msgrec_clear(&rec);
		return;
	}
	/*
	 * Reading a queue file costs a process: a scan of a large queue of
	 * mail the policy service never saw reads at most POSTCAT_BUDGET,
	 * and names the rest by envelope sender.
	 */
	if (sc->postcats < POSTCAT_BUDGET) {
		sc->postcats++;
		if (read_postcat(sc, qid, &pc) == OG_FOUND) {
			identity_of(pc.sasl_username,
			    pc.local_uid >= 0 ? pc.local_uid : pc.php_uid,
			    pc.client_address, pc.sender ? pc.sender : sender,
			    out, size);
			og_postcat_clear(&pc);
			return;
		}
		og_postcat_clear(&pc);
	}
	identity_of(NULL, -1, NULL, sender, out, size);
}

/* ---- reading the queue ---- */

static int
collect(const struct og_pq_msg *pm, void *arg)
{
	struct scan *sc = arg;
	struct qmsg *m;
	size_t i;

	sc->m = og_reallocarray(sc->m, sc->n + 1, sizeof(*sc->m));
	m = &sc->m[sc->n++];
	memset(m, 0, sizeof(*m));
	m->queue_id = og_strdup(pm->queue_id);
	m->queue_name = og_strdup(pm->queue_name);
	m->sender = og_strdup(pm->sender ? pm->sender : "");
	m->arrival = pm->arrival_time;
	m->nrcpts = pm->nrcpts;
	m->providers = og_calloc(pm->nrcpts + 1, sizeof(char *));
	for (i = 0; i < pm->nrcpts; i++) {
		const struct og_pq_rcpt *rc = &pm->rcpts[i];
		struct blocked *b;
		size_t f;

		m->providers[i] =
		    dup_or_null(provider_of(sc->wc->conf, rc->address));
		if (rc->delay_reason == NULL ||
		    strcmp(pm->queue_name, "hold") == 0)
			continue;
		og_classify(sc->wc->rules, sc->r, rc->delay_reason,
		    strlen(rc->delay_reason));
		if (!og_reply_is(sc->r, OG_RF_CLASS, "ip_block"))
			continue;
		sc->b = og_reallocarray(sc->b, sc->nb + 1, sizeof(*sc->b));
		b = &sc->b[sc->nb++];
		memset(b, 0, sizeof(*b));
		b->queue_id = og_strdup(pm->queue_id);
		b->recipient = og_strdup(rc->address);
		b->sender = og_strdup(m->sender);
		b->reply = og_strdup(rc->delay_reason);
		for (f = 0; f < OG_RF_NFIELDS; f++)
			b->v[f] = dup_or_null(sc->r->v[f]);
		/*
		 * XXX the one block Microsoft aims at a sender, not the IP:
		 * 5.7.511 "banned sender". A rules field would be better.
		 */
		b->sender_aimed =
		    og_reply_is(sc->r, OG_RF_ENHANCED_CODE, "5.7.511");
		/* the recipient's provider when the reply did not say */
		if (b->v[OG_RF_PROVIDER] == NULL ||
		    strcmp(b->v[OG_RF_PROVIDER], "other") == 0 ||
		    strcmp(b->v[OG_RF_PROVIDER], "unknown") == 0) {
			og_free(b->v[OG_RF_PROVIDER]);
			b->v[OG_RF_PROVIDER] = dup_or_null(m->providers[i]);
		}
	}
	return 0;
}

static void
scan_free(struct scan *sc)
{
	size_t i, j;

	for (i = 0; i < sc->n; i++) {
		og_free(sc->m[i].queue_id);
		og_free(sc->m[i].queue_name);
		og_free(sc->m[i].sender);
		for (j = 0; j < sc->m[i].nrcpts; j++)
			og_free(sc->m[i].providers[j]);
		og_free(sc->m[i].providers);
	}
	for (i = 0; i < sc->nb; i++) {
		og_free(sc->b[i].queue_id);
		og_free(sc->b[i].recipient);
		og_free(sc->b[i].reply);
		og_free(sc->b[i].identity);
		og_free(sc->b[i].sender);
		for (j = 0; j < OG_RF_NFIELDS; j++)
			og_free(sc->b[i].v[j]);
	}
	og_free(sc->m);
	og_free(sc->b);
	sc->m = NULL;
	sc->b = NULL;
	sc->n = sc->nb = 0;
}

/* ---- holding queued mail ---- */

static int
postsuper(struct scan *sc, const char *op, const char *const *ids, size_t n)
{
	struct og_strbuf err;
	int rc;

	if (n == 0)
		return 0;
	og_strbuf_init(&err, 4096);
	if (sc->wc->privsep_fd >= 0)
		rc = og_privsep_postsuper(sc->wc->privsep_fd, op, ids, n, &err);
	else
		rc = og_postsuper(
		    og_conf_str(sc->wc->conf, "postfix_config_dir"), op, ids, n,
		    &err);
	if (rc < 0)
		og_warnx("postsuper %s of %zu messages failed: %s", op, n,
		    og_strbuf_str(&err));
	og_strbuf_release(&err);
	return rc;
}

static int
is_notification(const struct qmsg *m, const char *host)
{
	size_t n = strlen(NOTIFY_SENDER);

	return strncmp(m->sender, NOTIFY_SENDER "@", n + 1) == 0 &&
	    og_strcasecmp_ascii(m->sender + n + 1, host) == 0;
}

/*
 * hold_queued - postsuper -h every deferred or active message to
 * provider (NULL: any) whose identity is identity (NULL: any sender)
 */
static long
hold_queued(struct scan *sc, const char *provider, const char *identity)
{
	const char **ids = og_calloc(sc->n + 1, sizeof(*ids));
	size_t *idx = og_calloc(sc->n + 1, sizeof(*idx));
	char who[OG_IDENTITY_MAX];
	size_t i, j, n = 0;
	long rc;

	for (i = 0; i < sc->n; i++) {
		struct qmsg *m = &sc->m[i];
		int to = provider == NULL;

		/*
		 * Never a message in the active queue: if its delivery in
		 * flight succeeds, Postfix cannot mark it done in a file
		 * postsuper has moved ("open active ...: No such file"),
		 * and the release would deliver it twice. A blocked active
		 * message becomes deferred (the status filter keeps it) and
		 * the next look, at most ACTIVE_SCAN seconds on, holds it.
		 */
		if (strcmp(m->queue_name, "deferred") != 0 &&
		    strcmp(m->queue_name, "incoming") != 0)
			continue;
		if (is_notification(m, sc->wc->host))
			continue;
		for (j = 0; !to && j < m->nrcpts; j++)
			to = m->providers[j] != NULL &&
			    strcmp(m->providers[j], provider) == 0;
		if (!to)
			continue;
		if (identity != NULL) {
			attribute(sc, m->queue_id, m->sender, who, sizeof(who));
			if (og_strcasecmp_ascii(who, identity) != 0)
				continue;
		}
		idx[n] = i;
		ids[n++] = m->queue_id;
	}
	rc = postsuper(sc, "-h", ids, n) < 0 ? -1 : (long)n;
	/* moved: a later look of this scan must not move them again */
	for (j = 0; rc > 0 && j < n; j++) {
		struct qmsg *m = &sc->m[idx[j]];

		og_free(m->queue_name);
		m->queue_name = og_strdup("hold");
	}
	og_free(ids);
	og_free(idx);
	return rc;
}

/* ---- suspects ---- */

struct stat {
	char *identity;
	long msgs, rcpts, prcpts, base;
};

struct ranking {
	struct stat *s;
	size_t n, size; /* open addressing, size a power of two */
	const struct og_conf *conf;
	const char *provider;
	int baseline; /* counting the days before the window */
	long total;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct stat *
stat_get(struct ranking *rk, const char *identity)
{
	size_t i;

	if (2 * (rk->n + 1) > rk->size) {
		struct stat *old = rk->s;
		size_t osize = rk->size, k;

		rk->size = rk->size ? rk->size * 2 : 1024;
		rk->s = og_calloc(rk->size, sizeof(*rk->s));
		for (k = 0; k < osize; k++) {
			if (old[k].identity == NULL)
				continue;
			for (i = hash(old[k].identity) & (rk->size - 1);
			     rk->s[i].identity != NULL;
			     i = (i + 1) & (rk->size - 1))
				;
			rk->s[i] = old[k];
		}
		og_free(old);
	}
	for (i = hash(identity) & (rk->size - 1); rk->s[i].identity != NULL;
	     i = (i + 1) & (rk->size - 1))
		if (strcmp(rk->s[i].identity, identity) == 0)
			return &rk->s[i];
	rk->s[i].identity = og_strdup(identity);
	rk->n++;
	return &rk->s[i];
}

/* to_provider - recipients at the provider in "dom=N dom=N ..." */
static long
to_provider(
    const struct og_conf *conf, const char *provider, const char *summary)
{
	const char *p = summary;
	char addr[300];
	long total = 0;

	while (p != NULL && *p) {
		const char *sp = strchr(p, ' '), *eq;
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		unsigned long long n;
		char num[24];

		eq = memchr(p, '=', len);
		if (eq != NULL && (size_t)(eq - p) < 255 &&
		    len - (size_t)(eq - p) - 1 < sizeof(num)) {
			memcpy(num, eq + 1, len - (size_t)(eq - p) - 1);
			num[len - (size_t)(eq - p) - 1] = '\0';
			(void)snprintf(
			    addr, sizeof(addr), "x@%.*s", (int)(eq - p), p);
			if (og_parse_uint(num, 0, 1000000000, &n) == 0) {
				const char *pv = provider_of(conf, addr);

				if (pv != NULL && strcmp(pv, provider) == 0)
					total += (long)n;
			}
		}
		p = sp ? sp + 1 : NULL;
	}
	return total;
}

static int
rank_row(const struct og_msgrec *m, void *arg)
{
	struct ranking *rk = arg;
	char who[OG_IDENTITY_MAX];
	struct stat *s;
	long p;

	identity_of(m->sasl_username, -1, m->client_address, m->sender, who,
	    sizeof(who));
	p = to_provider(rk->conf, rk->provider, m->rcpt_summary);
	s = stat_get(rk, who);
	if (rk->baseline) {
		s->base += p;
		return 0;
	}
	s->msgs++;
	s->rcpts += m->recipient_count > 0 ? m->recipient_count : 1;
	s->prcpts += p;
	rk->total += p;
	return 0;
}

static int
by_prcpts(const void *a, const void *b)
{
	const struct stat *x = a, *y = b;

	if (x->prcpts != y->prcpts)
		return x->prcpts > y->prcpts ? -1 : 1;
	return strcmp(
	    x->identity ? x->identity : "", y->identity ? y->identity : "");
}

/*
 * rank - the identities that sent to provider in the suspect window
 * before first_block, as a JSON array, most first; the ones over the
 * threshold are held (auto_hold_suspects) for every destination
 */
static json_t *
rank(struct scan *sc, const char *provider, int64_t first_block,
    int64_t incident, char ***held, size_t *nheld)
{
	const struct og_conf *conf = sc->wc->conf;
	int64_t win = (int64_t)og_conf_uint(conf, "suspect_window");
	long threshold = (long)og_conf_uint(conf, "suspect_threshold");
	int auto_hold = og_conf_bool(conf, "auto_hold_suspects");
	struct ranking rk;
	json_t *arr = json_array();
	size_t i, kept = 0;

	memset(&rk, 0, sizeof(rk));
	rk.conf = conf;
	rk.provider = provider;
	/* the window includes the first block's own second */
	(void)og_store_messages_scan(
	    sc->st, NULL, first_block - win, first_block + 1, rank_row, &rk);
	rk.baseline = 1;
	(void)og_store_messages_scan(sc->st, NULL,
	    first_block - win - BASELINE_DAYS * 86400, first_block - win,
	    rank_row, &rk);
	qsort(rk.s, rk.size, sizeof(*rk.s), by_prcpts);
	*held = NULL;
	*nheld = 0;
	for (i = 0; i < rk.size && kept < SUSPECTS_MAX; i++) {
		struct stat *s = &rk.s[i];
		double share, base, spike;
		int suspect;
		json_t *o;

		if (s->identity == NULL || s->prcpts == 0)
			continue;
		share = rk.total ? 100.0 * (double)s->prcpts / (double)rk.total
		                 : 0.0;
		/* the same window's worth of the days before */
		base = (double)s->base * (double)win /
		    (double)(BASELINE_DAYS * 86400);
		spike = (double)s->prcpts / (base + 1.0);
		suspect =
		    share >= (double)threshold && s->prcpts >= SUSPECT_MIN;
		o = json_object();
		(void)json_object_set_new(
		    o, "identity", json_string(s->identity));
		(void)json_object_set_new(o, "messages", json_integer(s->msgs));
		(void)json_object_set_new(
		    o, "recipients", json_integer(s->rcpts));
		(void)json_object_set_new(
		    o, "to_provider", json_integer(s->prcpts));
		(void)json_object_set_new(o, "share_percent",
		    json_real((double)(long)(share * 10) / 10));
		(void)json_object_set_new(o, "baseline_per_window",
		    json_real((double)(long)(base * 10) / 10));
		(void)json_object_set_new(
		    o, "spike", json_real((double)(long)(spike * 10) / 10));
		(void)json_object_set_new(o, "suspect", json_boolean(suspect));
		(void)json_object_set_new(
		    o, "held", json_boolean(suspect && auto_hold));
		(void)json_array_append_new(arr, o);
		kept++;
		if (suspect && auto_hold) {
			*held =
			    og_reallocarray(*held, *nheld + 1, sizeof(char *));
			(*held)[(*nheld)++] = og_strdup(s->identity);
		}
		{
			struct og_strbuf line;

			og_strbuf_init(&line, 4096);
			og_kv_begin(&line, NULL);
			og_kv_addf(
			    &line, "incident", "%lld", (long long)incident);
			og_kv_add(&line, "suspect", s->identity);
			og_kv_addf(&line, "to_provider", "%ld", s->prcpts);
			og_kv_addf(&line, "share", "%.1f%%", share);
			og_kv_addf(&line, "spike", "%.1f", spike);
			og_kv_add(&line, "decision",
			    suspect ? (auto_hold ? "hold" : "report")
			            : "below-threshold");
			og_kv_log(&line);
			og_strbuf_release(&line);
		}
	}
	for (i = 0; i < rk.size; i++)
		og_free(rk.s[i].identity);
	og_free(rk.s);
	return arr;
}

/* ---- incidents ---- */

/* json_set_str - inc's JSON text column from a jansson value (stolen) */
static void
json_set_str(char **col, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	og_free(*col);
	*col = og_strdup(s ? s : "null");
	free(s);
	json_decref(v);
}

/* notified - has event been notified for inc? */
static int
notified(const struct og_incident *inc, const char *event)
{
	json_t *o = json_loads(inc->notified ? inc->notified : "{}", 0, NULL);
	int r = o != NULL && json_object_get(o, event) != NULL;

	json_decref(o);
	return r;
}

static void
mark_notified(struct og_incident *inc, const char *event, int64_t now)
{
	json_t *o = json_loads(inc->notified ? inc->notified : "{}", 0, NULL);

	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	(void)json_object_set_new(o, event, json_integer(now));
	json_set_str(&inc->notified, o);
}

/* incident_json - the incident as the notifications carry it */
static json_t *
incident_json(const struct og_incident *inc, const char *event)
{
	json_t *o = json_object(), *v;

	(void)json_object_set_new(o, "event", json_string(event));
	(void)json_object_set_new(o, "incident", json_integer(inc->id));
	(void)json_object_set_new(o, "host", json_string(inc->host));
	(void)json_object_set_new(o, "provider", json_string(inc->provider));
	(void)json_object_set_new(o, "egress_ip",
	    inc->egress_ip ? json_string(inc->egress_ip) : json_null());
	(void)json_object_set_new(o, "state", json_string(inc->state));
	(void)json_object_set_new(o, "opened", json_integer(inc->opened));
	(void)json_object_set_new(
	    o, "first_block", json_integer(inc->first_block));
	(void)json_object_set_new(
	    o, "last_block", json_integer(inc->last_block));
	(void)json_object_set_new(o, "blocks", json_integer(inc->blocks));
	v = json_loads(inc->suspects ? inc->suspects : "[]", 0, NULL);
	(void)json_object_set_new(o, "suspects", v ? v : json_array());
	v = json_loads(inc->holds ? inc->holds : "[]", 0, NULL);
	(void)json_object_set_new(o, "holds", v ? v : json_array());
	(void)json_object_set_new(o, "released", json_integer(inc->released));
	(void)json_object_set_new(o, "confirmed", json_integer(inc->confirmed));
	return o;
}

/* notify - one notification of event for inc, once */
static void
notify(struct scan *sc, struct og_incident *inc, const char *event)
{
	struct og_notice nt;
	struct og_strbuf subject, text;
	json_t *o;
	char *js;

	if (notified(inc, event))
		return;
	mark_notified(inc, event, sc->now);
	if (sc->wc->notify == NULL)
		return;
	o = incident_json(inc, event);
	js = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	og_strbuf_init(&subject, 1024);
	og_strbuf_init(&text, 4096);
	(void)og_strbuf_addf(&subject, "[outguard] incident %lld %s: %s %s %s",
	    (long long)inc->id, event, inc->provider,
	    strcmp(event, "confirmed") == 0 ? "accepts mail from" : "blocks",
	    inc->egress_ip ? inc->egress_ip : "this server");
	(void)og_strbuf_addf(&text,
	    "Host %s, incident %lld (%s).\n"
	    "See: outguard-queue-report summary; outguard-queue-report "
	    "evidence\n",
	    inc->host, (long long)inc->id, event);
	memset(&nt, 0, sizeof(nt));
	nt.event = event;
	nt.subject = og_strbuf_str(&subject);
	nt.text = og_strbuf_str(&text);
	nt.json = js ? js : "{}";
	if (og_notify_send(sc->wc->notify, &nt) < 0)
		og_warnx("incident=%lld: notification %s dropped",
		    (long long)inc->id, event);
	og_info("incident=%lld notify=%s", (long long)inc->id, event);
	free(js);
	og_strbuf_release(&subject);
	og_strbuf_release(&text);
}

/* hold - an identity on hold for the incident; 1 when new */
static int
hold(struct scan *sc, const char *identity, const char *reason,
    int64_t incident, json_t *holds)
{
	struct og_hold h;
	int64_t id = 0;
	int r;

	memset(&h, 0, sizeof(h));
	h.identity = (char *)identity;
	h.scope = "all";
	h.reason = (char *)reason;
	h.created_by = "watcher";
	h.since = sc->now;
	h.incident = incident;
	if ((r = og_store_hold(sc->st, &h, sc->now, &id)) < 0)
		return -1;
	if (r == OG_FOUND && holds != NULL) {
		json_t *o = json_object();

		(void)json_object_set_new(o, "identity", json_string(identity));
		(void)json_object_set_new(o, "hold", json_integer(id));
		(void)json_object_set_new(o, "time", json_integer(sc->now));
		(void)json_array_append_new(holds, o);
	}
	return r == OG_FOUND;
}

/* record_blocks - evidence rows for the blocked recipients of a group */
static void
record_blocks(
    struct scan *sc, const char *provider, const char *egress, int64_t incident)
{
	size_t i;

	for (i = 0; i < sc->nb; i++) {
		struct blocked *b = &sc->b[i];
		struct og_block row;
		char who[OG_IDENTITY_MAX];
		int64_t id;

		if (b->v[OG_RF_PROVIDER] == NULL ||
		    strcmp(b->v[OG_RF_PROVIDER], provider) != 0 ||
		    (egress == NULL) != (b->v[OG_RF_IP] == NULL) ||
		    (egress != NULL && strcmp(egress, b->v[OG_RF_IP]) != 0))
			continue;
		if (b->identity == NULL) {
			attribute(sc, b->queue_id, b->sender, who, sizeof(who));
			b->identity = og_strdup(who);
		}
		memset(&row, 0, sizeof(row));
		row.host = sc->wc->host;
		row.queue_id = b->queue_id;
		row.recipient = b->recipient;
		row.provider = provider;
		row.class_ = b->v[OG_RF_CLASS];
		row.smtp_code = b->v[OG_RF_SMTP_CODE];
		row.enhanced_code = b->v[OG_RF_ENHANCED_CODE];
		row.provider_code = b->v[OG_RF_PROVIDER_CODE];
		row.remedy = b->v[OG_RF_REMEDY];
		row.reply = b->reply;
		row.mx_host = b->v[OG_RF_MX_HOST];
		row.mx_ip = b->v[OG_RF_MX_IP];
		row.egress_ip = egress;
		row.server_tag = b->v[OG_RF_SERVER_TAG];
		row.server_time = b->v[OG_RF_SERVER_TIME];
		row.identity = b->identity;
		row.source = "watcher";
		row.incident = incident;
		(void)og_store_block_record(sc->st, &row, sc->now, &id);
	}
}

/* seen_since - the status filter saw provider block egress after t */
static int
seen_since(struct scan *sc, const char *provider, const char *egress, int64_t t)
{
	struct og_block_filter f;
	struct og_block_owned *rows;
	size_t n, i;
	int seen = 0;

	memset(&f, 0, sizeof(f));
	f.since = t + 1;
	f.provider = provider;
	f.egress_ip = egress;
	f.limit = 1000;
	if (og_store_blocks(sc->st, &f, &rows, &n) < 0)
		return 0;
	for (i = 0; i < n && !seen; i++)
		seen = rows[i].source != NULL &&
		    strcmp(rows[i].source, "status-filter") == 0 &&
		    rows[i].last_seen > t;
	og_store_blocks_free(rows, n);
	return seen;
}

/* incident - bring the incident of provider + egress IP up to date */
static void
incident(
    struct scan *sc, const char *provider, const char *egress, const char *code)
{
	struct og_incident inc;
	struct og_strbuf reason, line;
	char **held = NULL, pid[OG_IDENTITY_MAX];
	size_t nheld = 0, i;
	json_t *holds;
	int fresh, reopened, r;
	int64_t id;
	long moved;

	memset(&inc, 0, sizeof(inc));
	r = og_store_incident_open(
	    sc->st, sc->wc->host, provider, egress, sc->now, &inc);
	if (r < 0)
		return;
	fresh = r == OG_NOTFOUND;
	reopened = !fresh && strcmp(inc.state, "released") == 0;
	/*
	 * Released mail keeps its old delay_reason until Postfix tries it
	 * again: only a block the status filter saw after the release
	 * reopens the incident.
	 */
	if (reopened && !seen_since(sc, provider, egress, inc.released)) {
		og_store_incident_clear(&inc);
		return;
	}
	id = inc.id;
	record_blocks(sc, provider, egress, id);
	(void)og_store_block_link(sc->st, id, provider, egress);
	og_store_incident_clear(&inc);
	/* reread: the links set first_block and the count */
	if (og_store_incident_get(sc->st, id, &inc) != OG_FOUND)
		return;
	holds = json_loads(inc.holds ? inc.holds : "[]", 0, NULL);
	if (holds == NULL || !json_is_array(holds)) {
		json_decref(holds);
		holds = json_array();
	}
	og_strbuf_init(&reason, 1024);
	og_strbuf_init(&line, 4096);
	(void)og_strbuf_addf(&reason, "%s blocks %s (%s), incident %lld",
	    provider, egress ? egress : "this server", code ? code : "block",
	    (long long)inc.id);
	(void)snprintf(pid, sizeof(pid), "provider:%s", provider);
	/* 1. keep the mail, stop the retries */
	if (hold(sc, pid, og_strbuf_str(&reason), inc.id, holds) > 0)
		og_info("incident=%lld action=hold identity=%s reason=\"%s\"",
		    (long long)inc.id, pid, og_strbuf_str(&reason));
	/* 2. and 3. find the cause and stop it, once per episode */
	if (fresh || reopened) {
		json_t *suspects = rank(sc, provider,
		    inc.first_block ? inc.first_block : sc->now, inc.id, &held,
		    &nheld);

		json_set_str(&inc.suspects, suspects);
		for (i = 0; i < nheld; i++) {
			struct og_strbuf why;

			og_strbuf_init(&why, 1024);
			(void)og_strbuf_addf(&why,
			    "top suspect of incident "
			    "%lld (%s blocks %s)",
			    (long long)inc.id, provider,
			    egress ? egress : "this server");
			if (hold(sc, held[i], og_strbuf_str(&why), inc.id,
			        holds) > 0) {
				og_kv_begin(&line, NULL);
				og_kv_addf(&line, "incident", "%lld",
				    (long long)inc.id);
				og_kv_add(&line, "action", "hold");
				og_kv_add(&line, "identity", held[i]);
				og_kv_add(&line, "reason", "suspect");
				og_kv_addf(&line, "reaction_seconds", "%lld",
				    (long long)(sc->now - inc.first_block));
				og_kv_log(&line);
			}
			(void)hold_queued(sc, NULL, held[i]);
			og_strbuf_release(&why);
		}
		og_free(inc.state);
		inc.state = og_strdup("open");
		if (reopened)
			og_info("incident=%lld reopened: %s blocks again",
			    (long long)inc.id, provider);
	}
	/* the queued mail to the provider: to the hold queue */
	if ((moved = hold_queued(sc, provider, NULL)) > 0)
		og_info("incident=%lld action=postsuper-hold provider=%s "
		        "messages=%ld",
		    (long long)inc.id, provider, moved);
	json_set_str(&inc.holds, holds);
	inc.last_block = sc->now > inc.last_block ? sc->now : inc.last_block;
	notify(sc, &inc, reopened ? "reopened" : "open");
	(void)og_store_incident_update(sc->st, &inc, "watcher", sc->now);
	for (i = 0; i < nheld; i++)
		og_free(held[i]);
	og_free(held);
	og_strbuf_release(&reason);
	og_strbuf_release(&line);
	og_store_incident_clear(&inc);
}

/* sender_aimed - a block aimed at one sender: hold that sender */
static void
sender_aimed(struct scan *sc, struct blocked *b)
{
	char who[OG_IDENTITY_MAX];
	struct og_strbuf why;

	attribute(sc, b->queue_id, b->sender, who, sizeof(who));
	og_strbuf_init(&why, 1024);
	(void)og_strbuf_addf(&why, "%s refuses this sender (%s)",
	    b->v[OG_RF_PROVIDER] ? b->v[OG_RF_PROVIDER] : "the provider",
	    b->v[OG_RF_ENHANCED_CODE] ? b->v[OG_RF_ENHANCED_CODE] : "?");
	if (hold(sc, who, og_strbuf_str(&why), 0, NULL) > 0)
		og_info("%s: action=hold identity=%s reason=sender-ban",
		    b->queue_id, who);
	(void)hold_queued(sc, NULL, who);
	og_strbuf_release(&why);
}

/* confirm - released incidents: confirmed once mail flows again */
static void
confirm(struct scan *sc)
{
	struct og_incident *incs;
	size_t n, i, j, k;

	if (og_store_incidents(sc->st, "released", &incs, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		struct og_incident *inc = &incs[i];
		int waiting = 0;

		notify(sc, inc, "released");
		/* still blocked, or mail to it still waiting in the queue? */
		for (j = 0; j < sc->nb && !waiting; j++)
			waiting = sc->b[j].v[OG_RF_PROVIDER] != NULL &&
			    strcmp(sc->b[j].v[OG_RF_PROVIDER], inc->provider) ==
			        0;
		for (j = 0; j < sc->n && !waiting; j++) {
			if (strcmp(sc->m[j].queue_name, "deferred") != 0 &&
			    strcmp(sc->m[j].queue_name, "active") != 0)
				continue;
			for (k = 0; k < sc->m[j].nrcpts && !waiting; k++)
				waiting = sc->m[j].providers[k] != NULL &&
				    strcmp(sc->m[j].providers[k],
				        inc->provider) == 0;
		}
		if (!waiting && sc->now > inc->released) {
			og_free(inc->state);
			inc->state = og_strdup("confirmed");
			inc->confirmed = sc->now;
			og_info("incident=%lld confirmed: %s takes mail again "
			        "(%ld deliveries seen since the release)",
			    (long long)inc->id, inc->provider,
			    inc->deliveries_after_release);
			notify(sc, inc, "confirmed");
		}
		(void)og_store_incident_update(sc->st, inc, "watcher", sc->now);
	}
	og_store_incidents_free(incs, n);
}

/* group - the first block of each provider + egress IP pair, in order */
static void
groups(struct scan *sc)
{
	size_t i, j;

	for (i = 0; i < sc->nb; i++) {
		struct blocked *b = &sc->b[i];
		int seen = 0;

		if (b->v[OG_RF_PROVIDER] == NULL)
			continue;
		if (b->sender_aimed) {
			sender_aimed(sc, b);
			continue;
		}
		for (j = 0; j < i && !seen; j++)
			seen = !sc->b[j].sender_aimed &&
			    sc->b[j].v[OG_RF_PROVIDER] != NULL &&
			    strcmp(sc->b[j].v[OG_RF_PROVIDER],
			        b->v[OG_RF_PROVIDER]) == 0 &&
			    (sc->b[j].v[OG_RF_IP] == NULL) ==
			        (b->v[OG_RF_IP] == NULL) &&
			    (b->v[OG_RF_IP] == NULL ||
			        strcmp(sc->b[j].v[OG_RF_IP], b->v[OG_RF_IP]) ==
			            0);
		if (!seen)
			incident(sc, b->v[OG_RF_PROVIDER], b->v[OG_RF_IP],
			    b->v[OG_RF_PROVIDER_CODE]
			        ? b->v[OG_RF_PROVIDER_CODE]
			        : b->v[OG_RF_ENHANCED_CODE]);
	}
}

/*
 * held_scopes - the queued mail to every provider scope on hold goes to
 * the hold queue, whatever its delay reason says: mail the reply
 * filter stopped before it reached the provider ("delivery suspended")
 * carries no block text, and a scope the admin held by hand counts too
 */
static void
held_scopes(struct scan *sc)
{
	struct og_hold *h;
	size_t n, i;
	long moved;

	if (og_store_holds(sc->st, sc->now, &h, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		const char *p = h[i].identity;

		if (strncmp(p, "provider:", 9) != 0 || p[9] == '\0')
			continue;
		if ((moved = hold_queued(sc, p + 9, NULL)) > 0)
			og_info(
			    "action=postsuper-hold provider=%s messages=%ld "
			    "reason=\"scope on hold\"",
			    p + 9, moved);
	}
	og_store_holds_free(h, n);
}

/* open_incidents - 1 when an incident is open or waits for confirmation */
static int
open_incidents(struct og_store *st)
{
	struct og_incident *incs;
	size_t n, m;

	if (og_store_incidents(st, "open", &incs, &n) < 0)
		return 0;
	og_store_incidents_free(incs, n);
	if (og_store_incidents(st, "released", &incs, &m) < 0)
		return n > 0;
	og_store_incidents_free(incs, m);
	return n + m > 0;
}

/* scan - one look at the queue; 1 when a block is in progress */
static int
scan(const struct og_watcher_conf *wc, struct og_store *st, struct og_reply *r)
{
	struct og_pq_stats stats;
	struct scan sc;
	struct timespec t0, t1;
	int active;

	memset(&sc, 0, sizeof(sc));
	sc.wc = wc;
	sc.st = st;
	sc.r = r;
	sc.now = og_now();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (wc->privsep_fd >= 0) {
		/* as root: postqueue -c DIR is refused to others */
		struct og_strbuf out, err;
		int rc;

		og_strbuf_init(&out, OG_PQ_OUTPUT_MAX);
		og_strbuf_init(&err, 1024);
		rc = og_privsep_read(wc->privsep_fd, NULL, &out, &err);
		if (rc < 0)
			og_warnx("watcher: cannot read the queue: %s",
			    og_strbuf_str(&err));
		else
			(void)og_pq_parse(
			    og_strbuf_str(&out), out.len, collect, &sc, &stats);
		og_strbuf_release(&out);
		og_strbuf_release(&err);
		if (rc < 0) {
			scan_free(&sc);
			return -1;
		}
	} else if (og_pq_run(og_conf_str(wc->conf, "postfix_config_dir"),
	               collect, &sc, &stats) < 0) {
		scan_free(&sc);
		return -1;
	}
	groups(&sc);
	held_scopes(&sc);
	confirm(&sc);
	active = sc.nb > 0 || open_incidents(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	og_debug("scan: %zu messages, %zu blocked recipients, %lld ms", sc.n,
	    sc.nb,
	    (long long)((t1.tv_sec - t0.tv_sec) * 1000 +
	        (t1.tv_nsec - t0.tv_nsec) / 1000000));
	scan_free(&sc);
	return active;
}

int
og_watcher_scan_once(const struct og_watcher_conf *wc)
{
	struct og_strbuf err;
	struct og_store *st;
	struct og_reply r;
	int rc;

	og_strbuf_init(&err, 0);
	if ((st = og_store_open(og_conf_str(wc->conf, "store"), &err)) ==
	    NULL) {
		og_warnx("watcher: store: %s", og_strbuf_str(&err));
		og_strbuf_release(&err);
		return -1;
	}
	og_strbuf_release(&err);
	og_reply_init(&r);
	rc = scan(wc, st, &r);
	og_reply_release(&r);
	og_store_close(st);
	return rc;
}

/* ---- the thread ---- */

static void *
run(void *arg)
{
	struct og_watcher *w = arg;
	struct og_strbuf err;
	struct og_store *st;
	struct og_reply r;
	int64_t last_id = -1, id;
	uint64_t last_gen = 0, gen;
	time_t last_scan = 0;
	int active = 0;
	unsigned interval =
	    (unsigned)og_conf_uint(w->wc.conf, "queue_scan_interval");

	og_strbuf_init(&err, 0);
	/* lazy: a database server that is down now is waited for */
	if ((st = og_store_open_lazy(og_conf_str(w->wc.conf, "store"), &err)) ==
	    NULL) {
		og_warnx("watcher: store: %s: not watching the queue",
		    og_strbuf_str(&err));
		og_strbuf_release(&err);
		return NULL;
	}
	if (err.len > 0)
		og_warnx("watcher: store: %s: scanning once it answers",
		    og_strbuf_str(&err));
	og_strbuf_release(&err);
	og_reply_init(&r);
	og_info("watcher: scanning the queue every %us; suspect_window=%llus "
	        "suspect_threshold=%llu%% auto_hold_suspects=%s dry_run=%s",
	    interval, og_conf_uint(w->wc.conf, "suspect_window"),
	    og_conf_uint(w->wc.conf, "suspect_threshold"),
	    og_conf_bool(w->wc.conf, "auto_hold_suspects") ? "yes" : "no",
	    og_conf_bool(w->wc.conf, "dry_run") ? "yes" : "no");
	for (;;) {
		struct timespec ts;
		time_t now;
		int stop, wake = 0;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L; /* a block is seen in 0.25 s */
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->lock);
		if (!w->stop)
			(void)pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		if (og_store_block_max_id(st, &id) == 0 && id != last_id) {
			wake = last_id >= 0;
			last_id = id;
		}
		/* a hold or release by anyone: confirm or re-hold promptly */
		if (og_store_generation(st, &gen) == 0 && gen != last_gen) {
			wake |= last_gen != 0;
			last_gen = gen;
		}
		now = time(NULL);
		/*
		 * While a block is in progress, mail deferred by the status
		 * filter since the last look must reach the hold queue
		 * before Postfix retries it: look every ACTIVE_SCAN seconds.
		 */
		if (wake || now - last_scan >= (time_t)interval ||
		    (active && now - last_scan >= ACTIVE_SCAN)) {
			if (wake)
				og_debug("watcher: woken by a block or a hold");
			active = scan(&w->wc, st, &r) > 0;
			last_scan = now;
		}
	}
	og_reply_release(&r);
	og_store_close(st);
	return NULL;
}

struct og_watcher *
og_watcher_start(const struct og_watcher_conf *wc)
{
	struct og_watcher *w = og_calloc(1, sizeof(*w));
	int e;

	w->wc = *wc;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((e = pthread_create(&w->thread, NULL, run, w)) != 0) {
		errno = e;
		og_warn("watcher: pthread_create");
		og_free(w);
		return NULL;
	}
	return w;
}

void
og_watcher_stop(struct og_watcher *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	og_free(w);
}

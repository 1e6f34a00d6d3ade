/*
 * qr_report.c - "outguard-queue-report summary | blocks | senders"
 * DESCRIPTION: the admin's views of the store. summary is per provider:
 *	incidents, blocks by code, egress IPs, the incidents' suspects,
 *	Postfix's hold queue (postqueue -j) joined with the store's record
 *	of who sent each message, and what was released and confirmed. It
 *	reads block figures the store groups from one covering index
 *	(og_store_block_stats()) and suspects from the incidents' JSON,
 *	never the message rows, so it stays fast on a large store (bench/
 *	bench_report.sh). blocks lists the block rows, filtered. senders
 *	scans the message rows of its window (24h by default) once and
 *	adds each identity's blocks and holds: the "who on my shared server
 *	did this" view. Text for people, --json for machines; the schemas
 *	are in outguard-queue-report(1).
 * DIAGNOSTICS: exit codes from sysexits.h: 64 usage, 69 store trouble,
 *	74 output trouble. A queue that cannot be read is said on stderr and
 *	in the output ("unknown"), not an error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "postcat.h"
#include "postqueue.h"
#include "qr.h"
#include "qr_fmt.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

#define SUMMARY_SINCE (7 * 86400)
#define BLOCKS_SINCE (7 * 86400)
#define SENDERS_SINCE 86400
#define BLOCKS_LIMIT 1000 /* rows blocks prints without --limit */
#define SUSPECTS_SHOWN 5 /* per incident, in the text */
#define HELD_SHOWN 5 /* identities named per held-mail line */
#define POSTCAT_BUDGET 20 /* queue files read per run (as root only) */
#define KEY_MAX 1024

/* ---- the hold queue, joined with the store ---- */

struct held {
	int ok; /* postqueue ran */
	long long n;
	int64_t oldest;
	struct qr_tallies by_provider; /* "other": no provider's recipient */
	struct qr_tallies by_pid; /* "PROVIDER\tIDENTITY" */
	/* reading */
	const struct og_conf *conf;
	struct og_store *st;
	const char *host;
	unsigned postcats;
};

/* held_identity - the store's record first, the queue file second */
static void
held_identity(
    struct held *h, const struct og_pq_msg *pm, char *out, size_t size)
{
	struct og_msgrec_owned rec;
	struct og_postcat pc;

	memset(&rec, 0, sizeof(rec));
	if (og_store_find_message(h->st, h->host, pm->queue_id, &rec) ==
	    OG_FOUND) {
		qr_identity(rec.sasl_username, rec.client_address, rec.sender,
		    out, size);
		og_store_msgrec_clear(&rec);
		return;
	}
	/* postcat reads queue files, which needs root: else "unknown" */
	og_strlcpy(out, "unknown", size);
	if (geteuid() != 0 || h->postcats >= POSTCAT_BUDGET)
		return;
	h->postcats++;
	if (og_postcat(og_conf_str(h->conf, "postfix_config_dir"), pm->queue_id,
	        &pc) == OG_FOUND &&
	    (pc.sasl_username != NULL || pc.client_address != NULL))
		qr_identity(
		    pc.sasl_username, pc.client_address, NULL, out, size);
	og_postcat_clear(&pc);
}

static int
held_one(const struct og_pq_msg *pm, void *arg)
{
	struct held *h = arg;
	char who[OG_IDENTITY_MAX + 8], key[KEY_MAX], dom[256];
	const char *seen[8], *pv, *at;
	size_t i, j, nseen = 0;

	if (strcmp(pm->queue_name, "hold") != 0)
		return 0;
	h->n++;
	if (h->oldest == 0 || pm->arrival_time < h->oldest)
		h->oldest = pm->arrival_time;
	held_identity(h, pm, who, sizeof(who));
	for (i = 0; i < pm->nrcpts && nseen < OG_NELEM(seen); i++) {
		at = strrchr(pm->rcpts[i].address, '@');
		if (at == NULL || strlen(at + 1) >= sizeof(dom))
			continue;
		og_strlcpy(dom, at + 1, sizeof(dom));
		og_lowercase(dom);
		if ((pv = qr_provider_of(h->conf, dom)) == NULL)
			continue;
		for (j = 0; j < nseen && strcmp(seen[j], pv) != 0; j++)
			;
		if (j == nseen)
			seen[nseen++] = pv;
	}
	if (nseen == 0)
		seen[nseen++] = "other";
	for (j = 0; j < nseen; j++) {
		qr_tally_add(&h->by_provider, seen[j], 1, pm->arrival_time);
		(void)snprintf(key, sizeof(key), "%s\t%s", seen[j], who);
		qr_tally_add(&h->by_pid, key, 1, pm->arrival_time);
	}
	return 0;
}

static void
held_load(struct held *h, const struct qr *qr, struct og_store *st, char *host,
    size_t hostsize)
{
	struct og_pq_stats stats;

	memset(h, 0, sizeof(*h));
	h->conf = qr->conf;
	h->st = st;
	h->host = og_conf_hostname(qr->conf, host, hostsize);
	h->ok = og_pq_run(og_conf_str(qr->conf, "postfix_config_dir"), held_one,
	            h, &stats) == 0;
	if (!h->ok)
		(void)fprintf(stderr,
		    "note: Postfix's queue could not be read: held mail "
		    "unknown\n");
}

/*
 * held_of - the held mail to provider: count, oldest, and who (most
 * first) as "sasl:x 8, unknown 2" (text) or an array (json)
 */
static void
held_of(const struct held *h, const char *provider, long long *n,
    int64_t *oldest, struct og_strbuf *text, json_t *arr)
{
	struct qr_tally **v = qr_tally_sorted(&h->by_pid);
	size_t plen = strlen(provider), i, shown = 0;
	struct qr_tally *e;
	json_t *o;

	*n = 0;
	*oldest = 0;
	for (i = 0; i < h->by_provider.size; i++)
		if (h->by_provider.t[i].key != NULL &&
		    strcmp(h->by_provider.t[i].key, provider) == 0) {
			*n = h->by_provider.t[i].n;
			*oldest = h->by_provider.t[i].oldest;
		}
	for (i = 0; (e = v[i]) != NULL; i++) {
		if (strncmp(e->key, provider, plen) != 0 ||
		    e->key[plen] != '\t')
			continue;
		if (text != NULL && shown < HELD_SHOWN)
			(void)og_strbuf_addf(text, "%s%s %lld",
			    shown > 0 ? ", " : "", e->key + plen + 1, e->n);
		else if (text != NULL && shown == HELD_SHOWN)
			(void)og_strbuf_adds(text, ", ...");
		shown++;
		if (arr == NULL)
			continue;
		o = json_object();
		qr_json_set(o, "identity", qr_json_str(e->key + plen + 1));
		qr_json_set(o, "messages", json_integer(e->n));
		(void)json_array_append_new(arr, o);
	}
	og_free(v);
}

static void
held_free(struct held *h)
{
	qr_tally_free(&h->by_provider);
	qr_tally_free(&h->by_pid);
}

/* ---- summary ---- */

#define LINE_IPS 16

/* one "blocks by code" line: OG_BLOCK_BY_CODE groups merged over IPs */
struct code_line {
	const struct og_block_stat *key; /* the first group: codes, remedy */
	long rows;
	long long count;
	int64_t first, last;
	const char *ips[LINE_IPS]; /* NULL: unknown */
	size_t nips;
	int more_ips;
};

struct summary {
	struct qr_opts o;
	const struct qr *qr;
	char host[256];
	struct og_block_stat *stats;
	size_t nstats;
	struct code_line *lines;
	size_t nlines;
	struct og_incident *inc;
	size_t ninc;
	struct og_audit *audit;
	size_t naudit;
	size_t nholds;
	struct held held;
};

static const char *
provider_name(const char *p)
{
	return p != NULL ? p : "unknown";
}

/* code_of - the code people know a block by: S3150, 5.7.606, 550 */
static const char *
code_of(const struct og_block_stat *b)
{
	return b->provider_code ? b->provider_code
	    : b->enhanced_code  ? b->enhanced_code
	    : b->smtp_code      ? b->smtp_code
	                        : "?";
}

static int
by_provider_last(const void *a, const void *b)
{
	const struct code_line *x = a, *y = b;
	int c = strcmp(
	    provider_name(x->key->provider), provider_name(y->key->provider));

	if (c != 0)
		return c;
	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return strcmp(code_of(x->key), code_of(y->key));
}

static void
merge_lines(struct summary *s)
{
	size_t i, j, k;

	s->lines = og_calloc(s->nstats + 1, sizeof(*s->lines));
	for (i = 0; i < s->nstats; i++) {
		const struct og_block_stat *b = &s->stats[i];
		struct code_line *l;

		for (j = 0; j < s->nlines; j++) {
			const struct og_block_stat *k0 = s->lines[j].key;

			if (qr_streq0(k0->provider, b->provider) &&
			    qr_streq0(k0->smtp_code, b->smtp_code) &&
			    qr_streq0(k0->enhanced_code, b->enhanced_code) &&
			    qr_streq0(k0->provider_code, b->provider_code) &&
			    qr_streq0(k0->remedy, b->remedy))
				break;
		}
		l = &s->lines[j];
		if (j == s->nlines) {
			s->nlines++;
			l->key = b;
			l->first = b->first_seen;
		}
		l->rows += b->rows;
		l->count += b->count;
		if (b->first_seen < l->first)
			l->first = b->first_seen;
		if (b->last_seen > l->last)
			l->last = b->last_seen;
		for (k = 0; k < l->nips && !qr_streq0(l->ips[k], b->egress_ip);
		     k++)
			;
		if (k == l->nips && l->nips < LINE_IPS)
			l->ips[l->nips++] = b->egress_ip;
		else if (k == l->nips)
			l->more_ips = 1;
	}
	qsort(s->lines, s->nlines, sizeof(*s->lines), by_provider_last);
}

/* shown - is the incident part of this summary? */
static int
shown(const struct summary *s, const struct og_incident *inc)
{
	if (s->o.provider != NULL && strcmp(inc->provider, s->o.provider) != 0)
		return 0;
	return strcmp(inc->state, "confirmed") != 0 ||
	    inc->confirmed >= s->o.since || inc->opened >= s->o.since;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* providers - the providers the summary has something on, sorted */
static const char **
providers(const struct summary *s, size_t *np)
{
	const char **v;
	size_t cap = s->nlines + s->ninc + s->held.by_provider.n + 1, n = 0;
	size_t i, j;

	v = og_calloc(cap, sizeof(*v));
	for (i = 0; i < s->nlines; i++)
		v[n++] = provider_name(s->lines[i].key->provider);
	for (i = 0; i < s->ninc; i++)
		if (shown(s, &s->inc[i]))
			v[n++] = s->inc[i].provider;
	for (i = 0; i < s->held.by_provider.size; i++) {
		const char *k = s->held.by_provider.t[i].key;

		if (k != NULL && strcmp(k, "other") != 0 &&
		    (s->o.provider == NULL || strcmp(k, s->o.provider) == 0))
			v[n++] = k;
	}
	qsort(v, n, sizeof(*v), by_name);
	for (i = j = 0; i < n; i++)
		if (j == 0 || strcmp(v[j - 1], v[i]) != 0)
			v[j++] = v[i];
	*np = j;
	return v;
}

/* egress_ips - the egress IPs of a provider's blocks and incidents */
static size_t
egress_ips(const struct summary *s, const char *p, const char **out, size_t max)
{
	size_t n = 0, i, k;
	const char *ip;

	for (i = 0; i < s->nstats + s->ninc; i++) {
		if (i < s->nstats) {
			if (strcmp(provider_name(s->stats[i].provider), p) != 0)
				continue;
			ip = s->stats[i].egress_ip ? s->stats[i].egress_ip
			                           : "unknown";
		} else {
			const struct og_incident *inc = &s->inc[i - s->nstats];

			if (!shown(s, inc) || strcmp(inc->provider, p) != 0)
				continue;
			ip = inc->egress_ip ? inc->egress_ip : "unknown";
		}
		for (k = 0; k < n && strcmp(out[k], ip) != 0; k++)
			;
		if (k == n && n < max)
			out[n++] = ip;
	}
	qsort(out, n, sizeof(*out), by_name);
	return n;
}

static void
text_incidents(const struct summary *s, const char *p)
{
	static const char *const names[] = { "ID", "STATE", "EGRESS IP",
		"OPENED", "LAST", "ROWS", "RELEASED", "CONFIRMED" };
	static const unsigned flags[] = { QR_COL_RIGHT, 0, 0, 0, 0,
		QR_COL_RIGHT, 0, 0 };
	struct qr_table *t = qr_table_new(8, names, flags, 2);
	char id[24 + 256], n[24], a[4][32];
	size_t i;

	for (i = 0; i < s->ninc; i++) {
		const struct og_incident *inc = &s->inc[i];

		if (!shown(s, inc) || strcmp(inc->provider, p) != 0)
			continue;
		/* another MTA of the fleet opened it: say which */
		if (inc->host != NULL && strcmp(inc->host, s->host) != 0)
			(void)snprintf(id, sizeof(id), "#%lld@%s",
			    (long long)inc->id, inc->host);
		else
			(void)snprintf(
			    id, sizeof(id), "#%lld", (long long)inc->id);
		(void)snprintf(n, sizeof(n), "%ld", inc->blocks);
		qr_table_row(t, id, inc->state,
		    inc->egress_ip ? inc->egress_ip : "unknown",
		    qr_ago(s->o.now, inc->opened, a[0], sizeof(a[0])),
		    qr_ago(s->o.now, inc->last_block, a[1], sizeof(a[1])), n,
		    qr_ago(s->o.now, inc->released, a[2], sizeof(a[2])),
		    qr_ago(s->o.now, inc->confirmed, a[3], sizeof(a[3])));
	}
	if (qr_table_rows(t) > 0)
		qr_table_print(t, stdout, QR_WIDTH);
	qr_table_free(t);
}

static void
text_blocks(const struct summary *s, const char *p)
{
	static const char *const names[] = { "CODE", "REPLY", "REMEDY", "COUNT",
		"FIRST", "LAST", "EGRESS IPS" };
	static const unsigned flags[] = { 0, 0, QR_COL_SHRINK, QR_COL_RIGHT, 0,
		0, QR_COL_SHRINK };
	struct qr_table *t = qr_table_new(7, names, flags, 2);
	struct og_strbuf reply, ips;
	char n[24], a[2][32];
	size_t i, k;

	og_strbuf_init(&reply, 256);
	og_strbuf_init(&ips, 4096);
	for (i = 0; i < s->nlines; i++) {
		const struct code_line *l = &s->lines[i];

		if (strcmp(provider_name(l->key->provider), p) != 0)
			continue;
		og_strbuf_reset(&reply);
		og_strbuf_reset(&ips);
		(void)og_strbuf_addf(&reply, "%s %s",
		    l->key->smtp_code ? l->key->smtp_code : "-",
		    l->key->enhanced_code ? l->key->enhanced_code : "-");
		for (k = 0; k < l->nips; k++)
			(void)og_strbuf_addf(&ips, "%s%s", k ? ", " : "",
			    l->ips[k] ? l->ips[k] : "unknown");
		if (l->more_ips)
			(void)og_strbuf_adds(&ips, ", ...");
		(void)snprintf(n, sizeof(n), "%lld", l->count);
		qr_table_row(t, code_of(l->key), og_strbuf_str(&reply),
		    l->key->remedy, n,
		    qr_ago(s->o.now, l->first, a[0], sizeof(a[0])),
		    qr_ago(s->o.now, l->last, a[1], sizeof(a[1])),
		    og_strbuf_str(&ips));
	}
	if (qr_table_rows(t) > 0)
		qr_table_print(t, stdout, QR_WIDTH);
	qr_table_free(t);
	og_strbuf_release(&reply);
	og_strbuf_release(&ips);
}

/* text_suspects - each shown incident's top suspects, as it ranked them */
static void
text_suspects(const struct summary *s, const char *p)
{
	static const char *const names[] = { "IDENTITY", "TO PROVIDER", "SHARE",
		"MESSAGES", "SPIKE", "STATE" };
	static const unsigned flags[] = { QR_COL_SHRINK, QR_COL_RIGHT,
		QR_COL_RIGHT, QR_COL_RIGHT, QR_COL_RIGHT, 0 };
	char v[4][32];
	size_t i, j;

	for (i = 0; i < s->ninc; i++) {
		const struct og_incident *inc = &s->inc[i];
		json_t *arr, *e;
		struct qr_table *t;

		if (!shown(s, inc) || strcmp(inc->provider, p) != 0)
			continue;
		arr = qr_json_array(inc->suspects);
		t = qr_table_new(6, names, flags, 4);
		json_array_foreach(arr, j, e)
		{
			int sus = json_is_true(json_object_get(e, "suspect"));
			int held = json_is_true(json_object_get(e, "held"));

			if (j >= SUSPECTS_SHOWN || !json_is_object(e))
				break;
			(void)snprintf(v[0], sizeof(v[0]), "%lld",
			    (long long)qr_jint(e, "to_provider"));
			(void)snprintf(v[1], sizeof(v[1]), "%.1f%%",
			    qr_jreal(e, "share_percent"));
			(void)snprintf(v[2], sizeof(v[2]), "%lld",
			    (long long)qr_jint(e, "messages"));
			(void)snprintf(
			    v[3], sizeof(v[3]), "%.1f", qr_jreal(e, "spike"));
			qr_table_row(t, qr_jstr(e, "identity"), v[0], v[1],
			    v[2], v[3],
			    sus && held ? "suspect, held"
			        : sus   ? "suspect"
			                : "-");
		}
		if (qr_table_rows(t) > 0) {
			(void)printf("  top senders to %s before incident "
			             "#%lld:\n",
			    p, (long long)inc->id);
			qr_table_print(t, stdout, QR_WIDTH);
		}
		qr_table_free(t);
		json_decref(arr);
	}
}

static void
text_provider(const struct summary *s, const char *p)
{
	const char *ips[64];
	struct og_strbuf who;
	size_t n, i;
	long long held;
	int64_t oldest;
	char age[32];

	(void)printf("\n");
	qr_puts_safe(stdout, p, 0);
	(void)printf("\n");
	text_incidents(s, p);
	text_blocks(s, p);
	og_strbuf_init(&who, 4096);
	n = egress_ips(s, p, ips, OG_NELEM(ips));
	for (i = 0; i < n; i++)
		(void)og_strbuf_addf(&who, "%s%s", i ? ", " : "", ips[i]);
	if (n > 0)
		qr_wrap(stdout, "  egress IPs affected: ", "    ",
		    og_strbuf_str(&who), QR_WIDTH);
	text_suspects(s, p);
	og_strbuf_reset(&who);
	if (!s->held.ok)
		(void)og_strbuf_adds(&who,
		    "unknown (Postfix's queue could "
		    "not be read)");
	else {
		held_of(&s->held, p, &held, &oldest, NULL, NULL);
		if (held == 0)
			(void)og_strbuf_adds(&who, "none");
		else
			(void)og_strbuf_addf(&who,
			    "%lld message%s, oldest %s: ", held,
			    held == 1 ? "" : "s",
			    qr_ago(s->o.now, oldest, age, sizeof(age)));
		held_of(&s->held, p, &held, &oldest, &who, NULL);
	}
	qr_wrap(stdout, "  held mail: ", "    ", og_strbuf_str(&who), QR_WIDTH);
	og_strbuf_release(&who);
}

/* is_release - an audit row of a release the summary shows */
static int
is_release(const struct summary *s, const struct og_audit *a)
{
	if (strcmp(a->action, "release") != 0)
		return 0;
	if (s->o.provider == NULL)
		return 1;
	return a->subject != NULL && strncmp(a->subject, "provider:", 9) == 0 &&
	    strcmp(a->subject + 9, s->o.provider) == 0;
}

/* a line of "released and confirmed": an audit row or an incident */
struct event {
	int64_t time;
	size_t seq; /* ties keep the order they were found in */
	const struct og_audit *a;
	const struct og_incident *inc;
};

static int
by_time(const void *x, const void *y)
{
	const struct event *a = x, *b = y;

	if (a->time != b->time)
		return (a->time > b->time) - (a->time < b->time);
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* text_released - releases and confirmations, oldest first */
static void
text_released(const struct summary *s)
{
	struct og_strbuf line;
	struct event *ev;
	char age[32], rel[32], since[32];
	size_t i, n = 0;

	og_strbuf_init(&line, 8192);
	ev = og_calloc(s->naudit + s->ninc + 1, sizeof(*ev));
	for (i = 0; i < s->naudit; i++)
		if (is_release(s, &s->audit[i])) {
			ev[n].time = s->audit[i].time;
			ev[n].seq = n;
			ev[n++].a = &s->audit[i];
		}
	for (i = 0; i < s->ninc; i++)
		if (shown(s, &s->inc[i]) &&
		    strcmp(s->inc[i].state, "confirmed") == 0) {
			ev[n].time = s->inc[i].confirmed;
			ev[n].seq = n;
			ev[n++].inc = &s->inc[i];
		}
	qsort(ev, n, sizeof(*ev), by_time);
	(void)printf("\nreleased and confirmed since %s:\n",
	    qr_iso(s->o.since, since, sizeof(since)));
	for (i = 0; i < n; i++) {
		const struct og_audit *a = ev[i].a;
		const struct og_incident *inc = ev[i].inc;

		og_strbuf_reset(&line);
		if (a != NULL) {
			(void)og_strbuf_addf(&line, "%s ago: %s released %s",
			    qr_ago(s->o.now, a->time, age, sizeof(age)),
			    a->actor, a->subject ? a->subject : "?");
			if (a->reason != NULL && *a->reason)
				(void)og_strbuf_addf(&line, " (%s)", a->reason);
		} else
			(void)og_strbuf_addf(&line,
			    "%s ago: incident #%lld confirmed: %s takes mail "
			    "from %s again (%ld deliveries after the release "
			    "%s ago)",
			    qr_ago(s->o.now, inc->confirmed, age, sizeof(age)),
			    (long long)inc->id, inc->provider,
			    inc->egress_ip ? inc->egress_ip : "this server",
			    inc->deliveries_after_release,
			    qr_ago(s->o.now, inc->released, rel, sizeof(rel)));
		qr_wrap(stdout, "  ", "    ", og_strbuf_str(&line), QR_WIDTH);
	}
	if (n == 0)
		(void)printf("  nothing\n");
	og_free(ev);
	og_strbuf_release(&line);
}

static void
summary_text(const struct summary *s)
{
	const char **pv;
	struct og_strbuf head;
	char now[32], since[32], age[32];
	size_t n, i;
	long long other;
	int64_t oldest;

	og_strbuf_init(&head, 1024);
	(void)og_strbuf_addf(&head, "outguard summary of %s, %s", s->host,
	    qr_iso(s->o.now, now, sizeof(now)));
	qr_wrap(stdout, "", "  ", og_strbuf_str(&head), QR_WIDTH);
	(void)printf("blocks, incidents and releases since %s\n",
	    qr_iso(s->o.since, since, sizeof(since)));
	og_strbuf_release(&head);
	pv = providers(s, &n);
	for (i = 0; i < n; i++)
		text_provider(s, pv[i]);
	if (n == 0)
		(void)printf("\nno blocks, incidents or held mail%s%s\n",
		    s->o.provider ? " of " : "",
		    s->o.provider ? s->o.provider : "");
	og_free(pv);
	text_released(s);
	(void)printf("\n");
	if (s->held.ok) {
		held_of(&s->held, "other", &other, &oldest, NULL, NULL);
		(void)printf("held mail in all: %lld message%s", s->held.n,
		    s->held.n == 1 ? "" : "s");
		if (s->held.n > 0)
			(void)printf(", oldest %s",
			    qr_ago(s->o.now, s->held.oldest, age, sizeof(age)));
		if (other > 0)
			(void)printf("; %lld to no provider's domain", other);
		(void)printf("\n");
	}
	(void)printf(
	    "holds in force: %zu (outguard-queue-report holds)\n", s->nholds);
}

static json_t *
incident_json(const struct og_incident *inc)
{
	json_t *o = json_object();

	qr_json_set(o, "id", json_integer(inc->id));
	qr_json_set(o, "state", qr_json_str(inc->state));
	qr_json_set(o, "egress_ip", qr_json_str(inc->egress_ip));
	qr_json_set(o, "host", qr_json_str(inc->host));
	qr_json_set(o, "opened", qr_json_time(inc->opened));
	qr_json_set(o, "first_block", qr_json_time(inc->first_block));
	qr_json_set(o, "last_block", qr_json_time(inc->last_block));
	qr_json_set(o, "blocks", json_integer(inc->blocks));
	qr_json_set(o, "released", qr_json_time(inc->released));
	qr_json_set(o, "confirmed", qr_json_time(inc->confirmed));
	qr_json_set(o, "deliveries_after_release",
	    json_integer(inc->deliveries_after_release));
	qr_json_set(o, "suspects", qr_json_array(inc->suspects));
	qr_json_set(o, "holds", qr_json_array(inc->holds));
	return o;
}

static json_t *
provider_json(const struct summary *s, const char *p)
{
	json_t *o = json_object(), *a = json_array(), *h, *ips;
	const char *ipv[64];
	long long held;
	int64_t oldest;
	size_t i, k, n;

	qr_json_set(o, "provider", json_string(p));
	for (i = 0; i < s->ninc; i++)
		if (shown(s, &s->inc[i]) && strcmp(s->inc[i].provider, p) == 0)
			(void)json_array_append_new(
			    a, incident_json(&s->inc[i]));
	qr_json_set(o, "incidents", a);
	a = json_array();
	for (i = 0; i < s->nlines; i++) {
		const struct code_line *l = &s->lines[i];
		json_t *b;

		if (strcmp(provider_name(l->key->provider), p) != 0)
			continue;
		b = json_object();
		qr_json_set(b, "code", json_string(code_of(l->key)));
		qr_json_set(b, "smtp_code", qr_json_str(l->key->smtp_code));
		qr_json_set(
		    b, "enhanced_code", qr_json_str(l->key->enhanced_code));
		qr_json_set(
		    b, "provider_code", qr_json_str(l->key->provider_code));
		qr_json_set(b, "class", qr_json_str(l->key->class_));
		qr_json_set(b, "remedy", qr_json_str(l->key->remedy));
		qr_json_set(b, "rows", json_integer(l->rows));
		qr_json_set(b, "count", json_integer(l->count));
		qr_json_set(b, "first_seen", qr_json_time(l->first));
		qr_json_set(b, "last_seen", qr_json_time(l->last));
		ips = json_array();
		for (k = 0; k < l->nips; k++)
			(void)json_array_append_new(
			    ips, qr_json_str(l->ips[k]));
		qr_json_set(b, "egress_ips", ips);
		qr_json_set(b, "more_egress_ips", json_boolean(l->more_ips));
		(void)json_array_append_new(a, b);
	}
	qr_json_set(o, "blocks", a);
	ips = json_array();
	n = egress_ips(s, p, ipv, OG_NELEM(ipv));
	for (i = 0; i < n; i++)
		(void)json_array_append_new(ips, json_string(ipv[i]));
	qr_json_set(o, "egress_ips", ips);
	h = json_object();
	a = json_array();
	held_of(&s->held, p, &held, &oldest, NULL, a);
	qr_json_set(
	    h, "messages", s->held.ok ? json_integer(held) : json_null());
	qr_json_set(h, "oldest", qr_json_time(oldest));
	qr_json_set(h, "by_identity", a);
	qr_json_set(o, "held", h);
	return o;
}

static int
summary_json(const struct summary *s)
{
	json_t *o = json_object(), *a = json_array(), *h, *e;
	const char **pv;
	long long other;
	int64_t oldest;
	size_t n, i;

	qr_json_set(o, "generated", json_integer(s->o.now));
	qr_json_set(o, "host", qr_json_str(s->host));
	qr_json_set(o, "since", json_integer(s->o.since));
	qr_json_set(o, "provider", qr_json_str(s->o.provider));
	pv = providers(s, &n);
	for (i = 0; i < n; i++)
		(void)json_array_append_new(a, provider_json(s, pv[i]));
	og_free(pv);
	qr_json_set(o, "providers", a);
	h = json_object();
	held_of(&s->held, "other", &other, &oldest, NULL, NULL);
	qr_json_set(h, "queue_read", json_boolean(s->held.ok));
	qr_json_set(
	    h, "messages", s->held.ok ? json_integer(s->held.n) : json_null());
	qr_json_set(h, "oldest", qr_json_time(s->held.oldest));
	qr_json_set(h, "to_no_provider",
	    s->held.ok ? json_integer(other) : json_null());
	qr_json_set(o, "held", h);
	qr_json_set(o, "holds_in_force", json_integer((json_int_t)s->nholds));
	a = json_array();
	for (i = 0; i < s->naudit; i++) {
		const struct og_audit *r = &s->audit[i];

		if (!is_release(s, r))
			continue;
		e = json_object();
		qr_json_set(e, "time", json_integer(r->time));
		qr_json_set(e, "actor", qr_json_str(r->actor));
		qr_json_set(e, "identity", qr_json_str(r->subject));
		qr_json_set(e, "reason", qr_json_str(r->reason));
		qr_json_set(e, "detail", qr_json_str(r->detail));
		(void)json_array_append_new(a, e);
	}
	qr_json_set(o, "released", a);
	a = json_array();
	for (i = 0; i < s->ninc; i++)
		if (shown(s, &s->inc[i]) &&
		    strcmp(s->inc[i].state, "confirmed") == 0)
			(void)json_array_append_new(
			    a, incident_json(&s->inc[i]));
	qr_json_set(o, "confirmed", a);
	return qr_json_print(o, stdout) < 0 ? EX_IOERR : EX_OK;
}

/* summary_load - everything from the store and the queue */
static int
summary_load(struct summary *s, struct og_store *st)
{
	struct og_block_filter f;
	struct og_hold *holds = NULL;

	memset(&f, 0, sizeof(f));
	f.since = s->o.since;
	f.provider = s->o.provider;
	if (og_store_block_stats(
	        st, &f, OG_BLOCK_BY_CODE, &s->stats, &s->nstats) < 0 ||
	    og_store_incidents(st, NULL, &s->inc, &s->ninc) < 0 ||
	    og_store_audit_list(st, s->o.since, &s->audit, &s->naudit) < 0 ||
	    og_store_holds(st, s->o.now, &holds, &s->nholds) < 0)
		return -1;
	og_store_holds_free(holds, s->nholds);
	merge_lines(s);
	held_load(&s->held, s->qr, st, s->host, sizeof(s->host));
	return 0;
}

static void
summary_free(struct summary *s)
{
	og_store_block_stats_free(s->stats, s->nstats);
	og_free(s->lines);
	og_store_incidents_free(s->inc, s->ninc);
	og_store_audit_free(s->audit, s->naudit);
	held_free(&s->held);
}

int
qr_summary(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, QR_OPT_JSON },
		{ "since", required_argument, NULL, QR_OPT_SINCE },
		{ "provider", required_argument, NULL, QR_OPT_PROVIDER },
		{ NULL, 0, NULL, 0 },
	};
	struct summary s;
	struct og_store *st;
	int ch, r, rc;

	memset(&s, 0, sizeof(s));
	s.qr = qr;
	qr_opts_init(&s.o, SUMMARY_SINCE);
	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if ((r = qr_opt_common(&s.o, ch, optarg)) <= 0)
			goto usage;
	if (optind != argc)
		goto usage;
	if ((st = qr_store_open(qr)) == NULL)
		return EX_UNAVAILABLE;
	if (summary_load(&s, st) < 0) {
		summary_free(&s);
		og_store_close(st);
		return EX_UNAVAILABLE;
	}
	if (s.o.json)
		rc = summary_json(&s);
	else {
		summary_text(&s);
		rc = EX_OK;
	}
	summary_free(&s);
	og_store_close(st);
	return qr_finish(rc);
usage:
	(void)fprintf(stderr,
	    "usage: outguard-queue-report summary [--json] "
	    "[--since TIME] [--provider NAME]\n");
	return EX_USAGE;
}

/* ---- blocks ---- */

static json_t *
block_json(const struct og_block_owned *b)
{
	json_t *o = json_object();

	qr_json_set(o, "id", json_integer(b->id));
	qr_json_set(o, "host", qr_json_str(b->host));
	qr_json_set(o, "queue_id", qr_json_str(b->queue_id));
	qr_json_set(o, "recipient", qr_json_str(b->recipient));
	qr_json_set(o, "provider", qr_json_str(b->provider));
	qr_json_set(o, "class", qr_json_str(b->class_));
	qr_json_set(o, "smtp_code", qr_json_str(b->smtp_code));
	qr_json_set(o, "enhanced_code", qr_json_str(b->enhanced_code));
	qr_json_set(o, "provider_code", qr_json_str(b->provider_code));
	qr_json_set(o, "remedy", qr_json_str(b->remedy));
	qr_json_set(o, "reply", qr_json_str(b->reply));
	qr_json_set(o, "mx_host", qr_json_str(b->mx_host));
	qr_json_set(o, "mx_ip", qr_json_str(b->mx_ip));
	qr_json_set(o, "egress_ip", qr_json_str(b->egress_ip));
	qr_json_set(o, "server_tag", qr_json_str(b->server_tag));
	qr_json_set(o, "server_time", qr_json_str(b->server_time));
	qr_json_set(o, "identity", qr_json_str(b->identity));
	qr_json_set(o, "source", qr_json_str(b->source));
	qr_json_set(o, "first_seen", qr_json_time(b->first_seen));
	qr_json_set(o, "last_seen", qr_json_time(b->last_seen));
	qr_json_set(o, "count", json_integer(b->count));
	qr_json_set(o, "incident",
	    b->incident ? json_integer(b->incident) : json_null());
	return o;
}

static void
blocks_text(const struct qr_opts *o, const struct og_block_owned *b, size_t n)
{
	static const char *const names[] = { "LAST", "PROVIDER", "CODE",
		"EGRESS IP", "COUNT", "ID", "WHO" };
	static const unsigned flags[] = { 0, QR_COL_SHRINK, 0, 0, QR_COL_RIGHT,
		QR_COL_RIGHT, QR_COL_DETAIL };
	struct qr_table *t = qr_table_new(7, names, flags, 0);
	char age[32], cnt[24], id[24], since[32];
	struct og_strbuf who;
	size_t i;

	og_strbuf_init(&who, 8192);
	(void)printf("block records since %s, newest first:\n",
	    qr_iso(o->since, since, sizeof(since)));
	for (i = 0; i < n; i++) {
		(void)snprintf(cnt, sizeof(cnt), "%ld", b[i].count);
		(void)snprintf(id, sizeof(id), "%lld", (long long)b[i].id);
		og_strbuf_reset(&who);
		(void)og_strbuf_addf(&who, "%s%s%s: %s",
		    b[i].host ? b[i].host : "", b[i].host ? " " : "",
		    b[i].source,
		    b[i].identity ? b[i].identity : "sender unknown");
		if (b[i].recipient != NULL)
			(void)og_strbuf_addf(&who, " to %s", b[i].recipient);
		if (b[i].queue_id != NULL)
			(void)og_strbuf_addf(
			    &who, ", queue id %s", b[i].queue_id);
		if (b[i].incident != 0)
			(void)og_strbuf_addf(
			    &who, ", incident #%lld", (long long)b[i].incident);
		qr_table_row(t,
		    qr_ago(o->now, b[i].last_seen, age, sizeof(age)),
		    b[i].provider,
		    b[i].provider_code       ? b[i].provider_code
		        : b[i].enhanced_code ? b[i].enhanced_code
		                             : b[i].smtp_code,
		    b[i].egress_ip, cnt, id, og_strbuf_str(&who));
	}
	if (n > 0)
		qr_table_print(t, stdout, QR_WIDTH);
	else
		(void)printf("(no block records)\n");
	qr_table_free(t);
	og_strbuf_release(&who);
}

int
qr_blocks(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, QR_OPT_JSON },
		{ "since", required_argument, NULL, QR_OPT_SINCE },
		{ "provider", required_argument, NULL, QR_OPT_PROVIDER },
		{ "code", required_argument, NULL, 'C' },
		{ "identity", required_argument, NULL, 'I' },
		{ "ip", required_argument, NULL, 'A' },
		{ "limit", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	char identity[OG_IDENTITY_MAX], ip[64];
	struct og_block_filter f;
	struct og_block_owned *b = NULL;
	struct og_store *st;
	struct qr_opts o;
	unsigned long long limit = BLOCKS_LIMIT;
	size_t n = 0, total, i;
	int ch, r, rc = EX_OK, more;
	json_t *out, *a;

	qr_opts_init(&o, BLOCKS_SINCE);
	memset(&f, 0, sizeof(f));
	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((r = qr_opt_common(&o, ch, optarg)) < 0)
			return EX_USAGE;
		if (r == 1)
			continue;
		if (ch == 'C' && strlen(optarg) <= 64 && *optarg != '\0')
			f.code = optarg;
		else if (ch == 'I' &&
		    qr_identity_norm(optarg, identity, sizeof(identity)) == 0)
			f.identity = identity;
		else if (ch == 'A' && qr_ip_norm(optarg, ip, sizeof(ip)) == 0)
			f.egress_ip = ip;
		else if (ch == 'L' &&
		    og_parse_uint(optarg, 1, OG_STORE_ROWS_MAX - 1, &limit) ==
		        0)
			continue;
		else
			goto usage;
	}
	if (optind != argc)
		goto usage;
	f.since = o.since;
	f.provider = o.provider;
	f.limit = (size_t)limit + 1; /* one more: are there more? */
	if ((st = qr_store_open(qr)) == NULL)
		return EX_UNAVAILABLE;
	if (og_store_blocks(st, &f, &b, &n) < 0) {
		og_store_close(st);
		return EX_UNAVAILABLE;
	}
	og_store_close(st);
	total = n;
	more = n > (size_t)limit;
	if (more)
		n = (size_t)limit;
	if (o.json) {
		out = json_object();
		qr_json_set(out, "generated", json_integer(o.now));
		qr_json_set(out, "since", json_integer(o.since));
		qr_json_set(out, "provider", qr_json_str(o.provider));
		qr_json_set(out, "code", qr_json_str(f.code));
		qr_json_set(out, "identity", qr_json_str(f.identity));
		qr_json_set(out, "ip", qr_json_str(f.egress_ip));
		qr_json_set(out, "truncated", json_boolean(more));
		a = json_array();
		for (i = 0; i < n; i++)
			(void)json_array_append_new(a, block_json(&b[i]));
		qr_json_set(out, "blocks", a);
		if (qr_json_print(out, stdout) < 0)
			rc = EX_IOERR;
	} else
		blocks_text(&o, b, n);
	if (more)
		(void)fprintf(stderr,
		    "note: more than %llu rows: narrow with --since or a "
		    "filter, or raise --limit\n",
		    limit);
	og_store_blocks_free(b, total);
	return qr_finish(rc);
usage:
	(void)fprintf(stderr,
	    "usage: outguard-queue-report blocks [--json] [--since TIME] "
	    "[--provider NAME]\n"
	    "       [--code CODE] [--identity ID] [--ip IP] [--limit N]\n");
	return EX_USAGE;
}

/* ---- senders ---- */

struct sender {
	char *identity; /* borrowed from the index */
	long long messages, recipients, size, blocked;
	struct qr_tallies
	    to; /* provider (or "other", "unknown") -> recipients */
	struct qr_tallies hosts; /* MTA host -> messages (a fleet) */
	const struct og_block_stat **blocks;
	size_t nblocks;
	const struct og_hold **holds;
	size_t nholds;
	long long rank;
};

struct senders {
	const struct og_conf *conf;
	struct qr_opts o;
	struct qr_tallies index; /* identity -> slot in s */
	struct sender *s;
	size_t n, cap;
	long long messages, unattributed;
	struct qr_tallies hosts; /* every MTA host seen */
	struct og_block_stat *stats;
	size_t nstats;
	struct og_hold *holds;
	size_t nholds;
};

static struct sender *
sender_get(struct senders *ss, const char *identity)
{
	struct qr_tally *e = qr_tally_get(&ss->index, identity);

	if (e->slot == SIZE_MAX) {
		if (ss->n == ss->cap) {
			ss->cap = ss->cap ? ss->cap * 2 : 64;
			ss->s = og_reallocarray(ss->s, ss->cap, sizeof(*ss->s));
		}
		memset(&ss->s[ss->n], 0, sizeof(ss->s[ss->n]));
		ss->s[ss->n].identity = e->key;
		e->slot = ss->n++;
	}
	return &ss->s[e->slot];
}

static int
senders_row(const struct og_msgrec *m, void *arg)
{
	struct senders *ss = arg;
	char who[OG_IDENTITY_MAX + 8], dom[256];
	const char *p = m->rcpt_summary != NULL ? m->rcpt_summary : "", *pv;
	unsigned long long n;
	struct sender *s;

	qr_identity(
	    m->sasl_username, m->client_address, m->sender, who, sizeof(who));
	s = sender_get(ss, who);
	s->messages++;
	if (m->host != NULL) {
		qr_tally_add(&s->hosts, m->host, 1, 0);
		qr_tally_add(&ss->hosts, m->host, 1, 0);
	}
	s->recipients += m->recipient_count;
	s->size += m->size;
	ss->messages++;
	while (qr_summary_next(&p, dom, sizeof(dom), &n)) {
		pv = strcmp(dom, "*") == 0 ? "unknown"
		                           : qr_provider_of(ss->conf, dom);
		qr_tally_add(
		    &s->to, pv != NULL ? pv : "other", (long long)n, 0);
	}
	return 0;
}

static void
append(const void ***arr, size_t *n, const void *v)
{
	*arr = og_reallocarray(*arr, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = v;
}

/* senders_attach - each identity's blocks and holds */
static void
senders_attach(struct senders *ss)
{
	struct sender *s;
	size_t i, j;

	for (i = 0; i < ss->nstats; i++) {
		const struct og_block_stat *b = &ss->stats[i];

		if (b->identity == NULL) {
			ss->unattributed += b->count;
			continue;
		}
		s = sender_get(ss, b->identity);
		s->blocked += b->count;
		append((const void ***)&s->blocks, &s->nblocks, b);
	}
	for (i = 0; i < ss->nholds; i++) {
		const struct og_hold *h = &ss->holds[i];

		if (strncmp(h->identity, "provider:", 9) == 0)
			continue;
		/* a network's hold covers the clients inside it */
		if (strncmp(h->identity, "client:", 7) == 0 &&
		    strchr(h->identity, '/') != NULL) {
			for (j = 0; j < ss->n; j++)
				if (strncmp(ss->s[j].identity, "client:", 7) ==
				        0 &&
				    qr_in_net(
				        ss->s[j].identity + 7, h->identity + 7))
					append((const void ***)&ss->s[j].holds,
					    &ss->s[j].nholds, h);
			continue;
		}
		s = sender_get(ss, h->identity);
		append((const void ***)&s->holds, &s->nholds, h);
	}
}

static long long
to_count(const struct sender *s, const char *provider)
{
	size_t i;

	for (i = 0; i < s->to.size; i++)
		if (s->to.t[i].key != NULL &&
		    strcmp(s->to.t[i].key, provider) == 0)
			return s->to.t[i].n;
	return 0;
}

/* concerns - with --provider, does s matter to that provider? */
static int
concerns(const struct sender *s, const char *p)
{
	size_t i;

	if (p == NULL || to_count(s, p) > 0)
		return 1;
	for (i = 0; i < s->nblocks; i++)
		if (s->blocks[i]->provider != NULL &&
		    strcmp(s->blocks[i]->provider, p) == 0)
			return 1;
	for (i = 0; i < s->nholds; i++)
		if (strncmp(s->holds[i]->scope, "provider:", 9) == 0 &&
		    strcmp(s->holds[i]->scope + 9, p) == 0)
			return 1;
	return 0;
}

static int
by_rank(const void *a, const void *b)
{
	const struct sender *x = *(const struct sender *const *)a;
	const struct sender *y = *(const struct sender *const *)b;

	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return strcmp(x->identity, y->identity);
}

/* senders_sorted - the identities shown, most recipients first */
static struct sender **
senders_sorted(struct senders *ss, size_t *np)
{
	struct sender **v = og_calloc(ss->n + 1, sizeof(*v));
	size_t i, n = 0;

	for (i = 0; i < ss->n; i++) {
		struct sender *s = &ss->s[i];

		if (!concerns(s, ss->o.provider))
			continue;
		s->rank = ss->o.provider ? to_count(s, ss->o.provider)
		                         : s->recipients;
		v[n++] = s;
	}
	qsort(v, n, sizeof(*v), by_rank);
	*np = n;
	return v;
}

static void
senders_text(const struct senders *ss, struct sender **v, size_t n)
{
	static const char *const names[] = { "IDENTITY", "MSGS", "RCPTS",
		"BLOCKS", "HOLDS", "TO" };
	static const unsigned flags[] = { QR_COL_SHRINK, QR_COL_RIGHT,
		QR_COL_RIGHT, QR_COL_RIGHT, QR_COL_SHRINK, QR_COL_DETAIL };
	struct qr_table *t = qr_table_new(6, names, flags, 0);
	struct og_strbuf hold, to;
	char c[3][24], since[32];
	struct qr_tally **tv;
	size_t i, j;
	int fleet;

	og_strbuf_init(&hold, 4096);
	og_strbuf_init(&to, 4096);
	if (ss->o.provider != NULL)
		(void)og_strbuf_addf(&to,
		    "senders since %s: the %zu identit%s that concern %s",
		    qr_iso(ss->o.since, since, sizeof(since)), n,
		    n == 1 ? "y" : "ies", ss->o.provider);
	else
		(void)og_strbuf_addf(&to,
		    "senders since %s: %lld message%s from %zu identit%s",
		    qr_iso(ss->o.since, since, sizeof(since)), ss->messages,
		    ss->messages == 1 ? "" : "s", n, n == 1 ? "y" : "ies");
	qr_wrap(stdout, "", "  ", og_strbuf_str(&to), QR_WIDTH);
	for (i = 0; i < n; i++) {
		og_strbuf_reset(&hold);
		og_strbuf_reset(&to);
		for (j = 0; j < v[i]->nholds; j++)
			(void)og_strbuf_addf(&hold, "%s%s", j ? ", " : "",
			    v[i]->holds[j]->scope);
		tv = qr_tally_sorted(&v[i]->to);
		for (j = 0; tv[j] != NULL; j++)
			(void)og_strbuf_addf(&to, "%s%s %lld", j ? ", " : "to ",
			    tv[j]->key, tv[j]->n);
		og_free(tv);
		/* a fleet: which MTA each identity's messages went through */
		tv = qr_tally_sorted(&ss->hosts);
		fleet = tv[0] != NULL && tv[1] != NULL;
		og_free(tv);
		tv = fleet ? qr_tally_sorted(&v[i]->hosts) : NULL;
		for (j = 0; tv != NULL && tv[j] != NULL; j++)
			(void)og_strbuf_addf(&to, "%s%s %lld",
			    j ? ", " : (to.len ? "; via " : "via "), tv[j]->key,
			    tv[j]->n);
		og_free(tv);
		(void)snprintf(c[0], sizeof(c[0]), "%lld", v[i]->messages);
		(void)snprintf(c[1], sizeof(c[1]), "%lld", v[i]->recipients);
		(void)snprintf(c[2], sizeof(c[2]), "%lld", v[i]->blocked);
		qr_table_row(t, v[i]->identity, c[0], c[1], c[2],
		    hold.len ? og_strbuf_str(&hold) : "-",
		    to.len               ? og_strbuf_str(&to)
		        : v[i]->messages ? "recipients' domains not recorded"
		                         : "no message in this window");
	}
	if (n > 0)
		qr_table_print(t, stdout, QR_WIDTH);
	if (ss->unattributed > 0)
		(void)printf("%lld block observation%s without a known sender "
		             "(the status filter sees none)\n",
		    ss->unattributed, ss->unattributed == 1 ? "" : "s");
	qr_table_free(t);
	og_strbuf_release(&hold);
	og_strbuf_release(&to);
}

static json_t *
sender_json(const struct sender *s)
{
	json_t *o = json_object(), *a = json_array(), *e;
	struct qr_tally **tv = qr_tally_sorted(&s->to);
	size_t j;

	qr_json_set(o, "identity", qr_json_str(s->identity));
	qr_json_set(o, "messages", json_integer(s->messages));
	qr_json_set(o, "recipients", json_integer(s->recipients));
	qr_json_set(o, "size", json_integer(s->size));
	for (j = 0; tv[j] != NULL; j++) {
		e = json_object();
		qr_json_set(e, "provider", qr_json_str(tv[j]->key));
		qr_json_set(e, "recipients", json_integer(tv[j]->n));
		(void)json_array_append_new(a, e);
	}
	og_free(tv);
	qr_json_set(o, "to_providers", a);
	a = json_array();
	tv = qr_tally_sorted(&s->hosts);
	for (j = 0; tv[j] != NULL; j++) {
		e = json_object();
		qr_json_set(e, "host", qr_json_str(tv[j]->key));
		qr_json_set(e, "messages", json_integer(tv[j]->n));
		(void)json_array_append_new(a, e);
	}
	og_free(tv);
	qr_json_set(o, "hosts", a);
	a = json_array();
	for (j = 0; j < s->nblocks; j++) {
		e = json_object();
		qr_json_set(e, "provider", qr_json_str(s->blocks[j]->provider));
		qr_json_set(e, "rows", json_integer(s->blocks[j]->rows));
		qr_json_set(e, "count", json_integer(s->blocks[j]->count));
		qr_json_set(
		    e, "first_seen", qr_json_time(s->blocks[j]->first_seen));
		qr_json_set(
		    e, "last_seen", qr_json_time(s->blocks[j]->last_seen));
		(void)json_array_append_new(a, e);
	}
	qr_json_set(o, "blocks", a);
	a = json_array();
	for (j = 0; j < s->nholds; j++) {
		const struct og_hold *h = s->holds[j];

		e = json_object();
		qr_json_set(e, "id", json_integer(h->id));
		qr_json_set(e, "identity", qr_json_str(h->identity));
		qr_json_set(e, "scope", qr_json_str(h->scope));
		qr_json_set(e, "since", qr_json_time(h->since));
		qr_json_set(e, "until", qr_json_time(h->until));
		qr_json_set(e, "reason", qr_json_str(h->reason));
		(void)json_array_append_new(a, e);
	}
	qr_json_set(o, "holds", a);
	return o;
}

static void
senders_free(struct senders *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++) {
		qr_tally_free(&ss->s[i].to);
		qr_tally_free(&ss->s[i].hosts);
		og_free(ss->s[i].blocks);
		og_free(ss->s[i].holds);
	}
	og_free(ss->s);
	qr_tally_free(&ss->index);
	qr_tally_free(&ss->hosts);
	og_store_block_stats_free(ss->stats, ss->nstats);
	og_store_holds_free(ss->holds, ss->nholds);
}

int
qr_senders(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, QR_OPT_JSON },
		{ "since", required_argument, NULL, QR_OPT_SINCE },
		{ "provider", required_argument, NULL, QR_OPT_PROVIDER },
		{ NULL, 0, NULL, 0 },
	};
	struct og_block_filter f;
	struct senders ss;
	struct sender **v;
	struct og_store *st;
	size_t n, i;
	int ch, rc = EX_OK;
	json_t *o, *a;

	memset(&ss, 0, sizeof(ss));
	ss.conf = qr->conf;
	qr_opts_init(&ss.o, SENDERS_SINCE);
	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (qr_opt_common(&ss.o, ch, optarg) <= 0)
			goto usage;
	if (optind != argc)
		goto usage;
	if ((st = qr_store_open(qr)) == NULL)
		return EX_UNAVAILABLE;
	memset(&f, 0, sizeof(f));
	f.since = ss.o.since;
	f.provider = ss.o.provider;
	if (og_store_messages_scan(
	        st, NULL, ss.o.since, ss.o.now + 1, senders_row, &ss) < 0 ||
	    og_store_block_stats(
	        st, &f, OG_BLOCK_BY_IDENTITY, &ss.stats, &ss.nstats) < 0 ||
	    og_store_holds(st, ss.o.now, &ss.holds, &ss.nholds) < 0) {
		senders_free(&ss);
		og_store_close(st);
		return EX_UNAVAILABLE;
	}
	og_store_close(st);
	senders_attach(&ss);
	v = senders_sorted(&ss, &n);
	if (ss.o.json) {
		o = json_object();
		qr_json_set(o, "generated", json_integer(ss.o.now));
		qr_json_set(o, "since", json_integer(ss.o.since));
		qr_json_set(o, "provider", qr_json_str(ss.o.provider));
		qr_json_set(o, "messages", json_integer(ss.messages));
		a = json_array();
		for (i = 0; i < n; i++)
			(void)json_array_append_new(a, sender_json(v[i]));
		qr_json_set(o, "senders", a);
		qr_json_set(
		    o, "unattributed_blocks", json_integer(ss.unattributed));
		if (qr_json_print(o, stdout) < 0)
			rc = EX_IOERR;
	} else
		senders_text(&ss, v, n);
	og_free(v);
	senders_free(&ss);
	return qr_finish(rc);
usage:
	(void)fprintf(stderr,
	    "usage: outguard-queue-report senders [--json] "
	    "[--since TIME] [--provider NAME]\n");
	return EX_USAGE;
}

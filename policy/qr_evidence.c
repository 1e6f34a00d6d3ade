/*
 * qr_evidence.c - "outguard-queue-report evidence": the delisting pack
 * DESCRIPTION: what Microsoft asks for, filled from the store and the
 *	configuration, in the shape of the request it goes into:
 *	--for outlook-form (the default): the Outlook.com sender support
 *	form, one block per field, then the follow-up reply for when
 *	Microsoft answers "not qualified for mitigation"; --for
 *	delist-portal: the steps of sender.office.com (5.7.606-649), one IP
 *	and one address per request; --for delist-mail: the mail to
 *	delist@microsoft.com (5.7.511) with the NDR and the IP.
 *	The pack never claims what is not true. Replies are quoted verbatim
 *	(the newest of each code); who sent what and what was held come
 *	from the incidents the watcher recorded; SPF, DKIM and DMARC are
 *	stated only as far as lib/auth.c verified them just now, for the
 *	domains that sent to the blocking provider (else dkim_domain). A
 *	setting the request needs and that is not set is named as a gap,
 *	never left blank.
 * DIAGNOSTICS: exit 0: complete and verified; 65: a check failed (the
 *	pack says what to fix before writing to Microsoft); 75: a check
 *	could not be made (DNS trouble): nothing is claimed; 78: a setting
 *	is missing; 66: no block of that kind was recorded; 64, 69, 74 as
 *	elsewhere. The worst applies, in that order.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "auth.h"
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "qr.h"
#include "qr_fmt.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

#define EVIDENCE_SINCE (7 * 86400)
#define FORM_ERRORS_MAX 3000 /* bytes of the form's error-message field */
#define DOMAINS_SHOWN 10 /* sending domains named and checked */
#define LIST_MAX 64 /* IPs, codes, destination domains */
#define OLC_SUFFIX ".olc.protection.outlook.com"
#define FORM_URL "https://olcsupport.office.com/"
#define PORTAL_URL "https://sender.office.com/"
#define DELIST_TO "delist@microsoft.com"
#define ISSUE_TITLE "Server IP Listed / Non-Delivery Returned Mail"

enum kind { FORM, PORTAL, MAIL };

static const struct {
	const char *name, *remedy, *title;
} kinds[] = {
	[FORM] = { "outlook-form", "outlook_form",
	    "the Outlook.com sender support form" },
	[PORTAL] = { "delist-portal", "delist_portal",
	    "the Microsoft delist portal (5.7.606 to 5.7.649)" },
	[MAIL] = { "delist-mail", "delist_mail",
	    "the mail to delist@microsoft.com (5.7.511)" },
};

/* one auth check of a sending domain */
struct check {
	char domain[256];
	int ran; /* og_auth_check() returned 0 */
	struct og_auth_report rep;
};

struct pack {
	const struct qr *qr;
	const struct og_conf *conf;
	struct qr_opts o;
	enum kind kind;
	const char *ip; /* --ip, inet_ntop form, or NULL */
	int timeout_ms; /* per DNS lookup, --timeout; 0: the default */
	struct og_store *st;
	/* from the store */
	struct og_block_stat *stats; /* the groups of this remedy */
	size_t nstats;
	const char *providers[LIST_MAX];
	size_t nproviders;
	struct og_block_owned errors[LIST_MAX]; /* newest of each code */
	size_t nerrors;
	const char *ips[LIST_MAX]; /* blocked egress IPs; NULL unknown */
	size_t nips;
	char *to[LIST_MAX]; /* destination domains */
	size_t nto;
	struct qr_tallies from; /* sending domain -> recipients */
	struct og_incident *inc;
	size_t ninc;
	struct og_hold *holds;
	size_t nholds;
	struct check *checks;
	size_t nchecks;
	/* what the admin must do, and the exit it makes */
	json_t *gaps, *fixes, *unverified, *notes, *todo;
	int failed, unsure;
	int other[OG_NELEM(kinds)]; /* blocks that call for another kind */
};

/* ---- what the admin must do first ---- */

static void say(json_t *list, const char *fmt, ...) OG_PRINTF(2, 3);

static void
say(json_t *list, const char *fmt, ...)
{
	struct og_strbuf sb;
	va_list ap;

	og_strbuf_init(&sb, 8192);
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	(void)json_array_append_new(list, qr_json_str(og_strbuf_str(&sb)));
	og_strbuf_release(&sb);
}

/* ---- from the store ---- */

/* streq_codes - one code: the same SMTP, enhanced and provider code */
static int
streq_codes(const struct og_block_owned *a, const struct og_block_owned *b)
{
	return qr_streq0(a->provider, b->provider) &&
	    qr_streq0(a->smtp_code, b->smtp_code) &&
	    qr_streq0(a->enhanced_code, b->enhanced_code) &&
	    qr_streq0(a->provider_code, b->provider_code);
}

static int
newer(const struct og_block_owned *a, const struct og_block_owned *b)
{
	return a->last_seen != b->last_seen ? a->last_seen > b->last_seen
	                                    : a->id > b->id;
}

static int
by_newest(const void *a, const void *b)
{
	return newer(a, b) ? -1 : newer(b, a) ? 1 : 0;
}

static int
add_unique(const char **v, size_t *n, const char *s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (v[i] == NULL ? s == NULL : s != NULL && !strcmp(v[i], s))
			return 0;
	if (*n >= LIST_MAX)
		return 0;
	v[(*n)++] = s;
	return 1;
}

/* load_blocks - the groups of this remedy, their IPs and newest replies */
static int
load_blocks(struct pack *p)
{
	struct og_block_filter f;
	struct og_block_stat *all;
	size_t nall, i, j;
	struct og_block_owned b;

	memset(&f, 0, sizeof(f));
	f.since = p->o.since;
	f.provider = p->o.provider;
	f.egress_ip = p->ip;
	if (og_store_block_stats(p->st, &f, OG_BLOCK_BY_CODE, &all, &nall) < 0)
		return -1;
	p->stats = og_calloc(nall + 1, sizeof(*p->stats));
	for (i = 0; i < nall; i++) {
		for (j = 0; j < OG_NELEM(kinds); j++)
			if (all[i].remedy != NULL &&
			    strcmp(all[i].remedy, kinds[j].remedy) == 0)
				p->other[j] = 1;
		if (all[i].remedy == NULL ||
		    strcmp(all[i].remedy, kinds[p->kind].remedy) != 0)
			continue;
		p->stats[p->nstats++] = all[i];
		memset(&all[i], 0, sizeof(all[i])); /* moved */
	}
	og_store_block_stats_free(all, nall);
	for (i = 0; i < p->nstats; i++) {
		struct og_block_stat *s = &p->stats[i];

		(void)add_unique(p->providers, &p->nproviders,
		    s->provider ? s->provider : "unknown");
		(void)add_unique(p->ips, &p->nips, s->egress_ip);
		memset(&b, 0, sizeof(b));
		if (og_store_block_latest(p->st, p->o.since, s, &b) != OG_FOUND)
			continue;
		/* one per code: the newest over every egress IP */
		for (j = 0; j < p->nerrors; j++)
			if (streq_codes(&p->errors[j], &b))
				break;
		if (j == p->nerrors && p->nerrors < LIST_MAX)
			p->errors[p->nerrors++] = b;
		else if (j < p->nerrors && newer(&b, &p->errors[j])) {
			og_store_block_clear(&p->errors[j]);
			p->errors[j] = b;
		} else
			og_store_block_clear(&b);
	}
	qsort(p->errors, p->nerrors, sizeof(*p->errors), by_newest);
	return 0;
}

static int
is_ours(const struct pack *p, const char *provider)
{
	size_t i;

	for (i = 0; i < p->nproviders; i++)
		if (strcmp(p->providers[i], provider) == 0)
			return 1;
	return 0;
}

static void
add_domain(struct pack *p, const char *d)
{
	size_t i;

	for (i = 0; i < p->nto; i++)
		if (strcmp(p->to[i], d) == 0)
			return;
	if (p->nto < LIST_MAX)
		p->to[p->nto++] = og_strdup(d);
}

/*
 * olc_domain - Outlook.com's MX for hotmail.com is hotmail-com.olc.
 * protection.outlook.com: the domain it names, if provider_domains says
 * that domain is the provider's (else no claim is made)
 */
static int
olc_domain(const struct pack *p, const char *mx, const char *provider,
    char *out, size_t size)
{
	size_t n = strlen(mx), sl = strlen(OLC_SUFFIX), i;
	const char *pv;

	if (n <= sl || n - sl >= size ||
	    og_strcasecmp_ascii(mx + n - sl, OLC_SUFFIX) != 0)
		return 0;
	memcpy(out, mx, n - sl);
	out[n - sl] = '\0';
	if (strchr(out, '.') != NULL)
		return 0;
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] == '-')
			out[i] = '.';
	og_lowercase(out);
	pv = qr_provider_of(p->conf, out);
	return pv != NULL && strcmp(pv, provider) == 0;
}

static int
by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* load_destinations - the provider's domains that refused our mail */
static int
load_destinations(struct pack *p)
{
	struct og_block_filter f;
	struct og_block_stat *d;
	char dom[256];
	size_t i, k, n;

	for (k = 0; k < p->nproviders; k++) {
		if (strcmp(p->providers[k], "unknown") == 0)
			continue;
		memset(&f, 0, sizeof(f));
		f.since = p->o.since;
		f.provider = p->providers[k];
		f.egress_ip = p->ip;
		if (og_store_block_stats(
		        p->st, &f, OG_BLOCK_BY_DESTINATION, &d, &n) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (d[i].rcpt_domain != NULL && *d[i].rcpt_domain)
				add_domain(p, d[i].rcpt_domain);
			else if (d[i].mx_host != NULL &&
			    olc_domain(p, d[i].mx_host, p->providers[k], dom,
			        sizeof(dom)))
				add_domain(p, dom);
		og_store_block_stats_free(d, n);
	}
	qsort(p->to, p->nto, sizeof(*p->to), by_str);
	return 0;
}

/* from_row - a message to the provider: its envelope sender's domain */
static int
from_row(const struct og_msgrec *m, void *arg)
{
	struct pack *p = arg;
	const char *s = m->rcpt_summary != NULL ? m->rcpt_summary : "", *pv;
	const char *at = strrchr(m->sender, '@');
	unsigned long long n;
	long long to = 0;
	char dom[256];

	while (qr_summary_next(&s, dom, sizeof(dom), &n))
		if ((pv = qr_provider_of(p->conf, dom)) != NULL &&
		    is_ours(p, pv))
			to += (long long)n;
	if (to == 0 || at == NULL || at[1] == '\0' ||
	    strlen(at + 1) >= sizeof(dom))
		return 0;
	og_strlcpy(dom, at + 1, sizeof(dom));
	qr_tally_add(&p->from, og_lowercase(dom), to, 0);
	return 0;
}

/* concerned - an incident of these blocks */
static int
concerned(const struct pack *p, const struct og_incident *inc)
{
	if (!is_ours(p, inc->provider))
		return 0;
	if (p->ip != NULL &&
	    (inc->egress_ip == NULL || strcmp(inc->egress_ip, p->ip) != 0))
		return 0;
	return strcmp(inc->state, "confirmed") != 0 ||
	    inc->opened >= p->o.since;
}

static int
load(struct pack *p)
{
	struct og_incident *all;
	size_t nall, i;

	if (load_blocks(p) < 0)
		return -1;
	if (p->nstats == 0)
		return 0;
	if (load_destinations(p) < 0 ||
	    og_store_messages_scan(
	        p->st, NULL, p->o.since, p->o.now + 1, from_row, p) < 0 ||
	    og_store_incidents(p->st, NULL, &all, &nall) < 0)
		return -1;
	p->inc = og_calloc(nall + 1, sizeof(*p->inc));
	for (i = 0; i < nall; i++)
		if (concerned(p, &all[i])) {
			p->inc[p->ninc++] = all[i];
			memset(&all[i], 0, sizeof(all[i])); /* moved */
		}
	og_store_incidents_free(all, nall);
	return og_store_holds(p->st, p->o.now, &p->holds, &p->nholds);
}

/* ---- SPF, DKIM and DMARC, checked now ---- */

/*
 * judge_item - an item that is not ok: a fix, or unverified when DNS
 * did not answer it, or (unknown set) one it derives from
 */
static void
judge_item(struct pack *p, const char *domain, const char *what,
    const struct og_auth_item *it, int unknown)
{
	if (it->ok)
		return;
	if (it->res == OG_AUTH_TEMPERROR) {
		say(p->unverified, "%s: %s could not be checked: %s (%s)",
		    domain, what, og_auth_res_name(it->res), it->reason);
		p->unsure = 1;
	} else if (unknown) {
		say(p->unverified,
		    "%s: %s: %s, from checks that DNS did not answer (%s)",
		    domain, what, og_auth_res_name(it->res), it->reason);
		p->unsure = 1;
	} else {
		say(p->fixes, "%s: %s: %s (%s)", domain, what,
		    og_auth_res_name(it->res), it->reason);
		p->failed = 1;
	}
}

static void
judge(struct pack *p, const struct check *c)
{
	const struct og_auth_report *r = &c->rep;
	struct og_strbuf what;
	int before = p->failed || p->unsure, unknown = 0;
	size_t i;

	if (!c->ran) {
		say(p->unverified,
		    "%s: SPF, DKIM and DMARC could not be checked (see "
		    "\"outguard-queue-report check-auth %s\"): nothing is "
		    "claimed about them",
		    c->domain, c->domain);
		p->unsure = 1;
		return;
	}
	/* DKIM as a whole and alignment follow from the items before */
	for (i = 0; i < r->nspf && i < OG_AUTH_IPS_MAX; i++)
		unknown |= r->spf[i].item.res == OG_AUTH_TEMPERROR;
	for (i = 0; i < r->ndkim && i < OG_AUTH_KEYS_MAX; i++)
		unknown |= r->dkim[i].item.res == OG_AUTH_TEMPERROR;
	og_strbuf_init(&what, 512);
	for (i = 0; i < r->nspf && i < OG_AUTH_IPS_MAX; i++) {
		og_strbuf_reset(&what);
		(void)og_strbuf_addf(&what, "SPF for %s", r->spf[i].ip);
		judge_item(
		    p, c->domain, og_strbuf_str(&what), &r->spf[i].item, 0);
	}
	for (i = 0; i < r->ndkim && i < OG_AUTH_KEYS_MAX; i++) {
		og_strbuf_reset(&what);
		(void)og_strbuf_addf(&what, "DKIM key %s._domainkey.%s",
		    r->dkim[i].selector, r->dkim[i].domain);
		judge_item(
		    p, c->domain, og_strbuf_str(&what), &r->dkim[i].item, 0);
	}
	judge_item(p, c->domain, "DKIM", &r->dkim_any, unknown);
	judge_item(p, c->domain, "DMARC record", &r->dmarc, 0);
	judge_item(p, c->domain, "DMARC alignment", &r->aligned, unknown);
	og_strbuf_release(&what);
	if (!r->ok && !before && !p->failed && !p->unsure) {
		say(p->unverified,
		    "%s: check-auth did not confirm SPF, DKIM "
		    "and DMARC: nothing is claimed about them",
		    c->domain);
		p->unsure = 1;
	}
}

/* check_domains - the sending domains (else dkim_domain), checked now */
static void
check_domains(struct pack *p)
{
	struct qr_tally **v = qr_tally_sorted(&p->from);
	const char *const *dk;
	struct og_auth_conf ac;
	struct og_strbuf err;
	struct og_dns *dns;
	size_t i, n = 0, ndk = 0;

	for (i = 0; v[i] != NULL; i++)
		n++;
	if (n > DOMAINS_SHOWN) {
		say(p->notes,
		    "%zu more domains sent to %s: only the first %d are "
		    "checked here (outguard-queue-report check-auth DOMAIN)",
		    n - DOMAINS_SHOWN, p->providers[0], DOMAINS_SHOWN);
		n = DOMAINS_SHOWN;
	}
	dk = og_conf_list(p->conf, "dkim_domain", &ndk);
	if (n == 0)
		n = ndk;
	if (n == 0) {
		say(p->gaps,
		    "no sending domain is known (none in the store, "
		    "dkim_domain not set): nothing to check");
		og_free(v);
		return;
	}
	p->checks = og_calloc(n, sizeof(*p->checks));
	p->nchecks = n;
	for (i = 0; i < n; i++)
		og_strlcpy(p->checks[i].domain,
		    v[0] != NULL ? v[i]->key : dk[i],
		    sizeof(p->checks[i].domain));
	og_free(v);
	og_auth_conf_from(p->conf, &ac);
	og_strbuf_init(&err, 1024);
	if ((dns = og_dns_open(og_conf_str(p->conf, "dns_resolver"),
	         p->timeout_ms, &err)) == NULL)
		og_warnx("DNS resolver: %s", og_strbuf_str(&err));
	og_strbuf_release(&err);
	for (i = 0; i < n; i++) {
		p->checks[i].ran = dns != NULL &&
		    og_auth_check(
		        dns, &ac, p->checks[i].domain, &p->checks[i].rep) == 0;
		judge(p, &p->checks[i]);
	}
	if (dns != NULL)
		og_dns_close(dns);
}

static int
passed(const struct og_auth_item *it)
{
	return it->ok && it->res == OG_AUTH_PASS;
}

/*
 * claims - what the follow-up may say about authentication: only the
 * items that check-auth saw pass just now
 */
static void
claims(const struct pack *p, struct og_strbuf *out)
{
	const struct og_auth_report *r;
	size_t i, j, k;

	for (i = 0; i < p->nchecks; i++) {
		if (!p->checks[i].ran)
			continue;
		r = &p->checks[i].rep;
		for (j = k = 0; j < r->nspf && j < OG_AUTH_IPS_MAX; j++) {
			if (!passed(&r->spf[j].item))
				continue;
			if (k++ == 0)
				(void)og_strbuf_addf(out,
				    "- The SPF record of %s authorises %s",
				    p->checks[i].domain, r->spf[j].ip);
			else
				(void)og_strbuf_addf(out, ", %s", r->spf[j].ip);
		}
		if (k > 0)
			(void)og_strbuf_adds(out, ".\n");
		for (j = 0; j < r->ndkim && j < OG_AUTH_KEYS_MAX; j++)
			if (passed(&r->dkim[j].item) && passed(&r->dkim_any))
				(void)og_strbuf_addf(out,
				    "- Mail from %s is DKIM-signed (d=%s, "
				    "s=%s), and the public key is published "
				    "in DNS.\n",
				    p->checks[i].domain, r->dkim[j].domain,
				    r->dkim[j].selector);
		if (passed(&r->dmarc))
			(void)og_strbuf_addf(out,
			    "- %s publishes a DMARC policy (p=%s).\n",
			    p->checks[i].domain,
			    *r->dmarc_policy ? r->dmarc_policy : "none");
		if (passed(&r->aligned))
			(void)og_strbuf_addf(out,
			    "- Our mail from %s passes DMARC: it is "
			    "authenticated and aligned with the From domain.\n",
			    p->checks[i].domain);
	}
}

/* service - a provider as Microsoft's staff call it */
static const char *
service(const char *provider)
{
	if (strcmp(provider, "microsoft-consumer") == 0)
		return "Outlook.com";
	if (strcmp(provider, "microsoft-365") == 0)
		return "Microsoft 365";
	return provider;
}

/* who - an identity as people say it */
static void
who(struct og_strbuf *out, const char *identity)
{
	static const struct {
		const char *prefix, *words;
	} kinds_[] = {
		{ "sasl:", "the account " },
		{ "client:", "the client " },
		{ "sender:", "the sender " },
		{ "uid:", "the local user " },
		{ "provider:", "our mail to " },
	};
	size_t i, n;

	for (i = 0; i < OG_NELEM(kinds_); i++) {
		n = strlen(kinds_[i].prefix);
		if (strncmp(identity, kinds_[i].prefix, n) == 0) {
			(void)og_strbuf_addf(
			    out, "%s%s", kinds_[i].words, identity + n);
			return;
		}
	}
	(void)og_strbuf_adds(out, identity);
}

/*
 * found - the incidents' suspects, with the watcher's figures: what
 * was found. Returns how many lines it wrote.
 */
static size_t
found(const struct pack *p, struct og_strbuf *out)
{
	int64_t win = (int64_t)og_conf_uint(p->conf, "suspect_window");
	char t[32], w[32];
	size_t i, j, n = 0;
	json_t *arr, *e;

	for (i = 0; i < p->ninc; i++) {
		arr = qr_json_array(p->inc[i].suspects);
		json_array_foreach(arr, j, e)
		{
			const json_t *share =
			    json_object_get(e, "share_percent");

			if (!json_is_true(json_object_get(e, "suspect")) ||
			    qr_jstr(e, "identity") == NULL)
				continue;
			(void)og_strbuf_addf(out,
			    "- In the %s before the "
			    "first block (%s), ",
			    og_age(win, w, sizeof(w)),
			    qr_iso(p->inc[i].first_block, t, sizeof(t)));
			who(out, qr_jstr(e, "identity"));
			(void)og_strbuf_addf(out,
			    " sent %lld messages with %lld recipients at %s",
			    (long long)qr_jint(e, "messages"),
			    (long long)qr_jint(e, "to_provider"),
			    service(p->inc[i].provider));
			if (json_is_number(share))
				(void)og_strbuf_addf(out,
				    ", %.1f%% of all our mail to %s then",
				    json_number_value(share),
				    service(p->inc[i].provider));
			(void)og_strbuf_adds(out, ".\n");
			n++;
		}
		json_decref(arr);
	}
	return n;
}

static const struct og_hold *
in_force(const struct pack *p, json_int_t id)
{
	size_t i;

	for (i = 0; i < p->nholds; i++)
		if (p->holds[i].id == id)
			return &p->holds[i];
	return NULL;
}

/*
 * done - the holds the incidents took, with their times and whether
 * they are in force now; the passwords to change go to the to-do list
 */
static size_t
done(struct pack *p, struct og_strbuf *out)
{
	char t[32];
	size_t i, j, n = 0;
	json_t *arr, *e;

	for (i = 0; i < p->ninc; i++) {
		arr = qr_json_array(p->inc[i].holds);
		json_array_foreach(arr, j, e)
		{
			const char *id = qr_jstr(e, "identity");
			const struct og_hold *h =
			    in_force(p, qr_jint(e, "hold"));

			if (id == NULL)
				continue;
			(void)og_strbuf_addf(out,
			    "- %s: ", qr_iso(qr_jint(e, "time"), t, sizeof(t)));
			if (strncmp(id, "provider:", 9) == 0)
				(void)og_strbuf_addf(out,
				    "we put our queued mail to %s on hold, "
				    "so that our server stopped retrying it",
				    service(id + 9));
			else {
				(void)og_strbuf_adds(out,
				    "we stopped all mail "
				    "from ");
				who(out, id);
				(void)og_strbuf_adds(
				    out, " (held on our server)");
			}
			(void)og_strbuf_adds(out,
			    h != NULL ? "; the hold is in force.\n"
			              : "; the hold has since been lifted.\n");
			n++;
			if (h != NULL && strncmp(id, "sasl:", 5) == 0) {
				(void)og_strbuf_adds(out, "- The password of ");
				who(out, id);
				(void)og_strbuf_adds(out,
				    " is to be changed before its mail is "
				    "released.\n");
				say(p->todo,
				    "change the password of %s, then release "
				    "it: outguard-queue-report release %s "
				    "--reason \"password changed\"",
				    id + 5, id);
			}
		}
		json_decref(arr);
	}
	return n;
}

/* ---- the pack's fields ---- */

/*
 * field - one block to paste: its value (NULL when unknown), a note
 * for the admin (not to paste) and the gap that leaves it incomplete
 */
static void
field(struct pack *p, json_t *fields, const char *name, const char *value,
    const char *note, const char *gap)
{
	json_t *o = json_object();

	qr_json_set(o, "name", json_string(name));
	qr_json_set(o, "value", qr_json_str(value));
	qr_json_set(o, "note", qr_json_str(note));
	qr_json_set(o, "gap", qr_json_str(gap));
	(void)json_array_append_new(fields, o);
	if (gap != NULL)
		say(p->gaps, "%s: %s", name, gap);
}

static const char *
setting(const struct pack *p, const char *name)
{
	const char *v = og_conf_str(p->conf, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* unset - the gap of a setting that is not set */
static const char *
unset(struct og_strbuf *sb, const char *name)
{
	og_strbuf_reset(sb);
	(void)og_strbuf_addf(
	    sb, "%s is not set in the configuration (outguard.conf)", name);
	return og_strbuf_str(sb);
}

/* consumer_address - an Outlook.com or Hotmail address? */
static int
consumer_address(const struct pack *p, const char *addr)
{
	const char *at = strrchr(addr, '@'), *pv;
	char dom[256];

	if (at == NULL || strlen(at + 1) >= sizeof(dom))
		return 0;
	og_strlcpy(dom, at + 1, sizeof(dom));
	og_lowercase(dom);
	if ((pv = qr_provider_of(p->conf, dom)) != NULL)
		return strcmp(pv, "microsoft-consumer") == 0;
	return strncmp(dom, "outlook.", 8) == 0 ||
	    strncmp(dom, "hotmail.", 8) == 0 || strncmp(dom, "live.", 5) == 0 ||
	    strcmp(dom, "msn.com") == 0;
}

/*
 * outbound - the blocked IPs as the form wants them, "; " between: a
 * configured egress_ips range in CIDR form where it holds the IP, else
 * the IP; all of egress_ips when the replies named none
 */
static void
outbound(const struct pack *p, struct og_strbuf *out)
{
	const char *const *cfg;
	const char *v[LIST_MAX];
	size_t ncfg = 0, n = 0, i, k;

	cfg = og_conf_list(p->conf, "egress_ips", &ncfg);
	for (i = 0; i < p->nips; i++) {
		if (p->ips[i] == NULL)
			continue;
		for (k = 0; k < ncfg && !qr_in_net(p->ips[i], cfg[k]); k++)
			;
		(void)add_unique(v, &n, k < ncfg ? cfg[k] : p->ips[i]);
	}
	for (k = 0; n == 0 && k < ncfg; k++)
		(void)add_unique(v, &n, cfg[k]);
	for (i = 0; i < n; i++)
		(void)og_strbuf_addf(out, "%s%s", i ? "; " : "", v[i]);
}

/* ips_words - "203.0.113.5", "A, B and C", or "our server's address" */
static void
ips_words(const struct pack *p, struct og_strbuf *out)
{
	const char *v[LIST_MAX];
	size_t i, n = 0;

	for (i = 0; i < p->nips; i++)
		if (p->ips[i] != NULL)
			v[n++] = p->ips[i];
	for (i = 0; i < n; i++)
		(void)og_strbuf_addf(out, "%s%s",
		    i == 0           ? ""
		        : i + 1 == n ? " and "
		                     : ", ",
		    v[i]);
	if (n == 0)
		(void)og_strbuf_adds(out, "our server's IP address");
}

/* one_error - a reply as the form and the mail quote it */
static void
one_error(const struct og_block_owned *b, struct og_strbuf *out)
{
	char t[32];

	(void)og_strbuf_adds(out, qr_iso(b->last_seen, t, sizeof(t)));
	if (b->server_tag != NULL || b->server_time != NULL)
		(void)og_strbuf_addf(out, " (Microsoft server %s%s%s)",
		    b->server_tag ? b->server_tag : "",
		    b->server_tag && b->server_time ? " " : "",
		    b->server_time ? b->server_time : "");
	(void)og_strbuf_addf(out, ":\n%s\n", b->reply);
}

/*
 * errors_text - the newest reply of each code, newest first, as many as
 * fit max bytes; the rest are counted in *left
 */
static void
errors_text(
    const struct pack *p, struct og_strbuf *out, size_t max, size_t *left)
{
	struct og_strbuf one;
	size_t i;

	*left = 0;
	og_strbuf_init(&one, 0);
	for (i = 0; i < p->nerrors; i++) {
		og_strbuf_reset(&one);
		one_error(&p->errors[i], &one);
		if (out->len + one.len + 1 > max && out->len > 0) {
			(*left)++;
			continue;
		}
		if (out->len > 0)
			(void)og_strbuf_addc(out, '\n');
		if (one.len + 1 > max) { /* one alone is too long: cut */
			og_strbuf_truncate(&one, max > 20 ? max - 20 : max);
			while (one.len > 0 &&
			    ((unsigned char)one.data[one.len - 1] & 0xc0) ==
			        0x80)
				og_strbuf_truncate(&one, one.len - 1);
			if (one.len > 0)
				og_strbuf_truncate(&one, one.len - 1);
			(void)og_strbuf_adds(&one, " [cut to fit]\n");
		}
		(void)og_strbuf_adds(out, og_strbuf_str(&one));
	}
	og_strbuf_release(&one);
	while (out->len > 0 && out->data[out->len - 1] == '\n')
		og_strbuf_truncate(out, out->len - 1);
}

/* timezone - the server's zone: the form asks for one */
static void
timezone_of(int64_t now, struct og_strbuf *out)
{
	time_t t = (time_t)now;
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL) {
		(void)og_strbuf_adds(out, "UTC");
		return;
	}
	off = tm.tm_gmtoff;
	(void)og_strbuf_addf(out, "UTC%c%02ld:%02ld (%s)", off < 0 ? '-' : '+',
	    labs(off) / 3600, labs(off) % 3600 / 60,
	    tm.tm_zone ? tm.tm_zone : "?");
}

/* follow_up - the reply to "not qualified for mitigation" */
static void
follow_up(struct pack *p, struct og_strbuf *out)
{
	struct og_strbuf part, ips;
	char t[32];
	const char *name = setting(p, "contact_name");

	og_strbuf_init(&part, 0);
	og_strbuf_init(&ips, 4096);
	ips_words(p, &ips);
	(void)og_strbuf_addf(out,
	    "Hello,\n\nThank you for looking into our request about %s.\n",
	    og_strbuf_str(&ips));
	if (found(p, &part) > 0)
		(void)og_strbuf_addf(
		    out, "\nWhat we found:\n%s", og_strbuf_str(&part));
	else
		say(p->todo,
		    "outguard recorded no suspect for these blocks: "
		    "say what you found in the follow-up");
	og_strbuf_reset(&part);
	if (done(p, &part) > 0)
		(void)og_strbuf_addf(
		    out, "\nWhat we have done:\n%s", og_strbuf_str(&part));
	else
		say(p->todo,
		    "outguard recorded no hold for these blocks: say "
		    "what you did in the follow-up");
	og_strbuf_reset(&part);
	claims(p, &part);
	if (part.len > 0)
		(void)og_strbuf_addf(out,
		    "\nHow our mail is authenticated, as checked on %s:\n%s",
		    qr_iso(p->o.now, t, sizeof(t)), og_strbuf_str(&part));
	(void)og_strbuf_addf(out,
	    "\nPlease review the listing of %s again.\n\nRegards,\n",
	    og_strbuf_str(&ips));
	if (name != NULL)
		(void)og_strbuf_addf(out, "%s\n", name);
	og_strbuf_release(&part);
	og_strbuf_release(&ips);
}

static void
form_fields(struct pack *p, json_t *fields)
{
	struct og_strbuf v, g, n;
	struct qr_tally **tv;
	const char *s;
	size_t i, left;

	og_strbuf_init(&v, 0);
	og_strbuf_init(&g, 4096);
	og_strbuf_init(&n, 4096);
	field(p, fields, "Issue title", ISSUE_TITLE, NULL, NULL);
	s = setting(p, "contact_name");
	field(p, fields, "Contact name", s, NULL,
	    s ? NULL : unset(&g, "contact_name"));
	s = setting(p, "contact_email");
	field(p, fields, "Contact e-mail address", s,
	    "it must be an Outlook.com or Hotmail address: Microsoft answers "
	    "those with priority",
	    s == NULL                     ? unset(&g, "contact_email")
	        : !consumer_address(p, s) ? "contact_email is not an "
	                                    "Outlook.com or Hotmail address"
	                                  : NULL);
	timezone_of(p->o.now, &v);
	field(p, fields, "Timezone", og_strbuf_str(&v),
	    "this server's time zone; every time in this pack is UTC", NULL);
	og_strbuf_reset(&v);
	for (i = 0; i < p->nto; i++)
		(void)og_strbuf_addf(&v, "%s%s", i ? "; " : "", p->to[i]);
	field(p, fields, "What domain are you sending to",
	    v.len ? v.data : NULL, NULL,
	    v.len ? NULL
	          : "no recipient domain was recorded with these blocks: "
	            "take it from a bounce");
	og_strbuf_reset(&v);
	tv = qr_tally_sorted(&p->from);
	for (i = 0; i < DOMAINS_SHOWN && tv[i] != NULL; i++)
		(void)og_strbuf_addf(&v, "%s%s", i ? "; " : "", tv[i]->key);
	for (left = i; tv[left] != NULL; left++)
		;
	og_strbuf_reset(&n);
	if (left > i)
		(void)og_strbuf_addf(&n,
		    "the %zu domains that sent most to %s; %zu more: "
		    "outguard-queue-report senders",
		    i, p->providers[0], left - i);
	og_free(tv);
	field(p, fields, "What domain are you sending from",
	    v.len ? v.data : NULL, n.len ? n.data : NULL,
	    v.len ? NULL
	          : "no message to the provider was recorded since the "
	            "pack's start: name your sending domain");
	s = setting(p, "company_description");
	field(p, fields, "How would you describe your company", s, NULL,
	    s ? NULL : unset(&g, "company_description"));
	s = setting(p, "server_type");
	field(p, fields, "Do you have a dedicated or shared server",
	    s == NULL                      ? NULL
	        : strcmp(s, "shared") == 0 ? "Shared"
	                                   : "Dedicated",
	    "a server that sends for several customers is shared",
	    s ? NULL : unset(&g, "server_type"));
	if (s != NULL && strcmp(s, "dedicated") == 0 && p->from.n > 1)
		say(p->notes,
		    "server_type is dedicated, but %zu domains sent to %s "
		    "from this server: a server that sends for several "
		    "customers is shared",
		    p->from.n, p->providers[0]);
	og_strbuf_reset(&v);
	outbound(p, &v);
	(void)og_conf_list(p->conf, "egress_ips", &i);
	field(p, fields, "Outbound IP(s) or range(s)", v.len ? v.data : NULL,
	    "semicolons between them, CIDR for a range",
	    i == 0 ? unset(&g, "egress_ips") : NULL);
	og_strbuf_reset(&v);
	errors_text(p, &v, FORM_ERRORS_MAX, &left);
	og_strbuf_reset(&n);
	(void)og_strbuf_addf(&n,
	    "verbatim: the newest reply of each code, newest first, as "
	    "they fit the form");
	if (left > 0)
		(void)og_strbuf_addf(&n,
		    "; %zu more left out (outguard-queue-report blocks)", left);
	field(p, fields, "Copy and paste the error messages", v.data, n.data,
	    NULL);
	s = setting(p, "website_url");
	field(p, fields, "Website URL", s, NULL,
	    s ? NULL : unset(&g, "website_url"));
	og_strbuf_release(&v);
	og_strbuf_release(&g);
	og_strbuf_release(&n);
}

/* ip_facts - the codes, count and times of the blocks of one IP */
static void
ip_facts(const struct pack *p, const char *ip, struct og_strbuf *out)
{
	const char *codes[LIST_MAX];
	long long count = 0;
	int64_t first = 0, last = 0;
	size_t i, n = 0;
	char a[32], b[32];

	for (i = 0; i < p->nstats; i++) {
		const struct og_block_stat *s = &p->stats[i];

		if (!qr_streq0(s->egress_ip, ip))
			continue;
		(void)add_unique(codes, &n,
		    s->provider_code       ? s->provider_code
		        : s->enhanced_code ? s->enhanced_code
		                           : s->smtp_code);
		count += s->count;
		if (first == 0 || s->first_seen < first)
			first = s->first_seen;
		if (s->last_seen > last)
			last = s->last_seen;
	}
	(void)og_strbuf_adds(out, "blocked with ");
	for (i = 0; i < n; i++)
		(void)og_strbuf_addf(
		    out, "%s%s", i ? ", " : "", codes[i] ? codes[i] : "?");
	(void)og_strbuf_addf(out, ", %lld time%s from %s to %s", count,
	    count == 1 ? "" : "s", qr_iso(first, a, sizeof(a)),
	    qr_iso(last, b, sizeof(b)));
	for (i = 0; i < p->nerrors; i++)
		if (qr_streq0(p->errors[i].egress_ip, ip)) {
			(void)og_strbuf_adds(out, "; last reply:\n");
			(void)og_strbuf_adds(out, p->errors[i].reply);
			break;
		}
}

static void
portal_fields(struct pack *p, json_t *fields, json_t *steps)
{
	static const char *const text[] = {
		"Open " PORTAL_URL " in a browser.",
		"Enter the e-mail address below and the first IP address "
		"below, pass the check that you are a person, and submit.",
		"Microsoft mails a link to that address: open it and confirm "
		"the removal (\"Delist IP\").",
		"Repeat for each further IP address below: one IP address "
		"and one e-mail address per request.",
	};
	struct og_strbuf name, note, g;
	const char *mail = setting(p, "contact_email"), *v[LIST_MAX];
	const char *const *cfg;
	size_t i, n = 0, ncfg = 0;

	for (i = 0; i < OG_NELEM(text); i++)
		(void)json_array_append_new(steps, json_string(text[i]));
	og_strbuf_init(&name, 256);
	(void)og_strbuf_addf(&name,
	    "Once a test message to a %s recipient is accepted again, "
	    "release the held mail: outguard-queue-report release "
	    "provider:%s --reason \"delisted\".",
	    service(p->providers[0]), p->providers[0]);
	(void)json_array_append_new(steps, json_string(og_strbuf_str(&name)));
	og_strbuf_init(&note, 0);
	og_strbuf_init(&g, 4096);
	field(p, fields, "E-mail address (the same in every request)", mail,
	    "Microsoft sends the confirmation link there",
	    mail ? NULL : unset(&g, "contact_email"));
	for (i = 0; i < p->nips; i++)
		if (p->ips[i] != NULL)
			v[n++] = p->ips[i];
	if (n < p->nips) { /* replies that named no IP */
		cfg = og_conf_list(p->conf, "egress_ips", &ncfg);
		for (i = 0; i < ncfg; i++)
			if (strchr(cfg[i], '/') == NULL)
				(void)add_unique(v, &n, cfg[i]);
	}
	for (i = 0; i < n; i++) {
		og_strbuf_reset(&name);
		og_strbuf_reset(&note);
		(void)og_strbuf_addf(
		    &name, "Request %zu of %zu: IP address", i + 1, n);
		ip_facts(p, v[i], &note);
		if (note.len == strlen("blocked with ")) {
			og_strbuf_reset(&note);
			(void)og_strbuf_adds(&note,
			    "from egress_ips: the "
			    "replies did not name an IP");
		}
		field(p, fields, og_strbuf_str(&name), v[i],
		    og_strbuf_str(&note), NULL);
	}
	if (n == 0)
		field(p, fields, "IP address", NULL, NULL,
		    "the replies named no IP and egress_ips has no single "
		    "address: take it from a bounce");
	og_strbuf_release(&name);
	og_strbuf_release(&note);
	og_strbuf_release(&g);
}

static void
mail_fields(struct pack *p, json_t *fields)
{
	struct og_strbuf body, part, ips, g;
	const char *name = setting(p, "contact_name");
	const char *mail = setting(p, "contact_email");
	size_t left;

	og_strbuf_init(&body, 0);
	og_strbuf_init(&part, 0);
	og_strbuf_init(&ips, 4096);
	og_strbuf_init(&g, 4096);
	ips_words(p, &ips);
	field(p, fields, "To", DELIST_TO, NULL, NULL);
	og_strbuf_reset(&part);
	(void)og_strbuf_addf(&part, "Delisting request for %s (550 5.7.511)",
	    og_strbuf_str(&ips));
	field(p, fields, "Subject", og_strbuf_str(&part), NULL, NULL);
	(void)og_strbuf_addf(&body,
	    "Hello,\n\nMail from %s is refused with 550 5.7.511 (banned "
	    "sender). Please remove it from the list of banned senders. "
	    "The non-delivery report%s:\n\n",
	    og_strbuf_str(&ips), p->nerrors > 1 ? "s" : "");
	og_strbuf_reset(&part);
	errors_text(p, &part, OG_STORE_TEXT_MAX * 2, &left);
	(void)og_strbuf_addf(&body, "%s\n", og_strbuf_str(&part));
	og_strbuf_reset(&part);
	if (found(p, &part) > 0)
		(void)og_strbuf_addf(
		    &body, "\nWhat we found:\n%s", og_strbuf_str(&part));
	og_strbuf_reset(&part);
	if (done(p, &part) > 0)
		(void)og_strbuf_addf(
		    &body, "\nWhat we have done:\n%s", og_strbuf_str(&part));
	(void)og_strbuf_adds(&body, "\nRegards,\n");
	if (name != NULL)
		(void)og_strbuf_addf(&body, "%s\n", name);
	if (mail != NULL)
		(void)og_strbuf_addf(&body, "%s\n", mail);
	field(p, fields, "Body", og_strbuf_str(&body),
	    "send it from the contact address; attach the bounce itself if "
	    "you have it",
	    NULL);
	if (name == NULL)
		say(p->gaps, "%s", unset(&g, "contact_name"));
	if (mail == NULL)
		say(p->gaps, "%s", unset(&g, "contact_email"));
	if (left > 0)
		say(p->notes,
		    "%zu more replies left out of the body "
		    "(outguard-queue-report blocks)",
		    left);
	og_strbuf_release(&body);
	og_strbuf_release(&part);
	og_strbuf_release(&ips);
	og_strbuf_release(&g);
}

/* ---- output ---- */

/* put_lines - text with prefix before its first line, indent after */
static void
put_lines(const char *prefix, const char *indent, const char *text)
{
	struct og_strbuf sb;
	const char *p, *nl;

	og_strbuf_init(&sb, 0);
	qr_text_add(&sb, text, 0, 1);
	while (sb.len > 0 && sb.data[sb.len - 1] == '\n')
		og_strbuf_truncate(&sb, sb.len - 1);
	(void)fputs(prefix, stdout);
	for (p = og_strbuf_str(&sb); (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		(void)printf("%.*s\n%s", (int)(nl - p), p, indent);
	(void)printf("%s\n", p);
	og_strbuf_release(&sb);
}

static void
text_todo(const struct pack *p)
{
	static const struct {
		const char *label;
		size_t off;
	} lists[] = {
		{ "FIX   ", offsetof(struct pack, fixes) },
		{ "CHECK ", offsetof(struct pack, unverified) },
		{ "GAP   ", offsetof(struct pack, gaps) },
		{ "TODO  ", offsetof(struct pack, todo) },
		{ "NOTE  ", offsetof(struct pack, notes) },
	};
	json_t *list, *e;
	size_t i, j, n = 0;

	(void)printf("\nBefore you send:\n");
	for (i = 0; i < OG_NELEM(lists); i++) {
		memcpy(&list, (const char *)p + lists[i].off, sizeof(list));
		json_array_foreach(list, j, e)
		{
			(void)printf("  %s", lists[i].label);
			put_lines("", "        ", json_string_value(e));
			n++;
		}
	}
	if (p->failed)
		qr_wrap(stdout, "  ", "  ",
		    "Fix the FIX items and run this again before writing to "
		    "Microsoft: the pack claims nothing they contradict.",
		    QR_WIDTH);
	else if (p->unsure)
		qr_wrap(stdout, "  ", "  ",
		    "Run this again when DNS answers: until then the pack "
		    "claims nothing about SPF, DKIM and DMARC.",
		    QR_WIDTH);
	else if (json_array_size(p->gaps) == 0)
		(void)printf("  %sThe pack is complete%s.\n",
		    n > 0 ? "Otherwise, " : "",
		    p->kind == FORM ? ", and SPF, DKIM and DMARC were verified "
		                      "just now"
		                    : "");
}

static void
text_pack(const struct pack *p, const json_t *fields, const json_t *steps,
    const char *reply)
{
	char a[32], b[32];
	size_t i;
	json_t *f;

	(void)printf("outguard delisting pack: %s\n", kinds[p->kind].title);
	(void)printf("  %s\n",
	    p->kind == FORM ? FORM_URL " (\"Sender Support\"): paste each "
	                               "block into the field it names"
	        : p->kind == PORTAL ? PORTAL_URL
	        ": one request per IP "
	        "address, each with one e-mail address"
	                            : "send the mail below to " DELIST_TO);
	(void)printf("  blocks of ");
	for (i = 0; i < p->nproviders; i++)
		(void)printf("%s%s", i ? ", " : "", p->providers[i]);
	(void)printf("%s%s since %s; made %s\n", p->ip ? " from " : "",
	    p->ip ? p->ip : "", qr_iso(p->o.since, a, sizeof(a)),
	    qr_iso(p->o.now, b, sizeof(b)));
	text_todo(p);
	if (json_array_size(steps) > 0) {
		(void)printf("\n--- Steps, for each IP address in turn ---\n");
		json_array_foreach(steps, i, f)
		{
			(void)printf("%zu. ", i + 1);
			put_lines("", "   ", json_string_value(f));
		}
	}
	json_array_foreach(fields, i, f)
	{
		const char *v = qr_jstr(f, "value"), *note = qr_jstr(f, "note");
		const char *gap = qr_jstr(f, "gap");

		(void)printf("\n--- %s ---\n", qr_jstr(f, "name"));
		if (v != NULL)
			put_lines("", "", v);
		if (gap != NULL)
			put_lines("  GAP: ", "       ", gap);
		if (note != NULL)
			put_lines("  note: ", "        ", note);
	}
	if (reply != NULL) {
		(void)printf(
		    "\n=== Follow-up reply, for when Microsoft answers "
		    "\"not qualified for mitigation\" ===\n");
		put_lines("", "", reply);
	}
}

static json_t *
item_json(const struct og_auth_item *it)
{
	json_t *o = json_object();

	qr_json_set(o, "result", json_string(og_auth_res_name(it->res)));
	qr_json_set(o, "ok", json_boolean(it->ok));
	qr_json_set(o, "reason", qr_json_str(it->reason));
	return o;
}

static json_t *
check_json(const struct check *c)
{
	const struct og_auth_report *r = &c->rep;
	json_t *o = json_object(), *a, *e;
	size_t i;

	qr_json_set(o, "domain", qr_json_str(c->domain));
	qr_json_set(o, "checked", json_boolean(c->ran));
	qr_json_set(o, "ok", json_boolean(c->ran && r->ok));
	if (!c->ran)
		return o;
	a = json_array();
	for (i = 0; i < r->nspf && i < OG_AUTH_IPS_MAX; i++) {
		e = item_json(&r->spf[i].item);
		qr_json_set(e, "ip", qr_json_str(r->spf[i].ip));
		(void)json_array_append_new(a, e);
	}
	qr_json_set(o, "spf", a);
	a = json_array();
	for (i = 0; i < r->ndkim && i < OG_AUTH_KEYS_MAX; i++) {
		e = item_json(&r->dkim[i].item);
		qr_json_set(e, "domain", qr_json_str(r->dkim[i].domain));
		qr_json_set(e, "selector", qr_json_str(r->dkim[i].selector));
		(void)json_array_append_new(a, e);
	}
	qr_json_set(o, "dkim", a);
	qr_json_set(o, "dkim_any", item_json(&r->dkim_any));
	e = item_json(&r->dmarc);
	qr_json_set(e, "policy", qr_json_str(r->dmarc_policy));
	qr_json_set(e, "record", qr_json_str(r->dmarc_record));
	qr_json_set(o, "dmarc", e);
	qr_json_set(o, "aligned", item_json(&r->aligned));
	return o;
}

static json_t *
error_json(const struct og_block_owned *b)
{
	json_t *o = json_object();

	qr_json_set(o, "provider", qr_json_str(b->provider));
	qr_json_set(o, "smtp_code", qr_json_str(b->smtp_code));
	qr_json_set(o, "enhanced_code", qr_json_str(b->enhanced_code));
	qr_json_set(o, "provider_code", qr_json_str(b->provider_code));
	qr_json_set(o, "egress_ip", qr_json_str(b->egress_ip));
	qr_json_set(o, "first_seen", qr_json_time(b->first_seen));
	qr_json_set(o, "last_seen", qr_json_time(b->last_seen));
	qr_json_set(o, "count", json_integer(b->count));
	qr_json_set(o, "server_tag", qr_json_str(b->server_tag));
	qr_json_set(o, "server_time", qr_json_str(b->server_time));
	qr_json_set(o, "mx_host", qr_json_str(b->mx_host));
	qr_json_set(o, "reply", qr_json_str(b->reply));
	return o;
}

static int
pack_json(
    struct pack *p, json_t *fields, json_t *steps, const char *reply, int rc)
{
	json_t *o = json_object(), *a;
	size_t i;

	qr_json_set(o, "generated", json_integer(p->o.now));
	qr_json_set(o, "for", json_string(kinds[p->kind].name));
	qr_json_set(o, "since", json_integer(p->o.since));
	a = json_array();
	for (i = 0; i < p->nproviders; i++)
		(void)json_array_append_new(a, json_string(p->providers[i]));
	qr_json_set(o, "providers", a);
	a = json_array();
	for (i = 0; i < p->nips; i++)
		(void)json_array_append_new(a, qr_json_str(p->ips[i]));
	qr_json_set(o, "egress_ips", a);
	qr_json_set(o, "exit", json_integer(rc));
	qr_json_set(o, "complete", json_boolean(rc == EX_OK));
	qr_json_set(o, "fix", json_incref(p->fixes));
	qr_json_set(o, "unverified", json_incref(p->unverified));
	qr_json_set(o, "gaps", json_incref(p->gaps));
	qr_json_set(o, "todo", json_incref(p->todo));
	qr_json_set(o, "notes", json_incref(p->notes));
	qr_json_set(o, "steps", json_incref(steps));
	qr_json_set(o, "fields", json_incref(fields));
	a = json_array();
	for (i = 0; i < p->nerrors; i++)
		(void)json_array_append_new(a, error_json(&p->errors[i]));
	qr_json_set(o, "errors", a);
	a = json_array();
	for (i = 0; i < p->nchecks; i++)
		(void)json_array_append_new(a, check_json(&p->checks[i]));
	qr_json_set(o, "auth", a);
	qr_json_set(o, "follow_up", qr_json_str(reply));
	return qr_json_print(o, stdout);
}

static void
pack_free(struct pack *p)
{
	size_t i;

	og_store_block_stats_free(p->stats, p->nstats);
	for (i = 0; i < p->nerrors; i++)
		og_store_block_clear(&p->errors[i]);
	for (i = 0; i < p->nto; i++)
		og_free(p->to[i]);
	qr_tally_free(&p->from);
	og_store_incidents_free(p->inc, p->ninc);
	og_store_holds_free(p->holds, p->nholds);
	og_free(p->checks);
	json_decref(p->gaps);
	json_decref(p->fixes);
	json_decref(p->unverified);
	json_decref(p->notes);
	json_decref(p->todo);
	og_store_close(p->st);
}

/* nothing - no block of this kind: say which kinds the blocks call for */
static int
nothing(const struct pack *p)
{
	char t[32];
	size_t i;

	og_warnx("no block that calls for %s was recorded since %s%s%s",
	    kinds[p->kind].title, qr_iso(p->o.since, t, sizeof(t)),
	    p->ip ? " from " : "", p->ip ? p->ip : "");
	for (i = 0; i < OG_NELEM(kinds); i++)
		if (p->other[i])
			(void)fprintf(stderr,
			    "note: blocks recorded call for --for %s\n",
			    kinds[i].name);
	return EX_NOINPUT;
}

/* verdict - the worst of what is left to do, as an exit code */
static int
verdict(const struct pack *p)
{
	if (p->failed)
		return EX_DATAERR;
	if (p->unsure)
		return EX_TEMPFAIL;
	if (json_array_size(p->gaps) > 0)
		return EX_CONFIG;
	return EX_OK;
}

static int
parse_args(struct pack *p, int argc, char **argv, char *ip, size_t ipsize)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, QR_OPT_JSON },
		{ "since", required_argument, NULL, QR_OPT_SINCE },
		{ "provider", required_argument, NULL, QR_OPT_PROVIDER },
		{ "for", required_argument, NULL, 'F' },
		{ "ip", required_argument, NULL, 'A' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long secs;
	size_t k;
	int ch, r;

	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((r = qr_opt_common(&p->o, ch, optarg)) < 0)
			return -1;
		if (r == 1)
			continue;
		if (ch == 'A' && qr_ip_norm(optarg, ip, ipsize) == 0) {
			p->ip = ip;
			continue;
		}
		if (ch == 'T' && og_parse_uint(optarg, 1, 300, &secs) == 0) {
			p->timeout_ms = (int)secs * 1000;
			continue;
		}
		if (ch != 'F')
			return -1;
		for (k = 0; k < OG_NELEM(kinds); k++)
			if (strcmp(optarg, kinds[k].name) == 0)
				break;
		if (k == OG_NELEM(kinds))
			return -1;
		p->kind = (enum kind)k;
	}
	return optind == argc ? 0 : -1;
}

int
qr_evidence(struct qr *qr, int argc, char **argv)
{
	struct og_strbuf reply;
	struct pack p;
	json_t *fields = NULL, *steps = NULL;
	char ip[64];
	int rc;

	memset(&p, 0, sizeof(p));
	p.qr = qr;
	p.conf = qr->conf;
	qr_opts_init(&p.o, EVIDENCE_SINCE);
	if (parse_args(&p, argc, argv, ip, sizeof(ip)) < 0) {
		(void)fprintf(stderr,
		    "usage: outguard-queue-report evidence [--json] "
		    "[--for outlook-form|delist-portal|delist-mail]\n"
		    "       [--ip IP] [--since TIME] [--provider NAME] "
		    "[--timeout SECONDS]\n");
		return EX_USAGE;
	}
	p.gaps = json_array();
	p.fixes = json_array();
	p.unverified = json_array();
	p.notes = json_array();
	p.todo = json_array();
	og_strbuf_init(&reply, 0);
	if ((p.st = qr_store_open(qr)) == NULL || load(&p) < 0) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (p.nstats == 0) {
		rc = nothing(&p);
		goto out;
	}
	fields = json_array();
	steps = json_array();
	if (p.kind == FORM) {
		check_domains(&p);
		form_fields(&p, fields);
		follow_up(&p, &reply);
	} else if (p.kind == PORTAL)
		portal_fields(&p, fields, steps);
	else
		mail_fields(&p, fields);
	rc = verdict(&p);
	if (p.o.json) {
		if (pack_json(&p, fields, steps,
		        reply.len ? og_strbuf_str(&reply) : NULL, rc) < 0)
			rc = EX_IOERR;
	} else
		text_pack(&p, fields, steps,
		    reply.len ? og_strbuf_str(&reply) : NULL);
out:
	json_decref(fields);
	json_decref(steps);
	og_strbuf_release(&reply);
	pack_free(&p);
	return qr_finish(rc);
}

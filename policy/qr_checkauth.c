/*
 * qr_checkauth.c - "outguard-queue-report check-auth": SPF, DKIM and
 *	DMARC of the sending domains, checked live in DNS (lib/auth.c)
 * DESCRIPTION: the domains named on the command line, else the sender
 *	domains the store saw in the last 7 days plus the dkim_domain
 *	entries (at most QR_AUTH_DOMAINS_MAX, sorted). Text output is one
 *	block per domain, one line per item, wrapped to 80 columns; --json
 *	prints {"domains": [...]} with keys in a fixed order (see
 *	outguard-queue-report(1)). Exit 0 when every domain passes every
 *	check, 1 when some check does not pass (a DNS failure included),
 *	64 usage, 78 inconsistent DKIM settings, 69 no resolver or store.
 */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "qr.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

#define QR_AUTH_DOMAINS_MAX 100
#define QR_AUTH_WINDOW (7 * 86400) /* sender domains seen this recently */
#define COL_LABEL 20 /* "  PASS  " + label + " ": reasons start at 29 */
#define COL_REASON 29
#define COLS 80

struct domains {
	char **v;
	size_t n;
	int full; /* QR_AUTH_DOMAINS_MAX reached */
};

/*
 * domains_add - normalise and add: 1 added, 0 a repeat, -1 not a domain
 * name, -2 QR_AUTH_DOMAINS_MAX reached (d->full set)
 */
static int
domains_add(struct domains *d, const char *dom, size_t len)
{
	char *norm;
	size_t i;

	if ((norm = og_domain_normalize(dom, len)) == NULL ||
	    !og_domain_valid(norm)) {
		og_free(norm);
		return -1;
	}
	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i], norm) == 0) {
			og_free(norm);
			return 0;
		}
	if (d->n == QR_AUTH_DOMAINS_MAX) {
		d->full = 1;
		og_free(norm);
		return -2;
	}
	d->v = og_reallocarray(d->v, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = norm;
	return 1;
}

static void
domains_free(struct domains *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		og_free(d->v[i]);
	og_free(d->v);
	memset(d, 0, sizeof(*d));
}

static int
sender_domain(const struct og_msgrec *m, void *arg)
{
	struct domains *d = arg;
	const char *at;

	if (m->sender != NULL && (at = strrchr(m->sender, '@')) != NULL)
		(void)domains_add(d, at + 1, strlen(at + 1));
	return d->full; /* stop the scan at the cap */
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * default_domains - the store's recent sender domains and dkim_domain.
 * A store that cannot be read leaves dkim_domain (with a warning): the
 * admin running this unprivileged may not read the daemon's store.
 */
static int
default_domains(struct qr *qr, struct domains *d)
{
	const char *spec = og_conf_str(qr->conf, "store");
	const char *const *dk;
	struct og_strbuf err;
	struct og_store *st;
	int64_t now = og_now();
	size_t i, n = 0;
	int rc = -1;

	og_strbuf_init(&err, 0);
	if ((st = og_store_open(spec, &err)) == NULL)
		og_warnx("store %s: %s", spec, og_strbuf_str(&err));
	og_strbuf_release(&err);
	if (st != NULL) {
		rc = og_store_messages_scan(st, NULL, now - QR_AUTH_WINDOW,
		    INT64_MAX, sender_domain, d);
		og_store_close(st);
	}
	if (rc < 0)
		og_warnx("check-auth: no sender domains from the store; "
		         "checking dkim_domain only");
	dk = og_conf_list(qr->conf, "dkim_domain", &n);
	for (i = 0; dk != NULL && i < n; i++)
		(void)domains_add(d, dk[i], strlen(dk[i]));
	if (d->full)
		og_warnx("check-auth: only the first %d domains are checked; "
		         "name the others",
		    QR_AUTH_DOMAINS_MAX);
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp_str);
	return d->n == 0 && rc < 0 ? EX_UNAVAILABLE : EX_OK;
}

/* dkim_conf_ok - the DKIM lists pair up (see outguard.conf(5)) */
static int
dkim_conf_ok(const struct og_conf *cf)
{
	size_t nd = 0, ns = 0, nk = 0;

	if (og_conf_list(cf, "dkim_domain", &nd) == NULL)
		nd = 0;
	if (og_conf_list(cf, "dkim_selector", &ns) == NULL)
		ns = 0;
	if (og_conf_list(cf, "dkim_key_file", &nk) == NULL)
		nk = 0;
	if (nk != ns || (ns > 0 && nd == 0) || (nd > 1 && nd != ns)) {
		og_warnx("%s: dkim_selector (%zu), dkim_key_file (%zu) and "
		         "dkim_domain (%zu: one, or one per selector) do not "
		         "pair up",
		    og_conf_path(cf), ns, nk, nd);
		return -1;
	}
	return 0;
}

/* ---- text ---- */

/* wrap - text from column COL_REASON, wrapped at COLS, then a newline */
static void
wrap(FILE *fp, const char *s)
{
	const int width = COLS - COL_REASON;
	int len, col = 0;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		len = (int)strcspn(s, " ");
		if (len == 0)
			break;
		if (col > 0 && col + 1 + len > width) {
			(void)fprintf(fp, "\n%*s", COL_REASON, "");
			col = 0;
		}
		while (len > width) { /* a word wider than the column */
			(void)fprintf(
			    fp, "%.*s\n%*s", width, s, COL_REASON, "");
			s += width;
			len -= width;
		}
		(void)fprintf(fp, "%s%.*s", col > 0 ? " " : "", len, s);
		col += (col > 0) + len;
		s += len;
	}
	(void)fputc('\n', fp);
}

static void
text_item(
    FILE *fp, const char *label, const char *arg, const struct og_auth_item *it)
{
	char lab[128], reason[OG_AUTH_REASON_MAX + 16];

	(void)snprintf(
	    lab, sizeof(lab), "%s%s%s", label, arg ? " " : "", arg ? arg : "");
	if ((int)strlen(lab) > COL_LABEL)
		(void)fprintf(fp, "  %-4s  %s\n%*s", it->ok ? "PASS" : "FAIL",
		    lab, COL_REASON, "");
	else
		(void)fprintf(fp, "  %-4s  %-*s ", it->ok ? "PASS" : "FAIL",
		    COL_LABEL, lab);
	(void)snprintf(reason, sizeof(reason), "%s%s%s",
	    it->res == OG_AUTH_PASS ? "" : og_auth_res_name(it->res),
	    it->res == OG_AUTH_PASS ? "" : ": ", it->reason);
	wrap(fp, reason);
}

static void
print_text(FILE *fp, const struct og_auth_report *r)
{
	size_t i, nfail = 0, nitems = 0;

	if (strcmp(r->domain, r->org_domain) != 0)
		(void)fprintf(fp, "%s (organisational domain %s)\n", r->domain,
		    r->org_domain);
	else
		(void)fprintf(fp, "%s\n", r->domain);
	for (i = 0; i < r->nspf; i++, nitems++) {
		text_item(fp, "spf", r->spf[i].ip[0] ? r->spf[i].ip : "-",
		    &r->spf[i].item);
		nfail += !r->spf[i].item.ok;
	}
	for (i = 0; i < r->ndkim; i++)
		text_item(fp, "dkim", r->dkim[i].selector, &r->dkim[i].item);
	text_item(fp, "dkim", NULL, &r->dkim_any);
	text_item(fp, "dmarc", NULL, &r->dmarc);
	text_item(fp, "aligned", NULL, &r->aligned);
	nitems += 3;
	nfail += !r->dkim_any.ok + !r->dmarc.ok + !r->aligned.ok;
	if (r->ok)
		(void)fprintf(fp, "  => ok: SPF, DKIM and DMARC in order\n\n");
	else
		(void)fprintf(fp, "  => not ok: %zu of %zu checks fail\n\n",
		    nfail, nitems);
}

/* ---- JSON ---- */

/* json_str - v as a JSON string, bytes that are not UTF-8 as '?' */
static json_t *
json_str(const char *v)
{
	json_t *j;
	char *copy, *p;

	if ((j = json_string(v)) != NULL)
		return j;
	copy = og_strdup(v);
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	og_free(copy);
	return j ? j : json_null();
}

/* json_item - {"result":..,"ok":..,"reason":..}, after the keys in o */
static json_t *
json_item(json_t *o, const struct og_auth_item *it)
{
	(void)json_object_set_new(
	    o, "result", json_string(og_auth_res_name(it->res)));
	(void)json_object_set_new(o, "ok", json_boolean(it->ok));
	(void)json_object_set_new(o, "reason", json_str(it->reason));
	return o;
}

static json_t *
json_report(const struct og_auth_report *r)
{
	json_t *o = json_object(), *a, *x;
	size_t i;

	(void)json_object_set_new(o, "domain", json_str(r->domain));
	(void)json_object_set_new(o, "org_domain", json_str(r->org_domain));
	(void)json_object_set_new(o, "ok", json_boolean(r->ok));
	a = json_array();
	for (i = 0; i < r->nspf; i++) {
		x = json_object();
		(void)json_object_set_new(x, "ip", json_str(r->spf[i].ip));
		(void)json_array_append_new(a, json_item(x, &r->spf[i].item));
	}
	(void)json_object_set_new(o, "spf", a);
	a = json_array();
	for (i = 0; i < r->ndkim; i++) {
		x = json_object();
		(void)json_object_set_new(
		    x, "domain", json_str(r->dkim[i].domain));
		(void)json_object_set_new(
		    x, "selector", json_str(r->dkim[i].selector));
		(void)json_array_append_new(a, json_item(x, &r->dkim[i].item));
	}
	(void)json_object_set_new(o, "dkim", a);
	(void)json_object_set_new(
	    o, "dkim_any", json_item(json_object(), &r->dkim_any));
	x = json_item(json_object(), &r->dmarc);
	(void)json_object_set_new(x, "record",
	    r->dmarc_record[0] ? json_str(r->dmarc_record) : json_null());
	(void)json_object_set_new(x, "policy",
	    r->dmarc_policy[0] ? json_str(r->dmarc_policy) : json_null());
	(void)json_object_set_new(o, "dmarc", x);
	(void)json_object_set_new(
	    o, "aligned", json_item(json_object(), &r->aligned));
	return o;
}

static int
usage(void)
{
	(void)fprintf(stderr,
	    "usage: outguard-queue-report check-auth "
	    "[--json] [--timeout SECONDS] [DOMAIN...]\n");
	return EX_USAGE;
}

/* check_all - every domain into stdout; 0 all ok, 1 some not */
static int
check_all(struct qr *qr, struct og_dns *dns, const struct domains *d, int json)
{
	struct og_auth_report *r = og_malloc(sizeof(*r));
	struct og_auth_conf ac;
	json_t *top = NULL, *arr = NULL;
	int status = EX_OK;
	size_t i;
	char *s;

	og_auth_conf_from(qr->conf, &ac);
	if (json) {
		top = json_object();
		arr = json_array();
		(void)json_object_set(top, "domains", arr);
	}
	for (i = 0; i < d->n; i++) {
		if (og_auth_check(dns, &ac, d->v[i], r) < 0) {
			status = EX_SOFTWARE;
			continue;
		}
		if (!r->ok && status == EX_OK)
			status = 1;
		if (json)
			(void)json_array_append_new(arr, json_report(r));
		else
			print_text(stdout, r);
	}
	if (json) {
		s = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s != NULL) {
			(void)puts(s);
			free(s);
		}
		json_decref(arr);
		json_decref(top);
	}
	og_free(r);
	return status;
}

int
qr_check_auth(struct qr *qr, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long secs = OG_DNS_TIMEOUT_MS / 1000;
	struct domains d = { NULL, 0, 0 };
	struct og_strbuf err;
	struct og_dns *dns;
	int ch, i, rc, json = 0, status;

	optind = 0; /* GNU: rescan from argv[1], fresh state */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 't':
			if (og_parse_uint(optarg, 1, 300, &secs) < 0) {
				og_warnx("--timeout: 1 to 300 seconds");
				return usage();
			}
			break;
		default:
			return usage();
		}
	}
	if (dkim_conf_ok(qr->conf) < 0)
		return EX_CONFIG;
	for (i = optind; i < argc; i++)
		if ((rc = domains_add(&d, argv[i], strlen(argv[i]))) < 0) {
			if (rc == -1)
				og_warnx("check-auth: \"%.64s\" is not a "
				         "domain name",
				    argv[i]);
			else
				og_warnx("check-auth: at most %d domains at "
				         "a time",
				    QR_AUTH_DOMAINS_MAX);
			domains_free(&d);
			return usage();
		}
	if (optind >= argc && (status = default_domains(qr, &d)) != EX_OK) {
		domains_free(&d);
		return status;
	}
	if (d.n == 0) {
		og_warnx("check-auth: no sender domain in the store within 7 "
		         "days and no dkim_domain: name a DOMAIN");
		domains_free(&d);
		return EX_USAGE;
	}
	og_strbuf_init(&err, 0);
	dns = og_dns_open(
	    og_conf_str(qr->conf, "dns_resolver"), (int)secs * 1000, &err);
	if (dns == NULL) {
		og_warnx("check-auth: %s", og_strbuf_str(&err));
		og_strbuf_release(&err);
		domains_free(&d);
		return EX_UNAVAILABLE;
	}
	og_strbuf_release(&err);
	status = check_all(qr, dns, &d, json);
	og_dns_close(dns);
	domains_free(&d);
	if (fflush(stdout) != 0)
		status = EX_IOERR;
	return status;
}

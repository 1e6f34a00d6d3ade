/*
 * milter.c - outguard-milter: the sender identity and unsubscribe checks
 *	of outbound mail, for Postfix (smtpd_milters, non_smtpd_milters)
 *	and Sendmail (INPUT_MAIL_FILTER)
 * DESCRIPTION: start-up order: configuration snapshot (tables, keyword
 *	list), log, socket (as root; unix sockets mode 0660, group postfix
 *	when that group exists), daemon and pid file, privilege drop to
 *	run_user, then smfi_main() in its own thread. The main thread
 *	waits for signals: SIGHUP builds a new snapshot and swaps it in;
 *	SIGTERM and SIGINT call smfi_stop(). Each connection pins the
 *	snapshot current when it started and releases it at close, so a
 *	reload never changes the rules under a message in progress.
 *	The callbacks are thin: they collect bounded copies of what the
 *	MTA sends into struct og_conn, and at end-of-message the pure
 *	functions of identity.c and unsub.c decide; decide() turns their
 *	verdicts and the configured actions into one outcome, and eom
 *	applies it with smfi_* calls. This file holds every libmilter call.
 *	XXX libmilter's own signal thread also waits for SIGHUP, and stops
 *	the milter when it gets one. The kernel hands a process signal to
 *	the main thread when that thread is waiting for it, which ours
 *	nearly always is (it only leaves sigwait() to flag the reload); a
 *	SIGHUP that lands in the microseconds between two sigwait() calls
 *	may still stop the milter, and the service manager restarts it.
 * DIAGNOSTICS: configuration and start-up errors are fatal (sysexits.h
 *	codes, 78 for the configuration). Trouble with one message is
 *	logged and answered with a temporary failure, never an exit.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "dkimsign.h"
#include "dns.h"
#include "identity.h"
#include "log.h"
#include "milter.h"
#include "preflight.h"
#include "strbuf.h"
#include "table.h"
#include "unsub.h"
#include "util.h"

#define NOTIFY_LOCAL "outguard" /* policy/watcher.c NOTIFY_SENDER */
#define REPLY_MAX 512

/* the actions, weakest first: the strongest one of a message wins */
enum action { ACT_ACCEPT, ACT_TAG, ACT_QUARANTINE, ACT_TEMPFAIL, ACT_REJECT };
static const char *const action_names[] = { "accept", "tag", "quarantine",
	"tempfail", "reject" };

struct reply {
	char xcode[16]; /* "5.7.1" */
	char text[REPLY_MAX]; /* '%' doubled, no CR or LF */
};

struct og_snap {
	atomic_uint refs;
	struct og_conf *conf;
	struct og_unsub_keywords *kw;
	struct og_identity_policy idp;
	char **local; /* lowercased local_domains */
	const struct og_table *bulk_senders;
	enum action id_action, un_action, pf_action;
	int id_dry, un_dry, pf_dry;
	int un_off, pf_off; /* the check does not run (identity: idp.off) */
	struct reply id_reply, un_reply, pf_reply;
	struct og_dkim_keys *keys; /* empty: signing off */
	const char *const *sign_headers; /* NULL: the default set */
	size_t nsign;
	struct og_dns *dns; /* for the preflight */
	struct og_preflight_cache *pfc;
	struct og_auth_conf egress; /* egress_ips, borrowed from conf */
	unsigned long bulk_min;
	size_t body_max;
	char host[256];
	char notify_sender[300];
};

/* the only mutable globals: the current snapshot and its lock */
static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct og_snap *snap_current;

static enum action
parse_action(const char *s)
{
	size_t i;

	if (strcmp(s, "off") == 0)
		return ACT_ACCEPT; /* and the check does not run */
	for (i = 0; i < OG_NELEM(action_names); i++)
		if (strcmp(s, action_names[i]) == 0)
			return (enum action)i;
	return ACT_REJECT; /* the schema's validator allows no other word */
}

/*
 * parse_reply - "5.7.1 text" into the enhanced code and the text that
 * smfi_setreply() takes: '%' doubled (libmilter formats it), control
 * bytes dropped. Without a leading code the text gets 5.7.1.
 */
static void
parse_reply(const char *s, struct reply *r)
{
	size_t n = strspn(s, "0123456789."), o = 0;

	if (n >= 5 && n < sizeof(r->xcode) && s[0] == '5' && s[1] == '.' &&
	    (s[n] == ' ' || s[n] == '\0')) {
		memcpy(r->xcode, s, n);
		r->xcode[n] = '\0';
		s += n;
		s += strspn(s, " ");
	} else
		(void)og_strlcpy(r->xcode, "5.7.1", sizeof(r->xcode));
	for (; *s != '\0' && o + 3 < sizeof(r->text); s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			continue;
		if (*s == '%')
			r->text[o++] = '%';
		r->text[o++] = *s;
	}
	r->text[o] = '\0';
}

static void
snap_free(struct og_snap *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->local != NULL && i < s->idp.nlocal; i++)
		og_free(s->local[i]);
	og_free(s->local);
	og_unsub_keywords_free(s->kw);
	og_dkim_keys_free(s->keys);
	og_preflight_cache_free(s->pfc);
	if (s->dns != NULL)
		og_dns_close(s->dns);
	og_conf_free(s->conf);
	og_free(s);
}

/* snap_build - a new snapshot from path, or NULL with the errors in err */
static struct og_snap *
snap_build(const char *path, struct og_strbuf *err)
{
	struct og_snap *s = og_calloc(1, sizeof(*s));
	const char *const *dom;
	size_t i, n = 0;

	atomic_init(&s->refs, 1);
	if ((s->conf = og_conf_load(path, err)) == NULL) {
		og_free(s);
		return NULL;
	}
	s->kw =
	    og_unsub_keywords_load(og_conf_str(s->conf, "unsub_keywords"), err);
	if (s->kw == NULL) {
		(void)og_strbuf_addf(err,
		    "%sunsub_keywords: the keyword list "
		    "cannot be loaded\n",
		    err->len > 0 && err->data[err->len - 1] != '\n' ? "\n"
		                                                    : "");
		snap_free(s);
		return NULL;
	}
	dom = og_conf_list(s->conf, "local_domains", &n);
	s->local = og_calloc(n + 1, sizeof(*s->local));
	for (i = 0; i < n; i++)
		s->local[i] = og_lowercase(og_strdup(dom[i]));
	s->idp.local_domains = (const char *const *)s->local;
	s->idp.nlocal = n;
	s->idp.login_maps = og_conf_table(s->conf, "sender_login_maps");
	s->idp.internal_hosts = og_conf_table(s->conf, "internal_hosts");
	(void)og_conf_hostname(s->conf, s->host, sizeof(s->host));
	(void)snprintf(s->notify_sender, sizeof(s->notify_sender), "%s@%s",
	    NOTIFY_LOCAL, s->host);
	s->idp.notify_sender = s->notify_sender;
	s->bulk_senders = og_conf_table(s->conf, "bulk_senders");
	s->id_action = parse_action(og_conf_str(s->conf, "identity_action"));
	s->un_action = parse_action(og_conf_str(s->conf, "unsubscribe_action"));
	s->idp.off =
	    strcmp(og_conf_str(s->conf, "identity_action"), "off") == 0;
	s->un_off =
	    strcmp(og_conf_str(s->conf, "unsubscribe_action"), "off") == 0;
	s->id_dry = og_conf_bool(s->conf, "dry_run") ||
	    og_conf_bool(s->conf, "identity_dry_run");
	s->un_dry = og_conf_bool(s->conf, "dry_run") ||
	    og_conf_bool(s->conf, "unsubscribe_dry_run");
	parse_reply(og_conf_str(s->conf, "identity_reject_text"), &s->id_reply);
	parse_reply(
	    og_conf_str(s->conf, "unsubscribe_reject_text"), &s->un_reply);
	s->bulk_min =
	    (unsigned long)og_conf_uint(s->conf, "bulk_min_recipients");
	s->body_max = (size_t)og_conf_uint(s->conf, "unsub_body_max_bytes");
	if ((s->keys = og_dkim_keys_load(s->conf, err)) == NULL) {
		snap_free(s);
		return NULL;
	}
	s->sign_headers = og_conf_list(s->conf, "dkim_sign_headers", &s->nsign);
	if (s->nsign == 0)
		s->sign_headers = NULL;
	og_auth_conf_from(s->conf, &s->egress);
	s->pf_action = parse_action(og_conf_str(s->conf, "preflight_action"));
	s->pf_off =
	    strcmp(og_conf_str(s->conf, "preflight_action"), "off") == 0;
	parse_reply("5.7.1 The From domain would fail DMARC at the receiver: "
	            "neither SPF nor DKIM aligns",
	    &s->pf_reply);
	s->pf_dry = og_conf_bool(s->conf, "dry_run") ||
	    og_conf_bool(s->conf, "preflight_dry_run");
	if (s->egress.negress > 0 && !s->pf_off) {
		s->dns =
		    og_dns_open(og_conf_str(s->conf, "dns_resolver"), 0, err);
		if (s->dns == NULL) {
			snap_free(s);
			return NULL;
		}
		s->pfc = og_preflight_cache_new();
	}
	return s;
}

static struct og_snap *
snap_get(void)
{
	struct og_snap *s;

	if (pthread_mutex_lock(&snap_lock) != 0)
		og_panic("snap_get: mutex");
	s = snap_current;
	atomic_fetch_add(&s->refs, 1);
	(void)pthread_mutex_unlock(&snap_lock);
	return s;
}

static void
snap_put(struct og_snap *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

/* snap_swap - make s current; the old one lives on while pinned */
static void
snap_swap(struct og_snap *s)
{
	struct og_snap *old;

	if (pthread_mutex_lock(&snap_lock) != 0)
		og_panic("snap_swap: mutex");
	old = snap_current;
	snap_current = s;
	(void)pthread_mutex_unlock(&snap_lock);
	snap_put(old);
}

/*
 * The message: bounded collection.
 */

/*
 * msg_zero - zero a message but for its header slots from nhdrs on:
 * nothing reads a slot before msg_header() fills it and counts it, and
 * clearing the 16 KB array for every message and every connection
 * showed in the profile (a tenth of a 4 KB message's cost)
 */
static void
msg_zero(struct og_msg *m)
{
	memset(m, 0, offsetof(struct og_msg, hdrs));
	memset(m->hdrs, 0, m->nhdrs * sizeof(m->hdrs[0]));
	memset(&m->nhdrs, 0, sizeof(*m) - offsetof(struct og_msg, nhdrs));
}

static void
msg_reset(struct og_msg *m)
{
	size_t i;

	for (i = 0; i < m->nhdrs; i++) {
		og_free((void *)(uintptr_t)m->hdrs[i].name);
		og_free((void *)(uintptr_t)m->hdrs[i].value);
	}
	for (i = 0; i < OG_IDENTITY_FROM_KEEP; i++)
		m->from[i] = og_free(m->from[i]);
	og_dkim_sign_free(m->dkim);
	og_free(m->envelope);
	og_free(m->login);
	og_strbuf_release(&m->text);
	msg_zero(m);
}

static char *
dup_capped(const char *s, size_t cap)
{
	return s != NULL ? og_strndup(s, strnlen(s, cap)) : NULL;
}

/* msg_header - count and (under the caps) keep one header */
static void
msg_header(struct og_msg *m, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);

	if (og_strcasecmp_ascii(name, "From") == 0) {
		/* one byte over the parser's cap makes it "from-syntax" */
		if (m->nfrom < OG_IDENTITY_FROM_KEEP)
			m->from[m->nfrom] =
			    dup_capped(value, OG_ADDR_HEADER_MAX + 1);
		m->nfrom++;
	} else if (og_strcasecmp_ascii(name, OG_MILTER_RESULT_HDR) == 0)
		m->nresult++;
	if (m->text.cap == 0)
		og_strbuf_init(&m->text, OG_MILTER_HDR_BYTES);
	if (m->nhdrs == OG_MILTER_HDRS_MAX ||
	    m->text.len + nlen + vlen + 4 > OG_MILTER_HDR_BYTES) {
		m->hdrs_capped = 1;
		return;
	}
	/* the cap check above leaves room for all four */
	(void)og_strbuf_addn(&m->text, name, nlen);
	(void)og_strbuf_addn(&m->text, ": ", 2);
	(void)og_strbuf_addn(&m->text, value, vlen);
	(void)og_strbuf_addn(&m->text, "\r\n", 2);
	m->hdrs[m->nhdrs].name = og_strndup(name, nlen);
	m->hdrs[m->nhdrs].value = og_strndup(value, vlen);
	m->nhdrs++;
}

/* is_bulk_sender - the envelope sender is in bulk_senders */
static int
is_bulk_sender(const struct og_snap *s, const char *envelope)
{
	struct og_addr a;
	const char *why, *value;
	char *addr;
	int r = OG_NOTFOUND;

	if (s->bulk_senders == NULL || envelope == NULL ||
	    og_addr_parse_path(envelope, strlen(envelope), &a, &why) < 0)
		return 0;
	if (a.domain != NULL && (addr = og_addr_format(&a)) != NULL) {
		r = og_table_lookup_addr(s->bulk_senders, addr, &value);
		og_free(addr);
	}
	og_addr_clear(&a);
	return r == OG_FOUND;
}

/*
 * sign_begin - at the end of the headers: sign mail from a login, an
 * internal host or a local process whose one From address has a key;
 * the reason in m->dkim_why otherwise
 */
static void
sign_begin(const struct og_snap *s, const char *client, struct og_msg *m)
{
	struct og_identity_msg im;
	enum og_identity_origin org;
	struct og_addr from;
	const char *why;
	char *addr;
	size_t i;

	memset(&im, 0, sizeof(im));
	im.login = m->login;
	im.client_addr = client;
	if (m->nfrom == 1 &&
	    og_identity_parse_from(
	        m->from[0], strlen(m->from[0]), &from, &why) == 0) {
		if (from.domain != NULL)
			(void)og_strlcpy(m->from_domain, from.domain,
			    sizeof(m->from_domain));
		addr = from.domain != NULL ? og_addr_format(&from) : NULL;
		og_addr_clear(&from);
	} else
		addr = NULL;
	if (og_dkim_keys_count(s->keys) == 0) {
		og_free(addr);
		m->dkim_why = "no keys configured";
		return;
	}
	if (og_identity_origin(&s->idp, &im, &org) < 0)
		m->dkim_why = "internal_hosts lookup failed";
	else if (org == OG_ORIGIN_EXTERNAL)
		m->dkim_why = "not from a login, an internal host or a local "
		              "process";
	else if (addr == NULL)
		m->dkim_why = "not exactly one From address";
	else if (m->hdrs_capped)
		m->dkim_why = "too many headers to sign";
	else if ((m->dkim = og_dkim_sign_begin(s->keys, addr, s->sign_headers,
	              s->nsign, &m->dkim_why)) != NULL) {
		struct og_dkim_keyref ref;

		if (og_dkim_keys_find(s->keys, addr, &ref, 1) == 1)
			(void)og_strlcpy(
			    m->dkim_d, ref.domain, sizeof(m->dkim_d));
		for (i = 0; i < m->nhdrs && m->dkim != NULL; i++)
			if (og_dkim_sign_header(m->dkim, m->hdrs[i].name,
			        m->hdrs[i].value) < 0 ||
			    (i + 1 == m->nhdrs &&
			        og_dkim_sign_eoh(m->dkim) < 0)) {
				m->dkim = (og_dkim_sign_free(m->dkim), NULL);
				m->dkim_why =
				    "a header field could not be signed";
			}
	}
	og_free(addr);
}

/* msg_eoh - the headers are in: decide whether the body is needed */
static void
msg_eoh(const struct og_snap *s, struct og_msg *m)
{
	if (m->text.cap == 0)
		og_strbuf_init(&m->text, OG_MILTER_HDR_BYTES);
	m->hdr_bytes = m->text.len;
	m->bulk_by_caller =
	    m->nrcpt > s->bulk_min || is_bulk_sender(s, m->envelope);
	m->collect = !s->un_off &&
	    (m->bulk_by_caller || og_unsub_is_bulk(m->hdrs, m->nhdrs));
	if (m->collect) {
		/* the body cap on top of the kept headers, one byte over */
		m->text.cap = m->hdr_bytes + 2 + s->body_max + 1;
		(void)og_strbuf_adds(&m->text, "\r\n");
	}
}

/* msg_body - keep body bytes up to the cap; 1 when no more are wanted */
static int
msg_body(struct og_msg *m, const unsigned char *p, size_t len)
{
	size_t room;

	if (m->dkim != NULL && og_dkim_sign_body(m->dkim, p, len) < 0) {
		m->dkim = (og_dkim_sign_free(m->dkim), NULL);
		m->dkim_why = "the body could not be signed";
	}
	if (!m->collect)
		return m->dkim == NULL;
	room = m->text.cap - m->text.len;
	if (len > room)
		len = room;
	(void)og_strbuf_addn(&m->text, p, len);
	return m->text.len == m->text.cap && m->dkim == NULL;
}

/*
 * The decision: pure functions of the snapshot and the message.
 */

struct outcome {
	struct og_identity_verdict id;
	enum og_unsub_res un;
	char un_reason[OG_UNSUB_REASON_MAX];
	enum action act; /* what eom does */
	const struct reply *reply; /* for reject and tempfail */
	const char *why; /* the check that chose act, for quarantine */
	int tag; /* add X-Outguard-Result */
	char header[1024]; /* its value */
	struct og_preflight pf;
	char *sigs[OG_DKIM_PER_MSG_MAX]; /* DKIM-Signature values to add */
	size_t nsig;
};

/* effective - the action a check's result calls for, dry runs aside */
static enum action
effective(enum action configured, int failed, int dry)
{
	return failed && !dry ? configured : ACT_ACCEPT;
}

/* add_envelope - envelope=<a@b> whether or not the MTA sent brackets */
static void
add_envelope(struct og_strbuf *l, const char *e)
{
	int br = e != NULL && e[0] == '<';

	og_kv_addf(
	    l, "envelope", "%s%s%s", br ? "" : "<", e ? e : "", br ? "" : ">");
}

static void
log_identity(const struct og_snap *s, const struct og_conn *c, const char *qid,
    const struct outcome *o)
{
	const struct og_identity_verdict *v = &o->id;
	const struct og_msg *m = &c->msg;
	struct og_strbuf l;
	int failed = v->res == OG_IDENTITY_FAIL;

	if (v->res == OG_IDENTITY_SKIP && og_log_get_verbose() == 0)
		return;
	og_strbuf_init(&l, 4096);
	og_kv_begin(&l, qid);
	og_kv_add(&l, "check", "identity");
	og_kv_add(&l, "result", og_identity_res_name(v->res));
	if (v->reason[0] != '\0')
		og_kv_add(&l, "reason", v->reason);
	og_kv_add(&l, "origin", og_identity_origin_name(v->origin));
	if (m->login != NULL && m->login[0] != '\0')
		og_kv_add(&l, "login", m->login);
	if (c->client[0] != '\0')
		og_kv_add(&l, "client", c->client);
	add_envelope(&l, m->envelope);
	if (v->from[0] != '\0')
		og_kv_addf(&l, "from", "<%s>", v->from);
	if (failed || v->res == OG_IDENTITY_ERROR)
		og_kv_addf(&l, "action", "%s%s", s->id_dry ? "would-" : "",
		    action_names[v->res == OG_IDENTITY_ERROR ? ACT_TEMPFAIL
		                                             : s->id_action]);
	og_kv_log(&l);
	og_strbuf_release(&l);
}

static void
log_unsub(const struct og_snap *s, const struct og_conn *c, const char *qid,
    const struct outcome *o)
{
	struct og_strbuf l;

	if (s->un_off ||
	    (o->un == OG_UNSUB_NOT_BULK && og_log_get_verbose() == 0))
		return;
	og_strbuf_init(&l, 4096);
	og_kv_begin(&l, qid);
	og_kv_add(&l, "check", "unsubscribe");
	og_kv_add(&l, "result", og_unsub_res_name(o->un));
	if (o->un_reason[0] != '\0' && o->un != OG_UNSUB_NOT_BULK)
		og_kv_add(&l, "reason", o->un_reason);
	og_kv_addf(&l, "recipients", "%lu", c->msg.nrcpt);
	add_envelope(&l, c->msg.envelope);
	if (o->un == OG_UNSUB_FAIL)
		og_kv_addf(&l, "action", "%s%s", s->un_dry ? "would-" : "",
		    action_names[s->un_action]);
	og_kv_log(&l);
	og_strbuf_release(&l);
}

/* sign_end - finish the signatures of m into o, one log line either way */
static void
sign_end(struct og_msg *m, const char *qid, struct outcome *o)
{
	struct og_strbuf l, desc;
	const char *why = m->dkim_why, *skipped = og_dkim_sign_skipped(m->dkim);

	og_strbuf_init(&desc, 1024);
	if (m->dkim != NULL &&
	    og_dkim_sign_end(m->dkim, o->sigs, &o->nsig, &desc, &why) < 0) {
		o->nsig = 0;
		m->dkim_d[0] = '\0';
	}
	if (o->nsig == 0)
		m->dkim_d[0] = '\0';
	og_dkim_sign_free(m->dkim);
	m->dkim = NULL;
	og_strbuf_init(&l, 2048);
	og_kv_begin(&l, qid);
	og_kv_add(&l, "check", "dkim");
	if (o->nsig > 0) {
		og_kv_add(&l, "result", "signed");
		og_kv_add(&l, "signatures", og_strbuf_str(&desc));
		if (skipped != NULL)
			og_kv_add(&l, "skipped", skipped);
	} else {
		og_kv_add(&l, "result", "unsigned");
		og_kv_add(&l, "reason", why ? why : "unknown");
	}
	if (o->nsig > 0 || og_log_get_verbose() > 0 ||
	    strcmp(why ? why : "", "no keys configured") != 0)
		og_kv_log(&l);
	og_strbuf_release(&l);
	og_strbuf_release(&desc);
}

/* preflight - the SPF/DMARC prediction of an outbound message */
static void
preflight(const struct og_snap *s, const struct og_conn *c, const char *qid,
    struct outcome *o)
{
	const struct og_msg *m = &c->msg;
	struct og_addr env;
	struct og_strbuf l;
	const char *why, *envdom = s->host;
	int failed;

	if (s->pf_off || s->egress.negress == 0 ||
	    o->id.origin == OG_ORIGIN_EXTERNAL ||
	    o->id.res == OG_IDENTITY_EXEMPT) {
		o->pf.res = OG_PF_SKIP;
		return;
	}
	memset(&env, 0, sizeof(env));
	if (m->envelope != NULL &&
	    og_addr_parse_path(m->envelope, strlen(m->envelope), &env, &why) ==
	        0 &&
	    env.domain != NULL)
		envdom = env.domain; /* else the null sender: the HELO name */
	og_preflight_check(s->pfc, s->dns, &s->egress, envdom, m->from_domain,
	    m->dkim_d[0] ? m->dkim_d : NULL, og_now(), &o->pf);
	og_addr_clear(&env);
	failed = o->pf.res == OG_PF_FAIL;
	og_strbuf_init(&l, 2048);
	og_kv_begin(&l, qid);
	og_kv_add(&l, "check", "preflight");
	og_kv_add(&l, "result", og_preflight_res_name(o->pf.res));
	og_kv_add(&l, "reason", o->pf.reason);
	if (o->pf.ip[0] != '\0')
		og_kv_add(&l, "ip", o->pf.ip);
	if (o->pf.domain[0] != '\0')
		og_kv_add(&l, "domain", o->pf.domain);
	og_kv_add(&l, "detail", o->pf.detail);
	if (failed)
		og_kv_addf(&l, "action", "%s%s", s->pf_dry ? "would-" : "",
		    action_names[s->pf_action]);
	og_kv_log(&l);
	og_strbuf_release(&l);
}

/* stronger - take action a of check why when it beats the current one */
static void
stronger(
    struct outcome *o, enum action a, const struct reply *r, const char *why)
{
	if (a > o->act) {
		o->act = a;
		o->reply = r;
		o->why = why;
	}
}

/* decide - o arrives zeroed but for the signatures sign_end() made */
static void
decide(const struct og_snap *s, const struct og_conn *c, const char *qid,
    struct outcome *o)
{
	const struct og_msg *m = &c->msg;
	struct og_identity_msg im;
	size_t i, n;

	memset(&im, 0, sizeof(im));
	im.login = m->login;
	im.client_addr = c->client;
	im.envelope = m->envelope;
	for (i = 0; i < OG_IDENTITY_FROM_KEEP; i++)
		im.from[i] = m->from[i];
	im.nfrom = m->nfrom;
	og_identity_check(&s->idp, &im, &o->id);
	o->un = OG_UNSUB_NOT_BULK;
	if (o->id.res != OG_IDENTITY_EXEMPT && !s->un_off)
		o->un = og_unsub_check(s->kw, m->hdrs, m->nhdrs,
		    m->bulk_by_caller, m->collect ? m->text.data : NULL,
		    m->collect ? m->text.len : 0,
		    m->hdr_bytes + 2 + s->body_max, o->un_reason);
	if (o->id.res == OG_IDENTITY_ERROR)
		stronger(
		    o, effective(ACT_TEMPFAIL, 1, s->id_dry), NULL, "identity");
	stronger(o,
	    effective(s->id_action, o->id.res == OG_IDENTITY_FAIL, s->id_dry),
	    &s->id_reply, "identity");
	stronger(o, effective(s->un_action, o->un == OG_UNSUB_FAIL, s->un_dry),
	    &s->un_reply, "unsubscribe");
	log_identity(s, c, qid, o);
	log_unsub(s, c, qid, o);
	preflight(s, c, qid, o);
	stronger(o, effective(s->pf_action, o->pf.res == OG_PF_FAIL, s->pf_dry),
	    &s->pf_reply, "preflight");
	/* outguard's own notification is never rewritten */
	o->tag = o->id.res != OG_IDENTITY_EXEMPT &&
	    ((s->id_action == ACT_TAG && !s->id_dry) ||
	        (s->un_action == ACT_TAG && !s->un_dry) ||
	        o->act == ACT_QUARANTINE);
	(void)og_strlcpy(o->header, s->host, sizeof(o->header));
	n = strlen(o->header);
	if (!s->idp.off)
		(void)snprintf(o->header + n, sizeof(o->header) - n,
		    "; identity=%s%s%s%s", og_identity_res_name(o->id.res),
		    o->id.reason[0] ? " (" : "", o->id.reason,
		    o->id.reason[0] ? ")" : "");
	n = strlen(o->header);
	if (!s->un_off)
		(void)snprintf(o->header + n, sizeof(o->header) - n,
		    "; unsubscribe=%s%s%s%s", og_unsub_res_name(o->un),
		    o->un_reason[0] && o->un != OG_UNSUB_NOT_BULK ? " (" : "",
		    o->un != OG_UNSUB_NOT_BULK ? o->un_reason : "",
		    o->un_reason[0] && o->un != OG_UNSUB_NOT_BULK ? ")" : "");
	if (o->pf.res != OG_PF_SKIP) {
		n = strlen(o->header);
		(void)snprintf(o->header + n, sizeof(o->header) - n,
		    "; preflight=%s (%s)", og_preflight_res_name(o->pf.res),
		    o->pf.reason);
		o->tag = o->tag || (s->pf_action == ACT_TAG && !s->pf_dry);
	}
}

/*
 * The callbacks: the libmilter glue.
 */

static struct og_conn *
conn_new(void)
{
	struct og_conn *c = og_malloc(sizeof(*c));

	/* all but the message's unused header slots (see msg_zero) */
	memset(c, 0, offsetof(struct og_conn, msg));
	c->msg.nhdrs = 0;
	msg_zero(&c->msg);
	c->snap = snap_get();
	return c;
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	struct og_conn *c = smfi_getpriv(ctx);
	unsigned long want = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_SKIP | SMFIP_NR_HDR;

	(void)f2;
	(void)f3;
	if (c == NULL) {
		c = conn_new();
		(void)smfi_setpriv(ctx, c);
	}
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & want;
	*pf2 = *pf3 = 0;
	c->nr_hdr = (f1 & SMFIP_NR_HDR) != 0;
	c->can_skip = (f1 & SMFIP_SKIP) != 0;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct og_conn *c = smfi_getpriv(ctx);
	const void *ip = NULL;

	(void)host;
	if (c == NULL) {
		c = conn_new();
		(void)smfi_setpriv(ctx, c);
	}
	c->client[0] = '\0';
	if (sa != NULL && sa->sa_family == AF_INET)
		ip = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa != NULL && sa->sa_family == AF_INET6)
		ip =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (ip != NULL &&
	    inet_ntop(sa->sa_family, ip, c->client, sizeof(c->client)) == NULL)
		c->client[0] = '\0';
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct og_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	msg_reset(&c->msg);
	c->msg.envelope = dup_capped(argv[0], OG_MILTER_ENV_MAX);
	c->msg.login = dup_capped(
	    smfi_getsymval(ctx, "{auth_authen}"), OG_MILTER_LOGIN_MAX);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct og_conn *c = smfi_getpriv(ctx);

	(void)argv;
	if (c != NULL && c->msg.nrcpt < OG_MILTER_RCPT_MAX)
		c->msg.nrcpt++;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct og_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	msg_header(&c->msg, name, value != NULL ? value : "");
	return c->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct og_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	sign_begin(c->snap, c->client, &c->msg);
	msg_eoh(c->snap, &c->msg);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	struct og_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (msg_body(&c->msg, p, len) && c->can_skip)
		return SMFIS_SKIP;
	return SMFIS_CONTINUE;
}

/* apply - carry the outcome out; the reply to end-of-message */
static sfsistat
apply(SMFICTX *ctx, const struct og_conn *c, const struct outcome *o)
{
	char why[64 + OG_UNSUB_REASON_MAX];
	size_t i;

	if (o->act == ACT_REJECT) {
		(void)smfi_setreply(ctx, "550",
		    (char *)(uintptr_t)o->reply->xcode,
		    (char *)(uintptr_t)o->reply->text);
		return SMFIS_REJECT;
	}
	if (o->act == ACT_TEMPFAIL) {
		char x[16];

		if (o->reply == NULL)
			(void)smfi_setreply(ctx, "451", "4.3.0",
			    "Temporary lookup failure, try again later");
		else {
			(void)og_strlcpy(x, o->reply->xcode, sizeof(x));
			x[0] = '4';
			(void)smfi_setreply(
			    ctx, "451", x, (char *)(uintptr_t)o->reply->text);
		}
		return SMFIS_TEMPFAIL;
	}
	/* copies from outside are removed, last index first */
	for (i = c->msg.nresult; i > 0 && i <= INT32_MAX; i--)
		(void)smfi_chgheader(ctx, OG_MILTER_RESULT_HDR, (int)i, NULL);
	if (o->tag)
		(void)smfi_addheader(
		    ctx, OG_MILTER_RESULT_HDR, (char *)(uintptr_t)o->header);
	/* the signatures on top, the RSA one first */
	for (i = o->nsig; i > 0; i--)
		if (smfi_insheader(ctx, 0, "DKIM-Signature", o->sigs[i - 1]) !=
		    MI_SUCCESS)
			og_warnx("DKIM-Signature: the MTA refused the header");
	if (o->act == ACT_QUARANTINE) {
		(void)snprintf(why, sizeof(why), "outguard: %s %s", o->why,
		    o->why[0] == 'i'       ? o->id.reason
		        : o->why[0] == 'p' ? o->pf.reason
		                           : o->un_reason);
		(void)smfi_quarantine(ctx, why);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct og_conn *c = smfi_getpriv(ctx);
	struct outcome *o;
	const char *qid;
	sfsistat r;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	o = og_calloc(1, sizeof(*o));
	qid = smfi_getsymval(ctx, "i");
	sign_end(&c->msg, qid, o);
	decide(c->snap, c, qid, o);
	r = apply(ctx, c, o);
	while (o->nsig > 0)
		og_free(o->sigs[--o->nsig]);
	og_free(o);
	msg_reset(&c->msg);
	return r;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct og_conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		msg_reset(&c->msg);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct og_conn *c = smfi_getpriv(ctx);

	if (c == NULL) /* a connect-and-close probe */
		return SMFIS_CONTINUE;
	msg_reset(&c->msg);
	snap_put(c->snap);
	og_free(c);
	(void)smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = { "outguard", SMFI_VERSION,
	SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE, mlfi_connect,
	NULL, /* helo */
	mlfi_envfrom, mlfi_envrcpt, mlfi_header, mlfi_eoh, mlfi_body, mlfi_eom,
	mlfi_abort, mlfi_close, NULL, /* unknown */
	NULL, /* data */
	mlfi_negotiate };

/*
 * Start-up.
 */

/*
 * tcp_nodelay - TCP_NODELAY on libmilter's listening TCP socket, which
 * Linux copies to every connection accepted on it. At end-of-message a
 * milter writes several small replies in a row (a header, the tag, the
 * verdict); without it Nagle's algorithm holds each back until the MTA
 * acknowledges the one before, which the MTA delays by about 40 ms, so
 * every message stalls (bench/RESULTS.md, "dkim"). libmilter does not
 * hand out the descriptor; at start-up it is the one listening TCP
 * socket of this process, among its first descriptors.
 */
static void
tcp_nodelay(const char *spec)
{
	int fd, v, one = 1, set = 0;
	socklen_t len;

	for (fd = 0; fd < 1024; fd++) {
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 ||
		    v == 0)
			continue;
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 ||
		    v != IPPROTO_TCP)
			continue;
		if (setsockopt(
		        fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			og_warn("milter_socket %s: TCP_NODELAY", spec);
		else
			set++;
	}
	if (set > 0)
		og_info("milter_socket %s: TCP_NODELAY on (no delayed-ACK "
		        "stalls)",
		    spec);
	else
		og_warnx("milter_socket %s: no listening TCP socket found for "
		         "TCP_NODELAY: replies may stall about 40 ms each",
		    spec);
}

/* open_socket - as root: the socket, and a mode Postfix can connect to */
static void
open_socket(const char *spec)
{
	const char *path = NULL;
	struct group *gr;
	mode_t old;

	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	else if (strncmp(spec, "local:", 6) == 0)
		path = spec + 6;
	if (smfi_setconn((char *)(uintptr_t)spec) != MI_SUCCESS)
		og_fatalx(EX_CONFIG, "milter_socket %s: not usable", spec);
	old = umask(0117);
	if (smfi_opensocket(1) != MI_SUCCESS)
		og_fatalx(EX_CANTCREAT,
		    "milter_socket %s: cannot create it (does the directory "
		    "exist? is another milter running?)",
		    spec);
	(void)umask(old);
	if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0)
		tcp_nodelay(spec);
	if (path == NULL)
		return;
	/* Postfix's smtpd and cleanup run as group postfix */
	if ((gr = getgrnam("postfix")) != NULL &&
	    chown(path, (uid_t)-1, gr->gr_gid) < 0)
		og_warn("chown %s to group postfix", path);
	if (chmod(path, 0660) < 0)
		og_warn("chmod %s", path);
}

/* drop_privileges - become run_user for good; no-op when not root */
static void
drop_privileges(const struct og_conf *cf)
{
	const char *user = og_conf_str(cf, "run_user");
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if (user == NULL || (pw = getpwnam(user)) == NULL)
		og_fatalx(EX_CONFIG,
		    "run_user \"%s\" does not exist (create it, e.g. "
		    "\"useradd --system --shell /usr/sbin/nologin %s\")",
		    user ? user : "", user ? user : "outguard");
	if (pw->pw_uid == 0)
		og_fatalx(EX_CONFIG, "run_user \"%s\" is root: refusing", user);
	if (chdir("/") < 0)
		og_fatal(EX_OSERR, "chdir /");
	if (setgroups(1, &pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		og_fatal(EX_OSERR, "cannot switch to user %s", user);
	if (setuid(0) == 0)
		og_fatalx(EX_SOFTWARE, "privileges were not dropped");
}

static pthread_t main_thread;

/* run_milter - smfi_main() in its own thread; tells main when it ends */
static void *
run_milter(void *arg)
{
	int *rc = arg;

	*rc = smfi_main();
	(void)pthread_kill(main_thread, SIGUSR2);
	return NULL;
}

/* warn_unusable - configured keys that cannot sign, once a load */
static void
warn_unusable(const struct og_snap *s)
{
	struct og_strbuf u;

	og_strbuf_init(&u, 0);
	if (og_dkim_keys_unusable(s->keys, &u) > 0)
		og_warnx("dkim: %s: mail these keys would sign goes out "
		         "unsigned, or signed by the domain's other keys",
		    og_strbuf_str(&u));
	og_strbuf_release(&u);
}

static void
reload(const char *path)
{
	struct og_strbuf err;
	struct og_snap *s;

	og_strbuf_init(&err, 0);
	if ((s = snap_build(path, &err)) == NULL)
		og_warnx("reload: configuration has errors, keeping the old "
		         "one:\n%s",
		    og_strbuf_str(&err));
	else {
		warn_unusable(s);
		snap_swap(s);
		og_info("reload: configuration %s read", og_conf_path(s->conf));
	}
	og_strbuf_release(&err);
}

/* serve - run the milter; the main thread handles the signals */
static int
serve(const char *path)
{
	sigset_t set;
	pthread_t tid;
	int sig, rc = MI_FAILURE, stopping = 0;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGHUP);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGUSR2);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		og_fatal(EX_OSERR, "pthread_sigmask");
	main_thread = pthread_self();
	if ((errno = pthread_create(&tid, NULL, run_milter, &rc)) != 0)
		og_fatal(EX_OSERR, "pthread_create");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR2)
			break;
		if (sig == SIGHUP && !stopping)
			reload(path);
		else if (sig != SIGHUP && !stopping) {
			og_info("stopping on signal %d", sig);
			stopping = 1;
			(void)smfi_stop();
		}
	}
	(void)pthread_join(tid, NULL);
	return rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}

/*
 * check_config - -n: the settings, then every DKIM key against its
 * selector's TXT record; 0 when all is well, 78 when a key does not
 * match its record
 */
static int
check_config(struct og_snap *s)
{
	struct og_strbuf out, err;
	struct og_dns *dns;
	int rc = EX_OK;

	og_conf_print(s->conf, stdout, 0);
	if (s->egress.negress == 0)
		(void)fprintf(stderr,
		    "warning: egress_ips is not set: the SPF/DMARC preflight "
		    "is off\n");
	if (og_dkim_keys_count(s->keys) > 0) {
		og_strbuf_init(&out, 4096);
		og_strbuf_init(&err, 0);
		if ((dns = og_dns_open(og_conf_str(s->conf, "dns_resolver"), 0,
		         &err)) == NULL) {
			(void)fprintf(
			    stderr, "dns_resolver: %s\n", og_strbuf_str(&err));
			rc = EX_CONFIG;
		} else {
			if (og_dkim_keys_check(s->keys, dns, &out) != 0)
				rc = EX_CONFIG;
			(void)fputs(og_strbuf_str(&out), stdout);
			og_dns_close(dns);
		}
		og_strbuf_release(&out);
		og_strbuf_release(&err);
	}
	snap_free(s);
	return rc;
}

static void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: outguard-milter [-dnv] [-c FILE]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -d       stay in the foreground, log to stderr\n"
	    "  -n       check the configuration, print the settings\n"
	    "  -v       more detail in the log (repeat for more)\n",
	    og_conf_default_path());
}

int
main(int argc, char **argv)
{
	struct og_strbuf err;
	struct og_snap *s;
	const char *path = NULL;
	char *pidfile = NULL;
	int ch, dflag = 0, nflag = 0, verbose = 0, rc;
	char ident[64];

	og_log_init("outguard-milter", LOG_MAIL, 1);
	while ((ch = getopt(argc, argv, "c:dnv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			dflag = 1;
			break;
		case 'n':
			nflag = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return EX_USAGE;
	}
	og_strbuf_init(&err, 0);
	if ((s = snap_build(path, &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		if (err.len > 0 && err.data[err.len - 1] != '\n')
			(void)fputc('\n', stderr);
		og_strbuf_release(&err);
		return EX_CONFIG;
	}
	og_strbuf_release(&err);
	if (nflag)
		return check_config(s);
	og_log_verbose(verbose);
	(void)snprintf(ident, sizeof(ident), "%s/milter",
	    og_conf_str(s->conf, "syslog_name"));
	og_log_init(ident,
	    og_log_facility(og_conf_str(s->conf, "syslog_facility")), dflag);
	warn_unusable(s);
	og_unsub_init(); /* GMime, before any thread */
	snap_current = s;
	if (smfi_register(filter) != MI_SUCCESS)
		og_fatalx(EX_SOFTWARE, "smfi_register failed");
	open_socket(og_conf_str(s->conf, "milter_socket"));
	if (!dflag)
		og_daemonize();
	/* a copy: a reload frees this snapshot */
	if (og_conf_str(s->conf, "milter_pid_file") != NULL) {
		pidfile = og_strdup(og_conf_str(s->conf, "milter_pid_file"));
		og_write_pidfile(pidfile);
	}
	drop_privileges(s->conf);
	og_info("starting: socket %s, identity_action %s%s, "
	        "unsubscribe_action %s%s, preflight_action %s%s",
	    og_conf_str(s->conf, "milter_socket"),
	    og_conf_str(s->conf, "identity_action"),
	    s->id_dry ? " (dry run)" : "",
	    og_conf_str(s->conf, "unsubscribe_action"),
	    s->un_dry ? " (dry run)" : "",
	    og_conf_str(s->conf, "preflight_action"),
	    s->pf_dry ? " (dry run)" : "");
	rc = serve(path);
	og_info("stopped");
	if (pidfile != NULL)
		(void)unlink(pidfile);
	og_free(pidfile);
	snap_swap(NULL); /* connections still open keep their own pins */
	return rc;
}

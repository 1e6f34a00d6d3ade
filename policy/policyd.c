/*
 * policyd.c - outguard-policyd: Postfix policy service for holds and
 *	the record of who sent each message
 * DESCRIPTION: answers HOLD for mail from an identity on hold (or to a
 *	provider on hold), DUNNO otherwise, and records at END-OF-MESSAGE
 *	who sent the queue id. Start-up order: configuration, log, listening
 *	sockets (as root), daemon and pid file, privilege drop to run_user,
 *	store (as run_user), holds, store thread, event loop. With -s it
 *	serves one connection on standard input/output (spawn(8)); with -t
 *	it reads requests from standard input and prints the answers it
 *	would give, recording nothing (golden tests).
 * DIAGNOSTICS: a malformed request or internal trouble closes the
 *	connection without an answer, so that Postfix applies the
 *	check_policy_service default_action; it never guesses an answer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "classify.h"
#include "decide.h"
#include "holdset.h"
#include "log.h"
#include "policyd.h"
#include "rcpts.h"
#include "replyfilter.h"
#include "request.h"
#include "server.h"
#include "socketmap.h"
#include "spool.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"
#include "notify.h"
#include "privsep.h"
#include "watcher.h"
#include "worker.h"

#define LISTEN_MAX 4

static const char *
or_null(const char *s)
{
	return (s != NULL && *s != '\0') ? s : NULL;
}

/* record - END-OF-MESSAGE: queue the row of who sent this queue id */
static void
record(struct policyd *pd, const struct og_request *rq)
{
	static struct og_ratelimit rl = OG_RATELIMIT_INIT(60, 1);
	struct og_strbuf summary;
	struct og_msgrec m;
	unsigned long long n;
	const char *qid = og_request_get(rq, OG_RA_QUEUE_ID);

	if (*qid == '\0')
		return;
	og_strbuf_init(&summary, 4096);
	(void)og_rcpts_take(
	    pd->rcpts, og_request_get(rq, OG_RA_INSTANCE), &summary);
	if (pd->worker == NULL) {
		og_strbuf_release(&summary);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.host = pd->host;
	m.queue_id = qid;
	m.time = og_now();
	m.sasl_username = or_null(og_request_get(rq, OG_RA_SASL_USERNAME));
	m.sasl_method = or_null(og_request_get(rq, OG_RA_SASL_METHOD));
	m.client_address = or_null(og_request_get(rq, OG_RA_CLIENT_ADDRESS));
	m.client_name = or_null(og_request_get(rq, OG_RA_CLIENT_NAME));
	m.sender = og_request_get(rq, OG_RA_SENDER);
	m.recipient_count =
	    og_parse_uint(og_request_get(rq, OG_RA_RECIPIENT_COUNT), 0,
	        1000000000, &n) == 0
	    ? (long)n
	    : -1;
	m.size =
	    og_parse_uint(og_request_get(rq, OG_RA_SIZE), 0, INT64_MAX, &n) == 0
	    ? (long long)n
	    : -1;
	m.rcpt_summary = summary.len ? og_strbuf_str(&summary) : NULL;
	if (og_worker_record(pd->worker, &m) < 0)
		og_warnx_rl(&rl,
		    "%s: store queue full, who-sent-what row not recorded",
		    qid);
	og_strbuf_release(&summary);
}

/* log_decision - one line: "QID: action=HOLD identity=... ..." */
static void
log_decision(struct policyd *pd, const struct og_request *rq,
    const struct og_decision *d, const char *action)
{
	og_kv_begin(&pd->line, og_request_get(rq, OG_RA_QUEUE_ID));
	og_kv_add(&pd->line, "action", action);
	og_kv_add(&pd->line, "state", og_request_get(rq, OG_RA_PROTOCOL_STATE));
	if (d->by != NULL) {
		og_kv_add(&pd->line, "identity", d->identity);
		og_kv_add(&pd->line, "hold_scope", d->by->scope);
		og_kv_addf(&pd->line, "hold_id", "%lld", (long long)d->by->id);
	}
	og_kv_add(&pd->line, "sasl_username",
	    or_null(og_request_get(rq, OG_RA_SASL_USERNAME)));
	og_kv_add(&pd->line, "client",
	    or_null(og_request_get(rq, OG_RA_CLIENT_ADDRESS)));
	og_kv_add(&pd->line, "from", og_request_get(rq, OG_RA_SENDER));
	og_kv_add(
	    &pd->line, "to", or_null(og_request_get(rq, OG_RA_RECIPIENT)));
	if (*d->provider)
		og_kv_add(&pd->line, "provider", d->provider);
	og_kv_log(&pd->line);
}

/*
 * take_holds - a hold set the store thread has built replaces ours now,
 * before the answer: a hold is in force once "holds: generation N" is
 * logged, not up to a second later
 */
static void
take_holds(struct policyd *pd)
{
	struct og_holdset *hs;

	if (pd->worker != NULL &&
	    (hs = og_worker_take_holds(pd->worker)) != NULL) {
		og_holdset_free(pd->holds);
		pd->holds = hs;
	}
}

int
og_policyd_answer(
    struct policyd *pd, const struct og_request *rq, struct og_strbuf *out)
{
	struct og_decision d;
	const char *state = og_request_get(rq, OG_RA_PROTOCOL_STATE);
	char since[32];

	pd->requests++;
	/*
	 * store_failure = tempfail: while the store is known to be down,
	 * no answer, so that Postfix applies the default_action of
	 * check_policy_service. The store thread logs the outage itself,
	 * once a minute; this is one atomic load per request.
	 */
	if ((pd->no_store ||
	        (pd->worker != NULL && og_worker_store_down(pd->worker))) &&
	    strcmp(og_conf_str(pd->conf, "store_failure"), "tempfail") == 0) {
		og_debug("%s: store unavailable, store_failure = tempfail: "
		         "no answer",
		    og_request_get(rq, OG_RA_QUEUE_ID));
		return -1;
	}
	take_holds(pd);
	if (og_decide(pd->holds, og_conf_table(pd->conf, "provider_domains"),
	        rq, &d) < 0) {
		og_warnx("%s: provider table lookup failed: no answer",
		    og_request_get(rq, OG_RA_QUEUE_ID));
		return -1;
	}
	if (strcmp(state, "RCPT") == 0)
		og_rcpts_add(pd->rcpts, og_request_get(rq, OG_RA_INSTANCE),
		    og_request_get(rq, OG_RA_RECIPIENT), og_now());
	if (strcmp(state, "END-OF-MESSAGE") == 0)
		record(pd, rq);
	if (!d.hold) {
		if (og_log_get_verbose() > 0)
			log_decision(pd, rq, &d, "DUNNO");
		return og_strbuf_adds(out, "action=DUNNO\n\n");
	}
	og_time_iso(d.by->since, since, sizeof(since));
	if (pd->dry_run) {
		log_decision(pd, rq, &d, "would-HOLD");
		return og_strbuf_adds(out, "action=DUNNO\n\n");
	}
	pd->holds_answered++;
	log_decision(pd, rq, &d, "HOLD");
	(void)og_strbuf_addf(out, "action=HOLD outguard: %s on hold since %s",
	    d.identity, since);
	if (d.by->incident > 0)
		(void)og_strbuf_addf(
		    out, " (incident %lld)", (long long)d.by->incident);
	return og_strbuf_adds(out, "\n\n");
}

/* egress - the sending IP: the one the reply names, else the first
 * configured egress_ips entry that is one address */
static const char *
egress(const struct policyd *pd, const struct og_reply *r)
{
	const char *const *ips;
	size_t n, i;

	if (r->v[OG_RF_IP] != NULL)
		return r->v[OG_RF_IP];
	ips = og_conf_list(pd->conf, "egress_ips", &n);
	for (i = 0; i < n; i++)
		if (strchr(ips[i], '/') == NULL)
			return ips[i];
	return NULL;
}

/*
 * reply_filter - one smtp_reply_filter lookup of map name (replyfilter.h):
 * TEMP ends the session of a blocked provider, or refuses its greeting
 */
static int
reply_filter(struct policyd *pd, struct og_rpf_conn *rc, const char *name,
    size_t nlen, const char *line, size_t len, struct og_strbuf *out)
{
	char prov[OG_RPF_NAME_MAX], scope[OG_RPF_NAME_MAX + 16], what[160];
	const char *const *keep;
	const char *p;
	enum og_rpf_action a;
	size_t n;
	int held = 0;

	if ((p = og_rpf_provider(name, nlen, prov, sizeof(prov))) == NULL) {
		og_warnx_rl(&pd->rl_names,
		    "socketmap name \"%.*s\" is not reply or reply-PROVIDER: "
		    "replies pass unchanged",
		    (int)(nlen > 80 ? 80 : nlen), name);
		return og_sm_reply(out, "NOTFOUND", "", 0);
	}
	/* only a greeting asks whether the provider is held */
	if (*p != '\0' && len >= 3 && memcmp(line, "220", 3) == 0) {
		take_holds(pd);
		(void)snprintf(scope, sizeof(scope), "provider:%s", p);
		held = og_holdset_find(pd->holds, scope, p) != NULL;
	}
	keep = og_conf_list(pd->conf, "keep_blocked_mail", &n);
	a = og_rpf_line(
	    rc, pd->rules, pd->reply, keep, p, held, line, len, og_now());
	if (a == OG_RPF_PASS)
		return og_sm_reply(out, "NOTFOUND", "", 0);
	if (a == OG_RPF_END_SESSION) {
		pd->sessions_ended++;
		(void)snprintf(what, sizeof(what),
		    "outguard: %s blocks this server: session ended",
		    rc->provider);
	} else {
		pd->greetings_refused++;
		(void)snprintf(what, sizeof(what),
		    "outguard: %s blocks this server (%s): not connecting", p,
		    held ? "on hold" : "block seen");
	}
	og_kv_begin(&pd->line, NULL);
	og_kv_add(&pd->line, "reply_filter",
	    pd->dry_run ? (a == OG_RPF_END_SESSION ? "would-end-session"
	                                           : "would-refuse-greeting")
	                : (a == OG_RPF_END_SESSION ? "end-session"
	                                           : "refuse-greeting"));
	og_kv_add(
	    &pd->line, "provider", a == OG_RPF_END_SESSION ? rc->provider : p);
	if (a == OG_RPF_END_SESSION)
		og_kv_add(&pd->line, "code",
		    pd->reply->v[OG_RF_PROVIDER_CODE]
		        ? pd->reply->v[OG_RF_PROVIDER_CODE]
		        : pd->reply->v[OG_RF_ENHANCED_CODE]);
	else
		og_kv_add(&pd->line, "why", held ? "on-hold" : "block-seen");
	og_kv_log(&pd->line);
	if (pd->dry_run) {
		rc->pending = OG_RPF_NONE;
		return og_sm_reply(out, "NOTFOUND", "", 0);
	}
	return og_sm_reply(out, "TEMP", what, strlen(what));
}

int
og_policyd_lookup(struct policyd *pd, struct og_rpf_conn *rc, const char *req,
    size_t len, struct og_strbuf *out)
{
	const char *const *keep;
	const char *sp = memchr(req, ' ', len), *key;
	struct og_sf_result res;
	struct og_strbuf synth;
	struct og_block b;
	char *reply;
	size_t n, klen;
	int rpf = 0, rv;

	pd->lookups++;
	if (sp == NULL) /* "NAME" alone: no key, nothing to filter */
		return og_sm_reply(out, "NOTFOUND", "", 0);
	key = sp + 1;
	klen = len - (size_t)(key - req);
	if ((size_t)(sp - req) >= 5 && memcmp(req, "reply", 5) == 0)
		return rc == NULL ? og_sm_reply(out, "NOTFOUND", "", 0)
		                  : reply_filter(pd, rc, req,
		                        (size_t)(sp - req), key, klen, out);
	og_strbuf_init(&synth, 0);
	if (rc != NULL && rc->pending != OG_RPF_NONE &&
	    (rpf = og_rpf_status(rc, key, klen, &synth)) == 2) {
		/* a status of a greeting refused above: say why */
		static const char why[] = "4.7.0 outguard: the provider blocks "
		                          "this server; delivery suspended";
		og_strbuf_release(&synth);
		return og_sm_reply(out, "OK", why, sizeof(why) - 1);
	}
	if (rpf == 1) { /* the block the reply filter saw, as Postfix would */
		key = synth.data;
		klen = synth.len;
	}
	keep = og_conf_list(pd->conf, "keep_blocked_mail", &n);
	og_status_filter(pd->rules, pd->reply, keep, key, klen, &res);
	if (rpf == 1 && res.action == OG_SF_NOTFOUND)
		rv = og_sm_reply(out, "OK", key, klen); /* already a 4.X.Y */
	else
		rv = og_sf_answer(&res, out);
	if (rv < 0) {
		og_strbuf_release(&synth);
		return -1;
	}
	if (res.success && pd->reply->v[OG_RF_PROVIDER] != NULL &&
	    strcmp(pd->reply->v[OG_RF_PROVIDER], "other") != 0 &&
	    pd->worker != NULL)
		(void)og_worker_delivered(
		    pd->worker, pd->reply->v[OG_RF_PROVIDER]);
	if (!res.block) {
		og_strbuf_release(&synth);
		return 0;
	}
	/* a block: the evidence, and the watcher's wake-up (a new row) */
	pd->blocks_seen++;
	if (res.action == OG_SF_KEEP)
		pd->kept++;
	reply = og_strndup(res.text, res.tlen);
	memset(&b, 0, sizeof(b));
	b.host = pd->host;
	b.provider = pd->reply->v[OG_RF_PROVIDER];
	b.class_ = pd->reply->v[OG_RF_CLASS];
	b.smtp_code = pd->reply->v[OG_RF_SMTP_CODE];
	b.enhanced_code = pd->reply->v[OG_RF_ENHANCED_CODE];
	b.provider_code = pd->reply->v[OG_RF_PROVIDER_CODE];
	b.remedy = pd->reply->v[OG_RF_REMEDY];
	b.reply = reply;
	b.mx_host = pd->reply->v[OG_RF_MX_HOST];
	b.mx_ip = pd->reply->v[OG_RF_MX_IP];
	b.egress_ip = egress(pd, pd->reply);
	b.server_tag = pd->reply->v[OG_RF_SERVER_TAG];
	b.server_time = pd->reply->v[OG_RF_SERVER_TIME];
	b.source = "status-filter";
	b.first_seen = og_now();
	og_kv_begin(&pd->line, NULL);
	og_kv_add(&pd->line, "status_filter",
	    res.action == OG_SF_KEEP ? "keep" : "pass");
	og_kv_add(&pd->line, "dsn", res.dsn);
	og_kv_add(&pd->line, "provider", b.provider);
	og_kv_add(&pd->line, "class", b.class_);
	og_kv_add(&pd->line, "code",
	    b.provider_code ? b.provider_code : b.enhanced_code);
	og_kv_add(&pd->line, "egress_ip", b.egress_ip);
	og_kv_log(&pd->line);
	if (pd->worker != NULL && og_worker_block(pd->worker, &b) < 0)
		og_warnx("store queue full: block evidence not recorded");
	og_free(reply);
	og_strbuf_release(&synth);
	return 0;
}

void
og_policyd_tick(struct policyd *pd)
{
	take_holds(pd);
	if (og_now() % 60 == 0)
		og_rcpts_expire(pd->rcpts, og_now());
}

static void
set_host(struct policyd *pd)
{
	(void)og_conf_hostname(pd->conf, pd->host, sizeof(pd->host));
}

static int
same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static void start_watcher(struct policyd *);

void
og_policyd_reload(struct policyd *pd)
{
	struct og_strbuf err;
	struct og_conf *cf;
	int restarting;

	og_strbuf_init(&err, 0);
	if ((cf = og_conf_load(pd->conf_path, &err)) == NULL) {
		og_warnx("reload: configuration has errors, keeping the "
		         "old one:\n%s",
		    og_strbuf_str(&err));
		og_strbuf_release(&err);
		return;
	}
	og_strbuf_release(&err);
	if (strcmp(og_conf_str(cf, "store") ? og_conf_str(cf, "store") : "",
	        og_conf_str(pd->conf, "store") ? og_conf_str(pd->conf, "store")
	                                       : "") != 0 ||
	    strcmp(og_conf_str(cf, "policyd_listen"),
	        og_conf_str(pd->conf, "policyd_listen")) != 0)
		og_warnx("reload: store and policyd_listen changes take "
		         "effect at the next restart");
	if (!same_str(og_conf_str(cf, "notify_command"),
	        og_conf_str(pd->conf, "notify_command")) ||
	    !same_str(og_conf_str(cf, "notify_mail_to"),
	        og_conf_str(pd->conf, "notify_mail_to")) ||
	    !same_str(og_conf_str(cf, "notify_webhook"),
	        og_conf_str(pd->conf, "notify_webhook")))
		og_warnx("reload: notify_* changes take effect at the next "
		         "restart");
	/*
	 * The watcher reads its configuration while it scans: stop it (a
	 * scan in progress ends first), switch, and start a new one on the
	 * new configuration. The notifier and its queue go on.
	 */
	restarting = pd->watcher != NULL;
	if (restarting) {
		og_watcher_stop(pd->watcher);
		pd->watcher = NULL;
	}
	if (pd->watch_conf != NULL && pd->watch_conf != pd->conf)
		og_conf_free(pd->watch_conf);
	pd->watch_conf = NULL;
	og_conf_free(pd->conf);
	pd->conf = cf;
	pd->dry_run = og_conf_bool(cf, "dry_run");
	set_host(pd);
	if (restarting)
		start_watcher(pd);
	if (pd->worker != NULL)
		og_worker_set_retention(
		    pd->worker, (int64_t)og_conf_uint(cf, "message_retention"));
	og_info("reload: configuration %s read", og_conf_path(cf));
}

/*
 * open_spool - the store outage spool, opened as run_user so that the
 * daemon can write it; a daemon that cannot is a configuration error,
 * a per-connection process (-s, -m) shares it with others and goes on
 * without one (rows made during an outage are then counted as dropped)
 */
static struct og_spool *
open_spool(const struct og_conf *cf, int daemon)
{
	struct og_strbuf err, path;
	struct og_spool *sp;

	og_strbuf_init(&err, 0);
	og_strbuf_init(&path, 0);
	og_spool_default(
	    &path, og_conf_str(cf, "store_spool"), og_conf_str(cf, "store"));
	sp = og_spool_open(og_strbuf_str(&path),
	    og_conf_uint(cf, "store_spool_max"), daemon ? OG_SPOOL_DAEMON : 0,
	    &err);
	og_strbuf_release(&path);
	if (sp == NULL && daemon)
		og_fatalx(EX_CANTCREAT, "store_spool: %s", og_strbuf_str(&err));
	if (sp == NULL)
		og_warnx("store_spool: %s: rows made during a store outage "
		         "will be counted as dropped",
		    og_strbuf_str(&err));
	else if (og_spool_pending(sp) > 0)
		og_info("spool %s: %lu rows wait for the store",
		    og_spool_path(sp), og_spool_pending(sp));
	og_strbuf_release(&err);
	return sp;
}

/* drop_privileges - become run_user for good; no-op when not root */
static void
drop_privileges(const struct og_conf *cf)
{
	const char *user = og_conf_str(cf, "run_user");
	struct passwd *pw;

	if (geteuid() != 0) {
		og_debug("not root: staying uid %lu", (unsigned long)getuid());
		return;
	}
	if (user == NULL || (pw = getpwnam(user)) == NULL)
		og_fatalx(EX_CONFIG,
		    "run_user \"%s\" does not exist (create it, e.g. "
		    "\"useradd --system --home-dir /var/lib/outguard "
		    "--shell /usr/sbin/nologin %s\")",
		    user ? user : "", user ? user : "outguard");
	if (pw->pw_uid == 0)
		og_fatalx(EX_CONFIG,
		    "run_user \"%s\" is root: refusing to "
		    "run as root",
		    user);
	if (setgroups(1, &pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		og_fatal(EX_OSERR, "cannot switch to user %s", user);
	if (setuid(0) == 0)
		og_fatalx(EX_SOFTWARE, "privileges were not dropped");
	og_debug("running as %s (uid %lu)", user, (unsigned long)pw->pw_uid);
}

/* test_mode - -t: answer requests on stdin, record nothing */
static int
test_mode(struct policyd *pd)
{
	struct og_strbuf in, out;
	struct og_request rq;
	const char *err = NULL;
	char chunk[4096];
	size_t n, end;
	int rc = EX_OK;

	og_strbuf_init(&in, OG_REQUEST_MAX * 4);
	og_strbuf_init(&out, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (og_strbuf_addn(&in, chunk, n) < 0)
			og_fatalx(EX_DATAERR, "-t: input too large");
	while (in.len > 0 && rc == EX_OK) {
		char *block;

		if ((end = og_request_end(in.data, in.len)) == 0) {
			err = "incomplete request at the end";
			rc = EX_DATAERR;
			break;
		}
		/* the parser gets the request without its closing newline */
		block = og_strndup(in.data, end);
		og_strbuf_reset(&out);
		if (og_request_parse(&rq, block, end - 1, &err) < 0)
			rc = EX_DATAERR;
		else if (og_policyd_answer(pd, &rq, &out) < 0) {
			err = "internal error";
			rc = EX_DATAERR;
		} else
			(void)fputs(og_strbuf_str(&out), stdout);
		og_free(block);
		memmove(in.data, in.data + end, in.len - end);
		og_strbuf_truncate(&in, in.len - end);
	}
	if (rc != EX_OK)
		(void)printf(
		    "# connection closed without an answer: %s\n", err);
	og_strbuf_release(&in);
	og_strbuf_release(&out);
	return rc;
}

/* start_notifier - the notification channels, NULL when none is set */
static struct og_notify *
start_notifier(struct policyd *pd)
{
	struct og_notify_conf nc;
	char from[300];

	memset(&nc, 0, sizeof(nc));
	nc.command = og_conf_str(pd->conf, "notify_command");
	nc.mail_to = og_conf_str(pd->conf, "notify_mail_to");
	nc.webhook = og_conf_str(pd->conf, "notify_webhook");
	(void)snprintf(from, sizeof(from), "outguard@%s", pd->host);
	nc.mail_from = from;
	nc.host = pd->host;
	if (nc.command == NULL && nc.mail_to == NULL && nc.webhook == NULL)
		return NULL;
	return og_notify_start(&nc);
}

/*
 * start_watcher - the queue watcher on the current configuration, which
 * must outlive it: og_policyd_reload() stops it before freeing that
 */
static void
start_watcher(struct policyd *pd)
{
	struct og_watcher_conf wc;

	memset(&wc, 0, sizeof(wc));
	wc.conf = pd->watch_conf = pd->conf;
	wc.rules = pd->rules;
	wc.host = pd->host;
	wc.privsep_fd = pd->privsep_fd;
	wc.notify = pd->notifier;
	pd->watcher = og_watcher_start(&wc);
}

/*
 * scan_once - -w: one watcher scan in the foreground, as the daemon's
 * watcher would make it (the privileged helper for postqueue, postcat
 * and postsuper, the rest as run_user); the exit status says whether
 * the scan could read the queue and the store
 */
static int
scan_once(struct policyd *pd)
{
	struct og_watcher_conf wc;
	pid_t privsep_pid = -1;
	int rc;

	pd->privsep_fd = og_privsep_start(
	    og_conf_str(pd->conf, "postfix_config_dir"), &privsep_pid);
	drop_privileges(pd->conf);
	memset(&wc, 0, sizeof(wc));
	wc.conf = pd->conf;
	wc.rules = pd->rules;
	wc.host = pd->host;
	wc.privsep_fd = pd->privsep_fd;
	rc = og_watcher_scan_once(&wc);
	og_privsep_stop(pd->privsep_fd, privsep_pid);
	og_classifier_free(pd->rules);
	og_reply_release(pd->reply);
	og_free(pd->reply);
	og_rcpts_free(pd->rcpts);
	og_conf_free(pd->conf);
	og_strbuf_release(&pd->line);
	if (rc < 0) {
		og_warnx("scan: the queue or the store could not be read");
		return EX_UNAVAILABLE;
	}
	og_info("scan: done (%s)",
	    rc > 0 ? "incidents open or waiting for "
	             "confirmation"
	           : "nothing open");
	return EX_OK;
}

static void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: outguard-policyd [-dmstvw] [-c FILE] [-n]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -d       stay in the foreground, log to stderr\n"
	    "  -m       serve the status filter (socketmap) on stdin/stdout\n"
	    "  -n       check the configuration, print the settings\n"
	    "  -s       serve one connection on stdin/stdout (spawn(8))\n"
	    "  -t       answer requests read from stdin, record nothing\n"
	    "  -v       more detail in the log (repeat for more)\n"
	    "  -w       scan the queue once as the watcher does, then exit\n",
	    og_conf_default_path());
}

static struct og_conf *
load_conf(const char *path)
{
	struct og_strbuf err;
	struct og_conf *cf;

	og_strbuf_init(&err, 0);
	if ((cf = og_conf_load(path, &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		exit(EX_CONFIG);
	}
	og_strbuf_release(&err);
	return cf;
}

int
main(int argc, char **argv)
{
	struct policyd pd;
	struct og_strbuf err;
	struct og_store *st;
	struct og_spool *spool = NULL;
	const char *spec;
	int ch, dflag = 0, nflag = 0, sflag = 0, tflag = 0, mflag = 0;
	int wflag = 0;
	int verbose = 0;
	struct og_listener listeners[LISTEN_MAX];
	pid_t privsep_pid = -1;
	int nlisten = 0, rc;
	char ident[64];

	memset(&pd, 0, sizeof(pd));
	pd.privsep_fd = -1;
	pd.rl_names = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 3);
	og_strbuf_init(&pd.line, 8192);
	og_strbuf_init(&err, 0);
	(void)og_now(); /* reads OG_FAKE_NOW before any thread starts */
	og_log_init("outguard-policyd", LOG_MAIL, 1);
	while ((ch = getopt(argc, argv, "c:dmnstvw")) != -1) {
		switch (ch) {
		case 'c':
			pd.conf_path = optarg;
			break;
		case 'd':
			dflag = 1;
			break;
		case 'm':
			mflag = 1;
			break;
		case 'n':
			nflag = 1;
			break;
		case 's':
			sflag = 1;
			break;
		case 't':
			tflag = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'w':
			wflag = 1;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (optind != argc || dflag + sflag + tflag + mflag + wflag > 1) {
		usage();
		return EX_USAGE;
	}
	pd.conf = load_conf(pd.conf_path);
	if (nflag) {
		og_conf_print(pd.conf, stdout, 0);
		og_conf_free(pd.conf);
		return EX_OK;
	}
	og_log_verbose(verbose);
	(void)snprintf(ident, sizeof(ident), "%s/policyd",
	    og_conf_str(pd.conf, "syslog_name"));
	og_log_init(ident,
	    og_log_facility(og_conf_str(pd.conf, "syslog_facility")),
	    dflag || tflag || wflag);
	pd.dry_run = og_conf_bool(pd.conf, "dry_run");
	pd.rcpts = og_rcpts_new();
	pd.rules =
	    og_classifier_load(og_conf_str(pd.conf, "reply_rules"), &err);
	if (pd.rules == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		og_fatalx(EX_CONFIG, "reply_rules %s: cannot load the rules",
		    og_conf_str(pd.conf, "reply_rules"));
	}
	pd.reply = og_calloc(1, sizeof(*pd.reply));
	og_reply_init(pd.reply);
	set_host(&pd);
	(void)signal(SIGPIPE, SIG_IGN);
	og_server_block_signals();
	spec = og_conf_str(pd.conf, "store");
	if (wflag) {
		og_strbuf_release(&err);
		return scan_once(&pd);
	}
	if (!sflag && !tflag && !mflag) {
		if ((listeners[nlisten].fd = og_server_listen(
		         og_conf_str(pd.conf, "policyd_listen"), &err)) < 0)
			og_fatalx(EX_CANTCREAT, "%s", og_strbuf_str(&err));
		listeners[nlisten++].proto = OG_PROTO_POLICY;
		if (og_conf_str(pd.conf, "status_filter_listen") != NULL) {
			if ((listeners[nlisten].fd = og_server_listen(
			         og_conf_str(pd.conf, "status_filter_listen"),
			         &err)) < 0)
				og_fatalx(
				    EX_CANTCREAT, "%s", og_strbuf_str(&err));
			listeners[nlisten++].proto = OG_PROTO_SOCKETMAP;
		}
		if (!dflag)
			og_daemonize();
		og_write_pidfile(og_conf_str(pd.conf, "policyd_pid_file"));
	}
	/*
	 * The daemon's queue watcher needs postsuper, which needs root:
	 * a helper keeps root for that one job (privsep.c); the rest of the
	 * daemon drops privileges now.
	 */
	if (!sflag && !tflag && !mflag)
		pd.privsep_fd = og_privsep_start(
		    og_conf_str(pd.conf, "postfix_config_dir"), &privsep_pid);
	if (!tflag) /* -t only reads the store, and runs in test suites */
		drop_privileges(pd.conf);
	/*
	 * A spawn(8) process (-s, -m) starts whenever Postfix asks, also
	 * during a store outage: the status filter must answer then, or
	 * Postfix skips it and blocked mail bounces. The daemon starts
	 * during an outage too. Both go on without the holds until the
	 * store answers (the store thread probes it, spools the rows made
	 * meanwhile and loads the holds when it is back).
	 */
	st =
	    !tflag ? og_store_open_lazy(spec, &err) : og_store_open(spec, &err);
	/* lazy: err says why the server is not there yet, if it is not */
	if (st != NULL &&
	    ((!tflag && err.len > 0) ||
	        (pd.holds = og_load_holdset(st, og_now())) == NULL)) {
		if (!tflag) {
			og_warnx("store: %s: starting without it: no hold "
			         "is known until it answers, rows are spooled "
			         "meanwhile%s",
			    err.len > 0 ? og_strbuf_str(&err)
			                : og_store_error(st),
			    strcmp(og_conf_str(pd.conf, "store_failure"),
			        "tempfail") == 0
			        ? ", policy requests unanswered"
			        : "");
			pd.holds = og_holdset_new(NULL, 0);
		} else {
			og_strbuf_reset(&err);
			(void)og_strbuf_addf(&err, "cannot read the holds: %s",
			    og_store_error(st));
			st = og_store_close(st);
		}
	}
	if (st == NULL && !sflag && !mflag)
		og_fatalx(
		    EX_UNAVAILABLE, "store %s: %s", spec, og_strbuf_str(&err));
	if (st == NULL) {
		og_warnx("store %s: %s: serving without it (no hold known, "
		         "nothing recorded%s)",
		    spec, og_strbuf_str(&err),
		    strcmp(og_conf_str(pd.conf, "store_failure"), "tempfail") ==
		            0
		        ? ", policy requests unanswered"
		        : "");
		pd.no_store = 1;
		pd.holds = og_holdset_new(NULL, 0);
	}
	/* the spool before "starting:": the line says all is open */
	if (!tflag && !pd.no_store)
		spool = open_spool(pd.conf, !sflag && !mflag);
	og_info("starting: %zu holds in force, store %s, host %s%s",
	    og_holdset_count(pd.holds), spec, pd.host,
	    pd.dry_run ? ", dry run" : "");
	if (tflag) {
		og_store_close(st);
		rc = test_mode(&pd);
	} else if (pd.no_store) {
		rc = og_server_run(&pd, listeners, (size_t)nlisten, 0, 1,
		    mflag ? OG_PROTO_SOCKETMAP : OG_PROTO_POLICY);
	} else {
		pd.worker = og_worker_start_spool(st,
		    (int64_t)og_conf_uint(pd.conf, "message_retention"), spool,
		    pd.host);
		if (!sflag && !mflag) {
			pd.notifier = start_notifier(&pd);
			start_watcher(&pd);
		}
		rc = og_server_run(&pd, listeners, (size_t)nlisten,
		    sflag || mflag ? 0 : -1, sflag || mflag ? 1 : -1,
		    mflag ? OG_PROTO_SOCKETMAP : OG_PROTO_POLICY);
		og_watcher_stop(pd.watcher);
		og_notify_stop(pd.notifier);
		if (pd.privsep_fd >= 0)
			og_privsep_stop(pd.privsep_fd, privsep_pid);
		og_worker_stop(pd.worker);
		og_info("stopping: %lu requests, %lu HOLD answers, %lu "
		        "malformed",
		    pd.requests, pd.holds_answered, pd.malformed);
	}
	if (!sflag && !tflag && !mflag &&
	    og_conf_str(pd.conf, "policyd_pid_file"))
		(void)unlink(og_conf_str(pd.conf, "policyd_pid_file"));
	og_holdset_free(pd.holds);
	og_rcpts_free(pd.rcpts);
	og_classifier_free(pd.rules);
	og_reply_release(pd.reply);
	og_free(pd.reply);
	if (pd.watch_conf != NULL && pd.watch_conf != pd.conf)
		og_conf_free(pd.watch_conf);
	og_conf_free(pd.conf);
	og_strbuf_release(&pd.line);
	og_strbuf_release(&err);
	return rc;
}

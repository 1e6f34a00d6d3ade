/*
 * confspec.c - the schema of outguard.conf: every setting of every program
 * DESCRIPTION: one row per setting (name, type, default, range, choices,
 *	validator, one-line doc). outguard.conf(5) documents each row, and
 *	tests/lint/conf-documented.sh fails when one is missing there.
 *	Validators check form only; they never touch the network.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "store.h"
#include "strbuf.h"
#include "util.h"

static int
valid_facility(const char *v, struct og_strbuf *err)
{
	if (og_log_facility(v) < 0) {
		(void)og_strbuf_adds(err,
		    "unknown syslog facility (expected "
		    "mail, daemon, user or local0..local7)");
		return -1;
	}
	return 0;
}

static int
valid_hostname(const char *v, struct og_strbuf *err)
{
	if (!og_domain_valid(v)) {
		(void)og_strbuf_adds(err, "not a valid host name");
		return -1;
	}
	return 0;
}

static int
valid_domain(const char *v, struct og_strbuf *err)
{
	return valid_hostname(v, err);
}

static int
valid_abspath(const char *v, struct og_strbuf *err)
{
	if (*v != '/') {
		(void)og_strbuf_adds(err, "expected an absolute path");
		return -1;
	}
	return 0;
}

/* valid_spool - empty (the default place) or an absolute path */
static int
valid_spool(const char *v, struct og_strbuf *err)
{
	return *v == '\0' ? 0 : valid_abspath(v, err);
}

static int
valid_user(const char *v, struct og_strbuf *err)
{
	const char *p;

	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' &&
		    *p != '.')
			break;
	if (*p != '\0' || p - v > 32 || *v == '-') {
		(void)og_strbuf_adds(err, "not a valid user name");
		return -1;
	}
	return 0;
}

static int
valid_store(const char *v, struct og_strbuf *err)
{
	/* the store's own check: sqlite:/PATH, pgsql:CONNINFO or URI
	 * without a password (lib/store.c) */
	return og_store_spec_valid(v, err) < 0 ? -1 : 0;
}

static int
valid_listen(const char *v, struct og_strbuf *err)
{
	if ((strncmp(v, "unix:", 5) == 0 && v[5] == '/') ||
	    (strncmp(v, "inet:", 5) == 0 && strchr(v + 5, ':') != NULL))
		return 0;
	(void)og_strbuf_adds(err,
	    "expected unix:/absolute/path or "
	    "inet:HOST:PORT");
	return -1;
}

static int
valid_ip_or_net(const char *v, struct og_strbuf *err)
{
	unsigned char buf[16];
	char ip[64];
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	unsigned long long len;
	int v6;

	if (n == 0 || n >= sizeof(ip))
		goto bad;
	memcpy(ip, v, n);
	ip[n] = '\0';
	v6 = strchr(ip, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, buf) != 1)
		goto bad;
	if (slash != NULL &&
	    og_parse_uint(slash + 1, 0, v6 ? 128 : 32, &len) < 0)
		goto bad;
	return 0;
bad:
	(void)og_strbuf_adds(err, "expected an IP address or network/len");
	return -1;
}

static int
valid_provider(const char *v, struct og_strbuf *err)
{
	const char *p;

	for (p = v; *p; p++)
		if (!islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '-')
			break;
	if (*p != '\0' || p == v || p - v > 64) {
		(void)og_strbuf_adds(err, "a provider name is [a-z0-9-]");
		return -1;
	}
	return 0;
}

static int
valid_command(const char *v, struct og_strbuf *err)
{
	if (*v != '/') {
		(void)og_strbuf_adds(err,
		    "expected an absolute path, "
		    "optionally with arguments");
		return -1;
	}
	return 0;
}

static int
valid_https(const char *v, struct og_strbuf *err)
{
	if (strncmp(v, "https://", 8) != 0 || strlen(v) > 2000) {
		(void)og_strbuf_adds(err, "expected an https:// URL");
		return -1;
	}
	return 0;
}

static int
valid_address(const char *v, struct og_strbuf *err)
{
	const char *at = strrchr(v, '@');

	if (at == NULL || at == v || !og_domain_valid(at + 1)) {
		(void)og_strbuf_adds(err, "expected a mail address");
		return -1;
	}
	return 0;
}

static int
valid_server_type(const char *v, struct og_strbuf *err)
{
	if (strcmp(v, "dedicated") != 0 && strcmp(v, "shared") != 0) {
		(void)og_strbuf_adds(err, "expected dedicated or shared");
		return -1;
	}
	return 0;
}

static int
valid_web_url(const char *v, struct og_strbuf *err)
{
	if ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
	    strlen(v) > 2000 || strpbrk(v, " \t\"<>") != NULL) {
		(void)og_strbuf_adds(
		    err, "expected an http:// or https:// URL");
		return -1;
	}
	return 0;
}

/* valid_resolver - "IP" or "IP@PORT" (IPv6 without brackets) */
static int
valid_resolver(const char *v, struct og_strbuf *err)
{
	unsigned char buf[16];
	char ip[64];
	const char *at = strchr(v, '@');
	size_t n = at ? (size_t)(at - v) : strlen(v);
	unsigned long long port;

	if (n == 0 || n >= sizeof(ip))
		goto bad;
	memcpy(ip, v, n);
	ip[n] = '\0';
	if (inet_pton(strchr(ip, ':') ? AF_INET6 : AF_INET, ip, buf) != 1)
		goto bad;
	if (at != NULL && og_parse_uint(at + 1, 1, 65535, &port) < 0)
		goto bad;
	return 0;
bad:
	(void)og_strbuf_adds(err, "expected IP or IP@PORT");
	return -1;
}

static int
valid_selector(const char *v, struct og_strbuf *err)
{
	const char *p;

	for (p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			break;
	if (*p != '\0' || p == v || p - v > 63) {
		(void)og_strbuf_adds(err, "a DKIM selector is [A-Za-z0-9._-]");
		return -1;
	}
	return 0;
}

static int
valid_milter_socket(const char *v, struct og_strbuf *err)
{
	if (strncmp(v, "unix:/", 6) == 0 || strncmp(v, "local:/", 7) == 0 ||
	    strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0)
		return 0;
	(void)og_strbuf_adds(err, "expected unix:/PATH or inet:PORT@HOST");
	return -1;
}

static int
valid_action(const char *v, struct og_strbuf *err)
{
	static const char *const actions[] = { "off", "accept", "tag",
		"quarantine", "tempfail", "reject" };
	size_t i;

	for (i = 0; i < OG_NELEM(actions); i++)
		if (strcmp(v, actions[i]) == 0)
			return 0;
	(void)og_strbuf_adds(
	    err, "expected off, accept, tag, quarantine, tempfail or reject");
	return -1;
}

static const struct og_conf_spec schema[] = {
	{ "syslog_facility", OG_CONF_STR, "mail", 0, 0, NULL, valid_facility,
	    "syslog facility of every program" },
	{ "syslog_name", OG_CONF_STR, "outguard", 0, 0, NULL, valid_user,
	    "prefix of the syslog ident (outguard/milter, outguard/policyd)" },
	{ "log_warning_rate", OG_CONF_UINT, "10", 1, 100000, NULL, NULL,
	    "repeated warnings of one kind logged per minute at most" },
	{ "myhostname", OG_CONF_STR, "", 0, 0, NULL, valid_hostname,
	    "host name stored with each queue id (empty: the system's)" },
	{ "postfix_config_dir", OG_CONF_STR, "", 0, 0, NULL, valid_abspath,
	    "Postfix configuration directory, passed as -c to postqueue, "
	    "postsuper and postcat (empty: Postfix's own)" },
	{ "run_user", OG_CONF_STR, "outguard", 0, 0, NULL, valid_user,
	    "unprivileged user the daemons run as" },
	{ "internal_hosts", OG_CONF_TABLE, "inline:{ 127.0.0.0/8, ::1 }", 0, 0,
	    "cidr|inline", NULL,
	    "networks of internal clients, a cidr: table or inline:{ list }" },
	{ "local_domains", OG_CONF_LIST, "", 0, 10000, NULL, valid_domain,
	    "domains internal and local senders may use" },
	{ "sender_login_maps", OG_CONF_TABLE, "", 0, 0, "file|pcre", NULL,
	    "owner logins of each sender address, as Postfix "
	    "smtpd_sender_login_maps" },
	{ "store", OG_CONF_STR, "sqlite:/var/lib/outguard/outguard.db", 0, 0,
	    NULL, valid_store,
	    "where holds, evidence and who-sent-what are kept" },
	{ "store_failure", OG_CONF_ENUM, "dunno", 0, 0, "dunno|tempfail", NULL,
	    "policy answer while the store is unreachable: dunno (fail "
	    "open) or tempfail (no answer)" },
	{ "store_spool", OG_CONF_STR, "", 0, 0, NULL, valid_spool,
	    "rows made while the store is unreachable wait in this file "
	    "(empty: outguard.spool next to a sqlite: store, else "
	    "/var/lib/outguard/outguard.spool)" },
	{ "store_spool_max", OG_CONF_UINT, "67108864", 4096, 1073741824, NULL,
	    NULL,
	    "bytes the spool file grows to at most; rows past it are "
	    "counted as dropped" },
	{ "policyd_listen", OG_CONF_STR,
	    "unix:/var/spool/postfix/private/outguard-policy", 0, 0, NULL,
	    valid_listen, "the policy service socket of outguard-policyd" },
	{ "policyd_pid_file", OG_CONF_STR, "/run/outguard-policyd.pid", 0, 0,
	    NULL, valid_abspath, "outguard-policyd's pid file" },
	{ "provider_domains", OG_CONF_TABLE, "", 0, 0, "file", NULL,
	    "recipient domains of each provider (contrib/providers)" },
	{ "status_filter_listen", OG_CONF_STR,
	    "unix:/var/spool/postfix/private/outguard-status", 0, 0, NULL,
	    valid_listen,
	    "the socketmap socket of the delivery status filter (empty: "
	    "none)" },
	{ "keep_blocked_mail", OG_CONF_LIST, "microsoft-consumer microsoft-365",
	    0, 100, NULL, valid_provider,
	    "providers whose block replies keep the mail queued" },
	{ "egress_ips", OG_CONF_LIST, "", 0, 1000, NULL, valid_ip_or_net,
	    "the IP addresses (or networks) the mail leaves from" },
	{ "queue_scan_interval", OG_CONF_DURATION, "60s", 5, 3600, NULL, NULL,
	    "how often the watcher reads Postfix's queue without a wake-up" },
	{ "suspect_window", OG_CONF_DURATION, "1h", 300, 7 * 86400, NULL, NULL,
	    "the time before the first block in which suspects sent" },
	{ "suspect_threshold", OG_CONF_UINT, "30", 1, 100, NULL, NULL,
	    "percent of the mail to the blocking provider that makes a "
	    "suspect" },
	{ "auto_hold_suspects", OG_CONF_BOOL, "yes", 0, 0, NULL, NULL,
	    "hold the suspects for all destinations (no: report them)" },
	{ "notify_command", OG_CONF_STR, "", 0, 0, NULL, valid_command,
	    "run with the incident as JSON on standard input" },
	{ "notify_mail_to", OG_CONF_STR, "", 0, 0, NULL, valid_address,
	    "mail each incident event there through sendmail(1)" },
	{ "notify_webhook", OG_CONF_STR, "", 0, 0, NULL, valid_https,
	    "POST each incident event as JSON there" },
	{ "message_retention", OG_CONF_DURATION, "7d", 3600, 366 * 86400, NULL,
	    NULL, "how long who-sent-what records are kept" },
	{ "reply_rules", OG_CONF_STR, OG_SYSCONFDIR "/replies.rules", 0, 0,
	    NULL, valid_abspath,
	    "the reply classifier's rules file, outguard-replies(5)" },
	{ "milter_socket", OG_CONF_STR, "unix:/run/outguard/milter.sock", 0, 0,
	    NULL, valid_milter_socket,
	    "outguard-milter's socket, unix:/PATH or inet:PORT@HOST" },
	{ "milter_pid_file", OG_CONF_STR, "/run/outguard-milter.pid", 0, 0,
	    NULL, valid_abspath, "outguard-milter's pid file" },
	{ "identity_action", OG_CONF_STR, "reject", 0, 0, NULL, valid_action,
	    "what a failed identity check does" },
	{ "identity_reject_text", OG_CONF_STR,
	    "5.7.1 Sender address not allowed for this sender", 0, 0, NULL,
	    NULL, "the reply text of a refused identity check" },
	{ "identity_dry_run", OG_CONF_BOOL, "no", 0, 0, NULL, NULL,
	    "log the identity check's decisions, act on none" },
	{ "unsubscribe_action", OG_CONF_STR, "tag", 0, 0, NULL, valid_action,
	    "what a failed unsubscribe check does" },
	{ "unsubscribe_reject_text", OG_CONF_STR,
	    "5.7.1 Bulk mail needs a working one-click unsubscribe "
	    "(RFC 8058)",
	    0, 0, NULL, NULL, "the reply text of a refused unsubscribe check" },
	{ "unsubscribe_dry_run", OG_CONF_BOOL, "no", 0, 0, NULL, NULL,
	    "log the unsubscribe check's decisions, act on none" },
	{ "bulk_min_recipients", OG_CONF_UINT, "10", 1, 100000, NULL, NULL,
	    "more recipients than this make a message bulk" },
	{ "bulk_senders", OG_CONF_TABLE, "", 0, 0, "file|pcre|inline", NULL,
	    "envelope senders whose mail is always bulk" },
	{ "unsub_keywords", OG_CONF_STR, OG_SYSCONFDIR "/unsub-keywords", 0, 0,
	    NULL, valid_abspath,
	    "the unsubscribe keyword file (one word or phrase per line)" },
	{ "unsub_body_max_bytes", OG_CONF_UINT, "1048576", 1024,
	    64 * 1024 * 1024, NULL, NULL,
	    "body bytes scanned for an unsubscribe link" },
	{ "dns_resolver", OG_CONF_STR, "", 0, 0, NULL, valid_resolver,
	    "DNS server for SPF, DKIM and DMARC lookups, IP or IP@PORT "
	    "(empty: the system's)" },
	{ "dkim_domain", OG_CONF_LIST, "", 0, 2, NULL, valid_domain,
	    "the signing domain (d=), one per key" },
	{ "dkim_selector", OG_CONF_LIST, "", 0, 2, NULL, valid_selector,
	    "the selector (s=) of each key: an RSA and an Ed25519 one" },
	{ "dkim_key_file", OG_CONF_LIST, "", 0, 2, NULL, valid_abspath,
	    "the private key file (PEM) of each selector" },
	{ "dkim_key_table", OG_CONF_STR, "", 0, 0, NULL, valid_abspath,
	    "OpenDKIM KeyTable file: key name to domain:selector:keyfile" },
	{ "dkim_signing_table", OG_CONF_STR, "", 0, 0, NULL, valid_abspath,
	    "OpenDKIM SigningTable file: From address or domain to key names" },
	{ "dkim_require_safe_keys", OG_CONF_BOOL, "yes", 0, 0, NULL, NULL,
	    "refuse private keys that group or others can read or write" },
	{ "dkim_sign_headers", OG_CONF_LIST, "", 0, 64, NULL, NULL,
	    "header fields to sign (empty: RFC 6376's set plus "
	    "List-Unsubscribe and List-Unsubscribe-Post)" },
	{ "preflight_action", OG_CONF_STR, "tag", 0, 0, NULL, valid_action,
	    "what a failed SPF/DMARC preflight does" },
	{ "preflight_dry_run", OG_CONF_BOOL, "no", 0, 0, NULL, NULL,
	    "log the preflight's decisions, act on none" },
	{ "contact_name", OG_CONF_STR, "", 0, 0, NULL, NULL,
	    "who Microsoft should answer, for the delisting forms" },
	{ "contact_email", OG_CONF_STR, "", 0, 0, NULL, valid_address,
	    "the contact's address for the delisting forms" },
	{ "company_description", OG_CONF_STR, "", 0, 0, NULL, NULL,
	    "what the company does, for the delisting forms" },
	{ "server_type", OG_CONF_STR, "", 0, 0, NULL, valid_server_type,
	    "dedicated (one sender) or shared (several customers)" },
	{ "website_url", OG_CONF_STR, "", 0, 0, NULL, valid_web_url,
	    "the company's web site, for the delisting forms" },
	{ "dry_run", OG_CONF_BOOL, "no", 0, 0, NULL, NULL,
	    "log what would be done, change nothing" },
	{ NULL, OG_CONF_STR, NULL, 0, 0, NULL, NULL, NULL },
};

const struct og_conf_spec *
og_conf_schema(void)
{
	return schema;
}

/*
 * confspec.c - the schema of outguard.conf: every setting of every program
 * DESCRIPTION: one row per setting (name, type, default, range, choices,
 *	validator, one-line doc). outguard.conf(5) documents each row, and
 *	tests/lint/conf-documented.sh fails when one is missing there.
 *	Validators check form only; they never touch the network.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
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
	if (strncmp(v, "sqlite:", 7) == 0 && v[7] == '/')
		return 0;
	if (strncmp(v, "pgsql:", 6) == 0) {
		(void)og_strbuf_adds(err,
		    "the PostgreSQL store is not built "
		    "yet");
		return -1;
	}
	(void)og_strbuf_adds(err, "expected sqlite:/absolute/path");
	return -1;
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
	{ "policyd_listen", OG_CONF_STR,
	    "unix:/var/spool/postfix/private/outguard-policy", 0, 0, NULL,
	    valid_listen, "the policy service socket of outguard-policyd" },
	{ "policyd_pid_file", OG_CONF_STR, "/run/outguard-policyd.pid", 0, 0,
	    NULL, valid_abspath, "outguard-policyd's pid file" },
	{ "provider_domains", OG_CONF_TABLE, "", 0, 0, "file", NULL,
	    "recipient domains of each provider (contrib/providers)" },
	{ "message_retention", OG_CONF_DURATION, "7d", 3600, 366 * 86400, NULL,
	    NULL, "how long who-sent-what records are kept" },
	{ "reply_rules", OG_CONF_STR, OG_SYSCONFDIR "/replies.rules", 0, 0,
	    NULL, valid_abspath,
	    "the reply classifier's rules file, outguard-replies(5)" },
	{ "dry_run", OG_CONF_BOOL, "no", 0, 0, NULL, NULL,
	    "log what would be done, change nothing" },
	{ NULL, OG_CONF_STR, NULL, 0, 0, NULL, NULL, NULL },
};

const struct og_conf_spec *
og_conf_schema(void)
{
	return schema;
}

/*
 * identity.c - the sender identity check of outguard-milter
 * DESCRIPTION: see identity.h for the rules. Why they look like this: a
 *	leaked mailbox password or a planted web script is what gets a
 *	shared IP onto Microsoft's block list, and the first thing such a
 *	sender does is to forge someone else's address. Tying the login to
 *	its addresses (as Postfix's reject_sender_login_mismatch does) and
 *	the From header to the envelope (as DMARC relaxed alignment does)
 *	leaves a hijacked account only its own name to spend.
 *	Everything here is a pure function of its arguments and the
 *	(immutable, shared) tables, so it is safe in any milter thread.
 * DIAGNOSTICS: none logged here; the verdict carries the reason.
 */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "identity.h"
#include "table.h"
#include "util.h"

#define LOGIN_SEPS ", \t\r\n"

static const char *const res_names[] = { "pass", "fail", "skip", "exempt",
	"error" };
static const char *const origin_names[] = { "auth", "internal", "local",
	"external" };

const char *
og_identity_res_name(enum og_identity_res r)
{
	return (size_t)r < OG_NELEM(res_names) ? res_names[r] : "?";
}

const char *
og_identity_origin_name(enum og_identity_origin o)
{
	return (size_t)o < OG_NELEM(origin_names) ? origin_names[o] : "?";
}

static int
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* login_listed - is login one of the words of list (the table value)? */
static int
login_listed(const char *list, const char *login)
{
	size_t n, llen = strlen(login);
	const char *p = list;

	while (*p != '\0') {
		p += strspn(p, LOGIN_SEPS);
		n = strcspn(p, LOGIN_SEPS);
		if (n > 0 && n == llen &&
		    og_strncasecmp_ascii(p, login, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

int
og_identity_owns(
    const struct og_table *maps, const char *login, const char *addr)
{
	const char *value, *at;
	char key[OG_ADDR_DOMAIN_MAX + 2];
	int r;

	if (empty(login) || empty(addr))
		return OG_NOTFOUND;
	if (maps == NULL)
		return strchr(login, '@') != NULL &&
		        og_strcasecmp_ascii(login, addr) == 0
		    ? OG_FOUND
		    : OG_NOTFOUND;
	/* Postfix smtpd_sender_login_maps: the address, then @domain */
	if ((r = og_table_lookup(maps, addr, &value)) == OG_ERROR)
		return OG_ERROR;
	if (r == OG_FOUND)
		return login_listed(value, login) ? OG_FOUND : OG_NOTFOUND;
	if (strcmp(og_table_type(maps), "file") != 0 ||
	    (at = strrchr(addr, '@')) == NULL || strlen(at) >= sizeof(key))
		return OG_NOTFOUND;
	(void)og_strlcpy(key, at, sizeof(key));
	if ((r = og_table_lookup(maps, key, &value)) != OG_FOUND)
		return r;
	return login_listed(value, login) ? OG_FOUND : OG_NOTFOUND;
}

int
og_identity_parse_from(
    const char *value, size_t len, struct og_addr *out, const char **reason)
{
	struct og_addr_list l;
	const char *err;
	size_t i;

	if (value == NULL || og_addr_parse_list(value, len, &l, &err) < 0) {
		*reason = "from-syntax";
		return -1;
	}
	if (l.count != 1 || l.groups != 0) {
		og_addr_list_clear(&l);
		*reason = "from-addresses";
		return -1;
	}
	if (l.addrs[0].domain == NULL || l.addrs[0].local[0] == '\0') {
		og_addr_list_clear(&l);
		*reason = "from-syntax";
		return -1;
	}
	*out = l.addrs[0];
	/* the one mailbox now belongs to *out: free only the array */
	for (i = 1; i < l.count; i++)
		og_addr_clear(&l.addrs[i]);
	og_free(l.addrs);
	return 0;
}

/* format_lc - "local@domain" lowercased for lookups, or NULL */
static char *
format_lc(const struct og_addr *a)
{
	char *s = og_addr_format(a);

	return s != NULL ? og_lowercase(s) : NULL;
}

static int
is_local_domain(const struct og_identity_policy *p, const char *domain)
{
	size_t i;

	if (domain == NULL)
		return 0;
	for (i = 0; i < p->nlocal; i++)
		if (og_strcasecmp_ascii(p->local_domains[i], domain) == 0)
			return 1;
	return 0;
}

static enum og_identity_res
verdict(
    struct og_identity_verdict *v, enum og_identity_res r, const char *reason)
{
	v->res = r;
	v->reason = reason;
	return r;
}

/* origin - who is sending: a login, an internal host, a local process */
int
og_identity_origin(const struct og_identity_policy *p,
    const struct og_identity_msg *m, enum og_identity_origin *out)
{
	const char *value;
	int r;

	if (!empty(m->login))
		*out = OG_ORIGIN_AUTH;
	else if (empty(m->client_addr))
		*out = OG_ORIGIN_LOCAL;
	else if (p->internal_hosts == NULL)
		*out = OG_ORIGIN_EXTERNAL;
	else if ((r = og_table_lookup(
	              p->internal_hosts, m->client_addr, &value)) == OG_ERROR)
		return -1;
	else
		*out = r == OG_FOUND ? OG_ORIGIN_INTERNAL : OG_ORIGIN_EXTERNAL;
	return 0;
}

/* check_auth - the login owns the envelope, and owns or aligns From */
static enum og_identity_res
check_auth(const struct og_identity_policy *p, const struct og_identity_msg *m,
    const struct og_addr *env, const struct og_addr *from,
    struct og_identity_verdict *v)
{
	char *ea = NULL, *fa;
	int r = OG_FOUND;

	if (env->domain != NULL || env->local[0] != '\0') {
		if ((ea = format_lc(env)) == NULL)
			return verdict(v, OG_IDENTITY_FAIL, "envelope-syntax");
		if (p->login_maps != NULL)
			r = og_identity_owns(p->login_maps, m->login, ea);
		og_free(ea);
		if (r == OG_ERROR)
			return verdict(v, OG_IDENTITY_ERROR, "lookup-error");
		if (r != OG_FOUND)
			return verdict(
			    v, OG_IDENTITY_FAIL, "envelope-not-owned");
		if (og_domain_aligned(from->domain, env->domain, 0))
			return verdict(v, OG_IDENTITY_PASS, "");
	}
	if ((fa = format_lc(from)) == NULL)
		return verdict(v, OG_IDENTITY_FAIL, "from-syntax");
	r = og_identity_owns(p->login_maps, m->login, fa);
	og_free(fa);
	if (r == OG_ERROR)
		return verdict(v, OG_IDENTITY_ERROR, "lookup-error");
	return r == OG_FOUND
	    ? verdict(v, OG_IDENTITY_PASS, "")
	    : verdict(v, OG_IDENTITY_FAIL, "header-from-not-owned");
}

/* check_local - internal and local senders: local_domains only */
static enum og_identity_res
check_local(const struct og_identity_policy *p, const struct og_addr *env,
    const struct og_addr *from, struct og_identity_verdict *v)
{
	int null_sender = env->domain == NULL && env->local[0] == '\0';

	if (!null_sender && !is_local_domain(p, env->domain))
		return verdict(
		    v, OG_IDENTITY_FAIL, "envelope-not-local-domain");
	if (!is_local_domain(p, from->domain))
		return verdict(
		    v, OG_IDENTITY_FAIL, "header-from-not-local-domain");
	return verdict(v, OG_IDENTITY_PASS, "");
}

/* is_notification - outguard's own mail (policy/watcher.c's sender) */
static int
is_notification(const struct og_identity_policy *p, const struct og_addr *env)
{
	char *ea;
	int r;

	if (empty(p->notify_sender) || env->domain == NULL)
		return 0;
	if ((ea = og_addr_format(env)) == NULL)
		return 0;
	r = og_strcasecmp_ascii(ea, p->notify_sender) == 0;
	og_free(ea);
	return r;
}

static void
log_from(struct og_identity_verdict *v, const struct og_addr *from)
{
	char *s = og_addr_format(from);

	if (s != NULL)
		(void)og_strlcpy(v->from, s, sizeof(v->from));
	og_free(s);
}

void
og_identity_check(const struct og_identity_policy *p,
    const struct og_identity_msg *m, struct og_identity_verdict *v)
{
	struct og_addr env, from;
	const char *why, *e = m->envelope != NULL ? m->envelope : "";

	memset(v, 0, sizeof(*v));
	v->reason = "";
	if (og_identity_origin(p, m, &v->origin) < 0) {
		(void)verdict(v, OG_IDENTITY_ERROR, "lookup-error");
		return;
	}
	if (v->origin == OG_ORIGIN_EXTERNAL) {
		(void)verdict(v, OG_IDENTITY_SKIP, "inbound");
		return;
	}
	if (v->origin != OG_ORIGIN_AUTH && p->nlocal == 0) {
		(void)verdict(v, OG_IDENTITY_SKIP, "no-local-domains");
		return;
	}
	if (og_addr_parse_path(e, strlen(e), &env, &why) < 0) {
		(void)verdict(v, OG_IDENTITY_FAIL, "envelope-syntax");
		return;
	}
	if (v->origin != OG_ORIGIN_AUTH && is_notification(p, &env)) {
		og_addr_clear(&env);
		(void)verdict(v, OG_IDENTITY_EXEMPT, "outguard-notification");
		return;
	}
	if (p->off)
		(void)verdict(v, OG_IDENTITY_SKIP, "off");
	else if (m->nfrom != 1 || m->from[0] == NULL)
		(void)verdict(v, OG_IDENTITY_FAIL, "from-count");
	else if (og_identity_parse_from(
	             m->from[0], strlen(m->from[0]), &from, &why) < 0)
		(void)verdict(v, OG_IDENTITY_FAIL, why);
	else {
		log_from(v, &from);
		if (v->origin == OG_ORIGIN_AUTH)
			(void)check_auth(p, m, &env, &from, v);
		else
			(void)check_local(p, &env, &from, v);
		og_addr_clear(&from);
	}
	og_addr_clear(&env);
}

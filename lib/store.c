/*
 * store.c - outguard's persistent store: the back-end-neutral half
 * DESCRIPTION: picks the back end by the spec's prefix, and checks every
 *	argument before a back end sees it: identities and scopes are
 *	validated, strings are bounded (rejected whole, never truncated),
 *	numbers are range-checked, so bad input can neither corrupt the
 *	store nor reach a query half-written. Everything that touches a
 *	database lives behind struct store_ops (store_int.h).
 * DIAGNOSTICS: each failing call logs once with og_warnx() and leaves
 *	its description in the handle for og_store_error(). og_store_open()
 *	and og_store_spec_valid() describe their failure in the caller's
 *	buffer instead.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "strbuf.h"
#include "util.h"

#define SPEC_ARG_MAX 4095 /* bytes after "type:", e.g. PATH_MAX - 1 */
#define SHOW_MAX 64 /* bytes of bad input quoted in an error */

/*
 * The back ends by spec prefix. A NULL ops is a back end that is named
 * in the design but not compiled in; it gets its own message rather
 * than "unknown".
 */
static const struct {
	const char *name;
	const struct store_ops *ops;
} backends[] = {
	{ "sqlite", &og_store_sqlite_ops },
	{ "pgsql", NULL },
};

void
og_store_seterr(struct og_store *st, const char *fmt, ...)
{
	va_list ap;

	og_strbuf_reset(&st->err);
	if (og_strbuf_addf(&st->err, "%s: ", st->spec) < 0)
		og_strbuf_reset(&st->err);
	va_start(ap, fmt);
	if (og_strbuf_vaddf(&st->err, fmt, ap) < 0)
		(void)og_strbuf_adds(&st->err, "(error text too long)");
	va_end(ap);
}

void
og_store_hold_detail(
    struct og_strbuf *sb, const char *scope, int64_t until, int64_t incident)
{
	(void)og_strbuf_adds(sb, "scope=");
	og_kv_escape(sb, scope, strlen(scope));
	(void)og_strbuf_addf(sb, " until=%lld incident=%lld", (long long)until,
	    (long long)incident);
}

void
og_store_release_detail(
    struct og_strbuf *sb, const char *scope, int64_t hold_id, int64_t until)
{
	(void)og_strbuf_adds(sb, "scope=");
	og_kv_escape(sb, scope, strlen(scope));
	(void)og_strbuf_addf(
	    sb, " hold=%lld until=%lld", (long long)hold_id, (long long)until);
}

/* fail - log the handle's error once; returns OG_ERROR */
static int
fail(struct og_store *st)
{
	og_warnx("%s", og_strbuf_str(&st->err));
	return OG_ERROR;
}

/* bad_arg - describe rejected input, quoting at most SHOW_MAX bytes */
static int
bad_arg(struct og_store *st, const char *op, const char *what,
    const char *value, const char *why)
{
	struct og_strbuf show;

	og_strbuf_init(&show, 8 * SHOW_MAX);
	if (value != NULL)
		og_kv_escape(&show, value, strnlen(value, SHOW_MAX));
	og_store_seterr(st, "%s: %s %s%s%s", op, what, why,
	    value != NULL ? ": " : "", og_strbuf_str(&show));
	og_strbuf_release(&show);
	return fail(st);
}

#define STR_NULL_OK 0x1 /* NULL is allowed (stored as NULL or "") */
#define STR_NONEMPTY 0x2 /* "" is not allowed */

/* str_problem - why s breaks check_str()'s rules, or NULL */
static const char *
str_problem(const char *s, size_t max, int flags)
{
	if (s == NULL)
		return (flags & STR_NULL_OK) ? NULL : "missing";
	if ((flags & STR_NONEMPTY) && *s == '\0')
		return "empty";
	if (strnlen(s, max + 1) > max)
		return "too long";
	return NULL;
}

/* check_str - s within max bytes, present and non-empty as flags say */
static int
check_str(struct og_store *st, const char *op, const char *what, const char *s,
    size_t max, int flags)
{
	const char *why = str_problem(s, max, flags);

	if (why == NULL)
		return 0;
	/* quote the value only when there is one to show */
	return bad_arg(
	    st, op, what, strcmp(why, "too long") == 0 ? s : NULL, why);
}

/* spec_backend - split "name:arg"; 0 with *ops (maybe NULL), or -1 */
static int
spec_backend(const char *spec, const struct store_ops **ops, const char **arg,
    struct og_strbuf *err)
{
	const char *colon;
	size_t i, n;

	if (spec == NULL || (colon = strchr(spec, ':')) == NULL) {
		(void)og_strbuf_adds(err,
		    "store is not of the form type:name "
		    "(expected sqlite:/path/to/file.db)");
		return -1;
	}
	n = (size_t)(colon - spec);
	for (i = 0; i < OG_NELEM(backends); i++) {
		if (strlen(backends[i].name) != n ||
		    memcmp(backends[i].name, spec, n) != 0)
			continue;
		if (backends[i].ops == NULL) {
			(void)og_strbuf_addf(err,
			    "store type \"%s\" is not built yet",
			    backends[i].name);
			return -1;
		}
		*ops = backends[i].ops;
		*arg = colon + 1;
		return 0;
	}
	(void)og_strbuf_adds(err, "unknown store type ");
	og_str_quote(err, spec, n < SHOW_MAX ? n : SHOW_MAX);
	(void)og_strbuf_adds(err, " (expected sqlite or pgsql)");
	return -1;
}

int
og_store_spec_valid(const char *spec, struct og_strbuf *err)
{
	const struct store_ops *ops = NULL;
	const char *arg = NULL;
	struct og_strbuf why;
	int rc;

	og_strbuf_init(&why, OG_STORE_ERR_MAX);
	rc = spec_backend(spec, &ops, &arg, &why);
	if (rc == 0 && strnlen(arg, SPEC_ARG_MAX + 1) > SPEC_ARG_MAX) {
		(void)og_strbuf_adds(&why, "store name too long");
		rc = -1;
	}
	if (rc == 0)
		rc = ops->check(arg, &why);
	if (rc < 0 && err != NULL)
		(void)og_strbuf_adds(err, og_strbuf_str(&why));
	og_strbuf_release(&why);
	return rc;
}

struct og_store *
og_store_open(const char *spec, struct og_strbuf *err)
{
	const struct store_ops *ops = NULL;
	const char *arg = NULL;
	struct og_strbuf why;
	struct og_store *st = NULL;

	og_strbuf_init(&why, OG_STORE_ERR_MAX);
	if (og_store_spec_valid(spec, &why) == 0 &&
	    spec_backend(spec, &ops, &arg, &why) == 0) {
		st = og_calloc(1, sizeof(*st));
		st->ops = ops;
		st->spec = og_strdup(spec);
		og_strbuf_init(&st->err, OG_STORE_ERR_MAX);
		if (ops->open(st, arg) < 0) {
			(void)og_strbuf_adds(&why, og_strbuf_str(&st->err));
			og_strbuf_release(&st->err);
			og_free(st->spec);
			st = og_free(st);
		}
	}
	if (st == NULL) {
		if (err != NULL) {
			og_strbuf_reset(err);
			(void)og_strbuf_adds(err, og_strbuf_str(&why));
		} else
			og_warnx("%s", og_strbuf_str(&why));
	}
	og_strbuf_release(&why);
	return st;
}

struct og_store *
og_store_close(struct og_store *st)
{
	if (st == NULL)
		return NULL;
	st->ops->close(st);
	og_strbuf_release(&st->err);
	og_free(st->spec);
	return og_free(st);
}

const char *
og_store_error(const struct og_store *st)
{
	return og_strbuf_str(&st->err);
}

/*
 * Identities. Each is matched as a string by the policy service, so
 * each kind has one spelling: lowercase senders, no leading zeros.
 */

/* valid_sasl - 1..255 bytes, no space, control or DEL (UTF-8 allowed) */
static int
valid_sasl(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > 255)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/* valid_sender - "<>", or lowercase local@domain without space or <> */
static int
valid_sender(const char *s, size_t n)
{
	size_t i, at = 0;

	if (n == 2 && memcmp(s, "<>", 2) == 0)
		return 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' ||
		    (c >= 'A' && c <= 'Z'))
			return 0;
		if (c == '@')
			at = i;
	}
	/* the last "@" splits: a quoted local part may hold another */
	return at > 0 && at < n - 1;
}

/* valid_decimal - 1..maxdigits digits, no leading zero, <= max */
static int
valid_decimal(const char *s, size_t n, size_t maxdigits, unsigned long long max)
{
	char buf[24];
	unsigned long long v;

	if (n < 1 || n > maxdigits || n >= sizeof(buf) ||
	    (n > 1 && s[0] == '0'))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return og_parse_uint(buf, 0, max, &v) == 0;
}

/* valid_client - an IPv4 or IPv6 address, optionally "/LEN" */
static int
valid_client(const char *s, size_t n)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *slash;
	size_t iplen;
	int af;

	slash = memchr(s, '/', n);
	iplen = slash != NULL ? (size_t)(slash - s) : n;
	if (iplen < 1 || iplen >= sizeof(ip))
		return 0;
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';
	af = memchr(ip, ':', iplen) != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, ip, bin) != 1)
		return 0;
	if (slash == NULL)
		return 1;
	return valid_decimal(
	    slash + 1, n - iplen - 1, 3, af == AF_INET ? 32 : 128);
}

static int
valid_uid(const char *s, size_t n)
{
	return valid_decimal(s, n, 10, 4294967295ULL);
}

/* valid_provider - [a-z0-9-]{1,64} */
static int
valid_provider(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
og_store_identity_valid(const char *id)
{
	static const struct {
		const char *prefix;
		int (*valid)(const char *, size_t);
	} kinds[] = {
		{ "sasl:", valid_sasl },
		{ "sender:", valid_sender },
		{ "client:", valid_client },
		{ "uid:", valid_uid },
		{ "provider:", valid_provider },
	};
	size_t i, len;

	if (id == NULL ||
	    (len = strnlen(id, OG_IDENTITY_MAX + 1)) > OG_IDENTITY_MAX)
		return 0;
	for (i = 0; i < OG_NELEM(kinds); i++) {
		size_t plen = strlen(kinds[i].prefix);

		if (len >= plen && memcmp(id, kinds[i].prefix, plen) == 0)
			return kinds[i].valid(id + plen, len - plen);
	}
	return 0;
}

int
og_store_scope_valid(const char *scope)
{
	if (scope == NULL)
		return 0;
	if (strcmp(scope, "all") == 0)
		return 1;
	return strncmp(scope, "provider:", 9) == 0 &&
	    og_store_identity_valid(scope);
}

/*
 * msgrec_problem - NULL if m may be stored, else the name of the field
 * at fault; *why says what is wrong, *value is the string (or NULL)
 */
static const char *
msgrec_problem(const struct og_msgrec *m, const char **why, const char **value)
{
	static const struct {
		const char *name;
		size_t off;
		size_t max;
		int flags;
	} fields[] = {
#define F(f, max, flags) { #f, offsetof(struct og_msgrec, f), (max), (flags) }
		F(host, OG_STORE_FIELD_MAX, STR_NONEMPTY),
		F(queue_id, OG_STORE_FIELD_MAX, STR_NONEMPTY),
		F(sasl_username, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(sasl_method, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(client_address, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(client_name, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(sender, OG_STORE_FIELD_MAX, 0),
		F(rcpt_summary, OG_STORE_TEXT_MAX, STR_NULL_OK),
#undef F
	};
	const char *v;
	size_t j;

	*value = NULL;
	for (j = 0; j < OG_NELEM(fields); j++) {
		memcpy(&v, (const char *)m + fields[j].off, sizeof(v));
		if ((*why = str_problem(v, fields[j].max, fields[j].flags)) !=
		    NULL) {
			*value = strcmp(*why, "too long") == 0 ? v : NULL;
			return fields[j].name;
		}
	}
	*why = "negative";
	if (m->time < 0)
		return "time";
	if (m->recipient_count < 0)
		return "recipient_count";
	if (m->size < 0)
		return "size";
	*why = NULL;
	return NULL;
}

int
og_store_msgrec_valid(const struct og_msgrec *m)
{
	const char *why, *value;

	return m != NULL && msgrec_problem(m, &why, &value) == NULL;
}

int
og_store_add_messages(struct og_store *st, const struct og_msgrec *m, size_t n)
{
	size_t i;

	og_strbuf_reset(&st->err);
	if (n == 0)
		return 0;
	if (m == NULL)
		return bad_arg(st, "add messages", "records", NULL, "missing");
	for (i = 0; i < n; i++) {
		const char *field, *why, *value;
		struct og_strbuf what;

		if ((field = msgrec_problem(&m[i], &why, &value)) == NULL)
			continue;
		og_strbuf_init(&what, 128);
		(void)og_strbuf_addf(&what, "record %zu %s", i, field);
		(void)bad_arg(
		    st, "add messages", og_strbuf_str(&what), value, why);
		og_strbuf_release(&what);
		return OG_ERROR;
	}
	if (st->ops->add_messages(st, m, n) < 0)
		return fail(st);
	return 0;
}

int
og_store_find_message(struct og_store *st, const char *host,
    const char *queue_id, struct og_msgrec_owned *out)
{
	static const char op[] = "find message";
	struct og_msgrec_owned m;
	int rc;

	og_strbuf_reset(&st->err);
	if (check_str(st, op, "host", host, OG_STORE_FIELD_MAX, STR_NONEMPTY) <
	        0 ||
	    check_str(st, op, "queue id", queue_id, OG_STORE_FIELD_MAX,
	        STR_NONEMPTY) < 0)
		return OG_ERROR;
	memset(&m, 0, sizeof(m));
	if ((rc = st->ops->find_message(st, host, queue_id, &m)) < 0)
		return fail(st);
	if (rc == OG_FOUND && out != NULL)
		*out = m;
	else
		og_store_msgrec_clear(&m);
	return rc;
}

void
og_store_msgrec_clear(struct og_msgrec_owned *m)
{
	if (m == NULL)
		return;
	og_free(m->host);
	og_free(m->queue_id);
	og_free(m->sasl_username);
	og_free(m->sasl_method);
	og_free(m->client_address);
	og_free(m->client_name);
	og_free(m->sender);
	og_free(m->rcpt_summary);
	memset(m, 0, sizeof(*m));
}

int
og_store_prune_messages(
    struct og_store *st, int64_t before, int limit, long *deleted)
{
	long n = 0;

	og_strbuf_reset(&st->err);
	if (limit < 1)
		return bad_arg(
		    st, "prune messages", "limit", NULL, "must be at least 1");
	if (st->ops->prune_messages(st, before, limit, &n) < 0)
		return fail(st);
	if (deleted != NULL)
		*deleted = n;
	return 0;
}

int
og_store_hold(
    struct og_store *st, const struct og_hold *h, int64_t now, int64_t *id)
{
	static const char op[] = "hold";
	struct og_hold c;
	int64_t hid = 0;
	int rc;

	og_strbuf_reset(&st->err);
	if (h == NULL)
		return bad_arg(st, op, "hold", NULL, "missing");
	if (!og_store_identity_valid(h->identity))
		return bad_arg(st, op, "identity", h->identity, "is not valid");
	if (h->scope != NULL && !og_store_scope_valid(h->scope))
		return bad_arg(st, op, "scope", h->scope,
		    "is not \"all\" or a provider:NAME");
	if (check_str(st, op, "reason", h->reason, OG_STORE_FIELD_MAX,
	        STR_NULL_OK) < 0 ||
	    check_str(st, op, "created_by", h->created_by, OG_STORE_FIELD_MAX,
	        STR_NONEMPTY) < 0)
		return OG_ERROR;
	if (now < 0 || h->incident < 0 || h->until < 0)
		return bad_arg(
		    st, op, "time, until or incident", NULL, "is negative");
	if (h->until != 0 && h->until <= now)
		return bad_arg(st, op, "until", NULL, "is not in the future");
	c = *h;
	/* the back end takes the hold as const: the casts write nothing */
	c.scope = h->scope != NULL ? h->scope : (char *)"all";
	c.reason = h->reason != NULL ? h->reason : (char *)"";
	c.since = now;
	if ((rc = st->ops->hold(st, &c, now, &hid)) < 0)
		return fail(st);
	if (id != NULL)
		*id = hid;
	return rc;
}

int
og_store_release(struct og_store *st, const char *identity, const char *scope,
    const char *actor, const char *reason, int64_t now)
{
	static const char op[] = "release";
	int rc;

	og_strbuf_reset(&st->err);
	if (!og_store_identity_valid(identity))
		return bad_arg(st, op, "identity", identity, "is not valid");
	if (scope != NULL && !og_store_scope_valid(scope))
		return bad_arg(st, op, "scope", scope,
		    "is not \"all\" or a provider:NAME");
	if (check_str(
	        st, op, "actor", actor, OG_STORE_FIELD_MAX, STR_NONEMPTY) < 0 ||
	    check_str(
	        st, op, "reason", reason, OG_STORE_FIELD_MAX, STR_NULL_OK) < 0)
		return OG_ERROR;
	if (now < 0)
		return bad_arg(st, op, "time", NULL, "is negative");
	rc = st->ops->release(
	    st, identity, scope, actor, reason != NULL ? reason : "", now);
	return rc < 0 ? fail(st) : rc;
}

int
og_store_holds(
    struct og_store *st, int64_t now, struct og_hold **out, size_t *n)
{
	struct og_hold *h = NULL;
	size_t count = 0;

	og_strbuf_reset(&st->err);
	if (st->ops->holds(st, now, &h, &count) < 0)
		return fail(st);
	*out = h;
	*n = count;
	return 0;
}

void
og_store_holds_free(struct og_hold *h, size_t n)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < n; i++) {
		og_free(h[i].identity);
		og_free(h[i].scope);
		og_free(h[i].reason);
		og_free(h[i].created_by);
	}
	og_free(h);
}

int
og_store_generation(struct og_store *st, uint64_t *gen)
{
	uint64_t g = 0;

	og_strbuf_reset(&st->err);
	if (st->ops->generation(st, &g) < 0)
		return fail(st);
	*gen = g;
	return 0;
}

int
og_store_audit(struct og_store *st, int64_t now, const char *actor,
    const char *action, const char *subject, const char *reason,
    const char *detail)
{
	static const char op[] = "audit";

	og_strbuf_reset(&st->err);
	if (check_str(
	        st, op, "actor", actor, OG_STORE_FIELD_MAX, STR_NONEMPTY) < 0 ||
	    check_str(st, op, "action", action, OG_STORE_FIELD_MAX,
	        STR_NONEMPTY) < 0 ||
	    check_str(st, op, "subject", subject, OG_STORE_FIELD_MAX,
	        STR_NULL_OK) < 0 ||
	    check_str(st, op, "reason", reason, OG_STORE_FIELD_MAX,
	        STR_NULL_OK) < 0 ||
	    check_str(
	        st, op, "detail", detail, OG_STORE_TEXT_MAX, STR_NULL_OK) < 0)
		return OG_ERROR;
	if (now < 0)
		return bad_arg(st, op, "time", NULL, "is negative");
	if (st->ops->audit(st, now, actor, action, subject, reason, detail) < 0)
		return fail(st);
	return 0;
}

int
og_store_audit_list(
    struct og_store *st, int64_t since, struct og_audit **out, size_t *n)
{
	struct og_audit *a = NULL;
	size_t count = 0;

	og_strbuf_reset(&st->err);
	if (st->ops->audit_list(st, since, &a, &count) < 0)
		return fail(st);
	*out = a;
	*n = count;
	return 0;
}

void
og_store_audit_free(struct og_audit *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++) {
		og_free(a[i].actor);
		og_free(a[i].action);
		og_free(a[i].subject);
		og_free(a[i].reason);
		og_free(a[i].detail);
	}
	og_free(a);
}

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
	{ "pgsql", &og_store_pgsql_ops },
};

void
og_store_seterr(struct og_store *st, const char *fmt, ...)
{
	va_list ap;

	og_strbuf_reset(&st->err);
	if (og_strbuf_addf(&st->err, "%s: ", st->spec) < 0)
		og_strbuf_reset(&st->err);
	size_t i, j;

	va_start(ap, fmt);
	if (og_strbuf_vaddf(&st->err, fmt, ap) < 0)
		(void)og_strbuf_adds(&st->err, "(error text too long)");
	va_end(ap);
	/* one log line: a server's multi-line message joined with spaces */
	for (i = j = 0; i < st->err.len; i++) {
		char c = st->err.data[i];

		if (c == '\n' || c == '\r' || c == '\t') {
			if (j > 0 && st->err.data[j - 1] != ' ')
				st->err.data[j++] = ' ';
		} else
			st->err.data[j++] = c;
	}
	og_strbuf_truncate(&st->err, j);
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
	if (st->quiet)
		return OG_ERROR;
	/*
	 * A lost server fails every call on every handle until it is back:
	 * that is logged once a minute per handle, not once per call.
	 */
	if (strstr(og_strbuf_str(&st->err), ": connection lost: ") != NULL)
		og_warnx_rl(&st->rl_lost, "%s", og_strbuf_str(&st->err));
	else
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

static struct og_store *open_spec(const char *, int, struct og_strbuf *);

struct og_store *
og_store_open(const char *spec, struct og_strbuf *err)
{
	return open_spec(spec, 0, err);
}

struct og_store *
og_store_open_lazy(const char *spec, struct og_strbuf *err)
{
	return open_spec(spec, 1, err);
}

static struct og_store *
open_spec(const char *spec, int lazy, struct og_strbuf *err)
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
		st->rl_lost = (struct og_ratelimit)OG_RATELIMIT_INIT(60, 1);
		st->lazy = lazy;
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
	} else if (err != NULL) {
		/* lazy: why the server is not there yet, or nothing */
		og_strbuf_reset(err);
		(void)og_strbuf_adds(err, og_strbuf_str(&st->err));
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

void
og_store_set_quiet(struct og_store *st, int on)
{
	st->quiet = on != 0;
}

int
og_store_inspect(
    const char *spec, struct og_store_info *out, struct og_strbuf *err)
{
	const struct store_ops *ops = NULL;
	const char *arg = NULL;
	struct og_store st;
	int rc = -1;

	og_strbuf_reset(err);
	if (og_store_spec_valid(spec, err) < 0 ||
	    spec_backend(spec, &ops, &arg, err) < 0)
		return -1;
	memset(&st, 0, sizeof(st));
	st.ops = ops;
	st.spec = og_strdup(spec);
	og_strbuf_init(&st.err, OG_STORE_ERR_MAX);
	memset(out, 0, sizeof(*out));
	out->backend = ops->name;
	out->messages = out->holds = out->audit = -1;
	out->blocks = out->incidents = -1;
	if (ops->inspect(&st, arg, out) == 0)
		rc = 0;
	else
		(void)og_strbuf_adds(err, og_strbuf_str(&st.err));
	og_strbuf_release(&st.err);
	og_free(st.spec);
	return rc;
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

/*
 * Message scans. The back end pages through the rows, so cb may use
 * this handle (another thread's handle is still better for writes).
 */

int
og_store_messages_scan(struct og_store *st, const char *host, int64_t since,
    int64_t until, int (*cb)(const struct og_msgrec *, void *), void *arg)
{
	static const char op[] = "scan messages";
	int stop = 0;

	og_strbuf_reset(&st->err);
	if (check_str(st, op, "host", host, OG_STORE_FIELD_MAX,
	        STR_NULL_OK | STR_NONEMPTY) < 0)
		return OG_ERROR;
	if (cb == NULL)
		return bad_arg(st, op, "callback", NULL, "missing");
	if (since >= until)
		return 0;
	if (st->ops->messages_scan(st, host, since, until, cb, arg, &stop) < 0)
		return fail(st);
	return stop;
}

/*
 * Evidence (schema version 2): block rows and the incidents that group
 * them. Optional strings given as "" are stored as NULL ("unknown"), so
 * that the aggregation key and the filters see one spelling of
 * "unknown"; egress IPs are stored in inet_ntop(3) form, so that one
 * address is one incident key however the reply wrote it.
 */

void
og_store_incident_detail(struct og_strbuf *sb, const char *from,
    const char *provider, const char *egress_ip)
{
	if (from != NULL) {
		(void)og_strbuf_adds(sb, "from=");
		og_kv_escape(sb, from, strlen(from));
		(void)og_strbuf_addc(sb, ' ');
	}
	(void)og_strbuf_adds(sb, "provider=");
	og_kv_escape(sb, provider, strlen(provider));
	if (egress_ip != NULL) {
		(void)og_strbuf_adds(sb, " egress_ip=");
		og_kv_escape(sb, egress_ip, strlen(egress_ip));
	}
}

/* valid_state - one of the three incident states */
static int
valid_state(const char *s)
{
	return s != NULL &&
	    (strcmp(s, "open") == 0 || strcmp(s, "released") == 0 ||
	        strcmp(s, "confirmed") == 0);
}

/*
 * egress_arg - *out is NULL (unknown) for NULL or "", else ip in
 * inet_ntop(3) form in buf (INET6_ADDRSTRLEN bytes); -1 if not an IP
 */
static int
egress_arg(struct og_store *st, const char *op, const char *ip, char *buf,
    const char **out)
{
	unsigned char bin[sizeof(struct in6_addr)];
	int af;

	*out = NULL;
	if (ip == NULL || *ip == '\0')
		return 0;
	if (strnlen(ip, INET6_ADDRSTRLEN) >= INET6_ADDRSTRLEN)
		return bad_arg(st, op, "egress_ip", ip, "is not an IP address");
	af = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, ip, bin) != 1 ||
	    inet_ntop(af, bin, buf, INET6_ADDRSTRLEN) == NULL)
		return bad_arg(st, op, "egress_ip", ip, "is not an IP address");
	*out = buf;
	return 0;
}

/* provider_arg - p a provider name ([a-z0-9-]{1,64}), or NULL if null_ok */
static int
provider_arg(struct og_store *st, const char *op, const char *p, int null_ok)
{
	if (p == NULL && null_ok)
		return 0;
	if (p == NULL)
		return bad_arg(st, op, "provider", NULL, "missing");
	if (!valid_provider(p, strnlen(p, 65)))
		return bad_arg(st, op, "provider", p,
		    "is not a provider name ([a-z0-9-]{1,64})");
	return 0;
}

/* set_null - store NULL in the const char * member at off of obj */
static void
set_null(void *obj, size_t off)
{
	const char *null = NULL;

	memcpy((char *)obj + off, &null, sizeof(null));
}

/*
 * block_check - check b field by field into c, with "" made NULL where
 * a field is optional and the egress IP put into ip
 */
static int
block_check(struct og_store *st, const char *op, const struct og_block *b,
    struct og_block *c, char *ip)
{
	static const struct {
		const char *name;
		size_t off;
		size_t max;
		int flags;
	} fields[] = {
#define F(f, max, flags) { #f, offsetof(struct og_block, f), (max), (flags) }
		F(host, OG_STORE_FIELD_MAX, STR_NONEMPTY),
		F(queue_id, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(recipient, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(provider, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(class_, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(smtp_code, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(enhanced_code, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(provider_code, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(remedy, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(reply, OG_STORE_TEXT_MAX, 0),
		F(mx_host, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(mx_ip, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(egress_ip, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(server_tag, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(server_time, OG_STORE_FIELD_MAX, STR_NULL_OK),
		F(identity, OG_IDENTITY_MAX, STR_NULL_OK),
		F(source, OG_STORE_FIELD_MAX, STR_NONEMPTY),
#undef F
	};
	const char *v;
	size_t j;

	*c = *b;
	for (j = 0; j < OG_NELEM(fields); j++) {
		memcpy(&v, (const char *)b + fields[j].off, sizeof(v));
		if (check_str(st, op, fields[j].name, v, fields[j].max,
		        fields[j].flags) < 0)
			return -1;
		if (v != NULL && *v == '\0' && (fields[j].flags & STR_NULL_OK))
			set_null(c, fields[j].off);
	}
	if (provider_arg(st, op, c->provider, 1) < 0 ||
	    egress_arg(st, op, c->egress_ip, ip, &c->egress_ip) < 0)
		return -1;
	if (c->identity != NULL && !og_store_identity_valid(c->identity))
		return bad_arg(st, op, "identity", c->identity, "is not valid");
	if (b->incident < 0)
		return bad_arg(st, op, "incident", NULL, "is negative");
	return 0;
}

int
og_store_block_record(
    struct og_store *st, const struct og_block *b, int64_t now, int64_t *id)
{
	static const char op[] = "record block";
	char ip[INET6_ADDRSTRLEN];
	struct og_block c;
	int64_t bid = 0;

	og_strbuf_reset(&st->err);
	if (b == NULL)
		return bad_arg(st, op, "block", NULL, "missing");
	if (block_check(st, op, b, &c, ip) < 0)
		return OG_ERROR;
	if (now < 0)
		return bad_arg(st, op, "time", NULL, "is negative");
	c.id = 0;
	c.first_seen = c.last_seen = now;
	c.count = 1;
	if (st->ops->block_record(st, &c, now, &bid) < 0)
		return fail(st);
	if (id != NULL)
		*id = bid;
	return 0;
}

/*
 * filter_check - f (NULL: all rows) checked into c, with "" made NULL
 * ("any"), the egress IP put into ip and the limit set
 */
static int
filter_check(struct og_store *st, const char *op,
    const struct og_block_filter *f, struct og_block_filter *c, char *ip)
{
	memset(c, 0, sizeof(*c));
	if (f != NULL)
		*c = *f;
	if (check_str(st, op, "provider", c->provider, OG_STORE_FIELD_MAX,
	        STR_NULL_OK) < 0 ||
	    check_str(
	        st, op, "code", c->code, OG_STORE_FIELD_MAX, STR_NULL_OK) < 0 ||
	    check_str(st, op, "identity", c->identity, OG_IDENTITY_MAX,
	        STR_NULL_OK) < 0 ||
	    egress_arg(st, op, c->egress_ip, ip, &c->egress_ip) < 0)
		return OG_ERROR;
	/* "" is "any", as NULL is */
	if (c->provider != NULL && *c->provider == '\0')
		c->provider = NULL;
	if (c->code != NULL && *c->code == '\0')
		c->code = NULL;
	if (c->identity != NULL && *c->identity == '\0')
		c->identity = NULL;
	if (c->incident < 0)
		return bad_arg(st, op, "incident", NULL, "is negative");
	if (c->limit > OG_STORE_ROWS_MAX)
		return bad_arg(
		    st, op, "limit", NULL, "is over OG_STORE_ROWS_MAX");
	if (c->limit == 0)
		c->limit = OG_STORE_ROWS_MAX;
	return 0;
}

int
og_store_blocks(struct og_store *st, const struct og_block_filter *f,
    struct og_block_owned **out, size_t *n)
{
	static const char op[] = "list blocks";
	struct og_block_filter c;
	struct og_block_owned *b = NULL;
	char ip[INET6_ADDRSTRLEN];
	size_t count = 0;

	og_strbuf_reset(&st->err);
	if (out == NULL || n == NULL)
		return bad_arg(st, op, "result", NULL, "missing");
	if (filter_check(st, op, f, &c, ip) < 0)
		return OG_ERROR;
	if (st->ops->blocks(st, &c, &b, &count) < 0)
		return fail(st);
	*out = b;
	*n = count;
	return 0;
}

void
og_store_block_clear(struct og_block_owned *b)
{
	if (b == NULL)
		return;
	og_free(b->host);
	og_free(b->queue_id);
	og_free(b->recipient);
	og_free(b->provider);
	og_free(b->class_);
	og_free(b->smtp_code);
	og_free(b->enhanced_code);
	og_free(b->provider_code);
	og_free(b->remedy);
	og_free(b->reply);
	og_free(b->mx_host);
	og_free(b->mx_ip);
	og_free(b->egress_ip);
	og_free(b->server_tag);
	og_free(b->server_time);
	og_free(b->identity);
	og_free(b->source);
	memset(b, 0, sizeof(*b));
}

void
og_store_blocks_free(struct og_block_owned *b, size_t n)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++)
		og_store_block_clear(&b[i]);
	og_free(b);
}

/*
 * Report figures (schema version 4): block rows grouped in the store,
 * so that a summary never loads the rows themselves.
 */

int
og_store_block_stats(struct og_store *st, const struct og_block_filter *f,
    enum og_block_group by, struct og_block_stat **out, size_t *n)
{
	static const char op[] = "block figures";
	struct og_block_filter c;
	struct og_block_stat *b = NULL;
	char ip[INET6_ADDRSTRLEN];
	size_t count = 0;

	og_strbuf_reset(&st->err);
	if (out == NULL || n == NULL)
		return bad_arg(st, op, "result", NULL, "missing");
	if (by != OG_BLOCK_BY_CODE && by != OG_BLOCK_BY_IDENTITY &&
	    by != OG_BLOCK_BY_DESTINATION)
		return bad_arg(st, op, "grouping", NULL, "is unknown");
	if (filter_check(st, op, f, &c, ip) < 0)
		return OG_ERROR;
	if (st->ops->block_stats(st, &c, by, &b, &count) < 0)
		return fail(st);
	*out = b;
	*n = count;
	return 0;
}

void
og_store_block_stats_free(struct og_block_stat *b, size_t n)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++) {
		og_free(b[i].provider);
		og_free(b[i].class_);
		og_free(b[i].remedy);
		og_free(b[i].smtp_code);
		og_free(b[i].enhanced_code);
		og_free(b[i].provider_code);
		og_free(b[i].egress_ip);
		og_free(b[i].identity);
		og_free(b[i].mx_host);
		og_free(b[i].rcpt_domain);
	}
	og_free(b);
}

int
og_store_block_latest(struct og_store *st, int64_t since,
    const struct og_block_stat *key, struct og_block_owned *out)
{
	static const char op[] = "latest block";
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
#define F(f) { #f, offsetof(struct og_block_stat, f) }
		F(provider),
		F(smtp_code),
		F(enhanced_code),
		F(provider_code),
#undef F
	};
	struct og_block_stat k;
	struct og_block_owned b;
	char ip[INET6_ADDRSTRLEN];
	const char *v;
	size_t j;
	int rc;

	og_strbuf_reset(&st->err);
	if (key == NULL)
		return bad_arg(st, op, "key", NULL, "missing");
	memset(&k, 0, sizeof(k));
	for (j = 0; j < OG_NELEM(fields); j++) {
		memcpy(&v, (const char *)key + fields[j].off, sizeof(v));
		if (check_str(st, op, fields[j].name, v, OG_STORE_FIELD_MAX,
		        STR_NULL_OK) < 0)
			return OG_ERROR;
		/* "" is unknown, as the rows store it */
		if (v != NULL && *v == '\0')
			v = NULL;
		memcpy((char *)&k + fields[j].off, &v, sizeof(v));
	}
	if (egress_arg(st, op, key->egress_ip, ip, &v) < 0)
		return OG_ERROR;
	memcpy(&k.egress_ip, &v, sizeof(v)); /* the back end only reads k */
	memset(&b, 0, sizeof(b));
	if ((rc = st->ops->block_latest(st, since, &k, &b)) < 0)
		return fail(st);
	if (rc == OG_FOUND && out != NULL)
		*out = b;
	else
		og_store_block_clear(&b);
	return rc;
}

int
og_store_block_max_id(struct og_store *st, int64_t *id)
{
	int64_t v = 0;

	og_strbuf_reset(&st->err);
	if (id == NULL)
		return bad_arg(st, "block max id", "result", NULL, "missing");
	if (st->ops->block_max_id(st, &v) < 0)
		return fail(st);
	*id = v;
	return 0;
}

int
og_store_block_link(struct og_store *st, int64_t incident, const char *provider,
    const char *egress_ip)
{
	static const char op[] = "link blocks";
	char ip[INET6_ADDRSTRLEN];
	const char *egress;

	og_strbuf_reset(&st->err);
	if (incident <= 0)
		return bad_arg(st, op, "incident", NULL, "is not positive");
	if (provider_arg(st, op, provider, 0) < 0 ||
	    egress_arg(st, op, egress_ip, ip, &egress) < 0)
		return OG_ERROR;
	if (st->ops->block_link(st, incident, provider, egress) < 0)
		return fail(st);
	return 0;
}

int
og_store_incident_open(struct og_store *st, const char *host,
    const char *provider, const char *egress_ip, int64_t now,
    struct og_incident *out)
{
	static const char op[] = "open incident";
	char ip[INET6_ADDRSTRLEN];
	struct og_incident inc;
	const char *egress;
	int rc;

	og_strbuf_reset(&st->err);
	if (check_str(st, op, "host", host, OG_STORE_FIELD_MAX, STR_NONEMPTY) <
	        0 ||
	    provider_arg(st, op, provider, 0) < 0 ||
	    egress_arg(st, op, egress_ip, ip, &egress) < 0)
		return OG_ERROR;
	if (now < 0)
		return bad_arg(st, op, "time", NULL, "is negative");
	memset(&inc, 0, sizeof(inc));
	rc = st->ops->incident_open(st, host, provider, egress, now, &inc);
	if (rc < 0)
		return fail(st);
	if (out != NULL)
		*out = inc;
	else
		og_store_incident_clear(&inc);
	return rc;
}

int
og_store_incident_get(struct og_store *st, int64_t id, struct og_incident *out)
{
	struct og_incident inc;
	int rc;

	og_strbuf_reset(&st->err);
	if (id <= 0)
		return bad_arg(
		    st, "get incident", "id", NULL, "is not positive");
	memset(&inc, 0, sizeof(inc));
	if ((rc = st->ops->incident_get(st, id, &inc)) < 0)
		return fail(st);
	if (rc == OG_FOUND && out != NULL)
		*out = inc;
	else
		og_store_incident_clear(&inc);
	return rc;
}

int
og_store_incident_update(struct og_store *st, const struct og_incident *inc,
    const char *actor, int64_t now)
{
	static const char op[] = "update incident";
	struct og_incident c;

	og_strbuf_reset(&st->err);
	if (inc == NULL)
		return bad_arg(st, op, "incident", NULL, "missing");
	if (inc->id <= 0)
		return bad_arg(st, op, "id", NULL, "is not positive");
	if (!valid_state(inc->state))
		return bad_arg(st, op, "state", inc->state,
		    "is not open, released or confirmed");
	if (check_str(st, op, "suspects", inc->suspects, OG_STORE_TEXT_MAX,
	        STR_NULL_OK) < 0 ||
	    check_str(st, op, "holds", inc->holds, OG_STORE_TEXT_MAX,
	        STR_NULL_OK) < 0 ||
	    check_str(st, op, "notified", inc->notified, OG_STORE_TEXT_MAX,
	        STR_NULL_OK) < 0 ||
	    check_str(
	        st, op, "actor", actor, OG_STORE_FIELD_MAX, STR_NONEMPTY) < 0)
		return OG_ERROR;
	if (inc->released < 0 || inc->confirmed < 0 ||
	    inc->deliveries_after_release < 0 || now < 0)
		return bad_arg(st, op,
		    "released, confirmed, deliveries_after_release or time",
		    NULL, "is negative");
	c = *inc;
	/* the back end takes inc as const: the casts write nothing */
	if (c.suspects == NULL)
		c.suspects = (char *)"[]";
	if (c.holds == NULL)
		c.holds = (char *)"[]";
	if (c.notified == NULL)
		c.notified = (char *)"{}";
	if (st->ops->incident_update(st, &c, actor, now) < 0)
		return fail(st);
	return 0;
}

int
og_store_incident_delivered(
    struct og_store *st, const char *family, long n, long *updated)
{
	static const char op[] = "count deliveries";
	long u = 0;

	og_strbuf_reset(&st->err);
	if (check_str(st, op, "provider", family, OG_STORE_FIELD_MAX,
	        STR_NONEMPTY) < 0)
		return OG_ERROR;
	if (n <= 0)
		return bad_arg(st, op, "count", NULL, "is not positive");
	if (st->ops->incident_delivered(st, family, n, &u) < 0)
		return fail(st);
	if (updated != NULL)
		*updated = u;
	return 0;
}

int
og_store_incidents(
    struct og_store *st, const char *state, struct og_incident **out, size_t *n)
{
	static const char op[] = "list incidents";
	struct og_incident *inc = NULL;
	size_t count = 0;

	og_strbuf_reset(&st->err);
	if (out == NULL || n == NULL)
		return bad_arg(st, op, "result", NULL, "missing");
	if (state != NULL && !valid_state(state))
		return bad_arg(st, op, "state", state,
		    "is not open, released or confirmed");
	if (st->ops->incidents(st, state, &inc, &count) < 0)
		return fail(st);
	*out = inc;
	*n = count;
	return 0;
}

void
og_store_incident_clear(struct og_incident *inc)
{
	if (inc == NULL)
		return;
	og_free(inc->host);
	og_free(inc->provider);
	og_free(inc->egress_ip);
	og_free(inc->state);
	og_free(inc->suspects);
	og_free(inc->holds);
	og_free(inc->notified);
	memset(inc, 0, sizeof(*inc));
}

void
og_store_incidents_free(struct og_incident *inc, size_t n)
{
	size_t i;

	if (inc == NULL)
		return;
	for (i = 0; i < n; i++)
		og_store_incident_clear(&inc[i]);
	og_free(inc);
}

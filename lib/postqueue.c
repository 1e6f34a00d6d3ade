/*
 * postqueue.c - read Postfix's queue (postqueue -j), act on it (postsuper)
 * DESCRIPTION: see postqueue.h. Each line is its own JSON document,
 *	decoded by jansson with JSON_REJECT_DUPLICATES (a second "queue_id"
 *	must not be able to hide behind the first) and without JSON_ALLOW_NUL
 *	(every string is a C string). The line cap bounds what one document
 *	may cost; jansson bounds nesting depth. Postfix's showq_json.c makes
 *	its strings valid UTF-8 (printable()), so jansson's UTF-8 check
 *	rejects nothing Postfix writes. Messages are checked whole before the
 *	callback sees them: one wrong member makes the whole line bad.
 *	Unknown members are ignored, for newer Postfix versions.
 *	Queue ids go to postsuper on its standard input, never in argv, and
 *	only after og_queue_id_valid(): an id starting with '-' or holding
 *	'/' must never reach it.
 * DIAGNOSTICS: bad lines are logged (OG_PQ_WARN_MAX per call, then a
 *	count) by line number and reason; the queue's strings are never
 *	logged except a quoted, shortened, escaped invalid queue id.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

#include <jansson.h>

#include "exec.h"
#include "log.h"
#include "postqueue.h"
#include "strbuf.h"

#define PQ_QUEUE_NAME_MAX 32 /* "deferred" and friends */
#define PQ_LOG_ID_MAX 40 /* bytes of a bad queue id shown in a log */

/* The state of one og_pq_parse() call. */
struct pq_parse {
	int (*cb)(const struct og_pq_msg *, void *);
	void *arg;
	struct og_pq_stats *st;
	struct og_pq_rcpt *rcpts; /* reused from message to message */
	size_t rcpts_size;
	unsigned long lineno;
	unsigned warned;
	unsigned long unlogged;
};

int
og_queue_id_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 20)
			return 0;
		if (!((s[n] >= '0' && s[n] <= '9') ||
		        (s[n] >= 'A' && s[n] <= 'Z') ||
		        (s[n] >= 'a' && s[n] <= 'z')))
			return 0;
	}
	return n >= 6;
}

/* queue_name_valid - [a-z]{1,32}: what Postfix names its queues */
static int
queue_name_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= PQ_QUEUE_NAME_MAX || s[n] < 'a' || s[n] > 'z')
			return 0;
	return n > 0;
}

/* pq_warn - log one bad line, at most OG_PQ_WARN_MAX per call */
static void pq_warn(struct pq_parse *, const char *, const char *, ...)
    OG_PRINTF(3, 4);

static void
pq_warn(struct pq_parse *p, const char *id, const char *fmt, ...)
{
	struct og_strbuf sb;
	va_list ap;

	if (p->warned >= OG_PQ_WARN_MAX) {
		p->unlogged++;
		return;
	}
	p->warned++;
	og_strbuf_init(&sb, 512);
	va_start(ap, fmt);
	(void)og_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (id != NULL) {
		(void)og_strbuf_addc(&sb, ' ');
		og_str_quote(&sb, id, strnlen(id, PQ_LOG_ID_MAX));
	}
	og_warnx("postqueue -j line %lu: %s, skipped", p->lineno,
	    og_strbuf_str(&sb));
	og_strbuf_release(&sb);
}

/* get_count - an integer member >= 0; 0, or -1 if missing or wrong */
static int
get_count(json_t *obj, const char *key, long long *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* get_string - a string member; NULL if missing or not a string */
static const char *
get_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* get_rcpts - fill p->rcpts from the recipients array; NULL or a reason */
static const char *
get_rcpts(struct pq_parse *p, json_t *root, struct og_pq_msg *m)
{
	json_t *arr = json_object_get(root, "recipients");
	json_t *r, *dr;
	size_t i, n;

	if (!json_is_array(arr))
		return "missing or non-array recipients";
	n = json_array_size(arr);
	m->truncated = n > OG_PQ_RCPTS_MAX;
	if (m->truncated)
		n = OG_PQ_RCPTS_MAX;
	if (n > p->rcpts_size) {
		p->rcpts = og_reallocarray(p->rcpts, n, sizeof(*p->rcpts));
		p->rcpts_size = n;
	}
	for (i = 0; i < n; i++) {
		r = json_array_get(arr, i);
		if (!json_is_object(r))
			return "recipient not an object";
		if ((p->rcpts[i].address = get_string(r, "address")) == NULL)
			return "recipient without a string address";
		dr = json_object_get(r, "delay_reason");
		if (dr != NULL && !json_is_string(dr))
			return "non-string delay_reason";
		p->rcpts[i].delay_reason =
		    dr != NULL ? json_string_value(dr) : NULL;
	}
	m->rcpts = p->rcpts;
	m->nrcpts = n;
	return NULL;
}

/*
 * get_msg - check root and fill m; NULL, or the reason the line is bad
 * (*badid is set when the queue id itself is invalid)
 */
static const char *
get_msg(
    struct pq_parse *p, json_t *root, struct og_pq_msg *m, const char **badid)
{
	long long t;
	json_t *fe;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(root))
		return "not a JSON object";
	if ((m->queue_id = get_string(root, "queue_id")) == NULL)
		return "missing or non-string queue_id";
	if (!og_queue_id_valid(m->queue_id)) {
		*badid = m->queue_id;
		return "invalid queue_id";
	}
	m->queue_name = get_string(root, "queue_name");
	if (m->queue_name == NULL || !queue_name_valid(m->queue_name))
		return "missing or invalid queue_name";
	if (get_count(root, "arrival_time", &t) < 0)
		return "missing or invalid arrival_time";
	m->arrival_time = (int64_t)t;
	if (get_count(root, "message_size", &m->message_size) < 0)
		return "missing or invalid message_size";
	fe = json_object_get(root, "forced_expire");
	if (fe != NULL && !json_is_boolean(fe))
		return "non-boolean forced_expire";
	m->forced_expire = json_is_true(fe);
	if ((m->sender = get_string(root, "sender")) == NULL)
		return "missing or non-string sender";
	return get_rcpts(p, root, m);
}

/* parse_line - one line without its line end; 0 or the callback's value */
static int
parse_line(struct pq_parse *p, const char *line, size_t len)
{
	struct og_pq_msg m;
	json_error_t jerr;
	const char *why, *badid = NULL;
	json_t *root;
	int rc = 0;

	p->st->lines++;
	if (len > OG_PQ_LINE_MAX) {
		p->st->long_lines++;
		pq_warn(p, NULL, "%zu bytes, over %d", len, OG_PQ_LINE_MAX);
		return 0;
	}
	if ((root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		/* jerr.text may quote the input: log its position only. */
		p->st->bad_lines++;
		pq_warn(p, NULL, "not JSON (column %d)", jerr.column);
		return 0;
	}
	if ((why = get_msg(p, root, &m, &badid)) != NULL) {
		p->st->bad_lines++;
		pq_warn(p, badid, "%s", why);
	} else {
		p->st->messages++;
		rc = p->cb(&m, p->arg);
	}
	json_decref(root);
	return rc;
}

int
og_pq_parse(const char *buf, size_t len,
    int (*cb)(const struct og_pq_msg *, void *), void *arg,
    struct og_pq_stats *st)
{
	struct og_pq_stats dummy = { 0, 0, 0, 0 };
	struct pq_parse p;
	const char *end, *nl, *line;
	size_t n;
	int rc = 0;

	if ((buf == NULL && len > 0) || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.cb = cb;
	p.arg = arg;
	p.st = st != NULL ? st : &dummy;
	memset(p.st, 0, sizeof(*p.st));
	if (len == 0)
		return 0; /* buf may be NULL: no arithmetic on it */
	end = buf + len;
	for (line = buf; line != NULL && line < end && rc == 0; line = nl) {
		p.lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
			n = (size_t)(nl - line);
			nl++;
		} else
			n = (size_t)(end - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > 0)
			rc = parse_line(&p, line, n);
	}
	if (p.unlogged > 0)
		og_warnx(
		    "postqueue -j: %lu more bad lines not logged", p.unlogged);
	og_free(p.rcpts);
	return rc;
}

/*
 * mail_config - the MAIL_CONFIG to hand down when no directory is given:
 * ours, if set and absolute (see postqueue.h)
 */
static const char *
mail_config(void)
{
	const char *mc;

#if defined(__GLIBC__)
	mc = secure_getenv("MAIL_CONFIG");
#else
	mc = getuid() == geteuid() && getgid() == getegid()
	    ? getenv("MAIL_CONFIG")
	    : NULL;
#endif
	return mc != NULL && mc[0] == '/' ? mc : NULL;
}

/*
 * build_argv - argv[0] is name's path (the caller frees it); then
 * "-c DIR" when dir is given; then the NULL-terminated rest. argv has
 * room for OG_NELEM(rest) + 3.
 */
static char *
build_argv(const char **argv, const char *name, const char *dir,
    const char *const *rest)
{
	char *prog;
	size_t i = 0;

	if (dir != NULL && dir[0] != '\0' && dir[0] != '/') {
		og_warnx("%s: configuration directory must be absolute", name);
		errno = EINVAL;
		return NULL;
	}
	if ((prog = og_postfix_cmd(name)) == NULL)
		return NULL;
	argv[i++] = prog;
	if (dir != NULL && dir[0] != '\0') {
		argv[i++] = "-c";
		argv[i++] = dir;
	}
	while (*rest != NULL)
		argv[i++] = *rest++;
	argv[i] = NULL;
	return prog;
}

/* first_line - append the first line of s, escaped, for a log line */
static void
first_line(struct og_strbuf *sb, const struct og_strbuf *s)
{
	const char *p = og_strbuf_str(s);

	og_kv_escape(sb, p, strcspn(p, "\n"));
}

/* exit_error - log a non-zero exit status with stderr's first line */
static void
exit_error(const char *prog, int status, const struct og_strbuf *err)
{
	struct og_strbuf sb;

	og_strbuf_init(&sb, 1024);
	first_line(&sb, err);
	og_warnx("%s: exit status %d: %s", prog, status, og_strbuf_str(&sb));
	og_strbuf_release(&sb);
}

int
og_pq_run(const char *config_dir, int (*cb)(const struct og_pq_msg *, void *),
    void *arg, struct og_pq_stats *st)
{
	static const char *const rest[] = { "-j", NULL };
	const char *argv[OG_NELEM(rest) + 3];
	struct og_exec_result res;
	struct og_strbuf out, err;
	const char *mc;
	char *prog;
	int rc;

	if (cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((prog = build_argv(argv, "postqueue", config_dir, rest)) == NULL)
		return -1;
	mc = config_dir == NULL || config_dir[0] == '\0' ? mail_config() : NULL;
	og_strbuf_init(&out, OG_PQ_OUTPUT_MAX);
	og_strbuf_init(&err, OG_EXEC_STDERR_MAX);
	rc = og_exec(argv, mc, NULL, 0, &out, &err, OG_PQ_TIMEOUT_MS, &res);
	if (rc == 0 && res.status != 0) {
		exit_error(prog, res.status, &err);
		errno = EIO;
		rc = -1;
	}
	if (rc == 0)
		rc = og_pq_parse(out.data, out.len, cb, arg, st);
	og_strbuf_release(&out);
	og_strbuf_release(&err);
	og_free(prog);
	return rc;
}

/* ids_input - the ids, one a line, into in; -1 on an invalid id */
static int
ids_input(struct og_strbuf *in, const char *const *ids, size_t n)
{
	struct og_strbuf sb;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!og_queue_id_valid(ids[i])) {
			og_strbuf_init(&sb, 256);
			if (ids[i] != NULL)
				og_str_quote(&sb, ids[i],
				    strnlen(ids[i], PQ_LOG_ID_MAX));
			og_warnx("postsuper: invalid queue id #%zu %s, "
			         "nothing done",
			    i, ids[i] != NULL ? og_strbuf_str(&sb) : "(null)");
			og_strbuf_release(&sb);
			errno = EINVAL;
			return -1;
		}
		if (og_strbuf_adds(in, ids[i]) < 0 ||
		    og_strbuf_addc(in, '\n') < 0) {
			og_warnx("postsuper: too many queue ids (%zu)", n);
			errno = E2BIG;
			return -1;
		}
	}
	return 0;
}

int
og_postsuper(const char *config_dir, const char *op, const char *const *ids,
    size_t n, struct og_strbuf *err)
{
	const char *rest[] = { op, "-", NULL };
	const char *argv[OG_NELEM(rest) + 3];
	struct og_exec_result res;
	struct og_strbuf in, ownerr, *e;
	const char *mc;
	char *prog;
	int rc;

	if (op == NULL ||
	    (strcmp(op, "-h") != 0 && strcmp(op, "-H") != 0 &&
	        strcmp(op, "-r") != 0) ||
	    (ids == NULL && n > 0)) {
		og_warnx("postsuper: bad operation or ids");
		errno = EINVAL;
		return -1;
	}
	og_strbuf_init(&in, OG_EXEC_STDIN_MAX);
	if (ids_input(&in, ids, n) < 0) {
		og_strbuf_release(&in);
		return -1;
	}
	if (n == 0) {
		og_strbuf_release(&in);
		return 0;
	}
	if ((prog = build_argv(argv, "postsuper", config_dir, rest)) == NULL) {
		og_strbuf_release(&in);
		return -1;
	}
	mc = config_dir == NULL || config_dir[0] == '\0' ? mail_config() : NULL;
	og_strbuf_init(&ownerr, OG_EXEC_STDERR_MAX);
	e = err != NULL ? err : &ownerr;
	rc =
	    og_exec(argv, mc, in.data, in.len, NULL, e, OG_PQ_TIMEOUT_MS, &res);
	if (rc == 0 && res.status != 0) {
		exit_error(prog, res.status, e);
		errno = EIO;
		rc = -1;
	}
	og_strbuf_release(&ownerr);
	og_strbuf_release(&in);
	og_free(prog);
	return rc;
}

/*
 * qr_fmt.h - what outguard-queue-report's report subcommands share
 * DESCRIPTION: the common options (--json, --since TIME, --provider
 *	NAME), ages ("3h12m"), aligned text tables that fit 80 columns,
 *	terminal-safe text, the jansson output helpers, the store and the
 *	recipient summaries of message rows. Text from the store came from
 *	remote servers and senders: everything printed goes through
 *	qr_text_add(), which replaces control bytes and broken UTF-8, so a
 *	reply cannot move the admin's cursor or rewrite the terminal.
 * DIAGNOSTICS: parsers return 0 or -1 after og_warnx() with what was
 *	expected; tables and JSON never fail (memory exhaustion is fatal).
 */
#ifndef OG_QR_FMT_H
#define OG_QR_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct og_conf;
struct og_store;
struct og_strbuf;
struct qr;

#define QR_WIDTH 80 /* columns of the text output */
#define QR_CELL_MAX 4096 /* bytes of one table cell, at most */

/* ---- common options ---- */

/*
 * The letters getopt_long() returns for the long options every report
 * subcommand lists ("json", "since", "provider"); qr_opt_common() takes
 * them.
 */
#define QR_OPT_JSON 'j'
#define QR_OPT_SINCE 'S'
#define QR_OPT_PROVIDER 'P'

struct qr_opts {
	int json; /* --json */
	int64_t now; /* og_now(), once */
	int64_t since; /* from --since, or the subcommand's default */
	const char *since_arg; /* as given, NULL: the default */
	const char *provider; /* --provider, NULL: every provider */
};

/* qr_opts_init - now, and since = now - default_since (0: everything) */
void qr_opts_init(struct qr_opts *, int64_t default_since);
/*
 * qr_opt_common - one getopt_long() result: 1 taken, 0 not a common
 * option, -1 a bad value (said on stderr)
 */
int qr_opt_common(struct qr_opts *, int ch, const char *arg);
/*
 * qr_parse_since - TIME: a duration back from now ("24h", "7d", "90m"),
 * a date "YYYY-MM-DD" (00:00 UTC), "YYYY-MM-DDTHH:MM:SSZ" or @UNIXTIME
 */
int qr_parse_since(const char *s, int64_t now, int64_t *out);
/*
 * qr_identity_norm - an identity as the store spells it (lowercase but
 * the SASL login) into out: 0, or -1 with what is expected on stderr
 */
int qr_identity_norm(const char *in, char *out, size_t size);
/* qr_provider_valid - 1 for a provider name [a-z0-9-]{1,64}, else 0 */
int qr_provider_valid(const char *);
/* qr_ip_norm - an IPv4 or IPv6 address in inet_ntop(3) form: 0 or -1 */
int qr_ip_norm(const char *ip, char *out, size_t size);
/* qr_in_net - 1 when ip is inside "IP/LEN" (or equal to "IP") */
int qr_in_net(const char *ip, const char *net);

/* ---- text ---- */

/* qr_ago - the age of t at now ("3h12m"), "-" when t is 0 */
const char *qr_ago(int64_t now, int64_t t, char *buf, size_t size);
/* qr_iso - t as "2026-11-23T05:00:00Z", "-" when t is 0 */
const char *qr_iso(int64_t t, char *buf, size_t size);
/*
 * qr_text_add - append s as safe text of at most max_cols columns (0:
 * no limit): control bytes and DEL become '?', so do bytes that are not
 * UTF-8; a longer text is cut at a character boundary and ends in
 * "...". newlines_ok keeps '\n' (for multi-line values).
 */
void qr_text_add(
    struct og_strbuf *, const char *s, size_t max_cols, int newlines_ok);
/* qr_text_cols - the columns s takes (one per character, UTF-8) */
size_t qr_text_cols(const char *s);
/* qr_puts_safe - qr_text_add() of s, then fputs to fp */
void qr_puts_safe(FILE *fp, const char *s, int newlines_ok);

/*
 * qr_wrap - text to fp in lines of at most width columns, broken at
 * spaces (a longer word is cut), the first line after first, the
 * others after rest (both counted in the width)
 */
void qr_wrap(FILE *fp, const char *first, const char *rest, const char *text,
    size_t width);

/*
 * An aligned text table. Each column is as wide as its widest cell;
 * when a row would pass the width, QR_COL_SHRINK columns give up room,
 * the widest first, down to QR_COL_MIN columns, their cells cut with
 * "...". QR_COL_RIGHT right-aligns (numbers). QR_COL_DETAIL, for the
 * last column only, puts its cell under the row, four spaces further
 * in and wrapped, and leaves it out of the header: for free text that
 * would otherwise be cut. QR_COL_FOLD, for the last column only, keeps
 * it on the row (cut to fit) while it gets QR_FOLD_MIN columns there,
 * else makes it a detail: one line per row whenever there is room.
 * Columns are two spaces apart, lines start with indent spaces and
 * have no trailing blanks.
 */
#define QR_COL_RIGHT 0x1
#define QR_COL_SHRINK 0x2
#define QR_COL_DETAIL 0x4
#define QR_COL_FOLD 0x8
#define QR_COL_MIN 8
#define QR_FOLD_MIN 24
#define QR_TABLE_COLS 12

struct qr_table;
/* qr_table_new - columns given as "NAME", flags pairs, ncols of them */
struct qr_table *qr_table_new(size_t ncols, const char *const *names,
    const unsigned *flags, size_t indent);
/* qr_table_row - exactly ncols cells (NULL prints "-") */
void qr_table_row(struct qr_table *, ...);
size_t qr_table_rows(const struct qr_table *);
/* qr_table_print - the header and the rows, to fp */
void qr_table_print(const struct qr_table *, FILE *fp, size_t width);
struct qr_table *qr_table_free(struct qr_table *);

/* ---- JSON ---- */

/* qr_json_str - a string or null; bytes that are not UTF-8 become '?' */
json_t *qr_json_str(const char *);
/* qr_json_time - a Unix time, or null for 0 ("not yet", "unknown") */
json_t *qr_json_time(int64_t);
/* qr_json_set - json_object_set_new() that ignores the result */
void qr_json_set(json_t *obj, const char *key, json_t *value);
/*
 * qr_json_array - the JSON array in text (a column the watcher wrote),
 * or an empty array when it is missing or not one
 */
json_t *qr_json_array(const char *text);
/* qr_jstr, qr_jint, qr_jreal - a member of o, or NULL / 0 / 0.0 */
const char *qr_jstr(const json_t *o, const char *key);
json_int_t qr_jint(const json_t *o, const char *key);
double qr_jreal(const json_t *o, const char *key);
/* qr_json_print - o, indented, keys in insertion order, then decref */
int qr_json_print(json_t *o, FILE *fp);

/* ---- the store and its message rows ---- */

/* qr_store_open - the configured store, or NULL (said on stderr) */
struct og_store *qr_store_open(const struct qr *);
/*
 * qr_identity - who sent a message row, as the watcher names it:
 * "sasl:LOGIN", else "client:IP", else "sender:ADDRESS" (lowercase)
 */
void qr_identity(const char *sasl, const char *client, const char *sender,
    char *out, size_t size);
/*
 * qr_summary_next - the next "domain=N" of a row's rcpt_summary at *p
 * (policy/rcpts.c writes "hotmail.com=3 example.net=1 *=2", "*" for
 * the domains past its limit): 1 with dom (lowercase) and *n set, 0 at
 * the end. Malformed tokens are skipped.
 */
int qr_summary_next(
    const char **p, char *dom, size_t size, unsigned long long *n);
/* qr_provider_of - the provider of a domain (provider_domains), or NULL */
const char *qr_provider_of(const struct og_conf *, const char *domain);

/* ---- counting by name ---- */

/*
 * A tally: string -> count, oldest time and a slot for the caller's
 * index. Open addressing; a zeroed struct qr_tallies is an empty one.
 */
struct qr_tally {
	char *key;
	long long n;
	int64_t oldest;
	size_t slot; /* the caller's index, SIZE_MAX until set */
};

struct qr_tallies {
	struct qr_tally *t;
	size_t n, size;
};

/* qr_tally_get - the entry of key, a new one (n 0, slot SIZE_MAX) if need be */
struct qr_tally *qr_tally_get(struct qr_tallies *, const char *key);
/* qr_tally_add - n more for key; t (0: none) the oldest if older */
void qr_tally_add(struct qr_tallies *, const char *key, long long n, int64_t t);
/* qr_tally_sorted - the entries, most first (ties by key), NULL-ended: og_free() it */
struct qr_tally **qr_tally_sorted(const struct qr_tallies *);
void qr_tally_free(struct qr_tallies *);

/* qr_streq0 - strings equal, a NULL equal only to NULL */
int qr_streq0(const char *, const char *);

/* qr_finish - EX_IOERR if stdout could not be written, else rc */
int qr_finish(int rc);

#endif

/*
 * t_postqueue.c - unit tests for lib/postqueue.c
 * DESCRIPTION: table-driven og_pq_parse() cases on postqueue -j lines as
 *	Postfix 3.7 writes them (deferred with an Outlook.com S3150
 *	delay_reason, hold, active, several recipients, long queue ids) and
 *	hostile ones (invalid queue ids, not JSON, arrays, duplicate keys,
 *	missing or mistyped members, CRLF, no final newline, deep nesting);
 *	the line and recipient bounds; a callback that stops early; the
 *	og_queue_id_valid() table. og_pq_run() and og_postsuper() run fake
 *	postqueue and postsuper scripts (OG_POSTFIX_BIN) that record their
 *	arguments, MAIL_CONFIG and standard input.
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec.h"
#include "postqueue.h"
#include "strbuf.h"
#include "util.h"

#define S3150                                                                  \
	"host hotmail-com.olc.protection.outlook.com[52.101.40.29] said: "     \
	"550 5.7.1 Unfortunately, messages from [203.0.113.25] weren't "       \
	"sent. Please contact your Internet service provider since part of "   \
	"their network is on our block list (S3150). You can also refer your " \
	"provider to http://mail.live.com/mail/troubleshooting.aspx#errors. "  \
	"[Name=Protocol Filter Agent][AGT=PFA][MxId=11BB66ACAE2C61C1] "        \
	"[DM6PR10MB4121.namprd10.prod.outlook.com 2025-11-25T08:06:40.951Z "   \
	"08DE2B2A1F2D0C55] (in reply to MAIL FROM command)"

/* A good message line; the parts that vary are filled in with printf. */
#define DEFERRED                                                               \
	"{\"queue_name\": \"deferred\", \"queue_id\": \"1C141A74403\", "       \
	"\"arrival_time\": 1764057998, \"message_size\": 1834, "               \
	"\"forced_expire\": false, \"sender\": \"news@shop.example\", "        \
	"\"recipients\": [{\"address\": \"bob@hotmail.com\", "                 \
	"\"delay_reason\": \"" S3150 "\"}]}"
#define ACTIVE                                                                 \
	"{\"queue_name\": \"active\", \"queue_id\": \"9A2F0B1C2\", "           \
	"\"arrival_time\": 1764058000, \"message_size\": 402, "                \
	"\"forced_expire\": false, \"sender\": \"alice@outguard.test\", "      \
	"\"recipients\": [{\"address\": \"carol@example.net\"}]}"

/* What the callback saw: copies, as the pointers die after it. */
struct seen {
	unsigned n;
	char qid[3][64];
	char qname[64];
	char sender[256];
	long long arrival, size;
	int forced, truncated;
	size_t nrcpts;
	char rcpt0[256], rcptlast[256];
	char reason0[1024];
	int has_reason0;
	int stop_at; /* return stop_rc at this message (1-based), 0: never */
	int stop_rc;
};

static int
collect(const struct og_pq_msg *m, void *arg)
{
	struct seen *s = arg;

	if (s->n < 3)
		og_strlcpy(s->qid[s->n], m->queue_id, sizeof(s->qid[0]));
	if (s->n++ == 0) {
		og_strlcpy(s->qname, m->queue_name, sizeof(s->qname));
		og_strlcpy(s->sender, m->sender, sizeof(s->sender));
		s->arrival = m->arrival_time;
		s->size = m->message_size;
		s->forced = m->forced_expire;
		s->truncated = m->truncated;
		s->nrcpts = m->nrcpts;
		if (m->nrcpts > 0) {
			og_strlcpy(
			    s->rcpt0, m->rcpts[0].address, sizeof(s->rcpt0));
			og_strlcpy(s->rcptlast, m->rcpts[m->nrcpts - 1].address,
			    sizeof(s->rcptlast));
			s->has_reason0 = m->rcpts[0].delay_reason != NULL;
			if (s->has_reason0)
				og_strlcpy(s->reason0, m->rcpts[0].delay_reason,
				    sizeof(s->reason0));
		}
	}
	if (s->stop_at > 0 && s->n == (unsigned)s->stop_at)
		return s->stop_rc;
	return 0;
}

struct pq_case {
	const char *name;
	const char *in;
	unsigned long lines, messages, bad;
	/* the first message, when messages > 0 */
	const char *qid, *qname, *sender;
	long long arrival, size;
	int forced;
	size_t nrcpts;
	const char *rcpt0, *reason0; /* reason0 NULL: absent */
};

/* A line that must be counted bad and skipped. */
#define BAD(n, i)                                                              \
	{                                                                      \
		.name = (n), .in = (i), .lines = 1, .bad = 1                   \
	}

static const struct pq_case cases[] = {
	{ "deferred S3150", DEFERRED "\n", 1, 1, 0, "1C141A74403", "deferred",
	    "news@shop.example", 1764057998, 1834, 0, 1, "bob@hotmail.com",
	    S3150 },
	{ "hold keeps delay_reason",
	    "{\"queue_name\": \"hold\", \"queue_id\": \"4F7E23C0A1\", "
	    "\"arrival_time\": 1764050000, \"message_size\": 99, "
	    "\"forced_expire\": false, \"sender\": \"\", \"recipients\": "
	    "[{\"address\": \"x@live.com\", \"delay_reason\": \"" S3150
	    "\"}]}\n",
	    1, 1, 0, "4F7E23C0A1", "hold", "", 1764050000, 99, 0, 1,
	    "x@live.com", S3150 },
	{ "active, no delay_reason", ACTIVE "\n", 1, 1, 0, "9A2F0B1C2",
	    "active", "alice@outguard.test", 1764058000, 402, 0, 1,
	    "carol@example.net", NULL },
	{ "several recipients",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF012345\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"forced_expire\": "
	    "true, \"sender\": \"s@a.example\", \"recipients\": ["
	    "{\"address\": \"a@hotmail.com\", \"delay_reason\": \"connect to "
	    "x[1.2.3.4]:25: Connection timed out\"}, "
	    "{\"address\": \"b@outlook.com\"}, {\"address\": \"c@msn.com\", "
	    "\"delay_reason\": \"\"}]}\n",
	    1, 1, 0, "ABCDEF012345", "deferred", "s@a.example", 1, 2, 1, 3,
	    "a@hotmail.com", "connect to x[1.2.3.4]:25: Connection timed out" },
	{ "unknown members ignored",
	    "{\"queue_name\": \"incoming\", \"queue_id\": \"0123456789\", "
	    "\"future\": {\"nested\": [1, 2, {\"a\": null}]}, \"x\": null, "
	    "\"arrival_time\": 5, \"message_size\": 0, \"forced_expire\": "
	    "false, \"sender\": \"s@b\", \"recipients\": [{\"address\": "
	    "\"r@c\", \"orig_rcpt\": \"R@C\", \"dsn\": 4}], \"z\": 1.5}\n",
	    1, 1, 0, "0123456789", "incoming", "s@b", 5, 0, 0, 1, "r@c", NULL },
	{ "long queue id",
	    "{\"queue_name\": \"deferred\", \"queue_id\": "
	    "\"4jXsQM1r0Yz1bYGt\", "
	    "\"arrival_time\": 7, \"message_size\": 8, \"forced_expire\": "
	    "false, \"sender\": \"s@d\", \"recipients\": []}\n",
	    1, 1, 0, "4jXsQM1r0Yz1bYGt", "deferred", "s@d", 7, 8, 0, 0, NULL,
	    NULL },
	{ "forced_expire absent (Postfix < 3.5)",
	    "{\"queue_name\": \"maildrop\", \"queue_id\": \"ABCDEF\", "
	    "\"arrival_time\": 7, \"message_size\": 8, \"sender\": \"s\", "
	    "\"recipients\": []}",
	    1, 1, 0, "ABCDEF", "maildrop", "s", 7, 8, 0, 0, NULL, NULL },
	{ .name = "no final newline",
	    .in = ACTIVE "\n" DEFERRED,
	    .lines = 2,
	    .messages = 2,
	    .qid = "9A2F0B1C2" },
	{ "CRLF line ends", DEFERRED "\r\n" ACTIVE "\r\n", 2, 2, 0,
	    "1C141A74403", "deferred", "news@shop.example", 1764057998, 1834, 0,
	    1, "bob@hotmail.com", S3150 },
	{ .name = "empty lines skipped",
	    .in = "\n\n" ACTIVE "\n\r\n\n",
	    .lines = 1,
	    .messages = 1,
	    .qid = "9A2F0B1C2" },
	{ .name = "empty buffer", .in = "" },
	BAD("whitespace line", "   \n"),
	BAD("not JSON", "mail system is down\n"),
	BAD("truncated JSON", "{\"queue_name\": \"active\", \"queue_id\n"),
	BAD("two objects on a line", ACTIVE " " ACTIVE "\n"),
	BAD("JSON array", "[" ACTIVE "]\n"),
	BAD("JSON string", "\"1C141A74403\"\n"),
	BAD("duplicate queue_id",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"AAAAAAAA\", "
	    "\"queue_id\": \"BBBBBBBB\", \"arrival_time\": 1, "
	    "\"message_size\": 2, \"sender\": \"s\", \"recipients\": []}\n"),
	BAD("duplicate key in a recipient",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"AAAAAAAA\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": [{\"address\": \"a\", \"address\": \"b\"}]}\n"),
	BAD("missing queue_id",
	    "{\"queue_name\": \"deferred\", \"arrival_time\": 1, "
	    "\"message_size\": 2, \"sender\": \"s\", \"recipients\": []}\n"),
	BAD("queue_id a number",
	    "{\"queue_name\": \"deferred\", \"queue_id\": 123456789, "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_id ../x",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"../x\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_id ABC",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABC\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_id 40 chars",
	    "{\"queue_name\": \"deferred\", \"queue_id\": "
	    "\"0123456789ABCDEF0123456789ABCDEF01234567\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_id A B",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF 12345\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_id -h option",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"-hABCDEF\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_id with NUL escape",
	    "{\"queue_name\": \"deferred\", \"queue_id\": "
	    "\"ABCDEF\\u0000../x\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_id with newline escape",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF\\nALL\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("arrival_time a string",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": \"1764057998\", \"message_size\": 2, "
	    "\"sender\": \"s\", \"recipients\": []}\n"),
	BAD("arrival_time negative",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": -1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("arrival_time a float",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1.5, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("arrival_time too big",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 99999999999999999999999, \"message_size\": 2, "
	    "\"sender\": \"s\", \"recipients\": []}\n"),
	BAD("message_size missing",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"sender\": \"s\", \"recipients\": []}\n"),
	BAD("forced_expire a string",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"forced_expire\": "
	    "\"yes\", \"sender\": \"s\", \"recipients\": []}\n"),
	BAD("sender null",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": null, "
	    "\"recipients\": []}\n"),
	BAD("queue_name upper case",
	    "{\"queue_name\": \"Deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": []}\n"),
	BAD("queue_name missing",
	    "{\"queue_id\": \"ABCDEF1234\", \"arrival_time\": 1, "
	    "\"message_size\": 2, \"sender\": \"s\", \"recipients\": []}\n"),
	BAD("recipients an object",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": {\"address\": \"a\"}}\n"),
	BAD("recipient a string",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": [\"a@b\"]}\n"),
	BAD("recipient without address",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": [{\"delay_reason\": \"x\"}]}\n"),
	BAD("delay_reason a number",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"s\", "
	    "\"recipients\": [{\"address\": \"a\", \"delay_reason\": 550}]}\n"),
	BAD("invalid UTF-8",
	    "{\"queue_name\": \"deferred\", \"queue_id\": \"ABCDEF1234\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"\xff\", "
	    "\"recipients\": []}\n"),
	{ .name = "good, bad, good",
	    .in = ACTIVE "\n{}\n" DEFERRED "\n",
	    .lines = 3,
	    .messages = 2,
	    .bad = 1,
	    .qid = "9A2F0B1C2" },
};

static void
test_parse_table(void **state)
{
	struct og_pq_stats st;
	struct seen s;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(cases); i++) {
		const struct pq_case *c = &cases[i];

		print_message("# case %zu: %s\n", i, c->name);
		memset(&s, 0, sizeof(s));
		memset(&st, 0x55, sizeof(st));
		assert_int_equal(
		    og_pq_parse(c->in, strlen(c->in), collect, &s, &st), 0);
		assert_int_equal(st.lines, c->lines);
		assert_int_equal(st.messages, c->messages);
		assert_int_equal(st.bad_lines, c->bad);
		assert_int_equal(st.long_lines, 0);
		assert_int_equal(s.n, c->messages);
		if (c->messages == 0 || c->qid == NULL)
			continue;
		assert_string_equal(s.qid[0], c->qid);
		if (c->qname == NULL)
			continue;
		assert_string_equal(s.qname, c->qname);
		assert_string_equal(s.sender, c->sender);
		assert_true(s.arrival == c->arrival);
		assert_true(s.size == c->size);
		assert_int_equal(s.forced, c->forced);
		assert_int_equal(s.nrcpts, c->nrcpts);
		assert_int_equal(s.truncated, 0);
		if (c->nrcpts == 0)
			continue;
		assert_string_equal(s.rcpt0, c->rcpt0);
		assert_int_equal(s.has_reason0, c->reason0 != NULL);
		if (c->reason0 != NULL)
			assert_string_equal(s.reason0, c->reason0);
	}
}

static void
test_queue_id_valid(void **state)
{
	static const struct {
		const char *id;
		int ok;
	} ids[] = {
		{ "1C141A74403", 1 },
		{ "4jXsQM1r0Yz1bYGt", 1 },
		{ "ABCDEF", 1 }, /* 6: the shortest */
		{ "ABCDE", 0 },
		{ "0123456789abcdefABCD", 1 }, /* 20: the longest */
		{ "0123456789abcdefABCDE", 0 },
		{ "0123456789ABCDEF0123456789ABCDEF01234567", 0 },
		{ "", 0 },
		{ "ABC", 0 },
		{ "../x", 0 },
		{ "../../etc/passwd", 0 },
		{ "A B", 0 },
		{ "ABCDEF 123", 0 },
		{ "-hABCDEF", 0 },
		{ "ABCDEF-12", 0 },
		{ "ABCDEF_12", 0 },
		{ "ABCDEF.12", 0 },
		{ "ABCDEF/12", 0 },
		{ "ABCDEF\n12", 0 },
		{ "ABCDEF12\n", 0 },
		{ "ABCDEF12\r", 0 },
		{ "ABCDEF\xc3\xa9", 0 },
		{ "ALL", 0 },
		{ "ABCDEF*", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(ids); i++) {
		print_message("# id %zu\n", i);
		assert_int_equal(og_queue_id_valid(ids[i].id), ids[i].ok);
	}
	assert_int_equal(og_queue_id_valid(NULL), 0);
}

/* line_of - one message line of exactly len bytes (sender padded) */
static char *
line_of(size_t len)
{
	static const char head[] = "{\"queue_name\": \"deferred\", "
	                           "\"queue_id\": \"BIG0123456\", "
	                           "\"arrival_time\": 1, \"message_size\": 2, "
	                           "\"recipients\": [], \"sender\": \"";
	static const char tail[] = "\"}";
	char *p = og_malloc(len + 1);

	assert_true(len >= sizeof(head) + sizeof(tail));
	memcpy(p, head, sizeof(head) - 1);
	memset(p + sizeof(head) - 1, 'x', len - (sizeof(head) - 1));
	memcpy(p + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	p[len] = '\0';
	return p;
}

static void
test_long_lines(void **state)
{
	struct og_strbuf buf;
	struct og_pq_stats st;
	struct seen s;
	char *l;

	(void)state;
	og_strbuf_init(&buf, 4 * OG_PQ_LINE_MAX);
	/* exactly the limit: parsed; one more byte: skipped and counted */
	l = line_of(OG_PQ_LINE_MAX);
	assert_int_equal(og_strbuf_adds(&buf, l), 0);
	og_free(l);
	assert_int_equal(og_strbuf_adds(&buf, "\r\n"), 0);
	l = line_of(OG_PQ_LINE_MAX + 1);
	assert_int_equal(og_strbuf_adds(&buf, l), 0);
	og_free(l);
	assert_int_equal(og_strbuf_adds(&buf, "\n" ACTIVE "\n"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(og_pq_parse(buf.data, buf.len, collect, &s, &st), 0);
	assert_int_equal(st.lines, 3);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.long_lines, 1);
	assert_int_equal(st.bad_lines, 0);
	assert_string_equal(s.qid[0], "BIG0123456");
	assert_string_equal(s.qid[1], "9A2F0B1C2");
	assert_int_equal(strlen(s.sender), sizeof(s.sender) - 1);
	og_strbuf_release(&buf);
}

/* rcpts_line - a message with n recipients r0@x ... */
static void
rcpts_line(struct og_strbuf *buf, size_t n)
{
	size_t i;

	og_strbuf_reset(buf);
	assert_int_equal(og_strbuf_adds(buf,
	                     "{\"queue_name\": \"deferred\", \"queue_id\": "
	                     "\"MANY012345\", \"arrival_time\": 1, "
	                     "\"message_size\": 2, \"sender\": \"s\", "
	                     "\"recipients\": ["),
	    0);
	for (i = 0; i < n; i++)
		assert_int_equal(og_strbuf_addf(buf,
		                     "%s{\"address\": \"r%zu@x\", "
		                     "\"delay_reason\": \"4.4.1 timeout\"}",
		                     i > 0 ? ", " : "", i),
		    0);
	assert_int_equal(og_strbuf_adds(buf, "]}\n"), 0);
}

static void
test_many_recipients(void **state)
{
	struct og_strbuf buf;
	struct og_pq_stats st;
	struct seen s;

	(void)state;
	og_strbuf_init(&buf, OG_PQ_LINE_MAX);
	rcpts_line(&buf, OG_PQ_RCPTS_MAX + 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(og_pq_parse(buf.data, buf.len, collect, &s, &st), 0);
	assert_int_equal(st.messages, 1);
	assert_int_equal(s.nrcpts, OG_PQ_RCPTS_MAX);
	assert_int_equal(s.truncated, 1);
	assert_string_equal(s.rcpt0, "r0@x");
	assert_string_equal(s.rcptlast, "r9999@x");
	/* exactly the limit: all kept, not truncated */
	rcpts_line(&buf, OG_PQ_RCPTS_MAX);
	memset(&s, 0, sizeof(s));
	assert_int_equal(og_pq_parse(buf.data, buf.len, collect, &s, &st), 0);
	assert_int_equal(s.nrcpts, OG_PQ_RCPTS_MAX);
	assert_int_equal(s.truncated, 0);
	og_strbuf_release(&buf);
}

static void
test_stop_early(void **state)
{
	static const char in[] = ACTIVE "\n" DEFERRED "\n" ACTIVE "\n";
	struct og_pq_stats st;
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	s.stop_rc = 7;
	assert_int_equal(og_pq_parse(in, sizeof(in) - 1, collect, &s, &st), 7);
	assert_int_equal(s.n, 2);
	assert_int_equal(st.lines, 2);
	assert_int_equal(st.messages, 2);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	s.stop_rc = -1;
	assert_int_equal(
	    og_pq_parse(in, sizeof(in) - 1, collect, &s, NULL), -1);
	assert_int_equal(s.n, 1);
}

static void
test_deep_and_many_bad(void **state)
{
	struct og_strbuf buf;
	struct og_pq_stats st;
	struct seen s;
	size_t i;

	(void)state;
	og_strbuf_init(&buf, OG_PQ_LINE_MAX);
	/* nesting far past jansson's depth limit: refused, no crash */
	for (i = 0; i < 100000; i++)
		assert_int_equal(og_strbuf_addc(&buf, '['), 0);
	assert_int_equal(og_strbuf_adds(&buf, "\n"), 0);
	/* many bad lines: all counted (a few logged) */
	for (i = 0; i < 50; i++)
		assert_int_equal(
		    og_strbuf_adds(&buf, "{\"queue_id\": 1}\n"), 0);
	assert_int_equal(og_strbuf_adds(&buf, ACTIVE), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(og_pq_parse(buf.data, buf.len, collect, &s, &st), 0);
	assert_int_equal(st.lines, 52);
	assert_int_equal(st.bad_lines, 51);
	assert_int_equal(st.messages, 1);
	og_strbuf_release(&buf);
}

static void
test_bad_args(void **state)
{
	struct og_pq_stats st;
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(og_pq_parse(NULL, 0, collect, &s, &st), 0);
	assert_int_equal(st.lines, 0);
	errno = 0;
	assert_int_equal(og_pq_parse(NULL, 5, collect, &s, &st), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_pq_parse("x", 1, NULL, &s, &st), -1);
	assert_int_equal(errno, EINVAL);
	/* a NUL inside a line is not the end of the buffer */
	assert_int_equal(
	    og_pq_parse("{}\0" ACTIVE "\n" ACTIVE,
	        sizeof("{}\0" ACTIVE "\n" ACTIVE) - 1, collect, &s, &st),
	    0);
	assert_int_equal(st.lines, 2);
	assert_int_equal(st.bad_lines, 1);
	assert_int_equal(st.messages, 1);
}

/* Fake Postfix programs for og_pq_run() and og_postsuper(). */

struct fake {
	char dir[256];
	char path[512];
};

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

static const char *
fake_path(struct fake *f, const char *name)
{
	(void)snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

/* fake_read - the contents of DIR/name, "(none)" if it does not exist */
static char *
fake_read(struct fake *f, const char *name)
{
	struct og_strbuf sb;
	char chunk[4096];
	FILE *fp;
	size_t n;

	og_strbuf_init(&sb, 1024 * 1024);
	if ((fp = fopen(fake_path(f, name), "r")) == NULL) {
		(void)og_strbuf_adds(&sb, "(none)");
		return og_strbuf_steal(&sb);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(og_strbuf_addn(&sb, chunk, n), 0);
	(void)fclose(fp);
	return og_strbuf_steal(&sb);
}

static void
assert_file(struct fake *f, const char *name, const char *want)
{
	char *got = fake_read(f, name);

	assert_string_equal(got, want);
	og_free(got);
}

static int
fake_setup(void **state)
{
	static const char script[] =
	    "#!/bin/sh\n"
	    "d=${0%/*}\n"
	    "n=${0##*/}\n"
	    "printf '%s\\n' \"$@\" >\"$d/$n.args\"\n"
	    "printf '%s' \"${MAIL_CONFIG-unset}\" >\"$d/$n.env\"\n"
	    "cat >\"$d/$n.stdin\"\n"
	    "[ -f \"$d/$n.out\" ] && cat \"$d/$n.out\"\n"
	    "[ -f \"$d/$n.err\" ] && cat \"$d/$n.err\" >&2\n"
	    "[ -f \"$d/$n.rc\" ] && exit $(cat \"$d/$n.rc\")\n"
	    "exit 0\n";
	struct fake *f = og_calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	assert_true((size_t)snprintf(f->dir, sizeof(f->dir),
	                "%s/t_postqueue.XXXXXX", tmp) < sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	write_file(fake_path(f, "postqueue"), script, 0755);
	write_file(fake_path(f, "postsuper"), script, 0755);
	assert_int_equal(setenv("OG_POSTFIX_BIN", f->dir, 1), 0);
	(void)unsetenv("MAIL_CONFIG");
	*state = f;
	return 0;
}

static int
fake_teardown(void **state)
{
	struct fake *f = *state;
	const char *argv[] = { "/bin/rm", "-rf", f->dir, NULL };

	assert_int_equal(
	    og_exec(argv, NULL, NULL, 0, NULL, NULL, 10000, NULL), 0);
	(void)unsetenv("OG_POSTFIX_BIN");
	(void)unsetenv("MAIL_CONFIG");
	og_free(f);
	return 0;
}

static void
test_pq_run(void **state)
{
	struct fake *f = *state;
	struct og_pq_stats st;
	struct seen s;

	write_file(fake_path(f, "postqueue.out"),
	    DEFERRED "\nnot json\n" ACTIVE, 0644);
	memset(&s, 0, sizeof(s));
	assert_int_equal(og_pq_run("/etc/postfix-out", collect, &s, &st), 0);
	assert_file(f, "postqueue.args", "-c\n/etc/postfix-out\n-j\n");
	assert_file(f, "postqueue.env", "unset");
	assert_file(f, "postqueue.stdin", "");
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.bad_lines, 1);
	assert_string_equal(s.qid[0], "1C141A74403");
	assert_string_equal(s.reason0, S3150);

	/* no directory: no -c, and our MAIL_CONFIG is handed down */
	memset(&s, 0, sizeof(s));
	assert_int_equal(og_pq_run(NULL, collect, &s, &st), 0);
	assert_file(f, "postqueue.args", "-j\n");
	assert_file(f, "postqueue.env", "unset");
	assert_int_equal(setenv("MAIL_CONFIG", "/srv/sandbox/etc", 1), 0);
	assert_int_equal(og_pq_run("", collect, &s, &st), 0);
	assert_file(f, "postqueue.env", "/srv/sandbox/etc");
	assert_int_equal(setenv("MAIL_CONFIG", "relative/etc", 1), 0);
	assert_int_equal(og_pq_run(NULL, collect, &s, &st), 0);
	assert_file(f, "postqueue.env", "unset");
	(void)unsetenv("MAIL_CONFIG");

	errno = 0;
	assert_int_equal(og_pq_run("etc/postfix", collect, &s, &st), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_pq_run(NULL, NULL, &s, &st), -1);
	assert_int_equal(errno, EINVAL);

	/* a failing postqueue: an error, and nothing parsed */
	write_file(fake_path(f, "postqueue.err"),
	    "postqueue: fatal: Queue report unavailable - mail system is "
	    "down\n",
	    0644);
	write_file(fake_path(f, "postqueue.rc"), "69\n", 0644);
	memset(&s, 0, sizeof(s));
	errno = 0;
	assert_int_equal(og_pq_run(NULL, collect, &s, &st), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(s.n, 0);
	(void)unlink(fake_path(f, "postqueue.rc"));
	(void)unlink(fake_path(f, "postqueue.err"));
}

static void
test_postsuper(void **state)
{
	static const char *const ids[] = { "1C141A74403", "4jXsQM1r0Yz1bYGt",
		"ABCDEF" };
	static const char *const bad[] = { "1C141A74403", "ALL" };
	static const char *const bad2[] = { "1C141A74403", NULL };
	struct fake *f = *state;
	struct og_strbuf err;

	assert_int_equal(og_postsuper("/etc/pf", "-h", ids, 3, NULL), 0);
	assert_file(f, "postsuper.args", "-c\n/etc/pf\n-h\n-\n");
	assert_file(
	    f, "postsuper.stdin", "1C141A74403\n4jXsQM1r0Yz1bYGt\nABCDEF\n");
	assert_int_equal(og_postsuper(NULL, "-H", ids, 1, NULL), 0);
	assert_file(f, "postsuper.args", "-H\n-\n");
	assert_file(f, "postsuper.stdin", "1C141A74403\n");
	assert_int_equal(og_postsuper(NULL, "-r", ids + 2, 1, NULL), 0);
	assert_file(f, "postsuper.args", "-r\n-\n");

	/* refused before anything runs */
	(void)unlink(fake_path(f, "postsuper.args"));
	errno = 0;
	assert_int_equal(og_postsuper(NULL, "-h", bad, 2, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_postsuper(NULL, "-h", bad2, 2, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_postsuper(NULL, "-d", ids, 1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_postsuper(NULL, NULL, ids, 1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_postsuper(NULL, "-h", NULL, 1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(og_postsuper("pf", "-h", ids, 1, NULL), -1);
	assert_int_equal(errno, EINVAL);
	/* nothing to do: nothing runs */
	assert_int_equal(og_postsuper(NULL, "-h", ids, 0, NULL), 0);
	assert_file(f, "postsuper.args", "(none)");

	/* a failing postsuper: -1, its stderr for the caller */
	write_file(fake_path(f, "postsuper.err"),
	    "postsuper: fatal: use of this command is reserved for the "
	    "superuser\n",
	    0644);
	write_file(fake_path(f, "postsuper.rc"), "1\n", 0644);
	og_strbuf_init(&err, 4096);
	errno = 0;
	assert_int_equal(og_postsuper(NULL, "-h", ids, 3, &err), -1);
	assert_int_equal(errno, EIO);
	assert_non_null(strstr(og_strbuf_str(&err), "reserved for the"));
	og_strbuf_release(&err);
	(void)unlink(fake_path(f, "postsuper.rc"));
	(void)unlink(fake_path(f, "postsuper.err"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_queue_id_valid),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_many_recipients),
		cmocka_unit_test(test_stop_early),
		cmocka_unit_test(test_deep_and_many_bad),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test_setup_teardown(
		    test_pq_run, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(
		    test_postsuper, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

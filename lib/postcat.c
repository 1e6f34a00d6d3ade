/*
 * postcat.c - parse "postcat -e -h -q ID" output
 * DESCRIPTION: the output has sections "*** ENVELOPE RECORDS ... ***",
 *	"*** MESSAGE CONTENTS ... ***" (the headers, with -h) and
 *	"*** HEADER EXTRACTED ... ***". In the envelope, "sender: ADDR" and
 *	"named_attribute: NAME=VALUE" lines carry what we want; in the
 *	headers, folded lines (starting with white space) continue the
 *	previous header. Only the first value of each field is kept;
 *	values are cut at OG_POSTCAT_VALUE_MAX bytes and control bytes are
 *	dropped, since the headers are the sender's to write.
 *	Hand-written because no library parses postcat's text format.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "exec.h"
#include "log.h"
#include "postcat.h"
#include "postqueue.h"
#include "strbuf.h"
#include "util.h"

enum section { S_NONE, S_ENVELOPE, S_HEADERS, S_OTHER };

/* keep - set *dst to a cleaned copy of v unless already set */
static void
keep(char **dst, const char *v, size_t len)
{
	char *p;
	size_t i, j;

	if (*dst != NULL)
		return;
	while (len > 0 && isspace((unsigned char)*v))
		v++, len--;
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len > OG_POSTCAT_VALUE_MAX)
		len = OG_POSTCAT_VALUE_MAX;
	p = og_malloc(len + 1);
	for (i = 0, j = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\t')
			p[j++] = ' ';
		else if (c >= 0x20 && c != 0x7f)
			p[j++] = (char)c;
	}
	p[j] = '\0';
	*dst = p;
}

static int
starts(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && og_strncasecmp_ascii(p, prefix, n) == 0;
}

static void
envelope_line(struct og_postcat *pc, const char *p, size_t len)
{
	static const struct {
		const char *name;
		size_t off;
	} attrs[] = {
		{ "named_attribute: sasl_username=",
		    offsetof(struct og_postcat, sasl_username) },
		{ "named_attribute: sasl_method=",
		    offsetof(struct og_postcat, sasl_method) },
		{ "named_attribute: client_address=",
		    offsetof(struct og_postcat, client_address) },
		{ "named_attribute: client_name=",
		    offsetof(struct og_postcat, client_name) },
		{ "named_attribute: helo_name=",
		    offsetof(struct og_postcat, helo_name) },
		{ "sender: ", offsetof(struct og_postcat, sender) },
	};
	size_t i, n;

	for (i = 0; i < OG_NELEM(attrs); i++) {
		n = strlen(attrs[i].name);
		if (len >= n && memcmp(p, attrs[i].name, n) == 0) {
			keep((char **)((char *)pc + attrs[i].off), p + n,
			    len - n);
			return;
		}
	}
	if (len == 7 && memcmp(p, "sender:", 7) == 0)
		keep(&pc->sender, "", 0); /* the null sender */
}

/*
 * received_uid - N of "(Postfix, from userid N)" in the topmost Received:
 * header, the one cleanup(8) adds to mail from sendmail(1)/pickup(8);
 * later Received: headers are the sender's to write and are ignored
 */
static void
received_uid(struct og_postcat *pc, const char *h, size_t len)
{
	static const char tag[] = "(Postfix, from userid ";
	const char *p, *end = h + len;
	unsigned long long uid;
	char num[16];
	size_t n;

	if (pc->received_seen)
		return;
	pc->received_seen = 1;
	for (p = h; (size_t)(end - p) >= sizeof(tag) - 1; p++) {
		if (memcmp(p, tag, sizeof(tag) - 1) != 0)
			continue;
		p += sizeof(tag) - 1;
		for (n = 0; p + n < end && n < sizeof(num) - 1 &&
		     isdigit((unsigned char)p[n]);
		     n++)
			num[n] = p[n];
		num[n] = '\0';
		if (n > 0 && p + n < end && p[n] == ')' &&
		    og_parse_uint(num, 0, 4294967295ULL, &uid) == 0)
			pc->local_uid = (long)uid;
		return;
	}
}

static void
header(struct og_postcat *pc, const char *h, size_t len)
{
	const char *colon;

	if (starts(h, len, "Received:"))
		received_uid(pc, h, len);
	else if (starts(h, len, "From:"))
		keep(&pc->header_from, h + 5, len - 5);
	else if (starts(h, len, "Message-ID:"))
		keep(&pc->message_id, h + 11, len - 11);
	else if (starts(h, len, "Subject:"))
		keep(&pc->subject, h + 8, len - 8);
	else if (starts(h, len, "X-PHP-Originating-Script:")) {
		unsigned long long uid;
		char num[16];
		size_t n;

		keep(&pc->php_script, h + 25, len - 25);
		colon = strchr(pc->php_script, ':');
		n = colon ? (size_t)(colon - pc->php_script) : 0;
		if (n > 0 && n < sizeof(num)) {
			memcpy(num, pc->php_script, n);
			num[n] = '\0';
			if (og_parse_uint(num, 0, 4294967295ULL, &uid) == 0)
				pc->php_uid = (long)uid;
		}
	}
}

int
og_postcat_parse(const char *buf, size_t len, struct og_postcat *pc)
{
	struct og_strbuf h;
	const char *p = buf, *end = buf + len;
	enum section sec = S_NONE;

	memset(pc, 0, sizeof(*pc));
	pc->php_uid = -1;
	pc->local_uid = -1;
	og_strbuf_init(&h, 64 * 1024);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= 4 && memcmp(p, "*** ", 4) == 0) {
			if (sec == S_HEADERS && h.len > 0)
				header(pc, h.data, h.len);
			og_strbuf_reset(&h);
			if (starts(p, n, "*** ENVELOPE RECORDS"))
				sec = S_ENVELOPE;
			else if (starts(p, n, "*** MESSAGE CONTENTS"))
				sec = S_HEADERS;
			else
				sec = S_OTHER;
		} else if (sec == S_ENVELOPE)
			envelope_line(pc, p, n);
		else if (sec == S_HEADERS) {
			if (n > 0 && (*p == ' ' || *p == '\t') && h.len > 0) {
				(void)og_strbuf_addc(&h, ' ');
				(void)og_strbuf_addn(&h, p, n);
			} else {
				if (h.len > 0)
					header(pc, h.data, h.len);
				og_strbuf_reset(&h);
				if (n == 0)
					sec = S_OTHER; /* end of headers */
				else
					(void)og_strbuf_addn(&h, p, n);
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (sec == S_HEADERS && h.len > 0)
		header(pc, h.data, h.len);
	og_strbuf_release(&h);
	return 0;
}

int
og_postcat(const char *config_dir, const char *queue_id, struct og_postcat *pc)
{
	struct og_strbuf out, err;
	struct og_exec_result res;
	const char *argv[8];
	char *cmd;
	int i = 0, rc = OG_ERROR;

	memset(pc, 0, sizeof(*pc));
	pc->php_uid = -1;
	pc->local_uid = -1;
	if (!og_queue_id_valid(queue_id)) {
		og_warnx("postcat: invalid queue id");
		return OG_ERROR;
	}
	if ((cmd = og_postfix_cmd("postcat")) == NULL)
		return OG_ERROR;
	argv[i++] = cmd;
	if (config_dir != NULL) {
		argv[i++] = "-c";
		argv[i++] = config_dir;
	}
	argv[i++] = "-e";
	argv[i++] = "-h";
	argv[i++] = "-q";
	argv[i++] = queue_id;
	argv[i] = NULL;
	og_strbuf_init(&out, OG_POSTCAT_OUTPUT_MAX);
	og_strbuf_init(&err, OG_EXEC_STDERR_MAX);
	if (og_exec(argv, NULL, NULL, 0, &out, &err, 10000, &res) == 0) {
		if (res.status == 0) {
			(void)og_postcat_parse(
			    og_strbuf_str(&out), out.len, pc);
			rc = OG_FOUND;
		} else if (strstr(og_strbuf_str(&err), "not found") != NULL)
			rc = OG_NOTFOUND;
		else
			og_warnx("postcat -q %s: exit %d: %.200s", queue_id,
			    res.status, og_strbuf_str(&err));
	}
	og_strbuf_release(&out);
	og_strbuf_release(&err);
	og_free(cmd);
	return rc;
}

void
og_postcat_clear(struct og_postcat *pc)
{
	og_free(pc->sender);
	og_free(pc->sasl_username);
	og_free(pc->sasl_method);
	og_free(pc->client_address);
	og_free(pc->client_name);
	og_free(pc->helo_name);
	og_free(pc->header_from);
	og_free(pc->message_id);
	og_free(pc->subject);
	og_free(pc->php_script);
	memset(pc, 0, sizeof(*pc));
	pc->php_uid = -1;
}

/*
 * replyfilter.c - smtp_reply_filter decisions for a blocked provider
 * DESCRIPTION: see replyfilter.h. Pure functions over one connection's
 *	state; no I/O. Hand-written: the SMTP reply line syntax is three
 *	digits and a separator, nothing a library would add to.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "replyfilter.h"
#include "strbuf.h"
#include "util.h"

#define TALKING_TO "talking to "

static int
listed(const char *const *keep, const char *provider)
{
	size_t i;

	for (i = 0; provider != NULL && keep != NULL && keep[i] != NULL; i++)
		if (strcmp(keep[i], provider) == 0)
			return 1;
	return 0;
}

const char *
og_rpf_provider(const char *name, size_t len, char *out, size_t size)
{
	size_t i, n;

	if (len == 5 && memcmp(name, "reply", 5) == 0) {
		if (size > 0)
			out[0] = '\0';
		return out;
	}
	if (len < 7 || memcmp(name, "reply-", 6) != 0)
		return NULL;
	n = len - 6;
	if (n >= size || n >= OG_RPF_NAME_MAX)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[6 + i];

		if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
			return NULL;
	}
	memcpy(out, name + 6, n);
	out[n] = '\0';
	return out;
}

/* code - the reply code of an SMTP reply line, 0 if it has none; *more
 * is 1 for a continuation line ("250-") */
static int
code(const char *line, size_t len, int *more)
{
	*more = 0;
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5')
		return 0;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return 0;
	*more = len > 3 && line[3] == '-';
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* append - line to c's joined reply, cut at the bound */
static void
append(struct og_rpf_conn *c, const char *line, size_t len)
{
	size_t room;

	if (c->acclen > 0 && c->acclen < sizeof(c->acc) - 1)
		c->acc[c->acclen++] = ' ';
	room = sizeof(c->acc) - 1 - c->acclen;
	if (len > room)
		len = room;
	memcpy(c->acc + c->acclen, line, len);
	c->acclen += len;
	c->acc[c->acclen] = '\0';
}

enum og_rpf_action
og_rpf_line(struct og_rpf_conn *c, const struct og_classifier *rules,
    struct og_reply *r, const char *const *keep, const char *provider, int held,
    const char *line, size_t len, int64_t now)
{
	int more, rc = code(line, len, &more);

	c->pending = OG_RPF_NONE;
	if (rc == 0) { /* not a reply line: nothing to decide */
		c->acclen = 0;
		return OG_RPF_PASS;
	}
	/*
	 * A greeting (or STARTTLS's 220: also before any MAIL) of the
	 * provider this transport carries, while it blocks us.
	 */
	if (rc == 220 && provider != NULL && provider[0] != '\0' &&
	    (held || (now < c->until && strcmp(c->provider, provider) == 0))) {
		c->acclen = 0;
		c->pending = OG_RPF_AFTER_GREETING;
		return OG_RPF_REFUSE_GREETING;
	}
	/* a reply is judged whole, on its last line */
	append(c, line, len);
	if (more)
		return OG_RPF_PASS;
	if (rc < 400) { /* successes are never touched */
		c->acclen = 0;
		return OG_RPF_PASS;
	}
	og_classify(rules, r, c->acc, c->acclen);
	if (!og_reply_is(r, OG_RF_CLASS, "ip_block") ||
	    og_reply_is(r, OG_RF_CLASS, "recipient") ||
	    !listed(keep, r->v[OG_RF_PROVIDER])) {
		c->acclen = 0;
		return OG_RPF_PASS;
	}
	/* a block: keep its text for the statuses, end the session */
	memcpy(c->block, c->acc, c->acclen + 1);
	c->blocklen = c->acclen;
	(void)og_strlcpy(
	    c->provider, r->v[OG_RF_PROVIDER], sizeof(c->provider));
	c->until = now + OG_RPF_MEMORY;
	c->acclen = 0;
	c->pending = OG_RPF_AFTER_BLOCK;
	return OG_RPF_END_SESSION;
}

/* enhanced - the enhanced status code of a reply, or one made from its
 * reply code ("550" gives "5.0.0") */
static void
enhanced(const char *reply, size_t len, char *out, size_t size)
{
	size_t i = 4, dots = 0, start = 4;

	if (len > 4) {
		while (i < len && i - start < size - 1 &&
		    (isdigit((unsigned char)reply[i]) || reply[i] == '.')) {
			dots += reply[i] == '.';
			i++;
		}
		if (dots == 2 && i - start >= 5 && reply[start] == reply[0] &&
		    (i == len || reply[i] == ' ')) {
			memcpy(out, reply + start, i - start);
			out[i - start] = '\0';
			return;
		}
	}
	(void)snprintf(out, size, "%c.0.0", len > 0 ? reply[0] : '4');
}

int
og_rpf_status(
    struct og_rpf_conn *c, const char *key, size_t klen, struct og_strbuf *out)
{
	const char *host = NULL, *p;
	size_t hlen = 0;
	char ec[16];

	if (c->pending == OG_RPF_NONE || klen < 6 ||
	    memcmp(key, "4.3.0 ", 6) != 0) {
		c->pending = OG_RPF_NONE;
		return 0;
	}
	if (c->pending == OG_RPF_AFTER_GREETING)
		return 2;
	/* "... while talking to HOST[IP]": the host, to say who said it */
	if ((p = memmem(key, klen, TALKING_TO, sizeof(TALKING_TO) - 1)) !=
	    NULL) {
		host = p + sizeof(TALKING_TO) - 1;
		hlen = klen - (size_t)(host - key);
		while (hlen > 0 &&
		    (host[hlen - 1] == '.' ||
		        isspace((unsigned char)host[hlen - 1])))
			hlen--;
	}
	enhanced(c->block, c->blocklen, ec, sizeof(ec));
	og_strbuf_reset(out);
	(void)og_strbuf_adds(out, ec);
	if (hlen > 0 && hlen < 300) {
		(void)og_strbuf_adds(out, " host ");
		(void)og_strbuf_addn(out, host, hlen);
		(void)og_strbuf_adds(out, " said:");
	}
	(void)og_strbuf_addc(out, ' ');
	(void)og_strbuf_addn(out, c->block, c->blocklen);
	return 1;
}

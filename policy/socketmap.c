/*
 * socketmap.c - netstrings for Postfix's socketmap, and the status filter
 * DESCRIPTION: see socketmap.h. A netstring's length has at most six
 *	digits and no leading zero but for "0"; the data must end with ','.
 *	The status filter keeps the mail of a blocked sender queued by
 *	turning a 5.X.Y into 4.X.Y with the remote text unchanged, so that
 *	the deferred queue's delay_reason still shows Microsoft's reply.
 *	Hand-written: no maintained library speaks socketmap.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "classify.h"
#include "socketmap.h"
#include "strbuf.h"
#include "util.h"

int
og_sm_next(const char *buf, size_t len, const char **data, size_t *dlen,
    size_t *used, const char **err)
{
	size_t i, n = 0;

	for (i = 0; i < len && isdigit((unsigned char)buf[i]); i++) {
		if (i >= 6) {
			*err = "netstring length too long";
			return -1;
		}
		n = n * 10 + (size_t)(buf[i] - '0');
	}
	if (i == len)
		return 0; /* the length is not complete yet */
	if (i == 0 || buf[i] != ':') {
		*err = "netstring without a length";
		return -1;
	}
	if (i > 1 && buf[0] == '0') {
		*err = "netstring length with a leading zero";
		return -1;
	}
	if (n > OG_SM_REQUEST_MAX) {
		*err = "socketmap request too large";
		return -1;
	}
	if (len - i - 1 < n + 1)
		return 0;
	if (buf[i + 1 + n] != ',') {
		*err = "netstring not ended by ','";
		return -1;
	}
	*data = buf + i + 1;
	*dlen = n;
	*used = i + 1 + n + 1;
	return 1;
}

int
og_sm_reply(
    struct og_strbuf *out, const char *status, const char *text, size_t tlen)
{
	size_t n = strlen(status) + 1 + tlen;

	if (og_strbuf_addf(out, "%zu:%s ", n, status) < 0 ||
	    og_strbuf_addn(out, text, tlen) < 0)
		return -1;
	return og_strbuf_addc(out, ',');
}

static int
listed(const char *const *keep, const char *provider)
{
	size_t i;

	for (i = 0; provider != NULL && keep != NULL && keep[i] != NULL; i++)
		if (strcmp(keep[i], provider) == 0)
			return 1;
	return 0;
}

/* parse_dsn - "X.Y.Z" at the start of the key; its length, 0 if none */
static size_t
parse_dsn(const char *key, size_t klen, char *dsn, size_t size)
{
	size_t i = 0, dots = 0;

	while (i < klen && i < size - 1 &&
	    (isdigit((unsigned char)key[i]) || key[i] == '.')) {
		dots += key[i] == '.';
		i++;
	}
	if (i < 5 || dots != 2 || key[0] < '2' || key[0] > '5' ||
	    key[1] != '.' || (i < klen && key[i] != ' '))
		return 0;
	memcpy(dsn, key, i);
	dsn[i] = '\0';
	return i;
}

void
og_status_filter(const struct og_classifier *cl, struct og_reply *r,
    const char *const *keep, const char *key, size_t klen,
    struct og_sf_result *res)
{
	size_t n;

	memset(res, 0, sizeof(*res));
	res->action = OG_SF_NOTFOUND;
	if ((n = parse_dsn(key, klen, res->dsn, sizeof(res->dsn))) == 0)
		return; /* not "DSN TEXT": nothing we understand */
	res->text = key + n + (n < klen ? 1 : 0);
	res->tlen = klen - (size_t)(res->text - key);
	res->success = res->dsn[0] == '2';
	og_classify(cl, r, res->text, res->tlen);
	res->block = og_reply_is(r, OG_RF_CLASS, "ip_block");
	/* only permanent failures bounce; recipients' faults stay theirs */
	if (res->dsn[0] != '5' || !res->block ||
	    og_reply_is(r, OG_RF_CLASS, "recipient"))
		return;
	if (listed(keep, r->v[OG_RF_PROVIDER]))
		res->action = OG_SF_KEEP;
}

int
og_sf_answer(const struct og_sf_result *res, struct og_strbuf *out)
{
	struct og_strbuf v;
	size_t tlen;
	int rc;

	if (res->action != OG_SF_KEEP)
		return og_sm_reply(out, "NOTFOUND", "", 0);
	og_strbuf_init(&v, OG_SM_REPLY_TEXT_MAX + 32);
	tlen =
	    res->tlen > OG_SM_REPLY_TEXT_MAX ? OG_SM_REPLY_TEXT_MAX : res->tlen;
	/* 5.7.1 -> 4.7.1: the same detail, temporary */
	(void)og_strbuf_addc(&v, '4');
	(void)og_strbuf_adds(&v, res->dsn + 1);
	(void)og_strbuf_addc(&v, ' ');
	(void)og_strbuf_addn(&v, res->text, tlen);
	rc = og_sm_reply(out, "OK", v.data, v.len);
	og_strbuf_release(&v);
	return rc;
}

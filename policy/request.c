/*
 * request.c - parse one Postfix policy delegation request
 * DESCRIPTION: see request.h. Bounds are checked before anything is
 *	kept: the request size, the number of attributes, each name's and
 *	value's length. Names must be [a-z0-9_] (Postfix's own); values may
 *	hold any byte but NUL and newline. A known attribute given twice is
 *	malformed: Postfix never does that, and a second value could hide
 *	the first from one reader and not another.
 */
#include "config.h"

#include <string.h>

#include "request.h"
#include "util.h"

static const char *const attr_names[OG_RA_NATTRS] = {
	"request",
	"protocol_state",
	"protocol_name",
	"helo_name",
	"queue_id",
	"sender",
	"recipient",
	"recipient_count",
	"client_address",
	"client_name",
	"reverse_client_name",
	"instance",
	"sasl_method",
	"sasl_username",
	"sasl_sender",
	"size",
};

const char *
og_request_attr_name(enum og_req_attr a)
{
	return (unsigned)a < OG_RA_NATTRS ? attr_names[a] : "?";
}

size_t
og_request_end(const char *buf, size_t len)
{
	size_t i;

	if (len >= 1 && buf[0] == '\n')
		return 1; /* an empty request: let the parser reject it */
	for (i = 1; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\n')
			return i + 1;
	return 0;
}

static int
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > OG_REQUEST_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '_'))
			return 0;
	}
	return 1;
}

int
og_request_parse(struct og_request *rq, char *buf, size_t len, const char **err)
{
	char *p = buf, *end = buf + len;
	size_t i;

	memset(rq, 0, sizeof(*rq));
	if (len > OG_REQUEST_MAX) {
		*err = "request too large";
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		*err = "NUL byte in request";
		return -1;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end, *eq;
		size_t nlen, vlen;

		if (le > p && le[-1] == '\r')
			le--; /* tolerate CRLF from hand-written clients */
		if (le == p) {
			*err = "empty line inside a request";
			return -1;
		}
		if ((eq = memchr(p, '=', (size_t)(le - p))) == NULL) {
			*err = "line without '='";
			return -1;
		}
		nlen = (size_t)(eq - p);
		vlen = (size_t)(le - eq - 1);
		if (!name_ok(p, nlen)) {
			*err = "bad attribute name";
			return -1;
		}
		if (vlen > OG_REQUEST_VALUE_MAX) {
			*err = "attribute value too long";
			return -1;
		}
		if (++rq->nattrs > OG_REQUEST_ATTRS_MAX) {
			*err = "too many attributes";
			return -1;
		}
		*le = '\0';
		for (i = 0; i < OG_RA_NATTRS; i++) {
			/* the first byte rules out most names cheaply */
			if (attr_names[i][0] != p[0] ||
			    strlen(attr_names[i]) != nlen ||
			    memcmp(attr_names[i], p, nlen) != 0)
				continue;
			if (rq->a[i] != NULL) {
				*err = "attribute given twice";
				return -1;
			}
			rq->a[i] = eq + 1;
			break;
		}
		p = nl ? nl + 1 : end;
	}
	if (rq->a[OG_RA_REQUEST] == NULL ||
	    strcmp(rq->a[OG_RA_REQUEST], "smtpd_access_policy") != 0) {
		*err = "not an smtpd_access_policy request";
		return -1;
	}
	return 0;
}

const char *
og_request_get(const struct og_request *rq, enum og_req_attr a)
{
	return rq->a[a] ? rq->a[a] : "";
}

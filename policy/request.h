/*
 * request.h - one Postfix policy delegation request (SMTPD_POLICY_README)
 * DESCRIPTION: a request is "name=value" lines ended by an empty line.
 *	og_request_parse() takes one complete request (without the empty
 *	line), checks it against hard bounds and keeps the attributes
 *	outguard uses; the others are counted and ignored, as Postfix
 *	allows new attributes at any time. The parsed strings point into
 *	the caller's buffer, which og_request_parse() modifies (NULs).
 * DIAGNOSTICS: -1 with *err set to a static reason for a malformed or
 *	oversized request; the caller logs it and closes the connection
 *	without an answer, so Postfix applies its default_action.
 */
#ifndef OG_REQUEST_H
#define OG_REQUEST_H

#include <stddef.h>

#define OG_REQUEST_MAX (64 * 1024) /* one whole request */
#define OG_REQUEST_ATTRS_MAX 256 /* attributes in one request */
#define OG_REQUEST_NAME_MAX 64
#define OG_REQUEST_VALUE_MAX 4096

enum og_req_attr {
	OG_RA_REQUEST,
	OG_RA_PROTOCOL_STATE,
	OG_RA_PROTOCOL_NAME,
	OG_RA_HELO_NAME,
	OG_RA_QUEUE_ID,
	OG_RA_SENDER,
	OG_RA_RECIPIENT,
	OG_RA_RECIPIENT_COUNT,
	OG_RA_CLIENT_ADDRESS,
	OG_RA_CLIENT_NAME,
	OG_RA_REVERSE_CLIENT_NAME,
	OG_RA_INSTANCE,
	OG_RA_SASL_METHOD,
	OG_RA_SASL_USERNAME,
	OG_RA_SASL_SENDER,
	OG_RA_SIZE,
	OG_RA_NATTRS
};

struct og_request {
	const char *a[OG_RA_NATTRS]; /* NULL when absent */
	size_t nattrs; /* all attributes, known or not */
};

int og_request_parse(
    struct og_request *, char *buf, size_t len, const char **err);
/* og_request_get - attribute value, "" when absent */
const char *og_request_get(const struct og_request *, enum og_req_attr);
const char *og_request_attr_name(enum og_req_attr);
/*
 * og_request_end - offset just past the "\n\n" ending the first
 * request in buf, or 0 when buf holds no complete request yet
 */
size_t og_request_end(const char *buf, size_t len);

#endif

/*
 * identity.h - may this sender use this envelope sender and this From?
 * DESCRIPTION: pure decision functions, no libmilter: the milter gathers
 *	the SASL login ({auth_authen}), the client address, MAIL FROM and
 *	the From header values, and asks og_identity_check(). The rules:
 *	- An authenticated login must own the envelope sender, per
 *	  sender_login_maps (Postfix smtpd_sender_login_maps: the full
 *	  address, then "@domain"; the value lists logins separated by
 *	  commas and/or white space; logins compare case-insensitively).
 *	  Without sender_login_maps a login owns only the address it is
 *	  spelled as ("alice@example.com"), and the envelope is not checked.
 *	- The message has exactly one From header holding exactly one
 *	  mailbox (no group), whose domain has the envelope sender's
 *	  organisational domain (DMARC relaxed alignment), or which the
 *	  login owns.
 *	- Unauthenticated mail from internal_hosts, or with no client
 *	  address at all (a local submission), may use only local_domains,
 *	  in the envelope and in From. With local_domains empty that rule is
 *	  off (result skip).
 *	- The null sender skips the envelope checks; From is checked as
 *	  above (for a login: it must own From, as nothing aligns with <>).
 *	- Unauthenticated external clients are inbound mail: skip.
 *	- outguard's own notifications (envelope notify_sender, from an
 *	  unauthenticated internal or local client) are exempt.
 * DIAGNOSTICS: never fails on bad input: hostile input is a "fail" with
 *	a reason token; a table lookup error is OG_IDENTITY_ERROR. Bounded:
 *	From values over OG_ADDR_HEADER_MAX bytes fail as from-syntax.
 */
#ifndef OG_IDENTITY_H
#define OG_IDENTITY_H

#include <stddef.h>

struct og_table;
struct og_addr;

#define OG_IDENTITY_FROM_KEEP 4 /* From values the caller needs to keep */
#define OG_IDENTITY_LOG_MAX 320 /* the From address kept for the log */

enum og_identity_res {
	OG_IDENTITY_PASS,
	OG_IDENTITY_FAIL,
	OG_IDENTITY_SKIP, /* the rules do not apply (inbound, unconfigured) */
	OG_IDENTITY_EXEMPT, /* outguard's own notification */
	OG_IDENTITY_ERROR, /* a lookup failed: answer "try again later" */
};

enum og_identity_origin {
	OG_ORIGIN_AUTH, /* SASL authenticated */
	OG_ORIGIN_INTERNAL, /* client address in internal_hosts */
	OG_ORIGIN_LOCAL, /* no client address: sendmail(1), pickup */
	OG_ORIGIN_EXTERNAL, /* anyone else */
};

/* the settings, borrowed from a config snapshot */
struct og_identity_policy {
	const struct og_table *login_maps; /* sender_login_maps, or NULL */
	const struct og_table *internal_hosts; /* or NULL: none internal */
	const char *const *local_domains; /* normalised (lowercase) */
	size_t nlocal;
	const char *notify_sender; /* "outguard@HOST", or NULL */
	int off; /* identity_action = off: origin and notification only */
};

/* one message, as the MTA described it; every string may be NULL */
struct og_identity_msg {
	const char *login; /* {auth_authen}; NULL or "": none */
	const char *client_addr; /* IP literal; NULL or "": no client */
	const char *envelope; /* MAIL FROM argument, "<a@b>" or bare */
	const char *from[OG_IDENTITY_FROM_KEEP]; /* first From values */
	size_t nfrom; /* From headers seen, may exceed the kept ones */
};

struct og_identity_verdict {
	enum og_identity_res res;
	enum og_identity_origin origin;
	const char *reason; /* static token, "" on pass */
	char from[OG_IDENTITY_LOG_MAX]; /* From address for the log, or "" */
};

/*
 * og_identity_origin - who sends m: a login, an internal host (per
 * internal_hosts), a local process (no client address) or anyone else;
 * -1 when the internal_hosts lookup fails
 */
int og_identity_origin(const struct og_identity_policy *,
    const struct og_identity_msg *, enum og_identity_origin *);
/* og_identity_check - apply the rules; fills *v completely */
void og_identity_check(const struct og_identity_policy *,
    const struct og_identity_msg *, struct og_identity_verdict *v);

/*
 * og_identity_owns - does login own addr ("local@domain", lowercase)
 * per maps (NULL: only when login spells addr)? OG_FOUND, OG_NOTFOUND
 * or OG_ERROR.
 */
int og_identity_owns(
    const struct og_table *maps, const char *login, const char *addr);

/*
 * og_identity_parse_from - one From header value into its single
 * mailbox (release with og_addr_clear()); 0, or -1 with *reason set to
 * "from-syntax" or "from-addresses"
 */
int og_identity_parse_from(
    const char *value, size_t len, struct og_addr *out, const char **reason);

const char *og_identity_res_name(enum og_identity_res);
const char *og_identity_origin_name(enum og_identity_origin);

#endif

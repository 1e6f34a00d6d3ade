/*
 * addr.h - mail addresses and domains
 * DESCRIPTION: RFC 5321 reverse/forward paths ("<user@domain>", "<>",
 *	source routes dropped), RFC 5322 address lists (display names,
 *	quoted strings, comments, groups, obsolete forms tolerated where
 *	Postfix tolerates them), domain normalisation (ASCII lowercase,
 *	one trailing dot removed; IDNA and UTF-8 left as they are), and
 *	the organisational domain (DMARC, RFC 7489 3.2) through libpsl.
 *	All input is hostile: lengths are checked first, counts are capped.
 * DIAGNOSTICS: parsers return 0 on success or -1 and set *err to a
 *	static description (never input bytes).
 */
#ifndef OG_ADDR_H
#define OG_ADDR_H

#include <stddef.h>

#define OG_ADDR_MAX 998 /* longest address we keep */
#define OG_ADDR_LOCAL_MAX 256 /* generous: RFC 5321 says 64 */
#define OG_ADDR_DOMAIN_MAX 255
#define OG_ADDR_LIST_MAX 1000 /* addresses per header */
#define OG_ADDR_HEADER_MAX (64 * 1024) /* bytes of one header value */

struct og_addr {
	char *local; /* unquoted local part, as written (case kept) */
	char *domain; /* normalised domain, or NULL (no @) */
	char *display; /* display name, quoting undone, or NULL;
				   RFC 2047 encoded words NOT decoded */
	char *group; /* group name this mailbox belongs to, or NULL */
};

struct og_addr_list {
	struct og_addr *addrs;
	size_t count;
	size_t groups; /* group constructs seen (even empty) */
};

/*
 * og_addr_parse_path - RFC 5321 Reverse-path/Forward-path, with or
 * without the angle brackets (Postfix and Sendmail macros differ). "<>"
 * and "" give the null sender: local = "", domain = NULL. A bare local
 * part ("<postmaster>") gives domain = NULL. Fills *out only on success;
 * release it with og_addr_clear().
 */
int og_addr_parse_path(
    const char *, size_t, struct og_addr *, const char **err);
/*
 * og_addr_parse_list - an RFC 5322 address-list (From:, To:, ...). An
 * empty list is success with count 0. Fills *out only on success;
 * release it with og_addr_list_clear().
 */
int og_addr_parse_list(
    const char *, size_t, struct og_addr_list *, const char **err);
void og_addr_clear(struct og_addr *);
void og_addr_list_clear(struct og_addr_list *);
/*
 * og_addr_format - "local@domain" (quoting the local part if needed),
 * "" for the null sender, NULL for a NULL address. Caller frees.
 */
char *og_addr_format(const struct og_addr *);

/* og_domain_normalize - lowercase copy, one trailing dot off; NULL if bad */
char *og_domain_normalize(const char *, size_t);
/* og_domain_valid - plausible DNS name (labels 1-63, total <= 253) */
int og_domain_valid(const char *);
/*
 * og_domain_orgdomain - the organisational domain of a normalised
 * domain through libpsl's registrable domain (PSL ICANN + private
 * sections); the domain itself when it is a public suffix or unknown,
 * and for address literals. NULL only for NULL. Caller frees.
 */
char *og_domain_orgdomain(const char *);
/* og_domain_aligned - DMARC alignment: strict (equal) or relaxed (same org) */
int og_domain_aligned(const char *, const char *, int strict);

#endif

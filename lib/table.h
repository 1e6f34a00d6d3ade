/*
 * table.h - lookup tables named "type:path"
 * DESCRIPTION: a small vtable over four kinds of table, loaded whole
 *	into memory at open time (and so safe to share between threads
 *	once opened; lookups never touch the file again):
 *	file:PATH   Postfix-style "key value" lines, keys matched case-
 *	            insensitively (lowercased on load); og_table_lookup_addr()
 *	            applies the address search order (see below). A
 *	            duplicate key is warned about and the first one wins.
 *	pcre:PATH   Postfix pcre_table(5) subset: /regex/flags result,
 *	            in order, first match wins; the delimiter may be any
 *	            byte but a letter, digit, space or backslash; flags i
 *	            (a toggle: caseless is the default, as in Postfix), m,
 *	            s, x, A, E, U;
 *	            "!/re/" negation (no $n in its result); $n, ${n}, $(n)
 *	            and $$ in the result. if/endif are refused.
 *	cidr:PATH   "network[/prefix] result" lines, IPv4 and IPv6 (either
 *	            may be in [brackets]), first match wins, as Postfix
 *	            cidr_table(5). Host bits set after the prefix are a load
 *	            error (Postfix only warns). Keys must be IP literals.
 *	inline:{ a, b, c }  a literal list (values "yes") split at commas and
 *	            whitespace, for settings like internal_hosts that take
 *	            a table or a list. Keys match case-insensitively; an IP
 *	            key also matches any element that is an address or a
 *	            network ("127.0.0.0/8", "::1").
 *	Files share Postfix's line syntax: blank lines and lines whose
 *	first non-space character is "#" are ignored, and a line starting
 *	with whitespace continues the logical line before it. Lines longer
 *	than OG_TABLE_LINE_MAX, NUL bytes, and more than
 *	OG_TABLE_MAX_ENTRIES entries are load errors. Table files may be
 *	symlinks but must be regular files and not world-writable.
 * DIAGNOSTICS: og_table_open() returns NULL and fills err with
 *	"PATH:LINE: reason" ("PATH: reason" for the file as a whole,
 *	such as "cannot open", or "reason" for the name itself). Lookups
 *	return OG_FOUND (value set, borrowed until og_table_free()),
 *	OG_NOTFOUND, or OG_ERROR (a key that cannot be looked up, e.g. a
 *	non-IP given to a cidr table, or a key over OG_TABLE_KEY_MAX; a
 *	pcre match that hits its backtracking limit; a pcre result that
 *	would expand past OG_TABLE_RESULT_MAX).
 *	XXX A pcre result with $n substitutions lives in a per-thread
 *	buffer: it stays valid only until the same thread's next lookup in
 *	any pcre table (other values last until og_table_free()). Copy it
 *	before looking up again.
 */
#ifndef OG_TABLE_H
#define OG_TABLE_H

#include <stddef.h>

struct og_table;
struct og_strbuf;

#define OG_TABLE_KEY_MAX 1024 /* longer keys are OG_ERROR */
#define OG_TABLE_LINE_MAX 8192 /* longer lines are a load error */
#define OG_TABLE_MAX_ENTRIES 1000000 /* more is a load error */
#define OG_TABLE_RESULT_MAX 4096 /* longest expanded pcre result */

/* open flags */
#define OG_TABLE_PARENT 0x01 /* file: domain lookups try parents */

/*
 * og_table_open - load "type:path" whole; on error return NULL with the
 * reason in err (reset first; logged with og_warnx() if err is NULL).
 */
struct og_table *og_table_open(
    const char *name, int flags, struct og_strbuf *err);
/* og_table_free - release everything; NULL is a no-op; returns NULL */
struct og_table *og_table_free(struct og_table *);
/* og_table_type - "file", "pcre", "cidr" or "inline" */
const char *og_table_type(const struct og_table *);
const char *og_table_name(const struct og_table *);
/* og_table_valid_type - 1 if "type:" prefix of name is a known type */
int og_table_valid_type(const char *name);

int og_table_lookup(
    const struct og_table *, const char *key, const char **value);
/*
 * og_table_lookup_addr - Postfix address search order for an address
 * "user@domain" (split at the last "@"; or a bare "domain"): for file:
 * tables the full address, then "user@", then the domain, then its
 * parents, then "@domain"; a bare domain tries the domain and its
 * parents only. Parents are tried as Postfix's check_domain_access()
 * does: "example.com" for "a.example.com" with OG_TABLE_PARENT, else
 * ".example.com" (so a ".example.com" key matches subdomains only).
 * The key is lowercased first. pcre: and inline: tables see the whole
 * address once; cidr: tables are an OG_ERROR here.
 */
int og_table_lookup_addr(
    const struct og_table *, const char *addr, const char **value);

#endif

/*
 * unsub.h - does bulk mail carry a working unsubscribe (RFC 2369, 8058)
 * DESCRIPTION: pure functions over one message's headers and body, no
 *	libmilter: the milter feeds them what it collected. A message is
 *	bulk when it has Precedence: bulk|list|junk, a List-Id, a
 *	List-Unsubscribe, more than bulk_min_recipients recipients, or a
 *	sender in bulk_senders (the caller decides the last two and passes
 *	the verdict). For bulk mail: exactly one List-Unsubscribe in
 *	angle-bracket syntax with at least one https: URI, exactly one
 *	List-Unsubscribe-Post: List-Unsubscribe=One-Click, and an
 *	unsubscribe link in the body (GMime walks the MIME structure; href
 *	targets and bare URLs of text and HTML parts, and their anchor text,
 *	are matched against the keyword list; a single-part body is read
 *	without GMime's tree, with GMime's own decoders). Only the first max_body
 *	bytes are scanned; past that the body result is "unchecked".
 *	The keyword list is immutable once loaded and may be shared by
 *	any number of threads; every other function is reentrant.
 * DIAGNOSTICS: every function is bounded in time and memory for any
 *	input and never fails on bad input: bad input is a "fail" result
 *	with a reason. Only og_unsub_keywords_load/_parse report errors.
 */
#ifndef OG_UNSUB_H
#define OG_UNSUB_H

#include <stddef.h>

#define OG_UNSUB_REASON_MAX 128

/* hard limits: input past them is rejected or left unchecked */
#define OG_UNSUB_VALUE_MAX 8192 /* one List-Unsubscribe(-Post) value */
#define OG_UNSUB_KEYWORD_MAX 128 /* bytes in one keyword */
#define OG_UNSUB_KEYWORDS_MAX 1024 /* keywords in one list */
#define OG_UNSUB_KEYFILE_MAX (1024 * 1024) /* bytes in a keyword file */
#define OG_UNSUB_DEPTH_MAX 32 /* MIME nesting walked */
#define OG_UNSUB_PARTS_MAX 256 /* text parts decoded per message */
#define OG_UNSUB_LINKS_MAX 2048 /* links matched per message */

enum og_unsub_res {
	OG_UNSUB_NOT_BULK, /* nothing checked */
	OG_UNSUB_PASS,
	OG_UNSUB_FAIL,
	OG_UNSUB_UNCHECKED, /* body longer than max_body, headers ok */
};

struct og_unsub_keywords; /* the keyword list, loaded once */

/*
 * og_unsub_init - set GMime up once; thread-safe (pthread_once), and
 * called by every function that needs it, so calling it is optional.
 */
void og_unsub_init(void);

/* og_unsub_keywords_load - NULL with "FILE:LINE: why" in err */
struct og_strbuf;
struct og_unsub_keywords *og_unsub_keywords_load(
    const char *path, struct og_strbuf *err);
/*
 * og_unsub_keywords_parse - the same from a buffer (tests, fuzzers);
 * name stands for FILE in the messages
 */
struct og_unsub_keywords *og_unsub_keywords_parse(
    const char *buf, size_t len, const char *name, struct og_strbuf *err);
void og_unsub_keywords_free(struct og_unsub_keywords *);
size_t og_unsub_keywords_count(const struct og_unsub_keywords *);
/*
 * og_unsub_keywords_match - 1 when the UTF-8 text (invalid sequences
 * are replaced, case and Unicode normalisation ignored) contains a
 * keyword, else 0
 */
int og_unsub_keywords_match(
    const struct og_unsub_keywords *, const char *text, size_t len);

/* one header as the MTA passed it: name without ':', value unfolded or not */
struct og_unsub_header {
	const char *name, *value;
};

/*
 * og_unsub_is_bulk - does this header set make the message bulk?
 * (the recipient count and bulk_senders are the caller's)
 */
int og_unsub_is_bulk(const struct og_unsub_header *, size_t nheaders);

/*
 * og_unsub_list_unsubscribe - parse one List-Unsubscribe value: 1 when
 * it is RFC 2369 syntax (<uri>, <uri>...) with an https: URI, else 0
 * with the reason
 */
int og_unsub_list_unsubscribe(
    const char *value, size_t len, char reason[OG_UNSUB_REASON_MAX]);

/*
 * og_unsub_body_link - find an unsubscribe link in a whole message
 * (headers + body, as RFC 5322 text, CRLF or LF): OG_UNSUB_PASS,
 * OG_UNSUB_FAIL or OG_UNSUB_UNCHECKED (longer than max_body, or a
 * limit above was reached, and no link found in what was scanned).
 * A NULL keyword list leaves the body unchecked.
 */
enum og_unsub_res og_unsub_body_link(const struct og_unsub_keywords *,
    const char *msg, size_t len, size_t max_body,
    char reason[OG_UNSUB_REASON_MAX]);

/*
 * og_unsub_body_link_path - og_unsub_body_link() with the way in chosen:
 * OG_UNSUB_PATH_ANY reads a single-part text/plain or text/html body
 * (or one without Content-Type) without building GMime's tree, and
 * takes the tree for anything else; OG_UNSUB_PATH_TREE always builds
 * it. Both give the same result and reason for any input (the tests
 * and the fuzzer compare them). *flat (may be NULL) is set to 1 when
 * the tree was skipped.
 */
enum og_unsub_path {
	OG_UNSUB_PATH_ANY,
	OG_UNSUB_PATH_TREE,
};
enum og_unsub_res og_unsub_body_link_path(const struct og_unsub_keywords *,
    const char *msg, size_t len, size_t max_body, enum og_unsub_path, int *flat,
    char reason[OG_UNSUB_REASON_MAX]);

/*
 * og_unsub_check - the whole verdict for one message. bulk_by_caller:
 * the recipient count or bulk_senders made it bulk. reason names the
 * first failing rule ("no-list-unsubscribe-post", "no-https-uri",
 * "no-body-link", ...).
 */
enum og_unsub_res og_unsub_check(const struct og_unsub_keywords *,
    const struct og_unsub_header *, size_t nheaders, int bulk_by_caller,
    const char *msg, size_t len, size_t max_body,
    char reason[OG_UNSUB_REASON_MAX]);

const char *og_unsub_res_name(enum og_unsub_res);

#endif

/*
 * socketmap.h - Postfix's socketmap protocol and the delivery status
 *	filter served through it
 * DESCRIPTION: socketmap_table(5): each request is a netstring
 *	"LEN:NAME KEY," and each reply a netstring "LEN:OK VALUE,",
 *	"LEN:NOTFOUND ,", "TEMP|TIMEOUT|PERM reason". Postfix's
 *	smtp_delivery_status_filter looks up "DSN TEXT" for the final
 *	status of every recipient of every delivery attempt.
 *	og_sm_next() cuts one request out of a buffer; og_sm_reply()
 *	writes one reply; og_status_filter() decides a reply. All pure.
 */
#ifndef OG_SOCKETMAP_H
#define OG_SOCKETMAP_H

#include <stddef.h>

struct og_classifier;
struct og_reply;
struct og_strbuf;

#define OG_SM_REQUEST_MAX (128 * 1024) /* one netstring's data */
#define OG_SM_REPLY_TEXT_MAX 99000 /* under Postfix's 100000 */

/*
 * og_sm_next - find one complete netstring at the start of buf:
 * 1 (data, dlen and *used set), 0 (need more bytes), -1 (malformed or
 * over OG_SM_REQUEST_MAX, *err set: close the connection)
 */
int og_sm_next(const char *buf, size_t len, const char **data, size_t *dlen,
    size_t *used, const char **err);
/* og_sm_reply - append the netstring "STATUS SP text" to out */
int og_sm_reply(
    struct og_strbuf *out, const char *status, const char *text, size_t tlen);

/* what og_status_filter() decided */
enum og_sf_action {
	OG_SF_NOTFOUND, /* leave Postfix's status as it is */
	OG_SF_KEEP, /* a block: answer a 4.x.x to keep the mail queued */
};

struct og_sf_result {
	enum og_sf_action action;
	char dsn[16]; /* the status Postfix sent, e.g. "5.7.1" */
	const char *text; /* the text part of the key, borrowed */
	size_t tlen;
	int success; /* a 2.x.x delivery */
	int block; /* the classifier says ip_block */
};

/*
 * og_status_filter - classify the key "DSN TEXT" (the socketmap request
 * without its map name) into r; keep (a 4.x.x answer) when it is a
 * permanent ip_block from a provider in keep (NULL-terminated names).
 * Recipient problems are never kept, whatever the classifier says.
 */
void og_status_filter(const struct og_classifier *, struct og_reply *r,
    const char *const *keep, const char *key, size_t klen,
    struct og_sf_result *out);
/* og_sf_answer - the socketmap reply for res into out */
int og_sf_answer(const struct og_sf_result *res, struct og_strbuf *out);

#endif

/*
 * milter.h - outguard-milter's per-connection state and its limits
 * DESCRIPTION: one struct og_conn per MTA connection, behind
 *	smfi_setpriv(): the pinned configuration snapshot, the client, and
 *	the current message (struct og_msg), which is reset at eom and
 *	at abort. Every buffer filled from the MTA has a cap below, so that
 *	a hostile message (a 1 MB header block, 10,000 recipients, a huge
 *	body) costs bounded memory: past a cap things are counted, not kept.
 */
#ifndef OG_MILTER_H
#define OG_MILTER_H

#include <stddef.h>

#include "identity.h"
#include "strbuf.h"
#include "unsub.h"

#define OG_MILTER_HDRS_MAX 1000 /* headers kept per message */
#define OG_MILTER_HDR_BYTES (256 * 1024) /* header text kept per message */
#define OG_MILTER_RCPT_MAX 1000000UL /* recipients counted, then it stays */
#define OG_MILTER_ENV_MAX 1024 /* MAIL FROM bytes kept (longer: syntax) */
#define OG_MILTER_LOGIN_MAX 256 /* {auth_authen} bytes kept */
#define OG_MILTER_RESULT_HDR "X-Outguard-Result"

struct og_snap; /* an immutable, refcounted configuration snapshot */
struct og_dkim_sign;

struct og_msg {
	char *envelope; /* MAIL FROM as the MTA passed it */
	char *login; /* {auth_authen}, or NULL */
	unsigned long nrcpt; /* saturates at OG_MILTER_RCPT_MAX */
	struct og_unsub_header hdrs[OG_MILTER_HDRS_MAX]; /* owned strings */
	size_t nhdrs;
	size_t hdr_bytes; /* header text in text (then the blank line) */
	struct og_strbuf text; /* headers, blank line, body: for GMime */
	char *from[OG_IDENTITY_FROM_KEEP]; /* the first From values */
	size_t nfrom; /* every From header seen */
	size_t nresult; /* X-Outguard-Result copies from outside */
	int hdrs_capped; /* some headers were counted, not kept */
	int bulk_by_caller; /* recipient count or bulk_senders */
	int collect; /* keep body bytes for the unsubscribe check */
	struct og_dkim_sign *dkim; /* signing this message, or NULL */
	const char *dkim_why; /* static: why it is not signed, or NULL */
	char from_domain[256]; /* the single From address's domain, or "" */
	char dkim_d[256]; /* the d= of the first key signing it, or "" */
};

struct og_conn {
	struct og_snap *snap; /* pinned for the whole connection */
	char client[64]; /* the client's IP, "" when none (local) */
	int nr_hdr; /* SMFIP_NR_HDR negotiated: no reply per header */
	int can_skip; /* SMFIP_SKIP negotiated */
	struct og_msg msg;
};

#endif

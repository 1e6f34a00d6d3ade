/*
 * strbuf.h - bounded, growable, binary-safe byte strings
 * DESCRIPTION: the data is always NUL-terminated and never grows past
 *	the cap given to og_strbuf_init() (0 means OG_STRBUF_DEFCAP).
 *	The caller owns the struct; the module owns the data.
 * DIAGNOSTICS: appends return -1 with errno E2BIG at the cap and leave
 *	the buffer unchanged; memory exhaustion is fatal.
 */
#ifndef OG_STRBUF_H
#define OG_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

#define OG_STRBUF_DEFCAP (1024 * 1024)

struct og_strbuf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len; /* bytes used, not counting the NUL */
	size_t size; /* bytes allocated */
	size_t cap; /* hard limit on len */
};

void og_strbuf_init(struct og_strbuf *, size_t);
void og_strbuf_reset(struct og_strbuf *); /* len = 0, keeps memory */
void og_strbuf_release(struct og_strbuf *); /* frees the data */
int og_strbuf_addn(struct og_strbuf *, const void *, size_t);
int og_strbuf_adds(struct og_strbuf *, const char *);
int og_strbuf_addc(struct og_strbuf *, int);
int og_strbuf_addf(struct og_strbuf *, const char *, ...) OG_PRINTF(2, 3);
int og_strbuf_vaddf(struct og_strbuf *, const char *, va_list) OG_PRINTF(2, 0);
/* og_strbuf_str - the contents, "" when empty; borrowed */
const char *og_strbuf_str(const struct og_strbuf *);
/* og_strbuf_steal - hand the data to the caller (og_free it), reset */
char *og_strbuf_steal(struct og_strbuf *);
/* og_strbuf_truncate - shorten to len (no-op when already shorter) */
void og_strbuf_truncate(struct og_strbuf *, size_t);

#endif

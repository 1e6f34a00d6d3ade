/*
 * strbuf.c - bounded, growable, binary-safe byte strings
 * DESCRIPTION: binary-safe, NUL-terminated, never grows past the
 *	og_strbuf_init() cap (curl's dynbuf "toobig" idea). The caller owns
 *	the struct; the module owns the data.
 * DIAGNOSTICS: appends return -1 (errno E2BIG) at the cap and leave the
 *	contents unchanged; memory exhaustion is fatal.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "strbuf.h"

void
og_strbuf_init(struct og_strbuf *sb, size_t cap)
{
	sb->data = NULL;
	sb->len = 0;
	sb->size = 0;
	sb->cap = cap ? cap : OG_STRBUF_DEFCAP;
}

void
og_strbuf_reset(struct og_strbuf *sb)
{
	sb->len = 0;
	if (sb->data != NULL)
		sb->data[0] = '\0';
}

void
og_strbuf_release(struct og_strbuf *sb)
{
	sb->data = og_free(sb->data);
	sb->len = 0;
	sb->size = 0;
}

/* grow - make room for len + extra + NUL, doubling; fails past the cap */
static int
grow(struct og_strbuf *sb, size_t extra)
{
	size_t need, nsize;

	if (extra > sb->cap || sb->len > sb->cap - extra) {
		errno = E2BIG;
		return -1;
	}
	need = sb->len + extra + 1;
	if (need <= sb->size)
		return 0;
	nsize = sb->size ? sb->size : 64;
	while (nsize < need)
		nsize = nsize > (sb->cap + 1) / 2 ? sb->cap + 1 : nsize * 2;
	sb->data = og_realloc(sb->data, nsize);
	sb->size = nsize;
	return 0;
}

int
og_strbuf_addn(struct og_strbuf *sb, const void *p, size_t n)
{
	if (grow(sb, n) < 0)
		return -1;
	if (n > 0)
		memcpy(sb->data + sb->len, p, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
	return 0;
}

int
og_strbuf_adds(struct og_strbuf *sb, const char *s)
{
	return og_strbuf_addn(sb, s, strlen(s));
}

int
og_strbuf_addc(struct og_strbuf *sb, int c)
{
	char ch = (char)c;

	return og_strbuf_addn(sb, &ch, 1);
}

int
og_strbuf_vaddf(struct og_strbuf *sb, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -1;
	if (grow(sb, (size_t)n) < 0)
		return -1;
	(void)vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int
og_strbuf_addf(struct og_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = og_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return r;
}

const char *
og_strbuf_str(const struct og_strbuf *sb)
{
	return sb->data ? sb->data : "";
}

char *
og_strbuf_steal(struct og_strbuf *sb)
{
	char *p = sb->data ? sb->data : og_strdup("");

	sb->data = NULL;
	sb->len = 0;
	sb->size = 0;
	return p;
}

void
og_strbuf_truncate(struct og_strbuf *sb, size_t len)
{
	if (len < sb->len) {
		sb->len = len;
		sb->data[len] = '\0';
	}
}

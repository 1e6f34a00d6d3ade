/*
 * util.h - memory, numbers and lookup results shared by every program
 * DESCRIPTION: og_malloc() and friends die on exhaustion (Postfix's
 *	mymalloc idiom); that is safe only because every buffer fed by
 *	untrusted input is capped elsewhere. og_parse_uint() has strtonum
 *	semantics. Lookups everywhere return OG_FOUND, OG_NOTFOUND or
 *	OG_ERROR, and an error never looks like "not found".
 */
#ifndef OG_UTIL_H
#define OG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define OG_FOUND 1
#define OG_NOTFOUND 0
#define OG_ERROR (-1)

#define OG_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define OG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define OG_NORETURN __attribute__((noreturn))
#define OG_UNUSED __attribute__((unused))
#else
#define OG_PRINTF(f, a)
#define OG_NORETURN
#define OG_UNUSED
#endif

void *og_malloc(size_t);
void *og_calloc(size_t, size_t);
void *og_realloc(void *, size_t);
void *og_reallocarray(void *, size_t, size_t);
char *og_strdup(const char *);
char *og_strndup(const char *, size_t);
void *og_free(void *);

/*
 * og_utf8_len - the length of the well-formed UTF-8 character at s (at
 * most n bytes, n > 0), 0 if it is not one: no overlongs, no
 * surrogates, nothing past U+10FFFF
 */
size_t og_utf8_len(const unsigned char *s, size_t n);
/*
 * og_utf8_fix - NULL when s is well-formed UTF-8; else a copy (og_free
 * it) with each byte that is not part of a character written "\xHH"
 */
char *og_utf8_fix(const char *s);

/* og_parse_uint - parse a decimal in [min, max]; 0 or -1 with errno */
int og_parse_uint(
    const char *, unsigned long long, unsigned long long, unsigned long long *);
/* og_parse_duration - "90", "90s", "15m", "2h", "7d", "1w" into seconds */
int og_parse_duration(const char *, unsigned long long *);
/* og_parse_bool - yes/no/true/false/on/off/1/0, case-insensitive */
int og_parse_bool(const char *, int *);

/*
 * og_now - the current Unix time, or OG_FAKE_NOW from the environment
 * (read once) so that golden tests and demos are deterministic
 */
int64_t og_now(void);
/* og_time_iso - "2026-11-23T05:00:00Z" into buf (at least 21 bytes) */
char *og_time_iso(int64_t, char *, size_t);
/* og_age - "3h12m", "45s", "2d4h" into buf (at least 16 bytes) */
char *og_age(int64_t seconds, char *, size_t);

/* og_strlcpy - truncating copy that always terminates; returns strlen(src) */
size_t og_strlcpy(char *, const char *, size_t);
/* og_strcasecmp_ascii - locale-independent ASCII case-insensitive compare */
int og_strcasecmp_ascii(const char *, const char *);
int og_strncasecmp_ascii(const char *, const char *, size_t);
/* og_lowercase - ASCII lowercase in place; returns its argument */
char *og_lowercase(char *);

/*
 * og_daemonize - detach: fork twice, setsid, chdir /, stdio to /dev/null;
 * fatal on failure. og_write_pidfile - write getpid() to path (NULL: no
 * file), refusing a symlink; fatal on failure. For the daemons' main().
 */
void og_daemonize(void);
void og_write_pidfile(const char *path);

#endif

/*
 * util.c - memory, numbers and small string helpers
 * DESCRIPTION: see util.h. Allocation failure is fatal (EX_OSERR), as in
 *	Postfix's mymalloc(): callers never handle NULL, and every buffer fed
 *	by untrusted input is capped before it is allocated.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sysexits.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
og_malloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		og_fatal(EX_OSERR, "malloc %zu bytes", n);
	return p;
}

void *
og_calloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		og_fatal(EX_OSERR, "calloc %zu x %zu bytes", n, size);
	return p;
}

void *
og_realloc(void *old, size_t n)
{
	void *p;

	if ((p = realloc(old, n ? n : 1)) == NULL)
		og_fatal(EX_OSERR, "realloc %zu bytes", n);
	return p;
}

void *
og_reallocarray(void *old, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		og_panic("og_reallocarray: %zu x %zu overflows", n, size);
	return og_realloc(old, n * size);
}

char *
og_strdup(const char *s)
{
	return og_strndup(s, strlen(s));
}

size_t
og_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

char *
og_utf8_fix(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i, len, o = 0;
	char *out;

	for (i = 0; i < n; i += len)
		if ((len = og_utf8_len(p + i, n - i)) == 0)
			break;
	if (i == n)
		return NULL;
	out = og_malloc(n * 4 + 1);
	for (i = 0; i < n; i += len) {
		if ((len = og_utf8_len(p + i, n - i)) == 0) {
			(void)snprintf(out + o, 5, "\\x%02X", p[i]);
			o += 4;
			len = 1;
		} else {
			memcpy(out + o, p + i, len);
			o += len;
		}
	}
	out[o] = '\0';
	return out;
}

char *
og_strndup(const char *s, size_t n)
{
	char *p;
	const char *nul;

	if ((nul = memchr(s, '\0', n)) != NULL)
		n = (size_t)(nul - s);
	p = og_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *
og_free(void *p)
{
	free(p);
	return NULL;
}

int
og_parse_uint(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (s == NULL || *s == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (p = s; *p; p++) {
		unsigned d;

		if (!isdigit((unsigned char)*p)) {
			errno = EINVAL;
			return -1;
		}
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int
og_parse_duration(const char *s, unsigned long long *out)
{
	static const struct {
		char unit;
		unsigned long long mult;
	} units[] = {
		{ 's', 1 },
		{ 'm', 60 },
		{ 'h', 3600 },
		{ 'd', 86400 },
		{ 'w', 604800 },
	};
	char num[32];
	size_t len;
	unsigned long long v, mult = 1;
	size_t i;

	if (s == NULL || (len = strlen(s)) == 0 || len >= sizeof(num)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(num, s, len + 1);
	if (isalpha((unsigned char)num[len - 1])) {
		char u = (char)tolower((unsigned char)num[len - 1]);

		for (i = 0; i < OG_NELEM(units); i++)
			if (units[i].unit == u)
				break;
		if (i == OG_NELEM(units)) {
			errno = EINVAL;
			return -1;
		}
		mult = units[i].mult;
		num[len - 1] = '\0';
	}
	if (og_parse_uint(num, 0, UINT64_MAX / mult, &v) < 0)
		return -1;
	*out = v * mult;
	return 0;
}

int
og_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < OG_NELEM(yes); i++) {
		if (og_strcasecmp_ascii(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (og_strcasecmp_ascii(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

size_t
og_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int
og_strcasecmp_ascii(const char *a, const char *b)
{
	int ca, cb;

	do {
		ca = ascii_lower((unsigned char)*a++);
		cb = ascii_lower((unsigned char)*b++);
	} while (ca == cb && ca != '\0');
	return ca - cb;
}

int
og_strncasecmp_ascii(const char *a, const char *b, size_t n)
{
	int ca = 0, cb = 0;

	while (n-- > 0) {
		ca = ascii_lower((unsigned char)*a++);
		cb = ascii_lower((unsigned char)*b++);
		if (ca != cb || ca == '\0')
			break;
	}
	return ca - cb;
}

char *
og_lowercase(char *s)
{
	char *p;

	for (p = s; *p; p++)
		*p = (char)ascii_lower((unsigned char)*p);
	return s;
}

int64_t
og_now(void)
{
	static int64_t fake = -1; /* set once, before threads read it */
	unsigned long long v;
	const char *e;

	if (fake == -1) {
		e = getenv("OG_FAKE_NOW");
		fake = (e != NULL && og_parse_uint(e, 0, INT64_MAX, &v) == 0)
		    ? (int64_t)v
		    : 0;
	}
	return fake > 0 ? fake : (int64_t)time(NULL);
}

char *
og_time_iso(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		og_strlcpy(buf, "?", size);
	return buf;
}

char *
og_age(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		(void)snprintf(buf, size, "%llds", (long long)s);
	else if (s < 3600)
		(void)snprintf(buf, size, "%lldm%llds", (long long)(s / 60),
		    (long long)(s % 60));
	else if (s < 86400)
		(void)snprintf(buf, size, "%lldh%lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		(void)snprintf(buf, size, "%lldd%lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	return buf;
}

void
og_write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	if (path == NULL)
		return;
	if ((fd = open(path,
	         O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)) <
	    0)
		og_fatal(EX_CANTCREAT, "pid file %s", path);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		og_fatal(EX_IOERR, "pid file %s", path);
	(void)close(fd);
}

void
og_daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		og_fatal(EX_OSERR, "fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		og_fatal(EX_OSERR, "setsid");
	if ((pid = fork()) < 0)
		og_fatal(EX_OSERR, "fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		og_fatal(EX_OSERR, "chdir /");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			(void)close(fd);
	}
}

/*
 * fuzz_table.c - libFuzzer target for the table loaders (lib/table.c)
 * DESCRIPTION: the first input byte picks the table type ('f' file:,
 *	'p' pcre:, 'c' cidr:, 'i' inline:, any other byte by its value
 *	modulo 4); the rest becomes the table file (or the inline:{ } list).
 *	One temporary file per process, made once with mkstemp() under
 *	$TMPDIR or /tmp and removed at exit, is rewritten for every input.
 *	Keys for a few lookups come from the input itself and from a fixed
 *	list, so that loaded tables are also searched. Deterministic: no
 *	clock, no randomness.
 * DIAGNOSTICS: none; a crash, leak, sanitizer report or hang is the bug.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#define FUZZ_INLINE_MAX 4096 /* inline lists are config values: short */
#define FUZZ_KEY_MAX 128 /* longer keys only slow the search down */

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *fuzz_path; /* the temporary table file */
static int fuzz_fd = -1;

static void
fuzz_cleanup(void)
{
	if (fuzz_path != NULL)
		(void)unlink(fuzz_path);
	if (fuzz_fd >= 0)
		(void)close(fuzz_fd);
	fuzz_path = og_free(fuzz_path);
}

static int
fuzz_setup(void)
{
	struct og_strbuf sb;
	const char *dir = getenv("TMPDIR");

	if (fuzz_fd >= 0)
		return 0;
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	og_strbuf_init(&sb, 4096);
	if (og_strbuf_addf(&sb, "%s/fuzz_table.XXXXXX", dir) < 0) {
		og_strbuf_release(&sb);
		return -1;
	}
	fuzz_path = og_strbuf_steal(&sb);
	if ((fuzz_fd = mkstemp(fuzz_path)) < 0) {
		fuzz_path = og_free(fuzz_path);
		return -1;
	}
	(void)atexit(fuzz_cleanup);
	return 0;
}

/* fuzz_write - replace the file's contents with the input */
static int
fuzz_write(const uint8_t *data, size_t size)
{
	off_t off = 0;
	ssize_t n;

	if (ftruncate(fuzz_fd, 0) < 0)
		return -1;
	while (size > 0) {
		if ((n = pwrite(fuzz_fd, data, size, off)) <= 0)
			return -1;
		data += n;
		size -= (size_t)n;
		off += n;
	}
	return 0;
}

/* add_key - a NUL-free, bounded copy of data[0..n) as one lookup key */
static void
add_key(struct og_strbuf *keys, const uint8_t *data, size_t n)
{
	size_t i;

	if (n > FUZZ_KEY_MAX)
		n = FUZZ_KEY_MAX;
	for (i = 0; i < n && data[i] != '\0' && data[i] != '\n'; i++)
		(void)og_strbuf_addc(keys, data[i]);
	(void)og_strbuf_addc(keys, '\0');
}

static void
fuzz_lookups(const struct og_table *t, const uint8_t *data, size_t size)
{
	static const char *const fixed[] = { "user@example.com",
		"USER@sub.Example.COM", "example.com", "@example.com", "user@",
		"", "127.0.0.1", "[::1]", "2001:db8::1", "10.1.2.3", "0.0.0.0",
		"::ffff:192.0.2.1" };
	struct og_strbuf keys;
	const char *value, *k, *end;
	size_t i;
	int rc;

	for (i = 0; i < OG_NELEM(fixed); i++) {
		(void)og_table_lookup(t, fixed[i], &value);
		(void)og_table_lookup_addr(t, fixed[i], &value);
	}
	/* Keys from the input: its start, its end, and each line start. */
	og_strbuf_init(&keys, 64 * 1024);
	add_key(&keys, data, size);
	if (size > 16)
		add_key(&keys, data + size - 16, 16);
	for (i = 0; i + 1 < size && keys.len < 4096; i++)
		if (data[i] == '\n')
			add_key(&keys, data + i + 1, size - i - 1);
	k = og_strbuf_str(&keys);
	end = k + keys.len;
	for (; k < end; k += strlen(k) + 1) {
		rc = og_table_lookup(t, k, &value);
		if (rc == OG_FOUND && value == NULL)
			abort();
		rc = og_table_lookup_addr(t, k, &value);
		if (rc == OG_FOUND && value == NULL)
			abort();
	}
	og_strbuf_release(&keys);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "file", "pcre", "cidr", "inline" };
	struct og_strbuf name, err;
	struct og_table *t;
	const char *type;

	if (size == 0 || fuzz_setup() < 0)
		return 0;
	switch (data[0]) {
	case 'f':
		type = "file";
		break;
	case 'p':
		type = "pcre";
		break;
	case 'c':
		type = "cidr";
		break;
	case 'i':
		type = "inline";
		break;
	default:
		type = types[data[0] % OG_NELEM(types)];
		break;
	}
	data++;
	size--;
	og_strbuf_init(&name, 8192);
	og_strbuf_init(&err, 4096);
	if (strcmp(type, "inline") == 0) {
		if (size > FUZZ_INLINE_MAX || memchr(data, '\0', size) != NULL)
			goto out;
		(void)og_strbuf_adds(&name, "inline:{");
		(void)og_strbuf_addn(&name, data, size);
		(void)og_strbuf_adds(&name, "}");
	} else {
		if (fuzz_write(data, size) < 0)
			goto out;
		(void)og_strbuf_addf(&name, "%s:%s", type, fuzz_path);
	}
	if ((t = og_table_open(og_strbuf_str(&name), 0, &err)) == NULL) {
		/* An error must say something. */
		if (err.len == 0)
			abort();
		goto out;
	}
	if (strcmp(og_table_type(t), type) != 0)
		abort();
	fuzz_lookups(t, data, size);
	(void)og_table_free(t);
	/* A file: table with OG_TABLE_PARENT takes the other domain path. */
	if (strcmp(type, "file") == 0 &&
	    (t = og_table_open(og_strbuf_str(&name), OG_TABLE_PARENT, &err)) !=
	        NULL) {
		fuzz_lookups(t, data, size);
		(void)og_table_free(t);
	}
out:
	og_strbuf_release(&name);
	og_strbuf_release(&err);
	return 0;
}

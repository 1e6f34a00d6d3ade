/*
 * replay.c - standalone driver that replays a fuzz corpus as a TAP test
 * DESCRIPTION: linked with one fuzz_<name>.c instead of libFuzzer, so
 *	that every "make check", under gcc and the sanitizers too, runs each
 *	committed corpus file through LLVMFuzzerTestOneInput() (libgit2's
 *	standalone driver idea). With arguments, replays those files or
 *	directories instead of OG_FUZZ_CORPUS/OG_FUZZ_NAME. A crash is a
 *	crash of this test; a corpus that cannot be read is "not ok".
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strbuf.h"
#include "util.h"

#define REPLAY_MAX_FILE (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned ntests;
static int failed;

static void
replay_file(const char *path)
{
	struct og_strbuf buf;
	char chunk[8192];
	FILE *fp;
	size_t n;

	og_strbuf_init(&buf, REPLAY_MAX_FILE);
	if ((fp = fopen(path, "rb")) == NULL) {
		(void)printf(
		    "not ok %u - %s: %s\n", ++ntests, path, strerror(errno));
		failed = 1;
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (og_strbuf_addn(&buf, chunk, n) < 0)
			break;
	(void)fclose(fp);
	(void)LLVMFuzzerTestOneInput(
	    (const uint8_t *)og_strbuf_str(&buf), buf.len);
	og_strbuf_release(&buf);
	(void)printf("ok %u - %s\n", ++ntests, path);
	(void)fflush(stdout);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
replay_path(const char *path)
{
	struct og_strbuf p;
	struct dirent *de;
	struct stat st;
	char **names = NULL;
	size_t n = 0, i;
	DIR *d;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL) {
		(void)printf(
		    "not ok %u - %s: %s\n", ++ntests, path, strerror(errno));
		failed = 1;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = og_reallocarray(names, n + 1, sizeof(*names));
		names[n++] = og_strdup(de->d_name);
	}
	(void)closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	og_strbuf_init(&p, 4096);
	for (i = 0; i < n; i++) {
		og_strbuf_reset(&p);
		(void)og_strbuf_addf(&p, "%s/%s", path, names[i]);
		replay_file(og_strbuf_str(&p));
		og_free(names[i]);
	}
	og_strbuf_release(&p);
	og_free(names);
	if (n == 0) {
		(void)printf("not ok %u - %s: empty corpus\n", ++ntests, path);
		failed = 1;
	}
}

int
main(int argc, char **argv)
{
	int i;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			replay_path(argv[i]);
	} else
		replay_path(OG_FUZZ_CORPUS "/" OG_FUZZ_NAME);
	(void)printf("1..%u\n", ntests);
	return failed;
}

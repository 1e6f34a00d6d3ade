/*
 * fuzz_conf.c - fuzz target for the outguard.conf parser
 * DESCRIPTION: writes the input to one temporary file per process and
 *	loads it with og_conf_load(); on success reads every setting back
 *	through og_conf_print(). Table settings may name files: the parser
 *	opens them, which is part of what is under test.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "strbuf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char tmpl[64];

static void
cleanup(void)
{
	if (tmpl[0] != '\0')
		(void)unlink(tmpl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_strbuf err;
	struct og_conf *cf;
	FILE *fp;

	if (tmpl[0] == '\0') {
		int fd;

		og_strlcpy(tmpl, "/tmp/og-fuzz-conf.XXXXXX", sizeof(tmpl));
		if ((fd = mkstemp(tmpl)) < 0)
			abort();
		(void)close(fd);
		(void)atexit(cleanup);
	}
	if ((fp = fopen(tmpl, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	(void)fclose(fp);
	og_strbuf_init(&err, 0);
	cf = og_conf_load(tmpl, &err);
	if (cf != NULL) {
		FILE *null = fopen("/dev/null", "w");

		if (null != NULL) {
			og_conf_print(cf, null, 0);
			(void)fclose(null);
		}
		og_conf_free(cf);
	}
	og_strbuf_release(&err);
	return 0;
}

/*
 * t_conf.c - unit tests for conf.c: the file syntax, every type of the
 *	schema, error messages with FILE:LINE, typed accessors
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

static char path[64];

static int
setup(void **state)
{
	int fd;

	(void)state;
	og_strlcpy(path, "/tmp/og-t_conf.XXXXXX", sizeof(path));
	if ((fd = mkstemp(path)) < 0)
		return -1;
	(void)close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlink(path);
	return 0;
}

static struct og_conf *
load(const char *text, struct og_strbuf *err)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	og_strbuf_reset(err);
	return og_conf_load(path, err);
}

/* Each bad config and the error it must give, after "PATH:" */
static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "bogus = 1\n", "1: unknown setting \"bogus\"" },
		{ "# c\n\nbogus_thing=\n",
		    "3: unknown setting \"bogus_thing\"" },
		{ "dry_run = maybe\n",
		    "1: dry_run: expected yes or no, got \"maybe\"" },
		{ "log_warning_rate = 0\n",
		    "1: log_warning_rate: expected a whole number from 1 to "
		    "100000, got \"0\"" },
		{ "log_warning_rate = ten\n",
		    "1: log_warning_rate: expected a whole number" },
		{ "message_retention = 10m\n",
		    "1: message_retention: expected a duration from 3600s" },
		{ "sender_login_maps = btree:/etc/x\n",
		    "1: sender_login_maps: unknown table type in "
		    "\"btree:/etc/x\"" },
		{ "sender_login_maps = cidr:/etc/x\n",
		    "1: sender_login_maps: table type cidr is not allowed "
		    "here (expected file|pcre)" },
		{ "sender_login_maps = file:/nonexistent/og-logins\n",
		    "1: sender_login_maps: /nonexistent/og-logins" },
		{ "syslog_facility = kern\n",
		    "1: syslog_facility: \"kern\": unknown syslog facility" },
		{ "dry_run = yes\ndry_run = no\n",
		    "2: dry_run: set again (first set at line 1)" },
		{ "just words\n", "1: expected \"name = value\"" },
		{ " indented = 1\n",
		    "1: continuation line without a setting before it" },
		{ "= 1\n", "1: expected \"name = value\"" },
		{ "local_domains = ok.example, bad..example\n",
		    "1: local_domains: \"bad..example\": not a valid host "
		    "name" },
		{ "postfix_config_dir = relative/dir\n",
		    "1: postfix_config_dir: \"relative/dir\": expected an "
		    "absolute path" },
		{ "myhostname = bad\x01name\n",
		    "1: myhostname: \"bad\\x01name\"" },
	};
	struct og_strbuf err;
	size_t i;

	(void)state;
	og_strbuf_init(&err, 0);
	for (i = 0; i < OG_NELEM(cases); i++) {
		struct og_strbuf want;
		struct og_conf *cf = load(cases[i].text, &err);

		og_strbuf_init(&want, 0);
		(void)og_strbuf_addf(&want, "%s:%s", path, cases[i].want);
		if (cf != NULL ||
		    strstr(og_strbuf_str(&err), og_strbuf_str(&want)) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
			    og_strbuf_str(&err), og_strbuf_str(&want));
		og_strbuf_release(&want);
	}
	og_strbuf_release(&err);
}

static void
test_all_errors_reported(void **state)
{
	struct og_strbuf err;
	const char *s;
	int lines = 0;

	(void)state;
	og_strbuf_init(&err, 0);
	assert_null(load("a = 1\ndry_run = x\nb = 2\n", &err));
	for (s = og_strbuf_str(&err); (s = strchr(s, '\n')) != NULL; s++)
		lines++;
	assert_int_equal(lines, 3);
	og_strbuf_release(&err);
}

static void
test_values(void **state)
{
	struct og_strbuf err;
	struct og_conf *cf;
	const char *const *w;
	const char *v;
	size_t n;

	(void)state;
	og_strbuf_init(&err, 0);
	cf = load("# outguard\n"
	          "syslog_facility = local3\n"
	          "local_domains = a.example,\n"
	          "    b.example  c.example\n"
	          "\n"
	          "message_retention = 2d\r\n"
	          "dry_run = YES\n"
	          "log_warning_rate = 99\n"
	          "internal_hosts = inline:{ 10.0.0.0/8, 2001:db8::/32 }\n",
	    &err);
	if (cf == NULL)
		fail_msg("%s", og_strbuf_str(&err));
	assert_string_equal(og_conf_str(cf, "syslog_facility"), "local3");
	assert_int_equal(og_conf_line(cf, "syslog_facility"), 2);
	assert_int_equal(og_conf_line(cf, "run_user"), 0);
	assert_string_equal(og_conf_str(cf, "run_user"), "outguard");
	assert_null(og_conf_str(cf, "myhostname")); /* empty = unset */
	w = og_conf_list(cf, "local_domains", &n);
	assert_int_equal(n, 3);
	assert_string_equal(w[0], "a.example");
	assert_string_equal(w[2], "c.example");
	assert_true(og_conf_uint(cf, "message_retention") == 172800);
	assert_true(og_conf_uint(cf, "log_warning_rate") == 99);
	assert_int_equal(og_conf_bool(cf, "dry_run"), 1);
	assert_null(og_conf_table(cf, "sender_login_maps"));
	assert_int_equal(og_table_lookup(og_conf_table(cf, "internal_hosts"),
	                     "10.1.2.3", &v),
	    OG_FOUND);
	assert_int_equal(og_table_lookup(og_conf_table(cf, "internal_hosts"),
	                     "127.0.0.1", &v),
	    OG_NOTFOUND);
	og_conf_free(cf);
	og_strbuf_release(&err);
}

static void
test_defaults(void **state)
{
	const struct og_conf_spec *sp;
	struct og_strbuf err;
	struct og_conf *cf;
	const char *v;

	(void)state;
	og_strbuf_init(&err, 0);
	cf = load("", &err); /* every default must itself be valid */
	if (cf == NULL)
		fail_msg("%s", og_strbuf_str(&err));
	assert_int_equal(og_conf_bool(cf, "dry_run"), 0);
	assert_true(og_conf_uint(cf, "message_retention") == 7 * 86400);
	assert_int_equal(og_table_lookup(og_conf_table(cf, "internal_hosts"),
	                     "127.0.0.1", &v),
	    OG_FOUND);
	assert_int_equal(
	    og_table_lookup(og_conf_table(cf, "internal_hosts"), "::1", &v),
	    OG_FOUND);
	for (sp = og_conf_schema(); sp->name != NULL; sp++) {
		assert_non_null(sp->doc);
		assert_non_null(sp->def);
	}
	og_conf_free(cf);
	/* a named file that does not exist is an error */
	og_strbuf_reset(&err);
	assert_null(og_conf_load("/nonexistent/outguard.conf", &err));
	assert_non_null(strstr(og_strbuf_str(&err), "cannot open"));
	og_strbuf_release(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_defaults),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * fuzz_from.c - fuzz target for the From header and address path of
 *	milter/identity.c
 * DESCRIPTION: the input is "LOGIN\nCLIENT\nENVELOPE\nFROM": the first
 *	three lines feed the message description, the rest (newlines
 *	and all) is one From header value. The whole input also goes to
 *	og_identity_parse_from() as one value. Checks the verdict's
 *	invariants: a known result, a reason token, a bounded log copy.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "identity.h"
#include "table.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const local_domains[] = { "example.com", "example.net" };

/* next_line - a copy of the bytes up to '\n' (or the end); advance */
static char *
next_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	char *s;

	if (nl == NULL)
		nl = end;
	s = og_strndup(*p, (size_t)(nl - *p));
	*p = nl < end ? nl + 1 : end;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct og_table *internal;
	struct og_identity_policy pol;
	struct og_identity_msg m;
	struct og_identity_verdict v;
	const char *p = (const char *)data, *end = p + size, *why = NULL;
	char *login, *client, *env, *from;
	struct og_addr a;

	if (internal == NULL)
		internal = og_table_open(
		    "inline:{ 127.0.0.0/8, 10.0.0.0/8, ::1 }", 0, NULL);
	if (og_identity_parse_from((const char *)data, size, &a, &why) == 0) {
		if (a.domain == NULL)
			__builtin_trap();
		og_addr_clear(&a);
	} else if (why == NULL)
		__builtin_trap();

	login = next_line(&p, end);
	client = next_line(&p, end);
	env = next_line(&p, end);
	from = og_strndup(p, (size_t)(end - p));
	memset(&pol, 0, sizeof(pol));
	pol.internal_hosts = internal;
	pol.local_domains = local_domains;
	pol.nlocal = OG_NELEM(local_domains);
	pol.notify_sender = "outguard@mta.example.com";
	memset(&m, 0, sizeof(m));
	m.login = login;
	m.client_addr = client;
	m.envelope = env;
	m.from[0] = from;
	m.nfrom = 1;
	og_identity_check(&pol, &m, &v);
	if (v.reason == NULL || (size_t)v.res > OG_IDENTITY_ERROR ||
	    (size_t)v.origin > OG_ORIGIN_EXTERNAL ||
	    memchr(v.from, '\0', sizeof(v.from)) == NULL ||
	    (v.res == OG_IDENTITY_PASS && v.reason[0] != '\0') ||
	    (v.res == OG_IDENTITY_FAIL && v.reason[0] == '\0'))
		__builtin_trap();
	og_free(login);
	og_free(client);
	og_free(env);
	og_free(from);
	return 0;
}

/*
 * fuzz_addr.c - fuzz target for the address and domain parsers
 * DESCRIPTION: feeds the input, as it is, to og_addr_parse_path() and
 *	og_addr_parse_list(). Every address parsed is formatted with
 *	og_addr_format() and must parse back to the same local part and
 *	domain (the formatter and the parsers agree on quoting); each
 *	domain goes through og_domain_orgdomain() and og_domain_aligned().
 *	The raw input also goes to og_domain_normalize(). A disagreement
 *	aborts, so the fuzzer reports it as a crash. Deterministic, and
 *	everything is freed; the libpsl context is loaded once per process
 *	and is meant to live as long as it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* check_addr - format, re-parse with parse, compare, look up the domain */
static void
check_addr(const struct og_addr *a, int as_path)
{
	struct og_addr_list l;
	struct og_addr b;
	const char *err;
	char *f, *o;

	if ((f = og_addr_format(a)) == NULL)
		abort();
	if (as_path) {
		if (og_addr_parse_path(f, strlen(f), &b, &err) != 0)
			abort();
		if (!same(a->local, b.local) || !same(a->domain, b.domain))
			abort();
		og_addr_clear(&b);
	} else if (f[0] != '\0') {
		if (og_addr_parse_list(f, strlen(f), &l, &err) != 0 ||
		    l.count != 1)
			abort();
		if (!same(a->local, l.addrs[0].local) ||
		    !same(a->domain, l.addrs[0].domain))
			abort();
		og_addr_list_clear(&l);
	}
	og_free(f);
	if (a->domain != NULL) {
		if ((o = og_domain_orgdomain(a->domain)) == NULL)
			abort();
		if (!og_domain_aligned(a->domain, o, 0))
			abort();
		og_free(o);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct og_addr_list l;
	struct og_addr a;
	const char *err;
	char *d;
	size_t i;

	if (og_addr_parse_path(s, size, &a, &err) == 0) {
		check_addr(&a, 1);
		og_addr_clear(&a);
	}
	if (og_addr_parse_list(s, size, &l, &err) == 0) {
		for (i = 0; i < l.count; i++)
			check_addr(&l.addrs[i], 0);
		if (l.count >= 2 && l.addrs[0].domain != NULL &&
		    l.addrs[1].domain != NULL) {
			(void)og_domain_aligned(
			    l.addrs[0].domain, l.addrs[1].domain, 0);
			(void)og_domain_aligned(
			    l.addrs[0].domain, l.addrs[1].domain, 1);
		}
		og_addr_list_clear(&l);
	}
	if ((d = og_domain_normalize(s, size)) != NULL) {
		(void)og_domain_valid(d);
		og_free(d);
	}
	return 0;
}

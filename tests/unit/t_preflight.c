/*
 * t_preflight.c - unit tests for milter/preflight.c's edges on real
 *	sockets: no egress_ips (skip, no DNS asked), an envelope or From
 *	domain that is not a domain name (fail, bad-domain), a resolver
 *	that never answers (temperror, within the lookup timeout, and not
 *	cached: the next check asks again), and the result names. The
 *	pass and fail decisions against real zones are in
 *	tests/postfix/t_dkim.sh (the sandbox's NSD).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "dns.h"
#include "preflight.h"
#include "strbuf.h"

/* silent - a UDP socket on 127.0.0.1 that never answers; its port */
static int
silent(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const ips[] = { "203.0.113.5" };

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(og_preflight_res_name(OG_PF_PASS), "pass");
	assert_string_equal(og_preflight_res_name(OG_PF_FAIL), "fail");
	assert_string_equal(og_preflight_res_name(OG_PF_NONE), "none");
	assert_string_equal(
	    og_preflight_res_name(OG_PF_TEMPERROR), "temperror");
	assert_string_equal(og_preflight_res_name(OG_PF_SKIP), "skip");
}

static void
test_skip_and_bad_domains(void **state)
{
	struct og_preflight_cache *c = og_preflight_cache_new();
	struct og_auth_conf ac;
	struct og_preflight pf;

	(void)state;
	memset(&ac, 0, sizeof(ac));
	/* no egress_ips: skipped before any DNS (dns may be NULL) */
	og_preflight_check(
	    c, NULL, &ac, "example.com", "example.com", NULL, 1795000000, &pf);
	assert_int_equal(pf.res, OG_PF_SKIP);
	assert_string_equal(pf.reason, "no-egress-ips");
	ac.egress_ips = ips;
	ac.negress = 1;
	og_preflight_check(
	    c, NULL, &ac, "exa mple.com", "example.com", NULL, 1795000000, &pf);
	assert_int_equal(pf.res, OG_PF_FAIL);
	assert_string_equal(pf.reason, "bad-domain");
	assert_non_null(strstr(pf.detail, "envelope"));
	og_preflight_check(
	    c, NULL, &ac, "example.com", "", NULL, 1795000000, &pf);
	assert_int_equal(pf.res, OG_PF_FAIL);
	assert_non_null(strstr(pf.detail, "From"));
	og_preflight_check(
	    c, NULL, &ac, "example.com", "-bad-.com..", NULL, 1795000000, &pf);
	assert_int_equal(pf.res, OG_PF_FAIL);
	og_preflight_cache_free(c);
}

static void
test_temperror_not_cached(void **state)
{
	struct og_preflight_cache *c = og_preflight_cache_new();
	struct og_auth_conf ac;
	struct og_preflight pf;
	struct og_strbuf err;
	struct og_dns *dns;
	char spec[64];
	double t0, t1;
	int port, fd = silent(&port);

	(void)state;
	og_strbuf_init(&err, 0);
	(void)snprintf(spec, sizeof(spec), "127.0.0.1@%d", port);
	dns = og_dns_open(spec, 300, &err);
	assert_non_null(dns);
	memset(&ac, 0, sizeof(ac));
	ac.egress_ips = ips;
	ac.negress = 1;
	t0 = now_s();
	og_preflight_check(c, dns, &ac, "example.com", "example.com",
	    "example.com", 1795000000, &pf);
	t1 = now_s();
	assert_int_equal(pf.res, OG_PF_TEMPERROR);
	assert_string_equal(pf.reason, "dns-temperror");
	assert_true(t1 - t0 < 5.0); /* bounded by the lookup timeouts */
	/* a failure is never cached: the second check asks again, and
	 * waits again for the silent resolver */
	t0 = now_s();
	og_preflight_check(c, dns, &ac, "example.com", "example.com",
	    "example.com", 1795000001, &pf);
	t1 = now_s();
	assert_int_equal(pf.res, OG_PF_TEMPERROR);
	assert_int_equal(pf.cached, 0);
	assert_true(t1 - t0 >= 0.25);
	og_dns_close(dns);
	og_strbuf_release(&err);
	og_preflight_cache_free(c);
	(void)close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_skip_and_bad_domains),
		cmocka_unit_test(test_temperror_not_cached),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

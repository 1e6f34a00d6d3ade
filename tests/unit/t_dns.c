/*
 * t_dns.c - unit tests for lib/dns.c on real sockets: a resolver that
 *	never answers (the lookup must end at its deadline with OG_ERROR,
 *	not hang), a minimal authoritative responder in a thread (one TXT
 *	answer of two strings, joined; NXDOMAIN), and bad arguments
 *	(resolver syntax, over-long names). qr_checkauth.sh covers the rest
 *	against NSD.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
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

#include "dns.h"
#include "strbuf.h"
#include "util.h"

/* bound_udp - a UDP socket on 127.0.0.1, its port in *port */
static int
bound_udp(int *port)
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

static void
test_bad_args(void **state)
{
	struct og_strbuf err;
	struct og_dns *d;
	struct og_dns_answer a;
	char name[1100];

	(void)state;
	og_strbuf_init(&err, 0);
	assert_null(og_dns_open("not-an-ip", 1000, &err));
	assert_true(err.len > 0);
	og_strbuf_reset(&err);
	assert_null(og_dns_open("127.0.0.1@99999", 1000, &err));
	d = og_dns_open("127.0.0.1@9", 1000, &err);
	assert_non_null(d);
	assert_int_equal(og_dns_timeout_ms(d), 1000);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(&a, 0, sizeof(a));
	/* an over-long name is answered without asking anyone */
	assert_int_equal(og_dns_query(d, name, OG_DNS_TXT, &a), OG_NOTFOUND);
	og_dns_answer_clear(&a);
	og_dns_close(d);
	og_strbuf_release(&err);
}

static void
test_timeout(void **state)
{
	struct og_strbuf err;
	struct og_dns *d;
	struct og_dns_answer a;
	char spec[64];
	double t0, dt;
	int fd, port;

	(void)state;
	fd = bound_udp(&port); /* receives, never answers */
	(void)snprintf(spec, sizeof(spec), "127.0.0.1@%d", port);
	og_strbuf_init(&err, 0);
	d = og_dns_open(spec, 700, &err);
	assert_non_null(d);
	memset(&a, 0, sizeof(a));
	t0 = now_s();
	assert_int_equal(
	    og_dns_query(d, "example.test", OG_DNS_TXT, &a), OG_ERROR);
	dt = now_s() - t0;
	assert_true(dt >= 0.5 && dt < 3.0); /* the deadline, not a hang */
	assert_true(a.why[0] != '\0');
	og_dns_answer_clear(&a);
	og_dns_close(d);
	og_strbuf_release(&err);
	(void)close(fd);
}

/* ---- a minimal authoritative server for one TXT name ---- */

struct responder {
	int fd;
	int answered;
};

/* put_u16 - big-endian */
static size_t
put_u16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

static void *
respond(void *arg)
{
	struct responder *r = arg;
	unsigned char q[512], out[600];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;
	size_t qend, o;
	int i;

	for (i = 0; i < 8; i++) {
		flen = sizeof(from);
		n = recvfrom(
		    r->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n < 12)
			break;
		/* the question: name labels, then type and class */
		for (qend = 12; qend < (size_t)n && q[qend] != 0;
		     qend += (size_t)q[qend] + 1)
			;
		qend += 5;
		if (qend > (size_t)n)
			continue;
		memcpy(out, q, qend);
		out[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
		out[3] = 0x00;
		put_u16(out + 4, 1);
		put_u16(out + 8, 0);
		put_u16(out + 10, 0);
		o = qend;
		if (memmem(q, (size_t)n, "\x04gone", 5) != NULL) {
			out[3] = 0x03; /* NXDOMAIN */
			put_u16(out + 6, 0);
		} else {
			static const char s1[] = "v=spf1 ip4:192.0.2.0/24 ",
			                  s2[] = "-all";

			put_u16(out + 6, 1);
			o += put_u16(out + o, 0xc00c); /* name: the question */
			o += put_u16(out + o, 16); /* TXT */
			o += put_u16(out + o, 1); /* IN */
			o += put_u16(out + o, 0);
			o += put_u16(out + o, 60); /* TTL */
			o += put_u16(out + o,
			    (unsigned)(2 + sizeof(s1) - 1 + sizeof(s2) - 1));
			out[o++] = (unsigned char)(sizeof(s1) - 1);
			memcpy(out + o, s1, sizeof(s1) - 1);
			o += sizeof(s1) - 1;
			out[o++] = (unsigned char)(sizeof(s2) - 1);
			memcpy(out + o, s2, sizeof(s2) - 1);
			o += sizeof(s2) - 1;
		}
		(void)sendto(r->fd, out, o, 0, (struct sockaddr *)&from, flen);
		r->answered++;
	}
	return NULL;
}

static void
test_answers(void **state)
{
	struct responder r;
	struct og_strbuf err;
	struct og_dns *d;
	struct og_dns_answer a;
	pthread_t th;
	char spec[64], **txt = NULL;
	size_t n = 0;
	int port;

	(void)state;
	r.fd = bound_udp(&port);
	r.answered = 0;
	assert_int_equal(pthread_create(&th, NULL, respond, &r), 0);
	(void)snprintf(spec, sizeof(spec), "127.0.0.1@%d", port);
	og_strbuf_init(&err, 0);
	d = og_dns_open(spec, 2000, &err);
	assert_non_null(d);
	/* one record of two strings: joined (RFC 7208 3.3) */
	assert_int_equal(og_dns_txt(d, "spf.example.org", &txt, &n), OG_FOUND);
	assert_int_equal(n, 1);
	assert_string_equal(txt[0], "v=spf1 ip4:192.0.2.0/24 -all");
	og_dns_free_list(txt, n);
	memset(&a, 0, sizeof(a));
	assert_int_equal(
	    og_dns_query(d, "gone.example.org", OG_DNS_TXT, &a), OG_NOTFOUND);
	assert_true(a.nxdomain);
	og_dns_answer_clear(&a);
	og_dns_close(d);
	og_strbuf_release(&err);
	(void)shutdown(r.fd, SHUT_RDWR);
	(void)close(r.fd);
	pthread_cancel(th);
	(void)pthread_join(th, NULL);
	assert_true(r.answered >= 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * null_milter.c - the do-nothing libmilter milter: the ceiling for
 *	bench/milter.sh
 * DESCRIPTION: "null_milter -p SOCKET [-a]" serves SOCKET (unix:PATH or
 *	inet:PORT@HOST, as smfi_setconn() takes it) with libmilter's own
 *	thread per connection and answers end-of-message with
 *	SMFIS_CONTINUE. It registers no other callback, so libmilter asks
 *	the MTA to leave out every other step; that is what a do-nothing
 *	milter costs a real MTA. With -a it negotiates the steps that
 *	outguard-milter negotiates (everything but helo, DATA and unknown
 *	commands; no reply to headers) with a callback for each that
 *	returns SMFIS_CONTINUE, and so receives the same bytes and answers
 *	as often as outguard-milter does: what the protocol itself costs.
 *	It keeps no state and does no work of its own.
 * DIAGNOSTICS: exit 64 on usage errors, 69 when libmilter cannot set
 *	up the socket, otherwise smfi_main()'s result.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* the private pointer of a connection that negotiated no header reply */
static char hdr_nr;

static sfsistat
null_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)ctx;
	(void)host;
	(void)sa;
	return SMFIS_CONTINUE;
}

static sfsistat
null_argv(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
null_header_nr(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return smfi_getpriv(ctx) != NULL ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* null_negotiate - outguard-milter's protocol steps (milter/milter.c) */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = 0;
	*pf1 =
	    f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_HDR);
	*pf2 = *pf3 = 0;
	if ((*pf1 & SMFIP_NR_HDR) != 0)
		(void)smfi_setpriv(ctx, &hdr_nr);
	return SMFIS_CONTINUE;
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = { "null", SMFI_VERSION, 0, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, null_eom, NULL, NULL, NULL, NULL, NULL };

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "ap:")) != -1) {
		switch (ch) {
		case 'a':
			filter.xxfi_connect = null_connect;
			filter.xxfi_envfrom = null_argv;
			filter.xxfi_envrcpt = null_argv;
			filter.xxfi_header = null_header_nr;
			filter.xxfi_negotiate = null_negotiate;
			filter.xxfi_eoh = null_eom;
			filter.xxfi_body = null_body;
			break;
		case 'p':
			sock = optarg;
			break;
		default:
			sock = NULL;
			optind = argc + 1;
			break;
		}
	}
	if (sock == NULL || optind != argc) {
		(void)fprintf(stderr, "usage: null_milter -p SOCKET [-a]\n");
		return EX_USAGE;
	}
	if (smfi_setconn((char *)(uintptr_t)sock) != MI_SUCCESS ||
	    smfi_register(filter) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		(void)fprintf(
		    stderr, "null_milter: cannot listen on %s\n", sock);
		return EX_UNAVAILABLE;
	}
	return smfi_main();
}

/*
 * queue-report.c - outguard-queue-report, the admin's command line
 * DESCRIPTION: reads the shared configuration and runs one subcommand.
 *	Runs unprivileged; output for people on stdout, diagnostics on
 *	stderr, exit codes from sysexits.h. "-n" validates the
 *	configuration and prints the effective settings.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "qr.h"
#include "strbuf.h"
#include "util.h"

static void
usage(FILE *fp)
{
	(void)fprintf(fp,
	    "usage: outguard-queue-report [-c FILE] -n\n"
	    "       outguard-queue-report [-c FILE] COMMAND [ARGS...]\n"
	    "\n"
	    "  -c FILE   configuration file (default %s)\n"
	    "  -n        check the configuration, print the effective "
	    "settings\n"
	    "  -V        print the version\n"
	    "\n"
	    "commands (default: summary):\n"
	    "  summary [--json] [--since TIME] [--provider NAME]\n"
	    "            per provider: incidents, blocks, suspects, held mail\n"
	    "  blocks [--json] [--since TIME] [--provider NAME] [--code CODE]\n"
	    "         [--identity ID] [--ip IP] [--limit N]\n"
	    "            the block records\n"
	    "  senders [--json] [--since TIME] [--provider NAME]\n"
	    "            per identity: what it sent, its blocks and holds\n"
	    "  check-auth [--json] [--timeout SECONDS] [DOMAIN...]\n"
	    "            SPF, DKIM and DMARC of the sending domains, live\n"
	    "  evidence [--json] [--for "
	    "outlook-form|delist-portal|delist-mail]\n"
	    "           [--ip IP] [--since TIME] [--provider NAME]\n"
	    "           [--timeout SECONDS]\n"
	    "            the delisting pack, ready to paste\n"
	    "  classify [--rules FILE] [--text] [FILE...]\n"
	    "            classify remote servers' replies, one per line\n"
	    "  hold IDENTITY --reason TEXT [--until TIME] [--scope SCOPE]\n"
	    "            put an identity on hold (and its queued mail)\n"
	    "  release IDENTITY --reason TEXT\n"
	    "            end a hold and release the identity's held mail\n"
	    "  holds [--json]\n"
	    "            the holds in force and the mail each holds\n"
	    "  status-filter [--rules FILE] [-o FILE]\n"
	    "            write the status filter as a static pcre: table\n"
	    "  store check | store migrate\n"
	    "            the store's schema, rows and spool; migrate it\n",
	    og_conf_default_path());
}

/* check_config - -n: exit 0 with the settings, or EX_CONFIG with errors */
static int
check_config(const char *path)
{
	struct og_strbuf err;
	struct og_conf *cf;

	og_strbuf_init(&err, 0);
	if ((cf = og_conf_load(path, &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		og_strbuf_release(&err);
		return EX_CONFIG;
	}
	og_conf_print(cf, stdout, 0);
	og_conf_free(cf);
	og_strbuf_release(&err);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

static const struct {
	const char *name;
	int (*fn)(struct qr *, int, char **);
} commands[] = {
	{ "blocks", qr_blocks },
	{ "check-auth", qr_check_auth },
	{ "classify", qr_classify },
	{ "evidence", qr_evidence },
	{ "hold", qr_hold },
	{ "holds", qr_holds },
	{ "release", qr_release },
	{ "senders", qr_senders },
	{ "status-filter", qr_status_filter },
	{ "store", qr_store },
	{ "summary", qr_summary },
};

/* dispatch - load the configuration, run one subcommand */
static int
dispatch(const char *conf_path, int argc, char **argv)
{
	struct og_strbuf err;
	struct qr qr;
	size_t i;
	int rc;

	for (i = 0; i < OG_NELEM(commands); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			break;
	if (i == OG_NELEM(commands)) {
		og_warnx("unknown command \"%.64s\"", argv[0]);
		usage(stderr);
		return EX_USAGE;
	}
	og_strbuf_init(&err, 0);
	qr.conf_path = conf_path;
	if ((qr.conf = og_conf_load(conf_path, &err)) == NULL) {
		(void)fputs(og_strbuf_str(&err), stderr);
		og_strbuf_release(&err);
		return EX_CONFIG;
	}
	og_strbuf_release(&err);
	rc = commands[i].fn(&qr, argc, argv);
	og_conf_free((struct og_conf *)qr.conf);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = NULL;
	int ch, nflag = 0;

	og_log_init("outguard-queue-report", 0, 1);
	while ((ch = getopt_long(argc, argv, "+c:hnV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'n':
			nflag = 1;
			break;
		case 'V':
			(void)printf(
			    "outguard-queue-report %s\n", PACKAGE_VERSION);
			return EX_OK;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (nflag) {
		if (argc > 0) {
			usage(stderr);
			return EX_USAGE;
		}
		return check_config(conf_path);
	}
	if (argc == 0) {
		static char summary[] = "summary";
		static char *dflt[] = { summary, NULL };

		return dispatch(conf_path, 1, dflt); /* the default command */
	}
	return dispatch(conf_path, argc, argv);
}

/*
 * qr.h - outguard-queue-report's subcommands
 * DESCRIPTION: each subcommand is "int qr_NAME(struct qr *, int argc,
 *	char **argv)" returning a sysexits.h code; argv[0] is the
 *	subcommand's name. The configuration is loaded before dispatch.
 */
#ifndef OG_QR_H
#define OG_QR_H

struct og_conf;

struct qr {
	const struct og_conf *conf;
	const char *conf_path;
};

int qr_classify(struct qr *, int, char **);
int qr_hold(struct qr *, int, char **);
int qr_release(struct qr *, int, char **);
int qr_holds(struct qr *, int, char **);
int qr_status_filter(struct qr *, int, char **);
int qr_check_auth(struct qr *, int, char **);
int qr_summary(struct qr *, int, char **);
int qr_blocks(struct qr *, int, char **);
int qr_senders(struct qr *, int, char **);
int qr_evidence(struct qr *, int, char **);
int qr_store(struct qr *, int, char **);

#endif

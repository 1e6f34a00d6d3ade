/*
 * postcat.h - who sent a queued message, from "postcat -q" output
 * DESCRIPTION: the second source of attribution after the store's own
 *	record: Postfix keeps the SMTP client, the SASL login and the HELO
 *	name as named attributes in the queue file, and the message headers
 *	name the header From, the Message-ID and, for PHP's mail(), the
 *	script (X-PHP-Originating-Script: UID:SCRIPT). Mail from
 *	sendmail(1) has no client attributes, but the topmost Received:
 *	header, which Postfix's cleanup wrote, says "(Postfix, from userid
 *	N)": that uid is Postfix's word, while the PHP header can be
 *	written by whoever runs sendmail, so local_uid wins over php_uid.
 *	og_postcat_parse() is pure (and fuzzed); og_postcat() runs
 *	postcat -e -h -q ID (fixed argv) and parses its output.
 * DIAGNOSTICS: -1 with a logged warning when postcat cannot run or the
 *	message is gone (OG_NOTFOUND then); fields not found stay NULL.
 */
#ifndef OG_POSTCAT_H
#define OG_POSTCAT_H

#include <stddef.h>

#define OG_POSTCAT_OUTPUT_MAX (1024 * 1024) /* envelope + headers */
#define OG_POSTCAT_VALUE_MAX 998

struct og_postcat {
	char *sender;
	char *sasl_username, *sasl_method;
	char *client_address, *client_name, *helo_name;
	char *header_from, *message_id, *subject;
	char *php_script; /* "33:/var/www/site/wp-content/x.php" */
	long php_uid; /* uid from that header, or -1 */
	long local_uid; /* "from userid N" of the top Received:, or -1 */
	int received_seen; /* the top Received: header was read */
};

int og_postcat_parse(const char *buf, size_t len, struct og_postcat *out);
/* og_postcat - OG_FOUND, OG_NOTFOUND (no such message) or OG_ERROR */
int og_postcat(
    const char *config_dir, const char *queue_id, struct og_postcat *out);
void og_postcat_clear(struct og_postcat *);

#endif

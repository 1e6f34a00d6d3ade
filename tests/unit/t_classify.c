/*
 * t_classify.c - unit tests for lib/classify.c and contrib/replies.rules
 * DESCRIPTION: table-driven cmocka cases. The shipped rules (OG_RULES_FILE)
 *	are checked against replies written from the formats Microsoft,
 *	Google and Yahoo publish: every reply of the "replies" table is
 *	classified bare and in every wrapping of the "wraps" table (Postfix
 *	log line, postqueue -j delay_reason, Exim, Sendmail, qmail,
 *	OpenSMTPD, SES, SendGrid and Mailgun events, a multi-line reply
 *	joined with spaces), and the "rows" table holds whole inputs for the
 *	odd cases. In both tables NULL means "must be null". The engine is
 *	checked with small inline rule texts: first match per field, named
 *	groups, = and != lists, !~, null fields, the skip of finished rules,
 *	the literal prefilter against the same rules without it, load errors
 *	(FILE:LINE), IP validation, qmail's underscores, the input cap and
 *	the match limits.
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "classify.h"
#include "strbuf.h"
#include "util.h"

#ifndef OG_RULES_FILE
#error OG_RULES_FILE must name contrib/replies.rules
#endif

#define SENDER_IP "203.0.113.5"

/* ---- helpers ---- */

static struct og_classifier *shipped;

static struct og_classifier *
parse_or_fail(const char *text)
{
	struct og_strbuf err;
	struct og_classifier *cl;

	og_strbuf_init(&err, 0);
	cl = og_classifier_parse("inline.rules", text, strlen(text), &err);
	if (cl == NULL)
		fail_msg(
		    "rules do not load:\n%s--\n%s", og_strbuf_str(&err), text);
	og_strbuf_release(&err);
	return cl;
}

/* check_fields - every field equal to want[] (NULL: must be null) */
static void
check_fields(const char *what, const char *input, const struct og_reply *r,
    const char *const *want)
{
	int f;

	for (f = 0; f < OG_RF_NFIELDS; f++) {
		const char *got = r->v[f], *w = want[f];

		if ((got == NULL) != (w == NULL) ||
		    (got != NULL && strcmp(got, w) != 0))
			fail_msg(
			    "%s: %s is %s%s%s, want %s%s%s\n  input: %.400s",
			    what, og_reply_field_name((enum og_reply_field)f),
			    got ? "\"" : "", got ? got : "null",
			    got ? "\"" : "", w ? "\"" : "", w ? w : "null",
			    w ? "\"" : "", input);
	}
}

/*
 * expect - check r against "field=value field=value": listed fields
 * must have the value, the others must be null.
 */
static void
expect(const char *what, const char *input, const struct og_reply *r,
    const char *spec)
{
	char copy[1024], *p, *want[OG_RF_NFIELDS] = { NULL };
	int f;

	if (og_strlcpy(copy, spec, sizeof(copy)) >= sizeof(copy))
		fail_msg("spec too long");
	for (p = copy; *p != '\0';) {
		char *eq = strchr(p, '='), *sp;

		if (eq == NULL) {
			fail_msg("bad spec \"%s\"", spec);
			return;
		}
		*eq = '\0';
		sp = strchr(eq + 1, ' ');
		if (sp != NULL)
			*sp = '\0';
		for (f = 0; f < OG_RF_NFIELDS; f++)
			if (strcmp(og_reply_field_name((enum og_reply_field)f),
			        p) == 0)
				break;
		if (f == OG_RF_NFIELDS)
			fail_msg("spec names no field: \"%s\"", p);
		want[f] = eq + 1;
		p = sp ? sp + 1 : eq + 1 + strlen(eq + 1);
	}
	check_fields(what, input, r, (const char *const *)want);
}

/* classify_with - inline rules and one input, checked against spec */
static void
classify_with(const char *rules, const char *input, const char *spec)
{
	struct og_classifier *cl = parse_or_fail(rules);
	struct og_reply r;

	og_reply_init(&r);
	og_classify(cl, &r, input, strlen(input));
	expect("inline rules", input, &r, spec);
	og_reply_release(&r);
	og_classifier_free(cl);
}

static int
setup(void **state)
{
	struct og_strbuf err;

	(void)state;
	og_strbuf_init(&err, 0);
	shipped = og_classifier_load(OG_RULES_FILE, &err);
	if (shipped == NULL) {
		(void)fprintf(stderr, "%s", og_strbuf_str(&err));
		og_strbuf_release(&err);
		return -1;
	}
	og_strbuf_release(&err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	shipped = og_classifier_free(shipped);
	return 0;
}

/* ---- the shipped rules: replies in every wrapping ---- */

enum mx_kind { MX_MS, MX_365, MX_GOOGLE, MX_YAHOO, MX_OTHER };

static const struct mx {
	const char *host, *ip, *rcpt;
	int rcpt_tells; /* the recipient's domain names the provider */
} mxs[] = {
	[MX_MS] = { "hotmail-com.olc.protection.outlook.com", "52.101.42.8",
	    "bob@hotmail.com", 1 },
	[MX_365] = { "contoso-com.mail.protection.outlook.com", "52.101.68.3",
	    "bob@contoso.com", 0 },
	[MX_GOOGLE] = { "gmail-smtp-in.l.google.com", "142.250.27.26",
	    "bob@gmail.com", 1 },
	[MX_YAHOO] = { "mta6.am0.yahoodns.net", "67.195.204.72",
	    "bob@yahoo.com", 1 },
	[MX_OTHER] = { "mx.example.net", "198.51.100.25", "bob@example.net",
	    0 },
};

#define TAG1                                                                   \
	"[AM0PR01MB1234.eurprd01.prod.outlook.com 2025-11-25T08:06:40.951Z "   \
	"08DE2C1A2B3C4D5E]"
#define TAG1_HOST "AM0PR01MB1234.eurprd01.prod.outlook.com"
#define TAG1_TIME "2025-11-25T08:06:40.951Z"
#define TAG2                                                                   \
	"[AMS0EPF0000019C.eurprd05.prod.outlook.com 2026-05-14T15:49:33.598Z " \
	"08DEADB0994CCD76]"
#define TAG365                                                                 \
	"[BN8NAM12FT045.eop-nam12.prod.protection.outlook.com "                \
	"2025-01-02T03:04:05.678Z 08DD1234ABCD5678]"
#define TAG365_HOST "BN8NAM12FT045.eop-nam12.prod.protection.outlook.com"
#define TAG365_TIME "2025-01-02T03:04:05.678Z"
#define PFA "[Name=Protocol Filter Agent][AGT=PFA][MxId=11BB9ACE4D0B6F31]"
#define LIVE "http://mail.live.com/mail/troubleshooting.aspx#errors."
#define BLOCKED_TEXT                                                           \
	"weren't sent. Please contact your Internet service provider "         \
	"since part of their network is on our block list"
#define HOTMAIL_POLICY                                                         \
	"Mail rejected by Windows Live Hotmail for policy reasons. "
#define ADMIN_HELP                                                             \
	" If you are not an email/network admin please contact your "          \
	"E-mail/Internet Service Provider for help."
#define GSMTP " d9443c01a7336-2bf0a1b2c3d4si12345678ad.123 - gsmtp"
#define YAHOO_CODES "https://postmaster.yahooinc.com/error-codes"

/*
 * One reply. provider: as the wrapping's MX (or recipient) shows it;
 * provider_text: from the reply alone. multi: 0 when the reply is not
 * to be split into a multi-line reply (it is one already, or has no
 * enhanced code).
 */
struct reply_case {
	const char *reply;
	enum mx_kind mx;
	const char *provider, *provider_text;
	const char *class, *smtp_code, *enhanced_code, *provider_code;
	const char *remedy, *ip, *server_tag, *server_time;
	const char *spf, *dkim, *dmarc;
	int multi;
};

#define MSC "microsoft-consumer"
#define M365 "microsoft-365"

static const struct reply_case replies[] = {
	/* Outlook.com block list: S3150, S3140, AS3150, AS3140 */
	{ "550 5.7.1 Unfortunately, messages from [" SENDER_IP "] " BLOCKED_TEXT
	  " (S3150). You can also refer your provider to " LIVE " " TAG1,
	    MX_MS, MSC, MSC, "ip_block", "550", "5.7.1", "S3150",
	    "outlook_form", SENDER_IP, TAG1_HOST, TAG1_TIME, NULL, NULL, NULL,
	    1 },
	{ "550 5.7.1 Unfortunately, messages from [" SENDER_IP "] " BLOCKED_TEXT
	  " (S3140). You can also refer your provider to " LIVE " " PFA,
	    MX_MS, MSC, MSC, "ip_block", "550", "5.7.1", "S3140",
	    "outlook_form", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550 5.7.1 Unfortunately, messages from [" SENDER_IP "] " BLOCKED_TEXT
	  " (AS3150). You can also refer your provider to " LIVE
	  " [DB5EUR03FT021.eop-EUR03.prod.protection.outlook.com]",
	    MX_MS, MSC, MSC, "ip_block", "550", "5.7.1", "AS3150",
	    "outlook_form", SENDER_IP,
	    "DB5EUR03FT021.eop-EUR03.prod.protection.outlook.com", NULL, NULL,
	    NULL, NULL, 1 },
	{ "550 5.7.1 Unfortunately, messages from "
	  "[2001:db8:1::25] " BLOCKED_TEXT
	  " (AS3140). You can also refer your provider to " LIVE,
	    MX_MS, MSC, MSC, "ip_block", "550", "5.7.1", "AS3140",
	    "outlook_form", "2001:db8:1::25", NULL, NULL, NULL, NULL, NULL, 1 },
	/* Reputation throttles 4.7.650 (S775), 4.7.651 (S3114) */
	{ "451 4.7.650 The mail server [" SENDER_IP "] has been temporarily "
	  "rate limited due to IP reputation. For e-mail delivery "
	  "information, see https://aka.ms/postmaster (S775) " PFA " " TAG2,
	    MX_MS, MSC, MSC, "rate_limit", "451", "4.7.650", "S775",
	    "outlook_form", SENDER_IP,
	    "AMS0EPF0000019C.eurprd05.prod.outlook.com",
	    "2026-05-14T15:49:33.598Z", NULL, NULL, NULL, 1 },
	{ "451 4.7.651 The mail server [" SENDER_IP "] has been temporarily "
	  "rate limited due to IP reputation. For e-mail delivery "
	  "information, see https://postmaster.live.com (S3114) "
	  "[BN3PEPF0000B06D.namprd21.prod.outlook.com 2024-07-01T12:34:16Z]",
	    MX_MS, MSC, MSC, "rate_limit", "451", "4.7.651", "S3114",
	    "outlook_form", SENDER_IP,
	    "BN3PEPF0000B06D.namprd21.prod.outlook.com", "2024-07-01T12:34:16Z",
	    NULL, NULL, NULL, 1 },
	/* Connection limit and server busy: plain waits */
	{ "451 4.7.652 The mail server [" SENDER_IP "] has exceeded the "
	  "maximum number of connections. (S3115) "
	  "[BN1NAM02FT051.eop-nam02.prod.protection.outlook.com]",
	    MX_MS, MSC, MSC, "rate_limit", "451", "4.7.652", "S3115", "wait",
	    SENDER_IP, "BN1NAM02FT051.eop-nam02.prod.protection.outlook.com",
	    NULL, NULL, NULL, NULL, 1 },
	{ "451 4.7.500 Server busy. Please try again later from [" SENDER_IP
	  "]. (S77719) [SN1NAM02FT022.eop-nam02.prod.protection.outlook.com]",
	    MX_MS, MSC, MSC, "rate_limit", "451", "4.7.500", "S77719", "wait",
	    SENDER_IP, "SN1NAM02FT022.eop-nam02.prod.protection.outlook.com",
	    NULL, NULL, NULL, NULL, 1 },
	/* RP- rate limits */
	{ "421 RP-001 (COL004-MC1F35) Unfortunately, some messages "
	  "from " SENDER_IP
	  " weren't sent. Please try again. We have limits for how "
	  "many messages can be sent per hour and per day. You can also "
	  "refer to " LIVE,
	    MX_MS, MSC, MSC, "rate_limit", "421", NULL, "RP-001", "wait",
	    SENDER_IP, "COL004-MC1F35", NULL, NULL, NULL, NULL, 0 },
	{ "421 RP-002 (SNT004-MC1F11) Unfortunately, some messages "
	  "from " SENDER_IP
	  " weren't sent. Please try again. We have limits for how "
	  "many messages can be sent per hour and per day.",
	    MX_MS, MSC, MSC, "rate_limit", "421", NULL, "RP-002", "wait",
	    SENDER_IP, "SNT004-MC1F11", NULL, NULL, NULL, NULL, 0 },
	{ "421 RP-003 (BAY004-MC4F28) The mail server IP connecting to "
	  "Outlook.com server has exceeded the connection limit allowed. "
	  "Please try again later.",
	    MX_MS, MSC, MSC, "rate_limit", "421", NULL, "RP-003", "wait", NULL,
	    "BAY004-MC4F28", NULL, NULL, NULL, NULL, 0 },
	/* SC-, DY-, OU- policy rejections */
	{ "550 SC-001 (BAY004-MC1F27) Unfortunately, messages from " SENDER_IP
	  " " BLOCKED_TEXT ". You can also refer your provider to " LIVE,
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "SC-001", "outlook_form",
	    SENDER_IP, "BAY004-MC1F27", NULL, NULL, NULL, NULL, 0 },
	{ "550 SC-002 (COL0-MC5-F28) " HOTMAIL_POLICY "The mail server IP "
	  "connecting to Windows Live Hotmail has exhibited namespace mining "
	  "behavior." ADMIN_HELP " Email/network admins, please visit "
	  "http://postmaster.live.com for email delivery information and "
	  "support",
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "SC-002", "outlook_form",
	    NULL, "COL0-MC5-F28", NULL, NULL, NULL, NULL, 0 },
	{ "550 SC-003 " HOTMAIL_POLICY "Your IP address appears to be an open "
	  "proxy/relay." ADMIN_HELP,
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "SC-003", "outlook_form",
	    NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "550 SC-004 " HOTMAIL_POLICY "A block has been placed against your "
	  "IP address because we have received complaints concerning mail "
	  "coming from that IP address." ADMIN_HELP,
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "SC-004", "outlook_form",
	    NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "550 DY-001 (SNT0-MC4-F14) " HOTMAIL_POLICY "We generally do not "
	  "accept email from dynamic IP's as they are not typically used to "
	  "deliver unauthenticated SMTP e-mail to an Internet mail server. "
	  "http://www.spamhaus.org maintains lists of dynamic and "
	  "residential IP addresses." ADMIN_HELP,
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "DY-001", "outlook_form",
	    NULL, "SNT0-MC4-F14", NULL, NULL, NULL, NULL, 0 },
	{ "550 DY-002 (COL0-MC1-F13) Unfortunately, messages from " SENDER_IP
	  " weren't sent. Please contact your Internet service provider. The "
	  "mail server IP connecting to Windows Live Hotmail has been "
	  "detected as a compromised IP.",
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "DY-002", "outlook_form",
	    SENDER_IP, "COL0-MC1-F13", NULL, NULL, NULL, NULL, 0 },
	{ "550 OU-001 (SNT004-MC1F18) Unfortunately, messages from " SENDER_IP
	  " weren't sent. Please contact your Internet service provider. You "
	  "can also refer your provider to " LIVE,
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "OU-001", "outlook_form",
	    SENDER_IP, "SNT004-MC1F18", NULL, NULL, NULL, NULL, 0 },
	{ "550 OU-002 " HOTMAIL_POLICY "Reasons for rejection may be related "
	  "to content with spam-like characteristics or IP/domain reputation "
	  "problems." ADMIN_HELP,
	    MX_MS, MSC, MSC, "ip_block", "550", NULL, "OU-002", "outlook_form",
	    NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	/* High-volume sender authentication, 5.7.515 */
	{ "550 5.7.515 Access denied, sending domain [example.org] does not "
	  "meet the required authentication level. The sender's domain in "
	  "the 5322.From address doesn't meet the authentication "
	  "requirements defined for the sender. Spf=Pass, Dkim=Fail, "
	  "DMARC=Fail. To learn more, see "
	  "https://aka.ms/AuthRequirements " TAG1,
	    MX_MS, MSC, MSC, "auth", "550", "5.7.515", NULL, "fix_auth", NULL,
	    TAG1_HOST, TAG1_TIME, "pass", "fail", "fail", 1 },
	{ "550; 5.7.515 Access denied, sending domain example.com doesn't "
	  "meet the required authentication level. Spf= None, Dkim= None, "
	  "DMARC= None.",
	    MX_MS, MSC, MSC, "auth", "550", "5.7.515", NULL, "fix_auth", NULL,
	    NULL, NULL, "none", "none", "none", 0 },
	/* Outlook.com: no such mailbox */
	{ "550 5.5.0 Requested action not taken: mailbox unavailable "
	  "(S2017062302). " TAG1,
	    MX_MS, MSC, MSC, "recipient", "550", "5.5.0", "S2017062302", "none",
	    NULL, TAG1_HOST, TAG1_TIME, NULL, NULL, NULL, 1 },
	/* Exchange Online Protection: banned sending IP 5.7.606-649 */
	{ "550 5.7.606 Access denied, banned sending IP [" SENDER_IP "]. To "
	  "request removal from this list please visit "
	  "https://sender.office.com/ and follow the directions. For more "
	  "information please go to  "
	  "http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) " TAG365,
	    MX_365, M365, M365, "ip_block", "550", "5.7.606", "AS(1430)",
	    "delist_portal", SENDER_IP, TAG365_HOST, TAG365_TIME, NULL, NULL,
	    NULL, 1 },
	{ "550 5.7.649 Access denied, banned sending IP [" SENDER_IP "]. To "
	  "request removal from this list please visit "
	  "https://sender.office.com/ and follow the directions.",
	    MX_365, M365, M365, "ip_block", "550", "5.7.649", NULL,
	    "delist_portal", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550 5.7.625 Access denied, banned sending IP [2001:db8::77]. To "
	  "request removal from this list please visit "
	  "https://sender.office.com/ and follow the directions. AS(1430)",
	    MX_365, M365, M365, "ip_block", "550", "5.7.625", "AS(1430)",
	    "delist_portal", "2001:db8::77", NULL, NULL, NULL, NULL, NULL, 1 },
	/* Banned sender, 5.7.511: mail to delist@ */
	{ "550 5.7.511 Access denied, banned sender[" SENDER_IP "]. To request "
	  "removal from this list please forward this message to "
	  "delist@microsoft.com. For more information please go to "
	  "http://go.microsoft.com/fwlink/?LinkId=526653. AS(1110) "
	  "[VI1EUR04FT003.eop-eur04.prod.protection.outlook.com]",
	    MX_365, M365, M365, "ip_block", "550", "5.7.511", "AS(1110)",
	    "delist_mail", SENDER_IP,
	    "VI1EUR04FT003.eop-eur04.prod.protection.outlook.com", NULL, NULL,
	    NULL, NULL, 1 },
	/* Microsoft's own lists in 5.7.1 */
	{ "550 5.7.1 Service unavailable; Client host [" SENDER_IP "] blocked "
	  "using Blocklist 1; To request removal from this list please "
	  "forward this message to delist@messaging.microsoft.com",
	    MX_365, M365, M365, "ip_block", "550", "5.7.1", NULL, "delist_mail",
	    SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550 5.7.1 Service unavailable, Client host [" SENDER_IP "] blocked "
	  "using FBLW15; To request removal from this list please forward "
	  "this message to delist@microsoft.com",
	    MX_365, M365, M365, "ip_block", "550", "5.7.1", NULL, "delist_mail",
	    SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	/* A tenant's own block list */
	{ "550 5.7.1 Service unavailable, Client host [" SENDER_IP "] blocked "
	  "using Customer Block list (AS16012607) "
	  "[AM6EUR05FT011.eop-eur05.prod.protection.outlook.com]",
	    MX_365, M365, M365, "ip_block", "550", "5.7.1", "AS16012607",
	    "none", SENDER_IP,
	    "AM6EUR05FT011.eop-eur05.prod.protection.outlook.com", NULL, NULL,
	    NULL, NULL, 1 },
	/* Spamhaus, relayed by Microsoft: the other list's business */
	{ "550 5.7.1 Service unavailable, Client host [" SENDER_IP "] blocked "
	  "using Spamhaus. To request removal from this list see "
	  "https://www.spamhaus.org/query/ip/" SENDER_IP " AS(1450) "
	  "[DB8EUR05FT012.eop-eur05.prod.protection.outlook.com]",
	    MX_365, M365, M365, "other_provider", "550", "5.7.1", "AS(1450)",
	    "none", SENDER_IP,
	    "DB8EUR05FT012.eop-eur05.prod.protection.outlook.com", NULL, NULL,
	    NULL, NULL, 1 },
	{ "550 5.7.1 Client host [" SENDER_IP "] blocked using Spamhaus. To "
	  "request removal from this list see "
	  "http://www.spamhaus.org/lookup.lasso (S3130). "
	  "[VE1EUR03FT043.eop-EUR03.prod.protection.outlook.com]",
	    MX_MS, MSC, MSC, "other_provider", "550", "5.7.1", "S3130", "none",
	    SENDER_IP, "VE1EUR03FT043.eop-EUR03.prod.protection.outlook.com",
	    NULL, NULL, NULL, NULL, 1 },
	/* Exchange Online recipients: never a block */
	{ "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by "
	  "SMTP address lookup",
	    MX_365, M365, M365, "recipient", "550", "5.1.10", NULL, "none",
	    NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550 5.4.1 Recipient address rejected: Access denied. "
	  "AS(201806281) [AM4PEPF00027A6C.eurprd04.prod.outlook.com "
	  "2025-11-25T08:06:40.951Z 08DE2C1A2B3C4D5E]",
	    MX_365, M365, M365, "recipient", "550", "5.4.1", "AS(201806281)",
	    "none", NULL, "AM4PEPF00027A6C.eurprd04.prod.outlook.com",
	    TAG1_TIME, NULL, NULL, NULL, 1 },
	{ "552 5.2.2 mailbox full; STOREDRV.Deliver.Exception:"
	  "QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed "
	  "to process message due to a permanent exception",
	    MX_365, M365, M365, "recipient", "552", "5.2.2", NULL, "none", NULL,
	    NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", MX_365, M365, M365,
	    "recipient", "550", "5.1.1", NULL, "none", NULL, NULL, NULL, NULL,
	    NULL, NULL, 0 },
	/* Exchange Online authentication and content */
	{ "550 5.7.509 Access denied, sending domain example.org does not "
	  "pass DMARC verification and has a DMARC policy of reject. " TAG365,
	    MX_365, M365, M365, "auth", "550", "5.7.509", NULL, "fix_auth",
	    NULL, TAG365_HOST, TAG365_TIME, NULL, NULL, NULL, 1 },
	{ "550 5.7.350 Remote server returned message detected as spam "
	  "[DB8EUR05FT012.eop-eur05.prod.protection.outlook.com]",
	    MX_365, M365, M365, "content", "550", "5.7.350", NULL,
	    "fix_content", NULL,
	    "DB8EUR05FT012.eop-eur05.prod.protection.outlook.com", NULL, NULL,
	    NULL, NULL, 1 },
	{ "451 4.7.0 Temporary server error. Please try again later. "
	  "PRX4 " TAG1,
	    MX_365, M365, M365, "rate_limit", "451", "4.7.0", NULL, "wait",
	    NULL, TAG1_HOST, TAG1_TIME, NULL, NULL, NULL, 1 },
	/* Google */
	{ "421-4.7.28 [" SENDER_IP "      15] Our system has detected an "
	  "unusual rate of 421-4.7.28 unsolicited mail originating from your "
	  "IP address. To protect our 421-4.7.28 users from spam, mail sent "
	  "from your IP address has been temporarily 421-4.7.28 rate limited. "
	  "Please visit 421-4.7.28  "
	  "https://support.google.com/mail/?p=UnsolicitedRateLimitError to "
	  "421 4.7.28 review our Bulk Email Senders Guidelines." GSMTP,
	    MX_GOOGLE, "google", "google", "rate_limit", "421", "4.7.28", NULL,
	    "wait", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "421 4.7.28 Gmail has detected an unusual rate of email originating "
	  "from your IP address " SENDER_IP ". To protect our users from "
	  "spam, email sent from your IP address has been temporarily rate "
	  "limited. To review our bulk email senders guidelines, go to "
	  "https://support.google.com/mail/?p=UnsolicitedRateLimitError." GSMTP,
	    MX_GOOGLE, "google", "google", "rate_limit", "421", "4.7.28", NULL,
	    "wait", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "421-4.7.26 This mail has been rate limited because it is "
	  "unauthenticated. Gmail requires all senders to authenticate with "
	  "either SPF or DKIM. Authentication results: DKIM = did not pass "
	  "SPF [example.org] with ip: [" SENDER_IP "] = did not pass For "
	  "instructions on setting up authentication, go to "
	  "https://support.google.com/mail/answer/81126#authentication" GSMTP,
	    MX_GOOGLE, "google", "google", "auth", "421", "4.7.26", NULL,
	    "fix_auth", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "421-4.7.27 Your email has been rate limited because SPF "
	  "authentication didn't pass for this message. Gmail requires all "
	  "bulk email senders to authenticate their email with SPF. "
	  "Authentication results: SPF domain example.org with IP "
	  "address: " SENDER_IP " = Did not pass." GSMTP,
	    MX_GOOGLE, "google", "google", "auth", "421", "4.7.27", NULL,
	    "fix_auth", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "421-4.7.30 Your email has been rate limited because DKIM "
	  "authentication didn't pass for this message. Gmail requires all "
	  "email bulk senders to authenticate their email with DKIM. "
	  "Authentication results: DKIM = Did not pass." GSMTP,
	    MX_GOOGLE, "google", "google", "auth", "421", "4.7.30", NULL,
	    "fix_auth", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550-5.7.26 This mail has been blocked because the sender is "
	  "unauthenticated. Gmail requires all senders to authenticate with "
	  "either SPF or DKIM. Authentication results: DKIM = did not pass "
	  "SPF [example.org] with ip: [" SENDER_IP "] = did not pass" GSMTP,
	    MX_GOOGLE, "google", "google", "auth", "550", "5.7.26", NULL,
	    "fix_auth", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550-5.7.26 Unauthenticated email from example.org is not accepted "
	  "due to domain's DMARC policy. Please contact the administrator of "
	  "example.org domain if this was a legitimate mail. To learn about "
	  "the DMARC initiative, go to "
	  "https://support.google.com/mail/?p=DmarcRejection" GSMTP,
	    MX_GOOGLE, "google", "google", "auth", "550", "5.7.26", NULL,
	    "fix_auth", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550-5.7.1 [" SENDER_IP "      12] Our system has detected that "
	  "this message is likely unsolicited mail. To reduce the amount of "
	  "spam sent to Gmail, this message has been blocked. For more "
	  "information, go to "
	  "https://support.google.com/mail/?p=UnsolicitedMessageError" GSMTP,
	    MX_GOOGLE, "google", "google", "content", "550", "5.7.1", NULL,
	    "fix_content", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550-5.7.1 [" SENDER_IP "      12] Our system has detected an "
	  "unusual rate of unsolicited mail originating from your IP address. "
	  "To protect our users from spam, mail sent from your IP address has "
	  "been blocked. Please visit "
	  "https://support.google.com/mail/?p=UnsolicitedIPError to review "
	  "our Bulk Email Senders Guidelines." GSMTP,
	    MX_GOOGLE, "google", "google", "ip_block", "550", "5.7.1", NULL,
	    "wait", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550-5.7.1 This message is likely suspicious due to the very low "
	  "reputation of the sending IP address. To best protect our users "
	  "from spam, the message has been blocked. For more information, go "
	  "to https://support.google.com/mail/answer/188131" GSMTP,
	    MX_GOOGLE, "google", "google", "ip_block", "550", "5.7.1", NULL,
	    "wait", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "421-4.7.0 This message is suspicious due to the very low "
	  "reputation of the sending IP address. To protect our users from "
	  "spam, email sent from your IP address has been temporarily rate "
	  "limited. For more information, go to "
	  "https://support.google.com/mail/answer/188131" GSMTP,
	    MX_GOOGLE, "google", "google", "rate_limit", "421", "4.7.0", NULL,
	    "wait", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550-5.7.25 [" SENDER_IP "] The IP address sending this message "
	  "does not have a PTR record setup, or the corresponding forward DNS "
	  "entry does not point to the sending IP. As a policy, Gmail does "
	  "not accept messages from IPs with missing PTR records." GSMTP,
	    MX_GOOGLE, "google", "google", "auth", "550", "5.7.25", NULL,
	    "fix_auth", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550-5.1.1 The email account that you tried to reach does not "
	  "exist. Please try double-checking the recipient's email address "
	  "for typos or unnecessary spaces. For more information, go to "
	  "https://support.google.com/mail/?p=NoSuchUser" GSMTP,
	    MX_GOOGLE, "google", "google", "recipient", "550", "5.1.1", NULL,
	    "none", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "452-4.2.2 The recipient's inbox is out of storage space. Please "
	  "direct the recipient to "
	  "https://support.google.com/mail/?p=OverQuotaTemp" GSMTP,
	    MX_GOOGLE, "google", "google", "recipient", "452", "4.2.2", NULL,
	    "none", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "450-4.2.1 The user you are trying to contact is receiving mail at "
	  "a rate that prevents additional messages from being delivered. "
	  "Please resend your message at a later time." GSMTP,
	    MX_GOOGLE, "google", "google", "recipient", "450", "4.2.1", NULL,
	    "none", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "250 2.0.0 OK  1764057600" GSMTP, MX_GOOGLE, "google", "google",
	    "other", "250", "2.0.0", NULL, "none", NULL, NULL, NULL, NULL, NULL,
	    NULL, 0 },
	/* Yahoo */
	{ "421 4.7.0 [TSS04] Messages from " SENDER_IP " temporarily deferred "
	  "due to unexpected volume or user complaints - 4.16.55.1; "
	  "see " YAHOO_CODES,
	    MX_YAHOO, "yahoo", "yahoo", "rate_limit", "421", "4.7.0", "TSS04",
	    "wait", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "553 5.7.2 [TSS09] All messages from " SENDER_IP " will be "
	  "permanently deferred; Retrying will NOT succeed. See " YAHOO_CODES,
	    MX_YAHOO, "yahoo", "yahoo", "ip_block", "553", "5.7.2", "TSS09",
	    "none", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "421 4.7.1 [TS03] All messages from " SENDER_IP " permanently "
	  "deferred; Retrying will NOT succeed. See " YAHOO_CODES,
	    MX_YAHOO, "yahoo", "yahoo", "ip_block", "421", "4.7.1", "TS03",
	    "none", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "554 5.7.9 Message not accepted for policy reasons.  "
	  "See " YAHOO_CODES,
	    MX_YAHOO, "yahoo", "yahoo", "content", "554", "5.7.9", NULL,
	    "fix_content", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "553 5.7.1 [BL21] Connections will not be accepted from " SENDER_IP
	  ", because the ip is in Spamhaus's list; see " YAHOO_CODES,
	    MX_YAHOO, "yahoo", "yahoo", "other_provider", "553", "5.7.1",
	    "BL21", "none", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "421 4.7.0 [GL01] Message from " SENDER_IP " temporarily deferred - "
	  "4.16.50. Please refer to https://senders.yahooinc.com/error-codes",
	    MX_YAHOO, "yahoo", "yahoo", "rate_limit", "421", "4.7.0", "GL01",
	    "wait", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "554 delivery error: dd This user doesn't have a yahoo.com account "
	  "(bob@yahoo.com) [0] - mta1123.mail.gq1.yahoo.com",
	    MX_YAHOO, "yahoo", "yahoo", "recipient", "554", NULL, NULL, "none",
	    NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	/* Anyone else */
	{ "554 5.7.1 Service unavailable; Client host [" SENDER_IP "] blocked "
	  "using zen.spamhaus.org; "
	  "https://www.spamhaus.org/query/ip/" SENDER_IP,
	    MX_OTHER, "other", "other", "other_provider", "554", "5.7.1", NULL,
	    "none", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "450 4.2.0 <bob@example.net>: Recipient address rejected: "
	  "Greylisted, see http://postgrey.schweikert.ch/help/example.net.html",
	    MX_OTHER, "other", "other", "rate_limit", "450", "4.2.0", NULL,
	    "wait", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550 5.1.1 <bob@example.net>: Recipient address rejected: User "
	  "unknown in virtual mailbox table",
	    MX_OTHER, "other", "other", "recipient", "550", "5.1.1", NULL,
	    "none", NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "450 4.7.1 Client host rejected: cannot find your reverse hostname, "
	  "[" SENDER_IP "]",
	    MX_OTHER, "other", "other", "auth", "450", "4.7.1", NULL,
	    "fix_auth", SENDER_IP, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "550 5.7.1 Message rejected as spam by Content Filtering.", MX_OTHER,
	    "other", "other", "content", "550", "5.7.1", NULL, "fix_content",
	    NULL, NULL, NULL, NULL, NULL, NULL, 1 },
	{ "250 2.0.0 Ok: queued as 4Q2X1Y3Z5Wz8", MX_OTHER, "other", "other",
	    "other", "250", "2.0.0", NULL, "none", NULL, NULL, NULL, NULL, NULL,
	    NULL, 0 },
};

/* What a wrapping shows besides the reply */
#define W_HOST 0x01 /* the MX host */
#define W_MXIP 0x02 /* the MX IP */
#define W_RCPT 0x04 /* the recipient */
#define W_SIP 0x08 /* the sending IP, as the ESP knows it */
#define W_MULTI 0x10

struct wrap {
	const char *name;
	unsigned shows;
	void (*fn)(struct og_strbuf *, const char *reply, const struct mx *);
};

/* strip_code - the reply without its "550 " (Mailgun keeps it apart) */
static const char *
strip_code(const char *reply, char code[4])
{
	memcpy(code, reply, 3);
	code[3] = '\0';
	reply += 3;
	while (*reply == ' ' || *reply == '-' || *reply == ';')
		reply++;
	return reply;
}

static void
json_escaped(struct og_strbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			(void)og_strbuf_addc(b, '\\');
		(void)og_strbuf_addc(b, *s);
	}
}

static void
w_bare(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	(void)mx;
	(void)og_strbuf_adds(b, reply);
}

static void
w_postfix(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	const char *status = reply[0] == '2' ? "sent"
	    : reply[0] == '4'                ? "deferred"
	                                     : "bounced";

	(void)og_strbuf_addf(b,
	    "Nov 25 08:06:41 mx1 postfix/smtp[12345]: 3F2A1C0D4E: to=<%s>, "
	    "relay=%s[%s]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=%c.0.0, "
	    "status=%s (host %s[%s] said: %s (in reply to MAIL FROM command))",
	    mx->rcpt, mx->host, mx->ip, reply[0], status, mx->host, mx->ip,
	    reply);
}

static void
w_delay_reason(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	(void)og_strbuf_addf(b,
	    "host %s[%s] said: %s (in reply to RCPT TO command)", mx->host,
	    mx->ip, reply);
}

static void
w_exim(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	(void)og_strbuf_addf(b,
	    "2025-11-25 08:06:41 1tAbCd-000XyZ-4F ** %s R=dnslookup "
	    "T=remote_smtp H=%s [%s]: SMTP error from remote mail server "
	    "after pipelined MAIL FROM:<news@example.org> SIZE=4169: %s",
	    mx->rcpt, mx->host, mx->ip, reply);
}

static void
w_sendmail(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	(void)og_strbuf_addf(b,
	    "... while talking to %s.: >>> MAIL From:<news@example.org> "
	    "SIZE=4169 <<< %s",
	    mx->host, reply);
}

static void
w_qmail(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	const char *p;

	(void)og_strbuf_addf(b,
	    "@4000000067443a1d2b3c4d5e delivery 4711: failure: "
	    "%s_does_not_like_recipient./Remote_host_said:_",
	    mx->ip);
	for (p = reply; *p != '\0'; p++)
		(void)og_strbuf_addc(b, *p == ' ' ? '_' : *p);
	(void)og_strbuf_adds(b, "/Giving_up_on_");
	(void)og_strbuf_addf(b, "%s./", mx->ip);
}

static void
w_opensmtpd(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	(void)og_strbuf_addf(b,
	    "Nov 25 08:06:41 mx1 smtpd[4242]: 8e4c1f2a9b7d3c01 mta delivery "
	    "evpid=d2f1c0b9a8e7f6d5 from=<news@example.org> to=<%s> "
	    "rcpt=<-> source=\"192.0.2.10\" relay=\"%s (%s)\" delay=2s "
	    "result=\"%s\" stat=\"%s\"",
	    mx->rcpt, mx->ip, mx->host,
	    reply[0] == '4' ? "TempFail" : "PermFail", reply);
}

static void
w_ses(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	(void)og_strbuf_addf(b,
	    "{\"eventType\":\"Bounce\",\"bounce\":{\"bounceType\":"
	    "\"Permanent\",\"bounceSubType\":\"General\","
	    "\"bouncedRecipients\":[{\"emailAddress\":\"%s\",\"action\":"
	    "\"failed\",\"status\":\"%c.0.0\",\"diagnosticCode\":\"smtp; ",
	    mx->rcpt, reply[0]);
	json_escaped(b, reply);
	(void)og_strbuf_addf(b,
	    "\"}],\"timestamp\":\"2025-11-25T08:06:41.000Z\","
	    "\"reportingMTA\":\"dns; a8-30.smtp-out.amazonses.com\","
	    "\"remoteMtaIp\":\"%s\"}}",
	    mx->ip);
}

static void
w_sendgrid(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	(void)og_strbuf_addf(b,
	    "{\"email\":\"%s\",\"event\":\"bounce\","
	    "\"reason\":\"",
	    mx->rcpt);
	json_escaped(b, reply);
	(void)og_strbuf_addf(b,
	    "\",\"status\":\"%c.0.0\",\"ip\":\"" SENDER_IP
	    "\",\"timestamp\":1764057600,\"type\":\"bounce\"}",
	    reply[0]);
}

static void
w_mailgun(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	char code[4];
	const char *msg = strip_code(reply, code);

	(void)og_strbuf_addf(b,
	    "{\"event\":\"failed\",\"severity\":\"%s\",\"recipient\":\"%s\","
	    "\"delivery-status\":{\"attempt-no\":1,\"mx-host\":\"%s\","
	    "\"code\":%s,\"message\":\"",
	    reply[0] == '4' ? "temporary" : "permanent", mx->rcpt, mx->host,
	    code);
	json_escaped(b, msg);
	(void)og_strbuf_adds(b,
	    "\",\"description\":\"\"},\"envelope\":"
	    "{\"sending-ip\":\"" SENDER_IP "\"}}");
}

/*
 * w_multi - the reply as a multi-line one joined with spaces: "550-5.7.1
 * first words 550-5.7.1 more words 550 5.7.1 the rest"
 */
static void
w_multi(struct og_strbuf *b, const char *reply, const struct mx *mx)
{
	const char *rest = reply + 4, *sp;
	size_t elen = strcspn(rest, " "), len, cut1, cut2;

	(void)mx;
	rest += elen + 1;
	len = strlen(rest);
	cut1 = len / 3;
	cut2 = 2 * len / 3;
	while (cut1 < len && rest[cut1] != ' ')
		cut1++;
	if (cut2 < cut1)
		cut2 = cut1 + 1;
	while (cut2 < len && rest[cut2] != ' ')
		cut2++;
	(void)og_strbuf_addf(b, "%.3s-%.*s %.*s %.3s-%.*s %.*s %.3s %.*s ",
	    reply, (int)elen, reply + 4, (int)cut1, rest, reply, (int)elen,
	    reply + 4, (int)(cut2 > cut1 ? cut2 - cut1 - 1 : 0),
	    cut1 < len ? rest + cut1 + 1 : "", reply, (int)elen, reply + 4);
	sp = cut2 < len ? rest + cut2 + 1 : "";
	(void)og_strbuf_adds(b, sp);
}

static const struct wrap wraps[] = {
	{ "bare", 0, w_bare },
	{ "postfix log", W_HOST | W_MXIP | W_RCPT, w_postfix },
	{ "postqueue delay_reason", W_HOST | W_MXIP, w_delay_reason },
	{ "exim", W_HOST | W_MXIP | W_RCPT, w_exim },
	{ "sendmail", W_HOST, w_sendmail },
	{ "qmail", W_MXIP, w_qmail },
	{ "opensmtpd", W_HOST | W_MXIP | W_RCPT, w_opensmtpd },
	{ "ses", W_MXIP | W_RCPT, w_ses },
	{ "sendgrid", W_RCPT | W_SIP, w_sendgrid },
	{ "mailgun", W_HOST | W_RCPT | W_SIP, w_mailgun },
	{ "multi-line", W_MULTI, w_multi },
};

static void
test_replies(void **state)
{
	struct og_strbuf in;
	struct og_reply r;
	size_t i, w, checked = 0;

	(void)state;
	og_strbuf_init(&in, OG_CLASSIFY_INPUT_MAX);
	og_reply_init(&r);
	for (i = 0; i < OG_NELEM(replies); i++) {
		const struct reply_case *c = &replies[i];
		const struct mx *mx = &mxs[c->mx];

		for (w = 0; w < OG_NELEM(wraps); w++) {
			const char *want[OG_RF_NFIELDS];
			unsigned shows = wraps[w].shows;
			char what[128];

			if ((shows & W_MULTI) && !c->multi)
				continue;
			og_strbuf_reset(&in);
			wraps[w].fn(&in, c->reply, mx);
			want[OG_RF_PROVIDER] = c->provider_text;
			if ((shows & W_HOST) ||
			    ((shows & W_RCPT) && mx->rcpt_tells &&
			        strcmp(c->provider_text, "other") == 0))
				want[OG_RF_PROVIDER] = c->provider;
			want[OG_RF_CLASS] = c->class;
			want[OG_RF_SMTP_CODE] = c->smtp_code;
			want[OG_RF_ENHANCED_CODE] = c->enhanced_code;
			want[OG_RF_PROVIDER_CODE] = c->provider_code;
			want[OG_RF_REMEDY] = c->remedy;
			/* a success needs no sending IP: none is looked for */
			want[OG_RF_IP] = c->ip;
			if (c->ip == NULL && (shows & W_SIP) &&
			    (c->smtp_code == NULL || c->smtp_code[0] != '2'))
				want[OG_RF_IP] = SENDER_IP;
			want[OG_RF_MX_HOST] =
			    (shows & W_HOST) ? mx->host : NULL;
			want[OG_RF_MX_IP] = (shows & W_MXIP) ? mx->ip : NULL;
			want[OG_RF_SERVER_TAG] = c->server_tag;
			want[OG_RF_SERVER_TIME] = c->server_time;
			want[OG_RF_SPF] = c->spf;
			want[OG_RF_DKIM] = c->dkim;
			want[OG_RF_DMARC] = c->dmarc;
			(void)snprintf(what, sizeof(what), "reply %zu, %s", i,
			    wraps[w].name);
			og_classify(shipped, &r, og_strbuf_str(&in), in.len);
			check_fields(what, og_strbuf_str(&in), &r, want);
			checked++;
		}
	}
	og_reply_release(&r);
	og_strbuf_release(&in);
	assert_true(checked > 2 * OG_NELEM(replies));
}

/* ---- the shipped rules: whole inputs for the odd cases ---- */

struct row {
	const char *input;
	const char *provider, *class, *smtp_code, *enhanced_code;
	const char *provider_code, *remedy, *ip, *mx_host, *mx_ip;
	const char *server_tag, *server_time, *spf, *dkim, *dmarc;
};

/* Trailing fields left out are NULL: "must be null". */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct row rows[] = {
	/* Not a reply at all: provider unknown, everything null */
	{ "", "unknown" },
	{ "   \t  ", "unknown" },
	{ "hello world", "unknown" },
	{ "Nov 25 08:06:41 mx1 postfix/smtp[12345]: 3F2A1C0D4E: "
	  "to=<bob@hotmail.com>, relay=none, delay=30, delays=0.1/0/30/0, "
	  "dsn=4.4.1, status=deferred (connect to "
	  "hotmail-com.olc.protection.outlook.com[52.101.42.8]:25: "
	  "Connection timed out)",
	    "unknown" },
	{ "lost connection with mx.example.net[198.51.100.25] while "
	  "receiving the initial server greeting",
	    "unknown" },
	{ "Host or domain name not found. Name service error for "
	  "name=example.invalid type=MX: Host not found, try again",
	    "unknown" },
	/* Successes are nothing to act on, whatever they say */
	{ "Nov 25 08:06:41 mx1 postfix/smtp[12345]: 3F2A1C0D4E: "
	  "to=<bob@outlook.com>, relay=outlook-com.olc.protection.outlook.com"
	  "[52.101.11.0]:25, delay=1.1, delays=0.1/0/0.4/0.6, dsn=2.6.0, "
	  "status=sent (250 2.6.0 <20251125080641.3F2A1C0D4E@mx1.example.org> "
	  "[InternalId=12884901888, Hostname=AM0PR01MB1234.eurprd01.prod."
	  "outlook.com] 10434 bytes in 0.182, 55.799 KB/sec Queued mail for "
	  "delivery -> 250 2.1.5)",
	    "microsoft-consumer", "other", "250", "2.6.0", NULL, "none", NULL,
	    "outlook-com.olc.protection.outlook.com", "52.101.11.0",
	    "AM0PR01MB1234.eurprd01.prod.outlook.com" },
	{ "250 2.0.0 Ok: queued as 4Q2X1Y3Z5Wz8 (spam score 0.1, not "
	  "blocked)",
	    "other", "other", "250", "2.0.0", NULL, "none" },
	/* Redacted IPs are no IPs */
	{ "550 5.7.1 Unfortunately, messages from [x.x.x.x] weren't sent. "
	  "Please contact your Internet service provider since part of their "
	  "network is on our block list (S3150).",
	    "microsoft-consumer", "ip_block", "550", "5.7.1", "S3150",
	    "outlook_form" },
	{ "host eur.olc.protection.outlook.com[] said: 550 5.7.1 "
	  "Unfortunately, messages from [**.**.**.**] weren't sent. Please "
	  "contact your Internet service provider since part of their "
	  "network is on our block list (S3150). You can also refer your "
	  "provider to [DB3EUR04FT007.eop-eur04.prod.protection.outlook.com] "
	  "(in reply to MAIL FROM command)",
	    "microsoft-consumer", "ip_block", "550", "5.7.1", "S3150",
	    "outlook_form", NULL, "eur.olc.protection.outlook.com", NULL,
	    "DB3EUR04FT007.eop-eur04.prod.protection.outlook.com" },
	{ "451 4.7.650 The mail server [999.999.999.999] has been temporarily "
	  "rate limited due to IP reputation. (S775)",
	    "microsoft-consumer", "rate_limit", "451", "4.7.650", "S775",
	    "outlook_form" },
	/* Truncated, no code, no brackets, odd case, odd spacing */
	{ "Unfortunately, messages from 203.0.113.5 weren't sent. Please "
	  "contact your Internet service provider since part of their network "
	  "is on our block",
	    "microsoft-consumer", "ip_block", NULL, NULL, NULL, "outlook_form",
	    SENDER_IP },
	{ "550 5.7.1 UNFORTUNATELY, MESSAGES FROM [203.0.113.5] WEREN'T SENT. "
	  "PLEASE CONTACT YOUR INTERNET SERVICE PROVIDER SINCE PART OF THEIR "
	  "NETWORK IS ON OUR BLOCK LIST (S3150).",
	    "microsoft-consumer", "ip_block", "550", "5.7.1", "S3150",
	    "outlook_form", SENDER_IP },
	{ "  550   5.7.606   Access denied,\tbanned sending IP\r\n"
	  "[203.0.113.5].  To request removal from this list please visit "
	  "https://sender.office.com/  ",
	    "microsoft-365", "ip_block", "550", "5.7.606", NULL,
	    "delist_portal", SENDER_IP },
	{ "451 4.7.650 The mail server [203.0.113.5] has been temporarily "
	  "rate limited due to IP reputation. For e-mail delivery informat",
	    "microsoft-consumer", "rate_limit", "451", "4.7.650", NULL,
	    "outlook_form", SENDER_IP },
	/* The reply in a DSN: "Remote Server returned '...'" */
	{ "Remote Server returned '550 5.7.606 Access denied, banned sending "
	  "IP [2001:db8::5]. To request removal from this list please visit "
	  "https://sender.office.com/ and follow the directions.'",
	    "microsoft-365", "ip_block", "550", "5.7.606", NULL,
	    "delist_portal", "2001:db8::5" },
	{ "Diagnostic-Code: smtp; 421 4.7.0 [TSS04] Messages from "
	  "203.0.113.5 temporarily deferred due to unexpected volume or user "
	  "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/"
	  "error-codes",
	    "yahoo", "rate_limit", "421", "4.7.0", "TSS04", "wait", SENDER_IP },
	/* A recipient problem is never a block, "Access denied" or not */
	{ "550 5.4.1 Recipient address rejected: Access denied. "
	  "AS(201806281)",
	    "microsoft-365", "recipient", "550", "5.4.1", "AS(201806281)",
	    "none" },
	{ "550 5.2.1 The email account that you tried to reach is inactive. "
	  "For more information, go to https://support.google.com/mail/?p="
	  "DisabledUser - gsmtp",
	    "google", "recipient", "550", "5.2.1", NULL, "none" },
	{ "554 delivery error: dd Sorry your message to bob@yahoo.com cannot "
	  "be delivered. This mailbox is disabled (554.30). - "
	  "mta4321.mail.bf1.yahoo.com",
	    "yahoo", "recipient", "554", NULL, NULL, "none" },
	/* A throttle is never a block */
	{ "421 4.7.28 Gmail has detected an unusual amount of unsolicited "
	  "email originating from your IP address. To protect our users from "
	  "spam, email sent from your IP address has been temporarily "
	  "blocked. - gsmtp",
	    "google", "rate_limit", "421", "4.7.28", NULL, "wait" },
	/* Another list, whoever relays it */
	{ "550 5.7.1 Service unavailable, MailFrom domain is listed in "
	  "Spamhaus. To request removal from this list see "
	  "https://www.spamhaus.org/query/lookup/ (S8001) "
	  "[DB8EUR05FT012.eop-eur05.prod.protection.outlook.com]",
	    "microsoft-365", "other_provider", "550", "5.7.1", "S8001", "none",
	    NULL, NULL, NULL,
	    "DB8EUR05FT012.eop-eur05.prod.protection.outlook.com" },
	/* Verdicts in brackets and lower case */
	{ "550 5.7.515 Access denied, sending domain [example.org] doesn't "
	  "meet the required authentication level. spf=[softfail] "
	  "dkim=[pass] dmarc=[fail]",
	    "microsoft-consumer", "auth", "550", "5.7.515", NULL, "fix_auth",
	    NULL, NULL, NULL, NULL, NULL, "softfail", "pass", "fail" },
	/* The MX of a tenant's new DNSSEC domain */
	{ "host contoso-com.a-v1.mx.microsoft[52.101.1.2] said: 550 5.7.606 "
	  "Access denied, banned sending IP [203.0.113.5]. (in reply to RCPT "
	  "TO command)",
	    "microsoft-365", "ip_block", "550", "5.7.606", NULL,
	    "delist_portal", SENDER_IP, "contoso-com.a-v1.mx.microsoft",
	    "52.101.1.2" },
	/* JSON escapes of a .NET or PHP event encoder */
	{ "{\"Details\":\"smtp;550 5.7.1 Unfortunately, messages from "
	  "[203.0.113.5] weren\\u0027t sent. You can also refer your "
	  "provider to http:\\/\\/mail.live.com\\/mail\\/"
	  "troubleshooting.aspx#errors.\",\"Email\":\"bob@example.org\"}",
	    "microsoft-consumer", "ip_block", "550", "5.7.1", NULL,
	    "outlook_form", SENDER_IP },
	/* S844 and S843: the reputation throttle's other codes */
	{ "451 4.7.650 The mail server [203.0.113.5] has been temporarily "
	  "rate limited due to IP reputation. For e-mail delivery "
	  "information, see https://aka.ms/postmaster (S844)",
	    "microsoft-consumer", "rate_limit", "451", "4.7.650", "S844",
	    "outlook_form", SENDER_IP },
	{ "Unfortunately, some messages from 203.0.113.5 weren't sent (S843)",
	    "microsoft-consumer", "rate_limit", NULL, NULL, "S843",
	    "outlook_form", SENDER_IP },
	/* Real-world odds and ends */
	{ "host mx.example.org[192.0.2.30] said: 550 5.7.1 <bob@example.org>: "
	  "Recipient address rejected: Message rejected due to: SPF fail - "
	  "not authorized. Please see http://www.openspf.net/Why?s=mfrom "
	  "(in reply to RCPT TO command)",
	    "other", "auth", "550", "5.7.1", NULL, "fix_auth", NULL,
	    "mx.example.org", "192.0.2.30" },
	{ "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; "
	  "authentication required; Delivery restriction check failed "
	  "because the sender was not authenticated when sending to this "
	  "group",
	    "microsoft-365", "recipient", "550", "5.7.133", NULL, "none" },
	{ "smtp;550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't "
	  "sent.",
	    "microsoft-consumer", "ip_block", "550", "5.7.1", NULL,
	    "outlook_form", SENDER_IP },
	{ "b,2025-11-25 08:06:41+0000,2025-11-25 08:06:40+0000,"
	  "news@example.org,jane@hotmail.com,failed,5.7.1 (delivery not "
	  "authorized, message refused),smtp;550 5.7.1 Unfortunately, "
	  "messages from [203.0.113.5] weren't sent. (S3150),"
	  "hotmail-com.olc.protection.outlook.com (52.101.42.8),"
	  "policy-related",
	    "microsoft-consumer", "ip_block", "550", "5.7.1", "S3150",
	    "outlook_form", SENDER_IP, "hotmail-com.olc.protection.outlook.com",
	    "52.101.42.8" },
	{ "550 5.7.1 Mail from IP 203.0.113.5 was rejected due to listing in "
	  "Spamhaus PBL. For details please see "
	  "http://www.spamhaus.org/query/bl?ip=203.0.113.5",
	    "other", "other_provider", "550", "5.7.1", NULL, "none",
	    SENDER_IP },
	{ "421 Message from (203.0.113.5) temporarily deferred - 4.16.50. "
	  "Please refer to http://postmaster.yahoo.com/errors/"
	  "postmaster-21.html",
	    "yahoo", "rate_limit", "421", NULL, NULL, "wait", SENDER_IP },
	{ "553 Mail from 203.0.113.5 not allowed - 5.7.1 [BL21] Connections "
	  "will not be accepted from 203.0.113.5, because the ip is in "
	  "Spamhaus's list; see http://postmaster.yahoo.com/errors/"
	  "550-bl21.html",
	    "yahoo", "other_provider", "553", "5.7.1", "BL21", "none",
	    SENDER_IP },
	{ "553 5.3.0 flpd575 DNSBL:RBL 521< 203.0.113.5 >_is_blocked.For "
	  "assistance forward this email to abuse_rbl@abuse-att.net",
	    "other", "ip_block", "553", "5.3.0", NULL, "none" },
	{ "550-5.7.1 [203.0.113.5] Messages missing a valid messageId header "
	  "are not accepted. a1si2 - gsmtp",
	    "google", "content", "550", "5.7.1", NULL, "fix_content",
	    SENDER_IP },
	{ "550-5.7.1 This message does not have authentication information or "
	  "fails to pass authentication checks (SPF or DKIM). To best protect "
	  "our users from spam, the message has been blocked. a1si2 - gsmtp",
	    "google", "auth", "550", "5.7.1", NULL, "fix_auth" },
	{ "451 4.7.1 Greylisting in action, please come back later", "other",
	    "rate_limit", "451", "4.7.1", NULL, "wait" },
	{ "450 4.7.25 Client host rejected: cannot find your hostname, "
	  "[203.0.113.5]",
	    "other", "auth", "450", "4.7.25", NULL, "fix_auth", SENDER_IP },
	{ "503 5.5.1 Bad sequence of commands. a1si2 - gsmtp", "google",
	    "other", "503", "5.5.1", NULL, "none" },
	/* IPv6 everywhere */
	{ "host hotmail-com.olc.protection.outlook.com[2a01:111:f403:c900::1] "
	  "said: 451 4.7.650 The mail server [2001:db8:5::1] has been "
	  "temporarily rate limited due to IP reputation. (S775) (in reply "
	  "to MAIL FROM command)",
	    "microsoft-consumer", "rate_limit", "451", "4.7.650", "S775",
	    "outlook_form", "2001:db8:5::1",
	    "hotmail-com.olc.protection.outlook.com", "2a01:111:f403:c900::1" },
};
#pragma GCC diagnostic pop

static void
test_rows(void **state)
{
	struct og_reply r;
	size_t i;

	(void)state;
	og_reply_init(&r);
	for (i = 0; i < OG_NELEM(rows); i++) {
		const struct row *w = &rows[i];
		const char *want[OG_RF_NFIELDS] = { w->provider, w->class,
			w->smtp_code, w->enhanced_code, w->provider_code,
			w->remedy, w->ip, w->mx_host, w->mx_ip, w->server_tag,
			w->server_time, w->spf, w->dkim, w->dmarc };
		char what[32];

		(void)snprintf(what, sizeof(what), "row %zu", i);
		og_classify(shipped, &r, w->input, strlen(w->input));
		check_fields(what, w->input, &r, want);
	}
	og_reply_release(&r);
}

static void
test_shipped_basics(void **state)
{
	struct og_strbuf err;
	struct og_classifier *cl;
	struct og_reply r;

	(void)state;
	assert_true(og_classifier_rules(shipped) > 50);
	og_strbuf_init(&err, 0);
	cl = og_classifier_load("/nonexistent/og-replies.rules", &err);
	assert_null(cl);
	assert_non_null(strstr(og_strbuf_str(&err),
	    "/nonexistent/og-replies.rules: cannot open: "));
	og_strbuf_release(&err);
	og_reply_init(&r);
	og_classify(shipped, &r, "", 0);
	expect("empty", "", &r, "provider=unknown");
	og_classify(shipped, &r, "550 5.7.1 x", 11);
	assert_true(og_reply_is(&r, OG_RF_SMTP_CODE, "550"));
	assert_false(og_reply_is(&r, OG_RF_SMTP_CODE, "55"));
	assert_false(og_reply_is(&r, OG_RF_IP, "550"));
	og_reply_release(&r);
	assert_string_equal(og_reply_field_name(OG_RF_MX_HOST), "mx_host");
	assert_string_equal(og_reply_field_name(OG_RF_NFIELDS), "?");
}

/* ---- the engine, with inline rules ---- */

static void
test_first_match(void **state)
{
	static const char rules[] = "# field-wise first match\n"
	                            "rule a\n"
	                            "\tif text ~ /alpha/\n"
	                            "\tset class = ip_block\n"
	                            "rule b\n"
	                            "\tif text ~ /alpha|beta/\n"
	                            "\tset class = rate_limit\n"
	                            "\tset remedy = wait\n"
	                            "rule c\n"
	                            "\tset provider = other\n";

	(void)state;
	classify_with(
	    rules, "alpha", "class=ip_block remedy=wait provider=other");
	classify_with(
	    rules, "beta", "class=rate_limit remedy=wait provider=other");
	classify_with(rules, "gamma", "provider=other");
	classify_with(rules, "ALPHA",
	    "class=ip_block remedy=wait "
	    "provider=other");
}

static void
test_named_groups(void **state)
{
	static const char rules[] =
	    "rule g\n"
	    "\tif text ~ /code (?<smtp_code>\\d+) from "
	    "(?<ip>\\S+)(?: tag (?<server_tag>\\w+))?/\n"
	    "rule both\n"
	    "\tif text ~ /(?<provider_code>X\\d+)/\n"
	    "\tif text ~ /(?<enhanced_code>5\\.\\d\\.\\d)/\n"
	    "rule dup\n"
	    "\tif text ~ /one=(?<mx_host>\\w+)|two=(?<mx_host>\\w+)/\n"
	    "rule late\n"
	    "\tif text ~ /late=(?<smtp_code>\\d+)/\n"
	    "rule case\n"
	    "\tif text ~ /(?<dkim>KEEP)/c\n";

	(void)state;
	classify_with(
	    rules, "code 550 from 192.0.2.1", "smtp_code=550 ip=192.0.2.1");
	classify_with(rules, "code 550 from 192.0.2.1 tag abc X12 5.7.1",
	    "smtp_code=550 ip=192.0.2.1 server_tag=abc provider_code=X12 "
	    "enhanced_code=5.7.1");
	/* one condition fails: the other's groups set nothing */
	classify_with(rules, "X12 only", "");
	classify_with(rules, "two=mx2", "mx_host=mx2");
	/* a value that is no reply code is no value: a later rule sets it */
	classify_with(rules, "code 999 from 192.0.2.1 late=421",
	    "smtp_code=421 ip=192.0.2.1");
	classify_with(rules, "keep", "");
	classify_with(rules, "KEEP", "dkim=keep");
}

static void
test_values(void **state)
{
	static const char rules[] = "rule code\n"
	                            "\tif text ~ /(?<smtp_code>[245]\\d\\d)/\n"
	                            "rule eq\n"
	                            "\tif smtp_code = 421 | 450\n"
	                            "\tset class = rate_limit\n"
	                            "rule ne\n"
	                            "\tif smtp_code != 421|450\n"
	                            "\tset class = ip_block\n"
	                            "rule null-eq\n"
	                            "\tif mx_host = example.net\n"
	                            "\tset remedy = wait\n"
	                            "rule null-ne\n"
	                            "\tif mx_host != example.net\n"
	                            "\tset remedy = none\n"
	                            "rule two-conditions\n"
	                            "\tif class = ip_block\n"
	                            "\tif smtp_code = 550\n"
	                            "\tset provider = other\n";

	(void)state;
	classify_with(rules, "421",
	    "smtp_code=421 class=rate_limit "
	    "remedy=none");
	classify_with(rules, "450",
	    "smtp_code=450 class=rate_limit "
	    "remedy=none");
	classify_with(rules, "550",
	    "smtp_code=550 class=ip_block "
	    "remedy=none provider=other");
	classify_with(rules, "554",
	    "smtp_code=554 class=ip_block "
	    "remedy=none");
	/* null fields: = never holds, != always does */
	classify_with(rules, "no code", "class=ip_block remedy=none");
}

static void
test_nomatch(void **state)
{
	static const char rules[] = "rule r\n"
	                            "\tif text ~ /blocked/\n"
	                            "\tif text !~ /spamhaus/\n"
	                            "\tset class = ip_block\n"
	                            "rule n\n"
	                            "\tif mx_host !~ /./\n"
	                            "\tset remedy = none\n"
	                            "rule m\n"
	                            "\tif mx_host ~ /./\n"
	                            "\tset remedy = wait\n"
	                            "rule on-field\n"
	                            "\tif class ~ /^ip_/\n"
	                            "\tif class !~ /rate/\n"
	                            "\tset provider = other\n";

	(void)state;
	/* a null field never matches: !~ holds, ~ does not */
	classify_with(rules, "blocked",
	    "class=ip_block remedy=none "
	    "provider=other");
	classify_with(rules, "blocked by Spamhaus", "remedy=none");
	classify_with(rules, "open", "remedy=none");
}

static void
test_set_once(void **state)
{
	static const char rules[] = "rule one\n"
	                            "\tif text ~ /x/\n"
	                            "\tset class = content\n"
	                            "rule two\n"
	                            "\tif text ~ /x/\n"
	                            "\tset class = auth\n"
	                            "\tset remedy = fix_auth\n"
	                            "rule three\n"
	                            "\tif text ~ /(?<smtp_code>\\d\\d\\d)/\n"
	                            "\tset class = ip_block\n"
	                            "rule done\n"
	                            "\tif text ~ /(?<smtp_code>\\d\\d\\d)/\n"
	                            "\tset class = other\n"
	                            "\tset remedy = none\n"
	                            "rule unconditional\n"
	                            "\tset provider = other\n"
	                            "\tset provider = unknown\n";

	(void)state;
	/* set only if unset: "two" keeps class content, gives remedy */
	classify_with(rules, "x 550",
	    "class=content remedy=fix_auth smtp_code=550 provider=other");
	/*
	 * "done" sets only fields that are set already: it is skipped,
	 * and whether it runs or not, nothing changes.
	 */
	classify_with(rules, "550",
	    "class=ip_block remedy=none smtp_code=550 provider=other");
	classify_with(rules, "", "provider=other");
}

/*
 * Each pattern is run as given (with the prefilter the analysis derives)
 * and behind "\Q\E", which the analysis does not follow (no prefilter):
 * the results must be the same for every text, with ~ and with !~.
 */
static const char *const pf_patterns[] = {
	"alpha",
	"abc|def",
	"colou?r",
	"ab{1,3}c",
	"x{2}yz",
	"a{0,2}bcd",
	"ab{2}c",
	"\\.bar\\b",
	"foo\\.?bar",
	"[Ss]pam ?haus",
	"spam\\s*haus",
	"(?:RP|SC)-\\d{3}",
	"A?S3150",
	"(S3150)?xyz",
	"(?i)Hello",
	"(?i:wor)ld",
	"(?-i)World",
	"\\x41BC",
	"\\101BC",
	"\\x{41}bc",
	"(a)\\1bc",
	"\\Qa.b\\E",
	"[[:alpha:]]+xyz",
	"[]x]yz",
	"[^]]abc",
	"[\\]]abc",
	"ab(?#comment)cd",
	"a|",
	"|abc",
	"(?=abc)abcd",
	"(?<=x)yz",
	"(?<!x)yz",
	"\\bIP\\b.{0,40}\\bblocked\\b",
	"(?x) a b c",
	"a\\ b",
	"caf\xc3\xa9",
	"\\d+\\.\\d+",
	".*",
	"^$",
	"ab+c",
	"(ab)+c",
	"(?:ab)*c",
	"(?>ab)c",
	"ab++c",
	"ab*?c",
	"x{,3}y",
	"\\p{L}bc",
	"\\cAbc",
	"\\e\\t",
	"(abc|abd)e",
	"(?|(a)|(b))c",
	"(?<ip>ab)(?&ip)",
	"(?<ip>ab)\\k<ip>",
	"\\Kabc",
	"blocked using (?!zen)",
	"a(?:b|c(?:d|e))f",
	"(?:a|b)(?:c|d)(?:e|f)(?:g|h)(?:i|j)",
	"postmaster\\.live\\.com|(?<![\\w.-])outlook\\.com\\b|hotmail",
	"\\[(?<ip>[0-9a-f:.]{3,45})\\s+\\d+\\]",
	"(?s)a.b",
	"a\\Rb",
	"\\N+x",
	"a{1}b{1,}c{0}d",
	"ABC",
};

static const char *const pf_texts[] = {
	"",
	"alpha",
	"abc",
	"def",
	"color",
	"colour",
	"colr",
	"ac",
	"abbbc",
	"abbbbc",
	"xxyz",
	"bcd",
	"aabcd",
	"foo.bar",
	"foobar",
	"foo.bars",
	"Spam haus",
	"spamhaus",
	"spam   haus",
	"RP-001",
	"sc-123",
	"S3150",
	"AS3150",
	"xyz",
	"qxyz",
	"hello",
	"HELLO",
	"world",
	"WORLD",
	"ABC",
	"AABC",
	"aabc",
	"a.b",
	"axb",
	"Abc",
	"A",
	"]yz",
	"xyz",
	"^abc",
	"]abc",
	"zabc",
	"abcd",
	"IP is blocked",
	"the ip was blocked",
	"a b c",
	"a b",
	"abc",
	"caf\xc3\xa9",
	"CAF\xc3\x89",
	"12.34",
	"abbc",
	"ababc",
	"c",
	"x{,3}y",
	"xxxy",
	"\x01"
	"bc",
	"\x1b\t",
	"abde",
	"abce",
	"bc",
	"blocked using zen",
	"blocked using foo",
	"acdf",
	"abf",
	"aceh",
	"acegi",
	"bdfhj",
	"x@outlook.com",
	"mail.outlook.com",
	"postmaster.live.com",
	"[203.0.113.5  15]",
	"a\nb",
	"a\r\nb",
	"x",
	"abbcd",
	"abccd",
	"Kabc",
	"ababab",
	"abab",
	"ABCDEF",
	"hotmail",
};

static const char *
pf_result(const struct og_classifier *cl, const char *text)
{
	static const char *const words[] = { "both", "match", "nomatch",
		"none" };
	struct og_reply r;
	int m, n;

	og_reply_init(&r);
	og_classify(cl, &r, text, strlen(text));
	m = r.v[OG_RF_CLASS] != NULL;
	n = r.v[OG_RF_REMEDY] != NULL;
	og_reply_release(&r);
	return words[m ? (n ? 0 : 1) : (n ? 2 : 3)];
}

static void
test_prefilter(void **state)
{
	struct og_strbuf a, b;
	size_t i, j, hits = 0;

	(void)state;
	og_strbuf_init(&a, 0);
	og_strbuf_init(&b, 0);
	for (i = 0; i < OG_NELEM(pf_patterns); i++) {
		struct og_classifier *ca, *cb;

		og_strbuf_reset(&a);
		og_strbuf_reset(&b);
		(void)og_strbuf_addf(&a,
		    "rule m\n\tif text ~ /%s/\n\tset class = ip_block\n"
		    "rule n\n\tif text !~ /%s/\n\tset remedy = wait\n",
		    pf_patterns[i], pf_patterns[i]);
		(void)og_strbuf_addf(&b,
		    "rule m\n\tif text ~ /\\Q\\E%s/\n\tset class = ip_block\n"
		    "rule n\n\tif text !~ /\\Q\\E%s/\n\tset remedy = wait\n",
		    pf_patterns[i], pf_patterns[i]);
		ca = parse_or_fail(og_strbuf_str(&a));
		cb = parse_or_fail(og_strbuf_str(&b));
		for (j = 0; j < OG_NELEM(pf_texts); j++) {
			const char *ra = pf_result(ca, pf_texts[j]);
			const char *rb = pf_result(cb, pf_texts[j]);

			if (strcmp(ra, rb) != 0)
				fail_msg("pattern /%s/ on \"%s\": %s with the "
				         "prefilter, %s without",
				    pf_patterns[i], pf_texts[j], ra, rb);
			hits += strcmp(ra, "match") == 0;
		}
		og_classifier_free(ca);
		og_classifier_free(cb);
	}
	og_strbuf_release(&a);
	og_strbuf_release(&b);
	assert_true(hits > OG_NELEM(pf_patterns)); /* the tests do match */
}

static void
test_load_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err; /* must appear in the messages */
	} cases[] = {
		{ "rule a\n\tif text ~ /(/\n\tset class = other\n",
		    "inline.rules:2: bad pattern at offset 1: " },
		{ "rule a\n\tif text ~ /a{2,1}/\n\tset class = other\n",
		    "inline.rules:2: bad pattern" },
		{ "rule a\n\tif foo ~ /x/\n\tset class = other\n",
		    "inline.rules:2: unknown field \"foo\"" },
		{ "rule a\n\tset foo = x\n", "inline.rules:2: unknown field" },
		{ "rule a\n\tif text ~ /(?<bogus>x)/\n\tset class = other\n",
		    "inline.rules:2: named group (?<bogus>) is not a field "
		    "name" },
		{ "rule a\n\tif text ~ /(?<text>x)/\n\tset class = other\n",
		    "inline.rules:2: named group (?<text>)" },
		{ "rule a\n\tset class = blocked\n",
		    "inline.rules:2: unknown class \"blocked\"" },
		{ "rule a\n\tif class = ip_block|blocked\n\tset remedy = "
		  "none\n",
		    "inline.rules:2: unknown class \"blocked\"" },
		{ "rule a\n\tset remedy = pray\n",
		    "inline.rules:2: unknown remedy \"pray\"" },
		{ "rule a\n\tset class ip_block\n",
		    "inline.rules:2: expected \"set FIELD = value\"" },
		{ "rule a\n\tset class =\n", "inline.rules:2: value must be" },
		{ "\n# comment\n\tif text ~ /x/\n",
		    "inline.rules:3: expected \"rule NAME\" before "
		    "conditions" },
		{ "rule a\n\tset class = other\nrule a\n\tset class = other\n",
		    "inline.rules:3: rule a already defined at line 1" },
		{ "rule a\n\tif text ~ /abc\n\tset class = other\n",
		    "inline.rules:2: pattern has no closing /" },
		{ "rule a\n\tif text ~ /a\\/b\\/\n\tset class = other\n",
		    "inline.rules:2: pattern has no closing /" },
		{ "rule a\n\tif text ~ /abc/q\n\tset class = other\n",
		    "inline.rules:2: unknown pattern flag 'q'" },
		{ "rule a\n\tif text ~ /abc/ junk\n\tset class = other\n",
		    "inline.rules:2: unexpected text after the pattern" },
		{ "rule a\n\tif text ~ abc\n\tset class = other\n",
		    "inline.rules:2: expected /pattern/ after ~" },
		{ "rule a\n\tif text ^ /abc/\n\tset class = other\n",
		    "inline.rules:2: expected ~, !~, = or !=" },
		{ "rule a\n\tif text = abc\n\tset class = other\n",
		    "inline.rules:2: compare text with ~ or !~" },
		{ "rule a\n\tif smtp_code =\n\tset class = other\n",
		    "inline.rules:2: expected a value after the operator" },
		{ "rule a\n\tset provider = Big Corp\n",
		    "inline.rules:2: a provider name is [a-z0-9-]" },
		{ "rule a\n\tif text ~ /x/\n",
		    "inline.rules:1: rule a sets no "
		    "field" },
		{ "rule\n\tset class = other\n",
		    "inline.rules:1: expected "
		    "\"rule NAME\"" },
		{ "rule a b\n\tset class = other\n",
		    "inline.rules:1: expected "
		    "\"rule NAME\"" },
		{ "rule a\n\tunless text ~ /x/\n",
		    "inline.rules:2: expected "
		    "\"if\", \"set\" or \"rule\"" },
		{ "", "inline.rules:0: no rules" },
		{ "# only comments\n\n", "inline.rules:0: no rules" },
	};
	struct og_strbuf err, many;
	struct og_classifier *cl;
	size_t i;

	(void)state;
	og_strbuf_init(&err, 0);
	for (i = 0; i < OG_NELEM(cases); i++) {
		og_strbuf_reset(&err);
		cl = og_classifier_parse(
		    "inline.rules", cases[i].text, strlen(cases[i].text), &err);
		if (cl != NULL)
			fail_msg(
			    "case %zu loads, want \"%s\"", i, cases[i].err);
		if (strstr(og_strbuf_str(&err), cases[i].err) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
			    og_strbuf_str(&err), cases[i].err);
	}
	/* a NUL byte in a line */
	og_strbuf_reset(&err);
	cl = og_classifier_parse("inline.rules",
	    "rule a\n\tset class = "
	    "other\0x\n",
	    28, &err);
	assert_null(cl);
	assert_non_null(strstr(og_strbuf_str(&err), "inline.rules:2: NUL"));
	/* every error is collected, up to a limit */
	og_strbuf_init(&many, 0);
	(void)og_strbuf_adds(&many, "rule a\n");
	for (i = 0; i < 60; i++)
		(void)og_strbuf_adds(&many, "\tset class = nonsense\n");
	og_strbuf_reset(&err);
	cl = og_classifier_parse(
	    "inline.rules", og_strbuf_str(&many), many.len, &err);
	assert_null(cl);
	assert_non_null(strstr(og_strbuf_str(&err), "inline.rules:51: "));
	assert_null(strstr(og_strbuf_str(&err), "inline.rules:52: "));
	assert_non_null(strstr(og_strbuf_str(&err), "more errors not shown"));
	og_strbuf_release(&many);
	og_strbuf_release(&err);
}

static void
test_load_file(void **state)
{
	static const char text[] = "rule a\n\tset class = other\n"
	                           "rule b\n\tif text ~ /(/\n";
	char path[64];
	struct og_strbuf err, want;
	struct og_classifier *cl;
	FILE *fp;
	int fd;

	(void)state;
	og_strlcpy(path, "/tmp/t_classify.XXXXXX", sizeof(path));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_int_equal(
	    fwrite(text, 1, sizeof(text) - 1, fp), sizeof(text) - 1);
	assert_int_equal(fclose(fp), 0);
	og_strbuf_init(&err, 0);
	og_strbuf_init(&want, 0);
	(void)og_strbuf_addf(&want, "%s:4: bad pattern", path);
	cl = og_classifier_load(path, &err);
	assert_null(cl);
	if (strstr(og_strbuf_str(&err), og_strbuf_str(&want)) == NULL)
		fail_msg("got \"%s\", want \"%s\"", og_strbuf_str(&err),
		    og_strbuf_str(&want));
	(void)unlink(path);
	og_strbuf_release(&err);
	og_strbuf_release(&want);
}

static void
test_values_checked(void **state)
{
	static const char rules[] =
	    "rule a\n\tif text ~ /ip=(?<ip>\\S*)/\n"
	    "rule b\n\tif text ~ /alt=(?<ip>\\S+)/\n"
	    "rule c\n\tif text ~ /mx=(?<mx_ip>\\S*)/\n"
	    "rule d\n\tif text ~ /code=(?<smtp_code>\\S+)/\n"
	    "rule e\n\tif text ~ /enh=(?<enhanced_code>\\S+)/\n"
	    "rule f\n\tif text ~ /spf=(?<spf>\\w+)/\n"
	    "rule g\n\tif text ~ /tag=(?<server_tag>\\S+)/\n";
	struct og_strbuf in, want;
	size_t i;

	(void)state;
	/* a redacted or impossible IP is null: a later rule may set it */
	classify_with(rules, "ip=[x.x.x.x] alt=192.0.2.7", "ip=192.0.2.7");
	classify_with(rules, "ip=[192.0.2.1]", "ip=192.0.2.1");
	classify_with(rules, "ip=999.1.1.1", "");
	classify_with(rules, "ip=192.0.2", "");
	classify_with(rules, "ip=[] mx=[]", "");
	classify_with(rules, "ip=IPv6:2001:db8::1", "ip=2001:db8::1");
	classify_with(rules, "ip=[IPv6:2001:DB8::1]", "ip=2001:DB8::1");
	classify_with(rules, "ip=[2001:db8::1] mx=::ffff:192.0.2.9",
	    "ip=2001:db8::1 mx_ip=::ffff:192.0.2.9");
	classify_with(rules, "ip=[*.*.*.*] mx=xyz", "");
	/* reply codes and enhanced codes have their shapes */
	classify_with(rules, "code=999", "");
	classify_with(rules, "code=5500", "");
	classify_with(rules, "code=550", "smtp_code=550");
	classify_with(rules, "enh=5.7.1", "enhanced_code=5.7.1");
	classify_with(rules, "enh=6.1.1", "");
	classify_with(rules, "enh=5.x.1", "");
	/* verdicts as RFC 8601 writes them */
	classify_with(rules, "spf=SoftFail", "spf=softfail");
	/* values are capped */
	og_strbuf_init(&in, 0);
	og_strbuf_init(&want, 0);
	(void)og_strbuf_adds(&in, "tag=");
	(void)og_strbuf_adds(&want, "server_tag=");
	for (i = 0; i < 1000; i++) {
		(void)og_strbuf_addc(&in, 'a' + (int)(i % 26));
		if (i < OG_REPLY_VALUE_MAX)
			(void)og_strbuf_addc(&want, 'a' + (int)(i % 26));
	}
	classify_with(rules, og_strbuf_str(&in), og_strbuf_str(&want));
	og_strbuf_release(&in);
	og_strbuf_release(&want);
}

/* The text the rules see: normalised (qmail, white space, unfolding) */
static void
test_normalize(void **state)
{
	static const char rules[] = "rule all\n"
	                            "\tif text ~ /^(?<server_tag>.*)$/\n";
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "  a \t b\r\n c  ", "a b c" },
		{ "Remote_host_said:_550_5.7.1_no_thanks",
		    "Remote host said: 550 5.7.1 no thanks" },
		{ "snake_case_name and more", "snake_case_name and more" },
		{ "a_b_c_d_e f_g", "a b c d e f_g" },
		{ "421-4.7.28 one 421-4.7.28 two 421 4.7.28 three",
		    "421-4.7.28 one two three" },
		{ "550-5.7.1 a 550-5.7.1 b 550 5.7.1", "550-5.7.1 a b" },
		{ "550-first 550-second 550 third",
		    "550-first second 550 third" },
		{ "x 550 5.7.1 a 550 5.7.1 b", "x 550 5.7.1 a 550 5.7.1 b" },
		{ "421-4.7.28 a 421-4.7.0 b 550 4.7.28 c",
		    "421-4.7.28 a 421-4.7.0 b 550 4.7.28 c" },
		{ "2025-11-25 421-4.7.0 a 421-4.7.0 b",
		    "2025-11-25 421-4.7.0 "
		    "a b" },
		{ "421-4.7.28", "421-4.7.28" },
		{ "421- 421-", "421-" },
		{ "see https:\\/\\/aka.ms\\/postmaster weren\\u0027t "
		  "\\u003cb\\u003e",
		    "see https://aka.ms/postmaster weren't <b>" },
		{ "keep \\\\/ \\u0022 \\u005c \\u0001 \\u00e9 \\u12 \\",
		    "keep \\\\/ \\u0022 \\u005c \\u0001 \\u00e9 \\u12 \\" },
	};
	struct og_classifier *cl = parse_or_fail(rules);
	struct og_reply r;
	size_t i;

	(void)state;
	og_reply_init(&r);
	for (i = 0; i < OG_NELEM(cases); i++) {
		og_classify(cl, &r, cases[i].in, strlen(cases[i].in));
		if (r.v[OG_RF_SERVER_TAG] == NULL ||
		    strcmp(r.v[OG_RF_SERVER_TAG], cases[i].out) != 0)
			fail_msg("\"%s\" reads \"%s\", want \"%s\"",
			    cases[i].in, r.v[OG_RF_SERVER_TAG], cases[i].out);
	}
	og_reply_release(&r);
	og_classifier_free(cl);
	classify_with(rules, " \t\r\n ", "");
}

static void
test_qmail(void **state)
{
	static const char line[] =
	    "@4000000067443a1d2b3c4d5e delivery 42: deferral: "
	    "52.101.42.8_does_not_like_recipient./Remote_host_said:_451_4.7."
	    "650_The_mail_server_[203.0.113.5]_has_been_temporarily_rate_"
	    "limited_due_to_IP_reputation._For_e-mail_delivery_information,_"
	    "see_https://aka.ms/postmaster_(S775)_[Name=Protocol_Filter_Agent]"
	    "[AGT=PFA][MxId=11BB9ACE4D0B6F31]/Giving_up_on_52.101.42.8./";
	struct og_reply r;

	(void)state;
	og_reply_init(&r);
	og_classify(shipped, &r, line, strlen(line));
	expect("qmail", line, &r,
	    "provider=microsoft-consumer class=rate_limit smtp_code=451 "
	    "enhanced_code=4.7.650 provider_code=S775 remedy=outlook_form "
	    "ip=203.0.113.5 mx_ip=52.101.42.8");
	og_reply_release(&r);
}

static void
test_input_cap(void **state)
{
	static const char rules[] =
	    "rule code\n"
	    "\tif text ~ /(?<smtp_code>550) 5\\.7\\.1/\n"
	    "rule end\n"
	    "\tif text ~ /(?<class>other)$/\n";
	struct og_classifier *cl = parse_or_fail(rules);
	size_t big = OG_CLASSIFY_INPUT_MAX + 4096;
	char *text = og_malloc(big);
	struct og_reply r;

	(void)state;
	og_reply_init(&r);
	/* the reply past the cap is cut off */
	memset(text, 'a', big);
	memcpy(text + big - 16, " 550 5.7.1 other", 16);
	og_classify(cl, &r, text, big);
	expect("past the cap", "(big)", &r, "");
	/* before the cap it is seen; the text is cut, not the classifier */
	memcpy(text, "550 5.7.1 ", 10);
	og_classify(cl, &r, text, big);
	expect("before the cap", "(big)", &r, "smtp_code=550");
	memcpy(text + OG_CLASSIFY_INPUT_MAX - 5, "other", 5);
	og_classify(cl, &r, text, big);
	expect("at the cap", "(big)", &r, "smtp_code=550 class=other");
	/* the shipped rules on a big hostile text */
	memset(text, '[', big);
	og_classify(shipped, &r, text, big);
	memset(text, '5', big);
	og_classify(shipped, &r, text, big);
	og_reply_release(&r);
	og_free(text);
	og_classifier_free(cl);
}

static void
test_match_limits(void **state)
{
	static const char rules[] = "rule slow\n"
	                            "\tif text ~ /^(a+)+$/\n"
	                            "\tset class = ip_block\n"
	                            "rule slow-not\n"
	                            "\tif text !~ /^(a|aa)+$/\n"
	                            "\tset remedy = wait\n"
	                            "rule after\n"
	                            "\tset provider = other\n";
	struct og_classifier *cl = parse_or_fail(rules);
	char text[4001];
	struct og_reply r;
	clock_t t0;
	int i;

	(void)state;
	og_reply_init(&r);
	memset(text, 'a', sizeof(text) - 2);
	text[sizeof(text) - 2] = 'b';
	text[sizeof(text) - 1] = '\0';
	t0 = clock();
	for (i = 0; i < 3; i++) {
		og_classify(cl, &r, text, strlen(text));
		/* a match that gives up is no match: ~ fails, !~ holds */
		expect("catastrophic", "aaa...ab", &r,
		    "remedy=wait provider=other");
	}
	if ((double)(clock() - t0) / CLOCKS_PER_SEC > 20.0)
		fail_msg("the match limits did not stop the match");
	og_classify(cl, &r, "aaaa", 4);
	expect("simple", "aaaa", &r, "class=ip_block provider=other");
	og_reply_release(&r);
	og_classifier_free(cl);
}

/* One reply struct may go from one classifier to another. */
static void
test_reuse(void **state)
{
	struct og_classifier *a =
	    parse_or_fail("rule a\n\tif text ~ /(?<smtp_code>\\d{3})/\n");
	struct og_classifier *b = parse_or_fail(
	    "rule b\n\tif text ~ /(((((((((((x)))))))))))(?<ip>\\S+)/\n");
	struct og_reply r;
	int i;

	(void)state;
	og_reply_init(&r);
	for (i = 0; i < 3; i++) {
		og_classify(a, &r, "550", 3);
		expect("a", "550", &r, "smtp_code=550");
		og_classify(b, &r, "x192.0.2.1", 10);
		expect("b", "x192.0.2.1", &r, "ip=192.0.2.1");
	}
	og_reply_release(&r);
	og_reply_release(&r);
	og_classifier_free(a);
	og_classifier_free(b);
	assert_null(og_classifier_free(NULL));
}

struct thread_arg {
	size_t first;
	int failures;
};

static void *
classify_thread(void *p)
{
	struct thread_arg *arg = p;
	struct og_reply r, ref;
	size_t i, k;
	int f;

	og_reply_init(&r);
	og_reply_init(&ref);
	for (k = 0; k < 20; k++)
		for (i = 0; i < OG_NELEM(replies); i++) {
			const char *in =
			    replies[(i + arg->first) % OG_NELEM(replies)].reply;

			og_classify(shipped, &r, in, strlen(in));
			if (k > 0)
				continue;
			og_classify(shipped, &ref, in, strlen(in));
			for (f = 0; f < OG_RF_NFIELDS; f++)
				if ((r.v[f] == NULL) != (ref.v[f] == NULL) ||
				    (r.v[f] && strcmp(r.v[f], ref.v[f]) != 0))
					arg->failures++;
		}
	og_reply_release(&r);
	og_reply_release(&ref);
	return NULL;
}

/* A loaded classifier is shared by threads, each with its own reply. */
static void
test_threads(void **state)
{
	pthread_t th[4];
	struct thread_arg args[4];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		args[i].first = i * 7;
		args[i].failures = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL, classify_thread, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_shipped_basics),
		cmocka_unit_test(test_qmail),
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_named_groups),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_nomatch),
		cmocka_unit_test(test_set_once),
		cmocka_unit_test(test_prefilter),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_values_checked),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_input_cap),
		cmocka_unit_test(test_match_limits),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

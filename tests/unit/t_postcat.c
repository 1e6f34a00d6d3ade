/*
 * t_postcat.c - unit tests for lib/postcat.c: envelope attributes,
 *	headers (folded, repeated, hostile), the PHP script header
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postcat.h"
#include "util.h"

static const char smtp[] =
    "*** ENVELOPE RECORDS deferred/4jXsQM1r0Yz1bYGt ***\n"
    "message_size:             410             174               1  "
    "             0             410               0\n"
    "message_arrival_time: Mon Nov 23 05:31:42 2026\n"
    "create_time: Mon Nov 23 05:31:42 2026\n"
    "named_attribute: rewrite_context=local\n"
    "sender_fullname: \n"
    "sender: mallory@example.net\n"
    "named_attribute: log_client_name=localhost\n"
    "named_attribute: log_client_address=127.0.0.1\n"
    "named_attribute: client_name=client.example.net\n"
    "named_attribute: client_address=192.0.2.66\n"
    "named_attribute: helo_name=client.example.net\n"
    "named_attribute: sasl_method=PLAIN\n"
    "named_attribute: sasl_username=mallory@example.net\n"
    "*** MESSAGE CONTENTS deferred/4jXsQM1r0Yz1bYGt ***\n"
    "Received: from client.example.net (localhost [127.0.0.1])\n"
    "\tby mta.example.net (Postfix) with ESMTPSA id 4jXsQM1r0Yz1bYGt\n"
    "\tfor <x@hotmail.com>; Mon, 23 Nov 2026 05:31:42 +0000 (UTC)\n"
    "From: \"Bank\" <security@bank.example>\n"
    "Subject: Verify\n"
    " your account\n"
    "Message-ID: <abc@client.example.net>\n"
    "From: second@example.org\n"
    "\n"
    "*** HEADER EXTRACTED deferred/4jXsQM1r0Yz1bYGt ***\n"
    "*** MESSAGE FILE END deferred/4jXsQM1r0Yz1bYGt ***\n";

static const char local[] =
    "*** ENVELOPE RECORDS active/1C141A74403 ***\n"
    "sender: www-data@web.example.net\n"
    "*** MESSAGE CONTENTS active/1C141A74403 ***\n"
    "Received: by mta.example.net (Postfix, from userid 1001)\n"
    "\tid 1C141A74403; Mon, 23 Nov 2026 05:31:42 +0000 (UTC)\n"
    "Received: by forged.example (Postfix, from userid 0)\n"
    "To: someone@hotmail.com\n"
    "X-PHP-Originating-Script: 33:wp-content/uploads/x.php\n"
    "From: WordPress <wordpress@web.example.net>\n"
    "\n"
    "body line From: not-a-header@example.org\n";

static void
test_smtp(void **state)
{
	struct og_postcat pc;

	(void)state;
	assert_int_equal(og_postcat_parse(smtp, strlen(smtp), &pc), 0);
	assert_string_equal(pc.sender, "mallory@example.net");
	assert_string_equal(pc.sasl_username, "mallory@example.net");
	assert_string_equal(pc.sasl_method, "PLAIN");
	assert_string_equal(pc.client_address, "192.0.2.66");
	assert_string_equal(pc.client_name, "client.example.net");
	assert_string_equal(pc.helo_name, "client.example.net");
	assert_string_equal(pc.header_from, "\"Bank\" <security@bank.example>");
	assert_string_equal(pc.subject, "Verify  your account");
	assert_string_equal(pc.message_id, "<abc@client.example.net>");
	assert_null(pc.php_script);
	assert_int_equal(pc.php_uid, -1);
	assert_int_equal(pc.local_uid, -1); /* SMTP mail: no userid */
	og_postcat_clear(&pc);
}

static void
test_local(void **state)
{
	struct og_postcat pc;

	(void)state;
	assert_int_equal(og_postcat_parse(local, strlen(local), &pc), 0);
	assert_string_equal(pc.sender, "www-data@web.example.net");
	assert_null(pc.sasl_username);
	assert_null(pc.client_address);
	assert_string_equal(pc.php_script, "33:wp-content/uploads/x.php");
	assert_int_equal(pc.php_uid, 33);
	/* Postfix's own Received: names the submitting user, not the forgery */
	assert_int_equal(pc.local_uid, 1001);
	/* the body is not parsed as headers */
	assert_string_equal(
	    pc.header_from, "WordPress <wordpress@web.example.net>");
	og_postcat_clear(&pc);
}

static void
test_hostile(void **state)
{
	static const char *const inputs[] = {
		"",
		"*** ENVELOPE RECORDS x ***\nsender:\n",
		"*** MESSAGE CONTENTS x ***\n From: folded-without-header\n",
		"*** MESSAGE CONTENTS x ***\nFrom: a\x01\x1b[31m b\r\n\n",
		"*** MESSAGE CONTENTS x ***\nX-PHP-Originating-Script: "
		"99999999999999999999:x\n",
		"named_attribute: sasl_username=outside-envelope\n",
		"*** MESSAGE CONTENTS x ***\nReceived: by h (Postfix, from "
		"userid 99999999999)\n",
		"*** MESSAGE CONTENTS x ***\nReceived: by h (Postfix, from "
		"userid 12\n",
	};
	struct og_postcat pc;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(inputs); i++) {
		assert_int_equal(
		    og_postcat_parse(inputs[i], strlen(inputs[i]), &pc), 0);
		if (i == 1)
			assert_string_equal(pc.sender, ""); /* null sender */
		if (i == 3)
			assert_string_equal(pc.header_from, "a[31m b");
		if (i == 4)
			assert_int_equal(pc.php_uid, -1);
		if (i == 5)
			assert_null(pc.sasl_username);
		if (i == 6 || i == 7) /* out of range; no ')' */
			assert_int_equal(pc.local_uid, -1);
		og_postcat_clear(&pc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

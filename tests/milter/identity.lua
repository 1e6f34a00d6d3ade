-- identity.lua - every identity rule row through the milter, with
-- Postfix's and Sendmail's macro sets. Config (run.sh): identity_action
-- = reject, unsubscribe_action = tag, sender_login_maps with alice and
-- bob, local_domains = example.com, internal_hosts 127/8 and 10/8.
dofile(srcdir .. "/lib.lua")

for _, mta in ipairs({ "postfix", "sendmail" }) do
	local c, q

	q = "ID1" .. mta
	c = send({ mta = mta, qid = q, login = "alice",
	    env = "<alice@example.com>",
	    headers = { { "From", "Alice <alice@example.com>" },
	        { "Subject", "hi" } } })
	tap(accepted(c), mta .. ": login owns envelope and From: accepted")
	tap(tagged(c, "mta.example.com; identity=pass; unsubscribe=not-bulk"),
	    mta .. ": clean message tagged identity=pass")
	tap(not mt.eom_check(c, MT_QUARANTINE), mta .. ": clean message not held")
	tap(logged(q .. ": check=identity result=pass origin=auth login=alice "
	    .. "client=203.0.113.5 envelope=<alice@example.com> "
	    .. "from=<alice@example.com>$"), mta .. ": pass logged")
	mt.disconnect(c)

	q = "ID2" .. mta
	c = send({ mta = mta, qid = q, login = "alice",
	    env = "<ceo@example.com>" })
	tap(rejected(c, "5.7.1",
	    "Sender address not allowed for this sender"),
	    mta .. ": someone else's envelope sender: 550 5.7.1")
	tap(logged(q .. ": check=identity result=fail " ..
	    "reason=envelope-not-owned origin=auth login=alice .*" ..
	    "envelope=<ceo@example.com> .*action=reject"),
	    mta .. ": envelope-not-owned logged with login and action")
	mt.disconnect(c)

	q = "ID3" .. mta
	c = send({ mta = mta, qid = q, login = "alice",
	    env = "<alice@example.com>",
	    headers = { { "From", "CEO <ceo@bank.example>" } } })
	tap(rejected(c, "5.7.1"), mta .. ": foreign From: rejected")
	tap(logged(q .. ": check=identity result=fail " ..
	    "reason=header-from-not-owned .*login=alice .*" ..
	    "envelope=<alice@example.com> from=<ceo@bank.example> action=reject"),
	    mta .. ": header-from-not-owned logged")
	mt.disconnect(c)

	q = "ID4" .. mta
	c = send({ mta = mta, qid = q, login = "ALICE",
	    env = "<alice@example.com>",
	    headers = { { "From", "news@mail.example.com" } } })
	tap(accepted(c), mta .. ": From aligned (relaxed), login case: accepted")
	mt.disconnect(c)

	q = "ID5" .. mta
	c = send({ mta = mta, qid = q, login = "alice", env = "<>",
	    headers = { { "From", "alice@example.com" } } })
	tap(accepted(c), mta .. ": null sender, own From: accepted")
	mt.disconnect(c)

	q = "ID6" .. mta
	c = send({ mta = mta, qid = q, login = "alice", env = "<>",
	    headers = { { "From", "bob@example.com" } } })
	tap(rejected(c, "5.7.1"), mta .. ": null sender, foreign From: rejected")
	tap(logged(q .. ": .*reason=header-from-not-owned"),
	    mta .. ": null sender failure logged")
	mt.disconnect(c)

	q = "ID7" .. mta
	c = send({ mta = mta, qid = q, login = "alice",
	    headers = { { "From", "alice@example.com" },
	        { "from", "ceo@bank.example" } } })
	tap(rejected(c, "5.7.1"), mta .. ": two From headers: rejected")
	tap(logged(q .. ": .*reason=from-count"), mta .. ": from-count logged")
	mt.disconnect(c)

	q = "ID8" .. mta
	c = send({ mta = mta, qid = q, login = "alice",
	    headers = { { "Subject", "no from" } } })
	tap(rejected(c, "5.7.1") and logged(q .. ": .*reason=from-count"),
	    mta .. ": no From: rejected")
	mt.disconnect(c)

	q = "ID9" .. mta
	c = send({ mta = mta, qid = q, login = "alice",
	    headers = { { "From", "alice@example.com, bob@example.com" } } })
	tap(rejected(c, "5.7.1") and logged(q .. ": .*reason=from-addresses"),
	    mta .. ": two addresses in From: rejected")
	mt.disconnect(c)

	q = "IDa" .. mta
	c = send({ mta = mta, qid = q, login = "alice",
	    headers = { { "From", "=?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?=" } } })
	tap(rejected(c, "5.7.1") and logged(q .. ": .*reason=from-syntax"),
	    mta .. ": encoded word as the From address: rejected")
	mt.disconnect(c)

	q = "IDb" .. mta
	c = send({ mta = mta, qid = q, ip = "10.1.2.3",
	    env = "<app@example.com>",
	    headers = { { "From", "App <app@example.com>" } } })
	tap(accepted(c) and logged(q .. ": check=identity result=pass " ..
	    "origin=internal"), mta .. ": internal host, local domain: accepted")
	mt.disconnect(c)

	q = "IDc" .. mta
	c = send({ mta = mta, qid = q, ip = "10.1.2.3",
	    env = "<app@example.com>",
	    headers = { { "From", "PayPal <service@paypal.example>" } } })
	tap(rejected(c, "5.7.1") and logged(q .. ": check=identity " ..
	    "result=fail reason=header-from-not-local-domain origin=internal"),
	    mta .. ": internal host, foreign From: rejected")
	mt.disconnect(c)

	q = "IDd" .. mta
	c = send({ mta = mta, qid = q, ip = "10.1.2.3",
	    env = "<app@bank.example>",
	    headers = { { "From", "app@example.com" } } })
	tap(rejected(c, "5.7.1") and logged(q .. ": .*" ..
	    "reason=envelope-not-local-domain"),
	    mta .. ": internal host, foreign envelope: rejected")
	mt.disconnect(c)

	q = "IDe" .. mta
	c = send({ mta = mta, qid = q, ip = "unspec",
	    env = "<www-data@example.com>",
	    headers = { { "From", "ceo@bank.example" } } })
	tap(rejected(c, "5.7.1") and logged(q .. ": .*reason=" ..
	    "header-from-not-local-domain origin=local"),
	    mta .. ": local submission, foreign From: rejected")
	mt.disconnect(c)

	q = "IDf" .. mta
	c = send({ mta = mta, qid = q, ip = "unspec",
	    env = "<outguard@mta.example.com>",
	    headers = { { "From", "outguard <outguard@mta.example.com>" },
	        { "X-Outguard-Result", "forged" } } })
	tap(accepted(c) and not tagged(c) and
	    not mt.eom_check(c, MT_QUARANTINE),
	    mta .. ": outguard's own notification: accepted, not tagged")
	tap(logged(q .. ": check=identity result=exempt " ..
	    "reason=outguard-notification"), mta .. ": exemption logged")
	mt.disconnect(c)

	q = "IDg" .. mta
	c = send({ mta = mta, qid = q, ip = "198.51.100.7",
	    env = "<ceo@bank.example>",
	    headers = { { "From", "ceo@bank.example" },
	        { "X-Outguard-Result", "mta.example.com; identity=pass" },
	        { "Subject", "x" },
	        { "x-outguard-result", "second copy" } } })
	tap(accepted(c), mta .. ": inbound mail from outside: accepted")
	tap(mt.eom_check(c, MT_HDRDELETE, "X-Outguard-Result"),
	    mta .. ": forged X-Outguard-Result removed")
	tap(tagged(c, "mta.example.com; identity=skip (inbound); " ..
	    "unsubscribe=not-bulk"), mta .. ": inbound tagged identity=skip")
	mt.disconnect(c)
end

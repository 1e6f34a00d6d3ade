-- lib.lua - helpers shared by the outguard-milter miltertest scripts
--
-- run.sh defines the globals sock (the milter's socket), srcdir (this
-- directory), pidfile and tmp with miltertest -D. Each script prints one
-- TAP line per assertion without numbers ("ok - ..." / "not ok - ...");
-- run.sh numbers them and prints the plan.
--
-- send(m) plays one SMTP transaction and returns the connection after
-- end-of-message. m fields (all optional):
--   mta     "postfix" (default) or "sendmail": which macro set is sent
--   ip      client address ("unspec": no address, a local submission)
--   login   {auth_authen}
--   env     MAIL FROM argument (default "<alice@example.com>")
--   rcpts   list of recipients, or nrcpt (a count)
--   headers list of {name, value}; default one From equal to the sender
--   body    body text
--   qid     the queue id macro i
--   conn    an open connection to reuse (a second message)

function tap(ok, desc)
	if ok then
		print("ok - " .. desc)
	else
		print("not ok - " .. desc)
	end
end

function connect(m)
	m = m or {}
	local conn = mt.connect(sock, 40, 0.05)
	if conn == nil then
		error("cannot connect to " .. sock)
	end
	local ip = m.ip or "203.0.113.5"
	if (m.mta or "postfix") == "postfix" then
		mt.macro(conn, SMFIC_CONNECT, "j", "mta.example.com",
		    "{daemon_name}", "ORIGINATING", "{daemon_addr}", "127.0.0.1",
		    "v", "Postfix 3.7.11", "_", "client.example [" .. ip .. "]")
	else
		mt.macro(conn, SMFIC_CONNECT, "j", "mta.example.com",
		    "_", "client.example [" .. ip .. "]", "{daemon_name}", "MTA",
		    "{if_name}", "mta.example.com", "{if_addr}", "127.0.0.1")
	end
	if mt.conninfo(conn, "client.example", ip) ~= nil then
		error("mt.conninfo failed")
	end
	return conn
end

function send(m)
	local conn = m.conn or connect(m)
	local env = m.env or "<alice@example.com>"
	local qid = m.qid or "4Q1TST"
	local mail = {}
	if (m.mta or "postfix") == "postfix" then
		-- Postfix: no i at MAIL over SMTP; i from the second RCPT on
		mail = { "{mail_addr}", env, "{mail_mailer}", "smtp" }
	else
		-- Sendmail: i and the auth macros at MAIL (confMILTER_MACROS_ENVFROM)
		mail = { "i", qid, "{mail_addr}", env, "{mail_mailer}", "esmtp" }
	end
	if m.login ~= nil then
		table.insert(mail, "{auth_type}")
		table.insert(mail, "PLAIN")
		table.insert(mail, "{auth_authen}")
		table.insert(mail, m.login)
	end
	mt.macro(conn, SMFIC_MAIL, (table.unpack or unpack)(mail))
	if mt.mailfrom(conn, env) ~= nil then
		error("mt.mailfrom failed")
	end
	local rcpts = m.rcpts or { "<bob@example.net>" }
	if m.nrcpt ~= nil then
		rcpts = {}
		for n = 1, m.nrcpt do
			rcpts[n] = "<r" .. n .. "@example.net>"
		end
	end
	for _, r in ipairs(rcpts) do
		mt.macro(conn, SMFIC_RCPT, "i", qid, "{rcpt_addr}", r)
		if mt.rcptto(conn, r) ~= nil then
			error("mt.rcptto failed")
		end
	end
	local headers = m.headers or { { "From", env } }
	for _, h in ipairs(headers) do
		if mt.header(conn, h[1], h[2]) ~= nil then
			error("mt.header failed")
		end
	end
	if mt.eoh(conn) ~= nil then
		error("mt.eoh failed")
	end
	if mt.bodystring(conn, m.body or "Hello.\r\n") ~= nil then
		error("mt.bodystring failed")
	end
	if mt.eom(conn) ~= nil then
		error("mt.eom failed")
	end
	return conn
end

-- accepted(conn) - end-of-message let the message through
function accepted(conn)
	local r = mt.getreply(conn)
	return r == SMFIR_CONTINUE or r == SMFIR_ACCEPT
end

-- rejected(conn, xcode, text) - a 550 with this enhanced code and text
-- (default: identity_reject_text's). miltertest 1.0 matches a reply
-- only when all three parts are given.
IDTEXT = "Sender address not allowed for this sender"
function rejected(conn, xcode, text)
	return mt.getreply(conn) == SMFIR_REPLYCODE and
	    mt.eom_check(conn, MT_SMTPREPLY, "550", xcode, text or IDTEXT)
end

function tagged(conn, value)
	if value == nil then
		return mt.eom_check(conn, MT_HDRADD, "X-Outguard-Result")
	end
	return mt.eom_check(conn, MT_HDRADD, "X-Outguard-Result", value)
end

-- sh(cmd) - run a shell command; true when it exits 0
function sh(cmd)
	local ok, how, code = os.execute(cmd)
	if type(ok) == "number" then
		return ok == 0
	end
	return ok == true
end

-- logged(pattern) - the milter's log (run.sh's $tmp/milter.log) has a
-- line matching the grep -E pattern; waits up to 2 s for it
function logged(pattern)
	return sh("for i in $(seq 40); do grep -qE '" .. pattern .. "' " ..
	    tmp .. "/milter.log && exit 0; sleep 0.05; done; exit 1")
end

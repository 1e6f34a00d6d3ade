-- actions.lua - what a failed identity check does, per identity_action
-- and the dry-run switches; run.sh reloads the milter (SIGHUP) with each
-- variant and passes its name as the global expect
dofile(srcdir .. "/lib.lua")

local q = "AC" .. expect
local c = send({ qid = q, login = "alice",
    headers = { { "From", "ceo@bank.example" } } })
local held = mt.eom_check(c, MT_QUARANTINE)
local tag = tagged(c)

if expect == "quarantine" then
	tap(accepted(c) and held, "quarantine: accepted and held")
	tap(tagged(c, "mta.example.com; identity=fail (header-from-not-owned); " ..
	    "unsubscribe=not-bulk"), "quarantine: tagged with the reason")
	tap(logged(q .. ": .*reason=header-from-not-owned .*action=quarantine"),
	    "quarantine: logged")
elseif expect == "tempfail" then
	tap(mt.getreply(c) == SMFIR_REPLYCODE and
	    mt.eom_check(c, MT_SMTPREPLY, "451", "4.7.1", IDTEXT),
	    "tempfail: 451 4.7.1")
	tap(not held and not tag, "tempfail: no hold, no tag")
elseif expect == "tag" then
	tap(accepted(c) and not held, "tag: accepted, not held")
	tap(tagged(c, "mta.example.com; identity=fail (header-from-not-owned); " ..
	    "unsubscribe=not-bulk"), "tag: the header names the failure")
	tap(logged(q .. ": .*result=fail .*action=tag"), "tag: logged")
elseif expect == "dry" then
	tap(accepted(c) and not held and not tag, "dry: accepted untouched")
	tap(logged(q .. ": .*result=fail reason=header-from-not-owned .*" ..
	    "action=would-reject"), "dry: would-reject logged")
elseif expect == "iddry" then
	-- unsubscribe_action = tag is not a dry run: the tag stays
	tap(accepted(c) and not held, "iddry: accepted, not held")
	tap(tagged(c, "mta.example.com; identity=fail (header-from-not-owned); " ..
	    "unsubscribe=not-bulk"), "iddry: the unsubscribe check still tags")
	tap(logged(q .. ": .*result=fail reason=header-from-not-owned .*" ..
	    "action=would-reject"), expect .. ": would-reject logged")
elseif expect == "text" then
	tap(rejected(c, "5.7.0", "Not yours 100%%"),
	    "reject text: enhanced code split off, % kept")
elseif expect == "off" or expect == "alloff" then
	-- identity_action = off: the check does not run, nothing logged;
	-- alloff: the unsubscribe check is off too, so no tag at all
	local nolog = function(qid, check)
		return not sh("grep -qE '" .. qid .. ": check=" .. check .. " ' " ..
		    tmp .. "/milter.log")
	end
	tap(accepted(c) and not held, expect .. ": the spoof goes through")
	tap(nolog(q, "identity"), expect .. ": no identity line logged")
	local q2 = "AB" .. expect
	local b = send({ qid = q2, login = "alice", nrcpt = 20 })
	tap(accepted(b), expect .. ": bulk mail without unsubscribe accepted")
	if expect == "off" then
		tap(tagged(c, "mta.example.com; unsubscribe=not-bulk"),
		    "off: the tag has no identity part")
		tap(tagged(b, "mta.example.com; unsubscribe=fail " ..
		    "(no-list-unsubscribe)"), "off: the unsubscribe check still runs")
		tap(logged(q2 .. ": check=unsubscribe result=fail"),
		    "off: its line logged")
	else
		tap(not tag and not tagged(b), "alloff: no tag on either message")
		tap(nolog(q2, "unsubscribe"), "alloff: no unsubscribe line logged")
	end
	mt.disconnect(b)
elseif expect == "pinned" then
	-- a connection opened before a reload keeps the old rules
	local old = connect({})
	sh("cp " .. tmp .. "/quarantine.conf " .. tmp .. "/milter.conf && " ..
	    "n=$(grep -c 'reload: configuration' " .. tmp .. "/milter.log); " ..
	    "kill -HUP $(cat " .. pidfile .. ") && for i in $(seq 100); do " ..
	    "[ $(grep -c 'reload: configuration' " .. tmp .. "/milter.log) " ..
	    "-gt $n ] && break; sleep 0.05; done")
	old = send({ conn = old, qid = "PIN1", login = "alice",
	    headers = { { "From", "ceo@bank.example" } } })
	tap(rejected(old, "5.7.1"), "pinned: old connection keeps reject")
	local new = send({ qid = "PIN2", login = "alice",
	    headers = { { "From", "ceo@bank.example" } } })
	tap(accepted(new) and mt.eom_check(new, MT_QUARANTINE),
	    "pinned: new connection gets quarantine")
	old = send({ conn = old, qid = "PIN3", login = "alice",
	    headers = { { "From", "ceo@bank.example" } } })
	tap(rejected(old, "5.7.1"), "pinned: old connection's next message too")
	mt.disconnect(old)
	mt.disconnect(new)
end
mt.disconnect(c)

-- robust.lua - probes, aborts, several messages per connection, and
-- hostile input: a 1 MB header block, 10,000 recipients, odd bytes
dofile(srcdir .. "/lib.lua")

-- a connect-and-close probe, and a connection closed after MAIL
local c = mt.connect(sock, 40, 0.05)
mt.disconnect(c, false)
c = connect({})
mt.macro(c, SMFIC_MAIL, "{auth_authen}", "alice")
mt.mailfrom(c, "<alice@example.com>")
mt.disconnect(c, false)
c = send({ login = "alice" })
tap(accepted(c), "after a probe and a dropped connection: still serving")
mt.disconnect(c)

-- an aborted message leaves nothing behind for the next one
c = connect({})
mt.macro(c, SMFIC_MAIL, "{auth_authen}", "alice")
mt.mailfrom(c, "<alice@example.com>")
mt.rcptto(c, "<bob@example.net>")
mt.header(c, "From", "alice@example.com")
mt.header(c, "From", "extra@example.com")
mt.abort(c)
c = send({ conn = c, qid = "RB1", login = "alice" })
tap(accepted(c), "after abort: the next message starts clean")
c = send({ conn = c, qid = "RB2", login = "alice",
    env = "<ceo@example.com>" })
tap(rejected(c, "5.7.1"), "second message on one connection: decided")
c = send({ conn = c, qid = "RB3", login = "alice" })
tap(accepted(c), "third message on one connection: decided afresh")
mt.disconnect(c)

-- 1 MB of headers: bounded, and the From count still counts
local hdrs = { { "From", "alice@example.com" } }
local filler = string.rep("x", 1000)
for n = 1, 1100 do
	hdrs[#hdrs + 1] = { "X-Filler-" .. n, filler }
end
hdrs[#hdrs + 1] = { "From", "ceo@bank.example" }
c = send({ qid = "RB4", login = "alice", headers = hdrs })
tap(rejected(c, "5.7.1") and logged("RB4: .*reason=from-count"),
    "1 MB header block with a late second From: from-count")
mt.disconnect(c)

-- 10,000 recipients: bulk by count, so the unsubscribe check runs
c = send({ qid = "RB5", login = "alice", nrcpt = 10000 })
tap(accepted(c) and tagged(c, "mta.example.com; identity=pass; " ..
    "unsubscribe=fail (no-list-unsubscribe)"),
    "10,000 recipients: bulk, unsubscribe fails, tagged")
tap(logged("RB5: check=unsubscribe result=fail .*recipients=10000"),
    "10,000 recipients: counted and logged")
mt.disconnect(c)

-- control bytes and an overlong From
c = send({ qid = "RB6", login = "alice",
    headers = { { "From", "alice\1@example.com" } } })
tap(rejected(c, "5.7.1") and logged("RB6: .*reason=from-syntax"),
    "control byte in From: from-syntax")
mt.disconnect(c)
c = send({ qid = "RB7", login = "alice",
    headers = { { "From", string.rep("a", 900) .. "@example.com" } } })
tap(rejected(c, "5.7.1") and logged("RB7: .*reason=from-syntax"),
    "900-byte local part in From (miltertest overflows past ~1 kB): from-syntax")
mt.disconnect(c)
c = send({ qid = "RB8", login = "al\"ice \\ x", env = "<bad path" })
tap(rejected(c, "5.7.1") and
    logged('RB8: .*reason=envelope-syntax .*login="al\\\\"ice'),
    "malformed envelope: envelope-syntax, login escaped in the log")
mt.disconnect(c)

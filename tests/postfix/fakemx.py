#!/usr/bin/env python3
"""fakemx.py - a scriptable SMTP server for outguard's Postfix test rig.

DESCRIPTION: one instance plays either the fake Outlook.com MX (answers a
    configured block reply) or the accepting sink.  It speaks just enough
    ESMTP for Postfix's smtp(8) client and for swaks: EHLO/HELO (multiline
    EHLO reply), MAIL, RCPT, DATA (dot-stuffing undone), RSET, NOOP, VRFY,
    HELP, QUIT, with PIPELINING.  No TLS, no AUTH, no BDAT.

    The mode file is re-read at every new connection and at every MAIL
    command, so a test can switch behaviour at run time (a cached Postfix
    connection then still sees the new mode from its next transaction on):

        accept
        reply STAGE CODE TEXT     STAGE = CONNECT|HELO|MAIL|RCPT|DATA|DOT

    e.g. "reply MAIL 550 5.7.1 Unfortunately, ... (S3150) ...".  A 421 reply
    closes the connection after it is sent, as real servers do.  A missing
    mode file means --default-mode; a malformed one is answered with
    "421 4.3.0" at CONNECT and logged as an "error" record.

    --record FILE gets one JSON object per line: one per SMTP transaction
    that ended in a stored message ("event": "accepted") and one per command
    refused because of the mode ("event": "refused"), with time, server,
    peer, helo, stage, mail_from, rcpts, reply and, for accepted mail,
    message (the path of the stored .eml) and size.

    --store DIR receives each accepted message, exactly as received after
    dot-unstuffing (CRLF line ends kept), one file per message, written to a
    temporary name and renamed to *.eml so readers never see a partial file.
    Names sort in arrival order.

LIMITS: command lines over 2048 octets get "500 5.5.2"; a message over
    --max-size octets or with a text line over 8192 octets is read to the
    end and refused with "552 5.3.4" / "500 5.5.2"; a connection idle for
    --timeout seconds is closed with "421 4.4.2".

DIAGNOSTICS: writes its pid to --pid-file once it listens (the readiness
    signal), removes it and exits 0 on SIGTERM or SIGINT.  Start-up errors
    go to stderr with exit status 1.  Standard library only.
"""

import argparse
import asyncio
import datetime
import json
import os
import re
import signal
import sys

CMD_LINE_MAX = 2048
TEXT_LINE_MAX = 8192
STAGES = ("CONNECT", "HELO", "MAIL", "RCPT", "DATA", "DOT")
MODE_RE = re.compile(r"^reply\s+(CONNECT|HELO|MAIL|RCPT|DATA|DOT)\s+"
                     r"([2-5][0-9][0-9])(?:\s+(.*))?$")


class LineTooLong(Exception):
    """A line exceeded its cap; the excess was consumed up to its newline."""


class ClientGone(Exception):
    """The peer closed the connection or went idle for too long."""


def now_iso():
    """UTC time with milliseconds, like Microsoft's server tags."""
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_mode(text):
    """Return (stage, reply) for a "reply" mode, (None, None) for "accept".

    Raises ValueError for anything else.
    """
    line = text.strip()
    if line == "accept":
        return None, None
    m = MODE_RE.match(line)
    if not m:
        raise ValueError("bad mode: %r" % line[:200])
    code = m.group(2)
    rest = m.group(3) or ""
    reply = code + (" " + rest if rest else "")
    return m.group(1), reply


def decode(raw):
    return raw.decode("utf-8", errors="replace")


def angle_addr(arg):
    """Extract the address from 'FROM:<a@b> PARAMS' / 'TO:<a@b>'."""
    m = re.match(r"^\s*(?:FROM|TO)\s*:\s*(<[^>]*>|\S*)", arg, re.I)
    if not m:
        return None
    addr = m.group(1)
    if addr.startswith("<") and addr.endswith(">"):
        addr = addr[1:-1]
    return addr


class Server:
    def __init__(self, opts):
        self.opts = opts
        self.seq = 0

    # -- files ---------------------------------------------------------

    def read_mode(self):
        """Return (stage, reply, error)."""
        try:
            with open(self.opts.mode_file, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            text = self.opts.default_mode
        except OSError as e:
            return None, None, "cannot read mode file: %s" % e
        # The first non-empty, non-comment line is the mode.
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                text = line
                break
        try:
            stage, reply = parse_mode(text)
        except ValueError as e:
            return None, None, str(e)
        return stage, reply, None

    def record(self, obj):
        if not self.opts.record:
            return
        line = json.dumps(obj, ensure_ascii=True, sort_keys=True) + "\n"
        # One write() per record on an O_APPEND file: readers never see
        # half a line from us.
        fd = os.open(self.opts.record,
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)

    def store(self, data):
        self.seq += 1
        stamp = datetime.datetime.now(datetime.timezone.utc)
        name = "%s-%d-%06d" % (stamp.strftime("%Y%m%dT%H%M%S.%f"),
                               os.getpid(), self.seq)
        tmp = os.path.join(self.opts.store, "." + name + ".tmp")
        final = os.path.join(self.opts.store, name + ".eml")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, final)
        return final

    # -- protocol --------------------------------------------------------

    async def handle(self, reader, writer):
        peer = writer.get_extra_info("peername")
        sess = Session(self, reader, writer,
                       "%s:%s" % (peer[0], peer[1]) if peer else "?")
        try:
            await sess.run()
        except (ClientGone, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


class Session:
    def __init__(self, server, reader, writer, peer):
        self.srv = server
        self.opts = server.opts
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.helo = None
        self.stage = None
        self.reply = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts = []

    def refresh_mode(self):
        stage, reply, err = self.srv.read_mode()
        if err:
            print("fakemx[%s]: %s" % (self.opts.name, err), file=sys.stderr)
            return err
        self.stage, self.reply = stage, reply
        return None

    async def send(self, line):
        self.writer.write(line.encode("utf-8", errors="replace") + b"\r\n")
        await self.writer.drain()

    async def read_line(self, cap):
        """Read one line of at most cap octets (CRLF included)."""
        too_long = False
        while True:
            try:
                line = await asyncio.wait_for(
                    self.reader.readuntil(b"\n"), self.opts.timeout)
            except asyncio.TimeoutError:
                await self.send("421 4.4.2 %s Error: timeout exceeded"
                                % self.opts.name)
                raise ClientGone()
            except asyncio.LimitOverrunError as e:
                # Drop what we have and keep looking for the newline.
                await self.reader.readexactly(max(e.consumed, 1))
                too_long = True
                continue
            except asyncio.IncompleteReadError:
                raise ClientGone()
            if too_long or len(line) > cap:
                raise LineTooLong()
            return line

    def base_record(self, event, stage):
        return {
            "time": now_iso(),
            "server": self.opts.name,
            "event": event,
            "stage": stage,
            "peer": self.peer,
            "helo": self.helo,
            "mail_from": self.mail_from,
            "rcpts": list(self.rcpts),
        }

    async def refuse(self, stage, command, extra=None):
        """Send the configured reply for stage; True if the session ends."""
        rec = self.base_record("refused", stage)
        rec["command"] = command[:512]
        rec["reply"] = self.reply
        if extra:
            rec.update(extra)
        self.srv.record(rec)
        await self.send(self.reply)
        return self.reply.startswith("421")

    async def run(self):
        err = self.refresh_mode()
        if err:
            rec = self.base_record("error", "CONNECT")
            rec["reply"] = ("421 4.3.0 %s fakemx: bad mode file"
                            % self.opts.name)
            rec["error"] = err
            self.srv.record(rec)
            await self.send(rec["reply"])
            return
        greeted = True
        if self.stage == "CONNECT":
            if await self.refuse("CONNECT", ""):
                return
            greeted = False
        else:
            await self.send("220 %s ESMTP fakemx" % self.opts.name)

        while True:
            try:
                raw = await self.read_line(CMD_LINE_MAX)
            except LineTooLong:
                await self.send("500 5.5.2 Error: line too long")
                continue
            line = decode(raw).rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                await self.send("221 2.0.0 Bye")
                return
            if not greeted:
                await self.send("503 5.5.1 Error: no valid greeting")
                continue
            if await self.command(verb, arg, line):
                return

    async def command(self, verb, arg, line):
        """Handle one command; True when the session must end."""
        if verb in ("EHLO", "HELO"):
            self.reset()
            if self.stage == "HELO":
                return await self.refuse("HELO", line)
            self.helo = arg.strip() or None
            if verb == "HELO":
                await self.send("250 %s" % self.opts.name)
            else:
                lines = [self.opts.name, "PIPELINING",
                         "SIZE %d" % self.opts.max_size, "8BITMIME",
                         "ENHANCEDSTATUSCODES", "SMTPUTF8"]
                for text in lines[:-1]:
                    await self.send("250-" + text)
                await self.send("250 " + lines[-1])
            return False
        if verb in ("RSET", "NOOP"):
            if verb == "RSET":
                self.reset()
            await self.send("250 2.0.0 Ok")
            return False
        if verb == "VRFY":
            await self.send("252 2.0.0 Send some mail, I'll try my best")
            return False
        if verb == "HELP":
            await self.send("214 2.0.0 fakemx: EHLO HELO MAIL RCPT DATA "
                            "RSET NOOP VRFY QUIT")
            return False
        if verb == "MAIL":
            return await self.cmd_mail(arg, line)
        if verb == "RCPT":
            return await self.cmd_rcpt(arg, line)
        if verb == "DATA":
            return await self.cmd_data(line)
        await self.send("500 5.5.2 Error: command not recognized")
        return False

    async def cmd_mail(self, arg, line):
        if self.helo is None:
            await self.send("503 5.5.1 Error: send HELO/EHLO first")
            return False
        if self.mail_from is not None:
            await self.send("503 5.5.1 Error: nested MAIL command")
            return False
        addr = angle_addr(arg)
        if addr is None:
            await self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
            return False
        # Pick up a mode switch for connections Postfix keeps cached.
        self.refresh_mode()
        if self.stage == "MAIL":
            return await self.refuse("MAIL", line, {"mail_from": addr})
        self.mail_from = addr
        await self.send("250 2.1.0 Ok")
        return False

    async def cmd_rcpt(self, arg, line):
        if self.mail_from is None:
            await self.send("503 5.5.1 Error: need MAIL command")
            return False
        addr = angle_addr(arg)
        if not addr:
            await self.send("501 5.5.4 Syntax: RCPT TO:<address>")
            return False
        if self.stage == "RCPT":
            return await self.refuse("RCPT", line, {"rcpt": addr})
        self.rcpts.append(addr)
        await self.send("250 2.1.5 Ok")
        return False

    async def cmd_data(self, line):
        if self.mail_from is None:
            await self.send("503 5.5.1 Error: need MAIL command")
            return False
        if not self.rcpts:
            await self.send("554 5.5.1 Error: no valid recipients")
            return False
        if self.stage == "DATA":
            ended = await self.refuse("DATA", line)
            self.reset()
            return ended
        await self.send("354 End data with <CR><LF>.<CR><LF>")
        data, problem = await self.read_data()
        if problem:
            rec = self.base_record("refused", "DOT")
            rec["reply"] = problem
            rec["size"] = len(data)
            self.srv.record(rec)
            self.reset()
            await self.send(problem)
            return False
        if self.stage == "DOT":
            ended = await self.refuse("DOT", ".", {"size": len(data)})
            self.reset()
            return ended
        path = self.srv.store(data) if self.opts.store else None
        rec = self.base_record("accepted", "DOT")
        if self.opts.microsoft:
            # Exchange Online's answer, as Outlook.com gives it
            rec["reply"] = (
                "250 2.6.0 <fakemx-%d@%s> [InternalId=%d, "
                "Hostname=DM6PR10MB4121.namprd10.prod.outlook.com] %d bytes "
                "in 0.001, 1000.000 KB/sec Queued mail for delivery"
                % (self.srv.seq, self.opts.name, self.srv.seq, len(data)))
        else:
            rec["reply"] = "250 2.0.0 Ok: queued as fakemx-%d" % self.srv.seq
        rec["message"] = path
        rec["size"] = len(data)
        self.srv.record(rec)
        self.reset()
        await self.send(rec["reply"])
        return False

    async def read_data(self):
        """Read the message up to the lone dot; return (bytes, problem)."""
        chunks = []
        size = 0
        problem = None
        while True:
            try:
                raw = await self.read_line(TEXT_LINE_MAX)
            except LineTooLong:
                problem = problem or "500 5.5.2 Error: message line too long"
                continue
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]
            size += len(raw)
            if size > self.opts.max_size:
                problem = problem or ("552 5.3.4 Error: message file too big")
                continue
            if problem is None:
                chunks.append(raw)
        return b"".join(chunks), problem


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="fakemx.outguard.test",
                    help="host name in the greeting and replies")
    ap.add_argument("--microsoft", action="store_true",
                    help="accept with Exchange Online's 250 2.6.0 reply")
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--default-mode", default="accept",
                    help="mode used while the mode file does not exist")
    ap.add_argument("--record", help="JSON lines file of transactions")
    ap.add_argument("--store", help="directory for accepted messages")
    ap.add_argument("--pid-file")
    ap.add_argument("--max-size", type=int, default=10 * 1024 * 1024)
    ap.add_argument("--timeout", type=float, default=60.0)
    opts = ap.parse_args()
    try:
        parse_mode(opts.default_mode)
    except ValueError as e:
        ap.error(str(e))
    if opts.store:
        opts.store = os.path.abspath(opts.store)
        os.makedirs(opts.store, exist_ok=True)
    asyncio.run(serve(opts))
    return 0


async def serve(opts):
    srv = Server(opts)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(1))
    try:
        server = await asyncio.start_server(
            srv.handle, opts.host, opts.port, reuse_address=True,
            limit=max(CMD_LINE_MAX, TEXT_LINE_MAX) + 2)
    except OSError as e:
        print("fakemx: cannot listen on %s:%d: %s"
              % (opts.host, opts.port, e), file=sys.stderr)
        sys.exit(1)
    if opts.pid_file:
        tmp = opts.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, opts.pid_file)
    try:
        await stop
    finally:
        server.close()
        if opts.pid_file:
            try:
                os.unlink(opts.pid_file)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())

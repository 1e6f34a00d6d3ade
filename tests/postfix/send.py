#!/usr/bin/env python3
"""send.py - send many messages in one SMTP session (for the sandbox tests)

Usage: send.py --port PORT [--user U --password P] --from ADDR
               --to ADDR-WITH-{n} --count N --token TOKEN [--start K]

Sends N messages, each to ADDR with {n} replaced by the message number,
with TOKEN-{n} in the subject and body, over one connection (AUTH PLAIN
when a user is given). Prints one line per message: "n queue-id" or
"n refused CODE". Exits 1 when the connection fails. Loopback only.
"""
import argparse
import smtplib
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--from", dest="sender", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--token", required=True)
    a = ap.parse_args()
    try:
        s = smtplib.SMTP("127.0.0.1", a.port, timeout=30)
        s.ehlo("client.outguard.test")
        if a.user:
            s.login(a.user, a.password)
    except (OSError, smtplib.SMTPException) as e:
        print("connect: %s" % e, file=sys.stderr)
        return 1
    for n in range(a.start, a.start + a.count):
        to = a.to.replace("{n}", str(n))
        tok = "%s-%d" % (a.token, n)
        msg = ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nbody %s\r\n"
               % (a.sender, to, tok, tok))
        try:
            s.mail(a.sender)
            code, _ = s.rcpt(to)
            if code >= 400:
                s.rset()
                print("%d refused %d" % (n, code))
                continue
            code, resp = s.data(msg.encode())
            qid = resp.decode(errors="replace").rsplit(" ", 1)[-1]
            print("%d %s" % (n, qid if code == 250 else "refused %d" % code))
        except smtplib.SMTPException as e:
            print("%d refused %s" % (n, e))
            try:
                s.rset()
            except smtplib.SMTPException:
                pass
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/bin/bash
# bench_report.sh - how long "outguard-queue-report summary" takes on a
# large store
# Usage: bench/bench_report.sh [BUILDDIR] [MESSAGES] [BLOCKS]
# Fills a fresh store with MESSAGES (default 1,000,000) message rows over
# seven days (2,000 SASL logins and 500 unauthenticated clients sending
# to a mix of Outlook.com, Gmail, Yahoo and other domains), BLOCKS
# (default 100,000) block rows over the same days (five providers,
# twelve codes, twenty egress IPs: one status-filter row per code and
# IP, the rest one per blocked recipient with its sender), 20
# incidents with the watcher's suspects and holds JSON, 50 holds, and
# lets a canned "postqueue -j" (OG_POSTFIX_BIN) show 1,000 held
# messages, each looked up in the store. The rows are generated with
# python3's sqlite3 in one transaction, with a fixed seed, after the
# real program created and migrated the store. Then it times summary,
# text and --json, five runs each, and prints every run and the median,
# with the machine and the command. senders (its 24 hours: about 140,000
# rows scanned) is timed once for information. Builds nothing: BUILDDIR
# (default ./_build) must hold policy/outguard-queue-report, best an
# optimised build (see bench/RESULTS.md). Target: summary under 1 s.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-./_build}
messages=${2:-1000000}
blocks=${3:-100000}
report="$builddir/policy/outguard-queue-report"
if [ ! -x "$report" ]; then
	echo "bench_report.sh: $report not built" >&2
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "bench_report.sh: python3 is needed to fill the store" >&2
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/og-bench-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
now=1795000000
export OG_FAKE_NOW=$now TZ=UTC

cat >"$tmp/outguard.conf" <<EOF
store = sqlite:$tmp/outguard.db
provider_domains = file:$srcdir/contrib/providers
myhostname = mta.example.net
EOF
mkdir "$tmp/bin"
cat >"$tmp/bin/postqueue" <<EOF
#!/bin/sh
cat "$tmp/queue.jsonl"
EOF
chmod 0755 "$tmp/bin/postqueue"
export OG_POSTFIX_BIN=$tmp/bin
: >"$tmp/queue.jsonl"
# the program creates and migrates the store: the schema is its own
"$report" -c "$tmp/outguard.conf" holds >/dev/null 2>&1

echo "filling the store: $messages messages, $blocks blocks ..."
t0=$(date +%s.%N)
python3 - "$tmp/outguard.db" "$messages" "$blocks" "$now" \
    "$tmp/queue.jsonl" <<'EOF'
import json, random, sqlite3, sys

path, nmsg, nblk, now, qpath = sys.argv[1], int(sys.argv[2]), \
    int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rnd = random.Random(20261123)
db = sqlite3.connect(path)
db.execute("PRAGMA synchronous = OFF")
week = 7 * 86400
doms = ["hotmail.com", "outlook.com", "live.com", "gmail.com", "yahoo.com",
        "example.com", "example.org", "web.de", "orange.fr", "msn.com"]
users = ["user%04d@customer%03d.example" % (i, i % 300) for i in range(2000)]
clients = ["10.%d.%d.%d" % (i // 65536 % 256, i // 256 % 256, i % 256 + 1)
           for i in range(500)]

def summary():
    k = rnd.choice([1, 1, 1, 2, 3])
    return " ".join("%s=%d" % (d, rnd.randint(1, 4))
                    for d in rnd.sample(doms, k))

def messages():
    for i in range(nmsg):
        t = now - week + i * week // nmsg
        if rnd.random() < 0.9:
            u = rnd.choice(users)
            sasl, client, sender = u, "192.0.2.%d" % rnd.randint(1, 254), u
        else:
            sasl, client = None, rnd.choice(clients)
            sender = "www-data@host%d.example" % rnd.randint(1, 50)
        yield ("mta.example.net", "%010X" % (i * 7919 % 16**10), t, sasl,
               "PLAIN" if sasl else None, client, None, sender,
               rnd.randint(1, 5), rnd.randint(1000, 90000), summary())

db.execute("BEGIN")
db.executemany("INSERT INTO messages (host, queue_id, time, sasl_username,"
               " sasl_method, client_address, client_name, sender,"
               " recipient_count, size, rcpt_summary) VALUES"
               " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", messages())
codes = [("microsoft-consumer", "ip_block", "outlook_form", "550", "5.7.1",
          "S3150"),
         ("microsoft-consumer", "ip_block", "outlook_form", "550", "5.7.1",
          "S3140"),
         ("microsoft-consumer", "ip_block", "outlook_form", "550", "5.7.1",
          "AS3150"),
         ("microsoft-consumer", "rate_limit", "wait", "451", "4.7.650",
          "S775"),
         ("microsoft-365", "ip_block", "delist_portal", "550", "5.7.606",
          None),
         ("microsoft-365", "ip_block", "delist_portal", "550", "5.7.609",
          None),
         ("microsoft-365", "ip_block", "delist_mail", "550", "5.7.511",
          None),
         ("google", "rate_limit", "wait", "421", "4.7.28", None),
         ("google", "content", "none", "550", "5.7.1", None),
         ("yahoo", "rate_limit", "wait", "421", "4.7.0", "TSS04"),
         ("yahoo", "ip_block", "none", "553", "5.7.2", "TSS09"),
         ("other", "ip_block", "none", "554", "5.7.1", None)]
ips = ["203.0.113.%d" % i for i in range(1, 21)]
reply = ("host mx.example[192.0.2.1] said: %s %s Unfortunately, messages "
         "from [%s] weren't sent. Please contact your Internet service "
         "provider since part of their network is on our block list (%s). "
         "[Name=Protocol Filter Agent][AGT=PFA][MxId=11BB66ACAE2C61C1] "
         "[DM6PR10MB4121.namprd10.prod.outlook.com 2025-11-25T08:06:40.951Z "
         "08DE2B2A1F2D0C55] (in reply to MAIL FROM command)")

# The status filter's rows aggregate by provider, code and egress IP
# (one row each, a high count); the watcher's are one per blocked
# recipient, each with its sender.
combos = [(c, ip) for c in codes for ip in ips]

def blocks():
    for i in range(nblk):
        sf = i < len(combos)
        (p, cl, rem, smtp, enh, pc), ip = combos[i] if sf else \
            (rnd.choice(codes), rnd.choice(ips))
        t = now - week + i * week // nblk
        who = None if sf else rnd.choice(users)
        yield ("mta.example.net", None if sf else "%010X" % i,
               None if sf else "r%d@%s" % (i, rnd.choice(doms)), p, cl,
               smtp, enh, pc, rem, reply % (smtp, enh, ip, pc or enh),
               "mx.example", "192.0.2.1", ip,
               "DM6PR10MB4121.namprd10.prod.outlook.com",
               "2025-11-25T08:06:40.951Z", "sasl:" + who if who else None,
               "status-filter" if sf else "watcher", t,
               now - rnd.randint(0, week) if sf else t,
               rnd.randint(100, 5000) if sf else 1)

db.executemany("INSERT INTO blocks (host, queue_id, recipient, provider,"
               " class, smtp_code, enhanced_code, provider_code, remedy,"
               " reply, mx_host, mx_ip, egress_ip, server_tag, server_time,"
               " identity, source, first_seen, last_seen, count) VALUES"
               " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               blocks())
for k in range(20):
    t = now - week + k * week // 20
    sus = [{"identity": "sasl:" + rnd.choice(users), "messages": 100 - j,
            "recipients": 300 - j, "to_provider": 250 - j,
            "share_percent": 40.0 - j, "baseline_per_window": 1.5,
            "spike": 12.5, "suspect": j < 2, "held": j < 2}
           for j in range(10)]
    held = [{"identity": "provider:microsoft-consumer", "hold": k + 1,
             "time": t + 60}]
    state = "open" if k == 19 else "confirmed"
    db.execute("INSERT INTO incidents (host, provider, egress_ip, state,"
               " opened, first_block, last_block, blocks, suspects, holds,"
               " notified, released, confirmed) VALUES ('mta.example.net',"
               " 'microsoft-consumer', ?, ?, ?, ?, ?, 0, ?, ?, '{}', ?, ?)",
               (ips[k], state, t, t, t + 600, json.dumps(sus),
                json.dumps(held), None if k == 19 else t + 3600,
                None if k == 19 else t + 7200))
for k in range(50):
    db.execute("INSERT INTO holds (identity, scope, reason, since,"
               " created_by) VALUES (?, 'all', 'bench', ?, 'bench')",
               ("sasl:" + users[k], now - 3600))
db.commit()
with open(qpath, "w") as q:
    for i in range(1000):
        q.write(json.dumps({
            "queue_name": "hold", "queue_id": "%010X" % (i * 7919 % 16**10),
            "arrival_time": now - 3600, "message_size": 1000,
            "forced_expire": False, "sender": "x@example.net",
            "recipients": [{"address": "r%d@hotmail.com" % i,
                            "delay_reason": "held"}]}) + "\n")
EOF
t1=$(date +%s.%N)
printf "filled in %.1f s (%s)\\n" "$(awk "BEGIN { print $t1 - $t0 }")" \
    "$(du -h "$tmp/outguard.db" | cut -f1)"

# runs LABEL ARGS...: five timed runs and their median
runs() {
	local label=$1 a b
	shift
	local -a t=()
	for _ in 1 2 3 4 5; do
		a=$(date +%s%N)
		"$report" -c "$tmp/outguard.conf" "$@" >"$tmp/out" 2>"$tmp/err" ||
		    { echo "$label failed:"; cat "$tmp/err"; exit 1; }
		b=$(date +%s%N)
		t+=("$(((b - a) / 1000000))")
	done
	printf '%s: %s ms; median %s ms\n' "$label" "${t[*]}" \
	    "$(printf '%s\n' "${t[@]}" | sort -n | sed -n 3p)"
}
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: $report -c CONF summary [--json]"
runs "summary" summary
echo "  ($(wc -l <"$tmp/out") lines of text)"
runs "summary --json" summary --json
a=$(date +%s%N)
"$report" -c "$tmp/outguard.conf" senders >/dev/null 2>&1
b=$(date +%s%N)
echo "senders (24h, once): $(((b - a) / 1000000)) ms"

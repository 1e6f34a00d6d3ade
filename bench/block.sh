#!/bin/bash
# block.sh - reaction time and blast radius of the block response
#
# Runs the sandbox block scenario (tests/postfix/t_block.sh: ten users,
# mallory's burst of 200 to hotmail.com, the fake MX switching to the
# S3150 block) with its sandbox kept, then measures from its records:
#   reaction  - from the fake MX's first S3150 refusal to the store's
#               audit row of mallory's hold (seconds, the audit has
#               whole seconds), and to the provider-scope hold;
#   blast     - delivery attempts that reached the blocking MX after its
#               first refusal (each is one more refusal Microsoft saw).
# Usage: bench/block.sh [BUILD-DIR]  (default ./_build; root, Postfix).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/_build}" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "machine: $(nproc) cores, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)"
echo "command: SB_KEEP=1 tests/postfix/t_block.sh (build $build)"
SB_KEEP=1 top_srcdir=$here top_builddir=$build \
    bash "$here/tests/postfix/t_block.sh" >"$log" 2>&1
echo "scenario: $(grep -c '^ok' "$log") ok, $(grep -c '^not ok' "$log") not ok"
sb=$(grep -o '/tmp/outguard-sb\.[A-Za-z0-9]*' "$log" | head -n 1)
[ -z "$sb" ] && sb=$(ls -dt "${TMPDIR:-/tmp}"/outguard-sb.* | head -n 1)
python3 - "$sb" <<'PY'
import json, sqlite3, sys
sb = sys.argv[1]
import datetime
def ts(s):  # "2026-11-23T06:31:09.983Z" -> Unix seconds
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
recs = []
for l in open(sb + "/mx/records.jsonl"):
    if l.strip():
        r = json.loads(l)
        r["time"] = ts(r["time"])
        recs.append(r)
refused = sorted(r["time"] for r in recs
                 if r.get("event") == "refused" and "S3150" in r.get("reply", ""))
accepted = sorted(r["time"] for r in recs if r.get("event") == "accepted")
if not refused:
    print("no refusal recorded: scenario failed?")
    sys.exit(1)
first = refused[0]
db = sqlite3.connect(sb + "/og/outguard.db")
def held(subject):
    row = db.execute("select min(time) from audit where action='hold' "
                     "and subject=?", (subject,)).fetchone()
    return row[0]
m = held("sasl:mallory@outguard.test")
p = held("provider:microsoft-consumer")
print("first S3150 refusal at %.3f" % first)
print("reaction: provider scope held after %.1f s, mallory held after %.1f s"
      % (p - first, m - first))
rel = db.execute("select min(time) from audit where action='release'"
                 ).fetchone()[0] or float("inf")
print("blast radius: %d delivery attempts reached the blocking MX after "
      "the first refusal (%d more accepted between it and the release)"
      % (len(refused) - 1, sum(1 for t in accepted if first < t < rel)))
greet = sum(1 for l in open(sb + "/maillog")
            if "lookup error for 220 " in l)
print("reply filter: %d greetings refused before any MAIL command "
      "(Postfix's lookup-error warnings in the maillog)" % greet)
PY
rm -rf "$sb"

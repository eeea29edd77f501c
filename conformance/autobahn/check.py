"""Reads a kosoku (Autobahn) report and fails unless every case passed.

    python3 check.py OUTDIR

A case passes when both its behavior and its behaviorClose are OK,
NON-STRICT or INFORMATIONAL. Prints one summary line of counts per
behavior, then one line per failing case (with its report file).
"""

import collections
import json
import os
import sys

PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}


def case_key(case_id):
    return tuple(int(p) for p in case_id.split("."))


def main(outdir):
    with open(os.path.join(outdir, "index.json")) as f:
        index = json.load(f)
    cases = [(cid, r) for agent in index.values() for cid, r in agent.items()]
    if not cases:
        print("autobahn: the report holds no case", file=sys.stderr)
        return 1
    counts = collections.Counter(r["behavior"] for _, r in cases)
    close = collections.Counter(r["behaviorClose"] for _, r in cases)
    slowest = max(cases, key=lambda c: c[1].get("duration", 0))
    print(
        "autobahn: %d cases; behavior %s; close %s; slowest %s (%d ms)"
        % (
            len(cases),
            ", ".join("%s %d" % kv for kv in sorted(counts.items())),
            ", ".join("%s %d" % kv for kv in sorted(close.items())),
            slowest[0],
            slowest[1].get("duration", 0),
        )
    )
    bad = [
        (cid, r)
        for cid, r in cases
        if r["behavior"] not in PASSING or r["behaviorClose"] not in PASSING
    ]
    for cid, r in sorted(bad, key=lambda c: case_key(c[0])):
        print(
            "autobahn: case %s: behavior %s, close %s (%s)"
            % (cid, r["behavior"], r["behaviorClose"], os.path.join(outdir, r["reportfile"])),
            file=sys.stderr,
        )
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))

#!/usr/bin/env python3
"""Compare two observations of one differential scenario, key by key.

Usage: compare.py REFERENCE.json OBSERVED.json [--accepted compat/diff/accepted.json]
                  [--scenario NAME] [--no-accepted]

Both files are what an observer in compat/diff/ wrote (an object with "scenario" and
"observation"). Every leaf of both observations is addressed by its path (keys joined with
"/", list items as "[i]"); a key present on one side only is one difference at its path,
with the whole value on that side and "<absent>" on the other.
Each difference prints as

    DIFF   path: reference=<value> observed=<value>

An accepted difference (an entry of the accepted file for this scenario whose "path" glob
matches and whose optional "reference"/"observed" values equal the two sides) prints as
ACCEPT with the entry's reason instead. The exit status is 1 when a difference is not
accepted, or when an accepted entry for this scenario matched no difference at all (a stale
entry: the difference is gone, so the entry must go too); 2 on bad input; 0 otherwise.

The accepted file is a JSON list of objects:
    {"scenario": "java-configs",          # the observer scenario name (compat/diff/observe.sh)
     "path": "new_topic/entries/*/documentation",   # fnmatch glob over the path (or a list)
     "reference": "present",               # optional: the reference side must be this value
     "observed": "<absent>",               # optional: the observed side must be this value
     "reason": "..."}                      # required; "BUG: ..." for a Skiff bug to fix
Standard library only.
"""

import argparse
import fnmatch
import json
import sys

ABSENT = "<absent>"


def join(path, key):
    return f"{path}/{key}" if path else str(key)


def walk(a, b, path, out):
    """Appends (path, a, b) for every difference between a and b. A key or list item present
    on one side only is one difference at its own path, with the whole value on that side."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            walk(a.get(key, ABSENT), b.get(key, ABSENT), join(path, key), out)
    elif isinstance(a, list) and isinstance(b, list) and a and b:
        for i in range(max(len(a), len(b))):
            walk(a[i] if i < len(a) else ABSENT, b[i] if i < len(b) else ABSENT, f"{path}[{i}]", out)
    elif not same(a, b):
        out.append((path, a, b))


def same(a, b):
    """Equal leaves: 1 and 1.0 alike, but never True and 1, nor a string and a number."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"compare: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)
    if not isinstance(doc, dict) or "observation" not in doc:
        print(f"compare: {path} is not an observation (no 'observation' key)", file=sys.stderr)
        sys.exit(2)
    return doc


def show(value):
    return value if value == ABSENT else json.dumps(value, sort_keys=True, separators=(",", ":"))


def differences(reference, observed):
    """(path, reference value, observed value) for every difference, in key order."""
    out = []
    walk(reference, observed, "", out)
    return out


def entry_matches(entry, path, ref, obs):
    globs = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
    if not any(fnmatch.fnmatchcase(path, g) for g in globs):
        return False
    if "reference" in entry and entry["reference"] != ref:
        return False
    if "observed" in entry and entry["observed"] != obs:
        return False
    return True


def load_accepted(path, scenario):
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        print(f"compare: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)
    mine = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not e.get("path") or not e.get("reason") or not e.get("scenario"):
            print(f"compare: {path} entry {i} needs scenario, path and reason: {e}", file=sys.stderr)
            sys.exit(2)
        if e["scenario"] == scenario:
            mine.append(e)
    return mine


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference")
    ap.add_argument("observed")
    ap.add_argument("--accepted", help="accepted-differences file (JSON list)")
    ap.add_argument("--scenario", help="scenario name for the accepted file (default: the files' own)")
    ap.add_argument("--no-accepted", action="store_true", help="accept nothing (e.g. Kafka vs Kafka)")
    ap.add_argument("--quiet-accepted", action="store_true", help="do not print accepted differences")
    args = ap.parse_args()

    ref_doc, obs_doc = load(args.reference), load(args.observed)
    if ref_doc.get("scenario") != obs_doc.get("scenario"):
        print(f"compare: different scenarios: {ref_doc.get('scenario')} vs {obs_doc.get('scenario')}", file=sys.stderr)
        sys.exit(2)
    scenario = args.scenario or ref_doc.get("scenario")
    accepted = [] if args.no_accepted or not args.accepted else load_accepted(args.accepted, scenario)
    used = [0] * len(accepted)

    diffs = differences(ref_doc["observation"], obs_doc["observation"])
    unaccepted = 0
    for path, a, b in diffs:
        hit = next((i for i, e in enumerate(accepted) if entry_matches(e, path, a, b)), None)
        if hit is None:
            unaccepted += 1
            print(f"DIFF    {path}: reference={show(a)} observed={show(b)}")
        else:
            used[hit] += 1
            if not args.quiet_accepted:
                print(f"ACCEPT  {path}: reference={show(a)} observed={show(b)}  [{accepted[hit]['reason']}]")
    stale = [e for e, n in zip(accepted, used) if n == 0]
    for e in stale:
        print(f"STALE   accepted entry matched nothing (remove it): path={e['path']} reason={e['reason']}")
    n_acc = sum(1 for n in used if n)
    print(
        f"compare {scenario}: {len(diffs)} differences, {unaccepted} not accepted, "
        f"{len(diffs) - unaccepted} accepted by {n_acc} entries, {len(stale)} stale entries"
    )
    sys.exit(1 if unaccepted or stale else 0)


if __name__ == "__main__":
    main()

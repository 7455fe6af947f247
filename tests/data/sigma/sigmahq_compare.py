#!/usr/bin/env python3
"""Acceptance check: SigmaHQ's CloudTrail rules in trailwatch, against pySigma's SQLite backend.

    pip install pysigma pysigma-backend-sqlite pyyaml
    cargo build
    python3 tests/data/sigma/sigmahq_compare.py /path/to/sigma [--trailwatch BIN] [--per-rule N]

1. Loads every rule of rules/cloud/aws/cloudtrail/ in the checkout with `trailwatch test`
   (which reports each file that does not load as `path:line:col: message`).
2. Generates a corpus aimed at those rules (gen_sigmahq_corpus.py).
3. Replays it with `trailwatch replay --output matches` and asks the oracle (oracle.py) which
   events each rule selects.
4. Prints, per rule, both counts and any event the two disagree on, then the totals.

Exit status 0 when every rule loads and selects exactly the oracle's events. Nothing from the
checkout is copied into this repository.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from gen_sigmahq_corpus import generate  # noqa: E402
from oracle import Rule  # noqa: E402


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR") or str(HERE.parents[2] / "target")
    return str(Path(target) / "debug" / "trailwatch")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", help="a SigmaHQ/sigma checkout")
    parser.add_argument("--trailwatch", default=default_binary(), help="the trailwatch binary")
    parser.add_argument("--per-rule", type=int, default=40, help="generated events per rule")
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()
    rules_dir = Path(args.checkout) / "rules/cloud/aws/cloudtrail"
    files = sorted(rules_dir.glob("*.yml"))

    test = subprocess.run([args.trailwatch, "test", str(rules_dir)], capture_output=True, text=True)
    loaded = {}
    for line in test.stdout.splitlines():
        m = re.match(r"^(\S+) \((.+)\)$", line)
        if m:
            loaded[Path(m.group(2)).name] = m.group(1)
    for line in test.stderr.splitlines():
        print(f"LOAD ERROR {line}")

    events = generate(args.checkout, args.per_rule, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.ndjson"
        corpus.write_text("".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events), encoding="utf-8")
        replay = subprocess.run(
            [args.trailwatch, "replay", "--rules", str(rules_dir), "--output", "matches", str(corpus)],
            capture_output=True, text=True,
        )
    if replay.returncode not in (0, 2):
        sys.exit(f"trailwatch replay failed: {replay.stderr}")
    got = {}
    for line in replay.stdout.splitlines():
        m = json.loads(line)
        got.setdefault(m["rule_id"], set()).add(m["event_id"])

    exact = 0
    oracle_total = 0
    for path in files:
        want = set(Rule(path.read_text(encoding="utf-8")).select(events))
        oracle_total += len(want)
        rule_id = loaded.get(path.name)
        have = got.get(rule_id, set()) if rule_id else set()
        same = rule_id is not None and have == want
        exact += same
        status = "ok" if same else ("NOT LOADED" if rule_id is None else "DIFFERENT")
        print(f"{status:10} {path.name:70} oracle {len(want):4}  trailwatch {len(have):4}")
        if rule_id and not same:
            print(f"           only oracle: {sorted(want - have)[:10]}  only trailwatch: {sorted(have - want)[:10]}")
    print(
        f"{len(loaded)}/{len(files)} rules loaded, {exact}/{len(files)} select exactly the oracle's events "
        f"({len(events)} events, {oracle_total} (rule, event) matches)"
    )
    sys.exit(0 if exact == len(files) and len(loaded) == len(files) else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compares trailwatch's ports of Panther rules with the upstream Python rules.

For every rule in --rules whose RuleID also exists in a local checkout of Panther's rule
library (--upstream), each upstream test log is run through the upstream Python rule (with
Panther's own event class from panther-core) and through our rule (with `trailwatch test`).
The two agree on a log when they give the same result and, on a match, the same title, dedup
string and severity.

Nothing from the upstream checkout is copied into this repository: the script reads it in
place. Requirements: `pip install panther-analysis-tool panther-detection-helpers pyyaml`.

    python3 tests/upstream/agreement.py --upstream /path/to/panther-analysis \
        [--rules rules.d] [--trailwatch target/release/trailwatch] [--only RULE_ID ...] \
        [--markdown OUT.md] [--details]
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml


def load_yaml_files(root):
    out = {}
    for path in sorted(Path(root).rglob("*.y*ml")):
        if path.name.startswith(".") or path.suffix not in (".yml", ".yaml"):
            continue
        try:
            doc = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue
        if isinstance(doc, dict) and doc.get("RuleID"):
            out[doc["RuleID"]] = (path, doc)
    return out


def import_rule(py_path):
    spec = importlib.util.spec_from_file_location(f"upstream_{py_path.stem}", py_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_DATA_MODEL = None


def cloudtrail_data_model(upstream_root):
    """Panther's CloudTrail data model (for event.udm()), loaded from the upstream checkout."""
    global _DATA_MODEL
    if _DATA_MODEL is None:
        from panther_core.data_model import DataModel

        base = Path(upstream_root) / "data_models"
        meta = yaml.safe_load((base / "aws_cloudtrail_data_model.yml").read_text())
        _DATA_MODEL = DataModel(
            {
                "id": meta["DataModelID"],
                "versionId": "local",
                "mappings": [
                    {k[0].lower() + k[1:]: v for k, v in m.items()} for m in meta["Mappings"]
                ],
                "body": (base / meta["Filename"]).read_text(),
            }
        )
    return _DATA_MODEL


UPSTREAM_ROOT = None


def upstream_verdict(module, meta, log):
    """What Panther's Python rule says about one log: (matched, title, dedup, severity)."""
    from panther_core.enriched_event import PantherEvent

    event = PantherEvent(log, cloudtrail_data_model(UPSTREAM_ROOT))
    matched = bool(module.rule(event))
    if not matched:
        return (False, None, None, None)
    default_title = meta.get("DisplayName") or meta["RuleID"]
    title = module.title(event) if hasattr(module, "title") else default_title
    if title is None or title == "":
        title = default_title
    title = str(title)[:1000]
    dedup = module.dedup(event) if hasattr(module, "dedup") else title
    if dedup is None or dedup == "":
        dedup = title
    severity = meta["Severity"].upper()
    if hasattr(module, "severity"):
        s = module.severity(event)
        if s and str(s).upper() != "DEFAULT":
            severity = str(s).upper()
    return (True, title, str(dedup)[:1000], severity)


def main():
    global UPSTREAM_ROOT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="checkout of panther-labs/panther-analysis")
    ap.add_argument("--rules", default="rules.d")
    ap.add_argument("--trailwatch", default="target/release/trailwatch")
    ap.add_argument("--only", nargs="*", default=None, help="RuleIDs to check")
    ap.add_argument("--markdown", help="write the summary table here")
    ap.add_argument("--details", action="store_true", help="print every disagreement")
    ap.add_argument("--eval", nargs=2, metavar=("RULE_ID", "LOG_JSON"),
                    help="print what the upstream rule says about one log (a JSON file) and exit")
    args = ap.parse_args()
    if args.eval:
        UPSTREAM_ROOT = Path(args.upstream)
        sys.path.insert(0, str(UPSTREAM_ROOT / "global_helpers"))
        path, doc = load_yaml_files(UPSTREAM_ROOT / "rules")[args.eval[0]]
        module = import_rule(path.with_name(doc.get("Filename", path.stem + ".py")))
        log = json.loads(Path(args.eval[1]).read_text())
        print(json.dumps(dict(zip(["matched", "title", "dedup", "severity"], upstream_verdict(module, doc, log)))))
        return 0

    upstream_root = Path(args.upstream)
    UPSTREAM_ROOT = upstream_root
    sys.path.insert(0, str(upstream_root / "global_helpers"))
    ours = load_yaml_files(args.rules)
    theirs = load_yaml_files(upstream_root / "rules")
    rows, totals = [], {"rules": 0, "logs": 0, "agree": 0, "skipped": 0, "upstream_self": 0}
    for rule_id in sorted(ours):
        if args.only and rule_id not in args.only:
            continue
        if rule_id not in theirs:
            continue
        our_path, our_doc = ours[rule_id]
        up_path, up_doc = theirs[rule_id]
        py = up_path.with_name(up_doc.get("Filename", up_path.stem + ".py"))
        try:
            module = import_rule(py)
        except Exception as e:  # noqa: BLE001 - report and go on
            rows.append((rule_id, 0, 0, 0, f"upstream import failed: {e}"))
            continue
        tests, skipped, notes = [], 0, []
        for i, t in enumerate(up_doc.get("Tests") or []):
            if t.get("Mocks"):
                skipped += 1
                continue
            log = t.get("Log")
            if isinstance(log, str):
                log = json.loads(log)
            try:
                verdict = upstream_verdict(module, up_doc, log)
            except Exception as e:  # noqa: BLE001
                skipped += 1
                notes.append(f"upstream raised on {t.get('Name')!r}: {e}")
                continue
            if verdict[0] == bool(t.get("ExpectedResult")):
                totals["upstream_self"] += 1
            generated = {"Name": f"upstream #{i}: {t.get('Name', '')}"[:200], "ExpectedResult": verdict[0], "Log": log}
            if verdict[0]:
                generated.update(ExpectedTitle=verdict[1], ExpectedDedup=verdict[2], ExpectedSeverity=verdict[3])
            tests.append(generated)
        totals["skipped"] += skipped
        if not tests:
            rows.append((rule_id, 0, 0, skipped, "; ".join(notes) or "no usable upstream tests"))
            continue
        doc = dict(our_doc)
        doc["Tests"] = tests
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
            tmp = f.name
        try:
            run = subprocess.run([args.trailwatch, "test", tmp], capture_output=True, text=True)
        finally:
            os.unlink(tmp)
        passed = len(re.findall(r"^  PASS  ", run.stdout, re.M))
        failed = len(re.findall(r"^  FAIL  upstream", run.stdout, re.M))
        if run.returncode == 2:
            notes.append("our rule did not load: " + run.stderr.strip().splitlines()[0])
        if failed and args.details:
            print(f"--- {rule_id} ({our_path})\n{run.stdout}", file=sys.stderr)
        totals["rules"] += 1
        totals["logs"] += len(tests)
        totals["agree"] += passed
        rows.append((rule_id, len(tests), passed, skipped, "; ".join(notes)))

    lines = [
        "| RuleID | upstream test logs run | agree | skipped (mocks/errors) | notes |",
        "|---|---|---|---|---|",
    ]
    for rule_id, n, ok, skipped, note in rows:
        lines.append(f"| {rule_id} | {n} | {ok} | {skipped} | {note} |")
    summary = (
        f"{totals['rules']} rules compared on {totals['logs']} upstream test logs: "
        f"{totals['agree']} agree ({100.0 * totals['agree'] / max(totals['logs'], 1):.1f}%), "
        f"{totals['skipped']} logs skipped (need mocked state or upstream errors); "
        f"upstream Python itself matched its ExpectedResult on {totals['upstream_self']} of them."
    )
    print(summary)
    for line in lines:
        print(line)
    if args.markdown:
        Path(args.markdown).write_text(summary + "\n\n" + "\n".join(lines) + "\n")
    return 0 if totals["agree"] == totals["logs"] else 1


if __name__ == "__main__":
    sys.exit(main())

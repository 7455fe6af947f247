#!/usr/bin/env python3
"""Regenerates golden.json: the events each Sigma rule of the differential test set selects.

    pip install pysigma pysigma-backend-sqlite pyyaml
    python3 tests/data/sigma/gen_golden.py

Rules: rules/*.yml (every modifier and condition form trailwatch supports); events:
events.ndjson (written by make_events.py). The oracle is pySigma's SQLite backend (see
oracle.py for the table layout). Where the oracle is known to deviate from the Sigma
specification, DEVIATIONS below states the case, the reason and what the specification (and so
trailwatch) says; golden.json keeps both answers. The script fails when a listed deviation no
longer differs from the oracle, so the list cannot go stale.

tests/integration/sigma.rs replays events.ndjson through the rules with trailwatch and compares
every (rule, event) pair with `expected`; it also checks that the rules cover FORMS.
"""
import json
import re
import sqlite3
import sys
from importlib.metadata import version
from pathlib import Path

import yaml

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from oracle import Rule  # noqa: E402

# (rule file stem, eventID) -> (what the specification says, why pySigma/SQLite differs)
DEVIATIONS = {
    ("13_exists_true", "e15"): (True, "exists: errorCode is present with a null value; the spec's `exists` checks presence \"be it empty or null\", SQL NULL cannot tell null from missing"),
    ("23_cidr_v6", "e32"): (True, "cidr: 2001:0db8::1 is inside 2001:db8::/32; pySigma expands the range to the text prefix '2001:db8:' and misses other spellings of the address"),
    ("30_base64", "e29"): (False, "base64: the value is the lower-cased encoding, which decodes to other bytes; base64 is case-sensitive, SQLite compares NOCASE"),
    ("38_gte", "e38"): (True, "gte: 129600 >= 43200 numerically; SQLite compares a TEXT column as text ('1' < '4')"),
    ("38_gte", "e40"): (False, "gte: 900 < 43200 numerically; SQLite compares a TEXT column as text ('9' > '4')"),
    ("39_lt", "e40"): (True, "lt: 900 < 1000 numerically; SQLite compares a TEXT column as text ('9' > '1')"),
    ("53_unicode_case", "e50"): (True, "case folding: ÜBERPRÜFUNG equals Überprüfung ignoring case; SQLite's NOCASE and LIKE fold ASCII only"),
    ("53_unicode_case", "e51"): (True, "case folding: überprüfung equals Überprüfung ignoring case; SQLite's NOCASE and LIKE fold ASCII only"),
}

# Every form the differential set must exercise (checked here and by the integration test).
FORMS = [
    "map", "list", "list_of_maps", "keywords", "keywords_all", "null", "empty_string",
    "wildcard_star", "wildcard_question", "escape", "number", "boolean",
    "contains", "startswith", "endswith", "all", "re", "re_i", "re_m", "re_s", "cidr",
    "exists", "cased", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide",
    "windash", "gt", "gte", "lt", "lte", "neq", "fieldref", "expand",
    "and", "or", "not", "parentheses", "1_of", "any_of", "all_of", "them", "condition_list",
]


def forms(doc):
    """The forms a rule uses, read from its detection."""
    found = set()
    det = doc["detection"]
    conds = det["condition"] if isinstance(det["condition"], list) else [det["condition"]]
    if len(conds) > 1:
        found.add("condition_list")
    for c in conds:
        words = re.findall(r"[\w*-]+|[()]", c)
        for w, n in zip(words, words[1:] + [""]):
            if w in ("and", "or", "not"):
                found.add(w)
            if w == "(":
                found.add("parentheses")
            if n == "of":
                found.add({"1": "1_of", "any": "any_of", "all": "all_of"}[w])
            if w == "them":
                found.add("them")

    def values(v):
        return v if isinstance(v, list) else [v]

    for name, search in det.items():
        if name == "condition":
            continue
        if isinstance(search, list):
            found.add("list_of_maps" if any(isinstance(s, dict) for s in search) else "keywords")
        for m in values(search):
            if not isinstance(m, dict):
                continue
            found.add("map")
            for key, val in m.items():
                parts = key.split("|")
                if parts[0] == "" and "all" in parts:
                    found.add("keywords_all")
                for mod in parts[1:]:
                    found.add({"i": "re_i", "m": "re_m", "s": "re_s"}.get(mod, mod))
                if isinstance(val, list) and len(val) > 1:
                    found.add("list")
                for x in values(val):
                    if x is None:
                        found.add("null")
                    elif isinstance(x, bool):
                        found.add("boolean")
                    elif isinstance(x, (int, float)):
                        found.add("number")
                    elif x == "":
                        found.add("empty_string")
                    elif "re" not in parts[1:]:
                        s = str(x)
                        if re.search(r"\\[*?\\]", s):
                            found.add("escape")
                        if re.search(r"(?<!\\)\*", s):
                            found.add("wildcard_star")
                        if re.search(r"(?<!\\)\?", s):
                            found.add("wildcard_question")
    return sorted(found & set(FORMS))


def main():
    events = [json.loads(line) for line in (HERE / "events.ndjson").read_text(encoding="utf-8").splitlines() if line]
    ids = [e["eventID"] for e in events]
    golden = {
        "oracle": f"pySigma {version('pysigma')}, pySigma-backend-sqlite {version('pysigma-backend-sqlite')}, SQLite {sqlite3.sqlite_version}",
        "events": len(events),
        "rules": {},
    }
    used = set()
    covered = set()
    for path in sorted((HERE / "rules").glob("*.yml")):
        source = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(source)
        oracle = Rule(source).select(events)
        expected = set(oracle)
        deviations = []
        for event_id in ids:
            key = (path.stem, event_id)
            if key not in DEVIATIONS:
                continue
            used.add(key)
            spec, reason = DEVIATIONS[key]
            if (event_id in expected) == spec:
                sys.exit(f"{key}: listed as a deviation, but the oracle already says {spec}")
            expected.symmetric_difference_update({event_id})
            deviations.append({"event": event_id, "oracle": not spec, "expected": spec, "reason": reason})
        rule_forms = forms(doc)
        covered.update(rule_forms)
        golden["rules"][path.name] = {
            "id": doc["id"],
            "title": doc["title"],
            "forms": rule_forms,
            "oracle": oracle,
            "expected": [i for i in ids if i in expected],
            "deviations": deviations,
        }
    if set(DEVIATIONS) - used:
        sys.exit(f"deviations for unknown rules or events: {sorted(set(DEVIATIONS) - used)}")
    missing = set(FORMS) - covered
    if missing:
        sys.exit(f"forms not covered by any rule: {sorted(missing)}")
    golden["forms"] = FORMS
    (HERE / "golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    total = sum(len(r["expected"]) for r in golden["rules"].values())
    print(f"{len(golden['rules'])} rules x {len(events)} events: {total} matches, {len(DEVIATIONS)} deviations from the oracle")


if __name__ == "__main__":
    main()

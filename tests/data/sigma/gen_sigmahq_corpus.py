#!/usr/bin/env python3
"""Generates a CloudTrail corpus aimed at SigmaHQ's CloudTrail rules.

    python3 tests/data/sigma/gen_sigmahq_corpus.py /path/to/sigma OUT.ndjson [--per-rule N] [--seed S]

Reads every rule under rules/cloud/aws/cloudtrail/ of a SigmaHQ checkout (nothing of it is
copied into this repository) and writes NDJSON records meant to land on both sides of each
rule: for every rule, records where each search identifier either holds or is broken by one
mutation (a value in another letter case, with text around it, one character changed, null,
missing, or taken from another rule), on a realistic CloudTrail skeleton, plus records mixing
values of all rules. Lists appear where CloudTrail has them (`containerDefinitions[].command[]`,
`layers[]`). The output is deterministic for a given checkout and seed.
"""
import argparse
import json
import random
import re
from pathlib import Path

import yaml

ACCOUNT = "123456789012"
ARRAY_FIELDS = {
    "requestParameters.containerDefinitions.command": "containerDefinitions",
    "requestParameters.layers": "layers",
}
USER_AGENTS = [
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1", "Boto3/1.34.0 Python/3.12", "TruffleHog",
    "S3 Browser 11.4.5 https://s3browser.com", "Jersey/${project.version}", "console.amazonaws.com",
    "AWS Internal", "aws-sdk-go/1.44.0", "Mozilla/5.0 (X11; Linux x86_64)",
]
IPS = ["198.51.100.7", "203.0.113.9", "10.0.4.5", "AWS Internal", "ec2.amazonaws.com", "2001:db8::7"]
ERRORS = [None, "missing", "missing", "missing", "Success", "AccessDenied", "Client.UnauthorizedOperation"]


def load_rules(checkout):
    rules = []
    for path in sorted((Path(checkout) / "rules/cloud/aws/cloudtrail").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        rules.append((path.name, doc))
    return rules


def items_of(search):
    """A search as a list of alternatives (OR), each a list of (field, modifiers, values)."""
    maps = search if isinstance(search, list) else [search]
    out = []
    for m in maps:
        if not isinstance(m, dict):
            out.append([(None, [], [m])])
            continue
        alt = []
        for key, value in m.items():
            field, *mods = key.split("|")
            alt.append((field or None, mods, value if isinstance(value, list) else [value]))
        out.append(alt)
    return out


def filler(rng, n=None):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(n or rng.randint(1, 8)))


def recase(rng, s):
    mode = rng.random()
    if mode < 0.5:
        return s
    if mode < 0.7:
        return s.upper()
    if mode < 0.85:
        return s.lower()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)


def concrete(rng, value):
    """A text matching a Sigma string: wildcards filled in, escapes resolved."""
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(value[i + 1])
            i += 2
            continue
        out.append(filler(rng) if c == "*" else filler(rng, 1) if c == "?" else c)
        i += 1
    return "".join(out)


REGEX_EXAMPLES = {
    ".+:assumed-role/aws:.+": [
        "arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0abc123",
        "arn:aws:sts::123456789012:assumed-role/AWS:ec2-instance/i-0abc123",
        "arn:aws:sts::123456789012:assumed-role/aws-ec2/i-1",
        "arn:aws:iam::123456789012:user/aws:x",
    ],
}


def matching(rng, mods, values):
    """A value satisfying `field|mods: values` (the caller handles fieldref and exists)."""
    if "re" in mods:
        return rng.choice(REGEX_EXAMPLES.get(str(values[0]), ["x"]))
    chosen = values if "all" in mods else [rng.choice(values)]
    if chosen == [None]:
        return None
    parts = [recase(rng, concrete(rng, str(v))) for v in chosen]
    text = filler(rng).join(parts) if len(parts) > 1 else parts[0]
    if "contains" in mods or "all" in mods:
        text = filler(rng) + text + filler(rng) if rng.random() < 0.7 else text
    elif "startswith" in mods:
        text = text + (filler(rng) if rng.random() < 0.7 else "")
    elif "endswith" in mods:
        text = (filler(rng) if rng.random() < 0.7 else "") + text
    if isinstance(values[0], bool) and rng.random() < 0.5:
        return values[0]
    return text


def mutate(rng, mods, values, pool):
    """A value that probably does not satisfy the item, or "missing"."""
    choice = rng.random()
    if all(isinstance(v, str) and set(v) <= {"*"} for v in values):
        return rng.choice(["missing", None])
    base = matching(rng, mods, values)
    if choice < 0.2 or base is None:
        return "missing"
    if choice < 0.3:
        return None
    if choice < 0.45:
        return ""
    if choice < 0.65 and isinstance(base, str) and base:
        i = rng.randrange(len(base))
        return base[:i] + rng.choice("xyz#") + base[i + 1:]
    if choice < 0.8 and isinstance(base, str):
        return filler(rng) + base
    return rng.choice(pool)


def set_path(event, field, value):
    parts = field.split(".")
    node = event
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    if value == "missing":
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def get_path(event, field):
    node = event
    for p in field.split("."):
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def place(rng, event, field, value):
    """Stores a value, shaped as CloudTrail shapes the field."""
    if field in ("requestParameters", "responseElements"):
        if value in (None, "missing"):
            set_path(event, field, value)
            return
        # Text in quotes becomes a JSON string of its own, so the object's JSON text holds it
        # with its quotes (inside a longer string they would be escaped).
        pieces = value if isinstance(value, list) else [value]
        for piece in pieces:
            if isinstance(piece, str) and len(piece) > 1 and piece[0] == piece[-1] == '"' and rng.random() < 0.8:
                piece = piece[1:-1]
            key = rng.choice(["status", "detail", "VersioningConfiguration.Status", "note", "policy.Statement.Effect", "policy.Statement.Resource", "policy.Statement.Action"])
            set_path(event, f"{field}.{key}", piece)
        return
    if field == "requestParameters.containerDefinitions.command" and value not in (None, "missing"):
        defs = [{"name": "app", "command": ["nginx", "-g", "daemon off;"]}]
        defs.insert(rng.randrange(2), {"name": "side", "command": ["sh", "-c", value]})
        set_path(event, "requestParameters.containerDefinitions", defs)
        return
    if field == "requestParameters.layers" and value not in (None, "missing"):
        other = f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:base:3"
        set_path(event, field, rng.choice([[value], [other, value], [value, other]]))
        return
    set_path(event, field, value)


def skeleton(rng, n, sources, names):
    kind = rng.choice(["IAMUser", "AssumedRole", "Root", "AWSService", "IAMUser"])
    ident = {"type": kind, "accountId": ACCOUNT}
    if kind == "IAMUser":
        name = rng.choice(["alice", "bob", "Carol"])
        ident.update(userName=name, arn=f"arn:aws:iam::{ACCOUNT}:user/{name}")
    elif kind == "AssumedRole":
        ident.update(arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{rng.choice(['Admin', 'aws:ec2-instance'])}/s{n}",
                     sessionContext={"sessionIssuer": {"type": rng.choice(["Role", "Role", "AWSAccount"]), "userName": "Admin"}})
    elif kind == "Root":
        ident.update(arn=f"arn:aws:iam::{ACCOUNT}:root")
    else:
        ident.update(invokedBy=rng.choice(["config.amazonaws.com", "ssm.amazonaws.com"]))
    event = {
        "eventVersion": "1.08",
        "eventTime": f"2024-06-{1 + n // 86400 % 28:02d}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "eventID": f"c{n:05d}",
        "eventSource": rng.choice(sources),
        "eventName": rng.choice(names),
        "awsRegion": rng.choice(["us-east-1", "eu-west-1"]),
        "sourceIPAddress": rng.choice(IPS),
        "userAgent": rng.choice(USER_AGENTS),
        "userIdentity": ident,
        "eventType": rng.choice(["AwsApiCall", "AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn"]),
        "recipientAccountId": ACCOUNT,
    }
    error = rng.choice(ERRORS)
    if error != "missing":
        event["errorCode"] = error
        if error and rng.random() < 0.7:
            event["errorMessage"] = rng.choice(["Failed authentication", "Access Denied", ""])
    if rng.random() < 0.5:
        event["requestParameters"] = {"userName": rng.choice(["alice", "bob", "ALICE"])}
    if rng.random() < 0.3:
        event["responseElements"] = {"ConsoleLogin": rng.choice(["Success", "Failure"]), "accessKey": {"userName": rng.choice(["alice", "bob"])}}
    return event


def satisfy(rng, event, alt, pool, break_one):
    """Makes one alternative of a search hold, or (break_one) hold but for one item."""
    broken = rng.randrange(len(alt)) if break_one else -1
    refs = []
    for i, (field, mods, values) in enumerate(alt):
        if field is None:
            continue
        if "fieldref" in mods:
            refs.append((i == broken, field, str(values[0])))
            continue
        if "exists" in mods:
            want = bool(values[0]) != (i == broken)
            place(rng, event, field, rng.choice(pool) if want else "missing")
            continue
        if field in ("requestParameters", "responseElements") and i != broken:
            chosen = values if "all" in mods else [rng.choice(values)]
            place(rng, event, field, [recase(rng, concrete(rng, str(v))) for v in chosen])
            continue
        value = mutate(rng, mods, values, pool) if i == broken else matching(rng, mods, values)
        place(rng, event, field, value)
    for broken_ref, field, other in refs:
        theirs = get_path(event, other)
        if theirs is None:
            theirs = rng.choice(pool)
            set_path(event, other, theirs)
        value = mutate(rng, [], [str(theirs)], pool) if broken_ref else recase(rng, str(theirs))
        set_path(event, field, value)


def generate(checkout, per_rule=40, seed=20240501):
    rng = random.Random(seed)
    rules = load_rules(checkout)
    sources, names, pool = set(), set(), set()
    for _, doc in rules:
        for key, search in doc["detection"].items():
            if key == "condition":
                continue
            for alt in items_of(search):
                for field, mods, values in alt:
                    for v in values:
                        if field == "eventSource" and isinstance(v, str):
                            sources.add(v)
                        elif field == "eventName" and isinstance(v, str):
                            names.add(v)
                        elif isinstance(v, str) and "re" not in mods:
                            pool.add(concrete(rng, v))
    sources, names, pool = sorted(sources), sorted(names), sorted(pool)
    events = []
    for _, doc in rules:
        searches = {k: items_of(v) for k, v in doc["detection"].items() if k != "condition"}
        for _ in range(per_rule):
            event = skeleton(rng, len(events), sources, names)
            for name, alts in searches.items():
                # Filters are broken more often, so that `selection and not filter` also holds.
                roll = rng.random()
                if roll < 0.1:
                    continue
                broken = roll < (0.75 if name.startswith("filter") else 0.35)
                satisfy(rng, event, rng.choice(alts), pool, break_one=broken)
            events.append(event)
    for _ in range(per_rule * 5):
        event = skeleton(rng, len(events), sources, names)
        _, doc = rng.choice(rules)
        for alts in [items_of(v) for k, v in doc["detection"].items() if k != "condition"]:
            satisfy(rng, event, rng.choice(alts), pool, break_one=rng.random() < 0.5)
        events.append(event)
    return events


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", help="a SigmaHQ/sigma checkout")
    parser.add_argument("out", help="NDJSON file to write")
    parser.add_argument("--per-rule", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()
    events = generate(args.checkout, args.per_rule, args.seed)
    with open(args.out, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(events)} events to {args.out}")


if __name__ == "__main__":
    main()

"""The oracle: which CloudTrail events pySigma's SQLite backend selects for a Sigma rule.

Shared by gen_golden.py (the differential golden set) and sigmahq_compare.py (the SigmaHQ
acceptance check). Requirements: `pip install pysigma pysigma-backend-sqlite pyyaml`.

Each rule is converted with `sqliteBackend(fulltext_field="_fulltext")` and the SQL runs on an
in-memory table laid out as Zircolite lays out events: one `TEXT COLLATE NOCASE` column per
dotted field name, NULL for a missing key or JSON null. Values are stored as the text
trailwatch matches them as: strings as they are, numbers and booleans as their JSON text,
objects as compact JSON with sorted keys. `_fulltext` (keyword search) holds every scalar of
the record but the top-level `p_` fields, one per line.

Lists: a field name steps into every element of a list it meets, and a list it ends on is
matched element by element. A table cell holds one value, so an event whose field reaches
several values becomes several rows (their cross product). An event is selected when any of
its rows is, or, when the multi-valued fields appear only under `not`, when all of its rows
are: both equal "a list matches when any element matches" when each multi-valued field is
used once in the rule. Events that break that condition, or whose field is an empty list
(present, with no value to put in a cell), are refused with an error: the corpus must not
contain them.
"""
import copy
import itertools
import json
import re
import sqlite3

import yaml
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionNOT
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import ValueListPlaceholderTransformation
from sigma.types import SigmaFieldReference

FULLTEXT = "_fulltext"
EVENT = "_event"


class OracleError(Exception):
    pass


def text(value):
    """The text trailwatch matches a scalar or object as; None for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def reach(event, field):
    """(present, leaves): whether the key is there, and the values a dotted name reaches."""
    found = []

    def walk(value, parts):
        if not parts:
            found.append(value)
            return
        if isinstance(value, dict):
            if parts[0] in value:
                walk(value[parts[0]], parts[1:])
        elif isinstance(value, list):
            for item in value:
                walk(item, parts)

    walk(event, field.split("."))
    leaves = []

    def flatten(value):
        if isinstance(value, list):
            for item in value:
                flatten(item)
        else:
            leaves.append(value)

    for value in found:
        flatten(value)
    return bool(found), leaves


def fulltext(event):
    out = []

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif value is not None:
            out.append(text(value))

    for key, value in event.items():
        if not key.startswith("p_"):
            walk(value)
    return "\n".join(out)


def prepare(rule_text):
    """The rule as pySigma reads it, and a pipeline for its trailwatch placeholders.

    trailwatch's own keys are dropped; `utf16le` (the specification's name, absent from
    pySigma 2.0) is rewritten to its alias `wide`."""
    doc = yaml.safe_load(rule_text)
    ext = doc.pop("trailwatch", None) or {}
    doc.pop("tests", None)
    for name, search in list(doc["detection"].items()):
        if name == "condition":
            continue
        maps = search if isinstance(search, list) else [search]
        for m in maps:
            if isinstance(m, dict):
                for key in list(m):
                    if "|utf16le" in key:
                        m[key.replace("|utf16le", "|wide")] = m.pop(key)
    placeholders = {k: v if isinstance(v, list) else [v] for k, v in (ext.get("placeholders") or {}).items()}
    pipeline = ProcessingPipeline(
        [ProcessingItem(ValueListPlaceholderTransformation())], vars=placeholders
    ) if placeholders else None
    return doc, pipeline


def polarity(cond, negated=False, out=None):
    """field -> list of polarities (True: under an odd number of `not`) of its uses."""
    if out is None:
        out = {}
    if isinstance(cond, ConditionFieldEqualsValueExpression):
        out.setdefault(cond.field, []).append(negated)
        if isinstance(cond.value, SigmaFieldReference):
            out.setdefault(cond.value.field, []).append(negated)
        return out
    if isinstance(cond, ConditionNOT):
        negated = not negated
    for arg in getattr(cond, "args", []):
        polarity(arg, negated, out)
    return out


def quote(name):
    return '"' + name.replace('"', '""') + '"'


class Rule:
    def __init__(self, rule_text):
        doc, pipeline = prepare(rule_text)
        self.id = str(doc.get("id"))
        collection = SigmaCollection.from_dicts([copy.deepcopy(doc)])
        backend = sqliteBackend(pipeline, fulltext_field=FULLTEXT)
        self.rule = collection.rules[0]
        self.queries = backend.convert_rule(self.rule)
        self.fields = [f for f in backend.required_fields(self.rule) if f != FULLTEXT]
        self.uses = {}
        for cond in self.rule.detection.parsed_condition:
            for field, pols in polarity(cond.parsed).items():
                self.uses.setdefault(field, []).extend(pols)
        lower = {}
        for f in self.fields:
            if f.lower() in lower and lower[f.lower()] != f:
                raise OracleError(f"fields {f} and {lower[f.lower()]} differ only in case")
            lower[f.lower()] = f

    def rows(self, event):
        """The rows of one event and whether it needs all of them (True) or any (False)."""
        columns = []
        multi = []
        for field in self.fields:
            present, leaves = reach(event, field)
            if present and not leaves:
                raise OracleError(f"field {field} is an empty list: the table cannot hold it")
            values = [text(v) for v in leaves] or [None]
            if len(values) > 1:
                multi.append(field)
            columns.append(values)
        needs_all = False
        if multi:
            pols = [p for f in multi for p in self.uses.get(f, [])]
            if any(len(self.uses.get(f, [])) != 1 for f in multi) or len(set(pols)) > 1:
                raise OracleError(
                    f"multi-valued field(s) {multi} are used more than once or under mixed negation"
                )
            needs_all = pols[0]
        full = fulltext(event)
        return [list(r) + [full] for r in itertools.product(*columns)], needs_all

    def select(self, events):
        """The eventIDs of `events` the rule selects."""
        db = sqlite3.connect(":memory:")
        db.create_function(
            "regexp", 2, lambda p, v: v is not None and re.search(p, str(v)) is not None
        )
        cols = self.fields + [FULLTEXT]
        db.execute(
            "CREATE TABLE logs ("
            + ", ".join(f"{quote(c)} TEXT COLLATE NOCASE" for c in cols)
            + f", {EVENT} INTEGER)"
        )
        needs = {}
        totals = {}
        for i, event in enumerate(events):
            rows, needs[i] = self.rows(event)
            totals[i] = len(rows)
            db.executemany(
                f"INSERT INTO logs VALUES ({', '.join('?' for _ in cols)}, ?)",
                [r + [i] for r in rows],
            )
        hits = {}
        for query in self.queries:
            where = query.split(" WHERE ", 1)[1]
            for event, count in db.execute(
                f"SELECT {EVENT}, COUNT(*) FROM logs WHERE ({where}) GROUP BY {EVENT}"
            ):
                hits[event] = max(hits.get(event, 0), count)
        selected = []
        for i, event in enumerate(events):
            n = hits.get(i, 0)
            if (n == totals[i]) if needs[i] else (n > 0):
                selected.append(event["eventID"])
        return selected

//! [`Matcher`]: a Sigma rule's detection, compiled; the [`Detection`] behind `Expr::External`.
//!
//! Searches are trees of detection items (a map is AND, a list is OR); the condition is a
//! [`Logic`] tree over search indices, the condition list an OR of them. The matcher also
//! answers the questions the rule set asks of every rule: which key paths it reads (for the
//! decoding projection; a keyword search reads everything) and which `eventSource` /
//! `eventName` strings it requires (for the index; only exact-case equalities qualify, since
//! index lookups are exact).

use super::condition::Logic;
use super::item::{Item, Test};
use crate::event::document::Document;
use crate::rule::external::Detection;
use crate::rule::keypath::KeyPath;
use serde_json::Value;
use std::collections::BTreeSet;

/// A search identifier's body.
#[derive(Debug, Clone)]
pub enum Node {
    /// A map: every item holds.
    All(Vec<Node>),
    /// A list: some element holds.
    Any(Vec<Node>),
    Item(Item),
}

impl Node {
    pub fn matches<D: Document + ?Sized>(&self, event: &D) -> bool {
        match self {
            Node::All(c) => c.iter().all(|n| n.matches(event)),
            Node::Any(c) => c.iter().any(|n| n.matches(event)),
            Node::Item(item) => item.matches(event),
        }
    }

    fn items<'a>(&'a self, out: &mut Vec<&'a Item>) {
        match self {
            Node::All(c) | Node::Any(c) => c.iter().for_each(|n| n.items(out)),
            Node::Item(item) => out.push(item),
        }
    }
}

/// A compiled Sigma detection.
#[derive(Debug)]
pub struct Matcher {
    searches: Vec<(String, Node)>,
    logic: Logic,
    conditions: Vec<String>,
    paths: Vec<KeyPath>,
    /// Exact-case pins for `eventSource` and `eventName`.
    pins: [Option<Vec<String>>; 2],
}

const INDEXED: [&str; 2] = ["eventSource", "eventName"];

impl Matcher {
    /// Builds the matcher from resolved searches and the condition list (OR of `logic`).
    pub fn new(searches: Vec<(String, Node)>, logic: Logic, conditions: Vec<String>) -> Matcher {
        let mut items = Vec::new();
        searches.iter().for_each(|(_, n)| n.items(&mut items));
        let mut paths: Vec<KeyPath> = Vec::new();
        for item in &items {
            if item.field.is_none() {
                // A keyword search reads every value of the record.
                paths.push(KeyPath::root_value());
            }
            for f in item.fields() {
                if !paths.contains(f.key_path()) {
                    paths.push(f.key_path().clone());
                }
            }
        }
        let mut m = Matcher {
            searches,
            logic,
            conditions,
            paths,
            pins: [None, None],
        };
        for (i, field) in INDEXED.iter().enumerate() {
            m.pins[i] = m
                .required(&m.logic, field, true)
                .map(|s| s.into_iter().collect());
        }
        m
    }

    fn eval<D: Document + ?Sized>(&self, logic: &Logic, event: &D) -> bool {
        match logic {
            Logic::Search(i) => self.searches[*i].1.matches(event),
            Logic::Not(inner) => !self.eval(inner, event),
            Logic::And(c) => c.iter().all(|l| self.eval(l, event)),
            Logic::Or(c) => c.iter().any(|l| self.eval(l, event)),
        }
    }

    /// The literal set `field` is required to equal under `logic`, or `None` when unconstrained.
    fn required(&self, logic: &Logic, field: &str, exact: bool) -> Option<BTreeSet<String>> {
        match logic {
            Logic::Search(i) => node_required(&self.searches[*i].1, field, exact),
            Logic::Not(_) => None,
            Logic::And(c) => c.iter().find_map(|l| self.required(l, field, exact)),
            Logic::Or(c) => union(c.iter().map(|l| self.required(l, field, exact))),
        }
    }
}

/// What the rule core asks of a Sigma detection; it reaches the matcher only through this.
impl Detection for Matcher {
    fn matches(&self, event: &dyn Document) -> bool {
        self.eval(&self.logic, event)
    }

    /// Every key path the detection reads (the empty path for a keyword search).
    fn for_each_path<'a>(&'a self, visit: &mut dyn FnMut(&'a KeyPath)) {
        self.paths.iter().for_each(visit);
    }

    /// The strings top-level `field` must equal exactly, when every match requires one of them
    /// (a `cased` equality, or a literal without letters, not negated). For the index.
    fn pinned(&self, field: &str) -> Option<Vec<&str>> {
        let i = INDEXED.iter().position(|f| *f == field)?;
        self.pins[i]
            .as_ref()
            .map(|v| v.iter().map(String::as_str).collect())
    }

    /// Sigma equalities ignore case unless `|cased`: the required values, folded, let the
    /// folded index find the rule all the same.
    fn pinned_folded(&self, field: &str) -> Option<Vec<String>> {
        let values = self.required_values(field);
        (!values.is_empty() && values.iter().all(|v| v.is_ascii()))
            .then(|| values.iter().map(|v| v.to_ascii_lowercase()).collect())
    }

    /// The values `field` must equal, case-insensitive equalities included, for the catalog's
    /// "action" of a rule (`rules list --event-name`). Empty when unconstrained.
    fn required_values(&self, field: &str) -> Vec<String> {
        self.required(&self.logic, field, false)
            .map(|s| s.into_iter().collect())
            .unwrap_or_default()
    }

    /// The condition and searches as indented lines, for `trailwatch rules show`.
    fn render(&self, depth: usize, lines: &mut Vec<String>) {
        let pad = "  ".repeat(depth);
        for c in &self.conditions {
            lines.push(format!("{pad}condition: {c}"));
        }
        for (name, node) in &self.searches {
            lines.push(format!("{pad}{name}:"));
            render_node(node, depth + 1, lines);
        }
    }

    /// `(field, operator, value)` for every value of every item, for the catalog.
    fn indicators(&self) -> Vec<(String, String, String)> {
        let mut items = Vec::new();
        self.searches.iter().for_each(|(_, n)| n.items(&mut items));
        let mut out = Vec::new();
        for item in items {
            let field = item
                .field
                .as_ref()
                .map_or("(keyword)".to_string(), |f| f.name().to_string());
            let encoded = item.key.split('|').skip(1).any(|m| {
                matches!(
                    m,
                    "base64"
                        | "base64offset"
                        | "utf16le"
                        | "utf16be"
                        | "utf16"
                        | "wide"
                        | "windash"
                        | "expand"
                )
            });
            for (tests, shown) in item.values.iter().zip(&item.shown) {
                let mut op = match (encoded, tests.first()) {
                    (true, _) => item.key.split('|').skip(1).collect::<Vec<_>>().join("|"),
                    (false, Some(t)) => t.operator().to_string(),
                    (false, None) => continue,
                };
                if item.negate {
                    op = format!("not_{op}");
                }
                let value = match tests.first() {
                    Some(Test::FieldRef(other, ..)) => format!("{{{}}}", other.name()),
                    Some(Test::Null | Test::Exists(_)) => String::new(),
                    _ => shown.clone(),
                };
                out.push((field.clone(), op, value));
            }
        }
        out
    }
}

fn union(sets: impl Iterator<Item = Option<BTreeSet<String>>>) -> Option<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for s in sets {
        all.extend(s?);
    }
    Some(all)
}

fn node_required(node: &Node, field: &str, exact: bool) -> Option<BTreeSet<String>> {
    match node {
        Node::All(c) => c.iter().find_map(|n| node_required(n, field, exact)),
        Node::Any(c) => union(c.iter().map(|n| node_required(n, field, exact))),
        Node::Item(item) => {
            let f = item.field.as_ref()?;
            if f.name() != field || item.negate || (item.all && item.values.len() > 1) {
                return None;
            }
            let mut set = BTreeSet::new();
            for t in item.values.iter().flatten() {
                let Test::Text(p) = t else { return None };
                let literal = p.exact()?;
                let caseless = literal
                    .chars()
                    .all(|c| c.is_ascii() && !c.is_ascii_alphabetic());
                if exact && !p.is_cased() && !caseless {
                    return None;
                }
                set.insert(literal.to_string());
            }
            Some(set)
        }
    }
}

fn render_node(node: &Node, depth: usize, lines: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    match node {
        Node::All(c) => c.iter().for_each(|n| render_node(n, depth, lines)),
        Node::Any(c) => {
            lines.push(format!("{pad}any of:"));
            for n in c {
                match n {
                    Node::All(items) if items.len() > 1 => {
                        lines.push(format!("{pad}  all of:"));
                        items.iter().for_each(|i| render_node(i, depth + 2, lines));
                    }
                    other => render_node(other, depth + 1, lines),
                }
            }
        }
        Node::Item(item) => {
            let key = if item.key.is_empty() {
                "(keywords)"
            } else {
                &item.key
            };
            let values = match item.shown.as_slice() {
                [one] => Value::from(one.as_str()).to_string(),
                many => Value::from(many.to_vec()).to_string(),
            };
            lines.push(format!("{pad}{key}: {values}"));
        }
    }
}

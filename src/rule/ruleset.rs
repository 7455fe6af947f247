//! `RuleSet`: the loaded rules, indexed for the hot path.
//!
//! Most rules pin `eventSource` and `eventName` with `Equals` or `IsIn`. The set indexes
//! rules by those constants so an event is tested only against its candidates: rules pinned
//! to its (source, name) pair, to its source alone, to its name alone, and the few rules that
//! pin neither. The set also knows every top-level field its rules read, which is the
//! [`Layout`] the record scanner locates. A `RuleSet` is immutable; a reload builds a new one.
//!
//! The maps use `FxHash`: their keys are short service and API names from our own records
//! and rules, and a lookup per record is on the hot path, so SipHash's flood resistance buys
//! nothing here and costs a measurable share.

use super::compile::{Rule, CLOUDTRAIL};
use super::expr::Expr;
use super::plan::plan;
use crate::event::document::Document;
use crate::event::lazy::Layout;
use crate::event::pfields;
use rustc_hash::FxHashMap as HashMap;

/// Top-level fields every record is scanned for, whatever the rules read: the index keys and
/// what the alert stage needs to place an event in time.
pub const ALWAYS_DECODED: [&str; 3] = ["eventSource", "eventName", "eventTime"];

/// Rules keyed by the (source, name) pair, by source alone, by name alone.
#[derive(Debug, Default)]
struct Index {
    by_pair: HashMap<String, HashMap<String, Vec<usize>>>,
    by_source: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Index {
    fn is_empty(&self) -> bool {
        self.by_pair.is_empty() && self.by_source.is_empty() && self.by_name.is_empty()
    }

    fn add(
        &mut self,
        rule: usize,
        sources: Option<Vec<String>>,
        names: Option<Vec<String>>,
    ) -> bool {
        match (sources, names) {
            (Some(sources), Some(names)) => {
                for s in sources {
                    let by_name = self.by_pair.entry(s).or_default();
                    for n in &names {
                        by_name.entry(n.clone()).or_default().push(rule);
                    }
                }
            }
            (Some(sources), None) => sources
                .into_iter()
                .for_each(|s| self.by_source.entry(s).or_default().push(rule)),
            (None, Some(names)) => names
                .into_iter()
                .for_each(|n| self.by_name.entry(n).or_default().push(rule)),
            (None, None) => return false,
        }
        true
    }

    fn lookup<'a>(
        &'a self,
        source: Option<&str>,
        name: Option<&str>,
    ) -> [Option<&'a Vec<usize>>; 3] {
        let pair = source
            .and_then(|s| self.by_pair.get(s))
            .and_then(|m| name.and_then(|n| m.get(n)));
        [
            pair,
            source.and_then(|s| self.by_source.get(s)),
            name.and_then(|n| self.by_name.get(n)),
        ]
    }
}

/// ASCII-lower-cases `text` into `buf` without allocating; `None` when it does not fit or is
/// not ASCII (such a value cannot equal an indexed, ASCII, pin anyway).
fn fold<'b>(text: &str, buf: &'b mut [u8; 128]) -> Option<&'b str> {
    let bytes = text.as_bytes();
    if !text.is_ascii() || bytes.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(bytes) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..bytes.len()]).ok()
}

#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    exact: Index,
    unindexed: Vec<usize>,
    /// The same three maps for rules that pin the fields ignoring case (Sigma), keyed by the
    /// ASCII-lower-cased values.
    folded: Index,
    layout: Layout,
    /// Per evaluated rule, its detection as the hot path runs it (see [`super::plan`]).
    plans: Vec<Option<Expr>>,
}

impl RuleSet {
    /// Builds the set from compiled rules. Disabled rules and rules for other log types are
    /// kept (for `rules list`, `test`) but never evaluated.
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        let mut set = RuleSet {
            rules,
            ..RuleSet::default()
        };
        let mut layout = Layout::default();
        for name in ALWAYS_DECODED {
            layout.add(name);
        }
        for (i, rule) in set.rules.iter().enumerate() {
            if !rule.enabled || !rule.reads(CLOUDTRAIL) {
                continue;
            }
            // A path without a top-level field (a keyword search) reads the full decode,
            // which needs no slot.
            for path in rule.match_paths() {
                layout.add_path(path);
                // A derived p_ field reads other fields; locate them too.
                let derived_from = path.root().map_or(&[][..], pfields::reads);
                derived_from.iter().for_each(|r| layout.add(r));
            }
            let owned =
                |v: Option<Vec<&str>>| v.map(|v| v.into_iter().map(str::to_string).collect());
            let sources = rule.detection.pinned("eventSource");
            let names = rule.detection.pinned("eventName");
            let pinned: Vec<&str> = [("eventSource", &sources), ("eventName", &names)]
                .iter()
                .filter(|(_, pins)| pins.is_some())
                .map(|(field, _)| *field)
                .collect();
            let exact = set
                .exact
                .add(i, owned(sources.clone()), owned(names.clone()));
            // Only the exact index guarantees its pins; a folded or unindexed rule re-tests all.
            let guaranteed = if exact { &pinned[..] } else { &[] };
            set.plans.resize(i + 1, None);
            set.plans[i] = Some(plan(&rule.detection, guaranteed));
            if !exact
                && !set.folded.add(
                    i,
                    rule.detection.pinned_folded("eventSource"),
                    rule.detection.pinned_folded("eventName"),
                )
            {
                set.unindexed.push(i);
            }
        }
        set.layout = layout;
        set
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The top-level fields the rules read, for the record scanner.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Indices of the rules an event with this source and name could match.
    pub fn candidates<'a>(
        &'a self,
        source: Option<&str>,
        name: Option<&str>,
    ) -> impl Iterator<Item = usize> + 'a {
        let [pair, by_source, by_name] = self.exact.lookup(source, name);
        let [folded_pair, folded_source, folded_name] = if self.folded.is_empty() {
            [None, None, None]
        } else {
            let (mut sb, mut nb) = ([0u8; 128], [0u8; 128]);
            let s = source.and_then(|s| fold(s, &mut sb));
            let n = name.and_then(|n| fold(n, &mut nb));
            self.folded.lookup(s, n)
        };
        [
            pair,
            by_source,
            by_name,
            Some(&self.unindexed),
            folded_pair,
            folded_source,
            folded_name,
        ]
        .into_iter()
        .flatten()
        .flat_map(|v| v.iter().copied())
    }

    /// Appends to `out`, in rule order, the indices of the rules `event` matches. The index
    /// reads `eventSource` and `eventName` the way rules do (exact key, else ignoring case),
    /// so it never leaves out a rule that would match.
    pub fn matching<D: Document>(&self, event: &D, out: &mut Vec<usize>) {
        let source = event.text("eventSource");
        let name = event.text("eventName");
        let start = out.len();
        out.extend(self.candidates(source, name).filter(|&i| {
            let rule = &self.rules[i];
            let detection = self.plans.get(i).and_then(Option::as_ref);
            let detection = detection.unwrap_or(&rule.detection);
            rule.inline_filters
                .as_ref()
                .is_none_or(|f| f.matches_in(event))
                && detection.matches_in(event)
        }));
        out[start..].sort_unstable();
    }
}

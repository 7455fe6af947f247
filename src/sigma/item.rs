//! Detection items: one `field|modifiers: values` entry of a selection, compiled.
//!
//! An item is a field (none for a keyword search), a list of values linked by OR (AND with
//! `all`), and an optional negation (`neq`). Each value has become one or more [`Test`]s, the
//! alternatives a modifier such as `base64offset` or `expand` produces; a value holds when any
//! alternative does. Tests on a field's value hold when any leaf the field reaches passes
//! (see [`super::field`]); `null`, `exists` and `fieldref` look at the field as a whole.

use super::field::{self, with_text, FieldPath};
use super::wildcard::{fold, Pattern};
use crate::event::document::Document;
use crate::rule::compare::numeric_cmp;
use crate::rule::ip::{self, Cidr};
use regex::Regex;
use serde_json::Value;
use std::cmp::Ordering;

/// A compiled detection item.
#[derive(Debug, Clone)]
pub struct Item {
    /// The field, or `None` for a keyword search over the whole record.
    pub field: Option<FieldPath>,
    /// Each value's alternatives.
    pub values: Vec<Vec<Test>>,
    /// `all`: every value must hold (otherwise any).
    pub all: bool,
    /// `neq`: the item holds when the values do not.
    pub negate: bool,
    /// The key as written (`eventName|startswith`) and the values as written, for the catalog.
    pub key: String,
    pub shown: Vec<String>,
}

/// One test on a field.
#[derive(Debug, Clone)]
pub enum Test {
    /// `null`: the field is missing or null.
    Null,
    /// `exists: true|false`.
    Exists(bool),
    /// A string with wildcards, case-insensitive unless `cased` (or base64-encoded).
    Text(Pattern),
    /// `re`, searched anywhere in the text.
    Regex(Regex),
    /// `cidr`: the value is an IP address inside the range.
    Cidr(Cidr),
    /// `gt`, `gte`, `lt`, `lte`: numeric comparison with the operand.
    Compare(Ordering, bool, Value),
    /// `fieldref`: the value equals (or starts with, ends with, contains) another field's.
    FieldRef(FieldPath, RefMode, bool),
}

/// How a field reference compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefMode {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

impl Item {
    /// Evaluates the item on a record.
    pub fn matches<D: Document + ?Sized>(&self, event: &D) -> bool {
        let holds = if self.all {
            self.values
                .iter()
                .all(|alts| self.any_test(alts.iter(), event))
        } else {
            self.any_test(self.values.iter().flatten(), event)
        };
        holds != self.negate
    }

    /// True when one of `tests` holds. Tests on leaf values share one pass over the leaves.
    fn any_test<'a, D: Document + ?Sized>(
        &self,
        tests: impl Iterator<Item = &'a Test> + Clone,
        event: &D,
    ) -> bool {
        let Some(field) = &self.field else {
            return field::any_record_leaf(event.whole(), &mut |leaf| {
                with_text(leaf, |text| tests.clone().any(|t| t.on_leaf(leaf, text)))
                    .unwrap_or(false)
            });
        };
        if tests.clone().any(|t| t.on_field(field, event)) {
            return true;
        }
        if !tests.clone().any(Test::is_leaf_test) {
            return false;
        }
        field.any_leaf(event, &mut |leaf| {
            with_text(leaf, |text| tests.clone().any(|t| t.on_leaf(leaf, text))).unwrap_or(false)
        })
    }

    /// Every field the item reads.
    pub fn fields(&self) -> impl Iterator<Item = &FieldPath> {
        let refs = self.values.iter().flatten().filter_map(|t| match t {
            Test::FieldRef(other, ..) => Some(other),
            _ => None,
        });
        self.field.iter().chain(refs)
    }
}

impl Test {
    fn is_leaf_test(&self) -> bool {
        matches!(
            self,
            Test::Text(_) | Test::Regex(_) | Test::Cidr(_) | Test::Compare(..)
        )
    }

    /// Tests that look at the field as a whole.
    fn on_field<D: Document + ?Sized>(&self, field: &FieldPath, event: &D) -> bool {
        match self {
            Test::Null => !field.present(event) || field.any_leaf(event, &mut Value::is_null),
            Test::Exists(want) => field.present(event) == *want,
            Test::FieldRef(other, mode, cased) => field.any_leaf(event, &mut |left| {
                with_text(left, |a| {
                    other.any_leaf(event, &mut |right| {
                        with_text(right, |b| compare_texts(a, b, *mode, *cased)).unwrap_or(false)
                    })
                })
                .unwrap_or(false)
            }),
            _ => false,
        }
    }

    /// Tests on one non-null leaf and its text.
    fn on_leaf(&self, leaf: &Value, text: &str) -> bool {
        match self {
            Test::Text(p) => p.matches(text),
            Test::Regex(re) => re.is_match(text),
            Test::Cidr(net) => {
                leaf.is_string() && ip::parse_ip(text).is_some_and(|a| net.contains(a))
            }
            Test::Compare(order, or_equal, rhs) => match numeric_cmp(leaf, rhs) {
                Some(Ordering::Equal) => *or_equal,
                Some(o) => o == *order,
                None => false,
            },
            _ => false,
        }
    }

    /// The catalog's operator name.
    pub fn operator(&self) -> &'static str {
        match self {
            Test::Null => "is_null",
            Test::Exists(true) => "exists",
            Test::Exists(false) => "does_not_exist",
            Test::Text(p) => p.operator(),
            Test::Regex(_) => "matches_regex",
            Test::Cidr(_) => "is_ip_address_in_cidr",
            Test::Compare(Ordering::Greater, false, _) => "gt",
            Test::Compare(Ordering::Greater, true, _) => "ge",
            Test::Compare(Ordering::Less, false, _) => "lt",
            Test::Compare(_, true, _) => "le",
            Test::Compare(..) => "eq",
            Test::FieldRef(_, RefMode::Equals, false) => "ieq",
            Test::FieldRef(_, RefMode::Equals, true) => "eq",
            Test::FieldRef(_, RefMode::StartsWith, _) => "starts_with",
            Test::FieldRef(_, RefMode::EndsWith, _) => "ends_with",
            Test::FieldRef(_, RefMode::Contains, _) => "contains",
        }
    }
}

/// Compares two runtime texts for `fieldref`, folding both unless cased.
fn compare_texts(a: &str, b: &str, mode: RefMode, cased: bool) -> bool {
    if cased {
        return match mode {
            RefMode::Equals => a == b,
            RefMode::StartsWith => a.starts_with(b),
            RefMode::EndsWith => a.ends_with(b),
            RefMode::Contains => a.contains(b),
        };
    }
    if a.is_ascii() && b.is_ascii() {
        let (x, y) = (a.as_bytes(), b.as_bytes());
        return match mode {
            RefMode::Equals => x.eq_ignore_ascii_case(y),
            RefMode::StartsWith => x.len() >= y.len() && x[..y.len()].eq_ignore_ascii_case(y),
            RefMode::EndsWith => {
                x.len() >= y.len() && x[x.len() - y.len()..].eq_ignore_ascii_case(y)
            }
            RefMode::Contains => crate::rule::compare::ascii_icontains(x, y),
        };
    }
    // Fold each side once, then one linear search: comparing folded slices position by
    // position was cubic in the text length (a hostile pair of 2,400- and 1,200-character
    // fields took 38 s). A prefix or suffix of the folded text may now end inside a
    // character whose lower case is two characters (`İ`); no CloudTrail field cares.
    let (a, b) = (fold(a), fold(b));
    match mode {
        RefMode::Equals => a == b,
        RefMode::StartsWith => a.starts_with(&b),
        RefMode::EndsWith => a.ends_with(&b),
        RefMode::Contains => a.contains(&b),
    }
}

#[cfg(test)]
#[path = "item_tests.rs"]
mod tests;

//! [`LazyRecord`]: a record read where it lies, each top-level field decoded on first read.
//!
//! Most records match nothing, and the rules that are candidates for a record read a handful
//! of its fields, often only one before they fail. So the engine validates a record in one
//! pass that builds nothing ([`RecordScanner::scan`]): it remembers where each top-level field
//! the loaded rules can read lies (a byte span), and skips every other value. A field is
//! decoded into a `serde_json::Value` the first time a rule reads it, keeping only the paths
//! rules read below it (the [`Projection`] of the rule set), and kept for the rest of that
//! record; a field nobody reads is never decoded. `p_` fields are derived the same way,
//! one at a time, when a rule reads them ([`super::pfields::derive`]).
//!
//! Lookups answer exactly as they would on the fully decoded record (see
//! [`super::document::Document`]): an exact key wins (the last one, if a key repeats, as
//! `serde_json` keeps it); a key that matches only ignoring case sends the lookup to the full
//! decode, which is rare and always right.

use super::document::Document;
use super::pfields;
use super::projection::Projection;
use super::scan::RootScan;
use crate::rule::keypath::KeyPath;
use rustc_hash::FxHashMap;
use serde::de::Deserializer;
use serde_json::Value;
use std::cell::{Cell, OnceCell};

/// The top-level fields the loaded rules can read, each with a slot number.
#[derive(Debug, Default, Clone)]
pub struct Layout {
    pub(super) names: Vec<Box<str>>,
    exact: FxHashMap<Box<str>, usize>,
    /// ASCII-lower-cased name to the slots with that folded name (usually one).
    by_folded: FxHashMap<Box<str>, Vec<usize>>,
    /// The paths rules read below each field: a field is decoded keeping only those.
    paths: Projection,
}

impl Layout {
    /// Adds a key path rules read: its top-level field gets a slot, and decoding that field
    /// keeps the path. A path without a top-level field (a keyword search) reads the full
    /// decode and needs nothing here.
    pub fn add_path(&mut self, path: &KeyPath) {
        if let Some(root) = path.root() {
            self.ensure_slot(root);
            self.paths.add(path);
        }
    }

    /// Adds a top-level field, to be decoded in full when read.
    pub fn add(&mut self, name: &str) {
        self.ensure_slot(name);
        self.paths.add(&KeyPath::key(name));
    }

    fn ensure_slot(&mut self, name: &str) {
        if self.slot(name).is_some() {
            return;
        }
        let slot = self.names.len();
        self.names.push(name.into());
        self.exact.insert(name.into(), slot);
        self.by_folded
            .entry(name.to_ascii_lowercase().into())
            .or_default()
            .push(slot);
    }

    /// The slot of a field spelled exactly `name`.
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.exact.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The slots whose names equal `key` ignoring ASCII case. The key is folded on the stack.
    pub(super) fn folded_slots(&self, key: &str) -> &[usize] {
        let mut buf = [0u8; 64];
        let bytes = key.as_bytes();
        if bytes.len() > buf.len() {
            // Longer than any field a rule names in practice; fold on the heap (rare).
            return self
                .by_folded
                .get(key.to_ascii_lowercase().as_str())
                .map_or(&[], Vec::as_slice);
        }
        for (d, s) in buf.iter_mut().zip(bytes) {
            *d = s.to_ascii_lowercase();
        }
        // Lower-casing ASCII bytes keeps UTF-8 valid.
        let folded = std::str::from_utf8(&buf[..bytes.len()]).unwrap_or_default();
        self.by_folded.get(folded).map_or(&[], Vec::as_slice)
    }
}

/// What a scan found for each slot, reused from record to record so scanning allocates nothing.
#[derive(Default)]
pub struct RecordScanner {
    /// Byte range of the value of the (last) key spelled exactly as the slot's name.
    spans: Vec<Option<(usize, usize)>>,
    /// A key equal to the slot's name only ignoring case was seen.
    variant: Vec<bool>,
    /// Decoded (or derived) values, filled on first read.
    cells: Vec<OnceCell<Option<Value>>>,
    /// The value each slot held in an earlier record, kept so that a string field can be
    /// decoded into the same buffer again instead of a new allocation.
    spare: Vec<Cell<Option<Value>>>,
}

/// Why a record cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("record is not a JSON object")]
    NotAnObject,
}

impl RecordScanner {
    /// Validates `bytes` as one JSON object and locates the fields of `layout` in it. The
    /// returned record borrows this scanner; the next scan starts from a clean slate.
    pub fn scan<'r>(
        &'r mut self,
        layout: &'r Layout,
        bytes: &'r [u8],
    ) -> Result<LazyRecord<'r>, ScanError> {
        let n = layout.len();
        self.spans.clear();
        self.spans.resize(n, None);
        self.variant.clear();
        self.variant.resize(n, false);
        // The previous record's values become spares (a slot's last value is reused for its
        // next string; other kinds are dropped when replaced).
        self.cells.resize_with(n, OnceCell::new);
        self.spare.resize_with(n, Cell::default);
        for (cell, spare) in self.cells.iter_mut().zip(&self.spare) {
            if let Some(Some(value)) = cell.take() {
                spare.set(Some(value));
            }
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let is_object = de.deserialize_any(RootScan {
            layout,
            base: bytes.as_ptr() as usize,
            spans: &mut self.spans,
            variant: &mut self.variant,
        })?;
        de.end()?;
        if !is_object {
            return Err(ScanError::NotAnObject);
        }
        Ok(LazyRecord {
            bytes,
            layout,
            spans: &self.spans,
            variant: &self.variant,
            cells: &self.cells,
            spare: &self.spare,
            whole: OnceCell::new(),
            broken: Cell::new(None),
        })
    }
}

/// One record, validated, read field by field on demand.
pub struct LazyRecord<'r> {
    bytes: &'r [u8],
    layout: &'r Layout,
    spans: &'r [Option<(usize, usize)>],
    variant: &'r [bool],
    cells: &'r [OnceCell<Option<Value>>],
    spare: &'r [Cell<Option<Value>>],
    whole: OnceCell<Value>,
    /// The first decoding error met while reading (the scan validates syntax, but serde_json
    /// can still refuse a value while building it, e.g. a number out of range).
    broken: Cell<Option<&'static str>>,
}

static NULL: Value = Value::Null;

impl<'r> LazyRecord<'r> {
    /// The record's bytes.
    pub fn bytes(&self) -> &'r [u8] {
        self.bytes
    }

    /// A decoding error met while reading, if any; the record is then malformed.
    pub fn broken(&self) -> Option<&'static str> {
        self.broken.get()
    }

    fn decode(&self, slot: usize) -> Option<&Value> {
        let (start, end) = self.spans[slot]?;
        self.cells[slot]
            .get_or_init(|| {
                let raw = &self.bytes[start..end];
                if let Some(text) = plain_string(raw) {
                    // Most fields rules read are strings without escapes: copy them into
                    // the slot's buffer from an earlier record, so no allocation once warm.
                    return Some(match self.spare[slot].take() {
                        Some(Value::String(mut buf)) => {
                            buf.clear();
                            buf.push_str(text);
                            Value::String(buf)
                        }
                        _ => Value::String(text.to_string()),
                    });
                }
                match self
                    .layout
                    .paths
                    .decode_field(&self.layout.names[slot], raw)
                {
                    Ok(v) => Some(v),
                    Err(_) => {
                        self.broken.set(Some("a field does not decode"));
                        None
                    }
                }
            })
            .as_ref()
    }

    fn derived(&self, slot: usize, name: &str) -> Option<&Value> {
        self.cells[slot]
            .get_or_init(|| pfields::derive(name, self, self.bytes))
            .as_ref()
    }
}

impl Document for LazyRecord<'_> {
    fn as_value(&self) -> Option<&Value> {
        None
    }

    fn field(&self, name: &str) -> Option<&Value> {
        let Some(slot) = self.layout.slot(name) else {
            // A name no loaded rule reads: answer from the full decode.
            return self.whole().field(name);
        };
        if self.spans[slot].is_some() {
            return self.decode(slot);
        }
        if name.starts_with("p_") {
            if let Some(v) = self.derived(slot, name) {
                return Some(v);
            }
        }
        if self.variant[slot] {
            return self.whole().field(name);
        }
        None
    }

    fn field_exact(&self, name: &str) -> Option<&Value> {
        match self.layout.slot(name) {
            Some(slot) => self.decode(slot),
            None => self.whole().field_exact(name),
        }
    }

    /// The text of a string field straight from the bytes, when it is spelled exactly and
    /// holds no escape (the index reads `eventSource` and `eventName` of every record this
    /// way, without decoding them); otherwise the decoded string.
    fn text(&self, name: &str) -> Option<&str> {
        if let Some((start, end)) = self.layout.slot(name).and_then(|s| self.spans[s]) {
            if let Some(text) = plain_string(&self.bytes[start..end]) {
                return Some(text);
            }
        }
        self.field(name)?.as_str()
    }

    fn whole(&self) -> &Value {
        self.whole
            .get_or_init(|| match serde_json::from_slice(self.bytes) {
                Ok(v) => v,
                Err(_) => {
                    self.broken.set(Some("the record does not decode"));
                    NULL.clone()
                }
            })
    }
}

/// The text of a JSON string value without escapes, borrowed from its bytes. The scan
/// validated the span as one JSON value, so quotes at both ends make it a string whose inside
/// is valid UTF-8 with no control characters.
fn plain_string(raw: &[u8]) -> Option<&str> {
    if raw.len() >= 2 && raw[0] == b'"' && memchr::memchr(b'\\', raw).is_none() {
        std::str::from_utf8(&raw[1..raw.len() - 1]).ok()
    } else {
        None
    }
}

#[cfg(test)]
#[path = "lazy_tests.rs"]
mod tests;

//! The validating pass of [`super::lazy::RecordScanner::scan`]: one walk over a record's
//! top-level object that checks its JSON syntax, builds nothing, and notes the byte span of
//! each key the [`Layout`] has a slot for. Values of other keys are skipped with `IgnoredAny`;
//! kept values are taken as borrowed `&RawValue`s, whose position in the record is the span.

use super::lazy::Layout;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// The validating pass over the top-level object.
pub(super) struct RootScan<'s> {
    pub(super) layout: &'s Layout,
    /// The address of the record's first byte (spans are offsets from it).
    pub(super) base: usize,
    pub(super) spans: &'s mut [Option<(usize, usize)>],
    pub(super) variant: &'s mut [bool],
}

impl<'de> Visitor<'de> for RootScan<'_> {
    /// True when the record is an object.
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(hit) = map.next_key_seed(KeySeed(self.layout))? {
            match hit {
                Hit::Exact(slot, variants) => {
                    let raw: &'de RawValue = map.next_value()?;
                    let start = raw.get().as_ptr() as usize - self.base;
                    self.spans[slot] = Some((start, start + raw.get().len()));
                    variants.iter().for_each(|&s| self.variant[s] |= s != slot);
                }
                Hit::Variant(variants) => {
                    variants.iter().for_each(|&s| self.variant[s] = true);
                    map.next_value::<IgnoredAny>()?;
                }
                Hit::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(true)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// What a top-level key is to the layout.
enum Hit<'l> {
    /// The key is slot `.0`'s name exactly; `.1` are the slots equal to it ignoring case.
    Exact(usize, &'l [usize]),
    /// Equal to these slots' names only ignoring case.
    Variant(&'l [usize]),
    Skip,
}

/// Classifies a key without allocating (keys arrive borrowed unless they hold escapes).
struct KeySeed<'l>(&'l Layout);

impl<'de, 'l> DeserializeSeed<'de> for KeySeed<'l> {
    type Value = Hit<'l>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Hit<'l>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'l> Visitor<'de> for KeySeed<'l> {
    type Value = Hit<'l>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Hit<'l>, E> {
        let slots = self.0.folded_slots(key);
        if slots.is_empty() {
            return Ok(Hit::Skip);
        }
        Ok(
            match slots.iter().copied().find(|&s| &*self.0.names[s] == key) {
                Some(slot) => Hit::Exact(slot, slots),
                None => Hit::Variant(slots),
            },
        )
    }
}

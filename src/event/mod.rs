//! CloudTrail events: reading files ([`reader`]), how rules read a record ([`document`]), a
//! record read in place with each field decoded on first read ([`lazy`]), Panther's `p_`
//! fields ([`pfields`]) and timestamps ([`time`]). [`projection`] is the trie of paths rules
//! read; a lazily read field is decoded through it, keeping only those paths.

pub mod document;
pub mod lazy;
pub mod pfields;
pub mod projection;
pub mod reader;
mod scan;
pub mod time;
pub mod udm;

//! CloudTrail events: reading files ([`reader`]), how rules read a record ([`document`]), a
//! record read in place with each field decoded on first read ([`lazy`]), Panther's `p_`
//! fields ([`pfields`]) and timestamps ([`time`]). [`projection`] (a decode of chosen paths
//! into a `Value`) is no longer on the hot path.

pub mod document;
pub mod lazy;
pub mod pfields;
pub mod projection;
pub mod reader;
mod scan;
pub mod time;
pub mod udm;

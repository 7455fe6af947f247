//! CloudTrail events: reading files ([`reader`]), decoding only what rules read
//! ([`projection`]), Panther's `p_` fields ([`pfields`]) and timestamps ([`time`]).

pub mod pfields;
pub mod projection;
pub mod reader;
pub mod time;
pub mod udm;

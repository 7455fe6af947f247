//! The rule catalog: what `trailwatch rules list|show|coverage` tells about a loaded pack.

pub mod attack;
pub mod logic;

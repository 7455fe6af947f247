//! Dedup and threshold on event time (Panther semantics, measured on `eventTime`).
//!
//! One alert per `(RuleID, dedup string)` per window of `DedupPeriodMinutes`. The alert opens
//! when `Threshold` matches have been seen in the window (with `UniqueBy`, when that many
//! distinct values of its key have been seen); later matches only raise `event_count`.
//!
//! Events arrive out of order (each region's CloudTrail files come on their own schedule, a
//! backlog may be read newest first), so a match joins the nearest window of its key whose
//! first event lies strictly within the period before or after it, and otherwise opens a window
//! of its own. It is never folded into a window farther away than that.
//!
//! This rule lives in exactly one place, [`KeyWindows::admit`], because `replay` and the daemon
//! drifting apart is how alerts got lost before: `replay` keeps a [`Windows`] map of them and
//! reports every window when its input is exhausted; the daemon keeps one [`KeyWindows`] per
//! key in its bounded cache and persists it with the checkpoints (its serde shape is part of
//! the saved state, so it must keep parsing what older versions wrote).

mod key_windows;
mod tally;
mod windows;

#[cfg(test)]
mod proptests;

pub use key_windows::{Admission, Admitted, KeyWindows, Window, MAX_WINDOWS_PER_KEY};
pub use tally::Tally;
pub use windows::Windows;

//! Comparing what each sink received with what `trailwatch replay` computes.
//!
//! The key is `alert_id`: the daemon derives it from (RuleID, dedup string, window start), so
//! one window is one id however often its events are re-read after a crash, and a window
//! that opened differently (another start) is a different id. Counting ids per sink tells
//! lost alerts (an expected id never arrived), duplicates (an id arrived twice) and alerts
//! replay does not know apart.
//!
//! Two known ways for a crash to break the exact match are recognised and named, never
//! silently accepted (see docs/TESTING.md):
//! - **re-windowed**: an unknown id whose (rule, dedup) equals that of a lost one and whose
//!   window start lies inside the lost alert's window. After a SIGKILL the daemon re-reads
//!   what it had not committed in directory order, not in the order it first read it, so a
//!   window can open at another of its own matches: the same detection, another id.
//! - **duplicated at a kill**: the first copy arrived shortly before a SIGKILL. A sink records
//!   a delivery only after the endpoint took it; a kill in between sends it again.
//! - **renotified**: like re-windowed, but replay's id (or another id for the same window)
//!   arrived too: the daemon published the alert, was killed before committing the window,
//!   and formed the window differently on the re-read. Two notifications for one detection.
//! - **knock-on**: a lost or unexpected alert of a (rule, dedup) key that has a re-windowed or
//!   renotified window: the re-formed window moved the windows after it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

/// A duplicate whose first copy arrived at most this long before a SIGKILL (and the second
/// after it) counts as in flight at the kill: the sink's delivery record is written right
/// after the endpoint's answer, a few milliseconds (an fsync) on an idle disk.
const IN_FLIGHT: Duration = Duration::from_millis(250);

/// Whether a SIGKILL fell between `first` and `second`, at most [`IN_FLIGHT`] after `first`.
fn in_flight(first: Instant, second: Instant, kills: &[Instant]) -> bool {
    kills
        .iter()
        .any(|&k| k >= first && k - first <= IN_FLIGHT && second > k)
}

/// What identifies an alert's detection, apart from its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertInfo {
    pub rule_id: String,
    pub dedup: String,
    /// RFC 3339, as trailwatch writes it (so strings compare like times).
    pub first_event_time: String,
    pub last_event_time: String,
}

impl AlertInfo {
    /// From an alert's JSON (the contract's fields).
    pub fn from_json(alert: &serde_json::Value) -> AlertInfo {
        let field = |k: &str| alert[k].as_str().unwrap_or_default().to_string();
        AlertInfo {
            rule_id: field("rule_id"),
            dedup: field("dedup"),
            first_event_time: field("first_event_time"),
            last_event_time: field("last_event_time"),
        }
    }
}

/// Which of the two known crash effects fail a soak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Re-windowed alerts fail (every id must equal replay's).
    pub exact_ids: bool,
    /// Duplicates in flight at a kill are reported but do not fail.
    pub allow_duplicates_at_kill: bool,
    /// Detections notified twice under two ids after a crash, and the knock-on effects of a
    /// re-formed window on the same key's later windows, are reported but do not fail.
    pub allow_renotified: bool,
}

/// One sink's tally.
#[derive(Debug, Default, Clone)]
pub struct SinkVerdict {
    pub name: String,
    pub expected: usize,
    pub received: usize,
    /// Expected ids that never arrived (re-windowed ones excluded).
    pub lost: Vec<String>,
    /// Ids that arrived more than once, first copy not in flight at a kill.
    pub duplicated: Vec<String>,
    /// Ids that arrived more than once, first copy shortly before a SIGKILL.
    pub duplicated_at_kill: Vec<String>,
    /// One detection notified twice under two ids: (replay's id, or the one that arrived
    /// first for it; the other id).
    pub renotified: Vec<(String, String)>,
    /// (replay's id, the id that arrived instead).
    pub rewindowed: Vec<(String, String)>,
    /// Ids that arrived but replay does not compute, and that are not re-windowed.
    pub unexpected: Vec<String>,
    /// Lost (`lost:ID`) or unexpected (`unexpected:ID`) alerts of a (rule, dedup) key whose
    /// window was re-windowed or renotified: knock-on effects of the same crash.
    pub knock_on: Vec<String>,
    /// Messages the sink could not read an alert id from.
    pub malformed: u64,
}

impl SinkVerdict {
    /// Tallies `received` (ids in arrival order, with when) against `expected`. `published`
    /// describes every alert the daemon sent (from the file sink); `kills` are the SIGKILLs.
    pub fn new(
        name: &str,
        expected: &BTreeMap<String, AlertInfo>,
        received: &[(String, Instant)],
        published: &BTreeMap<String, AlertInfo>,
        kills: &[Instant],
        malformed: u64,
    ) -> SinkVerdict {
        let mut arrivals: BTreeMap<&str, Vec<Instant>> = BTreeMap::new();
        for (id, at) in received {
            arrivals.entry(id).or_default().push(*at);
        }
        let mut verdict = SinkVerdict {
            name: name.to_string(),
            expected: expected.len(),
            received: received.len(),
            malformed,
            ..SinkVerdict::default()
        };
        for (id, times) in &arrivals {
            if times.len() < 2 {
                continue;
            }
            match in_flight(times[0], times[1], kills) {
                true => verdict.duplicated_at_kill.push(id.to_string()),
                false => verdict.duplicated.push(id.to_string()),
            }
        }
        // Ids replay does not know: the same detection under another name (its window opened
        // at another of its matches), a second notification of a detection that already
        // arrived, or something else entirely.
        let mut claimed: BTreeSet<&String> = BTreeSet::new();
        for id in arrivals.keys().filter(|id| !expected.contains_key(**id)) {
            let twin = published.get(*id).and_then(|got| {
                expected
                    .iter()
                    .filter(|(_, want)| {
                        want.rule_id == got.rule_id
                            && want.dedup == got.dedup
                            && want.first_event_time <= got.first_event_time
                            && got.first_event_time <= want.last_event_time
                    })
                    .min_by_key(|(twin, _)| {
                        arrivals.contains_key(twin.as_str()) || claimed.contains(twin)
                    })
            });
            match twin {
                Some((twin, _))
                    if !arrivals.contains_key(twin.as_str()) && !claimed.contains(twin) =>
                {
                    claimed.insert(twin);
                    verdict.rewindowed.push((twin.clone(), id.to_string()));
                }
                Some((twin, _)) => verdict.renotified.push((twin.clone(), id.to_string())),
                None => verdict.unexpected.push(id.to_string()),
            }
        }
        verdict.lost = expected
            .keys()
            .filter(|id| !arrivals.contains_key(id.as_str()) && !claimed.contains(id))
            .cloned()
            .collect();
        // A re-formed window shifts the windows after it for the same key: a later match can
        // fall inside the re-formed window (lost) or open one replay does not have
        // (unexpected). Those are knock-on effects of the same crash, kept apart from the rest.
        let reformed: BTreeSet<(&str, &str)> = verdict
            .rewindowed
            .iter()
            .chain(&verdict.renotified)
            .filter_map(|(replay_id, _)| expected.get(replay_id))
            .map(|info| (info.rule_id.as_str(), info.dedup.as_str()))
            .collect();
        let key_of = |id: &String, from: &BTreeMap<String, AlertInfo>| {
            from.get(id).is_some_and(|info| {
                reformed.contains(&(info.rule_id.as_str(), info.dedup.as_str()))
            })
        };
        let (knock_lost, lost): (Vec<String>, Vec<String>) = std::mem::take(&mut verdict.lost)
            .into_iter()
            .partition(|id| key_of(id, expected));
        let (knock_unexpected, unexpected): (Vec<String>, Vec<String>) =
            std::mem::take(&mut verdict.unexpected)
                .into_iter()
                .partition(|id| key_of(id, published));
        verdict.lost = lost;
        verdict.unexpected = unexpected;
        verdict.knock_on = knock_lost
            .into_iter()
            .map(|id| format!("lost:{id}"))
            .chain(
                knock_unexpected
                    .into_iter()
                    .map(|id| format!("unexpected:{id}")),
            )
            .collect();
        verdict
    }

    /// Nothing lost, nothing twice, nothing unknown, nothing unreadable, under `policy`.
    pub fn passed(&self, policy: Policy) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.unexpected.is_empty()
            && self.malformed == 0
            && (self.rewindowed.is_empty() || !policy.exact_ids)
            && (self.duplicated_at_kill.is_empty() || policy.allow_duplicates_at_kill)
            && ((self.renotified.is_empty() && self.knock_on.is_empty()) || policy.allow_renotified)
    }
}

impl fmt::Display for SinkVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sink {:<6} expected {:>6} received {:>6} | lost {} duplicated {} unexpected {} malformed {} | re-windowed {} duplicated-at-kill {} renotified {} knock-on {}",
            self.name,
            self.expected,
            self.received,
            self.lost.len(),
            self.duplicated.len(),
            self.unexpected.len(),
            self.malformed,
            self.rewindowed.len(),
            self.duplicated_at_kill.len(),
            self.renotified.len(),
            self.knock_on.len(),
        )?;
        let sample = |ids: &[String]| ids.iter().take(5).cloned().collect::<Vec<_>>().join(" ");
        let pairs = |v: &[(String, String)]| -> Vec<String> {
            v.iter().map(|(a, b)| format!("{a}->{b}")).collect()
        };
        let (rewindowed, renotified) = (pairs(&self.rewindowed), pairs(&self.renotified));
        for (label, ids) in [
            ("lost", &self.lost),
            ("duplicated", &self.duplicated),
            ("unexpected", &self.unexpected),
            ("re-windowed (replay->daemon)", &rewindowed),
            ("duplicated at a kill", &self.duplicated_at_kill),
            ("renotified (replay->daemon)", &renotified),
            ("knock-on", &self.knock_on),
        ] {
            if !ids.is_empty() {
                write!(f, "\n    {label} e.g.: {}", sample(ids))?;
            }
        }
        Ok(())
    }
}

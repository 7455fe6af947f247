//! Property tests of the window rule: for any arrival order of a set of matches (several keys,
//! times spread over up to 60 periods, thresholds 1 to 4, with and without `UniqueBy`), every
//! admission is checked against a small independent model of the rule, and the windows at the
//! end against the matches they were given.
//!
//! One of them spreads a single key wide enough that it needs more than [`MAX_WINDOWS_PER_KEY`]
//! windows, so the bound is exercised too: dropped windows are collected and still accounted for.

use super::tally::from_ms;
use super::{Admission, KeyWindows, Window, MAX_WINDOWS_PER_KEY};
use crate::alert::{alert_id, Alert, Shaped};
use crate::rule::Rule;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

const PERIOD_MINUTES: i64 = 10;
const PERIOD_MS: i64 = PERIOD_MINUTES * 60_000;
/// Match times fall on a 30 s grid, so some lie exactly a period from a window's start.
const STEP_MS: i64 = 30_000;
const BASE_MS: i64 = 1_700_000_000_000;

fn rule(threshold: u32, unique: bool) -> Rule {
    let unique_by = if unique { "UniqueBy: {Key: u}\n" } else { "" };
    let yaml = format!(
        "RuleID: P.Win\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nThreshold: {threshold}\n\
         DedupPeriodMinutes: {PERIOD_MINUTES}\nGroupBy: [{{Key: k}}]\n{unique_by}\
         Detection: [{{Condition: AlwaysTrue}}]\n"
    );
    crate::rule_loader::parse(std::path::Path::new("p.yml"), &yaml).unwrap()
}

#[derive(Debug, Clone)]
struct Match {
    id: usize,
    key: u8,
    at_ms: i64,
    unique: u8,
}

impl Match {
    fn event(&self) -> Value {
        json!({"k": format!("k{}", self.key), "u": format!("u{}", self.unique), "id": self.id})
    }
}

/// A threshold, whether the rule counts distinct values, and the matches (on up to `keys` dedup
/// strings, spread over a span of `span_periods` periods) in arrival order.
fn scenario(
    keys: u8,
    span_periods: std::ops::RangeInclusive<i64>,
) -> impl Strategy<Value = (u32, bool, Vec<Match>)> {
    (1u32..=4, any::<bool>(), span_periods, 1usize..=120)
        .prop_flat_map(move |(threshold, unique, span_periods, n)| {
            let slots = span_periods * PERIOD_MS / STEP_MS;
            let n = n.min(slots as usize);
            // Distinct times: a window is then told apart by its start even after a drop.
            let times = prop::sample::subsequence((0..slots).collect::<Vec<i64>>(), n);
            let keys = prop::collection::vec((0..keys, 0u8..4), n);
            (Just(threshold), Just(unique), times, keys)
        })
        .prop_flat_map(|(threshold, unique, times, keys)| {
            let matches: Vec<Match> = times
                .into_iter()
                .zip(keys)
                .enumerate()
                .map(|(id, (slot, (key, unique)))| Match {
                    id,
                    key,
                    at_ms: BASE_MS + slot * STEP_MS,
                    unique,
                })
                .collect();
            (Just(threshold), Just(unique), Just(matches).prop_shuffle())
        })
}

/// The windows of every key, as replay and the daemon hold them.
type State = BTreeMap<String, KeyWindows>;

/// Admits `matches` into `state`; returns each opened alert (its `created_at` cleared, the one
/// field that depends on the clock) and the windows dropped at the bound.
fn run(state: &mut State, rule: &Rule, matches: &[Match]) -> (Vec<Alert>, Vec<(String, Window)>) {
    let mut alerts = Vec::new();
    let mut dropped = Vec::new();
    for m in matches {
        let event = m.event();
        let shaped = Shaped::new(rule, &event);
        let key = shaped.dedup.clone();
        let admitted =
            state
                .entry(key.clone())
                .or_default()
                .admit(rule, shaped, from_ms(m.at_ms), &event);
        if let Admission::Opened(mut alert) = admitted.admission {
            alert.created_at.clear();
            alerts.push(*alert);
        }
        dropped.extend(admitted.dropped.map(|w| (key, w)));
    }
    (alerts, dropped)
}

/// The independent model: every admission is checked as it happens.
fn check_each_admission(rule: &Rule, matches: &[Match]) -> Result<(), TestCaseError> {
    let mut state = State::new();
    // Live window starts per key, and the matches each window (key, start) was given.
    let mut starts: HashMap<String, Vec<i64>> = HashMap::new();
    let mut given: HashMap<(String, i64), Vec<&Match>> = HashMap::new();
    let mut opened: HashMap<(String, i64), usize> = HashMap::new();
    let mut dropped: Vec<(String, Window)> = Vec::new();
    for m in matches {
        let event = m.event();
        let shaped = Shaped::new(rule, &event);
        let key = shaped.dedup.clone();
        let admitted =
            state
                .entry(key.clone())
                .or_default()
                .admit(rule, shaped, from_ms(m.at_ms), &event);
        let live = starts.entry(key.clone()).or_default();
        let nearest = live
            .iter()
            .copied()
            .filter(|s| (m.at_ms - s).abs() < PERIOD_MS)
            .min_by_key(|s| ((m.at_ms - s).abs(), *s));
        match nearest {
            Some(start) => {
                prop_assert_eq!(admitted.window_start_ms, start, "joins the nearest window");
                prop_assert!(admitted.dropped.is_none());
            }
            None => {
                prop_assert_eq!(admitted.window_start_ms, m.at_ms, "opens its own window");
                if let Some(w) = admitted.dropped {
                    prop_assert_eq!(live.len(), MAX_WINDOWS_PER_KEY, "drops only at the bound");
                    live.retain(|s| *s != w.tally.start_ms);
                    dropped.push((key.clone(), w));
                }
                live.push(m.at_ms);
            }
        }
        let window = (key.clone(), admitted.window_start_ms);
        let members = given.entry(window.clone()).or_default();
        members.push(m);
        let distinct = {
            let mut values: Vec<u8> = members.iter().map(|m| m.unique).collect();
            values.sort_unstable();
            values.dedup();
            values.len()
        };
        let was_opened = opened.contains_key(&window);
        let expected = if was_opened {
            "suppressed"
        } else if rule.reaches_threshold(members.len() as u64, distinct) {
            "opened"
        } else {
            "pending"
        };
        match &admitted.admission {
            Admission::Opened(alert) => {
                prop_assert_eq!(expected, "opened");
                *opened.entry(window.clone()).or_default() += 1;
                prop_assert_eq!(&alert.event["id"], &json!(members[0].id), "first match");
                prop_assert_eq!(alert.event_count, members.len() as u64);
                let id = alert_id(&rule.id, &key, from_ms(window.1));
                prop_assert_eq!(&alert.alert_id, &id);
            }
            Admission::Suppressed => prop_assert_eq!(expected, "suppressed"),
            Admission::Pending => prop_assert_eq!(expected, "pending"),
        }
    }
    // At the end: every window, held or dropped, holds exactly the matches it was given.
    let all: Vec<(String, Window)> = state
        .iter()
        .flat_map(|(k, ws)| ws.windows().iter().map(move |w| (k.clone(), w.clone())))
        .chain(dropped)
        .collect();
    let total: u64 = all.iter().map(|(_, w)| w.tally.count).sum();
    prop_assert_eq!(total, matches.len() as u64, "no match is lost");
    prop_assert_eq!(all.len(), given.len());
    for (key, w) in &all {
        let members = &given[&(key.clone(), w.tally.start_ms)];
        prop_assert_eq!(w.tally.count, members.len() as u64);
        for m in members {
            prop_assert!(
                (m.at_ms - w.tally.start_ms).abs() < PERIOD_MS,
                "within its period"
            );
        }
        prop_assert_eq!(
            w.tally.first_ms,
            members.iter().map(|m| m.at_ms).min().unwrap()
        );
        prop_assert_eq!(
            w.tally.last_ms,
            members.iter().map(|m| m.at_ms).max().unwrap()
        );
        let times_opened = opened.get(&(key.clone(), w.tally.start_ms)).copied();
        prop_assert_eq!(times_opened, w.opened.then_some(1), "an alert opens once");
    }
    Ok(())
}

/// Persists `state` the way the daemon does: each key's windows are one row of the state
/// store, serialized with serde_json.
fn save_and_load(state: &State) -> State {
    state
        .iter()
        .map(|(dedup, windows)| {
            let row = serde_json::to_string(windows).unwrap();
            (
                dedup.clone(),
                serde_json::from_str::<KeyWindows>(&row).unwrap(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_admission_follows_the_window_rule(
        (threshold, unique, matches) in scenario(3, 1..=40),
    ) {
        check_each_admission(&rule(threshold, unique), &matches)?;
    }

    /// One key over 20 to 60 periods: most cases need more windows than the bound allows.
    #[test]
    fn the_bound_loses_no_match_and_misplaces_none(
        (threshold, unique, matches) in scenario(1, 20..=60),
    ) {
        check_each_admission(&rule(threshold, unique), &matches)?;
    }

    #[test]
    fn alert_ids_are_stable_across_runs_and_restarts(
        (threshold, unique, matches) in scenario(3, 1..=40),
        cut in any::<prop::sample::Index>(),
    ) {
        let rule = rule(threshold, unique);
        let mut whole = State::new();
        let (alerts, _) = run(&mut whole, &rule, &matches);
        let mut again = State::new();
        let (alerts_again, _) = run(&mut again, &rule, &matches);
        prop_assert_eq!(&alerts_again, &alerts, "same order, same alerts");

        let cut = cut.index(matches.len() + 1);
        let mut first = State::new();
        let (mut resumed, _) = run(&mut first, &rule, &matches[..cut]);
        let mut second = save_and_load(&first);
        prop_assert_eq!(&second, &first, "the saved windows load back unchanged");
        let (rest, _) = run(&mut second, &rule, &matches[cut..]);
        resumed.extend(rest);
        prop_assert_eq!(&resumed, &alerts, "stopped after {} of {}", cut, matches.len());
        prop_assert_eq!(second, whole);
    }
}

#[test]
fn the_bound_drops_an_opened_window_before_a_pending_one() {
    let rule = rule(2, false);
    let mut windows = KeyWindows::default();
    let event = json!({"k": "k0", "u": "u0", "id": 0});
    let mut admit = |minute: i64| {
        let shaped = Shaped::new(&rule, &event);
        let at = OffsetDateTime::from_unix_timestamp(minute * 60).unwrap();
        windows.admit(&rule, shaped, at, &event)
    };
    // Window 0 opens (two matches); windows 1.. stay pending, one period apart.
    assert_eq!(admit(1_000_000).admission, Admission::Pending);
    assert!(matches!(admit(1_000_001).admission, Admission::Opened(_)));
    for i in 1..MAX_WINDOWS_PER_KEY as i64 {
        let admitted = admit(1_000_000 - i * PERIOD_MINUTES);
        assert!(admitted.dropped.is_none(), "room left at window {i}");
    }
    // The newest match is nearest to the opened window, yet that window goes first: a
    // pending window keeps counts an alert may still need.
    let admitted = admit(1_000_000 + 5 * PERIOD_MINUTES);
    let dropped = admitted.dropped.expect("at the bound");
    assert!(dropped.opened);
    assert_eq!(dropped.tally.count, 2);
    // Now all are pending: the one farthest from the next match goes.
    let admitted = admit(1_000_000 + 7 * PERIOD_MINUTES);
    let dropped = admitted.dropped.expect("still at the bound");
    let farthest = (1_000_000 - (MAX_WINDOWS_PER_KEY as i64 - 1) * PERIOD_MINUTES) * 60_000;
    assert_eq!(dropped.tally.start_ms, farthest);
}

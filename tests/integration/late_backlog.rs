//! A late backlog: a delivery file from day 5 is read before one from day 1, both holding
//! matches of the seed rule on the same dedup key. Day 1 lies days outside day 5's window, so
//! it is a window (and an alert) of its own, in `replay` and in the daemon alike.
//!
//! The daemon used to count the day-1 match as suppressed in day 5's window: one alert instead
//! of two.

use crate::daemon::{terminate, Env};
use crate::support::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const DEDUP: &str = "123456789012:us-east-1:sg-backlog";

/// Two grants on day 5 (one window: count 2) and three on day 1 (one window: count 3), with
/// noise around them.
fn day_records(day: u32) -> Vec<Value> {
    let minutes: &[u32] = if day == 5 { &[0, 20] } else { &[0, 10, 50] };
    let mut records = vec![noise(&format!("noise-{day}"), "2024-05-01T08:00:00Z")];
    for (i, minute) in minutes.iter().enumerate() {
        records.push(grant(
            &format!("ev-day{day}-{i}"),
            &format!("2024-05-{day:02}T10:{minute:02}:00Z"),
            "us-east-1",
            "sg-backlog",
            Some("10.0.0.0/8"),
        ));
    }
    records
}

/// Where CloudTrail would deliver the day's file, below `root`.
fn delivery_path(root: &Path, day: u32) -> std::path::PathBuf {
    root.join(format!(
        "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/{day:02}/\
         123456789012_CloudTrail_us-east-1_202405{day:02}T1000Z_backlog.json.gz"
    ))
}

/// Writes the day's file under `root` by rename, so a watcher never sees it half written.
fn deliver(root: &Path, day: u32) {
    let path = delivery_path(root, day);
    let tmp = path.with_file_name(format!(".part-{day}"));
    write_gz(&tmp, &records_json(&day_records(day)));
    std::fs::rename(&tmp, &path).unwrap();
}

/// `(first_event_time, event_count, alert_id)` of each alert, by first event time.
fn summary(alerts: &[Value]) -> Vec<(String, u64, String)> {
    let mut out: Vec<_> = alerts
        .iter()
        .map(|a| {
            assert_eq!(a["dedup"], DEDUP, "{a}");
            (
                a["first_event_time"].as_str().unwrap().to_string(),
                a["event_count"].as_u64().unwrap(),
                a["alert_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn replay_alerts(dir: &Path, inputs: &[&Path]) -> Vec<Value> {
    let mut args = vec!["replay".to_string(), "--rules".to_string()];
    args.push(dir.join("rules.d").display().to_string());
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = trailwatch(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    json_lines(&o)
}

#[test]
fn replay_raises_two_alerts_whatever_the_order_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::copy(seed_rule(), dir.path().join("rules.d/seed.yml")).unwrap();
    // Replay reads files in path order. In `in-order/` that is day 1 then day 5; in `late/`
    // the day-5 delivery sits in a folder that sorts first (`1-newest`), so day 1 comes late.
    let in_order = dir.path().join("in-order");
    deliver(&in_order, 5);
    deliver(&in_order, 1);
    let late = dir.path().join("late");
    deliver(&late.join("1-newest"), 5);
    deliver(&late.join("2-backlog"), 1);

    for inputs in [&in_order, &late] {
        let alerts = summary(&replay_alerts(dir.path(), &[inputs]));
        let got: Vec<(&str, u64)> = alerts.iter().map(|(t, n, _)| (t.as_str(), *n)).collect();
        assert_eq!(
            got,
            vec![("2024-05-01T10:00:00Z", 3), ("2024-05-05T10:00:00Z", 2)],
            "{}",
            inputs.display()
        );
        assert_ne!(alerts[0].2, alerts[1].2, "distinct alert ids");
    }
}

#[test]
fn the_daemon_raises_two_alerts_when_day_one_arrives_after_day_five() {
    let env = Env::new();
    let mut child = env.start();
    deliver(&env.inbox(), 5);
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(20)),
        "day 5 raised no alert\n{}",
        env.log()
    );
    deliver(&env.inbox(), 1);
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(20)),
        "the late day-1 file raised no alert of its own: {:?}\n{}",
        summary(&env.alerts()),
        env.log()
    );
    // SIGTERM drains and flushes everything, so nothing can still be on its way afterwards.
    assert!(terminate(&mut child).success());
    let daemon = summary(&env.alerts());
    // The daemon sends each alert when its window opens: with Threshold 1, at the first match.
    let got: Vec<(&str, u64)> = daemon.iter().map(|(t, n, _)| (t.as_str(), *n)).collect();
    assert_eq!(
        got,
        vec![("2024-05-01T10:00:00Z", 1), ("2024-05-05T10:00:00Z", 1)]
    );
    assert_ne!(daemon[0].2, daemon[1].2, "distinct alert ids");

    // Replay of the same files names the same two windows, with the same ids.
    let replayed = summary(&replay_alerts(env.root(), &[&env.inbox()]));
    let ids = |s: &[(String, u64, String)]| s.iter().map(|a| a.2.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&daemon), ids(&replayed), "same windows, same ids");
}

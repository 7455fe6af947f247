//! The state store through the binary: a damaged store stops the daemon until `state repair`,
//! `state.json` from earlier versions is migrated, and `dedup.max_keys` evicts exactly the least
//! recently used key.

use crate::bounds_sinks::SmallDisk;
use crate::daemon::{dedup_of, lines, target, wait_until, Env};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use trailwatch::source::checkpoint::FilePosition;
use trailwatch::store::{Bounds, Store};

/// The file positions the daemon committed (read through the library, with the daemon stopped).
pub fn stored_checkpoints(state_dir: &Path) -> Vec<FilePosition> {
    let bounds = Bounds {
        max_keys: 1_000_000,
        event_ids: 200_000,
        max_window_bytes: u64::MAX,
    };
    let store = Store::open(state_dir, bounds).unwrap();
    store.checkpoints().unwrap().iter().cloned().collect()
}

fn state_cmd(env: &Env, what: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["state", what, "--config", "trailwatch.yaml"])
        .current_dir(env.root())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_damaged_store_stops_the_daemon_until_it_is_repaired() {
    let env = Env::new();
    let stream = env.inbox().join("stream.ndjson");
    let mut child = env.start();
    std::fs::write(&stream, lines(&[target(1, 0), target(2, 1), target(3, 2)])).unwrap();
    assert!(
        env.wait_for_alerts(3, Duration::from_secs(20)),
        "{}",
        env.log()
    );
    assert!(crate::daemon::terminate(&mut child).success());
    assert_eq!(state_cmd(&env, "check").status.code(), Some(0));

    // Garbage over the second page of the database (the daemon closed it cleanly, so its log
    // is folded in and the page holds table data).
    let db = env.root().join("state/state.db");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.seek(SeekFrom::Start(4096)).unwrap();
        f.write_all(&[0x5a; 4096]).unwrap();
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["run", "--config", "trailwatch.yaml"])
        .current_dir(env.root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("trailwatch state repair"),
        "the error names the way out: {}",
        text(&refused)
    );
    let check = state_cmd(&env, "check");
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("damaged"), "{}", text(&check));

    let repair = state_cmd(&env, "repair");
    assert_eq!(repair.status.code(), Some(0), "{}", text(&repair));
    assert!(
        text(&repair).contains("damaged files are kept"),
        "{}",
        text(&repair)
    );
    assert_eq!(state_cmd(&env, "check").status.code(), Some(0));

    // Running again: whatever the repair lost is read again, and no alert is repeated.
    let _child = env.start();
    crate::daemon::append(&stream, &lines(&[target(4, 3)]));
    assert!(
        env.wait_for_alerts(4, Duration::from_secs(20)),
        "{}",
        env.log()
    );
    let counts = env.alert_counts();
    for n in 1..=4 {
        assert_eq!(counts.get(&dedup_of(n)), Some(&1), "{counts:?}");
    }
}

#[test]
fn repair_refuses_while_the_daemon_runs() {
    let env = Env::new();
    let _child = env.start();
    let repair = state_cmd(&env, "repair");
    assert_eq!(repair.status.code(), Some(2), "{}", text(&repair));
    assert!(text(&repair).contains("another trailwatch is running"));
    assert_eq!(
        state_cmd(&env, "check").status.code(),
        Some(0),
        "check is safe while running"
    );
}

#[test]
fn state_json_of_earlier_versions_is_migrated_once() {
    let env = Env::new();
    let stream = env.inbox().join("stream.ndjson");
    let mut child = env.start();
    std::fs::write(&stream, lines(&[target(1, 0), target(2, 1)])).unwrap();
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(20)),
        "{}",
        env.log()
    );
    assert!(crate::daemon::terminate(&mut child).success());

    // Rewrite the state as trailwatch 0.1 kept it: one state.json, no store. It holds the
    // stream's checkpoint and an open window for sg-5.
    let state_dir = env.root().join("state");
    let mut files = serde_json::Map::new();
    for p in stored_checkpoints(&state_dir) {
        let key = format!("{}:{}", p.fingerprint.key.dev, p.fingerprint.key.ino);
        files.insert(key, serde_json::to_value(&p).unwrap());
    }
    let start_ms = 1_714_557_600_000i64 + 4 * 60_000; // 2024-05-01T10:04:00Z, target(5, 4)
    let legacy = json!({
        "version": 1,
        "checkpoints": {"files": files},
        "windows": [{
            "rule_id": "AWS.RDS.SecurityGroupIngressAuthorized",
            "dedup": dedup_of(5),
            "period_minutes": 60,
            "windows": [{"tally": {"start_ms": start_ms, "first_ms": start_ms, "last_ms": start_ms,
                                   "count": 1, "distinct": []},
                         "opened": true, "pending": null}],
        }],
        "event_ids": ["ev-1", "ev-2"],
    });
    for f in ["state.db", "state.db-wal", "state.db-shm", "state.id"] {
        let _ = std::fs::remove_file(state_dir.join(f));
    }
    std::fs::write(state_dir.join("state.json"), legacy.to_string()).unwrap();
    // A new alert file: a re-read of the stream would show up there.
    std::fs::write(
        env.root().join("sinks.d/file.yaml"),
        format!(
            "type: file\npath: {}\n",
            env.root().join("after.jsonl").display()
        ),
    )
    .unwrap();

    let _child = env.start();
    assert!(state_dir.join("state.json.migrated").is_file());
    assert!(!state_dir.join("state.json").exists());
    crate::daemon::append(&stream, &lines(&[target(5, 10), target(6, 11)]));
    let after = || -> Vec<Value> {
        std::fs::read_to_string(env.root().join("after.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(20), || !after().is_empty()),
        "{}",
        env.log()
    );
    let dedups: Vec<String> = after()
        .iter()
        .map(|a| a["dedup"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        dedups,
        [dedup_of(6)],
        "the checkpoint held (sg-1, sg-2 not read again) and sg-5's migrated window was open"
    );
}

#[test]
fn max_keys_evicts_the_least_recently_used_key() {
    let env = Env::new();
    let config = "rules_dir: rules.d\nsinks_dir: sinks.d\nstate_dir: state\nsources:\n  - path: inbox\ndedup:\n  max_keys: 2\nmetrics:\n  listen: \"\"\n";
    std::fs::write(env.root().join("trailwatch.yaml"), config).unwrap();
    let _child = env.start();
    // sg-1, sg-2, sg-3: sg-1 is evicted. sg-1 again: a new window (evicting sg-2), so a second
    // alert. sg-3 again: still held, suppressed.
    let events = [
        target(1, 0),
        target(2, 1),
        target(3, 2),
        target(11, 3),
        target(13, 4),
    ];
    let mut events = events.to_vec();
    events[3]["requestParameters"]["dBSecurityGroupName"] = json!("sg-1");
    events[4]["requestParameters"]["dBSecurityGroupName"] = json!("sg-3");
    std::fs::write(env.inbox().join("stream.ndjson"), lines(&events)).unwrap();
    // One more key after them: once its alert is out, every event before it was processed.
    crate::daemon::append(&env.inbox().join("stream.ndjson"), &lines(&[target(7, 5)]));
    assert!(
        wait_until(Duration::from_secs(20), || env
            .alert_counts()
            .contains_key(&dedup_of(7))),
        "{}",
        env.log()
    );
    assert!(
        env.log()
            .contains("dedup.max_keys or dedup.max_pending_bytes reached"),
        "{}",
        env.log()
    );
    let counts = env.alert_counts();
    assert_eq!(counts.get(&dedup_of(1)), Some(&2), "{counts:?}");
    assert_eq!(counts.get(&dedup_of(2)), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&dedup_of(3)), Some(&1), "{counts:?}");
    assert_eq!(counts.len(), 4, "{counts:?}");
}

#[test]
fn a_full_state_disk_pauses_the_daemon_and_loses_nothing() {
    let env = Env::new();
    let state_dir = env.root().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    let Some(_disk) = SmallDisk::mount_at(&state_dir, "96m") else {
        return;
    };
    let stream = env.inbox().join("stream.ndjson");
    let mut child = env.start();
    std::fs::write(&stream, lines(&[target(1, 0), target(2, 1)])).unwrap();
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(20)),
        "{}",
        env.log()
    );

    // Leave less than the commit reserve (64 MiB) free.
    let filler = env.root().join("state/filler");
    std::fs::write(&filler, vec![0u8; 48 << 20]).unwrap();
    crate::daemon::append(&stream, &lines(&[target(3, 2), target(4, 3)]));
    assert!(
        wait_until(Duration::from_secs(20), || env
            .log()
            .contains("reading is paused until it has room")),
        "{}",
        env.log()
    );
    std::fs::remove_file(&filler).unwrap();
    crate::daemon::append(&stream, &lines(&[target(5, 4)]));
    assert!(
        env.wait_for_alerts(5, Duration::from_secs(60)),
        "{}",
        env.log()
    );
    assert!(crate::daemon::terminate(&mut child).success());
    let counts = env.alert_counts();
    for n in 1..=5 {
        assert_eq!(counts.get(&dedup_of(n)), Some(&1), "{counts:?}");
    }
    let check = state_cmd(&env, "check");
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let stream_done = stored_checkpoints(&env.root().join("state"))
        .iter()
        .any(|p| p.offset == std::fs::metadata(&stream).unwrap().len());
    assert!(stream_done, "the checkpoint reached the end of the stream");
}

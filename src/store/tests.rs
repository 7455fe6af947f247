//! The store against real files: reopen after commit and after a crash, exact bounds, damage.

use super::*;
use crate::source::checkpoint::FilePosition;
use crate::source::fingerprint::{FileKey, Fingerprint};
use std::path::Path;

const BOUNDS: Bounds = Bounds {
    max_keys: 1000,
    event_ids: 1000,
    max_window_bytes: u64::MAX,
};

fn row(text: &str) -> WindowRow {
    WindowRow {
        period_minutes: 60,
        windows: format!("[\"{text}\"]"),
    }
}

fn position(ino: u64, offset: u64) -> FilePosition {
    FilePosition {
        fingerprint: Fingerprint {
            key: FileKey { dev: 1, ino },
            head_len: 4,
            head_hash: "abcd".into(),
        },
        path: format!("inbox/{ino}.ndjson").into(),
        offset,
        line: offset / 10,
        done: false,
    }
}

fn any_window(_: &str) -> Result<(), String> {
    Ok(())
}

#[test]
fn committed_state_survives_and_uncommitted_state_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path(), BOUNDS).unwrap();
        s.put_window("R", "a", &row("a1"), 0).unwrap();
        s.set_checkpoint(&position(7, 100)).unwrap();
        s.remember_event("ev-1").unwrap();
        s.commit().unwrap();
        // Written but never committed: a crash here must leave no trace of it.
        s.put_window("R", "b", &row("b1"), 0).unwrap();
        s.set_checkpoint(&position(7, 200)).unwrap();
        s.remember_event("ev-2").unwrap();
        assert!(
            s.seen_event("ev-2").unwrap(),
            "the open transaction sees its own writes"
        );
    }
    let s = Store::open(dir.path(), BOUNDS).unwrap();
    assert_eq!(s.window("R", "a").unwrap(), Some(row("a1")));
    assert_eq!(s.window("R", "b").unwrap(), None);
    assert_eq!(s.window_keys(), 1);
    let cps = s.checkpoints().unwrap();
    assert_eq!(cps.get(FileKey { dev: 1, ino: 7 }).unwrap().offset, 100);
    assert!(s.seen_event("ev-1").unwrap());
    assert!(!s.seen_event("ev-2").unwrap());
}

#[test]
fn the_least_recently_used_key_is_evicted_at_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = Bounds {
        max_keys: 3,
        event_ids: 10,
        max_window_bytes: u64::MAX,
    };
    let mut s = Store::open(dir.path(), bounds).unwrap();
    for k in ["a", "b", "c"] {
        assert_eq!(s.put_window("R", k, &row(k), 0).unwrap(), KeyUse::Kept);
    }
    s.put_window("R", "a", &row("a2"), 0).unwrap();
    assert_eq!(
        s.put_window("R", "d", &row("d"), 0).unwrap(),
        KeyUse::Evicted(vec![("R".into(), "b".into())])
    );
    assert_eq!(s.window_keys(), 3);
    assert!(s.window("R", "b").unwrap().is_none());
    s.commit().unwrap();
    drop(s);
    // The order of use survives a restart.
    let mut s = Store::open(dir.path(), bounds).unwrap();
    assert_eq!(s.window_keys(), 3);
    assert_eq!(
        s.put_window("R", "e", &row("e"), 0).unwrap(),
        KeyUse::Evicted(vec![("R".into(), "c".into())])
    );
}

#[test]
fn least_recently_used_keys_are_evicted_past_the_byte_bound() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = Bounds {
        max_keys: 100,
        max_window_bytes: 1_000,
        event_ids: 10,
    };
    let sized = |n: usize| WindowRow {
        period_minutes: 60,
        windows: "x".repeat(n),
    };
    let mut s = Store::open(dir.path(), bounds).unwrap();
    for k in ["a", "b", "c"] {
        assert_eq!(s.put_window("R", k, &sized(300), 0).unwrap(), KeyUse::Kept);
    }
    assert_eq!(s.window_bytes(), 900);
    // Growing one key past the bound evicts the oldest others, never the key itself.
    assert_eq!(
        s.put_window("R", "c", &sized(800), 0).unwrap(),
        KeyUse::Evicted(vec![("R".into(), "a".into()), ("R".into(), "b".into())])
    );
    assert_eq!((s.window_keys(), s.window_bytes()), (1, 800));
    // A single key larger than the bound stays: there is nothing older to give up.
    assert_eq!(
        s.put_window("R", "c", &sized(5_000), 0).unwrap(),
        KeyUse::Kept
    );
    s.commit().unwrap();
    drop(s);
    // The byte count is read back at the next start; expiry keeps it true.
    let mut s = Store::open(dir.path(), bounds).unwrap();
    assert_eq!(s.window_bytes(), 5_000);
    s.put_window("R", "d", &sized(10), 1).unwrap();
    assert_eq!(s.window_keys(), 1, "c evicted for d: {}", s.window_bytes());
    assert_eq!(s.expire_idle(i64::MAX).unwrap(), 1);
    assert_eq!((s.window_keys(), s.window_bytes()), (0, 0));
}

#[test]
fn idle_keys_expire_after_twice_their_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), BOUNDS).unwrap();
    s.put_window("R", "old", &row("x"), 0).unwrap();
    s.put_window("R", "new", &row("y"), 60 * 60_000).unwrap();
    assert_eq!(
        s.expire_idle(120 * 60_000).unwrap(),
        0,
        "exactly at the deadline"
    );
    assert_eq!(s.expire_idle(120 * 60_000 + 1).unwrap(), 1);
    assert_eq!(s.window_keys(), 1);
    assert!(s.window("R", "new").unwrap().is_some());
}

#[test]
fn event_ids_are_first_in_first_out() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = Bounds {
        max_keys: 10,
        event_ids: 3,
        max_window_bytes: u64::MAX,
    };
    let mut s = Store::open(dir.path(), bounds).unwrap();
    for id in ["1", "2", "3", "2", "4", "5"] {
        s.remember_event(id).unwrap();
    }
    let seen: Vec<bool> = ["1", "2", "3", "4", "5"]
        .iter()
        .map(|id| s.seen_event(id).unwrap())
        .collect();
    // "2" again is not a new arrival: it does not move, and it is the oldest left but one.
    assert_eq!(seen, [false, false, true, true, true]);
    assert_eq!(s.event_ids().unwrap(), 3);
}

#[test]
fn key_value_entries_expire() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), BOUNDS).unwrap();
    s.kv_put("rule", "k", "v", Some(1000)).unwrap();
    s.kv_put("rule", "forever", "w", None).unwrap();
    assert_eq!(s.kv_get("rule", "k", 999).unwrap().as_deref(), Some("v"));
    assert_eq!(s.kv_get("rule", "k", 1000).unwrap(), None);
    assert_eq!(
        s.kv_get("rule", "forever", i64::MAX).unwrap().as_deref(),
        Some("w")
    );
}

fn fill(dir: &Path, keys: usize) {
    let mut s = Store::open(dir, BOUNDS).unwrap();
    for i in 0..keys {
        let text = format!("window {i} {}", "x".repeat(400));
        s.put_window("R", &format!("k{i}"), &row(&text), 0).unwrap();
    }
    s.set_checkpoint(&position(1, 10)).unwrap();
    s.commit().unwrap();
    // Fold the log into the database file so that damage to the file is damage to the data.
    s.conn
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
}

#[test]
fn a_deleted_or_emptied_database_is_not_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 3);
    std::fs::remove_file(db_path(dir.path())).unwrap();
    let e = Store::open(dir.path(), BOUNDS).err().expect("refused");
    assert!(matches!(e, StoreError::Missing { .. }), "{e}");
    assert!(e.to_string().contains("trailwatch state repair"), "{e}");
    std::fs::write(db_path(dir.path()), b"").unwrap();
    assert!(matches!(
        Store::open(dir.path(), BOUNDS),
        Err(StoreError::Missing { .. })
    ));
    let report = check(dir.path(), &any_window);
    assert!(!report.healthy());
    // Repair is the deliberate way to start over.
    let report = repair(dir.path(), &any_window).unwrap();
    assert!(report.actions[0].contains("new, empty store"), "{report}");
    let s = Store::open(dir.path(), BOUNDS).unwrap();
    assert_eq!(s.window_keys(), 0);
}

fn damage(path: &Path, at: u64, len: usize, truncate: bool) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    if truncate {
        f.set_len(at).unwrap();
    } else {
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&vec![0xA5; len]).unwrap();
    }
}

fn kept_aside(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("damaged"))
}

#[test]
fn a_truncated_database_stops_open_and_repair_says_what_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 400);
    let path = db_path(dir.path());
    let len = std::fs::metadata(&path).unwrap().len();
    damage(&path, len / 2, 0, true);

    let e = Store::open(dir.path(), BOUNDS).err().expect("refused");
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("trailwatch state check"), "{e}");
    assert!(!check(dir.path(), &any_window).healthy());

    // Half a file has no readable schema: nothing can be salvaged, and repair says so.
    let report = repair(dir.path(), &any_window).unwrap();
    let text = report.to_string();
    assert!(text.contains("checkpoints were lost"), "{text}");
    assert!(kept_aside(dir.path()), "the damaged file is kept");
    let s = Store::open(dir.path(), BOUNDS).unwrap();
    assert_eq!(s.window_keys(), report.windows);
    assert!(check(dir.path(), &any_window).healthy());
}

#[test]
fn a_damaged_page_loses_only_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 400);
    let path = db_path(dir.path());
    let len = std::fs::metadata(&path).unwrap().len();
    // One page of garbage in the middle of the file, where the window rows are.
    damage(&path, (len / 2) / 4096 * 4096, 4096, false);

    assert!(matches!(
        Store::open(dir.path(), BOUNDS),
        Err(StoreError::Corrupt { .. })
    ));
    let report = check(dir.path(), &any_window);
    assert!(!report.healthy(), "{report}");

    let report = repair(dir.path(), &any_window).unwrap();
    assert!(
        report.windows > 300 && report.windows < 400,
        "most rows are kept, the damaged page's are not: {report}"
    );
    assert_eq!(report.checkpoints, 1, "{report}");
    let s = Store::open(dir.path(), BOUNDS).unwrap();
    assert_eq!(s.window_keys(), report.windows);
    assert!(check(dir.path(), &any_window).healthy());
    assert!(kept_aside(dir.path()));
}

#[test]
fn rows_the_daemon_cannot_decode_are_reported_and_dropped_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 5);
    let strict = |json: &str| {
        if json.contains("window 3 ") {
            Err("not a window list".to_string())
        } else {
            Ok(())
        }
    };
    let report = check(dir.path(), &strict);
    assert_eq!(report.problems.len(), 1, "{report}");
    assert!(report.problems[0].contains("R / k3"), "{report}");
    let report = repair(dir.path(), &strict).unwrap();
    assert_eq!(report.windows, 4);
    assert!(check(dir.path(), &strict).healthy());
}

#[test]
fn state_json_is_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = serde_json::json!({
        "version": 1,
        "checkpoints": {"files": {"1:9": position(9, 42)}},
        "windows": [{"rule_id": "R", "dedup": "d", "period_minutes": 30,
                     "windows": [{"opened": true}]}],
        "event_ids": ["a", "b"],
    });
    std::fs::write(dir.path().join("state.json"), legacy.to_string()).unwrap();
    let s = Store::open(dir.path(), BOUNDS).unwrap();
    assert_eq!(
        s.checkpoints()
            .unwrap()
            .get(FileKey { dev: 1, ino: 9 })
            .unwrap()
            .offset,
        42
    );
    let w = s.window("R", "d").unwrap().unwrap();
    assert_eq!(w.period_minutes, 30);
    assert_eq!(w.windows, r#"[{"opened":true}]"#);
    assert!(s.seen_event("a").unwrap() && s.seen_event("b").unwrap());
    drop(s);
    assert!(!dir.path().join("state.json").exists());
    assert!(dir.path().join("state.json.migrated").exists());
    Store::open(dir.path(), BOUNDS).unwrap();
}

#[test]
fn a_replaced_database_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    fill(a.path(), 1);
    fill(b.path(), 1);
    std::fs::copy(db_path(b.path()), db_path(a.path())).unwrap();
    assert!(matches!(
        Store::open(a.path(), BOUNDS),
        Err(StoreError::Missing { .. })
    ));
}

#[test]
fn the_database_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 1);
    let mode = std::fs::metadata(db_path(dir.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}

/// A small tmpfs as root, so that the disk really fills up; `None` (said loudly) where mounting
/// is not permitted.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here (not root?): the full-disk test did not run"
            );
            return None;
        }
        Some(SmallDisk { dir })
    }

    /// Fills the disk with one file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_fails_the_commit_and_leaves_the_last_one_intact() {
    let Some(disk) = SmallDisk::mount("2m") else {
        return;
    };
    let state = disk.dir.path().join("state");
    let text = "y".repeat(2000);
    let mut s = Store::open(&state, BOUNDS).unwrap();
    for i in 0..50 {
        s.put_window("R", &format!("before{i}"), &row(&text), 0)
            .unwrap();
    }
    s.commit().unwrap();
    let filler = disk.fill();
    // Writing more than the page cache holds, then committing: SQLite reports the full disk
    // at the latest when it appends to its log.
    let mut failed = None;
    for i in 0..400 {
        if let Err(e) = s.put_window("R", &format!("after{i}"), &row(&text), 0) {
            failed = Some(e);
            break;
        }
    }
    let failed = failed.or_else(|| s.commit().err());
    let e = failed.expect("a full disk must fail a write or the commit");
    assert!(e.to_string().contains("full"), "{e}");
    std::fs::remove_file(filler).unwrap();
    let retried = s.commit();
    drop(s);

    let s = Store::open(&state, BOUNDS).expect("the store is intact after a full disk");
    for i in 0..50 {
        assert!(s.window("R", &format!("before{i}")).unwrap().is_some());
    }
    // Whatever was not committed is gone as a whole, or (if the retry succeeded) there whole.
    let after = (0..400)
        .filter(|i| s.window("R", &format!("after{i}")).unwrap().is_some())
        .count();
    assert!(
        after == 0 || retried.is_ok(),
        "{after} rows of a failed transaction survived"
    );
    assert!(check(&state, &any_window).healthy());
}

#[test]
fn the_outbox_keeps_committed_alerts_until_they_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path(), BOUNDS).unwrap();
        let a = s.outbox_put("{\"alert_id\":\"a\"}").unwrap();
        s.outbox_put("{\"alert_id\":\"b\"}").unwrap();
        s.commit().unwrap();
        s.outbox_remove(a).unwrap();
        // Removed but not committed: a crash here must deliver "a" again.
        s.outbox_put("{\"alert_id\":\"never committed\"}").unwrap();
    }
    let mut s = Store::open(dir.path(), BOUNDS).unwrap();
    let rows: Vec<String> = s.outbox().unwrap().into_iter().map(|(_, j)| j).collect();
    assert_eq!(rows, ["{\"alert_id\":\"a\"}", "{\"alert_id\":\"b\"}"]);
    for (seq, _) in s.outbox().unwrap() {
        s.outbox_remove(seq).unwrap();
    }
    s.commit().unwrap();
    drop(s);
    assert!(Store::open(dir.path(), BOUNDS)
        .unwrap()
        .outbox()
        .unwrap()
        .is_empty());
}

#[test]
fn a_schema_1_store_gains_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 2);
    {
        let conn = rusqlite::Connection::open(db_path(dir.path())).unwrap();
        conn.execute_batch("DROP TABLE outbox; PRAGMA user_version = 1;")
            .unwrap();
    }
    let mut s = Store::open(dir.path(), BOUNDS).unwrap();
    assert_eq!(s.window_keys(), 2);
    s.outbox_put("{}").unwrap();
    s.commit().unwrap();
    assert!(check(dir.path(), &any_window).healthy());
}

//! Unit tests of [`Waiting`]: bounds, full policies, dedup and what survives a reopen.

use super::*;
use crate::sink::sample_alert;

fn alert(id: &str) -> Arc<Alert> {
    let mut a = sample_alert();
    a.alert_id = id.to_string();
    Arc::new(a)
}

fn json(a: &Alert) -> Vec<u8> {
    serde_json::to_vec(a).unwrap()
}

fn config(max_bytes: u64, full_policy: FullPolicy) -> QueueConfig {
    QueueConfig {
        max_bytes,
        full_policy,
        ..QueueConfig::default()
    }
}

fn push(w: &mut Waiting, id: &str) -> Pushed {
    let a = alert(id);
    let j = json(&a);
    w.push(a, &j).unwrap()
}

fn ids(batch: &[Arc<Alert>]) -> Vec<&str> {
    batch.iter().map(|a| a.alert_id.as_str()).collect()
}

/// Room for exactly `n` sample alerts.
fn room_for(n: u64) -> u64 {
    (json(&alert("a")).len() as u64 + 2) * n
}

#[test]
fn delivers_in_order_and_never_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Waiting::open(dir.path(), &QueueConfig::default()).unwrap();
    assert_eq!(push(&mut w, "a"), Pushed::Accepted { dropped: 0 });
    assert_eq!(push(&mut w, "b"), Pushed::Accepted { dropped: 0 });
    assert_eq!(push(&mut w, "a"), Pushed::Known, "already waiting");
    let (batch, skipped) = w.take(1).unwrap();
    assert_eq!((ids(&batch), skipped), (vec!["a"], 0));
    assert_eq!(w.finish(Outcome::Delivered).unwrap(), 1);
    assert_eq!(push(&mut w, "a"), Pushed::Known, "already delivered");
    let (batch, _) = w.take(10).unwrap();
    assert_eq!(ids(&batch), ["b"]);
}

#[test]
fn reopen_resumes_waiting_alerts_minus_delivered_ones() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut w = Waiting::open(dir.path(), &QueueConfig::default()).unwrap();
        for id in ["a", "b", "c"] {
            push(&mut w, id);
        }
        w.take(1).unwrap();
        w.finish(Outcome::Delivered).unwrap();
    }
    // A crash after recording "b" as delivered but before marking it done in the spool.
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("delivered.log"))
        .unwrap();
    std::io::Write::write_all(&mut log, b"b\n").unwrap();
    let mut w = Waiting::open(dir.path(), &QueueConfig::default()).unwrap();
    assert_eq!(w.size().0, 1);
    let (batch, _) = w.take(10).unwrap();
    assert_eq!(ids(&batch), ["c"]);
}

#[test]
fn block_policy_reports_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Waiting::open(dir.path(), &config(room_for(2), FullPolicy::Block)).unwrap();
    push(&mut w, "a");
    push(&mut w, "b");
    assert_eq!(push(&mut w, "c"), Pushed::Full);
    w.take(1).unwrap();
    w.finish(Outcome::Rejected).unwrap();
    assert_eq!(push(&mut w, "c"), Pushed::Accepted { dropped: 0 });
    // A rejected alert is not "delivered": it may be accepted again.
    assert_eq!(push(&mut w, "a"), Pushed::Full);
}

#[test]
fn drop_oldest_spares_the_batch_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(room_for(2), FullPolicy::DropOldest);
    let mut w = Waiting::open(dir.path(), &cfg).unwrap();
    push(&mut w, "a");
    push(&mut w, "b");
    w.take(1).unwrap(); // "a" is being delivered
    assert_eq!(push(&mut w, "c"), Pushed::Accepted { dropped: 1 });
    w.finish(Outcome::Delivered).unwrap();
    let (batch, _) = w.take(10).unwrap();
    assert_eq!(ids(&batch), ["c"]);
    drop(w);
    let w = Waiting::open(dir.path(), &cfg).unwrap();
    assert_eq!(
        w.size().0,
        1,
        "the dropped alert is gone from the spool too"
    );
}

#[test]
fn an_oversized_alert_still_enters_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Waiting::open(dir.path(), &config(10, FullPolicy::Block)).unwrap();
    assert_eq!(push(&mut w, "a"), Pushed::Accepted { dropped: 0 });
    assert_eq!(push(&mut w, "b"), Pushed::Full);
}

#[test]
fn spool_can_be_switched_off_and_on() {
    let dir = tempfile::tempdir().unwrap();
    let off = QueueConfig {
        spool: false,
        ..QueueConfig::default()
    };
    let mut w = Waiting::open(dir.path(), &off).unwrap();
    push(&mut w, "a");
    assert!(!dir.path().join("spool.log").exists());
    w.reconfigure(&QueueConfig::default()).unwrap();
    push(&mut w, "b");
    let on_disk = spool::read_waiting(&dir.path().join("spool.log")).unwrap();
    assert_eq!(on_disk.len(), 2);
    w.close();
    assert_eq!(push(&mut w, "c"), Pushed::Closed);
}

#[test]
fn the_spool_empties_once_everything_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Waiting::open(dir.path(), &QueueConfig::default()).unwrap();
    for id in ["a", "b"] {
        push(&mut w, id);
    }
    w.take(10).unwrap();
    w.finish(Outcome::Delivered).unwrap();
    let len = std::fs::metadata(dir.path().join("spool.log"))
        .unwrap()
        .len();
    assert_eq!(len, 0);
}

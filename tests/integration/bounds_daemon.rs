//! Sink bounds with the real daemon.
//!
//! A full disk under a sink's spool: the alerts are not accepted, so the checkpoints do not
//! move past them; killed (SIGKILL) while the disk is full and started again once there is
//! room, the daemon reads those records again and every alert arrives exactly once.
//!
//! A standard output nobody reads: the pipe fills, delivery attempts time out, and once the
//! pipe is read again every alert is there exactly once.

use crate::bounds_fds::{Inbox, SERIAL};
use crate::bounds_sinks::SmallDisk;
use crate::daemon::wait_until;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn a_full_spool_disk_holds_the_checkpoints_and_nothing_is_lost_or_doubled() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let inbox = Inbox::new();
    // The file sink's spool directory gets its own 256 KiB disk; the store stays outside it.
    let spool = inbox.root().join("state/spool/file");
    std::fs::create_dir_all(&spool).unwrap();
    let Some(disk) = SmallDisk::mount_at(&spool, "256k") else {
        return;
    };
    let mut child = inbox.start(1024);
    let filler = disk.fill_leaving(0);
    let n = 20;
    inbox.drop_files(n);
    let failures = "trailwatch_sink_spool_failures_total{sink=\"file\"}";
    assert!(
        wait_until(Duration::from_secs(60), || inbox.metric(failures) >= 2),
        "the spool append did not fail: {}",
        inbox.log()
    );
    assert_eq!(
        inbox.alert_lines(),
        0,
        "nothing accepted, nothing delivered"
    );
    assert!(inbox
        .log()
        .contains("sinks did not accept an alert; retrying"));
    // A crash while the disk is full, then room again.
    let _ = child.0.kill();
    let _ = child.0.wait();
    std::fs::remove_file(filler).unwrap();
    let _child = inbox.start(1024);
    assert!(
        wait_until(Duration::from_secs(60), || inbox.alert_lines() >= n),
        "{} of {n} alerts:\n{}",
        inbox.alert_lines(),
        inbox.log()
    );
    inbox.assert_each_alert_once(n);
    let waiting = trailwatch::sink::spool::read_waiting(&spool.join("spool.log")).unwrap();
    assert!(waiting.len() <= n, "the spool reads back whole");
    drop(_child);
    drop(disk);
}

#[test]
fn a_stdout_pipe_nobody_reads_times_out_and_each_alert_is_written_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let inbox = Inbox::new();
    let sink = "type: stdout\nretry:\n  initial_backoff_ms: 50\n  attempt_timeout_secs: 1\n";
    crate::support::write(&inbox.root().join("sinks.d/out.yaml"), sink.as_bytes());
    let mut child = inbox.start_with(1024, Stdio::piped());
    // About 3 KiB per alert: 200 alerts are far more than a 64 KiB pipe holds.
    let n = 200;
    inbox.drop_files(n);
    let timeouts = "trailwatch_sink_timeouts_total{sink=\"out\"}";
    assert!(
        wait_until(Duration::from_secs(60), || inbox.metric(timeouts) >= 2),
        "no delivery timed out: {}",
        inbox.log()
    );
    // The reader comes back.
    // Read on a thread, so that a missing alert fails the test instead of hanging it.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let mut seen = std::collections::HashMap::new();
    let mut count = |line: String| {
        let alert: serde_json::Value = serde_json::from_str(&line).unwrap();
        *seen
            .entry(alert["dedup"].as_str().unwrap().to_string())
            .or_insert(0usize) += 1;
    };
    for i in 0..n {
        let line = lines.recv_timeout(Duration::from_secs(60));
        count(line.unwrap_or_else(|_| panic!("only {i} of {n} alerts on stdout")));
    }
    // Once the sink's queue is empty, the daemon goes: whatever else it wrote (an alert
    // written twice) is then in the pipe before its end.
    let depth = "trailwatch_sink_queue_depth{sink=\"out\"}";
    assert!(wait_until(Duration::from_secs(30), || inbox.metric(depth) == 0));
    let _ = child.0.kill();
    let _ = child.0.wait();
    for line in lines.iter() {
        count(line);
    }
    for i in 0..n {
        assert_eq!(seen.get(&crate::daemon::dedup_of(i)), Some(&1), "alert {i}");
    }
    assert_eq!(seen.len(), n);
}

//! A full disk under a sink's spool, with the real daemon: the alerts are not accepted, so the
//! checkpoints do not move past them; killed (SIGKILL) while the disk is full and started
//! again once there is room, the daemon reads those records again and every alert arrives
//! exactly once.

use crate::bounds_fds::{Inbox, SERIAL};
use crate::bounds_sinks::SmallDisk;
use crate::daemon::wait_until;
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

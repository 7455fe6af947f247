//! Sinks at their bounds: a peer that hangs, and a spool on a full disk.
//!
//! Hangs use real peers on 127.0.0.1: an HTTP endpoint that accepts and never answers, and a
//! syslog TCP listener that accepts and never reads (its receive buffer shrunk so that one
//! large message fills it). The full disk is a 256 KiB tmpfs mounted by the test, which needs
//! root; without it the test says so loudly and stops.

use crate::sinks::http::{Reply, Server};
use crate::sinks::{alert, within, Setup};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;
use trailwatch::sink::queue::Queue;
use trailwatch::sink::spool::read_waiting;
use trailwatch::sink::QueueConfig;

/// Waits until `done` holds (fails after 30 s).
async fn until(mut done: impl FnMut() -> bool) {
    within(async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

#[tokio::test]
async fn an_http_endpoint_that_never_answers_times_out_and_nothing_is_lost_or_doubled() {
    // The first request is held open for ever; every later one is answered 200.
    let server = Server::start(vec![Reply::status(0)], Reply::status(200)).await;
    let setup = Setup::new();
    // The HTTP client's own timeout is long: the driver's attempt timeout must be what ends
    // the hung request.
    setup.sink(
        "hook",
        &format!(
            "type: webhook\nurl: {}\ntimeout_secs: 300\nretry:\n  initial_backoff_ms: 20\n  attempt_timeout_secs: 1\n",
            server.url
        ),
    );
    let router = setup.router().await;
    for n in 0..3 {
        router.publish(&alert(n)).await.unwrap();
    }
    server.wait_successes(3).await;
    within(router.wait_idle()).await;
    let answered: Vec<String> = (server.requests().iter())
        .filter(|r| r.status == 200)
        .map(|r| r.json()["alert_id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..3).map(|n| alert(n).alert_id).collect();
    assert_eq!(answered, expected, "each alert delivered once, in order");
    let stats = &router.stats()[0];
    assert_eq!((stats.timeouts, stats.delivered), (1, 3), "{stats:?}");
}

/// Reads one connection to its end and returns the complete octet-counted frames in it; a
/// frame cut short by the sender giving up is not a message and is left out.
async fn frames_of(mut conn: tokio::net::TcpStream) -> Vec<String> {
    let mut bytes = Vec::new();
    let _ = conn.read_to_end(&mut bytes).await;
    let mut frames = Vec::new();
    let mut rest = &bytes[..];
    while let Some(space) = rest.iter().position(|b| *b == b' ') {
        let Ok(len) = std::str::from_utf8(&rest[..space])
            .unwrap()
            .parse::<usize>()
        else {
            break;
        };
        let body = &rest[space + 1..];
        if body.len() < len {
            break;
        }
        frames.push(String::from_utf8_lossy(&body[..len]).into_owned());
        rest = &body[len..];
    }
    frames
}

#[tokio::test]
async fn a_syslog_collector_that_stops_reading_times_out_and_nothing_is_lost_or_doubled() {
    let socket = TcpSocket::new_v4().unwrap();
    // Inherited by accepted connections: a few KiB of window, so one big message fills it.
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = socket.local_addr().unwrap();
    let listener = socket.listen(64).unwrap();
    let setup = Setup::new();
    setup.sink(
        "syslog",
        &format!("type: syslog\ntransport: tcp\naddress: {address}\ntimeout_secs: 1\nretry:\n  initial_backoff_ms: 20\n"),
    );
    let router = setup.router().await;
    // Larger than the collector's window plus the largest send buffer (tcp_wmem's 4 MiB).
    let mut big = alert(1);
    big.title = "x".repeat(6 * 1024 * 1024);
    let alerts = [alert(0), big, alert(2)];
    for a in &alerts {
        router.publish(a).await.unwrap();
    }
    // Nobody reads: the big message cannot get through and its attempts time out.
    until(|| router.stats()[0].retries >= 2).await;
    assert_eq!(
        router.stats()[0].delivered,
        1,
        "only the first, small message fitted"
    );

    // The collector behaves again: it reads every connection, the stalled ones included.
    let reader = tokio::spawn(async move {
        let mut readers = Vec::new();
        loop {
            let accepted = tokio::time::timeout(Duration::from_secs(3), listener.accept()).await;
            match accepted {
                Ok(Ok((conn, _))) => readers.push(tokio::spawn(frames_of(conn))),
                _ => break,
            }
        }
        let mut frames = Vec::new();
        for r in readers {
            frames.extend(r.await.unwrap());
        }
        frames
    });
    within(router.wait_idle()).await;
    // Closing the sink's connection ends the last reader.
    router.shutdown(Duration::from_secs(5)).await;
    let frames = within(reader).await.unwrap();
    let mut count: HashMap<String, usize> = HashMap::new();
    for frame in &frames {
        let id = alerts
            .iter()
            .find(|a| frame.contains(&a.alert_id))
            .map(|a| a.alert_id.clone())
            .expect("every frame is one of the alerts");
        *count.entry(id).or_default() += 1;
    }
    for a in &alerts {
        assert_eq!(
            count.get(&a.alert_id),
            Some(&1),
            "alert {} arrives once",
            a.alert_id
        );
    }
}

/// A small tmpfs mounted for the test and unmounted when dropped.
pub struct SmallDisk {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl SmallDisk {
    /// A new disk in a temporary directory; `None` (after saying why, loudly) when mounting
    /// is not permitted here.
    pub fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mut disk = SmallDisk::mount_at(dir.path(), size)?;
        disk._dir = Some(dir);
        Some(disk)
    }

    /// A new disk mounted on the existing directory `path`.
    pub fn mount_at(path: &Path, size: &str) -> Option<SmallDisk> {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .stderr(std::process::Stdio::piped())
            .output();
        match status {
            Ok(out) if out.status.success() => Some(SmallDisk {
                path: path.to_path_buf(),
                _dir: None,
            }),
            other => {
                eprintln!(
                    "\n*** SKIPPED: the full-disk spool test needs to mount a tmpfs (root); \
                     mount said: {other:?} ***\n"
                );
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fills the disk, then frees `leave` bytes of it again.
    pub fn fill_leaving(&self, leave: u64) -> PathBuf {
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        let mut written = 0u64;
        while let Ok(n) = f.write(&chunk) {
            if n == 0 {
                break;
            }
            written += n as u64;
        }
        f.set_len(written.saturating_sub(leave)).unwrap();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_refuses_the_alert_without_tearing_the_spool_and_recovers() {
    let Some(disk) = SmallDisk::mount("256k") else {
        return;
    };
    let dir = disk.path().join("spool/hook");
    let queue = Arc::new(Queue::open("hook", &dir, &QueueConfig::default()).unwrap());
    let accept = |a: trailwatch::alert::Alert| {
        let queue = queue.clone();
        async move {
            let json = Arc::new(serde_json::to_vec(&a).unwrap());
            queue.accept(Arc::new(a), json).await
        }
    };
    assert!(accept(alert(0)).await.unwrap());
    let spool = dir.join("spool.log");
    let before = std::fs::read(&spool).unwrap();

    // 8 KiB free, and a 40 KiB alert: the write gets part of the way, then ENOSPC.
    let filler = disk.fill_leaving(8 * 1024);
    let mut big = alert(1);
    big.title = "y".repeat(40 * 1024);
    let refused = accept(big.clone()).await;
    assert!(
        refused.is_err(),
        "a spool that cannot be written does not accept"
    );
    assert!(format!("{:?}", refused.unwrap_err()).contains("No space left"));
    assert_eq!(
        std::fs::read(&spool).unwrap(),
        before,
        "no torn record left behind"
    );
    let stats = queue.stats();
    assert_eq!(
        (stats.spool_failures, stats.accepted, stats.waiting),
        (1, 1, 1)
    );

    // Space returns: the same alert is accepted, and the spool reads back whole.
    std::fs::remove_file(filler).unwrap();
    assert!(accept(big.clone()).await.unwrap());
    assert!(accept(alert(2)).await.unwrap());
    let ids: Vec<String> = (read_waiting(&spool).unwrap().into_iter())
        .map(|a| a.alert_id)
        .collect();
    assert_eq!(ids, [alert(0).alert_id, big.alert_id, alert(2).alert_id]);
    drop(queue);
}

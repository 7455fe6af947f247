//! Supervision against the real debug binary: a panic while evaluating one record is reported
//! and counted and the daemon goes on; a panic anywhere else ends the process non-zero so the
//! service manager restarts it. The panics come from test hooks that exist in debug builds
//! only (`TRAILWATCH_TEST_PANIC_ON`, `TRAILWATCH_TEST_PANIC_STAGE`).

use crate::daemon::{append, dedup_of, http_get, lines, target, terminate, Env};
use crate::support::*;
use std::time::Duration;

#[test]
fn a_panicking_record_is_reported_counted_and_skipped_and_the_rest_flows() {
    let env = Env::new();
    env.listen_on_any_port();
    // eventID "ev-2" makes evaluation panic; everything else is ordinary.
    let mut child = env.start_with(&[("TRAILWATCH_TEST_PANIC_ON", "\"ev-2\"")]);
    let port = env.metrics_port();
    append(
        &env.inbox().join("a.ndjson"),
        &lines(&[target(1, 1), target(2, 2), target(3, 3)]),
    );
    append(&env.inbox().join("b.ndjson"), &lines(&[target(4, 4)]));
    assert!(
        env.wait_for_alerts(3, Duration::from_secs(15)),
        "{:?}\n{}",
        env.alert_counts(),
        env.log()
    );
    let log = env.log();
    assert!(log.contains("a.ndjson:2: evaluation panicked"), "{log}");
    assert!(
        http_get(port, "/metrics").contains("trailwatch_records_panicked_total 1"),
        "{}",
        http_get(port, "/metrics")
    );
    // Later records in the same file still flow after the panic.
    append(&env.inbox().join("a.ndjson"), &lines(&[target(5, 5)]));
    assert!(
        env.wait_for_alerts(4, Duration::from_secs(15)),
        "{}",
        env.log()
    );
    assert!(terminate(&mut child).success(), "{}", env.log());

    // Restarted without the hook: had the checkpoint stopped at the panic, record 2 would be
    // read again now and raise its alert before record 6 (files are read in order).
    let mut child = env.start();
    append(&env.inbox().join("a.ndjson"), &lines(&[target(6, 6)]));
    assert!(
        env.wait_for_alerts(5, Duration::from_secs(15)),
        "{}",
        env.log()
    );
    let counts = env.alert_counts();
    for n in [1, 3, 4, 5, 6] {
        assert_eq!(counts.get(&dedup_of(n)), Some(&1), "event {n}: {counts:?}");
    }
    assert_eq!(
        counts.get(&dedup_of(2)),
        None,
        "the panicking record is not re-read"
    );
    assert!(terminate(&mut child).success());
}

#[test]
fn a_panic_in_a_worker_outside_evaluation_exits_70() {
    let env = Env::new();
    let mut child = env.start_with(&[("TRAILWATCH_TEST_PANIC_STAGE", "worker")]);
    append(&env.inbox().join("a.ndjson"), &lines(&[target(1, 1)]));
    let status = child
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("still running after a worker panic\n{}", env.log()));
    assert_eq!(status.code(), Some(70), "{}", env.log());
    assert!(
        env.log().contains("panic in thread trailwatch-worker-"),
        "{}",
        env.log()
    );
}

#[test]
fn a_panic_in_the_alert_stage_exits_70() {
    let env = Env::new();
    let mut child = env.spawn(&[("TRAILWATCH_TEST_PANIC_STAGE", "alert")]);
    let status = child
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("still running after an alert stage panic\n{}", env.log()));
    assert_eq!(status.code(), Some(70), "{}", env.log());
    assert!(
        env.log().contains("TRAILWATCH_TEST_PANIC_STAGE=alert"),
        "{}",
        env.log()
    );
}

#[test]
fn symlink_loops_in_rules_and_inbox_are_skipped_with_one_warning() {
    let env = Env::new();
    std::os::unix::fs::symlink(".", env.root().join("rules.d/loop")).unwrap();
    std::os::unix::fs::symlink(".", env.inbox().join("l1")).unwrap();
    std::os::unix::fs::symlink(".", env.inbox().join("l2")).unwrap();
    let check = trailwatch(env.root(), &["check", "--config", "trailwatch.yaml"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("ok: 1 rule(s)"),
        "{}",
        stdout(&check)
    );
    let mut child = env.start();
    append(&env.inbox().join("a.ndjson"), &lines(&[target(1, 1)]));
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(15)),
        "{}",
        env.log()
    );
    // A second file, found by a later walk of the inbox: the loops are still reported once
    // each (the daemon walks its sources every two seconds).
    append(&env.inbox().join("b.ndjson"), &lines(&[target(2, 2)]));
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(15)),
        "{}",
        env.log()
    );
    let log = env.log();
    for link in ["rules.d/loop", "inbox/l1", "inbox/l2"] {
        let warnings = log
            .lines()
            .filter(|l| l.contains("symlink loop") && l.contains(link))
            .count();
        assert_eq!(warnings, 1, "{link}:\n{log}");
    }
    assert_eq!(env.alerts().len(), 2, "each record read once");
    assert!(terminate(&mut child).success());
}

#[test]
fn many_idle_metrics_connections_are_closed_and_healthz_keeps_answering() {
    use std::io::Read;
    let env = Env::new();
    env.listen_on_any_port();
    let mut child = env.start();
    let port = env.metrics_port();
    let idle: Vec<std::net::TcpStream> = (0..300)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    assert!(http_get(port, "/healthz").ends_with("ok\n"));
    // Every idle connection is closed by the daemon (made way for a newer one, or timed out);
    // the read deadline only bounds a hang.
    for mut conn in idle {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut byte = [0u8; 1];
        match conn.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("idle connection still open: {other:?}"),
        }
    }
    assert!(http_get(port, "/healthz").ends_with("ok\n"));
    assert!(terminate(&mut child).success());
}

/// Reads sd_notify datagrams until `want` arrives or `within` passes.
fn wait_for_datagram(
    socket: &std::os::unix::net::UnixDatagram,
    want: &str,
    within: Duration,
) -> bool {
    let deadline = std::time::Instant::now() + within;
    let mut buf = [0u8; 512];
    while std::time::Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            if String::from_utf8_lossy(&buf[..n]).contains(want) {
                return true;
            }
        }
    }
    false
}

#[test]
fn the_watchdog_and_healthz_follow_pipeline_progress() {
    let env = Env::new();
    env.listen_on_any_port();
    let path = env.root().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    // Watchdog every 200 ms (checked every 100 ms); "ev-2" never finishes evaluating.
    let mut child = env.start_with(&[
        ("NOTIFY_SOCKET", path.to_str().unwrap()),
        ("WATCHDOG_USEC", "200000"),
        ("TRAILWATCH_TEST_HANG_ON", "\"ev-2\""),
    ]);
    let port = env.metrics_port();
    assert!(
        wait_for_datagram(&socket, "WATCHDOG=1", Duration::from_secs(15)),
        "an idle pipeline is fed"
    );
    assert!(http_get(port, "/healthz").ends_with("ok\n"));
    append(&env.inbox().join("a.ndjson"), &lines(&[target(1, 1)]));
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(15)),
        "{}",
        env.log()
    );
    append(&env.inbox().join("a.ndjson"), &lines(&[target(2, 2)]));
    // Stalled with a batch in flight: the pings stop. Wait for a silence ten intervals long;
    // the deadline only bounds the wait, a fed watchdog never goes silent that long.
    let mut silent_since = std::time::Instant::now();
    let deadline = silent_since + Duration::from_secs(30);
    let mut buf = [0u8; 512];
    let mut stalled = false;
    while std::time::Instant::now() < deadline {
        match socket.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1") => {
                silent_since = std::time::Instant::now();
            }
            _ => {
                if silent_since.elapsed() >= Duration::from_secs(2) {
                    stalled = true;
                    break;
                }
            }
        }
    }
    assert!(stalled, "the watchdog kept being fed by a stalled pipeline");
    let health = http_get(port, "/healthz");
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    assert!(env.log().contains("pipeline stalled"), "{}", env.log());
    child.kill();
}

#[test]
fn the_metrics_listener_backs_off_when_out_of_descriptors() {
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    env.listen_on_any_port();
    let runs_before = env.log().matches("trailwatch running").count();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.root().join("daemon.log"))
        .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    command
        .args(["run", "--config", "trailwatch.yaml"])
        .current_dir(env.root())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log);
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = crate::daemon::Daemon(command.spawn().unwrap());
    assert!(
        crate::daemon::wait_until(Duration::from_secs(20), || env
            .log()
            .matches("trailwatch running")
            .count()
            > runs_before),
        "{}",
        env.log()
    );
    let port = env.metrics_port();
    // More idle connections than the daemon has descriptors left: accept fails with EMFILE.
    let idle: Vec<std::net::TcpStream> = (0..80)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    assert!(
        crate::daemon::wait_until(Duration::from_secs(15), || env
            .log()
            .contains("metrics listener cannot accept; backing off")),
        "{}",
        env.log()
    );
    drop(idle);
    // Once descriptors are free again the listener answers; the backoff kept the failures to
    // a handful of log lines where a busy loop would have written them by the thousand.
    let healthz = || -> Option<String> {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        std::io::Write::write_all(&mut c, b"GET /healthz HTTP/1.1\r\n\r\n").ok()?;
        let mut s = String::new();
        std::io::Read::read_to_string(&mut c, &mut s).ok()?;
        Some(s)
    };
    assert!(
        crate::daemon::wait_until(Duration::from_secs(15), || healthz()
            .is_some_and(|s| s.ends_with("ok\n"))),
        "{}",
        env.log()
    );
    let failures = env.log().matches("cannot accept; backing off").count();
    assert!(failures < 200, "{failures} accept failures logged");
    assert!(terminate(&mut child).success(), "{}", env.log());
}

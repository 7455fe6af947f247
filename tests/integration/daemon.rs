//! `trailwatch run`: the daemon as a child process, against real files.
//!
//! Each test gets its own directory with `rules.d/` (the seed rule), `sinks.d/` (a file sink
//! writing `alerts.jsonl`), an inbox and a state directory. Waiting is done on observable
//! effects (a log line, alerts in the sink file) with a deadline, never on fixed sleeps.

use crate::state::stored_checkpoints;
use crate::support::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running daemon; killed when dropped, so a failing test leaves no process behind.
pub struct Daemon(pub Child);

impl Daemon {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Waits up to `within` for the process to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut status = None;
        wait_until(within, || {
            status = self.0.try_wait().unwrap();
            status.is_some()
        });
        status
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    /// Daemon tests run one at a time: each daemon starts a worker per core, and a dozen at
    /// once on two cores would only make every deadline harder to meet.
    _serial: std::sync::MutexGuard<'static, ()>,
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Env {
    pub fn new() -> Env {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("rules.d")).unwrap();
        std::fs::copy(seed_rule(), root.join("rules.d/seed.yml")).unwrap();
        std::fs::create_dir_all(root.join("inbox")).unwrap();
        let sink = format!(
            "type: file\npath: {}\n",
            root.join("alerts.jsonl").display()
        );
        write(&root.join("sinks.d/file.yaml"), sink.as_bytes());
        let config = "rules_dir: rules.d\nsinks_dir: sinks.d\nstate_dir: state\nsources:\n  - path: inbox\nmetrics:\n  listen: \"\"\n";
        write(&root.join("trailwatch.yaml"), config.as_bytes());
        Env {
            dir,
            _serial: serial,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn inbox(&self) -> PathBuf {
        self.root().join("inbox")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("daemon.log")).unwrap_or_default()
    }

    /// Starts the daemon and waits until it says it is running.
    pub fn start(&self) -> Daemon {
        self.start_with(&[])
    }

    /// Starts the daemon with extra environment variables, without waiting for anything.
    pub fn spawn(&self, vars: &[(&str, &str)]) -> Daemon {
        let mut command = daemon_command(self.root());
        command.envs(vars.iter().copied());
        Daemon(command.spawn().unwrap())
    }

    /// Starts the daemon with extra environment variables and waits until it is running.
    pub fn start_with(&self, vars: &[(&str, &str)]) -> Daemon {
        let mut command = daemon_command(self.root());
        command.envs(vars.iter().copied());
        start_and_wait(self.root(), command)
    }

    /// Alerts the file sink has written so far: its complete lines (the daemon may be in the
    /// middle of appending one, and a reader of a growing file trusts only what ends in a
    /// newline).
    pub fn alerts(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.root().join("alerts.jsonl")).unwrap_or_default();
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The dedup strings of the alerts written so far, with how often each was written.
    pub fn alert_counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for a in self.alerts() {
            *counts
                .entry(a["dedup"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        counts
    }

    pub fn wait_for_alerts(&self, n: usize, within: Duration) -> bool {
        wait_until(within, || self.alerts().len() >= n)
    }
}

/// `trailwatch run --config trailwatch.yaml` in `root`, its log appended to `root/daemon.log`.
pub fn daemon_command(root: &Path) -> Command {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("daemon.log"))
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    command
        .args(["run", "--config", "trailwatch.yaml"])
        .current_dir(root)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log);
    command
}

/// Spawns `command` (see [`daemon_command`]) and waits until `root/daemon.log` says one more
/// daemon is running.
pub fn start_and_wait(root: &Path, mut command: Command) -> Daemon {
    let read_log = || std::fs::read_to_string(root.join("daemon.log")).unwrap_or_default();
    let runs_before = read_log().matches("trailwatch running").count();
    let child = Daemon(command.spawn().unwrap());
    assert!(
        wait_until(Duration::from_secs(30), || read_log()
            .matches("trailwatch running")
            .count()
            > runs_before),
        "daemon did not start:\n{}",
        read_log()
    );
    child
}

/// Polls `done` until it holds or `within` passes.
pub fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn terminate(child: &mut Daemon) -> std::process::ExitStatus {
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.0.wait().unwrap()
}

/// A matching event whose alert is told apart by its security group name.
pub fn target(n: usize, minute: usize) -> Value {
    let t = format!(
        "2024-05-01T{:02}:{:02}:00Z",
        10 + minute / 60 % 10,
        minute % 60
    );
    grant(
        &format!("ev-{n}"),
        &t,
        "us-east-1",
        &format!("sg-{n}"),
        Some("10.0.0.0/8"),
    )
}

pub fn dedup_of(n: usize) -> String {
    format!("123456789012:us-east-1:sg-{n}")
}

pub fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
}

pub fn lines(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend(e.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[test]
fn delivery_files_and_ndjson_stream_alert_once_each() {
    let env = Env::new();
    let mut child = env.start();
    let mut expected = Vec::new();
    let mut n = 0;
    // 20 delivery files of 50 records, 5 of them matching, written by atomic rename.
    for f in 0..20 {
        let mut records = Vec::new();
        for i in 0..50 {
            if i % 10 == 0 {
                records.push(target(n, n));
                expected.push(dedup_of(n));
                n += 1;
            } else {
                records.push(noise(&format!("noise-{f}-{i}"), "2024-05-01T09:00:00Z"));
            }
        }
        let dir = env
            .inbox()
            .join("AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01");
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(format!(".part-{f}"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&records_json(&records)).unwrap();
        std::fs::write(&tmp, gz.finish().unwrap()).unwrap();
        std::fs::rename(
            &tmp,
            dir.join(format!("123456789012_CloudTrail_us-east-1_{f:03}.json.gz")),
        )
        .unwrap();
    }
    // Deadlines here are generous and only bound a hang: how fast alerts arrive is measured
    // in benches/, not asserted where other builds share the cores.
    assert!(
        env.wait_for_alerts(expected.len(), Duration::from_secs(30)),
        "{} of {} alerts",
        env.alerts().len(),
        expected.len()
    );
    // 10,000 NDJSON lines appended in 10 bursts; every 100th line matches.
    let stream = env.inbox().join("stream.ndjson");
    for burst in 0..10 {
        let mut events = Vec::new();
        for i in 0..1000 {
            if i % 100 == 0 {
                events.push(target(n, n));
                expected.push(dedup_of(n));
                n += 1;
            } else {
                events.push(noise(&format!("s-{burst}-{i}"), "2024-05-01T09:00:00Z"));
            }
        }
        append(&stream, &lines(&events));
        assert!(
            env.wait_for_alerts(expected.len(), Duration::from_secs(30)),
            "burst {burst}: {} of {} alerts\n{}",
            env.alerts().len(),
            expected.len(),
            env.log()
        );
    }
    let counts = env.alert_counts();
    for d in &expected {
        assert_eq!(counts.get(d), Some(&1), "alert {d}");
    }
    assert_eq!(env.alerts().len(), expected.len(), "no unexpected alerts");
    assert!(terminate(&mut child).success());
}

#[test]
fn kill_9_mid_stream_then_restart_loses_nothing_and_repeats_nothing() {
    let env = Env::new();
    let mut child = env.start();
    let stream = env.inbox().join("stream.ndjson");
    let mut expected = Vec::new();
    let mut batch = |from: usize, to: usize| {
        let mut events = Vec::new();
        for n in from..to {
            events.push(target(n, n));
            for k in 0..20 {
                events.push(noise(&format!("x-{n}-{k}"), "2024-05-01T09:00:00Z"));
            }
            expected.push(dedup_of(n));
        }
        lines(&events)
    };
    append(&stream, &batch(0, 100));
    assert!(env.wait_for_alerts(30, Duration::from_secs(10)));
    append(&stream, &batch(100, 300));
    child.kill(); // SIGKILL, mid-stream
    append(&stream, &batch(300, 400));
    let mut child = env.start();
    assert!(
        env.wait_for_alerts(expected.len(), Duration::from_secs(15)),
        "{} of {} alerts after restart",
        env.alerts().len(),
        expected.len()
    );
    let counts = env.alert_counts();
    let missing: Vec<_> = expected
        .iter()
        .filter(|d| !counts.contains_key(*d))
        .collect();
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(missing.is_empty(), "missing {missing:?}");
    assert!(twice.is_empty(), "notified twice: {twice:?}");
    assert!(terminate(&mut child).success());
}

#[test]
fn sigterm_processes_and_flushes_everything_queued() {
    let env = Env::new();
    let mut child = env.start();
    let stream = env.inbox().join("stream.ndjson");
    let mut events = Vec::new();
    for n in 0..300 {
        events.push(target(n, n));
        for k in 0..30 {
            events.push(noise(&format!("q-{n}-{k}"), "2024-05-01T09:00:00Z"));
        }
    }
    append(&stream, &lines(&events));
    // Give the watcher a moment to start reading, then stop while work is queued.
    assert!(wait_until(Duration::from_secs(10), || !env
        .alerts()
        .is_empty()));
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}\n{}", env.log());
    assert_eq!(
        env.alerts().len(),
        300,
        "every queued event processed before exit"
    );
    let checkpoints = stored_checkpoints(&env.root().join("state"));
    assert!(
        checkpoints
            .iter()
            .any(|p| p.path.ends_with("stream.ndjson") && p.offset > 0),
        "checkpoint written: {checkpoints:?}"
    );
}

#[test]
fn awkward_inputs_are_reported_and_the_rest_is_processed() {
    let env = Env::new();
    let mut child = env.start();
    let inbox = env.inbox();
    // A partial last line, completed later.
    let partial = inbox.join("partial.ndjson");
    let line = target(1, 1).to_string();
    append(&partial, &line.as_bytes()[..line.len() / 2]);
    // A file written slowly: a delivery document in three pieces.
    let slow = inbox.join("slow.json");
    let doc = records_json(&[target(2, 2)]);
    append(&slow, &doc[..doc.len() / 3]);
    // A corrupt .gz, a 50 MB line, invalid UTF-8: each next to a good event.
    write(
        &inbox.join("corrupt.json.gz"),
        b"\x1f\x8b\x08\x00this is not deflate data at all",
    );
    let mut big = Vec::with_capacity(51 * 1024 * 1024);
    big.extend(b"{\"eventName\":\"");
    big.extend(std::iter::repeat_n(b'A', 50 * 1024 * 1024));
    big.extend(b"\"}\n");
    big.extend(lines(&[target(3, 3)]));
    write(&inbox.join("big.ndjson"), &big);
    let mut bad_utf8 =
        b"{\"eventTime\":\"2024-05-01T10:00:00Z\",\"eventName\":\"\xff\xfe\"}\n".to_vec();
    bad_utf8.extend(lines(&[target(4, 4)]));
    write(&inbox.join("utf8.ndjson"), &bad_utf8);
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(10)),
        "{}",
        env.log()
    );
    append(
        &partial,
        format!("{}\n", &line[line.len() / 2..]).as_bytes(),
    );
    append(&slow, &doc[doc.len() / 3..2 * doc.len() / 3]);
    // The writer pauses mid-file until the daemon has acted on the completed partial line
    // (written just before): by then it has had its chance to meet the document two-thirds
    // written.
    assert!(
        env.wait_for_alerts(3, Duration::from_secs(15)),
        "{:?}\n{}",
        env.alert_counts(),
        env.log()
    );
    append(&slow, &doc[2 * doc.len() / 3..]);
    assert!(
        env.wait_for_alerts(4, Duration::from_secs(10)),
        "{:?}\n{}",
        env.alert_counts(),
        env.log()
    );
    let counts = env.alert_counts();
    for n in 1..=4 {
        assert_eq!(counts.get(&dedup_of(n)), Some(&1), "event {n}: {counts:?}");
    }
    let log = env.log();
    assert!(log.contains("corrupt.json.gz"), "{log}");
    assert!(log.contains("longer than max_line_bytes"), "{log}");
    assert!(log.contains("utf8.ndjson:1"), "{log}");
    assert!(terminate(&mut child).success());
}

#[test]
fn rotation_and_copytruncate_neither_skip_nor_repeat() {
    let env = Env::new();
    let mut child = env.start();
    let live = env.inbox().join("trail.ndjson");
    append(&live, &lines(&[target(1, 1)]));
    assert!(env.wait_for_alerts(1, Duration::from_secs(10)));
    // Rotation by rename: the last line written before the rename must still be read.
    append(&live, &lines(&[target(2, 2)]));
    std::fs::rename(&live, env.inbox().join("trail.ndjson.1")).unwrap();
    append(&live, &lines(&[target(3, 3)]));
    assert!(
        env.wait_for_alerts(3, Duration::from_secs(10)),
        "{:?}",
        env.alert_counts()
    );
    // copytruncate: the file is copied away and emptied in place, then written again.
    std::fs::copy(&live, env.inbox().join("trail.ndjson.2.bak")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&live)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&live, &lines(&[target(4, 4)]));
    assert!(
        env.wait_for_alerts(4, Duration::from_secs(10)),
        "{:?}",
        env.alert_counts()
    );
    let counts = env.alert_counts();
    for n in 1..=4 {
        assert_eq!(counts.get(&dedup_of(n)), Some(&1), "event {n}: {counts:?}");
    }
    assert!(terminate(&mut child).success());
}

#[test]
fn rule_edits_apply_and_a_broken_edit_keeps_the_running_version() {
    let env = Env::new();
    let mut child = env.start();
    let rules = env.root().join("rules.d");
    let stream = env.inbox().join("s.ndjson");
    let get_object = |n: usize| noise(&format!("go-{n}"), "2024-05-01T09:00:00Z");
    let rule = |title: &str| {
        format!("RuleID: Test.GetObject\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nAlertTitle: \"{title} {{eventID}}\"\nGroupBy: [{{Key: eventID}}]\nDetection:\n  - {{Key: eventName, Condition: Equals, Value: GetObject}}\n")
    };
    // Atomic rename into place.
    write(&rules.join(".new.tmp"), rule("v1").as_bytes());
    std::fs::rename(rules.join(".new.tmp"), rules.join("getobject.yml")).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || env.log().contains("reloaded")),
        "{}",
        env.log()
    );
    append(&stream, &lines(&[get_object(1)]));
    assert!(env.wait_for_alerts(1, Duration::from_secs(5)));
    assert_eq!(env.alerts()[0]["title"], "v1 go-1");
    // In-place write.
    let reloads = env.log().matches("reloaded").count();
    std::fs::write(rules.join("getobject.yml"), rule("v2")).unwrap();
    assert!(wait_until(Duration::from_secs(5), || env
        .log()
        .matches("reloaded")
        .count()
        > reloads));
    append(&stream, &lines(&[get_object(2)]));
    assert!(env.wait_for_alerts(2, Duration::from_secs(5)));
    assert_eq!(env.alerts()[1]["title"], "v2 go-2");
    // A broken edit: the file's running version (v2) keeps running, the seed rule too, and
    // the error is located.
    std::fs::write(
        rules.join("getobject.yml"),
        "RuleID: Test.GetObject\nSeverity: Loud\n",
    )
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || env
            .log()
            .contains("broken rule file: its previous version keeps running")),
        "{}",
        env.log()
    );
    assert!(
        env.log()
            .contains("getobject.yml:2:11: Severity: unknown Severity `Loud`"),
        "{}",
        env.log()
    );
    append(&stream, &lines(&[get_object(3)]));
    assert!(
        env.wait_for_alerts(4, Duration::from_secs(5)),
        "{:?}",
        env.alerts()
    );
    let titles: Vec<String> = env
        .alerts()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    assert!(titles.contains(&"v2 go-3".to_string()), "{titles:?}");
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("trailwatch rule errors: 1 error(s)")),
        "internal alert: {titles:?}"
    );
    assert!(terminate(&mut child).success());
}

impl Env {
    /// Has the daemon's metrics listener take a port the kernel picks (no probe-then-bind
    /// race with other tests); [`Env::metrics_port`] reads which one from the log.
    pub fn listen_on_any_port(&self) {
        let path = self.root().join("trailwatch.yaml");
        let config = std::fs::read_to_string(&path)
            .unwrap()
            .replace("listen: \"\"", "listen: 127.0.0.1:0");
        write(&path, config.as_bytes());
    }

    /// The metrics port of the last daemon started, from its "metrics endpoint up" line.
    pub fn metrics_port(&self) -> u16 {
        let log = self.log();
        let line = log
            .lines()
            .rfind(|l| l.contains("metrics endpoint up"))
            .unwrap_or_else(|| panic!("no metrics line in\n{log}"));
        let at = line.find("127.0.0.1:").expect("an address") + "127.0.0.1:".len();
        line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    }
}

/// The sum of a metric's samples whose line contains `label` (every sample for "").
pub fn metric(port: u16, name: &str, label: &str) -> u64 {
    http_get(port, "/metrics")
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
                && l.contains(label)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

pub fn http_get(port: u16, path: &str) -> String {
    use std::io::Read;
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    s
}

#[test]
fn metrics_health_and_sighup_reload() {
    let env = Env::new();
    env.listen_on_any_port();
    let mut child = env.start();
    let port = env.metrics_port();
    assert!(http_get(port, "/healthz").ends_with("ok\n"));
    append(
        &env.inbox().join("s.ndjson"),
        &lines(&[target(1, 1), noise("n", "2024-05-01T09:00:00Z")]),
    );
    assert!(env.wait_for_alerts(1, Duration::from_secs(10)));
    let metrics = http_get(port, "/metrics");
    for line in [
        "trailwatch_rule_matches_total{rule_id=\"AWS.RDS.SecurityGroupIngressAuthorized\"} 1",
        "trailwatch_alerts_opened_total 1",
        "trailwatch_rules_loaded 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    assert!(
        metrics.contains("trailwatch_records_read_total{source="),
        "{metrics}"
    );
    // SIGHUP reloads the same way a file edit does.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    assert!(wait_until(Duration::from_secs(5), || http_get(
        port, "/metrics"
    )
    .contains("trailwatch_reloads_total 1")));
    assert!(terminate(&mut child).success());
}

#[test]
fn runs_on_built_in_defaults_from_a_checkout() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("rules.d")).unwrap();
    std::fs::copy(seed_rule(), root.join("rules.d/seed.yml")).unwrap();
    std::fs::create_dir(root.join("sinks.d")).unwrap();
    std::fs::copy(
        repo().join("sinks.d/file.yaml"),
        root.join("sinks.d/file.yaml"),
    )
    .unwrap();
    // The defaults listen on 127.0.0.1:9187. Test runs in other checkouts on this machine take
    // the same lock, so they wait for each other; anything else on that port fails the test
    // loudly instead of letting it pass having checked nothing.
    let _port_lock = lock_default_port();
    if let Err(e) = std::net::TcpListener::bind("127.0.0.1:9187") {
        panic!("127.0.0.1:9187 is taken ({e}): this test runs the built-in defaults, which listen there; stop what holds it");
    }
    let log = std::fs::File::create(root.join("daemon.log")).unwrap();
    let mut child = Daemon(
        Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .arg("run")
            .current_dir(root)
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let read_log = || std::fs::read_to_string(root.join("daemon.log")).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || read_log()
            .contains("trailwatch running")),
        "{}",
        read_log()
    );
    assert!(
        http_get(9187, "/healthz").ends_with("ok\n"),
        "the default metrics address answers"
    );
    assert!(
        root.join("var/inbox").is_dir(),
        "the default inbox is created"
    );
    std::fs::copy(
        repo().join("samples/cloudtrail_sample.json"),
        root.join("var/inbox/sample.json"),
    )
    .unwrap();
    let alerts = || std::fs::read_to_string(root.join("var/alerts.jsonl")).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(10), || !alerts().is_empty()),
        "{}",
        read_log()
    );
    let alert: Value = serde_json::from_str(alerts().lines().next().unwrap()).unwrap();
    assert_eq!(alert["rule_id"], "AWS.RDS.SecurityGroupIngressAuthorized");
    assert!(terminate(&mut child).success());
    assert!(root.join("var/state/state.db").is_file());
}

/// An exclusive lock shared by every checkout's test run on this machine, held while a test
/// uses the default metrics port.
fn lock_default_port() -> std::fs::File {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("trailwatch-test-port-9187.lock"))
        .unwrap();
    // SAFETY: flock on a descriptor we own; released when the file is dropped.
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
    file
}

#[test]
fn a_second_daemon_on_the_same_state_dir_is_refused() {
    let env = Env::new();
    let mut first = env.start();
    let second = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["run", "--config", "trailwatch.yaml"])
        .current_dir(env.root())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&second.stderr)
            .contains("another trailwatch is running with this state_dir"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(terminate(&mut first).success());
}

#[test]
fn sink_test_sends_one_sample_alert() {
    let env = Env::new();
    let o = trailwatch(
        env.root(),
        &["sink", "test", "file", "--config", "trailwatch.yaml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(env.alerts().len(), 1);
    let o = trailwatch(
        env.root(),
        &["sink", "test", "missing", "--config", "trailwatch.yaml"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no sink `missing`"), "{}", stderr(&o));
}

/// Reads the alert id a Slack message carries in its footer (see the Slack sink's payload).
fn slack_alert_id(request: &crate::sinks::http::Request) -> String {
    let body = request.json();
    let blocks = body["attachments"][0]["blocks"].as_array().unwrap();
    let footer = blocks.last().unwrap()["elements"][0]["text"]
        .as_str()
        .unwrap();
    footer.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn kill_9_with_slack_down_and_100_alerts_spooled_then_restart_delivers_each_once() {
    use crate::sinks::http::{Reply, Server};
    let env = Env::new();
    let root = env.root();
    // Slack is down: nothing listens on this address.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    write(&root.join("slack.url"), down.as_bytes());
    std::fs::remove_file(root.join("sinks.d/file.yaml")).unwrap();
    let slack = format!(
        "type: slack\nwebhook_url_file: {}\nretry:\n  initial_backoff_ms: 50\n  max_backoff_secs: 1\n",
        root.join("slack.url").display()
    );
    write(&root.join("sinks.d/slack.yaml"), slack.as_bytes());
    env.listen_on_any_port();

    let mut child = env.start();
    let port = env.metrics_port();
    let events: Vec<Value> = (0..100).map(|n| target(n, n)).collect();
    append(&env.inbox().join("s.ndjson"), &lines(&events));
    let accepted = "trailwatch_sink_accepted_total{sink=\"slack\"} 100";
    assert!(
        wait_until(Duration::from_secs(15), || http_get(port, "/metrics")
            .contains(accepted)),
        "{}",
        http_get(port, "/metrics")
    );
    assert!(
        http_get(port, "/metrics").contains("trailwatch_sink_delivered_total{sink=\"slack\"} 0")
    );
    child.kill(); // SIGKILL with 100 alerts in the spool

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(Server::start(vec![], Reply::status(200)));
    write(&root.join("slack.url"), server.url.as_bytes());
    let mut child = env.start();
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), server.wait_successes(100))
            .await
            .expect("100 deliveries after the restart")
    });
    // SIGTERM drains the sinks: a duplicate, had there been one, is sent by the time it exits.
    assert!(terminate(&mut child).success());
    let ids: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .map(slack_alert_id)
        .collect();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 100, "none twice");
    assert_eq!(distinct.len(), 100, "none lost");
}

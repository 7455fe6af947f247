//! Descriptor bounds of the real daemon: thousands of NDJSON files in the inbox under a
//! `LimitNOFILE`-like limit set on the child, with `/proc/PID/fd` counted while it reads; and
//! files swapped for a FIFO or a link to `/dev/zero` while they wait, which must neither block
//! nor feed the reader.
//!
//! The cap under test is `max_open_files` (256, `src/daemon/mod.rs`) tailed files, on top of
//! the descriptors the idle daemon already holds (store, sinks, runtime, inotify), plus a few
//! held for a moment while a file is fingerprinted or a spool rewritten.

use crate::daemon::{daemon_command, dedup_of, lines, start_and_wait, target, wait_until, Daemon};
use crate::support::write;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `max_open_files` in `src/daemon/mod.rs`.
const MAX_OPEN_FILES: usize = 256;
/// Descriptors held for a moment beside the tails: a fingerprint or shape check, a spool or
/// delivered-log rewrite, the store's journal.
const TRANSIENT: usize = 16;

/// The daemon tests of the bounds run one at a time (two of them read thousands of files).
pub static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Inbox {
    dir: tempfile::TempDir,
}

impl Inbox {
    /// A daemon directory on tmpfs when there is one: this test is about descriptors, and
    /// thousands of alerts each fsynced to a real disk would only make it slow.
    pub fn new() -> Inbox {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        let root = dir.path();
        std::fs::create_dir_all(root.join("rules.d")).unwrap();
        std::fs::copy(crate::support::seed_rule(), root.join("rules.d/seed.yml")).unwrap();
        std::fs::create_dir_all(root.join("inbox")).unwrap();
        let sink = format!(
            "type: file\npath: {}\n",
            root.join("alerts.jsonl").display()
        );
        write(&root.join("sinks.d/file.yaml"), sink.as_bytes());
        let config = "rules_dir: rules.d\nsinks_dir: sinks.d\nstate_dir: state\nsources:\n  - path: inbox\nmetrics:\n  listen: \"127.0.0.1:0\"\n";
        write(&root.join("trailwatch.yaml"), config.as_bytes());
        Inbox { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("daemon.log")).unwrap_or_default()
    }

    /// Starts the daemon with `RLIMIT_NOFILE` set to `limit` in the child before exec.
    pub fn start(&self, limit: u64) -> Daemon {
        self.start_with(limit, Stdio::null())
    }

    /// [`Inbox::start`] with the daemon's standard output going to `stdout`.
    pub fn start_with(&self, limit: u64, stdout: Stdio) -> Daemon {
        let mut command = daemon_command(self.root());
        command.stdout(stdout);
        // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let rl = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        start_and_wait(self.root(), command)
    }

    /// Writes `n` NDJSON files of one matching record each, spread over 10 directories.
    pub fn drop_files(&self, n: usize) {
        for i in 0..n {
            let dir = self.root().join(format!("inbox/d{}", i % 10));
            std::fs::create_dir_all(&dir).unwrap();
            write(
                &dir.join(format!("f{i}.ndjson")),
                &lines(&[target(i, i % 600)]),
            );
        }
    }

    pub fn alert_lines(&self) -> usize {
        let text = std::fs::read(self.root().join("alerts.jsonl")).unwrap_or_default();
        text.iter().filter(|b| **b == b'\n').count()
    }

    /// Every one of `n` alerts written exactly once.
    pub fn assert_each_alert_once(&self, n: usize) {
        let text = std::fs::read_to_string(self.root().join("alerts.jsonl")).unwrap();
        let mut seen = std::collections::HashMap::new();
        for line in text.lines() {
            let alert: serde_json::Value = serde_json::from_str(line).unwrap();
            *seen
                .entry(alert["dedup"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        for i in 0..n {
            assert_eq!(seen.get(&dedup_of(i)), Some(&1), "alert {i}");
        }
        assert_eq!(seen.len(), n);
    }

    /// The value of an unlabelled metric, read from the daemon's `/metrics`.
    pub fn metric(&self, name: &str) -> u64 {
        let log = self.log();
        let listen = log
            .lines()
            .find(|l| l.contains("metrics endpoint up"))
            .and_then(|l| l.split("127.0.0.1:").nth(1))
            .map(|rest| {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                format!("127.0.0.1:{port}")
            })
            .unwrap_or_else(|| panic!("metrics address in the log:\n{log}"));
        let mut conn = std::net::TcpStream::connect(&listen).unwrap();
        conn.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        conn.read_to_string(&mut body).unwrap();
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in:\n{body}"))
            .trim()
            .parse()
            .unwrap()
    }
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Counts the child's descriptors every few milliseconds, keeping the highest count.
struct FdWatch {
    peak: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FdWatch {
    fn start(pid: u32) -> FdWatch {
        let peak = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(fd_count(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        FdWatch {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn set_fd_limit(pid: u32, limit: u64) {
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: 1024,
    };
    // SAFETY: prlimit on our own child with a valid rlimit; no old value asked for.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            &rl,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// How many files: 10,000 as in the issue (about 20 s in a debug build), or what
/// `TRAILWATCH_FD_TEST_FILES` says (`benches/fd_bound.sh` runs it with more).
fn file_count() -> usize {
    std::env::var("TRAILWATCH_FD_TEST_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn thousands_of_files_stay_under_the_descriptor_cap_and_are_all_read() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let inbox = Inbox::new();
    let child = inbox.start(1024);
    let pid = child.0.id();
    // The idle daemon's own descriptors: everything but the tails.
    let idle = fd_count(pid);
    let watch = FdWatch::start(pid);
    let n = file_count();
    inbox.drop_files(n);
    let all = wait_until(Duration::from_secs(300), || inbox.alert_lines() >= n);
    let peak = watch.finish();
    assert!(
        all,
        "{} of {n} alerts; log:\n{}",
        inbox.alert_lines(),
        inbox.log()
    );
    inbox.assert_each_alert_once(n);
    let limit = idle + MAX_OPEN_FILES + TRANSIENT;
    eprintln!("descriptors: idle {idle}, peak {peak}, limit {limit} ({n} files)");
    assert!(peak <= limit, "peak {peak} descriptors > {limit}");
    assert_eq!(inbox.metric("trailwatch_open_file_retries_total"), 0);
    assert_eq!(inbox.metric("trailwatch_files_failed_total"), 0);
    drop(child);
}

#[test]
fn running_out_of_descriptors_is_back_pressure_not_a_lost_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let inbox = Inbox::new();
    let child = inbox.start(1024);
    let pid = child.0.id();
    let idle = fd_count(pid);
    // Far less room than the 256-tail cap: opens must fail with EMFILE.
    set_fd_limit(pid, (idle + 24) as u64);
    let n = 600;
    inbox.drop_files(n);
    let all = wait_until(Duration::from_secs(120), || inbox.alert_lines() >= n);
    // Room again, so that the metrics endpoint can accept the scrape.
    set_fd_limit(pid, 1024);
    assert!(
        all,
        "{} of {n} alerts; log:\n{}",
        inbox.alert_lines(),
        inbox.log()
    );
    inbox.assert_each_alert_once(n);
    assert!(inbox.metric("trailwatch_open_file_retries_total") > 0);
    let warnings = inbox.log().matches("out of file descriptors").count();
    assert!(
        (1..=2).contains(&warnings),
        "one WARN a minute at most, got {warnings}"
    );
    assert!(!inbox.log().contains("cannot read"), "{}", inbox.log());
    drop(child);
}

#[test]
fn a_pending_file_swapped_for_a_fifo_or_a_device_is_refused_and_reading_goes_on() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let inbox = Inbox::new();
    let child = inbox.start(1024);
    let dir = inbox.root().join("inbox");
    // Two delivery files still being written (cut short), then one complete NDJSON file:
    // its alert shows that the loop has seen the other two.
    write(&dir.join("a.json"), b"{\"Records\":[");
    write(&dir.join("b.json"), b"{\"Records\":[");
    write(&dir.join("first.ndjson"), &lines(&[target(0, 0)]));
    assert!(wait_until(Duration::from_secs(30), || inbox.alert_lines() >= 1));
    // Swapped within their grace period, each by a rename over it (so the path never
    // disappears in between).
    let fifo = std::ffi::CString::new(dir.join("a.tmp").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::rename(dir.join("a.tmp"), dir.join("a.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("b.tmp")).unwrap();
    std::fs::rename(dir.join("b.tmp"), dir.join("b.json")).unwrap();
    // The reader is not stuck on either: a later file is read.
    write(&dir.join("second.ndjson"), &lines(&[target(1, 1)]));
    assert!(
        wait_until(Duration::from_secs(30), || inbox.alert_lines() >= 2),
        "the reader is stuck:\n{}",
        inbox.log()
    );
    assert!(
        wait_until(Duration::from_secs(30), || inbox
            .log()
            .matches("not a regular file")
            .count()
            >= 2),
        "{}",
        inbox.log()
    );
    assert_eq!(inbox.metric("trailwatch_files_failed_total"), 2);
    drop(child);
}

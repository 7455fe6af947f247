//! The daemon under test: its directory, configuration, process and metrics.
//!
//! Everything lives under one work directory: `trailwatch.yaml`, `sinks.d/`, `state/`,
//! `inbox/` and `daemon.log` (every run appends its stderr there, so a failure can be read
//! afterwards). The rules are the repository's own `rules.d/`, by absolute path.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The sinks the daemon delivers to.
pub struct Sinks {
    pub slack_url: String,
    /// Rule ids the Slack sink takes (`filter.rule_ids`); every other sink takes every alert.
    pub slack_rule_ids: Vec<String>,
    pub syslog: SocketAddr,
}

/// A daemon's work directory and how to start it.
pub struct Daemon {
    pub binary: PathBuf,
    pub root: PathBuf,
    pub metrics: SocketAddr,
    slack_url: String,
    child: Option<Child>,
}

impl Daemon {
    /// Writes the configuration and sinks under `root`.
    pub fn prepare(
        binary: &Path,
        root: &Path,
        rules: &Path,
        sinks: &Sinks,
    ) -> Result<Daemon, String> {
        let metrics = free_port()?;
        for dir in ["sinks.d", "state", "inbox/deliveries", "inbox/streams"] {
            std::fs::create_dir_all(root.join(dir)).map_err(|e| format!("{dir}: {e}"))?;
        }
        let config = format!(
            "rules_dir: {}\nsinks_dir: sinks.d\nstate_dir: state\nsources:\n  - path: inbox\nmetrics:\n  listen: \"{metrics}\"\n",
            rules.display()
        );
        // Short backoffs keep the soak's retries frequent; Retry-After is honoured as sent.
        let retry = "retry:\n  initial_backoff_ms: 20\n  max_backoff_secs: 1\n";
        let ids: Vec<String> = sinks
            .slack_rule_ids
            .iter()
            .map(|id| format!("    - \"{id}\"\n"))
            .collect();
        let files = [
            ("trailwatch.yaml", config),
            (
                "sinks.d/slack.yaml",
                format!("type: slack\nwebhook_url_env: CHAOS_SLACK_URL\ntimeout_secs: 5\nfilter:\n  rule_ids:\n{}{retry}", ids.concat()),
            ),
            (
                "sinks.d/syslog.yaml",
                format!("type: syslog\ntransport: tcp\naddress: \"{}\"\ntimeout_secs: 2\n{retry}", sinks.syslog),
            ),
            (
                "sinks.d/file.yaml",
                format!("type: file\npath: {}\nmax_bytes: 0\n{retry}", root.join("alerts.jsonl").display()),
            ),
        ];
        for (name, text) in files {
            std::fs::write(root.join(name), text).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(Daemon {
            slack_url: sinks.slack_url.clone(),
            binary: binary.to_path_buf(),
            root: root.to_path_buf(),
            metrics,
            child: None,
        })
    }

    /// Starts the daemon and waits until `/healthz` answers.
    pub fn start(&mut self) -> Result<(), String> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("daemon.log"))
            .map_err(|e| format!("daemon.log: {e}"))?;
        let child = Command::new(&self.binary)
            .args(["run", "--config", "trailwatch.yaml"])
            .current_dir(&self.root)
            .env("RUST_LOG", "info")
            .env("CHAOS_SLACK_URL", &self.slack_url)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("daemon exited at start: {status}; see daemon.log"));
            }
            if http_get(self.metrics, "/healthz").is_some_and(|b| b.contains("ok")) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("daemon did not answer /healthz within 60 s".into())
    }

    /// SIGKILL, then reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // std's Child::kill sends SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit (at most `within`).
    pub fn stop(&mut self, within: Duration) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return match status.success() {
                    true => Ok(()),
                    false => Err(format!("daemon exited with {status} after SIGTERM")),
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("daemon did not exit within {within:?} of SIGTERM"))
    }

    /// Whether the process is still running (false after it died on its own).
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The sum of a metric's samples (all label sets), if the endpoint answered.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(sample(&self.metrics_text()?, name))
    }

    /// The whole `/metrics` page, if the endpoint answered: several samples read from one
    /// page are consistent with each other.
    pub fn metrics_text(&self) -> Option<String> {
        http_get(self.metrics, "/metrics")
    }

    /// `trailwatch ARGS...` in the work directory: exit code and output.
    pub fn command(&self, args: &[&str]) -> Result<(Option<i32>, String, String), String> {
        let out = Command::new(&self.binary)
            .args(args)
            .current_dir(&self.root)
            .env("CHAOS_SLACK_URL", &self.slack_url)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok((out.status.code(), text(&out.stdout), text(&out.stderr)))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago (the metrics listener needs a fixed address).
fn free_port() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// A minimal HTTP/1.0 GET; the body, or None on any failure.
/// The sum of a metric's samples (all label sets) on a `/metrics` page.
pub fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

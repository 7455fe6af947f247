//! `trailwatch status` against a running daemon, and the daemon's log as a pipe or a log
//! shipper sees it.

use crate::daemon::{append, lines, target, wait_until, Env};
use crate::support::*;
use serde_json::Value;
use std::process::Output;
use std::time::Duration;

/// Runs `trailwatch status` with a config naming the daemon's metrics port.
fn status(env: &Env, args: &[&str]) -> Output {
    let config = format!("metrics:\n  listen: 127.0.0.1:{}\n", env.metrics_port());
    write(&env.root().join("status.yaml"), config.as_bytes());
    let mut all = vec!["status", "--config", "status.yaml"];
    all.extend_from_slice(args);
    trailwatch(env.root(), &all)
}

/// A port nothing listens on: bound by the kernel's choice, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn status_shows_rules_sources_and_sinks_and_fails_while_a_sink_is_down() {
    let env = Env::new();
    env.listen_on_any_port();
    let hook = format!(
        "type: webhook\nurl: http://127.0.0.1:{}/hook\nretry:\n  initial_backoff_ms: 50\n  max_backoff_secs: 1\n",
        closed_port()
    );
    write(&env.root().join("sinks.d/hook.yaml"), hook.as_bytes());
    let mut child = env.start();

    let healthy = status(&env, &[]);
    let text = stdout(&healthy);
    assert_eq!(healthy.status.code(), Some(0), "{text}{}", stderr(&healthy));
    assert!(text.contains(": healthy"), "{text}");
    assert!(text.contains("1 loaded"), "{text}");
    // The source as configured (relative to the config file's directory).
    assert!(text.lines().any(|l| l.starts_with("inbox ")), "{text}");
    assert!(text.contains("file") && text.contains("hook"), "{text}");

    // An alert reaches the file sink and keeps failing at the webhook.
    append(&env.inbox().join("s.ndjson"), &lines(&[target(1, 1)]));
    assert!(env.wait_for_alerts(1, Duration::from_secs(10)));
    let mut failing = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            let o = status(&env, &["--failing-after-secs", "0", "--format", "json"]);
            let done = o.status.code() == Some(1);
            failing = Some(o);
            done
        }),
        "status never reported the failing sink: {:?}",
        failing.as_ref().map(stdout)
    );
    let json: Value = serde_json::from_str(&stdout(&failing.unwrap())).unwrap();
    let problems = json["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains("sink hook")),
        "{json}"
    );
    let sinks = json["sinks"].as_array().unwrap();
    let hook = sinks.iter().find(|s| s["name"] == "hook").unwrap();
    assert!(hook["spool_depth"].as_u64().unwrap() >= 1, "{json}");
    assert!(hook["last_error_ms"].as_u64().is_some(), "{json}");
    let file = sinks.iter().find(|s| s["name"] == "file").unwrap();
    assert!(file["last_delivery_ms"].as_u64().is_some(), "{json}");
    assert_eq!(json["alerts_last_hour"], 1, "{json}");
    // File positions are published at the next state commit (every 500 ms).
    let tracked = || {
        let o = status(&env, &["--format", "json"]);
        let json: Value = serde_json::from_str(&stdout(&o)).unwrap();
        json["sources"][0]["files_tracked"] == 1 && json["sources"][0]["bytes_behind"] == 0
    };
    assert!(wait_until(Duration::from_secs(10), tracked));
    // The event (2024-05-01T10:01:00Z) is far in the past: the lag is at least that old.
    let since_event = 1_714_557_660 * 1000;
    let lag = json["sources"][0]["event_lag_secs"].as_u64().unwrap();
    assert!(
        lag >= (json["now_ms"].as_u64().unwrap() - since_event) / 1000 - 1,
        "{json}"
    );

    // With the default five minutes of grace the same failure is not yet unhealthy.
    assert_eq!(status(&env, &[]).status.code(), Some(0));
    child.kill();
    // No daemon: status says it cannot ask and exits 1.
    let gone = status(&env, &[]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(
        stderr(&gone).contains("cannot ask the daemon"),
        "{}",
        stderr(&gone)
    );
}

#[test]
fn piped_logs_carry_no_escapes_and_json_logs_have_stable_fields() {
    let env = Env::new();
    let config = std::fs::read_to_string(env.root().join("trailwatch.yaml")).unwrap();
    write(
        &env.root().join("trailwatch.yaml"),
        format!("{config}log:\n  format: json\n").as_bytes(),
    );
    // A broken rule file is reported with its file, line and column.
    write(
        &env.root().join("rules.d/broken.yml"),
        b"RuleID: x\nSeverity: [\n",
    );
    let mut child = env.start();
    // A broken line is reported with its file and line.
    append(&env.inbox().join("bad.ndjson"), b"{not json\n");
    assert!(wait_until(Duration::from_secs(10), || env
        .log()
        .contains("skipped bad input")));
    child.kill();
    let log = env.log();
    assert!(
        !log.contains('\x1b'),
        "escape characters in a piped log:\n{log}"
    );
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for e in &events {
        assert!(e["timestamp"].is_string() && e["level"].is_string(), "{e}");
        assert!(e["message"].is_string(), "{e}");
    }
    let bad = events
        .iter()
        .find(|e| e["message"] == "skipped bad input")
        .unwrap();
    assert!(
        bad["file"].as_str().unwrap().ends_with("bad.ndjson"),
        "{bad}"
    );
    assert_eq!(bad["line"], 1, "{bad}");
    let rule_error = events
        .iter()
        .find(|e| {
            e["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("broken.yml"))
        })
        .unwrap_or_else(|| panic!("no rule error with a file field in\n{log}"));
    assert_eq!(rule_error["level"], "ERROR", "{rule_error}");
    assert!(rule_error["line"].as_u64().is_some(), "{rule_error}");
}

#[test]
fn text_logs_through_a_pipe_have_no_colour_escapes() {
    let env = Env::new();
    let mut child = env.start_with(&[("TERM", "xterm-256color")]);
    child.kill();
    let log = env.log();
    assert!(log.contains("trailwatch running"));
    assert!(
        !log.contains('\x1b'),
        "escape characters in a piped log:\n{log}"
    );
}

#[test]
fn completions_parse_and_man_pages_cover_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let bash = trailwatch(dir.path(), &["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    write(&dir.path().join("tw.bash"), &bash.stdout);
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(dir.path().join("tw.bash"))
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", stderr(&syntax));
    let pages = trailwatch(dir.path(), &["manpages", "man"]);
    assert_eq!(pages.status.code(), Some(0), "{}", stderr(&pages));
    for page in [
        "trailwatch",
        "trailwatch-run",
        "trailwatch-status",
        "trailwatch-rules-list",
    ] {
        let text = std::fs::read_to_string(dir.path().join(format!("man/{page}.1"))).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
}

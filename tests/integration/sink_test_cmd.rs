//! `trailwatch sink test`: finishes whatever stdout is (a pipe, a file, a terminal), sends an
//! alert nobody can take for an incident, a fresh one each run, and tests each sink on its
//! own even when another sink file is broken.

use crate::daemon::wait_until;
use crate::support::{stderr, stdout, trailwatch, write};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A scratch root with a stdout sink and a file sink writing `alerts.jsonl`.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("sinks.d/stdout.yaml"), b"type: stdout\n");
    write(
        &dir.path().join("sinks.d/file.yaml"),
        b"type: file\npath: alerts.jsonl\n",
    );
    dir
}

fn file_alerts(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join("alerts.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn assert_is_test_alert(alert: &Value, severity: &str) {
    assert_eq!(alert["rule_id"], "trailwatch.sink_test", "{alert}");
    assert!(
        alert["title"].as_str().unwrap().starts_with("[TEST] "),
        "{alert}"
    );
    assert_eq!(alert["severity"], severity, "{alert}");
}

/// Waits (with a generous deadline, not a performance bound) for `child` to exit; kills it
/// with SIGKILL and fails when it hangs.
fn exits(mut child: Child) -> i32 {
    let mut status = None;
    let done = wait_until(Duration::from_secs(20), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !done {
        child.kill().unwrap();
        child.wait().unwrap();
        panic!("`trailwatch sink test stdout` hung");
    }
    status.unwrap().code().unwrap()
}

fn sink_test_stdout(root: &Path, out: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["sink", "test", "stdout"])
        .current_dir(root)
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn stdout_sink_test_finishes_on_a_pipe_and_a_file() {
    let dir = scratch();
    // A pipe (read to its end by `output`).
    let o = trailwatch(dir.path(), &["sink", "test", "stdout"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let alert: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_is_test_alert(&alert, "INFO");
    assert!(
        text.contains("sent a test alert through sink `stdout` (stdout)"),
        "{text}"
    );
    // A regular file.
    let path = dir.path().join("out.txt");
    let file = std::fs::File::create(&path).unwrap();
    assert_eq!(exits(sink_test_stdout(dir.path(), file.into())), 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let alert: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_is_test_alert(&alert, "INFO");
}

#[test]
fn stdout_sink_test_finishes_on_a_terminal() {
    let dir = scratch();
    let (mut controller, mut device) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own; the null pointers ask for defaults.
    let made = unsafe {
        libc::openpty(
            &mut controller,
            &mut device,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(made, 0, "openpty");
    // SAFETY: both descriptors are fresh from openpty and owned here alone.
    let (controller, device) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::fs::File::from_raw_fd(controller),
            std::os::fd::OwnedFd::from_raw_fd(device),
        )
    };
    // Drained on a thread, as a terminal emulator would, until the child closes its side.
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut seen = Vec::new();
        let _ = (&controller).read_to_end(&mut seen);
        String::from_utf8_lossy(&seen).into_owned()
    });
    let child = sink_test_stdout(dir.path(), Stdio::from(device));
    assert_eq!(exits(child), 0);
    let seen = reader.join().unwrap();
    assert!(seen.contains("trailwatch.sink_test"), "{seen}");
    assert!(seen.contains("sent a test alert"), "{seen}");
}

#[test]
fn each_run_sends_a_fresh_alert_that_no_sink_suppresses() {
    let dir = scratch();
    for _ in 0..2 {
        let o = trailwatch(dir.path(), &["sink", "test", "file"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = trailwatch(dir.path(), &["sink", "test", "file", "--severity", "high"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let alerts = file_alerts(dir.path());
    assert_eq!(alerts.len(), 3, "every run writes: {alerts:?}");
    assert_is_test_alert(&alerts[0], "INFO");
    assert_is_test_alert(&alerts[2], "HIGH");
    assert_ne!(alerts[0]["alert_id"], alerts[1]["alert_id"]);
    assert!(
        stdout(&o).contains(alerts[2]["alert_id"].as_str().unwrap()),
        "the id sent is printed: {}",
        stdout(&o)
    );
}

#[test]
fn a_broken_sink_does_not_stop_the_others_from_being_tested() {
    let dir = scratch();
    write(
        &dir.path().join("sinks.d/broken.yaml"),
        b"type: file\npath: other.jsonl\nbogus_key: 1\n",
    );
    let o = trailwatch(dir.path(), &["sink", "test", "file"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(file_alerts(dir.path()).len(), 1);

    let o = trailwatch(dir.path(), &["sink", "test", "broken"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("broken.yaml:") && stderr(&o).contains("bogus_key"),
        "{}",
        stderr(&o)
    );

    // --all tests every good sink, reports the broken one, and says so in its exit code.
    let o = trailwatch(dir.path(), &["sink", "test", "--all"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(file_alerts(dir.path()).len(), 2);
    assert!(stdout(&o).contains("sink `file`"), "{}", stdout(&o));
    assert!(stdout(&o).contains("sink `stdout`"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("broken.yaml:") && stderr(&o).contains("bogus_key"),
        "{}",
        stderr(&o)
    );

    let o = trailwatch(dir.path(), &["sink", "test", "file", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no sink `nosuch`"), "{}", stderr(&o));
    assert_eq!(file_alerts(dir.path()).len(), 3, "`file` still tested");

    let o = trailwatch(dir.path(), &["sink", "test"]);
    assert_eq!(o.status.code(), Some(2), "a name or --all is required");
}

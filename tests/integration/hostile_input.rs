//! Hostile files in the inbox: decompression bombs, sparse files and symlinks that lead out of
//! the source root. Each is refused with a message naming the file, counted, and costs the
//! daemon no more than a bounded amount of memory; the good files beside them are read.

use crate::daemon::{http_get, lines, metric, target, wait_until, Env};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// A field of `/proc/PID/status`, in KiB (`VmRSS`, `VmHWM`: the resident set now, and its peak).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in {status}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn gz_member(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// About 1.5 GB of spaces inside a `{"Records":[` document, in a 1.5 MB file: gzip members
/// are concatenated, and a reader must inflate them all as one stream.
fn write_gzip_bomb(path: &Path) {
    let spaces = gz_member(&vec![b' '; 8 << 20]);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&gz_member(b"{\"Records\":[")).unwrap();
    for _ in 0..180 {
        file.write_all(&spaces).unwrap();
    }
    file.write_all(&gz_member(b"]}")).unwrap();
    file.flush().unwrap();
}

/// A file of `len` bytes that opens a delivery document and is a hole after it: it takes no
/// disk space, and reads as NUL bytes.
fn write_sparse(path: &Path, len: u64) {
    let file = std::fs::File::create(path).unwrap();
    (&file).write_all(b"{\"Records\":[").unwrap();
    file.set_len(len).unwrap();
}

fn files_failed(port: u16) -> u64 {
    metric(port, "trailwatch_files_failed_total", "")
}

#[test]
fn a_gzip_bomb_and_sparse_files_are_refused_in_bounded_memory() {
    let env = Env::new();
    env.listen_on_any_port();
    let child = env.start();
    let port = env.metrics_port();
    let pid = child.id();
    // Let the start settle (rule loading, sinks, the first scan) before taking the baseline.
    std::fs::write(env.inbox().join("first.ndjson"), lines(&[target(1, 0)])).unwrap();
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(30)),
        "{}",
        env.log()
    );
    let idle_kib = status_kib(pid, "VmRSS:");

    let staging = env.root().join("staging");
    std::fs::create_dir(&staging).unwrap();
    write_gzip_bomb(&staging.join("bomb.json.gz"));
    // Larger than max_file_bytes (1 GiB): refused by its size, before a byte is read.
    write_sparse(&staging.join("sparse_huge.json"), 2_500 << 20);
    // Under the limit: read, and refused at the first NUL byte.
    write_sparse(&staging.join("sparse_small.json"), 900 << 20);
    for name in ["bomb.json.gz", "sparse_huge.json", "sparse_small.json"] {
        std::fs::rename(staging.join(name), env.inbox().join(name)).unwrap();
    }
    std::fs::write(env.inbox().join("after.ndjson"), lines(&[target(2, 1)])).unwrap();

    let refusals = [
        ("bomb.json.gz", "decompression bomb"),
        ("sparse_huge.json", "larger than max_file_bytes"),
        ("sparse_small.json", "malformed JSON"),
    ];
    let all_refused = || {
        let log = env.log();
        refusals
            .iter()
            .all(|(name, why)| log.lines().any(|l| l.contains(name) && l.contains(why)))
    };
    assert!(
        wait_until(Duration::from_secs(120), all_refused),
        "each file refused with its reason: {}",
        env.log()
    );
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(30)),
        "{}",
        env.log()
    );
    // The bomb and the huge file are refused whole; the small sparse file fails at its first
    // record (counted among failed records).
    assert_eq!(files_failed(port), 2, "{}", http_get(port, "/metrics"));
    let peak_kib = status_kib(pid, "VmHWM:");
    eprintln!("idle RSS {idle_kib} KiB, peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < idle_kib + 64 * 1024,
        "peak RSS {peak_kib} KiB, idle {idle_kib} KiB: more than 64 MiB above idle"
    );
}

#[test]
fn symlinks_out_of_the_inbox_are_refused_and_links_inside_it_are_read() {
    let env = Env::new();
    env.listen_on_any_port();
    let outside = env.root().join("outside");
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    std::fs::write(outside.join("one.ndjson"), lines(&[target(1, 0)])).unwrap();
    std::fs::write(outside.join("dir/two.ndjson"), lines(&[target(2, 0)])).unwrap();
    let inbox = env.inbox();
    std::fs::create_dir(inbox.join("real")).unwrap();
    std::fs::write(inbox.join("real/three.ndjson"), lines(&[target(3, 0)])).unwrap();
    std::os::unix::fs::symlink(outside.join("one.ndjson"), inbox.join("one.ndjson")).unwrap();
    std::os::unix::fs::symlink(outside.join("dir"), inbox.join("dir")).unwrap();
    std::os::unix::fs::symlink("real", inbox.join("alias")).unwrap();
    let _child = env.start();
    let port = env.metrics_port();

    assert!(
        wait_until(Duration::from_secs(30), || files_failed(port) >= 2),
        "both links out are refused: {}",
        env.log()
    );
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(30)),
        "{}",
        env.log()
    );
    // A file the kernel may have already named through notify is still only read once, and
    // the refused ones never: one more scan round passes without another alert.
    std::fs::write(inbox.join("marker.ndjson"), lines(&[target(4, 0)])).unwrap();
    assert!(
        env.wait_for_alerts(2, Duration::from_secs(30)),
        "{}",
        env.log()
    );
    let dedups: Vec<String> = env
        .alerts()
        .iter()
        .map(|a| a["dedup"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        dedups,
        [crate::daemon::dedup_of(3), crate::daemon::dedup_of(4)],
        "only files inside the inbox were read"
    );
    let log = env.log();
    for name in ["one.ndjson", "dir"] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("inbox/{name}"))
                    && l.contains("follow_symlinks: inside")),
            "{name} refused by name: {log}"
        );
    }
}

#[test]
fn pending_windows_are_bounded_in_bytes() {
    let env = Env::new();
    env.listen_on_any_port();
    // Windows wait for five matches, each keeping its first event; every event has its own
    // dedup string (its security group) and carries 20 KB an attacker chose.
    let seed = std::fs::read_to_string(env.root().join("rules.d/seed.yml")).unwrap();
    std::fs::write(
        env.root().join("rules.d/seed.yml"),
        seed.replace("Threshold: 1", "Threshold: 5"),
    )
    .unwrap();
    let config = env.root().join("trailwatch.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text + "dedup:\n  max_pending_bytes: 200000\n").unwrap();
    let _child = env.start();
    let port = env.metrics_port();
    let events: Vec<serde_json::Value> = (0..100)
        .map(|n| {
            let mut event = target(n, 0);
            event["userAgent"] = serde_json::json!("A".repeat(20_000));
            event
        })
        .collect();
    std::fs::write(env.inbox().join("big.ndjson"), lines(&events)).unwrap();
    let metric = |name: &str| metric(port, name, "");
    // Every key ends up either held or counted as evicted.
    let settled =
        || metric("trailwatch_dedup_keys") + metric("trailwatch_dedup_keys_evicted_total") == 100;
    assert!(
        wait_until(Duration::from_secs(60), settled),
        "{}\n{}",
        env.log(),
        http_get(port, "/metrics")
    );
    let (bytes, keys) = (
        metric("trailwatch_dedup_window_bytes"),
        metric("trailwatch_dedup_keys"),
    );
    assert!(bytes <= 200_000, "window bytes {bytes} over the bound");
    // About 20 KB a key: some fit, most do not.
    assert!((2..20).contains(&keys), "{keys} keys held, {bytes} bytes");
    assert!(
        env.log().contains("dedup.max_pending_bytes reached"),
        "the eviction is logged: {}",
        env.log()
    );
}

#[test]
fn state_files_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let mut command = crate::daemon::daemon_command(env.root());
    // SAFETY: umask(2) only sets the child's file-creation mask between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    let _child = crate::daemon::start_and_wait(env.root(), command);
    std::fs::write(env.inbox().join("s.ndjson"), lines(&[target(1, 0)])).unwrap();
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(30)),
        "{}",
        env.log()
    );
    let state = env.root().join("state");
    let mut checked = 0;
    for entry in std::fs::read_dir(&state).unwrap().flatten() {
        let mode = entry.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", entry.path().display());
        checked += 1;
    }
    assert!(checked >= 2, "the store and its lock at least");
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "state_dir is {mode:o}");
}

#[test]
fn comparing_two_long_attacker_fields_gives_the_right_answer() {
    // The security review's case: a Sigma fieldref|contains and a Panther multi-key IContains
    // over 2,400 and 1,200 non-ASCII characters (38 s a record when it was cubic; its time
    // is measured by `cargo bench --bench hostile`). Here: the answers, on a real replay.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("fieldref.yml"),
        "title: agent holds the session name\nid: 6f1d2a7e-2f53-4c1e-9d55-0a1b2c3d4e5f\n\
         logsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  selection:\n    \
         userAgent|fieldref|contains: sessionName\n  condition: selection\nlevel: low\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("multikey.yml"),
        "AnalysisType: rule\nRuleID: Test.MultiKey\nEnabled: true\nLogTypes: [AWS.CloudTrail]\n\
         Severity: Low\nDetection:\n  - Condition: IContains\n    Values:\n      - Key: userAgent\n      \
         - Key: sessionName\n",
    )
    .unwrap();
    let record = |id: &str, agent: String, session: String| {
        serde_json::json!({
            "eventTime": "2024-05-01T10:00:00Z", "eventID": id,
            "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
            "userAgent": agent, "sessionName": session,
        })
    };
    let long = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
    let miss = record("miss", long('Ä', 2400), long('Ä', 1199) + "Ö");
    let hit = record("hit", long('Ä', 2400), long('ä', 1200));
    std::fs::write(dir.path().join("in.ndjson"), lines(&[miss, hit])).unwrap();
    let out = crate::support::trailwatch(
        dir.path(),
        &[
            "replay",
            "--rules",
            "rules",
            "--output",
            "matches",
            "in.ndjson",
        ],
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let matches = crate::support::json_lines(&out);
    // Only the second record matches, and both rules find it (case folded on both sides).
    let found: Vec<(&str, &str)> = matches
        .iter()
        .map(|m| {
            (
                m["event_id"].as_str().unwrap(),
                m["rule_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("hit", "6f1d2a7e-2f53-4c1e-9d55-0a1b2c3d4e5f"),
            ("hit", "Test.MultiKey")
        ]
    );
}

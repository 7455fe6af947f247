//! Every failure the daemon logs moves its counter: a bad record and an over-long line
//! (`trailwatch_records_failed_total`), a truncated `.gz` delivery file given up on
//! (`trailwatch_files_failed_total`), a rejected reload (`trailwatch_reload_failures_total`),
//! a delivery refused for good and one retried (`trailwatch_sink_rejected_total`,
//! `trailwatch_sink_retries_total`). Each is checked against the log line that reports it.

use crate::daemon::{append, http_get, lines, metric, target, terminate, wait_until, Env};
use crate::support::{records_json, write};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// An HTTP endpoint on 127.0.0.1 that reads each request whole and answers 400, for at most
/// `requests` requests; returns its URL.
fn refusing_endpoint(requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests).flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = reader.get_mut().write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused",
            );
        }
    });
    url
}

/// A URL on 127.0.0.1 where nothing listens (the port was just taken and given back).
fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/hook", listener.local_addr().unwrap())
}

#[test]
fn each_reported_failure_moves_its_counter() {
    let env = Env::new();
    env.listen_on_any_port();
    let config = env.root().join("trailwatch.yaml");
    append(&config, b"max_line_bytes: 4096\n");
    let webhook = |name: &str, url: &str| {
        let yaml = format!("type: webhook\nurl: {url}\nretry:\n  initial_backoff_ms: 50\n");
        write(
            &env.root().join(format!("sinks.d/{name}.yaml")),
            yaml.as_bytes(),
        );
    };
    webhook("refusing", &refusing_endpoint(100));
    webhook("down", &closed_endpoint());
    let mut child = env.start();
    let port = env.metrics_port();
    for name in [
        "trailwatch_records_failed_total",
        "trailwatch_files_failed_total",
        "trailwatch_reload_failures_total",
        "trailwatch_sink_rejected_total",
        "trailwatch_sink_retries_total",
    ] {
        assert_eq!(metric(port, name, ""), 0, "{name} at start");
    }

    // Records: one malformed line and one over max_line_bytes, around a good record.
    let mut stream = lines(&[target(1, 0)]);
    stream.extend(b"{\"eventName\": not json\n");
    stream.extend(format!("{{\"padding\":\"{}\"}}\n", "x".repeat(5_000)).as_bytes());
    append(&env.inbox().join("stream.ndjson"), &stream);
    assert!(
        wait_until(Duration::from_secs(30), || {
            metric(port, "trailwatch_records_failed_total", "") == 2
        }),
        "records: {}\n{}",
        http_get(port, "/metrics"),
        env.log()
    );
    let log = env.log();
    assert!(
        log.contains("stream.ndjson") && log.contains("malformed JSON"),
        "{log}"
    );
    assert!(
        log.contains("line longer than max_line_bytes (4096 bytes); skipped"),
        "{log}"
    );

    // Sink deliveries: the alert of the good record is refused by one sink, retried on the other.
    assert!(
        wait_until(Duration::from_secs(30), || {
            metric(port, "trailwatch_sink_rejected_total", "sink=\"refusing\"") >= 1
                && metric(port, "trailwatch_sink_retries_total", "sink=\"down\"") >= 1
        }),
        "sinks: {}\n{}",
        http_get(port, "/metrics"),
        env.log()
    );
    let log = env.log();
    assert!(log.contains("sink refused the alert for good"), "{log}");
    assert!(log.contains("delivery failed; will retry"), "{log}");

    // Files: a .gz delivery cut short, given up on after the incomplete-file grace.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&records_json(&[target(2, 1), target(3, 2)]))
        .unwrap();
    let whole = gz.finish().unwrap();
    let staging = env.root().join("cut.json.gz");
    write(&staging, &whole[..whole.len() / 2]);
    std::fs::rename(&staging, env.inbox().join("cut.json.gz")).unwrap();
    assert!(
        wait_until(Duration::from_secs(60), || {
            metric(port, "trailwatch_files_failed_total", "") == 1
        }),
        "files: {}\n{}",
        http_get(port, "/metrics"),
        env.log()
    );
    assert!(
        env.log()
            .lines()
            .any(|l| l.contains("cut.json.gz") && l.contains("skipped")),
        "{}",
        env.log()
    );

    // Reloads: a broken sink file makes the reload (started by the watcher) fail.
    write(
        &env.root().join("sinks.d/broken.yaml"),
        b"type: file\npath: x.jsonl\nbogus_key: 1\n",
    );
    assert!(
        wait_until(Duration::from_secs(30), || {
            metric(port, "trailwatch_reload_failures_total", "") == 1
        }),
        "reloads: {}\n{}",
        http_get(port, "/metrics"),
        env.log()
    );
    assert!(env.log().contains("reload rejected"), "{}", env.log());
    // Nothing else moved: each failure counted once, where it belongs.
    assert_eq!(metric(port, "trailwatch_records_failed_total", ""), 2);
    assert_eq!(metric(port, "trailwatch_files_failed_total", ""), 1);
    assert!(terminate(&mut child).success());
}

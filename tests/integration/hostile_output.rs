//! Attacker-chosen text on its way out: a matching event whose fields carry newlines, terminal
//! escapes, NUL and bidirectional overrides, and an inbox file named to forge a log line. Every
//! syslog datagram is one line without a control character, and the daemon's own log keeps
//! one line per entry.

use crate::daemon::{lines, target, wait_until, Env};
use serde_json::json;
use std::net::UdpSocket;
use std::time::Duration;
use trailwatch::escape::{is_hazard, unescape};

const HOSTILE: &str = "db\nINFO forged line\r\u{1b}[31mred\u{0}\u{7}\u{202e}gnp.exe";

#[test]
fn hostile_event_text_reaches_syslog_as_one_clean_line() {
    let env = Env::new();
    let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let sink = format!(
        "type: syslog\ntransport: udp\naddress: {}\nformat: rfc5424\n",
        listener.local_addr().unwrap()
    );
    std::fs::write(env.root().join("sinks.d/syslog.yaml"), sink).unwrap();
    let _child = env.start();
    let mut event = target(1, 0);
    event["requestParameters"]["dBSecurityGroupName"] = json!(HOSTILE);
    event["userIdentity"]["userName"] = json!(HOSTILE);
    event["userIdentity"]["arn"] = json!(format!("arn:aws:iam::123456789012:user/{HOSTILE}"));
    std::fs::write(env.inbox().join("stream.ndjson"), lines(&[event])).unwrap();

    let mut buf = vec![0u8; 65536];
    let n = listener.recv(&mut buf).expect("one syslog datagram");
    let datagram = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(!datagram.contains('\n'), "one line: {datagram:?}");
    assert!(
        !datagram.chars().any(is_hazard),
        "no control character or bidi override: {datagram:?}"
    );
    // Nothing was dropped: the escaped text decodes back to what the event held.
    let escaped_name = datagram
        .split("Authorized: [")
        .nth(1)
        .and_then(|rest| rest.split("] from").next())
        .expect("the title's group name");
    assert_eq!(unescape(escaped_name), HOSTILE);
    // The file sink writes JSON: exact, with the original text.
    assert!(env.wait_for_alerts(1, Duration::from_secs(20)));
    let alert = &env.alerts()[0];
    assert!(alert["title"].as_str().unwrap().contains(HOSTILE));
}

#[test]
fn a_hostile_file_name_cannot_forge_a_daemon_log_line() {
    let env = Env::new();
    let _child = env.start();
    let name = "evil\nINFO trailwatch forged\u{1b}[31m.ndjson";
    std::fs::write(env.inbox().join(name), b"{not json\n").unwrap();
    // A good record after it, so that we know the bad one was read and reported.
    std::fs::write(env.inbox().join("good.ndjson"), lines(&[target(2, 1)])).unwrap();
    assert!(
        env.wait_for_alerts(1, Duration::from_secs(20)),
        "{}",
        env.log()
    );
    assert!(
        wait_until(Duration::from_secs(20), || env.log().contains("forged")),
        "the bad file is reported: {}",
        env.log()
    );
    let log = env.log();
    assert!(
        !log.lines().any(|l| l.starts_with("INFO trailwatch forged")),
        "a file name split a log line: {log}"
    );
    let reported = log
        .lines()
        .find(|l| l.contains("evil"))
        .expect("the bad file's line");
    let path = &reported[reported.find("evil").unwrap()..];
    assert!(
        !path.chars().any(is_hazard),
        "the file name is escaped in the log: {path:?}"
    );
}

#[test]
fn metric_labels_name_the_configured_source_not_each_directory() {
    let env = Env::new();
    env.listen_on_any_port();
    let _child = env.start();
    let port = env.metrics_port();
    // CloudTrail's layout makes a new directory every day, per account and region.
    for (n, day) in ["01", "02", "03"].iter().enumerate() {
        let dir = env.inbox().join(format!(
            "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/{day}"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("trail.ndjson"), lines(&[target(n, n)])).unwrap();
    }
    assert!(
        env.wait_for_alerts(3, Duration::from_secs(20)),
        "{}",
        env.log()
    );
    let metrics = crate::daemon::http_get(port, "/metrics");
    let series: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("trailwatch_records_read_total{"))
        .collect();
    assert_eq!(
        series,
        ["trailwatch_records_read_total{source=\"inbox\"} 3"],
        "{metrics}"
    );
}

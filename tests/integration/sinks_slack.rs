//! Slack and webhook sinks against a real HTTP server on 127.0.0.1 (`sinks_http.rs`): the
//! retry policy, the payload, refusals, and the spool across a crash.

use super::http::{Reply, Request, Server};
use super::{alert, within, Setup};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use trailwatch::alert::Alert;
use trailwatch::sink::{sample_alert, send_once, SinkError};

/// The alert id a Slack message carries in its context line.
fn slack_alert_id(request: &Request) -> String {
    let body = request.json();
    let blocks = body["attachments"][0]["blocks"].as_array().unwrap();
    let footer = blocks.last().unwrap()["elements"][0]["text"]
        .as_str()
        .unwrap();
    footer.split_whitespace().nth(1).unwrap().to_string()
}

fn delivered_ids(server: &Server) -> Vec<String> {
    let ok = server.requests().into_iter().filter(|r| r.status == 200);
    ok.map(|r| slack_alert_id(&r)).collect()
}

#[tokio::test]
async fn slack_waits_out_429_retries_500_and_delivers_each_alert_once() {
    let server = Server::start(
        vec![
            Reply::status(429).header("Retry-After", "2"),
            Reply::status(500),
        ],
        Reply::status(200),
    )
    .await;
    let setup = Setup::new();
    setup.slack("slack", &server.url, "");
    let router = setup.router().await;
    for n in 1..=3 {
        router.publish(&alert(n)).await.unwrap();
    }
    server.wait_successes(3).await;
    within(router.wait_idle()).await;
    router.shutdown(Duration::from_secs(5)).await;

    let requests = server.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 500, 200, 200, 200]);
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_secs(2),
        "Retry-After ignored: {waited:?}"
    );
    let expected: Vec<String> = (1..=3).map(|n| alert(n).alert_id).collect();
    assert_eq!(
        delivered_ids(&server),
        expected,
        "each alert once, in order"
    );
}

#[tokio::test]
async fn slack_payload_matches_the_golden_file() {
    let server = Server::start(vec![], Reply::status(200)).await;
    let setup = Setup::new();
    setup.slack("slack", &server.url, "");
    let router = setup.router().await;
    router.publish(&sample_alert()).await.unwrap();
    within(router.wait_idle()).await;
    let request = &server.requests()[0];
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    let golden = support_golden("slack_payload.json", &request.json());
    assert_eq!(request.json(), golden);
}

/// The `sink test` alert as Slack shows it: `[TEST]` in the title, `trailwatch.sink_test` as the
/// rule, INFO, and the description saying it is not an incident.
#[tokio::test]
async fn slack_test_alert_payload_is_recognisable_and_matches_the_golden_file() {
    let server = Server::start(vec![], Reply::status(200)).await;
    let setup = Setup::new();
    setup.slack("slack", &server.url, "min_severity: INFO\n");
    let router = setup.router().await;
    let alert = trailwatch::sink::test_alert(
        trailwatch::severity::Severity::Info,
        "5e57a1e77e57a1e77e57a1e77e57a1e7",
        "2024-01-17T09:31:02Z",
    );
    router.publish(&alert).await.unwrap();
    within(router.wait_idle()).await;
    let payload = server.requests()[0].json();
    let text = payload.to_string();
    for mark in [
        "[TEST] trailwatch sink test",
        "trailwatch.sink_test",
        "not an incident",
    ] {
        assert!(text.contains(mark), "{mark} in {payload:#}");
    }
    assert_eq!(payload, support_golden("slack_test_alert.json", &payload));
}

/// Compares with `tests/data/golden/NAME`; `UPDATE_GOLDEN=1` rewrites it.
fn support_golden(name: &str, actual: &serde_json::Value) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 creates it)", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn slack_4xx_is_permanent_logged_with_the_body_and_never_names_the_url() {
    // Through the router: the refused alert is dropped, the next one still goes.
    let server = Server::start(
        vec![Reply::status(400).body("invalid_payload")],
        Reply::status(200),
    )
    .await;
    let setup = Setup::new();
    setup.slack("slack", &server.url, "");
    let router = setup.router().await;
    router.publish(&alert(1)).await.unwrap();
    router.publish(&alert(2)).await.unwrap();
    within(router.wait_idle()).await;
    let stats = &router.stats()[0];
    assert_eq!((stats.delivered, stats.rejected), (1, 1), "{stats:?}");
    assert_eq!(delivered_ids(&server), [alert(2).alert_id]);

    // The error carries Slack's answer and never the webhook URL.
    let refusing = Server::start(vec![], Reply::status(400).body("invalid_payload")).await;
    setup.slack("refusing", &refusing.url, "");
    let spec = setup
        .specs()
        .into_iter()
        .find(|s| s.name == "refusing")
        .unwrap();
    let err = send_once(&spec, sample_alert()).await.unwrap_err();
    assert!(matches!(err, SinkError::Permanent { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("400 Bad Request: invalid_payload"), "{text}");
    assert!(
        !text.contains("secret") && !text.contains("/services/"),
        "{text}"
    );
    assert!(
        !format!("{spec:?}").contains("/services/"),
        "the spec debug-prints the URL"
    );

    // An unreachable endpoint is retryable, and the error hides the URL too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T/B/secret",
        closed.local_addr().unwrap()
    );
    drop(closed);
    setup.slack("down", &url, "");
    let spec = setup
        .specs()
        .into_iter()
        .find(|s| s.name == "down")
        .unwrap();
    let err = send_once(&spec, sample_alert()).await.unwrap_err();
    assert!(matches!(err, SinkError::Retryable { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn a_crash_with_100_spooled_alerts_loses_none_and_sends_none_twice() {
    let setup = Setup::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    setup.slack("slack", &down, "");
    let router = setup.router().await;
    for n in 0..100 {
        router.publish(&alert(n)).await.unwrap();
    }
    assert_eq!(router.stats()[0].delivered, 0);
    drop(router); // a crash: every driver is aborted where it stands

    let server = Server::start(vec![], Reply::status(200)).await;
    setup.slack("slack", &server.url, "");
    let router = setup.router().await;
    server.wait_successes(100).await;
    within(router.wait_idle()).await;
    // The daemon re-reads the events after a crash and publishes the same alerts again.
    for n in 0..100 {
        router.publish(&alert(n)).await.unwrap();
    }
    within(router.wait_idle()).await;
    router.shutdown(Duration::from_secs(5)).await;

    let ids = delivered_ids(&server);
    assert_eq!(ids.len(), 100, "none twice");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 100, "none lost");
    let expected: Vec<String> = (0..100).map(|n| alert(n).alert_id).collect();
    assert_eq!(ids, expected, "in publish order");
}

#[tokio::test]
async fn webhook_posts_the_alert_contract_with_plain_and_env_headers() {
    let server = Server::start(vec![], Reply::status(204)).await;
    let setup = Setup::new();
    setup.sink(
        "hook",
        &format!(
            "type: webhook\nurl: {}\nheaders:\n  X-Team: secops\nheaders_env:\n  X-From-Env: PATH\n",
            server.url
        ),
    );
    let router = setup.router().await;
    router.publish(&sample_alert()).await.unwrap();
    within(router.wait_idle()).await;
    let request = &server.requests()[0];
    let body: Alert = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, sample_alert());
    assert_eq!(request.header("x-team").as_deref(), Some("secops"));
    assert_eq!(request.header("x-from-env"), std::env::var("PATH").ok());
}

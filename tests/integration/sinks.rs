//! The sinks subsystem against real endpoints on loopback: an HTTP server for Slack and
//! webhooks (`sinks_slack.rs`, `sinks_http.rs`), syslog and journald sockets
//! (`sinks_syslog.rs`, `sinks_journald.rs`), and here loading, routing, queue bounds and
//! reload. Everything goes through the public API the daemon uses: `load_dir` and `Router`.

#[path = "sinks_http.rs"]
pub mod http;
#[path = "sinks_journald.rs"]
mod journald;
#[path = "sinks_slack.rs"]
mod slack;
#[path = "sinks_syslog.rs"]
mod syslog;

use http::{Reply, Server};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;
use trailwatch::alert::Alert;
use trailwatch::sink::{load_dir, sample_alert, Router, SinkError, SinkSpec};

/// A scratch root holding `sinks.d/` and `state/`.
pub struct Setup {
    pub root: TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sinks.d")).unwrap();
        Setup { root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// Writes `sinks.d/NAME.yaml`.
    pub fn sink(&self, name: &str, yaml: &str) {
        std::fs::write(self.path(&format!("sinks.d/{name}.yaml")), yaml).unwrap();
    }

    pub fn remove_sink(&self, name: &str) {
        std::fs::remove_file(self.path(&format!("sinks.d/{name}.yaml"))).unwrap();
    }

    /// A Slack sink posting to `url` (kept in a secret file), with a short backoff.
    pub fn slack(&self, name: &str, url: &str, extra: &str) {
        let file = self.path(&format!("{name}.url"));
        std::fs::write(&file, format!("{url}\n")).unwrap();
        self.sink(
            name,
            &format!(
                "type: slack\nwebhook_url_file: {}\nretry:\n  initial_backoff_ms: 50\n{extra}",
                file.display()
            ),
        );
    }

    pub fn specs(&self) -> Vec<SinkSpec> {
        load_dir(&self.path("sinks.d")).unwrap_or_else(|errors| {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("sink files do not load:\n{}", text.join("\n"))
        })
    }

    pub async fn router(&self) -> Router {
        Router::start(self.specs(), &self.path("state"))
            .await
            .unwrap()
    }
}

/// The sample alert with its own id and title.
pub fn alert(n: u32) -> Alert {
    let mut a = sample_alert();
    a.alert_id = format!("{n:032x}");
    a.title = format!("alert number {n}");
    a
}

/// Fails the test instead of hanging when `f` does not finish within 30 s.
pub async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("finished within 30 s")
}

#[tokio::test]
async fn a_full_queue_blocks_or_drops_the_oldest_as_configured() {
    let server = Server::start(vec![], Reply::status(0)).await; // never answers
    let one = serde_json::to_vec(&alert(0)).unwrap().len() + 2;
    let setup = Setup::new();
    let queue = |policy: &str| {
        format!(
            "timeout_secs: 60\nqueue:\n  max_bytes: {}\n  full_policy: {policy}\n",
            one * 2
        )
    };
    setup.slack("dropping", &server.url, &queue("drop_oldest"));
    setup.slack("blocking", &server.url, &queue("block"));
    let router = setup.router().await;
    router.publish(&alert(1)).await.unwrap();
    router.publish(&alert(2)).await.unwrap();
    let mut third = tokio::spawn({
        let router = router.clone();
        async move { router.publish(&alert(3)).await }
    });
    let blocked = tokio::time::timeout(Duration::from_millis(300), &mut third).await;
    assert!(blocked.is_err(), "publish waits while `blocking` is full");
    let dropping = router
        .stats()
        .into_iter()
        .find(|s| s.name == "dropping")
        .unwrap();
    assert_eq!((dropping.dropped, dropping.waiting), (1, 2), "{dropping:?}");

    router.shutdown(Duration::from_millis(200)).await;
    let outcome = within(third).await.unwrap();
    assert!(matches!(outcome, Err(SinkError::Closed)), "{outcome:?}");
}

#[tokio::test]
async fn a_sink_that_hangs_does_not_hold_back_the_others() {
    let server = Server::start(vec![], Reply::status(0)).await;
    let setup = Setup::new();
    setup.slack("slack", &server.url, "timeout_secs: 60\n");
    let out = setup.path("out/alerts.jsonl");
    setup.sink("file", &format!("type: file\npath: {}\n", out.display()));
    let router = setup.router().await;
    for n in 0..5 {
        within(router.publish(&alert(n))).await.unwrap();
    }
    within(router.wait_sink_idle("file")).await;
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 5);
    let first: Alert = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first, alert(0), "the file holds the alert contract");
    let slack = &router.stats()[1];
    assert_eq!((slack.name.as_str(), slack.delivered), ("slack", 0));
}

#[test]
fn an_unknown_key_and_missing_env_vars_are_located_errors() {
    let setup = Setup::new();
    setup.sink(
        "typo",
        "type: slack\nwebhook_url_env: X\nwebhok_url: nope\n",
    );
    setup.sink(
        "slack",
        "type: slack\nmin_severity: high\nwebhook_url_env: TRAILWATCH_TEST_UNSET_SLACK_URL\n",
    );
    setup.sink(
        "hook",
        "type: webhook\nurl: https://example.test/\nheaders_env:\n  Authorization: TRAILWATCH_TEST_UNSET_TOKEN\n",
    );
    setup.sink("ok", "type: stdout\n");
    let errors = load_dir(&setup.path("sinks.d")).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let dir = setup.path("sinks.d");
    assert_eq!(text.len(), 3, "{text:#?}");
    assert_eq!(
        text[0],
        format!(
            "{}:4:3: headers_env.Authorization: environment variable `TRAILWATCH_TEST_UNSET_TOKEN` is not set",
            dir.join("hook.yaml").display()
        )
    );
    assert_eq!(
        text[1],
        format!(
            "{}:3:1: webhook_url_env: environment variable `TRAILWATCH_TEST_UNSET_SLACK_URL` is not set",
            dir.join("slack.yaml").display()
        )
    );
    assert!(
        text[2].starts_with(&format!(
            "{}:3:1: unknown field `webhok_url`",
            dir.join("typo.yaml").display()
        )),
        "{}",
        text[2]
    );
}

#[tokio::test]
async fn reload_swaps_the_set_and_a_failed_reload_keeps_the_old_one() {
    let setup = Setup::new();
    let (a, b, a2) = (
        setup.path("a.jsonl"),
        setup.path("b.jsonl"),
        setup.path("a2.jsonl"),
    );
    setup.sink("a", &format!("type: file\npath: {}\n", a.display()));
    let router = setup.router().await;
    let lines = |p: &Path| std::fs::read_to_string(p).map_or(0, |t| t.lines().count());

    // A new sink whose spool directory cannot be created: the reload fails as a whole.
    std::fs::write(setup.path("state/spool/b"), "not a directory").unwrap();
    setup.sink("b", &format!("type: file\npath: {}\n", b.display()));
    assert!(router.reload(setup.specs()).await.is_err());
    router.publish(&alert(1)).await.unwrap();
    within(router.wait_idle()).await;
    assert_eq!((lines(&a), lines(&b)), (1, 0), "the old set kept running");
    assert_eq!(router.sink_names(), ["a"]);

    // A changed sink and a new one.
    std::fs::remove_file(setup.path("state/spool/b")).unwrap();
    setup.sink("a", &format!("type: file\npath: {}\n", a2.display()));
    router.reload(setup.specs()).await.unwrap();
    router.publish(&alert(2)).await.unwrap();
    within(router.wait_idle()).await;
    assert_eq!((lines(&a), lines(&a2), lines(&b)), (1, 1, 1));

    // A removed sink stops receiving.
    setup.remove_sink("b");
    router.reload(setup.specs()).await.unwrap();
    router.publish(&alert(3)).await.unwrap();
    within(router.wait_idle()).await;
    assert_eq!((lines(&a2), lines(&b)), (2, 1));
    assert_eq!(router.sink_names(), ["a"]);
    router.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn file_sinks_reopen_after_logrotate_and_filters_apply() {
    let setup = Setup::new();
    let out = setup.path("alerts.jsonl");
    setup.sink(
        "file",
        &format!(
            "type: file\npath: {}\nmin_severity: medium\nfilter:\n  tags: [Database]\n",
            out.display()
        ),
    );
    let router = setup.router().await;
    let mut low = alert(1);
    low.severity = trailwatch::rule::Severity::Low;
    let mut untagged = alert(2);
    untagged.tags.clear();
    for a in [&low, &untagged, &alert(3)] {
        router.publish(a).await.unwrap();
    }
    within(router.wait_idle()).await;
    std::fs::rename(&out, setup.path("alerts.jsonl.old")).unwrap();
    router.reopen_files();
    router.publish(&alert(4)).await.unwrap();
    within(router.wait_idle()).await;
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(read(&setup.path("alerts.jsonl.old")).lines().count(), 1);
    let fresh: Alert = serde_json::from_str(read(&out).trim()).unwrap();
    assert_eq!(fresh, alert(4));
    assert_eq!(router.stats()[0].accepted, 2);
}

#[test]
fn the_shipped_sinks_load() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs = load_dir(&repo.join("sinks.d")).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["file", "stdout"]);
    match &specs[0].config {
        trailwatch::sink::SinkConfig::File(c) => assert_eq!(c.path, repo.join("var/alerts.jsonl")),
        other => panic!("{other:?}"),
    }
}

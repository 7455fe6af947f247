//! The `/metrics`, `/healthz` and `/status` listener: a deliberately tiny HTTP/1.1 responder,
//! since three read-only paths do not need a web framework, hardened the way a long-running
//! server must be.
//!
//! - **Accept errors back off.** `accept` fails when the process is out of descriptors
//!   (EMFILE); retrying at once would spin a core while nothing changes. The wait doubles from
//!   10 ms up to one second and resets after the next success.
//! - **Connections are capped.** A semaphore admits at most [`MAX_CONNECTIONS`] at a time, so
//!   held-open connections cannot exhaust the process's descriptors.
//! - **Idle connections make way.** When a connection arrives at the cap, the one that has
//!   waited longest without sending its request is closed to admit it: a pile of idle clients
//!   cannot keep `/healthz` from answering, not even for the length of a timeout.
//! - **Every connection has deadlines.** The request must arrive within [`READ_TIMEOUT`] and
//!   the answer be written within [`WRITE_TIMEOUT`]; an idle or slow client is dropped and
//!   frees its place.

use super::metrics::Metrics;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long writing the answer may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Renders the `/status` JSON document, given whether the pipeline is healthy.
pub type StatusView = Arc<dyn Fn(bool) -> String + Send + Sync>;

/// Serves `/metrics`, `/healthz` and `/status` on `listener` until the task is dropped.
/// `sinks` supplies the sinks' counters at each scrape, `status` the status document;
/// `healthy` is what `/healthz` reports (see `supervise::watch_progress`).
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    sinks: Arc<dyn Fn() -> String + Send + Sync>,
    status: StatusView,
    healthy: Arc<AtomicBool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let idle = Arc::new(Idle::default());
    let mut backoff = Duration::from_millis(10);
    loop {
        let conn = match listener.accept().await {
            Ok((conn, _)) => {
                backoff = Duration::from_millis(10);
                conn
            }
            Err(e) => {
                tracing::warn!(error = %e, wait_ms = backoff.as_millis() as u64, "metrics listener cannot accept; backing off");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        // At the cap, close the longest-idle connection; if every connection is busy
        // answering, wait for one to finish (one accepted connection waits, no more).
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                idle.evict_oldest();
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                permit
            }
        };
        let metrics = metrics.clone();
        let sinks = sinks.clone();
        let status = status.clone();
        let healthy = healthy.load(Ordering::Relaxed);
        let waiting = idle.register();
        tokio::spawn(async move {
            let views = Views {
                metrics: &metrics,
                sinks: &*sinks,
                status: &*status,
            };
            answer(conn, waiting, views, healthy).await;
            drop(permit);
        });
    }
}

/// Connections still waiting for their request, oldest first.
#[derive(Default)]
struct Idle(Mutex<IdleQueue>);

#[derive(Default)]
struct IdleQueue {
    /// The last number given to a connection.
    last_id: u64,
    /// Each waiting connection's number and the means to close it.
    waiting: VecDeque<(u64, oneshot::Sender<()>)>,
}

/// A connection's place in [`Idle`]; leaving the waiting phase (or ending) removes it.
struct Waiting {
    id: u64,
    evicted: oneshot::Receiver<()>,
    idle: Arc<Idle>,
}

impl Idle {
    fn register(self: &Arc<Self>) -> Waiting {
        let (tx, evicted) = oneshot::channel();
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.last_id += 1;
        let id = guard.last_id;
        guard.waiting.push_back((id, tx));
        Waiting {
            id,
            evicted,
            idle: self.clone(),
        }
    }

    fn evict_oldest(&self) {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, close)) = guard.waiting.pop_front() {
            let _ = close.send(());
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut guard = self.idle.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.waiting.retain(|(id, _)| *id != self.id);
    }
}

/// What a connection can be answered with.
struct Views<'a> {
    metrics: &'a Metrics,
    sinks: &'a (dyn Fn() -> String + Send + Sync),
    status: &'a (dyn Fn(bool) -> String + Send + Sync),
}

/// Reads one request and writes one answer, each under its deadline.
async fn answer(mut conn: TcpStream, mut waiting: Waiting, views: Views<'_>, healthy: bool) {
    let mut buf = [0u8; 2048];
    let read = tokio::select! {
        read = tokio::time::timeout(READ_TIMEOUT, conn.read(&mut buf)) => read,
        _ = &mut waiting.evicted => return,
    };
    drop(waiting);
    let n = match read {
        Ok(Ok(n)) if n > 0 => n,
        // Timed out, failed or closed before a request: drop the connection.
        _ => return,
    };
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body, kind) = match path {
        "/metrics" => (
            "200 OK",
            views.metrics.render() + &(views.sinks)(),
            "text/plain; version=0.0.4",
        ),
        "/status" => ("200 OK", (views.status)(healthy), "application/json"),
        "/healthz" if healthy => ("200 OK", "ok\n".to_string(), "text/plain"),
        "/healthz" => (
            "503 Service Unavailable",
            "stalled: no batch finished with work in flight\n".to_string(),
            "text/plain",
        ),
        _ => ("404 Not Found", "not found\n".to_string(), "text/plain"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        conn.write_all(head.as_bytes()).await?;
        conn.write_all(body.as_bytes()).await?;
        conn.shutdown().await
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).await.unwrap();
        s
    }

    async fn start(metrics: Arc<Metrics>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let healthy = Arc::new(AtomicBool::new(true));
        let status: StatusView = Arc::new(|healthy| format!("{{\"healthy\":{healthy}}}"));
        tokio::spawn(serve(
            listener,
            metrics,
            Arc::new(String::new),
            status,
            healthy,
        ));
        addr
    }

    #[tokio::test]
    async fn serves_metrics_and_health() {
        let metrics = Arc::new(Metrics::default());
        metrics.rule_matches.add("A.B", 3);
        metrics.alerts_opened.fetch_add(2, Ordering::Relaxed);
        let addr = start(metrics).await;
        let m = get(addr, "/metrics").await;
        assert!(m.starts_with("HTTP/1.1 200 OK"), "{m}");
        assert!(
            m.contains("trailwatch_rule_matches_total{rule_id=\"A.B\"} 3"),
            "{m}"
        );
        assert!(m.contains("trailwatch_alerts_opened_total 2"), "{m}");
        assert!(get(addr, "/healthz").await.ends_with("ok\n"));
        assert!(get(addr, "/status").await.ends_with("{\"healthy\":true}"));
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
    }

    /// Far more idle connections than the cap: a health check is answered at once (the
    /// paused clock shows no timeout was waited for), and every idle connection is closed by
    /// the server, by eviction or after READ_TIMEOUT.
    #[tokio::test(start_paused = true)]
    async fn idle_connections_make_way_and_time_out() {
        let addr = start(Arc::new(Metrics::default())).await;
        let mut idle = Vec::new();
        for _ in 0..(5 * MAX_CONNECTIONS) {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        let before = tokio::time::Instant::now();
        let health = tokio::spawn(async move { get(addr, "/healthz").await });
        let answered = tokio::time::timeout(4 * READ_TIMEOUT, health).await;
        assert!(answered.expect("answered").unwrap().ends_with("ok\n"));
        assert!(
            before.elapsed() < READ_TIMEOUT,
            "answered without waiting out an idle connection's timeout"
        );
        // Every idle connection was closed by the server (read sees end of stream).
        for mut conn in idle {
            let mut byte = [0u8; 1];
            let n = tokio::time::timeout(4 * READ_TIMEOUT, conn.read(&mut byte))
                .await
                .expect("closed by the server")
                .unwrap_or(0);
            assert_eq!(n, 0);
        }
    }
}

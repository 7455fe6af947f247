//! A small HTTP/1.1 server on 127.0.0.1 for the Slack and webhook tests: it answers from a
//! script (then 200 for ever), records every request, and lets a test await the n-th
//! successful delivery instead of sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// 0 means: never answer (hold the connection open).
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: if status == 200 {
                "ok".into()
            } else {
                String::new()
            },
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.into();
        self
    }
}

/// One request the server received, and the status it answered.
#[derive(Clone, Debug)]
pub struct Request {
    pub at: Instant,
    pub head: String,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Request {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

struct State {
    script: VecDeque<Reply>,
    then: Reply,
    requests: Vec<Request>,
}

pub struct Server {
    pub url: String,
    state: Arc<Mutex<State>>,
    successes: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Answers `script` in order, then `then` for ever.
    pub async fn start(script: Vec<Reply>, then: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/services/T000/B000/secret",
            listener.local_addr().unwrap()
        );
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            then,
            requests: Vec::new(),
        }));
        let (count, successes) = watch::channel(0usize);
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let count = Arc::new(count);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, shared.clone(), count.clone()));
            }
        });
        Server {
            url,
            state,
            successes,
            task,
        }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Waits until `n` requests were answered with a 2xx (fails after 60 s).
    pub async fn wait_successes(&self, n: usize) {
        let mut rx = self.successes.clone();
        let reached = rx.wait_for(|count| *count >= n);
        tokio::time::timeout(Duration::from_secs(60), reached)
            .await
            .unwrap_or_else(|_| panic!("{n} successful requests did not arrive"))
            .unwrap();
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>, count: Arc<watch::Sender<usize>>) {
    let Some((head, body)) = read_request(&mut stream).await else {
        return;
    };
    let reply = {
        let mut st = state.lock().unwrap();
        let reply = st.script.pop_front().unwrap_or_else(|| st.then.clone());
        st.requests.push(Request {
            at: Instant::now(),
            head,
            body,
            status: reply.status,
        });
        reply
    };
    if reply.status == 0 {
        // Hold the connection until the client gives up.
        let _ = stream.read(&mut [0u8; 1]).await;
        return;
    }
    let mut response = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&reply.body);
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    if (200..300).contains(&reply.status) {
        count.send_modify(|c| *c += 1);
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some((head, data[head_end..head_end + length].to_vec()))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

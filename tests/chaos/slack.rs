//! A Slack incoming-webhook stand-in that fails on purpose.
//!
//! A real HTTP/1.1 server on 127.0.0.1 (port 0, so parallel runs never collide). Each request
//! draws from a seeded generator: 30% are refused (half `500`, half `429` with `Retry-After:
//! 1`), the rest answered `200 ok` and recorded by the alert id the message's footer carries.
//! Every answer closes the connection, so the client also reconnects often.

use super::synth::Rng;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the stand-in has seen.
#[derive(Debug, Default)]
pub struct Log {
    /// Accepted alerts, by alert id, in the order they were accepted, with when.
    pub accepted: Vec<(String, Instant)>,
    pub refused_500: u64,
    pub refused_429: u64,
    /// Requests whose body did not carry an alert id (answered 400, counted as a failure).
    pub malformed: u64,
}

/// The running stand-in; stops when dropped.
pub struct Slack {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
}

impl Slack {
    /// Starts the server; `fail_per_mille` of requests are refused.
    pub fn start(seed: u64, fail_per_mille: u64) -> std::io::Result<Slack> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(seed);
            while !thread_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    // One request at a time, in arrival order: the Slack sink sends one alert
                    // at a time anyway, and a single thread keeps the seeded draws in order.
                    Ok((stream, _)) => {
                        let fail = rng.chance(fail_per_mille);
                        let kind = rng.chance(333);
                        let _ = serve(stream, fail, kind, &thread_log);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Ok(Slack { addr, log, stop })
    }

    /// The webhook URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/services/T000/B000/chaos", self.addr)
    }
}

impl Drop for Slack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, fail: bool, as_429: bool, log: &Mutex<Log>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let answer = if fail && as_429 {
        log.lock().unwrap().refused_429 += 1;
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 12\r\n\r\nrate_limited"
    } else if fail {
        log.lock().unwrap().refused_500 += 1;
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nerror"
    } else {
        match alert_id(&body) {
            Some(id) => {
                log.lock().unwrap().accepted.push((id, Instant::now()));
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            }
            None => {
                log.lock().unwrap().malformed += 1;
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 15\r\n\r\ninvalid_payload"
            }
        }
    };
    let mut stream = reader.into_inner();
    stream.write_all(
        answer
            .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    stream.flush()
}

/// The alert id in a Slack message: the last block's footer reads `alert <id> ...`.
fn alert_id(body: &[u8]) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    let blocks = body["attachments"][0]["blocks"].as_array()?;
    let footer = blocks.last()?["elements"][0]["text"].as_str()?;
    footer.split_whitespace().nth(1).map(str::to_string)
}

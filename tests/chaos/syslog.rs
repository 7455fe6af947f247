//! A TCP syslog collector (RFC 6587 octet counting) that restarts now and then.
//!
//! It binds 127.0.0.1 on port 0 once, then keeps that port across restarts: every restart
//! closes the listening socket, half-closes each open connection (a FIN, as a collector that
//! shuts down cleanly sends) and keeps reading until the sender closes its side or two seconds
//! pass, so whatever the daemon managed to write is still counted; then it waits a seeded
//! pause, during which connecting is refused, and binds the same port again. Every message is
//! recorded by the `alert_id` in its structured data.

use super::synth::Rng;
use std::io::{ErrorKind, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the collector has seen.
#[derive(Debug, Default)]
pub struct Log {
    /// Alert ids of received messages, with when.
    pub received: Vec<(String, Instant)>,
    /// Frames without an `alert_id` (counted as a failure).
    pub malformed: u64,
}

/// The running collector; stops when dropped.
pub struct Syslog {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Log>>,
    pub restarts: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Syslog {
    /// Starts the collector; it restarts every 1 to `max_uptime` (seeded), pausing up to 1.5 s.
    pub fn start(seed: u64, max_uptime: Duration) -> std::io::Result<Syslog> {
        let first = TcpListener::bind("127.0.0.1:0")?;
        let addr = first.local_addr()?;
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let restarts = Arc::new(AtomicU64::new(0));
        let (l, s, r) = (log.clone(), stop.clone(), restarts.clone());
        std::thread::spawn(move || supervise(first, addr, seed, max_uptime, l, s, r));
        Ok(Syslog {
            addr,
            log,
            restarts,
            stop,
        })
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn supervise(
    first: TcpListener,
    addr: SocketAddr,
    seed: u64,
    max_uptime: Duration,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
    restarts: Arc<AtomicU64>,
) {
    let mut rng = Rng::new(seed);
    let mut listener = Some(first);
    while !stop.load(Ordering::Relaxed) {
        let uptime = Duration::from_millis(1000 + rng.below(max_uptime.as_millis() as u64));
        let pause = Duration::from_millis(200 + rng.below(1300));
        let Some(current) = listener.take() else {
            return;
        };
        let connections = serve_for(current, uptime, &log, &stop);
        // The listening socket is closed (dropped) above; now the open connections.
        for (stream, reader) in connections {
            let _ = stream.shutdown(Shutdown::Write);
            let _ = reader.join();
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        restarts.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(pause);
        // Re-binding can fail briefly while the old sockets are in TIME_WAIT elsewhere; std
        // sets SO_REUSEADDR, so retrying for a while is enough.
        let deadline = Instant::now() + Duration::from_secs(10);
        while listener.is_none() && Instant::now() < deadline {
            match TcpListener::bind(addr) {
                Ok(l) => listener = Some(l),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

type Connection = (TcpStream, std::thread::JoinHandle<()>);

/// Accepts and reads connections for `uptime`; returns the ones still open.
fn serve_for(
    listener: TcpListener,
    uptime: Duration,
    log: &Arc<Mutex<Log>>,
    stop: &AtomicBool,
) -> Vec<Connection> {
    let _ = listener.set_nonblocking(true);
    let end = Instant::now() + uptime;
    let mut connections = Vec::new();
    let closing = Arc::new(AtomicBool::new(false));
    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                // A short read timeout lets the reader notice a restart; it then bounds how
                // long the restart waits for a sender that never closes its side.
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let Ok(clone) = stream.try_clone() else {
                    continue;
                };
                let (log, closing) = (log.clone(), closing.clone());
                let reader = std::thread::spawn(move || read_frames(clone, &log, &closing));
                connections.push((stream, reader));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    closing.store(true, Ordering::Relaxed);
    connections
}

/// Reads `LEN SP MSG` frames until the sender closes, or until two seconds after the
/// collector started closing (`closing`).
fn read_frames(mut stream: TcpStream, log: &Mutex<Log>, closing: &AtomicBool) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut closing_since: Option<Instant> = None;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if closing.load(Ordering::Relaxed) {
                    let since = *closing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(2) {
                        return;
                    }
                }
                continue;
            }
            Err(_) => return,
        }
        let mut at = 0;
        while let Some(space) = pending[at..].iter().position(|&b| b == b' ') {
            let Some(n) = std::str::from_utf8(&pending[at..at + space])
                .ok()
                .and_then(|t| t.parse::<usize>().ok())
            else {
                log.lock().unwrap().malformed += 1;
                return;
            };
            let body = at + space + 1;
            if pending.len() < body + n {
                break;
            }
            let text = String::from_utf8_lossy(&pending[body..body + n]);
            let mut log = log.lock().unwrap();
            match alert_id(&text) {
                Some(id) => log.received.push((id.to_string(), Instant::now())),
                None => log.malformed += 1,
            }
            at = body + n;
        }
        pending.drain(..at);
    }
}

/// The `alert_id="..."` parameter of a message's structured data.
fn alert_id(message: &str) -> Option<&str> {
    let start = message.find("alert_id=\"")? + "alert_id=\"".len();
    let len = message[start..].find('"')?;
    Some(&message[start..start + len])
}

//! Egress through a proxy: the packaged unit allows outbound traffic to loopback only, and
//! docs/SECURITY.md tells operators to reach Slack through a local HTTP proxy named in
//! `HTTPS_PROXY`/`HTTP_PROXY`. This checks that the daemon's HTTP sinks do go through it.

use crate::daemon::{lines, target, wait_until, Env};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn http_sinks_go_through_the_proxy_named_in_the_environment() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in proxy.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            // The rest of the head, then the body it announces.
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            std::io::Read::read_exact(&mut reader, &mut body).unwrap();
            log.lock()
                .unwrap()
                .push(request_line.trim_end().to_string());
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .unwrap();
        }
    });

    let env = Env::new();
    // A name that resolves nowhere: the request can only arrive through the proxy.
    std::fs::write(
        env.root().join("sinks.d/hook.yaml"),
        "type: webhook\nurl: http://alerts.trailwatch-test.invalid/hook\n",
    )
    .unwrap();
    let _child = env.start_with(&[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "")]);
    std::fs::write(env.inbox().join("s.ndjson"), lines(&[target(1, 0)])).unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || !seen.lock().unwrap().is_empty()),
        "no request reached the proxy: {}",
        env.log()
    );
    assert_eq!(
        seen.lock().unwrap()[0],
        "POST http://alerts.trailwatch-test.invalid/hook HTTP/1.1",
        "a proxied request names the absolute URL"
    );
}

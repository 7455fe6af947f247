//! The syslog sink against UDP, TCP and unix datagram sockets bound by the test: every
//! message is parsed and checked field by field.

use super::{within, Setup};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket, UnixDatagram};
use trailwatch::sink::sample_alert;

/// An RFC 5424 message taken apart.
#[derive(Debug)]
struct Rfc5424 {
    pri: u8,
    version: String,
    timestamp: String,
    hostname: String,
    app_name: String,
    procid: String,
    msgid: String,
    sd_id: String,
    params: HashMap<String, String>,
    msg: String,
}

fn parse_5424(text: &str) -> Rfc5424 {
    let rest = text.strip_prefix('<').expect("<PRI>");
    let (pri, rest) = rest.split_once('>').unwrap();
    let mut parts = rest.splitn(7, ' ');
    let mut next = || parts.next().unwrap().to_string();
    let (version, timestamp, hostname, app_name, procid, msgid) =
        (next(), next(), next(), next(), next(), next());
    let sd = next();
    let sd = sd.strip_prefix('[').expect("one SD element");
    let (sd_id, mut rest) = sd.split_once(' ').unwrap();
    let mut params = HashMap::new();
    loop {
        let (name, after) = rest.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().unwrap() {
                (_, '\\') => value.push(chars.next().unwrap().1),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        params.insert(name.to_string(), value);
        rest = &after[end + 1..];
        if let Some(msg) = rest.strip_prefix("] ") {
            rest = msg;
            break;
        }
        rest = rest.strip_prefix(' ').unwrap();
    }
    Rfc5424 {
        pri: pri.parse().unwrap(),
        version,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        sd_id: sd_id.to_string(),
        params,
        msg: rest.to_string(),
    }
}

fn check_5424(text: &str) -> Rfc5424 {
    let m = parse_5424(text);
    let alert = sample_alert();
    assert_eq!(m.pri, 4 * 8 + 3, "facility auth, severity err for HIGH");
    assert_eq!(m.version, "1");
    let sent = OffsetDateTime::parse(&m.timestamp, &Rfc3339).expect("an RFC 3339 timestamp");
    assert!((OffsetDateTime::now_utc() - sent).abs() < time::Duration::minutes(5));
    assert!(
        m.timestamp.ends_with('Z') && m.timestamp.len() <= 32,
        "{}",
        m.timestamp
    );
    assert!(!m.hostname.is_empty() && m.hostname.bytes().all(|b| b.is_ascii_graphic()));
    assert_eq!(m.app_name, "trailwatch");
    assert_eq!(m.procid, std::process::id().to_string());
    assert_eq!(m.msgid, "ALERT");
    assert_eq!(m.sd_id, "trailwatch@32473");
    assert_eq!(m.params["alert_id"], alert.alert_id);
    assert_eq!(m.params["rule"], alert.rule_id);
    assert_eq!(m.params["severity"], "HIGH");
    assert_eq!(m.params["dedup"], alert.dedup);
    assert_eq!(m.params["account"], "123456789012");
    assert_eq!(m.params["event_count"], "3");
    assert_eq!(m.msg, format!("[HIGH] {} ({})", alert.title, alert.rule_id));
    m
}

#[tokio::test]
async fn syslog_rfc5424_over_udp() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let setup = Setup::new();
    let address = socket.local_addr().unwrap();
    setup.sink(
        "syslog",
        &format!("type: syslog\ntransport: udp\naddress: {address}\n"),
    );
    let router = setup.router().await;
    router.publish(&sample_alert()).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let n = within(socket.recv(&mut buf)).await.unwrap();
    check_5424(std::str::from_utf8(&buf[..n]).unwrap());
}

#[tokio::test]
async fn syslog_rfc5424_over_tcp_with_octet_counting_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let setup = Setup::new();
    let address = listener.local_addr().unwrap();
    setup.sink(
        "syslog",
        &format!(
            "type: syslog\ntransport: tcp\naddress: {address}\nretry:\n  initial_backoff_ms: 20\n"
        ),
    );
    let router = setup.router().await;

    router.publish(&sample_alert()).await.unwrap();
    let (mut conn, _) = within(listener.accept()).await.unwrap();
    check_5424(&read_frame(&mut conn).await);
    within(router.wait_idle()).await;
    drop(conn); // the collector restarts

    let mut second = sample_alert();
    second.alert_id = "f".repeat(32);
    router.publish(&second).await.unwrap();
    let (mut conn, _) = within(listener.accept()).await.unwrap();
    let m = parse_5424(&read_frame(&mut conn).await);
    assert_eq!(m.params["alert_id"], second.alert_id);
}

/// Reads one `LEN SP MSG` frame (RFC 6587 octet counting).
async fn read_frame(conn: &mut tokio::net::TcpStream) -> String {
    let mut len = String::new();
    loop {
        let b = within(conn.read_u8()).await.unwrap();
        if b == b' ' {
            break;
        }
        assert!(b.is_ascii_digit(), "octet count digits, got {b:#x}");
        len.push(b as char);
    }
    let mut msg = vec![0u8; len.parse().unwrap()];
    within(conn.read_exact(&mut msg)).await.unwrap();
    String::from_utf8(msg).unwrap()
}

#[tokio::test]
async fn syslog_rfc3164_over_a_unix_datagram_socket() {
    let setup = Setup::new();
    let path = setup.path("log.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    setup.sink(
        "syslog",
        &format!(
            "type: syslog\naddress: {}\nformat: rfc3164\nfacility: local3\nhostname: web-1\n",
            path.display()
        ),
    );
    let router = setup.router().await;
    router.publish(&sample_alert()).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let n = within(socket.recv(&mut buf)).await.unwrap();
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    let re = regex::Regex::new(
        r"^<(\d+)>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\S+) ([A-Za-z0-9_.-]{1,32})\[(\d+)\]: (.*)$",
    )
    .unwrap();
    let c = re
        .captures(text)
        .unwrap_or_else(|| panic!("not RFC 3164: {text}"));
    assert_eq!(&c[1], (19 * 8 + 3).to_string(), "local3, err");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert!(months.contains(&&c[2]));
    let day: u8 = c[3].trim().parse().unwrap();
    assert!((1..=31).contains(&day));
    assert!(c[4].parse::<u8>().unwrap() < 24 && c[5].parse::<u8>().unwrap() < 60);
    assert_eq!(&c[7], "web-1");
    assert_eq!(&c[8], "trailwatch");
    assert_eq!(&c[9], std::process::id().to_string());
    let alert = sample_alert();
    let msg = &c[10];
    assert!(
        msg.starts_with(&format!("[HIGH] {} ({})", alert.title, alert.rule_id)),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(" alert_id=\"{}\"", alert.alert_id)),
        "{msg}"
    );
    assert!(msg.contains(" account=\"123456789012\""), "{msg}");
}

//! The journald sink against a unix datagram socket bound by the test, standing in for
//! journald: entries are parsed per the native protocol, the memfd path included.

use super::{within, Setup};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::mem::MaybeUninit;
use std::os::unix::net::UnixDatagram as StdUnixDatagram;
use std::time::Duration;
use tokio::net::UnixDatagram;
use trailwatch::sink::sample_alert;

/// Splits a journal native-protocol entry into fields.
fn parse_native(mut data: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut fields = HashMap::new();
    while !data.is_empty() {
        let newline = data.iter().position(|b| *b == b'\n').expect("field ends");
        let line = &data[..newline];
        let (name, value, rest) = match line.iter().position(|b| *b == b'=') {
            Some(eq) => (&line[..eq], line[eq + 1..].to_vec(), &data[newline + 1..]),
            None => {
                let after = &data[newline + 1..];
                let len = u64::from_le_bytes(after[..8].try_into().unwrap()) as usize;
                let value = after[8..8 + len].to_vec();
                assert_eq!(after[8 + len], b'\n', "binary field ends with a newline");
                (line, value, &after[8 + len + 1..])
            }
        };
        let name = String::from_utf8(name.to_vec()).unwrap();
        assert!(
            !name.starts_with('_')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "field name {name}"
        );
        fields.insert(name, value);
        data = rest;
    }
    fields
}

fn text(fields: &HashMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(fields[name].clone()).unwrap()
}

#[tokio::test]
async fn journald_receives_a_native_entry_with_a_multi_line_value() {
    let setup = Setup::new();
    let path = setup.path("journal.socket");
    let socket = UnixDatagram::bind(&path).unwrap();
    setup.sink(
        "journal",
        &format!("type: journald\nsocket_path: {}\n", path.display()),
    );
    let router = setup.router().await;
    let mut alert = sample_alert();
    alert.description = Some("first line\nsecond line".into());
    router.publish(&alert).await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let n = within(socket.recv(&mut buf)).await.unwrap();
    let fields = parse_native(&buf[..n]);
    assert_eq!(
        text(&fields, "MESSAGE"),
        format!("[HIGH] {} ({})", alert.title, alert.rule_id)
    );
    assert_eq!(text(&fields, "PRIORITY"), "3");
    assert_eq!(text(&fields, "SYSLOG_IDENTIFIER"), "trailwatch");
    let id = text(&fields, "MESSAGE_ID");
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(text(&fields, "TRAILWATCH_RULE_ID"), alert.rule_id);
    assert_eq!(text(&fields, "TRAILWATCH_ALERT_ID"), alert.alert_id);
    assert_eq!(text(&fields, "TRAILWATCH_SEVERITY"), "HIGH");
    assert_eq!(text(&fields, "TRAILWATCH_ACCOUNT"), "123456789012");
    assert_eq!(
        text(&fields, "TRAILWATCH_DESCRIPTION"),
        "first line\nsecond line"
    );
    let json: trailwatch::alert::Alert =
        serde_json::from_slice(&fields["TRAILWATCH_JSON"]).unwrap();
    assert_eq!(json, alert);
}

#[tokio::test]
async fn journald_sends_an_oversized_entry_through_a_sealed_memfd() {
    let setup = Setup::new();
    let path = setup.path("journal.socket");
    let socket = StdUnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    setup.sink(
        "journal",
        &format!("type: journald\nsocket_path: {}\n", path.display()),
    );
    let router = setup.router().await;
    let mut alert = sample_alert();
    // Larger than a unix datagram may be (the default send buffer is about 208 KiB).
    alert.event["requestParameters"]["policy"] = "x".repeat(1 << 20).into();
    router.publish(&alert).await.unwrap();

    let entry = tokio::task::spawn_blocking(move || {
        use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut payload = [0u8; 16];
        let got = recvmsg(
            &socket,
            &mut [std::io::IoSliceMut::new(&mut payload)],
            &mut control,
            RecvFlags::empty(),
        )
        .unwrap();
        assert_eq!(got.bytes, 0, "the datagram itself is empty");
        let mut fds = Vec::new();
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(received) = message {
                fds.extend(received);
            }
        }
        assert_eq!(fds.len(), 1, "one descriptor passed");
        let mut file = std::fs::File::from(fds.remove(0));
        let seals = rustix::fs::fcntl_get_seals(&file).unwrap();
        assert!(seals.contains(rustix::fs::SealFlags::WRITE | rustix::fs::SealFlags::SHRINK));
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut entry = Vec::new();
        file.read_to_end(&mut entry).unwrap();
        entry
    })
    .await
    .unwrap();
    let fields = parse_native(&entry);
    assert_eq!(text(&fields, "TRAILWATCH_ALERT_ID"), alert.alert_id);
    let json: trailwatch::alert::Alert =
        serde_json::from_slice(&fields["TRAILWATCH_JSON"]).unwrap();
    assert_eq!(json, alert);
}

//! Tests of the discovery loop that need real files and a running source thread.

use super::*;
use crate::source::checkpoint::FilePosition;
use std::io::Write;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn settings(inbox: &Path) -> Settings {
    Settings {
        sources: vec![SourceConfig {
            path: inbox.to_path_buf(),
            include: Vec::new(),
            exclude: Vec::new(),
            read_from: ReadFrom::Beginning,
            ignore_older_secs: None,
            follow_symlinks: Default::default(),
        }],
        limits: Limits {
            // One record per batch: a delivery file then spans several batches.
            batch_records: 1,
            ..Limits::default()
        },
        rescan_interval: Duration::from_secs(60),
        incomplete_grace: Duration::from_secs(10),
        max_open_files: 16,
        open_file_retries: Default::default(),
    }
}

/// A crash can commit a checkpoint between two batches of one delivery file (offset 0, not
/// done). On restart the file must be read again as a delivery, not tailed as NDJSON: read as
/// lines, its gzip bytes were reported as malformed JSON and every record was lost (found by
/// the chaos soak, tests/chaos/).
#[test]
fn a_delivery_checkpointed_between_its_batches_is_read_again_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("delivery.json.gz");
    let records = r#"{"Records":[{"eventID":"a","eventTime":"2024-01-17T00:00:00Z"},{"eventID":"b","eventTime":"2024-01-17T00:00:01Z"},{"eventID":"c","eventTime":"2024-01-17T00:00:02Z"}]}"#;
    std::fs::write(&path, gzip(records.as_bytes())).unwrap();
    let mut resume = Checkpoints::default();
    resume.set(FilePosition {
        fingerprint: Fingerprint::of(&path).unwrap(),
        path: path.clone(),
        offset: 0,
        line: 0,
        done: false,
    });

    let (tx, rx) = mpsc::sync_channel(16);
    let handle = spawn(settings(dir.path()), resume, tx).unwrap();
    let (mut read, mut bad, mut done) = (Vec::new(), 0, false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(SourceEvent::Batch(batch)) => {
                bad += batch.bad.len();
                done = batch.done;
                read.extend(batch.records.into_iter().map(|r| r.bytes));
            }
            Ok(SourceEvent::Bad(_)) => bad += 1,
            Err(_) => {}
        }
    }
    handle.stop();
    assert_eq!(bad, 0, "the delivery was read as something else");
    assert!(done, "the delivery was not read to its end");
    let ids: Vec<String> = read
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(r).unwrap()["eventID"].to_string())
        .collect();
    assert_eq!(ids, ["\"a\"", "\"b\"", "\"c\""]);
}

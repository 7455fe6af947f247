//! Reading a CloudTrail delivery file (`{"Records":[...]}`, gzipped or plain) once.
//!
//! A delivery file may be seen while it is still being written (synced down in place rather
//! than renamed into place). It is read whole; a file cut short (no gzip trailer, JSON that
//! ends early) is "not yet complete" and tried again later, and only once it has stopped
//! changing for a grace period is it reported as corrupt. Records before the damage are kept.

use super::bounded::{Bounded, Counted, Fault, MAX_RATIO, RATIO_FREE_BYTES};
use super::{Limits, RawRecord};
use crate::event::reader::{self, BadInput, Place, RecordSink};
use flate2::read::MultiGzDecoder;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The outcome of reading a delivery file.
#[derive(Debug)]
pub enum Delivery {
    /// Cut short: probably still being written.
    Incomplete,
    /// Read to the end (possibly with bad parts, reported in `bad`).
    Read {
        records: Vec<RawRecord>,
        bad: Vec<BadInput>,
    },
}

struct Collect {
    records: Vec<RawRecord>,
    bad: Vec<BadInput>,
}

impl RecordSink for Collect {
    fn record(&mut self, _: &Path, place: Place, bytes: &[u8]) {
        self.records.push(RawRecord {
            place,
            bytes: bytes.to_vec(),
        });
    }
    fn bad(&mut self, bad: BadInput) {
        self.bad.push(bad);
    }
}

fn bad(path: &Path, place: Option<Place>, message: String) -> BadInput {
    BadInput {
        path: path.to_path_buf(),
        place,
        message,
    }
}

/// Reads the whole file as a stream: memory holds the records read, never the file (a
/// delivery is at most `limits.max_file_bytes`, raw and decompressed; its NDJSON lines at
/// most `limits.max_line_bytes`). With `last_try`, a file still cut short is reported as
/// corrupt instead of [`Delivery::Incomplete`].
pub fn read(path: &Path, limits: &Limits, last_try: bool) -> io::Result<Delivery> {
    let max_bytes = limits.max_file_bytes;
    let skipped = |message: String| Delivery::Read {
        records: Vec::new(),
        bad: vec![bad(path, None, message)],
    };
    // The checks are made on the open descriptor (`fstat`), so the file judged is the file
    // read even if the name is swapped meanwhile; `O_NONBLOCK` keeps a FIFO put in its place
    // from blocking the open.
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > max_bytes {
        return Ok(skipped(format!(
            "not a regular file or larger than max_file_bytes ({max_bytes} bytes); file skipped"
        )));
    }
    let counted = Counted::new(file.take(max_bytes + 1));
    let raw_read = counted.count();
    let mut raw = BufReader::with_capacity(64 * 1024, counted);
    let gzipped = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut collect = Collect {
        records: Vec::new(),
        bad: Vec::new(),
    };
    // The limit applies to the decompressed stream too: 1 MB of gzipped spaces inflates to
    // a gigabyte.
    let (json, fault) = if gzipped {
        let mut inflated = Bounded::new(MultiGzDecoder::new(raw), max_bytes);
        inflated.ratio_of(raw_read);
        let json = parse(path, &mut inflated, limits, &mut collect);
        (json, inflated.fault())
    } else {
        let mut plain = Bounded::new(raw, max_bytes);
        let json = parse(path, &mut plain, limits, &mut collect);
        (json, plain.fault())
    };
    match fault {
        Some(Fault::TooLarge) => {
            return Ok(skipped(format!(
                "larger than max_file_bytes ({max_bytes} bytes) once decompressed; file skipped"
            )))
        }
        Some(Fault::Bomb) => {
            return Ok(skipped(format!(
                "inflates to more than {MAX_RATIO} times its compressed size (past \
                 {RATIO_FREE_BYTES} bytes): a decompression bomb; file skipped"
            )))
        }
        Some(Fault::Io(io::ErrorKind::UnexpectedEof, _)) if !last_try => {
            return Ok(Delivery::Incomplete)
        }
        Some(Fault::Io(_, e)) if gzipped => {
            return Ok(skipped(format!("corrupt gzip data: {e}; file skipped")))
        }
        Some(Fault::Io(_, e)) => return Err(io::Error::other(e)),
        None => {}
    }
    if let Err((count, e)) = json {
        if e.is_eof() && !last_try {
            return Ok(Delivery::Incomplete);
        }
        collect.bad.push(bad(
            path,
            Some(Place::Record(count + 1)),
            format!(
                "malformed JSON at line {} column {}: {e}; the rest of the file is skipped",
                e.line(),
                e.column()
            ),
        ));
    }
    Ok(Delivery::Read {
        records: collect.records,
        bad: collect.bad,
    })
}

/// Streams a delivery document's records (or, for a gzipped NDJSON file, its lines) into
/// `collect`; a JSON syntax error in a delivery document is returned with the number of
/// records before it.
fn parse<R: Read>(
    path: &Path,
    input: &mut Bounded<R>,
    limits: &Limits,
    collect: &mut Collect,
) -> Result<u64, (u64, serde_json::Error)> {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let records_document = match input.fill_buf() {
        Ok(head) => reader::starts_records_document(head),
        // The fault is kept by `Bounded`; the caller reports it.
        Err(_) => return Ok(0),
    };
    if records_document {
        reader::parse_records(path, input, collect)
    } else {
        // A gzipped NDJSON file: every line is a record.
        reader::read_stream_with(path, input, limits.max_line_bytes, collect);
        Ok(0)
    }
}

/// Opens for reading with `O_NONBLOCK`, which lets the open of a FIFO return at once (and
/// changes nothing for a regular file).
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// The kind of reading a file needs, decided from its name and first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Read once when complete: gzip, or a `{"Records"` document.
    Delivery,
    /// Tail line by line.
    Ndjson,
    /// Empty so far: cannot tell yet.
    Unknown,
}

/// Decides a file's shape from its first bytes. Anything but a regular file is an error, found
/// on the open descriptor (a FIFO swapped in after the directory walk must not block here).
// `&PathBuf` is what the source walker (src/source/watch.rs) hands over; kept so this change
// stays out of that file.
#[allow(clippy::ptr_arg)]
pub fn shape(path: &PathBuf) -> io::Result<Shape> {
    let mut head = [0u8; 64];
    let mut file = open_nonblocking(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let n = file.read(&mut head)?;
    let head = &head[..n];
    Ok(
        if head.starts_with(&[0x1f, 0x8b]) || reader::starts_records_document(head) {
            Shape::Delivery
        } else if head.iter().all(u8::is_ascii_whitespace) {
            Shape::Unknown
        } else {
            Shape::Ndjson
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn limits(max_file_bytes: u64) -> Limits {
        Limits {
            max_file_bytes,
            ..Limits::default()
        }
    }

    fn refused(delivery: Delivery) -> String {
        match delivery {
            Delivery::Read { records, bad } if records.is_empty() && bad.len() == 1 => {
                bad[0].message.clone()
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn incomplete_until_whole_then_corrupt_on_last_try() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json.gz");
        let doc = br#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#;
        let whole = gz(doc);
        std::fs::write(&p, &whole[..whole.len() - 6]).unwrap();
        assert!(matches!(
            read(&p, &limits(1 << 20), false).unwrap(),
            Delivery::Incomplete
        ));
        assert!(
            matches!(read(&p, &limits(1 << 20), true).unwrap(), Delivery::Read { ref bad, .. } if bad.len() == 1)
        );
        std::fs::write(&p, &whole).unwrap();
        match read(&p, &limits(1 << 20), false).unwrap() {
            Delivery::Read { records, bad } => {
                assert_eq!(records.len(), 2);
                assert!(bad.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let plain = dir.path().join("f.json");
        std::fs::write(&plain, &doc[..30]).unwrap();
        assert!(matches!(
            read(&plain, &limits(1 << 20), false).unwrap(),
            Delivery::Incomplete
        ));
        assert_eq!(shape(&plain).unwrap(), Shape::Delivery);
    }

    #[test]
    fn size_is_checked_before_reading_and_special_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 4096]).unwrap();
        match read(&big, &limits(1024), false).unwrap() {
            Delivery::Read { records, bad } => {
                assert!(records.is_empty());
                assert!(
                    bad[0].message.contains("max_file_bytes (1024 bytes)"),
                    "{}",
                    bad[0]
                );
            }
            other => panic!("{other:?}"),
        }
        let exact = read(&big, &limits(4096), false).unwrap();
        assert!(matches!(exact, Delivery::Read { ref bad, .. } if bad.is_empty()));
        // A FIFO would block a plain open forever; here it is refused at once.
        let fifo = dir.path().join("fifo.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path it is given.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let why = refused(read(&fifo, &limits(1024), false).unwrap());
        assert!(why.contains("not a regular file"), "{why}");
        assert!(shape(&fifo).is_err());
        let why = refused(read(Path::new("/dev/zero"), &limits(1024), false).unwrap());
        assert!(why.contains("not a regular file"), "{why}");
    }

    #[test]
    fn a_gzip_bomb_is_refused_once_the_inflated_stream_passes_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        // 32 MiB of spaces inside a records document, gzipped to about 32 KiB.
        let mut doc = b"{\"Records\":[".to_vec();
        doc.resize(32 << 20, b' ');
        doc.extend_from_slice(b"]}");
        let bomb = dir.path().join("bomb.json.gz");
        std::fs::write(&bomb, gz(&doc)).unwrap();
        let why = refused(read(&bomb, &limits(1 << 20), false).unwrap());
        assert!(why.contains("once decompressed"), "{why}");
        // Under a large limit, the ratio stops it: 80 KiB may not inflate past 64 MiB.
        let mut doc = b"{\"Records\":[".to_vec();
        doc.resize(80 << 20, b' ');
        doc.extend_from_slice(b"]}");
        let big_bomb = dir.path().join("big_bomb.json.gz");
        std::fs::write(&big_bomb, gz(&doc)).unwrap();
        let why = refused(read(&big_bomb, &limits(1 << 30), false).unwrap());
        assert!(why.contains("decompression bomb"), "{why}");
        // Within both, the first document is read (and holds no record).
        let fine = read(&bomb, &limits(128 << 20), false).unwrap();
        assert!(
            matches!(fine, Delivery::Read { ref records, ref bad } if records.is_empty() && bad.is_empty())
        );
    }

    #[test]
    fn gzipped_ndjson_lines_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = b"{\"eventName\":\"A\"}\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10_000));
        text.extend_from_slice(b"\n{\"eventName\":\"B\"}\n");
        let p = dir.path().join("lines.json.gz");
        std::fs::write(&p, gz(&text)).unwrap();
        let small_lines = Limits {
            max_line_bytes: 1_000,
            ..Limits::default()
        };
        match read(&p, &small_lines, false).unwrap() {
            Delivery::Read { records, bad } => {
                assert_eq!(records.len(), 2);
                assert_eq!(records[1].place, Place::Line(3));
                assert_eq!(bad.len(), 1);
                assert_eq!(bad[0].place, Some(Place::Line(2)));
                assert!(
                    bad[0]
                        .message
                        .contains("longer than max_line_bytes (1000 bytes)"),
                    "{}",
                    bad[0]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json.gz");
        std::fs::write(&p, b"\x1f\x8b\x08\x00garbage-garbage-garbage").unwrap();
        match read(&p, &limits(1 << 20), false).unwrap() {
            Delivery::Read { records, bad } => {
                assert!(records.is_empty());
                assert!(bad[0].message.contains("corrupt gzip"), "{:?}", bad);
            }
            Delivery::Incomplete => panic!("corrupt data is not a short file"),
        }
    }
}

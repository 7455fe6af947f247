//! Reading a CloudTrail delivery file (`{"Records":[...]}`, gzipped or plain) once.
//!
//! A delivery file may be seen while it is still being written (synced down in place rather
//! than renamed into place). It is read whole; a file cut short (no gzip trailer, JSON that
//! ends early) is "not yet complete" and tried again later, and only once it has stopped
//! changing for a grace period is it reported as corrupt. Records before the damage are kept.

use super::RawRecord;
use crate::event::reader::{self, BadInput, Place, RecordSink};
use flate2::read::MultiGzDecoder;
use std::io::{self, Read};
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

/// Reads the whole file. With `last_try`, a file still cut short is reported as corrupt
/// instead of [`Delivery::Incomplete`].
pub fn read(path: &Path, max_bytes: u64, last_try: bool) -> io::Result<Delivery> {
    let Some(raw) = read_bounded(path, max_bytes)? else {
        return Ok(Delivery::Read {
            records: Vec::new(),
            bad: vec![bad(
                path,
                None,
                format!("not a regular file or larger than max_file_bytes ({max_bytes} bytes); file skipped"),
            )],
        });
    };
    let mut content = Vec::new();
    let gzipped = raw.starts_with(&[0x1f, 0x8b]);
    if gzipped {
        let mut decoder = MultiGzDecoder::new(&raw[..]).take(max_bytes + 1);
        if let Err(e) = decoder.read_to_end(&mut content) {
            if e.kind() == io::ErrorKind::UnexpectedEof && !last_try {
                return Ok(Delivery::Incomplete);
            }
            return Ok(Delivery::Read {
                records: Vec::new(),
                bad: vec![bad(
                    path,
                    None,
                    format!("corrupt gzip data: {e}; file skipped"),
                )],
            });
        }
    } else {
        content = raw;
    }
    if content.len() as u64 > max_bytes {
        return Ok(Delivery::Read {
            records: Vec::new(),
            bad: vec![bad(
                path,
                None,
                format!("larger than max_file_bytes ({max_bytes} bytes); file skipped"),
            )],
        });
    }
    let mut collect = Collect {
        records: Vec::new(),
        bad: Vec::new(),
    };
    if reader::starts_records_document(&content) {
        if let Err((count, e)) = reader::parse_records(path, &content[..], &mut collect) {
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
    } else {
        // A gzipped NDJSON file: every line is a record.
        reader::read_stream(path, &content[..], &mut collect);
    }
    Ok(Delivery::Read {
        records: collect.records,
        bad: collect.bad,
    })
}

/// The raw bytes of `path`, or `None` when it is not a regular file or holds more than
/// `max_bytes`. The checks are made on the open descriptor (`fstat`), so the file judged is
/// the file read even if the name is swapped meanwhile; `O_NONBLOCK` keeps a FIFO put in its
/// place from blocking the open, and `take` stops a file that grows past the limit while it
/// is read from costing more than the limit in memory.
fn read_bounded(path: &Path, max_bytes: u64) -> io::Result<Option<Vec<u8>>> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > max_bytes {
        return Ok(None);
    }
    let mut raw = Vec::with_capacity(meta.len() as usize);
    file.take(max_bytes + 1).read_to_end(&mut raw)?;
    if raw.len() as u64 > max_bytes {
        return Ok(None);
    }
    Ok(Some(raw))
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
            read(&p, 1 << 20, false).unwrap(),
            Delivery::Incomplete
        ));
        assert!(
            matches!(read(&p, 1 << 20, true).unwrap(), Delivery::Read { ref bad, .. } if bad.len() == 1)
        );
        std::fs::write(&p, &whole).unwrap();
        match read(&p, 1 << 20, false).unwrap() {
            Delivery::Read { records, bad } => {
                assert_eq!(records.len(), 2);
                assert!(bad.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let plain = dir.path().join("f.json");
        std::fs::write(&plain, &doc[..30]).unwrap();
        assert!(matches!(
            read(&plain, 1 << 20, false).unwrap(),
            Delivery::Incomplete
        ));
        assert_eq!(shape(&plain).unwrap(), Shape::Delivery);
    }

    #[test]
    fn size_is_checked_before_reading_and_special_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 4096]).unwrap();
        match read(&big, 1024, false).unwrap() {
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
        assert_eq!(
            read_bounded(&big, 4096).unwrap().map(|b| b.len()),
            Some(4096)
        );
        // A FIFO would block a plain open forever; here it is refused at once.
        let fifo = dir.path().join("fifo.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path it is given.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_bounded(&fifo, 1024).unwrap().is_none());
        assert!(shape(&fifo).is_err());
        assert!(read_bounded(Path::new("/dev/zero"), 1024)
            .unwrap()
            .is_none());
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json.gz");
        std::fs::write(&p, b"\x1f\x8b\x08\x00garbage-garbage-garbage").unwrap();
        match read(&p, 1 << 20, false).unwrap() {
            Delivery::Read { records, bad } => {
                assert!(records.is_empty());
                assert!(bad[0].message.contains("corrupt gzip"), "{:?}", bad);
            }
            Delivery::Incomplete => panic!("corrupt data is not a short file"),
        }
    }
}
